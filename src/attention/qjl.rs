//! QJL (amirzandieh/QJL): keys compressed to sign bits of a random
//! projection (a quantized Johnson–Lindenstrauss sketch), values to 2-bit
//! integers; scores estimated from the sketch with an unquantized query.
//!
//! # `attention/qjl`, as the official code computes it (head dim 128 there)
//!
//! Inputs are fp16 (the model's dtype): Q, K, V rounded RNE to fp16.
//!
//! 1. **Sketch** `S` (`d × m`, m = 256): `d·m` standard normals (seed 42,
//!    row-major like `torch.randn((d, m))`), then each chunk of `d` columns
//!    replaced by the Q factor of its QR decomposition, times `√d`
//!    (`init_rot_dir`), stored in f32.
//! 2. **Keys** of one head: the newest `vis mod 128` keys stay fp16 (the
//!    buffer); the rest in groups of 32 tokens. Per group the 8 channels of
//!    largest fp16 norm over the group are the outliers (`topk` of
//!    `key_states.norm(dim=-2)`). Per token: inlier bits `σ_p = [Σ_c∉out k_c·S_cp > 0]`
//!    for p < m; outlier bits over the outlier channels for p < m_o
//!    (m_o = 256); `‖k‖` and `‖k_out‖` stored in fp16.
//! 3. **Score** of query q and a sketched key (the CUDA `calc_score_kernel`):
//!    `Sq = q·S` (f32), `Sq_out,p = Σ_i q_{o_i}·S_{o_i,p}` (outlier order),
//!    `inner = Σ_p ±(Sq_p − Sq_out,p)`, `outer = Σ_{p<m_o} ±Sq_out,p`
//!    (+ where the bit is set), `‖k_in‖ = √(‖k‖² − ‖k_out‖²)` (f32 from the
//!    fp16 norms), `score = c/m·‖k_in‖·inner + c/m_o·‖k_out‖·outer` with
//!    `c = sqrtf(f32(π/2))`. Buffered keys: `fp16(q·k)` (the fp16 matmul).
//!    Then `s = score / f32(√d)` (f32).
//! 4. **Softmax** in f32 ([`exp_f32`], max subtracted, sum in key order),
//!    probabilities rounded to fp16 (`.to(query_states.dtype)`).
//! 5. **Values**: the newest `min(vis, 129)` stay fp16 (the 128-token buffer
//!    plus the token being decoded, which the code appends before the PV
//!    product and quantizes after it); older ones per token in groups of 32
//!    channels, asymmetric 2-bit: `mn`, `mx` (fp16), `scale = fp16(fp16(mx − mn)/3)`,
//!    `code = clamp(rne(fp16(fp16(v − mn)/scale)), 0, 3)` (a constant group,
//!    scale 0, gets code 0), `v̂ = code·scale + mn` (f32).
//! 6. **Output**: `A = Σ_quantized P_j·v̂_j`, `B = Σ_fp16 P_j·v_j` (each an
//!    f32 FMA chain in key order, rounded to fp16), `o = fp16(A + B)` (the
//!    code's `attn_output += …` in fp16); `o = B` with no quantized values.
//!
//! Sums (the sketches, dot products, `‖k‖`) are f32 FMA chains in index
//! order from +0. The sign sums `inner` and `outer` are formed in sixteen
//! lanes (lane `l` adds the terms `p ≡ l mod 16` in increasing `p`, from
//! +0) then reduced by a fixed tree, `s_i + s_{i+8}` (i < 8), `+ s_{i+4}`
//! (i < 4), `+ s_{i+2}` (i < 2), `s_0 + s_1` — the order a 16-lane vector
//! forms them in ([`LANES`]; the native kernel's order, for both variants).
//! The GPU's warp-tree order is not reproduced (neither is one serial chain).
//!
//! # Where this differs from the code, and the code from the paper
//!
//! - The Gaussian comes from this crate's generator, not torch's
//!   (`torch.Generator` with seed 42 cannot be reproduced bit for bit), and
//!   the QR is modified Gram–Schmidt in f64 (R with a positive diagonal)
//!   rather than LAPACK's Householder: column signs differ, the
//!   distribution of the sketch does not.
//! - `topk` ties (equal fp16 norms) go to the lower channel index.
//! - **Prefill**: the official code runs prefill through exact
//!   FlashAttention and uses the sketch only while decoding. Here every
//!   query row sees the cache as a decode step at its position would
//!   (causal: the first `i + 1` tokens; groups of 32 do not depend on later
//!   tokens, so they are encoded once) — what a chunked prefill over the
//!   compressed cache computes.
//! - Code vs paper: the paper's sketch is i.i.d. Gaussian and its estimator
//!   has no outlier split, no fp16 norms and no full-precision buffer. The
//!   orthogonalised sketch makes the estimator's mean `√d/E‖g‖` times
//!   ⟨q, k⟩ (g ~ N(0, I_d)), about `1 + 1/(4d)`: 1.002 at d = 128 —
//!   biased, slightly (tested).
//!
//! # `attention/qjl-plain`: the paper's estimator alone
//!
//! f32 inputs, an i.i.d. Gaussian `S` (m = 256, not orthogonalised), every
//! key sketched (no buffer, no outliers), `‖k‖` in f32:
//! `s = (c/m·‖k‖·Σ_p ±Sq_p) / f32(√d)`; softmax in f32, `o = Σ P_j·v_j`
//! (f32 FMA chain), values unquantized. Its scores are unbiased with
//! variance `((π/2)‖q‖²‖k‖² − ⟨q,k⟩²)/m` (tested over seeds).
//!
//! # No attention-mass recall
//!
//! Both variants leave [`coverage`](super::AttentionVariant::coverage) at `None`: every
//! visible key gets a score (estimated from its sketch, or in fp16 for the
//! newest 128 tokens) and a non-zero softmax weight, so every pair is
//! covered and the recall would be 1 by construction. QJL's error is in
//! the scores, not in which keys it sees: the suite measures it by the KL
//! and TV of its score rows, the output error, and the estimator's bias
//! and variance over seeds. Counting only the fp16 window as "covered"
//! would instead measure the window's share of the mass, a property of
//! the workload rather than of the estimator.
//!
//! # Bits per cached element
//!
//! As coded (d = 128): a key token costs m + m_o = 512 sketch bits and two
//! fp16 norms, and each group of 32 tokens 8 uint8 outlier indices:
//! `(32·(512 + 32) + 64)/(32·128)` = 4.27 bits per coordinate; a value
//! 2 bits plus an fp16 scale and minimum per 32 channels: 3 bits. The
//! paper counts the sketch alone: m/d sign bits per key coordinate (2 at
//! m = 256, d = 128) — [`bits_as_coded`], [`bits_paper`]. The fp16
//! buffers (≤ 128 keys, ≤ 129 values) are not in these averages.

use super::exact::Input;
use super::info::{AttentionInfo, Ops, ScaleGroup, Schedule, Softmax, Storage};
use super::{dot_fma, per_row, per_score_row, AttentionVariant, AttnShape, NativeAttention, Qkv};
use crate::arith::exp::exp_f32;
use crate::hw::cost::{Cost, OpKind};
pub use crate::kernels::attention::qjl::LANES;
use crate::kernels::attention::qjl::{self as kernel, QjlHead, QjlParams};
use crate::workload::gen::{generate, Distribution};
use half::f16;

/// Sketch dimension m (inlier bits per key).
pub const SKETCH_DIM: usize = 256;
/// Outlier sketch dimension m_o.
pub const OUTLIER_SKETCH_DIM: usize = 256;
/// Outlier channels per group.
pub const OUTLIERS: usize = 8;
/// Tokens per outlier group.
pub const GROUP: usize = 32;
/// Keys are sketched in whole buffers of this many tokens.
pub const BUFFER: usize = 128;
/// Channels per value quantization group.
pub const VALUE_GROUP: usize = 32;
/// The code's sketch seed.
pub const SEED: u64 = 42;

/// How the sketch matrix is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SketchKind {
    /// i.i.d. standard normal entries (the paper).
    Gaussian,
    /// Each chunk of `d` columns orthogonalised and scaled by √d (the code).
    Orthogonal,
}

/// The sketch `S` (`d × m`, row-major: `S[c·m + p]`), f32.
pub fn sketch_matrix(d: usize, m: usize, kind: SketchKind, seed: u64) -> Vec<f32> {
    let g = generate(&Distribution::Gaussian { std: 1.0 }, d, m, seed).data;
    if kind == SketchKind::Gaussian {
        return g;
    }
    let mut s = vec![0.0f32; d * m];
    let scale = (d as f64).sqrt();
    for c0 in (0..m).step_by(d) {
        let cols: Vec<usize> = (c0..(c0 + d).min(m)).collect();
        // Modified Gram–Schmidt on the chunk's columns, in f64.
        let mut q: Vec<Vec<f64>> = Vec::with_capacity(cols.len());
        for &p in &cols {
            let mut v: Vec<f64> = (0..d).map(|r| g[r * m + p] as f64).collect();
            for u in &q {
                let dot: f64 = u.iter().zip(&v).map(|(a, b)| a * b).sum();
                for (x, a) in v.iter_mut().zip(u) {
                    *x -= dot * a;
                }
            }
            let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.iter_mut().for_each(|x| *x /= n);
            q.push(v);
        }
        for (u, &p) in q.iter().zip(&cols) {
            for r in 0..d {
                s[r * m + p] = (u[r] * scale) as f32;
            }
        }
    }
    s
}

/// `c = sqrtf(f32(π/2))`, the kernel's constant.
pub fn sqrt_half_pi() -> f32 {
    (std::f32::consts::FRAC_PI_2).sqrt()
}

/// Bits per cached (key, value) coordinate as the code stores them, for
/// head dim `d` (norms, outlier indices and value scales amortised).
pub fn bits_as_coded(d: usize) -> (f64, f64) {
    let per_group =
        GROUP as f64 * ((SKETCH_DIM + OUTLIER_SKETCH_DIM) as f64 + 32.0) + 8.0 * OUTLIERS as f64;
    let key = per_group / (GROUP * d) as f64;
    let value = 2.0 + 32.0 / VALUE_GROUP as f64;
    (key, value)
}

/// Bits per key coordinate as the paper counts them: the m sign bits.
pub fn bits_paper(d: usize) -> f64 {
    SKETCH_DIM as f64 / d as f64
}

/// One QJL variant.
pub struct Qjl {
    /// Registry name.
    pub name: &'static str,
    /// Description.
    pub description: &'static str,
    /// The code's full pipeline (true) or the plain estimator (false).
    pub coded: bool,
    /// Sketch seed.
    pub seed: u64,
}

/// One head's sketched keys (only the groups some row quantizes).
struct Keys {
    /// Per group: outlier channel indices (topk order).
    outliers: Vec<Vec<usize>>,
    /// Per token: inlier sign bits (m).
    inlier: Vec<Vec<bool>>,
    /// Per token: outlier sign bits (m_o).
    outlier: Vec<Vec<bool>>,
    /// Per token: ‖k‖ (fp16 value; f32 for the plain estimator).
    norm: Vec<f32>,
    /// Per token: ‖k_out‖ (fp16 value).
    norm_out: Vec<f32>,
}

#[inline]
fn h16(x: f32) -> f32 {
    f16::from_f32(x).to_f32()
}

/// `Σ_p t(p)` for `p < m` in the sign sums' order (module docs): lane
/// `l` of [`LANES`] adds the terms `p ≡ l mod LANES` in increasing `p` from
/// +0, then `s_i += s_{i+w}` for w = 8, 4, 2, 1.
fn lane_sum(m: usize, t: impl Fn(usize) -> f32) -> f32 {
    let mut s = [0.0f32; LANES];
    for p in 0..m {
        s[p % LANES] += t(p);
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

fn sq_norm(x: impl Iterator<Item = f32>) -> f32 {
    x.fold(0.0f32, |s, v| v.mul_add(v, s)).sqrt()
}

/// Outlier channels of one group of tokens (`rows × d`): the `OUTLIERS`
/// largest fp16 channel norms, ties to the lower index.
pub fn outlier_channels(group: &[f32], d: usize) -> Vec<usize> {
    let norms: Vec<f32> = (0..d)
        .map(|c| h16(sq_norm(group.chunks(d).map(|r| r[c]))))
        .collect();
    let mut idx: Vec<usize> = (0..d).collect();
    idx.sort_by(|&a, &b| norms[b].total_cmp(&norms[a]).then(a.cmp(&b)));
    idx.truncate(OUTLIERS.min(d));
    idx
}

/// 2-bit asymmetric quantization of one value row, groups of 32 channels;
/// returns the dequantized row (module docs, step 5).
pub fn quantize_value_row(v: &[f32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(v.len());
    for g in v.chunks(VALUE_GROUP) {
        let mn = g.iter().cloned().fold(f32::INFINITY, f32::min);
        let mx = g.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let scale = h16(h16(mx - mn) / 3.0);
        for &x in g {
            let code = if scale == 0.0 {
                0.0
            } else {
                h16(h16(x - mn) / scale).round_ties_even().clamp(0.0, 3.0)
            };
            out.push(code * scale + mn);
        }
    }
    out
}

impl Qjl {
    fn kind(&self) -> SketchKind {
        if self.coded {
            SketchKind::Orthogonal
        } else {
            SketchKind::Gaussian
        }
    }

    /// Keys of `vis` visible tokens that are sketched (the rest buffered).
    fn sketched(&self, vis: usize) -> usize {
        if self.coded {
            vis - vis % BUFFER
        } else {
            vis
        }
    }

    /// Values of `vis` visible tokens that are quantized.
    fn quantized_values(&self, vis: usize) -> usize {
        if self.coded {
            vis - vis.min(BUFFER + 1)
        } else {
            0
        }
    }

    fn encode(&self, k: &[f32], d: usize, upto: usize, s: &[f32]) -> Keys {
        let m = SKETCH_DIM;
        let mut keys = Keys {
            outliers: Vec::new(),
            inlier: Vec::new(),
            outlier: Vec::new(),
            norm: Vec::new(),
            norm_out: Vec::new(),
        };
        let groups = if self.coded { upto / GROUP } else { 0 };
        for g in 0..groups {
            keys.outliers
                .push(outlier_channels(&k[g * GROUP * d..(g + 1) * GROUP * d], d));
        }
        for j in 0..upto {
            let row = &k[j * d..(j + 1) * d];
            let out: &[usize] = if self.coded {
                &keys.outliers[j / GROUP]
            } else {
                &[]
            };
            let mut is_out = vec![false; d];
            out.iter().for_each(|&c| is_out[c] = true);
            let bits: Vec<bool> = (0..m)
                .map(|p| {
                    (0..d)
                        .filter(|&c| !is_out[c])
                        .fold(0.0f32, |a, c| row[c].mul_add(s[c * m + p], a))
                        > 0.0
                })
                .collect();
            keys.inlier.push(bits);
            let norm = sq_norm(row.iter().cloned());
            if self.coded {
                let ob: Vec<bool> = (0..OUTLIER_SKETCH_DIM)
                    .map(|p| {
                        out.iter()
                            .fold(0.0f32, |a, &c| row[c].mul_add(s[c * m + p], a))
                            > 0.0
                    })
                    .collect();
                keys.outlier.push(ob);
                keys.norm.push(h16(norm));
                keys.norm_out
                    .push(h16(sq_norm(out.iter().map(|&c| row[c]))));
            } else {
                keys.norm.push(norm);
            }
        }
        keys
    }

    /// f32 scores `s_j` of one query against keys `0..vis` (module docs).
    fn row_scores(&self, q: &[f32], k: &[f32], keys: &Keys, s: &[f32], vis: usize) -> Vec<f32> {
        let (d, m, mo) = (q.len(), SKETCH_DIM, OUTLIER_SKETCH_DIM);
        let sqrt_d = (d as f64).sqrt() as f32;
        let c = sqrt_half_pi();
        let (scl, scl_o) = (c / m as f32, c / mo as f32);
        let sq: Vec<f32> = (0..m)
            .map(|p| (0..d).fold(0.0f32, |a, r| q[r].mul_add(s[r * m + p], a)))
            .collect();
        let nsk = self.sketched(vis);
        let mut out = Vec::with_capacity(vis);
        let mut sqo = vec![0.0f32; m];
        for j in 0..nsk {
            if !self.coded {
                let ib = &keys.inlier[j];
                let inner = lane_sum(m, |p| if ib[p] { sq[p] } else { -sq[p] });
                out.push(scl * keys.norm[j] * inner / sqrt_d);
                continue;
            }
            if j % GROUP == 0 {
                let o = &keys.outliers[j / GROUP];
                for (p, x) in sqo.iter_mut().enumerate() {
                    *x = o.iter().fold(0.0f32, |a, &r| q[r].mul_add(s[r * m + p], a));
                }
            }
            let (ib, ob) = (&keys.inlier[j], &keys.outlier[j]);
            let inner = lane_sum(m, |p| {
                let v = sq[p] - sqo[p];
                if ib[p] {
                    v
                } else {
                    -v
                }
            });
            let outer = lane_sum(mo, |p| if ob[p] { sqo[p] } else { -sqo[p] });
            let (nk, no) = (keys.norm[j], keys.norm_out[j]);
            let nin = (nk * nk - no * no).sqrt();
            let score = scl * nin * inner + scl_o * no * outer;
            out.push(score / sqrt_d);
        }
        for j in nsk..vis {
            out.push(h16(dot_fma(q, &k[j * d..(j + 1) * d])) / sqrt_d);
        }
        out
    }

    fn input(&self, x: &Qkv) -> Qkv {
        if self.coded {
            Input::Fp16.qkv(x)
        } else {
            x.clone()
        }
    }

    fn prepare(&self, x: &Qkv) -> (Vec<f32>, Vec<Keys>) {
        let AttnShape { d, nk, heads, .. } = x.shape;
        let s = sketch_matrix(d, SKETCH_DIM, self.kind(), self.seed);
        let upto = self.sketched(nk);
        let keys = (0..heads)
            .map(|h| self.encode(x.k_head(h), d, upto, &s))
            .collect();
        (s, keys)
    }
}

impl AttentionVariant for Qjl {
    /// Timed whole: its work is not the same per visible pair at every N.
    fn emulation_scales_by_rows(&self) -> bool {
        false
    }

    fn info(&self) -> AttentionInfo {
        let (k, v) = if self.coded {
            // 4 sketch bits per coordinate (m + m_o = 512 over d = 128) as the
            // element, norms and outlier indices as the per-group overhead.
            (
                Storage {
                    bits: 4,
                    scale_bits: GROUP as u32 * 32 + 8 * OUTLIERS as u32,
                    group: ScaleGroup::Tokens(GROUP),
                },
                Storage {
                    bits: 2,
                    scale_bits: 32,
                    group: ScaleGroup::Block(VALUE_GROUP),
                },
            )
        } else {
            (
                Storage {
                    bits: 2,
                    scale_bits: 32,
                    group: ScaleGroup::Tokens(1),
                },
                Storage::plain(32),
            )
        };
        AttentionInfo {
            name: self.name,
            description: self.description,
            qk_desc: if self.coded {
                "K: 256+256 sign bits (orthogonalised JL, 8 outlier ch./32 tokens), fp16 norms; Q unquantized"
            } else {
                "K: 256 sign bits (Gaussian JL), f32 norm; Q unquantized"
            },
            pv_desc: if self.coded {
                "P fp16, V 2-bit asym. per 32 ch. (fp16 scale, min); newest 129 fp16"
            } else {
                "P f32, V f32"
            },
            accumulator: "f32 (sketch sums and PV)",
            q: Storage::plain(if self.coded { 16 } else { 32 }),
            k,
            v,
            o_bits: if self.coded { 16 } else { 32 },
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
        let x = self.input(x);
        let (s, keys) = self.prepare(&x);
        let AttnShape { d, nk, .. } = x.shape;
        // Dequantized values once per head (per-token groups do not depend on
        // the row); rows that keep a value in fp16 read the original.
        let vq: Vec<Vec<f32>> = (0..x.shape.heads)
            .map(|h| {
                let n = self.quantized_values(nk);
                x.v_head(h)[..n * d]
                    .chunks(d)
                    .flat_map(quantize_value_row)
                    .collect()
            })
            .collect();
        per_row(x.shape, |h, i, o| {
            let vis = x.shape.visible(i);
            let sc = self.row_scores(x.q_row(h, i), x.k_head(h), &keys[h], &s, vis);
            let mx = sc.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let p: Vec<f32> = sc.iter().map(|&v| exp_f32(v - mx)).collect();
            let l = p.iter().fold(0.0f32, |a, b| a + b);
            let v = x.v_head(h);
            if !self.coded {
                for (c, oc) in o.iter_mut().enumerate() {
                    let mut a = 0.0f32;
                    for (j, pj) in p.iter().enumerate() {
                        a = (pj / l).mul_add(v[j * d + c], a);
                    }
                    *oc = a as f64;
                }
                return;
            }
            let nq = self.quantized_values(vis);
            let pr: Vec<f32> = p.iter().map(|pj| h16(pj / l)).collect();
            for (c, oc) in o.iter_mut().enumerate() {
                let mut a = 0.0f32;
                for j in 0..nq {
                    a = pr[j].mul_add(vq[h][j * d + c], a);
                }
                let mut b = 0.0f32;
                for j in nq..vis {
                    b = pr[j].mul_add(v[j * d + c], b);
                }
                *oc = if nq > 0 { h16(h16(a) + h16(b)) } else { h16(b) } as f64;
            }
        })
    }

    fn native(&self) -> Option<Box<dyn NativeAttention>> {
        Some(Box::new(NativeQjl(Qjl {
            name: self.name,
            description: self.description,
            coded: self.coded,
            seed: self.seed,
        })))
    }

    fn scores(&self, x: &Qkv) -> Vec<f64> {
        let x = self.input(x);
        let (s, keys) = self.prepare(&x);
        per_score_row(x.shape, |h, i, o| {
            let vis = x.shape.visible(i);
            let sc = self.row_scores(x.q_row(h, i), x.k_head(h), &keys[h], &s, vis);
            for (a, b) in o.iter_mut().zip(&sc) {
                *a = *b as f64;
            }
        })
    }

    /// Per row: the query sketch (`d·m` MACs); per sketched pair `m + m_o`
    /// signed adds and 5 multiplies; per row and group the outlier query
    /// sketch (`8·m` MACs); per buffered pair `d` MACs; per pair the softmax
    /// (one exponential, 3 adds, a divide) and `d` PV MACs (plus a
    /// dequantizing multiply-add per quantized value element). Bytes: Q, the
    /// compressed K and V and O once (the standard schedule's S and P are
    /// not written: the kernel keeps scores per row).
    fn cost(&self, shape: AttnShape) -> Cost {
        let AttnShape { heads, nq, d, .. } = shape;
        let (m, mo) = (SKETCH_DIM as f64, OUTLIER_SKETCH_DIM as f64);
        let df = d as f64;
        let mut c = Cost::default();
        let (mut mul, mut add) = (0.0, 0.0);
        let mut pairs = 0.0;
        for i in 0..nq {
            let vis = shape.visible(i);
            let sk = self.sketched(vis) as f64;
            let buf = vis as f64 - sk;
            let vq = self.quantized_values(vis) as f64;
            let groups = if self.coded {
                (sk / GROUP as f64).ceil()
            } else {
                0.0
            };
            mul += df * m + groups * OUTLIERS as f64 * m + sk * 5.0 + buf * df;
            add += df * m
                + groups * OUTLIERS as f64 * m
                + sk * (m + if self.coded { mo + 1.0 } else { 0.0 })
                + buf * df;
            let v = vis as f64;
            mul += v * (super::cost::EXP_OPS.0 + 1.0) + v * df + vq * df;
            add += v * (super::cost::EXP_OPS.1 + 3.0) + v * df + vq * df;
            pairs += v;
        }
        let h = heads as f64;
        c.macs = h * pairs * 2.0 * df;
        c.add(OpKind::F32_MUL, h * mul);
        c.add(OpKind::F32_ADD, h * add);
        let info = self.info();
        let bytes = |s: &Storage, n: usize| s.bits_per_element(n, d) * (n * d) as f64 / 8.0;
        c.dram_bytes = h
            * (bytes(&info.q, nq)
                + bytes(&info.k, shape.nk)
                + bytes(&info.v, shape.nk)
                + (nq * d) as f64 * info.o_bits as f64 / 8.0);
        c.sram_bytes =
            h * pairs * ((m + mo) / 8.0 + df * info.v.bits_per_element(shape.nk, d) / 8.0);
        c
    }
}

/// One head prepared for the native kernel: the O(N·d) steps (outlier
/// channels, norms, 2-bit values) by the emulation's functions, the
/// O(N·d·m) sign bits by the kernel's sketch.
struct NativeHead {
    outliers: Vec<usize>,
    bits: Vec<u64>,
    a: Vec<f32>,
    b: Vec<f32>,
    vq: Vec<f32>,
}

/// The native kernel of a QJL variant (`kernels::attention::qjl`): keys'
/// sign bits packed 64 to a word, scores as masked ±1 sums over them.
pub struct NativeQjl(Qjl);

impl NativeQjl {
    fn params(&self) -> QjlParams {
        QjlParams {
            m: SKETCH_DIM,
            coded: self.0.coded,
            group: GROUP,
            outliers: OUTLIERS,
            key_buffer: BUFFER,
            value_buffer: BUFFER + 1,
        }
    }

    /// The sketch and every head's prepared cache (`x` already rounded).
    fn prepare(&self, x: &Qkv, level: crate::isa::IsaLevel) -> (Vec<f32>, Vec<NativeHead>) {
        const { assert!(OUTLIER_SKETCH_DIM == SKETCH_DIM) };
        let AttnShape { d, nk, heads, .. } = x.shape;
        let q = &self.0;
        let p = self.params();
        let s = sketch_matrix(d, SKETCH_DIM, q.kind(), q.seed);
        let c = sqrt_half_pi();
        let (scl, scl_o) = (c / SKETCH_DIM as f32, c / OUTLIER_SKETCH_DIM as f32);
        let upto = q.sketched(nk);
        let heads = (0..heads)
            .map(|h| {
                let k = x.k_head(h);
                let groups = if q.coded { upto / GROUP } else { 0 };
                let outliers: Vec<usize> = (0..groups)
                    .flat_map(|g| outlier_channels(&k[g * GROUP * d..(g + 1) * GROUP * d], d))
                    .collect();
                let bits = kernel::encode(k, d, upto, &s, &p, &outliers, level);
                let (mut a, mut b) = (Vec::with_capacity(upto), Vec::with_capacity(upto));
                for j in 0..upto {
                    let row = &k[j * d..(j + 1) * d];
                    let norm = sq_norm(row.iter().cloned());
                    if q.coded {
                        let out = &outliers[j / GROUP * OUTLIERS..(j / GROUP + 1) * OUTLIERS];
                        let (nk, no) = (h16(norm), h16(sq_norm(out.iter().map(|&c| row[c]))));
                        let nin = (nk * nk - no * no).sqrt();
                        a.push(scl * nin);
                        b.push(scl_o * no);
                    } else {
                        a.push(scl * norm);
                    }
                }
                let nv = q.quantized_values(nk);
                let vq = x.v_head(h)[..nv * d]
                    .chunks(d)
                    .flat_map(quantize_value_row)
                    .collect();
                NativeHead {
                    outliers,
                    bits,
                    a,
                    b,
                    vq,
                }
            })
            .collect();
        (s, heads)
    }
}

fn views<'a>(x: &'a Qkv, s: &'a [f32], heads: &'a [NativeHead]) -> Vec<QjlHead<'a>> {
    heads
        .iter()
        .enumerate()
        .map(|(h, nh)| QjlHead {
            q: x.q_head(h),
            k: x.k_head(h),
            v: x.v_head(h),
            vq: &nh.vq,
            bits: &nh.bits,
            a: &nh.a,
            b: &nh.b,
            outliers: &nh.outliers,
            s,
        })
        .collect()
}

impl NativeAttention for NativeQjl {
    fn run_at(&self, x: &Qkv, level: crate::isa::IsaLevel) -> Vec<f64> {
        let rounded;
        let x = if self.0.coded {
            rounded = self.0.input(x);
            &rounded
        } else {
            x
        };
        let (s, heads) = self.prepare(x, level);
        let dims = super::exact::dims(x);
        kernel::qjl(&views(x, &s, &heads), dims, &self.params(), level)
    }

    /// The score phase (query sketches, ±1 sums over the packed bits, the
    /// buffered keys' dots) on keys encoded once.
    fn qk_phase<'a>(&'a self, x: &'a Qkv) -> Option<Box<dyn Fn() -> f32 + Send + Sync + 'a>> {
        let level = crate::isa::effective();
        let x = if self.0.coded {
            self.0.input(x)
        } else {
            x.clone()
        };
        let (s, heads) = self.prepare(&x, level);
        let p = self.params();
        Some(Box::new(move || {
            let dims = super::exact::dims(&x);
            kernel::qjl_scores(&views(&x, &s, &heads), dims, &p, level)
        }))
    }

    fn top_isa(&self) -> crate::isa::IsaLevel {
        crate::isa::IsaLevel::Avx512
    }
}

/// The variants of this file, in display order.
pub fn all() -> Vec<Box<dyn AttentionVariant>> {
    vec![
        Box::new(Qjl {
            name: "attention/qjl",
            description: "QJL as coded: orthogonalised JL sketch (m=256, seed 42), 8 outlier channels per 32 tokens with their own sketch, fp16 norms, unquantized query; 2-bit values per 32 ch.; newest keys (N mod 128) and 129 values fp16. Differs from the paper (Gaussian sketch, no outliers) and, in prefill, from the code (which runs exact FlashAttention there); own RNG and Gram-Schmidt QR",
            coded: true,
            seed: SEED,
        }),
        Box::new(Qjl {
            name: "attention/qjl-plain",
            description: "QJL's estimator alone (the paper's): i.i.d. Gaussian sketch m=256, sign bits and f32 norm of every key, unquantized query, f32 softmax and values",
            coded: false,
            seed: SEED,
        }),
    ]
}
