//! Metrics of approximate attention beyond the output errors of
//! [`super::accuracy`] and the probability errors of [`super::probs`]:
//!
//! - **attention-mass recall** ([`mass_recall`]): for a sparse method, the
//!   fraction of each row's exact probability mass (the f64 softmax of the
//!   reference scores) on the query–key pairs the method covers;
//! - **spectral-norm relative error** ([`spectral_rel_error`]): KDEformer's
//!   measure `‖O − R‖₂ / ‖R‖₂` of the output matrix (`nq × d`) per head,
//!   the operator norms by power iteration on the `d × d` Gram matrices
//!   from a seeded start vector.

use crate::rng::{mix64, SplitMix64};

/// Attention-mass recall over rows.
#[derive(Debug, Clone, PartialEq)]
pub struct MassRecall {
    /// Per row (`heads × nq`, row-major): covered mass / total mass.
    pub rows: Vec<f64>,
    /// Mean over rows.
    pub mean: f64,
    /// Worst row.
    pub min: f64,
}

/// The recall of `covered` (`heads × nq × nk`) against the reference
/// scores `reference` (same layout, natural-log units, masked −∞): per row
/// `Σ_{covered} p_j / Σ_j p_j` with `p_j = exp(s_j − max s)` in f64. A row
/// with no visible key counts as fully recalled (1).
///
/// # Panics
/// When the lengths differ or `nk` does not divide them (programming errors).
pub fn mass_recall(reference: &[f64], covered: &[bool], nk: usize) -> MassRecall {
    assert_eq!(
        reference.len(),
        covered.len(),
        "mass_recall: lengths differ"
    );
    assert!(
        nk > 0 && reference.len().is_multiple_of(nk),
        "mass_recall: nk"
    );
    let rows: Vec<f64> = reference
        .chunks(nk)
        .zip(covered.chunks(nk))
        .map(|(s, c)| {
            let m = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            if m == f64::NEG_INFINITY {
                return 1.0;
            }
            let (mut all, mut kept) = (0.0, 0.0);
            for (v, k) in s.iter().zip(c) {
                let p = (v - m).exp();
                all += p;
                if *k {
                    kept += p;
                }
            }
            kept / all
        })
        .collect();
    let mean = if rows.is_empty() {
        1.0
    } else {
        rows.iter().sum::<f64>() / rows.len() as f64
    };
    let min = rows.iter().cloned().fold(1.0, f64::min);
    MassRecall { rows, mean, min }
}

/// Power iterations of [`spectral_norm`].
pub const POWER_ITERS: usize = 300;

/// The largest singular value of the `rows × cols` matrix `a` (row-major):
/// `√λ_max(AᵀA)` by [`POWER_ITERS`] power iterations from a start vector
/// drawn from `seed` (uniform in [−1, 1) per entry).
pub fn spectral_norm(a: &[f64], cols: usize, seed: u64) -> f64 {
    if cols == 0 || a.is_empty() {
        return 0.0;
    }
    let rows = a.len() / cols;
    let mut g = vec![0.0f64; cols * cols];
    for r in 0..rows {
        let row = &a[r * cols..(r + 1) * cols];
        for i in 0..cols {
            for j in 0..cols {
                g[i * cols + j] += row[i] * row[j];
            }
        }
    }
    let mut rng = SplitMix64::new(mix64(seed ^ 0x05BE_C7A1));
    let mut x: Vec<f64> = (0..cols)
        .map(|_| (rng.next_u64() >> 11) as f64 / (1u64 << 52) as f64 - 1.0)
        .collect();
    let mut lam = 0.0;
    for _ in 0..POWER_ITERS {
        let n = x.iter().map(|v| v * v).sum::<f64>().sqrt();
        if n == 0.0 || !n.is_finite() {
            return if n.is_finite() { 0.0 } else { f64::NAN };
        }
        x.iter_mut().for_each(|v| *v /= n);
        let y: Vec<f64> = (0..cols)
            .map(|i| (0..cols).map(|j| g[i * cols + j] * x[j]).sum())
            .collect();
        // Rayleigh quotient xᵀGx with ‖x‖ = 1.
        lam = y.iter().zip(&x).map(|(a, b)| a * b).sum::<f64>();
        x = y;
    }
    lam.max(0.0).sqrt()
}

/// KDEformer's error: per head, `‖O_h − R_h‖₂ / ‖R_h‖₂` of the output
/// matrices (`heads` blocks of `nq × d`, `nq` from the length); the worst
/// head. 0 when both are 0, +inf when only the reference is.
///
/// # Panics
/// When the lengths differ or `heads·d` does not divide them.
pub fn spectral_rel_error(
    reference: &[f64],
    approx: &[f64],
    heads: usize,
    d: usize,
    seed: u64,
) -> f64 {
    assert!(
        heads > 0 && d > 0 && reference.len().is_multiple_of(heads * d),
        "spectral_rel_error: heads, d"
    );
    let n = reference.len() / heads;
    assert_eq!(
        approx.len(),
        reference.len(),
        "spectral_rel_error: lengths differ"
    );
    let mut worst = 0.0f64;
    for h in 0..heads {
        let r = &reference[h * n..(h + 1) * n];
        let e: Vec<f64> = approx[h * n..(h + 1) * n]
            .iter()
            .zip(r)
            .map(|(a, b)| a - b)
            .collect();
        let en = spectral_norm(&e, d, seed ^ h as u64);
        let rn = spectral_norm(r, d, seed ^ h as u64);
        let q = if en == 0.0 { 0.0 } else { en / rn };
        worst = if q.is_nan() { q } else { worst.max(q) };
        if worst.is_nan() {
            return worst;
        }
    }
    worst
}
