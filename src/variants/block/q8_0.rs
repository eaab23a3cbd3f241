//! `matmul/q8_0`: ggml Q8_0 × Q8_0 (`ggml_vec_dot_q8_0_q8_0_generic`):
//! `sumf += isum · (d_w · d_a)` per 32-block.
//!
//! Weights and activations are quantized by ggml's reference quantizer
//! (`quantize_row_q8_0_ref`, [`crate::formats::ggml`]). ggml's x86 SIMD
//! paths compute other bits: they multiply the block sum by `d_w · d_a`
//! and add it with an FMA into 8 lane accumulators summed at the end (and
//! a C compiler may contract the generic path's last multiply-add into an
//! FMA too); ggml's x86 `quantize_row_q8_0` rounds activations to nearest
//! even with `id = 127 / amax` rather than the reference's `roundf` and
//! `1 / d`. The Q8_0-activation variants ([`super::q4_0`],
//! [`super::mxfp4`] too) fix the reference quantizers and the generic
//! order, unfused. Bytes: W at 8.5 bits, A at 8.5 bits per element.

use super::BlockVariant;
use crate::formats::ggml::{self, GgmlBlock, QK};
use crate::kernels::block::q8_0::Q8_0;
use crate::kernels::block::{BlockFormat, Source};
use crate::tensor::Matrix;

/// `w` quantized to ggml blocks of `kind`, as the kernel packs them.
pub fn ggml_source(kind: GgmlBlock, w: &Matrix) -> Source {
    let b = ggml::quantize(kind, &w.data, w.rows, w.cols);
    Source {
        rows: b.rows,
        k: b.k,
        nb: b.nb,
        codes: b.codes,
        scales: b.d,
    }
}

/// The dot of block `b` of row `row` of `q` with `y`, each stored code
/// standing for the integer `int(code)`.
pub fn source_dot(q: &Source, row: usize, b: usize, y: &[i8], int: fn(i8) -> i32) -> i32 {
    let at = (row * q.nb + b) * QK;
    q.codes[at..at + QK]
        .iter()
        .zip(y)
        .map(|(&c, &x)| x as i32 * int(c))
        .sum()
}

/// A block format whose weights are ggml's own reference-quantized blocks
/// read as plain integer codes ([`Q8_0`], [`crate::kernels::block::q4_0::Q4_0`]):
/// the two differ only in these constants, so one [`BlockVariant`] impl
/// serves both. Each constant is the [`BlockVariant`] one of the same name.
pub trait GgmlVariant: BlockFormat {
    /// The ggml block type: quantizer, dequantizer and bits per weight.
    const KIND: GgmlBlock;
    /// [`BlockVariant::NAME`].
    const NAME: &'static str;
    /// [`BlockVariant::DESCRIPTION`].
    const DESCRIPTION: &'static str;
    /// [`BlockVariant::WEIGHT_DESC`].
    const WEIGHT_DESC: &'static str;
    /// [`BlockVariant::FORMATS`].
    const FORMATS: &'static [&'static str];
    /// [`BlockVariant::MUL_BITS`].
    const MUL_BITS: u32;
}

impl<F: GgmlVariant> BlockVariant for F {
    const NAME: &'static str = <F as GgmlVariant>::NAME;
    const DESCRIPTION: &'static str = <F as GgmlVariant>::DESCRIPTION;
    const WEIGHT_DESC: &'static str = <F as GgmlVariant>::WEIGHT_DESC;
    const FORMATS: &'static [&'static str] = <F as GgmlVariant>::FORMATS;
    const MUL_BITS: u32 = <F as GgmlVariant>::MUL_BITS;
    type Weights = Source;

    fn bits_per_weight() -> f64 {
        F::KIND.bits_per_weight()
    }

    fn quantize(w: &Matrix) -> Source {
        ggml_source(F::KIND, w)
    }

    fn quantize_weights(w: &Matrix) -> Vec<f32> {
        ggml::quantize(F::KIND, &w.data, w.rows, w.cols).dequantize()
    }

    /// The stored codes are the integers (Q4_0's `field − 8` included).
    fn block_dot(q: &Source, row: usize, b: usize, y: &[i8]) -> i32 {
        source_dot(q, row, b, y, |c| c as i32)
    }

    fn weight_scale(q: &Source, row: usize, b: usize) -> f32 {
        ggml::f16_to_f32(q.scales[row * q.nb + b])
    }

    fn source(q: Source) -> Source {
        q
    }
}

impl GgmlVariant for Q8_0 {
    const KIND: GgmlBlock = GgmlBlock::Q8_0;
    const NAME: &'static str = "matmul/q8_0";
    const DESCRIPTION: &'static str = "ggml Q8_0 × Q8_0 (32-blocks, fp16 absmax/127 scales, roundf): int32 block dot, sumf += isum·(dw·da) in f32, blocks in k order (ggml's generic C path, unfused)";
    const WEIGHT_DESC: &'static str = "Q8_0: int8 g32, fp16 absmax/127 scale";
    const FORMATS: &'static [&'static str] = &["int8"];
    const MUL_BITS: u32 = 8;
}
