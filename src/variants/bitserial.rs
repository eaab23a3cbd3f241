//! Bit-serial matmul variants (BitMoD W4/W3, INT4/INT8 bit-serial baselines)
//! built on [`crate::arith::bitserial`].
//!
//! | name | weights | activations | partial sums | models |
//! |---|---|---|---|---|
//! | `matmul/bitmod-w4` | BitMoD 4-bit, g128, per-group ER±/EA± type, fp16 scale | int8 per-token absmax | exact integer per group, × scale (one f32 rounding), f32 acc, × sa | BitMoD's bit-serial PE |
//! | `matmul/bitmod-w3` | BitMoD 3-bit, same | same | same | same |
//! | `matmul/bitserial-w4a8` | int4 g128 absmax (f32 scale) | int8 per-token | same | a Stripes/Loom-style bit-serial INT4 PE |
//! | `matmul/bitserial-w8a8` | int8 per-channel absmax | int8 per-token | exact int32 over K, (f32(acc)·sa)·sw | bit-serial INT8 PE |
//!
//! Activations: BitMoD's hardware takes fp16 activations; here they are int8
//! per token (absmax, f32 scale) so that every product is an exact integer
//! and the PE's answer is bit-exact against a direct integer computation.
//!
//! Native kernels. BitMoD: [`crate::kernels::bitmod`] — the GEMV
//! decodes the 4-bit codes in registers, the GEMM runs the integer family's
//! int8 panels (the codes decoded through each group's type table at
//! packing); both compute this emulation's exact group sums and fold in
//! this order. INT4 / INT8: the bit-serial PE has no rounding step of its
//! own — its shift-and-add partial products sum to the exact integer dot
//! product of each group (the PE tests check it against this emulation), and
//! everything after is the [`super::kernel`] fold — so the emulation is that
//! of `matmul/w4a8-int` / `matmul/w8a8-int` and the integer family's kernel
//! ([`crate::kernels::int8`], through [`super::native::NativeQuant`]) returns
//! its bits.
//!
//! `emulate` runs the integer kernel of [`super::kernel`] (exact int32 group
//! sums, `f32(p) · s`, f32 accumulation, outer scales); the cycle-counting
//! PE ([`crate::arith::bitserial::pe::matmul`]) computes the same bits and is
//! the slow twin in the tests.
//!
//! Cost, in counts: per MAC, `ceil(digit_bits / 2)` bit-serial steps, each an
//! `IntAdd` of `8 + 2` bits (a 2-bit digit × int8 partial product into the
//! adder tree) and one int32 accumulate per MAC; per output and group, the
//! shift-and-add dequantization (`ceil(scale_bits / 2)` 32-bit adds) and one
//! f32 add; per output, one f32 multiply per outer scale. Bytes as
//! [`super::QuantMatmul`] counts them (compulsory DRAM traffic, 16 × 16
//! output-stationary SRAM tiles).

use super::info::{Family, VariantInfo, WeightStorage};
use super::kernel;
use super::native::NativeQuant;
use super::operand::int_absmax;
use super::operand::{OperandSpec, ScaleAxis};
use super::packed::{PackedNative, Packer};
use super::quant_matmul::traffic;
use super::quant_matmul::Datapath;
use super::{MatmulVariant, NativeMatmul, Shape};
use crate::arith::bitserial::datatypes::{self, GROUP};
use crate::arith::bitserial::PeConfig;
use crate::formats::{ElementFormat, IntFormat, IntKind};
use crate::hw::cost::{Cost, OpKind};
use crate::isa::IsaLevel;
use crate::kernels::bitmod::{BitmodCodes, BitmodKernel};
use crate::kernels::Base;
use crate::tensor::Matrix;
use crate::tensor::{QOperand, Values};

/// Which weights a bit-serial variant uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SerialWeights {
    /// BitMoD mixed data types of 3 or 4 bits, groups of 128.
    Bitmod(u32),
    /// Symmetric absmax integers: 4-bit g128 or 8-bit per channel.
    Int(u32),
}

/// A bit-serial matmul variant.
#[derive(Debug, Clone)]
pub struct BitSerialMatmul {
    name: &'static str,
    description: &'static str,
    /// The weights.
    pub weights: SerialWeights,
}

/// The activation quantizer every variant here uses: int8 per token.
pub fn act_spec() -> OperandSpec {
    int_absmax(8, ScaleAxis::PerRow)
}

impl BitSerialMatmul {
    /// A variant with the given weights and a generic name (the registry's
    /// entries come from [`all`]).
    pub fn new(weights: SerialWeights) -> Self {
        let name = match weights {
            SerialWeights::Bitmod(4) => "matmul/bitmod-w4",
            SerialWeights::Bitmod(_) => "matmul/bitmod-w3",
            SerialWeights::Int(4) => "matmul/bitserial-w4a8",
            SerialWeights::Int(_) => "matmul/bitserial-w8a8",
        };
        BitSerialMatmul {
            name,
            description: "",
            weights,
        }
    }

    /// The integer weight quantizer of an `Int` variant.
    fn int_spec(bits: u32) -> OperandSpec {
        if bits == 8 {
            int_absmax(8, ScaleAxis::PerRow)
        } else {
            int_absmax(bits, ScaleAxis::Group(GROUP))
        }
    }

    /// The PE this variant models.
    pub fn pe(&self) -> PeConfig {
        match self.weights {
            SerialWeights::Bitmod(b) => PeConfig::bitmod(b),
            SerialWeights::Int(b) => PeConfig::int(b),
        }
    }

    /// Weights as the kernel and the PE take them: integer codes with group
    /// scales (BitMoD, INT4) or per-channel scales (INT8).
    pub fn quantize_weights_q(&self, w: &Matrix) -> QOperand {
        match self.weights {
            SerialWeights::Bitmod(bits) => {
                let q = datatypes::quantize(w, bits, GROUP);
                QOperand {
                    rows: q.rows,
                    k: q.k,
                    values: Values::Int(q.values),
                    group: GROUP,
                    inner: Some(q.scales),
                    outer: None,
                }
            }
            SerialWeights::Int(bits) => Self::int_spec(bits).quantize(w, true),
        }
    }

    /// Activations as the kernel and the PE take them.
    pub fn quantize_acts_q(&self, a: &Matrix) -> QOperand {
        act_spec().quantize(a, true)
    }

    fn group(&self) -> usize {
        match self.weights {
            SerialWeights::Bitmod(_) => GROUP,
            SerialWeights::Int(8) => 0,
            SerialWeights::Int(_) => GROUP,
        }
    }
}

impl MatmulVariant for BitSerialMatmul {
    fn info(&self) -> VariantInfo {
        let int = |bits| {
            ElementFormat::Int(IntFormat {
                kind: IntKind::Signed {
                    bits,
                    symmetric: false,
                },
            })
        };
        let (weight_desc, formats, storage) = match self.weights {
            SerialWeights::Bitmod(b) => (
                format!("bitmod{b} g{GROUP} (ER±/EA± per group, fp16 scale)"),
                // BitMoD values are not in the format grammar: only int8 is.
                vec![int(8)],
                WeightStorage::Fixed(datatypes::bits_per_weight(b, GROUP)),
            ),
            SerialWeights::Int(b) => {
                let spec = Self::int_spec(b);
                let formats = if b == 8 {
                    vec![int(8)]
                } else {
                    vec![int(b), int(8)]
                };
                (
                    spec.describe("channel"),
                    formats,
                    WeightStorage::Operand(spec),
                )
            }
        };
        VariantInfo {
            name: self.name,
            family: Family::BitSerial,
            description: self.description,
            weight_desc,
            act_desc: act_spec().describe("token"),
            accumulator: match self.group() {
                0 => "int32".into(),
                g => format!("int32 per {g}-group, f32 across groups"),
            },
            formats,
            storage,
        }
    }

    fn quantize_weights(&self, w: &Matrix) -> Matrix {
        match self.weights {
            SerialWeights::Bitmod(b) => datatypes::quantize(w, b, GROUP).dequantize(),
            SerialWeights::Int(b) => Self::int_spec(b).dequantize(w),
        }
    }

    /// Deterministic: `seed` is unused.
    fn emulate(&self, a: &Matrix, w: &Matrix, _seed: u64) -> Vec<f64> {
        assert_eq!(
            a.cols, w.cols,
            "{}: A is m×k and W is n×k with the same k",
            self.name
        );
        kernel::matmul(&self.quantize_acts_q(a), &self.quantize_weights_q(w))
    }

    fn cost(&self, shape: Shape) -> Cost {
        let Shape { m, k, n } = shape;
        let pe = self.pe();
        let macs = shape.macs();
        let outputs = m as f64 * n as f64;
        let mut c = Cost {
            macs,
            ..Default::default()
        };
        let steps = pe.cycles_per_load() as f64;
        c.add(
            OpKind::IntAdd {
                bits: 8 + pe.bits_per_cycle,
            },
            macs * steps,
        );
        c.add(OpKind::IntAdd { bits: 32 }, macs);
        let group = self.group();
        if group != 0 {
            let groups = k.div_ceil(group) as f64;
            c.add(
                OpKind::IntAdd { bits: 32 },
                outputs * groups * pe.dequant_cycles() as f64,
            );
            c.add(OpKind::F32_ADD, outputs * groups);
        }
        let outer = if group == 0 { 2.0 } else { 1.0 };
        c.add(OpKind::F32_MUL, outputs * outer);
        (c.dram_bytes, c.sram_bytes) = traffic(
            shape,
            self.bits_per_weight(k),
            act_spec().bits_per_element(k),
            4.0,
        );
        c
    }

    fn native(&self) -> Option<Box<dyn NativeMatmul>> {
        match self.weights {
            SerialWeights::Bitmod(bits) => Some(Box::new(PackedNative::new(
                self.name,
                BitmodPacker { bits },
            ))),
            // The emulation is the int32 kernel on the same quantizers as
            // `matmul/w4a8-int` / `matmul/w8a8-int` (exact group sums, the
            // same f32 fold): the integer family's kernel computes it.
            SerialWeights::Int(bits) => NativeQuant::of(
                self.name,
                &Self::int_spec(bits),
                &act_spec(),
                Datapath::Int32,
            )
            .map(|k| Box::new(k) as Box<dyn NativeMatmul>),
        }
    }
}

/// The packing of a BitMoD variant's native kernel: the variant's own
/// quantizer, its stored codes, decoded into the integer kernel's panels.
#[derive(Debug, Clone, Copy)]
pub struct BitmodPacker {
    bits: u32,
}

impl Packer for BitmodPacker {
    type Kernel = BitmodKernel;

    fn pack(&self, w: &Matrix) -> BitmodKernel {
        BitmodKernel::pack(&BitmodCodes::encode(&datatypes::quantize(
            w, self.bits, GROUP,
        )))
    }

    fn base(&self) -> Base {
        Base::Int8Dot
    }

    /// The integer family's AVX-512 VNNI GEMM step.
    fn top_isa(&self) -> IsaLevel {
        IsaLevel::Avx512
    }
}

/// The variants of this family, in display order.
pub fn all() -> Vec<Box<dyn MatmulVariant>> {
    let v = |name, description, weights| {
        Box::new(BitSerialMatmul {
            name,
            description,
            weights,
        }) as Box<dyn MatmulVariant>
    };
    vec![
        v("matmul/bitmod-w4",
          "BitMoD W4 bit-serial PE: per-group ER±/EA± 4-bit types (g128, fp16 scale), int8 per-token A, exact group sums, f32 acc",
          SerialWeights::Bitmod(4)),
        v("matmul/bitmod-w3",
          "BitMoD W3 bit-serial PE: per-group ER±/EA± 3-bit types (g128, fp16 scale), int8 per-token A, exact group sums, f32 acc",
          SerialWeights::Bitmod(3)),
        v("matmul/bitserial-w4a8",
          "bit-serial INT4 PE (2 bits/cycle): int4 g128 W, int8 per-token A, exact group sums, shift-and-add rescale, f32 acc",
          SerialWeights::Int(4)),
        v("matmul/bitserial-w8a8",
          "bit-serial INT8 PE (2 bits/cycle): int8 per-channel W, int8 per-token A, int32 acc, (acc·sa)·sw",
          SerialWeights::Int(8)),
    ]
}
