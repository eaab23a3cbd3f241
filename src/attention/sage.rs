//! SageAttention (thu-ml/SageAttention) as its code computes it, and INT4
//! Q/K attention. Inputs are fp16 (SageAttention takes fp16 tensors): Q, K,
//! V are first rounded RNE to fp16.
//!
//! # The order of every rounding
//!
//! 1. **K smoothing** (all variants here): per head and channel,
//!    `k̄_c = fp16(mean_j k_jc)` (the mean taken in f64), `k ← fp16(k − k̄)`.
//!    Softmax-invariant: it shifts every score of a row by `q·k̄`.
//! 2. **Q/K quantization** per block of 128 query tokens / 64 key tokens
//!    (all channels of the block share one f32 scale). Q is first multiplied
//!    in f32 by `C = f32(d^−½ · 1.44269504)` (sm_scale · log2 e, so scores
//!    come out in base 2); K is not. `amax` = max |x| of the block (f32).
//!    - v1 (`sage-int8`, the Triton path): `scale = amax / 127`,
//!      `t = x / scale`, `code = trunc(t + 0.5·sign(t))` in f32 — rounds half
//!      away from zero, as `per_block_int8` does. (A zero block gets scale 0
//!      and codes 0; Triton would form 0/0.)
//!    - v2 (`sage2-*`, the CUDA path): `amax ← max(amax, 1e−7)`,
//!      `scale = amax / 127`, `code = rne(x · (127 / amax))` — half to even.
//!    - INT4 (`int4-qk`): as v2 with 7 for 127.
//! 3. **Scores** (base 2): `s = (f32(Σ q_code·k_code) · sq) · sk` (int32 dot;
//!    v1 order), `s = f32(dot) · (sq · sk)` (v2). Masked pairs −∞.
//! 4. **Online softmax** per tile of 64 keys, base 2, f32, as
//!    [`super::exact`] but with `exp2` (= [`exp_f32`](crate::arith::exp::exp_f32) of `x·ln 2`; the GPU
//!    uses `ex2.approx`): `m' = max(m, max s)`, `α = exp2(m − m')`,
//!    `p = exp2(s − m')`, `ℓ = ℓ·α + Σp`, `a = a·α + B`, with B the tile's P·V:
//!    - **fp16 PV** (v1, int4-qk): `b = fp16(b + fp16(p)·v)` over the tile's
//!      keys from +0 (each product exact, one rounding per add: the FP16
//!      accumulation of `tl.dot(…, out_dtype=fp16)`), then `a_c = a_c + b_c` (f32).
//!    - **FP8 PV, two-level** (v2): V quantized **per channel** over the whole
//!      sequence, `sv_c = amax_c / 448`, `v8 = e4m3(v / sv_c)`;
//!      `p8 = e4m3(p · 448)`; `b = Σ p8·v8` in f32 from +0 (products exact),
//!      flushed into `a` once per tile.
//!    - **FP8 PV, FP16 accumulation** (v2++): as v2 but `sv_c = amax_c / 2.25`
//!      (the cap that keeps 448·2.25·32 < 65504) and `b = fp16(b + p8·v8)` over
//!      chunks of 32 keys, each chunk flushed into `a` (f32).
//! 5. Output `o_c = fp16(a_c / ℓ)` (FP8 PV: `fp16((a_c / ℓ) · (sv_c / 448))`).
//!
//! e4m3 rounding is RNE, saturating at ±448 ([`e4m3_rne`]).

use super::exact::{Input, RowState};
use super::info::{AttentionInfo, Ops, ScaleGroup, Schedule, Softmax, Storage};
use super::{per_row, per_score_row, AttentionVariant, NativeAttention, Qkv};
use crate::arith::exp::exp2_f32;
use crate::arith::fp16::fp16_rne;
use crate::hw::cost::OpKind;
use crate::kernels::attention::{sage, sage_qk, SageBlocks, SageHead, SagePv, SageScore};
use crate::kernels::Base;
use half::f16;
use rayon::prelude::*;

/// Keys per tile (Triton BLOCK_N).
pub const KV_TILE: usize = 64;
/// Query tokens per Q scale block.
pub const Q_BLOCK: usize = 128;
/// Key tokens per K scale block.
pub const K_BLOCK: usize = 64;
/// Keys per FP16 P·V partial sum of v2++ (flushed into f32 after each).
pub const PV_CHUNK_FP16: usize = 32;
/// log2 e as the Python code writes it.
#[allow(clippy::approx_constant)] // the code's literal, not the exact constant
pub const LOG2E_CODE: f64 = 1.44269504;

/// How Q and K become integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QkQuant {
    /// INT8, Triton path: half away from zero, no amax floor.
    Int8Triton,
    /// INT8, CUDA path: half to even, amax ≥ 1e−7.
    Int8Cuda,
    /// INT4 (±7), as the CUDA path.
    Int4,
}

impl QkQuant {
    fn qmax(self) -> f32 {
        match self {
            QkQuant::Int4 => 7.0,
            _ => 127.0,
        }
    }
    fn bits(self) -> u32 {
        match self {
            QkQuant::Int4 => 4,
            _ => 8,
        }
    }
}

/// How P·V is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PvPath {
    /// fp16 P and V, fp16 accumulation inside each tile.
    Fp16,
    /// FP8 P (×448) and per-channel FP8 V, f32 per tile (two-level).
    Fp8TwoLevel,
    /// FP8 as above with the capped V scale, fp16 accumulation per 32 keys.
    Fp8Fp16Acc,
}

pub use crate::kernels::attention::e4m3_rne;

/// Rounds to fp16 (RNE) and back.
#[inline]
fn h16(x: f32) -> f32 {
    f16::from_f32(x).to_f32()
}

/// The sum `acc + p·v` rounded once to fp16 ([`fp16_rne`]; the product is
/// exact in f64, and the sum is exact or so far from an fp16 midpoint that
/// its f64 rounding cannot move the result).
#[inline]
fn fp16_mac(acc: f32, p: f32, v: f32) -> f32 {
    fp16_rne(acc as f64 + p as f64 * v as f64)
}

/// Round half to even for |x| < 2^22 (here |x| ≤ qmax·(1 + 2^−23)):
/// the 1.5·2^23 magic number, inline where `round_ties_even` would call
/// `rintf` on the baseline target. NaN stays NaN (cast to 0 after).
#[inline(always)]
fn rne(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0;
    (x + MAGIC) - MAGIC
}

/// Block-quantizes `rows × d` values, `block` rows per f32 scale, after
/// multiplying by `pre` in f32 (1 for none). Returns codes and scales.
///
/// The fast twin of [`quantize_blocks_reference`] (same operations on every
/// element, bit-identical codes and scales): no scaled copy of each block
/// (`v · pre` is formed again in the coding pass, the same f32 product), and
/// branch-free loops over preallocated codes, compiled for the effective
/// ISA level (AVX2 or AVX-512 lanes; Rust never contracts the multiply and
/// divide, so every level computes the same f32 operations).
pub fn quantize_blocks(
    x: &[f32],
    d: usize,
    block: usize,
    pre: f32,
    how: QkQuant,
) -> (Vec<i8>, Vec<f32>) {
    crate::isa::dispatch!(crate::isa::effective(),
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX-512 F/BW/VL.
        avx512 => unsafe { lanes::blocks512(x, d, block, pre, how) },
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2.
        avx2 => unsafe { lanes::blocks256(x, d, block, pre, how) },
        scalar => blocks(x, d, block, pre, how),
    )
}

/// [`quantize_blocks`]' code, compiled once per ISA level ([`lanes`]).
#[inline(always)]
fn blocks(x: &[f32], d: usize, block: usize, pre: f32, how: QkQuant) -> (Vec<i8>, Vec<f32>) {
    let qmax = how.qmax();
    let mut codes = vec![0i8; x.len()];
    let per = (block * d).max(1);
    let mut scales = Vec::with_capacity(x.len().div_ceil(per));
    for (blk, out) in x.chunks(per).zip(codes.chunks_mut(per)) {
        // The fold `m.max(|v·pre|)` from +0 by bit patterns: for values
        // that are not NaN their order is the values' order, and a NaN
        // (which `f32::max` skips) counts as +0. The same maximum, in a form
        // that vectorises (a float max fold does not: its NaN rule fixes
        // the order of the steps).
        let bits = |v: f32| {
            let b = (v * pre).abs().to_bits();
            if b > f32::INFINITY.to_bits() {
                0
            } else {
                b
            }
        };
        let mut lane = [0u32; 16];
        let mut whole = blk.chunks_exact(16);
        for c in &mut whole {
            for (m, &v) in lane.iter_mut().zip(c) {
                *m = (*m).max(bits(v));
            }
        }
        for &v in whole.remainder() {
            lane[0] = lane[0].max(bits(v));
        }
        let amax = f32::from_bits(lane.iter().fold(0, |m, &b| m.max(b)));
        match how {
            QkQuant::Int8Triton => {
                let scale = amax / qmax;
                scales.push(scale);
                if scale == 0.0 {
                    continue; // codes stay 0
                }
                for (c, &v) in out.iter_mut().zip(blk) {
                    let t = (v * pre) / scale;
                    let h = if t >= 0.0 { 0.5 } else { -0.5 };
                    *c = to_code((t + h).clamp(-127.0, 127.0));
                }
            }
            QkQuant::Int8Cuda | QkQuant::Int4 => {
                let amax = amax.max(1e-7);
                scales.push(amax / qmax);
                let inv = qmax / amax;
                for (c, &v) in out.iter_mut().zip(blk) {
                    *c = to_code(rne((v * pre) * inv).clamp(-qmax, qmax));
                }
            }
        }
    }
    (codes, scales)
}

/// The code of a value already clamped to the code range (integer
/// bounds): truncated toward zero, NaN as 0 — what the saturating casts
/// of the reference give (truncating then clamping equals clamping then
/// truncating when the bounds are integers). Written so the loop stays in
/// vector lanes: the saturating `as` cast from f32 was split into one
/// scalar conversion per lane.
#[inline(always)]
fn to_code(clamped: f32) -> i8 {
    let x = if clamped.is_nan() { 0.0 } else { clamped };
    // SAFETY: x is not NaN and lies within ±127 (clamped to the code
    // range, at most 127), so it fits i32.
    unsafe { x.to_int_unchecked::<i32>() as i8 }
}

/// [`blocks`] compiled with AVX2 and with AVX-512 enabled, so that its
/// loops vectorize (the crate's baseline target has SSE2 only).
#[cfg(target_arch = "x86_64")]
mod lanes {
    use super::QkQuant;

    /// [`super::blocks`] with AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn blocks256(
        x: &[f32],
        d: usize,
        block: usize,
        pre: f32,
        how: QkQuant,
    ) -> (Vec<i8>, Vec<f32>) {
        super::blocks(x, d, block, pre, how)
    }

    /// [`super::blocks`] with AVX-512 F/BW/VL.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    pub unsafe fn blocks512(
        x: &[f32],
        d: usize,
        block: usize,
        pre: f32,
        how: QkQuant,
    ) -> (Vec<i8>, Vec<f32>) {
        super::blocks(x, d, block, pre, how)
    }
}

/// The obvious statement of [`quantize_blocks`] (its reference twin).
pub fn quantize_blocks_reference(
    x: &[f32],
    d: usize,
    block: usize,
    pre: f32,
    how: QkQuant,
) -> (Vec<i8>, Vec<f32>) {
    let qmax = how.qmax();
    let mut codes = Vec::with_capacity(x.len());
    let mut scales = Vec::new();
    for blk in x.chunks(block * d) {
        let y: Vec<f32> = blk.iter().map(|&v| v * pre).collect();
        let mut amax = y.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        match how {
            QkQuant::Int8Triton => {
                let scale = amax / qmax;
                scales.push(scale);
                for &v in &y {
                    // Half away from zero, then truncation (the saturating
                    // cast truncates; NaN gives 0 as the clamp-and-cast did).
                    let c = if scale == 0.0 {
                        0
                    } else {
                        let t = v / scale;
                        (t + if t >= 0.0 { 0.5 } else { -0.5 }) as i32
                    };
                    codes.push(c.clamp(-(qmax as i32), qmax as i32) as i8);
                }
            }
            QkQuant::Int8Cuda | QkQuant::Int4 => {
                amax = amax.max(1e-7);
                scales.push(amax / qmax);
                let inv = qmax / amax;
                for &v in &y {
                    codes.push(rne(v * inv).clamp(-qmax, qmax) as i8);
                }
            }
        }
    }
    (codes, scales)
}

/// K smoothing of one head's keys (`n × d`, fp16 values): `fp16(k − fp16(mean))`.
pub fn smooth_k(k: &[f32], d: usize) -> Vec<f32> {
    let n = k.len() / d;
    let mut mean = vec![0.0f64; d];
    for row in k.chunks(d) {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += *v as f64;
        }
    }
    let mean: Vec<f32> = mean.iter().map(|m| fp16_rne(m / n as f64)).collect();
    // Row by row into a buffer (a loop that vectorises; a flat_map
    // collect ran element by element).
    let mut diff = k.to_vec();
    for row in diff.chunks_mut(d) {
        for (v, m) in row.iter_mut().zip(&mean) {
            *v -= m;
        }
    }
    // The fp16 rounding by slice (the same RNE as `h16`, element by
    // element, but vectorised: it was a scalar call per key element).
    Input::Fp16.tensor(&diff)
}

/// A SageAttention-style variant.
pub struct Sage {
    /// Registry name.
    pub name: &'static str,
    /// Description.
    pub description: &'static str,
    /// Q/K quantization.
    pub qk: QkQuant,
    /// P·V path.
    pub pv: PvPath,
    /// Whether K is smoothed first (the code's default: yes).
    pub smooth_k: bool,
}

/// One head prepared: codes, scales, V as the PV path uses it.
pub(crate) struct Head {
    q: Vec<i8>,
    sq: Vec<f32>,
    k: Vec<i8>,
    sk: Vec<f32>,
    v: Vec<f32>,
    /// Per-channel V scales (FP8 paths).
    sv: Vec<f32>,
}

impl Sage {
    /// Keys per P·V partial sum (v2++ flushes its FP16 accumulator every
    /// 32 keys; the others once per tile).
    fn pv_chunk(&self) -> usize {
        match self.pv {
            PvPath::Fp8Fp16Acc => PV_CHUNK_FP16,
            _ => KV_TILE,
        }
    }

    /// Every head prepared (fp16 inputs, K smoothing, codes, V).
    pub(crate) fn prepare(&self, x: &Qkv) -> Vec<Head> {
        let x = Input::Fp16.qkv(x);
        let d = x.shape.d;
        let c = ((d as f64).powf(-0.5) * LOG2E_CODE) as f32;
        (0..x.shape.heads)
            .into_par_iter()
            .map(|h| {
                let k = if self.smooth_k {
                    smooth_k(x.k_head(h), d)
                } else {
                    x.k_head(h).to_vec()
                };
                let (q, sq) = quantize_blocks(x.q_head(h), d, Q_BLOCK, c, self.qk);
                let (k, sk) = quantize_blocks(&k, d, K_BLOCK, 1.0, self.qk);
                let vh = x.v_head(h);
                let (v, sv) = match self.pv {
                    PvPath::Fp16 => (vh.to_vec(), Vec::new()),
                    PvPath::Fp8TwoLevel | PvPath::Fp8Fp16Acc => {
                        let cap = if self.pv == PvPath::Fp8TwoLevel {
                            448.0
                        } else {
                            2.25
                        };
                        let mut sv = vec![0.0f32; d];
                        for row in vh.chunks(d) {
                            for (s, v) in sv.iter_mut().zip(row) {
                                *s = s.max(v.abs());
                            }
                        }
                        for s in sv.iter_mut() {
                            *s = s.max(1e-7) / cap;
                        }
                        let v8 = vh
                            .chunks(d)
                            .flat_map(|row| row.iter().zip(&sv).map(|(v, s)| e4m3_rne(v / s)))
                            .collect();
                        (v8, sv)
                    }
                };
                Head {
                    q,
                    sq,
                    k,
                    sk,
                    v,
                    sv,
                }
            })
            .collect()
    }

    /// Base-2 scores of query `i` against every key (masked −∞).
    pub(crate) fn scores_row(&self, x: &Qkv, hd: &Head, i: usize, out: &mut [f32]) {
        let d = x.shape.d;
        let vis = x.shape.visible(i);
        let qi = &hd.q[i * d..(i + 1) * d];
        let sq = hd.sq[i / Q_BLOCK];
        for (j, s) in out.iter_mut().enumerate() {
            if j >= vis {
                *s = f32::NEG_INFINITY;
                continue;
            }
            let kj = &hd.k[j * d..(j + 1) * d];
            let dot: i32 = qi.iter().zip(kj).map(|(a, b)| *a as i32 * *b as i32).sum();
            let sk = hd.sk[j / K_BLOCK];
            *s = match self.qk {
                QkQuant::Int8Triton => (dot as f32 * sq) * sk,
                _ => dot as f32 * (sq * sk),
            };
        }
    }

    /// Output row `i` of head `hd` (steps 3–5 of the module docs). With
    /// `keep`, only the keys it accepts enter the softmax and P·V (a sparse
    /// kernel's block mask): a tile with no kept key is skipped, the others
    /// run as in the dense kernel over their kept keys. `keep = None` is the
    /// dense kernel.
    pub(crate) fn row(
        &self,
        x: &Qkv,
        hd: &Head,
        i: usize,
        keep: Option<&dyn Fn(usize) -> bool>,
        o: &mut [f64],
    ) {
        let (d, nk) = (x.shape.d, x.shape.nk);
        let kept = |j: usize| keep.is_none_or(|k| k(j));
        let mut s = vec![0.0f32; nk];
        self.scores_row(x, hd, i, &mut s);
        let vis = x.shape.visible(i);
        let mut st = RowState {
            m: f32::NEG_INFINITY,
            l: 0.0,
            acc: vec![0.0; d],
        };
        let mut p = vec![0.0f32; KV_TILE];
        let mut b = vec![0.0f32; d];
        for t0 in (0..vis).step_by(KV_TILE) {
            let t1 = (t0 + KV_TILE).min(vis);
            if !(t0..t1).any(kept) {
                continue;
            }
            let tile_max = (t0..t1)
                .filter(|&j| kept(j))
                .fold(f32::NEG_INFINITY, |m, j| m.max(s[j]));
            let m_new = st.m.max(tile_max);
            let alpha = exp2_f32(st.m - m_new);
            let mut r = 0.0f32;
            for (j, pj) in (t0..t1).zip(p.iter_mut()) {
                *pj = if kept(j) { exp2_f32(s[j] - m_new) } else { 0.0 };
                r += *pj;
            }
            st.l = st.l * alpha + r;
            for a in st.acc.iter_mut() {
                *a *= alpha;
            }
            let chunk = self.pv_chunk();
            for c0 in (t0..t1).step_by(chunk) {
                b.iter_mut().for_each(|x| *x = 0.0);
                for j in (c0..(c0 + chunk).min(t1)).filter(|&j| kept(j)) {
                    let vr = &hd.v[j * d..(j + 1) * d];
                    let pj = p[j - t0];
                    match self.pv {
                        PvPath::Fp16 => {
                            let ph = h16(pj);
                            for (bc, vc) in b.iter_mut().zip(vr) {
                                *bc = fp16_mac(*bc, ph, *vc);
                            }
                        }
                        PvPath::Fp8TwoLevel => {
                            let p8 = e4m3_rne(pj * 448.0);
                            for (bc, vc) in b.iter_mut().zip(vr) {
                                *bc += p8 * vc;
                            }
                        }
                        PvPath::Fp8Fp16Acc => {
                            let p8 = e4m3_rne(pj * 448.0);
                            for (bc, vc) in b.iter_mut().zip(vr) {
                                *bc = fp16_mac(*bc, p8, *vc);
                            }
                        }
                    }
                }
                for (a, bc) in st.acc.iter_mut().zip(&b) {
                    *a += bc;
                }
            }
            st.m = m_new;
        }
        for (c, (oc, a)) in o.iter_mut().zip(&st.acc).enumerate() {
            let y = a / st.l;
            let y = if hd.sv.is_empty() {
                y
            } else {
                y * (hd.sv[c] / 448.0)
            };
            *oc = h16(y) as f64;
        }
    }
}

impl AttentionVariant for Sage {
    fn info(&self) -> AttentionInfo {
        let qb = self.qk.bits();
        let (pv_desc, v, pv_mul, pv_add, acc) = match self.pv {
            PvPath::Fp16 => (
                "P fp16, V fp16",
                Storage::plain(16),
                OpKind::FpMul {
                    ebits: 5,
                    mbits: 10,
                },
                OpKind::FpAdd {
                    ebits: 5,
                    mbits: 10,
                },
                "int32 QK; PV fp16 in each 64-key tile, f32 across",
            ),
            PvPath::Fp8TwoLevel => (
                "P e4m3 (×448), V e4m3 per channel (f32 scale)",
                Storage {
                    bits: 8,
                    scale_bits: 32,
                    group: ScaleGroup::Channel,
                },
                OpKind::FpMul { ebits: 4, mbits: 3 },
                OpKind::F32_ADD,
                "int32 QK; PV f32 per 64-key tile, f32 across (two-level)",
            ),
            PvPath::Fp8Fp16Acc => (
                "P e4m3 (×448), V e4m3 per channel (amax/2.25)",
                Storage {
                    bits: 8,
                    scale_bits: 32,
                    group: ScaleGroup::Channel,
                },
                OpKind::FpMul { ebits: 4, mbits: 3 },
                OpKind::FpAdd {
                    ebits: 5,
                    mbits: 10,
                },
                "int32 QK; PV fp16 per 32 keys, f32 across",
            ),
        };
        AttentionInfo {
            name: self.name,
            description: self.description,
            qk_desc: match self.qk {
                QkQuant::Int8Triton => "int8 Q/128, K/64 tokens (f32 scale, half away), K smoothed",
                QkQuant::Int8Cuda => "int8 Q/128, K/64 tokens (f32 scale, RNE), K smoothed",
                QkQuant::Int4 => "int4 Q/128, K/64 tokens (f32 scale, RNE), K smoothed",
            },
            pv_desc,
            accumulator: acc,
            q: Storage {
                bits: qb,
                scale_bits: 32,
                group: ScaleGroup::Tokens(Q_BLOCK),
            },
            k: Storage {
                bits: qb,
                scale_bits: 32,
                group: ScaleGroup::Tokens(K_BLOCK),
            },
            v,
            o_bits: 16,
            schedule: Schedule::Flash {
                b_c: KV_TILE,
                b_r: Q_BLOCK,
            },
            ops: Ops {
                qk_mul: OpKind::IntMul { a: qb, b: qb },
                qk_add: OpKind::IntAdd { bits: 32 },
                pv_mul,
                pv_add,
                softmax: Softmax::F32,
            },
        }
    }

    fn emulate(&self, x: &Qkv) -> Vec<f64> {
        let heads = self.prepare(x);
        per_row(x.shape, |h, i, o| self.row(x, &heads[h], i, None, o))
    }

    /// Every Q/K quantization and P·V path: [`crate::kernels::attention::sage`].
    fn native(&self) -> Option<Box<dyn NativeAttention>> {
        Some(Box::new(NativeSage(Sage {
            name: self.name,
            description: self.description,
            qk: self.qk,
            pv: self.pv,
            smooth_k: self.smooth_k,
        })))
    }

    fn scores(&self, x: &Qkv) -> Vec<f64> {
        let heads = self.prepare(x);
        let ln2 = std::f64::consts::LN_2;
        per_score_row(x.shape, |h, i, o| {
            let mut s = vec![0.0f32; x.shape.nk];
            self.scores_row(x, &heads[h], i, &mut s);
            for (a, b) in o.iter_mut().zip(&s) {
                *a = *b as f64 * ln2;
            }
        })
    }
}

/// The native kernel of a SageAttention-style variant: the variant's own
/// quantizers (K smoothing, per-block INT8/INT4 Q and K, fp16 or per-channel
/// e4m3 V; O(N·d)), then the kernel's integer Q·Kᵀ, base-2 online softmax
/// and P·V on the variant's path (O(N²·d)).
pub struct NativeSage(Sage);

impl NativeSage {
    /// The kernel's blocking and arithmetic for this variant.
    fn blocks(&self) -> SageBlocks {
        self.0.kernel_blocks()
    }
}

impl Sage {
    /// The native kernel's blocking and arithmetic for this variant.
    pub(crate) fn kernel_blocks(&self) -> SageBlocks {
        SageBlocks {
            q_block: Q_BLOCK,
            k_block: K_BLOCK,
            tile: KV_TILE,
            chunk: self.pv_chunk(),
            score: match self.qk {
                QkQuant::Int8Triton => SageScore::V1,
                QkQuant::Int8Cuda | QkQuant::Int4 => SageScore::V2,
            },
            pv: match self.pv {
                PvPath::Fp16 => SagePv::Fp16,
                PvPath::Fp8TwoLevel => SagePv::Fp8F32,
                PvPath::Fp8Fp16Acc => SagePv::Fp8Fp16,
            },
        }
    }
}

/// The kernels' views of prepared heads.
pub(crate) fn views(heads: &[Head]) -> Vec<SageHead<'_>> {
    heads
        .iter()
        .map(|h| SageHead {
            q: &h.q,
            sq: &h.sq,
            k: &h.k,
            sk: &h.sk,
            v: &h.v,
            sv: &h.sv,
        })
        .collect()
}

impl NativeAttention for NativeSage {
    fn run_at(&self, x: &Qkv, level: crate::isa::IsaLevel) -> Vec<f64> {
        let heads = self.0.prepare(x);
        sage(&views(&heads), super::exact::dims(x), self.blocks(), level)
    }

    /// The blocked kernel's packing and scores (AVX2 with FMA and F16C and
    /// up: `vpmaddwd`, or `vpdpbusd` at AVX-512 with VNNI).
    fn qk_phase<'a>(&'a self, x: &'a Qkv) -> Option<Box<dyn Fn() -> f32 + Send + Sync + 'a>> {
        let (dims, blocks, level) = (
            super::exact::dims(x),
            self.blocks(),
            crate::isa::effective(),
        );
        let heads = self.0.prepare(x);
        sage_qk(&views(&heads), dims, blocks, level)?;
        Some(Box::new(move || {
            sage_qk(&views(&heads), dims, blocks, level).unwrap_or(0.0)
        }))
    }

    fn base(&self) -> Base {
        Base::Int8Dot
    }

    /// The blocked kernel has AVX-512 steps (`vpdpbusd`, with VNNI) above its AVX2 ones.
    fn top_isa(&self) -> crate::isa::IsaLevel {
        crate::isa::IsaLevel::Avx512
    }
}

/// The variants of this file, in display order.
pub fn all() -> Vec<Box<dyn AttentionVariant>> {
    let v = |name, description, qk, pv| -> Box<dyn AttentionVariant> {
        Box::new(Sage {
            name,
            description,
            qk,
            pv,
            smooth_k: true,
        })
    };
    vec![
        v("attention/sage-int8",
          "SageAttention v1 (Triton): K smoothing, INT8 Q per 128 / K per 64 tokens, fp16 PV with fp16 accumulation per 64-key tile",
          QkQuant::Int8Triton, PvPath::Fp16),
        v("attention/sage2-fp8",
          "SageAttention v2 (CUDA): INT8 QK, FP8 E4M3 PV (V per channel, P×448), f32 flush per tile (two-level accumulation)",
          QkQuant::Int8Cuda, PvPath::Fp8TwoLevel),
        v("attention/sage2pp-fp16acc",
          "SageAttention v2++: as v2 with PV accumulated in fp16 per 32 keys and the V scale capped (amax/2.25)",
          QkQuant::Int8Cuda, PvPath::Fp8Fp16Acc),
        v("attention/int4-qk",
          "INT4 Q/K (±7, RNE) after K smoothing, per 128/64-token blocks; fp16 PV as SageAttention v1 (paper's INT4 kernel)",
          QkQuant::Int4, PvPath::Fp16),
    ]
}
