//! Coupling study: which number format makes the best drafter for a
//! drafter-invariant speculative decoder. Two parties sample from P and Q
//! with shared randomness ([`crate::metrics::coupling`]); Pr[a = b] is the
//! per-token acceptance rate.
//!
//! Pairs:
//! - **synthetic**: Dirichlet pairs `P ~ Dir(α)`, `Q = (1 − λ)P + λP'` with
//!   `P' ~ Dir(α)` fresh, over `synthetic_vocab` outcomes, for each α of
//!   `dirichlet_alpha` and λ of `mix` (λ sweeps D_TV from 0 to about 1);
//!   Zipf pairs `p_i ∝ (i + 1)^−s` against the same at temperature T
//!   (`q ∝ p^(1/T)`), for each s of `zipf_s` and T of `temperatures`.
//! - **format pairs**: a vocabulary projection `E` (`vocab × dim`) and
//!   hidden states `h` (`positions × dim`); P = softmax(h·Eᵀ / T) computed
//!   by `matmul/f32`, Q the same with the product computed by each variant
//!   of `variants` (E and h quantized as that variant does). T is set per
//!   position so that P's logits have standard deviation `logit_std`. E and
//!   h are seeded and synthetic: E is N(0, 1), 30522 × 384 by default — the
//!   shape of MiniLM's token embeddings, which this study will use once the
//!   real-model layer provides them — and h are LLM-like activations
//!   ([`crate::workload::gen::llm_like`]: Gaussian with outlier channels).
//!
//! Per pair: D_TV, the exact agreement of each sampler, and the Monte Carlo
//! rate of each from `trials` shared-seed trials (Clopper–Pearson 95 %
//! intervals). Claims checked on every pair: Gumbel ≥ (1 − D)/(1 + D) and
//! Gumbel ≥ WMH, both exactly and by Monte Carlo (an exception counts when
//! the 95 % interval lies wholly below). Per format: mean D_TV over
//! positions, mean acceptance per sampler, and the expected tokens per
//! draft step for each draft length γ of `gammas`.

use super::StudyContext;
use crate::metrics::coupling::{self, clopper_pearson, expected_tokens, Coupler, Sampler};
use crate::rng::mix64;
use crate::variants::{self, MatmulVariant};
use crate::workload::gen;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma};
use serde::{Deserialize, Serialize};

/// Parameters (`[studies.coupling]` keys; all optional).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CouplingParams {
    /// Shared-seed trials per pair and sampler.
    pub trials: u64,
    /// Outcomes of the synthetic pairs.
    pub synthetic_vocab: usize,
    /// Dirichlet concentrations.
    pub dirichlet_alpha: Vec<f64>,
    /// Mixing weights λ of the Dirichlet pairs.
    pub mix: Vec<f64>,
    /// Zipf exponents.
    pub zipf_s: Vec<f64>,
    /// Temperatures of the Zipf pairs' Q.
    pub temperatures: Vec<f64>,
    /// Rows of the vocabulary matrix E.
    pub vocab: usize,
    /// Hidden size (columns of E and h).
    pub dim: usize,
    /// Hidden states (positions) per format.
    pub positions: usize,
    /// Standard deviation of P's logits after the temperature.
    pub logit_std: f64,
    /// Matmul variants that compute Q's logits.
    pub variants: Vec<String>,
    /// Draft lengths γ for the expected tokens per draft step.
    pub gammas: Vec<u32>,
}

impl Default for CouplingParams {
    fn default() -> Self {
        CouplingParams {
            trials: 20_000,
            synthetic_vocab: 1000,
            dirichlet_alpha: vec![0.1, 1.0],
            mix: vec![0.05, 0.2, 0.5, 0.9],
            zipf_s: vec![1.1],
            temperatures: vec![0.5, 0.8, 1.25, 2.0],
            vocab: 30522,
            dim: 384,
            positions: 8,
            logit_std: 3.0,
            variants: [
                "matmul/w8a8-int",
                "matmul/w4a8-int",
                "matmul/fp8-e4m3",
                "matmul/mxfp4",
                "matmul/w1.58a8-ternary",
                "matmul/w1.58a4",
                "matmul/w1.58a8-topk",
                "matmul/w1a8-binary",
            ]
            .map(String::from)
            .to_vec(),
            gammas: vec![2, 4, 8],
        }
    }
}

/// One sampler on one pair.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SamplerResult {
    /// `optimal`, `gumbel`, `wmh` or `independent`.
    pub sampler: String,
    /// Exact Pr[a = b].
    pub exact: f64,
    /// Trials that agreed.
    pub agreed: u64,
    /// Monte Carlo rate.
    pub rate: f64,
    /// 95 % Clopper–Pearson interval of the rate.
    pub ci: (f64, f64),
}

/// One pair (P, Q).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PairRow {
    /// `dirichlet`, `zipf` or a variant name.
    pub family: String,
    /// The pair's parameters (`α=0.1 λ=0.2`, `position 3`, …).
    pub name: String,
    /// Total-variation distance.
    pub d_tv: f64,
    /// (1 − D)/(1 + D).
    pub bound: f64,
    /// Trials per sampler.
    pub trials: u64,
    /// One entry per sampler, in [`Sampler::ALL`] order.
    pub samplers: Vec<SamplerResult>,
}

/// One format's summary over its positions.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FormatRow {
    /// Variant name.
    pub variant: String,
    /// Mean D_TV over positions.
    pub mean_d_tv: f64,
    /// Mean exact acceptance per sampler, [`Sampler::ALL`] order.
    pub acceptance: Vec<f64>,
    /// Mean Monte Carlo acceptance per sampler.
    pub acceptance_mc: Vec<f64>,
    /// Expected tokens per draft step: one row per γ of `gammas`, one value
    /// per sampler (optimal, gumbel, wmh, independent).
    pub tokens: Vec<Vec<f64>>,
}

/// Exceptions to one claim.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClaimCheck {
    /// The claim.
    pub claim: String,
    /// Pairs checked.
    pub pairs: usize,
    /// Pairs where the exact value breaks the claim (beyond 1e−12).
    pub exact_exceptions: usize,
    /// Pairs where the Monte Carlo interval lies wholly below the claim.
    pub mc_exceptions: usize,
    /// Pairs whose Monte Carlo point estimate falls below (expected by chance near equality).
    pub mc_point_below: usize,
}

/// What the study found.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CouplingStudy {
    /// Where E and h came from.
    pub vocabulary: String,
    /// Every pair, synthetic first.
    pub pairs: Vec<PairRow>,
    /// One row per format.
    pub formats: Vec<FormatRow>,
    /// The draft lengths of [`FormatRow::tokens`].
    pub gammas: Vec<u32>,
    /// Gumbel ≥ bound, and Gumbel ≥ WMH.
    pub claims: Vec<ClaimCheck>,
}

fn normalize(v: &mut [f64]) {
    let s: f64 = v.iter().sum();
    v.iter_mut().for_each(|x| *x /= s);
}

fn dirichlet(alpha: f64, n: usize, rng: &mut ChaCha8Rng) -> Result<Vec<f64>, String> {
    let g = Gamma::new(alpha, 1.0).map_err(|e| format!("dirichlet_alpha {alpha}: {e}"))?;
    let mut v: Vec<f64> = (0..n).map(|_| g.sample(rng)).collect();
    if v.iter().sum::<f64>() <= 0.0 {
        v[0] = 1.0; // every draw underflowed (tiny α): a point mass
    }
    normalize(&mut v);
    Ok(v)
}

/// Softmax of `logits / t` in f64.
pub fn softmax(logits: &[f64], t: f64) -> Vec<f64> {
    let m = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let mut v: Vec<f64> = logits.iter().map(|&z| ((z - m) / t).exp()).collect();
    normalize(&mut v);
    v
}

fn std_dev(x: &[f64]) -> f64 {
    let n = x.len().max(1) as f64;
    let mean = x.iter().sum::<f64>() / n;
    (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt()
}

fn measure(
    family: &str,
    name: String,
    p: &[f64],
    q: &[f64],
    trials: u64,
    seed: u64,
) -> Result<PairRow, String> {
    let c = Coupler::new(p, q).map_err(|e| format!("{family} {name}: {e}"))?;
    let counts = c.agreements(&Sampler::ALL, trials, seed);
    let d = coupling::tv(p, q);
    Ok(PairRow {
        family: family.into(),
        name,
        d_tv: d,
        bound: coupling::bound(d),
        trials,
        samplers: Sampler::ALL
            .iter()
            .zip(&counts)
            .map(|(s, &k)| SamplerResult {
                sampler: s.name().into(),
                exact: s.exact(p, q),
                agreed: k,
                rate: k as f64 / trials.max(1) as f64,
                ci: clopper_pearson(k, trials, 0.95),
            })
            .collect(),
    })
}

fn check(params: &CouplingParams) -> Result<(), String> {
    if params.trials == 0 || params.trials > 100_000_000 {
        return Err(format!("trials: {} (must be 1 … 10^8)", params.trials));
    }
    if params.synthetic_vocab < 2 {
        return Err("synthetic_vocab must be at least 2".into());
    }
    if params.vocab < 2 || params.dim == 0 || params.positions == 0 {
        return Err("vocab must be at least 2, dim and positions positive".into());
    }
    if params.vocab.saturating_mul(params.dim) > 1 << 26 {
        return Err(format!(
            "vocab × dim: {} × {}, more than 2^26",
            params.vocab, params.dim
        ));
    }
    let bad = |v: &[f64]| v.iter().any(|x| !x.is_finite() || *x <= 0.0);
    if bad(&params.dirichlet_alpha) || bad(&params.zipf_s) || bad(&params.temperatures) {
        return Err("dirichlet_alpha, zipf_s and temperatures must be positive".into());
    }
    if params.mix.iter().any(|x| !(0.0..=1.0).contains(x)) {
        return Err("mix values must be in [0, 1]".into());
    }
    if !(params.logit_std.is_finite() && params.logit_std > 0.0) {
        return Err(format!(
            "logit_std: {} (must be positive)",
            params.logit_std
        ));
    }
    if params.gammas.iter().any(|&g| g == 0 || g > 64) {
        return Err("gammas must be 1 … 64".into());
    }
    Ok(())
}

/// The variants `params` names; an unknown name is an error naming it.
fn chosen(params: &CouplingParams) -> Result<Vec<Box<dyn MatmulVariant>>, String> {
    params
        .variants
        .iter()
        .map(|n| variants::find(n).ok_or_else(|| format!("variants: unknown variant '{n}'")))
        .collect()
}

/// Runs the study.
pub fn run(params: &CouplingParams, ctx: &StudyContext) -> Result<CouplingStudy, String> {
    check(params)?;
    let variants = chosen(params)?;
    let mut out = CouplingStudy {
        gammas: params.gammas.clone(),
        ..Default::default()
    };
    let mut pair_seed = 0u64;
    let mut next_seed = || {
        pair_seed += 1;
        mix64(ctx.seed ^ pair_seed.wrapping_mul(crate::rng::GOLDEN_GAMMA))
    };
    let n = params.synthetic_vocab;
    for &alpha in &params.dirichlet_alpha {
        let mut rng = ChaCha8Rng::seed_from_u64(next_seed());
        let p = dirichlet(alpha, n, &mut rng)?;
        let other = dirichlet(alpha, n, &mut rng)?;
        for &lam in &params.mix {
            let q: Vec<f64> = p
                .iter()
                .zip(&other)
                .map(|(a, b)| (1.0 - lam) * a + lam * b)
                .collect();
            let row = measure(
                "dirichlet",
                format!("α={alpha} λ={lam}"),
                &p,
                &q,
                params.trials,
                next_seed(),
            )?;
            out.pairs.push(row);
        }
    }
    for &s in &params.zipf_s {
        let mut p: Vec<f64> = (0..n).map(|i| (i as f64 + 1.0).powf(-s)).collect();
        normalize(&mut p);
        for &t in &params.temperatures {
            let mut q: Vec<f64> = p.iter().map(|x| x.powf(1.0 / t)).collect();
            normalize(&mut q);
            let row = measure(
                "zipf",
                format!("s={s} T={t}"),
                &p,
                &q,
                params.trials,
                next_seed(),
            )?;
            out.pairs.push(row);
        }
    }

    // Format pairs: h is m × dim (positions), E is vocab × dim.
    // h: LLM-like activations (Gaussian with outlier channels). E: Gaussian,
    // so that the logits over the vocabulary are Gaussian whatever h is; the
    // Student-t weights of `llm_like` make one logit dominate and P a point mass.
    let (h, _) = gen::llm_like(params.positions, params.dim, 0, ctx.seed);
    let e = gen::generate(
        &gen::Distribution::Gaussian { std: 1.0 },
        params.vocab,
        params.dim,
        mix64(ctx.seed ^ 0xE),
    );
    out.vocabulary = format!(
        "E: seeded synthetic N(0, 1) {}×{}, h: {} LLM-like activation rows (outlier channels), seed {}; \
         MiniLM's token embeddings will replace E once the real-model layer lands",
        params.vocab, params.dim, params.positions, ctx.seed
    );
    let reference = variants::find("matmul/f32").expect("matmul/f32 is registered");
    let base = reference.emulate(&h, &e, ctx.seed);
    let rows =
        |x: &[f64]| -> Vec<Vec<f64>> { x.chunks(params.vocab).map(|r| r.to_vec()).collect() };
    let base = rows(&base);
    let temps: Vec<f64> = base
        .iter()
        .map(|z| std_dev(z).max(1e-30) / params.logit_std)
        .collect();
    let ps: Vec<Vec<f64>> = base
        .iter()
        .zip(&temps)
        .map(|(z, &t)| softmax(z, t))
        .collect();
    for v in &variants {
        let logits = rows(&v.emulate(&h, &e, ctx.seed));
        let first = out.pairs.len();
        for (pos, (z, &t)) in logits.iter().zip(&temps).enumerate() {
            let q = softmax(z, t);
            let row = measure(
                v.name(),
                format!("position {pos}"),
                &ps[pos],
                &q,
                params.trials,
                next_seed(),
            )?;
            out.pairs.push(row);
        }
        out.formats
            .push(summarize(v.name(), &out.pairs[first..], &params.gammas));
    }
    out.claims = claims(&out.pairs);
    Ok(out)
}

fn summarize(name: &str, rows: &[PairRow], gammas: &[u32]) -> FormatRow {
    let k = rows.len().max(1) as f64;
    let mean = |f: &dyn Fn(&PairRow) -> f64| rows.iter().map(f).sum::<f64>() / k;
    let acceptance: Vec<f64> = (0..Sampler::ALL.len())
        .map(|s| mean(&|r| r.samplers[s].exact))
        .collect();
    let acceptance_mc = (0..Sampler::ALL.len())
        .map(|s| mean(&|r| r.samplers[s].rate))
        .collect();
    // Per position, then averaged: the acceptance of a real decoder varies by token.
    let tokens = gammas
        .iter()
        .map(|&g| {
            (0..Sampler::ALL.len())
                .map(|s| mean(&|r| expected_tokens(r.samplers[s].exact, g)))
                .collect()
        })
        .collect();
    FormatRow {
        variant: name.into(),
        mean_d_tv: mean(&|r| r.d_tv),
        acceptance,
        acceptance_mc,
        tokens,
    }
}

fn slot(s: Sampler) -> usize {
    Sampler::ALL.iter().position(|&x| x == s).expect("in ALL")
}

fn claims(pairs: &[PairRow]) -> Vec<ClaimCheck> {
    let (g, w) = (slot(Sampler::Gumbel), slot(Sampler::WeightedMinHash));
    let mut bound = ClaimCheck {
        claim: "Gumbel ≥ (1 − D_TV)/(1 + D_TV)".into(),
        pairs: pairs.len(),
        ..Default::default()
    };
    let mut wmh = ClaimCheck {
        claim: "Gumbel ≥ weighted MinHash".into(),
        pairs: pairs.len(),
        ..Default::default()
    };
    for r in pairs {
        let (sg, sw) = (&r.samplers[g], &r.samplers[w]);
        bound.exact_exceptions += (sg.exact < r.bound - 1e-12) as usize;
        bound.mc_exceptions += (sg.ci.1 < r.bound) as usize;
        bound.mc_point_below += (sg.rate < r.bound) as usize;
        wmh.exact_exceptions += (sg.exact < sw.exact - 1e-12) as usize;
        wmh.mc_exceptions += (sg.ci.1 < sw.ci.0) as usize;
        wmh.mc_point_below += (sg.rate < sw.rate) as usize;
    }
    vec![bound, wmh]
}

/// The coupling study (registered in `with_studies`).
pub struct Coupling;

impl super::Study for Coupling {
    type Params = CouplingParams;
    type Output = CouplingStudy;
    fn validate(params: &CouplingParams, _ctx: &StudyContext) -> Result<(), String> {
        check(params)?;
        chosen(params).map(drop)
    }
    fn run(params: &CouplingParams, ctx: &StudyContext) -> Result<CouplingStudy, String> {
        run(params, ctx)
    }
}

/// Every pair as `(D_TV, Monte Carlo rate per sampler in [`Sampler::ALL`] order)`, for charts.
pub fn points(s: &CouplingStudy) -> Vec<(f64, Vec<f64>)> {
    s.pairs
        .iter()
        .map(|r| (r.d_tv, r.samplers.iter().map(|x| x.rate).collect()))
        .collect()
}
