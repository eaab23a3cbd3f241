//! ggml Q4_0 weights × Q8_0 activations (`ggml_vec_dot_q4_0_q8_0`):
//! `sumf = sumf + (f32(isum) · d_w) · d_a`.
//!
//! Packing: per 32-block the unsigned fields `code + 8`, `[quad][8 rows][4
//! codes]`, quad `s` in the low nibble and quad `s + 4` in the high nibble
//! of the same byte (128 bytes), fp16 scales: ggml's 18 bytes per 32.
//! Padding rows hold field 8 (code 0).
//!
//! AVX2 step ([`super::nibble::nibble_dot`], shared with MXFP4):
//! `vpmaddubsw(f, a)` with the unsigned fields, pairs ≤ 3810,
//! the block's 8 quads summed in int16 (≤ 30480), one `vpmaddwd`, then
//! `Σ a·(f − 8) = Σ a·f − 8·Σ a` with each row's block sum of `a`.
//!
//! AVX-512 VNNI step ([`super::nibble::nibble_dot512`]): the fields as
//! `vpdpbusd`'s unsigned operand, the sums started at `−8 · Σ a`.

use super::act::Q8_0Act;
use super::nibble::{nibble, pack_nibbles};
#[cfg(target_arch = "x86_64")]
use super::nibble::{nibble_dot, NibbleMul};
use super::{Act, BlockFormat, Fold, VnniBlock, PANEL};
use crate::formats::ggml::QK;

/// The Q4_0 block format (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct Q4_0;

/// Q4_0's [`NibbleMul`]: the unsigned fields `code + 8` as they are,
/// the offset corrected after the block's sum.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy)]
struct Fields;

#[cfg(target_arch = "x86_64")]
impl NibbleMul for Fields {
    type W = std::arch::x86_64::__m256i;

    #[inline(always)]
    unsafe fn decode(self, lo: Self::W, hi: Self::W) -> [Self::W; 2] {
        [lo, hi]
    }

    #[inline(always)]
    unsafe fn madd(w: Self::W, a: Self::W) -> Self::W {
        std::arch::x86_64::_mm256_maddubs_epi16(w, a)
    }
}

impl BlockFormat for Q4_0 {
    type Act = Q8_0Act;
    const BLOCK_BYTES: usize = PANEL * QK / 2;
    const FOLD: Fold = Fold::IsumDwThenDa;

    fn pack_block(rows: &[&[i8]; PANEL], out: &mut [u8]) {
        pack_nibbles(rows, out, |c| (c + 8) as u8);
    }

    #[inline(always)]
    fn weight(blk: &[u8], lane: usize, e: usize) -> i32 {
        nibble(blk, lane, e) as i32 - 8
    }

    #[cfg(target_arch = "x86_64")]
    type Consts = [std::arch::x86_64::__m256i; 2];

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn consts() -> Self::Consts {
        use std::arch::x86_64::*;
        [_mm256_set1_epi16(1), _mm256_set1_epi8(0x0F)]
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn dot_avx2<const R: usize>(
        &[ones, m4]: &Self::Consts,
        blk: *const u8,
        a: &[Act; R],
        b: usize,
    ) -> [std::arch::x86_64::__m256i; R] {
        use std::arch::x86_64::*;
        let mut isum = nibble_dot(Fields, ones, m4, blk, a, b);
        for t in 0..R {
            let corr = _mm256_set1_epi32(8 * *a[t].sums.get_unchecked(b));
            isum[t] = _mm256_sub_epi32(isum[t], corr);
        }
        isum
    }

    const VNNI: bool = true;
    const VNNI_OFFSET: i32 = 8;

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn dot_avx512<const R: usize>(
        blk0: *const u8,
        blk1: *const u8,
        a: VnniBlock,
    ) -> [std::arch::x86_64::__m512i; R] {
        super::nibble::nibble_dot512(None, blk0, blk1, a)
    }
}
