//! The kernels' in-product activation quantizers equal the variants'
//! quantizers (their reference) on edge cases and seeded data.

use crate::seeded::Rng;
use crate::LEVEL_LOCK;
use bitsim::attention::sage::{quantize_blocks, quantize_blocks_reference, QkQuant};
use bitsim::formats::{parse, ElementFormat};
use bitsim::isa::{self, IsaLevel};
use bitsim::kernels::quant;
use bitsim::tensor::{Matrix, Values};
use bitsim::variants::operand::{int_absmax, OperandSpec};
use bitsim::variants::ScaleAxis;

fn rows() -> Vec<Vec<f32>> {
    let mut r = Rng(11);
    vec![
        // Exact ties after scaling (scale 1): 0.5 → 0, 1.5 → 2, 2.5 → 2, −0.5 → −0.
        vec![127.0, 0.5, 1.5, 2.5, -0.5, -1.5, 126.5],
        vec![0.0, -0.0, 0.0],
        // Non-finite values inside 8-wide chunks and in the tail.
        vec![
            1.0,
            f32::NAN,
            -3.0,
            f32::INFINITY,
            0.25,
            -f32::INFINITY,
            -0.0,
            2.9,
            f32::NAN,
            -f32::INFINITY,
        ],
        // No finite magnitude: scale 0, ±inf still code ±127.
        vec![
            f32::INFINITY,
            f32::NAN,
            -f32::INFINITY,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            1.0e-45,
        ],
        (1..=16).map(|i| i as f32 * -0.75).collect(),
        (0..17).map(|i| (i as f32 - 8.0) * 0.125).collect(),
        vec![f32::NAN, 1.0, f32::INFINITY, -f32::INFINITY, -2.0],
        vec![1e-45, -1e-45, 3e-45],
        vec![f32::MAX, -f32::MAX, 1.0],
        vec![-1.0, 0.0, 1e-30, -0.0],
        (0..1000).map(|_| r.gauss() as f32).collect(),
        (0..333).map(|_| (r.gauss() * 1e-38) as f32).collect(),
        // Quotients within an f64 rounding of a half-integer: 127 · k + 0.5 · s ± 1 ulp.
        {
            let s = (3.0f64 / 127.0) as f32;
            let mut v = vec![3.0f32];
            for n in 0..127 {
                let t = ((n as f64 + 0.5) * s as f64) as f32;
                v.extend([
                    t,
                    f32::from_bits(t.to_bits() + 1),
                    f32::from_bits(t.to_bits() - 1),
                    -t,
                ]);
            }
            v
        },
        (0..2000)
            .map(|_| (r.gauss() * 1e3).round() as f32 / 64.0)
            .collect(),
        // Exact ties `(n + ½)·s` and their neighbours for scales of few bits
        // (exact in f32), one of them the smallest the f32 path takes (2^−125)
        // and one below it (2^−126).
        ties(0.375),
        ties(2f32.powi(-125)),
        ties(2f32.powi(-126)),
        ties(1.5 * 2f32.powi(100)),
        // Seeded rows across binades (scales from subnormal to huge).
        (0..61)
            .map(|i| (r.gauss() * 2f64.powi((i % 13) * 20 - 140)) as f32)
            .collect(),
    ]
    .into_iter()
    .chain((0..24).map(|_| {
        let e = r.below(250) as i32 - 140;
        (0..1 + r.below(70) as usize)
            .map(|_| (r.gauss() * 2f64.powi(e)) as f32)
            .collect()
    }))
    .collect()
}

/// Row whose absmax is `127·s` (so the scale is `s`, exact), then every
/// half-integer multiple of `s` in range and its neighbours one ulp away.
fn ties(s: f32) -> Vec<f32> {
    let mut v = vec![127.0 * s];
    for n in -128..128 {
        let t = (n as f32 + 0.5) * s;
        v.extend([
            t,
            f32::from_bits(t.to_bits() + 1),
            f32::from_bits(t.to_bits() - 1),
        ]);
    }
    v.retain(|x| x.abs() <= 127.0 * s);
    v
}

/// At every ISA level the CPU has (the AVX2 path takes rows in chunks of 8
/// with a scalar tail, so the rows' lengths are ragged on purpose).
#[test]
fn int8_rows_equals_the_absmax_quantizer() {
    let _held = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for level in IsaLevel::available() {
        isa::set_cap(level);
        int8_rows_at_this_level();
    }
    isa::set_cap(IsaLevel::Avx512);
}

fn int8_rows_at_this_level() {
    let spec = int_absmax(8, ScaleAxis::PerRow);
    for row in rows() {
        let m = Matrix::new(1, row.len(), row.clone());
        let want = spec.quantize(&m, true);
        let (codes, scales) = quant::int8_rows(&row, 1, row.len());
        let Values::Int(wv) = &want.values else {
            panic!("integer values expected")
        };
        assert_eq!(&codes, wv, "codes of {row:?}");
        let ws = want.outer.as_ref().expect("per-row scales");
        assert_eq!(scales[0].to_bits(), ws[0].to_bits(), "scale of {row:?}");
        assert!(codes.iter().all(|&c| c != -128), "−128 never appears");
        let (offset, offset_scales) = quant::int_rows_offset(&row, 1, row.len(), 127);
        let unsigned: Vec<u8> = codes.iter().map(|&c| (c as i32 + 128) as u8).collect();
        let got: Vec<u8> = offset.iter().map(|&c| c as u8).collect();
        assert_eq!(got, unsigned, "offset codes of {row:?}");
        assert_eq!(offset_scales, scales, "offset scales of {row:?}");
    }
}

#[test]
fn int_rows_equals_the_absmax_quantizer_at_every_width() {
    // int4 (`matmul/w1.58a4`'s activations) and every other symmetric width.
    let _held = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for level in IsaLevel::available() {
        isa::set_cap(level);
        for bits in 2..=8u32 {
            let max = ((1u32 << (bits - 1)) - 1) as i8;
            let spec = int_absmax(bits, ScaleAxis::PerRow);
            let mut all = rows();
            // Ties at the narrow widths' scale: absmax 7 → scale 1 for int4.
            all.push(vec![7.0, 0.5, 1.5, 2.5, 3.5, -6.5, 6.49, -0.5]);
            for row in all {
                let m = Matrix::new(1, row.len(), row.clone());
                let want = spec.quantize(&m, true);
                let (codes, scales) = quant::int_rows(&row, 1, row.len(), max);
                let Values::Int(wv) = &want.values else {
                    panic!("integer values expected")
                };
                assert_eq!(&codes, wv, "int{bits} codes of {row:?} at {level}");
                let ws = want.outer.as_ref().expect("per-row scales");
                assert_eq!(
                    scales[0].to_bits(),
                    ws[0].to_bits(),
                    "int{bits} scale of {row:?} at {level}"
                );
                assert!(codes.iter().all(|&c| c.abs() <= max), "within ±{max}");
            }
        }
    }
    isa::set_cap(IsaLevel::Avx512);
}

#[test]
fn sign_rows_equals_the_absmean_binary_quantizer() {
    let int1 = match parse::parse_element("int1").expect("int1") {
        ElementFormat::Int(i) => i,
        _ => unreachable!(),
    };
    let spec = OperandSpec::AbsMean {
        element: int1,
        axis: ScaleAxis::PerRow,
    };
    for row in rows() {
        let m = Matrix::new(1, row.len(), row.clone());
        let want = spec.quantize(&m, true);
        let (neg, scales) = quant::sign_rows(&row, 1, row.len());
        let Values::Int(wv) = &want.values else {
            panic!("integer values expected")
        };
        let got: Vec<i8> = neg.iter().map(|&n| if n { -1 } else { 1 }).collect();
        assert_eq!(&got, wv, "signs of {row:?}");
        let ws = want.outer.as_ref().expect("per-row scales");
        assert_eq!(scales[0].to_bits(), ws[0].to_bits(), "scale of {row:?}");
    }
}

/// The fast block quantizer = its reference twin, bit for bit: seeded
/// values over many binades with ±0, subnormals, exact ties (`k + ½` times
/// the scale), huge values, ±inf and NaN; ragged last blocks, zero blocks;
/// every quantizer and pre-multiplier; at every ISA level this CPU has.
#[test]
fn sage_block_quantizer_equals_its_reference() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = Rng(0x5a6e);
    for case in 0..60u64 {
        let d = [1, 3, 8, 32, 33, 64][case as usize % 6];
        let rows = 1 + r.below(200) as usize;
        let mut x: Vec<f32> = (0..rows * d)
            .map(|i| match r.below(24) {
                0 => 0.0,
                1 => -0.0,
                2 => f32::from_bits(1 + r.below(0x7f_ffff) as u32),
                // Ties once amax is 127: k + ½ codes away from and to even.
                3 => (r.below(254) as f32 - 127.0) + 0.5,
                4 if case % 5 == 0 => f32::MAX,
                5 if case % 7 == 0 && i % 3 == 0 => f32::INFINITY,
                6 if case % 11 == 0 && i % 5 == 0 => f32::NAN,
                _ => (r.gauss() * 2f64.powi(r.below(40) as i32 - 20)) as f32,
            })
            .collect();
        if case % 4 == 1 {
            x[0] = 127.0; // amax 127 in the first block: scale 1, the ties exact
        }
        if case % 6 == 2 {
            x.iter_mut().take(64 * d).for_each(|v| *v = 0.0); // a zero block
        }
        for how in [QkQuant::Int8Triton, QkQuant::Int8Cuda, QkQuant::Int4] {
            for (block, pre) in [(128, 1.0f32), (64, 1.0), (128, 0.255), (7, 2.0)] {
                let (cr, sr) = quantize_blocks_reference(&x, d, block, pre, how);
                for level in IsaLevel::available() {
                    isa::set_cap(level);
                    let (c, s) = quantize_blocks(&x, d, block, pre, how);
                    let what = format!(
                        "case {case} {how:?} d {d} rows {rows} block {block} pre {pre} at {level}"
                    );
                    assert_eq!(c, cr, "{what}: codes");
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&s), bits(&sr), "{what}: scales");
                }
                isa::set_cap(IsaLevel::Avx512);
            }
        }
    }
}
