//! `attention/flash-dpbf16`: FlashAttention's tiled online softmax as a CPU
//! kernel built on AVX-512 BF16 computes it (oneDNN's bf16 attention):
//! Q·Kᵀ and P·V on `vdpbf16ps` ([`crate::arith::dpbf16`] models one lane of
//! it bit-exactly and cites the instruction's definition).
//!
//! # The order of every rounding
//!
//! Q, K and V are rounded RNE to bf16 (as `attention/flash-bf16` rounds
//! them; bf16 subnormals are kept, the instruction then reads them as zeros).
//! For query row `i` of head `h`, `sc` = [`super::sm_scale`], key `j`
//! visible to `i`:
//!
//! ```text
//! s_j = dpbf16::dot(q_i, k_j) · sc     one f32 lane from +0, one instruction per
//!                                      channel pair (2u, 2u+1) in channel order, each
//!                                      two fused steps (channel 2u+1 first), RNE,
//!                                      DAZ in / FTZ out; an odd d padded with one
//!                                      +0 channel on both sides; then one f32 multiply
//! per tile of Bc = 64 keys [t0, t1) in order (t1 ≤ the row's visible count):
//!   m' = max(m, max_j s_j);  α = exp(m − m');  p_j = exp(s_j − m')
//!   r = Σ_j p_j (f32, key order, from +0);  ℓ = ℓ·α + r;  a_c = a_c·α (f32)
//!   P_j = bf16 RNE of p_j (what a bf16 kernel feeds vdpbf16ps; ℓ sums the f32 p)
//!   for each key pair (t0+2w, t0+2w+1) of the tile, in order:
//!     a_c = instruction(a_c, [P_{t0+2w}, P_{t0+2w+1}], [v_{t0+2w,c}, v_{t0+2w+1,c}])
//!     (key t0+2w+1 first, then t0+2w; a tile with an odd key count pads its last
//!     pair with P = +0 and v = +0, whose +0·+0 step still runs)
//! o_c = bf16 RNE of (a_c / ℓ)
//! ```
//!
//! `exp` is [`crate::arith::exp::exp_f32`]; m starts at −∞ (α = 0 on the
//! first tile) and a tile whose max is −∞ is skipped, as in
//! [`super::exact::flash_row`]. Tiles start at multiples of 64, so key pairs
//! are always (even, odd) keys of the head.
//!
//! Native kernel: `kernels::attention::flash_dpbf16` where the CPU (under
//! the ISA cap) has AVX-512 BF16; elsewhere the variant's native path is
//! this emulation (there is no cheaper exact way to run the instruction's
//! steps).

use super::exact::{dims, online_softmax_tiles, Input, RowState};
use super::info::{AttentionInfo, Ops, Schedule, Softmax, Storage};
use super::{per_row, per_score_row, sm_scale, AttentionVariant, NativeAttention, Qkv};
use crate::arith::dpbf16;
use crate::hw::cost::OpKind;
use crate::isa::IsaLevel;
use crate::kernels::attention::flash_dpbf16;
use crate::kernels::Base;
use half::bf16;

/// Keys per tile (the native kernel's four 16-key blocks).
pub const B_C: usize = 64;

/// bf16 codes of values that are already bf16 (the high half of the f32).
fn codes(x: &[f32]) -> Vec<u16> {
    x.iter().map(|v| (v.to_bits() >> 16) as u16).collect()
}

/// Q, K, V rounded RNE to bf16, as codes (`heads × n × d` each).
pub struct Codes {
    /// Q codes.
    pub q: Vec<u16>,
    /// K codes.
    pub k: Vec<u16>,
    /// V codes.
    pub v: Vec<u16>,
}

impl Codes {
    /// The codes of `x` rounded to bf16.
    pub fn of(x: &Qkv) -> Codes {
        let r = Input::Bf16.qkv(x);
        Codes {
            q: codes(&r.q),
            k: codes(&r.k),
            v: codes(&r.v),
        }
    }
}

/// Row `i` of head `h`'s f32 scores (masked keys −∞): the module doc's `s_j`.
fn scores_row(c: &Codes, x: &Qkv, h: usize, i: usize, out: &mut [f32]) {
    let s = x.shape;
    let (d, sc) = (s.d, sm_scale(s.d));
    let q = &c.q[(h * s.nq + i) * d..][..d];
    let k = &c.k[h * s.nk * d..][..s.nk * d];
    let vis = s.visible(i);
    for (j, o) in out.iter_mut().enumerate() {
        *o = if j < vis {
            dpbf16::dot(q, &k[j * d..(j + 1) * d]) * sc
        } else {
            f32::NEG_INFINITY
        };
    }
}

/// The module doc's online softmax over keys `[0, vis)` of one row, its
/// P·V on `vdpbf16ps` key pairs. `v` is the head's V codes (`nk × d`).
fn row(s: &[f32], v: &[u16], d: usize, vis: usize, st: &mut RowState) {
    online_softmax_tiles(s, (0, vis), B_C, st, |t0, p, acc| {
        let n = p.len();
        let bits = |w: usize| bf16::from_f32(p[w]).to_bits();
        for w in (0..n).step_by(2) {
            let j = t0 + w;
            let odd = w + 1 < n;
            let pp = [bits(w), if odd { bits(w + 1) } else { 0 }];
            for (c, a) in acc.iter_mut().enumerate() {
                let vv = [v[j * d + c], if odd { v[(j + 1) * d + c] } else { 0 }];
                *a = dpbf16::instruction(*a, pp, vv);
            }
        }
    });
}

/// `attention/flash-dpbf16` (see the module doc).
pub struct FlashDpbf16;

impl FlashDpbf16 {
    /// The emulation on codes already made.
    fn emulate_codes(c: &Codes, x: &Qkv) -> Vec<f64> {
        let (d, nk) = (x.shape.d, x.shape.nk);
        per_row(x.shape, |h, i, o| {
            let mut s = vec![0.0f32; nk];
            scores_row(c, x, h, i, &mut s);
            let mut st = RowState {
                m: f32::NEG_INFINITY,
                l: 0.0,
                acc: vec![0.0; d],
            };
            let v = &c.v[h * nk * d..][..nk * d];
            row(&s, v, d, x.shape.visible(i), &mut st);
            for (a, b) in o.iter_mut().zip(&st.acc) {
                *a = bf16::from_f32(b / st.l).to_f32() as f64;
            }
        })
    }
}

impl AttentionVariant for FlashDpbf16 {
    fn info(&self) -> AttentionInfo {
        let bf = OpKind::FpMul { ebits: 8, mbits: 7 };
        AttentionInfo {
            name: "attention/flash-dpbf16",
            description: "FlashAttention on AVX-512 BF16 (oneDNN-style): bf16 Q/K/V, QKᵀ and PV by vdpbf16ps (channel / key pairs, odd first, RNE per step, DAZ/FTZ), f32 online softmax, P cast to bf16 for PV as a bf16 kernel feeds it, 64-key tiles",
            qk_desc: "bf16 (RNE), vdpbf16ps channel pairs",
            pv_desc: "P bf16 (RNE), V bf16, vdpbf16ps key pairs",
            accumulator: "f32 lane (vdpbf16ps, DAZ/FTZ), online softmax in f32",
            q: Storage::plain(16),
            k: Storage::plain(16),
            v: Storage::plain(16),
            o_bits: 16,
            schedule: Schedule::Flash { b_c: B_C, b_r: 64 },
            ops: Ops {
                qk_mul: bf,
                qk_add: OpKind::F32_ADD,
                pv_mul: bf,
                pv_add: OpKind::F32_ADD,
                softmax: Softmax::F32,
            },
        }
    }

    fn emulate(&self, x: &Qkv) -> Vec<f64> {
        Self::emulate_codes(&Codes::of(x), x)
    }

    fn scores(&self, x: &Qkv) -> Vec<f64> {
        let c = Codes::of(x);
        per_score_row(x.shape, |h, i, o| {
            let mut s = vec![0.0f32; x.shape.nk];
            scores_row(&c, x, h, i, &mut s);
            for (a, b) in o.iter_mut().zip(&s) {
                *a = *b as f64;
            }
        })
    }

    /// [`crate::kernels::attention::flash_dpbf16`] where AVX-512 BF16 runs;
    /// the emulation elsewhere.
    fn native(&self) -> Option<Box<dyn NativeAttention>> {
        Some(Box::new(NativeDpbf16))
    }
}

/// The native kernel of `attention/flash-dpbf16`.
pub struct NativeDpbf16;

impl NativeAttention for NativeDpbf16 {
    fn run_at(&self, x: &Qkv, level: IsaLevel) -> Vec<f64> {
        let c = Codes::of(x);
        flash_dpbf16(&c.q, &c.k, &c.v, dims(x), level)
            .unwrap_or_else(|| FlashDpbf16::emulate_codes(&c, x))
    }

    fn base(&self) -> Base {
        Base::Bf16Dot
    }

    /// AVX-512 (with BF16); every lower level runs the emulation.
    fn top_isa(&self) -> IsaLevel {
        IsaLevel::Avx512
    }
}

/// The variants of this file.
pub fn all() -> Vec<Box<dyn AttentionVariant>> {
    vec![Box::new(FlashDpbf16)]
}
