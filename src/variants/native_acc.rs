//! Native kernels of two kernel-shaped variants whose registers are not
//! plain f32 sums of rounded products:
//! - [`Fp16AccPacker`]: `matmul/fp16-acc-fp16` (fp16 operands, an fp16
//!   register rounding RNE after every add) on [`Fp16AccKernel`];
//! - [`LmulPacker`]: `matmul/lmul-carry-bf16` (bf16 operands, L-Mul products,
//!   f32 sum in K order) on [`LmulKernel`].
//!
//! Each packs the weights once with the variant's own quantizer (an RNE
//! cast) and leaves the activation cast to the kernel.

use super::operand::OperandSpec;
use super::packed::{PackedNative, Packer};
use crate::arith::accum::{AccumSpec, Order, Product};
use crate::arith::lmul::LmulUnit;
use crate::formats::parse::{BF16, FP16};
use crate::formats::MiniFloat;
use crate::kernels::fp16acc::Fp16AccKernel;
use crate::kernels::lmul::LmulKernel;
use crate::kernels::Base;
use crate::tensor::{Matrix, Values};

/// The f32 values of `w` cast to `format` (RNE).
fn cast_values(format: MiniFloat, w: &Matrix) -> Vec<f32> {
    match OperandSpec::Cast(format).quantize(w, false).values {
        Values::F32(v) => v,
        _ => unreachable!("a cast quantizes to f32 values"),
    }
}

/// The packing of `matmul/fp16-acc-fp16`'s native kernel.
#[derive(Debug, Clone)]
pub struct Fp16AccPacker;

impl Fp16AccPacker {
    /// The kernel for an accumulator variant, if both operands are RNE fp16
    /// casts and its spec is `acc=fp16` (RNE, inf on overflow) with exact
    /// products in sequential order.
    pub fn of(
        name: &'static str,
        weight: &OperandSpec,
        act: &OperandSpec,
        spec: &AccumSpec,
    ) -> Option<PackedNative<Fp16AccPacker>> {
        let fp16: AccumSpec = "acc=fp16".parse().ok()?;
        let ok = *weight == OperandSpec::Cast(FP16)
            && *act == OperandSpec::Cast(FP16)
            && spec.acc == fp16.acc
            && spec.order == Order::Sequential
            && spec.product == Product::Exact;
        ok.then(|| PackedNative::new(name, Fp16AccPacker))
    }
}

impl Packer for Fp16AccPacker {
    type Kernel = Fp16AccKernel;

    fn pack(&self, w: &Matrix) -> Fp16AccKernel {
        Fp16AccKernel::pack(&cast_values(FP16, w), w.rows, w.cols)
    }

    /// One f32 multiply and one (exactly rounded) add per MAC: the
    /// multiply-then-add peak is the ceiling a CPU without fp16 arithmetic
    /// has for it.
    fn base(&self) -> Base {
        Base::F32MulAdd
    }
}

/// The packing of `matmul/lmul-carry-bf16`'s native kernel.
#[derive(Debug, Clone)]
pub struct LmulPacker {
    unit: LmulUnit,
}

impl LmulPacker {
    /// The kernel for an L-Mul variant, if both operands are RNE bf16 casts,
    /// the unit is bf16 `lmul-carry` and the accumulator is f32 sequential
    /// (`f32_sequential`: the caller checks its accumulator's kind).
    pub fn of(
        name: &'static str,
        unit: &LmulUnit,
        weight: &OperandSpec,
        act: &OperandSpec,
        f32_sequential: bool,
    ) -> Option<PackedNative<LmulPacker>> {
        let ok = f32_sequential
            && *weight == OperandSpec::Cast(BF16)
            && *act == OperandSpec::Cast(BF16)
            && LmulKernel::supports(unit);
        ok.then(|| PackedNative::new(name, LmulPacker { unit: *unit }))
    }
}

impl Packer for LmulPacker {
    type Kernel = LmulKernel;

    fn pack(&self, w: &Matrix) -> LmulKernel {
        LmulKernel::pack(self.unit, &cast_values(BF16, w), w.rows, w.cols)
    }

    fn base(&self) -> Base {
        Base::LmulAdd
    }
}
