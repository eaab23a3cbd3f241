//! Attention whose two matmuls run through registered matmul variants:
//! FP8 E4M3, MXFP8, MXFP4, NVFP4 and L-Mul (bf16, e4m3). Each reuses the
//! matmul variant's quantizers and kernel, so a format means the same here
//! as in `matmul/*`.
//!
//! Per head: `S = mm(Q, K)` (Q as the activations `nq × d`, K as the
//! weights `nk × d`: scales per token of Q, per key, or per block along d,
//! as the matmul variant's operands have them); `s = f32(S) · sc`
//! (sc = [`super::sm_scale`]), masked pairs −∞; the softmax in f32 as
//! naive attention ([`super::exact`]): `p = exp(s − m) / ℓ`, masked p = 0;
//! `O = mm(P, Vᵀ)` (P as activations `nq × nk`, Vᵀ as weights `d × nk`:
//! blocks run along the keys). The output is the matmul's f32 result.

use super::info::{AttentionInfo, Ops, ScaleGroup, Schedule, Softmax, Storage};
use super::{sm_scale, AttentionVariant, Qkv};
use crate::arith::exp::exp_f32;
use crate::hw::cost::OpKind;
use crate::tensor::Matrix;
use crate::variants::{self, MatmulVariant};

/// Attention through one matmul variant for both products.
pub struct ViaMatmul {
    /// Registry name.
    pub name: &'static str,
    /// Description.
    pub description: &'static str,
    /// The matmul variant both products run through.
    pub matmul: &'static str,
    /// Q/K and P/V description.
    pub desc: &'static str,
    /// Accumulator description.
    pub accumulator: &'static str,
    /// How K and V are stored (and Q).
    pub storage: Storage,
    /// Multiply and add kinds of one term.
    pub ops: (OpKind, OpKind),
}

impl ViaMatmul {
    fn mm(&self) -> Box<dyn MatmulVariant> {
        variants::find(self.matmul).expect("attention registry names a registered matmul variant")
    }

    fn head_scores(&self, mm: &dyn MatmulVariant, x: &Qkv, h: usize) -> Vec<f32> {
        let AttnShapeDims { nq, nk, d } = dims(x);
        let q = Matrix::new(nq, d, x.q_head(h).to_vec());
        let k = Matrix::new(nk, d, x.k_head(h).to_vec());
        let s = mm.emulate(&q, &k, 0);
        let sc = sm_scale(d);
        let mut out = vec![f32::NEG_INFINITY; nq * nk];
        for i in 0..nq {
            for j in 0..x.shape.visible(i) {
                out[i * nk + j] = s[i * nk + j] as f32 * sc;
            }
        }
        out
    }
}

struct AttnShapeDims {
    nq: usize,
    nk: usize,
    d: usize,
}

fn dims(x: &Qkv) -> AttnShapeDims {
    AttnShapeDims {
        nq: x.shape.nq,
        nk: x.shape.nk,
        d: x.shape.d,
    }
}

impl AttentionVariant for ViaMatmul {
    fn info(&self) -> AttentionInfo {
        AttentionInfo {
            name: self.name,
            description: self.description,
            qk_desc: self.desc,
            pv_desc: self.desc,
            accumulator: self.accumulator,
            q: self.storage,
            k: self.storage,
            v: self.storage,
            o_bits: 32,
            schedule: Schedule::Standard,
            ops: Ops {
                qk_mul: self.ops.0,
                qk_add: self.ops.1,
                pv_mul: self.ops.0,
                pv_add: self.ops.1,
                softmax: Softmax::F32,
            },
        }
    }

    fn emulate(&self, x: &Qkv) -> Vec<f64> {
        let mm = self.mm();
        let AttnShapeDims { nq, nk, d } = dims(x);
        let mut out = Vec::with_capacity(x.shape.heads * nq * d);
        for h in 0..x.shape.heads {
            let mut p = self.head_scores(&*mm, x, h);
            for row in p.chunks_mut(nk) {
                let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
                let mut l = 0.0f32;
                for v in row.iter_mut() {
                    *v = exp_f32(*v - m);
                    l += *v;
                }
                for v in row.iter_mut() {
                    *v /= l;
                }
            }
            let pm = Matrix::new(nq, nk, p);
            let vt = Matrix::new(nk, d, x.v_head(h).to_vec()).transpose();
            out.extend(mm.emulate(&pm, &vt, 0));
        }
        out
    }

    fn scores(&self, x: &Qkv) -> Vec<f64> {
        let mm = self.mm();
        (0..x.shape.heads)
            .flat_map(|h| self.head_scores(&*mm, x, h))
            .map(|s| s as f64)
            .collect()
    }
}

/// The variants of this file, in display order.
pub fn all() -> Vec<Box<dyn AttentionVariant>> {
    let f32add = OpKind::F32_ADD;
    let e4m3mul = OpKind::FpMul { ebits: 4, mbits: 3 };
    let e2m1mul = OpKind::FpMul { ebits: 2, mbits: 1 };
    let st = |bits, scale_bits, group| Storage {
        bits,
        scale_bits,
        group,
    };
    let v =
        |name, description, matmul, desc, accumulator, storage, ops| -> Box<dyn AttentionVariant> {
            Box::new(ViaMatmul {
                name,
                description,
                matmul,
                desc,
                accumulator,
                storage,
                ops,
            })
        };
    vec![
        v("attention/fp8-e4m3",
          "QKᵀ and PV as matmul/fp8-e4m3 (per-tensor f32 scales, exact products, f32 acc), f32 softmax",
          "matmul/fp8-e4m3", "e4m3, per-tensor f32 scale", "f32",
          st(8, 32, ScaleGroup::Tensor), (e4m3mul, f32add)),
        v("attention/mxfp8",
          "QKᵀ and PV as matmul/mxfp8 (E4M3 blocks of 32 along d / along keys, E8M0 scales), f32 softmax",
          "matmul/mxfp8", "mxfp8 (e4m3, 32, e8m0)", "f32 per block, f32 acc",
          st(8, 8, ScaleGroup::Block(32)), (e4m3mul, f32add)),
        v("attention/mxfp4",
          "QKᵀ and PV as matmul/mxfp4 (E2M1 blocks of 32, E8M0 scales), f32 softmax",
          "matmul/mxfp4", "mxfp4 (e2m1, 32, e8m0)", "f32 per block, f32 acc",
          st(4, 8, ScaleGroup::Block(32)), (e2m1mul, f32add)),
        v("attention/nvfp4",
          "QKᵀ and PV as matmul/nvfp4 (E2M1 blocks of 16, E4M3 scales + f32 tensor scale), f32 softmax",
          "matmul/nvfp4", "nvfp4 (e2m1, 16, e4m3)", "f32 per block, f32 acc",
          st(4, 8, ScaleGroup::Block(16)), (e2m1mul, f32add)),
        v("attention/lmul-bf16",
          "every QKᵀ and PV product by L-Mul (carry) on bf16 (matmul/lmul-carry-bf16), f32 sums, f32 softmax",
          "matmul/lmul-carry-bf16", "bf16, L-Mul (carry) products", "f32",
          st(16, 0, ScaleGroup::None), (OpKind::IntAdd { bits: 15 }, f32add)),
        v("attention/lmul-e4m3",
          "every QKᵀ and PV product by L-Mul (carry) on e4m3 (matmul/lmul-carry-e4m3, per-tensor scales), f32 softmax",
          "matmul/lmul-carry-e4m3", "e4m3 per-tensor, L-Mul (carry) products", "f32",
          st(8, 32, ScaleGroup::Tensor), (OpKind::IntAdd { bits: 8 }, f32add)),
    ]
}
