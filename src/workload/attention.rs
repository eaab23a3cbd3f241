//! Attention workloads: Q, K, V of `heads × tokens × head dim` ([`Qkv`]),
//! the realistic synthetic generator ([`realistic`]) and the phases
//! (prefill: N queries over N keys; decode: one query over an N-token cache).
//!
//! # The realistic recipe (SPEC: Gaussian with outlier key channels, a
//! non-zero channel mean, RoPE, an attention sink, log-normal value norms)
//!
//! Per head, with sub-seeds of `seed` (so every part is independent):
//! 1. Q, K, V entries Normal(0, 1);
//! 2. RoPE (base 10000, pairs (2i, 2i+1)) rotates Q and K by their token
//!    positions (decode: the query sits at position N − 1);
//! 3. K gets a per-channel mean μ_c ~ Normal(0, 1.5) added to every token
//!    (the channel bias SageAttention's K smoothing removes; added after
//!    RoPE, in the keys attention sees);
//! 4. `max(1, d/32)` key channels (drawn per head, without replacement) are
//!    multiplied by a factor uniform in [8, 20) — the outlier channels;
//! 5. the sink: key 0 becomes the mean query direction scaled to 4× the
//!    typical key norm, so every query attends to token 0;
//! 6. each value row is scaled by exp(0.5·g), g ~ Normal(0, 1) (log-normal norms).
//!
//! Then Q and K are scaled by d^−¼ each, so the scaled scores q·k/√d are
//! O(1)–O(10) like a trained model's. Rotations and scalings are computed in
//! f64 and rounded to f32 once per element.

use super::gen::{generate, Distribution};
use crate::rng::{mix64, SplitMix64, GOLDEN_GAMMA};
use serde::{Deserialize, Serialize};

/// Which attention a workload runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// N queries over N keys.
    Prefill,
    /// One query (the newest token) over an N-token KV cache.
    Decode,
}

impl Phase {
    /// `prefill` or `decode`.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Prefill => "prefill",
            Phase::Decode => "decode",
        }
    }
}

/// The shape of one attention: `heads` heads of `nq` queries over `nk`
/// keys and values of head dimension `d`, causal or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AttnShape {
    /// Heads.
    pub heads: usize,
    /// Queries per head.
    pub nq: usize,
    /// Keys (and values) per head.
    pub nk: usize,
    /// Head dimension.
    pub d: usize,
    /// Whether query i (at position nk − nq + i) sees only keys up to its position.
    pub causal: bool,
}

impl AttnShape {
    /// `heads` × `n` × `d` in `phase`.
    pub fn of(heads: usize, n: usize, d: usize, causal: bool, phase: Phase) -> Self {
        let nq = match phase {
            Phase::Prefill => n,
            Phase::Decode => 1,
        };
        AttnShape {
            heads,
            nq,
            nk: n,
            d,
            causal,
        }
    }

    /// Keys query `i` sees: all, or up to its position when causal.
    pub fn visible(&self, i: usize) -> usize {
        if self.causal {
            (self.nk + i + 1).saturating_sub(self.nq).min(self.nk)
        } else {
            self.nk
        }
    }

    /// Query–key pairs scored (causal pairs only when causal).
    pub fn pairs(&self) -> f64 {
        let per_head: usize = (0..self.nq).map(|i| self.visible(i)).sum();
        self.heads as f64 * per_head as f64
    }
}

impl std::fmt::Display for AttnShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}x{}", self.heads, self.nq, self.nk, self.d)?;
        if self.causal {
            f.write_str(" causal")?;
        }
        Ok(())
    }
}

/// Q (`heads × nq × d`), K and V (`heads × nk × d`), row-major f32.
#[derive(Debug, Clone, PartialEq)]
pub struct Qkv {
    /// The shape (with the mask).
    pub shape: AttnShape,
    /// Queries.
    pub q: Vec<f32>,
    /// Keys.
    pub k: Vec<f32>,
    /// Values.
    pub v: Vec<f32>,
}

impl Qkv {
    /// Checks lengths and finiteness; the error names the tensor.
    pub fn new(shape: AttnShape, q: Vec<f32>, k: Vec<f32>, v: Vec<f32>) -> Result<Self, String> {
        let AttnShape {
            heads, nq, nk, d, ..
        } = shape;
        for (name, t, rows) in [("Q", &q, nq), ("K", &k, nk), ("V", &v, nk)] {
            if t.len() != heads * rows * d {
                return Err(format!(
                    "{name}: {} values, expected {heads}×{rows}×{d}",
                    t.len()
                ));
            }
            if let Some(i) = t.iter().position(|x| !x.is_finite()) {
                return Err(format!("{name}: element {i} is {} (must be finite)", t[i]));
            }
        }
        if heads == 0 || nq == 0 || nk == 0 || d == 0 {
            return Err(format!("shape {shape}: every dimension must be at least 1"));
        }
        Ok(Qkv { shape, q, k, v })
    }

    /// Query row `i` of head `h`.
    pub fn q_row(&self, h: usize, i: usize) -> &[f32] {
        let d = self.shape.d;
        let at = (h * self.shape.nq + i) * d;
        &self.q[at..at + d]
    }

    /// Head `h`'s keys (`nk × d`).
    pub fn k_head(&self, h: usize) -> &[f32] {
        let n = self.shape.nk * self.shape.d;
        &self.k[h * n..(h + 1) * n]
    }

    /// Head `h`'s values (`nk × d`).
    pub fn v_head(&self, h: usize) -> &[f32] {
        let n = self.shape.nk * self.shape.d;
        &self.v[h * n..(h + 1) * n]
    }

    /// Head `h`'s queries (`nq × d`).
    pub fn q_head(&self, h: usize) -> &[f32] {
        let n = self.shape.nq * self.shape.d;
        &self.q[h * n..(h + 1) * n]
    }
}

fn sub_seed(seed: u64, tag: u64) -> u64 {
    mix64(seed ^ tag.wrapping_mul(GOLDEN_GAMMA))
}

/// Standard deviation of the keys' per-channel mean.
pub const KEY_MEAN_STD: f64 = 1.5;
/// Range [lo, hi) of the outlier key channels' factors.
pub const KEY_OUTLIER_FACTOR: (f64, f64) = (8.0, 20.0);
/// σ of the log-normal value-norm factor.
pub const VALUE_NORM_SIGMA: f64 = 0.5;
/// The sink key's norm, in units of the typical key norm.
pub const SINK_FACTOR: f64 = 4.0;
/// RoPE base.
pub const ROPE_BASE: f64 = 10000.0;

/// The realistic synthetic Q/K/V (module docs) for `shape` and `seed`.
/// Same seed, same bytes, whatever the thread count.
pub fn realistic(shape: AttnShape, seed: u64) -> Qkv {
    let AttnShape {
        heads, nq, nk, d, ..
    } = shape;
    let g = |rows: usize, tag: u64| {
        generate(
            &Distribution::Gaussian { std: 1.0 },
            rows,
            d,
            sub_seed(seed, tag),
        )
        .data
    };
    let mut q_all = Vec::with_capacity(heads * nq * d);
    let mut k_all = Vec::with_capacity(heads * nk * d);
    let mut v_all = Vec::with_capacity(heads * nk * d);
    let qk_scale = (d as f64).powf(-0.25);
    for h in 0..heads {
        let tag = 16 * h as u64;
        let mut q: Vec<f64> = g(nq, tag + 1).iter().map(|&x| x as f64).collect();
        let mut k: Vec<f64> = g(nk, tag + 2).iter().map(|&x| x as f64).collect();
        let v = g(nk, tag + 3);
        let mean: Vec<f64> = generate(
            &Distribution::Gaussian { std: KEY_MEAN_STD },
            1,
            d,
            sub_seed(seed, tag + 4),
        )
        .data
        .iter()
        .map(|&x| x as f64)
        .collect();
        let norm_g = generate(
            &Distribution::Gaussian { std: 1.0 },
            1,
            nk,
            sub_seed(seed, tag + 5),
        )
        .data;
        // Outlier channels: partial Fisher–Yates, factors uniform.
        let mut rng = SplitMix64::new(sub_seed(seed, tag + 6));
        let mut unit = || (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        let count = (d / 32).max(1).min(d);
        let mut idx: Vec<usize> = (0..d).collect();
        let mut outliers = Vec::new();
        for i in 0..count {
            let j = i + ((unit() * (d - i) as f64) as usize).min(d - i - 1);
            idx.swap(i, j);
            let (lo, hi) = KEY_OUTLIER_FACTOR;
            outliers.push((idx[i], lo + (hi - lo) * unit()));
        }
        rope(&mut q, d, nk - nq);
        rope(&mut k, d, 0);
        // The channel mean and the outlier channels sit in the keys
        // attention sees (after RoPE), where SageAttention observed them.
        for row in k.chunks_mut(d) {
            for (x, m) in row.iter_mut().zip(&mean) {
                *x += m;
            }
            for &(c, f) in &outliers {
                row[c] *= f;
            }
        }
        // Sink: key 0 along the mean query direction.
        if nk > 1 {
            let mut dir = vec![0.0f64; d];
            for row in q.chunks(d) {
                for (a, b) in dir.iter_mut().zip(row) {
                    *a += b;
                }
            }
            let dn = dir.iter().map(|x| x * x).sum::<f64>().sqrt();
            let typical = (k.iter().map(|x| x * x).sum::<f64>() / nk as f64).sqrt();
            if dn > 0.0 {
                for (x, a) in k[..d].iter_mut().zip(&dir) {
                    *x = a / dn * SINK_FACTOR * typical;
                }
            }
        }
        q_all.extend(q.iter().map(|x| (x * qk_scale) as f32));
        k_all.extend(k.iter().map(|x| (x * qk_scale) as f32));
        for (j, row) in v.chunks(d).enumerate() {
            let f = (VALUE_NORM_SIGMA * norm_g[j] as f64).exp();
            v_all.extend(row.iter().map(|&x| (x as f64 * f) as f32));
        }
    }
    Qkv::new(shape, q_all, k_all, v_all).expect("generated tensors are finite")
}

/// Rotary position embedding in place: rows of `d` values, row `r` at
/// position `first + r`, channel pairs (2i, 2i+1) rotated by
/// `pos · base^(−2i/d)`.
pub fn rope(x: &mut [f64], d: usize, first: usize) {
    for (r, row) in x.chunks_mut(d).enumerate() {
        let pos = (first + r) as f64;
        for i in 0..d / 2 {
            let theta = pos * ROPE_BASE.powf(-2.0 * i as f64 / d as f64);
            let (s, c) = theta.sin_cos();
            let (a, b) = (row[2 * i], row[2 * i + 1]);
            row[2 * i] = a * c - b * s;
            row[2 * i + 1] = a * s + b * c;
        }
    }
}

/// Topics of the GloVe-like vocabulary.
pub const GLOVE_TOPICS: usize = 64;
/// Per-coordinate standard deviations of a GloVe-like word vector's topic
/// centre and of its own offset: E‖w‖² = 100·(0.35² + 0.35²) ≈ 24.5 at
/// d = 100, a norm near 5.
pub const GLOVE_STD: (f64, f64) = (0.35, 0.35);
/// σ of the log-normal norm factor of a GloVe-like word vector.
pub const GLOVE_NORM_SIGMA: f64 = 0.3;

/// A GloVe-like self-attention workload: the structure of KDEformer's GloVe
/// demo (`demo_glove.py`: Q = K = word vectors / 10^¼, V = other word
/// vectors, d = 100, scores q·k unscaled) with **synthetic** word vectors,
/// because the GloVe files are not in any package registry bitsim may use.
///
/// Per head, with sub-seeds of `seed`: a vocabulary drawn from a mixture of
/// [`GLOVE_TOPICS`] Gaussian topics — word = centre + offset, coordinates
/// Normal(0, 0.35²) each ([`GLOVE_STD`]), times exp(0.3·g), g ~ Normal(0, 1)
/// ([`GLOVE_NORM_SIGMA`]) — K is `nk` words, V `nk` other words (drawn
/// independently: the demo takes V from a later stretch of the file). Q is
/// K's last `nq` rows (prefill: Q = K, as in the demo).
///
/// The scale makes bitsim's scaled score q·k/√d equal the demo's w·w′/√10
/// at every d: Q and K are the words times (d/10)^¼. What is kept: the
/// query is its own key (a large diagonal score, ‖w‖²/√10 ≈ 8), clusters of
/// similar words that angular LSH can find, and norms that vary. What is
/// not: GloVe's real frequency structure and anisotropy. The parameters
/// are chosen, not fitted to GloVe.
pub fn glove_like(shape: AttnShape, seed: u64) -> Qkv {
    let AttnShape {
        heads, nq, nk, d, ..
    } = shape;
    let words = |n: usize, tag: u64, scale: f64| -> Vec<f32> {
        let (std_c, std_u) = GLOVE_STD;
        let centre = generate(
            &Distribution::Gaussian { std: std_c },
            GLOVE_TOPICS,
            d,
            sub_seed(seed, tag),
        )
        .data;
        let offset = generate(
            &Distribution::Gaussian { std: std_u },
            n,
            d,
            sub_seed(seed, tag + 1),
        )
        .data;
        let norm_g = generate(
            &Distribution::Gaussian { std: 1.0 },
            1,
            n,
            sub_seed(seed, tag + 2),
        )
        .data;
        let mut rng = SplitMix64::new(sub_seed(seed, tag + 3));
        let mut out = Vec::with_capacity(n * d);
        for (j, row) in offset.chunks(d).enumerate() {
            // Multiply-shift: an unbiased-enough topic index without division.
            let z = (((rng.next_u64() >> 32) * GLOVE_TOPICS as u64) >> 32) as usize;
            let c = &centre[z * d..(z + 1) * d];
            let f = (GLOVE_NORM_SIGMA * norm_g[j] as f64).exp() * scale;
            out.extend(
                row.iter()
                    .zip(c)
                    .map(|(&u, &c)| ((c as f64 + u as f64) * f) as f32),
            );
        }
        out
    };
    let qk_scale = (d as f64 / 10.0).powf(0.25);
    let (mut q_all, mut k_all, mut v_all) = (Vec::new(), Vec::new(), Vec::new());
    for h in 0..heads {
        let tag = 16 * h as u64;
        let k = words(nk, tag + 1, qk_scale);
        q_all.extend_from_slice(&k[(nk - nq) * d..]);
        k_all.extend(k);
        v_all.extend(words(nk, tag + 8, 1.0));
    }
    Qkv::new(shape, q_all, k_all, v_all).expect("generated tensors are finite")
}

/// Plain Gaussian Q/K/V (entries Normal(0, 1), Q and K scaled by d^−¼):
/// the workload without any of the realistic structure.
pub fn gaussian(shape: AttnShape, seed: u64) -> Qkv {
    let AttnShape {
        heads, nq, nk, d, ..
    } = shape;
    let s = (d as f64).powf(-0.25);
    let g = |rows: usize, tag: u64, scale: f64| -> Vec<f32> {
        generate(
            &Distribution::Gaussian { std: 1.0 },
            heads * rows,
            d,
            sub_seed(seed, tag),
        )
        .data
        .iter()
        .map(|&x| (x as f64 * scale) as f32)
        .collect()
    };
    Qkv::new(shape, g(nq, 1, s), g(nk, 2, s), g(nk, 3, 1.0)).expect("finite")
}
