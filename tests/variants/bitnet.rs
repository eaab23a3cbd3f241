//! The BitNet a4.8 variants: `matmul/w1.58a4` (ternary W, int4 per-token A)
//! and `matmul/w1.58a8-topk` (top-K sparsified int8 A), against slow models
//! written here from the definitions.

use crate::common::{assert_bits_eq, variant};
use bitsim::variants::sparse::{kept, sparsify, sparsify_reference};
use bitsim::workload::Matrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

fn gaussian(rows: usize, cols: usize, seed: u64) -> Matrix {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let data = (0..rows * cols)
        .map(|_| rng.sample::<f32, _>(StandardNormal))
        .collect();
    Matrix::new(rows, cols, data)
}

/// Symmetric absmax integers of one row: scale absmax/qmax (f32 division),
/// codes round-half-even(x / scale) clamped to ±qmax.
fn absmax_row(xs: &[f32], qmax: i64) -> (Vec<i64>, f32) {
    let amax = xs.iter().fold(0f32, |m, x| m.max(x.abs()));
    let s = amax / qmax as f32;
    if s == 0.0 {
        return (vec![0; xs.len()], s);
    }
    let c = xs
        .iter()
        .map(|&x| ((x as f64 / s as f64).round_ties_even() as i64).clamp(-qmax, qmax))
        .collect();
    (c, s)
}

/// Ternary W (per-tensor mean|w|) times `qmax`-level per-token A: int dot,
/// then `(acc · sa) · sw` in f32.
fn ternary_model(a: &Matrix, w: &Matrix, qmax: i64) -> Vec<f64> {
    let k = a.cols;
    let gamma = (w.data.iter().map(|x| x.abs() as f64).sum::<f64>() / w.data.len() as f64) as f32;
    let cw: Vec<i64> = w
        .data
        .iter()
        .map(|&x| ((x as f64 / gamma as f64).round_ties_even() as i64).clamp(-1, 1))
        .collect();
    let mut out = vec![];
    for i in 0..a.rows {
        let (ca, sa) = absmax_row(a.row(i), qmax);
        for j in 0..w.rows {
            let acc: i64 = ca
                .iter()
                .zip(&cw[j * k..(j + 1) * k])
                .map(|(x, y)| x * y)
                .sum();
            out.push(((acc as f32 * sa) * gamma) as f64);
        }
    }
    out
}

#[test]
fn w158a4_is_ternary_weights_with_int4_tokens() {
    let (a, w) = (gaussian(9, 300, 1), gaussian(21, 300, 2));
    let v = variant("matmul/w1.58a4");
    assert_bits_eq("w1.58a4", &v.emulate(&a, &w, 0), &ternary_model(&a, &w, 7));
    assert_eq!(v.info().format_names(), ["ternary", "int4"]);
}

#[test]
fn topk_keeps_the_largest_half_then_runs_the_ternary_kernel() {
    let (a, w) = (gaussian(9, 301, 3), gaussian(21, 301, 4));
    let v = variant("matmul/w1.58a8-topk");
    // Model: for each row, the threshold is the 151st largest |a|; keep those ≥ it.
    let mut s = Matrix::zeros(a.rows, a.cols);
    for r in 0..a.rows {
        let mut mags: Vec<f32> = a.row(r).iter().map(|x| x.abs()).collect();
        mags.sort_by(|x, y| y.total_cmp(x));
        let t = mags[150];
        for (c, &x) in a.row(r).iter().enumerate() {
            if x.abs() >= t {
                s.data[r * a.cols + c] = x;
            }
        }
        assert_eq!(
            s.row(r).iter().filter(|x| **x != 0.0).count(),
            151,
            "Gaussian data has no ties"
        );
    }
    assert_eq!(kept(301, 0.5), 151);
    assert_bits_eq(
        "w1.58a8-topk",
        &v.emulate(&a, &w, 0),
        &ternary_model(&s, &w, 127),
    );
    assert_eq!(v.info().format_names(), ["ternary", "int8"]);
    assert_eq!(
        v.cost(bitsim::variants::Shape { m: 4, k: 64, n: 8 }),
        variant("matmul/w1.58a8-ternary").cost(bitsim::variants::Shape { m: 4, k: 64, n: 8 })
    );
}

#[test]
fn sparsify_matches_its_sorting_reference_on_ties_zeros_and_nan() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for case in 0..200 {
        let (rows, cols) = (1 + rng.random_range(0..4), rng.random_range(0..40));
        // Few distinct magnitudes: many ties, signed zeros, some NaN and inf.
        let pool = [
            0.0f32,
            -0.0,
            1.0,
            -1.0,
            2.0,
            -2.0,
            0.5,
            f32::NAN,
            f32::INFINITY,
            -3.0,
        ];
        let data = (0..rows * cols)
            .map(|_| pool[rng.random_range(0..pool.len())])
            .collect();
        let m = Matrix::new(rows, cols, data);
        for keep in [0.01, 0.25, 0.5, 0.9, 1.0] {
            let (f, r) = (sparsify(&m, keep), sparsify_reference(&m, keep));
            let bits = |x: &Matrix| x.data.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&f),
                bits(&r),
                "case {case}, keep {keep}, {rows}×{cols}"
            );
        }
    }
    // Ties go to the lower index.
    let m = Matrix::new(1, 4, vec![1.0, -1.0, 1.0, 0.5]);
    assert_eq!(sparsify(&m, 0.5).data, vec![1.0, -1.0, 0.0, 0.0]);
}
