//! The registered matmul variants: one [`QuantMatmul`] entry each.
//!
//! Every variant runs the kernel loop documented in [`super::kernel`]
//! (per K-group partial sum → f32 → × inner scales → f32 accumulate → × outer
//! scales). Quantizers are documented in [`super::operand`]: absmax scales are
//! `absmax / element_max` rounded RNE to f32 with RNE elements; absmean scales
//! `mean|x|` in f32; MX/NVFP4 through `formats::mx::quantize` (OCP floor rule,
//! RNE elements). What each entry models:
//!
//! | name | weights | activations | partial sums | models |
//! |---|---|---|---|---|
//! | `matmul/f64` | f64 | f64 | exact f64 products, sequential f64 sum | the accuracy reference |
//! | `matmul/f32` | f32 | f32 | f32 multiply then f32 add (no FMA), k order | a scalar/SIMD f32 GEMM without FMA contraction |
//! | `matmul/bf16` | bf16 (RNE) | bf16 (RNE) | exact products, f32 sequential | a bf16 MAC unit with an f32 accumulator, one product per add (no pair-summing, no flush-to-zero) |
//! | `matmul/fp16` | fp16 (RNE) | fp16 (RNE) | exact products, f32 sequential | an fp16 MAC unit with an f32 accumulator, idealized order |
//! | `matmul/w8a8-int` | int8 per-channel | int8 per-token | int32 | int8 GEMM (VNNI `vpdpbusd`, int8 tensor cores), dequantized as `(f32(acc)·s_a)·s_w` |
//! | `matmul/w4a8-int` | int4 g128 | int8 per-token | int32 per group | int4×int8 MACs, per-group f32 rescale (QServe/llama.cpp-style) |
//! | `matmul/w2a8-int` | int2 g128 (symmetric: {−1,0,1}) | int8 per-token | int32 per group | as W4A8 with 2-bit weights |
//! | `matmul/w1.58a8-ternary` | ternary, per-tensor absmean γ | int8 per-token absmax | int32 | BitNet b1.58 inference: sign-select adds |
//! | `matmul/w1a8-binary` | sign(W), per-channel mean\|w\| | int8 per-token | int32 | binary-weight add/subtract datapath |
//! | `matmul/w1a1-binary` | sign(W), per-channel mean\|w\| | sign(A), per-token mean\|a\| | int32 (= K − 2·popcount(xor)) | XNOR-Net style XNOR + popcount |
//! | `matmul/fp8-e4m3`, `-e5m2` | FP8 per-tensor f32 scale | same | exact products, f32 sequential | FP8 tensor-core GEMM with scaleA·scaleB epilogue, idealized order |
//! | `matmul/fp6-e2m3`, `-e3m2` | FP6 per-tensor | same | exact products, f32 sequential | FP6 MAC with f32 accumulator |
//! | `matmul/fp4-e2m1` | FP4 g32, f32 scales | same | f32 per group, × both scales | FP4 MAC with f32 group rescale |
//! | `matmul/mxfp8`, `mxfp6`, `mxfp4`, `mxint8` | MX (k = 32, E8M0) | same | f32 per block, × both 2^X | OCP MX dot product (§6.2) with f32 accumulation across blocks |
//! | `matmul/nvfp4` | NVFP4 (16, E4M3, f32 tensor scale) | same | f32 per block × both E4M3 scales; tensor scales at the end | Blackwell-style block-scaled FP4 MMA |
//! | `matmul/w4a16` | int4 g128 | bf16 | f32 per group (exact products) | weight-only int4 kernel rescaling partial sums per group |
//! | `matmul/wfp4-abf16` | E2M1 g32, f32 scales | bf16 | f32 per group (exact products) | weight-only FP4 kernel |
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

use super::operand::{OperandSpec, ScaleAxis};
use super::quant_matmul::{int_absmax, Datapath, QuantMatmul};
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

/// The multiply of an element format given by name.
fn fp_mul(name: &str) -> OpKind {
    OpKind::mul_of(&elem(name))
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
    let same = |name, description, spec: OperandSpec, mul| {
        v(name, description, spec, spec, Datapath::F32, mul, f32add)
    };
    vec![
        v("matmul/f64", "reference: exact f64 products, sequential f64 sum over k",
          OperandSpec::F64, OperandSpec::F64, Datapath::F64, OpKind::F64_MUL, OpKind::F64_ADD),
        v("matmul/f32", "f32 GEMM without FMA: f32 multiply, then f32 add, sequential over k",
          OperandSpec::F32, OperandSpec::F32, Datapath::F32, OpKind::F32_MUL, f32add),
        same("matmul/bf16", "bf16 MAC unit: RNE bf16 inputs, exact products, f32 accumulator in k order",
             cast("bf16"), fp_mul("bf16")),
        same("matmul/fp16", "fp16 MAC unit: RNE fp16 inputs, exact products, f32 accumulator in k order",
             cast("fp16"), fp_mul("fp16")),
        v("matmul/w8a8-int", "int8 GEMM (VNNI / int8 tensor core): per-channel W, per-token A, int32 acc, (acc·sa)·sw",
          int_absmax(8, PerRow), a8(), Datapath::Int32, OpKind::IntMul { a: 8, b: 8 }, i32add),
        v("matmul/w4a8-int", "int4 g128 × int8 per-token MACs: int32 per group, × f32 group scale, f32 acc, × sa",
          int_absmax(4, Group(128)), a8(), Datapath::Int32, OpKind::IntMul { a: 4, b: 8 }, i32add),
        v("matmul/w2a8-int", "int2 g128 × int8 per-token MACs: int32 per group, × f32 group scale, f32 acc, × sa",
          int_absmax(2, Group(128)), a8(), Datapath::Int32, OpKind::IntMul { a: 2, b: 8 }, i32add),
        v("matmul/w1.58a8-ternary", "BitNet b1.58: ternary W (per-tensor absmean), int8 per-token A, sign-select adds into int32",
          absmean("ternary", PerTensor), a8(), Datapath::Int32, OpKind::IntAdd { bits: 8 }, i32add),
        v("matmul/w1a8-binary", "binary W (sign, per-channel mean|w|), int8 per-token A, add/subtract into int32",
          absmean("int1", PerRow), a8(), Datapath::Int32, OpKind::IntAdd { bits: 8 }, i32add),
        v("matmul/w1a1-binary", "XNOR-Net: sign(W)·sign(A) by XNOR + popcount into int32, × mean|a| · mean|w|",
          absmean("int1", PerRow), absmean("int1", PerRow), Datapath::Int32, OpKind::IntAdd { bits: 1 }, i32add),
        same("matmul/fp8-e4m3", "FP8 E4M3 GEMM, per-tensor f32 scales: exact products, f32 acc in k order, (acc·sa)·sw",
             float_absmax("e4m3", PerTensor), fp_mul("e4m3")),
        same("matmul/fp8-e5m2", "FP8 E5M2 GEMM, per-tensor f32 scales: exact products, f32 acc in k order, (acc·sa)·sw",
             float_absmax("e5m2", PerTensor), fp_mul("e5m2")),
        same("matmul/fp6-e2m3", "FP6 E2M3 GEMM, per-tensor f32 scales: exact products, f32 acc in k order",
             float_absmax("e2m3", PerTensor), fp_mul("e2m3")),
        same("matmul/fp6-e3m2", "FP6 E3M2 GEMM, per-tensor f32 scales: exact products, f32 acc in k order",
             float_absmax("e3m2", PerTensor), fp_mul("e3m2")),
        same("matmul/fp4-e2m1", "FP4 E2M1 with f32 scales per 32 along k: f32 group dot, × both scales, f32 acc",
             float_absmax("e2m1", Group(32)), fp_mul("e2m1")),
        same("matmul/mxfp8", "OCP MXFP8 (E4M3, 32, E8M0) dot: f32 block dot, × 2^Xa × 2^Xw, f32 acc",
             block("mxfp8"), fp_mul("e4m3")),
        same("matmul/mxfp6", "OCP MXFP6 (E2M3, 32, E8M0) dot: f32 block dot, × 2^Xa × 2^Xw, f32 acc",
             block("mxfp6"), fp_mul("e2m3")),
        same("matmul/mxfp4", "OCP MXFP4 (E2M1, 32, E8M0) dot: f32 block dot, × 2^Xa × 2^Xw, f32 acc",
             block("mxfp4"), fp_mul("e2m1")),
        v("matmul/mxint8", "OCP MXINT8 (int8·2^-6, 32, E8M0) dot: exact block dot, × 2^Xa × 2^Xw, f32 acc",
          block("mxint8"), block("mxint8"), Datapath::F32, OpKind::IntMul { a: 8, b: 8 }, i32add),
        same("matmul/nvfp4", "NVFP4 (E2M1, 16, E4M3 + f32 tensor scale): f32 block dot, × both E4M3 scales, f32 acc, × tensor scales",
             block("nvfp4"), fp_mul("e2m1")),
        v("matmul/w4a16", "weight-only int4 g128, bf16 activations: exact products, f32 per group, × f32 group scale, f32 acc",
          int_absmax(4, Group(128)), cast("bf16"), Datapath::F32, fp_mul("bf16"), f32add),
        v("matmul/wfp4-abf16", "weight-only E2M1 g32 (f32 scales), bf16 activations: exact products, f32 per group, × scale, f32 acc",
          float_absmax("e2m1", Group(32)), cast("bf16"), Datapath::F32, fp_mul("bf16"), f32add),
    ]
}
