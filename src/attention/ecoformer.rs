//! EcoFormer (ziplab/EcoFormer): queries and keys hashed to `b` ±1 bits by
//! a kernelized hash, then linear attention on the codes — additions in
//! place of most multiplications.
//!
//! # As the code computes it (f32), per head
//!
//! 1. Rows of Q and K L2-normalised (`x/‖x‖`; a zero row stays zero).
//! 2. **Kernel features**: `m` = [`ANCHORS`] anchors; `κ_t(x) =
//!    exp(−‖x − a_t‖²/(2σ))` with σ the mean squared distance of the fitting
//!    rows to the anchors, minus the fitting rows' mean `μ_t` (the code's
//!    training mean).
//! 3. **Hash** (shared by Q and K): `h(x) = sign(κ(x)·Aᵀ) ∈ {±1}^b`
//!    (`b` = [`BITS`]; a zero product gives +1), `A ∈ R^{b×m}`.
//! 4. **Linear attention with the coded bias** `b + 1`: per query `i` over
//!    its `N` visible keys, `D = h_q·Σ_j h_kj + N(b+1)` (integers, exact) and
//!    `out = (h_q·Σ_j h_kj v_jᵀ + (b+1)·v_i) / D` — the numerator's bias
//!    term uses the query token's own value `v_i`, not `Σ_j v_j` (as coded;
//!    the denominator's `N(b+1)` is the bias of every key). `Σ_j h_kj v_jᵀ`
//!    (`b × d`) is summed in key order by adds and subtracts, then
//!    `h_q·(…)` adds and subtracts its rows in bit order.
//!
//! # Fitting `A` (the stand-in, named)
//!
//! The code learns `A` per head by SGD (100 steps per bit) to make
//! `h_q·h_k` match ±b targets: +1 for each fitting query's 10 most similar
//! keys (by `q·k`), −1 for its 10 least similar, 0 otherwise. Here the same
//! targets are fitted bit by bit with the spectral relaxation that such
//! kernel-hash fits start from (KSH): residual `R = b·S`; for each bit `a`
//! is the leading eigenvector of `sym(K_qᵀ R K_k)` (power iteration, seeded
//! start, 100 steps), `h = sign(K a)`, `R ← R − h_q h_kᵀ`. Fitting rows:
//! up to [`FIT_TOKENS`] queries and keys of the workload itself, anchors
//! drawn from them, both seeded.
//!
//! # Differences from the code
//!
//! - The fit (above); the RNG is this crate's.
//! - Causal shapes: prefix sums over the visible keys (the code has no
//!   causal mode); query `i` sits at position `nk − nq + i`.

use super::info::{AttentionInfo, Ops, ScaleGroup, Schedule, Softmax, Storage};
use super::{dot_fma, AttentionVariant, AttnShape, Qkv};
use crate::arith::exp::exp_f32;
use crate::hw::cost::{Cost, OpKind};
use crate::rng::{mix64, SplitMix64};
use rayon::prelude::*;

/// Anchors m.
pub const ANCHORS: usize = 25;
/// Hash bits b per head.
pub const BITS: usize = 16;
/// Most queries (and keys) of a head used to fit the hash.
pub const FIT_TOKENS: usize = 256;
/// Most- and least-similar keys per fitting query that get targets.
pub const TOP: usize = 10;
/// Power iterations per bit.
pub const FIT_ITERS: usize = 100;

/// An EcoFormer variant.
#[derive(Debug, Clone)]
pub struct EcoFormer {
    /// Registry name.
    pub name: &'static str,
    /// Description.
    pub description: &'static str,
    /// Anchors m.
    pub anchors: usize,
    /// Hash bits b.
    pub bits: usize,
    /// Seed of the fit (fitting rows, anchors, power-iteration starts).
    pub seed: u64,
}

/// One head's fitted hash.
#[derive(Debug, Clone, PartialEq)]
pub struct Hash {
    /// Anchors (`m × d`, normalised rows).
    pub anchors: Vec<f32>,
    /// 2σ.
    pub two_sigma: f32,
    /// Feature means μ (`m`).
    pub mean: Vec<f32>,
    /// Projections A (`b × m`).
    pub a: Vec<f32>,
}

impl Hash {
    /// The centred kernel features of one normalised row.
    pub fn features(&self, x: &[f32]) -> Vec<f32> {
        let d = x.len();
        self.anchors
            .chunks(d)
            .zip(&self.mean)
            .map(|(a, mu)| {
                let dist = x
                    .iter()
                    .zip(a)
                    .fold(0.0f32, |s, (p, q)| (p - q).mul_add(p - q, s));
                exp_f32(-dist / self.two_sigma) - mu
            })
            .collect()
    }

    /// The ±1 code of one normalised row (bit t is `code[t]`).
    pub fn code(&self, x: &[f32]) -> Vec<i32> {
        let f = self.features(x);
        self.a
            .chunks(f.len())
            .map(|w| if dot_fma(w, &f) >= 0.0 { 1 } else { -1 })
            .collect()
    }
}

/// `x / ‖x‖` per row of `d` (f32; a zero row stays zero).
pub fn normalise(x: &[f32], d: usize) -> Vec<f32> {
    x.chunks(d)
        .flat_map(|r| {
            let n = dot_fma(r, r).sqrt();
            r.iter().map(move |v| if n > 0.0 { v / n } else { 0.0 })
        })
        .collect()
}

/// Up to `k` distinct indices below `n`, seeded (partial Fisher–Yates),
/// in draw order.
fn pick(n: usize, k: usize, rng: &mut SplitMix64) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    let k = k.min(n);
    for i in 0..k {
        let j = i + (rng.next_u64() % (n - i) as u64) as usize;
        idx.swap(i, j);
    }
    idx.truncate(k);
    idx
}

/// The ±b targets: `S[i][j]` = +1 for query `i`'s [`TOP`] highest `q·k`,
/// −1 for its [`TOP`] lowest (ties by index), 0 otherwise (`fq × fk`).
pub fn targets(q: &[f32], k: &[f32], d: usize) -> Vec<f64> {
    let fk = k.len() / d;
    let mut s = Vec::with_capacity(q.len() / d * fk);
    for qi in q.chunks(d) {
        let sc: Vec<f32> = k.chunks(d).map(|kj| dot_fma(qi, kj)).collect();
        let mut order: Vec<usize> = (0..fk).collect();
        order.sort_by(|&a, &b| sc[b].total_cmp(&sc[a]).then(a.cmp(&b)));
        let mut row = vec![0.0; fk];
        let top = TOP.min(fk / 2);
        for &j in &order[..top] {
            row[j] = 1.0;
        }
        for &j in &order[fk - top..] {
            row[j] = -1.0;
        }
        s.extend(row);
    }
    s
}

/// The leading eigenvector (largest eigenvalue) of the symmetric `m × m`
/// matrix `g`: [`FIT_ITERS`] power iterations on `g + c·I` (c = the
/// Frobenius norm, so every eigenvalue is shifted non-negative) from `x0`.
pub fn leading_eigenvector(g: &[f64], x0: &[f64]) -> Vec<f64> {
    let m = x0.len();
    let c = g.iter().map(|v| v * v).sum::<f64>().sqrt();
    let mut x = x0.to_vec();
    for _ in 0..FIT_ITERS {
        let n = x.iter().map(|v| v * v).sum::<f64>().sqrt();
        if n == 0.0 {
            break;
        }
        let y: Vec<f64> = (0..m)
            .map(|r| (0..m).map(|col| g[r * m + col] * x[col] / n).sum::<f64>() + c * x[r] / n)
            .collect();
        x = y;
    }
    x
}

impl EcoFormer {
    /// Fits head `h`'s hash on the head's own queries and keys (module docs).
    pub fn fit(&self, x: &Qkv, h: usize) -> Hash {
        let d = x.shape.d;
        let qn = normalise(x.q_head(h), d);
        let kn = normalise(x.k_head(h), d);
        let mut rng = SplitMix64::new(mix64(self.seed ^ (h as u64 + 1).wrapping_mul(0x9E37_79B9)));
        let rows = |src: &[f32], idx: &[usize]| -> Vec<f32> {
            idx.iter()
                .flat_map(|&i| src[i * d..(i + 1) * d].to_vec())
                .collect()
        };
        let fq = rows(&qn, &pick(x.shape.nq, FIT_TOKENS, &mut rng));
        let fk = rows(&kn, &pick(x.shape.nk, FIT_TOKENS, &mut rng));
        let mut pool = fq.clone();
        pool.extend_from_slice(&fk);
        let anchors = rows(&pool, &pick(pool.len() / d, self.anchors, &mut rng));
        let m = anchors.len() / d;
        let mut dist = 0.0f64;
        for p in pool.chunks(d) {
            for a in anchors.chunks(d) {
                dist += p
                    .iter()
                    .zip(a)
                    .map(|(u, v)| ((u - v) as f64).powi(2))
                    .sum::<f64>();
            }
        }
        let sigma = (dist / (pool.len() / d * m) as f64) as f32;
        let mut hash = Hash {
            anchors,
            two_sigma: if sigma > 0.0 { 2.0 * sigma } else { 1.0 },
            mean: vec![0.0; m],
            a: Vec::new(),
        };
        let raw: Vec<Vec<f32>> = pool.chunks(d).map(|p| hash.features(p)).collect();
        hash.mean = (0..m)
            .map(|t| (raw.iter().map(|f| f[t] as f64).sum::<f64>() / raw.len() as f64) as f32)
            .collect();
        let feats = |src: &[f32]| -> Vec<Vec<f64>> {
            src.chunks(d)
                .map(|p| hash.features(p).iter().map(|v| *v as f64).collect())
                .collect()
        };
        let (kq, kk) = (feats(&fq), feats(&fk));
        let (nq, nk) = (kq.len(), kk.len());
        let mut r: Vec<f64> = targets(&fq, &fk, d)
            .iter()
            .map(|s| s * self.bits as f64)
            .collect();
        let mut a = Vec::with_capacity(self.bits * m);
        let sign = |f: &[f64], w: &[f64]| -> f64 {
            if f.iter().zip(w).map(|(x, y)| x * y).sum::<f64>() >= 0.0 {
                1.0
            } else {
                -1.0
            }
        };
        for _ in 0..self.bits {
            // M = K_qᵀ R K_k (m × m), symmetrised.
            let rk: Vec<f64> = (0..nq * m)
                .map(|e| (0..nk).map(|j| r[(e / m) * nk + j] * kk[j][e % m]).sum())
                .collect();
            let mut g = vec![0.0f64; m * m];
            for i in 0..nq {
                for s in 0..m {
                    for t in 0..m {
                        g[s * m + t] += kq[i][s] * rk[i * m + t];
                    }
                }
            }
            let gs: Vec<f64> = (0..m * m)
                .map(|e| 0.5 * (g[e] + g[(e % m) * m + e / m]))
                .collect();
            let x0: Vec<f64> = (0..m)
                .map(|_| (rng.next_u64() >> 11) as f64 / (1u64 << 52) as f64 - 1.0)
                .collect();
            let w = leading_eigenvector(&gs, &x0);
            let hq: Vec<f64> = kq.iter().map(|f| sign(f, &w)).collect();
            let hk: Vec<f64> = kk.iter().map(|f| sign(f, &w)).collect();
            for i in 0..nq {
                for j in 0..nk {
                    r[i * nk + j] -= hq[i] * hk[j];
                }
            }
            a.extend(w.iter().map(|v| *v as f32));
        }
        hash.a = a;
        hash
    }

    /// Head `h`'s codes of queries and keys (`nq × b`, `nk × b`).
    pub fn codes(&self, x: &Qkv, h: usize, hash: &Hash) -> (Vec<i32>, Vec<i32>) {
        let d = x.shape.d;
        let code = |src: &[f32]| -> Vec<i32> {
            normalise(src, d)
                .par_chunks(d)
                .flat_map_iter(|r| hash.code(r))
                .collect()
        };
        (code(x.q_head(h)), code(x.k_head(h)))
    }

    /// Head `h`'s output from its codes (module docs, step 4).
    pub fn head_output(&self, x: &Qkv, h: usize, hq: &[i32], hk: &[i32]) -> Vec<f64> {
        let AttnShape { nq, nk, d, .. } = x.shape;
        let b = self.bits;
        let v = x.v_head(h);
        let bias = (b + 1) as f32;
        let mut out = vec![0.0; nq * d];
        let mut sum_h = vec![0i64; b];
        let mut sum_hv = vec![0.0f32; b * d];
        let mut next = 0usize; // keys folded into the sums so far
                               // Queries in order of their visible count (non-decreasing in i).
        for i in 0..nq {
            let vis = x.shape.visible(i);
            while next < vis {
                let hkj = &hk[next * b..(next + 1) * b];
                let vj = &v[next * d..(next + 1) * d];
                for (t, s) in hkj.iter().enumerate() {
                    sum_h[t] += *s as i64;
                    let row = &mut sum_hv[t * d..(t + 1) * d];
                    for (acc, vc) in row.iter_mut().zip(vj) {
                        *acc = if *s > 0 { *acc + vc } else { *acc - vc };
                    }
                }
                next += 1;
            }
            let hqi = &hq[i * b..(i + 1) * b];
            let dot: i64 = hqi.iter().zip(&sum_h).map(|(a, s)| *a as i64 * s).sum();
            let den = (dot + vis as i64 * (b as i64 + 1)) as f32;
            let pos = nk - nq + i;
            let vi = &v[pos * d..(pos + 1) * d];
            for c in 0..d {
                let mut num = 0.0f32;
                for (t, s) in hqi.iter().enumerate() {
                    let m = sum_hv[t * d + c];
                    num = if *s > 0 { num + m } else { num - m };
                }
                out[i * d + c] = ((num + bias * vi[c]) / den) as f64;
            }
        }
        out
    }

    /// Operation counts as the paper's energy script counts them, for one
    /// layer of `heads` heads, `nq` queries and `nk` keys of head dim `c`
    /// (our reading; every add and multiply an f32 operation):
    /// - kernel features: `(nq + nk)·m·c` adds and `(nq + nk)·m` multiplies
    ///   (the script's `2HNmC` adds and `2HNm` multiplies at nq = nk = N);
    /// - hash: `(nq + nk)·m·b` multiplies and as many adds (`HNmb` each,
    ///   for Q and for K);
    /// - `Σ h_k vᵀ` and `Σ h_k`: `nk·b·(c + 1)` adds; `h_q·(…)`:
    ///   `nq·b·(c + 1)` adds; the bias `(b+1)·v_i`: `nq·c` multiplies and
    ///   adds (plus `nq` for the denominator); the division `nq·c` (counted
    ///   as multiplies).
    ///
    /// Returns (multiplies, adds).
    pub fn paper_counts(&self, heads: usize, nq: usize, nk: usize, c: usize) -> (f64, f64) {
        let (h, nq, nk, c) = (heads as f64, nq as f64, nk as f64, c as f64);
        let (m, b) = (self.anchors as f64, self.bits as f64);
        let mul = (nq + nk) * m + (nq + nk) * m * b + nq * c + nq * c;
        let add = (nq + nk) * m * c
            + (nq + nk) * m * b
            + nk * b * (c + 1.0)
            + nq * b * (c + 1.0)
            + nq * c
            + nq;
        (h * mul, h * add)
    }
}

/// Softmax attention (MSA) counted the same way: `QKᵀ` and `PV`
/// `nq·nk·c` multiplies and adds each; the softmax per pair one
/// exponential (counted as one multiply, as the script does not price it
/// apart), one add (the sum) and one multiply (the normalisation); the
/// `1/√c` scaling `nq·nk` multiplies. Returns (multiplies, adds).
pub fn msa_paper_counts(heads: usize, nq: usize, nk: usize, c: usize) -> (f64, f64) {
    let (h, p, c) = (heads as f64, (nq * nk) as f64, c as f64);
    (h * (2.0 * p * c + 3.0 * p), h * (2.0 * p * c + p))
}

impl AttentionVariant for EcoFormer {
    /// Timed whole: its work is not the same per visible pair at every N.
    fn emulation_scales_by_rows(&self) -> bool {
        false
    }

    fn info(&self) -> AttentionInfo {
        AttentionInfo {
            name: self.name,
            description: self.description,
            qk_desc:
                "f32 rows L2-normalised → RBF features (25 anchors) → 16 ±1 hash bits per token",
            pv_desc: "V f32; ±1 codes select add or subtract",
            accumulator: "f32 sums of ±v (key order), integer code dots",
            q: Storage::plain(32),
            // One b-bit code per cached key (b/d bits per element).
            k: Storage {
                bits: 0,
                scale_bits: self.bits as u32,
                group: ScaleGroup::Tokens(1),
            },
            v: Storage::plain(32),
            o_bits: 32,
            schedule: Schedule::Standard,
            ops: Ops {
                qk_mul: OpKind::F32_MUL,
                qk_add: OpKind::F32_ADD,
                pv_mul: OpKind::F32_MUL,
                pv_add: OpKind::F32_ADD,
                softmax: Softmax::F32,
            },
        }
    }

    fn emulate(&self, x: &Qkv) -> Vec<f64> {
        (0..x.shape.heads)
            .flat_map(|h| {
                let hash = self.fit(x, h);
                let (hq, hk) = self.codes(x, h, &hash);
                self.head_output(x, h, &hq, &hk)
            })
            .collect()
    }

    /// `ln(h_q·h_k + b + 1)`: the weights the denominator normalises
    /// (masked −∞).
    fn scores(&self, x: &Qkv) -> Vec<f64> {
        let AttnShape { nq, nk, .. } = x.shape;
        let b = self.bits;
        let mut out = vec![f64::NEG_INFINITY; x.shape.heads * nq * nk];
        for h in 0..x.shape.heads {
            let hash = self.fit(x, h);
            let (hq, hk) = self.codes(x, h, &hash);
            for i in 0..nq {
                for j in 0..x.shape.visible(i) {
                    let dot: i32 = (0..b).map(|t| hq[i * b + t] * hk[j * b + t]).sum();
                    out[(h * nq + i) * nk + j] = ((dot + b as i32 + 1) as f64).ln();
                }
            }
        }
        out
    }

    /// [`EcoFormer::paper_counts`] as f32 operations; `macs` are the hash's
    /// projections (`(nq + nk)·m·(c + b)`); bytes: Q, K, V read and O
    /// written once in f32 (slow memory), the codes and the `b × c` state
    /// on chip.
    fn cost(&self, shape: AttnShape) -> Cost {
        let AttnShape {
            heads, nq, nk, d, ..
        } = shape;
        let (mul, add) = self.paper_counts(heads, nq, nk, d);
        let h = heads as f64;
        let toks = (nq + nk) as f64;
        let mut c = Cost {
            macs: h * toks * self.anchors as f64 * (d + self.bits) as f64,
            ..Cost::default()
        };
        c.add(OpKind::F32_MUL, mul);
        c.add(OpKind::F32_ADD, add);
        c.dram_bytes = h * 4.0 * (2.0 * nq as f64 * d as f64 + 2.0 * nk as f64 * d as f64);
        let b = self.bits as f64;
        // Codes written and read; every token touches the b × d f32 state.
        c.sram_bytes = h * toks * (b / 8.0 + b * d as f64 * 4.0);
        c
    }
}

/// The variants of this file, in display order.
pub fn all() -> Vec<Box<dyn AttentionVariant>> {
    vec![Box::new(EcoFormer {
        name: "attention/ecoformer",
        description: "EcoFormer (ziplab/EcoFormer): L2-normalised Q/K → RBF kernel on 25 anchors → 16 ±1 hash bits per head → linear attention with bias b+1, the numerator's bias on the query's own v_i (as coded); hash fitted on the workload (seeded spectral-relaxation stand-in for the code's SGD); additions vs multiplications counted as the paper's energy script; no native kernel",
        anchors: ANCHORS,
        bits: BITS,
        seed: 13,
    })]
}
