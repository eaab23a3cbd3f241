//! `bitsim attention run`: outputs on hand cases (expected values derived by
//! hand), equality with the library's emulation on seeded tensors, and every
//! way the inputs can be bad (one-line error, exit 2, no output file).

use crate::cli_support;

use std::path::{Path, PathBuf};

use bitsim::attention::{self, AttnShape, Qkv};
use cli_support::{assert_error, bitsim, f32_le, f64_le, listing, npy_bytes, ok, put, read_f32};

/// A float32 `.npy` of shape `dims` holding `v`.
fn tensor(dir: &Path, name: &str, dims: &[usize], v: &[f32]) -> PathBuf {
    let dims: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
    let shape = format!("({})", dims.join(", "));
    put(dir, name, &npy_bytes("<f4", false, &shape, &f32_le(v)))
}

fn args<'a>(variant: &'a str, q: &'a Path, k: &'a Path, v: &'a Path, o: &'a Path) -> Vec<String> {
    [
        "attention",
        "run",
        variant,
        "--q",
        &q.display().to_string(),
        "--k",
        &k.display().to_string(),
        "--v",
        &v.display().to_string(),
        "--out",
        &o.display().to_string(),
    ]
    .map(String::from)
    .to_vec()
}

fn run_ok(a: &[String]) -> String {
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    ok(&a)
}

/// Zero queries score every key 0, so the weights are uniform over the
/// visible keys: non-causal rows are the mean of all values, causal row i
/// the mean of values 0..=i. Values (1, 2), (3, 4), (8, 6), (4, 0): means
/// (4, 3) over all four; causal prefixes (1, 2), (2, 3), (4, 4), (4, 3).
/// Exact in f32 for the flash-style variants (weights 1, sum, one division);
/// the naive variant divides first (P = 1/3 is inexact), so it is checked
/// on the non-causal rows only (P = 1/4).
#[test]
fn uniform_weights_by_hand() {
    let d = tempfile::tempdir().unwrap();
    let q = tensor(d.path(), "q.npy", &[1, 4, 2], &[0.0; 8]);
    let k = tensor(
        d.path(),
        "k.npy",
        &[1, 4, 2],
        &[0.5, -1.0, 2.0, 0.25, -3.0, 1.0, 7.0, 7.0],
    );
    let v = tensor(
        d.path(),
        "v.npy",
        &[1, 4, 2],
        &[1.0, 2.0, 3.0, 4.0, 8.0, 6.0, 4.0, 0.0],
    );
    let o = d.path().join("o.npy");
    for variant in [
        "attention/f32",
        "attention/flash-f32",
        "attention/flash-bf16",
        "attention/split-kv",
    ] {
        let msg = run_ok(&args(variant, &q, &k, &v, &o));
        assert!(msg.contains("prefill 1x4x4x2"), "{msg}");
        let (shape, got) = read_f32(&o);
        assert_eq!(shape, [1, 4, 2]);
        assert_eq!(got, [4.0, 3.0, 4.0, 3.0, 4.0, 3.0, 4.0, 3.0], "{variant}");
        if variant == "attention/f32" {
            continue;
        }
        let mut a = args(variant, &q, &k, &v, &o);
        a.push("--causal".into());
        let msg = run_ok(&a);
        assert!(msg.contains("causal"), "{msg}");
        let (_, got) = read_f32(&o);
        assert_eq!(
            got,
            [1.0, 2.0, 2.0, 3.0, 4.0, 4.0, 4.0, 3.0],
            "{variant} causal"
        );
    }
    assert_eq!(listing(d.path()), ["k.npy", "o.npy", "q.npy", "v.npy"]);
}

/// `attention/f64` writes float64; one query row is decode (it sees every
/// key, causal or not). Weights by hand: q = (ln 2 · √2 · …) chosen so the
/// scores are 0 and ln 2 over keys e₀ and e₁: weights 1/3 and 2/3.
#[test]
fn f64_decode_by_hand() {
    let d = tempfile::tempdir().unwrap();
    // d = 2, 1/√d = 1/√2: q = (0, √2·ln 2) gives scores 0 and ln 2.
    let s = std::f64::consts::SQRT_2 * std::f64::consts::LN_2;
    let q = put(
        d.path(),
        "q.npy",
        &npy_bytes("<f8", false, "(1, 1, 2)", &f64_le(&[0.0, s])),
    );
    let k = tensor(d.path(), "k.npy", &[1, 2, 2], &[1.0, 0.0, 0.0, 1.0]);
    let v = tensor(d.path(), "v.npy", &[1, 2, 2], &[3.0, 0.0, 0.0, 3.0]);
    let o = d.path().join("o.npy");
    let mut a = args("attention/f64", &q, &k, &v, &o);
    a.push("--causal".into());
    let msg = run_ok(&a);
    assert!(msg.contains("decode 1x1x2x2"), "{msg}");
    let f = cli_support::open_npy(&o);
    assert_eq!(cli_support::descr(&f), "<f8");
    assert_eq!(f.shape(), [1, 1, 2]);
    let got = f.into_vec::<f64>().unwrap();
    // q was read as f64 and rounded to f32, so the weights are 1/3, 2/3
    // only to about 1e-7.
    assert!(
        (got[0] - 1.0).abs() < 1e-6 && (got[1] - 2.0).abs() < 1e-6,
        "{got:?}"
    );
}

/// The command writes exactly the library's emulation (native kernel or
/// not) for every registered variant on seeded realistic tensors.
#[test]
fn equals_the_library_emulation_for_every_variant() {
    let d = tempfile::tempdir().unwrap();
    for (causal, nq) in [(false, 37), (true, 37), (true, 1)] {
        let shape = AttnShape {
            heads: 2,
            nq,
            nk: 37,
            d: 32,
            causal,
        };
        let x = bitsim::workload::attention::realistic(AttnShape { nq: 37, ..shape }, 5);
        let nqd = nq * 32;
        let qs: Vec<f32> = (0..2)
            .flat_map(|h| x.q[h * 37 * 32 + (37 - nq) * 32..(h + 1) * 37 * 32].to_vec())
            .collect();
        assert_eq!(qs.len(), 2 * nqd);
        let x = Qkv::new(shape, qs, x.k, x.v).unwrap();
        let q = tensor(d.path(), "q.npy", &[2, nq, 32], &x.q);
        let k = tensor(d.path(), "k.npy", &[2, 37, 32], &x.k);
        let v = tensor(d.path(), "v.npy", &[2, 37, 32], &x.v);
        let o = d.path().join("o.npy");
        for var in attention::registry() {
            if var.name() == "attention/f64" {
                continue;
            }
            let mut a = args(var.name(), &q, &k, &v, &o);
            if causal {
                a.push("--causal".into());
            }
            run_ok(&a);
            let (shape, got) = read_f32(&o);
            assert_eq!(shape, [2, nq as u64, 32]);
            let want: Vec<u32> = var
                .emulate(&x)
                .iter()
                .map(|&y| (y as f32).to_bits())
                .collect();
            let got: Vec<u32> = got.iter().map(|y| y.to_bits()).collect();
            assert!(got == want, "{} causal={causal} nq={nq}", var.name());
        }
    }
}

#[test]
fn bad_inputs_are_one_line_errors() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let q = tensor(p, "q.npy", &[2, 3, 4], &[0.5; 24]);
    let k = tensor(p, "k.npy", &[2, 3, 4], &[0.5; 24]);
    let v = tensor(p, "v.npy", &[2, 3, 4], &[0.5; 24]);
    let o = p.join("o.npy");
    let run = |a: Vec<String>| bitsim(&a);

    let flat = tensor(p, "flat.npy", &[6, 4], &[0.5; 24]);
    let e = run(args("attention/f32", &flat, &k, &v, &o));
    assert_error(&e, "flat.npy", "expected 3");

    let heads3 = tensor(p, "heads3.npy", &[3, 2, 4], &[0.5; 24]);
    let e = run(args("attention/f32", &q, &heads3, &v, &o));
    assert_error(&e, "--k", "3 heads, but Q has 2");

    let dim2 = tensor(p, "dim2.npy", &[2, 6, 2], &[0.5; 24]);
    let e = run(args("attention/f32", &q, &k, &dim2, &o));
    assert_error(&e, "--v", "head dim 2, but Q has 4");

    let v5 = tensor(p, "v5.npy", &[2, 5, 4], &[0.5; 40]);
    let e = run(args("attention/f32", &q, &k, &v5, &o));
    assert_error(&e, "--v", "5 tokens, but K has 3");

    let mut nan = vec![0.5f32; 24];
    nan[13] = f32::NAN;
    let knan = tensor(p, "knan.npy", &[2, 3, 4], &nan);
    let e = run(args("attention/f32", &q, &knan, &v, &o));
    assert_error(&e, "knan.npy", "element [1, 0, 1] is NaN");

    let big = put(
        p,
        "big.npy",
        &npy_bytes("<f8", false, "(2, 3, 4)", &f64_le(&[1e300; 24])),
    );
    let e = run(args("attention/f32", &q, &k, &big, &o));
    assert_error(&e, "big.npy", "inf as float32");

    let empty = tensor(p, "empty.npy", &[2, 0, 4], &[]);
    let e = run(args("attention/f32", &q, &empty, &v, &o));
    assert_error(&e, "empty.npy", "empty dimension");

    let q5 = tensor(p, "q5.npy", &[2, 5, 4], &[0.5; 40]);
    let mut a = args("attention/f32", &q5, &k, &v, &o);
    a.push("--causal".into());
    assert_error(&run(a), "--q", "need nq <= nk");

    let e = run(args("attention/nope", &q, &k, &v, &o));
    assert_error(&e, "attention/nope", "not a registered attention variant");

    let e = run(args("attention/f32", &p.join("missing.npy"), &k, &v, &o));
    assert_error(&e, "missing.npy", "cannot read");

    // Finite f32 inputs beyond fp16's range overflow an fp16-input variant.
    let huge = tensor(p, "huge.npy", &[2, 3, 4], &[1e6; 24]);
    let e = run(args("attention/flash-fp16acc", &q, &k, &huge, &o));
    assert_error(&e, "attention/flash-fp16acc", "exceed the range");

    assert!(!o.exists(), "no output after an error");
    assert!(listing(p).iter().all(|f| f.ends_with(".npy")));
}
