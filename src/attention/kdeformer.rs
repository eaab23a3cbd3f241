//! KDEformer (majid-daliri/kdeformer, `KDEformer.py`): LSH-sorted blocks
//! computed exactly plus an importance-sampled residual, both against
//! `V_aug = [V | 1]` so the last column estimates the softmax denominator.
//!
//! # As the code computes it (f32), per head
//!
//! 0. The code takes pre-scaled inputs (`exp(q·k)`): here Q is first
//!    multiplied by [`super::sm_scale`] in f32.
//! 1. **LSH**: r = 7 Gaussian projections, `hash = gray(bin)` (the same
//!    table as HyperAttention, [`super::lsh::lsh_hash`]); Q and K sorted
//!    by hash.
//! 2. **Blocks** (`CosineHammingLSH`): sorted keys in blocks of `bucket`
//!    (128 here: the GloVe demo's s/2), sorted queries in as many blocks;
//!    `A = exp(q·k)` (f32 FMA dot, [`exp_f32`]) — **no max subtraction** —
//!    and `R_sparse = A·V_aug` (FMA in key order).
//! 3. **Residual** (`calc_A_res`): `G = V_augᵀV_aug`; λ̂ = ‖y‖ after 20
//!    power iterations from a normalised Gaussian x (`y = Gx`,
//!    `x = y/‖y‖`); `P_i = ‖v_aug,i‖/λ̂ + 1/n`, L1-normalised; s = 256
//!    indices drawn ∝ P with replacement (over the sorted keys); a sample in
//!    the query's own block is masked (weight 0);
//!    `R_res = Σ_s exp(q·k_s)·mask·(v_aug,s / (P_s·s))`.
//! 4. `o = (R_sparse + R_res)[..d] / (R_sparse + R_res)[d]`.
//!
//! `attention/kdeformer-stable` subtracts each row's maximum score (over
//! its block keys and its samples) before every exponential: the same
//! estimate in exact arithmetic (the constant cancels in the ratio), but
//! finite where the coded version's `exp` overflows (a score above
//! ln(f32::MAX) ≈ 88.72 gives inf/inf = NaN) or every term underflows
//! (scores below ≈ −87.3 give 0/0).
//!
//! # Native kernel ([`NativeKde`])
//!
//! The same layout (hashes from `kernels::attention::sorted::proj_dots`,
//! the Gram matrix from `sorted::gram`: the same FMA chains, lanes across
//! outputs), then every row on `sorted::kde`: scores against the packed
//! sorted keys and the gathered sample keys, the exponentials (unmasked
//! pairs' weights zeroed afterwards, as the code multiplies by the mask),
//! the block and residual sums by the shared P·V step over `[V | 1]` and
//! over the samples' `sig·v_aug` rows (rounded once per head, as the
//! code's product). No max subtraction in the coded version: it overflows
//! to NaN exactly where the emulation does.
//!
//! # Attention-mass recall ([`KdeFormer::head_coverage`])
//!
//! Covered pairs: each row's sorted key block and its samples outside that
//! block (the code's mask zeroes the own-block samples); a key sampled
//! twice counts once. The sampled keys' weights (1/(P·s)) do not enter:
//! recall says which exact probability the estimate can see.
//!
//! # Differences from the code
//!
//! - Projections, the power method's start and the samples come from this
//!   crate's generator; the sort is stable (`torch.sort` is not).
//! - Lengths need not divide by the bucket: the last block is shorter.
//! - Causal shapes: the causal mask multiplies `A` (as the code's optional
//!   `input_attn_mask` does; the code has no causal mode). A row whose
//!   sorted block and samples hold no visible key — early rows, whose few
//!   visible keys the sort scatters into other blocks — sums nothing and
//!   gives 0/0 = NaN in both versions (max subtraction cannot help): in a
//!   causal prefill of 1 × 2048 × 64 (realistic, seed 0) rows 0–2 are NaN,
//!   at 4096 eleven rows; the output metrics of such a run are NaN.
//! - Fewer queries than blocks (decode): the code's `view` fails; here a
//!   query joins the block holding the first sorted key whose hash is ≥
//!   its own.

use super::info::{AttentionInfo, Ops, Schedule, Softmax, Storage};
use super::lsh::{hash_on, stable_order, Engine};
use super::{sm_scale, AttentionVariant, AttnShape, NativeAttention, Qkv};
use crate::arith::exp::exp_f32;
use crate::hw::cost::{Cost, OpKind};
use crate::isa::IsaLevel;
use crate::kernels::attention::sorted::{self, KdeHead};
use crate::rng::{mix64, SplitMix64};
use crate::workload::gen::{generate, Distribution};
use rayon::prelude::*;

/// Power iterations for λ̂.
pub const POWER_ITERS: usize = 20;

/// A KDEformer variant.
#[derive(Debug, Clone)]
pub struct KdeFormer {
    /// Registry name.
    pub name: &'static str,
    /// Description.
    pub description: &'static str,
    /// Subtract the row maximum (the stable version) or not (the code).
    pub stable: bool,
    /// LSH projections r.
    pub lsh_bits: usize,
    /// Keys per block.
    pub bucket: usize,
    /// Samples s.
    pub samples: usize,
    /// Seed.
    pub seed: u64,
}

fn norm(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |a, v| v.mul_add(*v, a)).sqrt()
}

/// λ̂: `‖G·x‖` after [`POWER_ITERS`] power iterations on the Gram matrix
/// `G = V_augᵀV_aug` (`e × e`, row-major) from the start vector `x0`.
pub fn power_method(g: &[f32], x0: &[f32]) -> f32 {
    let e = x0.len();
    let n0 = norm(x0);
    let mut x: Vec<f32> = x0.iter().map(|v| v / n0).collect();
    let mut lam = 0.0;
    for _ in 0..POWER_ITERS {
        let y: Vec<f32> = (0..e)
            .map(|r| (0..e).fold(0.0f32, |a, c| g[r * e + c].mul_add(x[c], a)))
            .collect();
        lam = norm(&y);
        x = y.iter().map(|v| v / lam).collect();
    }
    lam
}

/// What one head's residual sampling drew: the probabilities P (over the
/// sorted keys) and the sampled sorted positions.
#[derive(Debug, Clone, PartialEq)]
pub struct Samples {
    /// P_i, L1-normalised, in sorted key order.
    pub p: Vec<f32>,
    /// Sampled sorted positions.
    pub idx: Vec<usize>,
}

/// A head's sort, blocks and samples.
struct Layout {
    /// Queries times the softmax scale.
    q: Vec<f32>,
    /// Sorted position → original key.
    ko: Vec<usize>,
    /// Sorted keys.
    ks: Vec<f32>,
    /// Sorted augmented values (`[v | 1]`).
    va: Vec<f32>,
    /// Block of every query (by original index).
    qblock: Vec<usize>,
    /// Keys per block.
    b: usize,
    /// The residual's samples.
    smp: Option<Samples>,
}

impl KdeFormer {
    /// The LSH projections (`d × r`).
    pub fn projections(&self, d: usize) -> Vec<f32> {
        generate(
            &Distribution::Gaussian { std: 1.0 },
            d,
            self.lsh_bits,
            self.seed,
        )
        .data
    }

    /// Head `h`'s sampling over its sorted augmented values `va` (`n × (d+1)`).
    pub fn samples_of(&self, va: &[f32], d: usize, h: usize) -> Samples {
        self.samples_on(Engine::Emulate, va, d, h)
    }

    /// [`Self::samples_of`] on `engine` (natively the Gram matrix by the
    /// kernel: the same FMA chains).
    fn samples_on(&self, engine: Engine, va: &[f32], d: usize, h: usize) -> Samples {
        let e = d + 1;
        let n = va.len() / e;
        let g = match engine {
            Engine::Emulate => {
                let mut g = vec![0.0f32; e * e];
                for r in 0..e {
                    for c in 0..e {
                        g[r * e + c] =
                            (0..n).fold(0.0f32, |a, j| va[j * e + r].mul_add(va[j * e + c], a));
                    }
                }
                g
            }
            Engine::Native(level) => sorted::gram(va, e, level),
        };
        let sub = mix64(self.seed ^ (h as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
        let x0 = generate(&Distribution::Gaussian { std: 1.0 }, 1, e, sub).data;
        let lam = power_method(&g, &x0);
        let mut p: Vec<f32> = va
            .chunks(e)
            .map(|v| norm(v) / lam + 1.0 / n as f32)
            .collect();
        let total = p.iter().fold(0.0f32, |a, b| a + b);
        p.iter_mut().for_each(|x| *x /= total);
        // Inverse-CDF draws on the f64 cumulative sum.
        let mut cdf = Vec::with_capacity(n);
        let mut acc = 0.0f64;
        for &x in &p {
            acc += x as f64;
            cdf.push(acc);
        }
        let mut rng = SplitMix64::new(mix64(sub ^ 0x5EED));
        let idx = (0..self.samples)
            .map(|_| {
                let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * acc;
                cdf.partition_point(|&c| c <= u).min(n - 1)
            })
            .collect();
        Samples { p, idx }
    }

    /// Head `h`'s sort, blocks and samples (shared by [`Self::head`] and
    /// [`Self::head_coverage`]).
    fn layout(&self, x: &Qkv, h: usize) -> Layout {
        self.layout_on(Engine::Emulate, x, h)
    }

    fn layout_on(&self, engine: Engine, x: &Qkv, h: usize) -> Layout {
        let AttnShape { nq, nk, d, .. } = x.shape;
        let sc = sm_scale(d);
        let q: Vec<f32> = x.q_head(h).iter().map(|v| v * sc).collect();
        let (k, v) = (x.k_head(h), x.v_head(h));
        let proj = self.projections(d);
        let qh = hash_on(engine, &q, d, &proj, self.lsh_bits);
        let kh = hash_on(engine, k, d, &proj, self.lsh_bits);
        let (qo, ko) = (stable_order(&qh), stable_order(&kh));
        let b = self.bucket.max(1);
        let blocks = nk.div_ceil(b);
        // Sorted keys and augmented values.
        let ks: Vec<f32> = ko
            .iter()
            .flat_map(|&j| k[j * d..(j + 1) * d].to_vec())
            .collect();
        let va: Vec<f32> = ko
            .iter()
            .flat_map(|&j| v[j * d..(j + 1) * d].iter().cloned().chain([1.0]))
            .collect();
        // Block of every query (by original index).
        let mut qblock = vec![0usize; nq];
        let sorted_kh: Vec<u32> = ko.iter().map(|&j| kh[j]).collect();
        if nq >= blocks && nq % blocks == 0 {
            let qb = nq / blocks;
            for (r, &i) in qo.iter().enumerate() {
                qblock[i] = r / qb;
            }
        } else {
            for (i, blk) in qblock.iter_mut().enumerate() {
                let pos = sorted_kh.partition_point(|&hk| hk < qh[i]).min(nk - 1);
                *blk = pos / b;
            }
        }
        let smp = if self.samples > 0 {
            Some(self.samples_on(engine, &va, d, h))
        } else {
            None
        };
        Layout {
            q,
            ko,
            ks,
            va,
            qblock,
            b,
            smp,
        }
    }

    /// Which (query, key) pairs of head `h` the code scores with a weight
    /// (`nq × nk`, row-major; visible keys only): the row's sorted key
    /// block plus its samples outside that block (own-block samples get
    /// mask 0). A key drawn several times counts once.
    pub fn head_coverage(&self, x: &Qkv, h: usize) -> Vec<bool> {
        let AttnShape { nq, nk, .. } = x.shape;
        let l = self.layout(x, h);
        let mut cov = vec![false; nq * nk];
        for i in 0..nq {
            let vis = x.shape.visible(i);
            let t = l.qblock[i];
            let row = &mut cov[i * nk..(i + 1) * nk];
            for p in (t * l.b).min(nk)..((t + 1) * l.b).min(nk) {
                row[l.ko[p]] = true;
            }
            if let Some(s) = &l.smp {
                for &p in s.idx.iter().filter(|&&p| p / l.b != t) {
                    row[l.ko[p]] = true;
                }
            }
            row[vis..].iter_mut().for_each(|c| *c = false);
        }
        cov
    }

    /// Output rows of head `h` (`nq × d`, f32).
    pub fn head(&self, x: &Qkv, h: usize) -> Vec<f32> {
        let AttnShape { nq, nk, d, .. } = x.shape;
        let e = d + 1;
        let Layout {
            q,
            ko,
            ks,
            va,
            qblock,
            b,
            smp,
        } = self.layout(x, h);
        let causal = x.shape.causal;
        let mut out = vec![0.0f32; nq * d];
        for i in 0..nq {
            let qi = &q[i * d..(i + 1) * d];
            let vis = x.shape.visible(i);
            let t = qblock[i];
            let block: Vec<usize> = (t * b..((t + 1) * b).min(nk)).collect();
            let dot = |p: usize| {
                let kp = &ks[p * d..(p + 1) * d];
                qi.iter().zip(kp).fold(0.0f32, |a, (x, y)| x.mul_add(*y, a))
            };
            let seen = |p: usize| !causal || ko[p] < vis;
            let sb: Vec<f32> = block.iter().map(|&p| dot(p)).collect();
            let ss: Vec<(usize, f32)> = match &smp {
                Some(s) => s.idx.iter().map(|&p| (p, dot(p))).collect(),
                None => Vec::new(),
            };
            let m = if self.stable {
                sb.iter()
                    .chain(ss.iter().map(|x| &x.1))
                    .cloned()
                    .fold(f32::NEG_INFINITY, f32::max)
            } else {
                0.0
            };
            let mut acc = vec![0.0f32; e];
            for (&p, &s) in block.iter().zip(&sb) {
                let a = if seen(p) { exp_f32(s - m) } else { 0.0 };
                for (c, o) in acc.iter_mut().enumerate() {
                    *o = a.mul_add(va[p * e + c], *o);
                }
            }
            if let Some(s) = &smp {
                let mut res = vec![0.0f32; e];
                let ns = self.samples as f32;
                for &(p, sv) in &ss {
                    let mask = p / b != t && seen(p);
                    let a = if mask { exp_f32(sv - m) } else { 0.0 };
                    let sig = 1.0 / (s.p[p] * ns);
                    for (c, o) in res.iter_mut().enumerate() {
                        *o = a.mul_add(sig * va[p * e + c], *o);
                    }
                }
                for (a, r) in acc.iter_mut().zip(&res) {
                    *a += r;
                }
            }
            for c in 0..d {
                out[i * d + c] = acc[c] / acc[d];
            }
        }
        out
    }
}

/// The native kernel of a [`KdeFormer`] variant: the emulation's sort,
/// blocks and samples (hashing and the Gram matrix on the kernels), then
/// every row's block and residual sums on
/// [`crate::kernels::attention::sorted::kde`], heads and rows in parallel.
pub struct NativeKde(pub KdeFormer);

impl NativeAttention for NativeKde {
    fn run_at(&self, x: &Qkv, level: IsaLevel) -> Vec<f64> {
        let heads: Vec<Vec<f32>> = (0..x.shape.heads)
            .into_par_iter()
            .map(|h| self.0.head_native(x, h, level))
            .collect();
        heads.iter().flatten().map(|&v| v as f64).collect()
    }
}

impl KdeFormer {
    /// [`Self::head`] on the native kernels at `level`.
    fn head_native(&self, x: &Qkv, h: usize, level: IsaLevel) -> Vec<f32> {
        let AttnShape { nq, d, .. } = x.shape;
        let e = d + 1;
        let l = self.layout_on(Engine::Native(level), x, h);
        let visible: Vec<usize> = (0..nq).map(|i| x.shape.visible(i)).collect();
        let (mut sample_k, mut sample_w) = (Vec::new(), Vec::new());
        let idx: &[usize] = match &l.smp {
            Some(s) => {
                let ns = self.samples as f32;
                for &p in &s.idx {
                    sample_k.extend_from_slice(&l.ks[p * d..(p + 1) * d]);
                    let sig = 1.0 / (s.p[p] * ns);
                    sample_w.extend(l.va[p * e..(p + 1) * e].iter().map(|v| sig * v));
                }
                &s.idx
            }
            None => &[],
        };
        let head = KdeHead {
            q: &l.q,
            k: &l.ks,
            va: &l.va,
            ko: &l.ko,
            qblock: &l.qblock,
            bucket: l.b,
            visible: &visible,
            causal: x.shape.causal,
            samples: idx,
            sample_k: &sample_k,
            sample_w: &sample_w,
            stable: self.stable,
        };
        sorted::kde(&head, d, level)
    }
}

impl AttentionVariant for KdeFormer {
    /// Timed whole: its work is not the same per visible pair at every N.
    fn emulation_scales_by_rows(&self) -> bool {
        false
    }

    fn info(&self) -> AttentionInfo {
        AttentionInfo {
            name: self.name,
            description: self.description,
            qk_desc: "f32; LSH-sorted blocks + sampled keys",
            pv_desc: "f32, V augmented with a ones column",
            accumulator: if self.stable {
                "f32 (FMA), row max subtracted"
            } else {
                "f32 (FMA), no max subtraction"
            },
            q: Storage::plain(32),
            k: Storage::plain(32),
            v: Storage::plain(32),
            o_bits: 32,
            schedule: Schedule::Flash {
                b_c: self.bucket,
                b_r: self.bucket,
            },
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
        let heads: Vec<Vec<f32>> = (0..x.shape.heads)
            .into_par_iter()
            .map(|h| self.head(x, h))
            .collect();
        heads.iter().flatten().map(|&v| v as f64).collect()
    }

    /// The exact f32 scores (masked −∞); the method's approximation is in
    /// which of them it uses and how it weights them (output error).
    fn scores(&self, x: &Qkv) -> Vec<f64> {
        super::per_score_row(x.shape, |h, i, o| {
            let mut s = vec![0.0f32; x.shape.nk];
            super::exact::scores_f32_row(x, h, i, &mut s);
            for (a, b) in o.iter_mut().zip(&s) {
                *a = *b as f64;
            }
        })
    }

    /// [`NativeKde`].
    fn native(&self) -> Option<Box<dyn NativeAttention>> {
        Some(Box::new(NativeKde(self.clone())))
    }

    /// [`KdeFormer::head_coverage`] per head: the mass recall of the LSH
    /// blocks and the kept samples.
    fn coverage(&self, x: &Qkv) -> Option<Vec<bool>> {
        let heads: Vec<Vec<bool>> = (0..x.shape.heads)
            .into_par_iter()
            .map(|h| self.head_coverage(x, h))
            .collect();
        Some(heads.concat())
    }

    /// Per row: `bucket + s` scored pairs, each `d` MACs for the score, one
    /// exponential and `d + 1` MACs against `V_aug`; `d` divides; hashing
    /// `r·d` MACs per row of Q and K; per head the Gram matrix
    /// (`n·(d+1)²` MACs), 20 power iterations (`(d+1)²` MACs each) and P
    /// (`n·(d+1)` MACs).
    fn cost(&self, shape: AttnShape) -> Cost {
        let AttnShape {
            heads, nq, nk, d, ..
        } = shape;
        let (df, e) = (d as f64, d as f64 + 1.0);
        let per_row = (self.bucket.min(nk) + self.samples) as f64;
        let pairs = nq as f64 * per_row;
        let head_macs = pairs * (df + e)
            + ((nq + nk) * self.lsh_bits * d) as f64
            + nk as f64 * e * e
            + POWER_ITERS as f64 * e * e
            + nk as f64 * e;
        let h = heads as f64;
        let mut c = Cost {
            macs: h * 2.0 * pairs * df,
            ..Cost::default()
        };
        let extra = if self.stable { 2.0 } else { 0.0 };
        c.add(
            OpKind::F32_MUL,
            h * (head_macs + pairs * super::cost::EXP_OPS.0 + nq as f64 * df),
        );
        c.add(
            OpKind::F32_ADD,
            h * (head_macs + pairs * (super::cost::EXP_OPS.1 + extra)),
        );
        c.dram_bytes = h * 4.0 * df * (2.0 * nq as f64 + 2.0 * nk as f64);
        c.sram_bytes = h * pairs * (df + e) * 4.0;
        c
    }
}

/// The variants of this file, in display order.
pub fn all() -> Vec<Box<dyn AttentionVariant>> {
    let v = |name, description, stable| -> Box<dyn AttentionVariant> {
        Box::new(KdeFormer {
            name,
            description,
            stable,
            lsh_bits: 7,
            bucket: 128,
            samples: 256,
            seed: 0,
        })
    };
    vec![
        v("attention/kdeformer",
          "KDEformer as coded (majid-daliri/kdeformer): 7-bit LSH Gray-code sort, exact exp(QKᵀ)·[V|1] in 128-key blocks WITHOUT max subtraction (overflows above score 88.7), 256 samples ∝ ‖v_aug‖/λ̂ + 1/n (20 power iterations), own block masked; Q pre-scaled by 1/√d; own RNG, stable sort; causal by the code's mask (a row whose block and samples hold no visible key is 0/0 = NaN)",
          false),
        v("attention/kdeformer-stable",
          "KDEformer with the row maximum subtracted before every exponential (same estimate, no overflow); otherwise as attention/kdeformer",
          true),
    ]
}
