//! Scaled tensors: hand-derived examples, a real half-step error bound, zero
//! groups and NaN handling. Expected numbers are derived in the comments.

use crate::seeded;
use bitsim::formats::parse::{parse_element, E4M3, E8M0};
use bitsim::formats::scaled::{quantize, Axis, Granularity, ScaleOptions, ScaledTensor};
use bitsim::formats::{ConvertOptions, ElementFormat, Rounding};
use seeded::Rng;

fn el(s: &str) -> ElementFormat {
    parse_element(s).unwrap()
}

fn e8m0_ru() -> ScaleOptions {
    ScaleOptions {
        format: E8M0,
        ..Default::default()
    }
}

fn q(
    data: &[f32],
    rows: usize,
    cols: usize,
    e: &str,
    g: Granularity,
    s: &ScaleOptions,
) -> ScaledTensor {
    quantize(data, rows, cols, &el(e), g, s, &ConvertOptions::default()).unwrap()
}

#[test]
fn int8_per_row_f32_scales() {
    // Row 0: absmax 127 → scale 127/127 = 1; codes 1, −2 (0xFE), 0.5 → 0 (ties to even), 127.
    // Row 1: absmax 254 → scale 2; 3/2 = 1.5 → 2; −5/2 = −2.5 → −2; 127; −127 (0x81).
    // Row 2: all zero → scale 0, codes 0.
    let data = [
        1.0, -2.0, 0.5, 127.0, //
        3.0, -5.0, 254.0, -254.0, //
        0.0, 0.0, 0.0, 0.0,
    ];
    let t = q(
        &data,
        3,
        4,
        "int8",
        Granularity::PerChannel(Axis::Row),
        &ScaleOptions::default(),
    );
    assert_eq!(t.scale_values(), vec![1.0, 2.0, 0.0]);
    assert_eq!(
        t.codes,
        vec![1, 0xfe, 0, 127, 2, 0xfe, 127, 0x81, 0, 0, 0, 0]
    );
    assert_eq!(
        t.dequantize(),
        vec![1.0, -2.0, 0.0, 127.0, 4.0, -4.0, 254.0, -254.0, 0.0, 0.0, 0.0, 0.0]
    );
}

#[test]
fn int8_per_column_e8m0_scales() {
    // Column 0: 127/127 = 1 → E8M0 code 127; 127 → 127, −63.5 → −64 (tie to even, 0xC0).
    // Column 1: 4/127 = 0.0315 > 2^−5 → rounded up to 2^−4 (code 123); 4/2^−4 = 64, −1/2^−4 = −16 (0xF0).
    let data = [127.0, 4.0, -63.5, -1.0];
    let t = q(
        &data,
        2,
        2,
        "int8",
        Granularity::PerChannel(Axis::Col),
        &e8m0_ru(),
    );
    assert_eq!(t.scales, vec![127, 123]);
    assert_eq!(t.codes, vec![127, 64, 0xc0, 0xf0]);
    assert_eq!(t.dequantize(), vec![127.0, 4.0, -64.0, -1.0]);
}

#[test]
fn int4_per_group() {
    // Groups of 4 along each row, E8M0 scales rounded up.
    // Group 0: 7/7 = 1 (code 127): 7, −3.5 → −4 (tie to even, 0xC), 1.2 → 1, 0.
    // Group 1: 0.7/7 = 0.1 → 2^−3 (code 124): 0.35/0.125 = 2.8 → 3; 5.6 → 6; −5.6 → −6 (0xA); 0.4 → 0.
    // Group 2 (ragged, 2 wide): 0.5/7 = 0.0714 → 2^−3 (code 124): 0.5 → 4, −0.125 → −1 (0xF).
    let data = [7.0, -3.5, 1.2, 0.0, 0.35, 0.7, -0.7, 0.05, 0.5, -0.125];
    let t = q(&data, 1, 10, "int4", Granularity::PerGroup(4), &e8m0_ru());
    assert_eq!(t.group_count(), 3);
    assert_eq!(t.scales, vec![127, 124, 124]);
    assert_eq!(t.codes, vec![7, 0xc, 1, 0, 3, 6, 0xa, 0, 4, 0xf]);
    assert_eq!(
        t.dequantize(),
        vec![7.0, -4.0, 1.0, 0.0, 0.375, 0.75, -0.75, 0.0, 0.5, -0.125]
    );
    // Two rows: groups never span rows; group of (1, 5) is 1 × 3 + 1 = 4.
    let t = q(
        &[data, data].concat(),
        2,
        10,
        "int4",
        Granularity::PerGroup(4),
        &e8m0_ru(),
    );
    assert_eq!(t.group_count(), 6);
    assert_eq!(t.group_of(1, 5), 4);
    assert_eq!(t.scales, vec![127, 124, 124, 127, 124, 124]);
}

#[test]
fn default_scale_rounds_up_so_nothing_clips() {
    // absmax 1: scale = 1/127 rounded up in f32. Check the RU property with exact f64
    // arithmetic: s × 127 ≥ 1 and the f32 just below s gives < 1.
    let t = q(
        &[1.0, -1.0, 0.5],
        1,
        3,
        "int8",
        Granularity::PerTensor,
        &ScaleOptions::default(),
    );
    let s = t.scale_values()[0];
    let below = f32::from_bits((s as f32).to_bits() - 1) as f64;
    assert!(s * 127.0 >= 1.0 && below * 127.0 < 1.0, "scale {s}");
    assert_eq!(&t.codes[..2], &[127, 0x81]);
    // Round-down E8M0: 1/127 → 2^−7, so −1 / 2^−7 = −128: int8 stores −128 (0x80),
    // while `symmetric` clamps to −127 (0x81); +128 clamps to 127 either way.
    let rd = ScaleOptions {
        format: E8M0,
        rounding: Rounding::Rd,
        symmetric: false,
    };
    let t = q(&[1.0, -1.0], 1, 2, "int8", Granularity::PerTensor, &rd);
    assert_eq!((t.scales[0], t.codes.clone()), (120, vec![127, 0x80]));
    let sym = ScaleOptions {
        symmetric: true,
        ..rd
    };
    let t = q(&[1.0, -1.0], 1, 2, "int8", Granularity::PerTensor, &sym);
    assert_eq!(t.codes, vec![127, 0x81]);
}

/// For integer elements under RNE with round-up scales: |code × s − v| ≤ s / 2 exactly,
/// and the bound is tight (some error exceeds s / 4).
fn check_half_step(e: &str, g: Granularity, s: &ScaleOptions, rows: usize, cols: usize) {
    let mut rng = Rng(42);
    let data: Vec<f32> = (0..rows * cols)
        .map(|_| (rng.gauss() * 3.0) as f32)
        .collect();
    let t = q(&data, rows, cols, e, g, s);
    let sv = t.scale_values();
    let deq = t.dequantize();
    let mut worst = 0f64;
    for (i, v) in data.iter().enumerate() {
        let sc = sv[t.group_of(i / cols, i % cols)];
        let exact = t.element.decode(t.codes[i]) * sc;
        let err = (exact - *v as f64).abs();
        assert!(
            err <= sc / 2.0,
            "{e}: element {i} = {v}: error {err} > half step {}",
            sc / 2.0
        );
        worst = worst.max(err / sc);
        // The f32 result adds at most half an f32 ulp.
        assert!((deq[i] as f64 - exact).abs() <= (exact.abs() * f32::EPSILON as f64) / 2.0);
    }
    assert!(worst > 0.25, "{e}: the bound is never approached ({worst})");
}

#[test]
fn dequantize_error_within_half_step() {
    check_half_step(
        "int8",
        Granularity::PerChannel(Axis::Row),
        &ScaleOptions::default(),
        16,
        96,
    );
    check_half_step(
        "int8",
        Granularity::PerChannel(Axis::Col),
        &ScaleOptions::default(),
        96,
        16,
    );
    check_half_step("int4", Granularity::PerGroup(32), &e8m0_ru(), 8, 100);
    let bf16 = ScaleOptions {
        format: bitsim::formats::parse::BF16,
        ..Default::default()
    };
    check_half_step("int4", Granularity::PerGroup(16), &bf16, 8, 64);
    check_half_step(
        "int8:symmetric",
        Granularity::PerTensor,
        &ScaleOptions::default(),
        32,
        32,
    );
}

#[test]
fn float_elements_within_half_spacing() {
    // E4M3 elements: |value(code) − v/s| ≤ half the E4M3 spacing at |v/s|,
    // spacing = 2^(max(floor(log2|y|), −6) − 3), floor(log2) from the f64 exponent bits.
    let mut rng = Rng(3);
    let (rows, cols) = (8, 64);
    let data: Vec<f32> = (0..rows * cols)
        .map(|_| (rng.gauss() * 100.0) as f32)
        .collect();
    let e4m3 = ScaleOptions {
        format: E4M3,
        ..Default::default()
    };
    for s in [ScaleOptions::default(), e4m3] {
        let t = q(
            &data,
            rows,
            cols,
            "e4m3",
            Granularity::PerChannel(Axis::Row),
            &s,
        );
        let sv = t.scale_values();
        for (i, v) in data.iter().enumerate() {
            let sc = sv[i / cols];
            let y = *v as f64 / sc;
            assert!(y.abs() <= 448.0, "round-up scale keeps |v/s| ≤ 448");
            let e = ((y.abs().to_bits() >> 52) & 0x7ff) as i32 - 1023;
            let spacing = 2f64.powi(e.max(-6) - 3);
            let err = (E4M3.decode(t.codes[i]) - y).abs();
            assert!(
                err <= spacing / 2.0,
                "element {i}: {y} → {}",
                E4M3.decode(t.codes[i])
            );
        }
    }
}

#[test]
fn zero_rows_and_signed_zeros() {
    let data = [0.0, -0.0, 0.0, 1.0, -2.0, 4.0];
    // f32 scales: the zero row gets scale 0 (code 0) and zero codes; E4M3 keeps −0.
    let t = q(
        &data,
        2,
        3,
        "e4m3",
        Granularity::PerChannel(Axis::Row),
        &ScaleOptions::default(),
    );
    assert_eq!(t.scales[0], 0);
    assert_eq!(&t.codes[..3], &[0, 0x80, 0]);
    let d = t.dequantize();
    assert!(d[..3].iter().all(|x| *x == 0.0) && d[1].is_sign_negative());
    // E8M0 has no zero: the zero row gets its smallest scale 2^−127 (code 0), codes stay 0.
    let t = q(
        &data,
        2,
        3,
        "int8",
        Granularity::PerChannel(Axis::Row),
        &e8m0_ru(),
    );
    assert_eq!(t.scales[0], 0);
    assert_eq!(&t.codes[..3], &[0, 0, 0]);
    assert_eq!(&t.dequantize()[..3], &[0.0, 0.0, 0.0]);
    // Row 1: 4/127 → 2^−4 (code 123); 1 → 16, −2 → −32 (0xE0), 4 → 64.
    assert_eq!((t.scales[1], &t.codes[3..]), (123, &[16, 0xe0, 64][..]));
}

#[test]
fn nan_and_inf_are_kept_out_of_the_scale() {
    // absmax of the finite values is 2 → E8M0 scale 2/127 → 2^−5 (code 122): 1 → 32, −2 → −64.
    let data = [f32::NAN, 1.0, -2.0, f32::INFINITY];
    let t = q(&data, 1, 4, "int8", Granularity::PerTensor, &e8m0_ru());
    assert_eq!(t.scales, vec![122]);
    // int8: NaN → 0 (nan-to-negzero policy, integers have no −0); +inf saturates to 127.
    assert_eq!(t.codes, vec![0, 32, 0xc0, 127]);
    // E4M3: NaN → NaN (0x7F); +inf overflows to NaN (E4M3's default, non-saturating).
    let t = q(&data, 1, 4, "e4m3", Granularity::PerTensor, &e8m0_ru());
    assert_eq!((t.codes[0], t.codes[3]), (0x7f, 0x7f));
    assert!(t.dequantize()[0].is_nan());
}

#[test]
fn ternary_and_binary_elements() {
    // Ternary: absmax 1 → scale 1; 0.9 → 1, −0.2 → 0, −1 → −1 (code 0b11), 0.6 → 1.
    let t = q(
        &[0.9, -0.2, -1.0, 0.6],
        1,
        4,
        "ternary",
        Granularity::PerTensor,
        &ScaleOptions::default(),
    );
    assert_eq!(t.codes, vec![1, 0, 3, 1]);
    // Binary {−1, +1}: absmax 2 → scale 2; signs → codes 1, 0, 0, 1; values ±2.
    let t = q(
        &[0.5, -0.1, -2.0, 1.0],
        1,
        4,
        "int1",
        Granularity::PerTensor,
        &ScaleOptions::default(),
    );
    assert_eq!(t.codes, vec![1, 0, 0, 1]);
    assert_eq!(t.dequantize(), vec![2.0, -2.0, -2.0, 2.0]);
}

#[test]
fn shape_errors() {
    let o = ConvertOptions::default();
    let s = ScaleOptions::default();
    assert!(quantize(&[1.0; 6], 2, 4, &el("int8"), Granularity::PerTensor, &s, &o).is_err());
    assert!(quantize(
        &[1.0; 6],
        2,
        3,
        &el("int8"),
        Granularity::PerGroup(0),
        &s,
        &o
    )
    .is_err());
    assert!(quantize(&[], 0, 0, &el("int8"), Granularity::PerTensor, &s, &o).is_ok());
}
