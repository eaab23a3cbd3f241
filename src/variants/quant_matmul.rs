//! [`QuantMatmul`]: the one generic matmul variant, parametrized by a weight
//! quantizer, an activation quantizer and a datapath. Every registered
//! variant is one of these (see [`super::registry::all`]).

use super::info::{Family, VariantInfo};
use super::kernel;
use super::operand::OperandSpec;
use super::{MatmulVariant, Shape};
use crate::formats::parse::E8M0;
use crate::hw::cost::{Cost, OpKind};
use crate::tensor::Matrix;

/// The arithmetic that forms each group's partial sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datapath {
    /// Exact f64 products, sequential f64 sum (the reference).
    F64,
    /// f32 products, sequential f32 sum from +0.
    F32,
    /// f32 fused multiply-adds, sequential from +0: `dot = fma(a, w, dot)`.
    F32Fused,
    /// Integer products, int32 (wrapping) accumulator.
    Int32,
}

/// The output width the kernel writes to memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutWidth {
    F32,
    F64,
}

/// A matmul variant described by data: quantize A and W, run the kernel of
/// [`super::kernel`] (whose docs give the exact order of every rounding), and
/// count operations and bytes.
#[derive(Debug, Clone)]
pub struct QuantMatmul {
    /// Registry name.
    pub name: &'static str,
    /// One-line description of the modelled hardware.
    pub description: &'static str,
    /// Weight quantizer (W is `n × k`, rows are output channels).
    pub weight: OperandSpec,
    /// Activation quantizer (A is `m × k`, rows are tokens).
    pub act: OperandSpec,
    /// Datapath of the per-group partial sums.
    pub datapath: Datapath,
    /// The per-MAC "multiply" operation counted by [`MatmulVariant::cost`].
    pub mul: OpKind,
    /// The per-MAC accumulate operation counted by [`MatmulVariant::cost`].
    pub add: OpKind,
}

impl QuantMatmul {
    /// Checks the description is runnable: integer datapaths need integer
    /// quantizers on both sides; inner scale groups must agree.
    pub fn validate(&self) -> Result<(), String> {
        let int = self.datapath == Datapath::Int32;
        if int && !(self.weight.is_int() && self.act.is_int()) {
            return Err(format!(
                "{}: an int32 datapath needs integer operands",
                self.name
            ));
        }
        let (gw, ga) = (self.weight.inner_group(), self.act.inner_group());
        if gw != 0 && ga != 0 && gw != ga {
            return Err(format!("{}: inner groups differ ({gw} vs {ga})", self.name));
        }
        if (self.datapath == Datapath::F64)
            != (self.weight == OperandSpec::F64 && self.act == OperandSpec::F64)
        {
            return Err(format!(
                "{}: the f64 datapath is for f64 operands only",
                self.name
            ));
        }
        Ok(())
    }

    /// The accumulator as the report describes it.
    pub fn accumulator(&self) -> String {
        let inner = match self.datapath {
            Datapath::F64 => return "f64".into(),
            Datapath::F32 => "f32",
            Datapath::F32Fused => "f32 fused (fma)",
            Datapath::Int32 => "int32",
        };
        match (self.weight.inner_group(), self.act.inner_group()) {
            (0, 0) => inner.into(),
            (0, g) | (g, _) => format!("{inner} per {g}-group, f32 across groups"),
        }
    }

    fn out_width(&self) -> OutWidth {
        if self.datapath == Datapath::F64 {
            OutWidth::F64
        } else {
            OutWidth::F32
        }
    }

    /// Group length of the kernel along K for reduction length `k` (K when
    /// there are no inner scales).
    fn kernel_group(&self, k: usize) -> usize {
        match (self.weight.inner_group(), self.act.inner_group()) {
            (0, 0) => k,
            (0, g) | (g, _) => g,
        }
    }
}

/// The cost of multiplying a partial sum by one inner scale: an E8M0 scale
/// is a power of two, so hardware adds exponents (an 8-bit integer add);
/// any other scale is an f32 multiply.
fn scale_mul_op(spec: &OperandSpec) -> Option<OpKind> {
    spec.inner_scale_format().map(|f| {
        if f == E8M0 {
            OpKind::IntAdd { bits: 8 }
        } else {
            OpKind::F32_MUL
        }
    })
}

impl MatmulVariant for QuantMatmul {
    fn info(&self) -> VariantInfo {
        VariantInfo::of_operands(
            (self.name, Family::Quant, self.description),
            &self.weight,
            &self.act,
            self.accumulator(),
        )
    }

    fn native(&self) -> Option<Box<dyn super::NativeMatmul>> {
        super::native::NativeQuant::of(self).map(|k| Box::new(k) as Box<dyn super::NativeMatmul>)
    }

    fn quantize_weights(&self, w: &Matrix) -> Matrix {
        self.weight.dequantize(w)
    }

    /// Deterministic: no variant here uses stochastic rounding, so `seed` is unused.
    fn emulate(&self, a: &Matrix, w: &Matrix, _seed: u64) -> Vec<f64> {
        assert_eq!(
            a.cols, w.cols,
            "{}: A is m×k and W is n×k with the same k",
            self.name
        );
        let int = self.datapath == Datapath::Int32;
        let qa = self.act.quantize(a, int);
        let qw = self.weight.quantize(w, int);
        kernel::matmul_with(&qa, &qw, self.datapath == Datapath::F32Fused)
    }

    /// Counts, per the kernel's loop:
    /// - per MAC: one `mul` and one `add` (the registry entry's kinds);
    /// - per output and K-group, when an operand has inner scales: one scale
    ///   multiply per such operand (an 8-bit integer
    ///   add for a power-of-two E8M0 scale, else an f32 multiply) and one f32 add into
    ///   the accumulator (int32 → f32 conversion is not counted);
    /// - per output: one f32 multiply per operand with an outer scale.
    ///
    /// Bytes: DRAM is compulsory traffic — W at `bits_per_weight`, A at its
    /// bits per element (scales included), the output once (f32, f64 for the
    /// reference). SRAM follows a 16 × 16 output-stationary tile: each A row
    /// is read once per 16-column tile (⌈n/16⌉ times), each W row once per
    /// 16-row tile (⌈m/16⌉ times), and the output written once.
    fn cost(&self, shape: Shape) -> Cost {
        let Shape { m, k, n } = shape;
        let macs = shape.macs();
        let outputs = m as f64 * n as f64;
        let mut c = Cost {
            macs,
            ..Default::default()
        };
        c.add(self.mul, macs);
        c.add(self.add, macs);
        let (sw, sa) = (scale_mul_op(&self.weight), scale_mul_op(&self.act));
        if sw.is_some() || sa.is_some() {
            let groups = k.div_ceil(self.kernel_group(k).max(1)) as f64;
            for op in [sw, sa].into_iter().flatten() {
                c.add(op, outputs * groups);
            }
            c.add(OpKind::F32_ADD, outputs * groups);
        }
        let outer = self.weight.has_outer() as u32 + self.act.has_outer() as u32;
        if outer > 0 {
            c.add(OpKind::F32_MUL, outputs * outer as f64);
        }
        let out_bytes = match self.out_width() {
            OutWidth::F32 => 4.0,
            OutWidth::F64 => 8.0,
        };
        (c.dram_bytes, c.sram_bytes) = traffic(
            shape,
            self.bits_per_weight(k),
            self.act.bits_per_element(k),
            out_bytes,
        );
        c
    }
}

/// Bytes of a matmul under the traffic model every variant shares: DRAM is
/// compulsory traffic (W at `w_bits` per weight, A at `a_bits` per element,
/// scales included, the output once at `out_bytes` per element); SRAM
/// follows a 16 × 16 output-stationary tile: each A row is read once per
/// 16-column tile (⌈n/16⌉ times), each W row once per 16-row tile (⌈m/16⌉
/// times), and the output written once. Returns `(dram_bytes, sram_bytes)`.
pub fn traffic(shape: Shape, w_bits: f64, a_bits: f64, out_bytes: f64) -> (f64, f64) {
    let Shape { m, k, n } = shape;
    let w_bytes = n as f64 * k as f64 * w_bits / 8.0;
    let a_bytes = m as f64 * k as f64 * a_bits / 8.0;
    let o_bytes = m as f64 * n as f64 * out_bytes;
    let dram = w_bytes + a_bytes + o_bytes;
    let sram = a_bytes * n.div_ceil(16) as f64 + w_bytes * m.div_ceil(16) as f64 + o_bytes;
    (dram, sram)
}
