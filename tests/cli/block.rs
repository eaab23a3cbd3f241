//! `bitsim quantize` with block formats (MX, NVFP4). These call
//! `formats::mx::quantize`; expected scales and codes are derived by hand
//! from the OCP MX v1.0 rule X = 2^(floor(log2 amax) − emax_elem).

use crate::cli_support;

use std::fs;
use std::path::Path;

use cli_support::{bits, descr, f32_le, listing, npy_bytes, put, quantize, read_f32};

/// (dtype, shape, raw little-endian data) of every array in an .npz.
fn npz(path: &Path) -> Vec<(String, String, Vec<u64>, Vec<u8>)> {
    let mut z = npyz::npz::NpzArchive::open(path).expect("npz opens");
    let mut names: Vec<String> = z.array_names().map(str::to_string).collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let f = z.by_name(&n).unwrap().unwrap();
            let (d, shape) = (descr(&f), f.shape().to_vec());
            let data = match d.as_str() {
                "|u1" => f.into_vec::<u8>().unwrap(),
                "<f4" => f32_le(&f.into_vec::<f32>().unwrap()),
                other => panic!("unexpected dtype {other}"),
            };
            (n, d, shape, data)
        })
        .collect()
}

/// Two rows of 40: blocks of 32 + 8 per row.
fn mx_input() -> (Vec<f32>, Vec<f32>) {
    let mut x = vec![0f32; 80];
    // Row 0, block 0: amax 6 -> X = 2^(2-2) = 1 (scale code 127); 0.3 -> 0.5.
    x[..6].copy_from_slice(&[6.0, 3.0, 1.5, 0.5, -4.0, 0.3]);
    // Row 0, block 1: amax 12 -> X = 2^(3-2) = 2 (code 128).
    x[32..35].copy_from_slice(&[12.0, 1.0, -2.0]);
    // Row 1, block 0: 0.75 everywhere -> X = 2^(-1-2) (code 124), element 6.
    x[40..72].fill(0.75);
    // Row 1, block 1: 1.0 -> X = 2^(0-2) (code 125), element 4.
    x[72..80].fill(1.0);
    let mut y = x.clone();
    y[5] = 0.5;
    (x, y)
}

#[test]
fn mxfp4_dequantized_and_codes() {
    let d = tempfile::tempdir().unwrap();
    let (x, want) = mx_input();
    let inp = put(
        d.path(),
        "in.npy",
        &npy_bytes("<f4", false, "(2, 40)", &f32_le(&x)),
    );
    let out = d.path().join("out.npy");
    quantize(&inp, &out, "mxfp4", &[]);
    let (shape, got) = read_f32(&out);
    assert_eq!(shape, [2, 40]);
    assert_eq!(bits(&got), bits(&want));

    let outz = d.path().join("out.npz");
    quantize(&inp, &outz, "mxfp4", &["--codes"]);
    let arrays = npz(&outz);
    assert_eq!(arrays.len(), 2);
    let (name, dt, shape, codes) = &arrays[0];
    assert_eq!(
        (name.as_str(), dt.as_str(), shape.as_slice()),
        ("codes", "|u1", &[2u64, 40][..])
    );
    let mut want_codes = vec![0u8; 80];
    want_codes[..6].copy_from_slice(&[0x7, 0x5, 0x3, 0x1, 0xe, 0x1]);
    want_codes[32..35].copy_from_slice(&[0x7, 0x1, 0xa]);
    want_codes[40..72].fill(0x7);
    want_codes[72..80].fill(0x6);
    assert_eq!(codes, &want_codes);
    let (name, dt, shape, scales) = &arrays[1];
    assert_eq!(
        (name.as_str(), dt.as_str(), shape.as_slice()),
        ("scales", "|u1", &[2u64, 2][..])
    );
    assert_eq!(scales, &[127, 128, 124, 125]);
    assert_eq!(listing(d.path()), ["in.npy", "out.npy", "out.npz"]);
}

#[test]
fn mx_block_override_changes_scale_shape() {
    let d = tempfile::tempdir().unwrap();
    let (x, _) = mx_input();
    let inp = put(
        d.path(),
        "in.npy",
        &npy_bytes("<f4", false, "(2, 1, 40)", &f32_le(&x)),
    );
    let outz = d.path().join("out.npz");
    quantize(&inp, &outz, "mxfp4:block=8", &["--codes"]);
    let arrays = npz(&outz);
    assert_eq!(arrays[0].2, [2, 1, 40]);
    assert_eq!(arrays[1].2, [2, 1, 5]);
}

#[test]
fn mxint8_codes() {
    let d = tempfile::tempdir().unwrap();
    let mut x = vec![0f32; 32];
    // amax 1.5 -> X = 2^0; element code = value / 2^-6.
    x[..4].copy_from_slice(&[1.5, 1.0, 0.5, -0.25]);
    let inp = put(
        d.path(),
        "in.npy",
        &npy_bytes("<f4", false, "(1, 32)", &f32_le(&x)),
    );
    let outz = d.path().join("out.npz");
    quantize(&inp, &outz, "mxint8", &["--codes"]);
    let arrays = npz(&outz);
    assert_eq!(arrays[0].3[..5], [96, 64, 32, 0xf0, 0]);
    assert_eq!(arrays[1].3, [127]);
    let out = d.path().join("out.npy");
    quantize(&inp, &out, "mxint8", &[]);
    assert_eq!(bits(&read_f32(&out).1), bits(&x));
}

#[test]
fn nvfp4_has_tensor_scale() {
    let d = tempfile::tempdir().unwrap();
    let x: Vec<f32> = (0..48).map(|i| (i as f32 - 20.0) * 0.25).collect();
    let inp = put(
        d.path(),
        "in.npy",
        &npy_bytes("<f4", false, "(3, 16)", &f32_le(&x)),
    );
    let outz = d.path().join("out.npz");
    quantize(&inp, &outz, "nvfp4", &["--codes"]);
    let arrays = npz(&outz);
    let names: Vec<&str> = arrays.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(names, ["codes", "scales", "tensor_scale"]);
    assert_eq!(arrays[0].2, [3, 16]);
    assert_eq!(arrays[1].2, [3, 1]);
    assert_eq!((arrays[2].1.as_str(), arrays[2].2.len()), ("<f4", 0));
    let out = d.path().join("out.npy");
    quantize(&inp, &out, "nvfp4", &[]);
    let (shape, v) = read_f32(&out);
    assert_eq!(shape, [3, 16]);
    // Signs and zero survive.
    for (a, b) in x.iter().zip(&v) {
        assert!(a.signum() == b.signum() || *b == 0.0, "{a} -> {b}");
    }
}

#[test]
fn block_same_seed_same_bytes() {
    let d = tempfile::tempdir().unwrap();
    let x: Vec<f32> = (0..256)
        .map(|i| ((i * 37) % 101) as f32 / 17.0 - 3.0)
        .collect();
    let inp = put(
        d.path(),
        "in.npy",
        &npy_bytes("<f4", false, "(4, 64)", &f32_le(&x)),
    );
    let run = |name: &str| {
        let p = d.path().join(name);
        quantize(
            &inp,
            &p,
            "mxfp4",
            &["--codes", "--rounding", "sr", "--seed", "5"],
        );
        fs::read(p).unwrap()
    };
    assert_eq!(run("a.npz"), run("b.npz"));
}
