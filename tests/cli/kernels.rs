//! `bitsim kernels list` and `bitsim kernels bench`: the JSON fields, the
//! glob selection and the one-line errors. No speed assertions (the machine
//! may be busy); only that figures are finite and consistent.

use crate::cli_support;

use cli_support::{assert_error, bitsim, ok};

#[test]
fn list_names_each_native_kernel_with_its_levels() {
    let out = ok(&["kernels", "list"]);
    let mut lines = out.lines();
    assert!(lines.next().unwrap().starts_with("variant"), "{out}");
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    let int8 = rows
        .iter()
        .find(|r| r[0] == "matmul/w8a8-int")
        .unwrap_or_else(|| panic!("no w8a8-int row: {out}"));
    assert_eq!(int8[1], "int8-dot");
    assert!(int8[2].split(',').any(|l| l == "scalar"), "{out}");
    assert!(int8[2].split(',').any(|l| l == int8[3]), "{out}");
    // A variant without a native kernel is not listed.
    assert!(!rows.iter().any(|r| r[0] == "matmul/f64"), "{out}");
}

#[test]
fn bench_json_has_the_documented_fields() {
    let out = ok(&[
        "kernels",
        "bench",
        "matmul/w8a8-int",
        "matmul/f32-fma",
        "--shape",
        "3x96x20",
        "--threads",
        "2",
        "--reps",
        "3",
        "--json",
        "--isa",
        "scalar",
    ]);
    let objs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(objs.len(), 2, "{out}");
    // Registry order, whatever the order on the command line.
    assert_eq!(objs[0]["variant"], "matmul/f32-fma");
    assert_eq!(objs[1]["variant"], "matmul/w8a8-int");
    for o in &objs {
        assert_eq!(o["shape"], serde_json::json!([3, 96, 20]));
        assert_eq!(o["threads"], 2);
        assert_eq!(o["isa"], "scalar");
        assert_eq!(o["times_s"].as_array().unwrap().len(), 3);
        for f in [
            "median_s",
            "gops",
            "weight_gbps",
            "ceiling_gops",
            "ceiling_fraction",
        ] {
            let x = o[f].as_f64().unwrap_or_else(|| panic!("{f} missing: {o}"));
            assert!(x.is_finite() && x > 0.0, "{f} = {x}");
        }
        // 2 ops per MAC over the median.
        let gops = 2.0 * 3.0 * 96.0 * 20.0 / o["median_s"].as_f64().unwrap() / 1e9;
        assert!(
            (o["gops"].as_f64().unwrap() / gops - 1.0).abs() < 1e-9,
            "{o}"
        );
        // M ≤ 8: the ceiling is the read loop over the packed weights, one
        // pass after each timed product, the median pass.
        assert_eq!(o["ceiling_kind"], "read");
        let what = o["ceiling_what"].as_str().unwrap();
        assert!(what.contains("median of 3 passes"), "{what}");
        let frac = o["weight_gbps"].as_f64().unwrap() / o["ceiling_gbps"].as_f64().unwrap();
        assert!(
            (o["ceiling_fraction"].as_f64().unwrap() / frac - 1.0).abs() < 1e-9,
            "{o}"
        );
    }
}

#[test]
fn gemm_shapes_use_the_base_peak_and_globs_select_native_kernels() {
    let out = ok(&[
        "kernels",
        "bench",
        "matmul/w1a*",
        "--shape",
        "9x64x8",
        "--reps",
        "1",
        "--json",
        "--no-emulation",
    ]);
    let objs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = objs
        .iter()
        .map(|o| o["variant"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["matmul/w1a8-binary", "matmul/w1a1-binary"], "{out}");
    for o in &objs {
        assert_eq!(o["ceiling_kind"], "peak");
        // One run of the peak loop after each timed product, the median run.
        let what = o["ceiling_what"].as_str().unwrap();
        assert!(what.contains("median of 1 runs"), "{what}");
        assert!(o["ceiling_gbps"].is_null());
        assert!(o["emulation_s"].is_null());
        let frac = o["gops"].as_f64().unwrap() / o["ceiling_gops"].as_f64().unwrap();
        assert!(
            (o["ceiling_fraction"].as_f64().unwrap() / frac - 1.0).abs() < 1e-9,
            "{o}"
        );
    }
}

#[test]
fn the_text_table_has_a_row_per_variant() {
    let out = ok(&[
        "kernels",
        "bench",
        "matmul/w4a8-int",
        "--shape",
        "1x64x16",
        "--reps",
        "2",
    ]);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.lines().next().unwrap().contains("of ceiling"), "{out}");
    assert!(
        out.lines().nth(1).unwrap().starts_with("matmul/w4a8-int"),
        "{out}"
    );
}

#[test]
fn bad_inputs_are_one_line_errors() {
    let b = |extra: &[&str]| {
        let mut args = vec!["kernels", "bench"];
        args.extend_from_slice(extra);
        bitsim(&args)
    };
    for shape in ["1x2", "0x4x4", "ax4x4", "1x2x3x4", ""] {
        let o = b(&["matmul/w8a8-int", "--shape", shape]);
        assert_error(&o, &format!("--shape {shape}"), "MxKxN");
    }
    let o = b(&["matmul/w8a8-int", "--shape", "1x8x8", "--isa", "avx9"]);
    assert_error(&o, "--isa avx9", "expected scalar, avx2 or avx512");
    let o = b(&["matmul/nope", "--shape", "1x8x8"]);
    assert_error(&o, "variant 'matmul/nope'", "matches no registered variant");
    let o = b(&["matmul/f64", "--shape", "1x8x8"]);
    assert_error(&o, "variant 'matmul/f64'", "has no native kernel");
    let o = b(&["matmul/[", "--shape", "1x8x8"]);
    assert_error(&o, "variant 'matmul/['", "not a valid glob");
    for (flag, v) in [
        ("--threads", "0"),
        ("--reps", "0"),
        ("--reps", "x"),
        ("--threads", "-1"),
    ] {
        let o = b(&["matmul/w8a8-int", "--shape", "1x8x8", flag, v]);
        assert_error(&o, &format!("{flag} {v}"), "expected an integer");
    }
}

/// `kernels bench --json`-shaped lines: `rounds` rounds of one kernel with
/// the given median times.
fn bench_lines(times: &[f64]) -> String {
    times
        .iter()
        .map(|t| {
            format!("{{\"variant\":\"matmul/w8a8-int\",\"shape\":[1,64,16],\"median_s\":{t}}}\n")
        })
        .collect()
}

#[test]
fn gate_exits_1_on_a_slowdown_beyond_noise_and_0_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, times: &[f64]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bench_lines(times)).unwrap();
        p.to_str().unwrap().to_string()
    };
    let base = write("base.jsonl", &[1.0, 1.1, 0.9, 1.0, 1.05, 0.95]);
    let slow = write("slow.jsonl", &[3.0, 3.2, 2.8, 3.1, 3.0, 2.9]);
    let same = write("same.jsonl", &[1.02, 1.05, 0.93, 0.98, 1.1, 0.97]);
    let o = bitsim(&["kernels", "gate", "--base", &base, "--head", &slow]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("REGRESSED") && text.contains("1 kernel(s) regressed"),
        "{text}"
    );
    let out = ok(&["kernels", "gate", "--base", &base, "--head", &same]);
    assert!(
        out.contains("no regression") && !out.contains("REGRESSED"),
        "{out}"
    );
    let missing = dir.path().join("none.jsonl");
    let m = missing.to_str().unwrap();
    assert_error(
        &bitsim(&["kernels", "gate", "--base", m, "--head", &same]),
        m,
        "",
    );
    let bad = write("bad.jsonl", &[]);
    std::fs::write(&bad, "{\"variant\":\"x\"}\n").unwrap();
    assert_error(
        &bitsim(&["kernels", "gate", "--base", &bad, "--head", &same]),
        &bad,
        "line 1",
    );
}

#[test]
fn list_names_the_attention_kernels() {
    let out = ok(&["kernels", "list"]);
    let rows: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    for (name, base) in [
        ("attention/f32", "f32-fma"),
        ("attention/flash-f32", "f32-fma"),
        ("attention/flash-bf16", "f32-fma"),
        ("attention/split-kv", "f32-fma"),
        ("attention/flash-dpbf16", "bf16-dot"),
        ("attention/sage-int8", "int8-dot"),
        ("attention/sage2-fp8", "int8-dot"),
        ("attention/sage2pp-fp16acc", "int8-dot"),
        ("attention/int4-qk", "int8-dot"),
    ] {
        let r = rows
            .iter()
            .find(|r| r[0] == name)
            .unwrap_or_else(|| panic!("no {name} row: {out}"));
        assert_eq!(r[1], base, "{out}");
        assert!(r[2].split(',').any(|l| l == "scalar"), "{out}");
    }
    assert!(!rows.iter().any(|r| r[0] == "attention/f64"), "{out}");
}

/// Prefill counts 4·d flops per visible pair against the FMA peak; decode
/// reads the KV cache against a read loop over as many bytes.
#[test]
fn attention_bench_json_prefill_and_decode() {
    let line = ok(&[
        "kernels",
        "bench",
        "attention/flash-f32",
        "--shape",
        "2x40x32",
        "--causal",
        "--reps",
        "2",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(v["variant"], "attention/flash-f32");
    assert_eq!(v["shape"], serde_json::json!([2, 40, 40, 32]));
    assert_eq!(v["phase"], "prefill");
    assert_eq!(v["ceiling_kind"], "peak");
    assert_eq!(v["times_s"].as_array().unwrap().len(), 2);
    // One peak run after each of the 2 timed calls.
    let what = v["ceiling_what"].as_str().unwrap();
    assert!(
        what.contains("median of 2 runs between the calls"),
        "{what}"
    );
    // 2 heads × 40·41/2 pairs × 4·32 flops.
    let flops = 2.0 * 820.0 * 128.0;
    let (g, t) = (
        v["gflops"].as_f64().unwrap(),
        v["median_s"].as_f64().unwrap(),
    );
    assert!((g * t * 1e9 / flops - 1.0).abs() < 1e-9, "{v}");
    assert!(v["speedup_vs_emulation"].as_f64().unwrap() > 0.0);

    let line = ok(&[
        "kernels",
        "bench",
        "attention/split-kv",
        "--shape",
        "2x300x64",
        "--decode",
        "--reps",
        "2",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(v["phase"], "decode");
    assert_eq!(v["shape"], serde_json::json!([2, 1, 300, 64]));
    assert_eq!(v["ceiling_kind"], "read");
    let what = v["ceiling_what"].as_str().unwrap();
    assert!(
        what.contains("median of 2 passes between the calls"),
        "{what}"
    );
    // K and V in f32: 2 × 2 heads × 300 × 64 × 4 bytes.
    assert_eq!(v["kv_bytes"], 2 * 2 * 300 * 64 * 4);
}

#[test]
fn attention_bench_bad_inputs_are_one_line_errors() {
    let e = bitsim(&[
        "kernels",
        "bench",
        "attention/flash-f32",
        "--shape",
        "8x4096",
    ]);
    assert_error(&e, "--shape 8x4096", "HxNxD");
    let e = bitsim(&["kernels", "bench", "attention/f64", "--shape", "1x8x8"]);
    assert_error(&e, "attention/f64", "no native kernel");
    let e = bitsim(&[
        "kernels",
        "bench",
        "attention/flash-f32",
        "matmul/f32",
        "--shape",
        "1x8x8",
    ]);
    assert_error(&e, "attention/flash-f32", "separate runs");
    let e = bitsim(&[
        "kernels",
        "bench",
        "matmul/f32",
        "--shape",
        "1x8x8",
        "--causal",
    ]);
    assert_error(&e, "--causal", "attention variants only");
}
