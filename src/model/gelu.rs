//! The exact (erf) GELU of the f32 forward, vectorised.
//!
//! `gelu(x) = (0.5·x)·(1 + erf(x·(1/√2)))` with `erf` a rational
//! approximation in f32 ([`erf_f32`]): the argument clamped to [−4, 4]
//! (beyond it erf is ±1 in f32), an odd degree-13 numerator over an even
//! degree-8 denominator in x², each a Horner chain of fused multiply-adds,
//! one division, the quotient clamped to [−1, 1]. The coefficients are the
//! single-precision erf of Eigen and XLA (`generic_fast_erf_float`).
//!
//! Its worst error against f64 `erf`, measured by `tests/model/gelu.rs` on
//! every 61st f32 in [0, 4.5] and a grid of step 1e-5 (erf is odd here too),
//! is 3.3e-7 absolute (at x ≈ 3.94): a few f32 ulps near ±1, where
//! `libm::erff` (the scalar erf PyTorch's CPU GELU matches) is within one.
//! In the GELU that is at most `0.5·|x|·3.3e-7`, far inside the f32
//! forward's agreement with the f64 twin that the model tests check.
//!
//! Every step is a correctly rounded IEEE operation (multiply, add, fused
//! multiply-add, divide, min/max), so the AVX2 lanes ([`gelu_in_place`] at
//! that level) and the scalar twin ([`gelu_f32`], `f32::mul_add` for the
//! fused steps) give the same bits; the model tests compare them.

use crate::isa::{self, IsaLevel};

/// Numerator coefficients (odd powers 1, 3, …, 13 of x).
const ALPHA: [f32; 7] = [
    -0.016_096_033,
    -0.002_954_6,
    -0.000_734_990_64,
    -5.692_506_2e-5,
    -2.101_024e-6,
    2.770_681_5e-8,
    -2.726_142_4e-10,
];
/// Denominator coefficients (even powers 0, 2, …, 8 of x).
const BETA: [f32; 5] = [
    -0.014_264_739,
    -0.007_373_329_3,
    -0.001_682_827,
    -0.000_213_374_05,
    -1.456_607_15e-5,
];

/// `erf(x)` in f32 (see the module docs): the scalar twin of the AVX2 lanes.
/// NaN gives NaN; ±inf gives ±1.
pub fn erf_f32(x: f32) -> f32 {
    let c = x.clamp(-4.0, 4.0);
    let x2 = c * c;
    let mut p = ALPHA[6];
    for &a in ALPHA[..6].iter().rev() {
        p = x2.mul_add(p, a);
    }
    p *= c;
    let mut q = BETA[4];
    for &b in BETA[..4].iter().rev() {
        q = x2.mul_add(q, b);
    }
    (p / q).clamp(-1.0, 1.0)
}

/// Exact GELU of one value: `(0.5·x)·(1 + erf(x·(1/√2)))` with [`erf_f32`].
pub fn gelu_f32(x: f32) -> f32 {
    (0.5 * x) * (1.0 + erf_f32(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// [`gelu_f32`] of every value in place, eight lanes at a time at the
/// effective ISA level (AVX2 and above), the scalar twin elsewhere and for
/// the tail.
pub fn gelu_in_place(v: &mut [f32]) {
    gelu_in_place_at(v, isa::effective());
}

/// [`gelu_in_place`] at `level` (tests compare the levels; same bits).
pub fn gelu_in_place_at(v: &mut [f32], level: IsaLevel) {
    let done = isa::dispatch!(level,
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2 and FMA.
        avx2 => unsafe { avx2::gelu(v) },
        scalar => 0,
    );
    for x in &mut v[done..] {
        *x = gelu_f32(*x);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{ALPHA, BETA};
    use std::arch::x86_64::*;

    /// GELU of the leading multiple of 8 values; returns how many it did.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn gelu(v: &mut [f32]) -> usize {
        let n = v.len() / 8 * 8;
        let p = v.as_mut_ptr();
        let (half, one) = (_mm256_set1_ps(0.5), _mm256_set1_ps(1.0));
        let rs2 = _mm256_set1_ps(std::f32::consts::FRAC_1_SQRT_2);
        let mut i = 0;
        while i < n {
            // SAFETY: i + 8 ≤ n ≤ v.len().
            let x = _mm256_loadu_ps(p.add(i));
            let e = erf(_mm256_mul_ps(x, rs2));
            let y = _mm256_mul_ps(_mm256_mul_ps(half, x), _mm256_add_ps(one, e));
            _mm256_storeu_ps(p.add(i), y);
            i += 8;
        }
        n
    }

    /// `min(hi, max(lo, x))` as `f32::clamp` (NaN stays NaN: `vminps` and
    /// `vmaxps` return their second operand when either is NaN).
    #[inline(always)]
    unsafe fn clamp(x: __m256, lo: f32, hi: f32) -> __m256 {
        _mm256_max_ps(_mm256_set1_ps(lo), _mm256_min_ps(_mm256_set1_ps(hi), x))
    }

    /// [`super::erf_f32`] on eight lanes, step for step.
    #[inline(always)]
    unsafe fn erf(x: __m256) -> __m256 {
        let c = clamp(x, -4.0, 4.0);
        let x2 = _mm256_mul_ps(c, c);
        let mut p = _mm256_set1_ps(ALPHA[6]);
        for &a in ALPHA[..6].iter().rev() {
            p = _mm256_fmadd_ps(x2, p, _mm256_set1_ps(a));
        }
        p = _mm256_mul_ps(p, c);
        let mut q = _mm256_set1_ps(BETA[4]);
        for &b in BETA[..4].iter().rev() {
            q = _mm256_fmadd_ps(x2, q, _mm256_set1_ps(b));
        }
        clamp(_mm256_div_ps(p, q), -1.0, 1.0)
    }
}
