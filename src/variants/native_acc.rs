//! Native kernels of two kernel-shaped variants whose registers are not
//! plain f32 sums of rounded products:
//! - [`NativeFp16Acc`]: `matmul/fp16-acc-fp16` (fp16 operands, an fp16
//!   register rounding RNE after every add) on [`Fp16AccKernel`];
//! - [`NativeLmul`]: `matmul/lmul-carry-bf16` (bf16 operands, L-Mul products,
//!   f32 sum in K order) on [`LmulKernel`].
//!
//! Each packs the weights once with the variant's own quantizer (an RNE
//! cast) and leaves the activation cast to the kernel.

use super::operand::OperandSpec;
use super::NativeMatmul;
use crate::arith::accum::{AccumSpec, Order, Product};
use crate::arith::lmul::LmulUnit;
use crate::formats::parse::{BF16, FP16};
use crate::isa::IsaLevel;
use crate::kernels::fp16acc::Fp16AccKernel;
use crate::kernels::lmul::LmulKernel;
use crate::kernels::Base;
use crate::tensor::{Matrix, Values};

/// The f32 values of a cast operand.
fn cast_values(spec: &OperandSpec, w: &Matrix, name: &str) -> Vec<f32> {
    match spec.quantize(w, false).values {
        Values::F32(v) => v,
        _ => unreachable!("{name}: a cast quantizes to f32 values"),
    }
}

/// The native kernel of `matmul/fp16-acc-fp16`.
#[derive(Debug, Clone)]
pub struct NativeFp16Acc {
    name: &'static str,
    packed: Option<Fp16AccKernel>,
}

impl NativeFp16Acc {
    /// The kernel for an accumulator variant, if both operands are RNE fp16
    /// casts and its spec is `acc=fp16` (RNE, inf on overflow) with exact
    /// products in sequential order.
    pub fn of(
        name: &'static str,
        weight: &OperandSpec,
        act: &OperandSpec,
        spec: &AccumSpec,
    ) -> Option<NativeFp16Acc> {
        let fp16: AccumSpec = "acc=fp16".parse().ok()?;
        let ok = *weight == OperandSpec::Cast(FP16)
            && *act == OperandSpec::Cast(FP16)
            && spec.acc == fp16.acc
            && spec.order == Order::Sequential
            && spec.product == Product::Exact;
        ok.then_some(NativeFp16Acc { name, packed: None })
    }
}

impl NativeMatmul for NativeFp16Acc {
    fn pack_weights(&mut self, w: &Matrix) {
        let v = cast_values(&OperandSpec::Cast(FP16), w, self.name);
        self.packed = Some(Fp16AccKernel::pack(&v, w.rows, w.cols));
    }

    fn matmul(&self, a: &Matrix) -> Vec<f64> {
        let k = self
            .packed
            .as_ref()
            .unwrap_or_else(|| panic!("{}: pack_weights before matmul", self.name));
        assert_eq!(a.cols, k.k(), "{}: K differs", self.name);
        k.matmul(&a.data, a.rows)
    }

    /// One f32 multiply and one (exactly rounded) add per MAC: the
    /// multiply-then-add peak is the ceiling a CPU without fp16 arithmetic
    /// has for it.
    fn base(&self) -> Base {
        Base::F32MulAdd
    }

    fn weight_bytes(&self) -> usize {
        self.packed.as_ref().map_or(0, Fp16AccKernel::bytes)
    }

    fn top_isa(&self) -> IsaLevel {
        IsaLevel::Avx2
    }
}

/// The native kernel of `matmul/lmul-carry-bf16`.
#[derive(Debug, Clone)]
pub struct NativeLmul {
    name: &'static str,
    unit: LmulUnit,
    packed: Option<LmulKernel>,
}

impl NativeLmul {
    /// The kernel for an L-Mul variant, if both operands are RNE bf16 casts,
    /// the unit is bf16 `lmul-carry` and the accumulator is f32 sequential
    /// (`f32_sequential`: the caller checks its accumulator's kind).
    pub fn of(
        name: &'static str,
        unit: &LmulUnit,
        weight: &OperandSpec,
        act: &OperandSpec,
        f32_sequential: bool,
    ) -> Option<NativeLmul> {
        let ok = f32_sequential
            && *weight == OperandSpec::Cast(BF16)
            && *act == OperandSpec::Cast(BF16)
            && LmulKernel::supports(unit);
        ok.then_some(NativeLmul {
            name,
            unit: *unit,
            packed: None,
        })
    }
}

impl NativeMatmul for NativeLmul {
    fn pack_weights(&mut self, w: &Matrix) {
        let v = cast_values(&OperandSpec::Cast(BF16), w, self.name);
        self.packed = Some(LmulKernel::pack(self.unit, &v, w.rows, w.cols));
    }

    fn matmul(&self, a: &Matrix) -> Vec<f64> {
        let k = self
            .packed
            .as_ref()
            .unwrap_or_else(|| panic!("{}: pack_weights before matmul", self.name));
        assert_eq!(a.cols, k.k(), "{}: K differs", self.name);
        k.matmul(&a.data, a.rows)
    }

    fn base(&self) -> Base {
        Base::LmulAdd
    }

    fn weight_bytes(&self) -> usize {
        self.packed.as_ref().map_or(0, LmulKernel::bytes)
    }

    fn top_isa(&self) -> IsaLevel {
        IsaLevel::Avx2
    }
}
