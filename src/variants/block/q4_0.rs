//! `matmul/q4_0`: ggml Q4_0 × Q8_0 (`ggml_vec_dot_q4_0_q8_0_generic`):
//! `sumf += (isum · d_w) · d_a` per 32-block, the codes `field − 8` of
//! `quantize_row_q4_0_ref`. One 4-bit × int8 multiply per MAC; bytes: W at
//! 4.5 bits, A at 8.5 (see [`super::q8_0`] for the quantizers and order).

use super::q8_0::{ggml_source, source_dot};
use super::BlockVariant;
use crate::formats::ggml::{self, GgmlBlock};
use crate::kernels::block::q4_0::Q4_0;
use crate::kernels::block::Source;
use crate::tensor::Matrix;

impl BlockVariant for Q4_0 {
    const NAME: &'static str = "matmul/q4_0";
    const DESCRIPTION: &'static str = "ggml Q4_0 (32-blocks, 4-bit offset 8, fp16 max/-8 scale) × Q8_0: int32 block dot, sumf += (isum·dw)·da in f32, blocks in k order (ggml's generic C path, unfused)";
    const WEIGHT_DESC: &'static str = "Q4_0: 4-bit g32 (offset 8), fp16 max/-8 scale";
    const FORMATS: &'static [&'static str] = &["int4", "int8"];
    const MUL_BITS: u32 = 4;
    type Weights = Source;

    fn bits_per_weight() -> f64 {
        GgmlBlock::Q4_0.bits_per_weight()
    }

    fn quantize(w: &Matrix) -> Source {
        ggml_source(GgmlBlock::Q4_0, w)
    }

    fn quantize_weights(w: &Matrix) -> Vec<f32> {
        ggml::quantize(GgmlBlock::Q4_0, &w.data, w.rows, w.cols).dequantize()
    }

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
