//! `bitsim quantize` with element formats, and every way an input `.npy`
//! can be bad. Inputs are hand-built bytes; outputs are read back with
//! `npyz`; expected values are derived by hand.

use crate::cli_support;

use std::fs;

use cli_support::{
    assert_error, bits, descr, f32_le, f64_le, listing, npy_bytes, open_npy, put, quantize,
    quantize_run, read_f32,
};

/// FP4 inputs and their RNE results (saturating: FP4 has no inf/NaN).
const FP4_IN: [f64; 10] = [0.25, 0.75, 2.5, 5.0, -3.5, 7.0, 1e-9, -0.0, 6.0, -1.25];
const FP4_OUT: [f32; 10] = [0.0, 1.0, 2.0, 4.0, -4.0, 6.0, 0.0, -0.0, 6.0, -1.0];

#[test]
fn f32_round_trip_e2m1() {
    let d = tempfile::tempdir().unwrap();
    let v: Vec<f32> = FP4_IN.iter().map(|&x| x as f32).collect();
    let inp = put(
        d.path(),
        "in.npy",
        &npy_bytes("<f4", false, "(10,)", &f32_le(&v)),
    );
    let out = d.path().join("out.npy");
    let msg = quantize(&inp, &out, "e2m1", &[]);
    assert!(msg.contains("10 values"), "{msg}");
    let (shape, got) = read_f32(&out);
    assert_eq!(shape, [10]);
    assert_eq!(bits(&got), bits(&FP4_OUT));
    // Nothing but input and output in the directory (no temp files).
    assert_eq!(listing(d.path()), ["in.npy", "out.npy"]);
}

#[test]
fn f64_round_trip_e2m1() {
    let d = tempfile::tempdir().unwrap();
    let inp = put(
        d.path(),
        "in.npy",
        &npy_bytes("<f8", false, "(10,)", &f64_le(&FP4_IN)),
    );
    let out = d.path().join("out.npy");
    quantize(&inp, &out, "fp4", &["--rounding", "rne"]);
    let (shape, got) = read_f32(&out);
    assert_eq!(shape, [10]);
    assert_eq!(bits(&got), bits(&FP4_OUT));
}

#[test]
fn three_d_shape_preserved() {
    let d = tempfile::tempdir().unwrap();
    // -6, -5.5, …, 5.5: all exact in e4m3 (at most 4 significant bits).
    let v: Vec<f32> = (0..24).map(|i| i as f32 * 0.5 - 6.0).collect();
    let inp = put(
        d.path(),
        "in.npy",
        &npy_bytes("<f4", false, "(2, 3, 4)", &f32_le(&v)),
    );
    let out = d.path().join("out.npy");
    quantize(&inp, &out, "e4m3", &[]);
    let (shape, got) = read_f32(&out);
    assert_eq!(shape, [2, 3, 4]);
    assert_eq!(bits(&got), bits(&v));
}

#[test]
fn codes_u8_for_e4m3() {
    let d = tempfile::tempdir().unwrap();
    let v = [
        448.0f32,
        -448.0,
        1.0,
        0.015625,
        0.001953125,
        465.0,
        -0.0,
        0.0,
    ];
    let inp = put(
        d.path(),
        "in.npy",
        &npy_bytes("<f4", false, "(2, 4)", &f32_le(&v)),
    );
    let out = d.path().join("codes.npy");
    quantize(&inp, &out, "e4m3", &["--codes"]);
    let f = open_npy(&out);
    assert_eq!(descr(&f), "|u1");
    assert_eq!(f.shape(), [2, 4]);
    let codes = f.into_vec::<u8>().unwrap();
    assert_eq!(codes, [0x7e, 0xfe, 0x38, 0x08, 0x01, 0x7f, 0x80, 0x00]);
    // With saturation 465 becomes 448.
    quantize(&inp, &out, "e4m3", &["--codes", "--overflow", "saturate"]);
    assert_eq!(open_npy(&out).into_vec::<u8>().unwrap()[5], 0x7e);
}

#[test]
fn codes_u16_for_fp16() {
    let d = tempfile::tempdir().unwrap();
    // 65520 is the tie above 65504: RNE goes to inf. 2^-24 is the smallest subnormal.
    let v = [1.0f32, 65504.0, -2.0, 65520.0, 2f32.powi(-24)];
    let inp = put(
        d.path(),
        "in.npy",
        &npy_bytes("<f4", false, "(5,)", &f32_le(&v)),
    );
    let out = d.path().join("codes.npy");
    quantize(&inp, &out, "fp16", &["--codes"]);
    let f = open_npy(&out);
    assert_eq!(descr(&f), "<u2");
    assert_eq!(f.shape(), [5]);
    assert_eq!(
        f.into_vec::<u16>().unwrap(),
        [0x3c00, 0x7bff, 0xc000, 0x7c00, 0x0001]
    );
}

#[test]
fn int8_codes_and_values() {
    let d = tempfile::tempdir().unwrap();
    let v = [1.4f32, -1.5, 200.0, -200.0, 2.5];
    let inp = put(
        d.path(),
        "in.npy",
        &npy_bytes("<f4", false, "(5,)", &f32_le(&v)),
    );
    let out = d.path().join("o.npy");
    quantize(&inp, &out, "int8", &["--codes"]);
    assert_eq!(
        open_npy(&out).into_vec::<u8>().unwrap(),
        [0x01, 0xfe, 0x7f, 0x80, 0x02]
    );
    quantize(&inp, &out, "int8", &[]);
    assert_eq!(read_f32(&out).1, [1.0, -2.0, 127.0, -128.0, 2.0]);
}

/// f64 input is rounded once. Each value is just off a tie of the target
/// format by less than half an f32 ulp, so f32 would round it onto the tie
/// and the second rounding would go the other way.
#[test]
fn f64_is_rounded_once() {
    let d = tempfile::tempdir().unwrap();
    let up = 1.0625 + 2f64.powi(-40); // above the e4m3 tie 1 | 1.125
    let down = 0.75 - 2f64.powi(-30); // below the e2m1 tie 0.5 | 1
    assert_eq!(up as f32, 1.0625f32); // the trap: f32 lands on the tie …
    assert_eq!(down as f32, 0.75f32);
    let inp = put(
        d.path(),
        "in.npy",
        &npy_bytes("<f8", false, "(2,)", &f64_le(&[up, -up])),
    );
    let out = d.path().join("o.npy");
    quantize(&inp, &out, "e4m3", &[]);
    // … and ties-to-even from there would give 1.0; the direct rounding gives 1.125.
    assert_eq!(read_f32(&out).1, [1.125, -1.125]);
    quantize(&inp, &out, "e4m3", &["--codes"]);
    assert_eq!(open_npy(&out).into_vec::<u8>().unwrap(), [0x39, 0xb9]);

    let inp = put(
        d.path(),
        "in2.npy",
        &npy_bytes("<f8", false, "(1,)", &f64_le(&[down])),
    );
    quantize(&inp, &out, "e2m1", &[]);
    assert_eq!(read_f32(&out).1, [0.5]);
}

#[test]
fn stochastic_rounding_same_seed_same_bytes() {
    let d = tempfile::tempdir().unwrap();
    let v = vec![0.3f32; 1000];
    let inp = put(
        d.path(),
        "in.npy",
        &npy_bytes("<f4", false, "(10, 100)", &f32_le(&v)),
    );
    let run = |seed: &str, name: &str| {
        let out = d.path().join(name);
        quantize(
            &inp,
            &out,
            "e2m1",
            &["--rounding", "sr", "--seed", seed, "--codes"],
        );
        fs::read(out).unwrap()
    };
    let a = run("7", "a.npy");
    let b = run("7", "b.npy");
    let c = run("8", "c.npy");
    assert_eq!(a, b);
    assert_ne!(a, c);
    // 0.3 lies 0.6 of the way from 0 to 0.5: P(code 1) = 0.6 (600 ± 6 sigma of 15.5).
    let codes = open_npy(&d.path().join("a.npy")).into_vec::<u8>().unwrap();
    assert!(codes.iter().all(|&c| c <= 1));
    let ones = codes.iter().filter(|&&c| c == 1).count();
    assert!((507..=693).contains(&ones), "{ones}");
}

#[test]
fn zero_d_empty_and_big_endian() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("o.npy");
    // 0-d: one value; 1.3 is nearer 1.5 than 1.
    let inp = put(
        d.path(),
        "s.npy",
        &npy_bytes("<f4", false, "()", &f32_le(&[1.3])),
    );
    quantize(&inp, &out, "e2m1", &[]);
    let (shape, v) = read_f32(&out);
    assert!(shape.is_empty());
    assert_eq!(v, [1.5]);
    // Empty: an empty output of the same shape.
    let inp = put(d.path(), "e.npy", &npy_bytes("<f4", false, "(0, 3)", &[]));
    quantize(&inp, &out, "e2m1", &[]);
    let (shape, v) = read_f32(&out);
    assert_eq!(shape, [0, 3]);
    assert!(v.is_empty());
    // Big-endian float32.
    let be: Vec<u8> = [1.3f32, -0.2]
        .iter()
        .flat_map(|x| x.to_be_bytes())
        .collect();
    let inp = put(d.path(), "be.npy", &npy_bytes(">f4", false, "(2,)", &be));
    quantize(&inp, &out, "e2m1", &[]);
    assert_eq!(bits(&read_f32(&out).1), bits(&[1.5, -0.0]));
}

/// Runs a failing quantize and checks the error rule plus "no output file".
fn check_bad_input(bytes: &[u8], format: &str, extra: &[&str], reason: &str) {
    let d = tempfile::tempdir().unwrap();
    let inp = put(d.path(), "in.npy", bytes);
    let out = d.path().join("out.npy");
    let o = quantize_run(&inp, &out, format, extra);
    assert_error(&o, &inp.display().to_string(), reason);
    assert_eq!(
        listing(d.path()),
        ["in.npy"],
        "output or temp file left behind"
    );
}

#[test]
fn bad_npy_files() {
    let f4 = f32_le(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    // Truncated data: shape (2, 3) needs 24 bytes.
    check_bad_input(
        &npy_bytes("<f4", false, "(2, 3)", &f4[..20]),
        "e4m3",
        &[],
        "truncated",
    );
    // Truncated inside the header.
    check_bad_input(
        &npy_bytes("<f4", false, "(2, 3)", &f4)[..30],
        "e4m3",
        &[],
        "header",
    );
    check_bad_input(&b"\x93NUMPY\x01"[..], "e4m3", &[], "header");
    // Extra bytes after the data.
    check_bad_input(
        &npy_bytes("<f4", false, "(5,)", &f4),
        "e4m3",
        &[],
        "unexpected bytes",
    );
    check_bad_input(
        &npy_bytes("<f4", true, "(2, 3)", &f4),
        "e4m3",
        &[],
        "Fortran",
    );
    check_bad_input(
        &npy_bytes("<i4", false, "(6,)", &f4),
        "e4m3",
        &[],
        "unsupported dtype '<i4'",
    );
    check_bad_input(
        &npy_bytes("<c8", false, "(3,)", &f4),
        "e4m3",
        &[],
        "unsupported dtype '<c8'",
    );
    check_bad_input(
        &npy_bytes("<f2", false, "(12,)", &f4),
        "e4m3",
        &[],
        "unsupported dtype",
    );
    let mut bad = npy_bytes("<f4", false, "(6,)", &f4);
    bad[5] = b'Z';
    check_bad_input(&bad, "e4m3", &[], "bad magic");
    check_bad_input(b"hello, world", "e4m3", &[], "bad magic");
    check_bad_input(b"", "e4m3", &[], "bad magic");
    let mut v9 = npy_bytes("<f4", false, "(6,)", &f4);
    v9[6] = 9;
    check_bad_input(&v9, "e4m3", &[], "version 9.0");
    // Malformed header dictionaries.
    let raw = |dict: &str| {
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        b.extend_from_slice(dict.as_bytes());
        b
    };
    check_bad_input(
        &raw("{'descr': '<f4', 'fortran_order': False}\n"),
        "e4m3",
        &[],
        "missing key 'shape'",
    );
    check_bad_input(&raw("not a dict\n"), "e4m3", &[], "malformed");
    check_bad_input(
        &raw("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x)}\n"),
        "e4m3",
        &[],
        "malformed",
    );
    check_bad_input(
        &raw("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }\n"),
        "e4m3",
        &[],
        "structured",
    );
}

#[test]
fn nan_under_error_policy_names_the_element() {
    let v = f32_le(&[1.0, 2.0, 3.0, f32::NAN]);
    check_bad_input(
        &npy_bytes("<f4", false, "(2, 2)", &v),
        "e2m1",
        &["--nan", "error"],
        "element [1, 1]",
    );
    let v = f64_le(&[f64::NAN]);
    check_bad_input(
        &npy_bytes("<f8", false, "(1,)", &v),
        "int4",
        &["--nan", "error"],
        "cannot be represented",
    );
    // Block formats: a NaN would become a NaN block scale, which the policy
    // forbids (it used to pass silently).
    let v = f32_le(&[1.0, 2.0, 3.0, f32::NAN]);
    for f in ["mxfp4", "nvfp4", "mxint8"] {
        check_bad_input(
            &npy_bytes("<f4", false, "(2, 2)", &v),
            f,
            &["--nan", "error"],
            "element [1, 1]",
        );
    }
}

#[test]
fn failure_keeps_an_existing_output() {
    let d = tempfile::tempdir().unwrap();
    let inp = put(
        d.path(),
        "in.npy",
        &npy_bytes("<f4", false, "(1,)", &f32_le(&[f32::NAN])),
    );
    let out = put(d.path(), "out.npy", b"old");
    let o = quantize_run(&inp, &out, "e2m1", &["--nan", "error"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(fs::read(&out).unwrap(), b"old");
    assert_eq!(listing(d.path()), ["in.npy", "out.npy"]);
}

#[test]
fn missing_input_and_unwritable_output() {
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("missing.npy");
    let out = d.path().join("out.npy");
    assert_error(
        &quantize_run(&missing, &out, "e4m3", &[]),
        "missing.npy",
        "cannot read",
    );
    assert!(listing(d.path()).is_empty());

    let inp = put(
        d.path(),
        "in.npy",
        &npy_bytes("<f4", false, "(1,)", &f32_le(&[1.0])),
    );
    let nowhere = d.path().join("no-such-dir").join("out.npy");
    assert_error(
        &quantize_run(&inp, &nowhere, "e4m3", &[]),
        "out.npy",
        "cannot create output",
    );
    // The output names an existing directory: the rename fails, the temp file goes.
    fs::create_dir(d.path().join("adir")).unwrap();
    let o = quantize_run(&inp, &d.path().join("adir"), "e4m3", &[]);
    assert_error(&o, "adir", "cannot write output");
    assert_eq!(listing(d.path()), ["adir", "in.npy"]);
    assert!(listing(&d.path().join("adir")).is_empty());
}

#[test]
fn bad_format_and_options_for_quantize() {
    let d = tempfile::tempdir().unwrap();
    let inp = put(
        d.path(),
        "in.npy",
        &npy_bytes("<f4", false, "(1,)", &f32_le(&[1.0])),
    );
    let out = d.path().join("out.npy");
    assert_error(
        &quantize_run(&inp, &out, "e0m0", &[]),
        "e0m0",
        "exponent bits",
    );
    assert_error(
        &quantize_run(&inp, &out, "bogus", &[]),
        "bogus",
        "unknown format",
    );
    assert_error(
        &quantize_run(&inp, &out, "e4m3", &["--rounding", "x"]),
        "--rounding x",
        "unknown rounding",
    );
    assert_error(
        &quantize_run(&inp, &out, "e4m3", &["--overflow", "inf"]),
        "--overflow inf",
        "no infinity",
    );
    assert_error(
        &quantize_run(&inp, &out, "mxfp4", &["--overflow", "inf"]),
        "--overflow inf",
        "no infinity",
    );
    assert_eq!(listing(d.path()), ["in.npy"]);
}

/// Block-format errors caught before any quantization.
#[test]
fn block_format_input_errors() {
    let f4 = f32_le(&[1.0, 2.0]);
    check_bad_input(
        &npy_bytes("<f4", false, "()", &f4[..4]),
        "mxfp4",
        &[],
        "0-d",
    );
    check_bad_input(
        &npy_bytes("<f4", false, "(2, 0)", &[]),
        "mxfp4",
        &[],
        "empty array",
    );
    // 0.1 is not an f32: narrowing would round twice.
    check_bad_input(
        &npy_bytes("<f8", false, "(2,)", &f64_le(&[0.5, 0.1])),
        "nvfp4",
        &[],
        "element [1] = 0.1",
    );
    // --codes for a block format needs an .npz output name.
    let d = tempfile::tempdir().unwrap();
    let inp = put(d.path(), "in.npy", &npy_bytes("<f4", false, "(2,)", &f4));
    let o = quantize_run(&inp, &d.path().join("out.npy"), "mxfp4", &["--codes"]);
    assert_error(&o, "--output", ".npz");
    assert_eq!(listing(d.path()), ["in.npy"]);
}
