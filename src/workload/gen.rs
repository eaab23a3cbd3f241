//! Seeded tensor generators. Same seed, same bytes.

use super::Matrix;

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

/// Draws a `rows × cols` matrix from `dist` with `seed`.
pub fn generate(_dist: &Distribution, _rows: usize, _cols: usize, _seed: u64) -> Matrix {
    unimplemented!("gen::generate")
}

/// "LLM-like" operands: activations `m × k` (Gaussian with a few outlier
/// channels scaled 10–100×) and weights `n × k` (heavy-tailed Student-t).
pub fn llm_like(_m: usize, _k: usize, _n: usize, _seed: u64) -> (Matrix, Matrix) {
    unimplemented!("gen::llm_like")
}
