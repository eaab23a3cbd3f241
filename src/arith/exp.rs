//! The softmax's exponential: one f32 `exp` shared by every attention
//! emulation and every native attention kernel, so the two agree bit for bit.
//!
//! # Definition (the order of every rounding is part of the result)
//!
//! Cephes `expf`'s range reduction and polynomial, written with separate f32
//! multiplies and adds only (no fused multiply-add), so a scalar loop and any
//! SIMD width compute the same bits:
//!
//! ```text
//! x ≥ 88.72284   → +inf            x < −87.33654 → +0 (results below 2^−126 flush)
//! x NaN          → NaN             x = −inf      → +0
//! n  = (x · log2e + 1.5·2^23) − 1.5·2^23      (round to nearest even: n = rint(x/ln2))
//! r  = (x − n · C1) − n · C2                  (C1 = 0.693359375 exact in 9 bits, C2 = −2.12194440e−4)
//! y  = (((((P0·r + P1)·r + P2)·r + P3)·r + P4)·r + P5)
//! e  = ((y · (r·r)) + r) + 1                  (≈ e^r on |r| ≤ ln2/2)
//! out = (e · 2^a) · 2^b,  a = ⌊n/2⌋, b = n − a  (both normal: n runs from −126 to 128)
//! ```
//!
//! `n · C1` is exact (|n| ≤ 128 takes 8 bits, C1 9), so the reduction loses
//! only C2's rounding. Worst error against f64 `exp` rounded to f32, measured
//! over every f32 in [−87.33654, 88.72284] (`tests/arith/exp.rs` checks the
//! bound over a dense sweep; `examples/exp_error` prints it): **2 ulp**
//! (relative error below 2.4e−7). Below `−87.33654` (≈ ln 2^−126) the
//! result is +0: softmax weights that small do not matter and flushing keeps
//! the SIMD path free of subnormal arithmetic.

/// Below this `exp` returns +0 (ln 2^−126, rounded to f32 upward).
pub const EXP_MIN: f32 = -87.336_54;
/// At and above this `exp` returns +inf (ln(f32::MAX) rounded up).
pub const EXP_MAX: f32 = 88.722_84;

const LOG2E: f32 = std::f32::consts::LOG2_E;
const MAGIC: f32 = 12_582_912.0; // 1.5 · 2^23
const C1: f32 = 0.693_359_4;
const C2: f32 = -2.121_944_4e-4;
const P0: f32 = 1.987_569_1e-4;
const P1: f32 = 1.398_199_9e-3;
const P2: f32 = 8.333_452e-3;
const P3: f32 = 4.166_579_6e-2;
const P4: f32 = 1.666_666_5e-1;
// Cephes writes 5.0000001e-1, which is 0.5 in f32.
const P5: f32 = 0.5;

/// e^x as defined in the module docs (the only exponential attention uses).
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    if x < EXP_MIN {
        return 0.0;
    }
    if x >= EXP_MAX {
        return f32::INFINITY;
    }
    exp_core(x)
}

/// The polynomial path for `x` in `[EXP_MIN, EXP_MAX)`; SIMD kernels run it
/// lane-wise and select the special cases after.
#[inline(always)]
pub fn exp_core(x: f32) -> f32 {
    let n = (x * LOG2E + MAGIC) - MAGIC;
    let r = (x - n * C1) - n * C2;
    poly_scale(r, n)
}

/// `e^r · 2^n` for |r| ≤ ln2/2 (a little more is harmless) and integral
/// `n` in [−126, 128]: the polynomial, then two exact power-of-two scalings.
#[inline(always)]
pub fn poly_scale(r: f32, n: f32) -> f32 {
    let y = ((((P0 * r + P1) * r + P2) * r + P3) * r + P4) * r + P5;
    let e = ((y * (r * r)) + r) + 1.0;
    // Split 2^n = 2^a · 2^b with a = ⌊n/2⌋, b = n − a, both normal f32;
    // the first scaling is exact, the second rounds only when the result
    // is subnormal.
    let n = n as i32;
    let a = n >> 1;
    let b = n - a;
    let pow2 = |k: i32| f32::from_bits(((k + 127) as u32) << 23);
    (e * pow2(a)) * pow2(b)
}

/// 2^x for SageAttention's base-2 softmax (its scores carry a log2 e
/// factor): `n = rint(x)`, `r = (x − n) · ln 2` (the subtraction is exact),
/// then [`poly_scale`]. Specials as [`exp_f32`] with bounds −126 and 128.
/// Worst error: see the module docs.
#[inline(always)]
pub fn exp2_f32(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    if x < EXP2_MIN {
        return 0.0;
    }
    if x >= EXP2_MAX {
        return f32::INFINITY;
    }
    exp2_core(x)
}

/// The polynomial path of [`exp2_f32`] for `x` in `[EXP2_MIN, EXP2_MAX)`.
#[inline(always)]
pub fn exp2_core(x: f32) -> f32 {
    let n = (x + MAGIC) - MAGIC;
    poly_scale((x - n) * std::f32::consts::LN_2, n)
}

/// Below this [`exp2_f32`] returns +0.
pub const EXP2_MIN: f32 = -126.0;
/// At and above this [`exp2_f32`] returns +inf.
pub const EXP2_MAX: f32 = 128.0;

/// The SIMD forms of [`exp_f32`] and [`exp2_f32`]: eight lanes, the same operations in the
/// same order (separate multiplies and adds, no FMA), so every lane equals
/// the scalar function of its input bit for bit (`tests/attention/exp.rs` checks a
/// dense sweep and the specials).
#[cfg(target_arch = "x86_64")]
pub mod avx2 {
    use super::{
        C1, C2, EXP2_MAX, EXP2_MIN, EXP_MAX, EXP_MIN, LOG2E, MAGIC, P0, P1, P2, P3, P4, P5,
    };
    use std::arch::x86_64::*;

    /// [`super::exp_f32`] of each lane.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub unsafe fn exp8(x: __m256) -> __m256 {
        let lo = _mm256_set1_ps(EXP_MIN);
        let hi = _mm256_set1_ps(EXP_MAX);
        // Out-of-range and NaN lanes run the core on 0 and are replaced below.
        let inside = _mm256_and_ps(
            _mm256_cmp_ps::<_CMP_GE_OQ>(x, lo),
            _mm256_cmp_ps::<_CMP_LT_OQ>(x, hi),
        );
        let xc = _mm256_and_ps(x, inside);
        let magic = _mm256_set1_ps(MAGIC);
        let n = _mm256_sub_ps(
            _mm256_add_ps(_mm256_mul_ps(xc, _mm256_set1_ps(LOG2E)), magic),
            magic,
        );
        let r = _mm256_sub_ps(
            _mm256_sub_ps(xc, _mm256_mul_ps(n, _mm256_set1_ps(C1))),
            _mm256_mul_ps(n, _mm256_set1_ps(C2)),
        );
        specials(x, poly_scale8(r, n), inside, hi)
    }

    /// [`super::exp2_f32`] of each lane (SageAttention's base-2 softmax).
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub unsafe fn exp2_8(x: __m256) -> __m256 {
        let lo = _mm256_set1_ps(EXP2_MIN);
        let hi = _mm256_set1_ps(EXP2_MAX);
        let inside = _mm256_and_ps(
            _mm256_cmp_ps::<_CMP_GE_OQ>(x, lo),
            _mm256_cmp_ps::<_CMP_LT_OQ>(x, hi),
        );
        let xc = _mm256_and_ps(x, inside);
        let magic = _mm256_set1_ps(MAGIC);
        let n = _mm256_sub_ps(_mm256_add_ps(xc, magic), magic);
        let r = _mm256_mul_ps(_mm256_sub_ps(xc, n), _mm256_set1_ps(std::f32::consts::LN_2));
        specials(x, poly_scale8(r, n), inside, hi)
    }

    /// `p = exp_f32(p − m)` in place: eight lanes at a time, the tail by
    /// the scalar function (the same bits). The softmax step of the
    /// attention kernels.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub unsafe fn exp_shifted(tile: &mut [f32], m: f32) {
        shifted::<false>(tile, m)
    }

    /// `p = exp2_f32(p − m)` in place, as [`exp_shifted`].
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub unsafe fn exp2_shifted(tile: &mut [f32], m: f32) {
        shifted::<true>(tile, m)
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn shifted<const BASE2: bool>(tile: &mut [f32], m: f32) {
        let n = tile.len();
        let mv = _mm256_set1_ps(m);
        let mut j = 0;
        while j + 8 <= n {
            // SAFETY: j + 8 ≤ n.
            unsafe {
                let p = tile.as_mut_ptr().add(j);
                let x = _mm256_sub_ps(_mm256_loadu_ps(p), mv);
                _mm256_storeu_ps(p, if BASE2 { exp2_8(x) } else { exp8(x) });
            }
            j += 8;
        }
        for p in tile[j..].iter_mut() {
            *p = if BASE2 {
                super::exp2_f32(*p - m)
            } else {
                super::exp_f32(*p - m)
            };
        }
    }

    /// [`super::poly_scale`] of each lane.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn poly_scale8(r: __m256, n: __m256) -> __m256 {
        let horner = |y: __m256, c: f32| _mm256_add_ps(_mm256_mul_ps(y, r), _mm256_set1_ps(c));
        let y = horner(_mm256_set1_ps(P0), P1);
        let y = horner(y, P2);
        let y = horner(y, P3);
        let y = horner(y, P4);
        let y = horner(y, P5);
        let e = _mm256_add_ps(
            _mm256_add_ps(_mm256_mul_ps(y, _mm256_mul_ps(r, r)), r),
            _mm256_set1_ps(1.0),
        );
        let ni = _mm256_cvtps_epi32(n);
        let a = _mm256_srai_epi32::<1>(ni);
        let b = _mm256_sub_epi32(ni, a);
        let bias = _mm256_set1_epi32(127);
        let pow2 =
            |k: __m256i| _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(k, bias)));
        _mm256_mul_ps(_mm256_mul_ps(e, pow2(a)), pow2(b))
    }

    /// The special lanes: `x ≥ hi` → +inf; outside `inside` (below the
    /// lower bound, −inf) → +0; NaN → x.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn specials(x: __m256, core: __m256, inside: __m256, hi: __m256) -> __m256 {
        let big = _mm256_cmp_ps::<_CMP_GE_OQ>(x, hi);
        let nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(x, x);
        let out = _mm256_and_ps(core, inside);
        let out = _mm256_blendv_ps(out, _mm256_set1_ps(f32::INFINITY), big);
        _mm256_blendv_ps(out, x, nan)
    }
}

/// The sixteen-lane form of [`exp_f32`] (AVX-512F): the operations of
/// [`avx2::exp8`] in the same order, so every lane equals the scalar
/// function bit for bit (`tests/attention/exp.rs` sweeps it as it sweeps
/// `exp8`).
#[cfg(target_arch = "x86_64")]
pub mod avx512 {
    use super::{C1, C2, EXP_MAX, EXP_MIN, LOG2E, MAGIC, P0, P1, P2, P3, P4, P5};
    use std::arch::x86_64::*;

    /// [`super::exp_f32`] of each lane.
    ///
    /// # Safety
    /// The CPU must support AVX-512F.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub unsafe fn exp16(x: __m512) -> __m512 {
        let hi = _mm512_set1_ps(EXP_MAX);
        // Out-of-range and NaN lanes run the core on +0 and are replaced below.
        let inside = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(x, _mm512_set1_ps(EXP_MIN))
            & _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, hi);
        let xc = _mm512_maskz_mov_ps(inside, x);
        let magic = _mm512_set1_ps(MAGIC);
        let n = _mm512_sub_ps(
            _mm512_add_ps(_mm512_mul_ps(xc, _mm512_set1_ps(LOG2E)), magic),
            magic,
        );
        let r = _mm512_sub_ps(
            _mm512_sub_ps(xc, _mm512_mul_ps(n, _mm512_set1_ps(C1))),
            _mm512_mul_ps(n, _mm512_set1_ps(C2)),
        );
        let horner = |y: __m512, c: f32| _mm512_add_ps(_mm512_mul_ps(y, r), _mm512_set1_ps(c));
        let y = horner(_mm512_set1_ps(P0), P1);
        let y = horner(y, P2);
        let y = horner(y, P3);
        let y = horner(y, P4);
        let y = horner(y, P5);
        let e = _mm512_add_ps(
            _mm512_add_ps(_mm512_mul_ps(y, _mm512_mul_ps(r, r)), r),
            _mm512_set1_ps(1.0),
        );
        let ni = _mm512_cvtps_epi32(n);
        let a = _mm512_srai_epi32::<1>(ni);
        let b = _mm512_sub_epi32(ni, a);
        let bias = _mm512_set1_epi32(127);
        let pow2 =
            |k: __m512i| _mm512_castsi512_ps(_mm512_slli_epi32::<23>(_mm512_add_epi32(k, bias)));
        let core = _mm512_mul_ps(_mm512_mul_ps(e, pow2(a)), pow2(b));
        // x ≥ hi → +inf; below the lower bound or −inf → +0; NaN → x.
        let big = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(x, hi);
        let nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(x, x);
        let out = _mm512_maskz_mov_ps(inside, core);
        let out = _mm512_mask_mov_ps(out, big, _mm512_set1_ps(f32::INFINITY));
        _mm512_mask_mov_ps(out, nan, x)
    }

    /// `p = exp_f32(p − m)` in place, sixteen lanes at a time (the tail
    /// masked: its lanes are neither read nor written).
    ///
    /// # Safety
    /// The CPU must support AVX-512F.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub unsafe fn exp_shifted(tile: &mut [f32], m: f32) {
        let mv = _mm512_set1_ps(m);
        for ch in tile.chunks_mut(16) {
            let k: __mmask16 = if ch.len() == 16 {
                0xffff
            } else {
                (1u16 << ch.len()) - 1
            };
            // SAFETY: the mask covers only `ch`'s elements.
            unsafe {
                let x = _mm512_sub_ps(_mm512_maskz_loadu_ps(k, ch.as_ptr()), mv);
                _mm512_mask_storeu_ps(ch.as_mut_ptr(), k, exp16(x));
            }
        }
    }
}

/// [`exp_f32`] of every element, in place.
pub fn exp_slice(xs: &mut [f32]) {
    for x in xs {
        *x = exp_f32(*x);
    }
}

/// The error of [`exp_f32`] at `x` in units in the last place of the
/// correctly rounded f32 result (f64 `exp` rounded to f32 stands for it).
pub fn ulp_error(x: f32) -> f64 {
    ulp_error_of(exp_f32(x), (x as f64).exp())
}

/// The error of [`exp2_f32`] at `x` in ulps (against f64 `exp2`).
pub fn ulp_error2(x: f32) -> f64 {
    ulp_error_of(exp2_f32(x), (x as f64).exp2())
}

fn ulp_error_of(got: f32, exact: f64) -> f64 {
    let rounded = exact as f32;
    let ulp = if rounded == 0.0 || !rounded.is_finite() {
        return 0.0;
    } else {
        let b = rounded.to_bits();
        (f32::from_bits(b + 1) - rounded) as f64
    };
    ((got as f64) - exact).abs() / ulp
}
