//! Native kernels for quantized matmul variants: which kernel of
//! [`crate::kernels`] computes a variant, and the glue that quantizes and
//! packs its weights (once, with the variant's own quantizer) and hands each
//! product to the kernel (which quantizes activations inside, with a fast
//! twin of the variant's activation quantizer).
//!
//! A variant has a native kernel when its operands are ones the kernel
//! families take:
//! - int32 datapath, int8 (or narrower symmetric: int4, ...) per-token
//!   activations, integer weights (int8/4/2, ternary, binary; any scale
//!   layout): [`IntKernel`] (narrower activation codes are int8 values too,
//!   so only the in-product quantizer's clamp differs);
//! - int32 datapath, binary weights and binary activations: [`XnorKernel`];
//! - f32 (or fused f32) datapath, f32 / bf16 / fp16 activations without
//!   scales, f32 / bf16 / fp16 / absmax-integer weights: [`FloatKernel`];
//! - the same datapath with scaled low-bit activations and weights (FP8,
//!   FP6, FP4 with per-tensor or per-group f32 scales, the MX formats,
//!   NVFP4): [`FloatKernel`] too. Products of such elements are exact in f32,
//!   so the element codes are decoded to their values once (by the variant's
//!   own quantizer, whose decode is the format's table) and stored in one
//!   byte each, in the first [`ByteCode`] that holds them all exactly (bf16
//!   should a weight be non-finite); the kernel sums each
//!   output in K order and folds both operands' scales in the emulation's
//!   order ([`ActScales`]). Activations are quantized inside the product by
//!   the variant's own quantizer (no separate twin to keep equal). A new
//!   scaled format is one registry entry: nothing here names a format.

use super::datapath::Datapath;
use super::operand::{OperandSpec, ScaleAxis};
use super::packed::{PackedNative, Packer};
use super::NativeMatmul;
use crate::formats::{ElementFormat, IntKind};
use crate::isa::IsaLevel;
use crate::kernels::bytecode::e2m1_code;
use crate::kernels::float::{ActCast, ActScales, FloatKernel, FloatSum};
use crate::kernels::int8::IntKernel;
use crate::kernels::pack::{ByteCode, FloatPanels, FloatStorage, IntPanels};
use crate::kernels::sat16::Sat16Kernel;
use crate::kernels::xnor::XnorKernel;
use crate::kernels::{Base, Bias, OutElem};
use crate::tensor::{Matrix, Values};

/// Which kernel family runs a variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Int,
    Xnor,
    Float { act: ActCastKind, sum: FloatSum },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ActCastKind {
    F32,
    Cast,
    /// Quantized with scales by the variant's activation quantizer.
    Scaled,
}

/// Packed weights of one family.
#[derive(Debug, Clone)]
enum Packed {
    Int(IntKernel),
    Xnor(XnorKernel),
    Float(FloatKernel),
}

/// The parts of a quantized matmul variant its kernel needs.
#[derive(Debug, Clone)]
struct Spec {
    name: &'static str,
    weight: OperandSpec,
    act: OperandSpec,
}

/// A quantized matmul variant's native kernel.
#[derive(Debug, Clone)]
pub struct NativeQuant {
    spec: Spec,
    family: Family,
    packed: Option<Packed>,
}

/// Significant bits of the values an operand hands a float datapath
/// (`None`: not a float-kernel operand).
fn significand_bits(spec: &OperandSpec) -> Option<u32> {
    match spec {
        OperandSpec::F32 => Some(24),
        OperandSpec::Cast(f) => Some(f.mbits + 1),
        OperandSpec::AbsMax { element, .. } => element_significand_bits(element),
        // MX / NVFP4 elements (MXINT8's implicit 2^-6 is a power of two).
        OperandSpec::Block(b) => element_significand_bits(&b.element),
        _ => None,
    }
}

/// Significant bits of an element format's values: a minifloat's mantissa
/// plus its hidden bit, a signed integer's magnitude bits.
fn element_significand_bits(e: &ElementFormat) -> Option<u32> {
    match e {
        ElementFormat::Float(f) => Some(f.mbits + 1),
        ElementFormat::Int(i) => match i.kind {
            IntKind::Signed { bits, .. } => Some(bits - 1),
            _ => None,
        },
    }
}

/// Whether an activation quantizer's values and scales fit the float
/// kernel: a scaled minifloat, integer or block element, with inner groups
/// (if any) equal to the weights'.
fn scaled_act(act: &OperandSpec, weight: &OperandSpec) -> bool {
    matches!(act, OperandSpec::AbsMax { .. } | OperandSpec::Block(_))
        && significand_bits(act).is_some()
        && (act.inner_group() == 0 || act.inner_group() == weight.inner_group())
}

/// The largest activation code of an integer-kernel activation quantizer:
/// symmetric absmax per row, 2 to 8 bits (`2^(bits−1) − 1`: int8 → 127,
/// int4 → 7); `None` for any other quantizer.
fn int_act_max(act: &OperandSpec) -> Option<i8> {
    (2..=8u32)
        .find(|&bits| *act == super::operand::int_absmax(bits, ScaleAxis::PerRow))
        .map(|bits| ((1u32 << (bits - 1)) - 1) as i8)
}

/// Storage bits per weight code in the integer kernel: the element's width
/// (int8 → 8, int4 → 4, int2 and ternary → 2, binary → 1).
fn storage_bits(spec: &OperandSpec) -> u32 {
    match spec.element() {
        Some(ElementFormat::Int(i)) => match i.kind {
            IntKind::Binary => 1,
            IntKind::Ternary => 2,
            _ => match i.bits() {
                1 => 1,
                2 => 2,
                3 | 4 => 4,
                _ => 8,
            },
        },
        _ => 8,
    }
}

impl NativeQuant {
    /// Whether every product of the two operands fits in 24 significant
    /// bits (exact in f32), so a float datapath may fuse it.
    fn short_products(&self) -> bool {
        significand_bits(&self.spec.weight).unwrap_or(24)
            + significand_bits(&self.spec.act).unwrap_or(24)
            <= 24
    }

    /// The native kernel of the variant `name` (weight and activation
    /// quantizers, datapath), if a kernel family takes its operands.
    pub fn of(
        name: &'static str,
        weight: &OperandSpec,
        act: &OperandSpec,
        datapath: Datapath,
    ) -> Option<NativeQuant> {
        let spec = Spec {
            name,
            weight: *weight,
            act: *act,
        };
        let family = match datapath {
            Datapath::Int32 if int_act_max(&spec.act).is_some() && spec.weight.is_int() => {
                Family::Int
            }
            Datapath::Int32 => match (&spec.act, &spec.weight) {
                (
                    OperandSpec::AbsMean {
                        element: a,
                        axis: ScaleAxis::PerRow,
                    },
                    OperandSpec::AbsMean {
                        element: w,
                        axis: ScaleAxis::PerRow,
                    },
                ) if a.kind == IntKind::Binary && w.kind == IntKind::Binary => Family::Xnor,
                _ => return None,
            },
            Datapath::F32 | Datapath::F32Fused => {
                let act = match spec.act {
                    OperandSpec::F32 => ActCastKind::F32,
                    OperandSpec::Cast(_) => ActCastKind::Cast,
                    _ if scaled_act(&spec.act, &spec.weight) => ActCastKind::Scaled,
                    _ => return None,
                };
                significand_bits(&spec.weight)?;
                let sum = if datapath == Datapath::F32Fused {
                    FloatSum::Fused
                } else {
                    FloatSum::MulAdd
                };
                Family::Float { act, sum }
            }
            Datapath::F64 => return None,
        };
        Some(NativeQuant {
            spec,
            family,
            packed: None,
        })
    }

    /// The integer or float product written into `out` (`m × n`) as f32
    /// or f64 (both families finish every output in f32), plus `bias`.
    fn product<T: OutElem>(&self, a: &Matrix, bias: Bias, out: &mut [T]) {
        match self.packed() {
            Packed::Int(k) => {
                assert_eq!(
                    a.cols,
                    k.weights().groups.k,
                    "{}: K differs",
                    self.spec.name
                );
                k.matmul_into(&a.data, a.rows, bias, out)
            }
            Packed::Xnor(_) => unreachable!("the XNOR kernel returns f64"),
            Packed::Float(k) => {
                assert_eq!(a.cols, k.weights().k, "{}: K differs", self.spec.name);
                if !matches!(
                    self.family,
                    Family::Float {
                        act: ActCastKind::Scaled,
                        ..
                    }
                ) {
                    return k.matmul_into(&a.data, a.rows, bias, out);
                }
                // The emulation's own activation quantizer: the same codes
                // and scales by construction.
                let q = self.spec.act.quantize(a, false);
                let Values::F32(v) = &q.values else {
                    unreachable!("float datapaths quantize to f32 values")
                };
                let sa = ActScales {
                    inner: q.inner.as_deref(),
                    outer: q.outer.as_deref(),
                };
                k.matmul_scaled_into(v, a.rows, &sa, bias, out)
            }
        }
    }

    fn packed(&self) -> &Packed {
        self.packed
            .as_ref()
            .unwrap_or_else(|| panic!("{}: pack_weights before matmul", self.spec.name))
    }
}

impl NativeMatmul for NativeQuant {
    fn pack_weights(&mut self, w: &Matrix) {
        let int = matches!(self.family, Family::Int | Family::Xnor);
        let q = self.spec.weight.quantize(w, int);
        self.packed = Some(match self.family {
            Family::Int => Packed::Int(
                IntKernel::new(IntPanels::pack(&q, storage_bits(&self.spec.weight)))
                    .with_act_max(int_act_max(&self.spec.act).expect("an integer-kernel act")),
            ),
            Family::Xnor => {
                let Values::Int(v) = &q.values else {
                    unreachable!("binary weights quantize to integers")
                };
                let scales = q.outer.as_deref().expect("absmean has row scales");
                Packed::Xnor(XnorKernel::pack(v, q.rows, q.k, scales))
            }
            Family::Float { act, sum } => {
                let Values::F32(v) = &q.values else {
                    unreachable!("float datapaths quantize to f32 values")
                };
                let act = match (act, self.spec.act) {
                    (ActCastKind::Cast, OperandSpec::Cast(f)) => ActCast::Cast(f),
                    _ => ActCast::F32,
                };
                let short = self.short_products();
                let storage = match self.spec.weight {
                    OperandSpec::Cast(f) if f == crate::formats::parse::FP16 => FloatStorage::F16,
                    OperandSpec::Cast(f) if f == crate::formats::parse::BF16 => FloatStorage::Bf16,
                    // FP4 E2M1 elements (and any weights that are all E2M1
                    // values) take half a byte; integer codes and minifloat /
                    // block elements of ≤ 8 significant bits (int8, FP8,
                    // FP6, MXINT8's int8·2^-6) fit a one-byte code; should a
                    // value not (a non-finite weight), they are exact in
                    // bf16: e5m2's smallest subnormal 2^-16 is far inside
                    // its range.
                    OperandSpec::AbsMax { .. } | OperandSpec::Block(_) => {
                        if v.iter().all(|&x| e2m1_code(x).is_some()) {
                            FloatStorage::Nibble
                        } else {
                            ByteCode::fit(v).map_or(FloatStorage::Bf16, FloatStorage::Byte)
                        }
                    }
                    _ => FloatStorage::F32,
                };
                Packed::Float(FloatKernel::new(
                    FloatPanels::pack(&q, v, storage),
                    sum,
                    act,
                    short,
                ))
            }
        });
    }

    fn matmul(&self, a: &Matrix) -> Vec<f64> {
        let n = match self.packed() {
            Packed::Xnor(k) => return k.matmul(&a.data, a.rows),
            Packed::Int(k) => k.weights().n,
            Packed::Float(k) => k.weights().n,
        };
        let mut out = vec![0f64; a.rows * n];
        self.product(a, None, &mut out);
        out
    }

    fn matmul_into(&self, a: &Matrix, bias: Bias, out: &mut [f32]) {
        if let Packed::Xnor(k) = self.packed() {
            return super::f64_into(&k.matmul(&a.data, a.rows), a.rows, bias, out);
        }
        self.product(a, bias, out);
    }

    fn base(&self) -> Base {
        match self.family {
            Family::Int => Base::Int8Dot,
            Family::Xnor => Base::Popcount,
            Family::Float {
                sum: FloatSum::Fused,
                ..
            } => Base::F32Fma,
            Family::Float { .. } => {
                // Short products run fused when the range check passes (the
                // common case); f32 inputs always multiply, then add.
                if self.short_products() {
                    Base::F32Fma
                } else {
                    Base::F32MulAdd
                }
            }
        }
    }

    fn weight_bytes(&self) -> usize {
        match &self.packed {
            None => 0,
            Some(Packed::Int(k)) => k.weights().bytes(),
            Some(Packed::Xnor(k)) => k.bytes(),
            Some(Packed::Float(k)) => k.weights().bytes(),
        }
    }

    fn top_isa(&self) -> IsaLevel {
        match self.family {
            // The float tiles have an AVX-512 path (two panels per zmm);
            // the integer GEMM one where the CPU has VNNI.
            Family::Float { .. } | Family::Int => IsaLevel::Avx512,
            Family::Xnor => IsaLevel::Avx2,
        }
    }
}

/// The packing of `matmul/w8a8-int16-sat`'s native kernel: int8 per-row
/// operands into a saturating int16 register ([`Sat16Kernel`]).
#[derive(Debug, Clone)]
pub struct Sat16Packer {
    weight: OperandSpec,
}

impl Sat16Packer {
    /// The kernel for an accumulator variant, if its operands are int8 per
    /// row on both sides and its register is a saturating int16.
    pub fn of(
        name: &'static str,
        weight: &OperandSpec,
        act: &OperandSpec,
        acc: &crate::arith::accum::Acc,
    ) -> Option<PackedNative<Sat16Packer>> {
        use crate::arith::accum::{Acc, IntOverflow};
        let int8 = super::operand::int_absmax(8, ScaleAxis::PerRow);
        let sat16 = Acc::Int {
            bits: 16,
            overflow: IntOverflow::Saturate,
        };
        (*weight == int8 && *act == int8 && *acc == sat16)
            .then(|| PackedNative::new(name, Sat16Packer { weight: *weight }))
    }
}

impl Packer for Sat16Packer {
    type Kernel = Sat16Kernel;

    fn pack(&self, w: &Matrix) -> Sat16Kernel {
        let q = self.weight.quantize(w, true);
        let Values::Int(v) = &q.values else {
            unreachable!("int8 weights quantize to integers")
        };
        let scales = q.outer.as_deref().expect("per-row scales");
        Sat16Kernel::pack(v, q.rows, q.k, scales)
    }

    fn base(&self) -> Base {
        Base::Int16Sat
    }
}
