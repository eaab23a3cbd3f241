//! OCP MXFP4 weights × Q8_0 activations (`ggml_vec_dot_mxfp4_q8_0`):
//! `sumf = sumf + (d_a · 2^(X−1)) · f32(isum)`, with the E2M1 codes as the
//! integers `2·e2m1` (ggml's `kvalues_mxfp4`) and E8M0 code X; X = 0xFF is
//! NaN here (OCP), where ggml decodes 2^127.
//!
//! Packing: the E2M1 codes in [`super::nibble`]'s layout (128 bytes a
//! 32-block), then the E8M0 bytes (decoded with integer shifts): ggml's 17
//! bytes per 32.
//!
//! AVX2 step: nibbles to int8 `2·e2m1` in {0, ±1, ±2, ±3, ±4, ±6, ±8, ±12}
//! by a 16-entry `vpshufb` (the [`super::nibble::NibbleMul`] of the
//! shared nibble step), then Q8_0's `vpmaddubsw(|w|, sign(a, w))`, pairs ≤ 2 · 12 · 127 = 3048,
//! the block's 8 quads summed in int16 (≤ 24384), one `vpmaddwd`.
//!
//! AVX-512 VNNI step ([`super::nibble::nibble_dot512`]): nibbles through a
//! 16-entry `vpshufb` of `2·e2m1 + 128` (as unsigned bytes) into
//! `vpdpbusd`, the sums started at `−128 · Σ a`.

use super::act::Q8_0Act;
use super::nibble::{nibble, pack_nibbles};
#[cfg(target_arch = "x86_64")]
use super::nibble::{nibble_dot, NibbleMul};
use super::{Act, BlockFormat, Fold, VnniBlock, PANEL};
use crate::formats::ggml::QK;

/// `2 · e2m1(code)` as an integer: ggml's `kvalues_mxfp4`.
pub const E2M1_X2: [i8; 16] = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12];

/// [`E2M1_X2`] + 128 as unsigned bytes: the AVX-512 step's operand.
const E2M1_X2_128: [u8; 16] = {
    let mut t = [0u8; 16];
    let mut i = 0;
    while i < 16 {
        t[i] = (E2M1_X2[i] as i32 + 128) as u8;
        i += 1;
    }
    t
};

/// `2^(X − 128)` (half the E8M0 value, as ggml's `GGML_E8M0_TO_FP32_HALF`
/// folds the ½ of `2·e2m1` into the scale), exact in f32 (subnormal for
/// X < 2); NaN for X = 0xFF (OCP; ggml gives 2^127).
pub fn e8m0_half(x: u8) -> f32 {
    match x {
        0xFF => f32::NAN,
        0 | 1 => f32::from_bits(0x0020_0000 << x),
        _ => f32::from_bits((x as u32 - 1) << 23),
    }
}

/// MXFP4's [`NibbleMul`]: the fields through the `E2M1_X2` lookup (held
/// broadcast to both lanes) to signed int8 `w`, multiplied as
/// `vpmaddubsw(|w|, sign(a, w))` since `vpmaddubsw` takes one operand
/// unsigned.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy)]
struct E2m1Lut(std::arch::x86_64::__m256i);

#[cfg(target_arch = "x86_64")]
impl NibbleMul for E2m1Lut {
    /// `(|w|, w)`.
    type W = (std::arch::x86_64::__m256i, std::arch::x86_64::__m256i);

    #[inline(always)]
    unsafe fn decode(
        self,
        lo: std::arch::x86_64::__m256i,
        hi: std::arch::x86_64::__m256i,
    ) -> [Self::W; 2] {
        use std::arch::x86_64::*;
        let (wl, wh) = (
            _mm256_shuffle_epi8(self.0, lo),
            _mm256_shuffle_epi8(self.0, hi),
        );
        [
            (_mm256_sign_epi8(wl, wl), wl),
            (_mm256_sign_epi8(wh, wh), wh),
        ]
    }

    #[inline(always)]
    unsafe fn madd((aw, w): Self::W, a: std::arch::x86_64::__m256i) -> std::arch::x86_64::__m256i {
        use std::arch::x86_64::*;
        _mm256_maddubs_epi16(aw, _mm256_sign_epi8(a, w))
    }
}

/// The MXFP4 block format (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct Mxfp4;

impl BlockFormat for Mxfp4 {
    type Act = Q8_0Act;
    const BLOCK_BYTES: usize = PANEL * QK / 2;
    const FOLD: Fold = Fold::DaDwIsum;
    const SCALE_BYTES: usize = 1;

    fn pack_block(rows: &[&[i8]; PANEL], out: &mut [u8]) {
        pack_nibbles(rows, out, |c| c as u8 & 0x0F);
    }

    #[inline(always)]
    fn weight(blk: &[u8], lane: usize, e: usize) -> i32 {
        E2M1_X2[nibble(blk, lane, e) as usize] as i32
    }

    #[inline(always)]
    fn scale(bytes: &[u8]) -> f32 {
        e8m0_half(bytes[0])
    }

    #[cfg(target_arch = "x86_64")]
    type Consts = [std::arch::x86_64::__m256i; 3];

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn consts() -> Self::Consts {
        use std::arch::x86_64::*;
        let lut = _mm256_broadcastsi128_si256(_mm_loadu_si128(E2M1_X2.as_ptr() as *const __m128i));
        [_mm256_set1_epi16(1), _mm256_set1_epi8(0x0F), lut]
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn dot_avx2<const R: usize>(
        &[ones, m4, lut]: &Self::Consts,
        blk: *const u8,
        a: &[Act; R],
        b: usize,
    ) -> [std::arch::x86_64::__m256i; R] {
        nibble_dot(E2m1Lut(lut), ones, m4, blk, a, b)
    }

    const VNNI: bool = true;
    const VNNI_OFFSET: i32 = 128;

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn dot_avx512<const R: usize>(
        blk0: *const u8,
        blk1: *const u8,
        a: VnniBlock,
    ) -> [std::arch::x86_64::__m512i; R] {
        use std::arch::x86_64::*;
        let lut = _mm512_broadcast_i32x4(_mm_loadu_si128(E2M1_X2_128.as_ptr() as *const __m128i));
        super::nibble::nibble_dot512(Some(lut), blk0, blk1, a)
    }

    /// The 8 rows' E8M0 scales of block `b` as `2^(X − 128)` (NaN for
    /// 0xFF), bit for bit [`e8m0_half`].
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn scales_avx2(ws: &[u8], b: usize) -> std::arch::x86_64::__m256 {
        use std::arch::x86_64::*;
        debug_assert!((b + 1) * PANEL <= ws.len());
        let x = _mm256_cvtepu8_epi32(_mm_loadl_epi64(ws.as_ptr().add(b * PANEL) as *const __m128i));
        let one = _mm256_set1_epi32(1);
        let normal = _mm256_slli_epi32::<23>(_mm256_sub_epi32(x, one));
        // X = 0 → 0x0020_0000, X = 1 → 0x0040_0000 (subnormals).
        let small = _mm256_srlv_epi32(_mm256_set1_epi32(0x0040_0000), _mm256_sub_epi32(one, x));
        let is_small = _mm256_cmpgt_epi32(_mm256_set1_epi32(2), x);
        let r = _mm256_blendv_epi8(normal, small, is_small);
        let is_nan = _mm256_cmpeq_epi32(x, _mm256_set1_epi32(0xFF));
        _mm256_castsi256_ps(_mm256_blendv_epi8(
            r,
            _mm256_set1_epi32(0x7FC0_0000),
            is_nan,
        ))
    }
}
