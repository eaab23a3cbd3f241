//! The `matmul/lmul-*` variants against a slow model written here: the
//! operands quantized by the shared quantizers (`OperandSpec`, tested with
//! the formats), every product from the paper's formula in f64 (not the
//! L-Mul unit), an f32 sequential sum and the f32 scale epilogue; and their
//! cost (integer adders, no multipliers).

use crate::seeded;
use bitsim::arith::lmul::l_of;
use bitsim::formats::parse::{BF16, E4M3};
use bitsim::formats::{ConvertOptions, MiniFloat};
use bitsim::hw::cost::OpKind;
use bitsim::variants::operand::Values;
use bitsim::variants::{find, registry, OperandSpec, ScaleAxis, Shape};
use bitsim::workload::Matrix;
use seeded::Rng;

const NAMES: [&str; 4] = [
    "matmul/lmul-carry-bf16",
    "matmul/lmul-literal-bf16",
    "matmul/lmul-carry-e4m3",
    "matmul/lmul-literal-e4m3",
];

/// L-Mul of two values of a format with `f.mbits` mantissa bits by the
/// formula, rounded into `f` (finite operands; zero → signed zero).
fn lmul_value(f: &MiniFloat, x: f64, y: f64, carry: bool) -> f64 {
    let neg = x.is_sign_negative() != y.is_sign_negative();
    if x == 0.0 || y == 0.0 {
        return if neg { -0.0 } else { 0.0 };
    }
    let split = |v: f64| {
        let e = v.abs().log2().floor() as i32;
        (v.abs() / 2f64.powi(e) - 1.0, e)
    };
    let ((xm, xe), (ym, ye)) = (split(x), split(y));
    let s = xm + ym + 2f64.powi(-(l_of(f.mbits) as i32));
    let e = xe + ye;
    let v = if !carry || s < 1.0 {
        (1.0 + s) * 2f64.powi(e)
    } else if s < 2.0 {
        s * 2f64.powi(e + 1)
    } else {
        (s - 1.0) * 2f64.powi(e + 2)
    };
    let code = f
        .encode(if neg { -v } else { v }, &ConvertOptions::default(), 0)
        .unwrap();
    f.decode(code)
}

fn gauss(rng: &mut Rng, rows: usize, cols: usize, std: f64) -> Matrix {
    Matrix::new(
        rows,
        cols,
        (0..rows * cols)
            .map(|_| (rng.gauss() * std) as f32)
            .collect(),
    )
}

fn slow(name: &str, a: &Matrix, w: &Matrix) -> Vec<f64> {
    let (f, spec) = if name.ends_with("bf16") {
        (BF16, OperandSpec::Cast(BF16))
    } else {
        // Operands e4m3, products kept in e8m3.
        (
            MiniFloat::ieee(8, 3),
            OperandSpec::AbsMax {
                element: bitsim::formats::ElementFormat::Float(E4M3),
                axis: ScaleAxis::PerTensor,
            },
        )
    };
    let carry = name.contains("carry");
    let (qa, qw) = (spec.quantize(a, false), spec.quantize(w, false));
    let vals = |q: &bitsim::variants::operand::QOperand| match &q.values {
        Values::F32(v) => v.clone(),
        _ => panic!("float values expected"),
    };
    let (va, vw) = (vals(&qa), vals(&qw));
    let k = a.cols;
    let mut out = Vec::new();
    for i in 0..a.rows {
        for j in 0..w.rows {
            let mut acc = 0.0f32;
            for t in 0..k {
                acc += lmul_value(&f, va[i * k + t] as f64, vw[j * k + t] as f64, carry) as f32;
            }
            if let (Some(sa), Some(sw)) = (&qa.outer, &qw.outer) {
                acc = acc * sa[i] * sw[j];
            }
            out.push(acc as f64);
        }
    }
    out
}

#[test]
fn variants_are_registered() {
    let names: Vec<String> = registry().iter().map(|v| v.name().to_string()).collect();
    for n in NAMES {
        assert!(names.iter().any(|x| x == n), "{n} missing");
        let v = find(n).unwrap();
        assert!(!v.info().description.is_empty());
        assert_eq!(v.info().accumulator, "f32 sequential");
    }
}

#[test]
fn emulation_matches_the_slow_model() {
    let mut rng = Rng(21);
    for (m, k, n, std) in [(3, 17, 5, 1.0), (6, 64, 9, 0.05), (1, 129, 4, 30.0)] {
        let a = gauss(&mut rng, m, k, std);
        let w = gauss(&mut rng, n, k, std);
        for name in NAMES {
            let v = find(name).unwrap();
            let got = v.emulate(&a, &w, 0);
            let want = slow(name, &a, &w);
            assert_eq!(got.len(), m * n);
            for (idx, (g, e)) in got.iter().zip(&want).enumerate() {
                assert_eq!(
                    g.to_bits(),
                    e.to_bits(),
                    "{name} {m}x{k}x{n} output {idx}: {g} vs {e}"
                );
            }
        }
    }
}

#[test]
fn emulation_is_close_to_the_exact_product() {
    // Sanity, not bit-exactness: L-Mul's error is a few per cent per product,
    // and a dot of 256 random-sign products keeps the relative Frobenius
    // error well below 1 (a broken unit gives ~1 or more).
    let mut rng = Rng(5);
    let (a, w) = (gauss(&mut rng, 8, 256, 1.0), gauss(&mut rng, 8, 256, 1.0));
    let exact = find("matmul/f64").unwrap().emulate(&a, &w, 0);
    let norm: f64 = exact.iter().map(|x| x * x).sum::<f64>().sqrt();
    for name in NAMES {
        let got = find(name).unwrap().emulate(&a, &w, 0);
        let err: f64 = got
            .iter()
            .zip(&exact)
            .map(|(g, e)| (g - e).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(err / norm < 0.2, "{name}: relative error {}", err / norm);
    }
}

#[test]
fn cost_counts_integer_adders_not_multipliers() {
    let shape = Shape {
        m: 64,
        k: 1024,
        n: 256,
    };
    let macs = shape.macs();
    for (name, bits, twin) in [
        ("matmul/lmul-carry-bf16", 15, "matmul/bf16"),
        ("matmul/lmul-literal-bf16", 15, "matmul/bf16"),
        ("matmul/lmul-carry-e4m3", 8, "matmul/fp8-e4m3"),
        ("matmul/lmul-literal-e4m3", 8, "matmul/fp8-e4m3"),
    ] {
        let c = find(name).unwrap().cost(shape);
        let count = |k: OpKind| c.ops.iter().find(|(x, _)| *x == k).map(|x| x.1);
        assert_eq!(count(OpKind::IntAdd { bits }), Some(macs), "{name}");
        assert_eq!(count(OpKind::F32_ADD), Some(macs), "{name}");
        assert!(
            !c.ops.iter().any(|(k, _)| matches!(
                k,
                OpKind::IntMul { .. }
                    | OpKind::FpMul { ebits: _, mbits: 7 }
                    | OpKind::FpMul { ebits: 4, .. }
            )),
            "{name} counts a multiplier: {:?}",
            c.ops
        );
        // Outer scales: e4m3 multiplies each output by two f32 scales.
        let scale_muls = if name.ends_with("e4m3") {
            2.0 * 64.0 * 256.0
        } else {
            0.0
        };
        assert_eq!(count(OpKind::F32_MUL).unwrap_or(0.0), scale_muls, "{name}");
        // Bytes are those of the floating-point twin (same operands).
        let t = find(twin).unwrap().cost(shape);
        assert_eq!(
            (c.dram_bytes, c.sram_bytes),
            (t.dram_bytes, t.sram_bytes),
            "{name}"
        );
        assert_eq!(c.macs, macs);
    }
}
