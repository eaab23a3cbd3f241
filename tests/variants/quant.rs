//! Matmul variants: every emulation against an independent, slow model of
//! the same hardware written here (its own quantizer and its own loops), the
//! registry's naming rules, determinism, accuracy ordering and hand-counted
//! costs.

use crate::common::{assert_bits_eq, variant};
use bitsim::formats::parse::{E2M1, E4M3, E5M2};
use bitsim::formats::{mx, parse, ConvertOptions, Format, MiniFloat};
use bitsim::hw::cost::OpKind;
use bitsim::metrics;
use bitsim::variants::{self, MatmulVariant, Shape};
use bitsim::workload::Matrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

// ---------------------------------------------------------------------------
// Helpers: data, variant lookup, bit comparison.

fn gaussian(rows: usize, cols: usize, seed: u64) -> Matrix {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let data = (0..rows * cols)
        .map(|_| rng.sample::<f32, _>(StandardNormal))
        .collect();
    Matrix::new(rows, cols, data)
}

/// A, W with awkward sizes: m not a multiple of the 8-row task, n not a
/// multiple of the 16 lanes, k not a multiple of 128 (short last group).
fn operands(seed: u64) -> (Matrix, Matrix) {
    (gaussian(11, 300, seed), gaussian(37, 300, seed + 1))
}

// ---------------------------------------------------------------------------
// Independent quantizers (written from the definitions, not the format layer's
// code paths): absmax symmetric integers, absmean, minifloat elements.

/// Symmetric absmax integer quantization of one group: scale = absmax / qmax
/// as an f32 division (correctly rounded), codes = round-half-even(x / scale)
/// clamped to ±qmax. The f64 quotient of two f32 values never lands on a .5
/// tie it does not equal, so rounding it is rounding the exact quotient.
fn absmax_int(xs: &[f32], qmax: i64) -> (Vec<i64>, f32) {
    let amax = xs.iter().fold(0f32, |m, x| m.max(x.abs()));
    let s = amax / qmax as f32;
    if s == 0.0 {
        return (vec![0; xs.len()], s);
    }
    let codes = xs
        .iter()
        .map(|&x| ((x as f64 / s as f64).round_ties_even() as i64).clamp(-qmax, qmax))
        .collect();
    (codes, s)
}

/// Rows of `m` quantized per row (`g = k`) or in groups of `g` along the row.
/// Returns codes (row-major) and scales (row-major by group).
fn absmax_int_groups(m: &Matrix, qmax: i64, g: usize) -> (Vec<i64>, Vec<f32>) {
    let (mut codes, mut scales) = (vec![], vec![]);
    for r in 0..m.rows {
        for grp in m.row(r).chunks(g) {
            let (c, s) = absmax_int(grp, qmax);
            codes.extend(c);
            scales.push(s);
        }
    }
    (codes, scales)
}

/// Minifloat absmax quantization of one group: scale = amax / max (f32),
/// element values = RNE(x / scale) in the format (values returned as f32).
fn absmax_float(xs: &[f32], f: &MiniFloat) -> (Vec<f32>, f32) {
    let amax = xs.iter().fold(0f32, |m, x| m.max(x.abs()));
    let s = amax / f.max_value() as f32;
    if s == 0.0 {
        return (vec![0.0; xs.len()], s);
    }
    let o = ConvertOptions::default();
    let vals = xs
        .iter()
        .map(|&x| f.decode_f32(f.encode(x as f64 / s as f64, &o, 0).unwrap()))
        .collect();
    (vals, s)
}

fn absmax_float_groups(m: &Matrix, f: &MiniFloat, g: usize) -> (Vec<f32>, Vec<f32>) {
    let (mut vals, mut scales) = (vec![], vec![]);
    for r in 0..m.rows {
        for grp in m.row(r).chunks(g) {
            let (v, s) = absmax_float(grp, f);
            vals.extend(v);
            scales.push(s);
        }
    }
    (vals, scales)
}

/// mean|x| in f64 (plain sum), rounded to f32.
fn absmean(xs: &[f32]) -> f32 {
    (xs.iter().map(|x| x.abs() as f64).sum::<f64>() / xs.len() as f64) as f32
}

// ---------------------------------------------------------------------------
// Registry shape.

#[test]
fn names_are_unique_and_well_formed() {
    let reg = variants::registry();
    let mut names: Vec<&str> = reg.iter().map(|v| v.name()).collect();
    for n in &names {
        let rest = n
            .strip_prefix("matmul/")
            .unwrap_or_else(|| panic!("{n}: no matmul/ prefix"));
        assert!(
            !rest.is_empty()
                && rest.chars().all(|c| c.is_ascii_lowercase()
                    || c.is_ascii_digit()
                    || c == '.'
                    || c == '-'
                    || c == '_'),
            // `_` for the names users know from ggml (`matmul/q8_0`).
            "{n} does not match matmul/[a-z0-9._-]+"
        );
    }
    let count = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), count, "duplicate variant names");
    for required in [
        "matmul/f64",
        "matmul/f32",
        "matmul/bf16",
        "matmul/fp16",
        "matmul/w8a8-int",
        "matmul/w4a8-int",
        "matmul/w2a8-int",
        "matmul/w1.58a8-ternary",
        "matmul/w1a8-binary",
        "matmul/w1a1-binary",
        "matmul/fp8-e4m3",
        "matmul/fp8-e5m2",
        "matmul/fp6-e2m3",
        "matmul/fp6-e3m2",
        "matmul/fp4-e2m1",
        "matmul/mxfp8",
        "matmul/mxfp6",
        "matmul/mxfp4",
        "matmul/mxint8",
        "matmul/nvfp4",
        "matmul/w4a16",
        "matmul/wfp4-abf16",
    ] {
        assert!(names.contains(&required), "{required} missing");
    }
}

#[test]
fn entries_are_valid_and_self_describing() {
    for v in variants::registry::all() {
        v.validate().unwrap();
        assert!(
            !v.description.is_empty() && !v.description.contains('\n'),
            "{}",
            v.name
        );
        for e in v.info().format_names() {
            assert!(
                matches!(parse(&e), Ok(Format::Element(_))),
                "{}: '{e}' is not an element format",
                v.name
            );
        }
        let info = v.info();
        assert!(
            !info.weight_desc.is_empty()
                && !info.act_desc.is_empty()
                && !info.accumulator.is_empty()
        );
    }
    assert!(variant("matmul/f64").info().format_names().is_empty());
    assert_eq!(
        variant("matmul/w4a8-int").info().format_names(),
        ["int4", "int8"]
    );
    assert_eq!(
        variant("matmul/w1.58a8-ternary").info().format_names(),
        ["ternary", "int8"]
    );
    assert_eq!(variant("matmul/mxfp4").info().format_names(), ["e2m1"]);
    assert_eq!(
        variant("matmul/wfp4-abf16").info().format_names(),
        ["e2m1", "bf16"]
    );
}

#[test]
fn bits_per_weight_by_hand() {
    let cases: &[(&str, usize, f64)] = &[
        ("matmul/f64", 4096, 64.0),
        ("matmul/f32", 4096, 32.0),
        ("matmul/bf16", 4096, 16.0),
        ("matmul/w8a8-int", 4096, 8.0 + 32.0 / 4096.0),
        ("matmul/w4a8-int", 4096, 4.25),
        ("matmul/w4a8-int", 200, 4.0 + 64.0 / 200.0), // two groups (128 + 72)
        ("matmul/w2a8-int", 4096, 2.25),
        ("matmul/w1.58a8-ternary", 4096, 2.0),
        ("matmul/w1a8-binary", 64, 1.5),
        ("matmul/fp8-e4m3", 4096, 8.0),
        ("matmul/fp6-e3m2", 4096, 6.0),
        ("matmul/fp4-e2m1", 4096, 5.0),
        ("matmul/mxfp8", 4096, 8.25),
        ("matmul/mxfp6", 4096, 6.25),
        ("matmul/mxfp4", 4096, 4.25),
        ("matmul/mxint8", 4096, 8.25),
        ("matmul/nvfp4", 4096, 4.5),
        ("matmul/w4a16", 4096, 4.25),
        ("matmul/wfp4-abf16", 4096, 5.0),
    ];
    for &(name, k, want) in cases {
        assert_eq!(variant(name).bits_per_weight(k), want, "{name} k={k}");
    }
}

// ---------------------------------------------------------------------------
// Float references.

#[test]
fn f64_is_a_naive_triple_loop() {
    let (a, w) = operands(1);
    let mut want = vec![];
    for i in 0..a.rows {
        for j in 0..w.rows {
            let mut s = 0f64;
            for k in 0..a.cols {
                s += a.row(i)[k] as f64 * w.row(j)[k] as f64;
            }
            want.push(s);
        }
    }
    assert_bits_eq("f64", &variant("matmul/f64").emulate(&a, &w, 0), &want);
}

/// Scalar f32 (or bf16/fp16-rounded) loop: products in f32, sequential f32 sum.
fn scalar_f32(a: &Matrix, w: &Matrix, round: impl Fn(f32) -> f32) -> Vec<f64> {
    let mut out = vec![];
    for i in 0..a.rows {
        for j in 0..w.rows {
            let mut s = 0f32;
            for k in 0..a.cols {
                s += round(a.row(i)[k]) * round(w.row(j)[k]);
            }
            out.push(s as f64);
        }
    }
    out
}

#[test]
fn f32_bf16_fp16_match_scalar_loops() {
    let (a, w) = operands(2);
    assert_bits_eq(
        "f32",
        &variant("matmul/f32").emulate(&a, &w, 0),
        &scalar_f32(&a, &w, |x| x),
    );
    let bf = |x: f32| half::bf16::from_f32(x).to_f32();
    assert_bits_eq(
        "bf16",
        &variant("matmul/bf16").emulate(&a, &w, 0),
        &scalar_f32(&a, &w, bf),
    );
    let hf = |x: f32| half::f16::from_f32(x).to_f32();
    assert_bits_eq(
        "fp16",
        &variant("matmul/fp16").emulate(&a, &w, 0),
        &scalar_f32(&a, &w, hf),
    );
}

#[test]
fn bf16_rounding_is_visible() {
    // 1 + 2^-8 is a bf16 tie: RNE gives 1; the f32 variant keeps it.
    let a = Matrix::new(1, 2, vec![1.0 + 1.0 / 256.0, 1.0]);
    let w = Matrix::new(1, 2, vec![1.0, 2f32.powi(-10)]);
    assert_eq!(
        variant("matmul/bf16").emulate(&a, &w, 0),
        [1.0 + 2f64.powi(-10)]
    );
    assert_eq!(
        variant("matmul/f32").emulate(&a, &w, 0),
        [1.0 + 2f64.powi(-8) + 2f64.powi(-10)]
    );
}

// ---------------------------------------------------------------------------
// Integer variants.

/// i64 dot product of code rows.
fn dot_i64(a: &[i64], b: &[i64]) -> i64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn w8a8_is_an_i64_matmul_of_codes_then_f32_scales() {
    let (a, w) = operands(3);
    let k = a.cols;
    let (ca, sa) = absmax_int_groups(&a, 127, k);
    let (cw, sw) = absmax_int_groups(&w, 127, k);
    let mut want = vec![];
    for i in 0..a.rows {
        for j in 0..w.rows {
            let acc = dot_i64(&ca[i * k..(i + 1) * k], &cw[j * k..(j + 1) * k]);
            want.push(((acc as f32 * sa[i]) * sw[j]) as f64);
        }
    }
    assert_bits_eq(
        "w8a8",
        &variant("matmul/w8a8-int").emulate(&a, &w, 0),
        &want,
    );
}

/// Per-element slow loop for the grouped integer-weight variants.
fn grouped_int(a: &Matrix, w: &Matrix, wmax: i64) -> Vec<f64> {
    let k = a.cols;
    let (ca, sa) = absmax_int_groups(a, 127, k);
    let (cw, sw) = absmax_int_groups(w, wmax, 128);
    let groups = k.div_ceil(128);
    let mut out = vec![];
    for i in 0..a.rows {
        for j in 0..w.rows {
            let mut acc = 0f32;
            for g in 0..groups {
                let mut p = 0i64;
                for kk in g * 128..((g + 1) * 128).min(k) {
                    p += ca[i * k + kk] * cw[j * k + kk];
                }
                acc += p as f32 * sw[j * groups + g];
            }
            out.push((acc * sa[i]) as f64);
        }
    }
    out
}

#[test]
fn w4a8_and_w2a8_match_a_per_element_group_loop() {
    let (a, w) = operands(4);
    assert_bits_eq(
        "w4a8",
        &variant("matmul/w4a8-int").emulate(&a, &w, 0),
        &grouped_int(&a, &w, 7),
    );
    assert_bits_eq(
        "w2a8",
        &variant("matmul/w2a8-int").emulate(&a, &w, 0),
        &grouped_int(&a, &w, 1),
    );
}

#[test]
fn ternary_is_bitnet_absmean() {
    let (a, w) = operands(5);
    let k = a.cols;
    let gamma = absmean(&w.data);
    let cw: Vec<i64> = w
        .data
        .iter()
        .map(|&x| ((x as f64 / gamma as f64).round_ties_even() as i64).clamp(-1, 1))
        .collect();
    assert!(cw.contains(&0) && cw.contains(&1) && cw.contains(&-1));
    let (ca, sa) = absmax_int_groups(&a, 127, k);
    let mut want = vec![];
    for i in 0..a.rows {
        for j in 0..w.rows {
            let acc = dot_i64(&ca[i * k..(i + 1) * k], &cw[j * k..(j + 1) * k]);
            want.push(((acc as f32 * sa[i]) * gamma) as f64);
        }
    }
    assert_bits_eq(
        "ternary",
        &variant("matmul/w1.58a8-ternary").emulate(&a, &w, 0),
        &want,
    );
}

/// Sign bits of a row packed 64 per word (bit set = negative).
fn sign_words(xs: &[f32]) -> Vec<u64> {
    xs.chunks(64)
        .map(|c| {
            c.iter()
                .enumerate()
                .fold(0u64, |wd, (b, x)| wd | (((*x < 0.0) as u64) << b))
        })
        .collect()
}

#[test]
fn binary_variants_match_popcount_dots() {
    let (a, w) = operands(6);
    let k = a.cols;
    let alpha: Vec<f32> = (0..w.rows).map(|j| absmean(w.row(j))).collect();
    let beta: Vec<f32> = (0..a.rows).map(|i| absmean(a.row(i))).collect();
    let (ca, sa) = absmax_int_groups(&a, 127, k);
    let (mut w1a8, mut w1a1) = (vec![], vec![]);
    for i in 0..a.rows {
        let sa_bits = sign_words(a.row(i));
        for (j, &alpha_j) in alpha.iter().enumerate() {
            // W1A8: Σ_{w ≥ 0} a − Σ_{w < 0} a.
            let d: i64 = (0..k)
                .map(|kk| {
                    if w.row(j)[kk] < 0.0 {
                        -ca[i * k + kk]
                    } else {
                        ca[i * k + kk]
                    }
                })
                .sum();
            w1a8.push(((d as f32 * sa[i]) * alpha_j) as f64);
            // W1A1: K − 2 · popcount(sign(a) xor sign(w)).
            let x: u32 = sa_bits
                .iter()
                .zip(sign_words(w.row(j)))
                .map(|(p, q)| (p ^ q).count_ones())
                .sum();
            let d = k as i64 - 2 * x as i64;
            w1a1.push(((d as f32 * beta[i]) * alpha_j) as f64);
        }
    }
    assert_bits_eq(
        "w1a8",
        &variant("matmul/w1a8-binary").emulate(&a, &w, 0),
        &w1a8,
    );
    assert_bits_eq(
        "w1a1",
        &variant("matmul/w1a1-binary").emulate(&a, &w, 0),
        &w1a1,
    );
}

// ---------------------------------------------------------------------------
// Float-element variants.

#[test]
fn fp8_products_are_exact_and_accumulate_in_f32() {
    for (name, f) in [("matmul/fp8-e4m3", E4M3), ("matmul/fp8-e5m2", E5M2)] {
        let (a, w) = operands(7);
        let k = a.cols;
        let (va, sa) = absmax_float(&a.data, &f);
        let (vw, sw) = absmax_float(&w.data, &f);
        let mut want = vec![];
        for i in 0..a.rows {
            for j in 0..w.rows {
                let mut acc = 0f32;
                for kk in 0..k {
                    let (x, y) = (va[i * k + kk], vw[j * k + kk]);
                    let p = x * y;
                    assert_eq!(p as f64, x as f64 * y as f64, "{name}: product not exact");
                    acc += p;
                }
                want.push(((acc * sa) * sw) as f64);
            }
        }
        assert_bits_eq(name, &variant(name).emulate(&a, &w, 0), &want);
    }
}

/// Group-scaled float elements on both sides: per group f32 dot, × sa × sw.
fn grouped_float(a: &Matrix, w: &Matrix, f: &MiniFloat, g: usize) -> Vec<f64> {
    let k = a.cols;
    let groups = k.div_ceil(g);
    let (va, sa) = absmax_float_groups(a, f, g);
    let (vw, sw) = absmax_float_groups(w, f, g);
    let mut out = vec![];
    for i in 0..a.rows {
        for j in 0..w.rows {
            let mut acc = 0f32;
            for gi in 0..groups {
                let mut d = 0f32;
                for kk in gi * g..((gi + 1) * g).min(k) {
                    d += va[i * k + kk] * vw[j * k + kk];
                }
                acc += (d * sa[i * groups + gi]) * sw[j * groups + gi];
            }
            out.push(acc as f64);
        }
    }
    out
}

#[test]
fn fp4_and_per_tensor_fp6_match_slow_loops() {
    let (a, w) = operands(8);
    assert_bits_eq(
        "fp4",
        &variant("matmul/fp4-e2m1").emulate(&a, &w, 0),
        &grouped_float(&a, &w, &E2M1, 32),
    );
    // Per tensor = one group spanning the tensor's rows: reuse the loop with
    // g = k and one scale for every row.
    for (name, fname) in [("matmul/fp6-e2m3", "e2m3"), ("matmul/fp6-e3m2", "e3m2")] {
        let Ok(Format::Element(bitsim::formats::ElementFormat::Float(f))) = parse(fname) else {
            panic!()
        };
        let k = a.cols;
        let (va, sa) = absmax_float(&a.data, &f);
        let (vw, sw) = absmax_float(&w.data, &f);
        let mut want = vec![];
        for i in 0..a.rows {
            for j in 0..w.rows {
                let mut acc = 0f32;
                for kk in 0..k {
                    acc += va[i * k + kk] * vw[j * k + kk];
                }
                want.push(((acc * sa) * sw) as f64);
            }
        }
        assert_bits_eq(name, &variant(name).emulate(&a, &w, 0), &want);
    }
}

/// MX: dequantize both operands (exact: power-of-two scales), then per
/// 32-block an f32 dot of the dequantized values, accumulated in f32. With
/// power-of-two scales and no under/overflow this equals the hardware's
/// (element dot · 2^Xa) · 2^Xw.
#[test]
fn mx_equals_dequantize_then_multiply() {
    let (a, w) = operands(9);
    let k = a.cols;
    let o = ConvertOptions::default();
    for name in ["mxfp8", "mxfp6", "mxfp4", "mxint8"] {
        let Ok(Format::Block(b)) = parse(name) else {
            panic!()
        };
        let da = mx::quantize(&b, &o, &a.data, k).unwrap().dequantize();
        let dw = mx::quantize(&b, &o, &w.data, k).unwrap().dequantize();
        let mut want = vec![];
        for i in 0..a.rows {
            for j in 0..w.rows {
                let mut acc = 0f32;
                for blk in (0..k).step_by(32) {
                    let mut d = 0f32;
                    for kk in blk..(blk + 32).min(k) {
                        d += da[i * k + kk] * dw[j * k + kk];
                    }
                    acc += d;
                }
                want.push(acc as f64);
            }
        }
        let full = format!("matmul/{name}");
        assert_bits_eq(&full, &variant(&full).emulate(&a, &w, 0), &want);
    }
}

#[test]
fn nvfp4_scales_per_block_then_tensor_scales() {
    let (a, w) = operands(10);
    let k = a.cols;
    let Ok(Format::Block(b)) = parse("nvfp4") else {
        panic!()
    };
    let o = ConvertOptions::default();
    let ta = mx::quantize(&b, &o, &a.data, k).unwrap();
    let tw = mx::quantize(&b, &o, &w.data, k).unwrap();
    let nb = k.div_ceil(16);
    let e = |c: u8| E2M1.decode_f32(c as u32);
    let s = |c: u8| E4M3.decode_f32(c as u32);
    let mut want = vec![];
    for i in 0..a.rows {
        for j in 0..w.rows {
            let mut acc = 0f32;
            for bi in 0..nb {
                let mut d = 0f32;
                for kk in bi * 16..((bi + 1) * 16).min(k) {
                    d += e(ta.codes[i * k + kk]) * e(tw.codes[j * k + kk]);
                }
                acc += (d * s(ta.scales[i * nb + bi])) * s(tw.scales[j * nb + bi]);
            }
            want.push(((acc * ta.tensor_scale.unwrap()) * tw.tensor_scale.unwrap()) as f64);
        }
    }
    assert_bits_eq("nvfp4", &variant("matmul/nvfp4").emulate(&a, &w, 0), &want);
}

#[test]
fn weight_only_variants_match_bf16_group_loops() {
    let (a, w) = operands(11);
    let k = a.cols;
    let ab: Vec<f32> = a
        .data
        .iter()
        .map(|&x| half::bf16::from_f32(x).to_f32())
        .collect();
    // (weights as exact f32 values, group scales, group size)
    let (ci, si) = absmax_int_groups(&w, 7, 128);
    let int4 = (ci.iter().map(|&c| c as f32).collect::<Vec<_>>(), si, 128);
    let fp4 = {
        let (v, s) = absmax_float_groups(&w, &E2M1, 32);
        (v, s, 32)
    };
    for (name, (vw, sw, g)) in [("matmul/w4a16", int4), ("matmul/wfp4-abf16", fp4)] {
        let groups = k.div_ceil(g);
        let mut want = vec![];
        for i in 0..a.rows {
            for j in 0..w.rows {
                let mut acc = 0f32;
                for gi in 0..groups {
                    let mut d = 0f32;
                    for kk in gi * g..((gi + 1) * g).min(k) {
                        d += ab[i * k + kk] * vw[j * k + kk];
                    }
                    acc += d * sw[j * groups + gi];
                }
                want.push(acc as f64);
            }
        }
        assert_bits_eq(name, &variant(name).emulate(&a, &w, 0), &want);
    }
}

// ---------------------------------------------------------------------------
// Whole-registry properties.

#[test]
fn deterministic_and_thread_count_independent() {
    let (a, w) = operands(12);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let three = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    for v in variants::registry() {
        let x = one.install(|| v.emulate(&a, &w, 7));
        let y = three.install(|| v.emulate(&a, &w, 7));
        assert_bits_eq(v.name(), &x, &y);
        assert!(x.iter().all(|x| x.is_finite()), "{}", v.name());
    }
}

#[test]
fn zero_inputs_and_empty_shapes() {
    let w = gaussian(20, 70, 13);
    for v in variants::registry() {
        let out = v.emulate(&Matrix::zeros(3, 70), &w, 0);
        assert!(out.iter().all(|&x| x == 0.0), "{}: zero A", v.name());
        assert!(
            v.emulate(&Matrix::zeros(0, 70), &w, 0).is_empty(),
            "{}",
            v.name()
        );
        let e = v.emulate(&Matrix::zeros(2, 0), &Matrix::zeros(3, 0), 0);
        assert_eq!(e, [0.0; 6], "{}: k = 0", v.name());
    }
}

fn sqnr(name: &str, a: &Matrix, w: &Matrix, reference: &[f64]) -> f64 {
    metrics::accuracy(reference, &variant(name).emulate(a, w, 0)).sqnr_db
}

/// Orderings that follow from the quantizers, with margins far above the
/// sampling noise at this size (each step is several dB).
#[test]
fn accuracy_ordering_on_gaussian_data() {
    let a = gaussian(16, 512, 20);
    let w = gaussian(64, 512, 21);
    let r = variant("matmul/f64").emulate(&a, &w, 0);
    // Each step must win by `gap` dB.
    let chain_gap = |names: &[&str], gap: f64| {
        let s: Vec<f64> = names.iter().map(|n| sqnr(n, &a, &w, &r)).collect();
        for i in 1..s.len() {
            assert!(s[i - 1] > s[i] + gap, "{names:?}: {s:?}");
        }
    };
    let chain = |names: &[&str]| chain_gap(names, 3.0);
    chain(&[
        "matmul/f32",
        "matmul/fp16",
        "matmul/bf16",
        "matmul/fp8-e4m3",
        "matmul/fp8-e5m2",
    ]);
    chain(&["matmul/w8a8-int", "matmul/w4a8-int", "matmul/w2a8-int"]);
    // MXFP8 (E4M3) and MXFP6 (E2M3) both carry 3 mantissa bits and a block
    // of 32 Gaussian values needs little exponent range, so they tie (measured
    // within 1 dB): only their order against MXINT8 and MXFP4 is a property.
    chain(&["matmul/mxint8", "matmul/mxfp8", "matmul/mxfp4"]);
    chain(&["matmul/mxint8", "matmul/mxfp6", "matmul/mxfp4"]);
    // Binary weights with the mean-|w| scale have weight SQNR −10·log10(1 − 2/π)
    // = 4.4 dB on Gaussian data; BitNet's absmean ternary about 6 dB (measured
    // 6.0 vs 4.8 dB at the output here); binarizing A as well costs ~2.5 dB more.
    chain(&["matmul/w4a16", "matmul/w1.58a8-ternary"]);
    chain_gap(
        &[
            "matmul/w1.58a8-ternary",
            "matmul/w1a8-binary",
            "matmul/w1a1-binary",
        ],
        1.0,
    );
    // Weight error follows the same order as the weight bit width.
    let werr = |n: &str| metrics::weight_error(&w.data, &variant(n).quantize_weights(&w).data).1;
    assert!(werr("matmul/w8a8-int") > werr("matmul/w4a8-int") + 3.0);
    assert!(werr("matmul/w4a8-int") > werr("matmul/w2a8-int") + 3.0);
    assert_eq!(werr("matmul/f32"), f64::INFINITY);
}

#[test]
fn quantize_weights_is_codes_times_scales() {
    let w = gaussian(5, 300, 30);
    let (c, s) = absmax_int_groups(&w, 7, 128);
    let want: Vec<f32> = c
        .iter()
        .enumerate()
        .map(|(i, &c)| (c as f64 * s[(i / 300) * 3 + (i % 300) / 128] as f64) as f32)
        .collect();
    assert_eq!(variant("matmul/w4a8-int").quantize_weights(&w).data, want);
    let bf: Vec<f32> = w
        .data
        .iter()
        .map(|&x| half::bf16::from_f32(x).to_f32())
        .collect();
    assert_eq!(variant("matmul/bf16").quantize_weights(&w).data, bf);
}

// ---------------------------------------------------------------------------
// Costs by hand.

fn ops(v: &dyn MatmulVariant, shape: Shape) -> std::collections::BTreeMap<OpKind, f64> {
    v.cost(shape).ops.into_iter().collect()
}

#[test]
fn cost_counts_by_hand() {
    // m = 40, k = 200, n = 20: 160 000 MACs, 800 outputs, 2 groups of 128 (128 + 72).
    let shape = Shape {
        m: 40,
        k: 200,
        n: 20,
    };
    let (macs, outs) = (160_000.0, 800.0);

    // W8A8: per MAC int8×int8 and an int32 add; per output two f32 multiplies.
    let v = variant("matmul/w8a8-int");
    let c = v.cost(shape);
    assert_eq!(c.macs, macs);
    let want: std::collections::BTreeMap<_, _> = [
        (OpKind::IntMul { a: 8, b: 8 }, macs),
        (OpKind::IntAdd { bits: 32 }, macs),
        (OpKind::F32_MUL, 2.0 * outs),
    ]
    .into();
    assert_eq!(ops(v.as_ref(), shape), want);
    // Bytes: W 20·200·(8 + 32/200)/8 = 4080, A 40·200·(8 + 32/200)/8 = 8160,
    // out 40·20·4 = 3200. DRAM = 15440. SRAM: A × ⌈20/16⌉ = 2, W × ⌈40/16⌉ = 3,
    // plus the output: 16320 + 12240 + 3200 = 31760.
    assert_eq!(c.dram_bytes, 15_440.0);
    assert_eq!(c.sram_bytes, 31_760.0);

    // W4A8: per group and output one f32 scale multiply and one f32 add
    // (2 · 800 each), per output one activation-scale multiply (800).
    let want: std::collections::BTreeMap<_, _> = [
        (OpKind::IntMul { a: 4, b: 8 }, macs),
        (OpKind::IntAdd { bits: 32 }, macs),
        (OpKind::F32_MUL, 1600.0 + 800.0),
        (OpKind::F32_ADD, 1600.0),
    ]
    .into();
    assert_eq!(ops(variant("matmul/w4a8-int").as_ref(), shape), want);
    // W bytes 20·200·(4 + 64/200)/8 = 2160.
    assert_eq!(
        variant("matmul/w4a8-int").cost(shape).dram_bytes,
        2160.0 + 8160.0 + 3200.0
    );

    // Ternary: sign selects counted as 8-bit adds.
    let want: std::collections::BTreeMap<_, _> = [
        (OpKind::IntAdd { bits: 8 }, macs),
        (OpKind::IntAdd { bits: 32 }, macs),
        (OpKind::F32_MUL, 2.0 * outs),
    ]
    .into();
    assert_eq!(ops(variant("matmul/w1.58a8-ternary").as_ref(), shape), want);

    // MXFP4: 7 blocks of 32 along k = 200; per block and output two E8M0
    // exponent adds (8-bit) and one f32 add; no outer scales.
    let want: std::collections::BTreeMap<_, _> = [
        (OpKind::FpMul { ebits: 2, mbits: 1 }, macs),
        (OpKind::F32_ADD, macs + 7.0 * outs),
        (OpKind::IntAdd { bits: 8 }, 2.0 * 7.0 * outs),
    ]
    .into();
    let c = variant("matmul/mxfp4").cost(shape);
    assert_eq!(
        c.ops
            .iter()
            .copied()
            .collect::<std::collections::BTreeMap<_, _>>(),
        want
    );
    // MXFP4 bytes per element 4 + 8·7/200 = 4.28: W 20·200·4.28/8 = 2140, A 4280.
    assert_eq!(c.dram_bytes, 2140.0 + 4280.0 + 3200.0);

    // f64 reference: f64 ops and f64 outputs (40·20·8 = 6400 bytes).
    let c = variant("matmul/f64").cost(shape);
    let want: std::collections::BTreeMap<_, _> =
        [(OpKind::F64_MUL, macs), (OpKind::F64_ADD, macs)].into();
    assert_eq!(
        c.ops
            .iter()
            .copied()
            .collect::<std::collections::BTreeMap<_, _>>(),
        want
    );
    assert_eq!(
        c.dram_bytes,
        20.0 * 200.0 * 8.0 + 40.0 * 200.0 * 8.0 + 6400.0
    );
}
