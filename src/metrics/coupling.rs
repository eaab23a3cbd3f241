//! Communication-free coupling of two distributions: two parties hold P and
//! Q over the same outcomes, share random bits but nothing else, and each
//! draws a sample (a ~ P, b ~ Q); how often a = b is the acceptance rate of
//! a drafter-invariant speculative decoder (Daliri, Musco, Suresh 2024).
//!
//! Samplers ([`Sampler`]):
//! - **Gumbel** (exponential race): shared `h_i ~ U(0, 1]` per outcome,
//!   `a = argmin_i −ln(h_i)/p_i`, `b = argmin_i −ln(h_i)/q_i`;
//! - **weighted MinHash** (rejection on shared points): a shared stream of
//!   points `(i_k, u_k)`, `i_k` uniform over the outcomes, `u_k ~ U[0, 1)`;
//!   each party takes the first `i_k` with `u_k < p_{i_k}` (resp. `q`);
//! - **optimal** (maximal) coupling, which needs both P and Q: agrees with
//!   probability exactly `1 − D_TV`; the baseline of ordinary speculative
//!   sampling;
//! - **independent** sampling: agrees with probability `Σ p_i q_i`.
//!
//! Exact agreement probabilities: optimal `1 − D_TV`; weighted MinHash
//! `(Σ min + Σ_i |p_i − q_i|⁺·(other side)_i) / Σ max` — the first shared
//! point under either histogram is under both with probability
//! `Σ min / Σ max = (1 − D_TV)/(1 + D_TV)` (the bound itself), and when it
//! is under one side's only (at `i`, the side with the larger mass there),
//! the other side's first point is a fresh draw from its own distribution,
//! which lands on `i` too with that side's probability; Gumbel
//! `Σ_i 1 / Σ_j max(p_j/p_i, q_j/q_i)` (given `E_i = −ln h_i = e`, `i` wins
//! both races when every other `E_j > e · max(p_j/p_i, q_j/q_i)`;
//! integrating over `e ~ Exp(1)` gives `1/S_i`) — [`gumbel_exact`] evaluates
//! it in O(n log n) by sorting on `p_j/q_j`.
//!
//! Two implementations of every sampler. The **reference** ones
//! ([`reference`](mod@reference)) run the protocols literally, each party looking only at
//! its own distribution (Gumbel: n uniforms per trial). The fast ones
//! ([`Coupler`]) draw the protocol's *joint outcome* `(a, b)` with exactly
//! the same distribution in O(1) expected alias draws per trial, using both
//! P and Q (a simulator may; the parties may not):
//! - Gumbel: the race is run on the union clock. With `m_i = max(p_i, q_i)`,
//!   the first arrivals `τ_i` of Poisson processes of rates `m_i` are
//!   independent `Exp(m_i)`, so `E_i = m_i τ_i` are the shared `Exp(1)`
//!   variables. Arrivals come in time order from one process of rate `Σ m`
//!   (outcome by an alias table on `m`, repeats ignored); once the clock
//!   passes both current minima of `E_i/p_i` and `E_i/q_i`, no later outcome
//!   can win either race (`E_i/p_i ≥ τ_i`).
//! - Weighted MinHash: the first shared point under max(P, Q) is an outcome
//!   `i ~ m/Σm` with height `u ~ U[0, m_i)`; below `min(p_i, q_i)` both take
//!   it, otherwise only the larger side does, and the other side's first
//!   point lies among later, independent points: a fresh draw from its own
//!   distribution.
//!
//! The tests compare the two by their agreement rates and marginals.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::weighted::WeightedAliasIndex;
use rand_distr::{Distribution, Exp1};
use rayon::prelude::*;

/// A coupling protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampler {
    /// The maximal coupling (needs both distributions).
    Optimal,
    /// Gumbel / exponential-race sampling with shared noise.
    Gumbel,
    /// Weighted MinHash by rejection on shared points.
    WeightedMinHash,
    /// Independent draws.
    Independent,
}

impl Sampler {
    /// Every sampler, in report order.
    pub const ALL: [Sampler; 4] = [
        Sampler::Optimal,
        Sampler::Gumbel,
        Sampler::WeightedMinHash,
        Sampler::Independent,
    ];

    /// Short name (`gumbel`, `wmh`, …).
    pub fn name(self) -> &'static str {
        match self {
            Sampler::Optimal => "optimal",
            Sampler::Gumbel => "gumbel",
            Sampler::WeightedMinHash => "wmh",
            Sampler::Independent => "independent",
        }
    }

    /// The exact agreement probability `Pr[a = b]` for `(p, q)`.
    pub fn exact(self, p: &[f64], q: &[f64]) -> f64 {
        match self {
            Sampler::Optimal => 1.0 - tv(p, q),
            Sampler::Gumbel => gumbel_exact(p, q),
            Sampler::WeightedMinHash => wmh_exact(p, q),
            Sampler::Independent => p.iter().zip(q).map(|(a, b)| a * b).sum(),
        }
    }
}

/// Total-variation distance `½ Σ |p_i − q_i|`.
pub fn tv(p: &[f64], q: &[f64]) -> f64 {
    0.5 * p.iter().zip(q).map(|(a, b)| (a - b).abs()).sum::<f64>()
}

/// The bound both communication-free samplers reach: `(1 − D)/(1 + D)`.
pub fn bound(d_tv: f64) -> f64 {
    (1.0 - d_tv) / (1.0 + d_tv)
}

/// Weighted MinHash agreement (see the module docs):
/// `(Σ min(p, q) + Σ (p − q)⁺·q + Σ (q − p)⁺·p) / Σ max(p, q)`, at least
/// [`bound`]`(D_TV)`.
pub fn wmh_exact(p: &[f64], q: &[f64]) -> f64 {
    let (mut agree, mut hi) = (0.0, 0.0);
    for (&a, &b) in p.iter().zip(q) {
        agree += a.min(b) + (a - b).max(0.0) * b + (b - a).max(0.0) * a;
        hi += a.max(b);
    }
    if hi > 0.0 {
        agree / hi
    } else {
        1.0
    }
}

/// Gumbel agreement `Σ_i 1 / Σ_j max(p_j/p_i, q_j/q_i)` over outcomes with
/// `p_i, q_i > 0`, in O(n log n): with outcomes sorted by `r = p/q`, the
/// max is `p_j/p_i` when `r_j ≥ r_i` and `q_j/q_i` otherwise (ties agree).
pub fn gumbel_exact(p: &[f64], q: &[f64]) -> f64 {
    let mut idx: Vec<usize> = (0..p.len()).filter(|&i| p[i] > 0.0 || q[i] > 0.0).collect();
    let ratio = |i: usize| {
        if q[i] > 0.0 {
            p[i] / q[i]
        } else {
            f64::INFINITY
        }
    };
    idx.sort_by(|&a, &b| ratio(a).total_cmp(&ratio(b)));
    // suffix[k] = Σ p over sorted positions ≥ k; prefix q over positions < k.
    let mut suffix = vec![0.0; idx.len() + 1];
    for k in (0..idx.len()).rev() {
        suffix[k] = suffix[k + 1] + p[idx[k]];
    }
    let (mut prefix_q, mut total) = (0.0, 0.0);
    for (k, &i) in idx.iter().enumerate() {
        if p[i] > 0.0 && q[i] > 0.0 {
            total += 1.0 / (suffix[k] / p[i] + prefix_q / q[i]);
        }
        prefix_q += q[i];
    }
    total
}

/// Alias table on `w`, `None` when every weight is zero.
fn alias(w: &[f64]) -> Option<WeightedAliasIndex<f64>> {
    WeightedAliasIndex::new(w.to_vec()).ok()
}

/// The fast samplers for one pair: alias tables built once.
pub struct Coupler {
    p: Vec<f64>,
    q: Vec<f64>,
    d_tv: f64,
    ap: WeightedAliasIndex<f64>,
    aq: WeightedAliasIndex<f64>,
    /// max(p, q) and its total.
    amax: WeightedAliasIndex<f64>,
    mass_max: f64,
    amin: Option<WeightedAliasIndex<f64>>,
    a_pq: Option<WeightedAliasIndex<f64>>,
    a_qp: Option<WeightedAliasIndex<f64>>,
}

impl Coupler {
    /// Prepares the samplers. `p` and `q` are probability vectors of equal
    /// length (each summing to 1 up to rounding).
    ///
    /// # Errors
    /// Lengths differ, a value is negative or not finite, or a side is all zero.
    pub fn new(p: &[f64], q: &[f64]) -> Result<Coupler, String> {
        if p.len() != q.len() {
            return Err(format!("P has {} outcomes, Q {}", p.len(), q.len()));
        }
        if p.iter().chain(q).any(|x| !x.is_finite() || *x < 0.0) {
            return Err("probabilities must be finite and non-negative".into());
        }
        let need = |a: Option<WeightedAliasIndex<f64>>, side: &str| {
            a.ok_or_else(|| format!("{side} has no positive probability"))
        };
        let max: Vec<f64> = p.iter().zip(q).map(|(a, b)| a.max(*b)).collect();
        let min: Vec<f64> = p.iter().zip(q).map(|(a, b)| a.min(*b)).collect();
        let pq: Vec<f64> = p.iter().zip(q).map(|(a, b)| (a - b).max(0.0)).collect();
        let qp: Vec<f64> = p.iter().zip(q).map(|(a, b)| (b - a).max(0.0)).collect();
        Ok(Coupler {
            d_tv: tv(p, q),
            ap: need(alias(p), "P")?,
            aq: need(alias(q), "Q")?,
            mass_max: max.iter().sum(),
            amax: need(alias(&max), "max(P, Q)")?,
            amin: alias(&min),
            a_pq: alias(&pq),
            a_qp: alias(&qp),
            p: p.to_vec(),
            q: q.to_vec(),
        })
    }

    /// One trial's `(a, b)`.
    pub fn sample<R: Rng>(&self, s: Sampler, rng: &mut R) -> (usize, usize) {
        match s {
            Sampler::Independent => (self.ap.sample(rng), self.aq.sample(rng)),
            Sampler::Optimal => self.optimal(rng),
            Sampler::WeightedMinHash => self.wmh(rng),
            Sampler::Gumbel => self.gumbel(rng),
        }
    }

    fn optimal<R: Rng>(&self, rng: &mut R) -> (usize, usize) {
        let stay = 1.0 - self.d_tv;
        match (&self.amin, &self.a_pq, &self.a_qp) {
            (Some(m), _, _) if rng.random::<f64>() < stay => {
                let i = m.sample(rng);
                (i, i)
            }
            (_, Some(x), Some(y)) => (x.sample(rng), y.sample(rng)),
            // D_TV rounds to 0 but the residuals are empty: P = Q.
            (Some(m), _, _) => {
                let i = m.sample(rng);
                (i, i)
            }
            // Disjoint supports and no residual cannot both hold.
            (None, _, _) => (self.ap.sample(rng), self.aq.sample(rng)),
        }
    }

    fn wmh<R: Rng>(&self, rng: &mut R) -> (usize, usize) {
        let i = self.amax.sample(rng);
        let (pi, qi) = (self.p[i], self.q[i]);
        let u = rng.random::<f64>() * pi.max(qi);
        if u < pi.min(qi) {
            (i, i)
        } else if pi > qi {
            (i, self.aq.sample(rng))
        } else {
            (self.ap.sample(rng), i)
        }
    }

    fn gumbel<R: Rng>(&self, rng: &mut R) -> (usize, usize) {
        let (mut best_a, mut best_b) = (f64::INFINITY, f64::INFINITY);
        let (mut a, mut b) = (0, 0);
        let mut t = 0.0;
        let mut seen: Vec<usize> = Vec::with_capacity(8);
        loop {
            let step: f64 = Exp1.sample(rng);
            t += step / self.mass_max;
            if t >= best_a.max(best_b) {
                return (a, b);
            }
            let i = self.amax.sample(rng);
            if seen.contains(&i) {
                continue;
            }
            seen.push(i);
            let e = t * self.p[i].max(self.q[i]);
            if self.p[i] > 0.0 && e / self.p[i] < best_a {
                best_a = e / self.p[i];
                a = i;
            }
            if self.q[i] > 0.0 && e / self.q[i] < best_b {
                best_b = e / self.q[i];
                b = i;
            }
        }
    }

    /// How many of `trials` shared-seed trials agree, for each sampler of
    /// `samplers`: trials run in chunks of [`CHUNK`] on rayon's pool, chunk
    /// `c` seeded by `(seed, c)`, so counts do not depend on the thread count.
    pub fn agreements(&self, samplers: &[Sampler], trials: u64, seed: u64) -> Vec<u64> {
        let chunks = trials.div_ceil(CHUNK);
        (0..chunks)
            .into_par_iter()
            .map(|c| {
                let n = CHUNK.min(trials - c * CHUNK);
                samplers
                    .iter()
                    .enumerate()
                    .map(|(k, &s)| {
                        let mut rng = chunk_rng(seed, c, k as u64);
                        (0..n)
                            .filter(|_| {
                                let (a, b) = self.sample(s, &mut rng);
                                a == b
                            })
                            .count() as u64
                    })
                    .collect::<Vec<u64>>()
            })
            .reduce(
                || vec![0; samplers.len()],
                |x, y| x.iter().zip(&y).map(|(a, b)| a + b).collect(),
            )
    }
}

/// Trials per parallel chunk.
pub const CHUNK: u64 = 4096;

/// The generator of chunk `c` of sampler slot `k` under `seed`.
pub fn chunk_rng(seed: u64, c: u64, k: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(crate::rng::mix64(
        seed ^ k.wrapping_mul(0xA24B_AED4_963E_E407),
    ));
    r.set_stream(c);
    r
}

/// The protocols run literally, each party using only its own distribution
/// and the shared randomness (slow; the fast samplers' twins).
pub mod reference {
    use rand::Rng;

    /// Gumbel: `n` shared uniforms `h_i ∈ (0, 1]`; each side takes `argmin −ln(h_i)/p_i`.
    pub fn gumbel<R: Rng>(p: &[f64], q: &[f64], rng: &mut R) -> (usize, usize) {
        let (mut a, mut b) = (0, 0);
        let (mut ba, mut bb) = (f64::INFINITY, f64::INFINITY);
        for i in 0..p.len() {
            // 1 − U[0, 1) is in (0, 1]: −ln is finite and ≥ 0.
            let e = -(1.0 - rng.random::<f64>()).ln();
            if p[i] > 0.0 && e / p[i] < ba {
                ba = e / p[i];
                a = i;
            }
            if q[i] > 0.0 && e / q[i] < bb {
                bb = e / q[i];
                b = i;
            }
        }
        (a, b)
    }

    /// Weighted MinHash: shared points `(i, u)`, `i` uniform, `u ~ U[0, 1)`;
    /// each side takes the first `i` with `u < p_i` (resp. `q_i`).
    pub fn wmh<R: Rng>(p: &[f64], q: &[f64], rng: &mut R) -> (usize, usize) {
        let (mut a, mut b) = (None, None);
        loop {
            let i = rng.random_range(0..p.len());
            let u = rng.random::<f64>();
            if a.is_none() && u < p[i] {
                a = Some(i);
            }
            if b.is_none() && u < q[i] {
                b = Some(i);
            }
            if let (Some(a), Some(b)) = (a, b) {
                return (a, b);
            }
        }
    }

    /// `Σ_i 1 / Σ_j max(p_j/p_i, q_j/q_i)` by the double loop.
    pub fn gumbel_exact(p: &[f64], q: &[f64]) -> f64 {
        let mut total = 0.0;
        for i in 0..p.len() {
            if p[i] > 0.0 && q[i] > 0.0 {
                let s: f64 = (0..p.len()).map(|j| (p[j] / p[i]).max(q[j] / q[i])).sum();
                total += 1.0 / s;
            }
        }
        total
    }
}

/// Clopper–Pearson interval of a binomial proportion `k / n` at `level`
/// (e.g. 0.95), by the Beta quantiles.
pub fn clopper_pearson(k: u64, n: u64, level: f64) -> (f64, f64) {
    use statrs::distribution::{Beta, ContinuousCDF};
    let alpha = 1.0 - level;
    let (k, n) = (k as f64, n as f64);
    let lo = if k == 0.0 {
        0.0
    } else {
        Beta::new(k, n - k + 1.0).map_or(0.0, |b| b.inverse_cdf(alpha / 2.0))
    };
    let hi = if k == n {
        1.0
    } else {
        Beta::new(k + 1.0, n - k).map_or(1.0, |b| b.inverse_cdf(1.0 - alpha / 2.0))
    };
    (lo, hi)
}

/// Expected tokens per draft step of a speculative decoder with draft length
/// `gamma` and per-token acceptance `alpha` (Leviathan et al. 2023):
/// `(1 − α^(γ+1)) / (1 − α)`, `γ + 1` when every draft is accepted.
pub fn expected_tokens(alpha: f64, gamma: u32) -> f64 {
    if alpha >= 1.0 {
        return gamma as f64 + 1.0;
    }
    (1.0 - alpha.powi(gamma as i32 + 1)) / (1.0 - alpha)
}
