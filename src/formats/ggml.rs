//! ggml's Q8_0 and Q4_0 block formats, quantized exactly as ggml's reference
//! quantizers (`quantize_row_q8_0_ref`, `quantize_row_q4_0_ref` in
//! `ggml-quants.c`) do it:
//!
//! - **Q8_0**: blocks of 32; `amax` = the running `MAX(amax, |x|)` of C's
//!   macro (`a > b ? a : b`, so a NaN is kept only until the next element);
//!   `d = amax / 127` in f32; `id = d ? 1/d : 0`; codes `roundf(x · id)`
//!   (ties away from zero); the block stores `d` as fp16 (RNE, the F16C
//!   `vcvtps2ph` / `ggml_compute_fp32_to_fp16` rounding). 34 bytes per block.
//! - **Q4_0**: blocks of 32; `max` = the first element of largest |x|
//!   (strict `amax < |x|`, so NaN never wins); `d = max / −8`;
//!   `id = d ? 1/d : 0`; fields `MIN(15, (int8_t)(x · id + 8.5f))`
//!   (truncation), code = field − 8; `d` stored as fp16. 18 bytes per block.
//!
//! Where ggml's C is undefined, these quantizers choose (and say so):
//! a float → int8 conversion of NaN or of a value beyond int8 (only when
//! `1/d` overflows, for blocks whose absmax is below about 2^−121) takes
//! Rust's saturating cast, and then Q8_0 codes are clamped to ±127 (the
//! symmetric range the format keeps) and Q4_0 fields below 0 to 0 (C would
//! spill a negative field into the neighbouring nibble). ggml requires K to
//! be a multiple of 32; here a last, short block is quantized over its own
//! elements and padded with zero codes.
//!
//! Layer: ground (`half` only).

use half::f16;

/// Elements per block (ggml's `QK8_0` = `QK4_0` = 32).
pub const QK: usize = 32;

/// Which of ggml's block formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgmlBlock {
    /// 8-bit codes, fp16 scale `absmax / 127`.
    Q8_0,
    /// 4-bit codes with offset 8, fp16 scale `max / −8`.
    Q4_0,
}

impl GgmlBlock {
    /// Storage bits per weight: (32 codes + a 16-bit scale) / 32.
    pub fn bits_per_weight(self) -> f64 {
        match self {
            GgmlBlock::Q8_0 => 8.5,
            GgmlBlock::Q4_0 => 4.5,
        }
    }

    /// Bits per code.
    pub fn code_bits(self) -> u32 {
        match self {
            GgmlBlock::Q8_0 => 8,
            GgmlBlock::Q4_0 => 4,
        }
    }
}

/// A matrix quantized to blocks, row by row.
#[derive(Debug, Clone, PartialEq)]
pub struct Blocks {
    /// Rows.
    pub rows: usize,
    /// Elements per row (unpadded).
    pub k: usize,
    /// Blocks per row, `⌈k / 32⌉`.
    pub nb: usize,
    /// Codes, `rows × nb × 32` (Q4_0: field − 8, in −8..=7); padding is 0.
    pub codes: Vec<i8>,
    /// fp16 scale bits, `rows × nb`.
    pub d: Vec<u16>,
}

impl Blocks {
    /// The f32 value of scale `d[i]`.
    pub fn scale(&self, i: usize) -> f32 {
        f16_to_f32(self.d[i])
    }

    /// The dequantized matrix (`code · d` in f32, as ggml's
    /// `dequantize_row_*` computes it), `rows × k`.
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.rows * self.k);
        for r in 0..self.rows {
            for kk in 0..self.k {
                let d = self.scale(r * self.nb + kk / QK);
                out.push(self.codes[r * self.nb * QK + kk] as f32 * d);
            }
        }
        out
    }
}

/// fp16 bits → f32 (exact).
pub fn f16_to_f32(h: u16) -> f32 {
    f16::from_bits(h).to_f32()
}

/// f32 → fp16 bits, round to nearest even (overflow to ±inf, NaN kept NaN).
pub fn f32_to_f16(x: f32) -> u16 {
    f16::from_f32(x).to_bits()
}

/// One Q8_0 block (≤ 32 values): the fp16 scale and the codes.
pub fn q8_0_block(x: &[f32], codes: &mut [i8]) -> u16 {
    let mut amax = 0f32;
    for &v in x {
        let a = v.abs();
        // C's MAX(amax, a): `amax > a ? amax : a`.
        amax = if amax > a { amax } else { a };
    }
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    for (c, &v) in codes.iter_mut().zip(x) {
        // `f32::round` is C's roundf (ties away from zero).
        *c = ((v * id).round() as i8).max(-127);
    }
    f32_to_f16(d)
}

/// One Q4_0 block (≤ 32 values): the fp16 scale and the codes (field − 8).
pub fn q4_0_block(x: &[f32], codes: &mut [i8]) -> u16 {
    let (mut amax, mut max) = (0f32, 0f32);
    for &v in x {
        if amax < v.abs() {
            amax = v.abs();
            max = v;
        }
    }
    let d = max / -8.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    for (c, &v) in codes.iter_mut().zip(x) {
        // `(int8_t)` truncates toward zero; MIN(15, ·); negatives to 0.
        let field = ((v * id + 8.5) as i8).clamp(0, 15);
        *c = field - 8;
    }
    f32_to_f16(d)
}

/// Quantizes `x` (`rows × k`, row-major) to `kind` blocks along each row.
pub fn quantize(kind: GgmlBlock, x: &[f32], rows: usize, k: usize) -> Blocks {
    let nb = k.div_ceil(QK);
    let mut codes = vec![0i8; rows * nb * QK];
    let mut d = vec![0u16; rows * nb];
    for r in 0..rows {
        for b in 0..nb {
            let src = &x[r * k + b * QK..r * k + ((b + 1) * QK).min(k)];
            let dst = &mut codes[(r * nb + b) * QK..(r * nb + b) * QK + src.len()];
            d[r * nb + b] = match kind {
                GgmlBlock::Q8_0 => q8_0_block(src, dst),
                GgmlBlock::Q4_0 => q4_0_block(src, dst),
            };
        }
    }
    Blocks {
        rows,
        k,
        nb,
        codes,
        d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_derived_blocks() {
        // Q8_0: amax 127 → d = 1, id = 1; roundf ties away from zero.
        let x = [127f32, -63.5, 0.5, -0.5, 2.5, 0.0];
        let mut c = [0i8; 6];
        let d = q8_0_block(&x, &mut c);
        assert_eq!(c, [127, -64, 1, -1, 3, 0]);
        assert_eq!(d, 0x3C00); // fp16 1.0
                               // Q4_0: max −4 (first of largest |x|) → d = 0.5, id = 2.
        let x = [1.0f32, -4.0, 4.0, 0.26, -0.24];
        let mut c = [0i8; 5];
        let d = q4_0_block(&x, &mut c);
        assert_eq!(f16_to_f32(d), 0.5);
        // fields: trunc(2+8.5)=10, trunc(-8+8.5)=0, trunc(8+8.5)=16→15, 9.02→9, 8.02→8
        assert_eq!(c, [2, -8, 7, 1, 0]);
    }
}
