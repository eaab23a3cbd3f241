//! The BitMoD kernels (`matmul/bitmod-w4`, `matmul/bitmod-w3`): native =
//! emulation at every ISA level on seeded operands and ragged shapes (K not
//! a multiple of 128, M and N odd or 1, GEMV and GEMM paths), groups forced
//! to each of the four types, all-zero groups and rows, codes at the types'
//! largest magnitudes against activations at ±127; the type tables and the
//! code round trip; and, where every scale is 1, the output against the
//! exact integer product computed here.

use crate::equal_bits::{matrix, Dist};
use crate::seeded::Rng;
use crate::{check, LEVEL_LOCK};
use bitsim::arith::bitserial::datatypes::{self, BitmodType, GROUP};
use bitsim::kernels::bitmod::{lut, BitmodCodes};
use bitsim::tensor::Matrix;
use bitsim::variants;

const NAMES: [&str; 2] = ["matmul/bitmod-w4", "matmul/bitmod-w3"];

fn bits_of(name: &str) -> u32 {
    if name.ends_with("w4") {
        4
    } else {
        3
    }
}

#[test]
fn seeded_ragged_shapes_at_every_level() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // (m, k, n): K below, at, between and beyond 128; M = 1 and odd, GEMV
    // (M ≤ 8) and GEMM (M > 8, several row tiles and a short last one).
    let shapes = [
        (1, 1, 1),
        (1, 127, 3),
        (1, 128, 1),
        (3, 129, 5),
        (1, 300, 17),
        (7, 385, 9),
        (9, 256, 11),
        (13, 517, 23),
        (131, 260, 13),
        (1, 1000, 41),
    ];
    for name in NAMES {
        let v = variants::find(name).unwrap();
        for (s, &(m, k, n)) in shapes.iter().enumerate() {
            for (d, dist) in [Dist::Normal, Dist::Outliers, Dist::Specials]
                .into_iter()
                .enumerate()
            {
                let seed = 700 + (s * 10 + d) as u64;
                let a = matrix(m, k, dist, seed);
                let w = matrix(n, k, dist, seed + 1);
                check(v.as_ref(), &a, &w, &format!("{m}x{k}x{n} {dist:?}"));
            }
        }
    }
}

/// Group `g` of row `r` built to select type `ty` with zero error: every
/// weight a value of `ty` times `s`, its largest magnitude `ty`'s (so the
/// scale is `s` when `s` is an fp16 value), its extra value present.
fn group_of(ty: BitmodType, bits: u32, s: f32, len: usize, rng: &mut Rng) -> Vec<f32> {
    let vals = ty.values(bits);
    let qmax = ty.qmax(bits);
    let mut g: Vec<f32> = (0..len)
        .map(|_| vals[rng.below(vals.len() as u64) as usize] as f32 * s)
        .collect();
    // The extra value and a ±qmax with the extra's sign, so that absmax is
    // qmax and no other type fits as well.
    g[0] = ty.extra(bits) as f32 * s;
    if len > 1 {
        g[len - 1] = qmax as f32 * ty.extra(bits).signum() as f32 * s;
    }
    g
}

#[test]
fn every_type_zero_groups_and_exact_products() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for name in NAMES {
        let bits = bits_of(name);
        let v = variants::find(name).unwrap();
        // K = 5 groups and a ragged 37; group 4 of every row all zero.
        let k = 4 * GROUP + 37;
        for (m, n) in [(1, 9), (5, 7), (11, 5)] {
            for scale in [1.0f32, 0.375] {
                let mut rng = Rng(bits as u64 * 100 + m as u64);
                let mut w = Vec::with_capacity(n * k);
                for r in 0..n {
                    for gi in 0..k.div_ceil(GROUP) {
                        let len = GROUP.min(k - gi * GROUP);
                        if gi == 3 {
                            w.extend(std::iter::repeat_n(0.0, len));
                        } else {
                            let ty = BitmodType::ALL[(r + gi) % 4];
                            w.extend(group_of(ty, bits, scale, len, &mut rng));
                        }
                    }
                }
                let w = Matrix::new(n, k, w);
                // The setup really picks every type, each with the intended
                // values (zero error at an fp16 scale).
                let q = datatypes::quantize(&w, bits, GROUP);
                let gpr = k.div_ceil(GROUP);
                for r in 0..n {
                    for gi in [0, 1, 2, 4] {
                        assert_eq!(
                            q.types[r * gpr + gi],
                            BitmodType::ALL[(r + gi) % 4],
                            "{name}: row {r} group {gi}"
                        );
                        assert_eq!(q.scales[r * gpr + gi], scale);
                    }
                }
                // Integer activations with absmax 127 (scale 1): row 0 has a
                // zero group (K 128..256), the last row is all zero.
                let a: Vec<f32> = (0..m * k)
                    .map(|i| {
                        let (row, c) = (i / k, i % k);
                        if (row == m - 1 && m > 1) || (row == 0 && (GROUP..2 * GROUP).contains(&c))
                        {
                            0.0
                        } else if c == 5 {
                            -127.0
                        } else if c == 6 {
                            127.0
                        } else {
                            rng.below(255) as f32 - 127.0
                        }
                    })
                    .collect();
                let a = Matrix::new(m, k, a);
                let want = check(v.as_ref(), &a, &w, &format!("{m}x{k}x{n} s={scale}"));
                if scale == 1.0 {
                    // Every scale is 1 and every partial sum an integer
                    // below 2^24: the output is the exact integer product.
                    for i in 0..m {
                        for j in 0..n {
                            let exact: i64 = (0..k)
                                .map(|c| a.data[i * k + c] as i64 * w.data[j * k + c] as i64)
                                .sum();
                            assert_eq!(want[i * n + j], exact as f64, "{name} ({i}, {j})");
                        }
                    }
                }
            }
        }
    }
}

/// Every weight at its type's largest magnitude (both signs, the extra
/// value included) against activations at ±127, over K = 8192 (+ a ragged
/// 100): the largest group sums (128 · 127 · 16) and pairs the int16 steps
/// see, on the GEMV and the GEMM paths.
#[test]
fn max_codes_against_activations_at_127() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for name in NAMES {
        let bits = bits_of(name);
        let v = variants::find(name).unwrap();
        let k = 64 * GROUP + 100;
        let n = 9;
        let w: Vec<f32> = (0..n * k)
            .map(|i| {
                let (r, c) = (i / k, i % k);
                let ty = BitmodType::ALL[(r + c / GROUP) % 4];
                let q = ty.qmax(bits) as f32;
                // EA± groups: all at the extra (±qmax); ER± groups at ±qmax
                // with the extra value sprinkled in.
                match (c + r) % 3 {
                    0 if matches!(ty, BitmodType::ErPos | BitmodType::ErNeg) => {
                        ty.extra(bits) as f32
                    }
                    _ => q * ty.extra(bits).signum() as f32,
                }
            })
            .collect();
        let w = Matrix::new(n, k, w);
        for m in [1, 3, 12] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| match (i / k) % 3 {
                    0 => 127.0,
                    1 => -127.0,
                    _ => {
                        if i % 2 == 0 {
                            127.0
                        } else {
                            -127.0
                        }
                    }
                })
                .collect();
            let a = Matrix::new(m, k, a);
            check(v.as_ref(), &a, &w, &format!("max codes {m}x{k}x{n}"));
        }
    }
}

#[test]
fn type_tables_and_code_round_trip() {
    for bits in [3, 4] {
        for ty in BitmodType::ALL {
            let t = lut(bits, ty);
            assert_eq!(t.len(), 1 << bits, "{bits}-bit {}", ty.name());
            // Ascending, distinct, the extra value present, every value an
            // int8 well inside the kernels' −127..=127.
            assert!(t.windows(2).all(|p| p[0] < p[1]), "{t:?}");
            assert!(t.contains(&(ty.extra(bits) as i8)));
            assert!(t.iter().all(|&x| x.unsigned_abs() <= 16));
        }
    }
    // By hand: the 4-bit ER+ and 3-bit EA- tables.
    assert_eq!(
        lut(4, BitmodType::ErPos),
        [-12, -8, -6, -4, -3, -2, -1, 0, 1, 2, 3, 4, 6, 8, 10, 12]
    );
    assert_eq!(lut(3, BitmodType::EaNeg), [-6, -4, -2, -1, 0, 1, 2, 4]);
    for (bits, seed) in [(4, 1), (3, 2)] {
        let w = matrix(7, 300, Dist::Outliers, seed);
        let q = datatypes::quantize(&w, bits, GROUP);
        let c = BitmodCodes::encode(&q);
        assert!(c.codes.iter().all(|&x| (x as u32) < (1 << bits)));
        assert_eq!(c.decode(), q.values);
    }
}
