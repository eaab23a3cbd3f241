//! `matmul/tq1_0`: ggml TQ1_0 weights (`quantize_row_tq1_0_ref`, base-3, 5
//! and 4 trits a byte) × Q8_K, ggml's generic `ggml_vec_dot_tq1_0_q8_K`:
//! `sumf += isum · (d_a · d_w)` per 256-block (see [`super::tq2_0`] for the
//! shared arithmetic and what ggml's AVX2 path does differently).

use super::tq2_0::ternary_source;
use super::BlockVariant;
use crate::formats::ggml::f16_to_f32;
use crate::formats::ternary::{self, tq1_trit, Ternary, TernaryRows};
use crate::kernels::block::tq1_0::Tq1_0;
use crate::kernels::block::Source;
use crate::tensor::Matrix;

/// ggml's generic TQ1_0 block dot (`ggml_vec_dot_tq1_0_q8_K`, C path):
/// trit `l` of each byte by `((q · 3ˡ mod 256) · 3) >> 8`, minus 1, times
/// the activation ggml's loops pair it with.
fn dot_tq1_0(blk: &[u8], y: &[i8]) -> i32 {
    let (qs, qh) = (&blk[..48], &blk[48..52]);
    let mut sum = 0i32;
    for l in 0..5 {
        for m in 0..32 {
            sum += (tq1_trit(qs[m], l) as i32 - 1) * y[l * 32 + m] as i32;
        }
    }
    for l in 0..5 {
        for m in 0..16 {
            sum += (tq1_trit(qs[32 + m], l) as i32 - 1) * y[160 + l * 16 + m] as i32;
        }
    }
    for l in 0..4 {
        for j in 0..4 {
            sum += (tq1_trit(qh[j], l) as i32 - 1) * y[240 + l * 4 + j] as i32;
        }
    }
    sum
}

impl BlockVariant for Tq1_0 {
    const NAME: &'static str = "matmul/tq1_0";
    const DESCRIPTION: &'static str = "ggml TQ1_0 (256-blocks, base-3 5 trits/byte + 4 trits/byte, fp16 absmax scale, lroundf) × Q8_K: int32 block dot, sumf += isum·(da·dw) in f32, blocks in k order (ggml's generic C path, unfused)";
    const WEIGHT_DESC: &'static str =
        "TQ1_0: ternary g256, base-3 (5 and 4 per byte), fp16 absmax scale";
    const FORMATS: &'static [&'static str] = &["int2", "int8"];
    const MUL_BITS: u32 = 2;
    type Weights = TernaryRows;

    fn bits_per_weight() -> f64 {
        Ternary::Tq1_0.bits_per_weight()
    }

    fn quantize(w: &Matrix) -> TernaryRows {
        ternary::quantize(Ternary::Tq1_0, &w.data, w.rows, w.cols)
    }

    fn quantize_weights(w: &Matrix) -> Vec<f32> {
        Self::quantize(w).dequantize()
    }

    fn block_dot(q: &TernaryRows, row: usize, b: usize, y: &[i8]) -> i32 {
        dot_tq1_0(q.block(row, b), y)
    }

    fn weight_scale(q: &TernaryRows, row: usize, b: usize) -> f32 {
        f16_to_f32(q.d(row, b))
    }

    fn source(q: TernaryRows) -> Source {
        ternary_source(&q)
    }
}
