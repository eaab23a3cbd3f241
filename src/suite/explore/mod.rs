//! The format design-space explorer: every configuration of a space
//! (element format × block × scale format × scale rule, see [`config`])
//! measured on a set of tensors ([`spec`]) for bits per element, quantization
//! SQNR and relative error per tensor and per role, the error of a matmul
//! against a partner format, and the energy of a MAC and of moving an
//! element. Rows are the suite's tidy [`Measurement`]s (variant = the
//! configuration, workload = the tensor or an aggregate), so results files,
//! `--resume`, `--shard K/N` and `bitsim merge` work as for `report`.
//!
//! The quantizer is [`quant`] (the vectorised conversion path). With an
//! `[explore.model]` table, the best candidates are then scored on a real
//! model ([`model`]): only in an unsharded run (a shard has a part of the
//! sweep, not the front); after `bitsim merge`, `bitsim explore --resume`
//! over the merged folder adds the scores without measuring again.

pub mod config;
pub mod model;
pub mod quant;
pub mod spec;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use self::config::Config;
use self::spec::{ExploreSpec, Role, Source};
use super::error::RunError;
use super::files::{read_results, JSON_NAME};
use super::meta;
use super::order::Order;
use super::record::{Measurement, Results, RunMeta};
use super::shard::{fingerprint, Shard, ShardInfo};
use super::sink::Sink;
use crate::hw::energy::EnergyTable;
use crate::tensor::Matrix;
use crate::workload::gen;

/// The explorer's metrics (rows per configuration).
pub mod metric {
    /// Storage bits per element, scales included.
    pub const BITS_PER_ELEMENT: &str = "bits_per_element";
    /// Quantization SQNR, dB (per tensor; pooled per role).
    pub const SQNR_DB: &str = "sqnr_db";
    /// ‖x − q(x)‖ / ‖x‖ (per tensor; pooled per role).
    pub const REL_ERROR: &str = "rel_error";
    /// Relative Frobenius error of A·Wᵀ with W in the configuration and A in the partner format.
    pub const MATMUL_REL_ERROR: &str = "matmul_rel_error";
    /// Energy of one MAC in the element format, pJ.
    pub const ENERGY_PJ_PER_MAC: &str = "energy_pj_per_mac";
    /// DRAM energy of moving one element, pJ.
    pub const MOVE_PJ_PER_ELEMENT: &str = "energy_move_pj_per_element";
}

/// Aggregate "workloads": pooled over the weights, the activations, everything.
pub const WEIGHTS: &str = "weights";
/// See [`WEIGHTS`].
pub const ACTIVATIONS: &str = "activations";
/// See [`WEIGHTS`].
pub const ALL: &str = "all";

pub use super::record::{ExploreInfo, ExploreModelInfo};

/// How to run the explorer.
#[derive(Debug, Clone)]
pub struct ExploreOptions<'a> {
    /// Output folder.
    pub out_dir: PathBuf,
    /// Keep the configurations already complete in `out_dir/results.json`.
    pub resume: bool,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Set by Ctrl-C: no new configuration starts.
    pub stop: Option<&'a AtomicBool>,
    /// This process's part of the run (None: all of it, unsharded).
    pub shard: Option<Shard>,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct ExploreSummary {
    /// The results files' contents at the end.
    pub results: Results,
    /// Configurations of the space (all shards).
    pub configs: usize,
    /// Configurations this shard owns.
    pub owned: usize,
    /// Measured by this run.
    pub run: usize,
    /// Taken over from an earlier run.
    pub resumed: usize,
    /// Values per configuration (all tensors).
    pub values: usize,
    /// Configurations scored on the model by this run.
    pub model_run: usize,
    /// Model scores taken over from an earlier run.
    pub model_resumed: usize,
    /// Why the model scores were not run although the spec asks for them.
    pub model_skipped: Option<String>,
    /// Whether Ctrl-C ended the run.
    pub interrupted: bool,
    /// Wall time.
    pub elapsed: Duration,
}

/// A loaded tensor.
struct Tensor {
    name: String,
    role: Role,
    m: Matrix,
    /// The matmul check (weights): activations A (m × cols), A quantized in the partner
    /// format, and the reference A·Wᵀ over the first rows of W.
    check: Option<MatmulCheck>,
}

struct MatmulCheck {
    aq: Matrix,
    reference: Vec<f64>,
    ref_sq: f64,
    rows: usize,
}

impl Tensor {
    fn shape(&self) -> String {
        format!("{}x{}", self.m.rows, self.m.cols)
    }
}

/// Loads (or draws) the spec's tensors; errors name the tensor.
fn load_tensors(spec: &ExploreSpec) -> Result<Vec<Tensor>, RunError> {
    let mut out = Vec::new();
    for (i, t) in spec.tensors.iter().enumerate() {
        let at = || format!("{}: explore.tensors '{}'", spec.file, t.name);
        let seed = crate::rng::mix64(spec.seed ^ (i as u64 + 1));
        let mats: Vec<(String, Matrix)> = match &t.source {
            Source::Synthetic { dist, rows, cols } => {
                let m = match dist {
                    Some(d) => gen::generate(d, *rows, *cols, seed),
                    None => {
                        let (a, w) = match t.role {
                            Role::Weight => gen::llm_like(1, *cols, *rows, seed),
                            Role::Activation => gen::llm_like(*rows, *cols, 1, seed),
                        };
                        match t.role {
                            Role::Weight => w,
                            Role::Activation => a,
                        }
                    }
                };
                vec![(t.name.clone(), m)]
            }
            Source::File { path, tensors } => {
                let got = crate::workload::weights::load(path, tensors)
                    .map_err(|e| RunError::new(at(), format!("file '{}': {e}", path.display())))?;
                let single = got.len() == 1;
                got.into_iter()
                    .map(|(n, m)| {
                        let name = if single {
                            t.name.clone()
                        } else {
                            format!("{}/{n}", t.name)
                        };
                        (name, m)
                    })
                    .collect()
            }
            Source::Model {
                dir,
                tensors,
                sentences,
            } => model_activations(dir, tensors, *sentences)
                .map_err(|e| RunError::new(at(), e))?
                .into_iter()
                .map(|(n, m)| (format!("{}/{n}", t.name), m))
                .collect(),
        };
        for (name, m) in mats {
            if let Some(bad) = m.data.iter().position(|x| !x.is_finite()) {
                return Err(RunError::new(
                    at(),
                    format!(
                        "{name}: value {bad} is {} (the explorer needs finite values)",
                        m.data[bad]
                    ),
                ));
            }
            if m.data.is_empty() {
                return Err(RunError::new(at(), format!("{name}: has no values")));
            }
            let check = match t.role {
                Role::Weight => {
                    Some(matmul_check(spec, &m, seed).map_err(|e| RunError::new(at(), e))?)
                }
                Role::Activation => None,
            };
            out.push(Tensor {
                name,
                role: t.role,
                m,
                check,
            });
        }
    }
    Ok(out)
}

/// The activations named by `globs` of the model in `dir`, on its f32
/// forward over the first `sentences` evaluation-set sentences.
fn model_activations(
    dir: &Path,
    globs: &[String],
    sentences: usize,
) -> Result<Vec<(String, Matrix)>, String> {
    let set = crate::workload::eval_set::EvalSet::builtin().map_err(|e| e.to_string())?;
    let texts: Vec<&str> = set.sentences().into_iter().take(sentences).collect();
    let model = crate::model::Model::load(dir).map_err(|e| e.to_string())?;
    let pats: Vec<glob::Pattern> = globs
        .iter()
        .map(|g| glob::Pattern::new(g).map_err(|e| format!("tensors: '{g}': {e}")))
        .collect::<Result<_, _>>()?;
    let got = model
        .activations(&texts, &|name| pats.iter().any(|p| p.matches(name)))
        .map_err(|e| e.to_string())?;
    if got.is_empty() {
        return Err(format!(
            "tensors: {globs:?} match no activation (names are encoder.layer.L.LINEAR.input, \
             e.g. encoder.layer.0.attention.self.query.input)"
        ));
    }
    Ok(got)
}

/// The matmul check of a weight matrix: seeded LLM-like activations, quantized once in the partner format.
fn matmul_check(spec: &ExploreSpec, w: &Matrix, seed: u64) -> Result<MatmulCheck, String> {
    let k = w.cols;
    let rows = spec.matmul_rows.min(w.rows);
    let (a, _) = gen::llm_like(spec.matmul_m, k, 1, seed ^ 0xa11c_e5ed);
    let (_, aq) = quant::quantize(&spec.partner, &a.data, a.rows, k, a.rows)?;
    let reference = matmul(&a.data, &w.data[..rows * k], a.rows, rows, k);
    let ref_sq = reference.iter().map(|x| x * x).sum();
    Ok(MatmulCheck {
        aq: Matrix::new(a.rows, k, aq),
        reference,
        ref_sq,
        rows,
    })
}

/// A·Bᵀ in f64 (A m × k, B n × k).
fn matmul(a: &[f32], b: &[f32], m: usize, n: usize, k: usize) -> Vec<f64> {
    let mut out = vec![0f64; m * n];
    for i in 0..m {
        for j in 0..n {
            let (ar, br) = (&a[i * k..(i + 1) * k], &b[j * k..(j + 1) * k]);
            out[i * n + j] = ar.iter().zip(br).map(|(x, y)| *x as f64 * *y as f64).sum();
        }
    }
    out
}

/// The rows of one configuration.
fn measure(
    cfg: &Config,
    tensors: &[Tensor],
    table: &EnergyTable,
    row: &dyn Fn(&str, &str, &str, f64, &str) -> Measurement,
) -> Result<Vec<Measurement>, String> {
    use metric::*;
    let name = cfg.to_string();
    let mut rows = Vec::new();
    let (mut w_err, mut a_err) = (quant::Errors::default(), quant::Errors::default());
    let (mut mm_sq, mut mm_ref, mut bits_sum, mut n_sum) = (0.0, 0.0, 0.0, 0usize);
    let mut move_sum = 0.0;
    for t in tensors {
        let keep = t.check.as_ref().map_or(0, |c| c.rows);
        let (e, kept) = quant::quantize(cfg, &t.m.data, t.m.rows, t.m.cols, keep)
            .map_err(|e| format!("{name} on {}: {e}", t.name))?;
        let bits = cfg.bits_per_element(t.m.rows, t.m.cols);
        let n = t.m.data.len();
        bits_sum += bits * n as f64;
        move_sum += cfg.move_pj_per_element(table, t.m.rows, t.m.cols) * n as f64;
        n_sum += n;
        let shape = t.shape();
        rows.push(row(&t.name, &shape, BITS_PER_ELEMENT, bits, "bits"));
        rows.push(row(&t.name, &shape, SQNR_DB, e.sqnr_db(), "dB"));
        rows.push(row(&t.name, &shape, REL_ERROR, e.rel_error(), ""));
        match t.role {
            Role::Weight => {
                w_err.sse += e.sse;
                w_err.ssx += e.ssx;
            }
            Role::Activation => {
                a_err.sse += e.sse;
                a_err.ssx += e.ssx;
            }
        }
        if let Some(c) = &t.check {
            let out = matmul(&c.aq.data, &kept, c.aq.rows, c.rows, t.m.cols);
            let sq: f64 = out
                .iter()
                .zip(&c.reference)
                .map(|(o, r)| (o - r) * (o - r))
                .sum();
            rows.push(row(
                &t.name,
                &shape,
                MATMUL_REL_ERROR,
                rel(sq, c.ref_sq),
                "",
            ));
            mm_sq += sq;
            mm_ref += c.ref_sq;
        }
    }
    for (agg, e, role) in [
        (WEIGHTS, w_err, Role::Weight),
        (ACTIVATIONS, a_err, Role::Activation),
    ] {
        if tensors.iter().any(|t| t.role == role) {
            rows.push(row(agg, "-", SQNR_DB, e.sqnr_db(), "dB"));
            rows.push(row(agg, "-", REL_ERROR, e.rel_error(), ""));
        }
    }
    rows.push(row(
        ALL,
        "-",
        BITS_PER_ELEMENT,
        bits_sum / n_sum as f64,
        "bits",
    ));
    rows.push(row(
        ALL,
        "-",
        ENERGY_PJ_PER_MAC,
        cfg.mac_pj(table),
        "pJ/MAC",
    ));
    rows.push(row(
        ALL,
        "-",
        MOVE_PJ_PER_ELEMENT,
        move_sum / n_sum as f64,
        "pJ",
    ));
    if mm_ref > 0.0 {
        rows.push(row(ALL, "-", MATMUL_REL_ERROR, rel(mm_sq, mm_ref), ""));
    }
    Ok(rows)
}

fn rel(sq: f64, reference: f64) -> f64 {
    if reference == 0.0 {
        if sq == 0.0 {
            0.0
        } else {
            f64::INFINITY
        }
    } else {
        (sq / reference).sqrt()
    }
}

/// What makes shards of one exploration the same run.
fn spec_fingerprint(spec: &ExploreSpec) -> String {
    let canonical = format!(
        "{}|{:?}|{:?}|{}|{}|{}|{}|{}|{}|{:?}",
        spec.name,
        spec.configs
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>(),
        spec.tensors,
        spec.partner,
        spec.matmul_rows,
        spec.matmul_m,
        spec.energy,
        spec.seed,
        meta::VERSION,
        meta::commit(),
    );
    fingerprint(&canonical)
}

/// Runs the explorer over `spec` with energy from `table`, writing
/// `results.csv` / `results.json` into `opts.out_dir` as configurations
/// complete (at most once a second, and at the end).
pub fn run(
    spec: &ExploreSpec,
    table: &EnergyTable,
    energy_name: &str,
    opts: &ExploreOptions,
) -> Result<ExploreSummary, RunError> {
    let started = Instant::now();
    let tensors = load_tensors(spec)?;
    // The model is loaded (and its reference run) before anything is
    // written: a bad model folder fails the run with nothing half-written.
    let set = match (&spec.model, opts.shard) {
        (Some(_), None) => {
            Some(crate::workload::eval_set::EvalSet::builtin().map_err(|e| {
                RunError::new(format!("{}: explore.model", spec.file), e.to_string())
            })?)
        }
        _ => None,
    };
    let mut scorer = match (&spec.model, &set) {
        (Some(t), Some(set)) => Some(model::Scorer::new(t, set).map_err(|e| {
            RunError::new(format!("{}: explore.model '{}'", spec.file, t.written), e)
        })?),
        _ => None,
    };
    let model_skipped = (spec.model.is_some() && opts.shard.is_some()).then(|| {
        "a shard holds part of the sweep, not the front: the [explore.model] scores are not run; \
         after `bitsim merge`, `bitsim explore --spec FILE --out MERGED --resume` adds them"
            .to_string()
    });
    let model_metrics = scorer.as_ref().map(|s| s.metrics()).unwrap_or_default();
    let model_info = match (&spec.model, &scorer) {
        (Some(t), Some(sc)) => {
            let l = sc.layout();
            let (spearman_scores, recall_at_1) = sc.reference_figures();
            Some(ExploreModelInfo {
                model: t.written.clone(),
                sentences: l.sentences().len(),
                pairs: l.pairs(),
                queries: l.queries(),
                docs: l.docs(),
                max_candidates: t.max_candidates,
                known: t.known,
                reference_spearman_scores: spearman_scores,
                reference_recall_at_1: recall_at_1,
            })
        }
        _ => None,
    };
    let names: Vec<String> = spec.configs.iter().map(|c| c.to_string()).collect();
    let owned: Vec<usize> = (0..names.len())
        .filter(|i| opts.shard.unwrap_or(Shard::WHOLE).owns(*i))
        .collect();
    let mut cases: Vec<(String, String)> = tensors
        .iter()
        .map(|t| (t.name.clone(), t.shape()))
        .collect();
    for agg in [WEIGHTS, ACTIVATIONS, ALL] {
        cases.push((agg.to_string(), "-".to_string()));
    }
    // Rows one configuration writes: its count is how resume knows a configuration is complete.
    let per_config = expected_rows(&tensors);

    let json_path = opts.out_dir.join(JSON_NAME);
    let mut kept: Vec<Measurement> = Vec::new();
    if opts.resume && json_path.exists() {
        let at = || json_path.display().to_string();
        let old = read_results(&json_path).map_err(|e| RunError::new(at(), e))?;
        if old.meta.suite != spec.name {
            return Err(RunError::new(
                at(),
                format!(
                    "holds results of '{}', not '{}' (use another --out, or drop --resume)",
                    old.meta.suite, spec.name
                ),
            ));
        }
        let mine: HashSet<&str> = owned.iter().map(|i| names[*i].as_str()).collect();
        // Sweep rows and model rows are complete (or not) apart; model rows
        // only count when they were scored under the same [explore.model] table.
        let same_model = model_info.is_some()
            && old.explore.as_ref().and_then(|x| x.model.as_ref()) == model_info.as_ref();
        let mut count: HashMap<(String, bool), usize> = HashMap::new();
        for r in &old.rows {
            *count
                .entry((r.variant.clone(), r.workload == model::MODEL))
                .or_default() += 1;
        }
        kept = old
            .rows
            .into_iter()
            .filter(|r| {
                let is_model = r.workload == model::MODEL;
                let n = count[&(r.variant.clone(), is_model)];
                mine.contains(r.variant.as_str())
                    && if is_model {
                        same_model && n == model_metrics.len()
                    } else {
                        n == per_config
                    }
            })
            .collect();
    }
    let done: HashSet<String> = kept
        .iter()
        .filter(|r| r.workload != model::MODEL)
        .map(|r| r.variant.clone())
        .collect();
    let model_done: HashSet<String> = kept
        .iter()
        .filter(|r| r.workload == model::MODEL)
        .map(|r| r.variant.clone())
        .collect();
    let todo: Vec<usize> = owned
        .iter()
        .copied()
        .filter(|i| !done.contains(&names[*i]))
        .collect();

    std::fs::create_dir_all(&opts.out_dir).map_err(|e| {
        RunError::new(
            opts.out_dir.display().to_string(),
            format!("cannot create folder: {e}"),
        )
    })?;
    let commit = meta::commit();
    let mut run_meta = RunMeta {
        suite: spec.name.clone(),
        version: meta::VERSION.to_string(),
        commit: commit.clone(),
        cpu_model: meta::cpu_model(),
        simd: meta::simd_features(),
        threads: rayon::current_num_threads(),
        date: meta::rfc3339_utc(SystemTime::now()),
        energy_table: energy_name.to_string(),
        ..RunMeta::default()
    };
    if let Some(sh) = opts.shard {
        run_meta.shard = Some(ShardInfo {
            kind: "explore".into(),
            index: sh.index,
            count: sh.count,
            fingerprint: spec_fingerprint(spec),
            complete: false,
            variants: names.clone(),
            cases: cases.clone(),
            seeds: vec![spec.seed],
        });
    }
    let results = Results {
        meta: run_meta,
        rows: kept,
        explore: Some(ExploreInfo {
            tensors: tensors
                .iter()
                .map(|t| {
                    let role = match t.role {
                        Role::Weight => "weight",
                        Role::Activation => "activation",
                    };
                    (t.name.clone(), role.to_string(), t.m.rows, t.m.cols)
                })
                .collect(),
            known: config::KNOWN
                .iter()
                .filter(|(_, c)| names.iter().any(|n| n == c))
                .map(|(k, c)| (k.to_string(), c.to_string()))
                .collect(),
            partner: spec.partner.to_string(),
            configs: names.len(),
            model: model_info.clone(),
        }),
        ..Default::default()
    };
    let local_stop = AtomicBool::new(false);
    let stop = opts.stop.unwrap_or(&local_stop);
    let mut order_cases = cases.clone();
    if scorer.is_some() {
        order_cases.push((model::MODEL.to_string(), "-".to_string()));
    }
    let order = Order::from_names(&names, &order_cases, &[spec.seed]);
    let sink = Mutex::new(Sink::new(
        results,
        order,
        opts.out_dir.clone(),
        Duration::from_secs(1),
        stop,
    ));
    let bar = if opts.progress {
        ProgressBar::with_draw_target(Some(todo.len() as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "explore [{bar:30}] {pos}/{len} configs {elapsed_precise} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    if !bar.is_hidden() {
        // A configuration can take a while: keep the clock moving.
        bar.enable_steady_tick(Duration::from_millis(500));
    }
    let row = |cfg: &str| {
        let name = spec.name.clone();
        let commit = commit.clone();
        let seed = spec.seed;
        let cfg = cfg.to_string();
        move |w: &str, shape: &str, m: &str, v: f64, unit: &str| Measurement {
            suite: name.clone(),
            variant: cfg.clone(),
            workload: w.to_string(),
            shape: shape.to_string(),
            metric: m.to_string(),
            value: v,
            unit: unit.to_string(),
            seed,
            rep: 0,
            version: meta::VERSION.to_string(),
            commit: commit.clone(),
        }
    };
    let mut run_count = 0;
    // One configuration at a time; each is parallel inside (chunks of rows).
    for i in &todo {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let cfg = &spec.configs[*i];
        let mk = row(&names[*i]);
        match measure(cfg, &tensors, table, &mk) {
            Ok(rows) => sink
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .add(rows, Vec::new()),
            Err(e) => {
                sink.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .fail(RunError::new(spec.file.clone(), e));
                break;
            }
        }
        run_count += 1;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let model_run = match scorer.as_mut() {
        Some(sc) => score_candidates(
            spec,
            sc,
            &names,
            &model_metrics,
            &model_done,
            tensors.iter().any(|t| t.role == Role::Weight),
            &sink,
            stop,
            opts.progress,
            &row,
        ),
        None => 0,
    };
    let mut s = sink.lock().unwrap_or_else(|p| p.into_inner());
    let interrupted = opts.stop.is_some_and(|f| f.load(Ordering::SeqCst));
    if s.error.is_none() && !interrupted {
        if let Some(info) = s.results.meta.shard.as_mut() {
            info.complete = true;
        }
    }
    s.flush();
    if let Some(e) = s.error.take() {
        return Err(e);
    }
    Ok(ExploreSummary {
        results: s.results.clone(),
        configs: names.len(),
        owned: owned.len(),
        run: run_count,
        resumed: done.len(),
        values: tensors.iter().map(|t| t.m.data.len()).sum(),
        model_run,
        model_resumed: model_done.len(),
        model_skipped,
        interrupted,
        elapsed: started.elapsed(),
    })
}

/// Scores the candidates of the finished sweep on the model (those not
/// resumed), adding their rows to the sink; returns how many it scored.
/// Nothing when the sweep failed, was interrupted or is incomplete.
#[allow(clippy::too_many_arguments)]
fn score_candidates<R>(
    spec: &ExploreSpec,
    scorer: &mut model::Scorer,
    names: &[String],
    metrics: &[&'static str],
    done: &HashSet<String>,
    has_weights: bool,
    sink: &Mutex<Sink>,
    stop: &AtomicBool,
    progress: bool,
    row: &dyn Fn(&str) -> R,
) -> usize
where
    R: Fn(&str, &str, &str, f64, &str) -> Measurement,
{
    let Some(table) = &spec.model else { return 0 };
    let (bits, sqnr) = {
        let s = sink.lock().unwrap_or_else(|p| p.into_inner());
        if s.error.is_some() || stop.load(Ordering::SeqCst) {
            return 0;
        }
        let pooled = if has_weights { WEIGHTS } else { ACTIVATIONS };
        let mut by: HashMap<(&str, &str), f64> = HashMap::new();
        for r in &s.results.rows {
            if r.workload == ALL && r.metric == metric::BITS_PER_ELEMENT
                || r.workload == pooled && r.metric == metric::SQNR_DB
            {
                by.insert((r.variant.as_str(), r.metric.as_str()), r.value);
            }
        }
        let get = |n: &str, m: &str| by.get(&(n, m)).copied();
        let bits: Option<Vec<f64>> = names
            .iter()
            .map(|n| get(n, metric::BITS_PER_ELEMENT))
            .collect();
        let sqnr: Option<Vec<f64>> = names.iter().map(|n| get(n, metric::SQNR_DB)).collect();
        match (bits, sqnr) {
            (Some(b), Some(q)) => (b, q),
            // Not every configuration measured: no front yet.
            _ => return 0,
        }
    };
    let picks = model::candidates(names, &bits, &sqnr, table.max_candidates, table.known);
    let todo: Vec<usize> = picks
        .into_iter()
        .filter(|&i| !done.contains(&names[i]))
        .collect();
    let bar = if progress {
        ProgressBar::with_draw_target(Some(todo.len() as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "model   [{bar:30}] {pos}/{len} candidates {elapsed_precise} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let mut n = 0;
    for i in todo {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let scored = match scorer.score(&spec.configs[i]) {
            Ok(r) => r,
            Err(e) => {
                sink.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .fail(RunError::new(
                        format!("{}: explore.model", spec.file),
                        format!("{}: {e}", names[i]),
                    ));
                break;
            }
        };
        let rows = model::rows(scored.as_ref(), metrics, &row(&names[i]));
        sink.lock()
            .unwrap_or_else(|p| p.into_inner())
            .add(rows, Vec::new());
        n += 1;
        bar.inc(1);
    }
    bar.finish_and_clear();
    n
}

/// Rows each configuration writes for these tensors.
fn expected_rows(tensors: &[Tensor]) -> usize {
    let per_tensor: usize = tensors
        .iter()
        .map(|t| 3 + usize::from(t.check.is_some()))
        .sum();
    let roles = [Role::Weight, Role::Activation]
        .iter()
        .filter(|r| tensors.iter().any(|t| t.role == **r))
        .count();
    let weights = tensors.iter().any(|t| t.check.is_some());
    per_tensor + 2 * roles + 3 + usize::from(weights)
}
