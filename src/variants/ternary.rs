//! Kernel-shaped variants of ggml's ternary block formats, `matmul/tq2_0`
//! and `matmul/tq1_0` (BitNet b1.58 / TriLM weights as llama.cpp runs them
//! on CPUs): weights quantized by ggml's `quantize_row_tq2_0_ref` /
//! `tq1_0_ref` into its byte layouts, activations by `quantize_row_q8_K`
//! ([`crate::formats::ternary`]), and per output, per 256-block in K
//! order, the exact int32 dot of the decoded codes `c − 1` with the Q8_K
//! codes, folded as ggml's *generic* C paths (`ggml_vec_dot_tq2_0_q8_K`,
//! `ggml_vec_dot_tq1_0_q8_K`) write it: `sumf += isum · (d_a · d_w)` in f32,
//! a separate multiply and add.
//!
//! The emulation reads the block bytes exactly as ggml's generic dot does
//! (TQ2_0: `(qs[j + m] >> 2l) & 3`; TQ1_0: `(qs · 3ˡ mod 256) · 3 >> 8`),
//! so it is the obvious reference of the packed native kernel
//! ([`crate::kernels::ternary`]), which reproduces it bit for bit. ggml's
//! AVX2 paths sum each block in 8 f32 lanes and add them at the end, so
//! their bits differ from these (and from ggml's own generic path).
//!
//! ggml requires K to be a multiple of 256; a ragged K is padded here as
//! the Q8_0 / Q4_0 variants pad theirs (see [`crate::formats::ternary`]).
//!
//! Cost per MAC: one 2-bit × int8 multiply and one int32 add; per output
//! and block: two f32 multiplies and one f32 add. Bytes: the shared traffic
//! model with W at 2.0625 (1.6875) bits and A at Q8_K's 9.125 bits per element.

use super::info::{Family, VariantInfo, WeightStorage};
use super::packed::{PackedNative, Packer};
use super::quant_matmul::traffic;
use super::{MatmulVariant, NativeMatmul, Shape};
use crate::formats::ggml::f16_to_f32;
use crate::formats::parse;
use crate::formats::ternary::{self, quantize_q8_k, tq1_trit, Ternary, Q8_K_BITS, QK_K};
use crate::hw::cost::{Cost, OpKind};
use crate::kernels::ternary::{fold, TernaryKernel};
use crate::kernels::Base;
use crate::tensor::Matrix;

/// A ggml ternary block-format matmul (see the module docs).
#[derive(Debug, Clone)]
pub struct TernaryMatmul {
    /// Registry name.
    pub name: &'static str,
    /// One-line description.
    pub description: &'static str,
    /// The weights' block format (activations are always Q8_K).
    pub weight: Ternary,
}

/// The registered ggml ternary variants, in display order.
pub fn all() -> Vec<Box<dyn MatmulVariant>> {
    vec![
        Box::new(TernaryMatmul {
            name: "matmul/tq2_0",
            description: "ggml TQ2_0 (256-blocks, 2-bit codes of -1/0/+1, fp16 absmax scale, lroundf) × Q8_K: int32 block dot, sumf += isum·(da·dw) in f32, blocks in k order (ggml's generic C path, unfused)",
            weight: Ternary::Tq2_0,
        }),
        Box::new(TernaryMatmul {
            name: "matmul/tq1_0",
            description: "ggml TQ1_0 (256-blocks, base-3 5 trits/byte + 4 trits/byte, fp16 absmax scale, lroundf) × Q8_K: int32 block dot, sumf += isum·(da·dw) in f32, blocks in k order (ggml's generic C path, unfused)",
            weight: Ternary::Tq1_0,
        }),
    ]
}

impl MatmulVariant for TernaryMatmul {
    fn info(&self) -> VariantInfo {
        let wdesc = match self.weight {
            Ternary::Tq2_0 => "TQ2_0: ternary g256, 2 bits each, fp16 absmax scale",
            Ternary::Tq1_0 => "TQ1_0: ternary g256, base-3 (5 and 4 per byte), fp16 absmax scale",
        };
        VariantInfo {
            name: self.name,
            family: Family::Ggml,
            description: self.description,
            weight_desc: wdesc.to_string(),
            act_desc: "Q8_K: int8 g256, f32 -max/127 scale".to_string(),
            accumulator: "int32 per block, f32".to_string(),
            formats: vec![
                parse::parse_element("int2").expect("int formats parse"),
                parse::parse_element("int8").expect("int formats parse"),
            ],
            storage: WeightStorage::Fixed(self.weight.bits_per_weight()),
        }
    }

    fn quantize_weights(&self, w: &Matrix) -> Matrix {
        let q = ternary::quantize(self.weight, &w.data, w.rows, w.cols);
        Matrix::new(w.rows, w.cols, q.dequantize())
    }

    /// Deterministic: `seed` is unused.
    fn emulate(&self, a: &Matrix, w: &Matrix, _seed: u64) -> Vec<f64> {
        assert_eq!(
            a.cols, w.cols,
            "{}: A is m×k and W is n×k with the same k",
            self.name
        );
        let qa = quantize_q8_k(&a.data, a.rows, a.cols);
        let qw = ternary::quantize(self.weight, &w.data, w.rows, w.cols);
        let nb = qa.nb;
        let mut out = Vec::with_capacity(a.rows * w.rows);
        for i in 0..a.rows {
            for j in 0..w.rows {
                let mut sumf = 0f32;
                for b in 0..nb {
                    let y = &qa.codes[(i * nb + b) * QK_K..(i * nb + b + 1) * QK_K];
                    let isum = match self.weight {
                        Ternary::Tq2_0 => dot_tq2_0(qw.block(j, b), y),
                        Ternary::Tq1_0 => dot_tq1_0(qw.block(j, b), y),
                    };
                    let dw = f16_to_f32(qw.d(j, b));
                    sumf = fold(sumf, isum, dw, qa.d[i * nb + b]);
                }
                out.push(sumf as f64);
            }
        }
        out
    }

    fn cost(&self, shape: Shape) -> Cost {
        let Shape { m, k, n } = shape;
        let macs = shape.macs();
        let blocks = m as f64 * n as f64 * k.div_ceil(QK_K) as f64;
        let mut c = Cost {
            macs,
            ..Default::default()
        };
        c.add(OpKind::IntMul { a: 2, b: 8 }, macs);
        c.add(OpKind::IntAdd { bits: 32 }, macs);
        c.add(OpKind::F32_MUL, 2.0 * blocks);
        c.add(OpKind::F32_ADD, blocks);
        (c.dram_bytes, c.sram_bytes) =
            traffic(shape, self.weight.bits_per_weight(), Q8_K_BITS, 4.0);
        c
    }

    fn native(&self) -> Option<Box<dyn NativeMatmul>> {
        Some(Box::new(PackedNative::new(
            self.name,
            TernaryPacker {
                weight: self.weight,
            },
        )))
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

/// The packing of a [`TernaryMatmul`]'s native kernel.
#[derive(Debug, Clone)]
pub struct TernaryPacker {
    weight: Ternary,
}

impl Packer for TernaryPacker {
    type Kernel = TernaryKernel;

    fn pack(&self, w: &Matrix) -> TernaryKernel {
        TernaryKernel::pack(&ternary::quantize(self.weight, &w.data, w.rows, w.cols))
    }

    fn base(&self) -> Base {
        Base::Int8Dot
    }
}
