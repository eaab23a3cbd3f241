//! MX (OCP v1.0) and NVFP4 block quantization: hand-derived examples and a
//! fast-versus-reference sweep. Every expected number below is derived by hand
//! in the comment next to it, never by the code under test.

use crate::seeded;
use bitsim::formats::mx::{quantize, quantize_reference, BlockTensor};
use bitsim::formats::{parse, BlockFormat, ConvertOptions, Format, Rounding};
use seeded::Rng;

fn block(name: &str) -> BlockFormat {
    match parse(name).unwrap() {
        Format::Block(b) => b,
        f => panic!("{name} parsed to {f}"),
    }
}

fn rne() -> ConvertOptions {
    ConvertOptions::default()
}

/// A 32-element block: the given values, then zeros.
fn pad32(v: &[f32]) -> Vec<f32> {
    let mut out = v.to_vec();
    out.resize(32, 0.0);
    out
}

fn q(name: &str, data: &[f32], row_len: usize) -> BlockTensor {
    let t = quantize(&block(name), &rne(), data, row_len).unwrap();
    let r = quantize_reference(&block(name), &rne(), data, row_len).unwrap();
    assert_eq!(t, r, "fast and reference disagree on {name}");
    t
}

fn scale_code(name: &str, amax: f32) -> u8 {
    q(name, &pad32(&[amax, -0.5 * amax]), 32).scales[0]
}

#[test]
fn spec_957_saturates_to_896() {
    // floor(log2 957) = 9 (512 ≤ 957 < 1024), emax(E4M3) = 8 → X = 1, code 127 + 1.
    // 957 / 2 = 478.5 > 448 → clamped to 448 (0x7E) → 448 × 2 = 896.
    // 1.0 / 2 = 0.5 (E4M3 0x30), −3 / 2 = −1.5 (0xBC), 0.5 / 2 = 0.25 (0x28).
    let t = q("mxfp8", &pad32(&[957.0, 1.0, -3.0, 0.5]), 32);
    assert_eq!(t.scales, vec![128]);
    assert_eq!(&t.codes[..4], &[0x7e, 0x30, 0xbc, 0x28]);
    let d = t.dequantize();
    assert_eq!(&d[..4], &[896.0, 1.0, -3.0, 0.5]);
    assert!(d[4..].iter().all(|x| *x == 0.0));
}

#[test]
fn log2_trap_511_99997() {
    // 0x43FFFFFF = 511.99997 (just below 512): exponent field 0x87 → floor(log2) = 8,
    // so X = 8 − 8 = 0 (code 127). An f32 log2 rounds to 9.0 and would give code 128.
    let x = f32::from_bits(0x43ff_ffff);
    assert!(x < 512.0 && x > 511.9999);
    let t = q("mxfp8", &pad32(&[x]), 32);
    assert_eq!(t.scales, vec![127]);
    // 511.99997 / 1 rounds to 512 > 448: saturated to 448 (0x7E).
    assert_eq!(t.codes[0], 0x7e);
    assert_eq!(t.dequantize()[0], 448.0);
    // The same under ceil: 9 − 8 = 1.
    assert_eq!(scale_code("mxfp8:rule=ceil", x), 128);
}

#[test]
fn rules_differ_on_e4m3() {
    // amax 448 = 1.110b × 2^8: floor 8 → X 0; ceil 9 → X 1; rceil 448/448 = 1 → X 0;
    // even: 1.110b + half at 3 bits = 1.1101b → floor 8 → X 0.
    // amax 460 = 1.110011b × 2^8: floor 0, ceil 1, rceil 460/448 = 1.027 → 1,
    // even 1.110011 + 0.0001 = 1.110111 → 8 → 0.
    // amax 496 = 1.1111b × 2^8: floor 0, ceil 1, rceil 1.107 → 1, even 1.1111 + 0.0001 = 10.0 → 9 → 1.
    // amax 495.99997 (0x43F7FFFF): even stays below the carry → 0.
    let below_496 = f32::from_bits(0x43f7_ffff);
    let cases: [(f32, [u8; 4]); 4] = [
        (448.0, [127, 128, 127, 127]),
        (460.0, [127, 128, 128, 127]),
        (496.0, [127, 128, 128, 128]),
        (below_496, [127, 128, 128, 127]),
    ];
    for (amax, want) in cases {
        for (rule, w) in ["floor", "ceil", "rceil", "even"].iter().zip(want) {
            assert_eq!(
                scale_code(&format!("mxfp8:rule={rule}"), amax),
                w,
                "amax {amax} rule {rule}"
            );
        }
    }
}

#[test]
fn rules_differ_on_e2m1() {
    // E2M1: max 6, emax 2, 1 mantissa bit.
    // 5 = 1.01b × 4: floor 2 → 0; ceil 3 → 1; rceil 5/6 < 1 → 0; even 1.01 + 0.01 = 1.10 → 2 → 0.
    // 6 = 1.1b × 4: floor 0; ceil 1; rceil 6/6 = 1 → 0; even 1.10 + 0.01 = 1.11 → 0.
    // 7 = 1.11b × 4: floor 0; ceil 1; rceil 7/6 → 1; even 1.11 + 0.01 = 10.0 → 3 → 1.
    let cases: [(f32, [u8; 4]); 3] = [
        (5.0, [127, 128, 127, 127]),
        (6.0, [127, 128, 127, 127]),
        (7.0, [127, 128, 128, 128]),
    ];
    for (amax, want) in cases {
        for (rule, w) in ["floor", "ceil", "rceil", "even"].iter().zip(want) {
            assert_eq!(
                scale_code(&format!("mxfp4:rule={rule}"), amax),
                w,
                "amax {amax} rule {rule}"
            );
        }
    }
    // Elements of the amax-5 block: X = 0 → 5 is a tie between 4 and 6 → 4 (even, code 6);
    // X = 1 (ceil) → 2.5 is a tie between 2 and 3 → 2 (code 4) → 4 after decoding.
    let t = q("mxfp4", &pad32(&[5.0]), 32);
    assert_eq!((t.codes[0], t.dequantize()[0]), (6, 4.0));
    let t = q("mxfp4:rule=ceil", &pad32(&[5.0]), 32);
    assert_eq!((t.codes[0], t.dequantize()[0]), (4, 4.0));
}

#[test]
fn rceil_divides_in_f32_first() {
    // amax = (1.75 + 2^−23) × 2^−119 (bits 0x04600001). Exactly, amax / 448 is a hair
    // above 2^−127, so ceil(log2) would be −126. In f32 the quotient is subnormal with
    // spacing 2^−149 = 2^−127 × 2^−22, and the excess 2^−127 × 2^−23 / 1.75 is below
    // half of it: the f32 quotient is exactly 2^−127 → X = −127, code 0.
    let amax = f32::from_bits(0x0460_0001);
    assert_eq!(scale_code("mxfp8:rule=rceil", amax), 0);
    // ceil(log2 amax) = −118 → X = −126 (code 1); floor: −119 − 8 = −127 (code 0);
    // even: 1.1100…01b rounds at 3 bits to 1.110b → −119 → code 0.
    assert_eq!(scale_code("mxfp8:rule=ceil", amax), 1);
    assert_eq!(scale_code("mxfp8:rule=floor", amax), 0);
    assert_eq!(scale_code("mxfp8:rule=even", amax), 0);
}

#[test]
fn nan_or_inf_makes_the_whole_block_nan() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        for name in [
            "mxfp8",
            "mxfp4:rule=rceil",
            "mxint8:rule=even",
            "mxfp6e3m2:rule=ceil",
        ] {
            let mut data = pad32(&[1.0, 2.0, bad, -3.0]);
            data.extend(pad32(&[4.0])); // a clean second block
            let t = q(name, &data, 64);
            assert_eq!(t.scales[0], 0xff, "{name} {bad}");
            let d = t.dequantize();
            assert!(d[..32].iter().all(|x| x.is_nan()), "{name}");
            // Second block: floor/rceil/even… of 4 all decode 4 back exactly.
            assert_eq!(d[32], 4.0, "{name}");
            assert!(!d[33..].iter().any(|x| x.is_nan()));
        }
    }
}

#[test]
fn tiny_blocks_clamp_at_minus_127() {
    // amax 2^−130 (f32 subnormal): floor(log2) = −130 (from leading zeros) → X = −138
    // → clamped to −127 (code 0). Element 2^−130 / 2^−127 = 2^−3 → E4M3 0x20.
    let x = f32::from_bits(1 << 19); // 2^19 × 2^−149 = 2^−130
    let t = q("mxfp8", &pad32(&[x, -x]), 32);
    assert_eq!(t.scales, vec![0]);
    assert_eq!(&t.codes[..2], &[0x20, 0xa0]);
    assert_eq!(&t.dequantize()[..2], &[x, -x]);
    // amax 2^−149: element 2^−22 is far below E4M3's 2^−9 → ±0.
    let m = f32::from_bits(1);
    let t = q("mxfp8", &pad32(&[m, -m]), 32);
    assert_eq!(t.scales, vec![0]);
    assert_eq!(&t.codes[..2], &[0x00, 0x80]);
    // A normal but tiny block under every rule: 2^−120 with E2M1 (emax 2) → X = −122.
    for rule in ["floor", "ceil", "rceil", "even"] {
        assert_eq!(
            scale_code(&format!("mxfp4:rule={rule}"), 2f32.powi(-120)),
            5,
            "{rule}"
        );
    }
}

#[test]
fn zero_block_keeps_signs() {
    // amax 0 → scale code 0; E2M1 has −0 (0x8), MXINT8 does not.
    let t = q("mxfp4", &pad32(&[0.0, -0.0]), 32);
    assert_eq!(t.scales, vec![0]);
    assert_eq!(&t.codes[..2], &[0x0, 0x8]);
    let d = t.dequantize();
    assert!(d[1] == 0.0 && d[1].is_sign_negative());
    let t = q("mxint8", &pad32(&[0.0, -0.0]), 32);
    assert_eq!((t.scales[0], t.codes[1]), (0, 0));
}

#[test]
fn scale_nan_above_127() {
    // MXINT8 has emax 0, so only it reaches X = 128.
    // ceil: amax 1.5 × 2^127 → ceil(log2) = 128 → X = 128 → NaN.
    let big = 1.5 * 2f32.powi(127);
    assert_eq!(scale_code("mxint8:rule=ceil", big), 0xff);
    // rceil: f32::MAX / 1.984375 = 1.7148e38 > 2^127 = 1.7014e38 → 128 → NaN.
    assert_eq!(scale_code("mxint8:rule=rceil", f32::MAX), 0xff);
    // even: 1.1111111b × 2^127 rounded at 6 fraction bits carries to 2^128 → NaN.
    assert_eq!(scale_code("mxint8:rule=even", f32::MAX), 0xff);
    // floor never exceeds 127 − 0: X = 127, code 254; element = round(f32::MAX / 2^127 / 2^−6)
    // = round((2 − 2^−23) × 64) = round(127.99999) = 128 → clamped to 127.
    let t = q("mxint8", &pad32(&[f32::MAX]), 32);
    assert_eq!((t.scales[0], t.codes[0]), (254, 127));
    assert!(t.dequantize()[0].is_finite());
    // NaN scale blocks decode as NaN.
    let t = q("mxint8:rule=ceil", &pad32(&[big, 1.0]), 32);
    assert!(t.dequantize().iter().all(|x| x.is_nan()));
}

#[test]
fn mxint8_hand_example() {
    // amax 1000: floor(log2) = 9 → X = 9; element = round(v / 2^9 / 2^−6) = round(v / 8).
    // 1000 → 125; 3 → 0.375 → 0; −12 → −1.5 → −2 (ties to even, 0xFE); 20 → 2.5 → 2;
    // −1000 → −125 (0x83).
    let t = q("mxint8", &pad32(&[1000.0, 3.0, -12.0, 20.0, -1000.0]), 32);
    assert_eq!(t.scales, vec![127 + 9]);
    assert_eq!(&t.codes[..5], &[125, 0, 0xfe, 2, 0x83]);
    assert_eq!(&t.dequantize()[..5], &[1000.0, 0.0, -16.0, 16.0, -1000.0]);
    // amax 127.5 → X = 6 → element = round(v): 127.5 → 128 → clamped to 127 (symmetric).
    let t = q("mxint8", &pad32(&[127.5, -127.5, 1.75]), 32);
    assert_eq!(&t.codes[..3], &[127, 0x81, 2]);
}

#[test]
fn mxfp4_hand_example() {
    // amax 11 → floor(log2) = 3 → X = 3 − 2 = 1 (code 128); elements v / 2:
    // 0.15 → 0 (below 0.25); −0.6 → −0.5 (below 0.75; 0x9); 1.45 → 1.5 (code 3);
    // 2.5 → tie 2|3 → 2 (code 4); 5.5 → 6 (above 5; code 7); 0 → 0; −0 → 0x8; 0.35 → 0.5 (code 1).
    let v = [0.3, -1.2, 2.9, 5.0, 11.0, 0.0, -0.0, 0.7];
    let t = q("mxfp4", &pad32(&v), 32);
    assert_eq!(t.scales, vec![128]);
    assert_eq!(&t.codes[..8], &[0, 0x9, 3, 4, 7, 0, 0x8, 1]);
    assert_eq!(
        &t.dequantize()[..8],
        &[0.0, -1.0, 3.0, 4.0, 12.0, 0.0, -0.0, 1.0]
    );
    // Packed two per byte, low nibble first: 0|9<<4, 3|4<<4, 7|0<<4, 8|1<<4.
    assert_eq!(&t.packed_codes()[..4], &[0x90, 0x43, 0x07, 0x18]);
    assert_eq!(t.packed_codes().len(), 16);
    // Saturation: amax 7.9 → X = 0, 7.9 > 6 → 6 (code 7), even under round-up.
    let o = ConvertOptions::with_rounding(Rounding::Ru);
    let t = quantize(&block("mxfp4"), &o, &pad32(&[7.9]), 32).unwrap();
    assert_eq!((t.scales[0], t.codes[0]), (127, 7));
}

#[test]
fn mxfp8_e5m2_saturates() {
    // amax 1e6: 2^19 ≤ 1e6 < 2^20 → X = 19 − 15 = 4 (code 131); 1e6 / 16 = 62500 > 61440
    // (the tie above 57344) → saturated to 57344 (0x7B) → 917504. E5M2 has inf, but MX clamps.
    let t = q("mxfp8e5m2", &pad32(&[1e6, -1e6]), 32);
    assert_eq!(t.scales, vec![131]);
    assert_eq!(&t.codes[..2], &[0x7b, 0xfb]);
    assert_eq!(&t.dequantize()[..2], &[917504.0, -917504.0]);
}

#[test]
fn ragged_rows_and_shape_errors() {
    // Rows of 40 → blocks of 32 and 8. Row 0: big value in the first block only; the
    // short block holds 1.0 → its own X = 0 − 2 = −2 (code 125) under MXFP4.
    let mut data = vec![0.0f32; 80];
    data[0] = 100.0; // floor(log2 100) = 6 → X = 4 (code 131)
    data[35] = 1.0;
    data[40 + 39] = -3.0; // row 1, last block: floor(log2 3) = 1 → X = −1 (code 126)
    let t = q("mxfp4", &data, 40);
    assert_eq!(t.scales, vec![131, 125, 0, 126]);
    assert_eq!(t.blocks_per_row(), 2);
    assert_eq!(t.rows(), 2);
    // 1.0 / 2^−2 = 4 (code 6); −3 / 2^−1 = −6 (code 0xF).
    assert_eq!((t.codes[35], t.codes[79]), (6, 0xf));
    assert_eq!(t.dequantize()[79], -3.0);
    for bad in [0usize, 3, 7] {
        assert!(
            quantize(&block("mxfp4"), &rne(), &data, bad).is_err(),
            "row_len {bad}"
        );
    }
    assert!(quantize(&block("nvfp4"), &rne(), &data, 0).is_err());
    // An empty tensor is fine.
    assert!(quantize(&block("mxfp4"), &rne(), &[], 32)
        .unwrap()
        .codes
        .is_empty());
}

#[test]
fn nvfp4_hand_example() {
    // Tensor amax 2688 → tensor scale 2688 / (448 × 6) = 1.
    // Block 0 [2688, 100, −50]: 2688 / 6 = 448 → E4M3 0x7E. 2688/448 = 6 (code 7);
    //   100/448 = 0.223 < 0.25 → 0; −50/448 → −0 (0x8).
    // Block 1 [30, 7, −12, 12.5]: 30 / 6 = 5 = 1.25 × 2^2 → E4M3 0x4A. 30/5 = 6 (7);
    //   7/5 = 1.4 → 1.5 (3); −12/5 = −2.4 → −2 (0xC); 12.5/5 = 2.5 → tie → 2 (4).
    // Block 2 [1, 0.5, −0.25, 0.1]: 1/6 = 0.16667 lies between 0.15625 (1.25 × 2^−3) and
    //   0.171875 (1.375 × 2^−3), above their midpoint 0.1640625 → 0.171875 (0x23).
    //   1/0.171875 = 5.82 → 6 (7); 0.5/0.171875 = 2.91 → 3 (5); −0.25/0.171875 = −1.45 → −1.5 (0xB);
    //   0.1/0.171875 = 0.58 → 0.5 (1).
    let mut data = vec![0.0f32; 48];
    data[..3].copy_from_slice(&[2688.0, 100.0, -50.0]);
    data[16..20].copy_from_slice(&[30.0, 7.0, -12.0, 12.5]);
    data[32..36].copy_from_slice(&[1.0, 0.5, -0.25, 0.1]);
    let t = q("nvfp4", &data, 48);
    assert_eq!(t.tensor_scale, Some(1.0));
    assert_eq!(t.scales, vec![0x7e, 0x4a, 0x23]);
    assert_eq!(&t.codes[..3], &[7, 0, 8]);
    assert_eq!(&t.codes[16..20], &[7, 3, 0xc, 4]);
    assert_eq!(&t.codes[32..36], &[7, 5, 0xb, 1]);
    let d = t.dequantize();
    assert_eq!(&d[..3], &[2688.0, 0.0, -0.0]);
    assert!(d[2].is_sign_negative());
    assert_eq!(&d[16..20], &[30.0, 7.5, -10.0, 10.0]);
    assert_eq!(&d[32..36], &[1.03125, 0.515625, -0.2578125, 0.0859375]);

    // Scaling the tensor by 2^−20 scales only the tensor scale.
    let small: Vec<f32> = data.iter().map(|x| x * 2f32.powi(-20)).collect();
    let s = q("nvfp4", &small, 48);
    assert_eq!(s.tensor_scale, Some(2f32.powi(-20)));
    assert_eq!(
        (s.scales.clone(), s.codes.clone()),
        (t.scales.clone(), t.codes.clone())
    );
    assert_eq!(s.dequantize()[34], -0.2578125 * 2f32.powi(-20));
}

#[test]
fn nvfp4_zero_nan_and_tiny_blocks() {
    // Row of 4 blocks: [2688…] sets tensor scale 1; a zero block; a tiny block whose
    // scale 1e−8 / 6 rounds to 0 in E4M3 (min subnormal 2^−9); a NaN block.
    let mut data = vec![0.0f32; 64];
    data[0] = 2688.0;
    data[17] = -0.0;
    data[32] = 1e-8;
    data[33] = -1e-8;
    data[48] = 1.0;
    data[49] = f32::NAN;
    let t = q("nvfp4", &data, 64);
    assert_eq!(
        t.tensor_scale,
        Some(1.0),
        "NaN stays out of the tensor amax"
    );
    assert_eq!(t.scales, vec![0x7e, 0, 0, 0x7f]);
    assert_eq!((t.codes[17], t.codes[32], t.codes[33]), (8, 0, 8));
    let d = t.dequantize();
    assert!(d[16..48].iter().all(|x| *x == 0.0));
    assert!(d[33].is_sign_negative());
    assert!(d[48..].iter().all(|x| x.is_nan()));
    // All-zero tensor: tensor scale 1.
    let z = q("nvfp4", &[0.0; 16], 16);
    assert_eq!((z.tensor_scale, z.scales.clone()), (Some(1.0), vec![0]));
}

// ---------------------------------------------------------------------------
// Fast versus reference on seeded random data.
// ---------------------------------------------------------------------------

/// One of several input distributions.
fn sample(kind: usize, rng: &mut Rng) -> f32 {
    let sign = if rng.next() & 1 == 1 { -1.0 } else { 1.0 };
    match kind {
        0 => rng.gauss() as f32,
        // heavy tails: exp of a wide Gaussian
        1 => (sign * (3.0 * rng.gauss()).exp()) as f32,
        // many zeros of both signs
        2 => match rng.next() % 3 {
            0 => 0.0,
            1 => -0.0,
            _ => rng.gauss() as f32,
        },
        // f32 subnormals, some normals near the boundary
        3 => {
            let b = (rng.next() % 0x0100_0000) as u32;
            sign as f32 * f32::from_bits(b)
        }
        // huge values
        4 => (rng.gauss() * 1e37) as f32,
        // a sprinkle of NaN and inf
        5 => match rng.next() % 50 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => f32::NEG_INFINITY,
            _ => rng.gauss() as f32,
        },
        // random bit patterns: every exponent, NaN payloads included
        6 => f32::from_bits(rng.next() as u32),
        // near scale-rule boundaries: element maxima × 2^k, a few ulps either side
        _ => {
            let bases = [
                448.0f32, 57344.0, 7.5, 28.0, 6.0, 1.984375, 1.0, 1.75, 1.9375, 1.5,
            ];
            let b = bases[(rng.next() % bases.len() as u64) as usize];
            let k = (rng.next() % 250) as i32 - 130;
            let x = (b as f64 * 2f64.powi(k)) as f32;
            let off = (rng.next() % 7) as i32 - 3;
            sign as f32 * f32::from_bits((x.to_bits() as i32 + off).max(0) as u32)
        }
    }
}

fn assert_same(fmt: &BlockFormat, opts: &ConvertOptions, data: &[f32], row_len: usize, what: &str) {
    let a = quantize(fmt, opts, data, row_len).unwrap();
    let b = quantize_reference(fmt, opts, data, row_len).unwrap();
    if a != b {
        let i = a.codes.iter().zip(&b.codes).position(|(x, y)| x != y);
        let s = a.scales.iter().zip(&b.scales).position(|(x, y)| x != y);
        panic!(
            "{what}: fast ≠ reference (first code diff {i:?}, first scale diff {s:?}, tensor scales {:?} {:?})",
            a.tensor_scale, b.tensor_scale
        );
    }
    // Dequantize must agree bit for bit too (NaN as NaN).
    let (da, db) = (a.dequantize(), b.dequantize());
    assert!(da
        .iter()
        .zip(&db)
        .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())));
}

#[test]
fn fast_equals_reference_on_random_data() {
    let names = [
        "mxfp8",
        "mxfp8e5m2",
        "mxfp6",
        "mxfp6e3m2",
        "mxfp4",
        "mxint8",
        "mxfp8:block=7",
    ];
    let rules = ["floor", "ceil", "rceil", "even"];
    let row_lens = [32usize, 45, 7, 100, 16, 33, 64, 96];
    let mut rng = Rng(0x5eed);
    let mut checked = 0usize;
    for (kind, &row_len) in row_lens.iter().enumerate() {
        let n = row_len * (2048 / row_len).max(2);
        let data: Vec<f32> = (0..n).map(|_| sample(kind, &mut rng)).collect();
        for name in names {
            for rule in rules {
                let fmt = block(&format!(
                    "{name}{}rule={rule}",
                    if name.contains(':') { "," } else { ":" }
                ));
                for r in Rounding::ALL {
                    let opts = ConvertOptions {
                        rounding: r,
                        seed: 1234 + kind as u64,
                        ..Default::default()
                    };
                    assert_same(
                        &fmt,
                        &opts,
                        &data,
                        row_len,
                        &format!("{fmt} {r} dist {kind}"),
                    );
                    checked += n;
                }
            }
        }
        for name in ["nvfp4", "nvfp4:block=32"] {
            for r in Rounding::ALL {
                let opts = ConvertOptions {
                    rounding: r,
                    seed: 99,
                    ..Default::default()
                };
                assert_same(
                    &block(name),
                    &opts,
                    &data,
                    row_len,
                    &format!("{name} {r} dist {kind}"),
                );
            }
        }
    }
    assert!(checked > 500_000);
}

#[test]
fn stochastic_rounding_is_seeded() {
    let mut rng = Rng(7);
    let data: Vec<f32> = (0..4096).map(|_| rng.gauss() as f32).collect();
    for name in ["mxfp4", "mxint8", "nvfp4"] {
        let o = |seed| ConvertOptions {
            rounding: Rounding::Sr,
            seed,
            ..Default::default()
        };
        let a = quantize(&block(name), &o(5), &data, 64).unwrap();
        let b = quantize(&block(name), &o(5), &data, 64).unwrap();
        let c = quantize(&block(name), &o(6), &data, 64).unwrap();
        assert_eq!(a, b, "{name}: same seed, same bytes");
        assert_ne!(a.codes, c.codes, "{name}: another seed, other bytes");
        // The element stream is indexed by position, so row blocking does not change it
        // for MX (NVFP4's tensor scale is global and row-independent too).
        let d = quantize(&block(name), &o(5), &data, 128).unwrap();
        assert_eq!(a.codes, d.codes, "{name}");
    }
}

#[test]
fn stochastic_rounding_is_unbiased_on_average() {
    // 0.3 in MXFP4 with amax 6 (X = 0): neighbours 0 and 0.5, P(up) = 0.6 → mean 0.3.
    let mut data = vec![0.3f32; 32 * 2000];
    for b in data.chunks_mut(32) {
        b[0] = 6.0;
    }
    let o = ConvertOptions {
        rounding: Rounding::Sr,
        seed: 11,
        ..Default::default()
    };
    let d = quantize(&block("mxfp4"), &o, &data, 32)
        .unwrap()
        .dequantize();
    let vals: Vec<f64> = d
        .chunks(32)
        .flat_map(|b| b[1..].iter().map(|x| *x as f64))
        .collect();
    let mean = vals.iter().sum::<f64>() / vals.len() as f64;
    // 62000 Bernoulli(0.6) × 0.5: sd of the mean ≈ 0.5 × 0.49 / 249 ≈ 0.001.
    assert!((mean - 0.3).abs() < 0.005, "mean {mean}");
    assert!(vals.iter().all(|v| *v == 0.0 || *v == 0.5));
}

/// NVFP4 on a tensor large enough for the parallel row chunks (≥ 2^20
/// elements, ragged rows: the last block of every row is short), against
/// the reference: the tensor scale, every block scale and, under
/// stochastic rounding, every element's random index must survive the
/// split.
#[test]
fn nvfp4_parallel_chunks_equal_reference() {
    let (rows, row_len) = (1000usize, 1061usize);
    let mut rng = Rng(0x4e56);
    let data: Vec<f32> = (0..rows * row_len)
        .map(|i| {
            if i % 9973 == 0 {
                f32::NAN
            } else {
                sample(i % 8 % 3, &mut rng)
            }
        })
        .collect();
    assert!(data.len() >= 1 << 20);
    for r in [Rounding::Rne, Rounding::Sr] {
        let opts = ConvertOptions {
            rounding: r,
            seed: 17,
            ..Default::default()
        };
        assert_same(
            &block("nvfp4"),
            &opts,
            &data,
            row_len,
            &format!("nvfp4 {r} large"),
        );
    }
}

/// Every E2M1 midpoint as an exact tie (tensor scale 1, block scale 1):
/// ties go to the even code, above the last midpoint saturates, and signs
/// (zeros included) are kept. Hand-derived codes; `q` also checks the
/// quantizer against the reference.
#[test]
fn nvfp4_ties_go_to_even() {
    let mut data = vec![0.0f32; 32];
    data[0] = 2688.0;
    data[16..32].copy_from_slice(&[
        6.0, 0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0, -0.25, -0.75, -5.0, -0.0, 0.0, 0.1, -0.1, 5.5,
    ]);
    let t = q("nvfp4", &data, 32);
    assert_eq!(t.tensor_scale, Some(1.0));
    assert_eq!(t.scales[1], 0x38); // E4M3 1.0
    assert_eq!(
        &t.codes[16..32],
        &[7, 0, 2, 2, 4, 4, 6, 6, 8, 0xa, 0xe, 8, 0, 0, 8, 7]
    );
}
