//! The FP8 E4M3 accumulator kernels (`matmul/fp8-e4m3-exact`,
//! `matmul/fp8-e4m3-acc-e8m13`, `matmul/fp8-e4m3-chunk128`): native =
//! emulation at every ISA level on seeded operands, ragged shapes and
//! special values; the exact register against an i128 sum with the
//! rounding checked by its definition; the e8m13 rtz register against
//! hand-derived bits.

use crate::seeded::Rng;
use crate::{check, LEVEL_LOCK};
use bitsim::formats::parse::E4M3;
use bitsim::kernels::fp8acc::{exact_dot, is_e4m3_value, rtz_step};
use bitsim::tensor::Matrix;
use bitsim::variants::{self, MatmulVariant};

const EXACT: &str = "matmul/fp8-e4m3-exact";
const E8M13: &str = "matmul/fp8-e4m3-acc-e8m13";
const CHUNK: &str = "matmul/fp8-e4m3-chunk128";
const ALL: [&str; 3] = [EXACT, E8M13, CHUNK];

fn variant(name: &str) -> Box<dyn MatmulVariant> {
    variants::find(name).expect("registered")
}

/// A random finite E4M3 value (every code but the two NaNs).
fn e4m3(r: &mut Rng) -> f32 {
    loop {
        let c = r.below(256) as u32;
        if c & 0x7f != 0x7f {
            return E4M3.decode_f32(c);
        }
    }
}

/// `rows × k` E4M3 values plus one extra row holding 448 (and zeros): the
/// per-tensor absmax scale is then exactly 1, so the quantized elements are
/// these values themselves.
fn scale_one(rows: usize, k: usize, mut f: impl FnMut(usize, usize) -> f32) -> Matrix {
    let mut data = Vec::with_capacity((rows + 1) * k);
    for i in 0..rows {
        for kk in 0..k {
            let v = f(i, kk);
            assert!(is_e4m3_value(v) && v.abs() <= 448.0, "test value {v:e}");
            data.push(v);
        }
    }
    data.extend((0..k).map(|kk| if kk == 0 { 448.0 } else { 0.0 }));
    Matrix::new(rows + 1, k, data)
}

fn gauss(rows: usize, k: usize, seed: u64, scale: f64) -> Matrix {
    let mut r = Rng(seed);
    Matrix::new(
        rows,
        k,
        (0..rows * k).map(|_| (r.gauss() * scale) as f32).collect(),
    )
}

#[test]
fn random_operands_and_ragged_shapes_equal_the_emulation() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut seed = 1;
    for &k in &[1usize, 5, 127, 128, 129, 255, 256, 257, 300, 600] {
        for &(m, n) in &[(1, 1), (1, 9), (3, 17), (5, 8), (9, 23), (12, 70)] {
            seed += 1;
            let a = gauss(m, k, seed, 1.0);
            let w = gauss(n, k, seed + 1000, 0.02);
            for name in ALL {
                check(&*variant(name), &a, &w, &format!("gauss m{m} n{n} k{k}"));
            }
        }
    }
}

#[test]
fn all_e4m3_values_incl_zeros_subnormals_and_max_equal_the_emulation() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = Rng(77);
    for &k in &[1usize, 5, 127, 128, 129, 300] {
        for &(m, n) in &[(1, 7), (4, 9), (6, 20)] {
            // Codes uniform over the whole format: ±0, subnormals, ±448.
            let a = scale_one(m, k, |_, _| e4m3(&mut r));
            let w = scale_one(n, k, |_, _| e4m3(&mut r));
            for name in ALL {
                check(&*variant(name), &a, &w, &format!("codes m{m} n{n} k{k}"));
            }
            // Only zeros and subnormals on one side (tiny sums, ties at 2^−18).
            let sub = |r: &mut Rng| {
                let c = r.below(16) as u32;
                E4M3.decode_f32(if c >= 8 { 0x80 | (c - 8) } else { c })
            };
            let a = scale_one(m, k, |_, _| sub(&mut r));
            for name in ALL {
                check(
                    &*variant(name),
                    &a,
                    &w,
                    &format!("subnormal m{m} n{n} k{k}"),
                );
            }
        }
    }
}

#[test]
fn zeros_cancellation_nan_and_inf_inputs_equal_the_emulation() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // Row 0 × column 2: all −0 products (−0·+0); row 1 × column 0:
    // 3 − 3 + 2 − 2 + 448² − 448² = an exact zero; row 2:
    // +0 and −0 mixed; row 3: a NaN input; row 4: ±inf inputs.
    let k = 6;
    let a = Matrix::new(
        5,
        k,
        vec![
            -0.0,
            -0.0,
            -0.0,
            -0.0,
            -0.0,
            -0.0, //
            3.0,
            3.0,
            0.5,
            -0.5,
            448.0,
            -448.0, //
            0.0,
            -0.0,
            0.0,
            -0.0,
            0.0,
            -0.0, //
            1.0,
            f32::NAN,
            2.0,
            3.0,
            4.0,
            5.0, //
            f32::INFINITY,
            1.0,
            f32::NEG_INFINITY,
            2.0,
            3.0,
            4.0,
        ],
    );
    let w = Matrix::new(
        3,
        k,
        vec![
            1.0, -1.0, 4.0, 4.0, 448.0, 448.0, //
            -1.0, 1.0, 8.0, 8.0, 2.0, 2.0, //
            0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        ],
    );
    for name in ALL {
        let want = check(&*variant(name), &a, &w, "signed zeros, NaN, inf");
        // Exact cancellation is +0 in every register; all −0 products give
        // −0 only in the exact register (the e8m13 one starts at +0).
        assert_eq!(want[3].to_bits(), 0f64.to_bits(), "{name}: cancellation");
        // The E4M3 quantizer keeps NaN (the format has it): a NaN output.
        assert!(want[9].is_nan(), "{name}: NaN input gives {}", want[9]);
        let neg = want[2].is_sign_negative();
        assert_eq!(want[2], 0.0, "{name}: zero products");
        assert_eq!(neg, name == EXACT, "{name}: all −0 products: {}", want[2]);
    }
}

#[test]
fn long_k_crosses_the_exact_f64_bound_and_chunks() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // K above 2^17 sends the AVX2 exact path to the integer one; large
    // equal-sign products make the e8m13 register truncate every step.
    let k = (1 << 17) + 3;
    let mut r = Rng(5);
    let a = Matrix::new(
        2,
        k,
        (0..2 * k).map(|_| (r.unit() * 448.0) as f32).collect(),
    );
    let w = Matrix::new(3, k, (0..3 * k).map(|_| (r.gauss()) as f32).collect());
    for name in ALL {
        check(&*variant(name), &a, &w, "k = 2^17 + 3");
    }
}

/// The e8m13 register by hand. Products (scale 1, row 0 against column 0):
/// - `32·32 = 1024` then `−2^−9 · 2^−9 = −2^−18`: exact `1024 − 2^−18`,
///   whose f32 rounding is 1024 (a 14-bit value); rtz keeps 14 bits, so the
///   register is the 14-bit value below 1024: `1024 − 2^−4 = 1023.9375`
///   (`0x447ffc00`). The exact register rounds `1024 − 2^−18` to f32: 1024
///   (`0x44800000`).
#[test]
fn e8m13_rtz_hand_case_below_a_binade() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let t = 2f32.powi(-9);
    let a = scale_one(1, 2, |_, kk| [32.0, -t][kk]);
    let w = scale_one(1, 2, |_, kk| [32.0, t][kk]);
    let bits = |name: &str| (check(&*variant(name), &a, &w, "hand case")[0] as f32).to_bits();
    assert_eq!(bits(E8M13), 0x447f_fc00);
    assert_eq!(bits(CHUNK), 0x447f_fc00);
    assert_eq!(bits(EXACT), 0x4480_0000);
    assert_eq!(rtz_step(1024.0, -t, t).to_bits(), 0x447f_fc00);
}

/// Products `1` then 255 × `2^−7 · 2^−7 = 2^−14` (K = 256):
/// - e8m13 over all of K: `1 + 2^−14` needs 15 bits, truncated to 1 at
///   every step: 1.0 (`0x3f800000`);
/// - chunks of 128: chunk one is 1.0 (127 small products lost); chunk two
///   starts at 0 and holds `128 · 2^−14 = 2^−7` exactly; f32 sum
///   `1 + 2^−7 = 1.0078125` (`0x3f810000`);
/// - exact: `1 + 255 · 2^−14 = 1.01556396484375` (`0x3f81fe00`).
///
/// Negated weights give the same magnitudes (rtz is symmetric).
#[test]
fn e8m13_truncation_and_chunk_promotion_hand_case() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let s = 2f32.powi(-7);
    let a = scale_one(1, 256, |_, kk| if kk == 0 { 1.0 } else { s });
    let w = scale_one(2, 256, |j, kk| {
        let v = if kk == 0 { 1.0 } else { s };
        if j == 1 {
            -v
        } else {
            v
        }
    });
    for (name, want) in [
        (E8M13, 0x3f80_0000u32),
        (CHUNK, 0x3f81_0000),
        (EXACT, 0x3f81_fe00),
    ] {
        let out = check(&*variant(name), &a, &w, "truncation hand case");
        // Output row 0: columns 0 (positive), 1 (negated), 2 (the 448 row).
        assert_eq!((out[0] as f32).to_bits(), want, "{name}");
        assert_eq!(
            (out[1] as f32).to_bits(),
            want | 0x8000_0000,
            "{name} negated"
        );
    }
}

/// The exact register against an independent oracle: the i128 sum `S` of
/// the products in units of 2^−18, and the output checked against the
/// definition of RNE: `v · 2^18` is within half an ulp of `S`, strictly
/// nearer than either f32 neighbour, ties to an even significand.
#[test]
fn exact_register_rounds_the_i128_sum_once() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = Rng(91);
    let (m, n) = (3, 5);
    for &k in &[1usize, 7, 129, 1000, 5000] {
        // Large codes on both sides: sums far beyond 2^24 units, so they round.
        let big = |r: &mut Rng| {
            let v = e4m3(r);
            if v.abs() < 1.0 {
                v * 64.0
            } else {
                v
            }
        };
        let a = scale_one(m, k, |_, _| big(&mut r));
        let w = scale_one(n, k, |_, _| big(&mut r));
        let out = check(&*variant(EXACT), &a, &w, &format!("oracle k{k}"));
        let units = |x: f32| (x as f64 * 512.0) as i128;
        for i in 0..m {
            for j in 0..n {
                let s: i128 = (0..k)
                    .map(|kk| units(a.data[i * k + kk]) * units(w.data[j * k + kk]))
                    .sum();
                let v = out[i * (n + 1) + j] as f32;
                let dist = |x: f32| ((x as f64 * 262_144.0) as i128 - s).abs();
                let (up, down) = (v.next_up(), v.next_down());
                let d = dist(v);
                assert!(d <= dist(up) && d <= dist(down), "k{k} ({i},{j}): {v:e}");
                if d == dist(up) || d == dist(down) {
                    assert_eq!(v.to_bits() & 1, 0, "tie to even at k{k} ({i},{j})");
                }
                assert_eq!(
                    exact_dot(
                        a.data[i * k..(i + 1) * k].iter().copied(),
                        w.data[j * k..(j + 1) * k].iter().copied()
                    )
                    .to_bits(),
                    v.to_bits()
                );
            }
        }
    }
}
