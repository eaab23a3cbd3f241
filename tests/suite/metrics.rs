//! Accuracy metrics on hand-computed examples and their defined edge cases.

use bitsim::metrics::{accuracy, sum, weight_error, Neumaier};

#[test]
fn hand_example() {
    // r = (3, 4), x = (3, 5): e = (0, 1).
    // ‖r‖² = 25, ‖e‖² = 1 → rel = 1/5, SQNR = 10·log10(25) dB.
    // ⟨x, r⟩ = 9 + 20 = 29, ‖x‖ = √34 → cosine = 29 / (5√34).
    let a = accuracy(&[3.0, 4.0], &[3.0, 5.0]);
    assert_eq!(a.rel_fro_error, 0.2);
    assert!(
        (a.sqnr_db - 13.979_400_086_720_377).abs() < 1e-12,
        "{}",
        a.sqnr_db
    );
    assert!((a.cosine - 29.0 / (5.0 * 34f64.sqrt())).abs() < 1e-15);
    assert_eq!(a.max_abs_error, 1.0);
    assert_eq!(a.mean_abs_error, 0.5);
}

#[test]
fn second_hand_example() {
    // r = (1, −2, 2), x = (0, −2, 4): e = (−1, 0, 2).
    // ‖r‖² = 9, ‖e‖² = 5: rel = √5/3, SQNR = 10·log10(9/5).
    // ⟨x, r⟩ = 0 + 4 + 8 = 12, ‖x‖² = 20 → cosine = 12 / (3·√20) = 2/√5.
    // max |e| = 2, mean |e| = 1.
    let a = accuracy(&[1.0, -2.0, 2.0], &[0.0, -2.0, 4.0]);
    assert!((a.rel_fro_error - 5f64.sqrt() / 3.0).abs() < 1e-15);
    assert!((a.sqnr_db - 10.0 * 1.8f64.log10()).abs() < 1e-12);
    assert!((a.cosine - 2.0 / 5f64.sqrt()).abs() < 1e-15);
    assert_eq!(a.max_abs_error, 2.0);
    assert_eq!(a.mean_abs_error, 1.0);
}

#[test]
fn exact_and_degenerate_cases() {
    let a = accuracy(&[1.0, -2.0], &[1.0, -2.0]);
    assert_eq!(
        (a.rel_fro_error, a.sqnr_db, a.cosine),
        (0.0, f64::INFINITY, 1.0)
    );
    assert_eq!((a.max_abs_error, a.mean_abs_error), (0.0, 0.0));
    // Zero reference, exact: still exact.
    let a = accuracy(&[0.0, 0.0], &[0.0, 0.0]);
    assert_eq!(
        (a.rel_fro_error, a.sqnr_db, a.cosine),
        (0.0, f64::INFINITY, 1.0)
    );
    // Zero reference, non-zero result: infinitely wrong, no common direction.
    let a = accuracy(&[0.0, 0.0], &[0.0, 3.0]);
    assert_eq!(
        (a.rel_fro_error, a.sqnr_db, a.cosine),
        (f64::INFINITY, f64::NEG_INFINITY, 0.0)
    );
    assert_eq!((a.max_abs_error, a.mean_abs_error), (3.0, 1.5));
    // Zero result, non-zero reference: relative error 1, SQNR 0 dB, cosine 0.
    let a = accuracy(&[2.0, 0.0], &[0.0, 0.0]);
    assert_eq!((a.rel_fro_error, a.sqnr_db, a.cosine), (1.0, 0.0, 0.0));
    // Opposite sign: cosine −1, relative error 2.
    let a = accuracy(&[1.0, 2.0], &[-1.0, -2.0]);
    assert_eq!((a.rel_fro_error, a.cosine), (2.0, -1.0));
    // Empty.
    let a = accuracy(&[], &[]);
    assert_eq!(
        (a.rel_fro_error, a.sqnr_db, a.cosine, a.mean_abs_error),
        (0.0, f64::INFINITY, 1.0, 0.0)
    );
    // NaN stays visible.
    let a = accuracy(&[1.0, 2.0], &[f64::NAN, 2.0]);
    assert!(a.max_abs_error.is_nan() && a.mean_abs_error.is_nan() && a.sqnr_db.is_nan());
}

#[test]
#[should_panic(expected = "lengths differ")]
fn length_mismatch_panics() {
    accuracy(&[1.0], &[1.0, 2.0]);
}

#[test]
fn compensated_sum_recovers_lost_bits() {
    // 1 + 1e-16 · 10 000: a plain f64 sum leaves 1.0 (each 1e-16 is below
    // half an ulp of 1); the compensated sum keeps 1e-12.
    let terms = std::iter::once(1.0).chain(std::iter::repeat_n(1e-16, 10_000));
    let plain: f64 = terms.clone().sum();
    assert_eq!(plain, 1.0);
    // Within one ulp of 1 + 1e-12 (ulp(1) = 2^-52).
    assert!((sum(terms) - (1.0 + 1e-12)).abs() <= f64::EPSILON);
    // Neumaier's case Kahan misses: 1 + 1e100 + 1 − 1e100 = 2.
    let mut s = Neumaier::new();
    for x in [1.0, 1e100, 1.0, -1e100] {
        s.add(x);
    }
    assert_eq!(s.total(), 2.0);
}

#[test]
fn weight_error_by_hand() {
    // w = (1, 2, −2, 0), wq = (1, 1.5, −2, 0.5): e² = (0, .25, 0, .25).
    // MSE = 0.5 / 4 = 0.125; SQNR = 10·log10(9 / 0.5) = 10·log10(18).
    let (mse, sqnr) = weight_error(&[1.0, 2.0, -2.0, 0.0], &[1.0, 1.5, -2.0, 0.5]);
    assert_eq!(mse, 0.125);
    assert!((sqnr - 10.0 * 18f64.log10()).abs() < 1e-12);
    assert_eq!(
        weight_error(&[1.0, -3.0], &[1.0, -3.0]),
        (0.0, f64::INFINITY)
    );
    assert_eq!(weight_error(&[0.0], &[0.0]), (0.0, f64::INFINITY));
    assert_eq!(weight_error(&[], &[]), (0.0, f64::INFINITY));
}
