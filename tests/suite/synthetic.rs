//! Synthetic result records for the report and comparison tests, and for the
//! `report_demo` and `compare_text` examples (which include this file).
#![allow(dead_code)]

use bitsim::suite::record::{metric, Measurement, NumberLine, Results, RunMeta, VariantInfo};

/// One result row of the synthetic suite.
pub fn row(
    variant: &str,
    workload: &str,
    shape: &str,
    seed: u64,
    name: &str,
    value: f64,
    rep: u32,
) -> Measurement {
    Measurement {
        suite: "synthetic".into(),
        variant: variant.into(),
        workload: workload.into(),
        shape: shape.into(),
        metric: name.into(),
        value,
        unit: String::new(),
        seed,
        rep,
        version: "0.1.0".into(),
        commit: Some("abc1234".into()),
    }
}

/// Per variant: (name, weight format, activation format, rel. error, SQNR dB,
/// energy pJ/MAC, throughput MAC/s (0 = no timing rows), bits/weight).
pub type Spec = (
    &'static str,
    &'static str,
    &'static str,
    f64,
    f64,
    f64,
    f64,
    f64,
);
pub const VARIANTS: &[Spec] = &[
    (
        "matmul/fp32-reference",
        "fp32",
        "fp32",
        0.0,
        f64::INFINITY,
        9.1,
        2.0e9,
        32.0,
    ),
    (
        "matmul/w8a8-int8",
        "int8 per-channel",
        "int8 per-tensor",
        4.1e-3,
        47.7,
        1.9,
        5.5e9,
        8.0,
    ),
    (
        "matmul/w8a8-e4m3",
        "e4m3 per-tensor",
        "e4m3 per-tensor",
        2.2e-2,
        33.1,
        2.3,
        3.1e9,
        8.0,
    ),
    (
        "matmul/w4a16-mxfp4",
        "mxfp4",
        "bf16",
        8.3e-2,
        21.6,
        1.1,
        1.2e9,
        4.25,
    ),
    (
        "matmul/w4a4-nvfp4",
        "nvfp4",
        "nvfp4",
        1.1e-1,
        19.2,
        0.62,
        0.9e9,
        4.5,
    ),
    (
        "matmul/w4a8-int4-g128",
        "int4 group 128",
        "int8 per-token",
        6.0e-2,
        24.4,
        0.95,
        0.0,
        4.125,
    ),
    (
        "matmul/w2a8-ternary",
        "ternary per-channel",
        "int8 per-token",
        3.1e-1,
        10.2,
        0.48,
        4.0e9,
        1.6,
    ),
];
pub const WORKLOADS: &[(&str, &str)] = &[
    ("gaussian", "16x64x32"),
    ("llm-like", "32x128x64"),
    ("llm-like", "8x256x128"),
];
pub const SEEDS: &[u64] = &[1, 2];
pub const REPS: u32 = 5;

/// A multi-variant run: every variant on every workload, shape and seed, all
/// deterministic metrics once and the throughput five times. One cell's
/// cosine is NaN; one variant has no timing rows.
pub fn synthetic() -> Results {
    let mut rows = Vec::new();
    for (vi, &(v, _, _, err, sqnr, e, tput, bits)) in VARIANTS.iter().enumerate() {
        for (wi, &(w, s)) in WORKLOADS.iter().enumerate() {
            for &seed in SEEDS {
                // Small deterministic spread between cells.
                let f = 1.0 + 0.03 * (wi as f64) - 0.01 * seed as f64;
                let macs = 1.0e6 * (wi + 1) as f64;
                let mut det = |m: &str, x: f64| rows.push(row(v, w, s, seed, m, x, 0));
                det(metric::REL_FRO_ERROR, err * f);
                det(metric::SQNR_DB, sqnr - 0.2 * wi as f64);
                let cos = if vi == 3 && wi == 1 && seed == 2 {
                    f64::NAN
                } else {
                    1.0 - err * err * f / 2.0
                };
                det(metric::COSINE, cos);
                det(metric::BITS_PER_WEIGHT, bits);
                det(metric::ENERGY_PJ_PER_MAC, e);
                det(metric::ENERGY_TOTAL_PJ, e * macs);
                det(metric::ENERGY_COMPUTE_PJ, 0.3 * e * macs);
                det(metric::ENERGY_SRAM_PJ, 0.5 * e * macs);
                det(metric::ENERGY_DRAM_PJ, 0.2 * e * macs);
                if tput > 0.0 {
                    for rep in 0..REPS {
                        let x = tput * f * (1.0 + 0.004 * (rep as f64 - 2.0));
                        rows.push(row(v, w, s, seed, metric::EMULATION_MAC_PER_S, x, rep));
                    }
                }
            }
        }
    }
    let e2m1 = vec![0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0];
    let mut e4m3 = vec![0.0];
    e4m3.extend((1..8).map(|m| m as f64 / 8.0 * 2f64.powi(-6)));
    for e in 1..16 {
        for m in 0..8 {
            if !(e == 15 && m == 7) {
                e4m3.push((1.0 + m as f64 / 8.0) * 2f64.powi(e - 7));
            }
        }
    }
    let int8 = (0..128).map(f64::from).collect();
    let fp16 = (0u16..0x7c00)
        .map(|b| half::f16::from_bits(b).to_f64())
        .collect();
    let bf16 = (0u16..0x7f80)
        .map(|b| half::bf16::from_bits(b).to_f64())
        .collect();
    let number_lines = [
        ("e2m1", e2m1),
        ("e4m3", e4m3),
        ("int8", int8),
        ("fp16", fp16),
        ("bf16", bf16),
    ]
    .into_iter()
    .map(|(f, values)| NumberLine {
        format: f.into(),
        values,
    })
    .collect();
    let variants = VARIANTS
        .iter()
        .map(|&(name, w, a, ..)| VariantInfo {
            name: name.into(),
            description: format!("{w} weights times {a} activations"),
            weight_format: w.into(),
            act_format: a.into(),
            accumulator: if name.contains("int") {
                "int32".into()
            } else {
                "fp32".into()
            },
            formats: vec![w.split(' ').next().unwrap().into()],
        })
        .collect();
    Results {
        meta: RunMeta {
            suite: "synthetic".into(),
            version: "0.1.0".into(),
            commit: Some("abc1234".into()),
            cpu_model: "Test CPU @ 3 GHz".into(),
            simd: vec!["avx2".into(), "avx512f".into()],
            threads: 2,
            date: "2026-01-01T00:00:00Z".into(),
            energy_table: "horowitz-45nm".into(),
            energy_notes: vec!["int4 multiply: scaled from int8 by width product (Aladdin)".into()],
            variants,
            number_lines,
            shard: None,
            config: Default::default(),
        },
        rows,
        ..Default::default()
    }
}

/// Scales the throughput of one variant in every cell; `noise` spreads the
/// new repetitions by that relative amount around the scaled mean.
pub fn with_throughput(r: &Results, variant: &str, factor: f64, noise: f64) -> Results {
    let mut r = r.clone();
    for m in r
        .rows
        .iter_mut()
        .filter(|m| m.variant == variant && m.metric == metric::EMULATION_MAC_PER_S)
    {
        // Spread symmetric around the scaled mean.
        let k = [-1.0, 1.0, -0.5, 0.5, 0.0][m.rep as usize % 5];
        m.value *= factor * (1.0 + noise * k);
    }
    r
}
