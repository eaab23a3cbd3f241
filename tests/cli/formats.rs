//! The `bitsim` binary's `formats` subcommands, help, version, and the
//! error rule for bad formats, options, numbers and codes. Expected codes
//! and values are derived by hand from the OCP OFP8 / MX v1.0 tables.

use crate::cli_support;

use cli_support::{assert_error, bitsim, ok};

/// Rows of an aligned table after its first `skip` lines, split on whitespace.
fn rows(out: &str, skip: usize) -> Vec<Vec<String>> {
    out.lines()
        .skip(skip)
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

/// `formats encode` rows: [input, code, bits, value, error].
fn encode(args: &[&str]) -> Vec<Vec<String>> {
    let mut a = vec!["formats", "encode"];
    a.extend_from_slice(args);
    let out = ok(&a);
    // The table only: the note listing inexact decimals follows it.
    let table: String = out
        .lines()
        .filter(|l| !l.starts_with("not an f64"))
        .map(|l| format!("{l}\n"))
        .collect();
    let r = rows(&table, 1);
    assert_eq!(r[0], ["input", "code", "bits", "value", "error"]);
    r[1..].to_vec()
}

fn row(code: &str, bits: &str, value: &str) -> (String, String, String) {
    (code.into(), bits.into(), value.into())
}

fn code_bits_value(r: &[String]) -> (String, String, String) {
    (r[1].clone(), r[2].clone(), r[3].clone())
}

#[test]
fn show_e2m1_csv_matches_golden() {
    let golden = include_str!("../golden/e2m1.csv");
    assert_eq!(ok(&["formats", "show", "e2m1", "--csv"]), golden);
    // Aliases name the same format.
    assert_eq!(ok(&["formats", "show", "FP4", "--csv"]), golden);
}

#[test]
fn show_e4m3_csv_selected_rows() {
    let out = ok(&["formats", "show", "e4m3", "--csv"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 257);
    assert_eq!(lines[0], "code,bits,value");
    // Line k + 1 is code k.
    assert_eq!(lines[1 + 0x01], "1,00000001,0.001953125"); // 2^-9, min subnormal
    assert_eq!(lines[1 + 0x08], "8,00001000,0.015625"); // 2^-6, min normal
    assert_eq!(lines[1 + 0x38], "56,00111000,1");
    assert_eq!(lines[1 + 0x7e], "126,01111110,448");
    assert_eq!(lines[1 + 0x7f], "127,01111111,nan");
    assert_eq!(lines[1 + 0x80], "128,10000000,-0");
    assert_eq!(lines[1 + 0xfe], "254,11111110,-448");
    assert_eq!(lines[1 + 0xff], "255,11111111,nan");
}

/// Every fp16 and bf16 code against the `half` crate (an independent
/// decoder); every value must parse back to exactly the decoded number.
#[test]
fn show_fp16_and_bf16_csv_exhaustive() {
    for (name, dec) in [
        (
            "fp16",
            (|c| half::f16::from_bits(c).to_f64()) as fn(u16) -> f64,
        ),
        ("bf16", |c| half::bf16::from_bits(c).to_f64()),
    ] {
        let out = ok(&["formats", "show", name, "--csv"]);
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some("code,bits,value"));
        let mut n = 0u32;
        for (c, line) in lines.enumerate() {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f[0], c.to_string());
            assert_eq!(f[1], format!("{c:016b}"));
            let want = dec(c as u16);
            let text = f[2];
            if want.is_nan() {
                assert_eq!(text, "nan", "{name} code {c}");
            } else if want.is_infinite() {
                assert_eq!(
                    text,
                    if want > 0.0 { "inf" } else { "-inf" },
                    "{name} code {c}"
                );
            } else {
                let got: f64 = text
                    .parse()
                    .unwrap_or_else(|_| panic!("{name} {c}: {text}"));
                assert_eq!(got.to_bits(), want.to_bits(), "{name} code {c}: {text}");
            }
            n += 1;
        }
        assert_eq!(n, 65536);
    }
    // A tiny value (2^-24) uses scientific notation.
    let out = ok(&["formats", "show", "fp16", "--csv"]);
    let v = out
        .lines()
        .nth(2)
        .unwrap()
        .split(',')
        .nth(2)
        .unwrap()
        .to_string();
    assert!(v.contains('e'), "{v}");
    assert_eq!(v.parse::<f64>().unwrap(), 2f64.powi(-24));
}

#[test]
fn show_table_has_hex_and_kind() {
    let out = ok(&["formats", "show", "e4m3"]);
    let r = rows(&out, 2);
    assert_eq!(r.len(), 256);
    assert_eq!(r[0x7e], ["126", "0x7e", "01111110", "448", "normal"]);
    assert_eq!(r[0x7f], ["127", "0x7f", "01111111", "nan", "nan"]);
    assert_eq!(
        r[0x01],
        ["1", "0x01", "00000001", "0.001953125", "subnormal"]
    );
    assert_eq!(r[0x80], ["128", "0x80", "10000000", "-0", "zero"]);
    let out = ok(&["formats", "show", "int4"]);
    let r = rows(&out, 2);
    assert_eq!(r[0x8], ["8", "0x8", "1000", "-8", "int"]);
    assert_eq!(r[0x7], ["7", "0x7", "0111", "7", "int"]);
}

#[test]
fn unused_integer_codes_have_no_value() {
    // Ternary code 0b10 stands for nothing (values -1, 0, +1); it used to
    // be listed as -2.
    let out = ok(&["formats", "show", "ternary"]);
    let r = rows(&out, 2);
    assert_eq!(r[2], ["2", "0x2", "10", "-", "unused"]);
    assert_eq!(r[3], ["3", "0x3", "11", "-1", "int"]);
    let csv = ok(&["formats", "show", "ternary", "--csv"]);
    assert_eq!(csv.lines().nth(3), Some("2,10,"));
    let out = ok(&["formats", "show", "int4:symmetric"]);
    assert_eq!(rows(&out, 2)[0x8], ["8", "0x8", "1000", "-", "unused"]);
}

#[test]
fn encode_e4m3_hand_derived() {
    let r = encode(&["e4m3", "464", "465", "448", "-0", "1e-9"]);
    // 464 is the tie between 448 (mantissa 110, even) and 480: RNE gives 448.
    assert_eq!(r[0][0], "464");
    assert_eq!(code_bits_value(&r[0]), row("0x7e", "01111110", "448"));
    assert_eq!(r[0][4], "-16");
    // Above the tie: the non-saturating default gives NaN.
    assert_eq!(code_bits_value(&r[1]), row("0x7f", "01111111", "nan"));
    assert_eq!(code_bits_value(&r[2]), row("0x7e", "01111110", "448"));
    assert_eq!(r[2][4], "0");
    assert_eq!(r[3][0], "-0");
    assert_eq!(code_bits_value(&r[3]), row("0x80", "10000000", "-0"));
    // 1e-9 is far below half the smallest subnormal 2^-9.
    assert_eq!(r[4][0], "1e-9");
    assert_eq!(code_bits_value(&r[4]), row("0x00", "00000000", "0"));
    assert_eq!(r[4][4], "-1e-9");
}

#[test]
fn encode_overflow_policies() {
    let r = encode(&["e4m3", "480"]);
    assert_eq!(code_bits_value(&r[0]), row("0x7f", "01111111", "nan"));
    let r = encode(&["e4m3", "480", "--overflow", "saturate"]);
    assert_eq!(code_bits_value(&r[0]), row("0x7e", "01111110", "448"));
    // Flags may come first too; -inf saturates to -448.
    let r = encode(&["e4m3", "--overflow", "saturate", "-inf"]);
    assert_eq!(code_bits_value(&r[0]), row("0xfe", "11111110", "-448"));
    // e5m2: 61440 is the tie above 57344 and goes to inf by default.
    let r = encode(&["e5m2", "61440", "61439", "-61440"]);
    assert_eq!(code_bits_value(&r[0]), row("0x7c", "01111100", "inf"));
    assert_eq!(code_bits_value(&r[1]), row("0x7b", "01111011", "57344"));
    assert_eq!(code_bits_value(&r[2]), row("0xfc", "11111100", "-inf"));
    let r = encode(&["e5m2", "61440", "--overflow=saturate"]);
    assert_eq!(code_bits_value(&r[0]), row("0x7b", "01111011", "57344"));
}

#[test]
fn encode_fp4_ties_to_even() {
    let r = encode(&[
        "e2m1",
        "0.25",
        "0.75",
        "1.25",
        "1.75",
        "2.5",
        "3.5",
        "5",
        "-5",
        "--rounding",
        "rne",
    ]);
    let codes: Vec<&str> = r.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(
        codes,
        ["0x0", "0x2", "0x2", "0x4", "0x4", "0x6", "0x6", "0xe"]
    );
    let values: Vec<&str> = r.iter().map(|r| r[3].as_str()).collect();
    assert_eq!(values, ["0", "1", "1", "2", "2", "4", "4", "-4"]);
    // Round toward zero and ties away.
    let r = encode(&["e2m1", "5.9", "-0.75", "--rounding", "rtz"]);
    assert_eq!((r[0][1].as_str(), r[1][1].as_str()), ("0x6", "0x9"));
    let r = encode(&["e2m1", "0.25", "2.5", "--rounding", "rna"]);
    assert_eq!((r[0][1].as_str(), r[1][1].as_str()), ("0x1", "0x5"));
}

#[test]
fn encode_negative_values_and_specials() {
    // Values starting with '-' work before and after flags.
    let r = encode(&[
        "e4m3",
        "-1e-9",
        "--rounding",
        "rne",
        "-inf",
        "-nan",
        "nan",
        "-2.5E+1",
    ]);
    assert_eq!(r[0][0], "-1e-9");
    assert_eq!(r[0][1], "0x80");
    assert_eq!(r[1][1], "0xff"); // -inf -> NaN (no inf in e4m3)
    assert_eq!(r[2][1], "0xff"); // NaN keeps its sign
    assert_eq!(r[3][1], "0x7f");
    assert_eq!(r[4][0], "-25");
    // 25 is the tie between 24 = 1.100b x 2^4 and 26 = 1.101b x 2^4: even mantissa, 24.
    assert_eq!(code_bits_value(&r[4]), row("0xdc", "11011100", "-24"));
}

#[test]
fn encode_stochastic_is_seeded() {
    let args = [
        "e2m1",
        "0.3",
        "0.3",
        "0.3",
        "0.3",
        "0.3",
        "0.3",
        "0.3",
        "0.3",
        "--rounding",
        "sr",
        "--seed",
        "42",
    ];
    let a = encode(&args);
    let b = encode(&args);
    assert_eq!(a, b);
    for r in &a {
        assert!(r[1] == "0x0" || r[1] == "0x1", "{r:?}");
    }
}

#[test]
fn decode_hex_binary_decimal() {
    let out = ok(&[
        "formats",
        "decode",
        "e5m2",
        "0x7c",
        "0x7b",
        "0b01111101",
        "1",
        "0X3C",
    ]);
    let r = rows(&out, 2);
    assert_eq!(r[0], ["0x7c", "01111100", "inf", "inf"]);
    assert_eq!(r[1], ["0x7b", "01111011", "57344", "normal"]);
    assert_eq!(r[2], ["0x7d", "01111101", "nan", "nan"]);
    assert_eq!(
        r[3],
        ["0x01", "00000001", "0.0000152587890625", "subnormal"]
    ); // 2^-16
    assert_eq!(r[4], ["0x3c", "00111100", "1", "normal"]);
    let out = ok(&["formats", "decode", "e2m1", "0xf", "8", "0b0111"]);
    let r = rows(&out, 2);
    assert_eq!(r[0][2], "-6");
    assert_eq!(r[1][2], "-0");
    assert_eq!(r[2][2], "6");
    let out = ok(&["formats", "decode", "e8m0", "0x7f", "0xff", "0"]);
    let r = rows(&out, 2);
    assert_eq!(r[0][2], "1");
    assert_eq!(r[1][2], "nan");
    // 2^-127, printed in scientific notation and exact.
    assert!(r[2][2].contains('e'));
    assert_eq!(r[2][2].parse::<f64>().unwrap(), 2f64.powi(-127));
}

#[test]
fn list_has_every_preset_and_max_values() {
    let out = ok(&["formats", "list"]);
    let find = |name: &str| -> Vec<String> {
        out.lines()
            .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
            .find(|r| r.first().map(String::as_str) == Some(name))
            .unwrap_or_else(|| panic!("{name} missing from list:\n{out}"))
    };
    // name, bits, bias, max finite.
    for (name, bits, bias, max) in [
        ("e2m1", "4", "1", "6"),
        ("e2m3", "6", "1", "7.5"),
        ("e3m2", "6", "3", "28"),
        ("e4m3", "8", "7", "448"),
        ("e5m2", "8", "15", "57344"),
        ("e4m3fnuz", "8", "8", "240"),
        ("e5m2fnuz", "8", "16", "57344"),
        ("e4m3b11fnuz", "8", "11", "30"),
        ("e3m4", "8", "3", "15.5"),
        ("fp16", "16", "15", "65504"),
    ] {
        assert_eq!(find(name)[..4], [name, bits, bias, max], "{name}");
    }
    let e4m3 = find("e4m3").join(" ");
    assert!(
        e4m3.contains("0.015625 0.001953125 NaN 0x7f,0xff; no inf"),
        "{e4m3}"
    );
    assert!(find("e5m2").join(" ").contains("inf 0x7c,0xfc"));
    assert_eq!(find("int8")[..4], ["int8", "8", "-", "127"]);
    assert_eq!(find("mxfp4")[1..5], ["e2m1", "e8m0", "32", "4.25"]);
    assert_eq!(find("nvfp4")[1..5], ["e2m1", "e4m3", "16", "4.5"]);
    assert_eq!(find("mxfp8")[1..5], ["e4m3", "e8m0", "32", "8.25"]);
    // Columns are aligned: every header starts at the same offset in each row.
    let lines: Vec<&str> = out.lines().skip(1).take_while(|l| !l.is_empty()).collect();
    let col = lines[0].find("bits").unwrap();
    for l in &lines[1..] {
        assert_eq!(&l[col - 2..col], "  ", "misaligned: {l}");
        assert_ne!(&l[col..col + 1], " ", "misaligned: {l}");
    }
}

#[test]
fn help_everywhere_and_version() {
    for args in [
        &["--help"][..],
        &["formats", "--help"],
        &["formats", "list", "--help"],
        &["formats", "show", "--help"],
        &["formats", "encode", "--help"],
        &["formats", "decode", "--help"],
        &["quantize", "--help"],
        &["help", "quantize"],
    ] {
        let o = bitsim(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("Usage"),
            "{args:?}"
        );
    }
    let help = ok(&["quantize", "--help"]);
    for word in ["codes.npy", "scales.npy", "tensor_scale.npy", "last axis"] {
        assert!(help.contains(word), "quantize --help lacks {word}");
    }
    assert_eq!(
        ok(&["--version"]).trim(),
        format!("bitsim {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_formats_are_one_line_errors() {
    for (f, reason) in [
        ("nope", "unknown format"),
        ("e0m0", "exponent bits"),
        ("e9m30", "exponent bits"),
        ("e4m3:bias=99", "bias 99 out of range"),
        ("e4m3:bias=x", "not a valid number"),
        ("e4m3:color=red", "unknown override"),
        ("int99", "width"),
    ] {
        for cmd in [
            &["formats", "show", f][..],
            &["formats", "encode", f, "1"],
            &["formats", "decode", f, "0"],
        ] {
            assert_error(&bitsim(cmd), f, reason);
        }
    }
    assert_error(
        &bitsim(&["formats", "show", "f32"]),
        "f32",
        "at most 16 bits",
    );
    assert_error(
        &bitsim(&["formats", "show", "mxfp4"]),
        "mxfp4",
        "block-scaled",
    );
    assert_error(
        &bitsim(&["formats", "encode", "nvfp4", "1"]),
        "nvfp4",
        "block-scaled",
    );
}

#[test]
fn bad_option_values_are_one_line_errors() {
    let enc = |extra: &[&str]| {
        let mut a = vec!["formats", "encode", "e4m3", "1"];
        a.extend_from_slice(extra);
        bitsim(&a)
    };
    assert_error(
        &enc(&["--rounding", "up"]),
        "--rounding up",
        "unknown rounding mode",
    );
    assert_error(
        &enc(&["--overflow", "wrap"]),
        "--overflow wrap",
        "unknown overflow",
    );
    assert_error(
        &enc(&["--overflow", "inf"]),
        "--overflow inf",
        "no infinity",
    );
    assert_error(
        &enc(&["--nan", "maybe"]),
        "--nan maybe",
        "unknown NaN policy",
    );
    assert_error(
        &enc(&["--seed", "x1"]),
        "--seed x1",
        "not a non-negative integer",
    );
    assert_error(
        &enc(&["--seed", "-3"]),
        "--seed -3",
        "not a non-negative integer",
    );
    assert_error(&enc(&["--sr-bits", "0"]), "--sr-bits 0", "1..=32");
    assert_error(&enc(&["--sr-bits", "33"]), "--sr-bits 33", "1..=32");
    // --sr-bits without stochastic rounding used to be ignored silently.
    assert_error(&enc(&["--sr-bits", "4"]), "--sr-bits 4", "--rounding sr");
    assert_error(
        &enc(&["--rounding", "rtz", "--sr-bits", "4"]),
        "--sr-bits 4",
        "not --rounding rtz",
    );
    let o = bitsim(&["arith", "e4m3", "add", "1", "2", "--sr-bits", "4"]);
    assert_error(&o, "--sr-bits 4", "--rounding sr");
    ok(&[
        "formats",
        "encode",
        "e4m3",
        "1.1",
        "--rounding",
        "sr",
        "--sr-bits",
        "4",
    ]);
    let o = bitsim(&["formats", "encode", "int8", "1", "--overflow", "nan"]);
    assert_error(&o, "--overflow nan", "only saturates");
    let o = bitsim(&["formats", "encode", "e2m1", "1", "--overflow", "nan"]);
    assert_error(&o, "--overflow nan", "no NaN");
}

#[test]
fn nan_policy_error_for_fp4() {
    let o = bitsim(&["formats", "encode", "e2m1", "1", "nan", "--nan", "error"]);
    assert_error(&o, "value 'nan'", "cannot be represented");
    // The other policies: -0 code (default) and +max.
    assert_eq!(encode(&["e2m1", "nan"])[0][1], "0x8");
    assert_eq!(encode(&["e2m1", "nan", "--nan", "nan-to-max"])[0][1], "0x7");
}

#[test]
fn malformed_numbers_and_codes() {
    assert_error(
        &bitsim(&["formats", "encode", "e4m3", "1.2.3"]),
        "value '1.2.3'",
        "not a number",
    );
    assert_error(
        &bitsim(&["formats", "encode", "e4m3", "1", "0x10"]),
        "value '0x10'",
        "not a number",
    );
    assert_error(
        &bitsim(&["formats", "decode", "e4m3", "0x100"]),
        "code '0x100'",
        "does not fit the 8-bit",
    );
    assert_error(
        &bitsim(&["formats", "decode", "e2m1", "16"]),
        "code '16'",
        "does not fit the 4-bit",
    );
    assert_error(
        &bitsim(&["formats", "decode", "e2m1", "0b10000"]),
        "code '0b10000'",
        "does not fit",
    );
    assert_error(
        &bitsim(&["formats", "decode", "e4m3", "0xg1"]),
        "code '0xg1'",
        "not a non-negative integer",
    );
    assert_error(
        &bitsim(&["formats", "decode", "e4m3", "0b12"]),
        "code '0b12'",
        "not a non-negative integer",
    );
    assert_error(
        &bitsim(&["formats", "decode", "e4m3", "-1"]),
        "code '-1'",
        "not a non-negative integer",
    );
    assert_error(
        &bitsim(&["formats", "decode", "e4m3", "99999999999999999999999"]),
        "code '99999999999999999999999'",
        "too large",
    );
}

#[test]
fn clap_usage_errors_exit_2() {
    for args in [
        &["bogus"][..],
        &[],
        &["formats", "encode", "e4m3"],
        &["formats", "encode", "e4m3", "1", "--bogus"],
        &["quantize", "--format", "e4m3"],
    ] {
        let o = bitsim(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"));
    }
}

/// A decimal is rounded into the format once, from its exact value: read
/// as the nearest f64 first, 0.999…9 (20 nines) would become 1, and
/// rounding down would give 1, above the input.
#[test]
fn decimals_round_once_not_through_f64() {
    let out = ok(&[
        "formats",
        "encode",
        "e4m3",
        "0.99999999999999999999",
        "--rounding",
        "rd",
    ]);
    // e4m3 just below 1 is 0.9375 = 0 0110 111 (0x37).
    let row = out.lines().nth(2).unwrap();
    assert!(row.contains("0x37") && row.contains("0.9375"), "{out}");
    assert!(out.contains("not an f64"), "{out}");
    assert!(out.trim_end().ends_with("0.99999999999999999999"), "{out}");
    // Rounding up (and to nearest) gives 1 = 0x38.
    let up = ok(&[
        "formats",
        "encode",
        "e4m3",
        "0.99999999999999999999",
        "--rounding",
        "ru",
    ]);
    assert!(up.lines().nth(2).unwrap().contains("0x38"), "{up}");
    // Just above an e2m1 tie (1.25 + 1e-30): to nearest, it goes up to 1.5,
    // where the nearest f64 (1.25, a tie) would go to even (1.0).
    let tie = ok(&[
        "formats",
        "encode",
        "e2m1",
        "1.250000000000000000000000000001",
    ]);
    assert!(tie.lines().nth(2).unwrap().contains("0x3"), "{tie}");
    // An exact decimal is shown as before, with no mark.
    let exact = ok(&["formats", "encode", "e4m3", "0.5"]);
    assert!(!exact.contains("not an f64"), "{exact}");
}
