//! `matmul/q4_0`: ggml Q4_0 × Q8_0 (`ggml_vec_dot_q4_0_q8_0_generic`):
//! `sumf += (isum · d_w) · d_a` per 32-block, the codes `field − 8` of
//! `quantize_row_q4_0_ref`. One 4-bit × int8 multiply per MAC; bytes: W at
//! 4.5 bits, A at 8.5 (see [`super::q8_0`] for the quantizers and order).

use super::q8_0::GgmlVariant;
use crate::formats::ggml::GgmlBlock;
use crate::kernels::block::q4_0::Q4_0;

impl GgmlVariant for Q4_0 {
    const KIND: GgmlBlock = GgmlBlock::Q4_0;
    const NAME: &'static str = "matmul/q4_0";
    const DESCRIPTION: &'static str = "ggml Q4_0 (32-blocks, 4-bit offset 8, fp16 max/-8 scale) × Q8_0: int32 block dot, sumf += (isum·dw)·da in f32, blocks in k order (ggml's generic C path, unfused)";
    const WEIGHT_DESC: &'static str = "Q4_0: 4-bit g32 (offset 8), fp16 max/-8 scale";
    const FORMATS: &'static [&'static str] = &["int4", "int8"];
    const MUL_BITS: u32 = 4;
}
