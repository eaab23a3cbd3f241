//! `matmul/tq2_0` (BitNet b1.58 / TriLM weights as llama.cpp runs them on
//! CPUs): weights quantized by ggml's `quantize_row_tq2_0_ref` into its
//! byte layout, activations by `quantize_row_q8_K`
//! ([`crate::formats::ternary`]), and per 256-block in K order the exact
//! int32 dot of the decoded codes `c − 1` with the Q8_K codes, folded as
//! ggml's generic `ggml_vec_dot_tq2_0_q8_K` writes it: `sumf += isum · (d_a
//! · d_w)` in f32, a separate multiply and add.
//!
//! The emulation reads the block bytes exactly as ggml's generic dot does
//! (TQ2_0: `(qs[j + m] >> 2l) & 3`; TQ1_0, [`super::tq1_0`]: `(qs · 3ˡ mod
//! 256) · 3 >> 8`), so it is the obvious reference of the packed native
//! kernel, which reproduces it bit for bit. ggml's AVX2 paths sum each
//! block in 8 f32 lanes and add them at the end, so their bits differ from
//! these (and from ggml's own generic path).
//!
//! ggml requires K to be a multiple of 256; a ragged K is padded here as
//! the Q8_0 / Q4_0 variants pad theirs (see [`crate::formats::ternary`]).
//! One 2-bit × int8 multiply per MAC; bytes: W at 2.0625 bits (TQ1_0:
//! 1.6875), A at Q8_K's 9.125 bits per element.

use super::BlockVariant;
use crate::formats::ggml::f16_to_f32;
use crate::formats::ternary::{self, Ternary, TernaryRows};
use crate::kernels::block::tq2_0::Tq2_0;
use crate::kernels::block::Source;
use crate::tensor::Matrix;

/// The ternary codes (`c` = weight + 1) and fp16 scales of `q`, as the
/// kernel packs them.
pub fn ternary_source(q: &TernaryRows) -> Source {
    let mut codes = Vec::with_capacity(q.rows * q.nb * ternary::QK_K);
    let mut scales = Vec::with_capacity(q.rows * q.nb);
    for j in 0..q.rows {
        for b in 0..q.nb {
            codes.extend(q.codes(j, b).iter().map(|&c| c as i8));
            scales.push(q.d(j, b));
        }
    }
    Source {
        rows: q.rows,
        k: q.k,
        nb: q.nb,
        codes,
        scales,
    }
}

/// ggml's generic TQ2_0 block dot (`ggml_vec_dot_tq2_0_q8_K`, C path):
/// `Σ y[4j + 32l + k] · (((qs[j + k] >> 2l) & 3) − 1)`.
fn dot_tq2_0(blk: &[u8], y: &[i8]) -> i32 {
    let mut sumi = 0i32;
    for j in (0..64).step_by(32) {
        for l in 0..4 {
            for k in 0..32 {
                let q = ((blk[j + k] >> (2 * l)) & 3) as i32 - 1;
                sumi += y[j * 4 + l * 32 + k] as i32 * q;
            }
        }
    }
    sumi
}

impl BlockVariant for Tq2_0 {
    const NAME: &'static str = "matmul/tq2_0";
    const DESCRIPTION: &'static str = "ggml TQ2_0 (256-blocks, 2-bit codes of -1/0/+1, fp16 absmax scale, lroundf) × Q8_K: int32 block dot, sumf += isum·(da·dw) in f32, blocks in k order (ggml's generic C path, unfused)";
    const WEIGHT_DESC: &'static str = "TQ2_0: ternary g256, 2 bits each, fp16 absmax scale";
    const FORMATS: &'static [&'static str] = &["int2", "int8"];
    const MUL_BITS: u32 = 2;
    type Weights = TernaryRows;

    fn bits_per_weight() -> f64 {
        Ternary::Tq2_0.bits_per_weight()
    }

    fn quantize(w: &Matrix) -> TernaryRows {
        ternary::quantize(Ternary::Tq2_0, &w.data, w.rows, w.cols)
    }

    fn quantize_weights(w: &Matrix) -> Vec<f32> {
        Self::quantize(w).dequantize()
    }

    fn block_dot(q: &TernaryRows, row: usize, b: usize, y: &[i8]) -> i32 {
        dot_tq2_0(q.block(row, b), y)
    }

    fn weight_scale(q: &TernaryRows, row: usize, b: usize) -> f32 {
        f16_to_f32(q.d(row, b))
    }

    fn source(q: TernaryRows) -> Source {
        ternary_source(&q)
    }
}
