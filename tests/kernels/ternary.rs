//! The ggml ternary kernels (`matmul/tq2_0`, `matmul/tq1_0`): native =
//! emulation, bit for bit, at every ISA level this CPU has, on seeded
//! shapes through the GEMV (M ≤ 8) and GEMM (M > 8, several 64-row cache
//! blocks) paths, ragged N (panels of 8) and ragged K (short last block),
//! and on operands at the int16 bounds of the `vpmaddubsw` sums.

use crate::seeded::Rng;
use crate::{check, LEVEL_LOCK};
use bitsim::tensor::Matrix;
use bitsim::variants;

const NAMES: [&str; 2] = ["matmul/tq2_0", "matmul/tq1_0"];

fn gaussian(rows: usize, cols: usize, seed: u64, outliers: bool) -> Matrix {
    let mut r = Rng(seed);
    let data = (0..rows * cols)
        .map(|_| {
            let x = r.gauss() as f32;
            if outliers && r.below(61) == 0 {
                x * 40.0
            } else {
                x
            }
        })
        .collect();
    Matrix::new(rows, cols, data)
}

/// Seeded shapes: M = 1, 3, 8 (GEMV), 9, 70, 130 (GEMM); N ragged against
/// the 8-row panels; K = 256, 512, 1024 and ragged 300, 37, 700.
#[test]
fn native_equals_emulation_on_seeded_shapes() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let shapes = [
        (1, 256, 8),
        (1, 1024, 13),
        (3, 512, 40),
        (8, 300, 17),
        (9, 256, 9),
        (70, 512, 24),
        (130, 700, 11),
        (5, 37, 3),
        (1, 2560, 33),
    ];
    for (s, &(m, k, n)) in shapes.iter().enumerate() {
        let a = gaussian(m, k, 100 + s as u64, s % 2 == 0);
        let w = gaussian(n, k, 200 + s as u64, s % 3 == 0);
        for name in NAMES {
            let v = variants::find(name).unwrap();
            check(v.as_ref(), &a, &w, &format!("{m}×{k}×{n}"));
        }
    }
}

/// The int16 bounds: every activation code ±127 (Q8_K of ±1 data) against
/// every weight ±1 or 0 in patterns that make whole blocks add up in one
/// sign, over K = 4096; and TQ2_0's code 3 (weight +2), which only a NaN
/// hiding the block maximum produces (ggml's MAX macro), making pairs of
/// 2 · 3 · 127 = 762.
#[test]
fn sums_at_the_int16_bounds() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let k = 4096;
    let a = Matrix::new(
        3,
        k,
        (0..3 * k)
            .map(|i| match i / k {
                0 => 1.0,
                1 => -1.0,
                _ => [1.0, -1.0][i % 2],
            })
            .collect(),
    );
    let w = Matrix::new(
        10,
        k,
        (0..10 * k)
            .map(|i| {
                let (r, c) = (i / k, i % k);
                match r {
                    0 => 1.0,
                    1 => -1.0,
                    2 => [1.0, -1.0][c % 2],
                    3 => [1.0, 0.0, -1.0][c % 3],
                    // A NaN as the block's last element but one, after a
                    // maximum of 1: amax becomes the last element's 0.25,
                    // id = 4, so 1 → lroundf(4) + 1 = 5, & 3 = code 1;
                    // 0.5 → 3 (code 3, weight +2); −0.5 → −1, & 3 = code 3.
                    4 | 5 => match c % 256 {
                        254 => f32::NAN,
                        255 => 0.25,
                        _ => [0.5, 1.0, -0.5][c % 3],
                    },
                    _ => [1.0, -1.0, 0.0, 1.0][(c + r) % 4],
                }
            })
            .collect(),
    );
    for name in NAMES {
        let v = variants::find(name).unwrap();
        check(v.as_ref(), &a, &w, "int16 bounds");
    }
}

/// Blocks whose fp16 scale overflows to inf or flushes to 0, NaN and inf
/// weights and activations, all-zero blocks, next to ordinary ones.
#[test]
fn scales_and_specials() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let k = 256 * 4 + 100;
    let w = Matrix::new(
        11,
        k,
        (0..11 * k)
            .map(|i| {
                let (r, c) = (i / k, i % k);
                let x = ((i * 29 % 97) as f32 - 48.0) / 16.0;
                match (c / 256, r % 4) {
                    (0, 0) => x * 1e6,
                    (1, 1) => x * 1e-9,
                    (2, 2) if c % 50 == 7 => f32::NAN,
                    (3, 3) if c % 90 == 1 => f32::INFINITY,
                    (4, _) if r % 2 == 0 => 0.0,
                    _ => x,
                }
            })
            .collect(),
    );
    let a = Matrix::new(
        9,
        k,
        (0..9 * k)
            .map(|i| {
                let (r, c) = (i / k, i % k);
                let x = ((i * 13 % 61) as f32 - 30.0) * 0.1;
                match (r, c / 256) {
                    (1, 0) => 0.0,
                    (2, 1) if c % 40 == 3 => f32::NAN,
                    (3, 2) if c % 70 == 5 => f32::NEG_INFINITY,
                    (4, _) => x * 3e30,
                    _ => x,
                }
            })
            .collect(),
    );
    for name in NAMES {
        let v = variants::find(name).unwrap();
        check(v.as_ref(), &a, &w, "scales and specials");
    }
}
