//! Activation quantizers that run inside a kernel's timed product: fast twins
//! of the variants' quantizers, bit-identical to them (the kernel tests
//! compare each with the variant's `OperandSpec::quantize`, its reference).
//!
//! - [`int8_rows`]: symmetric int8 per row, absmax scale: `scale =
//!   RNE_f32(absmax / 127)` over the finite values, `code = clamp(RNE(x /
//!   scale), ±127)`; both quotients rounded once from the exact value (via
//!   [`div_round_odd`]), NaN → 0, ±inf → ±127, a zero scale codes every
//!   finite value as 0.
//! - [`sign_rows`]: binary per row, absmean scale: `scale = f32(mean|x|)`
//!   (compensated f64 sum), `bit = x / scale < 0` (0 and NaN → +1).
//! - [`cast_rows`]: every element rounded RNE to a minifloat (bf16, fp16),
//!   returned as its exact f32 value, through the vectorised converter.
//!
//! Rows are independent, so they run in parallel with the same result.

use crate::formats::{self, mx::div_round_odd, ConvertOptions, MiniFloat, Rounding};
use rayon::prelude::*;

/// Rows per parallel task (below this many elements, one task).
const PAR_MIN_ELEMS: usize = 1 << 15;

/// Symmetric int8 codes of a `m × k` row-major matrix, one absmax scale per row.
/// Returns `(codes, scales)`.
pub fn int8_rows(a: &[f32], m: usize, k: usize) -> (Vec<i8>, Vec<f32>) {
    assert_eq!(a.len(), m * k, "int8_rows: {m}×{k} needs {} values", m * k);
    let mut codes = vec![0i8; m * k];
    let mut scales = vec![0f32; m];
    if k == 0 {
        return (codes, scales);
    }
    let work = |(row, (out, s)): (&[f32], (&mut [i8], &mut f32))| {
        *s = int8_row(row, out);
    };
    if m * k >= PAR_MIN_ELEMS {
        a.par_chunks(k)
            .zip(codes.par_chunks_mut(k).zip(scales.par_iter_mut()))
            .for_each(work);
    } else {
        a.chunks(k)
            .zip(codes.chunks_mut(k).zip(scales.iter_mut()))
            .for_each(work);
    }
    (codes, scales)
}

/// One row of [`int8_rows`]; returns the scale.
fn int8_row(row: &[f32], out: &mut [i8]) -> f32 {
    let absmax = row
        .iter()
        .filter(|x| x.is_finite())
        .fold(0f32, |m, x| m.max(x.abs()));
    let scale = if absmax == 0.0 {
        0.0
    } else {
        div_round_odd(absmax as f64, 127.0) as f32
    };
    let s = scale as f64;
    for (o, &x) in out.iter_mut().zip(row) {
        *o = if x.is_nan() {
            0
        } else if x.is_infinite() {
            if x > 0.0 {
                127
            } else {
                -127
            }
        } else if x == 0.0 || s == 0.0 {
            0
        } else {
            round_quotient(x as f64, s).clamp(-127.0, 127.0) as i8
        };
    }
    scale
}

/// `RNE(x / s)` of the exact quotient, for f32 values `x` and `s > 0`
/// (widened to f64), with one f64 division and no fused multiply-add (a slow
/// library call on CPUs the build does not assume). Why one rounding is
/// enough: ties `n + ½` are representable and rounding is monotonic, so the
/// f64 quotient can only go wrong by landing exactly on a tie the exact
/// quotient is not. It cannot: `x` and `(n + ½)·s` are both multiples of
/// `2^(e_s − 24)` (or of 2^−150 for subnormal scales), so a nonzero
/// `x − (n + ½)·s` puts the exact quotient at least 2^−25 from the tie,
/// while the f64 rounding error below 256 is at most 2^−46.
#[inline(always)]
fn round_quotient(x: f64, s: f64) -> f64 {
    (x / s).round_ties_even()
}

/// Binary (sign) codes of a `m × k` matrix with one absmean scale per row:
/// `true` where the element codes −1. Returns `(negative, scales)`.
pub fn sign_rows(a: &[f32], m: usize, k: usize) -> (Vec<bool>, Vec<f32>) {
    assert_eq!(a.len(), m * k, "sign_rows: {m}×{k} needs {} values", m * k);
    let mut neg = vec![false; m * k];
    let mut scales = vec![0f32; m];
    if k == 0 {
        return (neg, scales);
    }
    for ((row, out), s) in a.chunks(k).zip(neg.chunks_mut(k)).zip(scales.iter_mut()) {
        let mean = (crate::tensor::sum(row.iter().map(|x| x.abs() as f64)) / k as f64) as f32;
        *s = mean;
        for (o, &x) in out.iter_mut().zip(row) {
            // The sign of x / scale is x's sign when the scale is positive and
            // finite; the reference divides only then, and codes 0 as +1.
            let q = if x == 0.0 || mean == 0.0 || !mean.is_finite() || !x.is_finite() {
                x as f64
            } else {
                div_round_odd(x as f64, mean as f64)
            };
            *o = q < 0.0;
        }
    }
    (neg, scales)
}

/// Every element rounded RNE to `fmt`, as exact f32 values.
pub fn cast_rows(fmt: &MiniFloat, a: &[f32]) -> Vec<f32> {
    let opts = ConvertOptions::with_rounding(Rounding::Rne);
    let mut codes = vec![0u16; a.len()];
    formats::fast::encode_f32(fmt, &opts, a, 0, 0, &mut codes)
        .expect("RNE cast with default options cannot fail");
    let mut out = vec![0f32; a.len()];
    formats::fast::decode_f32(fmt, &codes, &mut out);
    out
}
