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

/// The per-format pieces of the eight-lane loop in [`drive`]: everything
/// but the loop, the shared f32 operation and the scalar fallback.
///
/// Every method is `#[inline(always)]` so that, monomorphised inside a
/// `#[target_feature]` entry point, the whole loop compiles as one function
/// with that entry point's features (a call across the feature boundary
/// would not inline and would cost a call per vector).
trait Format: Sized {
    /// The eight result codes, as the format's rounding leaves them.
    type Codes: Copy;

    /// The format's constants, built once per call rather than per vector.
    unsafe fn new() -> Self;

    /// Eight codes from each of `a` and `b` as exact f32s (a pair, so a
    /// format can convert both operands with shared instructions).
    unsafe fn load(&self, a: *const u32, b: *const u32) -> (__m256, __m256);

    /// The f32 result `r` rounded to eight codes.
    unsafe fn round(&self, r: __m256) -> Self::Codes;

    /// Whether any lane of `OP`'s result `r`, rounded to `h`, is one the
    /// vector path cannot give exactly (see the module notes).
    unsafe fn needs_scalar<const OP: u8>(&self, r: __m256, h: Self::Codes) -> bool;

    /// Stores the eight codes `h` to `p`, one code per `u32`.
    unsafe fn store(&self, h: Self::Codes, p: *mut u32);
}

/// The loop shared by the formats: `out[i] = a[i] OP b[i]` eight lanes at a
/// time; `fallback(a, b, out, start)` computes a sub-slice starting at
/// element `start` with the unit's scalar loop (it is called for the tail and
/// for vectors with a lane that [`Format::needs_scalar`]).
///
/// # Safety
///
/// The CPU must have the features `F`'s intrinsics use, and the caller must
/// enable them (this is inlined into the caller). The slices must have equal
/// lengths.
#[inline(always)]
unsafe fn drive<F: Format, const OP: u8>(
    a: &[u32],
    b: &[u32],
    out: &mut [u32],
    mut fallback: impl FnMut(&[u32], &[u32], &mut [u32], usize),
) {
    debug_assert!(a.len() == b.len() && a.len() == out.len());
    let f = F::new();
    let n = a.len() / LANES * LANES;
    let mut i = 0;
    while i < n {
        let (x, y) = f.load(a.as_ptr().add(i), b.as_ptr().add(i));
        let r = op::<OP>(x, y);
        let h = f.round(r);
        if !f.needs_scalar::<OP>(r, h) {
            f.store(h, out.as_mut_ptr().add(i));
        } else {
            let r = i..i + LANES;
            fallback(&a[r.clone()], &b[r.clone()], &mut out[r], i);
        }
        i += LANES;
    }
    fallback(&a[n..], &b[n..], &mut out[n..], n);
}

/// fp16 through F16C's exact conversions.
struct Fp16 {
    /// Keeps a code's 16 bits.
    low16: __m256i,
    /// fp16's exponent field.
    exp: __m128i,
}

impl Format for Fp16 {
    type Codes = __m128i;

    #[inline(always)]
    unsafe fn new() -> Self {
        Self {
            low16: _mm256_set1_epi32(0xffff),
            exp: _mm_set1_epi16(0x7c00),
        }
    }

    #[inline(always)]
    unsafe fn load(&self, a: *const u32, b: *const u32) -> (__m256, __m256) {
        // Bits above the code's width are ignored, as the unit ignores them.
        let x = _mm256_and_si256(_mm256_loadu_si256(a.cast()), self.low16);
        let y = _mm256_and_si256(_mm256_loadu_si256(b.cast()), self.low16);
        // Packing gives x0..3 y0..3 x4..7 y4..7 (16-bit); reorder to x0..7 y0..7.
        let xy = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packus_epi32(x, y));
        (
            _mm256_cvtph_ps(_mm256_castsi256_si128(xy)),
            _mm256_cvtph_ps(_mm256_extracti128_si256::<1>(xy)),
        )
    }

    #[inline(always)]
    unsafe fn round(&self, r: __m256) -> __m128i {
        _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(r)
    }

    #[inline(always)]
    unsafe fn needs_scalar<const OP: u8>(&self, _r: __m256, h: __m128i) -> bool {
        let special = _mm_cmpeq_epi16(_mm_and_si128(h, self.exp), self.exp);
        _mm_testz_si128(special, special) == 0
    }

    #[inline(always)]
    unsafe fn store(&self, h: __m128i, p: *mut u32) {
        _mm256_storeu_si256(p.cast(), _mm256_cvtepu16_epi32(h));
    }
}

/// bf16 as the top half of an f32, rounded back with integer arithmetic.
struct Bf16 {
    one: __m256i,
    /// Just under half a bf16 unit in the last place, in f32 bits.
    half_less: __m256i,
    /// f32's exponent field.
    exp32: __m256i,
    /// bf16's exponent field.
    exp16: __m256i,
    /// Clears the f32 sign.
    abs: __m256i,
    /// The smallest normal f32.
    min_normal: __m256i,
    zero: __m256i,
}

impl Format for Bf16 {
    type Codes = __m256i;

    #[inline(always)]
    unsafe fn new() -> Self {
        Self {
            one: _mm256_set1_epi32(1),
            half_less: _mm256_set1_epi32(0x7fff),
            exp32: _mm256_set1_epi32(0x7f80_0000),
            exp16: _mm256_set1_epi32(0x7f80),
            abs: _mm256_set1_epi32(0x7fff_ffff),
            min_normal: _mm256_set1_epi32(0x0080_0000),
            zero: _mm256_setzero_si256(),
        }
    }

    #[inline(always)]
    unsafe fn load(&self, a: *const u32, b: *const u32) -> (__m256, __m256) {
        // A bf16 code is the top half of its f32; the shift drops bits above the width.
        let x = _mm256_slli_epi32::<16>(_mm256_loadu_si256(a.cast()));
        let y = _mm256_slli_epi32::<16>(_mm256_loadu_si256(b.cast()));
        (_mm256_castsi256_ps(x), _mm256_castsi256_ps(y))
    }

    #[inline(always)]
    unsafe fn round(&self, r: __m256) -> __m256i {
        // Round the f32 bits to their top half, ties to even; a carry walks into
        // the exponent exactly as rounding up to the next binade (or to inf) does.
        let r = _mm256_castps_si256(r);
        let lsb = _mm256_and_si256(_mm256_srli_epi32::<16>(r), self.one);
        _mm256_srli_epi32::<16>(_mm256_add_epi32(r, _mm256_add_epi32(self.half_less, lsb)))
    }

    #[inline(always)]
    unsafe fn needs_scalar<const OP: u8>(&self, r: __m256, h: __m256i) -> bool {
        let r = _mm256_castps_si256(r);
        let mut special = _mm256_or_si256(
            _mm256_cmpeq_epi32(_mm256_and_si256(r, self.exp32), self.exp32),
            _mm256_cmpeq_epi32(_mm256_and_si256(h, self.exp16), self.exp16),
        );
        if OP == MUL {
            // A product among f32's subnormals was rounded by the multiply.
            let mag = _mm256_and_si256(r, self.abs);
            let sub = _mm256_andnot_si256(
                _mm256_cmpeq_epi32(mag, self.zero),
                _mm256_cmpgt_epi32(self.min_normal, mag),
            );
            special = _mm256_or_si256(special, sub);
        }
        _mm256_testz_si256(special, special) == 0
    }

    #[inline(always)]
    unsafe fn store(&self, h: __m256i, p: *mut u32) {
        _mm256_storeu_si256(p.cast(), h);
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
    fallback: impl FnMut(&[u32], &[u32], &mut [u32], usize),
) {
    drive::<Fp16, OP>(a, b, out, fallback)
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
    fallback: impl FnMut(&[u32], &[u32], &mut [u32], usize),
) {
    drive::<Bf16, OP>(a, b, out, fallback)
}
