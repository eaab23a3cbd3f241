//! Attention study: every attention variant (`attention/*`) against the f64
//! reference on seeded Q/K/V — output error, per-row KL and total variation
//! of the probabilities, bits per cached K/V element, energy (counts × the
//! suite's table), slow-memory bytes (the variant's closed form, and its
//! schedule simulated through one cache beside the Saha–Ye bound),
//! emulation time and, for variants with one, the native kernel's time
//! (its output checked equal to the emulation's bit for bit); the output's
//! spectral-norm relative error, and for sparse methods the attention-mass
//! recall and sparsity ([`crate::metrics::attention`]). Costs are counted on
//! the input (`cost_on`: a sparse method's kept pairs).
//!
//! Workloads: prefill (`heads × n × d`, causal or not) and decode (one query
//! over a `decode_n`-token cache), from the realistic generator
//! ([`crate::workload::attention::realistic`]) or plain Gaussians.

use super::StudyContext;
use crate::attention::info::{ScaleGroup, Schedule};
use crate::attention::{self, AttentionVariant, AttnShape, Phase};
use crate::hw::io_sweep::{closed_form, simulate, CacheSpec};
use crate::hw::tiles::ElementSize;
use crate::hw::tracegen::{Generator, TraceParams};
use crate::metrics::attention::{mass_recall, spectral_rel_error};
use crate::suite::attention_cell::{measure, native_checked, Reference};
use crate::workload::attention::{gaussian, realistic};
use serde::{Deserialize, Serialize};

/// Parameters (`[studies.attention]` keys; all optional).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttentionParams {
    /// Variant names or globs (default `["attention/*"]`).
    pub variants: Vec<String>,
    /// `realistic` (default) or `gaussian`.
    pub workload: String,
    /// Heads (default 2).
    pub heads: usize,
    /// Prefill tokens N (default 256).
    pub n: usize,
    /// Head dimension (default 64).
    pub d: usize,
    /// Causal prefill (default true).
    pub causal: bool,
    /// KV-cache length of the decode workload; 0 skips it (default 1024).
    pub decode_n: usize,
    /// N of the simulated I/O (default 1024; head dim `d`).
    pub io_n: usize,
    /// Cache size of the simulated I/O, bytes (default 65536).
    pub cache_bytes: u64,
}

impl Default for AttentionParams {
    fn default() -> Self {
        AttentionParams {
            variants: vec!["attention/*".into()],
            workload: "realistic".into(),
            heads: 2,
            n: 256,
            d: 64,
            causal: true,
            decode_n: 1024,
            io_n: 1024,
            cache_bytes: 65536,
        }
    }
}

/// One variant on one workload.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AttnRow {
    /// Variant name.
    pub variant: String,
    /// `prefill` or `decode`.
    pub phase: String,
    /// Shape as text (`2x256x256x64 causal`).
    pub shape: String,
    /// ‖o − r‖_F / ‖r‖_F against `attention/f64`.
    pub rel_fro_error: f64,
    /// Cosine similarity with the reference output.
    pub cosine: f64,
    /// max |o − r|.
    pub max_abs_error: f64,
    /// Mean over rows of KL(reference ‖ variant) of the probabilities.
    pub kl_mean: f64,
    /// Worst row's KL.
    pub kl_max: f64,
    /// Median row KL.
    pub kl_p50: f64,
    /// 99th-percentile row KL.
    pub kl_p99: f64,
    /// Mean total variation over rows.
    pub tv_mean: f64,
    /// Worst row's total variation.
    pub tv_max: f64,
    /// Bits per cached K and V element, scales included.
    pub kv_bits: f64,
    /// Arithmetic energy, pJ.
    pub compute_pj: f64,
    /// Total energy (arithmetic + SRAM + DRAM), pJ.
    pub energy_pj: f64,
    /// Multiply-accumulates (QKᵀ and PV).
    pub macs: f64,
    /// Slow-memory bytes of the variant's closed form.
    pub dram_bytes: f64,
    /// Emulation wall time, ms (one run; noisy).
    pub emulate_ms: f64,
    /// Native kernel wall time, ms (one run; noisy); `None` without one.
    /// Its output is checked equal to the emulation's bit for bit.
    #[serde(default)]
    pub native_ms: Option<f64>,
    /// KDEformer's measure: ‖O − R‖₂ / ‖R‖₂ of the output matrix, worst
    /// head ([`spectral_rel_error`], seeded power iteration).
    #[serde(default)]
    pub spectral_error: Option<f64>,
    /// Sparse methods: mean over rows of the exact probability mass on the
    /// pairs the method covers ([`mass_recall`]).
    #[serde(default)]
    pub mass_recall: Option<f64>,
    /// Sparse methods: the worst row's mass recall.
    #[serde(default)]
    pub mass_recall_min: Option<f64>,
    /// Sparse methods: fraction of the visible query–key pairs skipped.
    #[serde(default)]
    pub sparsity: Option<f64>,
}

/// One variant's schedule through the simulated cache.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IoPoint {
    /// Variant name.
    pub variant: String,
    /// Generator (`attention/standard`, `attention/flash`).
    pub generator: String,
    /// Element format the generator streams (the variant's K/V format).
    pub format: String,
    /// Closed form with write-allocate fills, bytes.
    pub closed_bytes: f64,
    /// Simulated bytes to and from memory.
    pub simulated_bytes: u64,
    /// Saha–Ye lower bound, bytes.
    pub bound_bytes: f64,
}

/// What the study found.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AttentionStudy {
    /// Workload generator.
    pub workload: String,
    /// Rows: per variant, prefill then decode.
    pub rows: Vec<AttnRow>,
    /// Per-variant KL of every prefill row (the distribution), variant order.
    pub kl_rows: Vec<(String, Vec<f64>)>,
    /// Simulated I/O, N = `io_n`.
    pub io: Vec<IoPoint>,
    /// N and d of the I/O points.
    pub io_shape: (usize, usize),
    /// Cache size of the I/O points, bytes.
    pub cache_bytes: u64,
    /// Notes: variants without an I/O point, energy numbers scaled.
    pub notes: Vec<String>,
}

/// The format a variant's K/V stream is simulated in (`None`: no grammar name).
fn io_format(v: &dyn AttentionVariant) -> Option<&'static str> {
    let k = v.info().k;
    Some(match (k.bits, k.group) {
        (32, _) => "f32",
        (16, _) => "bf16",
        (8, ScaleGroup::Block(32)) => "mxfp8",
        (4, ScaleGroup::Block(32)) => "mxfp4",
        (4, ScaleGroup::Block(16)) => "nvfp4",
        (8, _) => "int8",
        (4, _) => "int4",
        _ => return None,
    })
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// The generator `workload` names, after checking the sizes.
type GenFn = fn(AttnShape, u64) -> attention::Qkv;

/// Checks the parameters that need no variant: sizes, workload, cache.
fn check(p: &AttentionParams) -> Result<GenFn, String> {
    if p.heads == 0 || p.n == 0 || p.d == 0 || p.io_n == 0 {
        return Err("heads, n, d and io_n must each be at least 1".into());
    }
    if !p.d.is_multiple_of(2) {
        return Err(format!("d = {}: RoPE needs an even head dimension", p.d));
    }
    let gen: fn(AttnShape, u64) -> attention::Qkv = match p.workload.as_str() {
        "realistic" => realistic,
        "gaussian" => gaussian,
        w => return Err(format!("workload: '{w}' (expected realistic or gaussian)")),
    };
    CacheSpec::fully_associative(p.cache_bytes)
        .check()
        .map_err(|e| format!("cache_bytes: {e}"))?;
    Ok(gen)
}

/// The variants of `registry` the `variants` patterns choose, in order.
fn choose<'r>(
    p: &AttentionParams,
    registry: &'r [Box<dyn AttentionVariant>],
) -> Result<Vec<&'r dyn AttentionVariant>, String> {
    let mut chosen: Vec<&dyn AttentionVariant> = Vec::new();
    for pat in &p.variants {
        let g = glob::Pattern::new(pat).map_err(|e| format!("variants: '{pat}': {e}"))?;
        let before = chosen.len();
        for v in registry {
            if g.matches(v.name()) && !chosen.iter().any(|c| c.name() == v.name()) {
                chosen.push(&**v);
            }
        }
        if chosen.len() == before && !chosen.iter().any(|c| g.matches(c.name())) {
            return Err(format!("variants: '{pat}' matches no attention variant"));
        }
    }
    Ok(chosen)
}

/// Runs the study.
pub fn run(p: &AttentionParams, ctx: &StudyContext) -> Result<AttentionStudy, String> {
    let gen = check(p)?;
    let registry = attention::registry();
    let chosen = choose(p, &registry)?;
    let reference = attention::find("attention/f64").expect("the reference is registered");
    let mut out = AttentionStudy {
        workload: p.workload.clone(),
        io_shape: (p.io_n, p.d),
        cache_bytes: p.cache_bytes,
        ..Default::default()
    };
    let mut phases = vec![AttnShape::of(p.heads, p.n, p.d, p.causal, Phase::Prefill)];
    if p.decode_n > 0 {
        phases.push(AttnShape::of(
            p.heads,
            p.decode_n,
            p.d,
            false,
            Phase::Decode,
        ));
    }
    for shape in phases {
        let phase = if shape.nq == 1 && shape.nk > 1 {
            "decode"
        } else {
            "prefill"
        };
        let x = gen(shape, ctx.seed);
        let r = Reference::of(&*reference, &x);
        let price = |c: &crate::hw::cost::Cost| ctx.energy.energy(c);
        for v in &chosen {
            // The suite's attention cells measure with the same functions.
            let m = measure(*v, &x, &r, &price)?;
            let native_ms = native_checked(*v, &x, &m.output)?.map(|s| s * 1e3);
            let emulate_ms = m.emulate_s * 1e3;
            let (acc, pe, cost, e) = (&m.accuracy, &m.probs, &m.cost, &m.energy);
            let mut sorted = pe.kl_rows.clone();
            sorted.sort_by(f64::total_cmp);
            let coverage = v.coverage(&x);
            let recall = coverage
                .as_ref()
                .map(|c| mass_recall(&r.scores, c, shape.nk));
            let sparsity = coverage.as_ref().map(|c| {
                let kept = c.iter().filter(|k| **k).count() as f64;
                1.0 - kept / shape.pairs()
            });
            for n in e.scaled.iter() {
                if !out.notes.contains(n) {
                    out.notes.push(n.clone());
                }
            }
            out.rows.push(AttnRow {
                variant: v.name().into(),
                phase: phase.into(),
                shape: shape.to_string(),
                rel_fro_error: acc.rel_fro_error,
                cosine: acc.cosine,
                max_abs_error: acc.max_abs_error,
                kl_mean: pe.kl_mean,
                kl_max: pe.kl_max,
                kl_p50: quantile(&sorted, 0.5),
                kl_p99: quantile(&sorted, 0.99),
                tv_mean: pe.tv_mean,
                tv_max: pe.tv_max,
                kv_bits: m.kv_bits,
                compute_pj: e.compute_pj,
                energy_pj: e.total_pj(),
                macs: cost.macs,
                dram_bytes: cost.dram_bytes,
                emulate_ms,
                native_ms,
                spectral_error: Some(spectral_rel_error(
                    &r.output,
                    &m.output,
                    shape.heads,
                    shape.d,
                    ctx.seed,
                )),
                mass_recall: recall.as_ref().map(|r| r.mean),
                mass_recall_min: recall.as_ref().map(|r| r.min),
                sparsity,
            });
            if phase == "prefill" {
                out.kl_rows.push((v.name().into(), pe.kl_rows.clone()));
            }
        }
    }
    let cache = CacheSpec::fully_associative(p.cache_bytes);
    cache.check().map_err(|e| format!("cache_bytes: {e}"))?;
    for v in &chosen {
        let Some(fmt) = io_format(*v) else {
            out.notes.push(format!(
                "{}: no I/O point (its element format has no trace layout)",
                v.name()
            ));
            continue;
        };
        let generator = match v.info().schedule {
            Schedule::Standard => "attention/standard",
            _ => "attention/flash",
        };
        let tp = TraceParams {
            generator: Generator::parse(generator).map_err(|e| e.to_string())?,
            m: 0,
            n: p.io_n,
            k: 0,
            d: p.d,
            format: ElementSize::parse(Some(fmt))?,
            fast_bytes: Some(p.cache_bytes),
        };
        let closed = closed_form(&tp, p.cache_bytes).map_err(|e| e.to_string())?;
        let sim = simulate(&tp, &cache).map_err(|e| e.to_string())?;
        out.io.push(IoPoint {
            variant: v.name().into(),
            generator: generator.into(),
            format: fmt.into(),
            closed_bytes: closed.count.cached_bytes(),
            simulated_bytes: sim,
            bound_bytes: closed.bound.bytes,
        });
    }
    Ok(out)
}

/// The study's registry entry.
pub struct Attention;

impl super::Study for Attention {
    type Params = AttentionParams;
    type Output = AttentionStudy;
    fn validate(params: &AttentionParams, ctx: &StudyContext) -> Result<(), String> {
        let _ = ctx;
        check(params)?;
        choose(params, &attention::registry()).map(drop)
    }
    fn run(params: &Self::Params, ctx: &StudyContext) -> Result<Self::Output, String> {
        run(params, ctx)
    }
}
