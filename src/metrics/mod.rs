//! Accuracy metrics against an f64 reference.
//!
//! Every sum is accumulated in f64 with Neumaier's compensated summation
//! ([`Neumaier`]), so the metrics of a million-element output do not drift
//! with the summation order's rounding error (plain f64 sums lose up to
//! `n · 2^−53` relative; compensated sums stay within a few ulps).
//!
//! Degenerate cases are defined, never NaN by accident:
//! - empty inputs: every error is 0, SQNR +inf, cosine 1 (nothing differs);
//! - exact result (`x == r` everywhere): SQNR +inf and relative error 0, also
//!   when the reference is all zero;
//! - all-zero reference with a non-zero result: relative error +inf, SQNR −inf;
//! - cosine of identical vectors is exactly 1 (two zero vectors included),
//!   of one zero and one non-zero vector 0 (no direction in common);
//!   otherwise clamped to [−1, 1];
//! - a NaN or ±inf in either input propagates to NaN/inf in the metrics it
//!   touches (max and mean error NaN when any difference is NaN).

pub mod coupling;
pub mod embedding;
pub mod pareto;

/// Output-accuracy metrics of one matmul.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Accuracy {
    /// ‖x − r‖_F / ‖r‖_F.
    pub rel_fro_error: f64,
    /// 10·log10(‖r‖² / ‖x − r‖²), dB (+inf when exact).
    pub sqnr_db: f64,
    /// ⟨x, r⟩ / (‖x‖‖r‖).
    pub cosine: f64,
    /// max |x − r|.
    pub max_abs_error: f64,
    /// mean |x − r|.
    pub mean_abs_error: f64,
}

pub use crate::tensor::{sum, Neumaier};

pub mod probs;

pub mod attention;

/// `10 · log10(signal / noise)` with the module's conventions: +inf when the
/// noise is 0 (exact), −inf when only the signal is 0.
fn sqnr_db(signal: f64, noise: f64) -> f64 {
    if noise == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (signal / noise).log10()
    }
}

/// Compares `approx` with `reference`; see the module docs for the
/// degenerate cases.
///
/// # Panics
/// When the lengths differ (a programming error: both come from one shape).
pub fn accuracy(reference: &[f64], approx: &[f64]) -> Accuracy {
    assert_eq!(
        reference.len(),
        approx.len(),
        "metrics::accuracy: reference and approximation lengths differ"
    );
    let (mut rr, mut xx, mut xr, mut ee, mut ae) = (
        Neumaier::new(),
        Neumaier::new(),
        Neumaier::new(),
        Neumaier::new(),
        Neumaier::new(),
    );
    let mut max_abs = 0.0f64;
    for (&r, &x) in reference.iter().zip(approx) {
        let e = x - r;
        rr.add(r * r);
        xx.add(x * x);
        xr.add(x * r);
        ee.add(e * e);
        ae.add(e.abs());
        // `max` would skip a NaN; keep it visible.
        if e.is_nan() || max_abs.is_nan() {
            max_abs = f64::NAN;
        } else {
            max_abs = max_abs.max(e.abs());
        }
    }
    let (rr, xx, xr, ee) = (rr.total(), xx.total(), xr.total(), ee.total());
    let rel_fro_error = if ee == 0.0 {
        0.0
    } else {
        (ee / rr).sqrt() // rr == 0 → +inf
    };
    let cosine = if ee == 0.0 {
        1.0 // identical vectors (zero vectors included), without rounding noise
    } else if rr == 0.0 || xx == 0.0 {
        0.0
    } else {
        // One square root of the product rounds once; split only if it overflows.
        let p = xx * rr;
        let norm = if p.is_finite() && p > 0.0 {
            p.sqrt()
        } else {
            xx.sqrt() * rr.sqrt()
        };
        (xr / norm).clamp(-1.0, 1.0)
    };
    let n = reference.len();
    Accuracy {
        rel_fro_error,
        sqnr_db: sqnr_db(rr, ee),
        cosine,
        max_abs_error: max_abs,
        mean_abs_error: if n == 0 { 0.0 } else { ae.total() / n as f64 },
    }
}

/// Mean squared error and SQNR (dB, `10·log10(Σw² / Σ(w − wq)²)`) of
/// quantized weights `wq` against `w`, in f64 with compensated sums. Exact
/// weights give SQNR +inf (also for all-zero weights); an empty input gives
/// MSE 0 and SQNR +inf.
///
/// # Panics
/// When the lengths differ.
pub fn weight_error(w: &[f32], wq: &[f32]) -> (f64, f64) {
    assert_eq!(
        w.len(),
        wq.len(),
        "metrics::weight_error: weight and quantized weight lengths differ"
    );
    let (mut ss, mut ee) = (Neumaier::new(), Neumaier::new());
    for (&a, &b) in w.iter().zip(wq) {
        let (a, b) = (a as f64, b as f64);
        ss.add(a * a);
        ee.add((b - a) * (b - a));
    }
    let (ss, ee) = (ss.total(), ee.total());
    let mse = if w.is_empty() {
        0.0
    } else {
        ee / w.len() as f64
    };
    (mse, sqnr_db(ss, ee))
}
