//! f64 → fp16 rounding to nearest, ties to even, in one step.
//!
//! Why not `half::f16::from_f64`: on x86 CPUs with F16C it narrows to f32
//! first and then to fp16 — two roundings, which differ from one when the
//! first lands on an fp16 midpoint (1 + 2⁻¹¹ + 2⁻⁴⁰ becomes 1, not
//! 1 + 2⁻¹⁰) — and its portable fallback drops the low 32 mantissa bits;
//! so its results would depend on the CPU. The FP16 accumulators of the
//! attention variants need the single rounding their hardware performs.

/// `x` rounded once to the nearest fp16 value (ties to even), as f32;
/// beyond the largest finite fp16 value's rounding range, ±inf; NaN stays NaN.
pub fn fp16_rne(x: f64) -> f32 {
    if x.is_nan() {
        return f32::NAN;
    }
    let a = x.abs();
    // 65520 = 65504 + half an ulp: ties round to even (65536), i.e. overflow.
    let r = if a >= 65520.0 {
        f64::INFINITY
    } else {
        // Quantum: 2^(e − 10) for normal results (e = ⌊log2 a⌋ ≥ −14),
        // 2^−24 for subnormal ones; dividing by it is exact.
        let e = if a < 2f64.powi(-14) {
            -14
        } else {
            ((a.to_bits() >> 52) as i32) - 1023
        };
        let q = 2f64.powi(e - 10);
        (a / q).round_ties_even() * q
    };
    (r as f32).copysign(x as f32)
}
