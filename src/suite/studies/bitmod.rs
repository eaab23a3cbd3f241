//! BitMoD study: per-group datatype selection error against INT4 / FP4 / MXFP4, and accelerator cycles and energy against an INT8 bit-parallel baseline.
//!
//! Part 1, weight error: LLM-like weights ([`crate::workload::gen::llm_like`],
//! `rows × cols`, the suite's seed) and, when `weights` names a checkpoint,
//! the tensors `tensors` selects from it (at most `max_rows` rows each),
//! quantized by BitMoD W4/W3 (per-group ER±/EA± selection, g128, fp16 scale)
//! and by the plain formats of the same width: INT4 / INT3 g128 absmax
//! (f32 scales), FP4 E2M1 g128 absmax (f32 scales) and MXFP4 (OCP, 32,
//! E8M0). Error is the mean squared error against the f32 weights, and the
//! same relative to the weights' mean square. The groups' type choices are
//! counted.
//!
//! Part 2, accelerator: every design of the BitMoD scenario (`sim`, default
//! the built-in `sims/bitmod.toml`) on the model `model` (default the
//! file's first), prefill and decode: cycles, energy, and both as ratios
//! to the INT8 bit-parallel design (`int8`) and to the file's baseline.

use super::StudyContext;
use crate::arith::bitserial::datatypes::{self, BitmodType, GROUP};
use crate::formats::{parse, ElementFormat, Format};
use crate::hw::accel::bitmod::{simulate, Model, Phase};
use crate::hw::accel::config::{self, BitmodFile};
use crate::hw::accel::SimFile;
use crate::tensor::Matrix;
use crate::variants::operand::int_absmax;
use crate::variants::operand::{OperandSpec, ScaleAxis};
use crate::workload::gen;
use serde::{Deserialize, Serialize};

/// Parameters (`[studies.bitmod]` keys; all optional).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BitmodParams {
    /// Rows (output channels) of the LLM-like weight matrix.
    pub rows: usize,
    /// Columns (input features) of the LLM-like weight matrix.
    pub cols: usize,
    /// Optional checkpoint (`.safetensors` or `.npy`), relative to the suite file.
    pub weights: Option<String>,
    /// Tensor names or globs in `weights` (empty: every tensor).
    pub tensors: Vec<String>,
    /// Rows kept per real tensor (the first ones), to bound the run time.
    pub max_rows: usize,
    /// BitMoD scenario file, relative to the suite file (default: the built-in one).
    pub sim: Option<String>,
    /// Model of the scenario (default: its first).
    pub model: Option<String>,
}

impl Default for BitmodParams {
    fn default() -> Self {
        BitmodParams {
            rows: 256,
            cols: 1024,
            weights: None,
            tensors: Vec::new(),
            max_rows: 512,
            sim: None,
            model: None,
        }
    }
}

/// One quantizer's error on one weight source.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MseRow {
    /// Weight source (`llm-like 256x1024` or a tensor name).
    pub source: String,
    /// Quantizer (`bitmod-w4`, `int4 g128`, …).
    pub quantizer: String,
    /// Element bits of the quantizer (3 or 4).
    pub bits: u32,
    /// Storage bits per weight, scales and metadata included.
    pub bits_per_weight: f64,
    /// Mean squared error.
    pub mse: f64,
    /// MSE divided by the weights' mean square.
    pub rel_mse: f64,
}

/// How many groups picked each BitMoD type.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HistRow {
    /// Weight source.
    pub source: String,
    /// 3 or 4.
    pub bits: u32,
    /// Groups per type, in ER+, ER−, EA+, EA− order.
    pub groups: Vec<usize>,
}

/// One design's totals in one phase.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AccelRow {
    /// `prefill` or `decode`.
    pub phase: String,
    /// Design name.
    pub design: String,
    /// Σ max(compute, DRAM) cycles.
    pub cycles: u64,
    /// Compute cycles.
    pub compute_cycles: u64,
    /// DRAM cycles.
    pub dram_cycles: u64,
    /// Compute + DRAM energy, µJ.
    pub energy_uj: f64,
    /// INT8 cycles / these cycles (0 when there is no `int8` design).
    pub speedup_vs_int8: f64,
    /// Baseline cycles / these cycles.
    pub speedup_vs_baseline: f64,
    /// This energy / INT8 energy (0 when there is no `int8` design).
    pub energy_vs_int8: f64,
    /// This energy / baseline energy.
    pub energy_vs_baseline: f64,
}

/// What the study found.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BitmodStudy {
    /// Quantizer errors, grouped by source.
    pub mse: Vec<MseRow>,
    /// BitMoD type choices per source and width.
    pub histogram: Vec<HistRow>,
    /// The scenario's name.
    pub scenario: String,
    /// The model simulated.
    pub model: String,
    /// The scenario's baseline design.
    pub baseline: String,
    /// Accelerator totals, prefill then decode, in the file's design order.
    pub accel: Vec<AccelRow>,
}

/// The plain quantizers compared with BitMoD: `(name, bits, spec)`.
fn plain_quantizers() -> Vec<(&'static str, u32, OperandSpec)> {
    let e2m1 = parse::parse_element("e2m1").expect("e2m1 is a format name");
    let mx = match parse("mxfp4").expect("mxfp4 is a format name") {
        Format::Block(b) => OperandSpec::Block(b),
        Format::Element(_) => unreachable!("mxfp4 is a block format"),
    };
    vec![
        ("int4 g128", 4, int_absmax(4, ScaleAxis::Group(GROUP))),
        (
            "fp4 e2m1 g128",
            4,
            OperandSpec::AbsMax {
                element: ElementFormat::Float(match e2m1 {
                    ElementFormat::Float(f) => f,
                    ElementFormat::Int(_) => unreachable!("e2m1 is a float"),
                }),
                axis: ScaleAxis::Group(GROUP),
            },
        ),
        ("mxfp4", 4, mx),
        ("int3 g128", 3, int_absmax(3, ScaleAxis::Group(GROUP))),
    ]
}

fn mse(q: &Matrix, w: &Matrix) -> (f64, f64) {
    let n = w.data.len().max(1) as f64;
    let (mut e, mut p) = (0.0, 0.0);
    for (&a, &b) in q.data.iter().zip(&w.data) {
        if b.is_finite() {
            e += (a as f64 - b as f64).powi(2);
            p += (b as f64).powi(2);
        }
    }
    let m = e / n;
    (m, if p > 0.0 { e / p } else { 0.0 })
}

fn weight_rows(source: &str, w: &Matrix, out: &mut BitmodStudy) {
    let mut push = |quantizer: &str, bits: u32, bpw: f64, q: &Matrix| {
        let (m, r) = mse(q, w);
        out.mse.push(MseRow {
            source: source.into(),
            quantizer: quantizer.into(),
            bits,
            bits_per_weight: bpw,
            mse: m,
            rel_mse: r,
        });
    };
    for bits in [4u32, 3] {
        let q = datatypes::quantize(w, bits, GROUP);
        push(
            &format!("bitmod-w{bits}"),
            bits,
            datatypes::bits_per_weight(bits, GROUP),
            &q.dequantize(),
        );
        out.histogram.push(HistRow {
            source: source.into(),
            bits,
            groups: q.histogram().to_vec(),
        });
    }
    for (name, bits, spec) in plain_quantizers() {
        push(
            name,
            bits,
            spec.bits_per_element(w.cols),
            &spec.dequantize(w),
        );
    }
    // Keep each width's quantizers together: W4 first, then W3.
    let start = out.mse.len() - 6;
    out.mse[start..].sort_by_key(|r| std::cmp::Reverse(r.bits));
}

/// The scenario's model `model` names (default its first).
fn model_of<'f>(f: &'f BitmodFile, params: &BitmodParams) -> Result<&'f Model, String> {
    match &params.model {
        None => Ok(&f.models[0]),
        Some(n) => f.models.iter().find(|m| &m.name == n).ok_or_else(|| {
            let names: Vec<&str> = f.models.iter().map(|m| m.name.as_str()).collect();
            format!(
                "model: unknown model '{n}' (the scenario has: {})",
                names.join(", ")
            )
        }),
    }
}

fn scenario(p: &BitmodParams, ctx: &StudyContext) -> Result<BitmodFile, String> {
    match &p.sim {
        None => Ok(config::builtin_bitmod()),
        Some(s) => match config::load(&ctx.base.join(s))? {
            SimFile::Bitmod(f) => Ok(f),
            SimFile::Stripes(_) => Err(format!("sim: {s} is a stripes file, not a bitmod one")),
        },
    }
}

/// Checks the parameters and the scenario they name (loaded, its model found).
fn check(params: &BitmodParams, ctx: &StudyContext) -> Result<(), String> {
    if params.rows == 0 || params.cols == 0 {
        return Err("rows and cols must be positive".into());
    }
    if params.rows.saturating_mul(params.cols) > 1 << 26 {
        return Err(format!(
            "rows × cols: {} × {} weights, more than 2^26",
            params.rows, params.cols
        ));
    }
    if params.max_rows == 0 {
        return Err("max_rows must be positive".into());
    }
    // The checkpoint is read after the cells; here only that it is there.
    if let Some(path) = &params.weights {
        let full = ctx.base.join(path);
        if !full.is_file() {
            return Err(format!("weights: {}: no such file", full.display()));
        }
    }
    let f = scenario(params, ctx)?;
    model_of(&f, params).map(drop)
}

/// Runs the study.
pub fn run(params: &BitmodParams, ctx: &StudyContext) -> Result<BitmodStudy, String> {
    check(params, ctx)?;
    let mut out = BitmodStudy::default();
    let (_, w) = gen::llm_like(0, params.cols, params.rows, ctx.seed);
    weight_rows(
        &format!("llm-like {}x{}", params.rows, params.cols),
        &w,
        &mut out,
    );
    if let Some(path) = &params.weights {
        let full = ctx.base.join(path);
        let tensors = crate::workload::weights::load(&full, &params.tensors).map_err(|e| {
            // Name the file once, whichever loader reported the error.
            let shown = full.display().to_string();
            if e.contains(&shown) {
                format!("weights: {e}")
            } else {
                format!("weights: {shown}: {e}")
            }
        })?;
        for (name, m) in tensors {
            let rows = m.rows.min(params.max_rows);
            let m = Matrix::new(rows, m.cols, m.data[..rows * m.cols].to_vec());
            weight_rows(&name, &m, &mut out);
        }
    }

    let f = scenario(params, ctx)?;
    let model = model_of(&f, params)?;
    out.scenario = f.name.clone();
    out.model = model.name.clone();
    out.baseline = f.baseline.clone();
    for phase in Phase::ALL {
        let totals: Vec<_> = f
            .designs
            .iter()
            .map(|d| {
                let t = simulate(d, &f.memory, model, phase)
                    .map_err(|e| format!("sim: design '{}', {}: {e}", d.name, phase.name()))?;
                Ok((d.name.clone(), t.1))
            })
            .collect::<Result<_, String>>()?;
        let find = |n: &str| totals.iter().find(|(d, _)| d == n).map(|(_, t)| *t);
        let int8 = find("int8");
        let base = find(&f.baseline).expect("the loader checks the baseline exists");
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        for (name, t) in &totals {
            out.accel.push(AccelRow {
                phase: phase.name().into(),
                design: name.clone(),
                cycles: t.cycles,
                compute_cycles: t.compute_cycles,
                dram_cycles: t.dram_cycles,
                energy_uj: t.energy_pj() / 1e6,
                speedup_vs_int8: int8.map_or(0.0, |i| ratio(i.cycles as f64, t.cycles as f64)),
                speedup_vs_baseline: ratio(base.cycles as f64, t.cycles as f64),
                energy_vs_int8: int8.map_or(0.0, |i| ratio(t.energy_pj(), i.energy_pj())),
                energy_vs_baseline: ratio(t.energy_pj(), base.energy_pj()),
            });
        }
    }
    Ok(out)
}

/// Type names in histogram order.
pub fn type_names() -> [&'static str; 4] {
    BitmodType::ALL.map(|t| t.name())
}

/// The study of BitMoD data types and accelerator cycles (registered in `with_studies`).
pub struct Bitmod;

impl super::Study for Bitmod {
    type Params = BitmodParams;
    type Output = BitmodStudy;
    fn validate(params: &BitmodParams, ctx: &StudyContext) -> Result<(), String> {
        check(params, ctx)
    }
    fn run(params: &BitmodParams, ctx: &StudyContext) -> Result<BitmodStudy, String> {
        run(params, ctx)
    }
}
