//! The instruction-set cap (`bitsim::isa`, `--isa`, `BITSIM_ISA`): every
//! level this CPU has gives the scalar reference's bits through the
//! dispatched entry points, and capping the CLI changes no output byte.

use crate::cli_support;

use std::fs;
use std::path::Path;

use bitsim::formats::fast::{self, encode_f32_blocks_reference, encode_f32_reference};
use bitsim::formats::Rounding;
use bitsim::formats::{mx, parse, BlockFormat, ConvertOptions, ElementFormat, Format, MiniFloat};
use bitsim::isa::{self, IsaLevel};
use bitsim::suite::record::metric;
use cli_support::{assert_error, bitsim, f32_le, npy_bytes, ok};

fn minifloat(name: &str) -> MiniFloat {
    match parse(name).expect("preset") {
        Format::Element(ElementFormat::Float(f)) => f,
        _ => panic!("{name} is not a minifloat"),
    }
}

fn block(name: &str) -> BlockFormat {
    match parse(name).expect("preset") {
        Format::Block(b) => b,
        _ => panic!("{name} is not a block format"),
    }
}

/// Seeded data over many binades, with the specials the pipelines treat apart.
fn data(n: usize) -> Vec<f32> {
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut v: Vec<f32> = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let m = (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            m * f32::powi(2.0, (s % 40) as i32 - 20)
        })
        .collect();
    v[..6].copy_from_slice(&[0.0, -0.0, f32::INFINITY, -1e-40, 448.0, -1e9]);
    v
}

#[test]
fn every_capped_level_gives_the_reference_bits() {
    let src = data(70_001);
    let e4m3 = minifloat("e4m3");
    let bf16 = minifloat("bf16");
    let levels = IsaLevel::available();
    for level in levels.iter().copied() {
        isa::set_cap(level);
        assert_eq!(isa::effective(), level);
        for rounding in [Rounding::Rne, Rounding::Sr, Rounding::Rtz] {
            let opts = ConvertOptions {
                rounding,
                seed: 7,
                ..Default::default()
            };
            let ctx = format!("level {level}, {rounding}");
            let (mut want, mut got) = (vec![0u8; src.len()], vec![0u8; src.len()]);
            encode_f32_reference(&e4m3, &opts, &src, 0, 5, &mut want).unwrap();
            fast::encode_f32(&e4m3, &opts, &src, 0, 5, &mut got).unwrap();
            assert!(want == got, "e4m3 encode, {ctx}");
            let (mut want, mut got) = (vec![0u16; src.len()], vec![0u16; src.len()]);
            encode_f32_reference(&bf16, &opts, &src, 3, 0, &mut want).unwrap();
            fast::encode_f32(&bf16, &opts, &src, 3, 0, &mut got).unwrap();
            assert!(want == got, "bf16 encode, {ctx}");
            let scales: Vec<i32> = (0..src.len().div_ceil(32))
                .map(|b| b as i32 % 13 - 6)
                .collect();
            let (mut want, mut got) = (vec![0u8; src.len()], vec![0u8; src.len()]);
            encode_f32_blocks_reference(&e4m3, &opts, &src, 32, &scales, 0, &mut want).unwrap();
            fast::encode_f32_blocks(&e4m3, &opts, &src, 32, &scales, 0, &mut got).unwrap();
            assert!(want == got, "e4m3 blocks, {ctx}");
        }
        let codes: Vec<u8> = (0..=255).cycle().take(4099).collect();
        let (mut want, mut got) = (vec![0f32; codes.len()], vec![0f32; codes.len()]);
        fast::decode_f32_reference(&e4m3, &codes, &mut want);
        fast::decode_f32(&e4m3, &codes, &mut got);
        assert!(
            want.iter()
                .zip(&got)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "e4m3 decode, level {level}"
        );
        let mut amax = vec![0u32; src.len().div_ceil(32)];
        fast::block_amax_bits(&src, 32, &mut amax);
        for (b, m) in src.chunks(32).zip(&amax) {
            let want = b.iter().map(|x| x.to_bits() & 0x7fff_ffff).max().unwrap();
            assert_eq!(*m, want, "block amax, level {level}");
        }
        let rows = &src[..src.len() / 64 * 64];
        for name in ["mxfp4", "mxfp8", "nvfp4"] {
            let f = block(name);
            let opts = ConvertOptions::default();
            assert_eq!(
                mx::quantize(&f, &opts, rows, 64).unwrap(),
                mx::quantize_reference(&f, &opts, rows, 64).unwrap(),
                "{name}, level {level}"
            );
        }
    }
    isa::set_cap(IsaLevel::Avx512);
    assert_eq!(isa::effective(), *levels.last().unwrap());
}

/// A seeded .npy input of `n` float32 values.
fn npy_input(dir: &Path, n: usize) -> String {
    let path = dir.join("in.npy");
    let bytes = npy_bytes("<f4", false, &format!("({n},)"), &f32_le(&data(n)));
    fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn quantize_output_is_the_same_under_every_cap() {
    let dir = tempfile::tempdir().unwrap();
    let input = npy_input(dir.path(), 3 << 20);
    for (format, extra) in [
        ("e4m3", &[][..]),
        ("e5m2", &["--rounding", "sr", "--seed", "9"][..]),
        ("bf16", &["--codes"][..]),
        ("mxfp4", &["--codes"][..]),
    ] {
        let ext = if format == "mxfp4" { "npz" } else { "npy" };
        let mut outputs = Vec::new();
        for isa in [None, Some("scalar"), Some("avx2"), Some("avx512")] {
            let out = dir
                .path()
                .join(format!("{format}-{}.{ext}", isa.unwrap_or("default")));
            let mut args = vec!["quantize", "--format", format, "--input", &input];
            let out_s = out.to_str().unwrap().to_string();
            args.extend(["--output", &out_s]);
            args.extend(extra);
            if let Some(l) = isa {
                args.extend(["--isa", l]);
            }
            ok(&args);
            outputs.push(fs::read(&out).unwrap());
        }
        assert!(
            outputs.iter().all(|o| *o == outputs[0]),
            "{format} {extra:?}"
        );
    }
}

/// The non-timing rows of a results.csv.
fn non_timing_rows(csv: &str) -> Vec<String> {
    csv.lines()
        .filter(|l| {
            let metric = l.split(',').nth(4).unwrap_or("");
            !metric::is_timing(metric)
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn report_rows_are_the_same_capped_to_scalar() {
    let suite = concat!(env!("CARGO_MANIFEST_DIR"), "/bench-suites/ci.toml");
    let dir = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    for isa in [None, Some("scalar")] {
        let out = dir.path().join(isa.unwrap_or("default"));
        let out_s = out.to_str().unwrap().to_string();
        let mut args = vec!["report", "--suite", suite, "--out", &out_s];
        if let Some(l) = isa {
            args.extend(["--isa", l]);
        }
        ok(&args);
        rows.push(non_timing_rows(
            &fs::read_to_string(out.join("results.csv")).unwrap(),
        ));
    }
    assert!(rows[0].len() > 10, "too few rows: {}", rows[0].len());
    assert_eq!(rows[0], rows[1]);
}

#[test]
fn bad_isa_values_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let input = npy_input(dir.path(), 16);
    let out = dir.path().join("o.npy");
    let out = out.to_str().unwrap();
    let args = [
        "quantize", "--format", "e4m3", "--input", &input, "--output", out,
    ];
    let mut bad = args.to_vec();
    bad.extend(["--isa", "sse9"]);
    assert_error(
        &bitsim(&bad),
        "--isa sse9",
        "expected scalar, avx2 or avx512",
    );
    for cmd in [
        &["calibrate", "--isa", "AVX2"][..],
        &["report", "--isa", ""][..],
    ] {
        assert_error(&bitsim(cmd), "--isa", "expected scalar, avx2 or avx512");
    }
    let with_env = |args: &[&str], v: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_bitsim"))
            .args(args)
            .env("BITSIM_ISA", v)
            .output()
            .unwrap()
    };
    let o = with_env(&args, "foo");
    assert_error(&o, "BITSIM_ISA 'foo'", "expected scalar, avx2 or avx512");
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "bitsim: error: BITSIM_ISA 'foo': expected scalar, avx2 or avx512\n"
    );
    assert_error(
        &with_env(&["formats", "list"], "x"),
        "BITSIM_ISA 'x'",
        "expected",
    );
    // The flag wins over the variable; a good variable works alone.
    let mut flagged = args.to_vec();
    flagged.extend(["--isa", "scalar"]);
    assert!(with_env(&flagged, "foo").status.success());
    assert!(with_env(&args, "avx2").status.success());
}
