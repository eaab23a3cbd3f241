//! SALE (BirdChristopher/SALE): block-sparse attention whose key blocks are
//! chosen by an INT4 estimate of the scores, the kept blocks computed with
//! SageAttention v1's INT8 arithmetic (`attention/sage-int8`, whose row
//! function this file calls with a block mask).
//!
//! # As the code computes it, per head (inputs rounded to fp16 first)
//!
//! 1. **Centring**: `q̄`, `k̄` = per-channel means over the whole sequence
//!    (f64 sums, rounded to f32); `q' = q − q̄`, `k' = k − k̄` (f32).
//! 2. **INT4 estimate**: `q'` per block of [`Q_BLOCK`] rows and `k'` per
//!    block of [`K_BLOCK`] keys quantized symmetrically (`scale = amax/7`,
//!    round half to even: [`quantize_blocks`] with [`QkQuant::Int4`]);
//!    `s̃_ij = f32(Σ q'_code·k'_code)·(sq·sk) + c_j` with the correction
//!    `c_j = q̄·k'_j` (f32 FMA dot). `s̃` estimates `q_i·k'_j`, which is
//!    `q_i·k_j` shifted by the row constant `q_i·k̄` (softmax-invariant).
//! 3. **Exact region**: per Q block, the sink block (key block 0), the
//!    key blocks holding the block's own positions (the causal diagonal) and
//!    the [`WINDOW`] keys before the block's first position. Over the row's
//!    visible keys there, the exact pass (fp16 inputs, f32 FMA dots of `q`
//!    with the centred keys `k'`) gives the row max `m_i` and
//!    `ℓ_i = Σ exp(sc·(s_ij − m_i))` (`sc` = [`super::sm_scale`]).
//! 4. **Selection** (Relative Attention Score): every other key block with a
//!    visible key is kept when some row `i` of the Q block has a visible key
//!    `j` in it with `s̃_ij > ln(ℓ_i·τ)/sc + m_i` (f32), i.e. when
//!    `exp(sc·(s̃_ij − m_i))/ℓ_i > τ`.
//! 5. **Kept blocks** (the exact region included) run SageAttention v1:
//!    K smoothing, INT8 Q/K per 128/64 tokens, base-2 online softmax in
//!    64-key tiles, fp16 P·V; skipped keys leave the softmax and P·V, a tile
//!    with no kept key is skipped ([`Sage`]'s row function with a mask).
//!
//! Dense (plain `sage-int8`): sequences of at most `dense_below` keys (the
//! code: 1024), and heads with `τ_h < 1e−5`. **Calibration** (option):
//! per head `τ_h = 0.008`, halved while `Σ|out − ref| ≥ 0.4·q_len` (ref: the
//! f64 reference of that head, on the input itself); `τ_h ≤ 1e−4` → 0
//! (dense).
//!
//! # Choices where the code was not followed to the bit
//!
//! - The exact pass's scores use the centred keys (softmax-invariant, so
//!   `m_i` and the estimate are on the same footing); its outputs are not
//!   kept — the kept blocks, the exact region's included, run through the
//!   INT8 kernel, so `τ = 0` gives `sage-int8`'s bits.
//! - The INT4 scales are per 64-row Q block and per 32-key block.
//! - Query `i` sits at position `nk − nq + i` (decode: the newest token).
//!
//! # Native kernel
//!
//! [`NativeSale`]: the same O(N·d) preparation (fp16 inputs, centring,
//! INT4 codes, correction, `sage-int8`'s quantizers), then the selection
//! on [`crate::kernels::attention::sale_select`] (the exact pass's f32
//! FMA chains lanes across keys, the INT4 estimate's integer dots on
//! `vpdpbusd` / `vpmaddwd` / scalar, every f32 step after the dot in the
//! emulation's order) and the kept blocks on `sage-int8`'s kernel with the
//! block mask ([`crate::kernels::attention::sage_masked`]: the masked row
//! function's loop; the blocked kernel (AVX2 and AVX-512) runs each 64-key tile's
//! kept run of 32-key blocks and skips the rest, Q·Kᵀ included). The
//! calibrating form has no native kernel (its loop runs the f64
//! reference).

use super::exact::{F64Reference, Input};
use super::info::AttentionInfo;
use super::sage::{quantize_blocks, views, Head, PvPath, QkQuant, Sage};
use super::{cost, dot_fma, sm_scale, AttentionVariant, AttnShape, NativeAttention, Qkv};
use crate::arith::exp::exp_f32;
use crate::hw::cost::{Cost, OpKind};
use crate::kernels::attention::{sage, sage_masked, sale_select, SageMask, SaleBlocks, SaleHead};
use crate::kernels::Base;
use rayon::prelude::*;

/// Query rows per selection block.
pub const Q_BLOCK: usize = 64;
/// Keys per selection block.
pub const K_BLOCK: usize = 32;
/// Keys before a Q block computed exactly (local window).
pub const WINDOW: usize = 128;
/// The code's sequence length at and below which attention is dense.
pub const DENSE_BELOW: usize = 1024;
/// The calibration's starting threshold.
pub const CALIB_START: f32 = 0.008;
/// Below this a head's threshold means dense.
pub const DENSE_TAU: f32 = 1e-5;

/// A SALE variant.
#[derive(Debug, Clone)]
pub struct Sale {
    /// Registry name.
    pub name: &'static str,
    /// Description.
    pub description: &'static str,
    /// Threshold τ on the relative attention score (all heads) when not
    /// calibrating.
    pub tau: f32,
    /// Calibrate a τ per head on the input (module docs).
    pub calibrate: bool,
    /// Dense at and below this many keys (the code: [`DENSE_BELOW`]).
    pub dense_below: usize,
}

/// Which key blocks one head keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadSelection {
    /// The head's threshold (0: dense).
    pub tau: f32,
    /// `kept[qb * key_blocks + kb]`: whether Q block `qb` runs key block `kb`.
    pub kept: Vec<bool>,
    /// Key blocks per row of `kept`.
    pub key_blocks: usize,
    /// Whether each (Q block, key block) pair is in the exact region.
    pub exact: Vec<bool>,
    /// Whether each pair has a visible key at all.
    pub visible: Vec<bool>,
}

impl HeadSelection {
    /// Whether query `i` uses key `j`.
    pub fn keeps(&self, i: usize, j: usize) -> bool {
        self.kept[(i / Q_BLOCK) * self.key_blocks + j / K_BLOCK]
    }
}

/// What SALE chose over all heads.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// Per head.
    pub heads: Vec<HeadSelection>,
}

impl Selection {
    /// Fraction of visible key blocks (over all Q blocks and heads) skipped.
    pub fn sparsity(&self) -> f64 {
        let (mut vis, mut kept) = (0usize, 0usize);
        for h in &self.heads {
            for (v, k) in h.visible.iter().zip(&h.kept) {
                vis += *v as usize;
                kept += (*v && *k) as usize;
            }
        }
        if vis == 0 {
            0.0
        } else {
            1.0 - kept as f64 / vis as f64
        }
    }
}

/// First position of query row `i`.
fn pos(shape: AttnShape, i: usize) -> usize {
    shape.nk - shape.nq + i
}

/// The block geometry of a shape: for each (Q block, key block) pair,
/// whether it has a visible key and whether it is in the exact region.
pub fn geometry(shape: AttnShape) -> (usize, usize, Vec<bool>, Vec<bool>) {
    let qbs = shape.nq.div_ceil(Q_BLOCK);
    let kbs = shape.nk.div_ceil(K_BLOCK);
    let mut visible = vec![false; qbs * kbs];
    let mut exact = vec![false; qbs * kbs];
    for qb in 0..qbs {
        let r0 = qb * Q_BLOCK;
        let r1 = (r0 + Q_BLOCK).min(shape.nq);
        let vis = (r0..r1).map(|i| shape.visible(i)).max().unwrap_or(0);
        let (p0, p1) = (pos(shape, r0), pos(shape, r1 - 1));
        for kb in 0..kbs {
            let (k0, k1) = (kb * K_BLOCK, ((kb + 1) * K_BLOCK).min(shape.nk));
            visible[qb * kbs + kb] = k0 < vis;
            let sink = kb == 0;
            let diagonal = k0 <= p1 && k1 > p0;
            let window = k1 > p0.saturating_sub(WINDOW) && k0 < p0;
            exact[qb * kbs + kb] = sink || diagonal || window;
        }
    }
    (qbs, kbs, visible, exact)
}

/// Per-channel f32 means (f64 sums) of `rows × d` values.
fn means(x: &[f32], d: usize) -> Vec<f32> {
    let n = (x.len() / d).max(1);
    let mut m = vec![0.0f64; d];
    for row in x.chunks(d) {
        for (a, v) in m.iter_mut().zip(row) {
            *a += *v as f64;
        }
    }
    m.iter().map(|a| (a / n as f64) as f32).collect()
}

fn centre(x: &[f32], mean: &[f32]) -> Vec<f32> {
    let d = mean.len();
    x.chunks(d)
        .flat_map(|r| r.iter().zip(mean).map(|(a, b)| a - b))
        .collect()
}

/// One head's estimate inputs (steps 1–2 of the module docs), shared by
/// the emulation and the native kernel.
struct Estimate {
    /// Centred keys.
    kc: Vec<f32>,
    /// INT4 codes and scales of the centred queries.
    q4: Vec<i8>,
    sq: Vec<f32>,
    /// INT4 codes and scales of the centred keys.
    k4: Vec<i8>,
    sk: Vec<f32>,
    /// The correction `q̄·k'_j`.
    corr: Vec<f32>,
}

impl Estimate {
    /// Head `h` of `x` (fp16 values).
    fn of(x: &Qkv, h: usize) -> Self {
        let d = x.shape.d;
        let (qh, kh) = (x.q_head(h), x.k_head(h));
        let (qm, km) = (means(qh, d), means(kh, d));
        let (qc, kc) = (centre(qh, &qm), centre(kh, &km));
        let (q4, sq) = quantize_blocks(&qc, d, Q_BLOCK, 1.0, QkQuant::Int4);
        let (k4, sk) = quantize_blocks(&kc, d, K_BLOCK, 1.0, QkQuant::Int4);
        let corr: Vec<f32> = kc.chunks(d).map(|k| dot_fma(&qm, k)).collect();
        Estimate {
            kc,
            q4,
            sq,
            k4,
            sk,
            corr,
        }
    }
}

impl Sale {
    fn kernel() -> Sage {
        Sage {
            name: "attention/sage-int8",
            description: "",
            qk: QkQuant::Int8Triton,
            pv: PvPath::Fp16,
            smooth_k: true,
        }
    }

    /// Head `h`'s selection at threshold `tau` (steps 1–4 of the module
    /// docs; `tau < 1e−5` keeps every block). `x` holds fp16 values.
    pub fn select_head(&self, x: &Qkv, h: usize, tau: f32) -> HeadSelection {
        let shape = x.shape;
        let d = shape.d;
        let (qbs, kbs, visible, exact) = geometry(shape);
        let mut kept: Vec<bool> = visible.iter().zip(&exact).map(|(v, e)| *v && *e).collect();
        if tau < DENSE_TAU {
            return HeadSelection {
                tau: 0.0,
                kept: visible.clone(),
                key_blocks: kbs,
                exact,
                visible,
            };
        }
        let qh = x.q_head(h);
        let Estimate {
            kc,
            q4,
            sq,
            k4,
            sk,
            corr,
        } = Estimate::of(x, h);
        let sc = sm_scale(d);
        let decide: Vec<Vec<bool>> = (0..qbs)
            .into_par_iter()
            .map(|qb| {
                let mut keep = vec![false; kbs];
                let r0 = qb * Q_BLOCK;
                let r1 = (r0 + Q_BLOCK).min(shape.nq);
                for i in r0..r1 {
                    let vis = shape.visible(i);
                    let qi = &qh[i * d..(i + 1) * d];
                    // Exact pass over the exact region: m_i, ℓ_i.
                    let s: Vec<(usize, f32)> = (0..vis)
                        .filter(|j| exact[qb * kbs + j / K_BLOCK])
                        .map(|j| (j, dot_fma(qi, &kc[j * d..(j + 1) * d])))
                        .collect();
                    let m = s.iter().fold(f32::NEG_INFINITY, |a, (_, v)| a.max(*v));
                    let l = s.iter().fold(0.0f32, |a, (_, v)| a + exp_f32(sc * (v - m)));
                    let thr = (l * tau).ln() / sc + m;
                    let qi4 = &q4[i * d..(i + 1) * d];
                    let sqi = sq[i / Q_BLOCK];
                    for (kb, k) in keep.iter_mut().enumerate() {
                        if *k || exact[qb * kbs + kb] {
                            continue;
                        }
                        let j1 = ((kb + 1) * K_BLOCK).min(vis);
                        *k = (kb * K_BLOCK..j1).any(|j| {
                            let kj = &k4[j * d..(j + 1) * d];
                            let dot: i32 =
                                qi4.iter().zip(kj).map(|(a, b)| *a as i32 * *b as i32).sum();
                            dot as f32 * (sqi * sk[j / K_BLOCK]) + corr[j] > thr
                        });
                    }
                }
                keep
            })
            .collect();
        for (qb, keep) in decide.iter().enumerate() {
            for (kb, k) in keep.iter().enumerate() {
                kept[qb * kbs + kb] |= *k;
            }
        }
        HeadSelection {
            tau,
            kept,
            key_blocks: kbs,
            exact,
            visible,
        }
    }

    /// Head `h`'s output (`nq × d`) with selection `sel`.
    fn head_out(&self, x: &Qkv, heads: &[Head], h: usize, sel: &HeadSelection) -> Vec<f64> {
        let kernel = Self::kernel();
        let d = x.shape.d;
        let mut out = vec![0.0; x.shape.nq * d];
        out.par_chunks_mut(d).enumerate().for_each(|(i, o)| {
            let keep = |j: usize| sel.keeps(i, j);
            kernel.row(x, &heads[h], i, Some(&keep), o)
        });
        out
    }

    /// Head `h`'s calibrated threshold against `reference` (the f64
    /// reference's output of every head).
    fn calibrated_tau(&self, x16: &Qkv, heads: &[Head], h: usize, reference: &[f64]) -> f32 {
        let (nq, d) = (x16.shape.nq, x16.shape.d);
        let r = &reference[h * nq * d..(h + 1) * nq * d];
        let mut tau = CALIB_START;
        loop {
            let sel = self.select_head(x16, h, tau);
            let out = self.head_out(x16, heads, h, &sel);
            let err: f64 = out.iter().zip(r).map(|(a, b)| (a - b).abs()).sum();
            if err < 0.4 * nq as f64 {
                return tau;
            }
            tau /= 2.0;
            if tau <= 1e-4 {
                return 0.0;
            }
        }
    }

    fn dense(&self, x: &Qkv) -> bool {
        x.shape.nk <= self.dense_below
    }

    /// The block selection of every head (dense heads keep every block).
    pub fn selection(&self, x: &Qkv) -> Selection {
        let x16 = Input::Fp16.qkv(x);
        let heads = Self::kernel().prepare(&x16);
        let reference = (self.calibrate && !self.dense(x)).then(|| F64Reference.emulate(&x16));
        Selection {
            heads: (0..x.shape.heads)
                .map(|h| {
                    let tau = match &reference {
                        _ if self.dense(x) => 0.0,
                        Some(r) => self.calibrated_tau(&x16, &heads, h, r),
                        None => self.tau,
                    };
                    self.select_head(&x16, h, tau)
                })
                .collect(),
        }
    }

    /// The output with a given selection (one per head).
    pub fn run_with(&self, x: &Qkv, sel: &Selection) -> Vec<f64> {
        let x16 = Input::Fp16.qkv(x);
        let heads = Self::kernel().prepare(&x16);
        (0..x.shape.heads)
            .flat_map(|h| self.head_out(&x16, &heads, h, &sel.heads[h]))
            .collect()
    }

    /// Counts for `shape` when the kept (Q block, key block) pairs hold
    /// `kept_pairs` visible query–key pairs over all heads: the selection
    /// ([`Self::selection_cost`]) plus `sage-int8`'s cost scaled to the kept
    /// pairs (its per-pair operations and on-chip bytes; slow-memory bytes
    /// stay the dense kernel's: every K/V block may be read).
    pub fn cost_with(&self, shape: AttnShape, kept_pairs: f64) -> Cost {
        let dense = cost::cost(&Self::kernel().info(), shape);
        let f = if shape.pairs() > 0.0 {
            kept_pairs / shape.pairs()
        } else {
            1.0
        };
        let mut c = Cost {
            macs: dense.macs * f,
            ops: dense.ops.iter().map(|(k, n)| (*k, n * f)).collect(),
            sram_bytes: dense.sram_bytes * f,
            dram_bytes: dense.dram_bytes,
        };
        if shape.nk > self.dense_below {
            let s = self.selection_cost(shape);
            for (k, n) in s.ops {
                c.add(k, n);
            }
            c.sram_bytes += s.sram_bytes;
            c.dram_bytes += s.dram_bytes;
        }
        c
    }

    /// The selection's own counts for `shape` (`macs` left 0: it is
    /// overhead, not attention):
    /// - centring: `(nq + nk)·d` f32 adds (the means' sums) and as many
    ///   subtracts; correction `nk·d` f32 FMAs (a mul and an add);
    /// - INT4 quantization: `(nq + nk)·d` f32 multiplies (by 7/amax) and
    ///   compares (the amax, counted as adds);
    /// - the estimate: every visible pair outside the exact region, `d`
    ///   INT4 multiplies and int32 adds, then 2 f32 multiplies (scales), an
    ///   add (correction) and a compare (the threshold);
    /// - the exact pass: every visible pair in the exact region, `d` fp16
    ///   multiplies and f32 adds, one exponential, a subtract, a compare
    ///   and an add; per row one logarithm (counted as an exponential),
    ///   a multiply, a divide and an add (the threshold);
    /// - bytes: the INT4 codes of Q and K written and read once, and every
    ///   estimated pair's K codes read on-chip (`d/2` bytes).
    pub fn selection_cost(&self, shape: AttnShape) -> Cost {
        let (est, ex) = pair_split(shape);
        let h = shape.heads as f64;
        let d = shape.d as f64;
        let rows = h * shape.nq as f64;
        let toks = h * (shape.nq + shape.nk) as f64;
        let mut c = Cost::default();
        let (mul, add) = (OpKind::F32_MUL, OpKind::F32_ADD);
        c.add(add, 2.0 * toks * d + h * shape.nk as f64 * d);
        c.add(mul, h * shape.nk as f64 * d + toks * d);
        c.add(add, toks * d);
        c.add(OpKind::IntMul { a: 4, b: 4 }, est * d);
        c.add(OpKind::IntAdd { bits: 32 }, est * d);
        c.add(mul, 2.0 * est);
        c.add(add, 2.0 * est);
        c.add(
            OpKind::FpMul {
                ebits: 5,
                mbits: 10,
            },
            ex * d,
        );
        c.add(add, ex * d + 3.0 * ex);
        let exps = ex + rows;
        c.add(mul, exps * cost::EXP_OPS.0 + 2.0 * rows);
        c.add(add, exps * cost::EXP_OPS.1 + rows);
        c.dram_bytes = toks * d; // d/2 bytes per token, written then read
        c.sram_bytes = est * d / 2.0;
        c
    }
}

/// SALE's native kernel (module docs): the same bits as
/// [`Sale`]'s emulation at every ISA level.
pub struct NativeSale(Sale);

impl NativeSale {
    /// The native kernel of `sale` (its threshold `tau`; `calibrate` is
    /// not read).
    pub fn new(sale: Sale) -> Self {
        NativeSale(sale)
    }

    /// Every head's kept blocks as the kernel selects them at `level`
    /// (equal to [`Sale::selection`]'s `HeadSelection::kept` on the sparse
    /// path, `nk > dense_below` and `τ ≥ 1e−5`), for tests and for timing
    /// the selection apart.
    pub fn kept_blocks(&self, x: &Qkv, level: crate::isa::IsaLevel) -> Vec<Vec<bool>> {
        self.kept(&Input::Fp16.qkv(x), level).0
    }

    /// Every head's kept blocks (`HeadSelection::kept`), by the kernel.
    fn kept(&self, x16: &Qkv, level: crate::isa::IsaLevel) -> (Vec<Vec<bool>>, usize) {
        let shape = x16.shape;
        let (_, kbs, visible, exact) = geometry(shape);
        let est: Vec<Estimate> = (0..shape.heads)
            .into_par_iter()
            .map(|h| Estimate::of(x16, h))
            .collect();
        let views: Vec<SaleHead> = est
            .iter()
            .enumerate()
            .map(|(h, e)| SaleHead {
                q: x16.q_head(h),
                kc: &e.kc,
                q4: &e.q4,
                sq: &e.sq,
                k4: &e.k4,
                sk: &e.sk,
                corr: &e.corr,
            })
            .collect();
        let blocks = SaleBlocks {
            q_block: Q_BLOCK,
            k_block: K_BLOCK,
            tau: self.0.tau,
            sc: sm_scale(shape.d),
        };
        let chosen = sale_select(&views, super::exact::dims(x16), blocks, &exact, level);
        let kept = chosen
            .iter()
            .map(|c| {
                c.iter()
                    .zip(visible.iter().zip(&exact))
                    .map(|(c, (v, e))| (*v && *e) || *c)
                    .collect()
            })
            .collect();
        (kept, kbs)
    }
}

impl NativeAttention for NativeSale {
    fn run_at(&self, x: &Qkv, level: crate::isa::IsaLevel) -> Vec<f64> {
        let x16 = Input::Fp16.qkv(x);
        let kernel = Sale::kernel();
        let heads = kernel.prepare(&x16);
        let dims = super::exact::dims(x);
        let blocks = kernel.kernel_blocks();
        if self.0.dense(x) || self.0.tau < DENSE_TAU || x.shape.d == 0 {
            // Every visible block kept: the dense kernel's bits.
            return sage(&views(&heads), dims, blocks, level);
        }
        let (kept, kbs) = self.kept(&x16, level);
        let masks: Vec<SageMask> = kept
            .iter()
            .map(|k| SageMask {
                kept: k,
                q_block: Q_BLOCK,
                k_block: K_BLOCK,
                key_blocks: kbs,
            })
            .collect();
        sage_masked(&views(&heads), Some(&masks), dims, blocks, level)
    }

    fn base(&self) -> Base {
        Base::Int8Dot
    }

    /// The blocked `vpdpbusd` kernels run at the AVX-512 level (with VNNI).
    fn top_isa(&self) -> crate::isa::IsaLevel {
        crate::isa::IsaLevel::Avx512
    }
}

/// Visible pairs outside and inside the exact region, over all heads.
pub fn pair_split(shape: AttnShape) -> (f64, f64) {
    let (_, kbs, _, exact) = geometry(shape);
    let (mut est, mut ex) = (0usize, 0usize);
    for i in 0..shape.nq {
        let qb = i / Q_BLOCK;
        let vis = shape.visible(i);
        for kb in 0..kbs {
            let n = ((kb + 1) * K_BLOCK).min(vis).saturating_sub(kb * K_BLOCK);
            if exact[qb * kbs + kb] {
                ex += n;
            } else {
                est += n;
            }
        }
    }
    let h = shape.heads as f64;
    (h * est as f64, h * ex as f64)
}

impl AttentionVariant for Sale {
    /// Timed whole: its work is not the same per visible pair at every N.
    fn emulation_scales_by_rows(&self) -> bool {
        false
    }

    fn info(&self) -> AttentionInfo {
        let mut info = Self::kernel().info();
        info.name = self.name;
        info.description = self.description;
        info.qk_desc = "int4 centred Q/K estimate (64-row / 32-key blocks) selects 32-key blocks; kept blocks int8 Q/128, K/64 (sage-int8)";
        info.accumulator = "int32 QK; PV fp16 in each 64-key tile, f32 across (kept keys only)";
        info
    }

    fn emulate(&self, x: &Qkv) -> Vec<f64> {
        self.run_with(x, &self.selection(x))
    }

    /// The selection and the masked `sage-int8` kernel (module docs);
    /// `None` when calibrating.
    fn native(&self) -> Option<Box<dyn NativeAttention>> {
        (!self.calibrate).then(|| Box::new(NativeSale(self.clone())) as Box<dyn NativeAttention>)
    }

    /// `sage-int8`'s scores for every visible key (the skipped keys' mass
    /// is reported by [`AttentionVariant::coverage`], not as −∞ here, which
    /// would make every KL infinite).
    fn scores(&self, x: &Qkv) -> Vec<f64> {
        Self::kernel().scores(x)
    }

    fn coverage(&self, x: &Qkv) -> Option<Vec<bool>> {
        let sel = self.selection(x);
        let (nq, nk) = (x.shape.nq, x.shape.nk);
        let mut out = vec![false; x.shape.heads * nq * nk];
        for (h, hs) in sel.heads.iter().enumerate() {
            for i in 0..nq {
                for j in 0..x.shape.visible(i) {
                    out[(h * nq + i) * nk + j] = hs.keeps(i, j);
                }
            }
        }
        Some(out)
    }

    /// Dense (`sage-int8` at every pair) plus the selection (the worst
    /// case: no block skipped); [`AttentionVariant::cost_on`] counts the
    /// pairs a given input keeps.
    fn cost(&self, shape: AttnShape) -> Cost {
        self.cost_with(shape, shape.pairs())
    }

    fn cost_on(&self, x: &Qkv) -> Cost {
        let sel = self.selection(x);
        let mut kept = 0usize;
        for hs in &sel.heads {
            for i in 0..x.shape.nq {
                kept += (0..x.shape.visible(i)).filter(|&j| hs.keeps(i, j)).count();
            }
        }
        self.cost_with(x.shape, kept as f64)
    }
}

/// The variants of this file, in display order.
pub fn all() -> Vec<Box<dyn AttentionVariant>> {
    vec![Box::new(Sale {
        name: "attention/sale",
        description: "SALE (BirdChristopher/SALE): INT4 centred Q/K estimate + correction selects 32-key blocks per 64-row Q block by relative attention score > τ=0.004; sink, diagonal and 128-token window always kept; kept blocks through sage-int8 (exact pass on centred keys, its output not kept); dense at ≤ 1024 keys; native: int4 estimate on vpdpbusd/vpmaddwd, kept blocks through the masked sage-int8 kernel",
        tau: 0.004,
        calibrate: false,
        dense_below: DENSE_BELOW,
    })]
}
