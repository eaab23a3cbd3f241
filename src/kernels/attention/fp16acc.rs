//! `attention/flash-fp16acc`'s kernel: ggml's CPU `flash_attn_ext` with
//! F16 K and V (`attention::exact::Fp16Acc` is the definition), returning
//! exactly its bits.
//!
//! Per query row, per visible key `j` in order: `s = dot_fma(q16, k16)·sc`;
//! if `s > M`: `ms = exp_f32(M − s)`, `M = s`, `a_c = f16(a_c·ms)`, `vs = 1`;
//! else `vs = exp_f32(s − M)`; then `a_c = f16(fma(v_c, vs, a_c))` and
//! `S = S·ms + vs` (f32, unfused). Output `a_c / S`.
//!
//! How the work is cut, and why no bit moves:
//! - **Tiles of [`TILE`] keys.** The tile's scores are formed first (one
//!   FMA chain per key over the channels in order; lanes across keys, never
//!   along the channels), then their exponentials `exp_f32(s − M)` with the
//!   `M` at hand, vectorised by the shared `exp_f32` forms (the same
//!   operations per lane). Then a scalar walk over the tile's keys in order
//!   takes each key's branch exactly as the definition: a new maximum gets
//!   its `ms` from the scalar `exp_f32` and marks the rest of the tile's
//!   exponentials stale; the next key that needs one recomputes them (all
//!   remaining keys at once) against the new `M`. `S` is summed in the walk.
//! - **P·V** then runs the walk's steps (rescale flag, `ms`, `vs` per key)
//!   over the tile's V rows, keys in order, lanes across channels, the
//!   accumulator held in registers across the tile. Every value the
//!   accumulator holds is an fp16 value kept in f32: after each multiply
//!   and each FMA it is rounded by `vcvtps2ph` (round to nearest even,
//!   from the immediate) and widened back by `vcvtph2ps` — the conversion
//!   `half::f16::from_f32` runs (F16C) on these CPUs; overflow gives ±inf,
//!   NaN stays NaN with the same payload bits, subnormals are kept.
//! - **Inputs.** Q, K and V are rounded to fp16 as the emulation rounds
//!   them (`half`'s slice conversions; in the kernel, `vcvtps2ph`). With
//!   [`super::PACK_MIN_QUERIES`] or more queries per head (or below
//!   AVX-512), K is rounded and packed once per call, 16 keys side by side
//!   channel-major, and V rounded once; fewer queries (decode) at AVX-512
//!   read K and V as given and round each vector as it is loaded (K
//!   transposed 16×16 in registers, as `decode512` reads it), so the cache
//!   is read once and never copied.
//!
//! AVX-512 F (with F16C and FMA), AVX2 (with F16C and FMA) and the scalar
//! definition, chosen by `isa::dispatch!`. Rows are independent tasks, so
//! the thread count changes no bit.

use super::Dims;
use crate::arith::exp::exp_f32;
use crate::isa::{self, IsaLevel};
use half::f16;
use rayon::prelude::*;

/// Keys per packed group (one AVX-512 vector, two AVX2 vectors).
const LANES: usize = 16;
/// Keys per tile: the scores and exponentials formed before the walk.
const TILE: usize = 64;

/// `x` rounded to fp16 (RNE) and back: the emulation's `h16`.
#[inline(always)]
fn h16(x: f32) -> f32 {
    f16::from_f32(x).to_f32()
}

/// One key's step of the accumulator (the walk's output).
#[derive(Debug, Clone, Copy, Default)]
struct Step {
    /// Scale the accumulator by `ms` first (a new maximum).
    rescale: bool,
    /// The rescale factor `exp_f32(M_old − s)`.
    ms: f32,
    /// V's weight.
    vs: f32,
}

/// K of one head as the score step reads it.
#[derive(Clone, Copy)]
enum Keys<'a> {
    /// fp16-rounded, `[group][channel][16]`, the last group zero-padded.
    Packed(&'a [f32]),
    /// Row-major `nk × d` as given (rounded as loaded; AVX-512 only).
    Raw(&'a [f32]),
}

/// The vector steps a path supplies; [`row`] is written once over them.
trait Steps: Sync {
    /// `out[j − t0] = dot_fma(q, k_j) · sc` for `j` in `[t0, t1)`, `t0` a
    /// multiple of [`LANES`].
    fn scores(&self, keys: Keys, q: &[f32], sc: f32, t0: usize, t1: usize, out: &mut [f32]);
    /// `p = exp_f32(p − m)` for every element.
    fn exp_shifted(&self, tile: &mut [f32], m: f32);
    /// The accumulator over the tile's keys in order (`v`: their rows;
    /// `raw`: V as given, rounded to fp16 first).
    fn pv(&self, acc: &mut [f32], steps: &[Step], v: &[f32], raw: bool);
}

/// The scalar definitions.
struct Scalar;

impl Steps for Scalar {
    fn scores(&self, keys: Keys, q: &[f32], sc: f32, t0: usize, t1: usize, out: &mut [f32]) {
        let d = q.len();
        for j in t0..t1 {
            let mut a = 0.0f32;
            match keys {
                Keys::Packed(kp) => {
                    let base = (j / LANES) * d * LANES + j % LANES;
                    for (c, qc) in q.iter().enumerate() {
                        a = qc.mul_add(kp[base + c * LANES], a);
                    }
                }
                Keys::Raw(k) => {
                    for (qc, kc) in q.iter().zip(&k[j * d..(j + 1) * d]) {
                        a = qc.mul_add(h16(*kc), a);
                    }
                }
            }
            out[j - t0] = a * sc;
        }
    }

    fn exp_shifted(&self, tile: &mut [f32], m: f32) {
        tile.iter_mut().for_each(|p| *p = exp_f32(*p - m));
    }

    fn pv(&self, acc: &mut [f32], steps: &[Step], v: &[f32], raw: bool) {
        let d = acc.len();
        for (j, st) in steps.iter().enumerate() {
            step_scalar(acc, *st, &v[j * d..(j + 1) * d], raw);
        }
    }
}

/// One key's accumulator step, scalar.
#[inline(always)]
fn step_scalar(acc: &mut [f32], st: Step, v: &[f32], raw: bool) {
    if st.rescale {
        acc.iter_mut().for_each(|a| *a = h16(*a * st.ms));
    }
    for (a, vc) in acc.iter_mut().zip(v) {
        let vc = if raw { h16(*vc) } else { *vc };
        *a = h16(vc.mul_add(st.vs, *a));
    }
}

/// Everything a call shares.
struct Job<'a> {
    /// Q rounded, `heads × nq × d`.
    q: Vec<f32>,
    /// K per head.
    keys: Vec<Keys<'a>>,
    /// V (`heads × nk × d`): rounded, or as given when `v_raw`.
    v: &'a [f32],
    v_raw: bool,
    dims: Dims,
    sc: f32,
}

/// One output row (`r` = head · nq + query) over [`Steps`] `k`.
#[inline(always)]
fn row<S: Steps>(k: &S, job: &Job, r: usize, o: &mut [f64]) {
    let Dims { nq, nk, d, .. } = job.dims;
    let h = r / nq;
    let vis = job.dims.visible(r % nq);
    let q = &job.q[r * d..(r + 1) * d];
    let v = &job.v[h * nk * d..(h + 1) * nk * d];
    let (mut s, mut e) = ([0.0f32; TILE], [0.0f32; TILE]);
    let mut steps = [Step::default(); TILE];
    let (mut m, mut sum) = (f32::NEG_INFINITY, 0.0f32);
    let mut acc = vec![0.0f32; d];
    let mut t0 = 0;
    while t0 < vis {
        let t1 = (t0 + TILE).min(vis);
        let n = t1 - t0;
        k.scores(job.keys[h], q, job.sc, t0, t1, &mut s[..n]);
        // e[jj..n] holds exp_f32(s − M) for the current M unless stale.
        let mut stale = true;
        for jj in 0..n {
            let sj = s[jj];
            let st = if sj > m {
                let ms = exp_f32(m - sj);
                m = sj;
                stale = true;
                Step {
                    rescale: true,
                    ms,
                    vs: 1.0,
                }
            } else {
                if stale {
                    e[jj..n].copy_from_slice(&s[jj..n]);
                    k.exp_shifted(&mut e[jj..n], m);
                    stale = false;
                }
                Step {
                    rescale: false,
                    ms: 1.0,
                    vs: e[jj],
                }
            };
            sum = sum * st.ms + st.vs;
            steps[jj] = st;
        }
        k.pv(&mut acc, &steps[..n], &v[t0 * d..t1 * d], job.v_raw);
        t0 = t1;
    }
    for (a, b) in o.iter_mut().zip(&acc) {
        *a = (b / sum) as f64;
    }
}

/// Whether this level reads K and V as given (AVX-512 with FMA and F16C,
/// few queries per head).
fn raw_at(level: IsaLevel, nq: usize) -> bool {
    let f = isa::active();
    isa::supported(level) == IsaLevel::Avx512 && f.fma && f.f16c && nq < super::PACK_MIN_QUERIES
}

/// `attention/flash-fp16acc` at `level` on Q, K, V as given (`heads × n ×
/// d`, rounded to fp16 here): the output (`heads × nq × d`) as f64.
///
/// # Panics
/// When a tensor's length does not match `dims` (a caller bug).
pub fn flash_fp16acc(q: &[f32], k: &[f32], v: &[f32], dims: Dims, level: IsaLevel) -> Vec<f64> {
    let Dims {
        heads, nq, nk, d, ..
    } = dims;
    assert!(
        q.len() == heads * nq * d && k.len() == heads * nk * d && v.len() == k.len(),
        "flash_fp16acc: Q, K, V must be heads × n × d"
    );
    let raw = raw_at(level, nq);
    let (packed, v_round) = if raw {
        (Vec::new(), Vec::new())
    } else {
        let kr = super::round_fp16(k);
        let packed: Vec<Vec<f32>> = (0..heads)
            .into_par_iter()
            .map(|h| super::pack_groups::<LANES>(&kr[h * nk * d..(h + 1) * nk * d], nk, d))
            .collect();
        (packed, super::round_fp16(v))
    };
    let keys = (0..heads)
        .map(|h| match packed.get(h) {
            Some(p) => Keys::Packed(p),
            None => Keys::Raw(&k[h * nk * d..(h + 1) * nk * d]),
        })
        .collect();
    let job = Job {
        q: super::round_fp16(q),
        keys,
        v: if raw { v } else { &v_round },
        v_raw: raw,
        dims,
        sc: (1.0 / (d as f64).sqrt()) as f32,
    };
    let mut out = vec![0.0f64; heads * nq * d];
    let f = isa::active();
    let (fma, f16c) = (f.fma, f.f16c);
    out.par_chunks_mut(d.max(1))
        .enumerate()
        .for_each(|(r, o)| {
            isa::dispatch!(level,
                // SAFETY: this arm runs only on CPUs with AVX-512 F (and AVX2); FMA and F16C were checked.
                avx512 => if fma && f16c { unsafe { x86::row512(&job, r, o) } } else { row(&Scalar, &job, r, o) },
                // SAFETY: this arm runs only on CPUs with AVX2; FMA and F16C were checked.
                avx2 => if fma && f16c { unsafe { x86::row256(&job, r, o) } } else { row(&Scalar, &job, r, o) },
                scalar => row(&Scalar, &job, r, o),
            )
        });
    out
}

/// The kernel's accumulator steps alone, at `level`, for tests: for each
/// `(rescale, vs)` in order, against V row `j` of `v` (`acc.len()`
/// channels): with `rescale = Some(ms)`, `a_c = f16(a_c·ms)`; then
/// `a_c = f16(fma(v_c, vs, a_c))` (`raw`: V rounded to fp16 first, as the
/// decode path reads it).
///
/// # Panics
/// When `v` holds fewer than `steps.len()` rows.
pub fn fp16acc_steps(
    level: IsaLevel,
    acc: &mut [f32],
    v: &[f32],
    steps: &[(Option<f32>, f32)],
    raw: bool,
) {
    assert!(v.len() >= steps.len() * acc.len());
    let st: Vec<Step> = steps
        .iter()
        .map(|&(r, vs)| Step {
            rescale: r.is_some(),
            ms: r.unwrap_or(1.0),
            vs,
        })
        .collect();
    let f = isa::active();
    let (fma, f16c) = (f.fma, f.f16c);
    let d = acc.len();
    for (i, ch) in st.chunks(TILE).enumerate() {
        let vv = &v[i * TILE * d..(i * TILE + ch.len()) * d];
        isa::dispatch!(level,
            // SAFETY: as in `flash_fp16acc`.
            avx512 => if fma && f16c { unsafe { x86::pv_avx512(acc, ch, vv, raw) } } else { Scalar.pv(acc, ch, vv, raw) },
            // SAFETY: as in `flash_fp16acc`.
            avx2 => if fma && f16c { unsafe { x86::pv_avx2(acc, ch, vv, raw) } } else { Scalar.pv(acc, ch, vv, raw) },
            scalar => Scalar.pv(acc, ch, vv, raw),
        )
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::super::decode512::{prefetch, transpose16, PREFETCH_BYTES};
    use super::{row, step_scalar, Job, Keys, Step, Steps, LANES};
    use crate::arith::exp;
    use std::arch::x86_64::*;

    /// Round to nearest even, from the immediate (not MXCSR), as `half`'s
    /// F16C conversion asks.
    const RNE: i32 = _MM_FROUND_TO_NEAREST_INT;

    /// The AVX-512 steps; constructed only inside the `target_feature`
    /// entry points below (CPUs with AVX-512 F, AVX2, FMA and F16C).
    struct Avx512;
    /// The AVX2 steps; constructed only inside the entry points below
    /// (CPUs with AVX2, FMA and F16C).
    struct Avx2;

    /// [`row`] with the AVX-512 steps.
    ///
    /// # Safety
    /// The CPU must support AVX-512 F, AVX2, FMA and F16C.
    #[target_feature(enable = "avx512f,avx2,fma,f16c")]
    pub(super) unsafe fn row512(job: &Job, r: usize, o: &mut [f64]) {
        row(&Avx512, job, r, o)
    }

    /// [`row`] with the AVX2 steps.
    ///
    /// # Safety
    /// The CPU must support AVX2, FMA and F16C.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn row256(job: &Job, r: usize, o: &mut [f64]) {
        row(&Avx2, job, r, o)
    }

    /// Each lane rounded to fp16 (RNE) and widened back.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn h16x16(x: __m512) -> __m512 {
        _mm512_cvtph_ps(_mm512_cvtps_ph::<RNE>(x))
    }

    /// Each lane rounded to fp16 (RNE) and widened back (F16C).
    #[inline]
    #[target_feature(enable = "avx,f16c")]
    fn h16x8(x: __m256) -> __m256 {
        _mm256_cvtph_ps(_mm256_cvtps_ph::<RNE>(x))
    }

    /// 16 floats of V at `p` (lanes outside `mask` zero), rounded to fp16
    /// when `RAW`.
    ///
    /// # Safety
    /// AVX-512 F; the masked lanes lie inside one allocation.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn load512<const RAW: bool>(p: *const f32, mask: __mmask16) -> __m512 {
        // SAFETY: as this function's.
        let x = unsafe { _mm512_maskz_loadu_ps(mask, p) };
        if RAW {
            h16x16(x)
        } else {
            x
        }
    }

    /// 8 floats of V at `p`, rounded to fp16 when `RAW`.
    ///
    /// # Safety
    /// AVX and F16C; the 8 floats lie inside one allocation.
    #[inline]
    #[target_feature(enable = "avx,f16c")]
    unsafe fn load256<const RAW: bool>(p: *const f32) -> __m256 {
        // SAFETY: as this function's.
        let x = unsafe { _mm256_loadu_ps(p) };
        if RAW {
            h16x8(x)
        } else {
            x
        }
    }

    /// [`Steps::pv`] with the AVX-512 steps.
    ///
    /// # Safety
    /// The CPU must support AVX-512 F, AVX2, FMA and F16C.
    #[target_feature(enable = "avx512f,avx2,fma,f16c")]
    pub(super) unsafe fn pv_avx512(acc: &mut [f32], steps: &[Step], v: &[f32], raw: bool) {
        Avx512.pv(acc, steps, v, raw)
    }

    /// [`Steps::pv`] with the AVX2 steps.
    ///
    /// # Safety
    /// The CPU must support AVX2, FMA and F16C.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn pv_avx2(acc: &mut [f32], steps: &[Step], v: &[f32], raw: bool) {
        Avx2.pv(acc, steps, v, raw)
    }

    impl Steps for Avx512 {
        #[inline(always)]
        fn scores(&self, keys: Keys, q: &[f32], sc: f32, t0: usize, t1: usize, out: &mut [f32]) {
            // SAFETY: `Avx512` exists only on CPUs with its features.
            unsafe {
                match keys {
                    Keys::Packed(kp) => scores_packed512(kp, q, sc, t0, t1, out),
                    Keys::Raw(k) => scores_raw512(k, q, sc, t0, t1, out),
                }
            }
        }

        #[inline(always)]
        fn exp_shifted(&self, tile: &mut [f32], m: f32) {
            // SAFETY: as above.
            unsafe { exp::avx512::exp_shifted(tile, m) }
        }

        #[inline(always)]
        fn pv(&self, acc: &mut [f32], steps: &[Step], v: &[f32], raw: bool) {
            // SAFETY: as above.
            unsafe {
                if raw {
                    pv512::<true>(acc, steps, v)
                } else {
                    pv512::<false>(acc, steps, v)
                }
            }
        }
    }

    impl Steps for Avx2 {
        #[inline(always)]
        fn scores(&self, keys: Keys, q: &[f32], sc: f32, t0: usize, t1: usize, out: &mut [f32]) {
            match keys {
                // SAFETY: `Avx2` exists only on CPUs with its features.
                Keys::Packed(kp) => unsafe { scores_packed256(kp, q, sc, t0, t1, out) },
                // The AVX2 level always packs K; the definition gives the same bits.
                Keys::Raw(_) => super::Scalar.scores(keys, q, sc, t0, t1, out),
            }
        }

        #[inline(always)]
        fn exp_shifted(&self, tile: &mut [f32], m: f32) {
            // SAFETY: as above.
            unsafe { exp::avx2::exp_shifted(tile, m) }
        }

        #[inline(always)]
        fn pv(&self, acc: &mut [f32], steps: &[Step], v: &[f32], raw: bool) {
            // SAFETY: as above.
            unsafe {
                if raw {
                    pv256::<true>(acc, steps, v)
                } else {
                    pv256::<false>(acc, steps, v)
                }
            }
        }
    }

    /// Scores from packed K: four groups of 16 keys at a time (four
    /// independent FMA chains, channel order), then one at a time; the
    /// last group's lanes past `t1` are computed on padding and dropped.
    #[target_feature(enable = "avx512f,fma")]
    unsafe fn scores_packed512(
        kp: &[f32],
        q: &[f32],
        sc: f32,
        t0: usize,
        t1: usize,
        out: &mut [f32],
    ) {
        let d = q.len();
        assert!(t0.is_multiple_of(LANES) && kp.len() >= t1.div_ceil(LANES) * d * LANES);
        assert!(out.len() >= t1 - t0);
        let scv = _mm512_set1_ps(sc);
        let (k, o) = (kp.as_ptr(), out.as_mut_ptr());
        let mut j = t0;
        // SAFETY (whole body): groups up to ⌈t1/16⌉ lie in kp (asserted);
        // stores are masked to out's t1 − t0 elements.
        unsafe {
            while j + 4 * LANES <= t1 {
                let g = k.add(j * d);
                let mut a = [_mm512_setzero_ps(); 4];
                for c in 0..d {
                    let qb = _mm512_set1_ps(*q.get_unchecked(c));
                    for (x, ax) in a.iter_mut().enumerate() {
                        let kv = _mm512_loadu_ps(g.add((x * d + c) * LANES));
                        *ax = _mm512_fmadd_ps(qb, kv, *ax);
                    }
                }
                for (x, ax) in a.iter().enumerate() {
                    _mm512_storeu_ps(o.add(j - t0 + x * LANES), _mm512_mul_ps(*ax, scv));
                }
                j += 4 * LANES;
            }
            while j < t1 {
                let g = k.add(j * d);
                let mut a = _mm512_setzero_ps();
                for c in 0..d {
                    let qb = _mm512_set1_ps(*q.get_unchecked(c));
                    a = _mm512_fmadd_ps(qb, _mm512_loadu_ps(g.add(c * LANES)), a);
                }
                let n = (t1 - j).min(LANES);
                let mask: __mmask16 = if n == LANES { !0 } else { (1u16 << n) - 1 };
                _mm512_mask_storeu_ps(o.add(j - t0), mask, _mm512_mul_ps(a, scv));
                j += n;
            }
        }
    }

    /// Scores of keys `[j, j + n)` from row-major K as given (n ≤ 16): each
    /// row's 16 channels loaded, rounded to fp16, transposed 16×16; lane
    /// `i` holds `dot_fma(q, k16_{j+i})` in channel order (lanes ≥ n: 0).
    ///
    /// # Safety
    /// AVX-512 F and FMA; K holds rows `j..j + n` of `q.len()` floats.
    #[inline]
    #[target_feature(enable = "avx512f,fma")]
    unsafe fn group_raw(k: *const f32, q: &[f32], j: usize, n: usize) -> __m512 {
        let d = q.len();
        let mut a = _mm512_setzero_ps();
        let mut c = 0;
        // SAFETY (whole body): rows j..j+n hold d floats; masked loads read
        // no element past `d`; prefetches never fault.
        unsafe {
            let base = k.add(j * d);
            while c < d {
                let w = (d - c).min(LANES);
                let mask: __mmask16 = if w == LANES { !0 } else { (1u16 << w) - 1 };
                let rows: [__m512; 16] = std::array::from_fn(|i| {
                    if i < n {
                        let p = base.add(i * d + c);
                        prefetch(p.wrapping_add(PREFETCH_BYTES / 4), 4);
                        h16x16(_mm512_maskz_loadu_ps(mask, p))
                    } else {
                        _mm512_setzero_ps()
                    }
                });
                let cols = transpose16(&rows);
                for (cc, col) in cols.iter().enumerate().take(w) {
                    a = _mm512_fmadd_ps(_mm512_set1_ps(*q.get_unchecked(c + cc)), *col, a);
                }
                c += LANES;
            }
        }
        a
    }

    /// Scores from row-major K as given: two groups of 16 keys at a time
    /// (two chains), then the last partial group.
    #[target_feature(enable = "avx512f,fma")]
    unsafe fn scores_raw512(k: &[f32], q: &[f32], sc: f32, t0: usize, t1: usize, out: &mut [f32]) {
        let d = q.len();
        assert!(k.len() >= t1 * d && out.len() >= t1 - t0);
        let scv = _mm512_set1_ps(sc);
        let (kp, o) = (k.as_ptr(), out.as_mut_ptr());
        let mut j = t0;
        // SAFETY (whole body): keys < t1 lie inside k (asserted); stores
        // are masked to out's t1 − t0 elements.
        unsafe {
            while j + 2 * LANES <= t1 {
                let a0 = group_raw(kp, q, j, LANES);
                let a1 = group_raw(kp, q, j + LANES, LANES);
                _mm512_storeu_ps(o.add(j - t0), _mm512_mul_ps(a0, scv));
                _mm512_storeu_ps(o.add(j - t0 + LANES), _mm512_mul_ps(a1, scv));
                j += 2 * LANES;
            }
            while j < t1 {
                let n = (t1 - j).min(LANES);
                let a = group_raw(kp, q, j, n);
                let mask: __mmask16 = if n == LANES { !0 } else { (1u16 << n) - 1 };
                _mm512_mask_storeu_ps(o.add(j - t0), mask, _mm512_mul_ps(a, scv));
                j += n;
            }
        }
    }

    /// The accumulator over a tile: channels 128 at a time held in eight
    /// registers across the keys (then 16 at a time, the last masked); per
    /// key the rescale `f16(a·ms)` where flagged, then `f16(fma(v, vs, a))`
    /// (`RAW`: V rounded to fp16 as loaded, its rows prefetched ahead).
    #[target_feature(enable = "avx512f,fma")]
    unsafe fn pv512<const RAW: bool>(acc: &mut [f32], steps: &[Step], v: &[f32]) {
        let d = acc.len();
        assert!(v.len() >= steps.len() * d);
        let (a, vp) = (acc.as_mut_ptr(), v.as_ptr());
        let mut c = 0;
        // SAFETY (whole body): c + 16 ≤ d or masked to d, keys < steps.len(),
        // v holds that many rows of d; prefetches never fault.
        unsafe {
            while c + 8 * LANES <= d {
                let mut r: [__m512; 8] =
                    std::array::from_fn(|x| _mm512_loadu_ps(a.add(c + LANES * x)));
                for (j, st) in steps.iter().enumerate() {
                    let row = vp.add(j * d + c);
                    if RAW && c == 0 {
                        prefetch(vp.wrapping_add(j * d + PREFETCH_BYTES / 4), d * 4);
                    }
                    if st.rescale {
                        let mb = _mm512_set1_ps(st.ms);
                        for rx in r.iter_mut() {
                            *rx = h16x16(_mm512_mul_ps(*rx, mb));
                        }
                    }
                    let vb = _mm512_set1_ps(st.vs);
                    for (x, rx) in r.iter_mut().enumerate() {
                        let vx = load512::<RAW>(row.add(LANES * x), !0);
                        *rx = h16x16(_mm512_fmadd_ps(vx, vb, *rx));
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
                for (j, st) in steps.iter().enumerate() {
                    if RAW && first {
                        prefetch(vp.wrapping_add(j * d + PREFETCH_BYTES / 4), d * 4);
                    }
                    if st.rescale {
                        r = h16x16(_mm512_mul_ps(r, _mm512_set1_ps(st.ms)));
                    }
                    let vx = load512::<RAW>(vp.add(j * d + c), mask);
                    r = h16x16(_mm512_fmadd_ps(vx, _mm512_set1_ps(st.vs), r));
                }
                _mm512_mask_storeu_ps(a.add(c), mask, r);
                c += w;
            }
        }
    }

    /// Scores from packed K with 8-lane vectors: two groups (four chains)
    /// at a time, then one; lanes past `t1` dropped.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn scores_packed256(
        kp: &[f32],
        q: &[f32],
        sc: f32,
        t0: usize,
        t1: usize,
        out: &mut [f32],
    ) {
        let d = q.len();
        assert!(t0.is_multiple_of(LANES) && kp.len() >= t1.div_ceil(LANES) * d * LANES);
        assert!(out.len() >= t1 - t0);
        let scv = _mm256_set1_ps(sc);
        let k = kp.as_ptr();
        let mut j = t0;
        let mut buf = [0.0f32; 2 * LANES];
        // SAFETY (whole body): groups up to ⌈t1/16⌉ lie in kp (asserted).
        unsafe {
            while j < t1 {
                let two = j + 2 * LANES <= t1;
                let g = k.add(j * d);
                let mut a = [_mm256_setzero_ps(); 4];
                if two {
                    for c in 0..d {
                        let qb = _mm256_set1_ps(*q.get_unchecked(c));
                        for (x, ax) in a.iter_mut().enumerate() {
                            let off = ((x / 2) * d + c) * LANES + (x % 2) * 8;
                            *ax = _mm256_fmadd_ps(qb, _mm256_loadu_ps(g.add(off)), *ax);
                        }
                    }
                } else {
                    for c in 0..d {
                        let qb = _mm256_set1_ps(*q.get_unchecked(c));
                        for (x, ax) in a.iter_mut().enumerate().take(2) {
                            let off = c * LANES + x * 8;
                            *ax = _mm256_fmadd_ps(qb, _mm256_loadu_ps(g.add(off)), *ax);
                        }
                    }
                }
                for (x, ax) in a.iter().enumerate() {
                    _mm256_storeu_ps(buf.as_mut_ptr().add(8 * x), _mm256_mul_ps(*ax, scv));
                }
                let n = (t1 - j).min(if two { 2 * LANES } else { LANES });
                out[j - t0..j - t0 + n].copy_from_slice(&buf[..n]);
                j += n;
            }
        }
    }

    /// The accumulator over a tile with 8-lane vectors: channels 64 at a
    /// time in eight registers across the keys, then 8 at a time, the last
    /// `d % 8` channels by the scalar step (channels are independent).
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn pv256<const RAW: bool>(acc: &mut [f32], steps: &[Step], v: &[f32]) {
        let d = acc.len();
        assert!(v.len() >= steps.len() * d);
        let (a, vp) = (acc.as_mut_ptr(), v.as_ptr());
        let mut c = 0;
        // SAFETY (whole body): c + 8 ≤ d, keys < steps.len(), v holds that
        // many rows of d.
        unsafe {
            while c + 64 <= d {
                let mut r: [__m256; 8] = std::array::from_fn(|x| _mm256_loadu_ps(a.add(c + 8 * x)));
                for (j, st) in steps.iter().enumerate() {
                    let row = vp.add(j * d + c);
                    if st.rescale {
                        let mb = _mm256_set1_ps(st.ms);
                        for rx in r.iter_mut() {
                            *rx = h16x8(_mm256_mul_ps(*rx, mb));
                        }
                    }
                    let vb = _mm256_set1_ps(st.vs);
                    for (x, rx) in r.iter_mut().enumerate() {
                        *rx = h16x8(_mm256_fmadd_ps(load256::<RAW>(row.add(8 * x)), vb, *rx));
                    }
                }
                for (x, rx) in r.iter().enumerate() {
                    _mm256_storeu_ps(a.add(c + 8 * x), *rx);
                }
                c += 64;
            }
            while c + 8 <= d {
                let mut r = _mm256_loadu_ps(a.add(c));
                for (j, st) in steps.iter().enumerate() {
                    if st.rescale {
                        r = h16x8(_mm256_mul_ps(r, _mm256_set1_ps(st.ms)));
                    }
                    let vx = load256::<RAW>(vp.add(j * d + c));
                    r = h16x8(_mm256_fmadd_ps(vx, _mm256_set1_ps(st.vs), r));
                }
                _mm256_storeu_ps(a.add(c), r);
                c += 8;
            }
        }
        if c < d {
            let tail = &mut acc[c..];
            for (j, st) in steps.iter().enumerate() {
                step_scalar(tail, *st, &v[j * d + c..(j + 1) * d], RAW);
            }
        }
    }
}
