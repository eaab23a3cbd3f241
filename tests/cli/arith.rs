//! `bitsim arith`: golden text output, `--json` fields, negative operands,
//! flags after operands, and every error case (one line, exit code 2).
//! Expected values are derived by hand from the format definitions.

use crate::cli_support;

use cli_support::{assert_error, bitsim, ok};
use serde_json::Value;

fn json(args: &[&str]) -> Value {
    let out = ok(args);
    assert_eq!(out.lines().count(), 1, "one JSON line: {out}");
    serde_json::from_str(&out).expect("valid JSON")
}

#[test]
fn golden_e4m3_mul() {
    // 1.5 = 0 0111 100 (0x3c); -2.5 = 1 1000 010 (0xc2); product -3.75 = 1 1000 111 (0xc7), exact.
    let out = ok(&["arith", "e4m3", "mul", "1.5", "-2.5"]);
    let want = "\
e4m3 mul on the ieee unit: rounding rne, overflow nan
operand  input  value  code  sign  exponent  mantissa
a        1.5    1.5    0x3c  0     0111      100
b        -2.5   -2.5   0xc2  1     1000      010
decimal operands are rounded into e4m3 with rne first (all were exact)
exact result: -3.75
unit result:  -3.75 (code 0xc7, sign 1, exponent 1000, mantissa 111)
error:        0 absolute, 0 relative, 0 ulp
";
    assert_eq!(out, want);
}

#[test]
fn golden_fp16_add_tie_with_codes() {
    // 1 (0x3c00) + 2^-11 (0x1000): the tie between 1 and 1 + 2^-10; rne keeps 1,
    // ru goes up to 0x3c01 = 1.0009765625, an error of +2^-11 = half an ulp.
    let out = ok(&[
        "arith",
        "fp16",
        "add",
        "0x3c00",
        "0x1000",
        "--rounding",
        "ru",
    ]);
    let want = "\
fp16 add on the ieee unit: rounding ru, overflow inf
operand  input   value          code    sign  exponent  mantissa
a        0x3c00  1              0x3c00  0     01111     0000000000
b        0x1000  0.00048828125  0x1000  0     00100     0000000000
exact result: 1.00048828125
unit result:  1.0009765625 (code 0x3c01, sign 0, exponent 01111, mantissa 0000000001)
error:        0.00048828125 absolute, 0.0004880429477794046 relative, 0.5 ulp
";
    // relative = 2^-11 / (1 + 2^-11) = 1/2049.
    assert_eq!(1.0 / 2049.0, 0.0004880429477794046);
    assert_eq!(out, want);
    let rne = json(&["arith", "fp16", "add", "0x3c00", "0x1000", "--json"]);
    assert_eq!(rne["result_bits"], 0x3c00);
}

#[test]
fn json_fields() {
    // bf16 fma: 3 × 0.5 + (-1) = 0.5 exactly (0x3f00).
    let v = json(&["arith", "bf16", "fma", "3", "0.5", "-1", "--json"]);
    assert_eq!(v["result_bits"], 0x3f00);
    assert_eq!(v["result"], 0.5);
    assert_eq!(v["exact"], 0.5);
    assert_eq!(v["exact_is_exact"], true);
    assert_eq!(v["op"], "fma");
    assert_eq!(v["unit"], "ieee");
    assert_eq!(v["rounding"], "rne");
    assert_eq!(v["operands"][0]["code"], 0x4040);
    assert_eq!(v["operands"][2]["sign"], "1");
    assert_eq!(v["operands"][1]["exponent"], "01111110");
    assert_eq!(v["error_ulps"], 0.0);
    // Specials as strings: inf + 1 = inf; -inf; inf - inf = nan.
    let v = json(&["arith", "fp16", "add", "inf", "1", "--json"]);
    assert_eq!(
        (v["result"].clone(), v["result_bits"].clone()),
        ("inf".into(), 0x7c00.into())
    );
    let v = json(&["arith", "fp16", "mul", "-inf", "2", "--json"]);
    assert_eq!(
        (v["result"].clone(), v["result_bits"].clone()),
        ("-inf".into(), 0xfc00.into())
    );
    let v = json(&["arith", "fp16", "sub", "inf", "inf", "--json"]);
    assert_eq!(
        (v["result"].clone(), v["result_bits"].clone()),
        ("nan".into(), 0x7e00.into())
    );
}

#[test]
fn negative_operands_and_flags_after_them() {
    // -1e-3 rounds to fp16 0x9419 (-0.0010004043579101563); × -inf = +inf.
    let v = json(&["arith", "fp16", "mul", "-1e-3", "-inf", "--json"]);
    assert_eq!(v["operands"][0]["code"], 0x9419);
    assert_eq!(v["operands"][0]["rounded_from_decimal"], true);
    assert_eq!(v["result"], "inf");
    // Flags before, between and after operands, with = or a separate value.
    let v = json(&[
        "arith",
        "--rounding=rtz",
        "e5m2",
        "add",
        "-1.5",
        "--json",
        "-0.125",
    ]);
    // -1.5 - 0.125 = -1.625: e5m2 has 2 mantissa bits (steps of 0.25 in [1, 2)): rtz → -1.5.
    assert_eq!(v["result"], -1.5);
    assert_eq!(v["rounding"], "rtz");
    let v = json(&[
        "arith",
        "e5m2",
        "add",
        "-1.5",
        "-0.125",
        "--rounding",
        "rd",
        "--json",
    ]);
    assert_eq!(v["result"], -1.75);
    // -- ends flags.
    let v = json(&["arith", "--json", "fp16", "sub", "--", "-2", "-3"]);
    assert_eq!(v["result"], 1.0);
    // Overflow policy: e4m3 448 + 64 saturates under --overflow saturate, else NaN.
    let v = json(&[
        "arith",
        "e4m3",
        "add",
        "448",
        "64",
        "--overflow",
        "saturate",
        "--json",
    ]);
    assert_eq!(v["result_bits"], 0x7e);
    let v = json(&["arith", "e4m3", "add", "448", "64", "--json"]);
    assert_eq!(v["result_bits"], 0x7f);
    // An overflow to +inf: fp16 65504 + 65504 = 131008 becomes +inf, an
    // infinite error (it used to be reported as NaN).
    let v = json(&["arith", "fp16", "add", "65504", "65504", "--json"]);
    assert_eq!(v["result_bits"], 0x7c00);
    assert_eq!(v["error_abs"], "inf");
    assert_eq!(v["error_rel"], "inf");
    assert_eq!(v["error_ulps"], "inf");
    let v = json(&["arith", "fp16", "mul", "-65504", "2", "--json"]);
    assert_eq!(v["result_bits"], 0xfc00);
    assert_eq!(v["error_abs"], "-inf");
    let out = ok(&["arith", "fp16", "add", "65504", "65504"]);
    assert!(!out.contains("NaN"), "{out}");
}

#[test]
fn text_mentions_rounded_operands_and_inexact_f64() {
    let out = ok(&["arith", "fp16", "add", "0.1", "1"]);
    assert!(
        out.contains("rounded into fp16 with rne first (changed: a)"),
        "{out}"
    );
    // f32: 1 + 2^-100 is not an f64... it is; 2^100 + 2^-100 is not.
    let out = ok(&["arith", "f32", "add", "0x71800000", "0x0d800000"]);
    assert!(out.contains("not an f64: shown rounded to f64"), "{out}");
}

#[test]
fn errors_are_one_line_exit_2() {
    let e = |args: &[&str], input: &str, reason: &str| assert_error(&bitsim(args), input, reason);
    e(&["arith", "e9m9", "add", "1", "2"], "e9m9", "exponent bits");
    e(
        &["arith", "nosuch", "add", "1", "2"],
        "nosuch",
        "unknown format",
    );
    e(
        &["arith", "int8", "add", "1", "2"],
        "int8",
        "integer format",
    );
    e(
        &["arith", "mxfp8", "add", "1", "2"],
        "mxfp8",
        "block-scaled",
    );
    e(
        &["arith", "fp16", "div", "1", "2"],
        "div",
        "unknown operation",
    );
    e(
        &["arith", "fp16", "add", "1"],
        "add operands",
        "takes 2 operands, got 1",
    );
    e(
        &["arith", "fp16", "add", "1", "2", "3"],
        "add operands",
        "takes 2 operands, got 3",
    );
    e(
        &["arith", "fp16", "fma", "1", "2"],
        "fma operands",
        "takes 3 operands",
    );
    e(&["arith", "fp16", "add", "1", "abc"], "abc", "not a number");
    e(&["arith", "fp16", "add", "1", "-x"], "-x", "not a number");
    e(
        &["arith", "fp16", "add", "1", "0x10000"],
        "0x10000",
        "code out of range",
    );
    e(
        &["arith", "e4m3", "add", "1", "0xzz"],
        "0xzz",
        "not a non-negative integer",
    );
    e(
        &[
            "arith",
            "bf16",
            "fma",
            "1",
            "2",
            "3",
            "--unit",
            "lmul-carry",
        ],
        "lmul-carry",
        "only mul",
    );
    e(
        &["arith", "bf16", "add", "1", "2", "--unit", "lmul-literal"],
        "lmul-literal",
        "only mul",
    );
    e(
        &["arith", "bf16", "mul", "1", "2", "--unit", "log"],
        "--unit log",
        "unknown unit",
    );
    e(
        &["arith", "bf16", "mul", "1", "2", "--rounding", "up"],
        "--rounding up",
        "unknown rounding",
    );
    e(
        &["arith", "e4m3", "mul", "1", "2", "--overflow", "inf"],
        "--overflow inf",
        "no infinity",
    );
    e(
        &["arith", "e4m3", "mul", "1", "2", "--bogus"],
        "--bogus",
        "unknown flag",
    );
    e(
        &["arith", "e4m3", "mul", "1", "2", "--rounding"],
        "--rounding",
        "needs a value",
    );
    e(
        &["arith", "e4m3", "mul", "1", "2", "--json=yes"],
        "--json=yes",
        "takes no value",
    );
}

#[test]
fn lmul_unit_on_placeholder_is_wired() {
    // Only checks the plumbing (the unit's value is checked in the ignored tests).
    let v = json(&[
        "arith",
        "bf16",
        "mul",
        "1.5",
        "1.5",
        "--unit",
        "lmul-carry",
        "--json",
    ]);
    assert_eq!(v["unit"], "lmul-carry");
    assert_eq!(v["exact"], 2.25);
}

#[test]

fn lmul_carry_bf16_hand_derived() {
    // 0x3fc0 + 0x3fc0 − 0x3f78 = 0x4008 = 2 × (1 + 8/128) = 2.125.
    let v = json(&[
        "arith",
        "bf16",
        "mul",
        "1.5",
        "1.5",
        "--unit",
        "lmul-carry",
        "--json",
    ]);
    assert_eq!(v["result_bits"], 0x4008);
    assert_eq!(v["result"], 2.125);
    // 1 × 1: 0x3f80 + 0x3f80 − 0x3f78 = 0x3f88 = 1 + 8/128 (the 2^-4 offset).
    let v = json(&[
        "arith",
        "bf16",
        "mul",
        "1",
        "1",
        "--unit",
        "lmul-carry",
        "--json",
    ]);
    assert_eq!(v["result_bits"], 0x3f88);
    // -2 × 1.5: sign xor; 0x4000 + 0x3fc0 − 0x3f78 = 0x4048 → 0xc048 = -3.125.
    let v = json(&[
        "arith",
        "bf16",
        "mul",
        "-2",
        "1.5",
        "--unit",
        "lmul-carry",
        "--json",
    ]);
    assert_eq!(v["result_bits"], 0xc048);
}

#[test]

fn lmul_literal_bf16_hand_derived() {
    // (1 + 0.5 + 0.5 + 2^-4) × 2^0 = 2.0625 = 2 × (1 + 4/128) → 0x4004.
    let v = json(&[
        "arith",
        "bf16",
        "mul",
        "1.5",
        "1.5",
        "--unit",
        "lmul-literal",
        "--json",
    ]);
    assert_eq!(v["result_bits"], 0x4004);
    assert_eq!(v["result"], 2.0625);
    // Zero in, zero out.
    let v = json(&[
        "arith",
        "bf16",
        "mul",
        "0",
        "1.5",
        "--unit",
        "lmul-literal",
        "--json",
    ]);
    assert_eq!(v["result"], 0.0);
}

#[test]
fn non_ascii_operands_are_errors_not_panics() {
    for bad in ["€", "0é", "0x€"] {
        let o = bitsim(&["arith", "e4m3", "add", bad, "1"]);
        assert_error(&o, bad, "");
    }
}

/// A decimal operand that is not an f64 is never reported as exact, and is
/// rounded once: 0.999…9 rounds down to 0.9375 in e4m3, not to 1.
#[test]
fn inexact_decimal_operands_are_reported() {
    let out = ok(&[
        "arith",
        "e4m3",
        "mul",
        "0.99999999999999999999",
        "1",
        "--rounding",
        "rd",
    ]);
    assert!(!out.contains("all were exact"), "{out}");
    assert!(out.contains("(changed: a)"), "{out}");
    let a = out.lines().find(|l| l.starts_with("a ")).unwrap();
    assert!(a.contains("0x37") && a.contains("0.9375"), "{out}");
}
