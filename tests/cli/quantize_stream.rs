//! The streaming path of `bitsim quantize` (mapped input, parallel chunks,
//! one write) against its reference twin (`--reference`, the in-memory
//! path) byte for byte, and against hand-derived FP8 codes, on ragged sizes
//! around the 65536-element chunk and on edge values.

use crate::cli_support;

use std::fs;
use std::path::Path;

use cli_support::{assert_error, f32_le, f64_le, listing, npy_bytes, open_npy, put, quantize};

/// Ragged sizes: empty, one, under a vector, over a page of codes, and more
/// than four chunks (over 1 MiB, so the input is mapped, not read).
const SIZES: [usize; 5] = [0, 1, 7, 8193, 300_007];

/// Edge values: ±0, subnormals of FP8 and of f32, FP8 maxima and the ties
/// beside them, NaN, ±inf, values past every format's range.
const EDGES: [f32; 20] = [
    0.0,
    -0.0,
    1.0,
    1.0625,
    -1.1875,
    0.001953125,
    0.0009765625,
    -0.0029296875,
    448.0,
    464.0,
    465.0,
    -480.0,
    57344.0,
    61440.0,
    1e-40,
    f32::MAX,
    f32::NAN,
    f32::INFINITY,
    f32::NEG_INFINITY,
    -1e30,
];

/// `n` values: the edges, then seeded random bit patterns (every class of
/// f32) and random values of moderate magnitude, interleaved.
fn values(n: usize) -> Vec<f32> {
    let mut s = 0x9e37_79b9_7f4a_7c15u64 ^ n as u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    (0..n)
        .map(|i| {
            let r = next();
            match i {
                _ if i < EDGES.len() => EDGES[i],
                _ if i % 3 == 0 => f32::from_bits(r as u32),
                _ => {
                    let m = (r >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                    m * 2f32.powi((r % 40) as i32 - 20)
                }
            }
        })
        .collect()
}

/// Runs `quantize` on both paths and asserts equal output bytes.
fn same_bytes(dir: &Path, inp: &Path, format: &str, extra: &[&str]) {
    let (fast, slow) = (dir.join("fast.npy"), dir.join("slow.npy"));
    let ok = quantize(inp, &fast, format, extra);
    let mut with_ref = extra.to_vec();
    with_ref.push("--reference");
    let said = quantize(inp, &slow, format, &with_ref);
    assert_eq!(
        ok.replace("fast.npy", "slow.npy"),
        said,
        "{format} {extra:?}"
    );
    let (a, b) = (fs::read(&fast).unwrap(), fs::read(&slow).unwrap());
    assert!(
        a == b,
        "{format} {extra:?}: streaming output differs from the reference"
    );
}

#[test]
fn streaming_equals_reference_for_element_formats() {
    let d = tempfile::tempdir().unwrap();
    let cases: &[(&str, &[&str])] = &[
        ("e4m3", &[]),
        ("e4m3", &["--overflow", "saturate"]),
        ("e4m3", &["--rounding", "rtz"]),
        ("e4m3", &["--rounding", "sr", "--seed", "7"]),
        ("e5m2", &[]),
        ("e5m2", &["--overflow", "saturate"]),
        ("e5m2", &["--overflow", "nan", "--rounding", "rna"]),
        ("e2m1", &["--nan", "nan-to-max"]),
        ("e3m2", &["--rounding", "sr", "--sr-bits", "3"]),
        ("fp16", &[]),
        ("bf16", &["--rounding", "rd"]),
        ("int8", &[]),
        ("int4", &["--rounding", "sr", "--seed", "3"]),
    ];
    for &n in &SIZES {
        let inp = put(
            d.path(),
            "in.npy",
            &npy_bytes("<f4", false, &format!("({n},)"), &f32_le(&values(n))),
        );
        for (format, extra) in cases {
            // The largest size with every option would be slow; one pass each format.
            if n == 300_007 && !extra.is_empty() && !extra.contains(&"sr") {
                continue;
            }
            same_bytes(d.path(), &inp, format, extra);
            let mut codes = extra.to_vec();
            codes.push("--codes");
            same_bytes(d.path(), &inp, format, &codes);
        }
    }
}

#[test]
fn streaming_equals_reference_for_other_layouts() {
    let d = tempfile::tempdir().unwrap();
    let v = values(70_001);
    // Big-endian float32: converted chunk by chunk.
    let be: Vec<u8> = v.iter().flat_map(|x| x.to_be_bytes()).collect();
    let inp = put(
        d.path(),
        "be.npy",
        &npy_bytes(">f4", false, "(70001,)", &be),
    );
    same_bytes(d.path(), &inp, "e4m3", &[]);
    same_bytes(d.path(), &inp, "int8", &["--codes"]);
    // A payload at an odd offset (a hand-padded header): no in-place view.
    let mut dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (70001,), }".to_string();
    while (10 + dict.len() + 1) % 4 != 2 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut odd = b"\x93NUMPY\x01\x00".to_vec();
    odd.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    odd.extend_from_slice(dict.as_bytes());
    assert_ne!(odd.len() % 4, 0, "the test needs an unaligned payload");
    odd.extend_from_slice(&f32_le(&v));
    let inp = put(d.path(), "odd.npy", &odd);
    same_bytes(d.path(), &inp, "e5m2", &[]);
    // Multi-dimensional and 0-d shapes; float64 and block formats (in-memory path).
    let inp = put(
        d.path(),
        "3d.npy",
        &npy_bytes("<f4", false, "(7, 100, 100)", &f32_le(&v[..70_000])),
    );
    same_bytes(d.path(), &inp, "e4m3", &["--codes"]);
    same_bytes(d.path(), &inp, "mxfp4", &[]);
    same_bytes(d.path(), &inp, "nvfp4", &[]);
    let inp = put(
        d.path(),
        "0d.npy",
        &npy_bytes("<f4", false, "()", &f32_le(&[1.3])),
    );
    same_bytes(d.path(), &inp, "e2m1", &[]);
    let w: Vec<f64> = v.iter().map(|&x| x as f64 * 1.000_000_1).collect();
    let inp = put(
        d.path(),
        "f8.npy",
        &npy_bytes("<f8", false, "(70001,)", &f64_le(&w)),
    );
    same_bytes(d.path(), &inp, "e4m3", &[]);
}

/// Hand-derived codes of [`EDGES`], cycled through arrays of every size in
/// [`SIZES`] (so the values land at every offset of a chunk).
fn check_codes(format: &str, extra: &[&str], want: &[u8; 20]) {
    let d = tempfile::tempdir().unwrap();
    for &n in &SIZES {
        let v: Vec<f32> = (0..n).map(|i| EDGES[i % EDGES.len()]).collect();
        let inp = put(
            d.path(),
            "in.npy",
            &npy_bytes("<f4", false, &format!("({n},)"), &f32_le(&v)),
        );
        let out = d.path().join("codes.npy");
        let mut args = extra.to_vec();
        args.push("--codes");
        quantize(&inp, &out, format, &args);
        let got = open_npy(&out).into_vec::<u8>().unwrap();
        assert_eq!(got.len(), n);
        for (i, &c) in got.iter().enumerate() {
            let k = i % EDGES.len();
            assert_eq!(
                c, want[k],
                "{format} {extra:?}, n = {n}, element {i} = {:e}",
                EDGES[k]
            );
        }
    }
}

#[test]
fn e4m3_codes_by_hand() {
    // RNE: 1.0625 ties to 1 (even), -1.1875 to -1.25, 2^-10 to 0, -3·2^-10
    // to -2^-8; 464 ties to 448 (even mantissa 110); 465 and beyond overflow.
    // Default overflow for e4m3 (no inf): NaN (0x7f, sign kept).
    let nan = [
        0x00, 0x80, 0x38, 0x38, 0xba, 0x01, 0x00, 0x82, 0x7e, 0x7e, 0x7f, 0xff, 0x7f, 0x7f, 0x00,
        0x7f, 0x7f, 0x7f, 0xff, 0xff,
    ];
    check_codes("e4m3", &[], &nan);
    // Saturate: overflow and infinities clamp to ±448; NaN stays NaN.
    let sat = [
        0x00, 0x80, 0x38, 0x38, 0xba, 0x01, 0x00, 0x82, 0x7e, 0x7e, 0x7e, 0xfe, 0x7e, 0x7e, 0x00,
        0x7e, 0x7f, 0x7e, 0xfe, 0xfe,
    ];
    check_codes("e4m3", &["--overflow", "saturate"], &sat);
}

#[test]
fn e5m2_codes_by_hand() {
    // 1.0625 and 1.1875 lie inside the step of 0.25 (no tie): 1 and -1.25.
    // 2^-9, 2^-10 and 3·2^-10 are normal in e5m2: 0x18, 0x14, 0x9a (1.5·2^-9).
    // 448 = 0x5f; 464 and 465 lie within 64 of it (step 64): 448; -480 =
    // -1.875·2^8 ties between 1.75 (odd) and 2 (even): -512 = 0xe0.
    // 57344 is the max (0x7b); 61440 ties between it (odd) and 2^16: overflow.
    let inf = [
        0x00, 0x80, 0x3c, 0x3c, 0xbd, 0x18, 0x14, 0x9a, 0x5f, 0x5f, 0x5f, 0xe0, 0x7b, 0x7c, 0x00,
        0x7c, 0x7e, 0x7c, 0xfc, 0xfc,
    ];
    check_codes("e5m2", &[], &inf);
    let sat = [
        0x00, 0x80, 0x3c, 0x3c, 0xbd, 0x18, 0x14, 0x9a, 0x5f, 0x5f, 0x5f, 0xe0, 0x7b, 0x7b, 0x00,
        0x7b, 0x7e, 0x7b, 0xfb, 0xfb,
    ];
    check_codes("e5m2", &["--overflow", "saturate"], &sat);
}

#[test]
fn streaming_errors_name_the_first_bad_element_and_leave_nothing() {
    let d = tempfile::tempdir().unwrap();
    let mut v = vec![1.0f32; 300_007];
    v[200_000] = f32::NAN;
    v[250_000] = f32::NAN;
    let inp = put(
        d.path(),
        "in.npy",
        &npy_bytes("<f4", false, "(300007,)", &f32_le(&v)),
    );
    let out = d.path().join("out.npy");
    for extra in [&["--nan", "error"][..], &["--nan", "error", "--reference"]] {
        let o = cli_support::quantize_run(&inp, &out, "e2m1", extra);
        assert_error(&o, "in.npy", "element [200000] (flat index 200000)");
        assert_eq!(listing(d.path()), ["in.npy"]);
    }
}

#[test]
fn streaming_in_place_replaces_a_mapped_input() {
    let d = tempfile::tempdir().unwrap();
    let bytes = npy_bytes("<f4", false, "(300007,)", &f32_le(&values(300_007)));
    let inp = put(d.path(), "in.npy", &bytes);
    let want = d.path().join("want.npy");
    quantize(&inp, &want, "e4m3", &["--reference"]);
    quantize(&inp, &inp, "e4m3", &["--in-place"]);
    assert!(fs::read(&inp).unwrap() == fs::read(&want).unwrap());
}
