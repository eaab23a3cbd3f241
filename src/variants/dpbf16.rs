//! `matmul/bf16-dpbf16`: a bf16 GEMM as an AVX-512 BF16 kernel computes it,
//! on `vdpbf16ps` ([`crate::arith::dpbf16`] gives the instruction's
//! semantics and the sources they come from).
//!
//! The model of one output `out[i, j]`:
//! - both operands are rounded RNE to bf16 as the other bf16 variants round
//!   them ([`OperandSpec::Cast`]: bf16 subnormals kept), then the
//!   instruction reads subnormal codes as zeros (DAZ). (VCVTNEPS2BF16
//!   would instead flush f32 subnormal activations before rounding; the two
//!   differ only for f32 inputs in `[2^−126 − 2^−134, 2^−126)`, which round up to
//!   the smallest normal bf16 here);
//! - one f32 lane accumulates all of K, from +0, one instruction per K pair
//!   `(k, k + 1)` in K order; each instruction is two fused steps, `k + 1`
//!   first, each one RNE rounding with DAZ in and FTZ out;
//! - an odd K is padded with one +0 element on both sides (the last
//!   instruction's first step adds `+0 · +0`);
//! - the f32 lane is the output (no scales).
//!
//! It differs from `matmul/bf16` (exact products, one f32 add per product in
//! K order) in the order within each pair, in fusing (a product below
//! 2^−126 or above 2^128 enters the sum exactly) and in flushing subnormal
//! inputs and results.
//!
//! Native kernel: [`Dpbf16Kernel`] (AVX-512 BF16 where detected, else an
//! AVX2 FMA path for tiles whose products provably never leave the normal
//! range, and the unit itself for the rest). Cost: as `matmul/bf16` (a bf16
//! multiply and an f32 add per MAC, the same bytes).

use super::info::{Family, VariantInfo};
use super::operand::OperandSpec;
use super::packed::{PackedNative, Packer};
use super::quant_matmul::{Datapath, QuantMatmul};
use super::{MatmulVariant, NativeMatmul, Shape};
use crate::arith::dpbf16;
use crate::formats::parse::BF16;
use crate::hw::cost::{Cost, OpKind};
use crate::isa::IsaLevel;
use crate::kernels::dpbf16::Dpbf16Kernel;
use crate::kernels::Base;
use crate::tensor::{Matrix, Values};
use rayon::prelude::*;

/// The accumulator column of `bitsim variants list`.
const ACCUMULATOR: &str = "f32 lane, vdpbf16ps pairs (odd, even), DAZ/FTZ";

/// A bf16 matmul on `vdpbf16ps` (see the module doc).
#[derive(Debug, Clone)]
pub struct Dpbf16Matmul {
    /// Name, description, quantizers (RNE bf16 casts) and cost counting.
    pub spec: QuantMatmul,
}

/// The bf16 codes of a cast operand (its values are bf16 values, so the
/// code is the high half of the f32 pattern).
fn codes(spec: &OperandSpec, x: &Matrix) -> Vec<u16> {
    match spec.quantize(x, false).values {
        Values::F32(v) => v.iter().map(|x| (x.to_bits() >> 16) as u16).collect(),
        _ => unreachable!("a bf16 cast quantizes to f32 values"),
    }
}

impl MatmulVariant for Dpbf16Matmul {
    fn info(&self) -> VariantInfo {
        VariantInfo::of_operands(
            (self.spec.name, Family::Accumulator, self.spec.description),
            &self.spec.weight,
            &self.spec.act,
            ACCUMULATOR.into(),
        )
    }

    fn quantize_weights(&self, w: &Matrix) -> Matrix {
        self.spec.quantize_weights(w)
    }

    /// Deterministic (RNE everywhere), so `seed` is unused.
    fn emulate(&self, a: &Matrix, w: &Matrix, _seed: u64) -> Vec<f64> {
        assert_eq!(
            a.cols, w.cols,
            "{}: A is m×k and W is n×k with the same k",
            self.spec.name
        );
        let (k, n) = (a.cols, w.rows);
        let ca = codes(&self.spec.act, a);
        let cw = codes(&self.spec.weight, w);
        let mut out = vec![0f64; a.rows * n];
        if k == 0 {
            return out;
        }
        out.par_chunks_mut(n.max(1))
            .zip(ca.par_chunks(k))
            .for_each(|(row, ar)| {
                for (o, wr) in row.iter_mut().zip(cw.chunks(k)) {
                    *o = dpbf16::dot(ar, wr) as f64;
                }
            });
        out
    }

    fn cost(&self, shape: Shape) -> Cost {
        self.spec.cost(shape)
    }

    fn native(&self) -> Option<Box<dyn NativeMatmul>> {
        Some(Box::new(PackedNative::new(
            self.spec.name,
            Dpbf16Packer {
                weight: self.spec.weight,
            },
        )))
    }
}

/// The packing of the native kernel: the variant's own weight cast.
#[derive(Debug, Clone)]
pub struct Dpbf16Packer {
    weight: OperandSpec,
}

impl Packer for Dpbf16Packer {
    type Kernel = Dpbf16Kernel;

    fn pack(&self, w: &Matrix) -> Dpbf16Kernel {
        let Values::F32(v) = self.weight.quantize(w, false).values else {
            unreachable!("a bf16 cast quantizes to f32 values")
        };
        Dpbf16Kernel::pack(&v, w.rows, w.cols)
    }

    /// `vdpbf16ps` where the CPU (under the ISA cap) has AVX-512 BF16; else
    /// the AVX2 path's `vfmadd231ps` on widened bf16.
    fn base(&self) -> Base {
        if crate::isa::active().avx512bf16 {
            Base::Bf16Dot
        } else {
            Base::F32Fma
        }
    }

    /// AVX-512 has its own path where the CPU has AVX-512 BF16 (others run the AVX2 code).
    fn top_isa(&self) -> IsaLevel {
        IsaLevel::Avx512
    }
}

/// The variants of this family, in display order.
pub fn all() -> Vec<Box<dyn MatmulVariant>> {
    let bf16 = OperandSpec::Cast(BF16);
    vec![Box::new(Dpbf16Matmul {
        spec: QuantMatmul {
            name: "matmul/bf16-dpbf16",
            description: "AVX-512 BF16 vdpbf16ps: RNE bf16 inputs, one f32 lane per output, per k pair fma(k+1) then fma(k), RNE, DAZ in / FTZ out",
            weight: bf16,
            act: bf16,
            datapath: Datapath::F32Fused,
            mul: OpKind::mul_of(&crate::formats::ElementFormat::Float(BF16)),
            add: OpKind::F32_ADD,
        },
    })]
}
