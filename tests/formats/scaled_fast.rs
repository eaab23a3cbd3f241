//! The scaled quantizer's fast path (`scaled::quantize`, vectorized through
//! the rounded-to-odd f32 quotient) against its scalar twin
//! (`scaled::quantize_reference`, one exact f64 encode per element), at every
//! ISA level this CPU has: equal codes and scales, or the same error, on
//! seeded random tensors with zero groups, NaN, ±inf, subnormal scales, exact
//! ties, huge and tiny values and ragged last groups, for every element
//! rounding mode, scale rounding mode, scale format and granularity.

use crate::seeded::Rng;
use bitsim::formats::parse::{parse_element, BF16, E4M3, E8M0, F32, FP16};
use bitsim::formats::scaled::{quantize_at, quantize_reference, Axis, Granularity, ScaleOptions};
use bitsim::formats::{ConvertOptions, ElementFormat, NanPolicy, Overflow, Rounding};
use bitsim::isa::IsaLevel;

const MODES: [Rounding; 7] = [
    Rounding::Rne,
    Rounding::Rna,
    Rounding::Rtz,
    Rounding::Ru,
    Rounding::Rd,
    Rounding::Rto,
    Rounding::Sr,
];

/// A `rows × cols` tensor: mostly Gaussian values over a random binade per
/// row, with special rows (all zero, subnormal, huge, exact ties at scale 1)
/// and scattered specials.
fn tensor(rng: &mut Rng, rows: usize, cols: usize) -> Vec<f32> {
    let mut v = Vec::with_capacity(rows * cols);
    for _ in 0..rows {
        let kind = rng.below(8);
        let binade = rng.below(60) as i32 - 30;
        for c in 0..cols {
            let x = match kind {
                0 => 0.0,
                // Subnormal f32s: the group's scale is a subnormal too.
                1 => f32::from_bits(rng.u32() & 0x807f_ffff),
                2 => (rng.gauss() * 1e37) as f32,
                // Halves and integers: exact ties once divided by a scale of 1
                // (int8 with absmax 127 at column 0).
                3 if c == 0 => 127.0,
                3 => (rng.below(255) as f32 - 127.0) / 2.0,
                _ => (rng.gauss() * 2f64.powi(binade)) as f32,
            };
            v.push(x);
        }
    }
    // Scattered specials and f32 edge values.
    for _ in 0..(rows * cols) / 16 {
        let i = rng.below((rows * cols) as u64) as usize;
        v[i] = match rng.below(7) {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => f32::NEG_INFINITY,
            3 => -0.0,
            4 => f32::MAX,
            5 => f32::from_bits(1),
            _ => -f32::MIN_POSITIVE,
        };
    }
    v
}

fn granularities(cols: usize) -> Vec<Granularity> {
    vec![
        Granularity::PerTensor,
        Granularity::PerChannel(Axis::Row),
        Granularity::PerChannel(Axis::Col),
        Granularity::PerGroup(32),
        Granularity::PerGroup(7),
        Granularity::PerGroup(cols + 3),
    ]
}

fn elements() -> Vec<ElementFormat> {
    [
        "int8", "int4", "int3", "uint8", "uint4", "ternary", "int1", "int16", "e4m3", "e5m2",
        "e2m1", "e3m2", "e2m3", "fp16", "bf16", "e4m3fnuz", "e5m2fnuz", "e3m4", "f32",
    ]
    .iter()
    .map(|s| parse_element(s).unwrap_or_else(|e| panic!("{s}: {e}")))
    .collect()
}

/// Quantizes with the twin and at every level; the results must be equal,
/// or both errors.
fn check(
    data: &[f32],
    rows: usize,
    cols: usize,
    e: &ElementFormat,
    g: Granularity,
    so: &ScaleOptions,
    o: &ConvertOptions,
) {
    let want = quantize_reference(data, rows, cols, e, g, so, o);
    for level in IsaLevel::available() {
        let got = quantize_at(level, data, rows, cols, e, g, so, o);
        match (&want, &got) {
            (Ok(w), Ok(h)) => {
                assert_eq!(w.scales, h.scales, "{e} {g:?} {so:?} {o:?} at {level:?}");
                if w.codes != h.codes {
                    let i = (0..w.codes.len())
                        .find(|&i| w.codes[i] != h.codes[i])
                        .unwrap();
                    panic!(
                        "{e} {g:?} {so:?} {o:?} at {level:?}: element {i} = {:e} \
                         (bits {:#x}): code {:#x}, reference {:#x}",
                        data[i],
                        data[i].to_bits(),
                        h.codes[i],
                        w.codes[i]
                    );
                }
                assert_eq!(w, h);
            }
            (Err(w), Err(h)) => assert_eq!(w.to_string(), h.to_string()),
            _ => panic!("{e} {g:?} {so:?} {o:?} at {level:?}: {want:?} vs {got:?}"),
        }
    }
}

#[test]
fn every_element_format_mode_and_granularity() {
    let mut rng = Rng(0x5eed_5ca1);
    let (rows, cols) = (24, 45);
    for e in elements() {
        let data = tensor(&mut rng, rows, cols);
        for g in granularities(cols) {
            for mode in MODES {
                let o = ConvertOptions {
                    seed: 7,
                    ..ConvertOptions::with_rounding(mode)
                };
                for symmetric in [false, true] {
                    let so = ScaleOptions {
                        symmetric,
                        ..Default::default()
                    };
                    check(&data, rows, cols, &e, g, &so, &o);
                }
            }
        }
    }
}

#[test]
fn every_scale_format_and_scale_rounding() {
    let mut rng = Rng(0xca1e);
    let (rows, cols) = (16, 40);
    for e in ["int8", "e4m3", "fp16", "e2m1", "int4"] {
        let e = parse_element(e).unwrap();
        let data = tensor(&mut rng, rows, cols);
        for format in [F32, BF16, FP16, E8M0, E4M3] {
            for rounding in MODES {
                let so = ScaleOptions {
                    format,
                    rounding,
                    symmetric: true,
                };
                for g in granularities(cols) {
                    check(&data, rows, cols, &e, g, &so, &ConvertOptions::default());
                }
            }
        }
    }
}

#[test]
fn nan_and_overflow_policies() {
    let mut rng = Rng(0x0a4);
    let (rows, cols) = (8, 33);
    let data = tensor(&mut rng, rows, cols);
    let clean: Vec<f32> = data
        .iter()
        .map(|x| if x.is_nan() { 1.5 } else { *x })
        .collect();
    for e in ["int8", "uint4", "ternary", "e4m3", "e5m2", "e2m1", "fp16"] {
        let e = parse_element(e).unwrap();
        for nan in [NanPolicy::NegZero, NanPolicy::Max, NanPolicy::Error] {
            for overflow in [
                None,
                Some(Overflow::Saturate),
                Some(Overflow::Inf),
                Some(Overflow::Nan),
            ] {
                for mode in [Rounding::Rne, Rounding::Ru, Rounding::Rtz] {
                    let o = ConvertOptions {
                        nan,
                        overflow,
                        ..ConvertOptions::with_rounding(mode)
                    };
                    // Scales rounded down let the group's maximum overflow.
                    let so = ScaleOptions {
                        rounding: Rounding::Rd,
                        ..Default::default()
                    };
                    for d in [&data, &clean] {
                        check(d, rows, cols, &e, Granularity::PerGroup(8), &so, &o);
                        check(d, rows, cols, &e, Granularity::PerTensor, &so, &o);
                    }
                }
            }
        }
    }
}

/// Large enough for the parallel chunks (several per call, a ragged last one).
#[test]
fn large_tensors_chunk_like_one_call() {
    let mut rng = Rng(0xb16);
    let (rows, cols) = (67, 4099);
    let data: Vec<f32> = (0..rows * cols)
        .map(|_| (rng.gauss() * 3.0) as f32)
        .collect();
    for e in ["int8", "e4m3", "int4"] {
        let e = parse_element(e).unwrap();
        for g in [
            Granularity::PerChannel(Axis::Row),
            Granularity::PerChannel(Axis::Col),
            Granularity::PerGroup(128),
            Granularity::PerTensor,
        ] {
            let so = ScaleOptions {
                symmetric: true,
                ..Default::default()
            };
            check(&data, rows, cols, &e, g, &so, &ConvertOptions::default());
        }
    }
}

/// Every f32 quotient binade against a fixed scale, including those that
/// overflow f32 (tiny scale) and underflow it (huge scale), element by
/// element: the row's first value fixes absmax, the rest are tested.
#[test]
fn quotients_outside_f32_range() {
    let mut rng = Rng(0xf32);
    let cols = 64;
    let mut data = Vec::new();
    let mut rows = 0;
    for absmax_bits in [1u32, 0x0000_0400, 0x0080_0000, 0x3f80_0000, 0x7f7f_ffff] {
        for _ in 0..8 {
            data.push(f32::from_bits(absmax_bits));
            for _ in 1..cols {
                let b = rng.u32() % (absmax_bits + 1);
                data.push(f32::from_bits(b | (rng.u32() & 0x8000_0000)));
            }
            rows += 1;
        }
    }
    for e in ["int8", "e4m3", "e5m2", "bf16", "fp16", "e2m1"] {
        let e = parse_element(e).unwrap();
        for mode in MODES {
            for format in [F32, E8M0, BF16] {
                let so = ScaleOptions {
                    format,
                    rounding: Rounding::Rne,
                    symmetric: true,
                };
                let o = ConvertOptions::with_rounding(mode);
                check(
                    &data,
                    rows,
                    cols,
                    &e,
                    Granularity::PerChannel(Axis::Row),
                    &so,
                    &o,
                );
            }
        }
    }
}
