//! The sequential-register kernels (`matmul/fp16-acc-fp16`,
//! `matmul/lmul-{carry,literal}-{bf16,e4m3}`): their scalar building blocks against
//! independent references, and the kernels against the emulation on the
//! values where a shortcut would go wrong (fp16 double-rounding ties,
//! signed zeros, subnormals, overflow to inf, NaN; L-Mul zeros, subnormals,
//! overflow and underflow), at every ISA level.

use crate::seeded::Rng;
use crate::{assert_bits_eq, LEVEL_LOCK};
use bitsim::formats::parse::FP16;
use bitsim::formats::ConvertOptions;
use bitsim::isa::{self, IsaLevel};
use bitsim::kernels::fp16acc::{add_fp16, f16_to_f32, f32_to_f16};
use bitsim::tensor::Matrix;
use bitsim::variants::{self, MatmulVariant};

const FP16ACC: &str = "matmul/fp16-acc-fp16";
const LMUL: &str = "matmul/lmul-carry-bf16";
const LMUL_E4M3: &str = "matmul/lmul-carry-e4m3";
const LIT: &str = "matmul/lmul-literal-bf16";
const LIT_E4M3: &str = "matmul/lmul-literal-e4m3";

fn variant(name: &str) -> Box<dyn MatmulVariant> {
    variants::find(name).expect("registered")
}

/// Native = emulation at every level; returns the emulation.
fn check(name: &str, a: &Matrix, w: &Matrix, what: &str) -> Vec<f64> {
    let v = variant(name);
    let want = v.emulate(a, w, 0);
    let mut native = v.native().expect("has a native kernel");
    native.pack_weights(w);
    for level in IsaLevel::available() {
        isa::set_cap(level);
        let got = native.matmul(a);
        assert_bits_eq(&format!("{name} {what} at {level}"), &got, &want);
    }
    isa::set_cap(IsaLevel::Avx512);
    want
}

/// The fp16 code of `x` by the generic format encoder (RNE).
fn fp16_reference(x: f64) -> u16 {
    FP16.encode(x, &ConvertOptions::default(), 0)
        .expect("fp16 encodes every value") as u16
}

#[test]
fn f32_to_f16_matches_the_format_encoder() {
    let mut r = Rng(11);
    let mut xs: Vec<f32> = (0..400_000)
        .map(|_| f32::from_bits(r.next() as u32))
        .collect();
    // Around every fp16 tie, overflow and the subnormal boundary.
    for &c in &[
        65504.0f32,
        65519.99,
        65520.0,
        65536.0,
        6.1035156e-5,
        5.9604645e-8,
        2.9802322e-8,
    ] {
        for d in -3i32..=3 {
            xs.push(f32::from_bits((c.to_bits() as i32 + d) as u32));
            xs.push(-f32::from_bits((c.to_bits() as i32 + d) as u32));
        }
    }
    for h in 0..=u16::MAX {
        let v = f16_to_f32(h);
        assert!(
            v.is_nan() || fp16_reference(v as f64) == h,
            "decode/encode of {h:#06x}"
        );
        // Midpoints to the next code (ties).
        let next = f16_to_f32(h.wrapping_add(1));
        if v.is_finite() && next.is_finite() && (v < 0.0) == (next < 0.0) {
            xs.push(((v as f64 + next as f64) / 2.0) as f32);
        }
    }
    for x in xs {
        let got = f32_to_f16(x);
        if x.is_nan() {
            assert_eq!(got & 0x7e00, 0x7e00, "NaN {x:e}");
            continue;
        }
        assert_eq!(
            got,
            fp16_reference(x as f64),
            "{x:e} ({:#010x})",
            x.to_bits()
        );
    }
}

#[test]
fn add_fp16_rounds_the_exact_sum_once() {
    let mut r = Rng(12);
    let code = |r: &mut Rng| {
        // Finite codes, with the exponent spread over the whole range.
        let h = r.next() as u16;
        if h & 0x7c00 == 0x7c00 {
            h ^ 0x4000
        } else {
            h
        }
    };
    for i in 0..500_000 {
        let acc = f16_to_f32(code(&mut r));
        let (x, y) = (f16_to_f32(code(&mut r)), f16_to_f32(code(&mut r)));
        // Nearby magnitudes half the time, so sums cancel and round often.
        let y = if i % 2 == 0 {
            y
        } else {
            f16_to_f32(f32_to_f16(acc / x.max(1e-3)))
        };
        let p = x * y;
        // The product is exact in f64 (and f32); the f64 sum is exact when
        // TwoSum's error is zero: those cases are checked here, the others
        // by the kernels' comparison with the emulation.
        let (a64, p64) = (acc as f64, (x as f64) * (y as f64));
        let exact = a64 + p64;
        let bb = exact - a64;
        let err = (a64 - (exact - bb)) + (p64 - bb);
        if !exact.is_finite() || err != 0.0 {
            continue;
        }
        let want = f16_to_f32(fp16_reference(exact));
        let got = add_fp16(acc, p);
        assert_eq!(
            got.to_bits(),
            want.to_bits(),
            "{acc:e} + {x:e}·{y:e}: got {got:e}, want {want:e}"
        );
    }
}

/// Rounding the f32 sum to fp16 would give 2048 here; the exact sum
/// 2049 + 78·2^−21 lies above the tie 2049, so the register holds 2050.
#[test]
fn fp16_double_rounding_tie_goes_the_right_way() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (x, y) = (1046.0f32 / 1024.0, 2005.0f32 / 2048.0);
    assert_eq!(
        f16_to_f32(f32_to_f16(2048.0 + x * y)),
        2048.0,
        "the trap exists"
    );
    let a = Matrix::new(1, 2, vec![2048.0, x]);
    let w = Matrix::new(9, 2, [1.0, y].repeat(9));
    let want = check(FP16ACC, &a, &w, "tie");
    assert!(want.iter().all(|&v| v == 2050.0), "emulation: {want:?}");
}

/// The same trap among fp16 subnormals: 580·2^−24 + (811·2^−21)·(1293·2^−24)
/// = 580.50002·2^−24 rounds to 581·2^−24, while its f32 sum is the tie
/// 580.5·2^−24, which RNE would send to 580·2^−24.
#[test]
fn fp16_double_rounding_tie_among_subnormals() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let ulp = 2f32.powi(-24);
    let (x, y) = (811.0 * 2f32.powi(-21), 1293.0 * ulp);
    assert_eq!(
        f16_to_f32(f32_to_f16(580.0 * ulp + x * y)),
        580.0 * ulp,
        "the trap exists"
    );
    let a = Matrix::new(3, 2, [580.0 * ulp, x].repeat(3));
    let w = Matrix::new(10, 2, [1.0, y].repeat(10));
    let want = check(FP16ACC, &a, &w, "subnormal tie");
    assert!(
        want.iter().all(|&v| v == (581.0 * ulp) as f64),
        "emulation: {want:?}"
    );
}

#[test]
fn fp16_signed_zeros_subnormals_overflow_nan() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let tiny = 5.9604645e-8f32; // 2^−24, the least fp16 subnormal
    let cases: Vec<(&str, Vec<f32>, Vec<f32>, f64)> = vec![
        // −2^−48 rounds to −0; then −0 + −0 stays −0.
        ("-0", vec![-tiny, -0.0, 0.0], vec![tiny, 1.0, -1.0], -0.0),
        ("+0 + -0", vec![0.0, -0.0], vec![-1.0, 1.0], 0.0),
        ("cancel", vec![3.0, -3.0], vec![1.0, 1.0], 0.0),
        // Subnormal register values: 2^−24 · 1 + 2^−24 · 3 = 2^−22.
        (
            "subnormal",
            vec![tiny, tiny * 3.0],
            vec![1.0, 1.0],
            4.0 * tiny as f64,
        ),
        ("max", vec![65504.0, 8.0], vec![1.0, 1.0], 65504.0),
        (
            "overflow",
            vec![65504.0, 16.0],
            vec![1.0, 1.0],
            f64::INFINITY,
        ),
        (
            "-overflow",
            vec![-300.0, 300.0],
            vec![300.0, 0.5],
            f64::NEG_INFINITY,
        ),
        (
            "inf stays",
            vec![65504.0, 65504.0, -1000.0],
            vec![1.0, 1.0, 1.0],
            f64::INFINITY,
        ),
        (
            "inf - inf",
            vec![f32::INFINITY, f32::NEG_INFINITY],
            vec![1.0, 1.0],
            f64::NAN,
        ),
        (
            "nan in",
            vec![1.0, f32::NAN, 2.0],
            vec![1.0, 1.0, 1.0],
            f64::NAN,
        ),
        (
            "inf in",
            vec![1.0, f32::INFINITY],
            vec![1.0, 2.0],
            f64::INFINITY,
        ),
        (
            "inf x 0",
            vec![1.0, f32::INFINITY],
            vec![1.0, 0.0],
            f64::NAN,
        ),
        (
            "rounds to inf on cast",
            vec![70000.0],
            vec![1.0],
            f64::INFINITY,
        ),
    ];
    for (what, a, w, want) in cases {
        let k = a.len();
        // 11 outputs (a ragged panel) share the case; 2 rows.
        let a = Matrix::new(2, k, [a.clone(), a].concat());
        let w = Matrix::new(11, k, w.repeat(11));
        let got = check(FP16ACC, &a, &w, what);
        for g in got {
            assert!(
                g.to_bits() == want.to_bits() || (g.is_nan() && want.is_nan()),
                "{what}: emulation {g:e}, expected {want:e}"
            );
        }
    }
}

/// Operands over many binades with specials, so some register tiles take the
/// fast path and others (zeros, subnormals, inf, NaN, out-of-range products)
/// the unit's rules; K spans several chunks.
fn wide(rows: usize, k: usize, seed: u64, special_every: u64) -> Matrix {
    let mut r = Rng(seed);
    let data = (0..rows * k)
        .map(|_| {
            if r.below(special_every) == 0 {
                match r.below(8) {
                    0 => 0.0,
                    1 => -0.0,
                    2 => f32::from_bits(r.below(0x7f_ffff) as u32 + 1) * 4.0,
                    3 => f32::INFINITY,
                    4 => f32::NAN,
                    5 => 1e38,
                    6 => -1e-38,
                    _ => f32::from_bits(0x0080_0000),
                }
            } else {
                (r.gauss() * 2f64.powi(r.below(130) as i32 - 65)) as f32
            }
        })
        .collect();
    Matrix::new(rows, k, data)
}

#[test]
fn lmul_products_of_one_and_of_the_range_edges() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // 1 × 1: 0x3F80 + 0x3F80 − 0x3F78 = 0x3F88, i.e. 1.0625 (the paper's 1 + 2^−4).
    let a = Matrix::new(1, 1, vec![1.0]);
    let w = Matrix::new(3, 1, vec![1.0, -1.0, 0.0]);
    let got = check(LMUL, &a, &w, "one");
    assert_bits_eq("1·1, 1·−1, 1·0", &got, &[1.0625, -1.0625, 0.0]);
    // Overflow to inf, underflow to zero/subnormals, −0 products, NaN.
    let a = Matrix::new(
        3,
        4,
        vec![
            1e38,
            1.0,
            2.0,
            3.0, //
            1e-38,
            1e-20,
            -0.0,
            1.0, //
            f32::NAN,
            1.0,
            1.0,
            1.0,
        ],
    );
    let w = Matrix::new(17, 4, [1e38, -1e-20, -1.0, 0.5].repeat(17));
    check(LMUL, &a, &w, "range edges");
    check(LIT, &a, &w, "range edges");
}

/// `lmul-literal` on bf16 by hand: the formula `1 + x_m + y_m + 2^−4`
/// rounded RNE into bf16 (7 mantissa bits), against the carry reading.
#[test]
fn lmul_literal_bf16_products_by_hand() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // 1.75 = 1 + 96/128; 1.7578125 = 1 + 97/128; 1.7734375 = 1 + 99/128.
    let a = Matrix::new(1, 1, vec![1.75]);
    let w = Matrix::new(5, 1, vec![1.0, 1.75, 1.7578125, -1.7734375, 1.25]);
    // 1.75·1: no carry, 1 + .75 + 2^−4 = 1.8125 in both readings.
    // 1.75·1.75: 1 + .75 + .75 + .0625 = 2.5625 = 1.28125·2 (exact in bf16).
    // 1.75·1.7578125: 2.5703125 = 1.28515625·2, half-way between 36/128
    //   and 37/128: to even, 1.28125·2 = 2.5625.
    // 1.75·−1.7734375: 2.5859375 = 1.29296875·2, half-way between 37/128
    //   and 38/128: to even, −1.296875·2 = −2.59375.
    // 1.75·1.25: 1 + .75 + .25 + .0625 = 2.0625 = 1.03125·2 (exact).
    let got = check(LIT, &a, &w, "by hand");
    assert_bits_eq(
        "literal bf16 by hand",
        &got,
        &[1.8125, 2.5625, 2.5625, -2.59375, 2.0625],
    );
    // The carry reading of the same products: the integer sum, exponent + 1.
    // 1.75·1.75: mantissa 96 + 96 + 8 − 128 = 72 → (1 + 72/128)·2 = 3.125.
    let got = check(LMUL, &a, &w, "by hand");
    assert_bits_eq(
        "carry bf16 by hand",
        &got,
        &[1.8125, 3.125, 3.140625, -3.171875, 2.125],
    );
    // Mantissa sums of 2^8 and more (the integer sum carries twice):
    // 1.9921875 = 1 + 127/128, 1.984375 = 1 + 126/128.
    // literal 1.9921875²: 1 + 2·0.9921875 + .0625 = 3.046875 = (1 + 67/128)·2;
    // 1.9921875·1.984375: 3.0390625, half-way between 65.5/128 … to even 66/128:
    //   (1 + 66/128)·2 = 3.03125. The carry reading: 127 + 127 + 8 = 262 =
    //   2·128 + 6 → (1 + 6/128)·4 = 4.1875; 261 → (1 + 5/128)·4 = 4.15625.
    let a = Matrix::new(1, 1, vec![1.9921875]);
    let w = Matrix::new(2, 1, vec![1.9921875, 1.984375]);
    assert_bits_eq(
        "literal, sums ≥ 2^8",
        &check(LIT, &a, &w, "≥ 2^8"),
        &[3.046875, 3.03125],
    );
    assert_bits_eq(
        "carry, sums ≥ 2^8",
        &check(LMUL, &a, &w, "≥ 2^8"),
        &[4.1875, 4.15625],
    );
    // Near the smallest normal: a literal product of a double carry lands a
    // binade lower than the carry code, here in the subnormals, which the
    // fast path must not take: 1.9921875·2^−126 × 1.9921875·2^−2 has the
    // carry code (1 + 6/128)·2^−126 (field 1, normal) and the literal value
    // 3.046875·2^−128 = 1.5234375·2^−127 (subnormal). Also a subnormal
    // operand and products below 2^−126.
    let tiny = Matrix::new(
        3,
        1,
        vec![
            1.9921875 * 2f32.powi(-126),
            1.9921875 * 2f32.powi(-127),
            1.5 * 2f32.powi(-120),
        ],
    );
    let w = Matrix::new(
        4,
        1,
        vec![1.9921875 * 0.25, 1.9921875, 1.984375 * 2f32.powi(-6), 0.5],
    );
    check(LIT, &tiny, &w, "near the smallest normal");
    check(LMUL, &tiny, &w, "near the smallest normal");
}

/// Random bf16 pairs one product at a time (1 × 1 × 1), every level,
/// including mantissa sums past 2^8 and both readings.
#[test]
fn lmul_bf16_single_products_of_random_pairs() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = Rng(5);
    // Many operands per call: the 1 × 1 × 1 products of row i and weight i
    // sit on the diagonal of an n × n product; K = 1 keeps each output one product.
    let n = 3000;
    let vals = |r: &mut Rng| -> Vec<f32> {
        (0..n)
            .map(|_| f32::from_bits((r.gauss() as f32).to_bits() & 0xffff_0000))
            .collect()
    };
    let a = Matrix::new(n, 1, vals(&mut r));
    let w = Matrix::new(40, 1, vals(&mut r)[..40].to_vec());
    check(LIT, &a, &w, "random bf16 pairs");
    check(LMUL, &a, &w, "random bf16 pairs");
}

/// E4M3 L-Mul by hand: absmax 448 on both sides makes both scales 1, so
/// the outputs are the e8m3 products' f32 sums. 448 = 1.75·2^8 (code 0x7E),
/// 1.75 (0x3E), 2^−9 (0x01, the smallest subnormal): mantissas add with the
/// offset 2^−3 and carry into the exponent.
#[test]
fn lmul_e4m3_products_by_hand() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let w = Matrix::new(3, 2, vec![448.0, 448.0, -448.0, 448.0, 0.0, 448.0]);
    // 448·448: 1 + .75 + .75 + .125 = 2.625 → carry: 1.625·2^17 = 212992.
    // 1.75·448: 1 + .75 + .75 + .125 → 1.625·2^9 = 832.
    // 2^−9·448: the subnormal is 1.0·2^−9; 1 + 0 + .75 + .125 = 1.875·2^−1 = 0.9375.
    let a = Matrix::new(
        4,
        2,
        vec![448.0, 1.75, 448.0, 2f32.powi(-9), 448.0, 0.0, 448.0, -0.0],
    );
    let got = check(LMUL_E4M3, &a, &w, "by hand");
    // The third weight row's zero contributes ±0, which leaves the sum (from +0).
    let want = [
        212992.0 + 832.0,
        -212992.0 + 832.0,
        832.0,
        212992.0 + 0.9375,
        -212992.0 + 0.9375,
        0.9375,
        212992.0,
        -212992.0,
        0.0,
        212992.0,
        -212992.0,
        0.0,
    ];
    assert_bits_eq("e4m3 L-Mul by hand", &got, &want.map(f64::from));
    // A NaN operand: every output of its row is NaN.
    let a = Matrix::new(1, 2, vec![448.0, f32::NAN]);
    let got = check(LMUL_E4M3, &a, &w, "NaN");
    assert!(got.iter().all(|v| v.is_nan()), "{got:?}");
    assert!(check(LIT_E4M3, &a, &w, "NaN").iter().all(|v| v.is_nan()));
}

/// `lmul-literal` on E4M3 by hand (both scales 1, as above): the formula
/// rounded RNE into e8m3 (3 mantissa bits).
#[test]
fn lmul_literal_e4m3_products_by_hand() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let w = Matrix::new(2, 2, vec![448.0, 448.0, -448.0, 448.0]);
    // 448·448: 1 + .75 + .75 + .125 = 2.625 = 1.3125·2, half-way between
    //   1.25 and 1.375: to even, 1.25·2·2^16 = 163840.
    // 1.75·448: the same mantissas: 2.5·2^8 = 640.
    // 1.5·448: 1 + .5 + .75 + .125 = 2.375 = 1.1875·2, half-way: to even,
    //   1.25·2·2^8 = 640.
    // 1.25·448: 1 + .25 + .75 + .125 = 2.125 = 1.0625·2, half-way: to even,
    //   1.0·2·2^8 = 512.
    // 2^−9·448: no carry, 1.875·2^−1 = 0.9375 (as the carry reading).
    let a = Matrix::new(
        4,
        2,
        vec![448.0, 1.75, 448.0, 2f32.powi(-9), 1.5, 0.0, 1.25, -0.0],
    );
    let got = check(LIT_E4M3, &a, &w, "by hand");
    // One per-tensor activation scale (absmax 448): 1.5 and 1.25 stay as they are.
    let want = [
        163840.0 + 640.0,
        -163840.0 + 640.0,
        163840.0 + 0.9375,
        -163840.0 + 0.9375,
        640.0,
        -640.0,
        512.0,
        -512.0,
    ];
    assert_bits_eq("e4m3 literal by hand", &got, &want.map(f64::from));
}

/// E4M3 operands with zeros, subnormals and NaN among normal ones (the
/// portable path for their chunks, the one-add path elsewhere), ragged
/// shapes over several K chunks.
#[test]
fn lmul_e4m3_specials_and_ragged_shapes() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = Rng(21);
    for (m, k, n, every) in [(1, 600, 70, 300), (3, 513, 33, 50), (17, 300, 40, 1000)] {
        let mut gen = |rows: usize| {
            let data = (0..rows * k)
                .map(|_| {
                    if r.below(every) == 0 {
                        match r.below(4) {
                            0 => 0.0,
                            1 => -0.0,
                            // Far below the absmax: E4M3 subnormals or zero after scaling.
                            2 => (r.gauss() * 1e-4) as f32,
                            _ => f32::NAN,
                        }
                    } else {
                        r.gauss() as f32
                    }
                })
                .collect();
            Matrix::new(rows, k, data)
        };
        let a = gen(m);
        let w = gen(n);
        check(
            LMUL_E4M3,
            &a,
            &w,
            &format!("{m}x{k}x{n} specials 1/{every}"),
        );
        check(LIT_E4M3, &a, &w, &format!("{m}x{k}x{n} specials 1/{every}"));
    }
}

#[test]
fn lmul_wide_operands_mix_fast_and_exact_tiles() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for (m, k, n, every) in [
        (1, 600, 70, 5000),
        (3, 513, 33, 400),
        (17, 300, 40, 2000),
        (70, 260, 18, 3000),
    ] {
        let a = wide(m, k, 40 + m as u64, every);
        let w = wide(n, k, 50 + n as u64, every);
        check(LMUL, &a, &w, &format!("{m}x{k}x{n} wide 1/{every}"));
        check(LIT, &a, &w, &format!("{m}x{k}x{n} wide 1/{every}"));
    }
    // Normal operands only, so every tile is fast, but magnitudes near the
    // edges on one side: products overflow in some chunks only.
    let mut r = Rng(7);
    let a = Matrix::new(
        5,
        700,
        (0..3500)
            .map(|i| if i % 333 == 7 { 3e38 } else { r.gauss() as f32 })
            .collect(),
    );
    let w = Matrix::new(20, 700, (0..14000).map(|_| r.gauss() as f32).collect());
    check(LMUL, &a, &w, "chunked overflow");
    check(LIT, &a, &w, "chunked overflow");
}

#[test]
fn fp16_acc_wide_operands_and_long_k() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = Rng(9);
    // Values around 1 over K = 3000: sums grow past 2048 and the register's
    // ulp with them, so many adds round, some to ties.
    let a = Matrix::new(
        4,
        3000,
        (0..12000).map(|_| (1.0 + r.unit()) as f32).collect(),
    );
    let w = Matrix::new(
        19,
        3000,
        (0..57000).map(|_| (r.unit() * 1.5) as f32).collect(),
    );
    check(FP16ACC, &a, &w, "long k");
    // Small magnitudes: subnormal products and registers.
    let s = 2f32.powi(-12);
    let a = Matrix::new(3, 300, (0..900).map(|_| (r.gauss() as f32) * s).collect());
    let w = Matrix::new(9, 300, (0..2700).map(|_| (r.gauss() as f32) * s).collect());
    check(FP16ACC, &a, &w, "subnormal");
    let a = wide(9, 400, 1, 50);
    let w = wide(25, 400, 2, 50);
    check(FP16ACC, &a, &w, "wide");
}

/// Every workload distribution (and the LLM-like pair), on ragged shapes:
/// heavy tails (Student-t ν = 1) overflow the fp16 register and reach the
/// L-Mul range edges; wide Gaussians (std 300) overflow fp16 within a few adds.
#[test]
fn workload_distributions_on_ragged_shapes() {
    use bitsim::workload::gen::{generate, llm_like, Distribution};
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dists = [
        Distribution::Gaussian { std: 1.0 },
        Distribution::Gaussian { std: 300.0 },
        Distribution::Laplace { b: 0.5 },
        Distribution::StudentT {
            nu: 1.0,
            scale: 1.0,
        },
        Distribution::StudentT {
            nu: 4.0,
            scale: 0.02,
        },
        Distribution::Uniform { lo: -1.0, hi: 1.0 },
    ];
    let shapes = [(1, 300, 37), (2, 513, 50), (3, 1000, 19), (17, 260, 33)];
    for name in [FP16ACC, LMUL, LMUL_E4M3, LIT, LIT_E4M3] {
        for (s, &(m, k, n)) in shapes.iter().enumerate() {
            for (d, dist) in dists.iter().enumerate() {
                let seed = (100 * s + d) as u64;
                let a = generate(dist, m, k, seed);
                let w = generate(dist, n, k, seed + 7);
                check(name, &a, &w, &format!("{m}x{k}x{n} {dist:?}"));
            }
            let (a, w) = llm_like(m, k, n, s as u64);
            check(name, &a, &w, &format!("{m}x{k}x{n} llm-like"));
        }
    }
}
