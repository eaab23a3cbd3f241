//! The AVX2 path of the attention kernels: the [`Kern`] steps with AVX2,
//! FMA and F16C, and the entry points that run the shared row algorithms
//! with them (compiled with those features so everything inlines).

use super::{Dims, Job, Kern, Keys, Method, Round, SageBlocks, SageHead, SageMask, State, GROUP};
use crate::arith::exp::avx2::{exp8, exp_shifted};
use crate::arith::exp::exp_f32;
use std::arch::x86_64::*;

/// The AVX2 steps. Only constructed inside `target_feature` entry points
/// (below and in `sorted`), so its methods run on CPUs with AVX2, FMA and
/// F16C (the f32 steps need AVX2 and FMA only).
pub(super) struct Avx2;

impl Kern for Avx2 {
    #[inline(always)]
    fn scores(&self, keys: Keys, q: &[f32], sc: f32, t0: usize, t1: usize, out: &mut [f32]) {
        // SAFETY: `Avx2` exists only inside the entry points (module docs).
        unsafe {
            match keys {
                Keys::Packed(kp) => scores_packed(kp, q, sc, t0, t1, out),
                Keys::Rows(k) => scores_rows(k, q, sc, t0, t1, out),
            }
        }
    }

    #[inline(always)]
    fn pv(&self, acc: &mut [f32], p: f32, v: &[f32]) {
        // SAFETY: as above.
        unsafe { pv(acc, p, v) }
    }

    #[inline(always)]
    fn scale(&self, acc: &mut [f32], a: f32) {
        // SAFETY: as above.
        unsafe { scale(acc, a) }
    }

    #[inline(always)]
    fn exp_shifted(&self, tile: &mut [f32], m: f32) {
        // SAFETY: as above.
        unsafe { exp_shifted(tile, m) }
    }

    #[inline(always)]
    fn pv_tile(&self, acc: &mut [f32], p: &[f32], v: &[f32]) {
        // SAFETY: as above.
        unsafe { pv_tile(acc, p, v) }
    }

    #[inline(always)]
    fn int_dot(&self, a: &[i8], b: &[i8]) -> i32 {
        // SAFETY: as above.
        unsafe { int_dot(a, b) }
    }

    #[inline(always)]
    fn fp16_mac(&self, b: &mut [f32], p: f32, v: &[f32]) {
        // SAFETY: as above.
        unsafe { fp16_mac(b, p, v) }
    }

    #[inline(always)]
    fn mul_add(&self, b: &mut [f32], p: f32, v: &[f32]) {
        // SAFETY: as above.
        unsafe { mul_add(b, p, v) }
    }
}

/// [`super::whole_row`] with the AVX2 steps.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn whole_row(job: &Job, method: Method, r: usize, o: &mut [f64]) {
    super::whole_row(&Avx2, job, method, r, o)
}

/// [`super::chunk_state`] with the AVX2 steps.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn chunk_state(
    job: &Job,
    r: usize,
    range: (usize, usize),
    b_c: usize,
) -> Option<State> {
    super::chunk_state(&Avx2, job, r, range, b_c)
}

/// [`super::sage_row`] with the AVX2 steps.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn sage_row(
    hd: &SageHead,
    dims: Dims,
    blocks: SageBlocks,
    mask: Option<&SageMask>,
    i: usize,
    o: &mut [f64],
) {
    super::sage_row(&Avx2, hd, dims, blocks, mask, i, o)
}

/// [`super::sale::select_qblock`] with the AVX2 steps.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn sale_qblock(job: &super::sale::QJob, keep: &mut [bool]) {
    super::sale::select_qblock(&Avx2, job, keep)
}

/// A SALE row's threshold ([`super::sale::threshold_with`]) with the AVX2
/// steps.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn sale_threshold(job: &super::sale::QJob, i: usize, s: &mut [f32]) -> f32 {
    super::sale::threshold_with(&Avx2, job, i, s)
}

/// The exact int32 dot ([`Kern::int_dot`]'s AVX2 step) on its own.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn int_dot_entry(a: &[i8], b: &[i8]) -> i32 {
    // SAFETY: as this function's.
    unsafe { int_dot(a, b) }
}

/// Scores from packed K: whole groups covering `[t0, t1)`, four groups at a
/// time (four independent FMA chains); lanes outside the range are dropped.
#[target_feature(enable = "avx2,fma")]
unsafe fn scores_packed(kp: &[f32], q: &[f32], sc: f32, t0: usize, t1: usize, out: &mut [f32]) {
    let d = q.len();
    let (g0, g1) = (t0 / GROUP, t1.div_ceil(GROUP));
    assert!(kp.len() >= g1 * d * GROUP);
    let scv = _mm256_set1_ps(sc);
    let mut buf = [0.0f32; 4 * GROUP];
    let mut keep = |g: usize, n: usize, buf: &[f32]| {
        for (lane, val) in buf[..n * GROUP].iter().enumerate() {
            let j = g * GROUP + lane;
            if j >= t0 && j < t1 {
                out[j - t0] = *val;
            }
        }
    };
    let mut g = g0;
    while g + 4 <= g1 {
        // SAFETY: groups g..g+4 lie inside kp (asserted); q holds d values.
        unsafe {
            let p = kp.as_ptr().add(g * d * GROUP);
            let stride = d * GROUP;
            let (mut a0, mut a1, mut a2, mut a3) = (
                _mm256_setzero_ps(),
                _mm256_setzero_ps(),
                _mm256_setzero_ps(),
                _mm256_setzero_ps(),
            );
            for c in 0..d {
                let qc = _mm256_set1_ps(*q.get_unchecked(c));
                let o = c * GROUP;
                a0 = _mm256_fmadd_ps(qc, _mm256_loadu_ps(p.add(o)), a0);
                a1 = _mm256_fmadd_ps(qc, _mm256_loadu_ps(p.add(stride + o)), a1);
                a2 = _mm256_fmadd_ps(qc, _mm256_loadu_ps(p.add(2 * stride + o)), a2);
                a3 = _mm256_fmadd_ps(qc, _mm256_loadu_ps(p.add(3 * stride + o)), a3);
            }
            let b = buf.as_mut_ptr();
            _mm256_storeu_ps(b, _mm256_mul_ps(a0, scv));
            _mm256_storeu_ps(b.add(8), _mm256_mul_ps(a1, scv));
            _mm256_storeu_ps(b.add(16), _mm256_mul_ps(a2, scv));
            _mm256_storeu_ps(b.add(24), _mm256_mul_ps(a3, scv));
        }
        keep(g, 4, &buf);
        g += 4;
    }
    while g < g1 {
        // SAFETY: group g lies inside kp.
        unsafe {
            let p = kp.as_ptr().add(g * d * GROUP);
            let mut a = _mm256_setzero_ps();
            for c in 0..d {
                let qc = _mm256_set1_ps(*q.get_unchecked(c));
                a = _mm256_fmadd_ps(qc, _mm256_loadu_ps(p.add(c * GROUP)), a);
            }
            _mm256_storeu_ps(buf.as_mut_ptr(), _mm256_mul_ps(a, scv));
        }
        keep(g, 1, &buf);
        g += 1;
    }
}

/// Columns of an 8×8 block of f32 rows (row i in lane i of every output).
#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    [
        _mm256_permute2f128_ps::<0x20>(u0, u4),
        _mm256_permute2f128_ps::<0x20>(u1, u5),
        _mm256_permute2f128_ps::<0x20>(u2, u6),
        _mm256_permute2f128_ps::<0x20>(u3, u7),
        _mm256_permute2f128_ps::<0x31>(u0, u4),
        _mm256_permute2f128_ps::<0x31>(u1, u5),
        _mm256_permute2f128_ps::<0x31>(u2, u6),
        _mm256_permute2f128_ps::<0x31>(u3, u7),
    ]
}

/// Scores from row-major K: 8 keys at a time, each 8×8 block of K
/// transposed in registers so lanes run across keys and every key's chain
/// stays in channel order; channels past the last multiple of 8 and keys
/// past the last whole group by scalar FMA chains (the same bits).
#[target_feature(enable = "avx2,fma")]
unsafe fn scores_rows(k: &[f32], q: &[f32], sc: f32, t0: usize, t1: usize, out: &mut [f32]) {
    let d = q.len();
    let d8 = d / 8 * 8;
    assert!(k.len() >= t1 * d);
    let scv = _mm256_set1_ps(sc);
    let mut j = t0;
    // Four groups of 8 keys at a time: four independent FMA chains.
    while j + 4 * GROUP <= t1 {
        // SAFETY: keys j..j+32 lie inside k (asserted); q holds d values.
        unsafe {
            let p = k.as_ptr().add(j * d);
            let mut a = [_mm256_setzero_ps(); 4];
            let mut c = 0;
            while c < d8 {
                for (g, ag) in a.iter_mut().enumerate() {
                    let pg = p.add(g * GROUP * d);
                    let rows: [__m256; 8] =
                        std::array::from_fn(|i| _mm256_loadu_ps(pg.add(i * d + c)));
                    let cols = transpose8(rows);
                    for (kk, col) in cols.iter().enumerate() {
                        let qc = _mm256_set1_ps(*q.get_unchecked(c + kk));
                        *ag = _mm256_fmadd_ps(qc, *col, *ag);
                    }
                }
                c += 8;
            }
            while c < d {
                let qc = _mm256_set1_ps(*q.get_unchecked(c));
                for (g, ag) in a.iter_mut().enumerate() {
                    let pg = p.add(g * GROUP * d + c);
                    let col = _mm256_setr_ps(
                        *pg,
                        *pg.add(d),
                        *pg.add(2 * d),
                        *pg.add(3 * d),
                        *pg.add(4 * d),
                        *pg.add(5 * d),
                        *pg.add(6 * d),
                        *pg.add(7 * d),
                    );
                    *ag = _mm256_fmadd_ps(qc, col, *ag);
                }
                c += 1;
            }
            for (g, ag) in a.iter().enumerate() {
                _mm256_storeu_ps(
                    out.as_mut_ptr().add(j - t0 + g * GROUP),
                    _mm256_mul_ps(*ag, scv),
                );
            }
        }
        j += 4 * GROUP;
    }
    while j + GROUP <= t1 {
        // SAFETY: keys j..j+8 lie inside k (asserted); q holds d values.
        unsafe {
            let p = k.as_ptr().add(j * d);
            let mut a = _mm256_setzero_ps();
            let mut c = 0;
            while c < d8 {
                let rows: [__m256; 8] = std::array::from_fn(|i| _mm256_loadu_ps(p.add(i * d + c)));
                let cols = transpose8(rows);
                for (kk, col) in cols.iter().enumerate() {
                    let qc = _mm256_set1_ps(*q.get_unchecked(c + kk));
                    a = _mm256_fmadd_ps(qc, *col, a);
                }
                c += 8;
            }
            while c < d {
                let col = _mm256_setr_ps(
                    *p.add(c),
                    *p.add(d + c),
                    *p.add(2 * d + c),
                    *p.add(3 * d + c),
                    *p.add(4 * d + c),
                    *p.add(5 * d + c),
                    *p.add(6 * d + c),
                    *p.add(7 * d + c),
                );
                a = _mm256_fmadd_ps(_mm256_set1_ps(*q.get_unchecked(c)), col, a);
                c += 1;
            }
            _mm256_storeu_ps(out.as_mut_ptr().add(j - t0), _mm256_mul_ps(a, scv));
        }
        j += GROUP;
    }
    while j < t1 {
        let mut a = 0.0f32;
        for (qc, kc) in q.iter().zip(&k[j * d..(j + 1) * d]) {
            a = qc.mul_add(*kc, a);
        }
        out[j - t0] = a * sc;
        j += 1;
    }
}

/// `acc_c = fma(p, v_c, acc_c)`.
#[target_feature(enable = "avx2,fma")]
unsafe fn pv(acc: &mut [f32], p: f32, v: &[f32]) {
    let d = acc.len().min(v.len());
    let n8 = d / 8 * 8;
    let pb = _mm256_set1_ps(p);
    let mut c = 0;
    while c < n8 {
        // SAFETY: c + 8 ≤ n8 ≤ both lengths.
        unsafe {
            let ap = acc.as_mut_ptr().add(c);
            let x = _mm256_loadu_ps(v.as_ptr().add(c));
            _mm256_storeu_ps(ap, _mm256_fmadd_ps(pb, x, _mm256_loadu_ps(ap)));
        }
        c += 8;
    }
    for c in n8..d {
        acc[c] = p.mul_add(v[c], acc[c]);
    }
}

/// `b_c = b_c + p·v_c` (`vmulps` then `vaddps`: two roundings, as the
/// scalar definition).
#[target_feature(enable = "avx2")]
unsafe fn mul_add(b: &mut [f32], p: f32, v: &[f32]) {
    let d = b.len().min(v.len());
    let n8 = d / 8 * 8;
    let pb = _mm256_set1_ps(p);
    let mut c = 0;
    while c < n8 {
        // SAFETY: c + 8 ≤ n8 ≤ both lengths.
        unsafe {
            let bp = b.as_mut_ptr().add(c);
            let y = _mm256_mul_ps(pb, _mm256_loadu_ps(v.as_ptr().add(c)));
            _mm256_storeu_ps(bp, _mm256_add_ps(_mm256_loadu_ps(bp), y));
        }
        c += 8;
    }
    for c in n8..d {
        b[c] += p * v[c];
    }
}

/// One row's P·V over a tile: `acc_c = fma(p_j, v_jc, acc_c)` for the
/// tile's keys in order, 64 channels' accumulators held in registers
/// across the keys (then 8, then scalar).
#[target_feature(enable = "avx2,fma")]
unsafe fn pv_tile(acc: &mut [f32], p: &[f32], v: &[f32]) {
    let d = acc.len();
    let n = p.len();
    assert!(v.len() >= n * d);
    let (a, vp) = (acc.as_mut_ptr(), v.as_ptr());
    let mut c = 0;
    // SAFETY (whole body): c + width ≤ d, keys < n, and v holds n rows of d.
    unsafe {
        while c + 64 <= d {
            let mut r: [__m256; 8] = std::array::from_fn(|x| _mm256_loadu_ps(a.add(c + 8 * x)));
            for (j, pj) in p.iter().enumerate() {
                let pb = _mm256_set1_ps(*pj);
                let row = vp.add(j * d + c);
                for (x, rx) in r.iter_mut().enumerate() {
                    *rx = _mm256_fmadd_ps(pb, _mm256_loadu_ps(row.add(8 * x)), *rx);
                }
            }
            for (x, rx) in r.iter().enumerate() {
                _mm256_storeu_ps(a.add(c + 8 * x), *rx);
            }
            c += 64;
        }
        while c + 8 <= d {
            let mut r = _mm256_loadu_ps(a.add(c));
            for (j, pj) in p.iter().enumerate() {
                r = _mm256_fmadd_ps(_mm256_set1_ps(*pj), _mm256_loadu_ps(vp.add(j * d + c)), r);
            }
            _mm256_storeu_ps(a.add(c), r);
            c += 8;
        }
        for cc in c..d {
            let mut s = *a.add(cc);
            for (j, pj) in p.iter().enumerate() {
                s = pj.mul_add(*vp.add(j * d + cc), s);
            }
            *a.add(cc) = s;
        }
    }
}

/// `acc_c = acc_c · a`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn scale(acc: &mut [f32], a: f32) {
    let n8 = acc.len() / 8 * 8;
    let ab = _mm256_set1_ps(a);
    let mut c = 0;
    while c < n8 {
        // SAFETY: c + 8 ≤ n8 ≤ acc.len().
        unsafe {
            let ap = acc.as_mut_ptr().add(c);
            _mm256_storeu_ps(ap, _mm256_mul_ps(_mm256_loadu_ps(ap), ab));
        }
        c += 8;
    }
    for x in acc[n8..].iter_mut() {
        *x *= a;
    }
}

/// The exact int32 dot: int8 widened to int16, `vpmaddwd` pairs to int32.
#[target_feature(enable = "avx2")]
unsafe fn int_dot(a: &[i8], b: &[i8]) -> i32 {
    let n = a.len().min(b.len());
    let n16 = n / 16 * 16;
    let mut acc = _mm256_setzero_si256();
    let mut c = 0;
    while c < n16 {
        // SAFETY: c + 16 ≤ n16 ≤ both lengths.
        unsafe {
            let x = _mm256_cvtepi8_epi16(_mm_loadu_si128(a.as_ptr().add(c) as *const __m128i));
            let y = _mm256_cvtepi8_epi16(_mm_loadu_si128(b.as_ptr().add(c) as *const __m128i));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(x, y));
        }
        c += 16;
    }
    let lo = _mm256_castsi256_si128(acc);
    let hi = _mm256_extracti128_si256::<1>(acc);
    let s = _mm_add_epi32(lo, hi);
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0x4E>(s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0xB1>(s));
    let mut total = _mm_cvtsi128_si32(s);
    for c in n16..n {
        total += a[c] as i32 * b[c] as i32;
    }
    total
}

/// `b_c = fp16(b_c + p·v_c)`: the product exact in f32, the sum rounded to
/// odd in f32 (TwoSum gives its exact error), then RNE to fp16 (module docs).
#[target_feature(enable = "avx2,f16c")]
unsafe fn fp16_mac(b: &mut [f32], p: f32, v: &[f32]) {
    let d = b.len().min(v.len());
    let n8 = d / 8 * 8;
    let pb = _mm256_set1_ps(p);
    let mut c = 0;
    while c < n8 {
        // SAFETY: c + 8 ≤ n8 ≤ both lengths.
        unsafe {
            let bp = b.as_mut_ptr().add(c);
            let y = _mm256_mul_ps(pb, _mm256_loadu_ps(v.as_ptr().add(c)));
            _mm256_storeu_ps(bp, fp16_mac8(_mm256_loadu_ps(bp), y));
        }
        c += 8;
    }
    for c in n8..d {
        b[c] = crate::arith::fp16::fp16_rne(b[c] as f64 + p as f64 * v[c] as f64);
    }
}

/// Sixteen floats rounded to fp16 (RNE) and back, in place.
///
/// # Safety
/// The CPU must support F16C (and AVX).
#[inline]
#[target_feature(enable = "avx,f16c")]
pub(super) unsafe fn round_fp16_16(y: &mut [f32; 16]) {
    // SAFETY: two 8-float halves of a 16-float array.
    unsafe {
        for h in 0..2 {
            let p = y.as_mut_ptr().add(8 * h);
            let r = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(_mm256_loadu_ps(p));
            _mm256_storeu_ps(p, _mm256_cvtph_ps(r));
        }
    }
}

/// `fp16(x + y)` lane-wise for fp16 `x` and an exact product `y` (of two
/// fp16 or e4m3 values): the f32 sum rounded to odd (TwoSum gives its exact
/// error), then RNE to fp16 by `vcvtps2ph` — one rounding to nearest.
#[inline]
#[target_feature(enable = "avx2,f16c")]
pub(super) fn fp16_mac8(x: __m256, y: __m256) -> __m256 {
    let one = _mm256_set1_epi32(1);
    let s = _mm256_add_ps(x, y);
    // TwoSum: err = (x − (s − yy)) + (y − yy), yy = s − x.
    let yy = _mm256_sub_ps(s, x);
    let err = _mm256_add_ps(_mm256_sub_ps(x, _mm256_sub_ps(s, yy)), _mm256_sub_ps(y, yy));
    let sb = _mm256_castps_si256(s);
    let inexact = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_NEQ_OQ>(err, _mm256_setzero_ps()));
    let even = _mm256_cmpeq_epi32(_mm256_and_si256(sb, one), _mm256_setzero_si256());
    // +1 ulp of magnitude when err has s's sign, −1 otherwise.
    let step = _mm256_or_si256(
        _mm256_srai_epi32::<31>(_mm256_xor_si256(sb, _mm256_castps_si256(err))),
        one,
    );
    let odd = _mm256_add_epi32(sb, _mm256_and_si256(_mm256_and_si256(inexact, even), step));
    _mm256_cvtph_ps(_mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(
        _mm256_castsi256_ps(odd),
    ))
}

/// Query rows per block of the blocked flash path: the block walks the K/V
/// tiles together (each tile is read from cache once per block, not once
/// per row), in register sub-blocks of [`SUB`] rows.
pub(super) const QBLOCK: usize = 16;
/// Rows per register tile of the score and P·V micro-kernels.
const SUB: usize = 4;

/// Rows `i0..i0 + o.len()/d` (at most [`QBLOCK`]) of head `h` through
/// FlashAttention's online softmax with packed K: the same per-row steps as
/// [`super::flash_range`] in the same order (every score one FMA chain in
/// channel order times `sc`; the tile max, α, every `p = exp(s − m')` by
/// the shared exponential's SIMD form, the row sum in key order; then
/// `a_c·α` and `a_c = fma(p̂_j, v_jc, a_c)` in key order), with the
/// arithmetic of four rows interleaved in registers: scores as a 4-row ×
/// 16-key FMA tile (two K vectors and four Q broadcasts feed eight chains),
/// P·V as a 4-row × 16-channel tile (two V vectors and four P broadcasts
/// feed eight accumulators held in registers across the tile's keys).
/// Interleaving rows changes no row's order of operations, so no bit.
///
/// # Safety
/// The CPU must support AVX2 and FMA; K of head `h` must be packed.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn flash_block(
    job: &Job,
    b_c: usize,
    round: Round,
    h: usize,
    i0: usize,
    o: &mut [f64],
) {
    let Dims { nq, nk, d, .. } = job.dims;
    let rows = o.len() / d;
    assert!(rows <= QBLOCK && i0 + rows <= nq);
    let Keys::Packed(kp) = job.keys[h] else {
        unreachable!("the blocked flash path runs on packed K only")
    };
    assert!(kp.len() >= nk.div_ceil(GROUP) * d * GROUP);
    let vh = &job.v[h * nk * d..(h + 1) * nk * d];
    let qh = &job.q[(h * nq + i0) * d..(h * nq + i0 + rows) * d];
    let vis: Vec<usize> = (0..rows).map(|r| job.dims.visible(i0 + r)).collect();
    let max_vis = vis.iter().copied().max().unwrap_or(0);
    // Scores of one row: whole groups from the tile's first group; the
    // tile starts `off` lanes into it.
    let stride = (b_c.div_ceil(GROUP) + 1) * GROUP + GROUP;
    let mut sbuf = vec![0.0f32; rows * stride];
    let mut pbuf = vec![0.0f32; rows * b_c];
    let mut acc = vec![0.0f32; rows * d];
    let mut m = vec![f32::NEG_INFINITY; rows];
    let mut l = vec![0.0f32; rows];
    let mut len = vec![0usize; rows];
    let mut t0 = 0;
    while t0 < max_vis {
        let tmax = (t0 + b_c).min(max_vis);
        let (g0, g1) = (t0 / GROUP, tmax.div_ceil(GROUP));
        let off = t0 - g0 * GROUP;
        let live: Vec<usize> = (0..rows).filter(|&r| vis[r] > t0).collect();
        // S = Q·Kᵀ for the live rows over whole groups g0..g1.
        for sub in live.chunks(SUB) {
            if sub.len() == SUB {
                let q: [&[f32]; SUB] = std::array::from_fn(|x| &qh[sub[x] * d..(sub[x] + 1) * d]);
                let out: [*mut f32; SUB] =
                    std::array::from_fn(|x| sbuf.as_mut_ptr().wrapping_add(sub[x] * stride));
                // SAFETY: each output row holds ≥ (g1 − g0)·8 floats
                // (stride > b_c/8·8 + 8 ≥ g1 − g0 groups), rows distinct.
                unsafe { scores4(kp, q, job.sc, g0, g1, out) };
            } else {
                for &r in sub {
                    let row = &mut sbuf[r * stride..(r + 1) * stride];
                    // SAFETY: as in `Avx2::scores` (a whole-group range).
                    unsafe {
                        scores_packed(
                            kp,
                            &qh[r * d..(r + 1) * d],
                            job.sc,
                            g0 * GROUP,
                            g1 * GROUP,
                            row,
                        )
                    };
                }
            }
        }
        // Softmax per row, in the order of `flash_range`.
        let mut act: Vec<usize> = Vec::with_capacity(rows);
        for &r in &live {
            let t1 = (t0 + b_c).min(vis[r]);
            let n = t1 - t0;
            let tile = &mut sbuf[r * stride + off..r * stride + off + n];
            let m_new = tile.iter().fold(m[r], |u, &w| u.max(w));
            if m_new == f32::NEG_INFINITY {
                continue;
            }
            let alpha = exp_f32(m[r] - m_new);
            let mn = _mm256_set1_ps(m_new);
            let mut jj = 0;
            while jj + 8 <= n {
                // SAFETY: jj + 8 ≤ n = tile.len().
                unsafe {
                    let p = tile.as_mut_ptr().add(jj);
                    _mm256_storeu_ps(p, exp8(_mm256_sub_ps(_mm256_loadu_ps(p), mn)));
                }
                jj += 8;
            }
            for p in tile[jj..].iter_mut() {
                *p = exp_f32(*p - m_new);
            }
            let mut sum = 0.0f32;
            for &p in tile.iter() {
                sum += p;
            }
            l[r] = l[r] * alpha + sum;
            // SAFETY: AVX2 (this function's features).
            unsafe { scale(&mut acc[r * d..(r + 1) * d], alpha) };
            for (pb, &p) in pbuf[r * b_c..r * b_c + n].iter_mut().zip(tile.iter()) {
                *pb = round.apply(p);
            }
            len[r] = n;
            m[r] = m_new;
            act.push(r);
        }
        // P·V: four rows at a time over the keys all four see, then each
        // row's remaining keys (each row's keys stay in order).
        let vt = &vh[t0 * d..];
        for sub in act.chunks(SUB) {
            let common = if sub.len() == SUB {
                let n = sub.iter().map(|&r| len[r]).min().unwrap_or(0);
                let p: [*const f32; SUB] = std::array::from_fn(|x| pbuf[sub[x] * b_c..].as_ptr());
                let a: [*mut f32; SUB] =
                    std::array::from_fn(|x| acc.as_mut_ptr().wrapping_add(sub[x] * d));
                assert!(vt.len() >= n * d);
                // SAFETY: p rows hold ≥ n values, acc rows d (distinct
                // rows), V holds n rows of d from the tile's start.
                unsafe { pv4(vt.as_ptr(), d, n, p, a) };
                n
            } else {
                0
            };
            for &r in sub {
                let a = &mut acc[r * d..(r + 1) * d];
                for jj in common..len[r] {
                    // SAFETY: AVX2 and FMA (this function's features).
                    unsafe { pv(a, pbuf[r * b_c + jj], &vt[jj * d..(jj + 1) * d]) };
                }
            }
        }
        t0 = tmax;
    }
    for (r, orow) in o.chunks_mut(d).enumerate() {
        for (oc, a) in orow.iter_mut().zip(&acc[r * d..(r + 1) * d]) {
            *oc = round.apply(a / l[r]) as f64;
        }
    }
}

/// Scores of four query rows over packed groups `g0..g1`: `out[x][8·(g −
/// g0) + lane] = dot_fma(q_x, k) · sc`, each an FMA chain in channel order.
/// Two groups × four rows = eight independent chains per step.
///
/// # Safety
/// AVX2 and FMA; every `out[x]` points at ≥ 8·(g1 − g0) writable floats,
/// the four distinct; `kp` holds groups up to g1.
#[target_feature(enable = "avx2,fma")]
unsafe fn scores4(
    kp: &[f32],
    q: [&[f32]; SUB],
    sc: f32,
    g0: usize,
    g1: usize,
    out: [*mut f32; SUB],
) {
    let d = q[0].len();
    assert!(kp.len() >= g1 * d * GROUP && q.iter().all(|r| r.len() == d));
    let scv = _mm256_set1_ps(sc);
    let stride = d * GROUP;
    let mut g = g0;
    // SAFETY (whole loop): groups g..g+2 ≤ g1 lie inside kp (asserted);
    // q rows hold d values; outputs as the caller promises.
    unsafe {
        while g + 2 <= g1 {
            let p = kp.as_ptr().add(g * stride);
            let mut a = [[_mm256_setzero_ps(); 2]; SUB];
            for c in 0..d {
                let k0 = _mm256_loadu_ps(p.add(c * GROUP));
                let k1 = _mm256_loadu_ps(p.add(stride + c * GROUP));
                for x in 0..SUB {
                    let qc = _mm256_set1_ps(*q[x].get_unchecked(c));
                    a[x][0] = _mm256_fmadd_ps(qc, k0, a[x][0]);
                    a[x][1] = _mm256_fmadd_ps(qc, k1, a[x][1]);
                }
            }
            let o = (g - g0) * GROUP;
            for x in 0..SUB {
                _mm256_storeu_ps(out[x].add(o), _mm256_mul_ps(a[x][0], scv));
                _mm256_storeu_ps(out[x].add(o + GROUP), _mm256_mul_ps(a[x][1], scv));
            }
            g += 2;
        }
        if g < g1 {
            let p = kp.as_ptr().add(g * stride);
            let mut a = [_mm256_setzero_ps(); SUB];
            for c in 0..d {
                let k0 = _mm256_loadu_ps(p.add(c * GROUP));
                for x in 0..SUB {
                    a[x] = _mm256_fmadd_ps(_mm256_set1_ps(*q[x].get_unchecked(c)), k0, a[x]);
                }
            }
            let o = (g - g0) * GROUP;
            for x in 0..SUB {
                _mm256_storeu_ps(out[x].add(o), _mm256_mul_ps(a[x], scv));
            }
        }
    }
}

/// P·V of four rows over `n` keys: `acc[x][c] = fma(p[x][j], v[j][c],
/// acc[x][c])` for j = 0..n in order, the accumulators held in registers
/// across the keys (16 channels × 4 rows at a time, then 8, then scalar).
///
/// # Safety
/// AVX2 and FMA; `v` holds n rows of d floats, every `p[x]` n floats, every
/// `acc[x]` d writable floats, the four distinct.
#[target_feature(enable = "avx2,fma")]
unsafe fn pv4(v: *const f32, d: usize, n: usize, p: [*const f32; SUB], acc: [*mut f32; SUB]) {
    // SAFETY (whole body): within the bounds the caller promises.
    unsafe {
        let mut c = 0;
        while c + 16 <= d {
            let mut a: [[__m256; 2]; SUB] = std::array::from_fn(|x| {
                [
                    _mm256_loadu_ps(acc[x].add(c)),
                    _mm256_loadu_ps(acc[x].add(c + 8)),
                ]
            });
            for j in 0..n {
                let vr = v.add(j * d + c);
                let v0 = _mm256_loadu_ps(vr);
                let v1 = _mm256_loadu_ps(vr.add(8));
                for x in 0..SUB {
                    let pb = _mm256_broadcast_ss(&*p[x].add(j));
                    a[x][0] = _mm256_fmadd_ps(pb, v0, a[x][0]);
                    a[x][1] = _mm256_fmadd_ps(pb, v1, a[x][1]);
                }
            }
            for x in 0..SUB {
                _mm256_storeu_ps(acc[x].add(c), a[x][0]);
                _mm256_storeu_ps(acc[x].add(c + 8), a[x][1]);
            }
            c += 16;
        }
        if c + 8 <= d {
            let mut a: [__m256; SUB] = std::array::from_fn(|x| _mm256_loadu_ps(acc[x].add(c)));
            for j in 0..n {
                let v0 = _mm256_loadu_ps(v.add(j * d + c));
                for x in 0..SUB {
                    a[x] = _mm256_fmadd_ps(_mm256_broadcast_ss(&*p[x].add(j)), v0, a[x]);
                }
            }
            for x in 0..SUB {
                _mm256_storeu_ps(acc[x].add(c), a[x]);
            }
            c += 8;
        }
        for cc in c..d {
            for x in 0..SUB {
                let mut s = *acc[x].add(cc);
                for j in 0..n {
                    s = (*p[x].add(j)).mul_add(*v.add(j * d + cc), s);
                }
                *acc[x].add(cc) = s;
            }
        }
    }
}
