//! The AVX-512 VNNI tile of the block driver: two panels (16 weight rows)
//! per zmm, one `vpdpbusd` per activation row and quad where AVX2 needs
//! `vpmaddubsw` + `vpmaddwd` + `vpaddd`.
//!
//! `vpdpbusd` multiplies unsigned bytes by signed ones. The signed operand
//! is the activation quad, broadcast from memory; the unsigned one the
//! format's weight `w` plus an offset `o` (Q8_0 and MXFP4 `w + 128`, Q4_0
//! its stored field `w + 8`, the ternary codes `w + 1`), so each format's
//! step starts its block sums at `−o · Σ a` (the activation block sums the
//! quantizer stored) and adds `Σ (w + o) · a`. Four exact products per
//! int32 lane and no saturation: the sums are the exact integers of the
//! other tiles, so the fold (the same f32 steps on 16 lanes) gives the
//! emulation's bits.
//!
//! The two panels' vectors of one quad are two 32-byte loads into one zmm
//! (the packing is the AVX2 tile's; no second layout), and the two panels'
//! scales two of the AVX2 scale reads. The activations come in 8-row
//! groups (`Group`): one pointer per block reaches every row's quads, scale
//! and sum at fixed offsets (8 row pointers spilled to the stack, and 8
//! rows one K-row apart shared the same L1 sets when K is a multiple of
//! 4096).

use super::{ActFormat, BlockFormat, Group, TileOut, VnniBlock, PANEL, VNNI_ROWS};
use std::arch::x86_64::*;

/// Tiles of at most this many rows (a GEMV's) prefetch their weights.
const GEMV_PREFETCH_ROWS: usize = 2;
/// Blocks ahead that a GEMV tile prefetches (a hint never faults, so the
/// addresses past a panel's end are harmless).
const PREFETCH_BLOCKS: usize = 8;

/// The 32 bytes at `off` of each of two packed blocks, the first in lanes
/// 0–7, the second in lanes 8–15.
///
/// # Safety
/// AVX-512 F; `off + 32` bytes readable at both pointers.
#[inline(always)]
pub unsafe fn pair(blk0: *const u8, blk1: *const u8, off: usize) -> __m512i {
    _mm512_inserti64x4::<1>(
        _mm512_castsi256_si512(_mm256_loadu_si256(blk0.add(off) as *const __m256i)),
        _mm256_loadu_si256(blk1.add(off) as *const __m256i),
    )
}

/// Adds `u` times one activation quad to each of the `R` rows' sums: per
/// row `t` one `vpdpbusd` of `u` against quad `q` (the codes at K
/// positions `4q..4q + 4` of its block), broadcast to every 32-bit lane
/// straight from memory (the instruction's signed operand).
///
/// # Safety
/// AVX-512 F and VNNI; `a` is valid for `R` rows of `a.qk` codes and
/// `4q + 4 ≤ a.qk`.
#[inline(always)]
pub unsafe fn add_quad<const R: usize>(
    isum: &mut [__m512i; R],
    u: __m512i,
    a: VnniBlock,
    q: usize,
) {
    debug_assert!(4 * q + 4 <= a.qk);
    for (t, x) in isum.iter_mut().enumerate() {
        let at = t * a.qk + q * 4;
        let quad = std::ptr::read_unaligned(a.codes.add(at) as *const i32);
        *x = _mm512_dpbusd_epi32(*x, u, _mm512_set1_epi32(quad));
    }
}

/// The block sums' start `−o · Σ a` of each of the `R` rows of `a` (see
/// the module docs), broadcast from memory.
///
/// # Safety
/// AVX-512 F; `a` is valid for `R` rows.
#[inline(always)]
pub unsafe fn start<const R: usize>(a: VnniBlock) -> [__m512i; R] {
    let mut s = [_mm512_setzero_si512(); R];
    for (t, s) in s.iter_mut().enumerate() {
        *s = _mm512_set1_epi32(*a.starts.add(t));
    }
    s
}

/// The `F` tile of the first `R` rows of group `g` × two panels (`w[0]`,
/// `w[1]` with scales `ws[0]`, `ws[1]`; the same panel twice for a lone
/// last one): per block the format's int32 dots, the scales and the fold.
///
/// # Safety
/// AVX-512 F/BW/VL and VNNI, AVX2 and F16C; `F::VNNI`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,f16c")]
pub unsafe fn tile<F: BlockFormat, const R: usize>(
    w: [&[u8]; 2],
    ws: [&[u8]; 2],
    g: Group,
    nb: usize,
) -> TileOut {
    let qk = F::Act::QK;
    // The bounds the format's unchecked loads rely on.
    assert!(F::VNNI && R <= VNNI_ROWS);
    for p in 0..2 {
        assert!(w[p].len() >= nb * F::BLOCK_BYTES && ws[p].len() >= nb * PANEL * F::SCALE_BYTES);
    }
    let gb = nb * VNNI_ROWS;
    assert!(g.codes.len() >= gb * qk && g.d.len() >= gb && g.starts.len() >= gb);
    let (w0, w1) = (w[0].as_ptr(), w[1].as_ptr());
    let (codes, d, starts) = (g.codes.as_ptr(), g.d.as_ptr(), g.starts.as_ptr());
    let mut acc = [_mm512_setzero_ps(); R];
    for b in 0..nb {
        let at = b * F::BLOCK_BYTES;
        if R <= GEMV_PREFETCH_ROWS {
            // A GEMV streams each panel's blocks once, from memory: its
            // short loop (one `vpdpbusd` per quad and row) keeps too few
            // misses in flight for the hardware prefetcher alone.
            let ahead = at + PREFETCH_BLOCKS * F::BLOCK_BYTES;
            let mut l = 0;
            while l < F::BLOCK_BYTES {
                _mm_prefetch::<_MM_HINT_T0>(w0.wrapping_add(ahead + l) as *const i8);
                _mm_prefetch::<_MM_HINT_T0>(w1.wrapping_add(ahead + l) as *const i8);
                l += 64;
            }
        }
        let a = VnniBlock {
            codes: codes.add(b * VNNI_ROWS * qk),
            starts: starts.add(b * VNNI_ROWS),
            qk,
        };
        let isum = F::dot_avx512::<R>(w0.add(at), w1.add(at), a);
        let dw = _mm512_castsi512_ps(_mm512_inserti64x4::<1>(
            _mm512_castsi256_si512(_mm256_castps_si256(F::scales_avx2(ws[0], b))),
            _mm256_castps_si256(F::scales_avx2(ws[1], b)),
        ));
        for t in 0..R {
            acc[t] = F::FOLD.apply_avx512(acc[t], isum[t], dw, *d.add(b * VNNI_ROWS + t));
        }
    }
    let mut out = [[0f32; 2 * PANEL]; VNNI_ROWS];
    for t in 0..R {
        _mm512_storeu_ps(out[t].as_mut_ptr(), acc[t]);
    }
    out
}
