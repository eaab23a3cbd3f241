//! The suite runner: every cell (variant × workload × shape × seed) measured
//! for accuracy, weight error, storage and energy, in parallel (unless the
//! suite says `accuracy = false`); then, one timing at a time, the emulation
//! speed of every (variant, shape) and, for variants with a native kernel
//! (unless `native = false`), the kernel's speed and fraction of a same-run
//! ceiling, after checking its bits against the emulation's output.
//!
//! The work is planned by [`super::plan`], measured by [`super::measure`]
//! and written by [`super::sink`]: rows stream to `results.csv` /
//! `results.json` (atomic rewrites, at most every
//! [`RunOptions::write_interval`], and once at the end), so an interrupted
//! run leaves every completed cell on disk and `resume` can pick it up (if
//! the run's configuration, see [`super::resume`], has not changed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use super::attention_cell::{self, AttnCeilings, Reference, ATTENTION_REFERENCE};
use super::error::RunError;
use super::files::{self, read_results, JSON_NAME};
use super::kernel_bench::CeilingCache;
use super::measure::{
    cell_rows, emulation_input, measure_cell, reference_output, time_native, time_variant,
    NativeTiming, RowStamp, Toolkit, REFERENCE_VARIANT,
};
use super::meta;
use super::plan::{order_names, AttnGrid, Order, Plan};
use super::record::metric;
use super::record::{Measurement, Results, RunMeta};
use super::resume;
use super::shard::{fingerprint, Shard, ShardInfo};
use super::sink::Sink;
use super::spec::Suite;
use crate::attention::{self, AttentionVariant};
use crate::variants::MatmulVariant;
use crate::workload::cases::{self, AttnCase, Case};

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
    /// The part of the run to do (None: all of it, unsharded).
    pub shard: Option<Shard>,
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
            shard: None,
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

/// Runs `suite` with the variants of `registry` (which must include
/// [`REFERENCE_VARIANT`] and every variant the suite names), writing
/// `results.csv` / `results.json` into `opts.out_dir`. Runs the cells only;
/// [`super::run`] runs the studies too.
///
/// Everything that can be checked is checked before the output folder is
/// touched (weight files, the reference, a resumed results file), so a bad
/// input leaves no output. Errors name the input.
pub fn run_suite(
    suite: &Suite,
    registry: &[Box<dyn MatmulVariant>],
    tk: &Toolkit,
    opts: &RunOptions,
) -> Result<RunSummary, RunError> {
    run_cells(suite, registry, tk, opts, |_| Ok(()))
}

/// Runs the cells of `suite`; then, unless the run was stopped or failed,
/// `finish` may complete the results (the studies) before the final write.
/// The files are written at the end in every case, so the completed cells
/// are on disk even when `finish` fails.
pub(crate) fn run_cells(
    suite: &Suite,
    registry: &[Box<dyn MatmulVariant>],
    tk: &Toolkit,
    opts: &RunOptions,
    finish: impl FnOnce(&mut Results) -> Result<(), RunError>,
) -> Result<RunSummary, RunError> {
    let started = Instant::now();
    let attn_registry = attention::registry();
    let (reference, variants) = resolve(suite, registry, &attn_registry)?;
    let (attn_reference, attn_variants) = resolve_attention(suite, &attn_registry)?;
    let file_error =
        |e: cases::FileError| RunError::new(format!("{} line {}", suite.file, e.line), e.message);
    let cases = cases::cases(&suite.workloads).map_err(file_error)?;
    let model_qkv = |dir: &Path, layer: usize, sentence: Option<usize>| {
        let model = crate::model::Model::load(dir).map_err(|e| e.to_string())?;
        let text = model.eval_sentence(sentence).map_err(|e| e.to_string())?;
        model
            .attention_inputs(&text, layer)
            .map_err(|e| e.to_string())
    };
    let attn_cases = cases::attention_cases(&suite.workloads, &model_qkv).map_err(file_error)?;
    let grid = AttnGrid {
        variants: &attn_variants,
        cases: &attn_cases,
    };
    let config = resume::config_key(
        suite,
        meta::VERSION,
        meta::commit().as_deref(),
        &tk.energy_key,
    );
    let earlier = earlier_rows(suite, opts, &config)?;
    let mut plan = Plan::new(
        &variants,
        &cases,
        &suite.seeds,
        suite.repetitions,
        earlier,
        opts.shard.unwrap_or(Shard::WHOLE),
        grid,
    );
    if !suite.accuracy {
        // A timings-only suite (`accuracy = false`): no accuracy cells.
        plan.cells.clear();
        plan.groups.clear();
        plan.attn_groups.clear();
    }
    std::fs::create_dir_all(&opts.out_dir).map_err(|e| {
        RunError::new(
            opts.out_dir.display().to_string(),
            format!("cannot create folder: {e}"),
        )
    })?;
    files::remove_stale_report(&opts.out_dir)?;

    let stamp = RowStamp {
        suite: suite.name.clone(),
        version: meta::VERSION.to_string(),
        commit: meta::commit(),
    };
    let mut meta = run_meta(&stamp, tk, &variants, &attn_variants);
    meta.config = config;
    if let Some(sh) = opts.shard {
        let (names, case_names) = order_names(&variants, &cases, grid);
        meta.shard = Some(ShardInfo {
            kind: "report".into(),
            index: sh.index,
            count: sh.count,
            fingerprint: suite_fingerprint(suite, &stamp),
            complete: false,
            variants: names,
            cases: case_names,
            seeds: suite.seeds.clone(),
        });
    }
    let results = Results {
        meta,
        rows: plan.kept.clone(),
        studies: Default::default(),
        explore: None,
    };
    let local_stop = AtomicBool::new(false);
    let stop = opts.stop.unwrap_or(&local_stop);
    let order = Order::new(&variants, &cases, grid, &suite.seeds);
    let sink = Mutex::new(Sink::new(
        results,
        order,
        opts.out_dir.clone(),
        opts.write_interval,
        stop,
    ));
    let run = Phases {
        cases: &cases,
        stamp: &stamp,
        tk,
        sink: &sink,
        bar: progress_bar(opts.progress, plan.tasks(), "accuracy"),
        stop,
        native: suite.native,
        emulation_rows: suite.emulation_rows,
        attn_cases: &attn_cases,
    };
    let cells_run = run.accuracy(reference, &plan) + run.attention(attn_reference, &plan);
    let timings_run = run.timings(&plan, suite.seeds[0], suite.repetitions)
        + run.attention_timings(&plan, suite.seeds[0], suite.repetitions);
    run.bar.finish_and_clear();

    let mut s = run.lock();
    let interrupted = opts.stop.is_some_and(|f| f.load(Ordering::SeqCst));
    let finished = if s.error.is_none() && !interrupted {
        let f = finish(&mut s.results);
        if let (Ok(()), Some(info)) = (&f, s.results.meta.shard.as_mut()) {
            info.complete = true;
        }
        f
    } else {
        Ok(())
    };
    s.flush();
    if let Some(e) = s.error.take() {
        return Err(e);
    }
    finished?;
    Ok(RunSummary {
        results: s.results.clone(),
        cells: plan.cells.len(),
        cells_run,
        cells_resumed: plan.resumed,
        timings_run,
        interrupted,
        elapsed: started.elapsed(),
    })
}

/// The attention reference and the suite's attention variants, found in `registry`.
fn resolve_attention<'r>(
    suite: &Suite,
    registry: &'r [Box<dyn AttentionVariant>],
) -> Result<(&'r dyn AttentionVariant, Vec<&'r dyn AttentionVariant>), RunError> {
    let find = |name: &str| registry.iter().find(|v| v.name() == name).map(|v| &**v);
    let reference = find(ATTENTION_REFERENCE).ok_or_else(|| {
        RunError::new(
            format!("variant {ATTENTION_REFERENCE}"),
            "the attention reference is not registered",
        )
    })?;
    let variants = suite.variants.iter().filter_map(|n| find(n)).collect();
    Ok((reference, variants))
}

/// The reference and the suite's matmul variants, found in `registry`
/// (names of `attention` variants are the attention grid's).
fn resolve<'r>(
    suite: &Suite,
    registry: &'r [Box<dyn MatmulVariant>],
    attention: &[Box<dyn AttentionVariant>],
) -> Result<(&'r dyn MatmulVariant, Vec<&'r dyn MatmulVariant>), RunError> {
    let find = |name: &str| registry.iter().find(|v| v.name() == name).map(|v| &**v);
    let reference = find(REFERENCE_VARIANT).ok_or_else(|| {
        RunError::new(
            format!("variant {REFERENCE_VARIANT}"),
            "the accuracy reference is not registered",
        )
    })?;
    let variants = suite
        .variants
        .iter()
        .filter(|n| !attention.iter().any(|a| a.name() == n.as_str()))
        .map(|n| {
            find(n).ok_or_else(|| {
                RunError::new(
                    suite.file.clone(),
                    format!("variant '{n}' is not registered"),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    Ok((reference, variants))
}

/// What makes shards of one run the same run: the suite's content (not
/// where it lives or where results go), the version and the commit.
fn suite_fingerprint(suite: &Suite, stamp: &RowStamp) -> String {
    let canonical = format!(
        "{:?}|{:?}|{:?}|{}|{:?}|{}|{:?}|{}|{:?}",
        suite.name,
        suite.variants,
        suite.workloads,
        suite.repetitions,
        (suite.native, suite.accuracy, suite.emulation_rows),
        suite.energy,
        suite.studies,
        stamp.version,
        (&stamp.commit, &suite.seeds),
    );
    fingerprint(&canonical)
}

/// With `resume`, the rows of the results file already in the output
/// folder, which must hold a run of this suite under the same configuration
/// `config` (see [`resume`]); otherwise none.
fn earlier_rows(
    suite: &Suite,
    opts: &RunOptions,
    config: &BTreeMap<String, String>,
) -> Result<Vec<Measurement>, RunError> {
    let json_path = opts.out_dir.join(JSON_NAME);
    if !(opts.resume && json_path.exists()) {
        return Ok(Vec::new());
    }
    let at = || json_path.display().to_string();
    let old = read_results(&json_path).map_err(|e| RunError::new(at(), e))?;
    if old.meta.suite != suite.name {
        return Err(RunError::new(
            at(),
            format!(
                "holds results of suite '{}', not '{}' (use another --out, or drop --resume)",
                old.meta.suite, suite.name
            ),
        ));
    }
    resume::check(&old.meta.config, config).map_err(|e| {
        RunError::new(
            at(),
            format!("{e}: use another --out, or drop --resume to run every cell again"),
        )
    })?;
    // A row twice (a hand-merged or edited file) would be carried into the
    // new results and counted twice in every summary: refuse it.
    let mut seen = std::collections::HashSet::new();
    for r in &old.rows {
        if !seen.insert((&r.variant, &r.workload, &r.shape, r.seed, &r.metric, r.rep)) {
            return Err(RunError::new(
                at(),
                format!(
                    "holds the row {} {} {} seed {} {} rep {} twice: fix the file, use another \
                     --out, or drop --resume",
                    r.variant, r.workload, r.shape, r.seed, r.metric, r.rep
                ),
            ));
        }
    }
    Ok(old.rows)
}

/// The run's metadata (energy notes are filled in as cells report them).
fn run_meta(
    stamp: &RowStamp,
    tk: &Toolkit,
    variants: &[&dyn MatmulVariant],
    attn: &[&dyn AttentionVariant],
) -> RunMeta {
    RunMeta {
        suite: stamp.suite.clone(),
        version: stamp.version.clone(),
        commit: stamp.commit.clone(),
        cpu_model: meta::cpu_model(),
        simd: meta::simd_features(),
        threads: rayon::current_num_threads(),
        date: meta::rfc3339_utc(SystemTime::now()),
        energy_table: tk.energy_table.clone(),
        energy_notes: Vec::new(),
        variants: variants
            .iter()
            .map(|v| meta::variant_info(*v))
            .chain(attn.iter().map(|v| meta::attention_info(*v)))
            .collect(),
        number_lines: meta::number_lines(variants),
        shard: None,
        config: BTreeMap::new(),
    }
}

/// What both measuring phases share.
struct Phases<'a> {
    cases: &'a [Case],
    stamp: &'a RowStamp,
    tk: &'a Toolkit<'a>,
    sink: &'a Mutex<Sink<'a>>,
    bar: ProgressBar,
    stop: &'a AtomicBool,
    /// Whether to time native kernels (the suite's `native`).
    native: bool,
    /// The suite's `emulation_rows`.
    emulation_rows: Option<usize>,
    /// The attention cases.
    attn_cases: &'a [AttnCase],
}

impl<'a> Phases<'a> {
    fn lock(&self) -> MutexGuard<'a, Sink<'a>> {
        self.sink.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Accuracy, energy, storage: groups in parallel, the variants of a group
    /// in parallel. Returns the number of cells measured.
    fn accuracy(&self, reference: &dyn MatmulVariant, plan: &Plan) -> usize {
        let cells_run = AtomicUsize::new(0);
        plan.groups.par_iter().for_each(|g| {
            if self.stopped() {
                return;
            }
            let c = &self.cases[g.case];
            let (a, w, reference_out) = match reference_output(reference, c, g.seed, self.tk) {
                Ok(x) => x,
                Err(e) => return self.lock().fail(e),
            };
            g.todo.par_iter().for_each(|v| {
                if self.stopped() {
                    return;
                }
                match measure_cell(*v, c.shape, &a, &w, &reference_out, g.seed, self.tk) {
                    Ok(m) => {
                        let rows = cell_rows(self.stamp, v.name(), c, g.seed, m.values);
                        self.lock().add(rows, m.energy_notes);
                        cells_run.fetch_add(1, Ordering::SeqCst);
                        self.bar.inc(1);
                    }
                    Err(e) => self.lock().fail(e),
                }
            });
        });
        cells_run.into_inner()
    }

    /// Emulation speed, then (unless the suite opts out) the native
    /// kernel's, checked against the emulation's output: one timing at a
    /// time, after the parallel phase, on `seed`. Each ceiling is measured
    /// once per run ([`CeilingCache`]). Returns the number of (variant,
    /// shape) timings measured.
    fn timings(&self, plan: &Plan, seed: u64, repetitions: u32) -> usize {
        let stopped = || self.stopped();
        let mut ceilings = CeilingCache::new(NATIVE_READ_BUDGET, NATIVE_PEAK_BUDGET);
        let threads = rayon::current_num_threads();
        let mut timings_run = 0;
        for t in &plan.timings {
            if self.stopped() {
                break;
            }
            let c = &self.cases[t.case];
            let (a, w) = c.matrices(seed, self.tk.generate, self.tk.llm_like);
            let a_emu = emulation_input(&a, self.emulation_rows);
            for v in &t.todo {
                // One timing can take a while: the bar names what runs.
                self.bar
                    .set_message(format!("timing {} {}", v.name(), c.shape));
                let timed =
                    time_variant(self.stamp, *v, c, (&a_emu, &w), seed, repetitions, &stopped);
                let Some((mut rows, emu_output)) = timed else {
                    return timings_run;
                };
                if self.native {
                    self.bar
                        .set_message(format!("native {} {}", v.name(), c.shape));
                    let nt = NativeTiming {
                        emu_input: &a_emu,
                        emu_output: &emu_output,
                        repetitions,
                        ceilings: &mut ceilings,
                        threads,
                    };
                    match time_native(self.stamp, *v, c, (&a, &w), seed, nt) {
                        Ok(native) => rows.extend(native),
                        Err(e) => {
                            self.lock().fail(e);
                            return timings_run;
                        }
                    }
                }
                self.lock().add(rows, Vec::new());
                timings_run += 1;
                self.bar.inc(1);
            }
        }
        timings_run
    }
}

/// Score-matrix size (heads × nq × nk) above which attention cells run one
/// at a time: 2²⁶ f64 scores are 512 MiB per cell.
const SEQUENTIAL_CELLS_ABOVE: usize = 1 << 26;

impl Phases<'_> {
    /// The attention cells: one (case, seed) at a time (Q/K/V drawn and the
    /// reference run once), its variants in parallel. Returns the number of
    /// cells measured.
    fn attention(&self, reference: &dyn AttentionVariant, plan: &Plan) -> usize {
        if !plan.attn_groups.is_empty() {
            self.bar.set_message("attention");
        }
        let cells_run = AtomicUsize::new(0);
        let price = |c: &crate::hw::cost::Cost| (self.tk.energy)(c);
        for g in &plan.attn_groups {
            if self.stopped() {
                break;
            }
            let c = &self.attn_cases[g.case];
            let x = c.qkv(g.seed);
            let r = Reference::of(reference, &x);
            let cell = |v: &&dyn AttentionVariant| {
                if self.stopped() {
                    return;
                }
                match attention_cell::measure(*v, &x, &r, &price) {
                    Ok(m) => {
                        let rows = cell_values(&m)
                            .into_iter()
                            .map(|(name, value)| {
                                let mt =
                                    metric::find(name).expect("attention metrics are in the table");
                                self.stamp.row(v.name(), c, g.seed, mt, value, 0)
                            })
                            .collect();
                        self.lock().add(rows, m.energy.scaled);
                        cells_run.fetch_add(1, Ordering::SeqCst);
                        self.bar.inc(1);
                    }
                    Err(e) => self.lock().fail(RunError::new(
                        format!("variant {}", v.name()),
                        format!("workload '{}' seed {}: {e}", c.workload, g.seed),
                    )),
                }
            };
            // Long contexts: each cell holds its own score matrix (heads ×
            // nq × nk f64) beside the reference's, so cells run one at a
            // time (each variant is parallel inside) to bound the memory.
            if x.shape.heads * x.shape.nq * x.shape.nk > SEQUENTIAL_CELLS_ABOVE {
                g.todo.iter().for_each(cell);
            } else {
                g.todo.par_iter().for_each(cell);
            }
        }
        cells_run.into_inner()
    }

    /// Attention timings on `seed`, one at a time: the emulation's MAC/s
    /// (MACs of the variant's cost), then (unless the suite opts out) the
    /// native kernel's G op/s and fraction of a same-run ceiling, after
    /// checking its output against the emulation's bit for bit.
    fn attention_timings(&self, plan: &Plan, seed: u64, repetitions: u32) -> usize {
        let mut ceilings = AttnCeilings::new(NATIVE_PEAK_BUDGET, rayon::current_num_threads());
        let find = |name| metric::find(name).expect("the timing metrics are in the table");
        let (speed, gops, frac) = (
            find(metric::EMULATION_MAC_PER_S),
            find(metric::NATIVE_GOPS),
            find(metric::NATIVE_CEILING_FRACTION),
        );
        let mut timings_run = 0;
        for t in &plan.attn_timings {
            let c = &self.attn_cases[t.case];
            let x = c.qkv(seed);
            for v in &t.todo {
                if self.stopped() {
                    return timings_run;
                }
                self.bar
                    .set_message(format!("timing {} {}", v.name(), c.workload));
                let macs = v.cost(x.shape).macs;
                let mut rows: Vec<Measurement> =
                    attention_cell::time_emulation(*v, &x, repetitions)
                        .iter()
                        .enumerate()
                        .map(|(rep, s)| {
                            self.stamp
                                .row(v.name(), c, seed, speed, macs / s.max(1e-9), rep as u32)
                        })
                        .collect();
                if let (true, Some(kernel)) = (self.native, v.native()) {
                    self.bar
                        .set_message(format!("native {} {}", v.name(), c.workload));
                    let emulated = v.emulate(&x);
                    if let Err(e) = attention_cell::native_checked(*v, &x, &emulated) {
                        self.lock().fail(RunError::new(
                            format!("variant {}", v.name()),
                            format!("workload '{}' seed {seed}: {e}", c.workload),
                        ));
                        return timings_run;
                    }
                    let flops = super::attention_bench::flops(x.shape);
                    for (rep, s) in attention_cell::time_native(&*kernel, &x, repetitions)
                        .iter()
                        .enumerate()
                    {
                        let rep = rep as u32;
                        let rate = flops / s.max(1e-12) / 1e9;
                        rows.push(self.stamp.row(v.name(), c, seed, gops, rate, rep));
                        let f = ceilings.fraction(*v, &*kernel, &x, *s);
                        rows.push(self.stamp.row(v.name(), c, seed, frac, f, rep));
                    }
                }
                self.lock().add(rows, Vec::new());
                timings_run += 1;
                self.bar.inc(1);
            }
        }
        timings_run
    }
}

/// Measuring time of each read-loop ceiling a suite's native GEMV timings
/// need (one per packed size: measured once per run and size, see
/// [`CeilingCache`]). Short, because every variant packs to its own size; a
/// read loop's run moves at least 64 MiB and the best of at least two counts.
pub const NATIVE_READ_BUDGET: Duration = Duration::from_millis(10);

/// Measuring time of each instruction-peak ceiling a suite's native GEMM
/// timings need (one per base instruction and run).
pub const NATIVE_PEAK_BUDGET: Duration = Duration::from_millis(40);

/// A progress bar on stderr over `tasks`, headed `message` (hidden unless
/// `show`, and when stderr is not a terminal). A shown bar redraws twice a
/// second, so that a step that takes minutes (a large cell, a native timing,
/// a study) still shows the clock moving.
pub(crate) fn progress_bar(show: bool, tasks: usize, message: &'static str) -> ProgressBar {
    let bar = if show {
        ProgressBar::with_draw_target(Some(tasks as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{msg:>8} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(message);
    if !bar.is_hidden() {
        bar.enable_steady_tick(Duration::from_millis(500));
    }
    bar
}

/// An attention cell's values, named as in the metric table, in the order
/// of [`metric::ATTENTION_CELL`].
fn cell_values(m: &attention_cell::AttnMeasured) -> Vec<(&'static str, f64)> {
    use metric::*;
    let total = m.energy.total_pj();
    let per_mac = if m.cost.macs > 0.0 {
        total / m.cost.macs
    } else {
        f64::NAN
    };
    let (a, p) = (&m.accuracy, &m.probs);
    vec![
        (REL_FRO_ERROR, a.rel_fro_error),
        (SQNR_DB, a.sqnr_db),
        (COSINE, a.cosine),
        (MAX_ABS_ERROR, a.max_abs_error),
        (MEAN_ABS_ERROR, a.mean_abs_error),
        (ENERGY_PJ_PER_MAC, per_mac),
        (ENERGY_TOTAL_PJ, total),
        (ENERGY_COMPUTE_PJ, m.energy.compute_pj),
        (ENERGY_SRAM_PJ, m.energy.sram_pj),
        (ENERGY_DRAM_PJ, m.energy.dram_pj),
        (KL_MEAN, p.kl_mean),
        (KL_MAX, p.kl_max),
        (TV_MEAN, p.tv_mean),
        (TV_MAX, p.tv_max),
        (BITS_PER_KV, m.kv_bits),
        (SLOW_MEMORY_BYTES, m.cost.dram_bytes),
    ]
}
