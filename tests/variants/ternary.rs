//! `matmul/tq2_0` and `matmul/tq1_0` against a plain model written here
//! from ggml's reference quantizers (`quantize_row_tq*_ref`: d = absmax in
//! fp16, codes lroundf(x · (1/d)); `quantize_row_q8_K_ref`: iscale =
//! −127/max, half-to-even codes, d = 1/iscale) and an f64 sum of the
//! dequantized products, within a derived rounding bound.

use crate::seeded::Rng;
use bitsim::tensor::{Matrix, Shape};
use bitsim::variants;
use half::f16;

const NAMES: [&str; 2] = ["matmul/tq2_0", "matmul/tq1_0"];

/// Dequantized ternary weights of one row, block by block (finite data).
fn model_weights(x: &[f32]) -> Vec<f64> {
    let mut out = Vec::new();
    for blk in x.chunks(256) {
        let amax = blk.iter().fold(0f32, |m, v| m.max(v.abs()));
        let id = if amax != 0.0 { 1.0 / amax } else { 0.0 };
        let d = f16::from_f32(amax).to_f32() as f64;
        // f32::round is lroundf's half away from zero.
        out.extend(blk.iter().map(|&v| (v * id).round() as f64 * d));
    }
    out
}

/// Dequantized Q8_K activations of one row (finite data).
fn model_acts(x: &[f32]) -> Vec<f64> {
    let mut out = Vec::new();
    for blk in x.chunks(256) {
        let mut max = 0f32;
        for &v in blk {
            if v.abs() > max.abs() {
                max = v;
            }
        }
        if max == 0.0 {
            out.extend(blk.iter().map(|_| 0.0));
            continue;
        }
        let iscale = -127.0 / max;
        let d = (1.0 / iscale) as f64;
        out.extend(
            blk.iter()
                .map(|&v| ((iscale * v).round_ties_even().min(127.0)) as f64 * d),
        );
    }
    out
}

fn gaussian(rows: usize, cols: usize, seed: u64) -> Matrix {
    let mut r = Rng(seed);
    Matrix::new(
        rows,
        cols,
        (0..rows * cols).map(|_| r.gauss() as f32).collect(),
    )
}

/// The model's weights are the variant's dequantized weights, and each
/// output is within γ(nb + 2) · Σ|w·a| of the f64 sum of dequantized
/// products: per block one rounding of `da·dw` and one of `isum·(da·dw)`
/// (isum is exact in f32), then nb − 1 rounded adds; plus the f64 sum's own
/// K · 2^−52 relative error.
#[test]
fn emulation_within_the_rounding_bound_of_the_dequantized_sum() {
    for (m, k, n, seed) in [(3, 256, 5, 1u64), (2, 1024, 7, 2), (4, 600, 3, 3)] {
        let a = gaussian(m, k, seed);
        let w = gaussian(n, k, seed + 50);
        let wq: Vec<Vec<f64>> = (0..n)
            .map(|j| model_weights(&w.data[j * k..(j + 1) * k]))
            .collect();
        let aq: Vec<Vec<f64>> = (0..m)
            .map(|i| model_acts(&a.data[i * k..(i + 1) * k]))
            .collect();
        let nb = k.div_ceil(256) as f64;
        let u = 2f64.powi(-24);
        let gamma = (nb + 2.0) * u / (1.0 - (nb + 2.0) * u);
        for name in NAMES {
            let v = variants::find(name).unwrap();
            let deq = v.quantize_weights(&w);
            for (j, row) in wq.iter().enumerate() {
                for (kk, &want) in row.iter().enumerate() {
                    assert_eq!(deq.data[j * k + kk] as f64, want, "{name}: weight {j},{kk}");
                }
            }
            let out = v.emulate(&a, &w, 0);
            let mut worst = 0f64;
            for i in 0..m {
                for j in 0..n {
                    let exact: f64 = (0..k).map(|kk| wq[j][kk] * aq[i][kk]).sum();
                    let mag: f64 = (0..k).map(|kk| (wq[j][kk] * aq[i][kk]).abs()).sum();
                    let bound = (gamma + k as f64 * 2f64.powi(-52)) * mag;
                    let err = (out[i * n + j] - exact).abs();
                    assert!(
                        err <= bound,
                        "{name} {m}×{k}×{n} out {i},{j}: {} vs {exact}, err {err:e} > {bound:e}",
                        out[i * n + j]
                    );
                    assert!(mag > 0.0, "{name}: a nonzero product");
                    worst = worst.max(err / bound);
                }
            }
            assert!(worst.is_finite());
        }
    }
}

/// Storage and cost: 66 and 54 bytes per 256 weights; one 2-bit × int8
/// multiply per MAC; two f32 multiplies and one add per output and block.
#[test]
fn storage_and_cost() {
    let v2 = variants::find("matmul/tq2_0").unwrap();
    let v1 = variants::find("matmul/tq1_0").unwrap();
    assert_eq!(v2.bits_per_weight(4096), 66.0 * 8.0 / 256.0);
    assert_eq!(v1.bits_per_weight(4096), 54.0 * 8.0 / 256.0);
    let c = v2.cost(Shape { m: 2, k: 512, n: 3 });
    assert_eq!(c.macs, 2.0 * 512.0 * 3.0);
    // Weight bytes in the traffic model: 3 · 512 · 2.0625 / 8 = 396.
    assert!(c.dram_bytes > 396.0);
    let names: Vec<&str> = variants::registry().iter().map(|v| v.name()).collect();
    let at = |s: &str| names.iter().position(|n| *n == s).unwrap();
    assert_eq!(at("matmul/tq2_0"), at("matmul/mxfp4-q8") + 1);
    assert_eq!(at("matmul/tq1_0"), at("matmul/tq2_0") + 1);
}
