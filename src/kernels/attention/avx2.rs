//! The AVX2 path of the attention kernels: the [`Kern`] steps with AVX2,
//! FMA and F16C, and the entry points that run the shared row algorithms
//! with them (compiled with those features so everything inlines).

use super::{Dims, Job, Kern, Keys, Method, SageBlocks, SageHead, State, GROUP};
use std::arch::x86_64::*;

/// The AVX2 steps. Only constructed inside the `target_feature` entry
/// points below, so its methods run on CPUs with AVX2, FMA and F16C.
struct Avx2;

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
    i: usize,
    o: &mut [f64],
) {
    super::sage_row(&Avx2, hd, dims, blocks, i, o)
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
#[target_feature(enable = "avx2")]
fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
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

/// `acc_c = acc_c · a`.
#[target_feature(enable = "avx2")]
unsafe fn scale(acc: &mut [f32], a: f32) {
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
    let one = _mm256_set1_epi32(1);
    let zero = _mm256_setzero_ps();
    let mut c = 0;
    while c < n8 {
        // SAFETY: c + 8 ≤ n8 ≤ both lengths.
        unsafe {
            let bp = b.as_mut_ptr().add(c);
            let x = _mm256_loadu_ps(bp);
            let y = _mm256_mul_ps(pb, _mm256_loadu_ps(v.as_ptr().add(c)));
            let s = _mm256_add_ps(x, y);
            // TwoSum: err = (x − (s − yy)) + (y − yy), yy = s − x.
            let yy = _mm256_sub_ps(s, x);
            let err = _mm256_add_ps(_mm256_sub_ps(x, _mm256_sub_ps(s, yy)), _mm256_sub_ps(y, yy));
            let sb = _mm256_castps_si256(s);
            let inexact = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_NEQ_OQ>(err, zero));
            let even = _mm256_cmpeq_epi32(_mm256_and_si256(sb, one), _mm256_setzero_si256());
            // +1 ulp of magnitude when err has s's sign, −1 otherwise.
            let step = _mm256_or_si256(
                _mm256_srai_epi32::<31>(_mm256_xor_si256(sb, _mm256_castps_si256(err))),
                one,
            );
            let odd = _mm256_add_epi32(sb, _mm256_and_si256(_mm256_and_si256(inexact, even), step));
            let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(_mm256_castsi256_ps(odd));
            _mm256_storeu_ps(bp, _mm256_cvtph_ps(h));
        }
        c += 8;
    }
    for c in n8..d {
        b[c] = crate::arith::fp16::fp16_rne(b[c] as f64 + p as f64 * v[c] as f64);
    }
}
