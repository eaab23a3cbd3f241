//! Kernel-shaped variants of ggml's block formats, one per
//! [`BlockFormat`] of [`crate::kernels::block`]: `matmul/q8_0`,
//! `matmul/q4_0`, `matmul/mxfp4-q8` (× Q8_0 activations) and
//! `matmul/tq2_0`, `matmul/tq1_0` (× Q8_K), whose arithmetic is that of
//! ggml's CPU dot products, so their accuracy is what those kernels compute
//! and their speed is measured beside the rest.
//!
//! One scaffold ([`BlockMatmul`]) does what they share: weights quantized
//! by the format's reference quantizer, activations by the format's
//! activation quantizer, then per output and per block in K order the
//! exact int32 dot of the codes, folded into an f32 as ggml's *generic* C
//! path writes it (the kernel format's [`BlockFormat::FOLD`], a separate
//! multiply and add); the cost and traffic model; the native kernel
//! ([`BlockKernel`]), which reproduces the emulation bit for bit. A format
//! is one [`BlockVariant`] impl in its own file ([`mxfp4`], [`tq2_0`],
//! [`tq1_0`]): its names, its quantizer and its reference block dot, which
//! reads the quantized weights as ggml does, not through the kernel's
//! packing. [`q8_0`] and [`q4_0`], whose weights are ggml's own blocks, are
//! one [`q8_0::GgmlVariant`] impl each: their constants.
//!
//! Cost per MAC: one `MUL_BITS`-bit × int8 multiply and one int32 add; per
//! output and block: an int32 → f32 conversion (not counted), two f32
//! multiplies and one f32 add. Bytes: the shared traffic model with the
//! format's bits per weight and the activation format's bits per element.

pub mod mxfp4;
pub mod q4_0;
pub mod q8_0;
pub mod tq1_0;
pub mod tq2_0;

use super::info::{Family, VariantInfo, WeightStorage};
use super::packed::{PackedNative, Packer};
use super::quant_matmul::traffic;
use super::{MatmulVariant, NativeMatmul, Shape};
use crate::formats::parse;
use crate::hw::cost::{Cost, OpKind};
use crate::isa::IsaLevel;
use crate::kernels::block::{self as kb, ActFormat, BlockFormat, BlockKernel, Source};
use crate::kernels::Base;
use crate::tensor::Matrix;
use std::marker::PhantomData;

/// A block format as a variant: what [`BlockMatmul`] needs beyond the
/// kernel's [`BlockFormat`].
pub trait BlockVariant: BlockFormat {
    /// Registry name.
    const NAME: &'static str;
    /// One-line description.
    const DESCRIPTION: &'static str;
    /// The weights' format, for listings.
    const WEIGHT_DESC: &'static str;
    /// Element formats the variant uses (parsed by [`parse::parse_element`]).
    const FORMATS: &'static [&'static str];
    /// Bits of a weight code at the multiplier (× an int8 activation).
    const MUL_BITS: u32;
    /// The quantized weights as the emulation reads them.
    type Weights;

    /// Storage bits per weight (codes and scales).
    fn bits_per_weight() -> f64;
    /// Quantizes `w` (`n × k`) by the format's reference quantizer.
    fn quantize(w: &Matrix) -> Self::Weights;
    /// `w` quantized and dequantized, as the format's dequantizer computes it.
    fn quantize_weights(w: &Matrix) -> Vec<f32>;
    /// The exact int32 dot of block `b` of row `row` with the block's
    /// activation codes `y` (QK), read as ggml's generic dot reads it.
    fn block_dot(q: &Self::Weights, row: usize, b: usize, y: &[i8]) -> i32;
    /// The weight scale of block `b` of row `row` as f32.
    fn weight_scale(q: &Self::Weights, row: usize, b: usize) -> f32;
    /// The quantized weights as the kernel packs them.
    fn source(q: Self::Weights) -> Source;
}

/// A ggml block-format matmul in format `F` (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct BlockMatmul<F: BlockVariant> {
    format: PhantomData<F>,
}

/// The registered block variants, in display order.
pub fn all() -> Vec<Box<dyn MatmulVariant>> {
    fn v<F: BlockVariant>() -> Box<dyn MatmulVariant> {
        Box::new(BlockMatmul::<F> {
            format: PhantomData,
        })
    }
    vec![
        v::<kb::q8_0::Q8_0>(),
        v::<kb::q4_0::Q4_0>(),
        v::<kb::mxfp4::Mxfp4>(),
        v::<kb::tq2_0::Tq2_0>(),
        v::<kb::tq1_0::Tq1_0>(),
    ]
}

impl<F: BlockVariant> MatmulVariant for BlockMatmul<F> {
    fn info(&self) -> VariantInfo {
        VariantInfo {
            name: F::NAME,
            family: Family::Ggml,
            description: F::DESCRIPTION,
            weight_desc: F::WEIGHT_DESC.to_string(),
            act_desc: F::Act::DESC.to_string(),
            accumulator: "int32 per block, f32".to_string(),
            formats: F::FORMATS
                .iter()
                .map(|f| parse::parse_element(f).expect("int formats parse"))
                .collect(),
            storage: WeightStorage::Fixed(F::bits_per_weight()),
        }
    }

    fn quantize_weights(&self, w: &Matrix) -> Matrix {
        Matrix::new(w.rows, w.cols, F::quantize_weights(w))
    }

    /// Deterministic: `seed` is unused.
    fn emulate(&self, a: &Matrix, w: &Matrix, _seed: u64) -> Vec<f64> {
        assert_eq!(
            a.cols,
            w.cols,
            "{}: A is m×k and W is n×k with the same k",
            F::NAME
        );
        let qk = F::Act::QK;
        let qa = F::Act::quantize(&a.data, a.rows, a.cols);
        let qw = F::quantize(w);
        let nb = qa.nb;
        let mut out = Vec::with_capacity(a.rows * w.rows);
        for i in 0..a.rows {
            for j in 0..w.rows {
                let mut sumf = 0f32;
                for b in 0..nb {
                    let y = &qa.codes[(i * nb + b) * qk..(i * nb + b + 1) * qk];
                    let isum = F::block_dot(&qw, j, b, y);
                    sumf = F::FOLD.apply(sumf, isum, F::weight_scale(&qw, j, b), qa.d[i * nb + b]);
                }
                out.push(sumf as f64);
            }
        }
        out
    }

    fn cost(&self, shape: Shape) -> Cost {
        let Shape { m, k, n } = shape;
        let macs = shape.macs();
        let blocks = m as f64 * n as f64 * k.div_ceil(F::Act::QK) as f64;
        let mut c = Cost {
            macs,
            ..Default::default()
        };
        c.add(
            OpKind::IntMul {
                a: F::MUL_BITS,
                b: 8,
            },
            macs,
        );
        c.add(OpKind::IntAdd { bits: 32 }, macs);
        c.add(OpKind::F32_MUL, 2.0 * blocks);
        c.add(OpKind::F32_ADD, blocks);
        (c.dram_bytes, c.sram_bytes) = traffic(shape, F::bits_per_weight(), F::Act::bits(), 4.0);
        c
    }

    fn native(&self) -> Option<Box<dyn NativeMatmul>> {
        Some(Box::new(PackedNative::new(
            F::NAME,
            BlockPacker::<F> {
                format: PhantomData,
            },
        )))
    }
}

/// The packing of a [`BlockMatmul`]'s native kernel.
#[derive(Debug, Clone, Copy)]
pub struct BlockPacker<F: BlockVariant> {
    format: PhantomData<F>,
}

impl<F: BlockVariant> Packer for BlockPacker<F> {
    type Kernel = BlockKernel<F>;

    fn pack(&self, w: &Matrix) -> BlockKernel<F> {
        BlockKernel::pack(&F::source(F::quantize(w)))
    }

    fn base(&self) -> Base {
        Base::Int8Dot
    }

    /// The block kernels have an AVX-512 VNNI tile.
    fn top_isa(&self) -> IsaLevel {
        IsaLevel::Avx512
    }
}
