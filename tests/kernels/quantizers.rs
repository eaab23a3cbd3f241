//! The kernels' in-product activation quantizers equal the variants'
//! quantizers (their reference) on edge cases and seeded data.

use crate::seeded::Rng;
use crate::LEVEL_LOCK;
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
    ]
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
    }
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
