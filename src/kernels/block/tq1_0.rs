//! ggml TQ1_0 weights × Q8_K activations (`ggml_vec_dot_tq1_0_q8_K`,
//! generic C path): `sumf = sumf + f32(isum) · (d_a · d_w)`.
//!
//! The stored codes are `c` = weight + 1 as ggml decodes them from its
//! bytes (padding rows: code 1). Packing: per 256-block 13 vectors (416
//! bytes, ggml's 52 code bytes a row): vectors 0–11 hold quads `s + 12n`
//! (n = 0..5) as 5 trits a byte, vector 12 quads 60–63 as 4 trits (and a
//! zero trit), each byte `⌈256·v/243⌉` of its base-3 value `v` as ggml
//! stores it; then the fp16 scales.
//!
//! AVX2 decode: `q · 3ⁿ mod 256` by two 16-entry `vpshufb` lookups (low
//! nibble `l·3ⁿ`, high nibble `16h·3ⁿ`, added mod 256), then its high part
//! `(3p) >> 8` = `[p ≥ 86] + [p ≥ 171]` by two saturating subtracts and
//! `min(·, 1)`. `vpmaddubsw(c, a)` with c ≤ 2 gives pairs ≤ 508, summed in
//! int16 for at most 6 vectors of 5 (≤ 15240) before one `vpmaddwd`; then
//! `Σ a·(c − 1) = Σ a·c − Σ a` as in [`super::tq2_0`].
//!
//! AVX-512 VNNI step (`avx512`): the same decode on zmm (the
//! lookups broadcast to every 128-bit lane), the codes `c` as `vpdpbusd`'s
//! unsigned operand, the sums started at `−Σ a`.

use super::act::Q8KAct;
use super::{pack_vectors, Act, BlockFormat, Fold, VnniBlock, PANEL};
use crate::formats::ternary::{tq1_trit, QK_K};

/// The TQ1_0 block format (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct Tq1_0;

/// Quads per block.
const QUADS: usize = QK_K / 4;
/// Vectors of 5 trits per block.
const GROUPS: usize = 12;

/// `(l · 3ⁿ) mod 256` for nibble `l`, n = 0..5.
const LO3: [[u8; 16]; 5] = pow3_table(1);
/// `(16h · 3ⁿ) mod 256` for nibble `h`, n = 0..5.
const HI3: [[u8; 16]; 5] = pow3_table(16);

const fn pow3_table(step: u32) -> [[u8; 16]; 5] {
    let mut t = [[0u8; 16]; 5];
    let mut n = 0;
    let mut p = 1u32;
    while n < 5 {
        let mut i = 0;
        while i < 16 {
            t[n][i] = ((i as u32 * step * p) % 256) as u8;
            i += 1;
        }
        p *= 3;
        n += 1;
    }
    t
}

/// The base-3 byte of trits `t` (most significant first), as ggml stores it.
fn encode_trits(t: &[u8; 5]) -> u8 {
    let v = t.iter().fold(0u32, |v, &c| v * 3 + c as u32);
    (v * 256).div_ceil(243) as u8
}

/// Trit `N` of every byte of `lo` / `hi` (the bytes' low and high
/// nibbles): `p = q · 3^N mod 256` by two lookups, then `[p ≥ 86] + [p ≥ 171]`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn trit(
    lo: std::arch::x86_64::__m256i,
    hi: std::arch::x86_64::__m256i,
    tl: std::arch::x86_64::__m256i,
    th: std::arch::x86_64::__m256i,
) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    let one = _mm256_set1_epi8(1);
    let p = _mm256_add_epi8(_mm256_shuffle_epi8(tl, lo), _mm256_shuffle_epi8(th, hi));
    let t1 = _mm256_min_epu8(_mm256_subs_epu8(p, _mm256_set1_epi8(85)), one);
    let t2 = _mm256_min_epu8(_mm256_subs_epu8(p, _mm256_set1_epi8(-86)), one); // 170
    _mm256_add_epi8(t1, t2)
}

/// The AVX2 constants: ones (int16), the nibble mask, and the `LO3` / `HI3`
/// lookups broadcast to both lanes.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub struct Consts {
    ones: std::arch::x86_64::__m256i,
    m4: std::arch::x86_64::__m256i,
    tl: [std::arch::x86_64::__m256i; 5],
    th: [std::arch::x86_64::__m256i; 5],
}

/// Adds the first `N` trits of every byte of packed vector `x`, each times
/// its activation quad (trit `n`: quad `q0 + step·n` of block `b`), into
/// the `R` rows' int16 sums `s16`.
///
/// # Safety
/// AVX2; each row holds block `b`'s codes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn trits_dot<const R: usize, const N: usize>(
    k: &Consts,
    x: std::arch::x86_64::__m256i,
    q0: usize,
    step: usize,
    a: &[Act; R],
    b: usize,
    s16: &mut [std::arch::x86_64::__m256i; R],
) {
    use super::quad_avx2 as quad;
    use std::arch::x86_64::*;
    let lo = _mm256_and_si256(x, k.m4);
    let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(x), k.m4);
    for n in 0..N {
        let c = trit(lo, hi, k.tl[n], k.th[n]);
        let at = b * QK_K + (q0 + step * n) * 4;
        for t in 0..R {
            s16[t] = _mm256_add_epi16(s16[t], _mm256_maddubs_epi16(c, quad(a[t].codes, at)));
        }
    }
}

/// [`trit`] on zmm: trit `n` of every byte (low nibbles `lo`, high `hi`)
/// through the lookups `LO3[n]`, `HI3[n]`.
///
/// # Safety
/// AVX-512 F/BW.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn trit512(
    lo: std::arch::x86_64::__m512i,
    hi: std::arch::x86_64::__m512i,
    n: usize,
) -> std::arch::x86_64::__m512i {
    use std::arch::x86_64::*;
    let tl = _mm512_broadcast_i32x4(_mm_loadu_si128(LO3[n].as_ptr() as *const __m128i));
    let th = _mm512_broadcast_i32x4(_mm_loadu_si128(HI3[n].as_ptr() as *const __m128i));
    let one = _mm512_set1_epi8(1);
    let p = _mm512_add_epi8(_mm512_shuffle_epi8(tl, lo), _mm512_shuffle_epi8(th, hi));
    let t1 = _mm512_min_epu8(_mm512_subs_epu8(p, _mm512_set1_epi8(85)), one);
    let t2 = _mm512_min_epu8(_mm512_subs_epu8(p, _mm512_set1_epi8(-86)), one); // 170
    _mm512_add_epi8(t1, t2)
}

/// Adds the first `N` trits of every byte of the two panels' packed vector
/// `x`, each times its activation quad (trit `n`: quad `q0 + step·n` of
/// the rows' block `a`), into the `R` rows' sums (`vpdpbusd`).
///
/// # Safety
/// AVX-512 F/BW/VL and VNNI; `a` is valid for `R` rows.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn trits_dot512<const R: usize, const N: usize>(
    x: std::arch::x86_64::__m512i,
    q0: usize,
    step: usize,
    a: VnniBlock,
    isum: &mut [std::arch::x86_64::__m512i; R],
) {
    use super::avx512::add_quad;
    use std::arch::x86_64::*;
    let m4 = _mm512_set1_epi8(0x0F);
    let lo = _mm512_and_si512(x, m4);
    let hi = _mm512_and_si512(_mm512_srli_epi16::<4>(x), m4);
    for n in 0..N {
        add_quad(isum, trit512(lo, hi, n), a, q0 + step * n);
    }
}

impl BlockFormat for Tq1_0 {
    type Act = Q8KAct;
    const BLOCK_BYTES: usize = (GROUPS + 1) * 32;
    const FOLD: Fold = Fold::IsumDaDw;
    const PAD_CODE: i8 = 1;

    fn pack_block(rows: &[&[i8]; PANEL], out: &mut [u8]) {
        // Vectors 0–11: quads s + 12n, 5 trits; vector 12: quads 60–63 and a zero trit.
        pack_vectors(rows, out, GROUPS + 1, |s, code| {
            let t = if s < GROUPS {
                std::array::from_fn(|n| code(s + GROUPS * n))
            } else {
                [code(60), code(61), code(62), code(63), 0]
            };
            encode_trits(&t)
        });
    }

    #[inline(always)]
    fn weight(blk: &[u8], lane: usize, e: usize) -> i32 {
        let (quad, at) = (e / 4, lane * 4 + e % 4);
        let c = if quad < 60 {
            tq1_trit(blk[(quad % GROUPS) * 32 + at], quad / GROUPS)
        } else {
            tq1_trit(blk[GROUPS * 32 + at], quad - 60)
        };
        c as i32 - 1
    }

    #[cfg(target_arch = "x86_64")]
    type Consts = Consts;

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn consts() -> Consts {
        use std::arch::x86_64::*;
        let mut k = Consts {
            ones: _mm256_set1_epi16(1),
            m4: _mm256_set1_epi8(0x0F),
            tl: [_mm256_setzero_si256(); 5],
            th: [_mm256_setzero_si256(); 5],
        };
        for n in 0..5 {
            k.tl[n] =
                _mm256_broadcastsi128_si256(_mm_loadu_si128(LO3[n].as_ptr() as *const __m128i));
            k.th[n] =
                _mm256_broadcastsi128_si256(_mm_loadu_si128(HI3[n].as_ptr() as *const __m128i));
        }
        k
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn dot_avx2<const R: usize>(
        k: &Consts,
        blk: *const u8,
        a: &[Act; R],
        b: usize,
    ) -> [std::arch::x86_64::__m256i; R] {
        use std::arch::x86_64::*;
        let mut s32 = [_mm256_setzero_si256(); R];
        // Groups of 6, 6 and 1 vectors: int16 lanes ≤ 6 · 5 · 508 = 15240.
        // The trit counts are constants (5, then 4 for the last vector) so
        // that every tile height unrolls the trit loop fully.
        for (from, to) in [(0, 6), (6, GROUPS)] {
            let mut s16 = [_mm256_setzero_si256(); R];
            for s in from..to {
                let x = _mm256_loadu_si256(blk.add(s * 32) as *const __m256i);
                trits_dot::<R, 5>(k, x, s, GROUPS, a, b, &mut s16);
            }
            for t in 0..R {
                s32[t] = _mm256_add_epi32(s32[t], _mm256_madd_epi16(s16[t], k.ones));
            }
        }
        let mut s16 = [_mm256_setzero_si256(); R];
        let x = _mm256_loadu_si256(blk.add(GROUPS * 32) as *const __m256i);
        trits_dot::<R, 4>(k, x, QUADS - 4, 1, a, b, &mut s16);
        for t in 0..R {
            s32[t] = _mm256_add_epi32(s32[t], _mm256_madd_epi16(s16[t], k.ones));
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
        use super::avx512::{pair, start};
        let mut isum = start::<R>(a);
        for s in 0..GROUPS {
            trits_dot512::<R, 5>(pair(blk0, blk1, s * 32), s, GROUPS, a, &mut isum);
        }
        let x = pair(blk0, blk1, GROUPS * 32);
        trits_dot512::<R, 4>(x, QUADS - 4, 1, a, &mut isum);
        isum
    }
}
