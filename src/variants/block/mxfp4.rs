//! `matmul/mxfp4-q8`: OCP MXFP4 weights × ggml Q8_0 activations
//! (`ggml_vec_dot_mxfp4_q8_0_generic`, how gpt-oss-class models run MXFP4
//! on CPUs): `sumf += (d_a · 2^(X−1)) · isum` per 32-block, the E2M1
//! elements as the integers `2·e2m1` (ggml's `kvalues_mxfp4`) and the ½
//! folded into the scale.
//!
//! Its weights are quantized by the OCP MX rule of [`crate::formats::mx`]
//! (floor of the exponent bits; ggml's `quantize_row_mxfp4_ref` takes
//! `floorf(log2f(amax))`, one too large just below a power of two), and
//! E8M0 0xFF (a block holding inf or NaN) decodes as NaN per OCP, where
//! ggml decodes it as 2^127. One 4-bit × int8 multiply per MAC; bytes: W
//! at 4.25 bits, A at 8.5 (see [`super::q8_0`] for the activations).

use super::q8_0::source_dot;
use super::BlockVariant;
use crate::formats::ggml::QK;
use crate::formats::{parse, ConvertOptions, Format};
use crate::kernels::block::mxfp4::{e8m0_half, Mxfp4, E2M1_X2};
use crate::kernels::block::Source;
use crate::tensor::Matrix;

/// `w` quantized to OCP MXFP4 rows.
fn mx_blocks(w: &Matrix) -> crate::formats::mx::BlockTensor {
    let Ok(Format::Block(fmt)) = parse("mxfp4") else {
        unreachable!("mxfp4 is a block format")
    };
    // An empty matrix has no rows for the quantizer to check.
    crate::formats::mx::quantize(&fmt, &ConvertOptions::default(), &w.data, w.cols.max(1))
        .expect("mxfp4 quantizes any f32 rows")
}

impl BlockVariant for Mxfp4 {
    const NAME: &'static str = "matmul/mxfp4-q8";
    const DESCRIPTION: &'static str = "OCP MXFP4 weights (E2M1, 32, E8M0 floor rule) × ggml Q8_0 activations: int32 block dot of 2·e2m1 × int8, sumf += (da·2^(X-1))·isum in f32 (ggml's generic mxfp4 dot); E8M0 0xFF is NaN (ggml: 2^127)";
    const WEIGHT_DESC: &'static str = "mxfp4 (e2m1, 32, e8m0)";
    const FORMATS: &'static [&'static str] = &["e2m1", "int8"];
    const MUL_BITS: u32 = 4;
    /// E2M1 codes 0..=15 and E8M0 bytes.
    type Weights = Source;

    fn bits_per_weight() -> f64 {
        4.25
    }

    fn quantize(w: &Matrix) -> Source {
        let (rows, k) = (w.rows, w.cols);
        let nb = k.div_ceil(QK);
        let mut codes = vec![0i8; rows * nb * QK];
        let mut scales = vec![0u16; rows * nb];
        if rows * k > 0 {
            let t = mx_blocks(w);
            for r in 0..rows {
                for kk in 0..k {
                    codes[r * nb * QK + kk] = t.codes[r * k + kk] as i8;
                }
                for b in 0..nb {
                    scales[r * nb + b] = t.scales[r * nb + b] as u16;
                }
            }
        }
        Source {
            rows,
            k,
            nb,
            codes,
            scales,
        }
    }

    fn quantize_weights(w: &Matrix) -> Vec<f32> {
        mx_blocks(w).dequantize()
    }

    fn block_dot(q: &Source, row: usize, b: usize, y: &[i8]) -> i32 {
        source_dot(q, row, b, y, |c| E2M1_X2[c as usize & 0x0F] as i32)
    }

    fn weight_scale(q: &Source, row: usize, b: usize) -> f32 {
        e8m0_half(q.scales[row * q.nb + b] as u8)
    }

    fn source(q: Source) -> Source {
        q
    }
}
