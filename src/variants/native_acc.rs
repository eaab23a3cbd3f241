//! Native kernels of the variants whose registers are not
//! plain f32 sums of rounded products:
//! - [`Fp16AccPacker`]: `matmul/fp16-acc-fp16` (fp16 operands, an fp16
//!   register rounding RNE after every add) on [`Fp16AccKernel`];
//! - [`LmulPacker`]: `matmul/lmul-carry-bf16` and `matmul/lmul-literal-bf16`
//!   (bf16 operands, L-Mul products, f32 sum in K order) on [`LmulKernel`].
//!
//! - [`LmulE4m3Native`]: `matmul/lmul-{carry,literal}-e4m3` (E4M3 absmax operands,
//!   L-Mul products into e8m3, f32 sum in K order, both scales) on
//!   [`LmulKernel`]'s widened lanes.
//!
//! - [`Fp8AccNative`]: the E4M3 accumulator variants (`matmul/fp8-e4m3-exact`,
//!   `matmul/fp8-e4m3-acc-e8m13`, `matmul/fp8-e4m3-chunk128`) on [`Fp8AccKernel`].
//!
//! The first two pack the weights once with the variant's own quantizer (an
//! RNE cast) and leave the activation cast to the kernel; the E4M3 ones (one
//! wrapper, [`ScaledE4m3`], over either kernel) quantize activations inside
//! the product with the variant's own absmax quantizer (no separate twin to
//! keep equal) and fold both scales as the emulation does:
//! `out = (f32(acc) · sa[i]) · sw[j]`.

use super::operand::OperandSpec;
use super::operand::ScaleAxis;
use super::packed::{PackedNative, Packer};
use super::NativeMatmul;
use crate::arith::accum::{AccumSpec, Order, Product};
use crate::arith::lmul::LmulUnit;
use crate::formats::parse::{BF16, E4M3, FP16};
use crate::formats::{ElementFormat, MiniFloat};
use crate::isa::{self, IsaLevel};
use crate::kernels::fp16acc::Fp16AccKernel;
use crate::kernels::fp8acc::{Fp8AccKernel, Fp8Register};
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
    /// the unit is bf16 L-Mul (either reading) and the accumulator is f32 sequential
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

/// A kernel over the element values of E4M3 absmax operands, whose outer
/// scales its wrapper ([`ScaledE4m3`]) applies after the sum.
pub trait E4m3Kernel: Send + Sync {
    /// How weights (`n × k` E4M3 element values) are packed into it.
    type Config: Copy + Send + Sync;
    /// Packs the weights' element values.
    fn pack(cfg: Self::Config, values: &[f32], n: usize, k: usize) -> Self;
    /// `a · wᵀ` on the activations' element values (`m × k`), unscaled.
    fn product(&self, a: &[f32], m: usize) -> Vec<f64>;
    /// Reduction length.
    fn k(&self) -> usize;
    /// Output channels.
    fn n(&self) -> usize;
    /// Bytes of packed weights (codes; the scales are counted by the wrapper).
    fn bytes(&self) -> usize;
    /// The instruction the kernel's inner loop is built on.
    fn base() -> Base;
}

impl E4m3Kernel for Fp8AccKernel {
    type Config = Fp8Register;
    fn pack(reg: Fp8Register, values: &[f32], n: usize, k: usize) -> Self {
        Fp8AccKernel::pack(values, n, k, reg)
    }
    fn product(&self, a: &[f32], m: usize) -> Vec<f64> {
        self.run(a, m, isa::effective())
    }
    fn k(&self) -> usize {
        Fp8AccKernel::k(self)
    }
    fn n(&self) -> usize {
        Fp8AccKernel::n(self)
    }
    fn bytes(&self) -> usize {
        Fp8AccKernel::bytes(self)
    }
    /// A multiply and an add per MAC (the register's rounding on top).
    fn base() -> Base {
        Base::F32MulAdd
    }
}

impl E4m3Kernel for LmulKernel {
    type Config = LmulUnit;
    fn pack(unit: LmulUnit, values: &[f32], n: usize, k: usize) -> Self {
        LmulKernel::pack(unit, values, n, k)
    }
    fn product(&self, a: &[f32], m: usize) -> Vec<f64> {
        self.matmul(a, m)
    }
    fn k(&self) -> usize {
        LmulKernel::k(self)
    }
    fn n(&self) -> usize {
        LmulKernel::n(self)
    }
    fn bytes(&self) -> usize {
        LmulKernel::bytes(self)
    }
    fn base() -> Base {
        Base::LmulAdd
    }
}

/// The native kernel of a variant with E4M3 absmax operands (per tensor or
/// per row, f32 scales) on kernel `K`: weights quantized and packed once,
/// activations quantized inside the product by the variant's own quantizer,
/// then `out = (f32(acc) · sa[i]) · sw[j]` as the emulations do.
#[derive(Debug, Clone)]
pub struct ScaledE4m3<K: E4m3Kernel> {
    name: &'static str,
    cfg: K::Config,
    weight: OperandSpec,
    act: OperandSpec,
    /// The kernel and the weights' outer scales, once packed.
    packed: Option<(K, Option<Vec<f32>>)>,
}

/// The E4M3 accumulator variants (`matmul/fp8-e4m3-exact`,
/// `matmul/fp8-e4m3-acc-e8m13`, `matmul/fp8-e4m3-chunk128`): an exact or
/// e8m13 rtz register.
pub type Fp8AccNative = ScaledE4m3<Fp8AccKernel>;

/// `matmul/lmul-carry-e4m3` and `-literal-e4m3`: L-Mul products into e8m3 on [`LmulKernel`]'s
/// widened lanes, f32 sum in K order.
pub type LmulE4m3Native = ScaledE4m3<LmulKernel>;

/// Whether `s` quantizes to E4M3 elements with outer scales only.
fn e4m3_absmax(s: &OperandSpec) -> bool {
    matches!(
        s,
        OperandSpec::AbsMax {
            element: ElementFormat::Float(f),
            axis: ScaleAxis::PerTensor | ScaleAxis::PerRow,
        } if *f == E4M3
    )
}

impl ScaledE4m3<Fp8AccKernel> {
    /// The kernel for an accumulator variant, if both operands are E4M3
    /// absmax (per tensor or per row) and its spec, with exact products, is
    /// `acc=exact` (f32, RNE) in sequential order, or `acc=e8m13:rtz` in
    /// sequential order or chunks the kernel supports.
    pub fn of(
        name: &'static str,
        weight: &OperandSpec,
        act: &OperandSpec,
        spec: &AccumSpec,
    ) -> Option<Fp8AccNative> {
        if !e4m3_absmax(weight) || !e4m3_absmax(act) || spec.product != Product::Exact {
            return None;
        }
        let acc_of = |s: &str| s.parse::<AccumSpec>().ok().map(|a| a.acc);
        let reg = if Some(spec.acc) == acc_of("acc=exact") && spec.order == Order::Sequential {
            Fp8Register::Exact
        } else if Some(spec.acc) == acc_of("acc=e8m13:rtz") {
            let chunk = match spec.order {
                Order::Sequential => None,
                Order::Chunk { size } => Some(size),
                Order::Tree { .. } => return None,
            };
            Fp8Register::E8m13Rtz { chunk }
        } else {
            return None;
        };
        reg.supported().then_some(ScaledE4m3 {
            name,
            cfg: reg,
            weight: *weight,
            act: *act,
            packed: None,
        })
    }
}

/// `out[i][j] = (f32(out[i][j]) · sa[i]) · sw[j]` in f32 (`n` outputs per
/// row; a missing side is not multiplied): the emulations' order.
fn apply_outer_scales(out: &mut [f64], n: usize, sa: Option<&[f32]>, sw: Option<&[f32]>) {
    if n == 0 {
        return;
    }
    for (i, row) in out.chunks_mut(n).enumerate() {
        for (j, o) in row.iter_mut().enumerate() {
            let mut v = *o as f32;
            if let Some(s) = sa {
                v *= s[i];
            }
            if let Some(s) = sw {
                v *= s[j];
            }
            *o = v as f64;
        }
    }
}

/// The f32 element values of a float quantizer's output.
fn f32_values(v: &Values) -> &[f32] {
    match v {
        Values::F32(v) => v,
        _ => unreachable!("E4M3 elements quantize to f32 values"),
    }
}

impl<K: E4m3Kernel> NativeMatmul for ScaledE4m3<K> {
    fn pack_weights(&mut self, w: &Matrix) {
        let q = self.weight.quantize(w, false);
        let k = K::pack(self.cfg, f32_values(&q.values), w.rows, w.cols);
        self.packed = Some((k, q.outer));
    }

    fn matmul(&self, a: &Matrix) -> Vec<f64> {
        let (k, sw) = self
            .packed
            .as_ref()
            .unwrap_or_else(|| panic!("{}: pack_weights before matmul", self.name));
        assert_eq!(a.cols, k.k(), "{}: K differs", self.name);
        // The emulation's own activation quantizer: the same codes and scales.
        let q = self.act.quantize(a, false);
        let mut out = k.product(f32_values(&q.values), a.rows);
        apply_outer_scales(&mut out, k.n(), q.outer.as_deref(), sw.as_deref());
        out
    }

    fn base(&self) -> Base {
        K::base()
    }

    fn weight_bytes(&self) -> usize {
        self.packed
            .as_ref()
            .map_or(0, |(k, s)| k.bytes() + 4 * s.as_ref().map_or(0, Vec::len))
    }

    fn top_isa(&self) -> IsaLevel {
        IsaLevel::Avx2
    }
}

impl ScaledE4m3<LmulKernel> {
    /// The kernel for an L-Mul variant, if both operands are E4M3 absmax
    /// (outer scales only), the unit is E4M3 L-Mul (either reading) into e8m3 and the
    /// accumulator is f32 sequential (`f32_sequential`: the caller checks).
    pub fn of(
        name: &'static str,
        unit: &LmulUnit,
        weight: &OperandSpec,
        act: &OperandSpec,
        f32_sequential: bool,
    ) -> Option<LmulE4m3Native> {
        let ok = f32_sequential
            && e4m3_absmax(weight)
            && e4m3_absmax(act)
            && unit.format == E4M3
            && LmulKernel::supports(unit);
        ok.then_some(ScaledE4m3 {
            name,
            cfg: *unit,
            weight: *weight,
            act: *act,
            packed: None,
        })
    }
}
