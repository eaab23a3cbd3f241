//! Native attention kernels: FlashAttention's tiled online softmax in f32
//! (`attention/flash-f32`), returning exactly the bits of its emulation
//! (`attention::exact`, documented order there).
//!
//! Why the bits agree: each score is one key's FMA chain over the channels
//! in order, and vector lanes run across **keys** (K is packed 8 keys side
//! by side, channel-major), never along the channels; the P·V update is
//! per channel (`a_c = fma(p_j, v_jc, a_c)`, lanes across channels, keys in
//! order); the row max, the exponentials ([`exp_f32`], the one shared
//! function) and the row sum stay scalar in key order. AVX2 (with FMA) and a
//! portable scalar path, chosen by [`crate::isa::dispatch!`].
//!
//! Layer: uses ground and `arith` only; `attention::exact::Flash` wraps it.

use crate::arith::exp::exp_f32;
use crate::isa::{self, IsaLevel};
use rayon::prelude::*;

/// Keys per packed group (one AVX2 vector of f32).
const GROUP: usize = 8;

/// Sizes of one attention call (tensors `heads × n × d`, row-major).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    /// Heads.
    pub heads: usize,
    /// Queries per head.
    pub nq: usize,
    /// Keys per head.
    pub nk: usize,
    /// Head dimension.
    pub d: usize,
    /// Query i (at position nk − nq + i) sees keys up to its position.
    pub causal: bool,
}

impl Dims {
    fn visible(&self, i: usize) -> usize {
        if self.causal {
            (self.nk + i + 1).saturating_sub(self.nq).min(self.nk)
        } else {
            self.nk
        }
    }
}

/// K of one head packed in groups of 8 keys, channel-major inside a group
/// (`[group][channel][8]`), the last group zero-padded.
fn pack_k(k: &[f32], nk: usize, d: usize) -> Vec<f32> {
    let groups = nk.div_ceil(GROUP);
    let mut out = vec![0.0f32; groups * d * GROUP];
    for j in 0..nk {
        let (g, l) = (j / GROUP, j % GROUP);
        for c in 0..d {
            out[(g * d + c) * GROUP + l] = k[j * d + c];
        }
    }
    out
}

/// `attention/flash-f32` at `level`: the output (`heads × nq × d`) as f64.
///
/// # Panics
/// When a tensor's length does not match `dims` (a caller bug).
pub fn flash_f32(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    dims: Dims,
    b_c: usize,
    level: IsaLevel,
) -> Vec<f64> {
    let Dims {
        heads, nq, nk, d, ..
    } = dims;
    assert!(q.len() == heads * nq * d && k.len() == heads * nk * d && v.len() == k.len());
    let b_c = b_c.max(1);
    let packed: Vec<Vec<f32>> = (0..heads)
        .into_par_iter()
        .map(|h| pack_k(&k[h * nk * d..(h + 1) * nk * d], nk, d))
        .collect();
    let sc = (1.0 / (d as f64).sqrt()) as f32;
    let f = isa::active();
    let avx2_ok = f.fma;
    let mut out = vec![0.0f64; heads * nq * d];
    out.par_chunks_mut(d.max(1))
        .with_min_len(4)
        .enumerate()
        .for_each(|(r, o)| {
            let (h, i) = (r / nq, r % nq);
            let row = Row {
                q: &q[r * d..(r + 1) * d],
                kp: &packed[h],
                v: &v[h * nk * d..(h + 1) * nk * d],
                d,
                sc,
                vis: dims.visible(i),
                b_c,
            };
            let acc = isa::dispatch!(level,
                // SAFETY: this arm runs only on CPUs with AVX2; FMA was checked.
                avx2 => if avx2_ok { unsafe { avx2::row(&row) } } else { row_scalar(&row) },
                scalar => row_scalar(&row),
            );
            for (a, b) in o.iter_mut().zip(acc) {
                *a = b as f64;
            }
        });
    out
}

/// One query row's inputs.
struct Row<'a> {
    q: &'a [f32],
    kp: &'a [f32],
    v: &'a [f32],
    d: usize,
    sc: f32,
    vis: usize,
    b_c: usize,
}

/// The online softmax over one row, given a score function for a tile and
/// a P·V update; shared by both paths so the scalar steps are one code.
#[inline(always)]
fn online(
    r: &Row,
    mut scores: impl FnMut(usize, usize, &mut [f32]),
    mut pv: impl FnMut(&mut [f32], f32, &[f32]),
    mut scale: impl FnMut(&mut [f32], f32),
) -> Vec<f32> {
    let d = r.d;
    let (mut m, mut l) = (f32::NEG_INFINITY, 0.0f32);
    let mut acc = vec![0.0f32; d];
    let mut s = vec![0.0f32; r.b_c.div_ceil(GROUP) * GROUP + GROUP];
    let mut t0 = 0;
    while t0 < r.vis {
        let t1 = (t0 + r.b_c).min(r.vis);
        let n = t1 - t0;
        scores(t0, t1, &mut s);
        let tile = &mut s[..n];
        let m_new = tile.iter().fold(m, |u, &w| u.max(w));
        if m_new == f32::NEG_INFINITY {
            t0 = t1;
            continue;
        }
        let alpha = exp_f32(m - m_new);
        let mut sum = 0.0f32;
        for p in tile.iter_mut() {
            *p = exp_f32(*p - m_new);
            sum += *p;
        }
        l = l * alpha + sum;
        scale(&mut acc, alpha);
        for (jj, &p) in tile.iter().enumerate() {
            pv(&mut acc, p, &r.v[(t0 + jj) * d..(t0 + jj + 1) * d]);
        }
        m = m_new;
        t0 = t1;
    }
    acc.iter().map(|a| a / l).collect()
}

/// The portable path.
fn row_scalar(r: &Row) -> Vec<f32> {
    let d = r.d;
    online(
        r,
        |t0, t1, s| {
            for j in t0..t1 {
                let (g, lane) = (j / GROUP, j % GROUP);
                let base = g * d * GROUP;
                let mut a = 0.0f32;
                for c in 0..d {
                    a = r.q[c].mul_add(r.kp[base + c * GROUP + lane], a);
                }
                s[j - t0] = a * r.sc;
            }
        },
        |acc, p, v| {
            for (a, x) in acc.iter_mut().zip(v) {
                *a = p.mul_add(*x, *a);
            }
        },
        |acc, alpha| acc.iter_mut().for_each(|a| *a *= alpha),
    )
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{online, Row, GROUP};
    use std::arch::x86_64::*;

    /// The AVX2 + FMA path (same steps as `row_scalar`).
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn row(r: &Row) -> Vec<f32> {
        let d = r.d;
        online(
            r,
            |t0, t1, s| {
                // Whole groups covering [t0, t1): tiles start on multiples of
                // b_c, so a group may start before t0 when b_c % 8 ≠ 0; lanes
                // outside the tile are computed and dropped.
                let g0 = t0 / GROUP;
                let g1 = t1.div_ceil(GROUP);
                let mut buf = [0.0f32; GROUP];
                for g in g0..g1 {
                    let base = g * d * GROUP;
                    // SAFETY: the packed K holds d·8 values per group; q holds d.
                    unsafe {
                        let mut a = _mm256_setzero_ps();
                        let kp = r.kp.as_ptr().add(base);
                        for c in 0..d {
                            let qc = _mm256_set1_ps(*r.q.get_unchecked(c));
                            a = _mm256_fmadd_ps(qc, _mm256_loadu_ps(kp.add(c * GROUP)), a);
                        }
                        a = _mm256_mul_ps(a, _mm256_set1_ps(r.sc));
                        _mm256_storeu_ps(buf.as_mut_ptr(), a);
                    }
                    for (lane, val) in buf.iter().enumerate() {
                        let j = g * GROUP + lane;
                        if j >= t0 && j < t1 {
                            s[j - t0] = *val;
                        }
                    }
                }
            },
            |acc, p, v| {
                let n8 = d / 8 * 8;
                // SAFETY: acc and v hold d values; the loop stays below n8 ≤ d.
                unsafe {
                    let pb = _mm256_set1_ps(p);
                    let mut c = 0;
                    while c < n8 {
                        let ap = acc.as_mut_ptr().add(c);
                        let x = _mm256_loadu_ps(v.as_ptr().add(c));
                        _mm256_storeu_ps(ap, _mm256_fmadd_ps(pb, x, _mm256_loadu_ps(ap)));
                        c += 8;
                    }
                }
                for c in n8..d {
                    acc[c] = p.mul_add(v[c], acc[c]);
                }
            },
            |acc, alpha| {
                let n8 = d / 8 * 8;
                // SAFETY: as above.
                unsafe {
                    let ab = _mm256_set1_ps(alpha);
                    let mut c = 0;
                    while c < n8 {
                        let ap = acc.as_mut_ptr().add(c);
                        _mm256_storeu_ps(ap, _mm256_mul_ps(ab, _mm256_loadu_ps(ap)));
                        c += 8;
                    }
                }
                for a in acc[n8..].iter_mut() {
                    *a *= alpha;
                }
            },
        )
    }
}
