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
