//! The SageAttention family's blocked AVX-512 steps (`vpdpbusd` Q·Kᵀ) for
//! the walk of [`super::sageblk`], which documents why the bits equal the
//! row kernel's:
//! - **Q·Kᵀ**: K packed for `vpdpbusd` (16 keys × 4 channels per
//!   register); Q offset to unsigned (`q + 128`) and the offset's term
//!   `128·Σ_c k_c` (precomputed per key) subtracted, exactly. A 4-row ×
//!   32-key register tile feeds eight independent accumulators.
//! - **p**'s e4m3 rounding by [`e4m3_16`]; the FP16 P·V step rounds the f32
//!   sum to odd with embedded rounding modes then to fp16 by `vcvtps2ph`.
//! - **The row sums** by one masked gather per key, sixteen rows in the
//!   lanes.
//!
//! Layer: uses ground and `arith` only.

use super::sageblk::{self, Steps, PR, QB, R};
use super::{e4m3_rne, Dims, SageBlocks, SageHead, SagePv, SageScore};
use crate::arith::exp::avx2::exp2_shifted;
use half::f16;
use std::arch::x86_64::*;

/// Keys per packed group (one `vpdpbusd` register of int32 sums).
pub(super) const KG: usize = 16;

/// One head's K packed for `vpdpbusd`: per group of 16 keys, per step of 4
/// channels, the 16 keys' 4 codes side by side (64 bytes).
pub(super) type PackedK = sageblk::PackedK<i8>;

/// Packs one head's K codes (`nk × d`) for `vpdpbusd`.
pub(super) fn pack(hd: &SageHead, nk: usize, d: usize, k_block: usize) -> PackedK {
    sageblk::pack::<Avx512>(hd, nk, d, k_block)
}

/// The AVX-512 steps; constructed only inside the entry points below, so
/// its methods run on CPUs with AVX-512 F/BW/VL, VNNI, AVX2, FMA and F16C.
pub(super) struct Avx512;

impl Steps for Avx512 {
    const KG: usize = KG;
    const CS: usize = 4;
    type Code = i8;
    type QCode = u8;
    const Q_PAD: u8 = 128;
    type Acc = __m512i;

    #[inline(always)]
    fn q_code(x: i8) -> u8 {
        (x as u8) ^ 0x80
    }

    #[inline(always)]
    unsafe fn qk_tile(
        &self,
        k0: *const i8,
        k1: *const i8,
        q: [*const u8; R],
        steps: usize,
    ) -> [[__m512i; 2]; R] {
        // SAFETY: as the trait's; the CPU as the type's.
        unsafe { qk_4x32(k0, k1, q, steps) }
    }

    #[inline(always)]
    unsafe fn scores(
        &self,
        acc: __m512i,
        kp: &PackedK,
        j0: usize,
        sq: f32,
        order: SageScore,
        dst: *mut f32,
    ) {
        // SAFETY: as the trait's; the CPU as the type's.
        unsafe { scores16(acc, kp, j0, sq, order, dst) }
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
        // SAFETY: as the trait's; the CPU as the type's.
        unsafe { pv_rows(acc, p, n, v, d, pv) }
    }
}

/// [`sageblk::sage_block`] with the AVX-512 steps: rows `i0..i0 +
/// o.len()/d` (at most [`QB`]) of one head, `keep` the block's mask row.
///
/// # Safety
/// The CPU must support AVX-512 F/BW/VL, AVX-512 VNNI, AVX2, FMA and F16C;
/// `sageblk::serves::<Avx512>(&b)` (and `serves_mask` for the mask); `kp`
/// is `pack` of `hd`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
pub(super) unsafe fn sage_block(
    hd: &SageHead,
    kp: &PackedK,
    dims: Dims,
    b: SageBlocks,
    keep: Option<(&[bool], usize)>,
    i0: usize,
    o: &mut [f64],
) {
    sageblk::sage_block(&Avx512, hd, kp, dims, b, keep, i0, o)
}

/// [`sageblk::qk_block`] (the Q·Kᵀ phase alone) with the AVX-512 steps.
///
/// # Safety
/// As [`sage_block`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
pub(super) unsafe fn qk_block(
    hd: &SageHead,
    kp: &PackedK,
    dims: Dims,
    b: SageBlocks,
    i0: usize,
    nr: usize,
) -> f32 {
    sageblk::qk_block(&Avx512, hd, kp, dims, b, i0, nr)
}

/// Exact int32 sums of 4 rows × 32 keys (groups at `k0` and `k1`) over
/// `d4` steps of 4 channels, with unsigned Q: `Σ (q + 128)·k`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) unsafe fn qk_4x32(
    k0: *const i8,
    k1: *const i8,
    q: [*const u8; R],
    d4: usize,
) -> [[__m512i; 2]; R] {
    let mut acc = [[_mm512_setzero_si512(); 2]; R];
    for c in 0..d4 {
        // SAFETY: each group holds d4 steps of 64 bytes; each Q row d4·4 bytes.
        unsafe {
            let a = _mm512_loadu_si512(k0.add(c * 64) as *const _);
            let b = _mm512_loadu_si512(k1.add(c * 64) as *const _);
            for (x, ax) in acc.iter_mut().enumerate() {
                let qb = _mm512_set1_epi32((q[x].add(c * 4) as *const i32).read_unaligned());
                ax[0] = _mm512_dpbusd_epi32(ax[0], qb, a);
                ax[1] = _mm512_dpbusd_epi32(ax[1], qb, b);
            }
        }
    }
    acc
}

/// 16 scores from the unsigned sums of keys `j0..j0 + 16`: the signed dot
/// (`sum − 128·Σk`), `f32(dot)`, then the scales in the variant's order.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn scores16(
    acc: __m512i,
    kp: &PackedK,
    j0: usize,
    sq: f32,
    order: SageScore,
    dst: *mut f32,
) {
    // SAFETY: ksum and sk hold every packed key; dst has 16 floats.
    unsafe {
        let ks = _mm512_loadu_si512(kp.ksum.as_ptr().add(j0) as *const _);
        let dot = _mm512_sub_epi32(acc, _mm512_slli_epi32::<7>(ks));
        let s = _mm512_cvtepi32_ps(dot);
        let sk = _mm512_loadu_ps(kp.sk.as_ptr().add(j0));
        let sqv = _mm512_set1_ps(sq);
        let y = match order {
            SageScore::V1 => _mm512_mul_ps(_mm512_mul_ps(s, sqv), sk),
            SageScore::V2 => _mm512_mul_ps(s, _mm512_mul_ps(sqv, sk)),
        };
        _mm512_storeu_ps(dst, y);
    }
}

/// The largest score of a tile as the emulation's fold computes it
/// (`f32::max` from −inf, which skips NaN): lane-wise when no lane is NaN
/// (the maximum of numbers is exact in any order; a ±0 tie cannot change
/// a later bit, since only `2^(x − m)` reads it), else the scalar fold.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn tile_max(tile: &[f32]) -> f32 {
    let n = tile.len();
    let mut m = _mm512_set1_ps(f32::NEG_INFINITY);
    let mut nan: __mmask16 = 0;
    let mut j = 0;
    while j < n {
        let k = lanes(n - j);
        // SAFETY: masked to elements below n.
        let x = unsafe { _mm512_mask_loadu_ps(m, k, tile.as_ptr().add(j)) };
        nan |= _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(x, x);
        m = _mm512_max_ps(m, x);
        j += 16;
    }
    if nan != 0 {
        return tile.iter().fold(f32::NEG_INFINITY, |u, &w| u.max(w));
    }
    _mm512_reduce_max_ps(m)
}

/// `Σ_j p_rj` for rows `first..len.len()` of the score buffer, each in key
/// order from +0 (the emulation's sum), the rows in the lanes: one masked
/// gather per key.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn row_sums(s: &[f32], stride: usize, len: &[usize], first: usize) -> [f32; QB] {
    let nr = len.len();
    let longest = len[first..].iter().copied().max().unwrap_or(0);
    let idx = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(stride as i32),
    );
    let lens = {
        let mut l = [0i32; QB];
        for r in first..nr {
            l[r] = len[r] as i32;
        }
        // SAFETY: l holds 16 ints.
        unsafe { _mm512_loadu_si512(l.as_ptr() as *const _) }
    };
    let mut acc = _mm512_setzero_ps();
    for j in 0..longest {
        let k = _mm512_cmpgt_epi32_mask(lens, _mm512_set1_epi32(j as i32));
        // SAFETY: lane r is read only when key j < len[r] ≤ stride, inside row r.
        let p = unsafe {
            _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), k, idx, s.as_ptr().add(j))
        };
        acc = _mm512_mask_add_ps(acc, k, acc, p);
    }
    let mut out = [0.0f32; QB];
    // SAFETY: out holds 16 floats.
    unsafe { _mm512_storeu_ps(out.as_mut_ptr(), acc) };
    out
}

/// The weight each P·V step multiplies V by: `fp16(p)` or `e4m3(p·448)`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,f16c")]
unsafe fn weights(p: &[f32], pv: SagePv, out: &mut [f32]) {
    let n = p.len();
    let mut j = 0;
    while j + 16 <= n {
        // SAFETY: j + 16 ≤ n ≤ out.len().
        unsafe {
            let x = _mm512_loadu_ps(p.as_ptr().add(j));
            let y = match pv {
                SagePv::Fp16 => _mm512_cvtph_ps(_mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(x)),
                SagePv::Fp8F32 | SagePv::Fp8Fp16 => {
                    e4m3_16(_mm512_mul_ps(x, _mm512_set1_ps(448.0)))
                }
            };
            _mm512_storeu_ps(out.as_mut_ptr().add(j), y);
        }
        j += 16;
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
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) unsafe fn e4m3_16(x: __m512) -> __m512 {
    let sign = _mm512_set1_epi32(i32::MIN);
    let xb = _mm512_castps_si512(x);
    let ab = _mm512_andnot_si512(sign, xb);
    let a = _mm512_castsi512_ps(ab);
    let lsb = _mm512_and_si512(_mm512_srli_epi32::<20>(ab), _mm512_set1_epi32(1));
    let nb = _mm512_and_si512(
        _mm512_add_epi32(_mm512_add_epi32(ab, _mm512_set1_epi32(0x7FFFF)), lsb),
        _mm512_set1_epi32(!0xFFFFF),
    );
    let normal = _mm512_min_ps(_mm512_castsi512_ps(nb), _mm512_set1_ps(448.0));
    let magic = _mm512_set1_ps(12_582_912.0);
    let t = _mm512_mul_ps(a, _mm512_set1_ps(512.0));
    let sub = _mm512_div_ps(
        _mm512_sub_ps(_mm512_add_ps(t, magic), magic),
        _mm512_set1_ps(512.0),
    );
    let is_normal = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(a, _mm512_set1_ps(0.015625));
    let r = _mm512_mask_blend_ps(is_normal, sub, normal);
    let r = _mm512_castsi512_ps(_mm512_or_si512(
        _mm512_castps_si512(r),
        _mm512_and_si512(xb, sign),
    ));
    let nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(x, x);
    _mm512_mask_blend_ps(nan, r, x)
}

/// `acc_c = acc_c · a`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn scale(acc: &mut [f32], a: f32) {
    let d = acc.len();
    let av = _mm512_set1_ps(a);
    let mut c = 0;
    while c < d {
        let m = lanes(d - c);
        // SAFETY: the mask covers only channels below d.
        unsafe {
            let p = acc.as_mut_ptr().add(c);
            _mm512_mask_storeu_ps(p, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, p), av));
        }
        c += 16;
    }
}

/// The mask of the first `min(n, 16)` lanes.
#[inline(always)]
fn lanes(n: usize) -> __mmask16 {
    if n >= 16 {
        0xFFFF
    } else {
        ((1u32 << n) - 1) as __mmask16
    }
}

/// One P·V chunk: `b_c` from +0 over the chunk's keys in order (the
/// variant's step), then `acc_c += b_c`. Up to 128 channels' partial sums
/// stay in registers across the keys.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,f16c")]
unsafe fn pv_chunk(acc: &mut [f32], p: &[f32], v: &[f32], pv: SagePv) {
    let d = acc.len();
    let mut c = 0;
    while c < d {
        let w = (d - c).min(128);
        // SAFETY: channels c..c + w lie inside every row of v and acc.
        unsafe {
            match w.div_ceil(16) {
                1 => pv_kind::<1>(acc, p, v, c, w, pv),
                2 => pv_kind::<2>(acc, p, v, c, w, pv),
                3 => pv_kind::<3>(acc, p, v, c, w, pv),
                4 => pv_kind::<4>(acc, p, v, c, w, pv),
                5 => pv_kind::<5>(acc, p, v, c, w, pv),
                6 => pv_kind::<6>(acc, p, v, c, w, pv),
                7 => pv_kind::<7>(acc, p, v, c, w, pv),
                _ => pv_kind::<8>(acc, p, v, c, w, pv),
            }
        }
        c += w;
    }
}

/// [`pv_block`] chosen at compile time by step and by whether every lane
/// is in use (plain loads, no mask registers to hold).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,f16c")]
unsafe fn pv_kind<const NV: usize>(
    acc: &mut [f32],
    p: &[f32],
    v: &[f32],
    c: usize,
    w: usize,
    pv: SagePv,
) {
    // SAFETY: as pv_chunk's.
    unsafe {
        match (w == 16 * NV, pv == SagePv::Fp8F32) {
            (true, true) => pv_block::<NV, true, true>(acc, p, v, c, w),
            (true, false) => pv_block::<NV, true, false>(acc, p, v, c, w),
            (false, true) => pv_block::<NV, false, true>(acc, p, v, c, w),
            (false, false) => pv_block::<NV, false, false>(acc, p, v, c, w),
        }
    }
}

/// [`pv_chunk`] on channels `c..c + w` (`NV` registers, the last masked
/// unless `FULL`); `FMA`: the FP8 step with f32 sums, else the FP16 step.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,f16c")]
unsafe fn pv_block<const NV: usize, const FULL: bool, const FMA: bool>(
    acc: &mut [f32],
    p: &[f32],
    v: &[f32],
    c: usize,
    w: usize,
) {
    let d = acc.len();
    let mask: [__mmask16; NV] = std::array::from_fn(|x| lanes(w - (16 * x).min(w)));
    let mut b = [_mm512_setzero_ps(); NV];
    for (j, &pj) in p.iter().enumerate() {
        let pb = _mm512_set1_ps(pj);
        // SAFETY: row j of v holds channels c..c + w (masked loads).
        let row = unsafe { v.as_ptr().add(j * d + c) };
        for x in 0..NV {
            let vx = unsafe {
                if FULL {
                    _mm512_loadu_ps(row.add(16 * x))
                } else {
                    _mm512_maskz_loadu_ps(mask[x], row.add(16 * x))
                }
            };
            b[x] = if FMA {
                // p8·v (two e4m3 values) is exact in f32, so the fused
                // form rounds once where `b + p8·v` rounds once too.
                _mm512_fmadd_ps(pb, vx, b[x])
            } else {
                fp16_mac16(b[x], pb, vx)
            };
        }
    }
    for x in 0..NV {
        // SAFETY: masked to channels below c + w ≤ d.
        unsafe {
            let a = acc.as_mut_ptr().add(c + 16 * x);
            let s = _mm512_add_ps(_mm512_maskz_loadu_ps(mask[x], a), b[x]);
            _mm512_mask_storeu_ps(a, mask[x], s);
        }
    }
}

/// The P·V step ([`pv_block`]'s, FMA or FP16 by `pv`) of [`PR`] rows over
/// the same `n` keys: per row and channel `b_c` from +0 over the keys in
/// order, then `acc_c += b_c`; the rows share every V register. Channels
/// run 64 at a time, the last group masked. For the FP16 step this also
/// gives `PR` times the independent chains: one row's `fp16(b + p·v)`
/// (round-to-odd add, `vcvtps2ph`, `vcvtph2ps`) is a long dependency per
/// key, and at d = 32 one row has only two registers of them.
///
/// # Safety
/// Each `acc[x]` holds `d` floats, each `p[x]` `n`; `v` holds `n·d`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,f16c")]
unsafe fn pv_rows(
    acc: [*mut f32; PR],
    p: [*const f32; PR],
    n: usize,
    v: &[f32],
    d: usize,
    pv: SagePv,
) {
    debug_assert!(v.len() >= n * d);
    let fma = pv == SagePv::Fp8F32;
    let mut c = 0;
    while c < d {
        let w = (d - c).min(64);
        // SAFETY: as this function's; channels c..c + w lie inside d.
        unsafe {
            match (w.div_ceil(16), w.is_multiple_of(16), fma) {
                (4, true, true) => pv_rows_nv::<4, true, true>(acc, p, n, v, d, c, w),
                (4, false, true) => pv_rows_nv::<4, false, true>(acc, p, n, v, d, c, w),
                (3, _, true) => pv_rows_nv::<3, false, true>(acc, p, n, v, d, c, w),
                (2, _, true) => pv_rows_nv::<2, false, true>(acc, p, n, v, d, c, w),
                (_, _, true) => pv_rows_nv::<1, false, true>(acc, p, n, v, d, c, w),
                (4, true, false) => pv_rows_nv::<4, true, false>(acc, p, n, v, d, c, w),
                (4, false, false) => pv_rows_nv::<4, false, false>(acc, p, n, v, d, c, w),
                (3, _, false) => pv_rows_nv::<3, false, false>(acc, p, n, v, d, c, w),
                (2, true, false) => pv_rows_nv::<2, true, false>(acc, p, n, v, d, c, w),
                (2, false, false) => pv_rows_nv::<2, false, false>(acc, p, n, v, d, c, w),
                (_, _, false) => pv_rows_nv::<1, false, false>(acc, p, n, v, d, c, w),
            }
        }
        c += w;
    }
}

/// [`pv_rows`] on channels `c..c + w` in `NV` registers (the last masked
/// unless `FULL`); `FMA`: the FP8 step with f32 sums, else the FP16 step.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,f16c")]
unsafe fn pv_rows_nv<const NV: usize, const FULL: bool, const FMA: bool>(
    acc: [*mut f32; PR],
    p: [*const f32; PR],
    n: usize,
    v: &[f32],
    d: usize,
    c: usize,
    w: usize,
) {
    let mask: [__mmask16; NV] = std::array::from_fn(|x| lanes(w - (16 * x).min(w)));
    let mut b = [[_mm512_setzero_ps(); NV]; PR];
    for j in 0..n {
        // SAFETY: row j of v holds channels c..c + w (masked loads).
        let row = unsafe { v.as_ptr().add(j * d + c) };
        let vx: [__m512; NV] = std::array::from_fn(|x| unsafe {
            if FULL {
                _mm512_loadu_ps(row.add(16 * x))
            } else {
                _mm512_maskz_loadu_ps(mask[x], row.add(16 * x))
            }
        });
        for (br, &pr) in b.iter_mut().zip(&p) {
            // SAFETY: p[x] holds n weights.
            let pb = _mm512_set1_ps(unsafe { *pr.add(j) });
            for x in 0..NV {
                br[x] = if FMA {
                    // Exact product, one rounding: as pv_block's FMA step.
                    _mm512_fmadd_ps(pb, vx[x], br[x])
                } else {
                    // pv_block's FP16 step.
                    fp16_mac16(br[x], pb, vx[x])
                };
            }
        }
    }
    for (br, &a) in b.iter().zip(&acc) {
        for x in 0..NV {
            // SAFETY: masked to channels below c + w ≤ d of a d-float row.
            unsafe {
                let a = a.add(c + 16 * x);
                let s = _mm512_add_ps(_mm512_maskz_loadu_ps(mask[x], a), br[x]);
                _mm512_mask_storeu_ps(a, mask[x], s);
            }
        }
    }
}

/// `fp16(x + p·v)` lane-wise for fp16 `x` and a product `p·v` exact in
/// f32 (of two fp16 or e4m3 values): the f32 sum rounded to odd, then RNE
/// to fp16 — one rounding to nearest (24 ≥ 11 + 2). The sum rounded down
/// and up are fused multiply-adds with embedded rounding modes (the
/// product is exact, so each rounds the exact sum once, as an add of the
/// product would; no f32 overflow: |x + p·v| < 2^33). They are equal when
/// the sum is exact and adjacent bit patterns when it is not, so its
/// round-to-odd is whichever of the two has an odd pattern (the rounded-up
/// one when both are even, i.e. equal — or −0 and +0 for an exact zero sum
/// of opposite signs, where +0 is the sum's own sign under RNE). Two FMAs,
/// a bit test and a blend: a multiply, an add and a compare fewer than
/// the product, the sum rounded toward zero and its last bit set when the
/// sums rounded down and up differ.
#[inline(always)]
unsafe fn fp16_mac16(x: __m512, p: __m512, v: __m512) -> __m512 {
    const RD: i32 = _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC;
    const RU: i32 = _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC;
    // SAFETY (whole body): called only from functions enabling AVX-512 F/BW/VL.
    unsafe {
        let down = _mm512_fmadd_round_ps::<RD>(p, v, x);
        let up = _mm512_fmadd_round_ps::<RU>(p, v, x);
        let down_odd = _mm512_test_epi32_mask(_mm512_castps_si512(down), _mm512_set1_epi32(1));
        let odd = _mm512_mask_blend_ps(down_odd, up, down);
        _mm512_cvtph_ps(_mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(odd))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lane-wise e4m3 rounding equals the scalar one on the shared
    /// sweep.
    #[test]
    fn e4m3_lanes_equal_the_scalar_rounding() {
        if !(is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw")) {
            eprintln!("no AVX-512 on this CPU: the lane form cannot run here");
            return;
        }
        let mut out = [0.0f32; 16];
        for chunk in sageblk::tests::e4m3_sweep(16).chunks(16) {
            // SAFETY: AVX-512 F/BW checked above; both buffers hold 16 floats.
            unsafe {
                _mm512_storeu_ps(out.as_mut_ptr(), e4m3_16(_mm512_loadu_ps(chunk.as_ptr())));
            }
            sageblk::tests::check_e4m3(chunk, &out);
        }
    }
}
