//! QJL's native steps (`attention/qjl`, `attention/qjl-plain`; the
//! variant's module doc fixes every rounding): the JL sketches of keys and
//! queries, the keys' sign bits packed 64 to a word, the score as a ±1 sum
//! of the query sketch over those bits, and the row's softmax and P·V.
//!
//! Why the bits agree with the emulation:
//! - **Sketches** `Σ_c x_c·S_cp` are FMA chains over the chosen channels in
//!   their order, from +0; lanes run across the sketch coordinates `p`
//!   (`S` is row-major `d × m`, so a channel's row is contiguous), never
//!   along the chain. A sign bit is `sum > 0` (NaN and −0 give 0).
//! - **Sign sums** `Σ_p ±v_p` follow the emulation's order: sixteen lane
//!   sums (lane `l` adds the terms `p ≡ l mod 16` in increasing `p`, from
//!   +0), then the fixed tree `s_i + s_{i+8}`, `+ s_{i+4}`, `+ s_{i+2}`,
//!   `s_0 + s_1` ([`LANES`]). AVX-512 selects `v` or `−v` with the bit
//!   word's 16-bit slice as a mask register (`vblendmps`); AVX2 holds the
//!   sixteen lanes in two registers and expands each byte of bits to lane
//!   masks. The term is `v` where the bit is set, `−v` where not.
//! - **Buffered keys** (fp16 `q·k`): one FMA chain per key over the
//!   channels; lanes run across 16 keys packed channel-major.
//! - **Softmax** max and sum are scalar in key order; the exponential is
//!   the shared `exp_f32` (its vector forms give the same bits).
//! - **P·V** `a_c = fma(p_j, v_jc, a_c)`: lanes across channels, keys in
//!   order, so every channel's chain is the emulation's.
//!
//! AVX-512 (F), AVX2 (with FMA) and a portable scalar path, chosen by the
//! crate's `isa::dispatch!` macro.
//!
//! Layer: uses ground and `arith` only; `attention` wraps it.

use super::Dims;
use crate::arith::exp::exp_f32;
use crate::isa::{self, IsaLevel};
use half::f16;
use rayon::prelude::*;

/// Lanes of a sign sum's partial sums (the emulation's order).
pub const LANES: usize = 16;

/// Keys per packed group of the buffered keys' transposed copy.
const KGROUP: usize = 16;

/// What the row computes besides the sketched scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QjlParams {
    /// Sketch dimension m (inlier and outlier sketches alike); a multiple of 64.
    pub m: usize,
    /// The code's pipeline (outlier sketch, fp16 buffers, 2-bit values)
    /// or the plain estimator.
    pub coded: bool,
    /// Tokens per outlier group (coded).
    pub group: usize,
    /// Outlier channels per group (coded).
    pub outliers: usize,
    /// Keys are sketched in whole multiples of this many tokens (coded).
    pub key_buffer: usize,
    /// The newest this many values stay unquantized (coded).
    pub value_buffer: usize,
}

impl QjlParams {
    /// Sketched keys of `vis` visible ones.
    pub fn sketched(&self, vis: usize) -> usize {
        if self.coded {
            vis - vis % self.key_buffer
        } else {
            vis
        }
    }

    /// Quantized values of `vis` visible ones.
    pub fn quantized_values(&self, vis: usize) -> usize {
        if self.coded {
            vis - vis.min(self.value_buffer)
        } else {
            0
        }
    }

    /// u64 words of one key's bits (inlier, then outlier when coded).
    pub fn words(&self) -> usize {
        self.m / 64 * if self.coded { 2 } else { 1 }
    }
}

/// One head as the kernel reads it.
#[derive(Clone, Copy)]
pub struct QjlHead<'a> {
    /// Queries, `nq × d`.
    pub q: &'a [f32],
    /// Keys, `nk × d` (only the buffered ones are read).
    pub k: &'a [f32],
    /// Values, `nk × d` (the unquantized ones are read).
    pub v: &'a [f32],
    /// Dequantized values of the first quantized keys, row-major.
    pub vq: &'a [f32],
    /// Per sketched key, [`QjlParams::words`] words: bit `p` of a sketch at
    /// word `p / 64`, bit `p % 64`.
    pub bits: &'a [u64],
    /// Per sketched key: `c/m·‖k_in‖` (coded) or `c/m·‖k‖` (plain).
    pub a: &'a [f32],
    /// Per sketched key: `c/m_o·‖k_out‖` (coded; unused plain).
    pub b: &'a [f32],
    /// Per group of keys, the outlier channels in topk order (coded).
    pub outliers: &'a [usize],
    /// The sketch `S`, `d × m` row-major.
    pub s: &'a [f32],
}

#[inline]
fn h16(x: f32) -> f32 {
    f16::from_f32(x).to_f32()
}

/// `out[p] = Σ_{c ∈ chans} x_c·S_cp` for `p < m` (an FMA chain over `chans`
/// in order from +0), at `level`.
pub fn sketch(x: &[f32], s: &[f32], m: usize, chans: &[usize], out: &mut [f32], level: IsaLevel) {
    assert!(m.is_multiple_of(LANES) && out.len() >= m && s.len() >= x.len() * m);
    assert!(chans.iter().all(|&c| c < x.len()));
    isa::dispatch!(level,
        // SAFETY: the level's features are present; bounds checked above.
        avx512 => unsafe { x86::sketch512(x, s, m, chans, out) },
        avx2 => unsafe { x86::sketch256(x, s, m, chans, out) },
        scalar => sketch_scalar(x, s, m, chans, out),
    )
}

fn sketch_scalar(x: &[f32], s: &[f32], m: usize, chans: &[usize], out: &mut [f32]) {
    // Channel-outer: each coordinate's chain still runs over `chans` in order.
    out[..m].iter_mut().for_each(|o| *o = 0.0);
    for &c in chans {
        for (o, sc) in out[..m].iter_mut().zip(&s[c * m..(c + 1) * m]) {
            *o = x[c].mul_add(*sc, *o);
        }
    }
}

/// Packs `x_p > 0` for `p < x.len()` into `words` (bit `p % 64` of word `p / 64`).
pub fn sign_bits(x: &[f32], words: &mut [u64]) {
    words.iter_mut().for_each(|w| *w = 0);
    for (p, &v) in x.iter().enumerate() {
        if v > 0.0 {
            words[p / 64] |= 1 << (p % 64);
        }
    }
}

/// `Σ_p ±v_p` over `p < v.len()` (+ where bit `p` of `bits` is set) in the
/// lane order of the module doc, at `level`. `v.len()` is a multiple of 64.
pub fn sign_sum(v: &[f32], bits: &[u64], level: IsaLevel) -> f32 {
    let m = v.len();
    assert!(m.is_multiple_of(64) && bits.len() >= m / 64);
    let neg: Vec<f32> = v.iter().map(|x| -x).collect();
    isa::dispatch!(level,
        // SAFETY: the level's features are present; bounds checked above.
        avx512 => unsafe { x86::reduce16(x86::ssum512::<1>([v.as_ptr()], [neg.as_ptr()], [bits.as_ptr()], m)[0]) },
        avx2 => unsafe { x86::ssum256::<1>([v.as_ptr()], [neg.as_ptr()], [bits.as_ptr()], m)[0] },
        scalar => sign_sum_scalar(v, bits),
    )
}

fn sign_sum_scalar(v: &[f32], bits: &[u64]) -> f32 {
    let mut s = [0.0f32; LANES];
    for (p, &x) in v.iter().enumerate() {
        let t = if (bits[p / 64] >> (p % 64)) & 1 == 1 {
            x
        } else {
            -x
        };
        s[p % LANES] += t;
    }
    let mut w = LANES;
    while w > 1 {
        w /= 2;
        for i in 0..w {
            s[i] += s[i + w];
        }
    }
    s[0]
}

/// The sign bits of `n` keys (`k` row-major, `d` channels): per key the
/// inlier sketch over the channels not among its group's outliers
/// (ascending), then (`outliers` given: per group of `group` keys, its
/// channels in topk order) the outlier sketch over the outlier channels;
/// [`QjlParams::words`] words per key. Keys run in parallel.
pub fn encode(
    k: &[f32],
    d: usize,
    n: usize,
    s: &[f32],
    p: &QjlParams,
    outliers: &[usize],
    level: IsaLevel,
) -> Vec<u64> {
    let (m, w) = (p.m, p.words());
    assert!(m.is_multiple_of(64) && k.len() >= n * d && s.len() >= d * m);
    let mut bits = vec![0u64; n * w];
    bits.par_chunks_mut(w * 16)
        .enumerate()
        .for_each(|(ci, chunk)| {
            let mut sk = vec![0.0f32; m];
            let mut inl = Vec::with_capacity(d);
            for (t, kw) in chunk.chunks_mut(w).enumerate() {
                let j = ci * 16 + t;
                let row = &k[j * d..(j + 1) * d];
                let out: &[usize] = if p.coded {
                    let g = j / p.group;
                    &outliers[g * p.outliers..(g + 1) * p.outliers]
                } else {
                    &[]
                };
                inl.clear();
                inl.extend((0..d).filter(|c| !out.contains(c)));
                sketch(row, s, m, &inl, &mut sk, level);
                sign_bits(&sk, &mut kw[..m / 64]);
                if p.coded {
                    sketch(row, s, m, out, &mut sk, level);
                    sign_bits(&sk, &mut kw[m / 64..]);
                }
            }
        });
    bits
}

/// The buffered keys `[j0, nk)` of one head transposed in groups of 16 keys,
/// channel-major inside a group (`[group][channel][16]`), zero-padded.
fn pack_keys(k: &[f32], d: usize, j0: usize, nk: usize) -> Vec<f32> {
    let n = nk - j0;
    let mut out = vec![0.0f32; n.div_ceil(KGROUP) * d * KGROUP];
    for j in 0..n {
        let (g, l) = (j / KGROUP, j % KGROUP);
        for c in 0..d {
            out[(g * d + c) * KGROUP + l] = k[(j0 + j) * d + c];
        }
    }
    out
}

/// One head's row inputs.
struct HeadRows<'a> {
    h: QjlHead<'a>,
    /// The transposed buffered keys from key `kt0` (SIMD paths).
    kt: Vec<f32>,
    kt0: usize,
}

/// The f32 scores `s_j` of query row `q` over keys `0..vis`.
fn row_scores(
    hr: &HeadRows,
    q: &[f32],
    vis: usize,
    p: &QjlParams,
    level: IsaLevel,
    sc: &mut Vec<f32>,
) {
    let (d, m) = (q.len(), p.m);
    let sqrt_d = (d as f64).sqrt() as f32;
    let h = &hr.h;
    let all: Vec<usize> = (0..d).collect();
    let mut sq = vec![0.0f32; m];
    sketch(q, h.s, m, &all, &mut sq, level);
    let nsk = p.sketched(vis);
    let w = p.words();
    sc.clear();
    sc.resize(vis, 0.0);
    if p.coded {
        let mut sqo = vec![0.0f32; m];
        let mut vin = vec![0.0f32; m];
        let (mut nvin, mut nsqo) = (vec![0.0f32; m], vec![0.0f32; m]);
        for g0 in (0..nsk).step_by(p.group) {
            let g = g0 / p.group;
            let o = &h.outliers[g * p.outliers..(g + 1) * p.outliers];
            sketch(q, h.s, m, o, &mut sqo, level);
            for i in 0..m {
                vin[i] = sq[i] - sqo[i];
                nvin[i] = -vin[i];
                nsqo[i] = -sqo[i];
            }
            let g1 = (g0 + p.group).min(nsk);
            let pair =
                |j: usize, inner: f32, outer: f32| (h.a[j] * inner + h.b[j] * outer) / sqrt_d;
            coded_scores(
                [&vin, &nvin, &sqo, &nsqo],
                &h.bits[g0 * w..g1 * w],
                m,
                &mut sc[g0..g1],
                |t, i, o| pair(g0 + t, i, o),
                level,
            );
        }
    } else {
        let nsq: Vec<f32> = sq.iter().map(|x| -x).collect();
        let f = |j: usize, inner: f32| h.a[j] * inner / sqrt_d;
        plain_scores(&sq, &nsq, &h.bits[..nsk * w], m, &mut sc[..nsk], f, level);
    }
    if nsk < vis {
        buffered_scores(hr, q, nsk, vis, level, &mut sc[nsk..vis]);
        for x in &mut sc[nsk..vis] {
            *x = h16(*x) / sqrt_d;
        }
    }
}

/// Coded scores of consecutive keys: `f(t, inner, outer)` for key `t`.
fn coded_scores(
    [vin, nvin, sqo, nsqo]: [&[f32]; 4],
    bits: &[u64],
    m: usize,
    out: &mut [f32],
    f: impl Fn(usize, f32, f32) -> f32,
    level: IsaLevel,
) {
    let w = 2 * m / 64;
    let hw = m / 64;
    isa::dispatch!(level,
        // SAFETY: the level's features are present; `bits` holds a key's
        // words for every element of `out`.
        avx512 => unsafe { x86::coded512([vin, nvin, sqo, nsqo], bits, m, out, f) },
        avx2 => unsafe { x86::coded256([vin, nvin, sqo, nsqo], bits, m, out, f) },
        scalar => {
            let _ = (nvin, nsqo);
            for (t, o) in out.iter_mut().enumerate() {
                let kb = &bits[t * w..(t + 1) * w];
                *o = f(t, sign_sum_scalar(vin, &kb[..hw]), sign_sum_scalar(sqo, &kb[hw..]));
            }
        },
    )
}

/// Plain scores of consecutive keys: `f(j, inner)` for key `j`.
fn plain_scores(
    sq: &[f32],
    nsq: &[f32],
    bits: &[u64],
    m: usize,
    out: &mut [f32],
    f: impl Fn(usize, f32) -> f32,
    level: IsaLevel,
) {
    let w = m / 64;
    isa::dispatch!(level,
        // SAFETY: the level's features are present; `bits` holds a key's
        // words for every element of `out`.
        avx512 => unsafe { x86::plain512(sq, nsq, bits, m, out, f) },
        avx2 => unsafe { x86::plain256(sq, nsq, bits, m, out, f) },
        scalar => {
            let _ = nsq;
            for (t, o) in out.iter_mut().enumerate() {
                *o = f(t, sign_sum_scalar(sq, &bits[t * w..(t + 1) * w]));
            }
        },
    )
}

/// `out[j − j0] = dot_fma(q, k_j)` for keys `[j0, j1)` (unrounded).
fn buffered_scores(
    hr: &HeadRows,
    q: &[f32],
    j0: usize,
    j1: usize,
    level: IsaLevel,
    out: &mut [f32],
) {
    let d = q.len();
    let k = hr.h.k;
    let scalar = |out: &mut [f32]| {
        for (j, o) in (j0..j1).zip(out.iter_mut()) {
            let mut a = 0.0f32;
            for (qc, kc) in q.iter().zip(&k[j * d..(j + 1) * d]) {
                a = qc.mul_add(*kc, a);
            }
            *o = a;
        }
    };
    if hr.kt.is_empty() || j0 < hr.kt0 {
        return scalar(out);
    }
    // j0 − kt0 is a multiple of the key buffer, hence of KGROUP.
    let g0 = (j0 - hr.kt0) / KGROUP;
    let mut tile = [0.0f32; KGROUP];
    for (gi, o) in out.chunks_mut(KGROUP).enumerate() {
        let base = &hr.kt[(g0 + gi) * d * KGROUP..(g0 + gi + 1) * d * KGROUP];
        isa::dispatch!(level,
            // SAFETY: the level's features are present; `base` holds d × 16 values.
            avx512 => unsafe { x86::dots512(q, base, &mut tile) },
            avx2 => unsafe { x86::dots256(q, base, &mut tile) },
            scalar => unreachable!("the scalar path reads K row-major"),
        );
        o.copy_from_slice(&tile[..o.len()]);
    }
}

/// `p = exp_f32(p − mx)` in place at `level`.
fn exp_shifted(p: &mut [f32], mx: f32, level: IsaLevel) {
    isa::dispatch!(level,
        // SAFETY: the level's features are present.
        avx512 => unsafe { crate::arith::exp::avx512::exp_shifted(p, mx) },
        avx2 => unsafe { crate::arith::exp::avx2::exp_shifted(p, mx) },
        scalar => p.iter_mut().for_each(|x| *x = exp_f32(*x - mx)),
    )
}

/// `acc_c = fma(p_j, v_jc, acc_c)` for each row `j` of `v` in order.
fn pv(acc: &mut [f32], p: &[f32], v: &[f32], level: IsaLevel) {
    let d = acc.len();
    assert!(v.len() >= p.len() * d);
    isa::dispatch!(level,
        // SAFETY: the level's features are present; sizes checked above.
        avx512 => unsafe { x86::pv512(acc, p, v) },
        avx2 => unsafe { x86::pv256(acc, p, v) },
        scalar => {
            for (j, &pj) in p.iter().enumerate() {
                for (a, x) in acc.iter_mut().zip(&v[j * d..(j + 1) * d]) {
                    *a = pj.mul_add(*x, *a);
                }
            }
        },
    )
}

/// One output row (module doc of the variant): scores, softmax, P·V.
fn row(hr: &HeadRows, i: usize, dims: Dims, p: &QjlParams, level: IsaLevel, o: &mut [f64]) {
    let d = dims.d;
    let vis = dims.visible(i);
    let q = &hr.h.q[i * d..(i + 1) * d];
    let mut e = Vec::new();
    row_scores(hr, q, vis, p, level, &mut e);
    let mx = e.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    exp_shifted(&mut e, mx, level);
    let l = e.iter().fold(0.0f32, |a, b| a + b);
    let v = hr.h.v;
    if !p.coded {
        e.iter_mut().for_each(|x| *x /= l);
        let mut a = vec![0.0f32; d];
        pv(&mut a, &e, v, level);
        o.iter_mut().zip(&a).for_each(|(oc, x)| *oc = *x as f64);
        return;
    }
    e.iter_mut().for_each(|x| *x = h16(*x / l));
    let nq = p.quantized_values(vis);
    let (mut a, mut b) = (vec![0.0f32; d], vec![0.0f32; d]);
    pv(&mut a, &e[..nq], hr.h.vq, level);
    pv(&mut b, &e[nq..vis], &v[nq * d..], level);
    for ((oc, ac), bc) in o.iter_mut().zip(&a).zip(&b) {
        *oc = if nq > 0 {
            h16(h16(*ac) + h16(*bc))
        } else {
            h16(*bc)
        } as f64;
    }
}

fn head_rows<'a>(h: QjlHead<'a>, dims: Dims, p: &QjlParams, level: IsaLevel) -> HeadRows<'a> {
    // Only the keys some row reads unsketched are transposed.
    let first = dims.visible(0);
    let kt0 = p.sketched(first);
    let simd = isa::supported(level) >= IsaLevel::Avx2;
    let kt = if simd && p.coded && kt0 < dims.nk {
        pack_keys(h.k, dims.d, kt0, dims.nk)
    } else {
        Vec::new()
    };
    HeadRows { h, kt, kt0 }
}

/// QJL attention over prepared heads (`heads × nq × d` out), rows in parallel.
pub fn qjl(heads: &[QjlHead], dims: Dims, p: &QjlParams, level: IsaLevel) -> Vec<f64> {
    assert_eq!(heads.len(), dims.heads, "qjl: one view per head");
    let d = dims.d;
    let rows: Vec<HeadRows> = heads
        .iter()
        .map(|h| head_rows(*h, dims, p, level))
        .collect();
    let mut out = vec![0.0f64; dims.heads * dims.nq * d];
    out.par_chunks_mut(d)
        .with_min_len(4)
        .enumerate()
        .for_each(|(r, o)| row(&rows[r / dims.nq], r % dims.nq, dims, p, level, o));
    out
}

/// The score phase alone (query sketches, sign sums, buffered dots) over
/// every row: a checksum of the scores (for timing it apart).
pub fn qjl_scores(heads: &[QjlHead], dims: Dims, p: &QjlParams, level: IsaLevel) -> f32 {
    let rows: Vec<HeadRows> = heads
        .iter()
        .map(|h| head_rows(*h, dims, p, level))
        .collect();
    let sums: Vec<f32> = (0..dims.heads * dims.nq)
        .into_par_iter()
        .with_min_len(4)
        .map(|r| {
            let (hr, i) = (&rows[r / dims.nq], r % dims.nq);
            let q = &hr.h.q[i * dims.d..(i + 1) * dims.d];
            let mut sc = Vec::new();
            row_scores(hr, q, dims.visible(i), p, level, &mut sc);
            sc.iter().fold(0.0f32, |a, b| a + b.abs())
        })
        .collect();
    sums.iter().sum()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// The sketch, 128 coordinates (8 × 16 lanes) per pass over the channels.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn sketch512(x: &[f32], s: &[f32], m: usize, chans: &[usize], out: &mut [f32]) {
        let mut p0 = 0;
        while p0 + 128 <= m {
            block512::<8>(x, s, m, chans, out, p0);
            p0 += 128;
        }
        while p0 < m {
            block512::<1>(x, s, m, chans, out, p0);
            p0 += 16;
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn block512<const NV: usize>(
        x: &[f32],
        s: &[f32],
        m: usize,
        chans: &[usize],
        out: &mut [f32],
        p0: usize,
    ) {
        let mut acc = [_mm512_setzero_ps(); NV];
        let sp = s.as_ptr();
        for &c in chans {
            // SAFETY (caller): c < d and p0 + 16·NV ≤ m, so inside S.
            let xc = _mm512_set1_ps(*x.get_unchecked(c));
            let r = sp.add(c * m + p0);
            for (t, a) in acc.iter_mut().enumerate() {
                *a = _mm512_fmadd_ps(xc, _mm512_loadu_ps(r.add(16 * t)), *a);
            }
        }
        for (t, a) in acc.iter().enumerate() {
            _mm512_storeu_ps(out.as_mut_ptr().add(p0 + 16 * t), *a);
        }
    }

    /// The sketch, 64 coordinates (8 × 8 lanes) per pass over the channels.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn sketch256(x: &[f32], s: &[f32], m: usize, chans: &[usize], out: &mut [f32]) {
        let mut p0 = 0;
        while p0 + 64 <= m {
            block256::<8>(x, s, m, chans, out, p0);
            p0 += 64;
        }
        while p0 < m {
            block256::<2>(x, s, m, chans, out, p0);
            p0 += 16;
        }
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn block256<const NV: usize>(
        x: &[f32],
        s: &[f32],
        m: usize,
        chans: &[usize],
        out: &mut [f32],
        p0: usize,
    ) {
        let mut acc = [_mm256_setzero_ps(); NV];
        let sp = s.as_ptr();
        for &c in chans {
            let xc = _mm256_set1_ps(*x.get_unchecked(c));
            let r = sp.add(c * m + p0);
            for (t, a) in acc.iter_mut().enumerate() {
                *a = _mm256_fmadd_ps(xc, _mm256_loadu_ps(r.add(8 * t)), *a);
            }
        }
        for (t, a) in acc.iter().enumerate() {
            _mm256_storeu_ps(out.as_mut_ptr().add(p0 + 8 * t), *a);
        }
    }

    /// The coded scores of consecutive keys, two keys (four sign sums) at
    /// a time: `out[t] = f(t, inner, outer)`.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn coded512(
        [vin, nvin, sqo, nsqo]: [&[f32]; 4],
        bits: &[u64],
        m: usize,
        out: &mut [f32],
        f: impl Fn(usize, f32, f32) -> f32,
    ) {
        let (w, hw) = (2 * m / 64, m / 64);
        let (vi, ni, vo, no) = (vin.as_ptr(), nvin.as_ptr(), sqo.as_ptr(), nsqo.as_ptr());
        let mut t = 0;
        while t + 2 <= out.len() {
            let b0 = bits.as_ptr().add(t * w);
            let b1 = b0.add(w);
            let r = ssum512::<4>(
                [vi, vo, vi, vo],
                [ni, no, ni, no],
                [b0, b0.add(hw), b1, b1.add(hw)],
                m,
            );
            out[t] = f(t, reduce16(r[0]), reduce16(r[1]));
            out[t + 1] = f(t + 1, reduce16(r[2]), reduce16(r[3]));
            t += 2;
        }
        if t < out.len() {
            let b0 = bits.as_ptr().add(t * w);
            let r = ssum512::<2>([vi, vo], [ni, no], [b0, b0.add(hw)], m);
            out[t] = f(t, reduce16(r[0]), reduce16(r[1]));
        }
    }

    /// [`coded512`] on AVX2, one key (two sign sums) at a time.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn coded256(
        [vin, nvin, sqo, nsqo]: [&[f32]; 4],
        bits: &[u64],
        m: usize,
        out: &mut [f32],
        f: impl Fn(usize, f32, f32) -> f32,
    ) {
        let (w, hw) = (2 * m / 64, m / 64);
        for (t, o) in out.iter_mut().enumerate() {
            let b0 = bits.as_ptr().add(t * w);
            let r = ssum256::<2>(
                [vin.as_ptr(), sqo.as_ptr()],
                [nvin.as_ptr(), nsqo.as_ptr()],
                [b0, b0.add(hw)],
                m,
            );
            *o = f(t, r[0], r[1]);
        }
    }

    /// The plain scores of consecutive keys, four at a time: `out[t] = f(t, inner)`.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn plain512(
        sq: &[f32],
        nsq: &[f32],
        bits: &[u64],
        m: usize,
        out: &mut [f32],
        f: impl Fn(usize, f32) -> f32,
    ) {
        let w = m / 64;
        let (v, n) = (sq.as_ptr(), nsq.as_ptr());
        let mut t = 0;
        while t + 4 <= out.len() {
            let b = bits.as_ptr().add(t * w);
            let r = ssum512::<4>([v; 4], [n; 4], [b, b.add(w), b.add(2 * w), b.add(3 * w)], m);
            for (u, ru) in r.iter().enumerate() {
                out[t + u] = f(t + u, reduce16(*ru));
            }
            t += 4;
        }
        while t < out.len() {
            let r = ssum512::<1>([v], [n], [bits.as_ptr().add(t * w)], m);
            out[t] = f(t, reduce16(r[0]));
            t += 1;
        }
    }

    /// [`plain512`] on AVX2, two keys at a time.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn plain256(
        sq: &[f32],
        nsq: &[f32],
        bits: &[u64],
        m: usize,
        out: &mut [f32],
        f: impl Fn(usize, f32) -> f32,
    ) {
        let w = m / 64;
        let (v, n) = (sq.as_ptr(), nsq.as_ptr());
        let mut t = 0;
        while t + 2 <= out.len() {
            let b = bits.as_ptr().add(t * w);
            let r = ssum256::<2>([v; 2], [n; 2], [b, b.add(w)], m);
            out[t] = f(t, r[0]);
            out[t + 1] = f(t + 1, r[1]);
            t += 2;
        }
        if t < out.len() {
            let r = ssum256::<1>([v], [n], [bits.as_ptr().add(t * w)], m);
            out[t] = f(t, r[0]);
        }
    }

    /// `N` sign sums at once (independent chains): sum `u` adds `v_u[p]`
    /// where bit `p` of `bits_u` is set, else `neg_u[p]`, into lane
    /// `p mod 16`; the sixteen lane sums, unreduced.
    #[inline]
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn ssum512<const N: usize>(
        v: [*const f32; N],
        neg: [*const f32; N],
        bits: [*const u64; N],
        m: usize,
    ) -> [__m512; N] {
        let mut acc = [_mm512_setzero_ps(); N];
        // Bits 16·i..16·i + 16 of the little-endian words are the i-th u16:
        // a mask register loads them straight from memory.
        let halves: [*const u16; N] = std::array::from_fn(|u| bits[u] as *const u16);
        for w in 0..m / 64 {
            for q in 0..4 {
                let p = 64 * w + 16 * q;
                for u in 0..N {
                    let k: __mmask16 = halves[u].add(4 * w + q).read_unaligned();
                    let x = _mm512_mask_blend_ps(
                        k,
                        _mm512_loadu_ps(neg[u].add(p)),
                        _mm512_loadu_ps(v[u].add(p)),
                    );
                    acc[u] = _mm512_add_ps(acc[u], x);
                }
            }
        }
        acc
    }

    /// The tree `s_i + s_{i+8}`, `+ s_{i+4}`, `+ s_{i+2}`, `s_0 + s_1`.
    #[inline]
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn reduce16(acc: __m512) -> f32 {
        let lo = _mm512_castps512_ps256(acc);
        let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(acc)));
        reduce8(_mm256_add_ps(lo, hi))
    }

    /// The tree's last three levels on lanes 0..8 (`t_i + t_{i+4}`, …).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn reduce8(t: __m256) -> f32 {
        let u = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps::<1>(t));
        let w = _mm_add_ps(u, _mm_movehl_ps(u, u));
        _mm_cvtss_f32(_mm_add_ss(w, _mm_shuffle_ps::<1>(w, w)))
    }

    /// `N` sign sums at once on AVX2, reduced: lanes 0..8 and 8..16 in two
    /// registers; each byte of bits expanded to a lane mask.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn ssum256<const N: usize>(
        v: [*const f32; N],
        neg: [*const f32; N],
        bits: [*const u64; N],
        m: usize,
    ) -> [f32; N] {
        let sel = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
        let lane_mask = |byte: u64| {
            let b = _mm256_set1_epi32(byte as i32);
            _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(b, sel), sel))
        };
        let mut lo = [_mm256_setzero_ps(); N];
        let mut hi = [_mm256_setzero_ps(); N];
        for w in 0..m / 64 {
            let words: [u64; N] = std::array::from_fn(|u| *bits[u].add(w));
            for q in 0..4 {
                let p = 64 * w + 16 * q;
                for u in 0..N {
                    let bw = words[u] >> (16 * q);
                    let x0 = _mm256_blendv_ps(
                        _mm256_loadu_ps(neg[u].add(p)),
                        _mm256_loadu_ps(v[u].add(p)),
                        lane_mask(bw & 0xff),
                    );
                    let x1 = _mm256_blendv_ps(
                        _mm256_loadu_ps(neg[u].add(p + 8)),
                        _mm256_loadu_ps(v[u].add(p + 8)),
                        lane_mask((bw >> 8) & 0xff),
                    );
                    lo[u] = _mm256_add_ps(lo[u], x0);
                    hi[u] = _mm256_add_ps(hi[u], x1);
                }
            }
        }
        std::array::from_fn(|u| reduce8(_mm256_add_ps(lo[u], hi[u])))
    }

    /// 16 keys' `dot_fma(q, k)` from their channel-major tile.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn dots512(q: &[f32], tile: &[f32], out: &mut [f32; 16]) {
        let mut acc = _mm512_setzero_ps();
        for (c, qc) in q.iter().enumerate() {
            acc = _mm512_fmadd_ps(
                _mm512_set1_ps(*qc),
                _mm512_loadu_ps(tile.as_ptr().add(16 * c)),
                acc,
            );
        }
        _mm512_storeu_ps(out.as_mut_ptr(), acc);
    }

    /// [`dots512`] on AVX2 (two 8-key halves).
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dots256(q: &[f32], tile: &[f32], out: &mut [f32; 16]) {
        let (mut a, mut b) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        for (c, qc) in q.iter().enumerate() {
            let x = _mm256_set1_ps(*qc);
            let t = tile.as_ptr().add(16 * c);
            a = _mm256_fmadd_ps(x, _mm256_loadu_ps(t), a);
            b = _mm256_fmadd_ps(x, _mm256_loadu_ps(t.add(8)), b);
        }
        _mm256_storeu_ps(out.as_mut_ptr(), a);
        _mm256_storeu_ps(out.as_mut_ptr().add(8), b);
    }

    /// P·V, lanes across channels: up to 128 channels (8 × 16, the tail
    /// masked) held in registers across all keys.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn pv512(acc: &mut [f32], p: &[f32], v: &[f32]) {
        let d = acc.len();
        for c0 in (0..d).step_by(128) {
            let masks: [__mmask16; 8] = std::array::from_fn(|t| {
                let c = c0 + 16 * t;
                if c >= d {
                    0
                } else if d - c >= 16 {
                    0xffff
                } else {
                    (1u16 << (d - c)) - 1
                }
            });
            // Masked-off vectors may point past the row: wrapping
            // arithmetic, never dereferenced.
            let ap = acc.as_mut_ptr().add(c0);
            let mut a: [__m512; 8] =
                std::array::from_fn(|t| _mm512_maskz_loadu_ps(masks[t], ap.wrapping_add(16 * t)));
            for (j, &pj) in p.iter().enumerate() {
                let pb = _mm512_set1_ps(pj);
                let row = v.as_ptr().add(j * d + c0);
                for t in 0..8 {
                    let x = _mm512_maskz_loadu_ps(masks[t], row.wrapping_add(16 * t));
                    a[t] = _mm512_fmadd_ps(pb, x, a[t]);
                }
            }
            for t in 0..8 {
                _mm512_mask_storeu_ps(ap.wrapping_add(16 * t), masks[t], a[t]);
            }
        }
    }

    /// P·V on AVX2: up to 64 channels (8 × 8, the tail masked) per pass.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn pv256(acc: &mut [f32], p: &[f32], v: &[f32]) {
        let d = acc.len();
        for c0 in (0..d).step_by(64) {
            let masks: [__m256i; 8] = std::array::from_fn(|t| {
                let c = (c0 + 8 * t) as i32;
                let idx = _mm256_add_epi32(
                    _mm256_set1_epi32(c),
                    _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                );
                _mm256_cmpgt_epi32(_mm256_set1_epi32(d as i32), idx)
            });
            let ap = acc.as_mut_ptr().add(c0);
            let mut a: [__m256; 8] =
                std::array::from_fn(|t| _mm256_maskload_ps(ap.wrapping_add(8 * t), masks[t]));
            for (j, &pj) in p.iter().enumerate() {
                let pb = _mm256_set1_ps(pj);
                let row = v.as_ptr().add(j * d + c0);
                for t in 0..8 {
                    let x = _mm256_maskload_ps(row.wrapping_add(8 * t), masks[t]);
                    a[t] = _mm256_fmadd_ps(pb, x, a[t]);
                }
            }
            for t in 0..8 {
                _mm256_maskstore_ps(ap.wrapping_add(8 * t), masks[t], a[t]);
            }
        }
    }
}
