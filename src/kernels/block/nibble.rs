//! The 4-bit layout [`super::q4_0`] and [`super::mxfp4`] share: the
//! packing, the scalar read of one field, and the AVX2 block step, in which
//! the two formats differ only in how a vector of fields meets an
//! activation quad ([`NibbleMul`]).
//!
//! Layout: per 32-block 4 vectors `[quad s][8 rows][4 codes]`, quad `s` in
//! the low nibble and quad `s + 4` in the high nibble of the same byte (128
//! bytes).

use super::PANEL;
#[cfg(target_arch = "x86_64")]
use super::{quad_avx2 as quad, Act, VnniBlock};
#[cfg(target_arch = "x86_64")]
use crate::formats::ggml::QK;
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

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

/// How a nibble format's fields meet a broadcast activation quad in
/// `vpmaddubsw`: the one step in which the formats' AVX2 dots differ.
/// Its methods must be `#[inline(always)]` so that [`nibble_dot`] compiles
/// inside the driver's AVX2 tile.
#[cfg(target_arch = "x86_64")]
pub trait NibbleMul: Copy {
    /// A vector of fields decoded once for all the tile's activation rows.
    type W: Copy;

    /// Decodes the low and the high fields of a packed vector (one per
    /// byte, each 0..16). Both in one call because decoding one half at a
    /// time compiled MXFP4's 4-row tile with other register choices, 2–8 %
    /// slower in paired runs of a 64×4096×4096 product.
    ///
    /// # Safety
    /// AVX2.
    unsafe fn decode(self, lo: __m256i, hi: __m256i) -> [Self::W; 2];

    /// The int16 pair sums of the decoded weights `w` times the broadcast
    /// activation quad `a` (one `vpmaddubsw`, the format bounding them
    /// below saturation).
    ///
    /// # Safety
    /// AVX2.
    unsafe fn madd(w: Self::W, a: __m256i) -> __m256i;
}

/// The int32 sums `Σ madd` of packed nibble block `b` (at `blk`, 128 bytes)
/// with block `b` of each of the `R` rows `a`, 8 lanes (weight rows) each:
/// per vector the low and high fields decoded by `m` against quads `s` and
/// `s + 4`, the block's 8 quads summed in int16 (the format bounds them
/// below saturation), then one `vpmaddwd` with `ones` (int16 ones). `m4`
/// is the byte mask 0x0F. A format applies its own offset correction after.
///
/// # Safety
/// AVX2; `blk` points at 128 readable bytes and each row has `(b + 1) · QK`
/// codes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn nibble_dot<M: NibbleMul, const R: usize>(
    m: M,
    ones: __m256i,
    m4: __m256i,
    blk: *const u8,
    a: &[Act; R],
    b: usize,
) -> [__m256i; R] {
    let mut s16 = [_mm256_setzero_si256(); R];
    for s in 0..4 {
        let x = _mm256_loadu_si256(blk.add(s * 32) as *const __m256i);
        let [lo, hi] = m.decode(
            _mm256_and_si256(x, m4),
            _mm256_and_si256(_mm256_srli_epi16::<4>(x), m4),
        );
        for t in 0..R {
            let c = a[t].codes;
            let pl = M::madd(lo, quad(c, b * QK + s * 4));
            let ph = M::madd(hi, quad(c, b * QK + (s + 4) * 4));
            s16[t] = _mm256_add_epi16(s16[t], _mm256_add_epi16(pl, ph));
        }
    }
    let mut isum = [_mm256_setzero_si256(); R];
    for t in 0..R {
        isum[t] = _mm256_madd_epi16(s16[t], ones);
    }
    isum
}

/// The exact int32 dots of packed nibble block `b` of two panels (at
/// `blk0`, `blk1`, 128 bytes each) with the `R` rows' activation block `a`,
/// on `vpdpbusd` (see `avx512`): per vector the low and high
/// fields, through the 16-entry byte lookup `lut` (broadcast to every
/// 128-bit lane) when there is one, are the unsigned operand `w + o`
/// against quads `s` and `s + 4`; the sums start at `−o · Σ a` (`o` the format's
/// [`super::BlockFormat::VNNI_OFFSET`], the starts precomputed in `a`).
///
/// # Safety
/// AVX-512 F/BW/VL and VNNI; `blk0`, `blk1` point at 128 readable bytes
/// each, `a` is valid for `R` rows (see [`VnniBlock`]).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn nibble_dot512<const R: usize>(
    lut: Option<__m512i>,
    blk0: *const u8,
    blk1: *const u8,
    a: VnniBlock,
) -> [__m512i; R] {
    use super::avx512::{add_quad, pair, start};
    let m4 = _mm512_set1_epi8(0x0F);
    let mut isum = start::<R>(a);
    for s in 0..4 {
        let x = pair(blk0, blk1, s * 32);
        let (mut lo, mut hi) = (
            _mm512_and_si512(x, m4),
            _mm512_and_si512(_mm512_srli_epi16::<4>(x), m4),
        );
        if let Some(lut) = lut {
            (lo, hi) = (_mm512_shuffle_epi8(lut, lo), _mm512_shuffle_epi8(lut, hi));
        }
        add_quad(&mut isum, lo, a, s);
        add_quad(&mut isum, hi, a, s + 4);
    }
    isum
}
