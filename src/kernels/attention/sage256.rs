//! The SageAttention family's blocked AVX2 steps for the walk of
//! [`super::sageblk`], which documents why the bits equal the row kernel's:
//! - **Q·Kᵀ** on `vpmaddwd`: AVX2 has no VNNI, and `vpmaddubsw` saturates
//!   an int16 pair sum for u8×i8 codes, so K is packed sign-extended to
//!   int16 (8 keys × 2 channels per register) and Q's channel pairs are
//!   broadcast as int16; every pair sum (|·| ≤ 2·128² = 2^15) and the int32
//!   sum are exact for any int8 code, −128 included. A 4-row × 16-key
//!   register tile feeds eight independent accumulators.
//! - **p**'s e4m3 rounding by [`e4m3_8`]; the FP16 P·V step by the row
//!   kernel's TwoSum round-to-odd ([`super::avx2::fp16_mac8`]).
//! - **The row sums**: 8×8 blocks of scores transposed in registers, rows
//!   in the lanes, keys added in order (keys past a row's end add +0,
//!   which leaves a sum from +0 of non-negative terms unchanged).
//!
//! Layer: uses ground and `arith` only.

use super::avx2::{fp16_mac8, scale, transpose8};
use super::sageblk::{self, Steps, PR, QB, R};
use super::{e4m3_rne, Dims, SageBlocks, SageHead, SagePv, SageScore};
use crate::arith::exp::avx2::exp2_shifted;
use half::f16;
use std::arch::x86_64::*;

/// Keys per packed group (one register of eight int32 sums).
const KG: usize = 8;

/// One head's K packed for `vpmaddwd`: per group of 8 keys, per step of 2
/// channels, the 8 keys' 2 codes as int16 side by side (32 bytes).
pub(super) type PackedK = sageblk::PackedK<i16>;

/// The AVX2 steps; constructed only inside the entry points below, so its
/// methods run on CPUs with AVX2, FMA and F16C.
pub(super) struct Avx2Blk;

impl Steps for Avx2Blk {
    const KG: usize = KG;
    const CS: usize = 2;
    type Code = i16;
    type QCode = i16;
    const Q_PAD: i16 = 0;
    type Acc = __m256i;

    #[inline(always)]
    fn q_code(x: i8) -> i16 {
        x as i16
    }

    #[inline(always)]
    unsafe fn qk_tile(
        &self,
        k0: *const i16,
        k1: *const i16,
        q: [*const i16; R],
        steps: usize,
    ) -> [[__m256i; 2]; R] {
        // SAFETY: as the trait's; the CPU as the type's.
        unsafe { qk_4x16(k0, k1, q, steps) }
    }

    #[inline(always)]
    unsafe fn scores(
        &self,
        acc: __m256i,
        kp: &PackedK,
        j0: usize,
        sq: f32,
        order: SageScore,
        dst: *mut f32,
    ) {
        // SAFETY: as the trait's; the CPU as the type's.
        unsafe { scores8(acc, kp, j0, sq, order, dst) }
    }

    #[inline(always)]
    fn tile_max(&self, tile: &[f32]) -> f32 {
        // SAFETY: the CPU as the type's.
        unsafe { tile_max(tile) }
    }

    #[inline(always)]
    fn exp2_shifted(&self, tile: &mut [f32], m: f32) {
        // SAFETY: the CPU as the type's.
        unsafe { exp2_shifted(tile, m) }
    }

    #[inline(always)]
    fn row_sums(&self, s: &[f32], stride: usize, len: &[usize], first: usize) -> [f32; QB] {
        // SAFETY: the CPU as the type's.
        unsafe { row_sums(s, stride, len, first) }
    }

    #[inline(always)]
    fn scale(&self, acc: &mut [f32], a: f32) {
        // SAFETY: the CPU as the type's.
        unsafe { scale(acc, a) }
    }

    #[inline(always)]
    fn weights(&self, p: &[f32], pv: SagePv, out: &mut [f32]) {
        // SAFETY: the CPU as the type's.
        unsafe { weights(p, pv, out) }
    }

    #[inline(always)]
    fn pv_chunk(&self, acc: &mut [f32], p: &[f32], v: &[f32], pv: SagePv) {
        // SAFETY: the CPU as the type's.
        unsafe { pv_chunk(acc, p, v, pv) }
    }

    #[inline(always)]
    unsafe fn pv_rows(
        &self,
        acc: [*mut f32; PR],
        p: [*const f32; PR],
        n: usize,
        v: &[f32],
        d: usize,
        pv: SagePv,
    ) {
        if pv != SagePv::Fp8F32 {
            // The FP16 step's TwoSum needs more than the sixteen ymm
            // registers for several rows at once: one row at a time.
            for (&a, &pr) in acc.iter().zip(&p) {
                // SAFETY: as the trait's (each acc d floats, distinct
                // rows; each p n weights).
                let (a, pr) = unsafe {
                    (
                        std::slice::from_raw_parts_mut(a, d),
                        std::slice::from_raw_parts(pr, n),
                    )
                };
                self.pv_chunk(a, pr, &v[..n * d], pv);
            }
            return;
        }
        // SAFETY: as the trait's; the CPU as the type's.
        unsafe { pv_rows(acc, p, n, v, d) }
    }
}

/// [`sageblk::sage_block`] with the AVX2 steps: rows `i0..i0 + o.len()/d`
/// (at most [`QB`]) of one head, `keep` the block's mask row.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C; `sageblk::serves::<Avx2Blk>(&b)`
/// (and `serves_mask` for the mask); `kp` is `pack` of `hd`.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn sage_block(
    hd: &SageHead,
    kp: &PackedK,
    dims: Dims,
    b: SageBlocks,
    keep: Option<(&[bool], usize)>,
    i0: usize,
    o: &mut [f64],
) {
    sageblk::sage_block(&Avx2Blk, hd, kp, dims, b, keep, i0, o)
}

/// [`sageblk::qk_block`] (the Q·Kᵀ phase alone) with the AVX2 steps.
///
/// # Safety
/// As [`sage_block`].
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn qk_block(
    hd: &SageHead,
    kp: &PackedK,
    dims: Dims,
    b: SageBlocks,
    i0: usize,
    nr: usize,
) -> f32 {
    sageblk::qk_block(&Avx2Blk, hd, kp, dims, b, i0, nr)
}

/// Exact int32 sums of 4 rows × 16 keys (groups at `k0` and `k1`) over
/// `steps` steps of 2 channels: `vpmaddwd` of each row's broadcast int16
/// channel pair with the keys' int16 pairs.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn qk_4x16(
    k0: *const i16,
    k1: *const i16,
    q: [*const i16; R],
    steps: usize,
) -> [[__m256i; 2]; R] {
    let mut acc = [[_mm256_setzero_si256(); 2]; R];
    for c in 0..steps {
        // SAFETY: each group holds `steps` steps of 16 int16; each Q row
        // steps·2 int16.
        unsafe {
            let a = _mm256_loadu_si256(k0.add(c * 16) as *const __m256i);
            let b = _mm256_loadu_si256(k1.add(c * 16) as *const __m256i);
            for (x, ax) in acc.iter_mut().enumerate() {
                let qb = _mm256_set1_epi32((q[x].add(c * 2) as *const i32).read_unaligned());
                ax[0] = _mm256_add_epi32(ax[0], _mm256_madd_epi16(qb, a));
                ax[1] = _mm256_add_epi32(ax[1], _mm256_madd_epi16(qb, b));
            }
        }
    }
    acc
}

/// 8 scores from the signed sums of keys `j0..j0 + 8`: `f32(dot)`, then
/// the scales in the variant's order.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn scores8(acc: __m256i, kp: &PackedK, j0: usize, sq: f32, order: SageScore, dst: *mut f32) {
    // SAFETY: sk holds every packed key; dst has 8 floats.
    unsafe {
        let s = _mm256_cvtepi32_ps(acc);
        let sk = _mm256_loadu_ps(kp.sk.as_ptr().add(j0));
        let sqv = _mm256_set1_ps(sq);
        let y = match order {
            SageScore::V1 => _mm256_mul_ps(_mm256_mul_ps(s, sqv), sk),
            SageScore::V2 => _mm256_mul_ps(s, _mm256_mul_ps(sqv, sk)),
        };
        _mm256_storeu_ps(dst, y);
    }
}

/// The largest score of a tile as the emulation's fold computes it
/// (`f32::max` from −inf, which skips NaN): lane-wise when no lane is NaN
/// (the maximum of numbers is exact in any order; a ±0 tie cannot change
/// a later bit, since only `2^(x − m)` reads it), the tail by the fold,
/// the scalar fold when a lane is NaN (`vmaxps` would not skip it).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn tile_max(tile: &[f32]) -> f32 {
    let n8 = tile.len() / 8 * 8;
    let mut m = _mm256_set1_ps(f32::NEG_INFINITY);
    let mut nan = _mm256_setzero_ps();
    let mut j = 0;
    while j < n8 {
        // SAFETY: j + 8 ≤ n8 ≤ tile.len().
        let x = unsafe { _mm256_loadu_ps(tile.as_ptr().add(j)) };
        nan = _mm256_or_ps(nan, _mm256_cmp_ps::<_CMP_UNORD_Q>(x, x));
        m = _mm256_max_ps(m, x);
        j += 8;
    }
    let fold = |xs: &[f32]| xs.iter().fold(f32::NEG_INFINITY, |u, &w| u.max(w));
    if _mm256_movemask_ps(nan) != 0 {
        return fold(tile);
    }
    let mut lanes = [0.0f32; 8];
    // SAFETY: lanes holds 8 floats.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), m) };
    fold(&lanes).max(fold(&tile[n8..]))
}

/// The mask of the first `min(n, 8)` lanes.
#[inline]
#[target_feature(enable = "avx2")]
fn lanes(n: usize) -> __m256i {
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(n.min(8) as i32),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}

/// `Σ_j p_rj` for rows `first..len.len()` of the score buffer, each in key
/// order from +0 (the emulation's sum): eight rows at a time in the lanes,
/// each 8×8 block of their scores transposed in registers; a key past a
/// row's end adds +0 (masked), which changes no sum (from +0, of terms
/// ≥ 0 or NaN, a sum is never −0).
///
/// # Safety
/// Row `r` of `s` starts at `r·stride` and holds `len[r]` keys, with
/// `len[r] + 7 < stride` floats readable (the walk's stride is tile + 8).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn row_sums(s: &[f32], stride: usize, len: &[usize], first: usize) -> [f32; QB] {
    let nr = len.len();
    let mut out = [0.0f32; QB];
    let mut h = 0;
    while h < nr {
        let rows = (nr - h).min(8);
        let l: [i32; 8] = std::array::from_fn(|x| {
            let r = h + x;
            if r >= first && r < nr {
                len[r] as i32
            } else {
                0
            }
        });
        let longest = l.iter().copied().max().unwrap_or(0) as usize;
        // SAFETY: l holds 8 ints.
        let lv = unsafe { _mm256_loadu_si256(l.as_ptr() as *const __m256i) };
        // Rows past the block's end read its last row (masked out).
        let base: [usize; 8] = std::array::from_fn(|x| (h + x.min(rows - 1)) * stride);
        assert!(base[7] + longest.div_ceil(8) * 8 <= s.len());
        let mut acc = _mm256_setzero_ps();
        let mut j = 0;
        while j < longest {
            // SAFETY: keys j..j + 8 of each row lie inside s (asserted).
            let cols = transpose8(std::array::from_fn(|x| unsafe {
                _mm256_loadu_ps(s.as_ptr().add(base[x] + j))
            }));
            for (k, col) in cols.iter().enumerate() {
                let keep = _mm256_cmpgt_epi32(lv, _mm256_set1_epi32((j + k) as i32));
                acc = _mm256_add_ps(acc, _mm256_and_ps(*col, _mm256_castsi256_ps(keep)));
            }
            j += 8;
        }
        let mut sums = [0.0f32; 8];
        // SAFETY: sums holds 8 floats.
        unsafe { _mm256_storeu_ps(sums.as_mut_ptr(), acc) };
        out[h..h + rows].copy_from_slice(&sums[..rows]);
        h += 8;
    }
    out
}

/// The weight each P·V step multiplies V by: `fp16(p)` or `e4m3(p·448)`.
#[inline]
#[target_feature(enable = "avx2,f16c")]
unsafe fn weights(p: &[f32], pv: SagePv, out: &mut [f32]) {
    let n = p.len();
    assert!(out.len() >= n);
    let mut j = 0;
    while j + 8 <= n {
        // SAFETY: j + 8 ≤ n ≤ out.len().
        unsafe {
            let x = _mm256_loadu_ps(p.as_ptr().add(j));
            let y = match pv {
                SagePv::Fp16 => _mm256_cvtph_ps(_mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(x)),
                SagePv::Fp8F32 | SagePv::Fp8Fp16 => e4m3_8(_mm256_mul_ps(x, _mm256_set1_ps(448.0))),
            };
            _mm256_storeu_ps(out.as_mut_ptr().add(j), y);
        }
        j += 8;
    }
    for (w, &x) in out[j..n].iter_mut().zip(&p[j..]) {
        *w = match pv {
            SagePv::Fp16 => f16::from_f32(x).to_f32(),
            SagePv::Fp8F32 | SagePv::Fp8Fp16 => e4m3_rne(x * 448.0),
        };
    }
}

/// [`e4m3_rne`] of each lane: the same bit operations (normal: RNE on the
/// pattern, capped at 448; below 2^−6: the 1.5·2^23 magic number in steps
/// of 2^−9), the sign copied back, NaN kept.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn e4m3_8(x: __m256) -> __m256 {
    let sign = _mm256_set1_epi32(i32::MIN);
    let xb = _mm256_castps_si256(x);
    let ab = _mm256_andnot_si256(sign, xb);
    let a = _mm256_castsi256_ps(ab);
    let lsb = _mm256_and_si256(_mm256_srli_epi32::<20>(ab), _mm256_set1_epi32(1));
    let nb = _mm256_and_si256(
        _mm256_add_epi32(_mm256_add_epi32(ab, _mm256_set1_epi32(0x7FFFF)), lsb),
        _mm256_set1_epi32(!0xFFFFF),
    );
    let normal = _mm256_min_ps(_mm256_castsi256_ps(nb), _mm256_set1_ps(448.0));
    let magic = _mm256_set1_ps(12_582_912.0);
    let t = _mm256_mul_ps(a, _mm256_set1_ps(512.0));
    let sub = _mm256_div_ps(
        _mm256_sub_ps(_mm256_add_ps(t, magic), magic),
        _mm256_set1_ps(512.0),
    );
    let is_normal = _mm256_cmp_ps::<_CMP_GE_OQ>(a, _mm256_set1_ps(0.015625));
    let r = _mm256_blendv_ps(sub, normal, is_normal);
    let r = _mm256_castsi256_ps(_mm256_or_si256(
        _mm256_castps_si256(r),
        _mm256_and_si256(xb, sign),
    ));
    _mm256_blendv_ps(r, x, _mm256_cmp_ps::<_CMP_UNORD_Q>(x, x))
}

/// One P·V chunk: `b_c` from +0 over the chunk's keys in order (the
/// variant's step), then `acc_c += b_c`. Up to 32 channels' partial sums
/// stay in registers across the keys (the FP16 step's TwoSum needs the
/// rest of the sixteen).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn pv_chunk(acc: &mut [f32], p: &[f32], v: &[f32], pv: SagePv) {
    let d = acc.len();
    assert!(v.len() >= p.len() * d);
    let mut c = 0;
    while c < d {
        let w = (d - c).min(32);
        // SAFETY: channels c..c + w lie inside every row of v and acc.
        unsafe {
            match (w.div_ceil(8), w == 32, pv == SagePv::Fp8F32) {
                (4, true, true) => pv_block::<4, true, true>(acc, p, v, c, w),
                (4, true, false) => pv_block::<4, true, false>(acc, p, v, c, w),
                (4, false, true) => pv_block::<4, false, true>(acc, p, v, c, w),
                (4, false, false) => pv_block::<4, false, false>(acc, p, v, c, w),
                (3, _, true) => pv_block::<3, false, true>(acc, p, v, c, w),
                (3, _, false) => pv_block::<3, false, false>(acc, p, v, c, w),
                (2, _, true) => pv_block::<2, false, true>(acc, p, v, c, w),
                (2, _, false) => pv_block::<2, false, false>(acc, p, v, c, w),
                (_, _, true) => pv_block::<1, false, true>(acc, p, v, c, w),
                (_, _, false) => pv_block::<1, false, false>(acc, p, v, c, w),
            }
        }
        c += w;
    }
}

/// [`pv_chunk`] on channels `c..c + w` (`NV` registers, masked loads and
/// stores unless `FULL`); `FMA`: the FP8 step with f32 sums, else the FP16
/// step.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn pv_block<const NV: usize, const FULL: bool, const FMA: bool>(
    acc: &mut [f32],
    p: &[f32],
    v: &[f32],
    c: usize,
    w: usize,
) {
    let d = acc.len();
    let mask: [__m256i; NV] = std::array::from_fn(|x| lanes(w - (8 * x).min(w)));
    let mut b = [_mm256_setzero_ps(); NV];
    for (j, &pj) in p.iter().enumerate() {
        let pb = _mm256_set1_ps(pj);
        // SAFETY: row j of v holds channels c..c + w (masked loads).
        let row = unsafe { v.as_ptr().add(j * d + c) };
        for x in 0..NV {
            let vx = unsafe {
                if FULL {
                    _mm256_loadu_ps(row.add(8 * x))
                } else {
                    _mm256_maskload_ps(row.add(8 * x), mask[x])
                }
            };
            b[x] = if FMA {
                // p8·v (two e4m3 values) is exact in f32, so the fused
                // form rounds once where `b + p8·v` rounds once too.
                _mm256_fmadd_ps(pb, vx, b[x])
            } else {
                fp16_mac8(b[x], _mm256_mul_ps(pb, vx))
            };
        }
    }
    for x in 0..NV {
        // SAFETY: channels below c + w ≤ d (masked unless FULL).
        unsafe {
            let a = acc.as_mut_ptr().add(c + 8 * x);
            if FULL {
                _mm256_storeu_ps(a, _mm256_add_ps(_mm256_loadu_ps(a), b[x]));
            } else {
                let s = _mm256_add_ps(_mm256_maskload_ps(a, mask[x]), b[x]);
                _mm256_maskstore_ps(a, mask[x], s);
            }
        }
    }
}

/// The FMA P·V step of [`PR`] rows over the same `n` keys: per row and
/// channel `b_c` from +0 over the keys in order, then `acc_c += b_c`; the
/// rows share every V register. Channels run 16 at a time (eight sums, two
/// V registers), the last group masked.
///
/// # Safety
/// Each `acc[x]` holds `d` floats, each `p[x]` `n`; `v` holds `n·d`.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn pv_rows(acc: [*mut f32; PR], p: [*const f32; PR], n: usize, v: &[f32], d: usize) {
    assert!(v.len() >= n * d);
    let mut c = 0;
    while c < d {
        let w = (d - c).min(16);
        // SAFETY: as this function's; channels c..c + w lie inside d.
        unsafe {
            match (w.div_ceil(8), w.is_multiple_of(8)) {
                (2, true) => pv_rows_nv::<2, true>(acc, p, n, v, d, c, w),
                (2, false) => pv_rows_nv::<2, false>(acc, p, n, v, d, c, w),
                (_, true) => pv_rows_nv::<1, true>(acc, p, n, v, d, c, w),
                (_, false) => pv_rows_nv::<1, false>(acc, p, n, v, d, c, w),
            }
        }
        c += w;
    }
}

/// [`pv_rows`] on channels `c..c + w` in `NV` registers (masked unless
/// `FULL`).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn pv_rows_nv<const NV: usize, const FULL: bool>(
    acc: [*mut f32; PR],
    p: [*const f32; PR],
    n: usize,
    v: &[f32],
    d: usize,
    c: usize,
    w: usize,
) {
    let mask: [__m256i; NV] = std::array::from_fn(|x| lanes(w - (8 * x).min(w)));
    let mut b = [[_mm256_setzero_ps(); NV]; PR];
    for j in 0..n {
        // SAFETY: row j of v holds channels c..c + w (masked loads).
        let row = unsafe { v.as_ptr().add(j * d + c) };
        let vx: [__m256; NV] = std::array::from_fn(|x| unsafe {
            if FULL {
                _mm256_loadu_ps(row.add(8 * x))
            } else {
                _mm256_maskload_ps(row.add(8 * x), mask[x])
            }
        });
        for (br, &pr) in b.iter_mut().zip(&p) {
            // SAFETY: p[x] holds n weights.
            let pb = _mm256_set1_ps(unsafe { *pr.add(j) });
            for x in 0..NV {
                // Exact product, one rounding: as pv_block's FMA step.
                br[x] = _mm256_fmadd_ps(pb, vx[x], br[x]);
            }
        }
    }
    for (br, &a) in b.iter().zip(&acc) {
        for x in 0..NV {
            // SAFETY: channels below c + w ≤ d of a d-float row (masked
            // unless FULL).
            unsafe {
                let a = a.add(c + 8 * x);
                if FULL {
                    _mm256_storeu_ps(a, _mm256_add_ps(_mm256_loadu_ps(a), br[x]));
                } else {
                    let s = _mm256_add_ps(_mm256_maskload_ps(a, mask[x]), br[x]);
                    _mm256_maskstore_ps(a, mask[x], s);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lane-wise e4m3 rounding equals the scalar one on the shared
    /// sweep.
    #[test]
    fn e4m3_lanes_equal_the_scalar_rounding() {
        if !is_x86_feature_detected!("avx2") {
            eprintln!("no AVX2 on this CPU: the lane form cannot run here");
            return;
        }
        let mut out = [0.0f32; 8];
        for chunk in sageblk::tests::e4m3_sweep(8).chunks(8) {
            // SAFETY: AVX2 checked above; both buffers hold 8 floats.
            unsafe {
                _mm256_storeu_ps(out.as_mut_ptr(), e4m3_8(_mm256_loadu_ps(chunk.as_ptr())));
            }
            sageblk::tests::check_e4m3(chunk, &out);
        }
    }
}
