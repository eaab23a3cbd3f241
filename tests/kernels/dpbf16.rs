//! `matmul/bf16-dpbf16`'s kernel against its emulation at every ISA level:
//! seeded shapes (odd K, K across chunks, M = 1, GEMM and prefill row
//! blocks, ragged N), tiles that take the fast path next to tiles that must
//! not (tiny and huge products, subnormals, inf, NaN), and hand-derived
//! outputs where the instruction's order, fusing and flushing show. On a CPU
//! with AVX-512 BF16 the AVX-512 level runs `vdpbf16ps` itself, so these
//! tests check the model against the hardware; elsewhere that level is not
//! available and the AVX2 and portable paths are checked.

use crate::seeded::Rng;
use crate::{check, LEVEL_LOCK};
use bitsim::tensor::Matrix;
use bitsim::variants::{self, MatmulVariant};

const NAME: &str = "matmul/bf16-dpbf16";

fn variant() -> Box<dyn MatmulVariant> {
    variants::find(NAME).expect("registered")
}

/// Normal values scaled by 2^`scale`, with a share of specials when `specials`.
fn matrix(rows: usize, cols: usize, seed: u64, scale: i32, specials: bool) -> Matrix {
    let mut r = Rng(seed);
    let s = 2f32.powi(scale);
    let data = (0..rows * cols)
        .map(|i| {
            if !specials {
                return r.gauss() as f32 * s;
            }
            match r.below(30) {
                0 => 0.0,
                1 => -0.0,
                2 => f32::from_bits(r.below(0x7f_ffff) as u32 + 1),
                // Rare, so most outputs stay finite.
                3 if i % 61 == 0 => f32::INFINITY,
                4 if i % 67 == 0 => f32::NAN,
                5 => 1e-30 * r.gauss() as f32,
                6 => 1e30 * r.gauss() as f32,
                _ => r.gauss() as f32 * s,
            }
        })
        .collect();
    Matrix::new(rows, cols, data)
}

#[test]
fn seeded_shapes_equal_the_emulation() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let v = variant();
    // (m, k, n): odd K, K over two and three chunks of 256 pairs, M = 1,
    // GEMV (≤ 8 rows), GEMM (> 8 rows) and more than one 64-row block.
    let shapes = [
        (1, 1, 1),
        (1, 3, 17),
        (1, 513, 65),
        (2, 1031, 33),
        (4, 64, 16),
        (7, 255, 40),
        (9, 129, 31),
        (70, 77, 19),
        (131, 300, 50),
        // Four-panel tiles of 2, 3 and 4 rows (the vdpbf16ps plan), with
        // single panels at the ragged end.
        (6, 300, 64),
        (11, 70, 100),
    ];
    for (s, &(m, k, n)) in shapes.iter().enumerate() {
        for specials in [false, true] {
            let seed = 100 * s as u64 + specials as u64;
            let a = matrix(m, k, seed, 0, specials);
            let w = matrix(n, k, seed + 7, -4, specials);
            check(
                v.as_ref(),
                &a,
                &w,
                &format!("{m}x{k}x{n} specials={specials}"),
            );
        }
    }
}

/// Rows and panels whose products leave the fast window sit next to ones
/// that stay in it, in one product: each tile must pick its own path.
#[test]
fn tiles_outside_the_fast_window() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let v = variant();
    for (scale, what) in [
        (-60, "tiny"),
        (-66, "tinier"),
        (62, "huge"),
        (-100, "tiniest"),
    ] {
        let mut a = matrix(6, 601, 11, 0, false);
        // Row 2 and a stretch of row 4 (one K chunk) out of range.
        for x in &mut a.data[2 * 601..3 * 601] {
            *x *= 2f32.powi(scale);
        }
        for x in &mut a.data[4 * 601 + 300..4 * 601 + 400] {
            *x *= 2f32.powi(scale);
        }
        let mut w = matrix(40, 601, 12, 0, false);
        // Channel 20 (the second panel) scaled the same way.
        for x in &mut w.data[20 * 601..21 * 601] {
            *x *= 2f32.powi(scale);
        }
        check(v.as_ref(), &a, &w, what);
    }
}

/// Just below the fast window's lower edge (product exponents `Ea + Ew =
/// 141`, products near 2^−113): the odd product −2^−113·(1 + 2^−6), then
/// the even one 2^−113·(1 + 2^−7)², leave 2^−127, a subnormal the
/// instruction flushes to +0 where one f32 FMA chain would keep it. The
/// kernel must send such tiles to the emulation step (a wider window fails here).
#[test]
fn the_fast_windows_lower_edge() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let t = 1.0 + 2f32.powi(-7);
    let a0 = 2f32.powi(-57) * t;
    let a1 = -(2f32.powi(-57) * (1.0 + 2f32.powi(-6)));
    let (w0, w1) = (2f32.powi(-56) * t, 2f32.powi(-56));
    let a = rows(3, &[a0, a1]);
    let w = rows(17, &[w0, w1]);
    let want = check(variant().as_ref(), &a, &w, "lower edge");
    assert!(
        want.iter().all(|&x| x.to_bits() == 0),
        "flushed to +0: {want:?}"
    );
    // The same products scaled into the window: 2^−127·2^20 stays.
    let a = rows(3, &[a0 * 2f32.powi(10), a1 * 2f32.powi(10)]);
    let w = rows(17, &[w0 * 2f32.powi(10), w1 * 2f32.powi(10)]);
    let want = check(variant().as_ref(), &a, &w, "inside");
    assert!(want.iter().all(|&x| x == 2f64.powi(-107)), "{want:?}");
}

/// `m` copies of `row` (bf16 values, so the cast keeps them).
fn rows(m: usize, row: &[f32]) -> Matrix {
    Matrix::new(m, row.len(), row.repeat(m))
}

#[test]
fn the_pair_order_shows_in_the_output() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // a = [0, 1, 2^-24, 1.5·2^-24], w = 1: the first instruction leaves 1;
    // the second adds 1.5·2^-24 (→ 1 + 2^-23), then 2^-24 (a tie → 1 + 2^-22).
    // In K order (matmul/bf16) it is 1 + 2^-24 → 1, then → 1 + 2^-23.
    let a = rows(3, &[0.0, 1.0, 2f32.powi(-24), 1.5 * 2f32.powi(-24)]);
    let w = rows(17, &[1.0; 4]);
    let want = check(variant().as_ref(), &a, &w, "pair order");
    assert!(want.iter().all(|&x| x == 1.0 + 2f64.powi(-22)), "{want:?}");
    let k_order = variants::find("matmul/bf16")
        .expect("registered")
        .emulate(&a, &w, 0);
    assert!(
        k_order.iter().all(|&x| x == 1.0 + 2f64.powi(-23)),
        "{k_order:?}"
    );
}

#[test]
fn flushes_and_fusing_show_in_the_output() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let v = variant();
    let p = |e: i32| 2f32.powi(e);
    // K = 2: 2^-70 · −2^-70 flushes to −0, then +0 · −1 = −0 keeps it: −0.
    let want = check(
        v.as_ref(),
        &rows(1, &[0.0, p(-70)]),
        &rows(9, &[-1.0, -p(-70)]),
        "−0",
    );
    assert!(
        want.iter().all(|x| x.to_bits() == (-0.0f64).to_bits()),
        "{want:?}"
    );
    // K = 3: the padded pair's +0 · +0 turns −0 into +0 first.
    let want = check(
        v.as_ref(),
        &rows(1, &[0.0, p(-70), 0.0]),
        &rows(9, &[-1.0, -p(-70), -1.0]),
        "pad",
    );
    assert!(
        want.iter().all(|x| x.to_bits() == 0f64.to_bits()),
        "{want:?}"
    );
    // Fused: 2^-125 (from the first pair) + 2^-64 · 2^-63 = 1.25 · 2^-125.
    let want = check(
        v.as_ref(),
        &rows(2, &[p(-125), 0.0, p(-64), 0.0]),
        &rows(5, &[1.0, 0.0, p(-63), 0.0]),
        "fused tiny product",
    );
    assert!(
        want.iter().all(|&x| x == 1.25 * 2f64.powi(-125)),
        "{want:?}"
    );
    // A subnormal activation reads as zero: 2^-130 · 2^100 adds nothing.
    let want = check(
        v.as_ref(),
        &rows(1, &[1.0, p(-130)]),
        &rows(3, &[1.0, p(100)]),
        "DAZ",
    );
    assert!(want.iter().all(|&x| x == 1.0), "{want:?}");
    // Overflow: 2^127 + 2^127 = inf; then −inf products make NaN.
    let want = check(
        v.as_ref(),
        &rows(1, &[p(64), p(64)]),
        &rows(3, &[p(63), p(63)]),
        "overflow",
    );
    assert!(want.iter().all(|&x| x == f64::INFINITY), "{want:?}");
    let want = check(
        v.as_ref(),
        &rows(1, &[p(64), p(64), f32::NEG_INFINITY, 0.0]),
        &rows(3, &[p(63), p(63), 1.0, 0.0]),
        "inf − inf",
    );
    assert!(want.iter().all(|x| x.is_nan()), "{want:?}");
}

/// RNE f32 → bf16 by the integer-add trick (finite inputs), written here
/// independently of the crate's converters.
fn bf16_rne(x: f32) -> f32 {
    let b = x.to_bits();
    f32::from_bits((b + 0x7fff + ((b >> 16) & 1)) & 0xffff_0000)
}

/// On ordinary operands (products far inside the normal range, so DAZ and
/// FTZ never act) the variant is plain f32 fused multiply-adds in the pair
/// order — written out here with `f32::mul_add` — and not the K order.
#[test]
fn ordinary_operands_are_fmas_in_pair_order() {
    let v = variant();
    let (m, k, n) = (3, 101, 5);
    let a = matrix(m, k, 41, 0, false);
    let w = matrix(n, k, 42, -3, false);
    let got = v.emulate(&a, &w, 0);
    let (mut differs, mut nonzero) = (0, 0);
    for i in 0..m {
        for j in 0..n {
            let x = |kk: usize| bf16_rne(a.data[i * k + kk]);
            let y = |kk: usize| bf16_rne(w.data[j * k + kk]);
            let mut acc = 0.0f32;
            for p in (0..k).step_by(2) {
                if p + 1 < k {
                    acc = x(p + 1).mul_add(y(p + 1), acc);
                } else {
                    acc += 0.0;
                }
                acc = x(p).mul_add(y(p), acc);
            }
            let in_order = (0..k).fold(0.0f32, |s, kk| x(kk).mul_add(y(kk), s));
            let g = got[i * n + j];
            assert_eq!(g.to_bits(), (acc as f64).to_bits(), "out[{i},{j}]");
            differs += (in_order != acc) as u32;
            nonzero += (acc != 0.0) as u32;
        }
    }
    assert_eq!(nonzero, (m * n) as u32);
    assert!(differs > 0, "the order never mattered: a weak test");
}

/// Tininess is decided after rounding (24 bits, exponent unbounded): on a
/// CPU with AVX-512 BF16 this compares `vdpbf16ps` itself with the model.
#[test]
fn tininess_after_rounding_in_the_kernel() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let v = variant();
    let p = |e: i32| 2f32.powi(e);
    // 2^-126 − 2^-150: exact at 24 bits and below 2^-126, so tiny → +0.
    let want = check(
        v.as_ref(),
        &rows(1, &[p(-126), 0.0, p(-75), 0.0]),
        &rows(3, &[1.0, 0.0, -p(-75), 0.0]),
        "2^-126 - 2^-150",
    );
    assert!(
        want.iter().all(|x| x.to_bits() == 0f64.to_bits()),
        "{want:?}"
    );
    // 2^-126 − 2^-152 rounds to 2^-126: not tiny, kept (tininess before
    // rounding would flush it).
    let want = check(
        v.as_ref(),
        &rows(1, &[p(-126), 0.0, p(-76), 0.0]),
        &rows(3, &[1.0, 0.0, -p(-76), 0.0]),
        "2^-126 - 2^-152",
    );
    assert!(want.iter().all(|&x| x == 2f64.powi(-126)), "{want:?}");
}
