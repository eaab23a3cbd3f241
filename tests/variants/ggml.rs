//! `matmul/q8_0` and `matmul/q4_0` against a plain model of ggml's block
//! arithmetic written here from ggml's C: `block_q8_0` / `block_q4_0`
//! structs (the Q4_0 nibble layout: element j in the low nibble of `qs[j]`,
//! element j + 16 in its high nibble), `quantize_row_q8_0_ref`,
//! `quantize_row_q4_0_ref`, and the generic `ggml_vec_dot_q8_0_q8_0` /
//! `ggml_vec_dot_q4_0_q8_0`, with an fp16 conversion of its own (f64
//! arithmetic, ties to even) — nothing from the crate but the variants.

use crate::seeded::Rng;
use bitsim::tensor::Matrix;
use bitsim::variants::{self, MatmulVariant};

/// f32 → fp16 bits, RNE, by exact f64 arithmetic on the quantum.
fn f16_bits(x: f32) -> u16 {
    let sign = if x.is_sign_negative() { 0x8000u16 } else { 0 };
    let a = (x as f64).abs();
    if x.is_nan() {
        return 0x7E00;
    }
    if a >= 65520.0 {
        return sign | 0x7C00; // the tie above 65504 rounds to inf
    }
    if a < 2f64.powi(-14) {
        // Subnormal quantum 2^-24; q = 1024 is the smallest normal's bits.
        return sign | (a / 2f64.powi(-24)).round_ties_even() as u16;
    }
    let e = a.log2().floor() as i32;
    let e = if 2f64.powi(e) > a { e - 1 } else { e }; // guard log2 rounding
    let q = (a / 2f64.powi(e - 10)).round_ties_even() as u16; // 1024..=2048
    sign | ((((e + 15) as u16) << 10) + (q - 1024))
}

fn f16_value(h: u16) -> f32 {
    let s = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let (e, m) = (((h >> 10) & 0x1F) as i32, (h & 0x3FF) as f64);
    let v = match e {
        0 => m * 2f64.powi(-24),
        31 if m == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (1024.0 + m) * 2f64.powi(e - 25),
    };
    (s * v) as f32
}

struct BlockQ8 {
    d: u16,
    qs: [i8; 32],
}

struct BlockQ4 {
    d: u16,
    qs: [u8; 16],
}

/// C's `roundf`: half away from zero.
fn roundf(x: f32) -> f32 {
    let t = x.abs().floor();
    let r = if x.abs() - t >= 0.5 { t + 1.0 } else { t };
    r.copysign(x)
}

fn quantize_row_q8_0_ref(x: &[f32]) -> Vec<BlockQ8> {
    x.chunks(32)
        .map(|xb| {
            let mut amax = 0f32;
            for &v in xb {
                amax = if amax > v.abs() { amax } else { v.abs() };
            }
            let d = amax / ((1 << 7) - 1) as f32;
            let id = if d != 0.0 { 1.0 / d } else { 0.0 };
            let mut qs = [0i8; 32];
            for (j, &v) in xb.iter().enumerate() {
                qs[j] = roundf(v * id) as i8;
            }
            BlockQ8 { d: f16_bits(d), qs }
        })
        .collect()
}

fn quantize_row_q4_0_ref(x: &[f32]) -> Vec<BlockQ4> {
    x.chunks(32)
        .map(|xb| {
            let (mut amax, mut max) = (0f32, 0f32);
            for &v in xb {
                if amax < v.abs() {
                    amax = v.abs();
                    max = v;
                }
            }
            let d = max / -8.0;
            let id = if d != 0.0 { 1.0 / d } else { 0.0 };
            let mut qs = [0u8; 16];
            for j in 0..16 {
                let x0 = xb[j] * id;
                let x1 = xb[16 + j] * id;
                let xi0 = 15.min((x0 + 8.5f32).trunc() as i32) as u8;
                let xi1 = 15.min((x1 + 8.5f32).trunc() as i32) as u8;
                qs[j] = xi0 | (xi1 << 4);
            }
            BlockQ4 { d: f16_bits(d), qs }
        })
        .collect()
}

fn vec_dot_q8_0_q8_0(x: &[BlockQ8], y: &[BlockQ8]) -> f32 {
    let mut sumf = 0f32;
    for (xb, yb) in x.iter().zip(y) {
        let mut sumi = 0i32;
        for j in 0..32 {
            sumi += xb.qs[j] as i32 * yb.qs[j] as i32;
        }
        sumf += sumi as f32 * (f16_value(xb.d) * f16_value(yb.d));
    }
    sumf
}

fn vec_dot_q4_0_q8_0(x: &[BlockQ4], y: &[BlockQ8]) -> f32 {
    let mut sumf = 0f32;
    for (xb, yb) in x.iter().zip(y) {
        let (mut sumi0, mut sumi1) = (0i32, 0i32);
        for j in 0..16 {
            let v0 = (xb.qs[j] & 0x0F) as i32 - 8;
            let v1 = (xb.qs[j] >> 4) as i32 - 8;
            sumi0 += v0 * yb.qs[j] as i32;
            sumi1 += v1 * yb.qs[j + 16] as i32;
        }
        let sumi = sumi0 + sumi1;
        sumf += sumi as f32 * f16_value(xb.d) * f16_value(yb.d);
    }
    sumf
}

/// The model's `m × n` product of zero-padded rows.
fn model(q4: bool, a: &Matrix, w: &Matrix) -> Vec<f64> {
    let k = a.cols;
    let kp = k.div_ceil(32) * 32;
    let pad = |row: &[f32]| {
        let mut v = row.to_vec();
        v.resize(kp, 0.0);
        v
    };
    let mut out = Vec::new();
    for i in 0..a.rows {
        let y = quantize_row_q8_0_ref(&pad(&a.data[i * k..(i + 1) * k]));
        for j in 0..w.rows {
            let wr = pad(&w.data[j * k..(j + 1) * k]);
            let s = if q4 {
                vec_dot_q4_0_q8_0(&quantize_row_q4_0_ref(&wr), &y)
            } else {
                vec_dot_q8_0_q8_0(&quantize_row_q8_0_ref(&wr), &y)
            };
            out.push(s as f64);
        }
    }
    out
}

fn variant(name: &str) -> Box<dyn MatmulVariant> {
    variants::find(name).unwrap_or_else(|| panic!("{name} is registered"))
}

fn assert_same(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(
            g.to_bits(),
            w.to_bits(),
            "{what}: output {i}: {g:e} vs {w:e}"
        );
    }
}

/// Finite operands of several kinds (ggml's C is defined on them).
fn operand(rows: usize, cols: usize, kind: u64, seed: u64) -> Matrix {
    let mut r = Rng(seed);
    let data = (0..rows * cols)
        .map(|i| match kind {
            0 => r.gauss() as f32,
            // Outliers and many binades.
            1 => (r.gauss() * 2f64.powi(r.below(30) as i32 - 15)) as f32,
            // Half-integers: x · id lands on ties when amax is 127 or −8 · d.
            2 => match i % 32 {
                0 => 127.0,
                _ => (r.below(255) as f32 - 127.0) / 2.0,
            },
            // Zeros, −0 and whole zero blocks.
            _ => {
                if (i / 32) % 3 == 0 {
                    if i % 2 == 0 {
                        0.0
                    } else {
                        -0.0
                    }
                } else {
                    r.gauss() as f32
                }
            }
        })
        .collect();
    Matrix::new(rows, cols, data)
}

#[test]
fn emulations_equal_the_ggml_model() {
    for (name, q4) in [("matmul/q8_0", false), ("matmul/q4_0", true)] {
        let v = variant(name);
        for (s, &(m, k, n)) in [(1, 32, 1), (3, 64, 5), (2, 256, 7), (4, 100, 3), (1, 7, 2)]
            .iter()
            .enumerate()
        {
            for kind in 0..4 {
                let seed = 100 * s as u64 + kind;
                let a = operand(m, k, kind, seed);
                let w = operand(n, k, kind, seed + 7);
                let want = model(q4, &a, &w);
                let got = v.emulate(&a, &w, 0);
                assert_same(&format!("{name} {m}x{k}x{n} kind {kind}"), &got, &want);
            }
        }
    }
}

#[test]
fn q8_0_rounds_ties_away_from_zero_and_q4_0_truncates() {
    // One block: a = [127, 2.5, −2.5, 0 …] → Q8_0 codes 127, 3, −3 (roundf;
    // RNE would give 2, −2); d_a = 1. W = e_1 (a 1 at index 1) → Q8_0 code
    // 127 with d_w = fp16(1/127): out = 3 · (d_w · 1).
    let mut a = vec![0f32; 32];
    a[..3].copy_from_slice(&[127.0, 2.5, -2.5]);
    let mut w = vec![0f32; 32];
    w[1] = 1.0;
    let (a, w) = (Matrix::new(1, 32, a), Matrix::new(1, 32, w));
    let dw = f16_value(f16_bits(1.0 / 127.0));
    let got = variant("matmul/q8_0").emulate(&a, &w, 0);
    assert_eq!(got[0], (381.0f32 * dw) as f64); // 127 · 3 = 381
                                                // Q4_0 of w: max = 1 → d = −1/8, id = −8: field trunc(−8 + 8.5) = 0,
                                                // code −8: out = (−8 · 3 · d_w) · d_a = (−24 · −0.125) · 1 = 3.
    let got = variant("matmul/q4_0").emulate(&a, &w, 0);
    assert_eq!(got[0], 3.0);
}

#[test]
fn a_scale_beyond_fp16_is_inf_and_an_inf_element_zeroes_its_block() {
    // |w| = 1e7: d = 1e7 / 127 ≈ 78740 > 65504 → fp16 inf, so every
    // nonzero block dot is ±inf (ggml stores the same inf).
    let a = Matrix::new(1, 32, vec![1.0; 32]);
    let mut w = vec![0f32; 32];
    w[0] = 1e7;
    let got = variant("matmul/q8_0").emulate(&a, &Matrix::new(1, 32, w), 0);
    assert_eq!(got[0], f64::INFINITY);
    // An inf weight: d = inf, id = 0, every code 0 (inf · 0 is NaN, taken as
    // 0): isum = 0 and 0 · inf = NaN.
    let mut w = vec![1f32; 32];
    w[3] = f32::INFINITY;
    let got = variant("matmul/q8_0").emulate(&a, &Matrix::new(1, 32, w), 0);
    assert!(got[0].is_nan());
}

/// ggml's `GGML_E8M0_TO_FP32_HALF`, with the one documented change: 0xFF
/// is NaN (OCP), where ggml's macro gives 2^127.
fn e8m0_to_fp32_half(x: u8) -> f32 {
    if x == 0xFF {
        return f32::NAN;
    }
    let bits: u32 = if x < 2 {
        0x0020_0000 << x
    } else {
        (x as u32 - 1) << 23
    };
    f32::from_bits(bits)
}

const KVALUES_MXFP4: [i8; 16] = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12];

/// `ggml_vec_dot_mxfp4_q8_0_generic` over `block_mxfp4 { e, qs[16] }`.
fn vec_dot_mxfp4_q8_0(x: &[(u8, [u8; 16])], y: &[BlockQ8]) -> f32 {
    let mut sumf = 0f32;
    for ((e, qs), yb) in x.iter().zip(y) {
        let d = f16_value(yb.d) * e8m0_to_fp32_half(*e);
        let (mut sumi1, mut sumi2) = (0i32, 0i32);
        for j in 0..16 {
            sumi1 += yb.qs[j] as i32 * KVALUES_MXFP4[(qs[j] & 0xF) as usize] as i32;
            sumi2 += yb.qs[j + 16] as i32 * KVALUES_MXFP4[(qs[j] >> 4) as usize] as i32;
        }
        sumf += d * (sumi1 + sumi2) as f32;
    }
    sumf
}

/// The model of `matmul/mxfp4-q8`: weights quantized by the crate's OCP MX
/// quantizer (tested on its own against the spec), everything after that
/// written here from ggml's C.
fn model_mxfp4(a: &Matrix, w: &Matrix) -> Vec<f64> {
    let k = a.cols;
    assert_eq!(k % 32, 0, "the model takes whole blocks");
    let bitsim::formats::Format::Block(fmt) = bitsim::formats::parse("mxfp4").unwrap() else {
        panic!("mxfp4 is a block format")
    };
    let t = bitsim::formats::mx::quantize(&fmt, &Default::default(), &w.data, k).unwrap();
    let nb = k / 32;
    let mut out = Vec::new();
    for i in 0..a.rows {
        let y = quantize_row_q8_0_ref(&a.data[i * k..(i + 1) * k]);
        for j in 0..w.rows {
            let x: Vec<(u8, [u8; 16])> = (0..nb)
                .map(|b| {
                    let c = &t.codes[j * k + b * 32..j * k + b * 32 + 32];
                    let qs = std::array::from_fn(|l| c[l] | (c[l + 16] << 4));
                    (t.scales[j * nb + b], qs)
                })
                .collect();
            out.push(vec_dot_mxfp4_q8_0(&x, &y) as f64);
        }
    }
    out
}

#[test]
fn mxfp4_q8_equals_the_ggml_model() {
    let v = variant("matmul/mxfp4-q8");
    for (s, &(m, k, n)) in [(1, 32, 1), (3, 64, 5), (2, 256, 7)].iter().enumerate() {
        for kind in 0..4 {
            let seed = 500 + 100 * s as u64 + kind;
            let a = operand(m, k, kind, seed);
            let w = operand(n, k, kind, seed + 7);
            let want = model_mxfp4(&a, &w);
            let got = v.emulate(&a, &w, 0);
            assert_same(&format!("mxfp4-q8 {m}x{k}x{n} kind {kind}"), &got, &want);
        }
    }
}

#[test]
fn mxfp4_q8_e8m0_extremes() {
    let v = variant("matmul/mxfp4-q8");
    let a = Matrix::new(1, 32, vec![1.0; 32]); // Q8_0: codes 127, d_a = fp16(1/127)
    let da = f16_value(f16_bits(1.0 / 127.0));
    // X = 0x00: w = 2^-126 → floor(log2) − 2 = −128, clamped to −127: the
    // element is 2^-126 / 2^-127 = 2 (2·e2m1 = 4), scale half 2^-128.
    let mut w = vec![0f32; 32];
    w[5] = f32::MIN_POSITIVE;
    let got = v.emulate(&a, &Matrix::new(1, 32, w), 0);
    let want = (da * f32::from_bits(0x0020_0000)) * (4.0 * 127.0);
    assert_eq!(got[0], want as f64);
    assert!(want > 0.0 && want < f32::MIN_POSITIVE, "a subnormal result");
    // The largest scale an f32 block reaches: amax 2^127 → X = 127 − 2
    // (code 252), element 4 (2·e2m1 = 8), scale half 2^124.
    let mut w = vec![0f32; 32];
    w[0] = 2f32.powi(127);
    let got = v.emulate(&a, &Matrix::new(1, 32, w), 0);
    let want = (da * 2f32.powi(124)) * (8.0 * 127.0);
    assert_eq!(got[0], want as f64);
    // X = 0xFF: an inf in the block makes the scale NaN (OCP): the output
    // is NaN, where ggml's 2^127 would give a finite or infinite number.
    let mut w = vec![0.5f32; 32];
    w[9] = f32::INFINITY;
    let got = v.emulate(&a, &Matrix::new(1, 32, w), 0);
    assert!(got[0].is_nan(), "{}", got[0]);
}
