//! The registered matmul variants: one [`QuantMatmul`] entry each.
//!
//! Every variant runs the kernel loop documented in [`super::kernel`]
//! (per K-group partial sum → f32 → × inner scales → f32 accumulate → × outer
//! scales). Quantizers are documented in [`super::operand`]: absmax scales are
//! `absmax / element_max` rounded RNE to f32 with RNE elements; absmean scales
//! `mean|x|` in f32; MX/NVFP4 through `formats::mx::quantize` (OCP floor rule,
//! RNE elements). What each entry models is its description: `bitsim variants
//! list --markdown` prints every entry's formats, accumulator and description
//! (the README's variant table is that output). Note that `matmul/w2a8-int`'s
//! symmetric int2 weights take only {−1, 0, 1}, and `matmul/w1a1-binary`'s
//! int32 sum is K − 2·popcount(xor).
//!
//! "Exact products" means exact within the f32 range: every element pair
//! here multiplies to at most 16 significant bits, so an f32 product rounds
//! only if it overflows or falls below 2^−126 (bf16 inputs far from 1 can).
//!
//! Cost conventions (see [`QuantMatmul`]'s `cost`): ternary and binary
//! "multiplies" are sign selects, counted as an integer add of the
//! activation width (W1A1: a 1-bit XNOR counted as `IntAdd{1}`; the popcount
//! is counted as one 32-bit add per MAC, an upper bound on a popcount tree).
//! MXINT8 is counted as int8 multiplies and int32 adds: its f32 block sums
//! are exact (≤ 19 significant bits), so an integer datapath gives the same bits.

use super::operand::int_absmax;
use super::operand::{OperandSpec, ScaleAxis};
use super::quant_matmul::{Datapath, QuantMatmul};
use crate::formats::{parse, ElementFormat, Format};
use crate::hw::cost::OpKind;

/// An element format by its grammar name (registry constants only).
fn elem(name: &str) -> ElementFormat {
    parse::parse_element(name).expect("registry element format names are valid")
}

/// A block format by its grammar name.
fn block(name: &str) -> OperandSpec {
    match parse(name).expect("registry block format names are valid") {
        Format::Block(b) => OperandSpec::Block(b),
        Format::Element(_) => panic!("{name} is not a block format"),
    }
}

/// A minifloat by name.
fn cast(name: &str) -> OperandSpec {
    match elem(name) {
        ElementFormat::Float(f) => OperandSpec::Cast(f),
        ElementFormat::Int(_) => panic!("{name} is not a float format"),
    }
}

fn float_absmax(name: &str, axis: ScaleAxis) -> OperandSpec {
    OperandSpec::AbsMax {
        element: elem(name),
        axis,
    }
}

fn absmean(name: &str, axis: ScaleAxis) -> OperandSpec {
    match elem(name) {
        ElementFormat::Int(element) => OperandSpec::AbsMean { element, axis },
        ElementFormat::Float(_) => panic!("{name} is not an integer format"),
    }
}

/// The multiply of an operand's elements.
fn mul_of(spec: &OperandSpec) -> OpKind {
    OpKind::mul_of(&spec.element().expect("a quantized operand"))
}

/// BitNet a4.8's sparsified intermediate states: `matmul/w1.58a8-topk`
/// (top 50 % of |a| per token, then the `matmul/w1.58a8-ternary` kernel).
pub fn topk() -> Vec<super::sparse::TopKMatmul> {
    let inner = all()
        .into_iter()
        .find(|v| v.name == "matmul/w1.58a8-ternary")
        .expect("the ternary variant is registered");
    vec![super::sparse::TopKMatmul {
        name: "matmul/w1.58a8-topk",
        description: "BitNet a4.8 intermediate states: top-50% |a| per token kept, int8 per-token A, ternary W; costed dense",
        inner,
        keep: 0.5,
    }]
}

/// Every registered variant, in display order.
pub fn all() -> Vec<QuantMatmul> {
    use ScaleAxis::{Group, PerRow, PerTensor};
    let a8 = || int_absmax(8, PerRow);
    let f32add = OpKind::F32_ADD;
    let i32add = OpKind::IntAdd { bits: 32 };
    let v = |name, description, weight, act, datapath, mul, add| QuantMatmul {
        name,
        description,
        weight,
        act,
        datapath,
        mul,
        add,
    };
    // Both operands in one format: the multiply is that format's.
    let same = |name, description, spec: OperandSpec| {
        v(
            name,
            description,
            spec,
            spec,
            Datapath::F32,
            mul_of(&spec),
            f32add,
        )
    };
    vec![
        v("matmul/f64", "reference: exact f64 products, sequential f64 sum over k",
          OperandSpec::F64, OperandSpec::F64, Datapath::F64, OpKind::F64_MUL, OpKind::F64_ADD),
        v("matmul/f32", "f32 GEMM without FMA: f32 multiply, then f32 add, sequential over k",
          OperandSpec::F32, OperandSpec::F32, Datapath::F32, OpKind::F32_MUL, f32add),
        v("matmul/f32-fma", "f32 GEMM with FMA: each output's products fused into a sequential f32 accumulator (a CPU FMA GEMM)",
          OperandSpec::F32, OperandSpec::F32, Datapath::F32Fused, OpKind::F32_MUL, f32add),
        same("matmul/bf16", "bf16 MAC unit: RNE bf16 inputs, exact products, f32 accumulator in k order",
             cast("bf16")),
        same("matmul/fp16", "fp16 MAC unit: RNE fp16 inputs, exact products, f32 accumulator in k order",
             cast("fp16")),
        v("matmul/w8a8-int", "int8 GEMM (VNNI / int8 tensor core): per-channel W, per-token A, int32 acc, (acc·sa)·sw",
          int_absmax(8, PerRow), a8(), Datapath::Int32, OpKind::IntMul { a: 8, b: 8 }, i32add),
        v("matmul/w4a8-int", "int4 g128 × int8 per-token MACs: int32 per group, × f32 group scale, f32 acc, × sa",
          int_absmax(4, Group(128)), a8(), Datapath::Int32, OpKind::IntMul { a: 4, b: 8 }, i32add),
        v("matmul/w2a8-int", "int2 g128 × int8 per-token MACs: int32 per group, × f32 group scale, f32 acc, × sa",
          int_absmax(2, Group(128)), a8(), Datapath::Int32, OpKind::IntMul { a: 2, b: 8 }, i32add),
        v("matmul/w1.58a8-ternary", "BitNet b1.58: ternary W (per-tensor absmean), int8 per-token A, sign-select adds into int32",
          absmean("ternary", PerTensor), a8(), Datapath::Int32, OpKind::IntAdd { bits: 8 }, i32add),
        v("matmul/w1.58a4", "BitNet a4.8 projection inputs: ternary W (per-tensor absmean), int4 per-token A, sign-select adds into int32",
          absmean("ternary", PerTensor), int_absmax(4, PerRow), Datapath::Int32, OpKind::IntAdd { bits: 4 }, i32add),
        v("matmul/w1a8-binary", "binary W (sign, per-channel mean|w|), int8 per-token A, add/subtract into int32",
          absmean("int1", PerRow), a8(), Datapath::Int32, OpKind::IntAdd { bits: 8 }, i32add),
        v("matmul/w1a1-binary", "XNOR-Net: sign(W)·sign(A) by XNOR + popcount into int32, × mean|a| · mean|w|",
          absmean("int1", PerRow), absmean("int1", PerRow), Datapath::Int32, OpKind::IntAdd { bits: 1 }, i32add),
        same("matmul/fp8-e4m3", "FP8 E4M3 GEMM, per-tensor f32 scales: exact products, f32 acc in k order, (acc·sa)·sw",
             float_absmax("e4m3", PerTensor)),
        same("matmul/fp8-e5m2", "FP8 E5M2 GEMM, per-tensor f32 scales: exact products, f32 acc in k order, (acc·sa)·sw",
             float_absmax("e5m2", PerTensor)),
        same("matmul/fp6-e2m3", "FP6 E2M3 GEMM, per-tensor f32 scales: exact products, f32 acc in k order",
             float_absmax("e2m3", PerTensor)),
        same("matmul/fp6-e3m2", "FP6 E3M2 GEMM, per-tensor f32 scales: exact products, f32 acc in k order",
             float_absmax("e3m2", PerTensor)),
        same("matmul/fp4-e2m1", "FP4 E2M1 with f32 scales per 32 along k: f32 group dot, × both scales, f32 acc",
             float_absmax("e2m1", Group(32))),
        same("matmul/mxfp8", "OCP MXFP8 (E4M3, 32, E8M0) dot: f32 block dot, × 2^Xa × 2^Xw, f32 acc",
             block("mxfp8")),
        same("matmul/mxfp6", "OCP MXFP6 (E2M3, 32, E8M0) dot: f32 block dot, × 2^Xa × 2^Xw, f32 acc",
             block("mxfp6")),
        same("matmul/mxfp4", "OCP MXFP4 (E2M1, 32, E8M0) dot: f32 block dot, × 2^Xa × 2^Xw, f32 acc",
             block("mxfp4")),
        v("matmul/mxint8", "OCP MXINT8 (int8·2^-6, 32, E8M0) dot: exact block dot, × 2^Xa × 2^Xw, f32 acc",
          block("mxint8"), block("mxint8"), Datapath::F32, OpKind::IntMul { a: 8, b: 8 }, i32add),
        same("matmul/nvfp4", "NVFP4 (E2M1, 16, E4M3 + f32 tensor scale): f32 block dot, × both E4M3 scales, f32 acc, × tensor scales",
             block("nvfp4")),
        v("matmul/w4a16", "weight-only int4 g128, bf16 activations: exact products, f32 per group, × f32 group scale, f32 acc",
          int_absmax(4, Group(128)), cast("bf16"), Datapath::F32, mul_of(&cast("bf16")), f32add),
        v("matmul/wfp4-abf16", "weight-only E2M1 g32 (f32 scales), bf16 activations: exact products, f32 per group, × scale, f32 acc",
          float_absmax("e2m1", Group(32)), cast("bf16"), Datapath::F32, mul_of(&cast("bf16")), f32add),
    ]
}
