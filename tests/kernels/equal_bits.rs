//! Every native kernel = its variant's emulation, bit for bit.

use crate::seeded::Rng;
use crate::{assert_bits_eq, check, LEVEL_LOCK};
use bitsim::tensor::Matrix;
use bitsim::variants::{self, MatmulVariant};

/// Operand distributions: how the elements of A and W are drawn.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Dist {
    Normal,
    Uniform,
    /// Normal with a few large outliers (LLM activations).
    Outliers,
    /// Magnitudes over many binades, with ±0, subnormals, ±inf and NaN.
    Specials,
}

pub(crate) fn matrix(rows: usize, cols: usize, dist: Dist, seed: u64) -> Matrix {
    let mut r = Rng(seed);
    let data = (0..rows * cols)
        .map(|i| match dist {
            Dist::Normal => r.gauss() as f32,
            Dist::Uniform => (r.unit() * 2.0 - 1.0) as f32,
            Dist::Outliers => {
                let x = r.gauss() as f32;
                if r.below(97) == 0 {
                    x * 60.0
                } else {
                    x
                }
            }
            Dist::Specials => match r.below(40) {
                0 => 0.0,
                1 => -0.0,
                2 => f32::from_bits(r.below(0x7f_ffff) as u32 + 1),
                3 if i % 7 == 0 => f32::INFINITY,
                4 if i % 11 == 0 => f32::NAN,
                5 => -f32::MAX / 3.0,
                _ => (r.gauss() * 2f64.powi(r.below(60) as i32 - 30)) as f32,
            },
        })
        .collect();
    Matrix::new(rows, cols, data)
}

/// Every registered variant with a native kernel.
pub(crate) fn natives() -> Vec<Box<dyn MatmulVariant>> {
    variants::registry()
        .into_iter()
        .filter(|v| v.native().is_some())
        .collect()
}

#[test]
fn the_expected_variants_have_native_kernels() {
    let names: Vec<&str> = natives().iter().map(|v| v.name()).collect();
    for want in [
        "matmul/f32",
        "matmul/f32-fma",
        "matmul/bf16",
        "matmul/fp16",
        "matmul/w8a8-int",
        "matmul/w4a8-int",
        "matmul/w2a8-int",
        "matmul/w1.58a8-ternary",
        "matmul/w1a8-binary",
        "matmul/w1a1-binary",
        "matmul/w4a16",
        "matmul/w8a8-int16-sat",
        "matmul/fp16-acc-fp16",
        "matmul/lmul-carry-bf16",
        "matmul/lmul-carry-e4m3",
        "matmul/lmul-literal-bf16",
        "matmul/lmul-literal-e4m3",
        "matmul/bf16-dpbf16",
        "matmul/q8_0",
        "matmul/q4_0",
        "matmul/mxfp4-q8",
        "matmul/fp8-e4m3",
        "matmul/fp8-e5m2",
        "matmul/fp6-e2m3",
        "matmul/fp6-e3m2",
        "matmul/fp4-e2m1",
        "matmul/mxfp8",
        "matmul/mxfp6",
        "matmul/mxfp4",
        "matmul/mxint8",
        "matmul/nvfp4",
        "matmul/wfp4-abf16",
        "matmul/bitmod-w4",
        "matmul/bitmod-w3",
        "matmul/w1.58a4",
        "matmul/w1.58a8-topk",
        "matmul/bitserial-w4a8",
        "matmul/bitserial-w8a8",
    ] {
        assert!(
            names.contains(&want),
            "{want} has no native kernel: {names:?}"
        );
    }
}

#[test]
fn ragged_shapes_and_distributions() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let shapes = [
        (1, 1, 1),
        (1, 7, 3),
        (2, 130, 9),
        (3, 257, 17),
        (17, 300, 33),
        (8, 129, 8),
        (9, 64, 16),
        (1, 1000, 41),
        (3, 1100, 19),
        // Wide enough for every GEMV tile (16 / 8 / 4 panels and a tail of
        // one), M = 8 split into row tiles on AVX2.
        (1, 300, 131),
        (2, 77, 200),
        (5, 40, 150),
        (8, 70, 100),
    ];
    for v in natives() {
        for (s, &(m, k, n)) in shapes.iter().enumerate() {
            for (d, dist) in [Dist::Normal, Dist::Uniform, Dist::Outliers, Dist::Specials]
                .into_iter()
                .enumerate()
            {
                let seed = (s * 10 + d) as u64;
                let a = matrix(m, k, dist, seed);
                let w = matrix(n, k, dist, seed + 1000);
                check(v.as_ref(), &a, &w, &format!("{m}x{k}x{n} {dist:?}"));
            }
        }
    }
}

#[test]
fn gemm_path_with_many_rows() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for v in natives() {
        let a = matrix(131, 384, Dist::Outliers, 5);
        let w = matrix(70, 384, Dist::Normal, 6);
        check(v.as_ref(), &a, &w, "131x384x70");
        // Row-block tasks (≥ 2 row blocks per thread), a 5-row last block,
        // K padded to whole quads and groups.
        let a = matrix(261, 515, Dist::Specials, 7);
        let w = matrix(150, 515, Dist::Outliers, 8);
        check(v.as_ref(), &a, &w, "261x515x150");
        // A 13-row block: one 8-row VNNI tile and a 5-row one (repeated rows).
        let a = matrix(77, 200, Dist::Outliers, 9);
        let w = matrix(33, 200, Dist::Normal, 10);
        check(v.as_ref(), &a, &w, "77x200x33");
    }
}

#[test]
fn vnni_gemm_wide_tiles() {
    // The VNNI GEMM of 8-bit weights (row-block tasks of 8 panels, tiles
    // of 4 rows × 1–4 panel pairs, K in chunks of 96 quads): every pair
    // count in a task's last tile (9, 11, 13, 14 panels: 1, 2 (half), 3
    // (half), 3 pairs), an odd last panel, short row tiles, several K
    // chunks. Two threads, so that 300 rows make enough row blocks.
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let v = variants::find("matmul/w8a8-int").expect("registered");
    let shapes = [
        (300, 1000, 72),
        (263, 390, 85),
        (301, 200, 101),
        (258, 387, 112),
    ];
    for (s, &(m, k, n)) in shapes.iter().enumerate() {
        let a = matrix(m, k, Dist::Outliers, 40 + s as u64);
        let w = matrix(n, k, Dist::Normal, 50 + s as u64);
        pool.install(|| check(v.as_ref(), &a, &w, &format!("{m}x{k}x{n}")));
    }
}

#[test]
fn thread_count_changes_no_bit() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // 300 rows: the GEMM's row-block tasks on 3 threads, panel tasks on 1.
    let a = matrix(300, 515, Dist::Normal, 8);
    let w = matrix(37, 515, Dist::Normal, 9);
    for v in natives() {
        let mut native = v.native().expect("native");
        native.pack_weights(&w);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| native.matmul(&a));
        let three = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap()
            .install(|| native.matmul(&a));
        assert_bits_eq(&format!("{} 1 vs 3 threads", v.name()), &three, &one);
    }
}

/// bf16 operands whose products leave the normal f32 range: the kernel may
/// not fuse the multiply into the add there, and must still match.
#[test]
fn float_products_outside_the_normal_range() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for (lo, name) in [(1e-25f32, "tiny"), (1e19f32, "huge")] {
        let mut r = Rng(3);
        let a = Matrix::new(
            5,
            77,
            (0..5 * 77).map(|_| lo * (1.0 + r.unit() as f32)).collect(),
        );
        let w = Matrix::new(
            11,
            77,
            (0..11 * 77).map(|_| lo * (r.gauss() as f32)).collect(),
        );
        for v in [
            "matmul/bf16",
            "matmul/bf16-dpbf16",
            "matmul/fp16",
            "matmul/w4a16",
            "matmul/f32",
            "matmul/f32-fma",
        ] {
            let v = variants::find(v).expect("registered");
            check(v.as_ref(), &a, &w, name);
        }
    }
}
