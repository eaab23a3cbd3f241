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

/// The SIMD forms equal the scalar functions bit for bit: a dense sweep of
/// every f32 bit pattern class (both signs, all binades, the bounds, the
/// specials), eight lanes at a time.
#[cfg(target_arch = "x86_64")]
#[test]
fn simd_form_equals_the_scalar_function_bit_for_bit() {
    use bitsim::arith::exp::avx2::exp8;
    // SAFETY: `sweep` runs the form only after checking AVX2.
    sweep("exp8", |v| unsafe { exp8(v) }, exp_f32, [EXP_MIN, EXP_MAX]);
}

/// As above for the sixteen-lane AVX-512 form (the `vdpbf16ps` kernel's),
/// each vector of the sweep in both halves of the 512-bit register.
#[cfg(target_arch = "x86_64")]
#[test]
fn avx512_form_equals_the_scalar_function_bit_for_bit() {
    use bitsim::arith::exp::avx512::exp16;
    use std::arch::x86_64::*;
    if !std::arch::is_x86_feature_detected!("avx512f") {
        eprintln!("no AVX-512F on this CPU: the form cannot run here");
        return;
    }
    let run = |v: __m256, high: bool| -> __m256 {
        let mut buf = [1.0f32; 16];
        let mut out = [0.0f32; 16];
        let at = if high { 8 } else { 0 };
        // SAFETY: AVX-512F checked above; the buffers hold 16 floats.
        unsafe {
            _mm256_storeu_ps(buf.as_mut_ptr().add(at), v);
            _mm512_storeu_ps(out.as_mut_ptr(), exp16(_mm512_loadu_ps(buf.as_ptr())));
            _mm256_loadu_ps(out.as_ptr().add(at))
        }
    };
    sweep("exp16 low", |v| run(v, false), exp_f32, [EXP_MIN, EXP_MAX]);
    sweep("exp16 high", |v| run(v, true), exp_f32, [EXP_MIN, EXP_MAX]);
}

/// As above for the base-2 form SageAttention's kernels use.
#[cfg(target_arch = "x86_64")]
#[test]
fn simd_exp2_equals_the_scalar_function_bit_for_bit() {
    use bitsim::arith::exp::avx2::exp2_8;
    // SAFETY: `sweep` runs the form only after checking AVX2.
    sweep(
        "exp2_8",
        |v| unsafe { exp2_8(v) },
        exp2_f32,
        [EXP2_MIN, EXP2_MAX],
    );
}

#[cfg(target_arch = "x86_64")]
fn sweep(
    what: &str,
    simd: impl Fn(std::arch::x86_64::__m256) -> std::arch::x86_64::__m256,
    scalar: fn(f32) -> f32,
    bounds: [f32; 2],
) {
    use std::arch::x86_64::*;
    if !std::arch::is_x86_feature_detected!("avx2") {
        eprintln!("no AVX2 on this CPU: the SIMD form cannot run here");
        return;
    }
    let mut xs: Vec<f32> = (0u32..=u32::MAX).step_by(251).map(f32::from_bits).collect();
    for b in bounds {
        let bits = b.to_bits();
        xs.extend((bits - 4..=bits + 4).map(f32::from_bits));
    }
    // Integers and half-integers near the bounds (rint's ties).
    xs.extend((-260..=260).map(|i| i as f32 * 0.5));
    xs.extend([
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        -87.0,
        88.0,
    ]);
    xs.extend([
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
        1e-45,
        -1e-45,
        f32::MAX,
        f32::MIN,
    ]);
    while !xs.len().is_multiple_of(8) {
        xs.push(1.0);
    }
    let mut out = [0.0f32; 8];
    let mut checked = 0;
    for chunk in xs.chunks(8) {
        // SAFETY: AVX2 checked above; both buffers hold 8 floats.
        unsafe {
            let v = simd(_mm256_loadu_ps(chunk.as_ptr()));
            _mm256_storeu_ps(out.as_mut_ptr(), v);
        }
        for (x, got) in chunk.iter().zip(out) {
            let want = scalar(*x);
            if want.is_nan() {
                assert!(got.is_nan(), "{what}({x:e}) = {got:e}, want NaN");
            } else {
                assert_eq!(got.to_bits(), want.to_bits(), "{what}({x:e})");
            }
            checked += 1;
        }
    }
    assert!(checked > 17_000_000, "checked {checked}");
}
