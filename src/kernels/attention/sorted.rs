//! Kernels for the dense parts of LSH-sorted attention (HyperAttention's
//! `attention/hyper` and `attention/hyper-triton`, KDEformer's
//! `attention/kdeformer` and `attention/kdeformer-stable`): the variants
//! hash, sort, sample and gather in `attention`; these functions run the
//! work that dominates on the gathered, contiguous rows, returning exactly
//! the bits of the scalar loops `attention::hyper` and
//! `attention::kdeformer` document.
//!
//! - [`exact`]: torch's f32 softmax (`hyper::exact`): scores
//!   `dot_fma(q, k)·sc`, an additive `f32::MIN` on masked pairs (they stay
//!   in every sum with weight `exp(s + MIN − m)`, as the code's), max,
//!   `exp_f32(s − m)`, `ℓ` summed in key order, `o_c = Σ fma(p_j/ℓ, v_jc)`
//!   in key order, `lse = m + ln ℓ`.
//! - [`triton`]: the Triton rewrite's online softmax (`hyper::triton_sorted`)
//!   over a gathered key list cut in tiles at its two segments.
//! - [`kde`]: KDEformer's block and residual sums against `[V | 1]`.
//! - [`gram`] and [`proj_dots`]: the Gram matrix `VᵀV` and the LSH
//!   projections, each a chain of FMAs in row (channel) order per output,
//!   lanes across the outputs.
//!
//! They run the shared `Kern` steps (lanes across keys for scores,
//! across channels for P·V; the row max and sums scalar in key order), so
//! the order is the emulation's at every ISA level: AVX2 with FMA, else the
//! scalar steps (the AVX-512 level runs the AVX2 path). Rows are
//! independent tasks, so the thread count changes no bit.
//!
//! Layer: uses ground and `arith` only.

use super::{pack_k, Kern, Keys, Scalar, PACK_MIN_QUERIES};
use crate::arith::exp::exp_f32;
use crate::isa::{self, IsaLevel};
use rayon::prelude::*;

/// Which (row, key) pairs of [`exact`] get the additive `f32::MIN`.
#[derive(Debug, Clone, Copy)]
pub enum Mask<'a> {
    /// None.
    None,
    /// Keys after the row (`j > i`).
    Causal,
    /// Row `i` against key `j` when `i / rows_per_block == key_block[j]`
    /// (HyperAttention's own-block mask on its samples).
    Own {
        /// Query rows per block.
        rows_per_block: usize,
        /// Block of every key.
        key_block: &'a [usize],
    },
}

impl Mask<'_> {
    #[inline(always)]
    fn masked(&self, i: usize, j: usize) -> bool {
        match *self {
            Mask::None => false,
            Mask::Causal => j > i,
            Mask::Own {
                rows_per_block,
                key_block,
            } => i / rows_per_block == key_block[j],
        }
    }
}

/// One row's computation, written once over the [`Kern`] steps; `o` is
/// the row's output slot.
trait RowFn: Sync {
    fn row<K: Kern>(&self, k: &K, r: usize, o: &mut [f32]);
}

/// [`RowFn::row`] with the AVX2 steps.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn row_avx2<R: RowFn>(f: &R, r: usize, o: &mut [f32]) {
    f.row(&super::avx2::Avx2, r, o)
}

/// Every row of `f` (`rows` slots of `width` values), rows in parallel, at
/// `level`.
fn run_rows<R: RowFn>(f: &R, rows: usize, width: usize, level: IsaLevel) -> Vec<f32> {
    let mut out = vec![0.0f32; rows * width];
    if width == 0 {
        return out;
    }
    let fma = isa::active().fma;
    out.par_chunks_mut(width)
        .with_min_len(4)
        .enumerate()
        .for_each(|(r, o)| {
            isa::dispatch!(level,
                // SAFETY: this arm runs only on CPUs with AVX2; FMA was checked.
                avx2 => if fma { unsafe { row_avx2(f, r, o) } } else { f.row(&Scalar, r, o) },
                scalar => f.row(&Scalar, r, o),
            )
        });
    out
}

/// K as the score step reads it: packed when enough rows reuse it.
fn keys_of<'a>(
    k: &'a [f32],
    n: usize,
    d: usize,
    rows: usize,
    packed: &'a mut Vec<f32>,
) -> Keys<'a> {
    if rows >= PACK_MIN_QUERIES && n > 0 {
        *packed = pack_k(k, n, d);
        Keys::Packed(packed)
    } else {
        Keys::Rows(k)
    }
}

struct Exact<'a> {
    q: &'a [f32],
    keys: Keys<'a>,
    v: &'a [f32],
    d: usize,
    nk: usize,
    sc: f32,
    mask: Mask<'a>,
}

impl RowFn for Exact<'_> {
    #[inline(always)]
    fn row<K: Kern>(&self, k: &K, i: usize, o: &mut [f32]) {
        let (d, nk) = (self.d, self.nk);
        let mut s = vec![0.0f32; nk];
        k.scores(
            self.keys,
            &self.q[i * d..(i + 1) * d],
            self.sc,
            0,
            nk,
            &mut s,
        );
        if !matches!(self.mask, Mask::None) {
            for (j, sj) in s.iter_mut().enumerate() {
                if self.mask.masked(i, j) {
                    *sj += f32::MIN;
                }
            }
        }
        let m = s.iter().fold(f32::NEG_INFINITY, |u, &w| u.max(w));
        k.exp_shifted(&mut s, m);
        let l = s.iter().fold(0.0f32, |a, b| a + b);
        s.iter_mut().for_each(|p| *p /= l);
        let (acc, lse) = o.split_at_mut(d);
        acc.iter_mut().for_each(|a| *a = 0.0);
        k.pv_tile(acc, &s, self.v);
        lse[0] = m + l.ln();
    }
}

/// torch's f32 exact attention of `q` (`nq × d`) over `k`, `v` (`nk × d`)
/// with `mask` (module docs): per row its `d` outputs then its
/// log-sum-exp (`nq × (d + 1)`).
///
/// # Panics
/// When the lengths do not match `d` (a caller bug).
pub fn exact(q: &[f32], k: &[f32], v: &[f32], d: usize, mask: Mask, level: IsaLevel) -> Vec<f32> {
    assert!(d > 0 && q.len().is_multiple_of(d) && k.len().is_multiple_of(d) && v.len() == k.len());
    let (nq, nk) = (q.len() / d, k.len() / d);
    let mut packed = Vec::new();
    let f = Exact {
        q,
        keys: keys_of(k, nk, d, nq, &mut packed),
        v,
        d,
        nk,
        sc: (1.0 / (d as f64).sqrt()) as f32,
        mask,
    };
    run_rows(&f, nq, d + 1, level)
}

struct Triton<'a> {
    q: &'a [f32],
    keys: Keys<'a>,
    v: &'a [f32],
    d: usize,
    tiles: Vec<(usize, usize)>,
    sc: f32,
}

impl RowFn for Triton<'_> {
    #[inline(always)]
    fn row<K: Kern>(&self, k: &K, i: usize, o: &mut [f32]) {
        let d = self.d;
        let q = &self.q[i * d..(i + 1) * d];
        let (mut m, mut lse) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
        let (acc, tail) = o.split_at_mut(d);
        acc.iter_mut().for_each(|a| *a = 0.0);
        let longest = self.tiles.iter().map(|t| t.1 - t.0).max().unwrap_or(0);
        let mut buf = vec![0.0f32; longest];
        for &(t0, t1) in &self.tiles {
            let s = &mut buf[..t1 - t0];
            // dot·sc per key: its max is (max dot)·sc, the kernel's
            // `max(qk)·sm_scale`, as rounding is monotone and sc > 0.
            k.scores(self.keys, q, self.sc, t0, t1, s);
            let mx = s.iter().fold(f32::NEG_INFINITY, |u, &w| u.max(w));
            let mij = mx.max(lse);
            k.exp_shifted(s, mij);
            let lij = s.iter().fold(0.0f32, |a, b| a + b);
            let alpha = exp_f32(m - mij);
            k.scale(acc, alpha);
            k.pv_tile(acc, s, &self.v[t0 * d..t1 * d]);
            m = mij;
            lse = mij + (exp_f32(lse - mij) + lij).ln();
        }
        let f = exp_f32(m - lse);
        acc.iter_mut().for_each(|a| *a *= f);
        tail[0] = lse;
    }
}

/// The Triton rewrite's online softmax of every row of `q` (`nq × d`)
/// over the gathered keys `k`, `v` (`n × d`): keys `[0, split)` (the sorted
/// block) then `[split, n)` (the first s keys), each segment in tiles of
/// `tile` keys from its start. Per row its `d` outputs then its lse.
///
/// # Panics
/// When the lengths do not match `d`, `split > n` or `tile == 0`.
pub fn triton(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    d: usize,
    split: usize,
    tile: usize,
    level: IsaLevel,
) -> Vec<f32> {
    assert!(d > 0 && q.len().is_multiple_of(d) && k.len().is_multiple_of(d) && v.len() == k.len());
    let (nq, n) = (q.len() / d, k.len() / d);
    assert!(split <= n && tile > 0);
    let mut tiles = Vec::new();
    for (a, b) in [(0, split), (split, n)] {
        let mut t0 = a;
        while t0 < b {
            tiles.push((t0, (t0 + tile).min(b)));
            t0 += tile;
        }
    }
    let mut packed = Vec::new();
    let f = Triton {
        q,
        keys: keys_of(k, n, d, nq, &mut packed),
        v,
        d,
        tiles,
        sc: (1.0 / (d as f64).sqrt()) as f32,
    };
    run_rows(&f, nq, d + 1, level)
}

/// One KDEformer head, gathered and sorted by the variant.
#[derive(Debug, Clone, Copy)]
pub struct KdeHead<'a> {
    /// Queries times the softmax scale (`nq × d`, original order).
    pub q: &'a [f32],
    /// Sorted keys (`nk × d`).
    pub k: &'a [f32],
    /// Sorted augmented values `[v | 1]` (`nk × (d + 1)`).
    pub va: &'a [f32],
    /// Sorted position → original key.
    pub ko: &'a [usize],
    /// Block of every query.
    pub qblock: &'a [usize],
    /// Keys per block.
    pub bucket: usize,
    /// Keys every query sees (original indices below it; `nk` when not
    /// causal).
    pub visible: &'a [usize],
    /// Mask keys at or after `visible` (causal).
    pub causal: bool,
    /// Sampled sorted positions.
    pub samples: &'a [usize],
    /// The samples' keys (`s × d`).
    pub sample_k: &'a [f32],
    /// The samples' weighted values `sig_s · v_aug,s` (`s × (d + 1)`,
    /// each product rounded once, as the code's).
    pub sample_w: &'a [f32],
    /// Subtract the row maximum (the stable version).
    pub stable: bool,
}

struct Kde<'a> {
    h: KdeHead<'a>,
    keys: Keys<'a>,
    skeys: Keys<'a>,
    d: usize,
    nk: usize,
}

impl RowFn for Kde<'_> {
    #[inline(always)]
    fn row<K: Kern>(&self, k: &K, i: usize, o: &mut [f32]) {
        let KdeHead {
            q,
            va,
            ko,
            qblock,
            bucket: b,
            visible,
            causal,
            samples,
            sample_w,
            stable,
            ..
        } = self.h;
        let (d, nk) = (self.d, self.nk);
        let e = d + 1;
        let qi = &q[i * d..(i + 1) * d];
        let vis = visible[i];
        let t = qblock[i];
        let (p0, p1) = ((t * b).min(nk), ((t + 1) * b).min(nk));
        let seen = |p: usize| !causal || ko[p] < vis;
        let mut sb = vec![0.0f32; p1 - p0];
        k.scores(self.keys, qi, 1.0, p0, p1, &mut sb);
        let mut ss = vec![0.0f32; samples.len()];
        k.scores(self.skeys, qi, 1.0, 0, samples.len(), &mut ss);
        let m = if stable {
            sb.iter()
                .chain(&ss)
                .fold(f32::NEG_INFINITY, |u, &w| u.max(w))
        } else {
            0.0
        };
        k.exp_shifted(&mut sb, m);
        for (p, a) in (p0..p1).zip(sb.iter_mut()) {
            if !seen(p) {
                *a = 0.0;
            }
        }
        let mut acc = vec![0.0f32; e];
        k.pv_tile(&mut acc, &sb, &va[p0 * e..p1 * e]);
        if !samples.is_empty() {
            k.exp_shifted(&mut ss, m);
            for (&p, a) in samples.iter().zip(ss.iter_mut()) {
                if p / b == t || !seen(p) {
                    *a = 0.0;
                }
            }
            let mut res = vec![0.0f32; e];
            k.pv_tile(&mut res, &ss, sample_w);
            for (a, r) in acc.iter_mut().zip(&res) {
                *a += r;
            }
        }
        for (oc, a) in o.iter_mut().zip(&acc) {
            *oc = a / acc[d];
        }
    }
}

/// KDEformer's output rows (`nq × d`, original order) for one head
/// (`attention::kdeformer` documents the order): per query its sorted key
/// block's `exp(q·k − m)·v_aug` and its samples' `exp(q·k − m)·w`, summed
/// in key order from +0 (FMA), the residual added, then `o_c = a_c / a_d`.
///
/// # Panics
/// When the lengths do not agree (a caller bug).
pub fn kde(h: &KdeHead, d: usize, level: IsaLevel) -> Vec<f32> {
    assert!(d > 0 && h.bucket > 0);
    let (nq, nk, e) = (h.q.len() / d, h.k.len() / d, d + 1);
    let s = h.samples.len();
    assert!(h.q.len() == nq * d && h.va.len() == nk * e && h.ko.len() == nk);
    assert!(h.qblock.len() == nq && h.visible.len() == nq);
    assert!(h.sample_k.len() == s * d && h.sample_w.len() == s * e);
    let (mut kp, mut sp) = (Vec::new(), Vec::new());
    let f = Kde {
        h: *h,
        keys: keys_of(h.k, nk, d, nq, &mut kp),
        skeys: keys_of(h.sample_k, s, d, nq, &mut sp),
        d,
        nk,
    };
    run_rows(&f, nq, d, level)
}

/// The P·V step alone over given rows: output `r` is
/// `Σ_j fma(p_rj, v_j, ·)` from +0 in `j` order, lanes across `v`'s row.
struct Pv<'a> {
    /// `rows × n` weights.
    p: &'a [f32],
    /// `n × width` values.
    v: &'a [f32],
    n: usize,
}

impl RowFn for Pv<'_> {
    #[inline(always)]
    fn row<K: Kern>(&self, k: &K, r: usize, o: &mut [f32]) {
        o.iter_mut().for_each(|a| *a = 0.0);
        k.pv_tile(o, &self.p[r * self.n..(r + 1) * self.n], self.v);
    }
}

/// The Gram matrix `G = AᵀA` of `a` (`n × e`, row-major), `e × e`
/// row-major: `G_rc = Σ_j fma(a_jr, a_jc, ·)` from +0 in row order (the
/// KDEformer code's `V_augᵀV_aug` as the emulation forms it).
pub fn gram(a: &[f32], e: usize, level: IsaLevel) -> Vec<f32> {
    assert!(e > 0 && a.len().is_multiple_of(e));
    let n = a.len() / e;
    // Columns of A as rows: the weights of output row r.
    let mut cols = vec![0.0f32; e * n];
    for j in 0..n {
        for r in 0..e {
            cols[r * n + j] = a[j * e + r];
        }
    }
    run_rows(&Pv { p: &cols, v: a, n }, e, e, level)
}

/// The LSH projections' dots of every row of `x` (`rows × d`) with `proj`
/// (`d × r`, row-major): `rows × r`, each `Σ_c fma(x_c, w_ci, ·)` from +0
/// in channel order.
pub fn proj_dots(x: &[f32], d: usize, proj: &[f32], r: usize, level: IsaLevel) -> Vec<f32> {
    assert!(d > 0 && x.len().is_multiple_of(d) && proj.len() == d * r);
    // Padded to 8 columns so the lanes run across the projections.
    let w = r.div_ceil(8) * 8;
    let mut pw = vec![0.0f32; d * w];
    for c in 0..d {
        pw[c * w..c * w + r].copy_from_slice(&proj[c * r..(c + 1) * r]);
    }
    let rows = x.len() / d;
    let out = run_rows(&Pv { p: x, v: &pw, n: d }, rows, w, level);
    out.chunks(w.max(1))
        .flat_map(|row| row[..r].to_vec())
        .collect()
}
