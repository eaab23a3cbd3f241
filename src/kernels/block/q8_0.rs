//! ggml Q8_0 weights × Q8_0 activations (`ggml_vec_dot_q8_0_q8_0`):
//! `sumf = sumf + f32(isum) · (d_w · d_a)`.
//!
//! Packing: per 32-block the 8 quads `[quad][8 rows][4 codes]` as int8
//! (256 bytes), fp16 scales: ggml's 34 bytes per 32 weights.
//!
//! AVX2 step, 4 K positions × 8 rows per instruction: `vpmaddubsw(|w|,
//! sign(a, w))` pairs ≤ 2 · 127 · 127 = 32258 (no int16 saturation; codes
//! are ±127 at most, so `vpsignb` never meets −128), `vpmaddwd` with ones
//! into int32.
//!
//! AVX-512 VNNI step (`avx512`): per quad one `vpdpbusd(w ⊕ 0x80,
//! a)` of two panels' vectors (the stored byte XOR 0x80 is `w + 128` as
//! unsigned), the block sums started at `−128 · Σ a`.

use super::act::Q8_0Act;
use super::{Act, BlockFormat, Fold, VnniBlock, PANEL};
use crate::formats::ggml::QK;

/// The Q8_0 block format (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct Q8_0;

impl BlockFormat for Q8_0 {
    type Act = Q8_0Act;
    const BLOCK_BYTES: usize = PANEL * QK;
    const FOLD: Fold = Fold::IsumDwDa;

    fn pack_block(rows: &[&[i8]; PANEL], out: &mut [u8]) {
        for (lane, codes) in rows.iter().enumerate() {
            for (e, &c) in codes.iter().enumerate() {
                out[(e / 4) * 32 + lane * 4 + e % 4] = c as u8;
            }
        }
    }

    #[inline(always)]
    fn weight(blk: &[u8], lane: usize, e: usize) -> i32 {
        blk[(e / 4) * 32 + lane * 4 + e % 4] as i8 as i32
    }

    #[cfg(target_arch = "x86_64")]
    type Consts = std::arch::x86_64::__m256i;

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn consts() -> Self::Consts {
        std::arch::x86_64::_mm256_set1_epi16(1)
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn dot_avx2<const R: usize>(
        ones: &Self::Consts,
        blk: *const u8,
        a: &[Act; R],
        b: usize,
    ) -> [std::arch::x86_64::__m256i; R] {
        use super::quad_avx2 as quad;
        use std::arch::x86_64::*;
        let mut isum = [_mm256_setzero_si256(); R];
        for q in 0..8 {
            let wv = _mm256_loadu_si256(blk.add(q * 32) as *const __m256i);
            let aw = _mm256_sign_epi8(wv, wv);
            for t in 0..R {
                let sa = _mm256_sign_epi8(quad(a[t].codes, b * QK + q * 4), wv);
                let p = _mm256_madd_epi16(_mm256_maddubs_epi16(aw, sa), *ones);
                isum[t] = _mm256_add_epi32(isum[t], p);
            }
        }
        isum
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
        use super::avx512::{add_quad, pair, start};
        use std::arch::x86_64::*;
        let x80 = _mm512_set1_epi8(i8::MIN);
        let mut isum = start::<R>(a);
        for q in 0..8 {
            let u = _mm512_xor_si512(pair(blk0, blk1, q * 32), x80);
            add_quad(&mut isum, u, a, q);
        }
        isum
    }
}
