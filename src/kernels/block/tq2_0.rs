//! ggml TQ2_0 weights × Q8_K activations (`ggml_vec_dot_tq2_0_q8_K`,
//! generic C path): `sumf = sumf + f32(isum) · (d_a · d_w)`.
//!
//! The stored codes are `c` = weight + 1 as ggml decodes them from its
//! bytes (padding rows: code 1). Packing: per 256-block 16 vectors (512
//! bytes), vector `s` holding quads `s`, `s + 16`, `s + 32`, `s + 48` in
//! bits 0–1, 2–3, 4–5, 6–7 (ggml's 2 bits a weight, as stored), then the
//! fp16 scales.
//!
//! AVX2 step: codes by shift and mask, `vpmaddubsw(c, a)` with c ≤ 3 and
//! |a| ≤ 127 (Q8_K codes never reach −128) gives pairs ≤ 762, summed in
//! int16 for 8 vectors of 4 quads (≤ 24384) before one `vpmaddwd` widens
//! them; then `Σ a·(c − 1) = Σ a·c − Σ a` with each row's block sum of `a`.
//!
//! AVX-512 VNNI step (`avx512`): the codes `c` as `vpdpbusd`'s
//! unsigned operand, the sums started at `−Σ a`.

use super::act::Q8KAct;
use super::{pack_vectors, Act, BlockFormat, Fold, VnniBlock, PANEL};
use crate::formats::ternary::QK_K;

/// The TQ2_0 block format (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct Tq2_0;

impl BlockFormat for Tq2_0 {
    type Act = Q8KAct;
    const BLOCK_BYTES: usize = 16 * 32;
    const FOLD: Fold = Fold::IsumDaDw;
    const PAD_CODE: i8 = 1;

    fn pack_block(rows: &[&[i8]; PANEL], out: &mut [u8]) {
        // Vector s: quads s, s + 16, s + 32, s + 48 in bits 0–1, …, 6–7.
        pack_vectors(rows, out, 16, |s, code| {
            (0..4).fold(0u8, |b, f| b | (code(s + 16 * f) << (2 * f)))
        });
    }

    #[inline(always)]
    fn weight(blk: &[u8], lane: usize, e: usize) -> i32 {
        let (quad, at) = (e / 4, lane * 4 + e % 4);
        ((blk[(quad % 16) * 32 + at] >> (2 * (quad / 16))) & 3) as i32 - 1
    }

    #[cfg(target_arch = "x86_64")]
    type Consts = [std::arch::x86_64::__m256i; 2];

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn consts() -> Self::Consts {
        use std::arch::x86_64::*;
        [_mm256_set1_epi16(1), _mm256_set1_epi8(3)]
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn dot_avx2<const R: usize>(
        &[ones, m2]: &Self::Consts,
        blk: *const u8,
        a: &[Act; R],
        b: usize,
    ) -> [std::arch::x86_64::__m256i; R] {
        use super::quad_avx2 as quad;
        use std::arch::x86_64::*;
        let at = |q: usize| b * QK_K + q * 4;
        let mut s32 = [_mm256_setzero_si256(); R];
        for half in 0..2 {
            // 8 vectors × 4 quads: int16 lanes ≤ 8 · 4 · 762 = 24384.
            let mut s16 = [_mm256_setzero_si256(); R];
            for s in half * 8..half * 8 + 8 {
                let x = _mm256_loadu_si256(blk.add(s * 32) as *const __m256i);
                let c0 = _mm256_and_si256(x, m2);
                let c1 = _mm256_and_si256(_mm256_srli_epi16::<2>(x), m2);
                let c2 = _mm256_and_si256(_mm256_srli_epi16::<4>(x), m2);
                let c3 = _mm256_and_si256(_mm256_srli_epi16::<6>(x), m2);
                for t in 0..R {
                    let c = a[t].codes;
                    let p01 = _mm256_add_epi16(
                        _mm256_maddubs_epi16(c0, quad(c, at(s))),
                        _mm256_maddubs_epi16(c1, quad(c, at(s + 16))),
                    );
                    let p23 = _mm256_add_epi16(
                        _mm256_maddubs_epi16(c2, quad(c, at(s + 32))),
                        _mm256_maddubs_epi16(c3, quad(c, at(s + 48))),
                    );
                    s16[t] = _mm256_add_epi16(s16[t], _mm256_add_epi16(p01, p23));
                }
            }
            for t in 0..R {
                s32[t] = _mm256_add_epi32(s32[t], _mm256_madd_epi16(s16[t], ones));
            }
        }
        for t in 0..R {
            let corr = _mm256_set1_epi32(*a[t].sums.get_unchecked(b));
            s32[t] = _mm256_sub_epi32(s32[t], corr);
        }
        s32
    }

    const VNNI: bool = true;
    const VNNI_OFFSET: i32 = 1;

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn dot_avx512<const R: usize>(
        blk0: *const u8,
        blk1: *const u8,
        a: VnniBlock,
    ) -> [std::arch::x86_64::__m512i; R] {
        use super::avx512::{add_quad, pair, start};
        use std::arch::x86_64::*;
        let m2 = _mm512_set1_epi8(3);
        let mut isum = start::<R>(a);
        for s in 0..16 {
            let x = pair(blk0, blk1, s * 32);
            let c = [
                _mm512_and_si512(x, m2),
                _mm512_and_si512(_mm512_srli_epi16::<2>(x), m2),
                _mm512_and_si512(_mm512_srli_epi16::<4>(x), m2),
                _mm512_and_si512(_mm512_srli_epi16::<6>(x), m2),
            ];
            for (f, c) in c.into_iter().enumerate() {
                add_quad(&mut isum, c, a, s + 16 * f);
            }
        }
        isum
    }
}
