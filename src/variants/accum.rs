//! Matmul variants whose accumulator is modelled by [`crate::arith::accum`]
//! (narrow, truncated, chunked, integer-saturating or exact accumulation).
//!
//! Every entry is an [`AccumMatmul`]: both operands are quantized by a
//! [`OperandSpec`] without inner scales (as in [`mod@super::registry`]: absmax
//! scales `absmax / element_max` rounded RNE to f32, RNE elements), each
//! output's products `a[i,k] · w[j,k]` are taken exactly and summed by the
//! entry's [`AccumSpec`] in k order, and the register value is finished as
//! the kernel of [`super::kernel`] does: `out = (f32(acc) · sa[i]) · sw[j]`
//! (f32 multiplies, each only where that operand has a scale; `f32(acc)` is
//! exact for every register here, int16 included).
//!
//! The sums run on [`FastSum`] where the spec has a fast path (all entries
//! here), else on the general [`Accumulator`]; tests compare the two.
//!
//! Every entry has a native kernel ([`MatmulVariant::native`]): the E4M3
//! ones on [`crate::kernels::fp8acc`], `fp16-acc-fp16` on
//! [`crate::kernels::fp16acc`], `w8a8-int16-sat` on [`crate::kernels::sat16`].
//!
//! Each entry's accumulator spec (`acc=e8m13:rtz`, `acc=e8m13:rtz,order=chunk:128`,
//! `acc=fp16`, `acc=int16:sat`, `acc=exact`) is in [`entries`]; what it models
//! is its description (`bitsim variants list --markdown`). The E4M3
//! accumulators model an FP8 tensor core that keeps ~14 bits and truncates
//! (the behaviour DeepSeek-V3 reports for H800 FP8 GEMMs), with and without
//! DeepSeek-V3's promotion into f32 every 128 products.
//!
//! Costs (see [`AccumMatmul`]'s `cost`): per MAC one multiply of the element
//! format and one add of the register (`FpAdd` of its format, `IntAdd` of its
//! width; a Kulisch register of [`crate::arith::accum::kulisch_bits`] for E4M3 × E4M3 with 16 carry
//! bits); per output and chunk one f32 add for chunked orders; one f32
//! multiply per output and scaled operand. Bytes as [`super::QuantMatmul`].

use super::info::{Family, VariantInfo};
use super::operand::int_absmax;
use super::operand::{OperandSpec, ScaleAxis, Values};
use super::quant_matmul::traffic;
use super::{MatmulVariant, Shape};
use crate::arith::accum::{fast::FastSum, Acc, AccumSpec, Accumulate, Accumulator, Order};
use crate::formats::parse::{E4M3, FP16};
use crate::formats::ElementFormat;
use crate::hw::cost::{Cost, OpKind};
use crate::tensor::Matrix;
use rayon::prelude::*;

/// A matmul whose dot products run through an accumulator model.
#[derive(Debug, Clone)]
pub struct AccumMatmul {
    /// Registry name.
    pub name: &'static str,
    /// One-line description of the modelled hardware.
    pub description: &'static str,
    /// Weight quantizer (no inner scales).
    pub weight: OperandSpec,
    /// Activation quantizer (no inner scales).
    pub act: OperandSpec,
    /// How the products are summed.
    pub accum: Accumulator,
    /// The per-MAC multiply counted by the cost.
    pub mul: OpKind,
}

impl AccumMatmul {
    /// Checks the description is runnable: no inner scales; an integer
    /// register needs integer operands on both sides, a float one float operands.
    pub fn validate(&self) -> Result<(), String> {
        if self.weight.inner_group() != 0 || self.act.inner_group() != 0 {
            return Err(format!(
                "{}: inner (group) scales are not supported",
                self.name
            ));
        }
        let int = matches!(self.accum.spec.acc, Acc::Int { .. });
        if int != self.weight.is_int() || int != self.act.is_int() {
            return Err(format!(
                "{}: integer registers need integer operands and float registers float operands",
                self.name
            ));
        }
        Ok(())
    }

    fn is_int(&self) -> bool {
        matches!(self.accum.spec.acc, Acc::Int { .. })
    }
}

impl MatmulVariant for AccumMatmul {
    fn info(&self) -> VariantInfo {
        VariantInfo::of_operands(
            (self.name, Family::Accumulator, self.description),
            &self.weight,
            &self.act,
            self.accum.describe(),
        )
    }

    fn quantize_weights(&self, w: &Matrix) -> Matrix {
        self.weight.dequantize(w)
    }

    /// Deterministic: the accumulators here round deterministically, so `seed` is unused.
    fn native(&self) -> Option<Box<dyn super::NativeMatmul>> {
        if let Some(k) = super::native_acc::Fp16AccPacker::of(
            self.name,
            &self.weight,
            &self.act,
            &self.accum.spec,
        ) {
            return Some(Box::new(k));
        }
        if let Some(k) = super::native_acc::Fp8AccNative::of(
            self.name,
            &self.weight,
            &self.act,
            &self.accum.spec,
        ) {
            return Some(Box::new(k));
        }
        super::native::Sat16Packer::of(self.name, &self.weight, &self.act, &self.accum.spec.acc)
            .map(|k| Box::new(k) as Box<dyn super::NativeMatmul>)
    }

    fn emulate(&self, a: &Matrix, w: &Matrix, _seed: u64) -> Vec<f64> {
        assert_eq!(
            a.cols, w.cols,
            "{}: A is m×k and W is n×k with the same k",
            self.name
        );
        let int = self.is_int();
        let qa = self.act.quantize(a, int);
        let qw = self.weight.quantize(w, int);
        let (m, n, k) = (a.rows, w.rows, a.cols);
        let mut out = vec![0f64; m * n];
        if n == 0 {
            return out;
        }
        let fast = FastSum::new(&self.accum.spec);
        let finish = |v: f64, i: usize, j: usize| -> f64 {
            let mut v = v as f32;
            if let Some(s) = &qa.outer {
                v *= s[i];
            }
            if let Some(s) = &qw.outer {
                v *= s[j];
            }
            v as f64
        };
        if let (Values::Int(av), Values::Int(wv), Some(f)) = (&qa.values, &qw.values, fast) {
            if f.dot_i8(&[], &[]).is_some() {
                out.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
                    let ar = &av[i * k..(i + 1) * k];
                    for (j, o) in row.iter_mut().enumerate() {
                        let wr = &wv[j * k..(j + 1) * k];
                        let acc = f.dot_i8(ar, wr).expect("integer register");
                        *o = finish(acc, i, j);
                    }
                });
                return out;
            }
        }
        let widen = |v: &Values| -> Vec<f64> {
            match v {
                Values::Int(x) => x.iter().map(|&c| c as f64).collect(),
                Values::F32(x) => x.iter().map(|&c| c as f64).collect(),
                Values::F64(x) => x.clone(),
            }
        };
        let (av, wv) = (widen(&qa.values), widen(&qw.values));
        let products = |ar: &[f64], j: usize, p: &mut Vec<f64>| {
            let wr = &wv[j * k..(j + 1) * k];
            p.clear();
            // Exact: both factors have at most 11 significant bits.
            p.extend(ar.iter().zip(wr).map(|(&x, &y)| x * y));
        };
        out.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
            let ar = &av[i * k..(i + 1) * k];
            let mut ps: [Vec<f64>; 4] = Default::default();
            let mut j = 0;
            // Four outputs at a time on the fast path (independent chains overlap).
            if let Some(f) = &fast {
                while j + 4 <= n {
                    for (l, p) in ps.iter_mut().enumerate() {
                        products(ar, j + l, p);
                    }
                    let v = f.sum4([&ps[0], &ps[1], &ps[2], &ps[3]]);
                    for (l, v) in v.into_iter().enumerate() {
                        row[j + l] = finish(v, i, j + l);
                    }
                    j += 4;
                }
            }
            for (j, o) in row.iter_mut().enumerate().skip(j) {
                products(ar, j, &mut ps[0]);
                let acc = match &fast {
                    Some(f) => f.sum(&ps[0]),
                    None => self.accum.sum(&ps[0]),
                };
                *o = finish(acc, i, j);
            }
        });
        out
    }

    /// Counts per MAC one `mul` and one register add; per output and chunk
    /// (chunked orders) one f32 add; per output one f32 multiply per
    /// operand with an outer scale. Bytes as [`super::QuantMatmul`]: DRAM
    /// compulsory traffic (W, A, the f32 output), SRAM for a 16 × 16
    /// output-stationary tile.
    fn cost(&self, shape: Shape) -> Cost {
        let Shape { m, k, n } = shape;
        let macs = shape.macs();
        let outputs = m as f64 * n as f64;
        let mut c = Cost {
            macs,
            ..Default::default()
        };
        c.add(self.mul, macs);
        c.add(self.accum.add_op(), macs);
        if let Order::Chunk { size } = self.accum.spec.order {
            c.add(OpKind::F32_ADD, outputs * k.div_ceil(size.max(1)) as f64);
        }
        let outer = self.weight.has_outer() as u32 + self.act.has_outer() as u32;
        if outer > 0 {
            c.add(OpKind::F32_MUL, outputs * outer as f64);
        }
        (c.dram_bytes, c.sram_bytes) = traffic(
            shape,
            self.bits_per_weight(k),
            self.act.bits_per_element(k),
            4.0,
        );
        c
    }
}

fn spec(s: &str) -> AccumSpec {
    s.parse()
        .unwrap_or_else(|e| panic!("registry accumulator spec {s}: {e}"))
}

/// The variants of this family, in display order.
pub fn all() -> Vec<Box<dyn MatmulVariant>> {
    entries()
        .into_iter()
        .map(|v| Box::new(v) as Box<dyn MatmulVariant>)
        .collect()
}

/// The entries as [`AccumMatmul`] values (for tests and tools that need the fields).
pub fn entries() -> Vec<AccumMatmul> {
    let e4m3 = OperandSpec::AbsMax {
        element: ElementFormat::Float(E4M3),
        axis: ScaleAxis::PerTensor,
    };
    let fp8 = |name, description, s: &str| AccumMatmul {
        name,
        description,
        weight: e4m3,
        act: e4m3,
        accum: Accumulator::for_operands(spec(s), &E4M3, &E4M3),
        mul: OpKind::mul_of(&ElementFormat::Float(E4M3)),
    };
    vec![
        fp8(
            "matmul/fp8-e4m3-acc-e8m13",
            "FP8 E4M3 tensor core with a ~14-bit truncating accumulator (e8m13, rtz adds) over all of K, (acc·sa)·sw",
            "acc=e8m13:rtz",
        ),
        fp8(
            "matmul/fp8-e4m3-chunk128",
            "FP8 E4M3 tensor core, e8m13 rtz partial sums promoted into f32 every 128 products (DeepSeek-V3), (acc·sa)·sw",
            "acc=e8m13:rtz,order=chunk:128",
        ),
        AccumMatmul {
            name: "matmul/fp16-acc-fp16",
            description: "fp16 MAC with an fp16 accumulator: RNE fp16 inputs, exact products, fp16 RNE adds in k order",
            weight: OperandSpec::Cast(FP16),
            act: OperandSpec::Cast(FP16),
            accum: Accumulator::new(spec("acc=fp16")),
            mul: OpKind::mul_of(&ElementFormat::Float(FP16)),
        },
        AccumMatmul {
            name: "matmul/w8a8-int16-sat",
            description: "int8 MACs into a 16-bit saturating accumulator: per-channel W, per-token A, (f32(acc)·sa)·sw",
            weight: int_absmax(8, ScaleAxis::PerRow),
            act: int_absmax(8, ScaleAxis::PerRow),
            accum: Accumulator::new(spec("acc=int16:sat")),
            mul: OpKind::IntMul { a: 8, b: 8 },
        },
        fp8(
            "matmul/fp8-e4m3-exact",
            "FP8 E4M3 exact dot product (Kulisch register), rounded once to f32, (acc·sa)·sw",
            "acc=exact",
        ),
    ]
}
