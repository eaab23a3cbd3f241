//! The accumulator matmul variants against slow models written here (own
//! quantizers, own accumulation loops, the `half` crate for fp16), their
//! costs by hand, and the accumulator study and its report section.

use crate::common::{assert_bits_eq, variant};
use crate::seeded;

use bitsim::formats::parse::E4M3;
use bitsim::formats::{ConvertOptions, MiniFloat, Rounding};
use bitsim::hw::cost::OpKind;
use bitsim::hw::energy::EnergyTable;
use bitsim::suite::studies::accum::{run, AccumParams, AccumStudy};
use bitsim::suite::studies::StudyContext;
use bitsim::variants::{self, MatmulVariant, Shape};
use bitsim::workload::Matrix;
use seeded::Rng;

fn gaussian(rows: usize, cols: usize, seed: u64) -> Matrix {
    let mut rng = Rng(seed);
    Matrix::new(
        rows,
        cols,
        (0..rows * cols).map(|_| rng.gauss() as f32).collect(),
    )
}

/// Awkward sizes: m not a multiple of 8, n not of 16, k not of 128.
fn operands(seed: u64) -> (Matrix, Matrix) {
    (gaussian(11, 300, seed), gaussian(37, 300, seed + 1))
}

fn e8m13() -> MiniFloat {
    match bitsim::formats::parse::parse_element("e8m13").unwrap() {
        bitsim::formats::ElementFormat::Float(f) => f,
        _ => unreachable!(),
    }
}

/// `a + b` in f64, asserting it is exact.
fn exact_add(a: f64, b: f64) -> f64 {
    let s = a + b;
    let bb = s - a;
    assert_eq!(
        (a - (s - bb)) + (b - bb),
        0.0,
        "{a:e} + {b:e} is not exact in f64"
    );
    s
}

/// Per-tensor absmax minifloat quantization: scale = amax / max (f32),
/// elements RNE(x / scale).
fn absmax_float(xs: &[f32], f: &MiniFloat) -> (Vec<f64>, f32) {
    let amax = xs.iter().fold(0f32, |m, x| m.max(x.abs()));
    let s = amax / f.max_value() as f32;
    let o = ConvertOptions::default();
    let vals = xs
        .iter()
        .map(|&x| f.decode(f.encode(x as f64 / s as f64, &o, 0).unwrap()))
        .collect();
    (vals, s)
}

/// Per-row absmax int8: scale = amax / 127 (f32), codes RNE(x / scale) clamped.
fn absmax_int8_rows(m: &Matrix) -> (Vec<i64>, Vec<f32>) {
    let (mut codes, mut scales) = (vec![], vec![]);
    for r in 0..m.rows {
        let row = m.row(r);
        let amax = row.iter().fold(0f32, |a, x| a.max(x.abs()));
        let s = amax / 127.0;
        codes.extend(
            row.iter()
                .map(|&x| ((x as f64 / s as f64).round_ties_even() as i64).clamp(-127, 127)),
        );
        scales.push(s);
    }
    (codes, scales)
}

/// FP8 E4M3 per-tensor slow matmul with a given dot-product model.
fn fp8_slow(a: &Matrix, w: &Matrix, dot: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let k = a.cols;
    let (va, sa) = absmax_float(&a.data, &E4M3);
    let (vw, sw) = absmax_float(&w.data, &E4M3);
    let mut out = vec![];
    for i in 0..a.rows {
        for j in 0..w.rows {
            let ps: Vec<f64> = (0..k).map(|kk| va[i * k + kk] * vw[j * k + kk]).collect();
            out.push((((dot(&ps) as f32) * sa) * sw) as f64);
        }
    }
    out
}

/// e8m13 register, truncating adds, exact f64 sums (asserted).
fn e8m13_rtz_seq(ps: &[f64]) -> f64 {
    let f = e8m13();
    let o = ConvertOptions::with_rounding(Rounding::Rtz);
    ps.iter().fold(0.0, |acc, &p| {
        f.decode(f.encode(exact_add(acc, p), &o, 0).unwrap())
    })
}

#[test]
fn fp8_truncated_and_chunked_accumulators_match_slow_loops() {
    for seed in [1, 2, 3] {
        let (a, w) = operands(seed);
        let want = fp8_slow(&a, &w, e8m13_rtz_seq);
        assert_bits_eq(
            "acc-e8m13",
            &variant("matmul/fp8-e4m3-acc-e8m13").emulate(&a, &w, 0),
            &want,
        );
        let want = fp8_slow(&a, &w, |ps| {
            ps.chunks(128)
                .fold(0f32, |acc, c| acc + e8m13_rtz_seq(c) as f32) as f64
        });
        assert_bits_eq(
            "chunk128",
            &variant("matmul/fp8-e4m3-chunk128").emulate(&a, &w, 0),
            &want,
        );
    }
}

#[test]
fn fp8_exact_is_the_exact_sum_rounded_once_to_f32() {
    for seed in [4, 5] {
        let (a, w) = operands(seed);
        // E4M3 products are multiples of 2^-18 below 2^18: 300 of them sum exactly in f64.
        let want = fp8_slow(&a, &w, |ps| {
            ps.iter().fold(0.0, |s, &p| exact_add(s, p)) as f32 as f64
        });
        assert_bits_eq(
            "exact",
            &variant("matmul/fp8-e4m3-exact").emulate(&a, &w, 0),
            &want,
        );
    }
}

/// RNE to fp16 from the definition: scale to an integer significand
/// (11 bits, or the subnormal grid 2^-24), round half to even, overflow to inf.
/// (`half::f16::from_f64` goes through f32 on some builds: a double rounding.)
fn fp16_rne(x: f64) -> f64 {
    if x == 0.0 {
        return x;
    }
    let e = x.abs().log2().floor() as i32;
    // Guard against log2 rounding at binade edges.
    let e = if 2f64.powi(e) > x.abs() {
        e - 1
    } else if 2f64.powi(e + 1) <= x.abs() {
        e + 1
    } else {
        e
    };
    let q = e.max(-14) - 10;
    let r = (x / 2f64.powi(q)).round_ties_even() * 2f64.powi(q);
    if r.abs() > 65504.0 {
        f64::INFINITY.copysign(x)
    } else {
        r
    }
}

#[test]
fn fp16_accumulator_matches_a_definition_loop() {
    let (a, w) = operands(6);
    let k = a.cols;
    let h = |x: f32| half::f16::from_f32(x).to_f64();
    let mut want = vec![];
    for i in 0..a.rows {
        for j in 0..w.rows {
            let mut acc = 0.0;
            for kk in 0..k {
                let p = h(a.data[i * k + kk]) * h(w.data[j * k + kk]);
                acc = fp16_rne(exact_add(acc, p));
            }
            want.push(acc);
        }
    }
    let got = variant("matmul/fp16-acc-fp16").emulate(&a, &w, 0);
    assert_bits_eq("fp16-acc-fp16", &got, &want);
    // An fp16 register saturates to inf where an f32 one does not.
    let big = Matrix::new(1, 4, vec![256.0; 4]);
    assert_eq!(
        variant("matmul/fp16-acc-fp16").emulate(&big, &big, 0),
        [f64::INFINITY]
    );
    assert_eq!(variant("matmul/fp16").emulate(&big, &big, 0), [262144.0]);
}

#[test]
fn int16_saturating_matches_a_clamping_loop() {
    for seed in [7, 8] {
        let (a, w) = operands(seed);
        let k = a.cols;
        let (ca, sa) = absmax_int8_rows(&a);
        let (cw, sw) = absmax_int8_rows(&w);
        let mut want = vec![];
        let mut saturated = 0;
        for i in 0..a.rows {
            for j in 0..w.rows {
                let mut acc = 0i64;
                for kk in 0..k {
                    let s = acc + ca[i * k + kk] * cw[j * k + kk];
                    saturated += (s != s.clamp(-32768, 32767)) as usize;
                    acc = s.clamp(-32768, 32767);
                }
                want.push((((acc as f32) * sa[i]) * sw[j]) as f64);
            }
        }
        assert!(saturated > 0, "the data should make int16 saturate");
        assert_bits_eq(
            "int16-sat",
            &variant("matmul/w8a8-int16-sat").emulate(&a, &w, 0),
            &want,
        );
    }
}

#[test]
fn registered_and_self_describing() {
    let names: Vec<String> = variants::accum::all()
        .iter()
        .map(|v| v.name().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "matmul/fp8-e4m3-acc-e8m13",
            "matmul/fp8-e4m3-chunk128",
            "matmul/fp16-acc-fp16",
            "matmul/w8a8-int16-sat",
            "matmul/fp8-e4m3-exact"
        ]
    );
    for v in variants::accum::entries() {
        v.validate().unwrap();
        assert!(variants::find(v.name).is_some());
        assert!(!v.description.contains('\n'));
    }
    assert_eq!(
        variant("matmul/fp8-e4m3-chunk128").info().accumulator,
        "e8m13 rtz, chunk 128 → f32"
    );
    assert_eq!(
        variant("matmul/w8a8-int16-sat").info().format_names(),
        ["int8"]
    );
    assert_eq!(
        variant("matmul/fp16-acc-fp16").info().format_names(),
        ["fp16"]
    );
}

fn ops(v: &dyn MatmulVariant, shape: Shape) -> std::collections::BTreeMap<OpKind, f64> {
    v.cost(shape).ops.into_iter().collect()
}

#[test]
fn costs_by_hand() {
    let shape = Shape {
        m: 64,
        k: 1024,
        n: 256,
    };
    let (macs, outs) = (64.0 * 1024.0 * 256.0, 64.0 * 256.0);
    let e4m3_mul = OpKind::FpMul { ebits: 4, mbits: 3 };
    let o = ops(&*variant("matmul/fp8-e4m3-chunk128"), shape);
    assert_eq!(o[&e4m3_mul], macs);
    assert_eq!(
        o[&OpKind::FpAdd {
            ebits: 8,
            mbits: 13
        }],
        macs
    );
    assert_eq!(o[&OpKind::F32_ADD], outs * 8.0);
    assert_eq!(o[&OpKind::F32_MUL], outs * 2.0);
    assert_eq!(o.len(), 4);
    let o = ops(&*variant("matmul/fp8-e4m3-exact"), shape);
    assert_eq!(o[&OpKind::IntAdd { bits: 53 }], macs);
    let o = ops(&*variant("matmul/w8a8-int16-sat"), shape);
    assert_eq!(o[&OpKind::IntMul { a: 8, b: 8 }], macs);
    assert_eq!(o[&OpKind::IntAdd { bits: 16 }], macs);
    let o = ops(&*variant("matmul/fp16-acc-fp16"), shape);
    assert_eq!(
        o[&OpKind::FpAdd {
            ebits: 5,
            mbits: 10
        }],
        macs
    );
    assert!(
        !o.contains_key(&OpKind::F32_MUL),
        "fp16 casts have no scales"
    );
    let c = variant("matmul/fp8-e4m3-acc-e8m13").cost(shape);
    // W and A one byte per element (per-tensor scale not counted), f32 output.
    assert_eq!(c.dram_bytes, 256.0 * 1024.0 + 64.0 * 1024.0 + outs * 4.0);
    assert_eq!(
        c.sram_bytes,
        64.0 * 1024.0 * 16.0 + 256.0 * 1024.0 * 4.0 + outs * 4.0
    );
    // int16 per-row scales: 32 bits per row of 1024.
    let c = variant("matmul/w8a8-int16-sat").cost(shape);
    assert_eq!(
        c.dram_bytes,
        (256.0 + 64.0) * 1024.0 * (8.0 + 32.0 / 1024.0) / 8.0 + outs * 4.0
    );
}

// ---------------------------------------------------------------------------
// The study and its section.

fn study(p: &AccumParams) -> Result<AccumStudy, String> {
    let e = EnergyTable::load(bitsim::hw::energy::builtin_names()[0]).unwrap();
    let ctx = StudyContext {
        energy: &e,
        base: std::path::Path::new("."),
        seed: 11,
        variants: &[],
    };
    run(p, &ctx)
}

#[test]
fn study_defaults_run_and_show_the_expected_effects() {
    let s = study(&AccumParams::default()).unwrap();
    assert_eq!(s.ks, [256, 1024, 4096, 16384]);
    assert_eq!(s.seed, 11);
    let last = |spec: &str| {
        let r = s
            .rows
            .iter()
            .find(|r| r.spec == spec)
            .unwrap_or_else(|| panic!("{spec} missing"));
        assert_eq!(r.points.len(), 4);
        r.points[3].rel_rms_error.unwrap()
    };
    // A wide integer register is exact; the Kulisch register only rounds once to f32.
    assert_eq!(last("acc=int32:wrap,order=seq,product=exact"), 0.0);
    assert!(last("acc=exact,order=seq,product=exact") <= 2f64.powi(-24));
    // Large, robust effects (orders of magnitude apart at K = 16384).
    let chunk = last("acc=e8m13:rtz,order=chunk:128,product=exact");
    assert!(last("acc=e8m13:rtz,order=seq,product=exact") > 20.0 * chunk);
    assert!(
        last("acc=bf16,order=seq,product=exact")
            > 5.0 * last("acc=bf16,order=pairwise,product=exact")
    );
    assert!(last("acc=int16:sat,order=seq,product=exact") > 0.1);
    // Same seed, same study; another seed, other numbers.
    assert_eq!(study(&AccumParams::default()).unwrap(), s);
    let other = study(&AccumParams {
        seed: Some(5),
        ..Default::default()
    })
    .unwrap();
    assert_ne!(other.rows, s.rows);
}

#[test]
fn study_errors_name_the_parameter() {
    let bad = |p: AccumParams, needle: &str| {
        let e = study(&p).unwrap_err();
        assert!(e.contains(needle), "error '{e}' does not name '{needle}'");
    };
    bad(
        AccumParams {
            configs: vec!["acc=f32".into(), "acc=e8m13:rtx".into()],
            ..Default::default()
        },
        "configs[1]",
    );
    bad(
        AccumParams {
            int_configs: vec!["order=zigzag".into()],
            ..Default::default()
        },
        "int_configs[0]",
    );
    bad(
        AccumParams {
            ks: vec![],
            ..Default::default()
        },
        "ks",
    );
    bad(
        AccumParams {
            ks: vec![0],
            ..Default::default()
        },
        "ks",
    );
    bad(
        AccumParams {
            trials: 0,
            ..Default::default()
        },
        "trials",
    );
    bad(
        AccumParams {
            ks: vec![1 << 22],
            trials: 100,
            ..Default::default()
        },
        "ks × trials",
    );
    bad(
        AccumParams {
            operand: "int8".into(),
            ..Default::default()
        },
        "operand",
    );
    bad(
        AccumParams {
            operand: "e9m9".into(),
            ..Default::default()
        },
        "operand",
    );
    let e = toml::from_str::<AccumParams>("kss = [1]")
        .unwrap_err()
        .to_string();
    assert!(e.contains("kss"), "{e}");
    let p: AccumParams = toml::from_str("ks = [64]\ntrials = 2\nconfigs = [\"acc=bf16\"]").unwrap();
    assert_eq!((p.ks.clone(), p.trials, p.configs.len()), (vec![64], 2, 1));
    assert_eq!(p.int_configs, AccumParams::default().int_configs);
}

#[test]
fn section_renders_well_formed_with_prefixed_ids() {
    let p = AccumParams {
        ks: vec![64, 512],
        trials: 4,
        ..Default::default()
    };
    let s = study(&p).unwrap();
    let secs = bitsim::report::sections::accum::render(&s).unwrap();
    assert_eq!(secs.len(), 1);
    assert!(secs.iter().all(|x| x.id.starts_with("accum")));
    let html = &secs[0].html;
    assert!(html.starts_with("<p class=\"how\"><strong>How to read this:</strong>"));
    assert!(html.contains("id=\"accum-float\"") && html.contains("id=\"accum-int\""));
    assert!(html.contains("<svg") && !html.contains("<script") && !html.contains("http"));
    for r in &s.rows {
        assert!(html.contains(&r.spec), "{} missing from the table", r.spec);
    }
    // Well-formed XHTML-style markup.
    let wrapped = format!("<div>{html}</div>");
    let mut reader = quick_xml::Reader::from_str(&wrapped);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("malformed section markup: {e}"),
        }
    }
    // Nothing to show, nothing rendered.
    assert!(
        bitsim::report::sections::accum::render(&AccumStudy::default())
            .unwrap()
            .is_empty()
    );
}
