//! [`VariantInfo`]: what a matmul variant is, as data — its name, family,
//! typed operand formats, accumulator, storage and a one-line description.
//! The report, `bitsim variants list` and the README's variant table are all
//! printed from it.

use super::operand::{format_name, OperandSpec};
use crate::formats::ElementFormat;

/// The family a variant belongs to (one module of `variants/` each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// [`super::QuantMatmul`]: quantizers plus an f64/f32/int32 datapath.
    Quant,
    /// [`super::accum::AccumMatmul`]: products summed by an accumulator
    /// model (and [`super::dpbf16::Dpbf16Matmul`]: an instruction's lane).
    Accumulator,
    /// [`super::lmul::LmulMatmul`]: products by L-Mul.
    Lmul,
    /// [`super::bitserial::BitSerialMatmul`]: bit-serial processing elements.
    BitSerial,
    /// [`super::block::BlockMatmul`]: ggml's block formats and dot products.
    Ggml,
}

impl Family {
    /// Lower-case name, as `bitsim variants list --markdown` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Family::Quant => "quantized",
            Family::Accumulator => "accumulator",
            Family::Lmul => "L-Mul",
            Family::BitSerial => "bit-serial",
            Family::Ggml => "ggml block",
        }
    }
}

/// How a variant stores its weights, for bits per weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WeightStorage {
    /// As the weight quantizer stores them (element bits plus amortized scales).
    Operand(OperandSpec),
    /// A fixed number of bits per weight whatever the reduction length.
    Fixed(f64),
}

/// What a variant is, as data.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantInfo {
    /// Registry name (`matmul/w8a8-int`).
    pub name: &'static str,
    /// The family it belongs to.
    pub family: Family,
    /// One-line description of the modelled hardware.
    pub description: &'static str,
    /// Weight format with its scaling, e.g. `int4 g128 absmax (f32 scale)`.
    pub weight_desc: String,
    /// Activation format with its scaling.
    pub act_desc: String,
    /// Accumulator, e.g. `int32`, `f32`.
    pub accumulator: String,
    /// Element formats the variant uses, weights' first, each once; empty for
    /// the f64/f32 references.
    pub formats: Vec<ElementFormat>,
    /// How the weights are stored.
    pub storage: WeightStorage,
}

impl VariantInfo {
    /// The info of a variant whose operands are quantized by `weight` and
    /// `act` and whose weights are stored as `weight` stores them.
    pub fn of_operands(
        (name, family, description): (&'static str, Family, &'static str),
        weight: &OperandSpec,
        act: &OperandSpec,
        accumulator: String,
    ) -> VariantInfo {
        VariantInfo {
            name,
            family,
            description,
            weight_desc: weight.describe("channel"),
            act_desc: act.describe("token"),
            accumulator,
            formats: format_union(weight, act),
            storage: WeightStorage::Operand(*weight),
        }
    }

    /// Storage bits per weight including scale overhead, for reduction length `k`.
    pub fn bits_per_weight(&self, k: usize) -> f64 {
        match self.storage {
            WeightStorage::Operand(spec) => spec.bits_per_element(k),
            WeightStorage::Fixed(bits) => bits,
        }
    }

    /// The element formats' names in the format grammar (`int4`, `e2m1`).
    pub fn format_names(&self) -> Vec<String> {
        self.formats.iter().map(format_name).collect()
    }
}

/// The element formats of both operands, weights first, each once (by name).
pub fn format_union(weight: &OperandSpec, act: &OperandSpec) -> Vec<ElementFormat> {
    let mut v: Vec<ElementFormat> = Vec::new();
    for e in weight.element().into_iter().chain(act.element()) {
        if !v.iter().any(|x| format_name(x) == format_name(&e)) {
            v.push(e);
        }
    }
    v
}
