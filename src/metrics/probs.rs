//! Probability metrics of attention: per-row KL divergence and total
//! variation between the reference's softmax and an approximation's.
//!
//! Rows are given as scores (natural-log units, −∞ for masked pairs); each
//! row's softmax is taken in f64 here, so the metrics measure the scores'
//! error. KL(ref ‖ approx) = Σ p·(ln p − ln q) over pairs with p > 0,
//! computed from log-probabilities (no 0·ln 0); it is +inf when the
//! approximation gives 0 probability where the reference does not.
//! TV = ½·Σ|p − q|.

use crate::tensor::Neumaier;

/// Log-softmax of one row (−∞ stays −∞; an all −∞ row stays all −∞).
pub fn log_softmax(s: &[f64]) -> Vec<f64> {
    let m = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return s.to_vec();
    }
    let mut z = Neumaier::new();
    for &x in s {
        z.add((x - m).exp());
    }
    let lz = m + z.total().ln();
    s.iter().map(|&x| x - lz).collect()
}

/// KL(p ‖ q) and TV(p, q) of two score rows.
pub fn row_kl_tv(reference: &[f64], approx: &[f64]) -> (f64, f64) {
    assert_eq!(reference.len(), approx.len(), "score rows differ in length");
    let (lp, lq) = (log_softmax(reference), log_softmax(approx));
    let (mut kl, mut tv) = (Neumaier::new(), Neumaier::new());
    for (a, b) in lp.iter().zip(&lq) {
        let p = a.exp();
        if p > 0.0 {
            kl.add(p * (a - b));
        }
        tv.add((p - b.exp()).abs());
    }
    (kl.total().max(0.0), 0.5 * tv.total())
}

/// Mean and worst row of KL and TV over rows of `n` scores, and every
/// row's KL (for a distribution).
#[derive(Debug, Clone, PartialEq)]
pub struct ProbError {
    /// Mean KL over rows.
    pub kl_mean: f64,
    /// Worst row's KL.
    pub kl_max: f64,
    /// Mean TV over rows.
    pub tv_mean: f64,
    /// Worst row's TV.
    pub tv_max: f64,
    /// KL of every row, in row order.
    pub kl_rows: Vec<f64>,
}

/// [`ProbError`] of score matrices of rows of `n` values.
pub fn prob_error(reference: &[f64], approx: &[f64], n: usize) -> ProbError {
    assert_eq!(
        reference.len(),
        approx.len(),
        "score matrices differ in length"
    );
    let rows: Vec<(f64, f64)> = reference
        .chunks(n.max(1))
        .zip(approx.chunks(n.max(1)))
        .map(|(a, b)| row_kl_tv(a, b))
        .collect();
    let k = rows.len().max(1) as f64;
    let mean = |f: fn(&(f64, f64)) -> f64| {
        let mut s = Neumaier::new();
        rows.iter().for_each(|r| s.add(f(r)));
        s.total() / k
    };
    let max = |f: fn(&(f64, f64)) -> f64| rows.iter().map(f).fold(0.0, f64::max);
    ProbError {
        kl_mean: mean(|r| r.0),
        kl_max: max(|r| r.0),
        tv_mean: mean(|r| r.1),
        tv_max: max(|r| r.1),
        kl_rows: rows.iter().map(|r| r.0).collect(),
    }
}
