//! ggml Q4_0 weights × Q8_0 activations (`ggml_vec_dot_q4_0_q8_0`):
//! `sumf = sumf + (f32(isum) · d_w) · d_a`.
//!
//! Packing: per 32-block the unsigned fields `code + 8`, `[quad][8 rows][4
//! codes]`, quad `s` in the low nibble and quad `s + 4` in the high nibble
//! of the same byte (128 bytes), fp16 scales: ggml's 18 bytes per 32.
//! Padding rows hold field 8 (code 0).
//!
//! AVX2 step: `vpmaddubsw(f, a)` with the unsigned fields, pairs ≤ 3810,
//! the block's 8 quads summed in int16 (≤ 30480), one `vpmaddwd`, then
//! `Σ a·(f − 8) = Σ a·f − 8·Σ a` with each row's block sum of `a`.

use super::act::Q8_0Act;
use super::{Act, BlockFormat, Fold, PANEL};
use crate::formats::ggml::QK;

/// The Q4_0 block format (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct Q4_0;

/// Packs 4-bit fields `field(code)` of 8 rows' 32 codes: quad `s` in the
/// low nibble, quad `s + 4` in the high nibble of bytes `[s][lane][4]`.
pub fn pack_nibbles(rows: &[&[i8]; PANEL], out: &mut [u8], field: impl Fn(i8) -> u8) {
    for (lane, codes) in rows.iter().enumerate() {
        for (e, &c) in codes.iter().enumerate() {
            let q = e / 4;
            let at = (q % 4) * 32 + lane * 4 + e % 4;
            let shift = 4 * (q / 4);
            out[at] = (out[at] & !(0x0F << shift)) | (field(c) << shift);
        }
    }
}

/// The 4-bit field of element `e` of row `lane`, as [`pack_nibbles`] put it.
#[inline(always)]
pub fn nibble(blk: &[u8], lane: usize, e: usize) -> u8 {
    let q = e / 4;
    (blk[(q % 4) * 32 + lane * 4 + e % 4] >> (4 * (q / 4))) & 0x0F
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
        use super::quad_avx2 as quad;
        use std::arch::x86_64::*;
        let mut s16 = [_mm256_setzero_si256(); R];
        for s in 0..4 {
            let x = _mm256_loadu_si256(blk.add(s * 32) as *const __m256i);
            let lo = _mm256_and_si256(x, m4);
            let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(x), m4);
            for t in 0..R {
                let c = a[t].codes;
                let pl = _mm256_maddubs_epi16(lo, quad(c, b * QK + s * 4));
                let ph = _mm256_maddubs_epi16(hi, quad(c, b * QK + (s + 4) * 4));
                s16[t] = _mm256_add_epi16(s16[t], _mm256_add_epi16(pl, ph));
            }
        }
        let mut isum = [_mm256_setzero_si256(); R];
        for t in 0..R {
            let s32 = _mm256_madd_epi16(s16[t], ones);
            let corr = _mm256_set1_epi32(8 * *a[t].sums.get_unchecked(b));
            isum[t] = _mm256_sub_epi32(s32, corr);
        }
        isum
    }
}
