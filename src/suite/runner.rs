//! The suite runner: every cell (variant × workload × shape × seed) measured
//! for accuracy, weight error, storage and energy, in parallel; then the
//! emulation speed of every (variant, shape), one timing at a time.
//!
//! Rows stream to `results.csv` / `results.json` (atomic rewrites, at most
//! every [`RunOptions::write_interval`], and once at the end), so an
//! interrupted run leaves every completed cell on disk and `resume` can pick
//! it up.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use super::files::{read_results, write_results, JSON_NAME};
use super::meta;
use super::record::{metric, Measurement, Results, RunMeta};
use super::spec::{Dist, Suite, WorkloadKind};
use super::weights;
use crate::hw::cost::Cost;
use crate::hw::energy::{EnergyBreakdown, EnergyTable};
use crate::metrics::{self, Accuracy};
use crate::tensor::Matrix;
use crate::tensor::Shape;
use crate::variants::MatmulVariant;
use crate::workload::gen::{self, Distribution};

/// The variant every other one is compared with (computed once per workload, shape and seed).
pub const REFERENCE_VARIANT: &str = "matmul/f64";

/// The deterministic metrics of every cell, in the order rows are written.
pub const CELL_METRICS: &[(&str, &str)] = &[
    (metric::REL_FRO_ERROR, ""),
    (metric::SQNR_DB, "dB"),
    (metric::COSINE, ""),
    (metric::MAX_ABS_ERROR, ""),
    (metric::MEAN_ABS_ERROR, ""),
    (metric::WEIGHT_MSE, ""),
    (metric::WEIGHT_SQNR_DB, "dB"),
    (metric::BITS_PER_WEIGHT, "bits"),
    (metric::ENERGY_PJ_PER_MAC, "pJ/MAC"),
    (metric::ENERGY_TOTAL_PJ, "pJ"),
    (metric::ENERGY_COMPUTE_PJ, "pJ"),
    (metric::ENERGY_SRAM_PJ, "pJ"),
    (metric::ENERGY_DRAM_PJ, "pJ"),
];

/// The computations the runner calls below itself: generators, metrics and
/// energy. [`Toolkit::standard`] wires the real ones; tests may pass others.
pub struct Toolkit<'a> {
    /// Draws a `rows × cols` matrix (see [`gen::generate`]).
    pub generate: fn(&Distribution, usize, usize, u64) -> Matrix,
    /// LLM-like operands `(A: m × k, W: n × k)` (see [`gen::llm_like`]).
    pub llm_like: fn(usize, usize, usize, u64) -> (Matrix, Matrix),
    /// Output accuracy against the reference (see [`metrics::accuracy`]).
    pub accuracy: fn(&[f64], &[f64]) -> Accuracy,
    /// Weight MSE and SQNR (see [`metrics::weight_error`]).
    pub weight_error: fn(&[f32], &[f32]) -> (f64, f64),
    /// Energy of a cost.
    pub energy: Box<dyn Fn(&Cost) -> EnergyBreakdown + Sync + 'a>,
    /// Name of the energy table, for the results' metadata.
    pub energy_table: String,
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
        }
    }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions<'a> {
    /// Folder for `results.csv` and `results.json` (created if missing).
    pub out_dir: PathBuf,
    /// Keep the cells already in `out_dir/results.json` and run only the others.
    pub resume: bool,
    /// Show a progress bar on stderr (it stays hidden when stderr is not a terminal).
    pub progress: bool,
    /// When set (e.g. by Ctrl-C), no new cell starts; finished ones are kept.
    pub stop: Option<&'a AtomicBool>,
    /// Least time between two rewrites of the results files while running.
    pub write_interval: Duration,
}

impl<'a> RunOptions<'a> {
    /// Defaults: no resume, a progress bar, no stop flag, rewrites at most once a second.
    pub fn new(out_dir: impl Into<PathBuf>) -> Self {
        RunOptions {
            out_dir: out_dir.into(),
            resume: false,
            progress: true,
            stop: None,
            write_interval: Duration::from_secs(1),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// Everything in the results files at the end (resumed rows included).
    pub results: Results,
    /// Accuracy cells in the suite.
    pub cells: usize,
    /// Accuracy cells measured by this run (the others were resumed or not reached).
    pub cells_run: usize,
    /// Accuracy cells taken over from an earlier run (`resume`).
    pub cells_resumed: usize,
    /// Timing tasks (variant × shape) measured by this run.
    pub timings_run: usize,
    /// Whether the stop flag ended the run early.
    pub interrupted: bool,
    /// Wall time of this run.
    pub elapsed: Duration,
}

/// A (workload, shape) pair with where its matrices come from.
struct Case {
    workload: String,
    shape: Shape,
    source: Source,
}

enum Source {
    Generated(Dist),
    /// Fixed weights; activations drawn Gaussian(0, 1).
    Weights(Arc<Matrix>),
}

/// The seed of the weights, derived from the workload seed (activations use
/// the seed itself) so that A and W are independent draws (SplitMix64 step).
pub fn weight_seed(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Case {
    fn matrices(&self, seed: u64, tk: &Toolkit) -> (Matrix, Matrix) {
        let Shape { m, k, n } = self.shape;
        match &self.source {
            Source::Generated(Dist::Plain(d)) => (
                (tk.generate)(d, m, k, seed),
                (tk.generate)(d, n, k, weight_seed(seed)),
            ),
            Source::Generated(Dist::LlmLike) => (tk.llm_like)(m, k, n, seed),
            Source::Weights(w) => (
                (tk.generate)(&Distribution::Gaussian { std: 1.0 }, m, k, seed),
                (**w).clone(),
            ),
        }
    }
}

/// The suite's (workload, shape) cases in spec order, loading weight files.
fn cases(suite: &Suite) -> Result<Vec<Case>, String> {
    let mut out = Vec::new();
    for w in &suite.workloads {
        match &w.kind {
            WorkloadKind::Generated { dist, shapes } => {
                out.extend(shapes.iter().map(|&shape| Case {
                    workload: w.name.clone(),
                    shape,
                    source: Source::Generated(dist.clone()),
                }))
            }
            WorkloadKind::File { path, tensors, m } => {
                let loaded = weights::load(path, tensors).map_err(|e| {
                    format!(
                        "{} line {}: workloads '{}': file '{}': {e}",
                        suite.file,
                        w.line,
                        w.name,
                        path.display()
                    )
                })?;
                let single = loaded.len() == 1 && tensors.is_empty();
                for (tensor, mat) in loaded {
                    out.push(Case {
                        // One name per tensor so that cells stay distinct.
                        workload: if single {
                            w.name.clone()
                        } else {
                            format!("{}:{tensor}", w.name)
                        },
                        shape: Shape {
                            m: *m,
                            k: mat.cols,
                            n: mat.rows,
                        },
                        source: Source::Weights(Arc::new(mat)),
                    });
                }
            }
        }
    }
    Ok(out)
}

type CellKey = (String, String, String, u64);

fn key(variant: &str, workload: &str, shape: Shape, seed: u64) -> CellKey {
    (
        variant.to_string(),
        workload.to_string(),
        shape.to_string(),
        seed,
    )
}

/// Row sort order: variant, case, seed (suite order), metric, repetition;
/// rows of unknown cells last.
struct Order {
    variant: HashMap<String, usize>,
    case: HashMap<(String, String), usize>,
    seed: HashMap<u64, usize>,
}

impl Order {
    fn sort(&self, rows: &mut [Measurement]) {
        let metric_idx = |m: &str| {
            CELL_METRICS
                .iter()
                .position(|(x, _)| *x == m)
                .unwrap_or(CELL_METRICS.len())
        };
        rows.sort_by_cached_key(|r| {
            (
                *self.variant.get(&r.variant).unwrap_or(&usize::MAX),
                *self
                    .case
                    .get(&(r.workload.clone(), r.shape.clone()))
                    .unwrap_or(&usize::MAX),
                *self.seed.get(&r.seed).unwrap_or(&usize::MAX),
                metric_idx(&r.metric),
                r.metric.clone(),
                r.rep,
            )
        });
    }
}

/// Collects rows as cells finish and rewrites the results files.
struct Sink<'a> {
    results: Results,
    order: Order,
    out_dir: PathBuf,
    interval: Duration,
    last_write: Instant,
    dirty: bool,
    energy_notes: BTreeSet<String>,
    error: Option<String>,
    stop: &'a AtomicBool,
}

impl Sink<'_> {
    fn add(&mut self, rows: Vec<Measurement>, notes: Vec<String>) {
        self.results.rows.extend(rows);
        self.energy_notes.extend(notes);
        self.dirty = true;
        if self.last_write.elapsed() >= self.interval {
            self.flush();
        }
    }

    fn fail(&mut self, e: String) {
        if self.error.is_none() {
            self.error = Some(e);
        }
        self.stop.store(true, Ordering::SeqCst);
    }

    fn flush(&mut self) {
        self.results.meta.energy_notes = self.energy_notes.iter().cloned().collect();
        self.order.sort(&mut self.results.rows);
        if let Err(e) = write_results(&self.out_dir, &self.results) {
            self.fail(e);
        }
        self.last_write = Instant::now();
        self.dirty = false;
    }
}

/// Runs `suite` with the variants of `registry` (which must include
/// [`REFERENCE_VARIANT`] and every variant the suite names), writing
/// `results.csv` / `results.json` into `opts.out_dir`.
///
/// Everything that can be checked is checked before the output folder is
/// touched (weight files, the reference, a resumed results file), so a bad
/// input leaves no output. Errors are one line naming the input.
pub fn run_suite(
    suite: &Suite,
    registry: &[Box<dyn MatmulVariant>],
    tk: &Toolkit,
    opts: &RunOptions,
) -> Result<RunSummary, String> {
    let started = Instant::now();
    let find = |name: &str| registry.iter().find(|v| v.name() == name).map(|v| &**v);
    let reference = find(REFERENCE_VARIANT).ok_or_else(|| {
        format!("variant {REFERENCE_VARIANT}: the accuracy reference is not registered")
    })?;
    let variants: Vec<&dyn MatmulVariant> = suite
        .variants
        .iter()
        .map(|n| find(n).ok_or_else(|| format!("{}: variant '{n}' is not registered", suite.file)))
        .collect::<Result<_, _>>()?;
    let cases = cases(suite)?;
    let seeds = &suite.seeds;

    let version = meta::VERSION.to_string();
    let commit = meta::commit();
    let row =
        |v: &str, c: &Case, seed: u64, m: &str, value: f64, unit: &str, rep: u32| Measurement {
            suite: suite.name.clone(),
            variant: v.to_string(),
            workload: c.workload.clone(),
            shape: c.shape.to_string(),
            metric: m.to_string(),
            value,
            unit: unit.to_string(),
            seed,
            rep,
            version: version.clone(),
            commit: commit.clone(),
        };

    // Every cell, and the (variant, shape) timing tasks: each on the first case with that
    // shape and the first seed (emulation speed hardly depends on the values).
    let cell_keys: HashSet<CellKey> = variants
        .iter()
        .flat_map(|v| {
            cases.iter().flat_map(move |c| {
                seeds
                    .iter()
                    .map(move |&s| key(v.name(), &c.workload, c.shape, s))
            })
        })
        .collect();
    let mut timing_cases: Vec<usize> = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        if !timing_cases.iter().any(|&j| cases[j].shape == c.shape) {
            timing_cases.push(i);
        }
    }

    // Resume: keep complete cells and complete timings of this suite; drop the rest.
    let json_path = opts.out_dir.join(JSON_NAME);
    let mut kept: Vec<Measurement> = Vec::new();
    if opts.resume && json_path.exists() {
        let old = read_results(&json_path).map_err(|e| format!("{}: {e}", json_path.display()))?;
        if old.meta.suite != suite.name {
            return Err(format!(
                "{}: holds results of suite '{}', not '{}' (use another --out, or drop --resume)",
                json_path.display(),
                old.meta.suite,
                suite.name
            ));
        }
        kept = complete_rows(old.rows, &cell_keys, suite.repetitions);
    }
    let done: HashSet<CellKey> = kept
        .iter()
        .filter(|r| r.metric == metric::REL_FRO_ERROR)
        .map(Measurement::cell_key)
        .collect();
    let timed: HashSet<CellKey> = kept
        .iter()
        .filter(|r| metric::is_timing(&r.metric))
        .map(Measurement::cell_key)
        .collect();

    let mut groups: Vec<(usize, u64, Vec<&dyn MatmulVariant>)> = Vec::new();
    for (ci, c) in cases.iter().enumerate() {
        for &s in seeds {
            let todo: Vec<_> = variants
                .iter()
                .copied()
                .filter(|v| !done.contains(&key(v.name(), &c.workload, c.shape, s)))
                .collect();
            if !todo.is_empty() {
                groups.push((ci, s, todo));
            }
        }
    }
    let mut timings: Vec<(usize, Vec<&dyn MatmulVariant>)> = Vec::new();
    if suite.repetitions > 0 {
        for &ci in &timing_cases {
            let c = &cases[ci];
            let todo: Vec<_> = variants
                .iter()
                .copied()
                .filter(|v| !timed.contains(&key(v.name(), &c.workload, c.shape, seeds[0])))
                .collect();
            if !todo.is_empty() {
                timings.push((ci, todo));
            }
        }
    }
    let cells_todo: usize = groups.iter().map(|g| g.2.len()).sum();
    let timings_todo: usize = timings.iter().map(|t| t.1.len()).sum();

    std::fs::create_dir_all(&opts.out_dir)
        .map_err(|e| format!("{}: cannot create folder: {e}", opts.out_dir.display()))?;

    let run_meta = RunMeta {
        suite: suite.name.clone(),
        version: version.clone(),
        commit: commit.clone(),
        cpu_model: meta::cpu_model(),
        simd: meta::simd_features(),
        threads: rayon::current_num_threads(),
        date: meta::rfc3339_utc(SystemTime::now()),
        energy_table: tk.energy_table.clone(),
        energy_notes: Vec::new(),
        variants: variants.iter().map(|v| meta::variant_info(*v)).collect(),
        number_lines: meta::number_lines(&variants),
    };
    let local_stop = AtomicBool::new(false);
    let stop = opts.stop.unwrap_or(&local_stop);
    let stopped = || stop.load(Ordering::SeqCst);
    let order = Order {
        variant: idx(variants.iter().map(|v| v.name().to_string())),
        case: idx(cases
            .iter()
            .map(|c| (c.workload.clone(), c.shape.to_string()))),
        seed: idx(seeds.iter().copied()),
    };
    let sink = Mutex::new(Sink {
        results: Results {
            meta: run_meta,
            rows: kept,
            studies: Default::default(),
        },
        order,
        out_dir: opts.out_dir.clone(),
        interval: opts.write_interval,
        last_write: Instant::now(),
        dirty: true,
        energy_notes: BTreeSet::new(),
        error: None,
        stop,
    });
    let lock = || sink.lock().unwrap_or_else(|p| p.into_inner());

    let bar = if opts.progress {
        ProgressBar::with_draw_target(
            Some((cells_todo + timings_todo) as u64),
            ProgressDrawTarget::stderr(),
        )
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{msg:>8} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("accuracy");

    // Accuracy, energy, storage: groups in parallel, the variants of a group in parallel.
    let cells_run = std::sync::atomic::AtomicUsize::new(0);
    groups.par_iter().for_each(|(ci, seed, todo)| {
        if stopped() {
            return;
        }
        let c = &cases[*ci];
        let (a, w) = c.matrices(*seed, tk);
        let reference_out = reference.emulate(&a, &w, *seed);
        let expect = c.shape.m * c.shape.n;
        if reference_out.len() != expect {
            lock().fail(format!(
                "variant {REFERENCE_VARIANT}: returned {} values for {}, expected {expect}",
                reference_out.len(),
                c.shape
            ));
            return;
        }
        todo.par_iter().for_each(|v| {
            if stopped() {
                return;
            }
            match measure_cell(*v, c.shape, &a, &w, &reference_out, *seed, tk) {
                Ok((values, notes)) => {
                    let rows = CELL_METRICS
                        .iter()
                        .zip(values)
                        .map(|((m, unit), x)| row(v.name(), c, *seed, m, x, unit, 0))
                        .collect();
                    lock().add(rows, notes);
                    cells_run.fetch_add(1, Ordering::SeqCst);
                    bar.inc(1);
                }
                Err(e) => lock().fail(e),
            }
        });
    });

    // Emulation speed: one timing at a time, after the parallel phase.
    bar.set_message("timing");
    let mut timings_run = 0;
    'timing: for (ci, todo) in &timings {
        if stopped() {
            break;
        }
        let c = &cases[*ci];
        let seed = seeds[0];
        let (a, w) = c.matrices(seed, tk);
        for v in todo {
            let mut rows = Vec::new();
            for rep in 0..suite.repetitions {
                if stopped() {
                    break 'timing;
                }
                let t = Instant::now();
                let out = v.emulate(&a, &w, seed);
                let secs = t.elapsed().as_secs_f64();
                std::hint::black_box(out);
                let rate = c.shape.macs() / secs.max(1e-9);
                rows.push(row(
                    v.name(),
                    c,
                    seed,
                    metric::EMULATION_MAC_PER_S,
                    rate,
                    "MAC/s",
                    rep,
                ));
            }
            lock().add(rows, Vec::new());
            timings_run += 1;
            bar.inc(1);
        }
    }
    bar.finish_and_clear();

    let mut s = lock();
    s.flush();
    if let Some(e) = s.error.take() {
        return Err(e);
    }
    let interrupted = opts.stop.is_some_and(|f| f.load(Ordering::SeqCst));
    Ok(RunSummary {
        results: s.results.clone(),
        cells: cell_keys.len(),
        cells_run: cells_run.load(Ordering::SeqCst),
        cells_resumed: done.len(),
        timings_run,
        interrupted,
        elapsed: started.elapsed(),
    })
}

/// Positions of items in first-appearance order.
fn idx<T: std::hash::Hash + Eq>(it: impl Iterator<Item = T>) -> HashMap<T, usize> {
    let mut m = HashMap::new();
    for x in it {
        let n = m.len();
        m.entry(x).or_insert(n);
    }
    m
}

/// The rows of an earlier run worth keeping: cells of this suite with every
/// cell metric, and timings with every repetition.
fn complete_rows(
    rows: Vec<Measurement>,
    cells: &HashSet<CellKey>,
    repetitions: u32,
) -> Vec<Measurement> {
    let mut seen: HashMap<CellKey, HashSet<(String, u32)>> = HashMap::new();
    for r in &rows {
        seen.entry(r.cell_key())
            .or_default()
            .insert((r.metric.clone(), r.rep));
    }
    let complete = |k: &CellKey, timing: bool| {
        let Some(s) = seen.get(k) else { return false };
        if timing {
            (0..repetitions).all(|rep| s.contains(&(metric::EMULATION_MAC_PER_S.to_string(), rep)))
        } else {
            CELL_METRICS
                .iter()
                .all(|(m, _)| s.contains(&(m.to_string(), 0)))
        }
    };
    rows.into_iter()
        .filter(|r| {
            let k = r.cell_key();
            let timing = metric::is_timing(&r.metric);
            let known = timing || CELL_METRICS.iter().any(|(m, _)| *m == r.metric);
            known && cells.contains(&k) && complete(&k, timing)
        })
        .collect()
}

/// The [`CELL_METRICS`] values of one cell, and the energy table's scaling notes.
fn measure_cell(
    v: &dyn MatmulVariant,
    shape: Shape,
    a: &Matrix,
    w: &Matrix,
    reference: &[f64],
    seed: u64,
    tk: &Toolkit,
) -> Result<(Vec<f64>, Vec<String>), String> {
    let out = v.emulate(a, w, seed);
    if out.len() != reference.len() {
        return Err(format!(
            "variant {}: returned {} values for {shape}, expected {}",
            v.name(),
            out.len(),
            reference.len()
        ));
    }
    let acc = (tk.accuracy)(reference, &out);
    let wq = v.quantize_weights(w);
    if wq.data.len() != w.data.len() {
        return Err(format!(
            "variant {}: quantize_weights returned {} values for {} weights",
            v.name(),
            wq.data.len(),
            w.data.len()
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
        acc.rel_fro_error,
        acc.sqnr_db,
        acc.cosine,
        acc.max_abs_error,
        acc.mean_abs_error,
        w_mse,
        w_sqnr,
        v.bits_per_weight(shape.k),
        per_mac,
        total,
        e.compute_pj,
        e.sram_pj,
        e.dram_pj,
    ];
    debug_assert_eq!(values.len(), CELL_METRICS.len());
    Ok((values, e.scaled))
}
