//! Seeded tensor generators. Same seed, same bytes.
//!
//! # Reproducibility
//!
//! Random bits come from ChaCha8 (`rand_chacha::ChaCha8Rng::seed_from_u64`),
//! whose output is specified bit for bit and independent of platform and
//! endianness. The values are made from those bits by the small samplers in
//! this file (not by `rand_distr`, whose algorithms may change between
//! versions): uniforms are `(next_u64 >> 11) · 2⁻⁵³`, and every other
//! distribution uses only `+ − × ÷ sqrt` (IEEE-exact everywhere) plus one `ln`
//! or `powf` per value. Those two come from the platform's libm, which on
//! common platforms agrees to the last bit for almost all inputs; a 1-ulp
//! difference in f64 survives the final rounding to f32 only when the value
//! sits on an f32 rounding boundary (about one value in 2²⁹).
//!
//! A matrix is filled in row-major order in blocks of [`BLOCK`] values; block
//! `j` draws from ChaCha8 stream `j` of the seed. The blocks are independent,
//! so they are generated in parallel and the bytes do not depend on the
//! number of threads.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::rng::{mix64, GOLDEN_GAMMA};
use crate::tensor::Matrix;

/// Values per independently seeded block (see the module docs). Part of the
/// output definition: changing it changes every generated matrix.
pub const BLOCK: usize = 1 << 16;

/// A value distribution for synthetic tensors.
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    /// Normal(0, std).
    Gaussian {
        /// Standard deviation.
        std: f64,
    },
    /// Laplace(0, b).
    Laplace {
        /// Scale b.
        b: f64,
    },
    /// Student-t with ν degrees of freedom, times `scale`.
    StudentT {
        /// Degrees of freedom ν.
        nu: f64,
        /// Scale.
        scale: f64,
    },
    /// Uniform on [lo, hi).
    Uniform {
        /// Lower bound.
        lo: f64,
        /// Upper bound.
        hi: f64,
    },
}

/// Largest scale (std, b, scale, |lo|, |hi|) a distribution may have: its
/// values stay far below f32's maximum (3.4e38) even many deviations out.
pub const MAX_MAGNITUDE: f64 = 1e30;

/// Smallest non-zero scale a distribution may have: its values stay far above
/// f32's smallest normal (1.2e-38), so they do not round to zero.
pub const MIN_MAGNITUDE: f64 = 1e-30;

/// Whether a non-zero scale is within [`MIN_MAGNITUDE`], [`MAX_MAGNITUDE`].
fn magnitude_ok(x: f64) -> bool {
    x == 0.0 || (MIN_MAGNITUDE..=MAX_MAGNITUDE).contains(&x.abs())
}

impl Distribution {
    /// Checks the parameters: scales finite and ≥ 0, ν finite and > 0, lo ≤ hi finite;
    /// every scale (and uniform bound) 0 or within [`MIN_MAGNITUDE`],
    /// [`MAX_MAGNITUDE`] (degenerate tensors of inf or of zeros are refused).
    pub fn validate(&self) -> Result<(), String> {
        let ok = |x: f64| x.is_finite() && x >= 0.0;
        let scales: Vec<(&str, f64)> = match *self {
            Distribution::Gaussian { std } => vec![("std", std)],
            Distribution::Laplace { b } => vec![("b", b)],
            Distribution::StudentT { scale, .. } => vec![("scale", scale)],
            Distribution::Uniform { lo, hi } => vec![("lo", lo), ("hi", hi)],
        };
        if let Some((k, v)) = scales
            .iter()
            .find(|(_, v)| v.is_finite() && !magnitude_ok(*v))
        {
            return Err(format!(
                "{k} = {v} is outside f32's useful range (0 or |{k}| within \
                 [{MIN_MAGNITUDE:e}, {MAX_MAGNITUDE:e}])"
            ));
        }
        match *self {
            Distribution::Gaussian { std } if !ok(std) => {
                Err(format!("gaussian: std = {std} must be finite and >= 0"))
            }
            Distribution::Laplace { b } if !ok(b) => {
                Err(format!("laplace: b = {b} must be finite and >= 0"))
            }
            Distribution::StudentT { nu, .. } if !(nu.is_finite() && nu > 0.0) => {
                Err(format!("student-t: nu = {nu} must be finite and > 0"))
            }
            Distribution::StudentT { scale, .. } if !ok(scale) => Err(format!(
                "student-t: scale = {scale} must be finite and >= 0"
            )),
            Distribution::Uniform { lo, hi } if !(lo.is_finite() && hi.is_finite() && lo <= hi) => {
                Err(format!(
                    "uniform: [{lo}, {hi}) must be finite with lo <= hi"
                ))
            }
            _ => Ok(()),
        }
    }

    /// The standard deviation of the distribution (`None` for Student-t with ν ≤ 2).
    pub fn std_dev(&self) -> Option<f64> {
        match *self {
            Distribution::Gaussian { std } => Some(std),
            Distribution::Laplace { b } => Some(b * std::f64::consts::SQRT_2),
            Distribution::StudentT { nu, scale } => {
                (nu > 2.0).then(|| scale * (nu / (nu - 2.0)).sqrt())
            }
            Distribution::Uniform { lo, hi } => Some((hi - lo) / 12f64.sqrt()),
        }
    }
}

/// A ChaCha8 stream and the samplers on top of it.
struct Sampler {
    rng: ChaCha8Rng,
    /// The second normal of the last polar pair.
    spare_normal: Option<f64>,
}

impl Sampler {
    fn new(seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Sampler {
            rng,
            spare_normal: None,
        }
    }

    /// Uniform on [0, 1): the top 53 bits of one u64.
    fn unit(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform on the open interval (0, 1): never 0 or 1, so `ln` is safe.
    fn open_unit(&mut self) -> f64 {
        ((self.rng.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in [0, n), unbiased (rejection of the incomplete last range).
    fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.rng.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }

    /// Standard normal by Marsaglia's polar method (pairs; the second is kept).
    fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        loop {
            let x = 2.0 * self.unit() - 1.0;
            let y = 2.0 * self.unit() - 1.0;
            let s = x * x + y * y;
            if s > 0.0 && s < 1.0 {
                let f = (-2.0 * s.ln() / s).sqrt();
                self.spare_normal = Some(y * f);
                return x * f;
            }
        }
    }

    /// Standard Student-t by Bailey's polar method (Math. Comp. 62, 1994):
    /// (u, v) uniform in the unit disc, w = u² + v², t = u·sqrt(ν(w^(−2/ν) − 1)/w).
    fn student_t(&mut self, nu: f64) -> f64 {
        loop {
            let u = 2.0 * self.unit() - 1.0;
            let v = 2.0 * self.unit() - 1.0;
            let w = u * u + v * v;
            if w > 0.0 && w <= 1.0 {
                return u * (nu * (w.powf(-2.0 / nu) - 1.0) / w).sqrt();
            }
        }
    }

    fn sample(&mut self, dist: &Distribution) -> f64 {
        match *dist {
            Distribution::Gaussian { std } => std * self.normal(),
            // Inverse CDF: v uniform on (−½, ½), x = −b·sgn(v)·ln(1 − 2|v|).
            Distribution::Laplace { b } => {
                let v = self.open_unit() - 0.5;
                -b * v.signum() * (1.0 - 2.0 * v.abs()).ln()
            }
            Distribution::StudentT { nu, scale } => scale * self.student_t(nu),
            Distribution::Uniform { lo, hi } => lo + (hi - lo) * self.unit(),
        }
    }
}

/// `len` values of `dist` from `seed`, block `j` from ChaCha8 stream `j`.
fn fill(dist: &Distribution, len: usize, seed: u64) -> Vec<f32> {
    let mut data = vec![0f32; len];
    data.par_chunks_mut(BLOCK)
        .enumerate()
        .for_each(|(j, chunk)| {
            let mut s = Sampler::new(seed, j as u64);
            for x in chunk {
                *x = s.sample(dist) as f32;
            }
        });
    data
}

/// Draws a `rows × cols` matrix from `dist` with `seed`.
///
/// Values are drawn in f64 and rounded to f32 (nearest-even). Panics if
/// `dist` fails [`Distribution::validate`] (check specs before calling).
pub fn generate(dist: &Distribution, rows: usize, cols: usize, seed: u64) -> Matrix {
    if let Err(e) = dist.validate() {
        panic!("gen::generate: {e}");
    }
    Matrix::new(rows, cols, fill(dist, rows * cols, seed))
}

/// Degrees of freedom of the [`llm_like`] weights.
pub const LLM_WEIGHT_NU: f64 = 4.0;
/// Standard deviation of the [`llm_like`] weights (typical of trained linear layers).
pub const LLM_WEIGHT_STD: f64 = 0.02;
/// Standard deviation of the ordinary [`llm_like`] activation channels.
pub const LLM_ACT_STD: f64 = 1.0;
/// One outlier channel per this many activation channels (at least one).
pub const LLM_CHANNELS_PER_OUTLIER: usize = 100;
/// Range [lo, hi) of the outlier channels' scale factors.
pub const LLM_OUTLIER_FACTOR: (f64, f64) = (10.0, 100.0);

/// Independent sub-seeds for the parts of [`llm_like`] (SplitMix64 of the seed and a tag).
fn sub_seed(seed: u64, tag: u64) -> u64 {
    mix64(seed ^ tag.wrapping_mul(GOLDEN_GAMMA))
}

/// The outlier channels of [`llm_like`] for `k` channels and `seed`: sorted
/// `(channel, factor)` pairs, `max(1, k / 100)` of them (none when `k = 0`),
/// channels chosen uniformly without replacement, factors uniform in [10, 100).
pub fn llm_outlier_channels(k: usize, seed: u64) -> Vec<(usize, f64)> {
    if k == 0 {
        return Vec::new();
    }
    let count = (k / LLM_CHANNELS_PER_OUTLIER).max(1);
    let mut s = Sampler::new(sub_seed(seed, 3), 0);
    // Partial Fisher–Yates: the first `count` slots become a uniform sample.
    let mut idx: Vec<usize> = (0..k).collect();
    for i in 0..count {
        let j = i + s.below((k - i) as u64) as usize;
        idx.swap(i, j);
    }
    let mut chosen = idx[..count].to_vec();
    chosen.sort_unstable();
    let (lo, hi) = LLM_OUTLIER_FACTOR;
    chosen
        .into_iter()
        .map(|c| (c, lo + (hi - lo) * s.unit()))
        .collect()
}

/// "LLM-like" operands: activations `m × k` (Gaussian with a few outlier
/// channels scaled 10–100×) and weights `n × k` (heavy-tailed Student-t).
///
/// Recipe (constants above):
/// - weights `W` (`n × k`): Student-t with ν = 4, scaled to std 0.02
///   (scale = 0.02 / sqrt(ν/(ν−2))), the heavy tails of trained LLM weights;
/// - activations `A` (`m × k`): Normal(0, 1), then the columns listed by
///   [`llm_outlier_channels`] (`max(1, k/100)` channels) multiplied by their
///   factor in [10, 100), the per-channel outliers seen in LLM activations.
///
/// `A`, `W` and the outlier choice use independent sub-seeds of `seed`, so
/// `A` is not `generate(Gaussian, …, seed)`.
pub fn llm_like(m: usize, k: usize, n: usize, seed: u64) -> (Matrix, Matrix) {
    let nu = LLM_WEIGHT_NU;
    let w_dist = Distribution::StudentT {
        nu,
        scale: LLM_WEIGHT_STD / (nu / (nu - 2.0)).sqrt(),
    };
    let w = Matrix::new(n, k, fill(&w_dist, n * k, sub_seed(seed, 2)));
    let a_dist = Distribution::Gaussian { std: LLM_ACT_STD };
    let mut a = Matrix::new(m, k, fill(&a_dist, m * k, sub_seed(seed, 1)));
    let outliers = llm_outlier_channels(k, seed);
    if k > 0 {
        for row in a.data.chunks_mut(k) {
            for &(c, f) in &outliers {
                row[c] = (f64::from(row[c]) * f) as f32;
            }
        }
    }
    (a, w)
}
