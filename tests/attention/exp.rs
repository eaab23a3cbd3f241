//! The shared softmax exponential against f64 `exp`.

use bitsim::arith::exp::{
    exp2_f32, exp_f32, ulp_error, ulp_error2, EXP2_MAX, EXP2_MIN, EXP_MAX, EXP_MIN,
};

/// The stated worst error (module docs of `arith::exp`).
const MAX_ULP: f64 = 2.0;

#[test]
fn error_is_within_the_stated_bound_over_a_dense_sweep() {
    // Every 61st f32 bit pattern in [EXP_MIN, EXP_MAX): ~35 M values of
    // both signs, every binade.
    let mut worst = (0.0f64, 0.0f32);
    let mut count = 0u64;
    for bits in (0u32..=u32::MAX).step_by(61) {
        let x = f32::from_bits(bits);
        if !(EXP_MIN..EXP_MAX).contains(&x) {
            continue;
        }
        count += 1;
        let e = ulp_error(x);
        if e > worst.0 {
            worst = (e, x);
        }
    }
    assert!(count > 30_000_000, "sweep covered {count} values");
    assert!(
        worst.0 <= MAX_ULP,
        "exp_f32 error {} ulp at {:e} exceeds the stated {MAX_ULP}",
        worst.0,
        worst.1
    );
}

#[test]
fn special_values() {
    assert_eq!(exp_f32(0.0), 1.0);
    assert_eq!(exp_f32(f32::NEG_INFINITY).to_bits(), 0);
    assert_eq!(exp_f32(-100.0).to_bits(), 0);
    assert_eq!(exp_f32(EXP_MAX), f32::INFINITY);
    assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
    assert!(exp_f32(f32::NAN).is_nan());
    // Largest finite result and the smallest normal one.
    assert!(exp_f32(88.72283).is_finite());
    assert!(exp_f32(EXP_MIN) >= f32::MIN_POSITIVE * 0.99);
    // Powers of two through exp2 are close to exact.
    for k in -20..=20 {
        let want = 2f32.powi(k);
        assert_eq!(exp2_f32(k as f32), want, "2^{k}");
    }
}

#[test]
fn exp2_error_is_within_the_stated_bound_over_a_dense_sweep() {
    let mut worst = (0.0f64, 0.0f32);
    for bits in (0u32..=u32::MAX).step_by(61) {
        let x = f32::from_bits(bits);
        if (EXP2_MIN..EXP2_MAX).contains(&x) {
            let e = ulp_error2(x);
            if e > worst.0 {
                worst = (e, x);
            }
        }
    }
    assert!(
        worst.0 <= MAX_ULP,
        "exp2_f32 error {} ulp at {:e}",
        worst.0,
        worst.1
    );
    assert_eq!(exp2_f32(-127.0), 0.0);
    assert_eq!(exp2_f32(128.0), f32::INFINITY);
}
