//! Matmul variants whose products are L-Mul units ([`crate::arith::lmul`]): `matmul/lmul-*`.
//!
//! Each quantizes A and W like its floating-point twin (the same
//! [`OperandSpec`]), replaces every product by one L-Mul of the element codes,
//! sums the products of one output in K
//! order with an [`Accumulate`] (f32 sequential from +0 here), then applies
//! the outer scales as the quantized kernels do: `out = (acc · sa) · sw` in f32.
//!
//! | name | operands | product | accumulator | models |
//! |---|---|---|---|---|
//! | `matmul/lmul-carry-bf16` | bf16 (RNE), no scale | `lmul-carry` in bf16: one 15-bit integer add of the magnitude fields minus `0x3F78`, sign XOR | f32 sequential | the paper's hardware L-Mul on bf16 tensors |
//! | `matmul/lmul-literal-bf16` | bf16 (RNE), no scale | `lmul-literal` in bf16 (the formula, RNE into bf16) | f32 sequential | the paper's formula as written, on bf16 |
//! | `matmul/lmul-carry-e4m3` | e4m3 per-tensor absmax (f32 scale) | `lmul-carry` of e4m3 codes (offset 55), result kept in e8m3 | f32 sequential, × both scales | an FP8 GEMM whose multipliers are L-Mul adders |
//! | `matmul/lmul-literal-e4m3` | e4m3 per-tensor absmax (f32 scale) | `lmul-literal` of e4m3 codes, RNE into e8m3 | f32 sequential, × both scales | the formula on FP8 operands |
//!
//! Why e8m3 results for e4m3: absmax scaling puts elements up to 448, whose
//! products (up to ~2^17.6) overflow e4m3 (and small ones underflow it); an
//! FP8 multiplier hands the accumulator a wider product, and so does an
//! L-Mul adder that keeps its carry-out and borrow bit. e8m3 holds every
//! product of two e4m3 values exactly as the adder forms it. bf16 products of
//! these workloads stay in range, so the bf16 variants keep bf16 results.
//!
//! Cost: per MAC one integer add as wide as the magnitude field
//! (`IntAdd { bits: ebits + mbits }`: 15 for bf16), one bit wider when the
//! result is widened (8 for e4m3 → e8m3); the sign XOR and the range checks
//! are not counted; no multiplier. Plus the
//! accumulator's add ([`Accumulate::add_op`]); outer scales and bytes exactly
//! as [`QuantMatmul`]'s cost counts them for the same operands.

use std::sync::Arc;

use super::info::{Family, VariantInfo};
use super::operand::{OperandSpec, ScaleAxis};
use super::quant_matmul::{Datapath, QuantMatmul};
use super::{MatmulVariant, Shape};
use crate::arith::accum::{Accumulate, F32Sequential};
use crate::arith::lmul::{matmul, LmulUnit, PreparedOperand, Semantics};
use crate::formats::parse::{BF16, E4M3};
use crate::formats::{ConvertOptions, ElementFormat, MiniFloat};
use crate::hw::cost::{Cost, OpKind};
use crate::tensor::Matrix;
use crate::tensor::{QOperand, Values};

/// A matmul whose products are L-Mul units (see the module table).
pub struct LmulMatmul {
    /// The L-Mul unit (format, semantics, RNE for literal carries and out-of-range results).
    pub unit: LmulUnit,
    /// Accumulator the products of one output are summed in.
    pub acc: Arc<dyn Accumulate>,
    /// Name, description, quantizers and cost counting (its `mul` is the L-Mul adder).
    pub spec: QuantMatmul,
}

impl LmulMatmul {
    /// A variant quantizing both operands with `operand` (whose element
    /// format must be `format`), multiplying by L-Mul of `format` codes with
    /// results rounded (RNE) into `output` (see [`LmulUnit::with_output`]).
    ///
    /// # Panics
    /// When `output` does not fit `format` (a registry bug).
    pub fn new(
        name: &'static str,
        description: &'static str,
        (format, output): (MiniFloat, MiniFloat),
        operand: OperandSpec,
        semantics: Semantics,
        acc: Arc<dyn Accumulate>,
    ) -> Self {
        let unit = LmulUnit::with_output(format, output, semantics, &ConvertOptions::default())
            .expect("registry L-Mul formats fit");
        // The carry-out bit is kept when the result is wider than the operands.
        let widened = (output.ebits > format.ebits) as u32;
        let spec = QuantMatmul {
            name,
            description,
            weight: operand,
            act: operand,
            datapath: Datapath::F32,
            mul: OpKind::IntAdd {
                bits: format.ebits + format.mbits + widened,
            },
            add: acc.add_op(),
        };
        LmulMatmul { unit, acc, spec }
    }

    /// The element codes of a quantized float operand (its values are exact
    /// in the format, so encoding them rounds nothing).
    fn prepare(&self, q: &QOperand) -> PreparedOperand {
        let f = self.unit.format;
        let codes: Vec<u32> = match &q.values {
            Values::F32(v) => v
                .iter()
                .map(|&x| {
                    f.encode_f32(x, &ConvertOptions::default(), 0)
                        .expect("element values of the format encode")
                })
                .collect(),
            _ => panic!("{}: L-Mul operands must be float elements", self.spec.name),
        };
        PreparedOperand::from_codes(&self.unit, q.rows, q.k, &codes)
    }
}

impl MatmulVariant for LmulMatmul {
    fn info(&self) -> VariantInfo {
        VariantInfo {
            family: Family::Lmul,
            accumulator: self.acc.describe(),
            ..self.spec.info()
        }
    }

    fn quantize_weights(&self, w: &Matrix) -> Matrix {
        self.spec.quantize_weights(w)
    }

    /// Every variant here (either reading, bf16 or E4M3, f32 sequential
    /// accumulator) has one ([`super::native_acc::LmulPacker`],
    /// [`super::native_acc::LmulE4m3Native`]).
    fn native(&self) -> Option<Box<dyn super::NativeMatmul>> {
        use super::native_acc::{LmulE4m3Native, LmulPacker};
        let f32_seq = self.acc.describe() == F32Sequential.describe();
        let (name, unit, w, a) = (
            self.spec.name,
            &self.unit,
            &self.spec.weight,
            &self.spec.act,
        );
        if let Some(k) = LmulPacker::of(name, unit, w, a, f32_seq) {
            return Some(Box::new(k));
        }
        LmulE4m3Native::of(name, unit, w, a, f32_seq)
            .map(|k| Box::new(k) as Box<dyn super::NativeMatmul>)
    }

    /// Deterministic: L-Mul rounds RNE here, so `seed` is unused.
    fn emulate(&self, a: &Matrix, w: &Matrix, _seed: u64) -> Vec<f64> {
        assert_eq!(
            a.cols, w.cols,
            "{}: A is m×k and W is n×k with the same k",
            self.spec.name
        );
        let qa = self.spec.act.quantize(a, false);
        let qw = self.spec.weight.quantize(w, false);
        assert!(
            qa.inner.is_none() && qw.inner.is_none(),
            "{}: inner scales are not modelled",
            self.spec.name
        );
        let mut out = matmul(
            &self.unit,
            &self.prepare(&qa),
            &self.prepare(&qw),
            &*self.acc,
        );
        if qa.outer.is_some() || qw.outer.is_some() {
            let n = w.rows;
            for (idx, o) in out.iter_mut().enumerate() {
                let mut v = *o as f32;
                if let Some(s) = &qa.outer {
                    v *= s[idx / n];
                }
                if let Some(s) = &qw.outer {
                    v *= s[idx % n];
                }
                *o = v as f64;
            }
        }
        out
    }

    fn cost(&self, shape: Shape) -> Cost {
        self.spec.cost(shape)
    }
}

/// The variants of this family, in display order.
pub fn all() -> Vec<Box<dyn MatmulVariant>> {
    let acc: Arc<dyn Accumulate> = Arc::new(F32Sequential);
    let e4m3 = OperandSpec::AbsMax {
        element: ElementFormat::Float(E4M3),
        axis: ScaleAxis::PerTensor,
    };
    let v = |name, description, formats, operand, sem| -> Box<dyn MatmulVariant> {
        Box::new(LmulMatmul::new(
            name,
            description,
            formats,
            operand,
            sem,
            acc.clone(),
        ))
    };
    let bf16 = (BF16, BF16);
    let e4m3_e8m3 = (E4M3, MiniFloat::ieee(8, 3));
    vec![
        v("matmul/lmul-carry-bf16",
          "L-Mul (carry) on bf16: RNE bf16 inputs, each product one 15-bit integer add (- 0x3F78), f32 accumulator in k order",
          bf16, OperandSpec::Cast(BF16), Semantics::Carry),
        v("matmul/lmul-literal-bf16",
          "L-Mul (paper's formula, RNE into bf16) on bf16 inputs, f32 accumulator in k order",
          bf16, OperandSpec::Cast(BF16), Semantics::Literal),
        v("matmul/lmul-carry-e4m3",
          "L-Mul (carry) on e4m3 with per-tensor f32 scales: 8-bit integer add per product (e8m3 result), f32 acc in k order, (acc·sa)·sw",
          e4m3_e8m3, e4m3, Semantics::Carry),
        v("matmul/lmul-literal-e4m3",
          "L-Mul (paper's formula, RNE into e8m3) of e4m3 codes with per-tensor f32 scales, f32 acc in k order, (acc·sa)·sw",
          e4m3_e8m3, e4m3, Semantics::Literal),
    ]
}
