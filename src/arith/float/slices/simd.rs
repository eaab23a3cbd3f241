//! AVX2 loops for fp16 (with F16C) and bf16 add, sub and mul under
//! round-to-nearest-even, eight elements at a time through f32.
//!
//! Why f32 gives the unit's bits: both operands convert to f32 exactly; a
//! product of two significands of at most 11 bits is exact in f32's 24, so
//! the product is rounded once (into the target format). A sum is rounded
//! twice (into f32, then into the target), which is innocuous for
//! round-to-nearest when f32's precision is at least 2p + 1 (Figueroa, "When
//! is double rounding innocuous?", 1995: p = 11 for fp16, 8 for bf16); a sum
//! landing among the target's subnormals is a multiple of its smallest
//! subnormal below the smallest normal, so exact in f32. Two cases would
//! break the argument and go to the caller's per-element loop instead:
//!
//! - any lane whose result code has the all-ones exponent: a NaN or
//!   infinite operand (NaN payloads and signs, the sign of inf − inf, are
//!   the unit's rules, not x86's) or an overflow (the unit's overflow policy
//!   may saturate or give NaN);
//! - bf16 products that are f32 subnormals (f32 has bf16's exponent range,
//!   so such a product was rounded by the multiply already). fp16 products
//!   and sums never reach f32's subnormals.
//!
//! The decision is one mask test per vector of eight; the fallback recomputes
//! those eight elements with the scalar loop, so every result is the unit's
//! own. The f32 operations round per MXCSR, which Rust leaves at
//! round-to-nearest-even with no flush-to-zero; the f32 → fp16 conversion
//! names its rounding mode in the instruction.

use std::arch::x86_64::*;

use super::{ADD, MUL, SUB};

/// Elements per vector.
const LANES: usize = 8;

/// The f32 operation `OP` on eight lanes.
#[inline(always)]
unsafe fn op<const OP: u8>(x: __m256, y: __m256) -> __m256 {
    match OP {
        ADD => _mm256_add_ps(x, y),
        SUB => _mm256_sub_ps(x, y),
        _ => {
            debug_assert_eq!(OP, MUL);
            _mm256_mul_ps(x, y)
        }
    }
}

/// `out[i] = a[i] OP b[i]` for fp16 codes under rne; `fallback(a, b, out,
/// start)` computes a sub-slice starting at element `start` with the unit's
/// scalar loop (it is called for the tail and for vectors with a special lane).
///
/// # Safety
///
/// The CPU must have AVX2 and F16C. The slices must have equal lengths.
#[target_feature(enable = "avx2,f16c")]
pub(super) unsafe fn fp16<const OP: u8>(
    a: &[u32],
    b: &[u32],
    out: &mut [u32],
    mut fallback: impl FnMut(&[u32], &[u32], &mut [u32], usize),
) {
    debug_assert!(a.len() == b.len() && a.len() == out.len());
    let n = a.len() / LANES * LANES;
    let low16 = _mm256_set1_epi32(0xffff);
    let exp = _mm_set1_epi16(0x7c00);
    let mut i = 0;
    while i < n {
        // Bits above the code's width are ignored, as the unit ignores them.
        let x = _mm256_and_si256(_mm256_loadu_si256(a.as_ptr().add(i).cast()), low16);
        let y = _mm256_and_si256(_mm256_loadu_si256(b.as_ptr().add(i).cast()), low16);
        // Packing gives x0..3 y0..3 x4..7 y4..7 (16-bit); reorder to x0..7 y0..7.
        let xy = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packus_epi32(x, y));
        let fx = _mm256_cvtph_ps(_mm256_castsi256_si128(xy));
        let fy = _mm256_cvtph_ps(_mm256_extracti128_si256::<1>(xy));
        let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(op::<OP>(fx, fy));
        let special = _mm_cmpeq_epi16(_mm_and_si128(h, exp), exp);
        if _mm_testz_si128(special, special) != 0 {
            _mm256_storeu_si256(out.as_mut_ptr().add(i).cast(), _mm256_cvtepu16_epi32(h));
        } else {
            let r = i..i + LANES;
            fallback(&a[r.clone()], &b[r.clone()], &mut out[r], i);
        }
        i += LANES;
    }
    fallback(&a[n..], &b[n..], &mut out[n..], n);
}

/// `out[i] = a[i] OP b[i]` for bf16 codes under rne; `fallback` as for [`fp16`].
///
/// # Safety
///
/// The CPU must have AVX2. The slices must have equal lengths.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn bf16<const OP: u8>(
    a: &[u32],
    b: &[u32],
    out: &mut [u32],
    mut fallback: impl FnMut(&[u32], &[u32], &mut [u32], usize),
) {
    debug_assert!(a.len() == b.len() && a.len() == out.len());
    let n = a.len() / LANES * LANES;
    let one = _mm256_set1_epi32(1);
    let half_less = _mm256_set1_epi32(0x7fff);
    let exp32 = _mm256_set1_epi32(0x7f80_0000);
    let exp16 = _mm256_set1_epi32(0x7f80);
    let abs = _mm256_set1_epi32(0x7fff_ffff);
    let min_normal = _mm256_set1_epi32(0x0080_0000);
    let zero = _mm256_setzero_si256();
    let mut i = 0;
    while i < n {
        // A bf16 code is the top half of its f32; the shift drops bits above the width.
        let x = _mm256_slli_epi32::<16>(_mm256_loadu_si256(a.as_ptr().add(i).cast()));
        let y = _mm256_slli_epi32::<16>(_mm256_loadu_si256(b.as_ptr().add(i).cast()));
        let r = _mm256_castps_si256(op::<OP>(_mm256_castsi256_ps(x), _mm256_castsi256_ps(y)));
        // Round the f32 bits to their top half, ties to even; a carry walks into
        // the exponent exactly as rounding up to the next binade (or to inf) does.
        let lsb = _mm256_and_si256(_mm256_srli_epi32::<16>(r), one);
        let h = _mm256_srli_epi32::<16>(_mm256_add_epi32(r, _mm256_add_epi32(half_less, lsb)));
        let mut special = _mm256_or_si256(
            _mm256_cmpeq_epi32(_mm256_and_si256(r, exp32), exp32),
            _mm256_cmpeq_epi32(_mm256_and_si256(h, exp16), exp16),
        );
        if OP == MUL {
            // A product among f32's subnormals was rounded by the multiply.
            let mag = _mm256_and_si256(r, abs);
            let sub = _mm256_andnot_si256(
                _mm256_cmpeq_epi32(mag, zero),
                _mm256_cmpgt_epi32(min_normal, mag),
            );
            special = _mm256_or_si256(special, sub);
        }
        if _mm256_testz_si256(special, special) != 0 {
            _mm256_storeu_si256(out.as_mut_ptr().add(i).cast(), h);
        } else {
            let r = i..i + LANES;
            fallback(&a[r.clone()], &b[r.clone()], &mut out[r], i);
        }
        i += LANES;
    }
    fallback(&a[n..], &b[n..], &mut out[n..], n);
}
