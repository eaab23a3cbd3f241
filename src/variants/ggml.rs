//! Kernel-shaped variants of ggml's block formats: `matmul/q8_0`,
//! `matmul/q4_0` and `matmul/mxfp4-q8`, whose arithmetic is that of ggml's
//! CPU dot products, so
//! their accuracy is what those kernels compute and their speed is measured
//! beside the rest.
//!
//! Weights are quantized by ggml's reference quantizers and activations to
//! Q8_0 ([`crate::formats::ggml`]); each output sums, per 32-block in K
//! order, the exact int32 dot of the codes into an f32 as ggml's *generic*
//! C paths write it, a separate multiply and add each step:
//!
//! - `matmul/q8_0` (`ggml_vec_dot_q8_0_q8_0_generic`): `sumf += isum · (d_w · d_a)`;
//! - `matmul/q4_0` (`ggml_vec_dot_q4_0_q8_0_generic`): `sumf += (isum · d_w) · d_a`;
//! - `matmul/mxfp4-q8` (`ggml_vec_dot_mxfp4_q8_0_generic`, how gpt-oss-class
//!   models run MXFP4 on CPUs): `sumf += (d_a · 2^(X−1)) · isum`, the
//!   E2M1 elements as the integers `2·e2m1` (ggml's `kvalues_mxfp4`) and the
//!   ½ folded into the scale. Its weights are quantized by the OCP MX rule of
//!   [`crate::formats::mx`] (floor of the exponent bits; ggml's
//!   `quantize_row_mxfp4_ref` takes `floorf(log2f(amax))`, one too large
//!   just below a power of two), and E8M0 0xFF (a block holding inf or NaN)
//!   decodes as NaN per OCP, where ggml decodes it as 2^127.
//!
//! ggml's x86 SIMD paths compute other bits: they multiply the block sum by
//! `d_w · d_a` and add it with an FMA into 8 lane accumulators summed at the
//! end (and a C compiler may contract the generic path's last multiply-add
//! into an FMA too); ggml's x86 `quantize_row_q8_0` rounds activations to
//! nearest even with `id = 127 / amax` rather than the reference's `roundf`
//! and `1 / d`. These variants fix the reference quantizers and the generic
//! order, unfused, and the native kernel ([`crate::kernels::ggml`])
//! reproduces them bit for bit.
//!
//! Cost per MAC: one int8 × int8 (Q4_0, MXFP4: 4-bit × int8) multiply and one int32
//! add; per output and block: an int32 → f32 conversion (not counted), two
//! f32 multiplies and one f32 add. Bytes: the shared traffic model with W at
//! 8.5 (4.5, 4.25) bits and A at 8.5 bits per element.

use super::info::{Family, VariantInfo, WeightStorage};
use super::packed::{PackedNative, Packer};
use super::quant_matmul::traffic;
use super::{MatmulVariant, NativeMatmul, Shape};
use crate::formats::ggml::{self, GgmlBlock, QK};
use crate::formats::{parse, ConvertOptions, ElementFormat, Format};
use crate::hw::cost::{Cost, OpKind};
use crate::kernels::ggml::{e8m0_half, fold, GgmlKernel, Source, Weights, E2M1_X2};
use crate::kernels::Base;
use crate::tensor::Matrix;

/// A ggml block-format matmul (see the module docs).
#[derive(Debug, Clone)]
pub struct GgmlMatmul {
    /// Registry name.
    pub name: &'static str,
    /// One-line description.
    pub description: &'static str,
    /// The weights' block format (activations are always Q8_0).
    pub weight: Weights,
}

/// The registered ggml block variants, in display order.
pub fn all() -> Vec<Box<dyn MatmulVariant>> {
    vec![
        Box::new(GgmlMatmul {
            name: "matmul/q8_0",
            description: "ggml Q8_0 × Q8_0 (32-blocks, fp16 absmax/127 scales, roundf): int32 block dot, sumf += isum·(dw·da) in f32, blocks in k order (ggml's generic C path, unfused)",
            weight: Weights::Q8_0,
        }),
        Box::new(GgmlMatmul {
            name: "matmul/q4_0",
            description: "ggml Q4_0 (32-blocks, 4-bit offset 8, fp16 max/-8 scale) × Q8_0: int32 block dot, sumf += (isum·dw)·da in f32, blocks in k order (ggml's generic C path, unfused)",
            weight: Weights::Q4_0,
        }),
        Box::new(GgmlMatmul {
            name: "matmul/mxfp4-q8",
            description: "OCP MXFP4 weights (E2M1, 32, E8M0 floor rule) × ggml Q8_0 activations: int32 block dot of 2·e2m1 × int8, sumf += (da·2^(X-1))·isum in f32 (ggml's generic mxfp4 dot); E8M0 0xFF is NaN (ggml: 2^127)",
            weight: Weights::Mxfp4,
        }),
    ]
}

fn elem(name: &str) -> ElementFormat {
    parse::parse_element(name).expect("int formats parse")
}

impl MatmulVariant for GgmlMatmul {
    fn info(&self) -> VariantInfo {
        let (wname, wdesc) = match self.weight {
            Weights::Q8_0 => ("int8", "Q8_0: int8 g32, fp16 absmax/127 scale"),
            Weights::Q4_0 => ("int4", "Q4_0: 4-bit g32 (offset 8), fp16 max/-8 scale"),
            Weights::Mxfp4 => ("e2m1", "mxfp4 (e2m1, 32, e8m0)"),
        };
        let mut formats = vec![elem(wname)];
        if self.weight != Weights::Q8_0 {
            formats.push(elem("int8"));
        }
        VariantInfo {
            name: self.name,
            family: Family::Ggml,
            description: self.description,
            weight_desc: wdesc.to_string(),
            act_desc: "Q8_0: int8 g32, fp16 absmax/127 scale".to_string(),
            accumulator: "int32 per block, f32".to_string(),
            formats,
            storage: WeightStorage::Fixed(bits_per_weight(self.weight)),
        }
    }

    fn quantize_weights(&self, w: &Matrix) -> Matrix {
        let data = match block_of(self.weight) {
            Some(kind) => ggml::quantize(kind, &w.data, w.rows, w.cols).dequantize(),
            None => mx_blocks(w).dequantize(),
        };
        Matrix::new(w.rows, w.cols, data)
    }

    /// Deterministic: `seed` is unused.
    fn emulate(&self, a: &Matrix, w: &Matrix, _seed: u64) -> Vec<f64> {
        assert_eq!(
            a.cols, w.cols,
            "{}: A is m×k and W is n×k with the same k",
            self.name
        );
        let qa = ggml::quantize(GgmlBlock::Q8_0, &a.data, a.rows, a.cols);
        let qw = source(self.weight, w);
        let nb = qa.nb;
        let mut out = Vec::with_capacity(a.rows * w.rows);
        for i in 0..a.rows {
            for j in 0..w.rows {
                let mut sumf = 0f32;
                for b in 0..nb {
                    let ca = &qa.codes[(i * nb + b) * QK..(i * nb + b + 1) * QK];
                    let cw = &qw.codes[(j * nb + b) * QK..(j * nb + b + 1) * QK];
                    let isum: i32 = ca
                        .iter()
                        .zip(cw)
                        .map(|(&x, &c)| x as i32 * weight_int(self.weight, c))
                        .sum();
                    let sw = qw.scales[j * nb + b];
                    let dw = match self.weight {
                        Weights::Mxfp4 => e8m0_half(sw as u8),
                        _ => ggml::f16_to_f32(sw),
                    };
                    sumf = fold(self.weight, sumf, isum, dw, qa.scale(i * nb + b));
                }
                out.push(sumf as f64);
            }
        }
        out
    }

    fn cost(&self, shape: Shape) -> Cost {
        let Shape { m, k, n } = shape;
        let macs = shape.macs();
        let blocks = m as f64 * n as f64 * k.div_ceil(QK) as f64;
        let mut c = Cost {
            macs,
            ..Default::default()
        };
        c.add(
            OpKind::IntMul {
                a: if self.weight == Weights::Q8_0 { 8 } else { 4 },
                b: 8,
            },
            macs,
        );
        c.add(OpKind::IntAdd { bits: 32 }, macs);
        c.add(OpKind::F32_MUL, 2.0 * blocks);
        c.add(OpKind::F32_ADD, blocks);
        (c.dram_bytes, c.sram_bytes) = traffic(
            shape,
            bits_per_weight(self.weight),
            GgmlBlock::Q8_0.bits_per_weight(),
            4.0,
        );
        c
    }

    fn native(&self) -> Option<Box<dyn NativeMatmul>> {
        Some(Box::new(PackedNative::new(
            self.name,
            GgmlPacker {
                weight: self.weight,
            },
        )))
    }
}

/// The packing of a [`GgmlMatmul`]'s native kernel.
#[derive(Debug, Clone)]
pub struct GgmlPacker {
    weight: Weights,
}

impl Packer for GgmlPacker {
    type Kernel = GgmlKernel;

    fn pack(&self, w: &Matrix) -> GgmlKernel {
        GgmlKernel::pack(self.weight, &source(self.weight, w))
    }

    fn base(&self) -> Base {
        Base::Int8Dot
    }
}

/// The ggml block format of `w`, `None` for MXFP4.
fn block_of(w: Weights) -> Option<GgmlBlock> {
    match w {
        Weights::Q8_0 => Some(GgmlBlock::Q8_0),
        Weights::Q4_0 => Some(GgmlBlock::Q4_0),
        Weights::Mxfp4 => None,
    }
}

fn bits_per_weight(w: Weights) -> f64 {
    match block_of(w) {
        Some(b) => b.bits_per_weight(),
        None => 4.25,
    }
}

/// The integer a stored weight code stands for in the block dot.
fn weight_int(w: Weights, code: i8) -> i32 {
    match w {
        Weights::Mxfp4 => E2M1_X2[code as usize & 0x0F] as i32,
        _ => code as i32,
    }
}

/// `w` quantized to OCP MXFP4 rows.
fn mx_blocks(w: &Matrix) -> crate::formats::mx::BlockTensor {
    let Ok(Format::Block(fmt)) = parse("mxfp4") else {
        unreachable!("mxfp4 is a block format")
    };
    // An empty matrix has no rows for the quantizer to check.
    crate::formats::mx::quantize(&fmt, &ConvertOptions::default(), &w.data, w.cols.max(1))
        .expect("mxfp4 quantizes any f32 rows")
}

/// The quantized weights the emulation and the kernel share.
fn source(kind: Weights, w: &Matrix) -> Source {
    if let Some(b) = block_of(kind) {
        return Source::of_blocks(&ggml::quantize(b, &w.data, w.rows, w.cols));
    }
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
