//! Measuring: the cell metrics of one variant on one case and seed
//! (accuracy against the reference, weight error, storage, energy), and the
//! emulation speed of one variant on one case.

use std::borrow::Cow;
use std::time::Instant;

use super::error::RunError;
use super::kernel_bench::{time_product, CeilingCache};
use super::record::metric::{self, Metric};
use super::record::Measurement;
use crate::hw::cost::Cost;
use crate::hw::energy::{EnergyBreakdown, EnergyTable};
use crate::metrics::{self, Accuracy};
use crate::tensor::{Matrix, Shape};
use crate::variants::MatmulVariant;
use crate::workload::cases::{AttnCase, Case, GenerateFn, LlmLikeFn};
use crate::workload::gen;

/// The variant every other one is compared with (computed once per workload, shape and seed).
pub const REFERENCE_VARIANT: &str = "matmul/f64";

/// The computations the runner calls below itself: generators, metrics and
/// energy. [`Toolkit::standard`] wires the real ones; tests may pass others.
pub struct Toolkit<'a> {
    /// Draws a `rows × cols` matrix (see [`gen::generate`]).
    pub generate: GenerateFn,
    /// LLM-like operands `(A: m × k, W: n × k)` (see [`gen::llm_like`]).
    pub llm_like: LlmLikeFn,
    /// Output accuracy against the reference (see [`metrics::accuracy`]).
    pub accuracy: fn(&[f64], &[f64]) -> Accuracy,
    /// Weight MSE and SQNR (see [`metrics::weight_error`]).
    pub weight_error: fn(&[f32], &[f32]) -> (f64, f64),
    /// Energy of a cost.
    pub energy: Box<dyn Fn(&Cost) -> EnergyBreakdown + Sync + 'a>,
    /// Name of the energy table, for the results' metadata.
    pub energy_table: String,
    /// The table's name and a fingerprint of its contents (see
    /// [`super::resume::energy_key`]): what `--resume` compares.
    pub energy_key: String,
}

impl<'a> Toolkit<'a> {
    /// The real generators and metrics, with energy from `table`.
    pub fn standard(table: &'a EnergyTable) -> Self {
        Toolkit {
            generate: gen::generate,
            llm_like: gen::llm_like,
            accuracy: metrics::accuracy,
            weight_error: metrics::weight_error,
            energy: Box::new(move |c| table.energy(c)),
            energy_table: table.name.clone(),
            energy_key: super::resume::energy_key(table),
        }
    }
}

/// What every row of a run shares: the suite, the bitsim version and commit.
pub struct RowStamp {
    /// Suite name.
    pub suite: String,
    /// bitsim version.
    pub version: String,
    /// Git commit, if known.
    pub commit: Option<String>,
}

/// Where a row was measured: the workload's name and the shape's label
/// (matmul and attention cases label their rows alike).
pub trait RowCase {
    /// The workload's name.
    fn workload(&self) -> &str;
    /// The shape as the row records it.
    fn shape_label(&self) -> String;
}

impl RowCase for Case {
    fn workload(&self) -> &str {
        &self.workload
    }
    fn shape_label(&self) -> String {
        self.shape.to_string()
    }
}

impl RowCase for AttnCase {
    fn workload(&self) -> &str {
        &self.workload
    }
    fn shape_label(&self) -> String {
        self.shape.to_string()
    }
}

impl RowStamp {
    /// The row of `metric` for `variant` on case `c` (matmul or attention) and `seed`.
    pub fn row(
        &self,
        variant: &str,
        c: &impl RowCase,
        seed: u64,
        metric: &Metric,
        value: f64,
        rep: u32,
    ) -> Measurement {
        Measurement {
            suite: self.suite.clone(),
            variant: variant.to_string(),
            workload: c.workload().to_string(),
            shape: c.shape_label(),
            metric: metric.name.to_string(),
            value,
            unit: metric.unit.to_string(),
            seed,
            rep,
            version: self.version.clone(),
            commit: self.commit.clone(),
        }
    }
}

/// The operands of case `c` for `seed`, and the reference's output on them.
pub fn reference_output(
    reference: &dyn MatmulVariant,
    c: &Case,
    seed: u64,
    tk: &Toolkit,
) -> Result<(Matrix, Matrix, Vec<f64>), RunError> {
    let (a, w) = c.matrices(seed, tk.generate, tk.llm_like);
    let out = reference.emulate(&a, &w, seed);
    let expect = c.shape.m * c.shape.n;
    if out.len() != expect {
        return Err(RunError::new(
            format!("variant {REFERENCE_VARIANT}"),
            format!(
                "returned {} values for {}, expected {expect}",
                out.len(),
                c.shape
            ),
        ));
    }
    Ok((a, w, out))
}

/// What measuring one cell gives.
pub struct Measured {
    /// The cell metrics by name (see [`metric::CELL_METRICS`]).
    pub values: Vec<(&'static str, f64)>,
    /// The energy table's notes on numbers it scaled rather than read.
    pub energy_notes: Vec<String>,
}

/// The cell metrics of one cell, and the energy table's scaling notes.
pub fn measure_cell(
    v: &dyn MatmulVariant,
    shape: Shape,
    a: &Matrix,
    w: &Matrix,
    reference: &[f64],
    seed: u64,
    tk: &Toolkit,
) -> Result<Measured, RunError> {
    let at = || format!("variant {}", v.name());
    let out = v.emulate(a, w, seed);
    if out.len() != reference.len() {
        return Err(RunError::new(
            at(),
            format!(
                "returned {} values for {shape}, expected {}",
                out.len(),
                reference.len()
            ),
        ));
    }
    let acc = (tk.accuracy)(reference, &out);
    let wq = v.quantize_weights(w);
    if wq.data.len() != w.data.len() {
        return Err(RunError::new(
            at(),
            format!(
                "quantize_weights returned {} values for {} weights",
                wq.data.len(),
                w.data.len()
            ),
        ));
    }
    let (w_mse, w_sqnr) = (tk.weight_error)(&w.data, &wq.data);
    let cost = v.cost(shape);
    let e = (tk.energy)(&cost);
    let total = e.total_pj();
    let per_mac = if cost.macs > 0.0 {
        total / cost.macs
    } else {
        f64::NAN
    };
    let values = vec![
        (metric::REL_FRO_ERROR, acc.rel_fro_error),
        (metric::SQNR_DB, acc.sqnr_db),
        (metric::COSINE, acc.cosine),
        (metric::MAX_ABS_ERROR, acc.max_abs_error),
        (metric::MEAN_ABS_ERROR, acc.mean_abs_error),
        (metric::WEIGHT_MSE, w_mse),
        (metric::WEIGHT_SQNR_DB, w_sqnr),
        (metric::BITS_PER_WEIGHT, v.bits_per_weight(shape.k)),
        (metric::ENERGY_PJ_PER_MAC, per_mac),
        (metric::ENERGY_TOTAL_PJ, total),
        (metric::ENERGY_COMPUTE_PJ, e.compute_pj),
        (metric::ENERGY_SRAM_PJ, e.sram_pj),
        (metric::ENERGY_DRAM_PJ, e.dram_pj),
    ];
    Ok(Measured {
        values,
        energy_notes: e.scaled,
    })
}

/// The rows of one measured cell: every named value with its table entry.
pub fn cell_rows(
    stamp: &RowStamp,
    variant: &str,
    c: &Case,
    seed: u64,
    values: Vec<(&'static str, f64)>,
) -> Vec<Measurement> {
    values
        .into_iter()
        .map(|(name, x)| {
            let m = metric::find(name).expect("every measured metric is in the table");
            stamp.row(variant, c, seed, m, x, 0)
        })
        .collect()
}

/// The activations the emulation is timed on: `a`, or its first `rows`
/// rows when `rows` is set and smaller than `a`'s.
pub fn emulation_input(a: &Matrix, rows: Option<usize>) -> Cow<'_, Matrix> {
    match rows {
        Some(r) if r < a.rows => Cow::Owned(Matrix::new(r, a.cols, a.data[..r * a.cols].to_vec())),
        _ => Cow::Borrowed(a),
    }
}

/// Emulation speed of `v` on `a`, `w` (`a` may be the first rows of the
/// case's activations, see [`emulation_input`]; the rate counts the MACs it
/// holds): one row per repetition and the last repetition's output, or
/// `None` when `stopped` turned true before the last repetition.
pub fn time_variant(
    stamp: &RowStamp,
    v: &dyn MatmulVariant,
    c: &Case,
    (a, w): (&Matrix, &Matrix),
    seed: u64,
    repetitions: u32,
    stopped: &dyn Fn() -> bool,
) -> Option<(Vec<Measurement>, Vec<f64>)> {
    let speed =
        metric::find(metric::EMULATION_MAC_PER_S).expect("the timing metric is in the table");
    let macs = a.rows as f64 * w.cols as f64 * w.rows as f64;
    let mut rows = Vec::new();
    let mut last = Vec::new();
    for rep in 0..repetitions {
        if stopped() {
            return None;
        }
        let t = Instant::now();
        let out = v.emulate(a, w, seed);
        let secs = t.elapsed().as_secs_f64();
        last = std::hint::black_box(out);
        let rate = macs / secs.max(1e-9);
        rows.push(stamp.row(v.name(), c, seed, speed, rate, rep));
    }
    Some((rows, last))
}

/// What timing a native kernel needs beyond the case: the emulation's
/// input and output to check it against, the repetitions, the ceilings
/// measured so far and the thread count they are measured on.
pub struct NativeTiming<'x> {
    /// The activations the emulation ran on (all or the first rows of the case's).
    pub emu_input: &'x Matrix,
    /// The emulation's output on them.
    pub emu_output: &'x [f64],
    /// Timed repetitions.
    pub repetitions: u32,
    /// The run's ceilings.
    pub ceilings: &'x mut CeilingCache,
    /// Threads of the pool the kernel runs in (and of the ceiling loops).
    pub threads: usize,
}

/// The native kernel of `v` on case `c`'s operands `a`, `w`: checked
/// bit for bit against the emulation's output, then timed as `kernels
/// bench` times it ([`time_product`]) against the ceiling of its shape
/// ([`CeilingCache`]): one `native_gops` and one `native_ceiling_fraction`
/// row per repetition. No rows for a variant without a native kernel; an
/// error when the kernel's bits differ from the emulation's.
pub fn time_native(
    stamp: &RowStamp,
    v: &dyn MatmulVariant,
    c: &Case,
    (a, w): (&Matrix, &Matrix),
    seed: u64,
    t: NativeTiming,
) -> Result<Vec<Measurement>, RunError> {
    let Some(mut kernel) = v.native() else {
        return Ok(Vec::new());
    };
    kernel.pack_weights(w);
    let got = kernel.matmul(t.emu_input);
    if let Some(bad) = first_difference(&got, t.emu_output) {
        return Err(RunError::new(
            format!("variant {}", v.name()),
            format!(
                "native kernel differs from the emulation on {} ({} rows checked), seed {seed}: {bad}",
                c.shape, t.emu_input.rows
            ),
        ));
    }
    let times = time_product(&*kernel, a, t.repetitions);
    let bytes = kernel.weight_bytes();
    let ceiling = t.ceilings.get(&*kernel, c.shape, t.threads).clone();
    let gops = metric::find(metric::NATIVE_GOPS).expect("the native metrics are in the table");
    let frac =
        metric::find(metric::NATIVE_CEILING_FRACTION).expect("the native metrics are in the table");
    let mut rows = Vec::new();
    for (rep, secs) in times.iter().enumerate() {
        let rate = 2.0 * c.shape.macs() / secs.max(1e-12) / 1e9;
        rows.push(stamp.row(v.name(), c, seed, gops, rate, rep as u32));
        let f = ceiling.fraction(c.shape, bytes, *secs);
        rows.push(stamp.row(v.name(), c, seed, frac, f, rep as u32));
    }
    Ok(rows)
}

/// Where two outputs first differ in bits (NaN matches any NaN), if they do.
fn first_difference(got: &[f64], want: &[f64]) -> Option<String> {
    if got.len() != want.len() {
        return Some(format!("{} values, expected {}", got.len(), want.len()));
    }
    got.iter()
        .zip(want)
        .position(|(g, w)| g.to_bits() != w.to_bits() && !(g.is_nan() && w.is_nan()))
        .map(|i| format!("output {i} is {:e}, the emulation's {:e}", got[i], want[i]))
}
