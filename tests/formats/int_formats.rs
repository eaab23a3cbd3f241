//! Integer formats: hand tables of codes and values, every rounding mode on
//! hand cases (negative ties included), saturation and NaN policies.

use bitsim::formats::parse::parse_element;
use bitsim::formats::{
    ConvertOptions, ElementFormat, FormatError, IntFormat, IntKind, NanPolicy, Overflow, Rounding,
};

fn int(s: &str) -> IntFormat {
    match parse_element(s).unwrap() {
        ElementFormat::Int(i) => i,
        other => panic!("{s}: {other:?}"),
    }
}

fn o(r: Rounding) -> ConvertOptions {
    ConvertOptions::with_rounding(r)
}

fn nan_opts(nan: NanPolicy) -> ConvertOptions {
    ConvertOptions {
        nan,
        ..Default::default()
    }
}

/// (code, value) for every code, written out by hand.
#[test]
fn code_tables() {
    let tables: Vec<(&str, Vec<(u32, i64)>)> = vec![
        ("int1", vec![(0, -1), (1, 1)]),
        ("ternary", vec![(0b00, 0), (0b01, 1), (0b11, -1)]),
        ("int2", vec![(0, 0), (1, 1), (2, -2), (3, -1)]),
        (
            "int3",
            vec![
                (0, 0),
                (1, 1),
                (2, 2),
                (3, 3),
                (4, -4),
                (5, -3),
                (6, -2),
                (7, -1),
            ],
        ),
        (
            "int4",
            vec![
                (0x0, 0),
                (0x1, 1),
                (0x7, 7),
                (0x8, -8),
                (0x9, -7),
                (0xE, -2),
                (0xF, -1),
            ],
        ),
        (
            "int8",
            vec![
                (0x00, 0),
                (0x7F, 127),
                (0x80, -128),
                (0x81, -127),
                (0xFF, -1),
            ],
        ),
        ("uint1", vec![(0, 0), (1, 1)]),
        ("uint2", vec![(0, 0), (1, 1), (2, 2), (3, 3)]),
        ("uint4", vec![(0, 0), (9, 9), (15, 15)]),
        ("uint8", vec![(0, 0), (0x80, 128), (0xFF, 255)]),
        (
            "int8:symmetric",
            vec![(0x7F, 127), (0x81, -127), (0xFF, -1)],
        ),
        ("int4:symmetric", vec![(0x7, 7), (0x9, -7)]),
    ];
    for (name, rows) in tables {
        let f = int(name);
        for (code, v) in rows {
            assert!(f.is_valid_code(code), "{name} {code:#x}");
            assert_eq!(f.decode_int(code), v, "{name} {code:#x}");
            assert_eq!(f.decode(code), v as f64, "{name} {code:#x}");
            for r in Rounding::ALL {
                assert_eq!(
                    f.encode(v as f64, &o(r), 5).unwrap(),
                    code,
                    "{name} {v} {r}"
                );
            }
        }
    }
}

#[test]
fn ranges_and_unused_codes() {
    let cases: [(&str, i64, i64, u32, &[u32]); 14] = [
        ("int1", -1, 1, 1, &[]),
        ("ternary", -1, 1, 2, &[0b10]),
        ("int2", -2, 1, 2, &[]),
        ("int3", -4, 3, 3, &[]),
        ("int4", -8, 7, 4, &[]),
        ("int8", -128, 127, 8, &[]),
        ("int4:symmetric", -7, 7, 4, &[0x8]),
        ("int8:symmetric", -127, 127, 8, &[0x80]),
        ("int2:symmetric", -1, 1, 2, &[0b10]),
        ("uint1", 0, 1, 1, &[]),
        ("uint3", 0, 7, 3, &[]),
        ("uint4", 0, 15, 4, &[]),
        ("uint8", 0, 255, 8, &[]),
        ("int16", -32768, 32767, 16, &[]),
    ];
    for (name, lo, hi, bits, unused) in cases {
        let f = int(name);
        assert_eq!(
            (f.min_int(), f.max_int(), f.bits()),
            (lo, hi, bits),
            "{name}"
        );
        let mut seen = std::collections::BTreeSet::new();
        for code in 0..(1u32 << bits) {
            let valid = f.is_valid_code(code);
            assert_eq!(valid, !unused.contains(&code), "{name} {code:#x}");
            if valid {
                let v = f.decode_int(code);
                assert!(lo <= v && v <= hi, "{name} {code:#x} = {v}");
                assert!(seen.insert(v), "{name}: two codes for {v}");
            }
        }
        // Every integer in range has exactly one valid code (binary: ±1 only).
        let expect = if name == "int1" {
            2
        } else {
            (hi - lo + 1) as usize
        };
        assert_eq!(seen.len(), expect, "{name}");
        assert!(!f.is_valid_code(1 << bits), "{name}: code out of width");
    }
}

#[test]
fn every_mode_on_hand_cases() {
    use Rounding::*;
    let f = int("int8");
    // x, then rne, rna, rtz, ru, rd, rto
    let table: [(f64, [i64; 6]); 12] = [
        (2.5, [2, 3, 2, 3, 2, 3]),
        (-2.5, [-2, -3, -2, -2, -3, -3]),
        (3.5, [4, 4, 3, 4, 3, 3]),
        (-3.5, [-4, -4, -3, -3, -4, -3]),
        (0.5, [0, 1, 0, 1, 0, 1]),
        (-0.5, [0, -1, 0, 0, -1, -1]),
        (2.4, [2, 2, 2, 3, 2, 3]),
        (-2.6, [-3, -3, -2, -2, -3, -3]),
        (2.7, [3, 3, 2, 3, 2, 3]),
        (-2.2, [-2, -2, -2, -2, -3, -3]),
        (-0.1, [0, 0, 0, 0, -1, -1]),
        (126.5, [126, 127, 126, 127, 126, 127]),
    ];
    for (x, want) in table {
        for (r, w) in [Rne, Rna, Rtz, Ru, Rd, Rto].into_iter().zip(want) {
            assert_eq!(f.round(x, &o(r), 0).unwrap(), w, "int8 {x} {r}");
            assert_eq!(
                f.decode(f.encode(x, &o(r), 0).unwrap()),
                w as f64,
                "int8 {x} {r}"
            );
        }
    }
    // -0.0 and tiny negatives give the code of 0.
    for r in [Rne, Rna, Rtz, Ru] {
        assert_eq!(f.encode(-1e-300, &o(r), 0).unwrap(), 0, "{r}");
    }
    assert_eq!(f.encode(-0.0, &o(Rd), 0).unwrap(), 0);
    // Ternary and int4 follow the same rules.
    let t = int("ternary");
    for (x, want) in [
        (0.5, [0, 1, 0, 1, 0, 1]),
        (-0.5, [0, -1, 0, 0, -1, -1]),
        (0.2, [0, 0, 0, 1, 0, 1]),
        (-0.7, [-1, -1, 0, 0, -1, -1]),
    ] {
        for (r, w) in [Rne, Rna, Rtz, Ru, Rd, Rto].into_iter().zip(want) {
            assert_eq!(t.round(x, &o(r), 0).unwrap(), w, "ternary {x} {r}");
        }
    }
    let u = int("uint4");
    assert_eq!(u.round(4.5, &o(Rne), 0).unwrap(), 4);
    assert_eq!(u.round(5.5, &o(Rne), 0).unwrap(), 6);
    assert_eq!(u.round(4.5, &o(Rna), 0).unwrap(), 5);
    assert_eq!(u.round(4.5, &o(Rto), 0).unwrap(), 5);
    assert_eq!(u.round(5.5, &o(Rto), 0).unwrap(), 5);
}

#[test]
fn binary_sign_rounding() {
    use Rounding::*;
    let b = int("int1");
    for (x, rne, ru, rd) in [
        (0.3, 1, 1, -1),
        (-0.3, -1, 1, -1),
        (0.0, 1, 1, -1),
        (-0.0, 1, 1, -1),
        (1.0, 1, 1, 1),
        (-1.0, -1, -1, -1),
        (5.0, 1, 1, 1),
        (-5.0, -1, -1, -1),
    ] {
        assert_eq!(b.round(x, &o(Rne), 0).unwrap(), rne, "{x} rne");
        assert_eq!(b.round(x, &o(Rna), 0).unwrap(), rne, "{x} rna");
        assert_eq!(b.round(x, &o(Ru), 0).unwrap(), ru, "{x} ru");
        assert_eq!(b.round(x, &o(Rd), 0).unwrap(), rd, "{x} rd");
        assert_eq!(b.encode(x, &o(Rne), 0).unwrap(), (rne > 0) as u32);
    }
}

#[test]
fn saturation() {
    for name in [
        "int2",
        "int3",
        "int4",
        "int8",
        "int4:symmetric",
        "uint1",
        "uint4",
        "uint8",
        "ternary",
        "int1",
    ] {
        let f = int(name);
        let (lo, hi) = (f.min_int(), f.max_int());
        for r in Rounding::ALL {
            for (x, want) in [
                (1e9, hi),
                (-1e9, lo),
                (f64::INFINITY, hi),
                (f64::NEG_INFINITY, lo),
                (hi as f64 + 0.5, hi),
                (lo as f64 - 0.5, lo),
                (hi as f64 + 0.999, hi),
            ] {
                assert_eq!(f.round(x, &o(r), 9).unwrap(), want, "{name} {x} {r}");
            }
        }
        // int4:symmetric never produces the unused most negative code.
        for i in 0..2000 {
            let x = -9.0 + i as f64 * 0.009;
            for r in Rounding::ALL {
                let c = f.encode(x, &o(r), i).unwrap();
                assert!(f.is_valid_code(c), "{name} {x} {r} -> unused code {c:#x}");
            }
        }
    }
    // Only saturation exists for integers.
    let e = ElementFormat::Int(int("int8"));
    let sat = ConvertOptions {
        overflow: Some(Overflow::Saturate),
        ..Default::default()
    };
    assert!(e.check_options(&sat).is_ok());
    for ov in [Overflow::Inf, Overflow::Nan] {
        let bad = ConvertOptions {
            overflow: Some(ov),
            ..Default::default()
        };
        assert!(e.check_options(&bad).is_err(), "{ov}");
    }
}

#[test]
fn nan_policies() {
    for name in [
        "int2",
        "int4",
        "int8",
        "int8:symmetric",
        "uint4",
        "uint8",
        "ternary",
        "int1",
    ] {
        let f = int(name);
        let zero_like = f.round(0.0, &ConvertOptions::default(), 0).unwrap();
        // nan-to-negzero: "0 for integers"; where 0 is not a value (int1),
        // whatever 0 itself rounds to.
        let v = f.round(f64::NAN, &nan_opts(NanPolicy::NegZero), 0).unwrap();
        assert_eq!(v, zero_like, "{name}");
        assert!(f.min_int() <= v && v <= f.max_int());
        let c = f
            .encode(f64::NAN, &nan_opts(NanPolicy::NegZero), 0)
            .unwrap();
        assert_eq!(
            f.decode_int(c),
            v,
            "{name}: encode and round disagree on NaN"
        );
        assert!(f.is_valid_code(c));
        // nan-to-max
        let c = f.encode(f64::NAN, &nan_opts(NanPolicy::Max), 0).unwrap();
        assert_eq!(f.decode_int(c), f.max_int(), "{name}");
        // error
        match f.encode(f64::NAN, &nan_opts(NanPolicy::Error), 0) {
            Err(FormatError::NanInput(m)) => assert!(m.contains(&f.to_string()), "{m}"),
            other => panic!("{name}: {other:?}"),
        }
        assert!(f.encode(-f64::NAN, &nan_opts(NanPolicy::Error), 0).is_err());
        // The NaN policy leaves numbers alone.
        assert_eq!(
            f.encode(1.0, &nan_opts(NanPolicy::Error), 0).unwrap(),
            f.encode(1.0, &o(Rounding::Rne), 0).unwrap()
        );
    }
}

#[test]
fn widths_out_of_range() {
    for k in [
        IntKind::Signed {
            bits: 0,
            symmetric: false,
        },
        IntKind::Signed {
            bits: 1,
            symmetric: false,
        },
        IntKind::Signed {
            bits: 17,
            symmetric: false,
        },
        IntKind::Unsigned { bits: 0 },
        IntKind::Unsigned { bits: 17 },
    ] {
        assert!(IntFormat::new(k).is_err(), "{k:?}");
    }
    assert!(IntFormat::new(IntKind::Signed {
        bits: 16,
        symmetric: true
    })
    .is_ok());
}
