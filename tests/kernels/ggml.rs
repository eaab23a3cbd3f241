//! The ggml block kernels (`matmul/q8_0`, `q4_0`, `mxfp4-q8`) on the cases
//! that break block kernels, native = emulation at every level: operands at
//! ±max (int16 pair and quad-sum bounds), every E2M1 code against every sign
//! of activation, E8M0 extremes (2^-127, NaN) beside ordinary blocks, fp16
//! scales that overflow to inf or flush to zero, ragged last blocks.

use crate::{check, LEVEL_LOCK};
use bitsim::tensor::Matrix;
use bitsim::variants;

const NAMES: [&str; 3] = ["matmul/q8_0", "matmul/q4_0", "matmul/mxfp4-q8"];

/// ±1 patterns: every code at its format's extreme (Q8_0 ±127, Q4_0 fields
/// 0 and 15 after a −max first element, MXFP4 ±6 → ±12), every activation
/// ±127, over K = 8192 (block sums of 32 · 127 · 127).
#[test]
fn operands_at_the_extremes() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let k = 8192;
    let a = Matrix::new(
        3,
        k,
        (0..3 * k)
            .map(|i| match i / k {
                0 => 1.0,
                1 => -1.0,
                _ => {
                    if i % 3 == 0 {
                        -1.0
                    } else {
                        1.0
                    }
                }
            })
            .collect(),
    );
    let w = Matrix::new(
        11,
        k,
        (0..11 * k)
            .map(|i| {
                let (r, c) = (i / k, i % k);
                // Q4_0: a −1 first in each block makes max = −1, d = 1/8:
                // +1 then maps to field trunc(8 + 8.5) → 15, −1 to 0.
                if c % 32 == 0 || (r + c) % 2 == 0 {
                    -1.0
                } else {
                    1.0
                }
            })
            .collect(),
    );
    for name in NAMES {
        let v = variants::find(name).unwrap();
        check(v.as_ref(), &a, &w, "extremes");
    }
}

/// Every E2M1 magnitude and sign against activations of both signs, with
/// weight blocks whose E8M0 scales are 0x00 (subnormal halves), ordinary,
/// the largest f32 reaches, and 0xFF (an inf or a NaN in the block).
#[test]
fn mxfp4_codes_and_e8m0_extremes() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let v = variants::find("matmul/mxfp4-q8").unwrap();
    let vals = [0.0f32, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0];
    let k = 32 * 6;
    let mut w = Vec::new();
    for r in 0..9 {
        for c in 0..k {
            let (blk, e) = (c / 32, c % 32);
            let x = vals[e % 8] * if (e / 8 + r) % 2 == 0 { 1.0 } else { -1.0 };
            let x = match blk {
                0 => x * f32::MIN_POSITIVE / 8.0, // subnormal block → X = 0x00
                1 => x * 2f32.powi(120),
                2 if e == 7 && r % 3 == 0 => f32::INFINITY,
                3 if e == 3 && r % 3 == 1 => f32::NAN,
                4 => -0.0,
                _ => x,
            };
            w.push(x);
        }
    }
    let w = Matrix::new(9, k, w);
    let a = Matrix::new(
        5,
        k,
        (0..5 * k)
            .map(|i| ((i * 37 % 255) as f32 - 127.0) * 0.01)
            .collect(),
    );
    check(v.as_ref(), &a, &w, "codes and scales");
}

/// fp16 scales that overflow to inf (|x| > 127 · 65504) and that flush to 0
/// (tiny blocks), next to ordinary blocks; K ragged (last block of 13).
#[test]
fn fp16_scale_overflow_and_flush_and_ragged_k() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let k = 32 * 4 + 13;
    let w = Matrix::new(
        10,
        k,
        (0..10 * k)
            .map(|i| {
                let (r, c) = (i / k, i % k);
                let x = ((i * 29 % 97) as f32 - 48.0) / 16.0;
                match (c / 32, r % 3) {
                    (0, 0) => x * 1e7,
                    (1, 1) => x * 1e-9,
                    (2, _) => x * 1e-40,
                    _ => x,
                }
            })
            .collect(),
    );
    let a = Matrix::new(
        9,
        k,
        (0..9 * k)
            .map(|i| ((i * 13 % 61) as f32 - 30.0) * if i % 7 == 0 { 3e6 } else { 0.1 })
            .collect(),
    );
    for name in NAMES {
        let v = variants::find(name).unwrap();
        check(v.as_ref(), &a, &w, "fp16 scales");
    }
}
