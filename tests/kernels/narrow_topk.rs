//! The natives of `matmul/w1.58a4` (int4 activations on the integer family),
//! `matmul/bitserial-w4a8` / `-w8a8` (the integer family on their quantizers)
//! and `matmul/w1.58a8-topk` (top-K selection inside the product, then the
//! ternary kernel): equal to the emulation at every ISA level on the cases
//! their own arithmetic adds to the shared ragged-shape sweep — codes at
//! ±max, all-zero rows, magnitude ties in the top-K selection — and the
//! kernels' top-K selection equal to the variants' sorting reference.

use crate::equal_bits::{matrix, Dist};
use crate::seeded::Rng;
use crate::{check, LEVEL_LOCK};
use bitsim::kernels::quant;
use bitsim::tensor::Matrix;
use bitsim::variants::{self, sparse};

const NARROW: [&str; 4] = [
    "matmul/w1.58a4",
    "matmul/bitserial-w4a8",
    "matmul/bitserial-w8a8",
    "matmul/w1.58a8-topk",
];

/// Rows full of magnitude ties: values from {0, −0, ±1, ±2, ±3}, with a NaN
/// and ±inf here and there when `specials`.
fn tied(rows: usize, cols: usize, specials: bool, seed: u64) -> Matrix {
    let mut r = Rng(seed);
    let data = (0..rows * cols)
        .map(|_| match r.below(if specials { 12 } else { 9 }) {
            0 => 0.0,
            1 => -0.0,
            2 => 1.0,
            3 => -1.0,
            4 => 2.0,
            5 => -2.0,
            6 => 3.0,
            7 => -3.0,
            8 => 1.0,
            9 => f32::NAN,
            10 => f32::INFINITY,
            _ => -f32::INFINITY,
        })
        .collect();
    Matrix::new(rows, cols, data)
}

#[test]
fn topk_rows_keeps_the_references_entries() {
    let mut rows: Vec<Vec<f32>> = vec![
        vec![],
        vec![-0.0],
        vec![0.0, -0.0, 0.0, -0.0, 0.0],
        vec![1.0, -1.0, 1.0, -1.0],
        vec![-2.0, 1.0, 2.0, -1.0, 2.0, 0.5, -2.0],
        vec![f32::NAN, f32::INFINITY, -f32::NAN, -f32::INFINITY, 1.0],
        vec![
            f32::from_bits(1),
            -f32::from_bits(1),
            0.0,
            f32::from_bits(2),
        ],
        vec![f32::MAX, -f32::MAX, f32::MAX, 1e-30, -1e-30],
    ];
    let mut r = Rng(3);
    for k in [1, 2, 3, 9, 64, 255, 1000] {
        rows.push((0..k).map(|_| r.gauss() as f32).collect());
        rows.push(tied(1, k, true, k as u64).data);
    }
    for row in rows {
        let k = row.len();
        for keep in [0.5, 0.25, 0.01, 1.0] {
            let a = Matrix::new(1, k, row.clone());
            let want = sparse::sparsify_reference(&a, keep);
            let fast = sparse::sparsify(&a, keep);
            let got = quant::topk_rows(&row, 1, k, sparse::kept(k, keep));
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want.data), "keep {keep} of {row:?}");
            // The emulation's own selection, by the same oracle.
            assert_eq!(bits(&fast.data), bits(&want.data), "sparsify {row:?}");
        }
    }
    // Many rows at once (the parallel split): row by row the same.
    let a = tied(70, 600, true, 9);
    let got = quant::topk_rows(&a.data, 70, 600, 300);
    let want = sparse::sparsify_reference(&a, 0.5);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&got), bits(&want.data), "70 × 600");
}

#[test]
fn ties_zeros_and_saturated_codes() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for name in NARROW {
        let v = variants::find(name).expect("registered");
        for (s, &(m, k, n)) in [(1, 257, 40), (3, 1, 9), (8, 129, 17), (33, 300, 70)]
            .iter()
            .enumerate()
        {
            let seed = 100 + s as u64;
            // Ties everywhere (top-K ties; many activation codes at ±max).
            let a = tied(m, k, false, seed);
            let w = matrix(n, k, Dist::Normal, seed + 1);
            check(v.as_ref(), &a, &w, &format!("{m}x{k}x{n} ties"));
            let a = tied(m, k, true, seed + 2);
            check(v.as_ref(), &a, &w, &format!("{m}x{k}x{n} ties, specials"));
            // All-zero activations and weights (scale 0 on both sides).
            let z = Matrix::new(m, k, vec![0.0; m * k]);
            check(v.as_ref(), &z, &w, &format!("{m}x{k}x{n} zero A"));
            let zw = Matrix::new(n, k, vec![-0.0; n * k]);
            check(v.as_ref(), &a, &zw, &format!("{m}x{k}x{n} zero W"));
        }
    }
}

/// Every activation and weight at ±max of its code over a long K, so the
/// int32 sums reach their largest values (int8 × int8: ±127² · K), on the
/// GEMV and GEMM paths; the bitserial-w8a8 sums are checked against an
/// independent integer expectation as well.
#[test]
fn max_codes_over_long_k() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let k = 1 << 14;
    let n = 17;
    let sign = |i: usize| if i.is_multiple_of(2) { 1.0f32 } else { -1.0 };
    let w = Matrix::new(n, k, (0..n * k).map(|i| sign(i / k)).collect());
    for name in NARROW {
        let v = variants::find(name).expect("registered");
        for m in [1, 12] {
            let a = Matrix::new(m, k, (0..m * k).map(|i| sign(i / k)).collect());
            let want = check(v.as_ref(), &a, &w, &format!("{m}x{k}x{n} ±max"));
            if name == "matmul/bitserial-w8a8" {
                let s = (1.0f64 / 127.0) as f32;
                let exact = ((127 * 127 * k) as f32 * s) * s;
                for i in 0..m {
                    for j in 0..n {
                        let e = (sign(i) * sign(j) * exact) as f64;
                        assert_eq!(want[i * n + j], e, "{name} output {i},{j}");
                    }
                }
            }
        }
    }
}

/// The narrow weights' 8-bit copy (the VNNI GEMM's panels) holds the codes
/// `pack` stores at 8 bits, where the groups pad alike (whole blocks at
/// every width), with a ragged last panel.
#[test]
fn widened_panels_equal_8_bit_packing() {
    use bitsim::kernels::pack::IntPanels;
    use bitsim::tensor::{QOperand, Values};
    let (n, k) = (13, 256);
    for (bits, lo, hi) in [(4u32, -7i64, 7i64), (2, -1, 1), (1, -1, 1)] {
        let mut r = Rng(bits as u64);
        let v: Vec<i8> = (0..n * k)
            .map(|_| {
                let c = lo + r.below((hi - lo + 1) as u64) as i64;
                if bits == 1 && c == 0 {
                    1
                } else {
                    c as i8
                }
            })
            .collect();
        for group in [0, 128] {
            let q = QOperand {
                rows: n,
                k,
                values: Values::Int(v.clone()),
                group,
                inner: (group > 0).then(|| vec![0.5; n * k / group]),
                outer: Some(vec![0.25; n]),
            };
            let wide = IntPanels::pack(&q, bits).widen_to_8();
            assert_eq!(wide, IntPanels::pack(&q, 8), "{bits} bits, group {group}");
        }
    }
}
