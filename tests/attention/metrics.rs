//! KL and total variation on hand cases.

use bitsim::metrics::probs::{prob_error, row_kl_tv};

#[test]
fn kl_and_tv_of_hand_rows() {
    // P = (1/2, 1/2), Q = (3/4, 1/4): KL = ½ ln(4/3), TV = 1/4.
    let (kl, tv) = row_kl_tv(&[0.0, 0.0], &[3f64.ln(), 0.0]);
    assert!((kl - 0.5 * (4.0f64 / 3.0).ln()).abs() < 1e-15, "{kl}");
    assert!((tv - 0.25).abs() < 1e-15, "{tv}");
    // Identical rows (shifted scores give the same softmax): 0.
    let (kl, tv) = row_kl_tv(&[1.0, 2.0, 3.0], &[11.0, 12.0, 13.0]);
    assert!(kl.abs() < 1e-15 && tv.abs() < 1e-15, "{kl} {tv}");
    // Masked pairs in both: ignored.
    let (kl, tv) = row_kl_tv(&[0.0, f64::NEG_INFINITY], &[5.0, f64::NEG_INFINITY]);
    assert_eq!((kl, tv), (0.0, 0.0));
    // Zero probability where the reference has mass: KL infinite, TV 1/2.
    let (kl, tv) = row_kl_tv(&[0.0, 0.0], &[0.0, f64::NEG_INFINITY]);
    assert!(kl.is_infinite());
    assert!((tv - 0.5).abs() < 1e-15);
}

#[test]
fn mean_and_worst_rows() {
    let r = [0.0, 0.0, 0.0, 0.0];
    let x = [3f64.ln(), 0.0, 0.0, 0.0];
    let e = prob_error(&r, &x, 2);
    assert_eq!(e.kl_rows.len(), 2);
    assert_eq!(e.kl_rows[1], 0.0);
    assert!((e.kl_max - 0.5 * (4.0f64 / 3.0).ln()).abs() < 1e-15);
    assert!((e.kl_mean - 0.25 * (4.0f64 / 3.0).ln()).abs() < 1e-15);
    assert!((e.tv_mean - 0.125).abs() < 1e-15 && (e.tv_max - 0.25).abs() < 1e-15);
}

#[test]
fn mass_recall_of_hand_rows() {
    use bitsim::metrics::attention::mass_recall;
    // Row 0: p ∝ (1, 1, 2) (scores 0, 0, ln 2); covering keys 0 and 2
    // recalls 3/4. Row 1: masked key 2, p = (1/2, 1/2); covering key 1
    // recalls 1/2. Row 2: every key masked: recall 1 by definition.
    let ninf = f64::NEG_INFINITY;
    let s = [0.0, 0.0, 2f64.ln(), 5.0, 5.0, ninf, ninf, ninf, ninf];
    let c = [true, false, true, false, true, false, false, false, false];
    let r = mass_recall(&s, &c, 3);
    assert!((r.rows[0] - 0.75).abs() < 1e-15, "{:?}", r.rows);
    assert!((r.rows[1] - 0.5).abs() < 1e-15);
    assert_eq!(r.rows[2], 1.0);
    assert!((r.mean - 0.75).abs() < 1e-15);
    assert!((r.min - 0.5).abs() < 1e-15);
    // Covering everything visible: 1 exactly; nothing: 0.
    let all = mass_recall(&s, &[true; 9], 3);
    assert_eq!(all.rows, vec![1.0, 1.0, 1.0]);
    let none = mass_recall(&s, &[false; 9], 3);
    assert_eq!(none.rows, vec![0.0, 0.0, 1.0]);
}

#[test]
fn spectral_norm_and_error_of_hand_matrices() {
    use bitsim::metrics::attention::{spectral_norm, spectral_rel_error};
    // diag(3, 1): ‖·‖₂ = 3. The rank-one u·vᵀ with u = (1, 2), v = (2, 2):
    // ‖u‖‖v‖ = √5·√8 = √40.
    assert!((spectral_norm(&[3.0, 0.0, 0.0, 1.0], 2, 1) - 3.0).abs() < 1e-12);
    assert!((spectral_norm(&[2.0, 2.0, 4.0, 4.0], 2, 1) - 40f64.sqrt()).abs() < 1e-12);
    // Not the Frobenius norm: diag(3, 4) has ‖·‖₂ = 4 (Frobenius 5).
    assert!((spectral_norm(&[3.0, 0.0, 0.0, 4.0], 2, 7) - 4.0).abs() < 1e-12);
    // Two heads of 2×2: head 0 R = diag(3, 1), O = R + diag(0, 0.6) → 0.2;
    // head 1 R = diag(2, 2), O = R + [[0, 1], [0, 0]] → 1/2. Worst: 1/2.
    let r = [3.0, 0.0, 0.0, 1.0, 2.0, 0.0, 0.0, 2.0];
    let o = [3.0, 0.0, 0.0, 1.6, 2.0, 1.0, 0.0, 2.0];
    let e = spectral_rel_error(&r, &o, 2, 2, 3);
    assert!((e - 0.5).abs() < 1e-12, "{e}");
    assert!((spectral_rel_error(&r[..4], &o[..4], 1, 2, 3) - 0.2).abs() < 1e-12);
    // Exact output: 0; zero reference with an error: +inf.
    assert_eq!(spectral_rel_error(&r, &r, 2, 2, 3), 0.0);
    assert!(spectral_rel_error(&[0.0; 4], &[1.0, 0.0, 0.0, 0.0], 1, 2, 3).is_infinite());
}
