//! The format grammar: presets and aliases, overrides, the canonical Display
//! round trip, and bad strings (each an error whose message names the input).

use bitsim::formats::parse::{
    parse_element, BF16, E2M1, E2M3, E3M2, E3M4, E4M3, E4M3B11FNUZ, E4M3FNUZ, E5M2, E5M2FNUZ, E8M0,
    F32, FP16,
};
use bitsim::formats::{
    parse, presets, BlockKind, ElementFormat, Exp0, Format, IntFormat, IntKind, MiniFloat,
    NonFinite, ScaleRule,
};

fn float(s: &str) -> MiniFloat {
    match parse(s).unwrap_or_else(|e| panic!("{s}: {e}")) {
        Format::Element(ElementFormat::Float(f)) => f,
        other => panic!("{s}: {other:?}"),
    }
}

fn int(s: &str) -> IntFormat {
    match parse(s).unwrap_or_else(|e| panic!("{s}: {e}")) {
        Format::Element(ElementFormat::Int(f)) => f,
        other => panic!("{s}: {other:?}"),
    }
}

#[test]
fn float_presets_and_aliases() {
    let table: [(&[&str], MiniFloat); 13] = [
        (&["e2m1", "fp4", "fp4e2m1", "E2M1", " fp4 "], E2M1),
        (&["e2m3", "fp6", "fp6e2m3"], E2M3),
        (&["e3m2", "fp6e3m2"], E3M2),
        (&["e4m3", "fp8", "e4m3fn", "fp8e4m3", "E4M3FN"], E4M3),
        (&["e5m2", "fp8e5m2"], E5M2),
        (&["e4m3fnuz"], E4M3FNUZ),
        (&["e5m2fnuz"], E5M2FNUZ),
        (&["e4m3b11fnuz"], E4M3B11FNUZ),
        (&["e3m4"], E3M4),
        (&["e8m0", "e8m0fnu"], E8M0),
        (&["fp16", "f16", "half", "e5m10"], FP16),
        (&["bf16", "bfloat16", "e8m7"], BF16),
        (&["f32", "fp32", "float32", "e8m23"], F32),
    ];
    for (names, want) in table {
        for n in names {
            assert_eq!(float(n), want, "{n}");
        }
    }
    // The preset parameters themselves, by hand (OCP / ml_dtypes).
    let spec = |f: MiniFloat| (f.ebits, f.mbits, f.bias, f.nonfinite, f.exp0, f.signed);
    use Exp0::*;
    use NonFinite::*;
    assert_eq!(spec(E2M1), (2, 1, 1, FiniteOnly, Subnormal, true));
    assert_eq!(spec(E2M3), (2, 3, 1, FiniteOnly, Subnormal, true));
    assert_eq!(spec(E3M2), (3, 2, 3, FiniteOnly, Subnormal, true));
    assert_eq!(spec(E4M3), (4, 3, 7, Fn, Subnormal, true));
    assert_eq!(spec(E5M2), (5, 2, 15, Ieee, Subnormal, true));
    assert_eq!(spec(E4M3FNUZ), (4, 3, 8, Fnuz, Subnormal, true));
    assert_eq!(spec(E5M2FNUZ), (5, 2, 16, Fnuz, Subnormal, true));
    assert_eq!(spec(E4M3B11FNUZ), (4, 3, 11, Fnuz, Subnormal, true));
    assert_eq!(spec(E3M4), (3, 4, 3, Ieee, Subnormal, true));
    assert_eq!(spec(E8M0), (8, 0, 127, Fn, Normal, false));
    assert_eq!(spec(FP16), (5, 10, 15, Ieee, Subnormal, true));
    assert_eq!(spec(BF16), (8, 7, 127, Ieee, Subnormal, true));
    assert_eq!(spec(F32), (8, 23, 127, Ieee, Subnormal, true));
}

#[test]
fn int_presets_and_aliases() {
    use IntKind::*;
    for (names, kind) in [
        (&["int1", "binary", "bin", "INT1"][..], Binary),
        (&["ternary", "int1.58", "tern"][..], Ternary),
        (
            &["int2"][..],
            Signed {
                bits: 2,
                symmetric: false,
            },
        ),
        (
            &["int4"][..],
            Signed {
                bits: 4,
                symmetric: false,
            },
        ),
        (
            &["int8"][..],
            Signed {
                bits: 8,
                symmetric: false,
            },
        ),
        (
            &["int8:symmetric", "int8:symmetric=true"][..],
            Signed {
                bits: 8,
                symmetric: true,
            },
        ),
        (
            &["int8:symmetric=false"][..],
            Signed {
                bits: 8,
                symmetric: false,
            },
        ),
        (
            &["int16"][..],
            Signed {
                bits: 16,
                symmetric: false,
            },
        ),
        (&["uint1"][..], Unsigned { bits: 1 }),
        (&["uint8"][..], Unsigned { bits: 8 }),
        (&["uint16"][..], Unsigned { bits: 16 }),
    ] {
        for n in names {
            assert_eq!(int(n).kind, kind, "{n}");
        }
    }
}

#[test]
fn block_presets_and_overrides() {
    let b = |s: &str| match parse(s).unwrap_or_else(|e| panic!("{s}: {e}")) {
        Format::Block(b) => b,
        other => panic!("{s}: {other:?}"),
    };
    for (names, kind, elem, block, scale) in [
        (
            &["mxfp8", "mxfp8e4m3"][..],
            BlockKind::Mx,
            ElementFormat::Float(E4M3),
            32,
            E8M0,
        ),
        (
            &["mxfp8e5m2"][..],
            BlockKind::Mx,
            ElementFormat::Float(E5M2),
            32,
            E8M0,
        ),
        (
            &["mxfp6", "mxfp6e2m3"][..],
            BlockKind::Mx,
            ElementFormat::Float(E2M3),
            32,
            E8M0,
        ),
        (
            &["mxfp6e3m2"][..],
            BlockKind::Mx,
            ElementFormat::Float(E3M2),
            32,
            E8M0,
        ),
        (
            &["mxfp4", "mxfp4e2m1"][..],
            BlockKind::Mx,
            ElementFormat::Float(E2M1),
            32,
            E8M0,
        ),
        (
            &["nvfp4"][..],
            BlockKind::Nv,
            ElementFormat::Float(E2M1),
            16,
            E4M3,
        ),
    ] {
        for n in names {
            let f = b(n);
            assert_eq!(
                (f.kind, f.element, f.block_size, f.scale, f.rule),
                (kind, elem, block, scale, ScaleRule::Floor),
                "{n}"
            );
        }
    }
    let m = b("mxint8");
    assert_eq!(
        m.element,
        ElementFormat::Int(IntFormat {
            kind: IntKind::Signed {
                bits: 8,
                symmetric: true
            }
        })
    );
    let f = b("mxfp4:rule=rceil,block=16");
    assert_eq!((f.rule, f.block_size), (ScaleRule::Rceil, 16));
    assert_eq!(b("mxfp4:rule=ceil").rule, ScaleRule::Ceil);
    assert_eq!(b("mxfp4:rule=even").rule, ScaleRule::Even);
    assert_eq!(b("nvfp4:block=32").block_size, 32);
    // parse_element refuses block formats.
    let e = parse_element("mxfp4").unwrap_err().to_string();
    assert!(e.contains("mxfp4"), "{e}");
}

#[test]
fn minifloat_overrides() {
    assert_eq!(float("e4m3:bias=8,nonfinite=fnuz"), E4M3FNUZ);
    assert_eq!(float("e5m2:bias=16,nonfinite=fnuz"), E5M2FNUZ);
    assert_eq!(float("e4m3:bias=11,nonfinite=fnuz"), E4M3B11FNUZ);
    assert_eq!(float("E4M3 : bias = 8 , nonfinite = fnuz"), E4M3FNUZ);
    let f = float("e4m3:nonfinite=ieee");
    assert_eq!((f.nonfinite, f.max_value()), (NonFinite::Ieee, 240.0));
    assert_eq!(float("e4m3:subnormals=on").exp0, Exp0::Subnormal);
    assert_eq!(float("e4m3:subnormals=off").exp0, Exp0::Flush);
    assert_eq!(float("e4m3:subnormals=none").exp0, Exp0::Normal);
    assert!(!float("e4m3:signed=false").signed);
    assert_eq!(float("e4m3:signed=false").bits(), 7);
    assert_eq!(float("e2m1:nonfinite=finite"), E2M1);
    assert_eq!(float("e8m0:signed=false"), E8M0);
    // A bare eXmY that is no preset: IEEE-style with bias 2^(X-1) - 1.
    let g = float("e3m3");
    assert_eq!(
        (g.ebits, g.mbits, g.bias, g.nonfinite, g.exp0, g.signed),
        (3, 3, 3, NonFinite::Ieee, Exp0::Subnormal, true)
    );
    assert_eq!(float("e6m9").bias, 31);
    // ...finite-only where IEEE is impossible (no mantissa bit, or 1 exponent bit).
    assert_eq!(float("e3m0").nonfinite, NonFinite::FiniteOnly);
    assert_eq!(float("e1m2").nonfinite, NonFinite::FiniteOnly);
    assert_eq!(float("e1m2").bias, 0);
    assert_eq!(float("e3m3:bias=2").bias, 2);
    assert_eq!(float("e3m3:bias=-3").bias, -3);
}

/// Every format must print a name that parses back to itself.
fn round_trip(f: Format) {
    let s = f.to_string();
    let back =
        parse(&s).unwrap_or_else(|e| panic!("{f:?} printed as '{s}', which does not parse: {e}"));
    assert_eq!(back, f, "'{s}' parses to something else");
    assert_eq!(back.to_string(), s);
}

#[test]
fn display_round_trips_presets_and_strings() {
    for (name, f) in presets() {
        assert_eq!(f.to_string(), name, "a preset prints its canonical name");
        round_trip(f);
    }
    for s in [
        "e4m3:bias=8,nonfinite=fnuz",
        "e4m3:nonfinite=ieee",
        "e5m2:subnormals=off",
        "e3m3:bias=2",
        "e4m3:signed=false",
        "e4m3:subnormals=none",
        "e3m2:nonfinite=fn",
        "e2m1:nonfinite=ieee",
        "e8m0:subnormals=on",
        "e5m10:bias=14",
        "bf16:subnormals=off",
        "e7m5",
        "e1m0",
        "int8:symmetric",
        "int4:symmetric",
        "uint3",
        "int5",
        "mxfp4:rule=rceil,block=16",
        "nvfp4:block=8",
        "mxint8:rule=even",
    ] {
        round_trip(parse(s).unwrap_or_else(|e| panic!("{s}: {e}")));
    }
}

/// Every valid minifloat of a grid of parameters, built directly: its Display
/// must parse back to it.
#[test]
fn display_round_trips_every_valid_minifloat() {
    let mut n = 0;
    for ebits in 1..=8u32 {
        for mbits in [0u32, 1, 2, 3, 4, 7, 10, 23] {
            let std_bias = (1i32 << (ebits - 1)) - 1;
            for bias in [std_bias, std_bias + 1, 0, -1, 1 << ebits] {
                for nonfinite in [
                    NonFinite::Ieee,
                    NonFinite::Fn,
                    NonFinite::Fnuz,
                    NonFinite::FiniteOnly,
                ] {
                    for exp0 in [Exp0::Subnormal, Exp0::Flush, Exp0::Normal] {
                        for signed in [true, false] {
                            if let Ok(f) =
                                MiniFloat::new(ebits, mbits, bias, nonfinite, exp0, signed)
                            {
                                round_trip(Format::Element(ElementFormat::Float(f)));
                                n += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(n > 1000, "{n}");
}

#[test]
fn bad_strings_are_errors_that_name_the_input() {
    for s in [
        "e0m0",
        "e9m30",
        "e4m3:bias=99",
        "e4m3:bias=17",
        "e4m3:foo=1",
        "int0",
        "int17",
        "uint0",
        "uint17",
        "xyz",
        "e4m3:bias=",
        "e4m3:bias=x",
        "e4m3:signed=false,nonfinite=fnuz",
        "e4m3:subnormals=none,nonfinite=fnuz",
        "e4m3:nonfinite=foo",
        "e4m3:subnormals=maybe",
        "e4m3:signed=perhaps",
        "e4m3:",
        "e4m3:,",
        "e2m0:nonfinite=ieee",
        "e1m3:nonfinite=ieee",
        "e4m24",
        "em3",
        "e4m",
        "int8:bias=1",
        "int1:symmetric",
        "ternary:symmetric",
        "uint8:symmetric",
        "mxfp4:rule=foo",
        "mxfp4:block=0",
        "mxfp4:block=",
        "nvfp4:rule=ceil",
        "mxfp4:bias=3",
        "intx",
        // One format, one name: no leading zeros or signs in widths, no
        // override given twice (the last one used to win silently).
        "e04m03",
        "e4m03",
        "e+4m3",
        "int08",
        "uint+4",
        "e4m3:bias=7,bias=8",
        "mxfp4:block=16,block=32",
        "int8:symmetric,symmetric=false",
        "",
        ":",
    ] {
        match parse(s) {
            Ok(f) => panic!("'{s}' parsed to {f:?}"),
            Err(e) => {
                let m = e.to_string();
                assert!(
                    m.contains(&format!("'{s}'")),
                    "error for '{s}' does not name it: {m}"
                );
            }
        }
    }
}
