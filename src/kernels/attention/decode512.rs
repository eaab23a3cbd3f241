//! The AVX-512 path of the f32-score attention kernels for row-major K
//! (decode and few queries: [`super::PACK_MIN_QUERIES`]), with the same row
//! algorithms ([`super::whole_row`], [`super::chunk_state`]) as the other
//! paths; packed K (prefill) keeps the AVX2 path.
//!
//! Why it is faster: a decode call reads the whole KV cache once, so it is
//! bound by how well the two streams (K for the scores, V for P·V, one tile
//! of each in turn) keep the memory system busy. Every step here prefetches
//! the rows of its own stream [`PREFETCH_BYTES`] ahead, so while the scores
//! of a tile run, the next K is on its way, and while P·V runs, the next V
//! is; a tile's switch from one stream to the other finds its first rows
//! already requested by the previous tile.
//!
//! Why the bits agree (as `super`'s docs): each score is one FMA chain per
//! key over the channels in order — 16 keys per vector, K read 16 channels
//! (one 64-byte line) per row and transposed 16×16 in registers, the last
//! channels by masked loads (lanes past `d` are zero and never used), keys
//! past the last whole group of 16 in zero rows whose lanes are dropped;
//! then `· sc`. P·V is `a_c = fma(p_j, v_jc, a_c)` per channel in key order,
//! lanes across channels (the last channels masked). The exponential is
//! the shared one's SIMD form (`exp8`), the max and sums scalar in key order.

use super::{Job, Kern, Keys, Method, Scalar, State};
use crate::arith::exp::avx2::exp_shifted;
use std::arch::x86_64::*;

/// How far ahead (bytes) each stream prefetches: enough rows in flight to
/// cover the memory latency at one core's share of the bandwidth, small
/// enough to stay well inside L2 with both streams.
pub(super) const PREFETCH_BYTES: usize = 8192;

/// Keys per vector.
const LANES: usize = 16;

/// The AVX-512 steps. Only constructed inside the `target_feature` entry
/// points below, so its methods run on CPUs with AVX-512 F, AVX2 and FMA.
struct Avx512;

impl Kern for Avx512 {
    #[inline(always)]
    fn scores(&self, keys: Keys, q: &[f32], sc: f32, t0: usize, t1: usize, out: &mut [f32]) {
        match keys {
            // SAFETY: `Avx512` exists only inside the entry points (module docs).
            Keys::Rows(k) => unsafe { scores_rows(k, q, sc, t0, t1, out) },
            // The entry points take row-major K only; the scalar chains are
            // the definition, so this arm would still give the same bits.
            Keys::Packed(_) => Scalar.scores(keys, q, sc, t0, t1, out),
        }
    }

    #[inline(always)]
    fn pv(&self, acc: &mut [f32], p: f32, v: &[f32]) {
        // SAFETY: as above.
        unsafe { pv_tile(acc, &[p], v) }
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

    // The SageAttention steps: not used by the f32-score rows (the scalar
    // definitions, so the same bits if they were).
    #[inline(always)]
    fn int_dot(&self, a: &[i8], b: &[i8]) -> i32 {
        Scalar.int_dot(a, b)
    }

    #[inline(always)]
    fn fp16_mac(&self, b: &mut [f32], p: f32, v: &[f32]) {
        Scalar.fp16_mac(b, p, v)
    }

    #[inline(always)]
    fn mul_add(&self, b: &mut [f32], p: f32, v: &[f32]) {
        Scalar.mul_add(b, p, v)
    }
}

/// Whether the AVX-512 path takes this call: K row-major (packed K is the
/// prefill layout, which the AVX2 path's blocks serve).
pub(super) fn takes(job: &Job) -> bool {
    job.keys.first().is_some_and(|k| matches!(k, Keys::Rows(_)))
}

/// [`super::whole_row`] with the AVX-512 steps.
///
/// # Safety
/// The CPU must support AVX-512 F, AVX2 and FMA.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn whole_row(job: &Job, method: Method, r: usize, o: &mut [f64]) {
    super::whole_row(&Avx512, job, method, r, o)
}

/// [`super::chunk_state`] with the AVX-512 steps.
///
/// # Safety
/// The CPU must support AVX-512 F, AVX2 and FMA.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn chunk_state(
    job: &Job,
    r: usize,
    range: (usize, usize),
    b_c: usize,
) -> Option<State> {
    super::chunk_state(&Avx512, job, r, range, b_c)
}

/// Asks for the cache lines of `[p, p + bytes)` (a hint: prefetches never
/// fault, so the range may run past the data).
#[inline(always)]
pub(super) fn prefetch(p: *const f32, bytes: usize) {
    let p = p as *const i8;
    let mut off = 0;
    while off < bytes {
        // SAFETY: a prefetch reads nothing the program sees and cannot
        // fault; `wrapping_add` forms the address without a dereference.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off)) };
        off += 64;
    }
}

/// Columns of a 16×16 block of f32 rows: output `c` holds row `i`'s
/// element `c` in lane `i`.
#[target_feature(enable = "avx512f")]
pub(super) fn transpose16(r: &[__m512; 16]) -> [__m512; 16] {
    // Pairs: lane quad L of t[2k] = (r2k[4L], r2k+1[4L], r2k[4L+1], r2k+1[4L+1]).
    let t: [__m512; 16] = std::array::from_fn(|i| {
        let (a, b) = (r[i & !1], r[i | 1]);
        if i % 2 == 0 {
            _mm512_unpacklo_ps(a, b)
        } else {
            _mm512_unpackhi_ps(a, b)
        }
    });
    // Quads: quad L of u[4k + m] = rows 4k..4k+4, element 4L + m.
    let u: [__m512; 16] = std::array::from_fn(|i| {
        let (k, m) = (i / 4, i % 4);
        let (a, b) = (t[4 * k + m / 2], t[4 * k + 2 + m / 2]);
        if m % 2 == 0 {
            _mm512_shuffle_ps::<0x44>(a, b)
        } else {
            _mm512_shuffle_ps::<0xEE>(a, b)
        }
    });
    // Quads across vectors: output 4L + m gathers quad L of u[m], u[4 + m],
    // u[8 + m], u[12 + m].
    let mut out = [_mm512_setzero_ps(); 16];
    for m in 0..4 {
        let v0 = _mm512_shuffle_f32x4::<0x44>(u[m], u[4 + m]);
        let v1 = _mm512_shuffle_f32x4::<0xEE>(u[m], u[4 + m]);
        let v2 = _mm512_shuffle_f32x4::<0x44>(u[8 + m], u[12 + m]);
        let v3 = _mm512_shuffle_f32x4::<0xEE>(u[8 + m], u[12 + m]);
        out[m] = _mm512_shuffle_f32x4::<0x88>(v0, v2);
        out[4 + m] = _mm512_shuffle_f32x4::<0xDD>(v0, v2);
        out[8 + m] = _mm512_shuffle_f32x4::<0x88>(v1, v3);
        out[12 + m] = _mm512_shuffle_f32x4::<0xDD>(v1, v3);
    }
    out
}

/// Scores of the keys `[j, j + n)` (n ≤ 16; `FULL`: n = 16, no row
/// checks): lane `i` holds `dot_fma(q, k_{j+i})` in channel order; lanes
/// `≥ n` read zero rows.
///
/// # Safety
/// AVX-512 F; K holds rows `j..j + n` of `q.len()` floats.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn group<const FULL: bool>(k: *const f32, q: &[f32], j: usize, n: usize) -> __m512 {
    let d = q.len();
    let mut a = _mm512_setzero_ps();
    let mut c = 0;
    // SAFETY (whole body): rows j..j+n hold d floats; masked loads read no
    // element past `d`; prefetches never fault.
    unsafe {
        let base = k.add(j * d);
        while c < d {
            let w = (d - c).min(LANES);
            let rows: [__m512; 16] = if w == LANES {
                std::array::from_fn(|i| {
                    if FULL || i < n {
                        let p = base.add(i * d + c);
                        prefetch(p.wrapping_add(PREFETCH_BYTES / 4), 4);
                        _mm512_loadu_ps(p)
                    } else {
                        _mm512_setzero_ps()
                    }
                })
            } else {
                let mask: __mmask16 = (1u16 << w) - 1;
                std::array::from_fn(|i| {
                    if FULL || i < n {
                        _mm512_maskz_loadu_ps(mask, base.add(i * d + c))
                    } else {
                        _mm512_setzero_ps()
                    }
                })
            };
            let cols = transpose16(&rows);
            for (cc, col) in cols.iter().enumerate().take(w) {
                a = _mm512_fmadd_ps(_mm512_set1_ps(*q.get_unchecked(c + cc)), *col, a);
            }
            c += LANES;
        }
    }
    a
}

/// `out[j − t0] = dot_fma(q, k_j) · sc` for `j` in `[t0, t1)`: groups of 16
/// keys, two at a time (two independent chains), then a last partial group.
#[target_feature(enable = "avx512f")]
unsafe fn scores_rows(k: &[f32], q: &[f32], sc: f32, t0: usize, t1: usize, out: &mut [f32]) {
    let d = q.len();
    assert!(k.len() >= t1 * d && out.len() >= t1 - t0);
    let scv = _mm512_set1_ps(sc);
    let kp = k.as_ptr();
    let o = out.as_mut_ptr();
    let mut j = t0;
    // SAFETY (whole body): keys < t1 lie inside k (asserted); outputs
    // j − t0 + 16 ≤ t1 − t0 ≤ out.len(), the last one masked.
    unsafe {
        while j + 2 * LANES <= t1 {
            let a0 = group::<true>(kp, q, j, LANES);
            let a1 = group::<true>(kp, q, j + LANES, LANES);
            _mm512_storeu_ps(o.add(j - t0), _mm512_mul_ps(a0, scv));
            _mm512_storeu_ps(o.add(j - t0 + LANES), _mm512_mul_ps(a1, scv));
            j += 2 * LANES;
        }
        while j < t1 {
            let n = (t1 - j).min(LANES);
            let a = group::<false>(kp, q, j, n);
            let mask: __mmask16 = if n == LANES { !0 } else { (1u16 << n) - 1 };
            _mm512_mask_storeu_ps(o.add(j - t0), mask, _mm512_mul_ps(a, scv));
            j += n;
        }
    }
}

/// One row's P·V over a tile: `acc_c = fma(p_j, v_jc, acc_c)` for the
/// tile's keys in order, 128 channels' accumulators held in registers
/// across the keys (then 16 at a time, the last ones masked); each V row
/// prefetches the row [`PREFETCH_BYTES`] ahead (past the tile: the next
/// tile's V).
#[target_feature(enable = "avx512f")]
unsafe fn pv_tile(acc: &mut [f32], p: &[f32], v: &[f32]) {
    let d = acc.len();
    let n = p.len();
    assert!(v.len() >= n * d);
    let (a, vp) = (acc.as_mut_ptr(), v.as_ptr());
    let row_bytes = d * 4;
    let mut c = 0;
    // SAFETY (whole body): c + 16 ≤ d or masked to d, keys < n, and v
    // holds n rows of d; prefetches never fault.
    unsafe {
        while c + 8 * LANES <= d {
            let mut r: [__m512; 8] = std::array::from_fn(|x| _mm512_loadu_ps(a.add(c + LANES * x)));
            for (j, pj) in p.iter().enumerate() {
                let pb = _mm512_set1_ps(*pj);
                let row = vp.add(j * d + c);
                if c == 0 {
                    prefetch(vp.wrapping_add(j * d + PREFETCH_BYTES / 4), row_bytes);
                }
                for (x, rx) in r.iter_mut().enumerate() {
                    *rx = _mm512_fmadd_ps(pb, _mm512_loadu_ps(row.add(LANES * x)), *rx);
                }
            }
            for (x, rx) in r.iter().enumerate() {
                _mm512_storeu_ps(a.add(c + LANES * x), *rx);
            }
            c += 8 * LANES;
        }
        while c < d {
            let w = (d - c).min(LANES);
            let mask: __mmask16 = if w == LANES { !0 } else { (1u16 << w) - 1 };
            let first = c == 0;
            let mut r = _mm512_maskz_loadu_ps(mask, a.add(c));
            for (j, pj) in p.iter().enumerate() {
                if first {
                    prefetch(vp.wrapping_add(j * d + PREFETCH_BYTES / 4), row_bytes);
                }
                let x = _mm512_maskz_loadu_ps(mask, vp.add(j * d + c));
                r = _mm512_fmadd_ps(_mm512_set1_ps(*pj), x, r);
            }
            _mm512_mask_storeu_ps(a.add(c), mask, r);
            c += w;
        }
    }
}

/// `acc_c = acc_c · a`.
#[target_feature(enable = "avx512f")]
unsafe fn scale(acc: &mut [f32], a: f32) {
    let d = acc.len();
    let ab = _mm512_set1_ps(a);
    let p = acc.as_mut_ptr();
    let mut c = 0;
    while c < d {
        let w = (d - c).min(LANES);
        let mask: __mmask16 = if w == LANES { !0 } else { (1u16 << w) - 1 };
        // SAFETY: the mask keeps lanes below d.
        unsafe {
            let x = _mm512_maskz_loadu_ps(mask, p.add(c));
            _mm512_mask_storeu_ps(p.add(c), mask, _mm512_mul_ps(x, ab));
        }
        c += w;
    }
}
