//! HyperAttention, both official versions: the original
//! (insuhan/hyper-attn, PyTorch) and the later Triton rewrite
//! (amirzandieh/HyperAttention). Inputs are f32 (the code's CPU path).
//!
//! # `attention/hyper` (insuhan/hyper-attn)
//!
//! Per head, with `sc` = [`super::sm_scale`]:
//! - **exact** parts (`exact_attention`, f32): `s_j = dot_fma(q, k_j)·sc`,
//!   causal pairs get `+ f32::MIN` (`finfo.min`, not −∞), `m = max s`,
//!   `p_j = exp(s_j − m)`, `ℓ = Σ p` (key order), `o = Σ (p_j/ℓ)·v_j` (FMA
//!   in key order), `lse = m + ln ℓ`.
//! - **non-causal** (`forward_no_causal_mask`): exact if `nq < min_seq_len`
//!   (4096). Else the angular LSH: r = 7 Gaussian projections shared by Q,
//!   K and every head, `bin = Σ_i [x·w_i > 0]·2^i` (f32 FMA dot),
//!   `hash = gray(bin) = bin ^ (bin >> 1)` — the code sorts by the Gray
//!   code's value (`perm[bin]`), not by its rank. Q and K are sorted
//!   stably by hash and zero-padded to a multiple of the block (256); the
//!   sorted sequence is cut into `nk_pad/256` blocks of keys and as many
//!   blocks of queries, each block exact (non-causal) — **the zero padding
//!   keys take part** (score 0, value 0: the code passes no mask). Then,
//!   if `nq > query block` and `nk > 256`: s = 256 key indices uniform
//!   with replacement over the sorted keys (one draw per head), samples in
//!   the query's own block masked (`+ f32::MIN`), exact attention over the
//!   samples, `lse += f32(ln(nk/s))`; merged by
//!   `c = 1/(1 + exp(lse₂ − lse₁))`, `o = c·o₁ + (1 − c)·o₂`,
//!   `lse = lse₁ − ln(c + ε_f32)`; rows restored to the original order.
//! - **causal** (`forward`): exact if `nk ≤ min_seq_len`. Else pad an odd
//!   length with a zero row, recurse causally on each half, run the
//!   lower-left quarter non-causally and merge it into the second half by
//!   log-sum-exp as above.
//!
//! # `attention/hyper-triton` (amirzandieh/HyperAttention)
//!
//! r = 8 projections, `min_seq_len` = 2048, the same recursion. Non-causal:
//! each sorted block of 256 queries runs one online softmax (`_fwd_hyper_kernel`,
//! tiles of 128 keys) over its sorted key block and then over **the first
//! s keys of the original order** — no reweighting, no own-block mask (a
//! key in both is counted twice). The kernel's update: `m' = max(max_j s_j, lse)`,
//! `p = exp(s − m')`, `a = a·exp(m − m') + Σ p·v`, `lse = m' + ln(exp(lse − m') + Σ p)`;
//! at the end `o = a·exp(m − lse)`.
//!
//! # Native kernel ([`NativeHyper`])
//!
//! The same recursion, LSH order, samples and merges; the dense parts run
//! on `kernels::attention::sorted` on gathered contiguous rows: every
//! exact part (below `min_seq_len`, each sorted block, the samples with
//! their own-block mask) through `sorted::exact`, which keeps the order
//! above (masked pairs stay in the sums with `+ f32::MIN`, so the existing
//! flash and naive kernels, which skip them or tile the softmax, do not
//! apply), each sorted query block of the rewrite with its keys through
//! `sorted::triton`, and the LSH projections' dots through
//! `sorted::proj_dots` (the same FMA chains, lanes across projections).
//! Heads and blocks run in parallel; the bits are the emulation's at every
//! ISA level.
//!
//! # Attention-mass recall ([`Hyper::head_coverage`])
//!
//! A pair counts as covered when the code scores it and gives it a
//! non-zero weight: exact parts (below `min_seq_len`, decode) cover every
//! visible key; `attention/hyper` covers the row's sorted key block (its
//! zero padding is not a key) and the sampled keys outside that block (the
//! own-block samples are masked); `attention/hyper-triton` the row's
//! sorted key block and the first s keys; causal shapes the union over the
//! recursion. A sample weighted by log(n/s) still counts once: recall is
//! about which exact probability the method can see, not how it weights it.
//!
//! # Differences from the code, and the code from the paper
//!
//! - The projections and samples come from this crate's generator (per
//!   head, per recursion node), not torch's global generator.
//! - Own-block masking of samples follows the code's half-precision path
//!   (the bias reaches the Triton flash kernel); the code's f32 path drops
//!   the bias (`exact_attention` ignores it) and double counts those keys.
//! - The exact parts are torch's f32 softmax for both versions (the
//!   rewrite's FlashAttention kernel rounds differently; TF32 `tl.dot` is
//!   not modelled). The rewrite requires lengths divisible by the block:
//!   a shorter last block is taken as it is.
//! - Decode (one query) is always exact: the non-causal path runs exact
//!   attention below `min_seq_len` queries.
//! - Paper vs code: the paper's sampling is by row norms of V with an
//!   approximate diagonal scaling; both codes sample uniformly (the rewrite
//!   not even at random).

use super::info::{AttentionInfo, Ops, Schedule, Softmax, Storage};
use super::lsh::{hash_on, lsh_hash, stable_order, Engine};
use super::{dot_fma, sm_scale, AttentionVariant, AttnShape, NativeAttention, Qkv};
use crate::arith::exp::exp_f32;
use crate::hw::cost::{Cost, OpKind};
use crate::isa::IsaLevel;
use crate::kernels::attention::sorted::{self, Mask};
use crate::rng::{mix64, SplitMix64};
use crate::workload::gen::{generate, Distribution};
use rayon::prelude::*;

/// Which official version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// insuhan/hyper-attn (PyTorch).
    Original,
    /// amirzandieh/HyperAttention (Triton).
    Triton,
}

/// Keys per tile of the rewrite's kernel (BLOCK_N).
pub const TRITON_TILE: usize = 128;

/// A HyperAttention variant.
#[derive(Debug, Clone)]
pub struct Hyper {
    /// Registry name.
    pub name: &'static str,
    /// Description.
    pub description: &'static str,
    /// Which code.
    pub version: Version,
    /// LSH projections r.
    pub lsh_bits: usize,
    /// Keys per block.
    pub block: usize,
    /// Sampled keys s.
    pub samples: usize,
    /// Below this length the code runs exact attention.
    pub min_seq_len: usize,
    /// Seed of the projections and samples.
    pub seed: u64,
}

/// Rows of a head: `n × d` values.
#[derive(Debug, Clone)]
pub struct Rows<'a> {
    /// Head dimension.
    pub d: usize,
    /// Queries.
    pub q: &'a [f32],
    /// Keys.
    pub k: &'a [f32],
    /// Values.
    pub v: &'a [f32],
}

/// Output rows (`nq × d`) and their log-sum-exp.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// Output rows.
    pub o: Vec<f32>,
    /// Per row log-sum-exp of the scaled scores.
    pub lse: Vec<f32>,
}

/// torch's f32 exact attention with an additive bias per (row, key)
/// (`None`: no bias; causal: `f32::MIN` above the diagonal, as the code's
/// `triu(1)·finfo.min`).
pub fn exact(x: &Rows, causal: bool, bias: Option<&dyn Fn(usize, usize) -> bool>) -> Part {
    let d = x.d;
    let (nq, nk) = (x.q.len() / d, x.k.len() / d);
    let sc = sm_scale(d);
    let mut o = vec![0.0f32; nq * d];
    let mut lse = vec![0.0f32; nq];
    let mut s = vec![0.0f32; nk];
    for i in 0..nq {
        let q = &x.q[i * d..(i + 1) * d];
        for (j, sj) in s.iter_mut().enumerate() {
            *sj = dot_fma(q, &x.k[j * d..(j + 1) * d]) * sc;
            if (causal && j > i) || bias.is_some_and(|b| b(i, j)) {
                *sj += f32::MIN;
            }
        }
        let m = s.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let p: Vec<f32> = s.iter().map(|&v| exp_f32(v - m)).collect();
        let l = p.iter().fold(0.0f32, |a, b| a + b);
        for c in 0..d {
            let mut a = 0.0f32;
            for (j, pj) in p.iter().enumerate() {
                a = (pj / l).mul_add(x.v[j * d + c], a);
            }
            o[i * d + c] = a;
        }
        lse[i] = m + l.ln();
    }
    Part { o, lse }
}

/// The code's `add_self_attentions`: `(o₁, lse₁)` merged with `(o₂, lse₂)`.
pub fn merge(a: &Part, b: &Part, d: usize) -> Part {
    let mut out = a.clone();
    for i in 0..a.lse.len() {
        let c = 1.0 / (1.0 + exp_f32(b.lse[i] - a.lse[i]));
        for k in 0..d {
            out.o[i * d + k] = c * a.o[i * d + k] + (1.0 - c) * b.o[i * d + k];
        }
        out.lse[i] = a.lse[i] - (c + f32::EPSILON).ln();
    }
    out
}

/// [`exact`] on `engine`; `own` masks row `r` against key `j` when
/// `r / qb == key_block[j]` (`(qb, key_block)`).
fn exact_on(engine: Engine, x: &Rows, causal: bool, own: Option<(usize, &[usize])>) -> Part {
    match engine {
        Engine::Emulate => match own {
            Some((qb, kb)) => exact(x, causal, Some(&|r: usize, j: usize| r / qb == kb[j])),
            None => exact(x, causal, None),
        },
        Engine::Native(level) => {
            let mask = match (causal, own) {
                (true, None) => Mask::Causal,
                (false, Some((rows_per_block, key_block))) => Mask::Own {
                    rows_per_block,
                    key_block,
                },
                (false, None) => Mask::None,
                (true, Some(_)) => unreachable!("HyperAttention never masks both ways"),
            };
            part_of(&sorted::exact(x.q, x.k, x.v, x.d, mask, level), x.d)
        }
    }
}

/// A kernel's rows of `d` outputs and their lse as a [`Part`].
fn part_of(rows: &[f32], d: usize) -> Part {
    let n = rows.len() / (d + 1);
    let mut p = Part {
        o: Vec::with_capacity(n * d),
        lse: Vec::with_capacity(n),
    };
    for r in rows.chunks(d + 1) {
        p.o.extend_from_slice(&r[..d]);
        p.lse.push(r[d]);
    }
    p
}

fn gather(x: &[f32], d: usize, idx: &[usize], pad_to: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(pad_to * d);
    for &i in idx {
        out.extend_from_slice(&x[i * d..(i + 1) * d]);
    }
    out.resize(pad_to.max(idx.len()) * d, 0.0);
    out
}

impl Hyper {
    /// The LSH projections (`d × r`), shared by every head.
    pub fn projections(&self, d: usize) -> Vec<f32> {
        generate(
            &Distribution::Gaussian { std: 1.0 },
            d,
            self.lsh_bits,
            self.seed,
        )
        .data
    }

    /// Non-causal HyperAttention of one head part; `node` seeds its samples.
    pub fn no_causal(&self, x: &Rows, proj: &[f32], node: u64) -> Part {
        self.no_causal_on(Engine::Emulate, x, proj, node)
    }

    fn no_causal_on(&self, e: Engine, x: &Rows, proj: &[f32], node: u64) -> Part {
        let d = x.d;
        let nq = x.q.len() / d;
        if self.min_seq_len > nq {
            return exact_on(e, x, false, None);
        }
        let qo = stable_order(&hash_on(e, x.q, d, proj, self.lsh_bits));
        let ko = stable_order(&hash_on(e, x.k, d, proj, self.lsh_bits));
        let sorted = match (self.version, e) {
            (Version::Original, _) => self.original_sorted(e, x, &qo, &ko, node),
            (Version::Triton, Engine::Emulate) => self.triton_sorted(x, &qo, &ko),
            (Version::Triton, Engine::Native(level)) => self.triton_native(x, &qo, &ko, level),
        };
        let mut out = Part {
            o: vec![0.0; nq * d],
            lse: vec![0.0; nq],
        };
        for (r, &i) in qo.iter().enumerate() {
            out.o[i * d..(i + 1) * d].copy_from_slice(&sorted.o[r * d..(r + 1) * d]);
            out.lse[i] = sorted.lse[r];
        }
        out
    }

    /// The original version's sampled key indices (into the sorted keys)
    /// for the recursion node `node`: `samples` draws uniform on `[0, nk)`.
    pub fn sample_set(&self, nk: usize, node: u64) -> Vec<usize> {
        let mut rng = SplitMix64::new(mix64(self.seed ^ node.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        (0..self.samples).map(|_| below(&mut rng, nk)).collect()
    }

    fn original_sorted(&self, e: Engine, x: &Rows, qo: &[usize], ko: &[usize], node: u64) -> Part {
        let (d, b) = (x.d, self.block);
        let (nq, nk) = (qo.len(), ko.len());
        let nk_pad = nk.div_ceil(b) * b;
        let nq_pad = nq.div_ceil(b) * b;
        let qs = gather(x.q, d, qo, nq_pad);
        let ks = gather(x.k, d, ko, nk_pad);
        let vs = gather(x.v, d, ko, nk_pad);
        let blocks = nk_pad / b;
        let qb = nq_pad / blocks;
        let mut blk = Part {
            o: Vec::with_capacity(nq_pad * d),
            lse: Vec::with_capacity(nq_pad),
        };
        let block = |t: usize| {
            exact_on(
                e,
                &Rows {
                    d,
                    q: &qs[t * qb * d..(t + 1) * qb * d],
                    k: &ks[t * b * d..(t + 1) * b * d],
                    v: &vs[t * b * d..(t + 1) * b * d],
                },
                false,
                None,
            )
        };
        let parts: Vec<Part> = match e {
            Engine::Emulate => (0..blocks).map(block).collect(),
            Engine::Native(_) => (0..blocks).into_par_iter().map(block).collect(),
        };
        for part in parts {
            blk.o.extend(part.o);
            blk.lse.extend(part.lse);
        }
        blk.o.truncate(nq * d);
        blk.lse.truncate(nq);
        if self.samples == 0 || nq <= qb || nk <= b {
            return blk;
        }
        let set = self.sample_set(nk, node);
        let ksub = gather(&ks[..nk * d], d, &set, 0);
        let vsub = gather(&vs[..nk * d], d, &set, 0);
        let key_block: Vec<usize> = set.iter().map(|&j| j / b).collect();
        let mut res = exact_on(
            e,
            &Rows {
                d,
                q: &qs[..nq * d],
                k: &ksub,
                v: &vsub,
            },
            false,
            Some((qb, &key_block)),
        );
        let w = ((nk as f64) / (self.samples as f64)).ln() as f32;
        res.lse.iter_mut().for_each(|l| *l += w);
        merge(&blk, &res, d)
    }

    fn triton_sorted(&self, x: &Rows, qo: &[usize], ko: &[usize]) -> Part {
        let (d, b) = (x.d, self.block);
        let (nq, nk) = (qo.len(), ko.len());
        let sc = sm_scale(d);
        let s = self.samples.min(nk);
        let mut out = Part {
            o: vec![0.0; nq * d],
            lse: vec![0.0; nq],
        };
        for (r, &qi) in qo.iter().enumerate() {
            let q = &x.q[qi * d..(qi + 1) * d];
            let t = r / b;
            // The block's sorted keys, then the first s keys, in tiles of 128.
            let keys = &ko[(t * b).min(nk)..((t + 1) * b).min(nk)];
            let (mut m, mut lse) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
            let mut acc = vec![0.0f32; d];
            let first: Vec<usize> = (0..s).collect();
            for tile in keys.chunks(TRITON_TILE).chain(first.chunks(TRITON_TILE)) {
                let st: Vec<f32> = tile
                    .iter()
                    .map(|&j| dot_fma(q, &x.k[j * d..(j + 1) * d]))
                    .collect();
                let mx = st.iter().cloned().fold(f32::NEG_INFINITY, f32::max) * sc;
                let mij = mx.max(lse);
                let p: Vec<f32> = st.iter().map(|&v| exp_f32(v * sc - mij)).collect();
                let lij = p.iter().fold(0.0f32, |a, b| a + b);
                let alpha = exp_f32(m - mij);
                for a in acc.iter_mut() {
                    *a *= alpha;
                }
                for (c, a) in acc.iter_mut().enumerate() {
                    for (pj, &j) in p.iter().zip(tile) {
                        *a = pj.mul_add(x.v[j * d + c], *a);
                    }
                }
                m = mij;
                lse = mij + (exp_f32(lse - mij) + lij).ln();
            }
            let f = exp_f32(m - lse);
            for (c, a) in acc.iter().enumerate() {
                out.o[r * d + c] = a * f;
            }
            out.lse[r] = lse;
        }
        out
    }

    /// [`Self::triton_sorted`] on the native kernel: each sorted block of
    /// queries with its keys (the sorted block, then the first s) gathered
    /// contiguously, blocks in parallel.
    fn triton_native(&self, x: &Rows, qo: &[usize], ko: &[usize], level: IsaLevel) -> Part {
        let (d, b) = (x.d, self.block);
        let (nq, nk) = (qo.len(), ko.len());
        let s = self.samples.min(nk);
        let rows: Vec<Vec<f32>> = (0..nq.div_ceil(b))
            .into_par_iter()
            .map(|t| {
                let qi = &qo[t * b..((t + 1) * b).min(nq)];
                let keys: Vec<usize> = ko[(t * b).min(nk)..((t + 1) * b).min(nk)]
                    .iter()
                    .copied()
                    .chain(0..s)
                    .collect();
                let q = gather(x.q, d, qi, 0);
                let k = gather(x.k, d, &keys, 0);
                let v = gather(x.v, d, &keys, 0);
                sorted::triton(&q, &k, &v, d, keys.len() - s, TRITON_TILE, level)
            })
            .collect();
        part_of(&rows.concat(), d)
    }

    /// Causal HyperAttention of one head part (`nq = nk`).
    pub fn causal(&self, x: &Rows, proj: &[f32], node: u64) -> Part {
        self.causal_on(Engine::Emulate, x, proj, node)
    }

    fn causal_on(&self, e: Engine, x: &Rows, proj: &[f32], node: u64) -> Part {
        let d = x.d;
        let n = x.k.len() / d;
        if n <= self.min_seq_len {
            return exact_on(e, x, true, None);
        }
        let even = n + n % 2;
        let pad = |t: &[f32]| {
            let mut v = t.to_vec();
            v.resize(even * d, 0.0);
            v
        };
        let (q, k, v) = (pad(x.q), pad(x.k), pad(x.v));
        let h = even / 2;
        let half = |lo: usize, hi: usize| Rows {
            d,
            q: &q[lo * d..hi * d],
            k: &k[lo * d..hi * d],
            v: &v[lo * d..hi * d],
        };
        let up = self.causal_on(e, &half(0, h), proj, 4 * node + 1);
        let down = self.causal_on(e, &half(h, even), proj, 4 * node + 2);
        let lower = self.no_causal_on(
            e,
            &Rows {
                d,
                q: &q[h * d..],
                k: &k[..h * d],
                v: &v[..h * d],
            },
            proj,
            4 * node + 3,
        );
        let down = merge(&down, &lower, d);
        let mut o = up.o;
        o.extend(down.o);
        let mut lse = up.lse;
        lse.extend(down.lse);
        o.truncate(n * d);
        lse.truncate(n);
        Part { o, lse }
    }

    /// Output and log-sum-exp of head `h` (decode and non-causal shapes run
    /// the non-causal path).
    pub fn head(&self, x: &Qkv, h: usize) -> Part {
        self.head_on(Engine::Emulate, x, h)
    }

    fn head_on(&self, e: Engine, x: &Qkv, h: usize) -> Part {
        let d = x.shape.d;
        let rows = Rows {
            d,
            q: x.q_head(h),
            k: x.k_head(h),
            v: x.v_head(h),
        };
        let proj = self.projections(d);
        let node = head_node(h);
        if x.shape.causal && x.shape.nq == x.shape.nk {
            self.causal_on(e, &rows, &proj, node)
        } else {
            self.no_causal_on(e, &rows, &proj, node)
        }
    }
}

/// The native kernel of a [`Hyper`] variant: the same recursion, hashing,
/// sorting, sampling and merging as the emulation, with the dense parts
/// (exact attention below `min_seq_len`, the sorted blocks, the samples,
/// the rewrite's online softmax) and the LSH projections on
/// `kernels::attention::sorted`, heads and blocks in parallel.
pub struct NativeHyper(pub Hyper);

impl NativeAttention for NativeHyper {
    fn run_at(&self, x: &Qkv, level: IsaLevel) -> Vec<f64> {
        let parts: Vec<Part> = (0..x.shape.heads)
            .into_par_iter()
            .map(|h| self.0.head_on(Engine::Native(level), x, h))
            .collect();
        parts
            .iter()
            .flat_map(|p| p.o.iter().map(|&v| v as f64))
            .collect()
    }
}

/// The recursion-node id of head `h`'s top call (children of node `t` are
/// `4t + 1`, `4t + 2` (diagonal halves) and `4t + 3` (lower-left)).
pub fn head_node(h: usize) -> u64 {
    (h as u64 + 1) << 32
}

/// Uniform integer in [0, n) by rejection (no modulo bias).
pub fn below(rng: &mut SplitMix64, n: usize) -> usize {
    let n = n as u64;
    let zone = u64::MAX - u64::MAX % n;
    loop {
        let x = rng.next_u64();
        if x < zone {
            return (x % n) as usize;
        }
    }
}

impl AttentionVariant for Hyper {
    /// Timed whole: its work is not the same per visible pair at every N.
    fn emulation_scales_by_rows(&self) -> bool {
        false
    }

    fn info(&self) -> AttentionInfo {
        AttentionInfo {
            name: self.name,
            description: self.description,
            qk_desc: "f32; LSH-sorted blocks + sampled keys",
            pv_desc: "f32",
            accumulator: "f32 (FMA), blocks merged by log-sum-exp",
            q: Storage::plain(32),
            k: Storage::plain(32),
            v: Storage::plain(32),
            o_bits: 32,
            schedule: Schedule::Flash {
                b_c: self.block,
                b_r: self.block,
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
        let parts: Vec<Part> = (0..x.shape.heads)
            .into_par_iter()
            .map(|h| self.head(x, h))
            .collect();
        parts
            .iter()
            .flat_map(|p| p.o.iter().map(|&v| v as f64))
            .collect()
    }

    /// The exact f32 scores `dot_fma(q, k)·sc` (masked −∞): HyperAttention
    /// forms no other full score row; its approximation is in which scores
    /// it uses, measured by the output error.
    fn scores(&self, x: &Qkv) -> Vec<f64> {
        super::per_score_row(x.shape, |h, i, o| {
            let mut s = vec![0.0f32; x.shape.nk];
            super::exact::scores_f32_row(x, h, i, &mut s);
            for (a, b) in o.iter_mut().zip(&s) {
                *a = *b as f64;
            }
        })
    }

    /// [`NativeHyper`].
    fn native(&self) -> Option<Box<dyn NativeAttention>> {
        Some(Box::new(NativeHyper(self.clone())))
    }

    /// The pairs [`Hyper::head_coverage`] lists, per head: the attention-
    /// mass recall counts the exact probability on the LSH blocks and kept
    /// samples the code actually scores.
    fn coverage(&self, x: &Qkv) -> Option<Vec<bool>> {
        let heads: Vec<Vec<bool>> = (0..x.shape.heads)
            .into_par_iter()
            .map(|h| self.head_coverage(x, h))
            .collect();
        Some(heads.concat())
    }

    /// Pairs actually scored: the exact pairs below `min_seq_len`; above
    /// it, per query its block (`block` keys) plus `samples` keys, plus the
    /// hashing (`r·d` MACs per row of Q and K); at each causal recursion
    /// level the diagonal halves recurse. Each scored pair costs as in
    /// [`super::cost`] (2·d MACs, an exponential, 3 adds, a divide).
    fn cost(&self, shape: AttnShape) -> Cost {
        let AttnShape {
            heads,
            nq,
            nk,
            d,
            causal,
        } = shape;
        let pairs = if causal && nq == nk {
            self.causal_pairs(nk)
        } else {
            self.no_causal_pairs(nq, nk)
        };
        let h = heads as f64;
        let df = d as f64;
        let mut c = Cost {
            macs: h * pairs.0 * 2.0 * df,
            ..Cost::default()
        };
        let mul = pairs.0 * (2.0 * df + super::cost::EXP_OPS.0 + 1.0) + pairs.1;
        let add = pairs.0 * (2.0 * df + super::cost::EXP_OPS.1 + 3.0) + pairs.1;
        c.add(OpKind::F32_MUL, h * mul);
        c.add(OpKind::F32_ADD, h * add);
        // Q, K, V read and O written once per head (blocks and samples
        // gathered through fast memory).
        c.dram_bytes = h * 4.0 * df * (2.0 * nq as f64 + 2.0 * nk as f64);
        c.sram_bytes = h * pairs.0 * 2.0 * df * 4.0;
        c
    }
}

impl Hyper {
    /// (scored pairs, hashing MACs) of the non-causal path.
    fn no_causal_pairs(&self, nq: usize, nk: usize) -> (f64, f64) {
        if self.min_seq_len > nq {
            return ((nq * nk) as f64, 0.0);
        }
        let hash = ((nq + nk) * self.lsh_bits) as f64;
        let per_row = (self.block + self.samples).min(nk + self.samples) as f64;
        (nq as f64 * per_row, hash)
    }

    fn causal_pairs(&self, n: usize) -> (f64, f64) {
        if n <= self.min_seq_len {
            return ((n * (n + 1) / 2) as f64, 0.0);
        }
        let h = n.div_ceil(2);
        let a = self.causal_pairs(h);
        let b = self.no_causal_pairs(h, h);
        (2.0 * a.0 + b.0, 2.0 * a.1 + b.1)
    }
}

/// A head's coverage (`nq × nk`, row-major) being filled by a part of the
/// recursion.
struct Cover<'a> {
    cov: &'a mut [bool],
    stride: usize,
}

/// Where a part of the recursion sits in its head: its first query and
/// key, and how many of its rows and keys are real (the rest are the
/// code's zero padding).
#[derive(Clone, Copy)]
struct At {
    q0: usize,
    k0: usize,
    nq: usize,
    nk: usize,
}

impl Cover<'_> {
    fn set(&mut self, at: At, i: usize, j: usize) {
        if i < at.nq && j < at.nk {
            self.cov[(at.q0 + i) * self.stride + at.k0 + j] = true;
        }
    }
}

impl Hyper {
    /// Which (query, key) pairs of head `h` the method scores, following
    /// [`Self::head`]'s own path (`nq × nk`, row-major; real keys only):
    /// - exact parts (below `min_seq_len`, or decode): every key the part's
    ///   mask lets the row see;
    /// - `attention/hyper`: the row's LSH-sorted key block (zero padding
    ///   excluded) plus the sampled keys outside that block (the samples in
    ///   its own block are masked, and covered by the block anyway);
    /// - `attention/hyper-triton`: the row's sorted key block plus the
    ///   first `s` keys of the original order;
    /// - causal: the union over the recursion (diagonal halves recurse, the
    ///   lower-left quarter runs the non-causal path).
    pub fn head_coverage(&self, x: &Qkv, h: usize) -> Vec<bool> {
        let d = x.shape.d;
        let (nq, nk) = (x.shape.nq, x.shape.nk);
        let rows = Rows {
            d,
            q: x.q_head(h),
            k: x.k_head(h),
            v: x.v_head(h),
        };
        let proj = self.projections(d);
        let node = head_node(h);
        let mut cov = vec![false; nq * nk];
        let mut c = Cover {
            cov: &mut cov,
            stride: nk,
        };
        let at = At {
            q0: 0,
            k0: 0,
            nq,
            nk,
        };
        if x.shape.causal && nq == nk {
            self.cover_causal(&rows, &proj, node, at, &mut c);
        } else {
            self.cover_no_causal(&rows, &proj, node, at, &mut c);
        }
        for i in 0..nq {
            for j in x.shape.visible(i)..nk {
                cov[i * nk + j] = false;
            }
        }
        cov
    }

    /// [`Self::no_causal`]'s scored pairs.
    fn cover_no_causal(&self, x: &Rows, proj: &[f32], node: u64, at: At, c: &mut Cover) {
        let d = x.d;
        let (nq, nk) = (x.q.len() / d, x.k.len() / d);
        let mut set = |i: usize, j: usize| c.set(at, i, j);
        if self.min_seq_len > nq {
            for i in 0..nq {
                for j in 0..nk {
                    set(i, j);
                }
            }
            return;
        }
        let qo = stable_order(&lsh_hash(x.q, d, proj, self.lsh_bits));
        let ko = stable_order(&lsh_hash(x.k, d, proj, self.lsh_bits));
        let b = self.block;
        match self.version {
            Version::Original => {
                let blocks = nk.div_ceil(b);
                let qb = nq.div_ceil(b) * b / blocks;
                let sampled = self.samples > 0 && nq > qb && nk > b;
                let samples = if sampled {
                    self.sample_set(nk, node)
                } else {
                    Vec::new()
                };
                for (r, &i) in qo.iter().enumerate() {
                    let t = r / qb;
                    for &j in &ko[(t * b).min(nk)..((t + 1) * b).min(nk)] {
                        set(i, j);
                    }
                    for &p in samples.iter().filter(|&&p| p / b != t) {
                        set(i, ko[p]);
                    }
                }
            }
            Version::Triton => {
                let s = self.samples.min(nk);
                for (r, &i) in qo.iter().enumerate() {
                    let t = r / b;
                    for &j in &ko[(t * b).min(nk)..((t + 1) * b).min(nk)] {
                        set(i, j);
                    }
                    for j in 0..s {
                        set(i, j);
                    }
                }
            }
        }
    }

    /// [`Self::causal`]'s scored pairs.
    fn cover_causal(&self, x: &Rows, proj: &[f32], node: u64, at: At, c: &mut Cover) {
        let d = x.d;
        let n = x.k.len() / d;
        if n <= self.min_seq_len {
            for i in 0..n {
                for j in 0..=i {
                    c.set(at, i, j);
                }
            }
            return;
        }
        let even = n + n % 2;
        let pad = |t: &[f32]| {
            let mut v = t.to_vec();
            v.resize(even * d, 0.0);
            v
        };
        let (q, k, v) = (pad(x.q), pad(x.k), pad(x.v));
        let h = even / 2;
        let half = |lo: usize, hi: usize| Rows {
            d,
            q: &q[lo * d..hi * d],
            k: &k[lo * d..hi * d],
            v: &v[lo * d..hi * d],
        };
        // Real rows of each half (the rest is this level's or a parent's
        // zero padding).
        let (up_n, down_n) = (at.nq.min(h), at.nq.saturating_sub(h));
        let up = At {
            nq: up_n,
            nk: up_n,
            ..at
        };
        let down = At {
            q0: at.q0 + h,
            k0: at.k0 + h,
            nq: down_n,
            nk: down_n,
        };
        let lower_at = At {
            q0: at.q0 + h,
            k0: at.k0,
            nq: down_n,
            nk: up_n,
        };
        self.cover_causal(&half(0, h), proj, 4 * node + 1, up, c);
        self.cover_causal(&half(h, even), proj, 4 * node + 2, down, c);
        let lower = Rows {
            d,
            q: &q[h * d..],
            k: &k[..h * d],
            v: &v[..h * d],
        };
        self.cover_no_causal(&lower, proj, 4 * node + 3, lower_at, c);
    }
}

/// The variants of this file, in display order.
pub fn all() -> Vec<Box<dyn AttentionVariant>> {
    vec![
        Box::new(Hyper {
            name: "attention/hyper",
            description: "HyperAttention (insuhan/hyper-attn): 7-bit angular LSH, Gray-code hash value sort, exact 256-key blocks (zero padding unmasked), 256 uniform samples with own block masked and lse + log(n/s), log-sum-exp merge; causal by recursive halving; exact below 4096. Own RNG; samples masked as the fp16 path (the f32 path drops the mask)",
            version: Version::Original,
            lsh_bits: 7,
            block: 256,
            samples: 256,
            min_seq_len: 4096,
            seed: 0,
        }),
        Box::new(Hyper {
            name: "attention/hyper-triton",
            description: "HyperAttention Triton rewrite (amirzandieh/HyperAttention): 8-bit LSH, 256-key sorted blocks and the first 256 keys in one online softmax (no reweighting, no mask: overlaps counted twice); exact below 2048. Own RNG; torch f32 softmax for the exact parts",
            version: Version::Triton,
            lsh_bits: 8,
            block: 256,
            samples: 256,
            min_seq_len: 2048,
            seed: 0,
        }),
    ]
}
