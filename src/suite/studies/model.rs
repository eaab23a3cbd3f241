//! Real-model study: all-MiniLM-L6-v2 (SPEC §9) on the committed
//! evaluation set with every linear layer on a chosen matmul variant and
//! every attention on a chosen attention variant, against the model's f32
//! path (`matmul/f32-fma` + `attention/flash-f32`, the reference row).
//!
//! For every configuration: mean and worst embedding cosine to the f32
//! embeddings; Spearman correlation of the pair similarities with f32's
//! (and with the set's human scores); retrieval top-1 agreement with f32
//! and recall@1 against the labels; each layer's output SQNR against the
//! f32 run (and the layer that adds the most error); energy per sentence
//! (the variants' operation counts over the model's 36 linears, run in
//! batches of `batch` sentences, and 6 attentions per sentence, × the
//! suite's energy table);
//! sentences per second of the forward (native kernels where the variants
//! have them, else the emulation: the row says which); bits per weight
//! (scales included) and weight bytes of the linear layers.
//!
//! The activation-outlier view: per-channel max |x| over the evaluation
//! set of every distinct linear-layer input of each layer (the hidden state
//! the Q, K and V projections read, the attention output, the FFN's two
//! inputs), the ratio of the largest to the median channel, and the median
//! token's peak-to-RMS ratio, which sets the SQNR per-token absmax
//! quantization can reach (one channel sets every token's scale). They are
//! taken from the reference run's forward as it computes them.
//!
//! Configurations: each `variants` entry (a matmul variant or glob) with the
//! reference attention; each `attention` entry with the reference matmul;
//! each `pairs` entry (`"MATMUL + ATTENTION"`) as given. The `overrides`
//! (`ModelSpec` syntax, `L=VARIANT`) apply to every configuration but the
//! reference. A configuration equal to the reference is not repeated.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::StudyContext;
use crate::attention;
use crate::metrics::embedding::{
    cosine, cosine_summary, recall_at_1, spearman, sqnr_db, top1, top1_agreement,
};
use crate::model::spec::{LayerVariants, DEFAULT_ATTENTION, DEFAULT_MATMUL};
use crate::model::{self, Forward, LayerOverride, Model, ModelSpec};
use crate::tensor::{Matrix, Shape};
use crate::variants;
use crate::workload::attention::AttnShape;
use crate::workload::eval_set::EvalSet;

/// The default matmul variants: one or two per format family (f32, bf16,
/// fp16, int8, FP8, MXFP8, int4 weight-only and w4a8, Q8_0, Q4_0, MXFP4,
/// NVFP4, ternary, binary).
pub const DEFAULT_VARIANTS: [&str; 14] = [
    "matmul/bf16",
    "matmul/fp16",
    "matmul/w8a8-int",
    "matmul/q8_0",
    "matmul/fp8-e4m3",
    "matmul/mxfp8",
    "matmul/w4a16",
    "matmul/w4a8-int",
    "matmul/q4_0",
    "matmul/mxfp4",
    "matmul/nvfp4",
    "matmul/w1.58a8-ternary",
    "matmul/w1a8-binary",
    "matmul/w1a1-binary",
];

/// The default attention variants (each with the f32 matmul).
pub const DEFAULT_ATTENTIONS: [&str; 3] = [
    "attention/flash-bf16",
    "attention/sage-int8",
    "attention/fp8-e4m3",
];

/// The default combined configuration: the int8 path (int8 linears, INT8
/// SageAttention).
pub const DEFAULT_PAIRS: [&str; 1] = ["matmul/w8a8-int + attention/sage-int8"];

/// Label of the reference row.
pub const REFERENCE: &str = "f32 reference";

/// Parameters (`[studies.model]` keys; all optional).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelParams {
    /// Model directory, relative to the suite file; absent:
    /// `models/all-MiniLM-L6-v2` relative to the working directory (where
    /// `scripts/fetch-minilm` puts it, as for `bitsim embed`).
    pub model: Option<String>,
    /// Matmul variant names or globs, each run with the reference attention
    /// (default [`DEFAULT_VARIANTS`]).
    pub variants: Vec<String>,
    /// Attention variant names or globs, each run with the reference matmul
    /// (default [`DEFAULT_ATTENTIONS`]).
    pub attention: Vec<String>,
    /// `"MATMUL + ATTENTION"` configurations (default [`DEFAULT_PAIRS`]).
    pub pairs: Vec<String>,
    /// Per-layer overrides `L=VARIANT` applied to every configuration but
    /// the reference (default none).
    pub overrides: Vec<String>,
    /// Run native kernels where a variant has one (default true; same bits).
    pub native: bool,
    /// Seed of stochastic rounding (default: the suite's first seed).
    pub seed: Option<u64>,
    /// Sentences per batch for the energy figures (default 32): a linear
    /// layer's weights are read once per batch (the forward itself runs the
    /// whole set as one batch; results do not depend on batching).
    pub batch: usize,
    /// Evaluation-set directory (`pairs.tsv`, `queries.tsv`, `docs.tsv`),
    /// relative to the suite file; absent: the built-in set.
    pub eval_set: Option<String>,
}

impl Default for ModelParams {
    fn default() -> Self {
        ModelParams {
            model: None,
            variants: DEFAULT_VARIANTS.map(String::from).to_vec(),
            attention: DEFAULT_ATTENTIONS.map(String::from).to_vec(),
            pairs: DEFAULT_PAIRS.map(String::from).to_vec(),
            overrides: Vec::new(),
            native: true,
            seed: None,
            batch: 32,
            eval_set: None,
        }
    }
}

/// One configuration's figures.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ModelRow {
    /// `f32 reference`, the variant's name, or `MATMUL + ATTENTION`.
    pub label: String,
    /// Matmul variant of the layers without an override.
    pub matmul: String,
    /// Attention variant of the layers without an override.
    pub attention: String,
    /// Why the forward failed (a format overflowed into non-finite values);
    /// the figures below are then zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Mean over sentences of the embedding's cosine to the f32 one.
    pub cos_mean: f64,
    /// Worst sentence's cosine.
    pub cos_worst: f64,
    /// The worst sentence.
    pub worst_sentence: String,
    /// Spearman correlation of the pairs' cosine similarities with f32's
    /// (`None`: undefined, e.g. fewer than two pairs).
    pub spearman: Option<f64>,
    /// Spearman correlation of the pairs' similarities with the set's scores.
    pub spearman_scores: Option<f64>,
    /// Fraction of queries whose top-1 document is f32's.
    pub top1_agreement: f64,
    /// Fraction of queries whose top-1 document is the relevant one.
    pub recall_at_1: f64,
    /// Output SQNR of each layer against the f32 run, dB, first layer first
    /// (`None`: equal to f32).
    pub layer_sqnr_db: Vec<Option<f64>>,
    /// The layer that adds the most error: the largest rise of the output's
    /// noise-to-signal ratio over its input's (`None`: no error anywhere).
    pub worst_layer: Option<usize>,
    /// Energy per sentence, pJ: arithmetic, SRAM and DRAM of the linears
    /// and attentions, in batches of `batch` sentences.
    pub energy_pj: f64,
    /// Arithmetic part of `energy_pj`, pJ.
    pub compute_pj: f64,
    /// Multiply-accumulates per sentence (linears and attentions).
    pub macs: f64,
    /// Bits per weight of the linear layers, scales included (parameter-weighted mean).
    pub weight_bits: f64,
    /// Bytes of the linear layers' weights (codes and scales; biases not counted).
    pub weight_bytes: f64,
    /// Sentences per second of the forward over the whole set (one run,
    /// wall time; the machine's load shows).
    pub sentences_per_s: f64,
    /// `native` (every linear and attention on a native kernel), `emulated`
    /// (none) or `partly native`.
    pub speed: String,
}

/// The activation outliers of one layer's input on the f32 run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OutlierRow {
    /// Layer whose input this is.
    pub layer: usize,
    /// The linear layer that reads it ([`OUTLIER_INPUTS`]; the query's
    /// input is the key's and the value's too: the previous layer's
    /// output, or for layer 0 the embeddings after their LayerNorm).
    #[serde(default)]
    pub input: String,
    /// Largest |x| over every token and channel.
    pub max_abs: f64,
    /// Median over channels of the channel's max |x|.
    pub median_channel_max: f64,
    /// `max_abs / median_channel_max`.
    pub ratio: f64,
    /// The five channels of largest max |x|, largest first: (channel, max |x|).
    pub top_channels: Vec<(usize, f64)>,
    /// Median over tokens of the token's max |x| / its RMS.
    pub token_peak_to_rms: f64,
    /// SQNR per-token absmax int8 reaches on the median token with
    /// uniformly distributed rounding error:
    /// `10·log10(12·127² / peak_to_rms²)`, dB.
    pub int8_token_sqnr_db: f64,
    /// Every channel's max |x|, channel order (for the chart).
    pub channel_max: Vec<f64>,
}

/// The linear layers whose inputs the outlier view shows, in forward
/// order: each distinct input once (key and value read the query's).
pub const OUTLIER_INPUTS: [&str; 4] = [
    "attention.self.query",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
];

/// What the study found.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ModelStudy {
    /// The model directory.
    pub model: String,
    /// `built-in` or the evaluation set's directory.
    pub eval_set: String,
    /// Distinct sentences embedded.
    pub sentences: usize,
    /// Scored pairs.
    pub pairs: usize,
    /// Retrieval queries.
    pub queries: usize,
    /// Retrieval documents.
    pub docs: usize,
    /// Real tokens over every sentence.
    pub tokens: usize,
    /// Encoder layers.
    pub layers: usize,
    /// Weights of the linear layers (biases not counted).
    pub linear_params: usize,
    /// Overrides applied to every configuration but the reference.
    pub overrides: Vec<String>,
    /// Whether native kernels were used where they exist.
    pub native: bool,
    /// Sentences per batch of the energy figures.
    pub batch: usize,
    /// One row per configuration, the reference first.
    pub rows: Vec<ModelRow>,
    /// Per layer input, first layer first.
    pub outliers: Vec<OutlierRow>,
    /// Wall time of the study, s.
    pub seconds: f64,
    /// The energy table's notes on numbers it scaled.
    pub notes: Vec<String>,
}

/// One configuration to run.
#[derive(Debug, Clone, PartialEq)]
struct Run {
    label: String,
    matmul: String,
    attention: String,
    /// Whether the overrides apply (all but the reference).
    overridden: bool,
}

/// The model directory the parameters name.
fn model_dir(p: &ModelParams, base: &Path) -> PathBuf {
    match &p.model {
        Some(d) => base.join(d.trim()),
        None => PathBuf::from(model::DEFAULT_DIR),
    }
}

/// Checks that `dir` holds the model's files (without reading the weights).
fn check_dir(dir: &Path) -> Result<model::Config, String> {
    if !dir.is_dir() {
        return Err(format!(
            "model: '{}': no model directory ({})",
            dir.display(),
            model::FETCH_HINT
        ));
    }
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        if !dir.join(f).is_file() {
            return Err(format!(
                "model: '{}' has no {f} ({})",
                dir.display(),
                model::FETCH_HINT
            ));
        }
    }
    let path = dir.join("config.json");
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("model: {}: {e}", path.display()))?;
    model::Config::parse(&text).map_err(|e| format!("model: {}: {e}", path.display()))
}

/// The evaluation set the parameters name.
fn eval_set(p: &ModelParams, base: &Path) -> Result<EvalSet, String> {
    match &p.eval_set {
        Some(d) => EvalSet::load(&base.join(d.trim())),
        None => EvalSet::builtin(),
    }
    .map_err(|e| format!("eval_set: {e}"))
}

/// Names of `registry` matching `pattern`, in registry order; `key` names
/// the parameter in errors.
fn expand(pattern: &str, registry: &[&'static str], key: &str) -> Result<Vec<String>, String> {
    let pat = pattern.trim();
    let g =
        glob::Pattern::new(pat).map_err(|e| format!("{key}: '{pat}' is not a valid glob: {e}"))?;
    let hits: Vec<String> = registry
        .iter()
        .filter(|n| g.matches(n))
        .map(|n| n.to_string())
        .collect();
    if hits.is_empty() {
        let kind = if key == "variants" {
            "matmul"
        } else {
            "attention"
        };
        return Err(format!(
            "{key}: '{pat}' matches no {kind} variant (see `bitsim variants list`)"
        ));
    }
    Ok(hits)
}

/// The configurations, the reference first; checks every name and override.
fn plan(p: &ModelParams) -> Result<(Vec<Run>, Vec<LayerOverride>), String> {
    let matmuls: Vec<&'static str> = variants::registry().iter().map(|v| v.name()).collect();
    let attns: Vec<&'static str> = attention::registry().iter().map(|v| v.name()).collect();
    let overrides = p
        .overrides
        .iter()
        .map(|o| {
            let parsed = LayerOverride::parse(o).map_err(|e| format!("overrides: '{o}': {e}"))?;
            let v = parsed.variant.as_str();
            if !matmuls.contains(&v) && !attns.contains(&v) {
                return Err(format!(
                    "overrides: '{o}': unknown variant '{v}' (a matmul/… or attention/… name, see `bitsim variants list`)"
                ));
            }
            Ok(parsed)
        })
        .collect::<Result<Vec<_>, String>>()?;
    let mut runs = vec![Run {
        label: REFERENCE.into(),
        matmul: DEFAULT_MATMUL.into(),
        attention: DEFAULT_ATTENTION.into(),
        overridden: false,
    }];
    let mut push = |label: String, matmul: String, attention: String| {
        let same_as_reference =
            overrides.is_empty() && matmul == DEFAULT_MATMUL && attention == DEFAULT_ATTENTION;
        let seen = runs
            .iter()
            .any(|r| r.overridden && r.matmul == matmul && r.attention == attention);
        if !same_as_reference && !seen {
            runs.push(Run {
                label,
                matmul,
                attention,
                overridden: true,
            });
        }
    };
    for pat in &p.variants {
        for m in expand(pat, &matmuls, "variants")? {
            push(m.clone(), m, DEFAULT_ATTENTION.into());
        }
    }
    for pat in &p.attention {
        for a in expand(pat, &attns, "attention")? {
            push(a.clone(), DEFAULT_MATMUL.into(), a);
        }
    }
    for pair in &p.pairs {
        let bad = |why: &str| format!("pairs: '{pair}': {why}");
        let (m, a) = pair
            .split_once('+')
            .ok_or_else(|| bad("expected \"MATMUL + ATTENTION\""))?;
        let (m, a) = (m.trim(), a.trim());
        if !matmuls.contains(&m) {
            return Err(bad(&format!(
                "unknown matmul variant '{m}' (see `bitsim variants list`)"
            )));
        }
        if !attns.contains(&a) {
            return Err(bad(&format!(
                "unknown attention variant '{a}' (see `bitsim variants list`)"
            )));
        }
        push(format!("{m} + {a}"), m.into(), a.into());
    }
    Ok((runs, overrides))
}

/// Checks the parameters and what they name without reading the weights.
fn check(p: &ModelParams, ctx: &StudyContext) -> Result<(), String> {
    let (_, overrides) = plan(p)?;
    let config = check_dir(&model_dir(p, ctx.base))?;
    if let Some(o) = overrides
        .iter()
        .find(|o| o.layer >= config.num_hidden_layers)
    {
        return Err(format!(
            "overrides: '{}={}': the model has {} layers (0 to {})",
            o.layer,
            o.variant,
            config.num_hidden_layers,
            config.num_hidden_layers.saturating_sub(1)
        ));
    }
    if p.batch == 0 {
        return Err("batch: must be at least 1".into());
    }
    let set = eval_set(p, ctx.base)?;
    if set.sentences().is_empty() {
        return Err("eval_set: no sentence".into());
    }
    Ok(())
}

/// An f32 matrix widened to f64.
fn wide(m: &Matrix) -> Vec<f64> {
    m.data.iter().map(|&x| x as f64).collect()
}

/// What every configuration is compared with: the f32 reference run's
/// embeddings, pair similarities, retrieval picks and hidden states.
pub struct Reference {
    embeddings: Vec<f64>,
    pair_sims: Vec<f64>,
    top1: Vec<usize>,
    forward: Forward,
    dim: usize,
}

impl Reference {
    /// The reference figures of `forward` (the f32 run over `layout`'s sentences).
    pub fn new(layout: &Layout, forward: Forward) -> Reference {
        let dim = forward.embeddings.cols;
        let embeddings = wide(&forward.embeddings);
        Reference {
            pair_sims: layout.pair_sims(&embeddings, dim),
            top1: layout.top1(&embeddings, dim),
            embeddings,
            forward,
            dim,
        }
    }

    /// Spearman correlation of the reference's pair similarities with the
    /// set's human scores (`None`: fewer than two pairs).
    pub fn spearman_scores(&self, layout: &Layout) -> Option<f64> {
        spearman(&layout.scores, &self.pair_sims)
    }

    /// Recall@1 of the reference's retrieval picks.
    pub fn recall_at_1(&self, layout: &Layout) -> f64 {
        recall_at_1(&self.top1, &layout.relevant)
    }
}

/// The embedding figures of `fwd` against the reference, into `row`: mean
/// and worst cosine (and the worst sentence), Spearman with the
/// reference's pair similarities and with the set's scores, retrieval top-1
/// agreement and recall@1, each layer's output SQNR and the worst layer.
/// The study scores every configuration with it; the format explorer its
/// model-scored candidates.
pub fn score(layout: &Layout, re: &Reference, fwd: &Forward, row: &mut ModelRow) {
    let dim = re.dim;
    let e = wide(&fwd.embeddings);
    let sims = layout.pair_sims(&e, dim);
    let picks = layout.top1(&e, dim);
    let cs = cosine_summary(&re.embeddings, &e, dim);
    row.cos_mean = cs.mean;
    row.cos_worst = cs.worst;
    row.worst_sentence = cs
        .worst_row
        .map_or(String::new(), |i| layout.sentences[i].to_string());
    row.spearman = spearman(&re.pair_sims, &sims);
    row.spearman_scores = spearman(&layout.scores, &sims);
    row.top1_agreement = top1_agreement(&re.top1, &picks);
    row.recall_at_1 = recall_at_1(&picks, &layout.relevant);
    row.layer_sqnr_db = layer_sqnr(&re.forward, fwd);
    row.worst_layer = worst_layer(&row.layer_sqnr_db);
}

/// The evaluation set as indices into the embedded sentences.
pub struct Layout<'s> {
    sentences: Vec<&'s str>,
    pairs: Vec<(usize, usize)>,
    scores: Vec<f64>,
    queries: Vec<usize>,
    docs: Vec<usize>,
    relevant: Vec<usize>,
}

impl<'s> Layout<'s> {
    /// The whole set.
    pub fn of(set: &'s EvalSet) -> Self {
        Layout::first(set, usize::MAX)
    }

    /// The first `n` of the set's sentences ([`EvalSet::sentences`] order:
    /// pairs, then queries, then documents) with what they can score: the
    /// pairs whose two sentences are among them, the documents among them,
    /// and the queries among them whose relevant document is too. For
    /// `n` at least the set's sentence count, the whole set.
    pub fn first(set: &'s EvalSet, n: usize) -> Self {
        let sentences: Vec<&str> = set.sentences().into_iter().take(n).collect();
        let at: HashMap<&str, usize> = sentences.iter().enumerate().map(|(i, s)| (*s, i)).collect();
        let (mut pairs, mut scores) = (Vec::new(), Vec::new());
        for p in &set.pairs {
            if let (Some(&a), Some(&b)) = (at.get(p.a.as_str()), at.get(p.b.as_str())) {
                pairs.push((a, b));
                scores.push(p.score);
            }
        }
        // Each document's position among the documents kept.
        let mut docs = Vec::new();
        let mut doc_pos = vec![None; set.docs.len()];
        for (i, d) in set.docs.iter().enumerate() {
            if let Some(&s) = at.get(d.text.as_str()) {
                doc_pos[i] = Some(docs.len());
                docs.push(s);
            }
        }
        let (mut queries, mut relevant) = (Vec::new(), Vec::new());
        for q in &set.queries {
            if let (Some(&s), Some(Some(d))) = (at.get(q.text.as_str()), doc_pos.get(q.doc)) {
                queries.push(s);
                relevant.push(*d);
            }
        }
        Layout {
            sentences,
            pairs,
            scores,
            queries,
            docs,
            relevant,
        }
    }

    /// The sentences to embed, in order.
    pub fn sentences(&self) -> &[&'s str] {
        &self.sentences
    }

    /// Scored pairs.
    pub fn pairs(&self) -> usize {
        self.pairs.len()
    }

    /// Retrieval queries.
    pub fn queries(&self) -> usize {
        self.queries.len()
    }

    /// Retrieval documents.
    pub fn docs(&self) -> usize {
        self.docs.len()
    }

    /// Cosine similarity of each pair.
    fn pair_sims(&self, e: &[f64], dim: usize) -> Vec<f64> {
        let row = |i: usize| &e[i * dim..(i + 1) * dim];
        self.pairs
            .iter()
            .map(|&(a, b)| cosine(row(a), row(b)))
            .collect()
    }

    /// Each query's top-1 document.
    fn top1(&self, e: &[f64], dim: usize) -> Vec<usize> {
        let gather = |idx: &[usize]| -> Vec<f64> {
            idx.iter()
                .flat_map(|&i| e[i * dim..(i + 1) * dim].iter().copied())
                .collect()
        };
        top1(&gather(&self.queries), &gather(&self.docs), dim)
    }
}

/// Energy, arithmetic energy and MACs per sentence of `layers` on
/// sentences of `lens` tokens run in batches of `batch` sentences (set
/// order): each linear once per batch over the batch's tokens (its weights
/// read once per batch), each attention per sentence. Scaling notes go to
/// `notes`.
fn energy(
    layers: &[LayerVariants],
    model: &Model,
    lens: &[usize],
    batch: usize,
    ctx: &StudyContext,
    notes: &mut Vec<String>,
) -> (f64, f64, f64) {
    let c = &model.config;
    let (mut total, mut compute, mut macs) = (0.0, 0.0, 0.0);
    let mut add = |cost: crate::hw::cost::Cost, count: usize| {
        let e = ctx.energy.energy(&cost);
        for s in e.scaled.iter() {
            if !notes.contains(s) {
                notes.push(s.clone());
            }
        }
        total += count as f64 * e.total_pj();
        compute += count as f64 * e.compute_pj;
        macs += count as f64 * cost.macs;
    };
    for chunk in lens.chunks(batch.max(1)) {
        let m: usize = chunk.iter().sum();
        for (lw, v) in model.weights.layers.iter().zip(layers) {
            for (_, lin) in lw.linears() {
                let shape = Shape {
                    m,
                    k: lin.w.cols,
                    n: lin.w.rows,
                };
                add(v.matmul.cost(shape), 1);
            }
        }
    }
    // Sentences of equal length cost the same in attention: once per length.
    let mut by_len: BTreeMap<usize, usize> = BTreeMap::new();
    for &n in lens {
        *by_len.entry(n).or_default() += 1;
    }
    for (&n, &count) in &by_len {
        for v in layers {
            let shape = AttnShape {
                heads: c.num_attention_heads,
                nq: n,
                nk: n,
                d: c.head_dim(),
                causal: false,
            };
            add(v.attention.cost(shape), count);
        }
    }
    let s = lens.len().max(1) as f64;
    (total / s, compute / s, macs / s)
}

/// Bits per weight and weight bytes of the linear layers under `layers`.
fn weight_storage(layers: &[LayerVariants], model: &Model) -> (f64, f64) {
    let (mut bits, mut params) = (0.0, 0.0);
    for (lw, v) in model.weights.layers.iter().zip(layers) {
        for (_, lin) in lw.linears() {
            let n = (lin.w.rows * lin.w.cols) as f64;
            bits += v.matmul.bits_per_weight(lin.w.cols) * n;
            params += n;
        }
    }
    (bits / params.max(1.0), bits / 8.0)
}

/// `native`, `emulated` or `partly native`.
fn speed_kind(layers: &[LayerVariants], native: bool) -> String {
    let parts: Vec<bool> = layers
        .iter()
        .flat_map(|v| {
            [
                native && v.matmul.native().is_some(),
                native && v.attention.native().is_some(),
            ]
        })
        .collect();
    if parts.iter().all(|&b| b) {
        "native"
    } else if parts.iter().all(|&b| !b) {
        "emulated"
    } else {
        "partly native"
    }
    .into()
}

/// Output SQNR of every layer against the reference's (`None`: exact).
fn layer_sqnr(reference: &Forward, f: &Forward) -> Vec<Option<f64>> {
    (1..reference.hidden.len())
        .into_par_iter()
        .map(|l| {
            let s = sqnr_db(&wide(&reference.hidden[l]), &wide(&f.hidden[l]));
            (s != f64::INFINITY).then_some(s)
        })
        .collect()
}

/// The layer whose output's noise-to-signal ratio rises most over its
/// input's (errors add as powers; the LayerNorms keep the signal power
/// alike from layer to layer). `None` when every layer is exact.
pub fn worst_layer(sqnr_db: &[Option<f64>]) -> Option<usize> {
    let nsr = |s: Option<f64>| s.map_or(0.0, |s| 10f64.powf(-s / 10.0));
    let mut prev = 0.0;
    let mut best: Option<(usize, f64)> = None;
    for (l, &s) in sqnr_db.iter().enumerate() {
        let now = nsr(s);
        let rise = now - prev;
        if s.is_some() && best.is_none_or(|(_, b)| rise > b) {
            best = Some((l, rise));
        }
        prev = now;
    }
    best.map(|b| b.0)
}

/// Per-channel and per-token outlier figures of one linear's input.
fn outliers(layer: usize, input: &str, x: &Matrix) -> OutlierRow {
    let h = x.cols;
    let mut channel_max = vec![0.0f64; h];
    let mut token_ratio = Vec::with_capacity(x.rows);
    for t in 0..x.rows {
        let row = x.row(t);
        let mut peak = 0.0f64;
        let mut sq = 0.0f64;
        for (c, &v) in row.iter().enumerate() {
            let a = (v as f64).abs();
            channel_max[c] = channel_max[c].max(a);
            peak = peak.max(a);
            sq += a * a;
        }
        let rms = (sq / h.max(1) as f64).sqrt();
        if rms > 0.0 {
            token_ratio.push(peak / rms);
        }
    }
    let median = |v: &mut Vec<f64>| {
        if v.is_empty() {
            return 0.0;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    };
    let max_abs = channel_max.iter().copied().fold(0.0, f64::max);
    let median_channel_max = median(&mut channel_max.clone());
    let mut order: Vec<usize> = (0..h).collect();
    order.sort_by(|&a, &b| channel_max[b].total_cmp(&channel_max[a]).then(a.cmp(&b)));
    let token_peak_to_rms = median(&mut token_ratio);
    OutlierRow {
        layer,
        input: input.to_string(),
        max_abs,
        median_channel_max,
        ratio: if median_channel_max > 0.0 {
            max_abs / median_channel_max
        } else {
            0.0
        },
        top_channels: order.iter().take(5).map(|&c| (c, channel_max[c])).collect(),
        token_peak_to_rms,
        int8_token_sqnr_db: if token_peak_to_rms > 0.0 {
            10.0 * (12.0 * 127.0f64.powi(2) / token_peak_to_rms.powi(2)).log10()
        } else {
            0.0
        },
        channel_max,
    }
}

/// Runs the study.
pub fn run(p: &ModelParams, ctx: &StudyContext) -> Result<ModelStudy, String> {
    let started = Instant::now();
    check(p, ctx)?;
    let (runs, overrides) = plan(p)?;
    let dir = model_dir(p, ctx.base);
    let model = Model::load(&dir).map_err(|e| format!("model: {e}"))?;
    let set = eval_set(p, ctx.base)?;
    let layout = Layout::of(&set);
    let tokenized = model
        .tokenize(&layout.sentences)
        .map_err(|e| format!("model: {e}"))?;
    let lens: Vec<usize> = (0..tokenized.sentences())
        .map(|s| tokenized.len(s))
        .collect();
    let layers = model.config.num_hidden_layers;
    let seed = p.seed.unwrap_or(ctx.seed);
    let mut out = ModelStudy {
        model: dir.display().to_string(),
        eval_set: p.eval_set.as_ref().map_or("built-in".into(), |d| {
            ctx.base.join(d.trim()).display().to_string()
        }),
        sentences: layout.sentences.len(),
        pairs: set.pairs.len(),
        queries: set.queries.len(),
        docs: set.docs.len(),
        tokens: lens.iter().sum(),
        layers,
        linear_params: model
            .weights
            .layers
            .iter()
            .flat_map(|l| l.linears())
            .map(|(_, lin)| lin.w.rows * lin.w.cols)
            .sum(),
        overrides: p.overrides.clone(),
        native: p.native,
        batch: p.batch,
        ..Default::default()
    };
    let mut reference: Option<Reference> = None;
    for r in &runs {
        let spec = ModelSpec {
            matmul: r.matmul.clone(),
            attention: r.attention.clone(),
            overrides: if r.overridden {
                overrides.clone()
            } else {
                Vec::new()
            },
            native: p.native,
            seed,
        };
        let resolved = spec
            .resolve(layers)
            .map_err(|(input, reason)| format!("{}: {input}: {reason}", r.label))?;
        let prepared = model
            .prepare(&spec)
            .map_err(|e| format!("{}: {e}", r.label))?;
        // The reference run (the first) also shows the outlier view its
        // linears' inputs; the figures are taken in passing (a few tens of
        // milliseconds inside its timing), with no copies.
        let mut seen = Vec::new();
        let mut tap = |t: model::Tap<'_>| {
            if let model::Tap::LinearInput {
                layer,
                linear,
                input,
            } = t
            {
                if OUTLIER_INPUTS.contains(&linear) {
                    seen.push(outliers(layer, linear, input));
                }
            }
        };
        let t0 = Instant::now();
        let fwd = if reference.is_none() {
            prepared.forward_tapped(&tokenized, &mut tap)
        } else {
            prepared.forward(&tokenized)
        };
        let secs = t0.elapsed().as_secs_f64();
        if reference.is_none() {
            out.outliers = seen;
        }
        let (energy_pj, compute_pj, macs) =
            energy(&resolved, &model, &lens, p.batch, ctx, &mut out.notes);
        let (weight_bits, weight_bytes) = weight_storage(&resolved, &model);
        let mut row = ModelRow {
            label: r.label.clone(),
            matmul: r.matmul.clone(),
            attention: r.attention.clone(),
            energy_pj,
            compute_pj,
            macs,
            weight_bits,
            weight_bytes,
            sentences_per_s: lens.len() as f64 / secs.max(1e-9),
            speed: speed_kind(&resolved, p.native),
            ..Default::default()
        };
        let fwd = fwd.and_then(|f| {
            if f.embeddings.data.iter().all(|v| v.is_finite()) {
                Ok(f)
            } else {
                Err("non-finite embeddings".to_string())
            }
        });
        let fwd = match fwd {
            Ok(f) => f,
            // Without the reference nothing can be compared.
            Err(e) if reference.is_none() => return Err(format!("{}: {e}", r.label)),
            Err(e) => {
                row.error = Some(e);
                out.rows.push(row);
                continue;
            }
        };
        let re = reference.get_or_insert_with(|| Reference::new(&layout, fwd.clone()));
        score(&layout, re, &fwd, &mut row);
        out.rows.push(row);
    }
    out.seconds = started.elapsed().as_secs_f64();
    Ok(out)
}

/// The study's registry entry.
pub struct RealModel;

impl super::Study for RealModel {
    type Params = ModelParams;
    type Output = ModelStudy;
    fn validate(params: &ModelParams, ctx: &StudyContext) -> Result<(), String> {
        check(params, ctx)
    }
    fn run(params: &ModelParams, ctx: &StudyContext) -> Result<ModelStudy, String> {
        run(params, ctx)
    }
}
