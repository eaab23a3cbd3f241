//! Every number of the format tables (OCP OFP8 v1.0, OCP MX v1.0,
//! the ml_dtypes variants) and the conversion rules written beside them, checked
//! against values derived by hand from the definitions, never from the code.

use bitsim::formats::parse::parse_element;
use bitsim::formats::parse::{
    BF16, E2M1, E2M3, E3M2, E3M4, E4M3, E4M3B11FNUZ, E4M3FNUZ, E5M2, E5M2FNUZ, E8M0, FP16,
};
use bitsim::formats::{
    parse, Class, ConvertOptions, ElementFormat, Format, FormatError, MiniFloat, NanPolicy,
    Overflow, Rounding,
};

fn p2(k: i32) -> f64 {
    2f64.powi(k)
}

fn opts(r: Rounding, o: Option<Overflow>) -> ConvertOptions {
    ConvertOptions {
        rounding: r,
        overflow: o,
        ..Default::default()
    }
}

fn enc(f: &MiniFloat, x: f64) -> u32 {
    f.encode(x, &ConvertOptions::default(), 0).unwrap()
}

fn enc_r(f: &MiniFloat, x: f64, r: Rounding) -> u32 {
    f.encode(x, &opts(r, None), 0).unwrap()
}

fn enc_ro(f: &MiniFloat, x: f64, r: Rounding, o: Overflow) -> u32 {
    f.encode(x, &opts(r, Some(o)), 0).unwrap()
}

fn mf(s: &str) -> MiniFloat {
    match parse_element(s).unwrap() {
        ElementFormat::Float(f) => f,
        other => panic!("{s} parsed to {other:?}"),
    }
}

/// One row of the §1 table, written out by hand.
struct Row {
    name: &'static str,
    f: MiniFloat,
    bits: u32,
    max: f64,
    max_code: u32,
    min_normal: f64,
    min_normal_code: u32,
    min_sub: Option<f64>,
    inf: Option<(u32, u32)>,
    nan: Option<(u32, u32)>,
    neg_zero: bool,
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            name: "e4m3",
            f: E4M3,
            bits: 8,
            max: 448.0,
            max_code: 0x7E,
            min_normal: p2(-6),
            min_normal_code: 0x08,
            min_sub: Some(p2(-9)),
            inf: None,
            nan: Some((0x7F, 0xFF)),
            neg_zero: true,
        },
        Row {
            name: "e5m2",
            f: E5M2,
            bits: 8,
            max: 57344.0,
            max_code: 0x7B,
            min_normal: p2(-14),
            min_normal_code: 0x04,
            min_sub: Some(p2(-16)),
            inf: Some((0x7C, 0xFC)),
            // canonical quiet NaN: quiet bit = top mantissa bit
            nan: Some((0x7E, 0xFE)),
            neg_zero: true,
        },
        Row {
            name: "e2m3",
            f: E2M3,
            bits: 6,
            max: 7.5,
            max_code: 0x1F,
            min_normal: 1.0,
            min_normal_code: 0x08,
            min_sub: Some(0.125),
            inf: None,
            nan: None,
            neg_zero: true,
        },
        Row {
            name: "e3m2",
            f: E3M2,
            bits: 6,
            max: 28.0,
            max_code: 0x1F,
            min_normal: 0.25,
            min_normal_code: 0x04,
            min_sub: Some(0.0625),
            inf: None,
            nan: None,
            neg_zero: true,
        },
        Row {
            name: "e2m1",
            f: E2M1,
            bits: 4,
            max: 6.0,
            max_code: 0x7,
            min_normal: 1.0,
            min_normal_code: 0x2,
            min_sub: Some(0.5),
            inf: None,
            nan: None,
            neg_zero: true,
        },
        Row {
            name: "e8m0",
            f: E8M0,
            bits: 8,
            max: p2(127),
            max_code: 0xFE,
            // no subnormals and no zero: the smallest value is code 0 = 2^-127
            min_normal: p2(-127),
            min_normal_code: 0x00,
            min_sub: None,
            inf: None,
            nan: Some((0xFF, 0xFF)),
            neg_zero: false,
        },
        Row {
            name: "e4m3fnuz",
            f: E4M3FNUZ,
            bits: 8,
            max: 240.0,
            max_code: 0x7F,
            min_normal: p2(-7),
            min_normal_code: 0x08,
            min_sub: Some(p2(-10)),
            inf: None,
            nan: Some((0x80, 0x80)),
            neg_zero: false,
        },
        Row {
            name: "e5m2fnuz",
            f: E5M2FNUZ,
            bits: 8,
            max: 57344.0,
            max_code: 0x7F,
            min_normal: p2(-15),
            min_normal_code: 0x04,
            min_sub: Some(p2(-17)),
            inf: None,
            nan: Some((0x80, 0x80)),
            neg_zero: false,
        },
        Row {
            name: "e4m3b11fnuz",
            f: E4M3B11FNUZ,
            bits: 8,
            max: 30.0,
            max_code: 0x7F,
            min_normal: p2(-10),
            min_normal_code: 0x08,
            min_sub: Some(p2(-13)),
            inf: None,
            nan: Some((0x80, 0x80)),
            neg_zero: false,
        },
        Row {
            name: "e3m4",
            f: E3M4,
            bits: 8,
            max: 15.5,
            max_code: 0x6F,
            min_normal: 0.25,
            min_normal_code: 0x10,
            min_sub: Some(p2(-6)),
            inf: Some((0x70, 0xF0)),
            nan: Some((0x78, 0xF8)),
            neg_zero: true,
        },
        Row {
            name: "e4m3:nonfinite=ieee",
            f: mf("e4m3:nonfinite=ieee"),
            bits: 8,
            max: 240.0,
            max_code: 0x77,
            min_normal: p2(-6),
            min_normal_code: 0x08,
            min_sub: Some(p2(-9)),
            inf: Some((0x78, 0xF8)),
            nan: Some((0x7C, 0xFC)),
            neg_zero: true,
        },
        Row {
            name: "fp16",
            f: FP16,
            bits: 16,
            max: 65504.0,
            max_code: 0x7BFF,
            min_normal: p2(-14),
            min_normal_code: 0x0400,
            min_sub: Some(p2(-24)),
            inf: Some((0x7C00, 0xFC00)),
            nan: Some((0x7E00, 0xFE00)),
            neg_zero: true,
        },
        Row {
            name: "bf16",
            f: BF16,
            bits: 16,
            max: (2.0 - p2(-7)) * p2(127),
            max_code: 0x7F7F,
            min_normal: p2(-126),
            min_normal_code: 0x0080,
            min_sub: Some(p2(-133)),
            inf: Some((0x7F80, 0xFF80)),
            nan: Some((0x7FC0, 0xFFC0)),
            neg_zero: true,
        },
    ]
}

#[test]
fn table_of_formats() {
    for r in rows() {
        let f = &r.f;
        let n = r.name;
        assert_eq!(f.bits(), r.bits, "{n} bits");
        assert_eq!(f.max_value(), r.max, "{n} max");
        assert_eq!(f.max_code(false), r.max_code, "{n} max code");
        assert_eq!(f.decode(r.max_code), r.max, "{n} decode max");
        assert_eq!(f.min_normal(), r.min_normal, "{n} min normal");
        assert_eq!(
            f.decode(r.min_normal_code),
            r.min_normal,
            "{n} decode min normal"
        );
        assert_eq!(f.min_subnormal(), r.min_sub, "{n} min subnormal");
        if let Some(s) = r.min_sub {
            assert_eq!(f.decode(1), s, "{n} decode code 1");
        }
        assert_eq!(f.has_inf(), r.inf.is_some(), "{n} has_inf");
        assert_eq!(f.has_nan(), r.nan.is_some(), "{n} has_nan");
        assert_eq!(f.has_neg_zero(), r.neg_zero, "{n} has -0");
        match r.inf {
            Some((p, m)) => {
                assert_eq!(f.inf_code(false), Some(p), "{n} +inf");
                assert_eq!(f.inf_code(true), Some(m), "{n} -inf");
                assert_eq!(f.decode(p), f64::INFINITY, "{n}");
                assert_eq!(f.decode(m), f64::NEG_INFINITY, "{n}");
                assert_eq!(f.classify(p), Class::Inf, "{n}");
            }
            None => assert_eq!(f.inf_code(false), None, "{n}"),
        }
        match r.nan {
            Some((p, m)) => {
                assert_eq!(f.nan_code(false), Some(p), "{n} NaN");
                assert_eq!(f.nan_code(true), Some(m), "{n} -NaN");
                assert!(f.decode(p).is_nan() && f.decode(m).is_nan(), "{n}");
                assert_eq!(f.classify(p), Class::Nan, "{n}");
                assert_eq!(f.classify(m), Class::Nan, "{n}");
            }
            None => assert_eq!(f.nan_code(false), None, "{n}"),
        }
        // The largest finite value is really the largest: the next magnitude
        // code is not a finite number, or there is none.
        let next = r.max_code + 1;
        if next < (1 << (r.bits - f.signed as u32)) {
            assert_ne!(
                f.classify(next),
                Class::Finite,
                "{n}: code after max is finite"
            );
        }
        // Zero.
        if f.has_zero() {
            assert_eq!(f.decode(0), 0.0, "{n}");
            assert!(f.decode(0).is_sign_positive(), "{n}");
        }
    }
}

#[test]
fn nan_and_inf_code_sets() {
    // E4M3: NaN only at S.1111.111.
    for c in 0..256u32 {
        let want = if c & 0x7F == 0x7F {
            Class::Nan
        } else {
            Class::Finite
        };
        assert_eq!(E4M3.classify(c), want, "e4m3 {c:#x}");
    }
    // E5M2: inf 0x7C/0xFC, NaN 0x7D-0x7F and 0xFD-0xFF.
    for c in 0..256u32 {
        let m = c & 0x7F;
        let want = match m {
            0x7C => Class::Inf,
            0x7D..=0x7F => Class::Nan,
            _ => Class::Finite,
        };
        assert_eq!(E5M2.classify(c), want, "e5m2 {c:#x}");
    }
    // fnuz: only 0x80 is NaN; there is no -0.
    for f in [E4M3FNUZ, E5M2FNUZ, E4M3B11FNUZ] {
        for c in 0..256u32 {
            let want = if c == 0x80 { Class::Nan } else { Class::Finite };
            assert_eq!(f.classify(c), want, "{f} {c:#x}");
        }
    }
    // FP6/FP4: every code finite.
    for f in [E2M3, E3M2, E2M1] {
        for c in 0..(1u32 << f.bits()) {
            assert_eq!(f.classify(c), Class::Finite, "{f} {c:#x}");
            assert!(f.decode(c).is_finite());
        }
    }
    // E8M0: only 0xFF is NaN, no zero, no sign.
    for c in 0..256u32 {
        let v = E8M0.decode(c);
        if c == 0xFF {
            assert!(v.is_nan());
        } else {
            assert_eq!(v, p2(c as i32 - 127), "e8m0 {c:#x}");
        }
    }
}

#[test]
fn e4m3_conversions() {
    let f = E4M3;
    let sat = Some(Overflow::Saturate);
    assert_eq!(enc(&f, 448.0), 0x7E);
    assert_eq!(enc(&f, 464.0), 0x7E, "464 is the tie 448|480: even is 448");
    assert_eq!(enc(&f, -464.0), 0xFE);
    assert_eq!(enc(&f, 465.0), 0x7F, "above the tie: NaN by default");
    assert_eq!(enc(&f, 480.0), 0x7F);
    assert_eq!(enc(&f, -465.0), 0xFF);
    assert_eq!(enc(&f, 1e30), 0x7F);
    let s = |x: f64| f.encode(x, &opts(Rounding::Rne, sat), 0).unwrap();
    assert_eq!(s(464.0), 0x7E);
    assert_eq!(s(465.0), 0x7E);
    assert_eq!(s(480.0), 0x7E);
    assert_eq!(s(-480.0), 0xFE);
    assert_eq!(s(f64::INFINITY), 0x7E);
    assert_eq!(s(f64::NEG_INFINITY), 0xFE);
    assert_eq!(enc(&f, f64::INFINITY), 0x7F);
    assert_eq!(enc(&f, f64::NEG_INFINITY), 0xFF);
    // from f32 too
    let o = ConvertOptions::default();
    assert_eq!(f.encode_f32(464.0, &o, 0).unwrap(), 0x7E);
    assert_eq!(f.encode_f32(464.00003, &o, 0).unwrap(), 0x7F);
    assert_eq!(f.encode_f32(f32::INFINITY, &o, 0).unwrap(), 0x7F);
    // E4M3 has no infinity, so overflow=inf is refused.
    assert!(f
        .encode(1.0, &opts(Rounding::Rne, Some(Overflow::Inf)), 0)
        .is_err());
    assert_eq!(f.default_overflow(), Overflow::Nan);
    // A few hand values: 1 = 0.0111.000, 1.125 = 0x39, 2^-9 = 0x01, 0.875*2^-6 = 0x07.
    assert_eq!(enc(&f, 1.0), 0x38);
    assert_eq!(enc(&f, 1.125), 0x39);
    assert_eq!(enc(&f, p2(-9)), 0x01);
    assert_eq!(enc(&f, 0.875 * p2(-6)), 0x07);
    assert_eq!(enc(&f, -0.0), 0x80);
    // 2^-10 is the tie 0|2^-9: even is 0; just above it rounds up.
    assert_eq!(enc(&f, p2(-10)), 0x00);
    assert_eq!(enc(&f, -p2(-10)), 0x80);
    assert_eq!(enc(&f, p2(-10) * 1.0001), 0x01);
    assert_eq!(
        enc(&f, 3.0 * p2(-10)),
        0x02,
        "1.5 * 2^-9 is a tie, even is 2 * 2^-9"
    );
}

#[test]
fn e5m2_conversions() {
    let f = E5M2;
    assert_eq!(f.default_overflow(), Overflow::Inf);
    assert_eq!(enc(&f, 57344.0), 0x7B);
    assert_eq!(
        enc(&f, 61440.0),
        0x7C,
        "the tie above max goes to inf (odd max)"
    );
    assert_eq!(enc(&f, -61440.0), 0xFC);
    let below = f64::from_bits(61440f64.to_bits() - 1);
    assert_eq!(enc(&f, below), 0x7B);
    assert_eq!(enc(&f, -below), 0xFB);
    assert_eq!(
        f.encode_f32(61439.996, &ConvertOptions::default(), 0)
            .unwrap(),
        0x7B
    );
    let sat = opts(Rounding::Rne, Some(Overflow::Saturate));
    assert_eq!(f.encode(61440.0, &sat, 0).unwrap(), 0x7B);
    assert_eq!(f.decode(f.encode(61440.0, &sat, 0).unwrap()), 57344.0);
    assert_eq!(f.encode(f64::INFINITY, &sat, 0).unwrap(), 0x7B);
    assert_eq!(f.encode(f64::NEG_INFINITY, &sat, 0).unwrap(), 0xFB);
    let nan = opts(Rounding::Rne, Some(Overflow::Nan));
    assert!(f.decode(f.encode(61440.0, &nan, 0).unwrap()).is_nan());
    assert!(f.decode(f.encode(f64::INFINITY, &nan, 0).unwrap()).is_nan());
    assert_eq!(enc(&f, f64::INFINITY), 0x7C);
    assert_eq!(enc(&f, f64::NEG_INFINITY), 0xFC);
    assert_eq!(enc(&f, p2(-16)), 0x01);
    assert_eq!(enc(&f, p2(-17)), 0x00, "tie 0|2^-16: even is 0");
    assert_eq!(enc(&f, 1.0), 0x3C);
}

#[test]
fn fp4_hand_values_and_ties() {
    let f = E2M1;
    let vals = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0];
    for (c, v) in vals.iter().enumerate() {
        assert_eq!(f.decode(c as u32), *v, "code {c}");
        assert_eq!(f.decode(c as u32 | 8), -*v, "code {}", c | 8);
        assert_eq!(enc(&f, *v), c as u32);
        assert_eq!(enc(&f, -*v), c as u32 | 8);
    }
    assert!(f.decode(8).is_sign_negative(), "code 8 is -0");
    let ties = [
        (0.25, 0.0),
        (0.75, 1.0),
        (1.25, 1.0),
        (1.75, 2.0),
        (2.5, 2.0),
        (3.5, 4.0),
        (5.0, 4.0),
    ];
    for (x, want) in ties {
        assert_eq!(f.decode(enc(&f, x)), want, "{x} -> {want}");
        assert_eq!(f.decode(enc(&f, -x)), -want, "-{x} -> -{want}");
        let o = ConvertOptions::default();
        assert_eq!(f.decode(f.encode_f32(x as f32, &o, 0).unwrap()), want);
    }
    // Round to nearest, ties away: the other neighbour on each tie.
    let rna = [
        (0.25, 0.5),
        (0.75, 1.0),
        (1.25, 1.5),
        (1.75, 2.0),
        (2.5, 3.0),
        (3.5, 4.0),
        (5.0, 6.0),
    ];
    for (x, want) in rna {
        assert_eq!(f.decode(enc_r(&f, x, Rounding::Rna)), want, "rna {x}");
        assert_eq!(f.decode(enc_r(&f, -x, Rounding::Rna)), -want, "rna -{x}");
    }
    // Off-tie values go to the nearest under both.
    for r in [Rounding::Rne, Rounding::Rna] {
        assert_eq!(f.decode(enc_r(&f, 2.49, r)), 2.0);
        assert_eq!(f.decode(enc_r(&f, 2.51, r)), 3.0);
        assert_eq!(f.decode(enc_r(&f, 0.26, r)), 0.5);
        assert_eq!(f.decode(enc_r(&f, 0.24, r)), 0.0);
        assert_eq!(f.decode(enc_r(&f, 5.01, r)), 6.0);
    }
}

#[test]
fn finite_only_nan_and_inf_policies() {
    for (f, negzero, max) in [(E2M1, 0x8, 0x7), (E2M3, 0x20, 0x1F), (E3M2, 0x20, 0x1F)] {
        assert_eq!(f.default_overflow(), Overflow::Saturate, "{f}");
        let pol = |nan: NanPolicy| ConvertOptions {
            nan,
            ..Default::default()
        };
        // default is nan-to-negzero (ml_dtypes)
        assert_eq!(enc(&f, f64::NAN), negzero, "{f}");
        assert_eq!(enc(&f, -f64::NAN), negzero, "{f}");
        assert_eq!(
            f.encode(f64::NAN, &pol(NanPolicy::NegZero), 0).unwrap(),
            negzero
        );
        assert_eq!(
            f.encode(f64::NAN, &pol(NanPolicy::Max), 0).unwrap(),
            max,
            "{f}"
        );
        assert_eq!(
            f.encode_f32(f32::NAN, &pol(NanPolicy::Max), 0).unwrap(),
            max
        );
        match f.encode(f64::NAN, &pol(NanPolicy::Error), 0) {
            Err(FormatError::NanInput(m)) => assert!(m.contains(&f.to_string()), "{m}"),
            other => panic!("{f}: NaN under error policy gave {other:?}"),
        }
        assert!(f.encode_f32(f32::NAN, &pol(NanPolicy::Error), 0).is_err());
        // The error policy does not affect non-NaN inputs.
        assert_eq!(
            f.encode(1.0, &pol(NanPolicy::Error), 0).unwrap(),
            enc(&f, 1.0)
        );
        // inf -> max, overflow -> max, under every rounding mode.
        for r in Rounding::ALL {
            let o = opts(r, None);
            assert_eq!(f.encode(f64::INFINITY, &o, 0).unwrap(), max, "{f} {r}");
            assert_eq!(
                f.encode(f64::NEG_INFINITY, &o, 0).unwrap(),
                max | negzero,
                "{f} {r}"
            );
            assert_eq!(f.encode(1e9, &o, 7).unwrap(), max, "{f} {r}");
            assert_eq!(f.encode(-1e9, &o, 7).unwrap(), max | negzero, "{f} {r}");
        }
        // No NaN, no inf: those overflow policies are refused.
        assert!(f
            .encode(1.0, &opts(Rounding::Rne, Some(Overflow::Nan)), 0)
            .is_err());
        assert!(f
            .encode(1.0, &opts(Rounding::Rne, Some(Overflow::Inf)), 0)
            .is_err());
    }
    // The maxima themselves: E2M3 7.5, E3M2 28, E2M1 6; just above the tie -> max.
    assert_eq!(enc(&E2M3, 7.75), 0x1F);
    assert_eq!(enc(&E3M2, 30.0), 0x1F);
    assert_eq!(enc(&E2M1, 7.0), 0x7);
}

#[test]
fn directed_modes_at_overflow() {
    use Rounding::*;
    // E5M2, 1e6 and 60000 (between max 57344 and the tie 61440).
    let f = E5M2;
    for (x, r, want) in [
        (1e6, Rne, 0x7C),
        (1e6, Rna, 0x7C),
        (1e6, Ru, 0x7C),
        (1e6, Rd, 0x7B),
        (1e6, Rtz, 0x7B),
        (1e6, Rto, 0x7B),
        (-1e6, Ru, 0xFB),
        (-1e6, Rd, 0xFC),
        (-1e6, Rtz, 0xFB),
        (-1e6, Rto, 0xFB),
        (-1e6, Rne, 0xFC),
        (60000.0, Rne, 0x7B),
        (60000.0, Rna, 0x7B),
        (60000.0, Ru, 0x7C),
        (60000.0, Rd, 0x7B),
        (60000.0, Rtz, 0x7B),
        (60000.0, Rto, 0x7B),
        (-60000.0, Rd, 0xFC),
        (-60000.0, Ru, 0xFB),
        (61440.0, Rna, 0x7C),
        (61440.0, Rtz, 0x7B),
    ] {
        assert_eq!(enc_r(&f, x, r), want, "e5m2 {x} {r}");
    }
    // ±inf inputs are exact: every mode gives inf under the inf policy.
    for r in Rounding::ALL {
        assert_eq!(enc_r(&f, f64::INFINITY, r), 0x7C, "{r}");
        assert_eq!(enc_r(&f, f64::NEG_INFINITY, r), 0xFC, "{r}");
        assert_eq!(
            enc_ro(&f, f64::INFINITY, r, Overflow::Saturate),
            0x7B,
            "{r}"
        );
    }
    // Saturate: overflow never produces inf.
    assert_eq!(enc_ro(&f, 1e6, Ru, Overflow::Saturate), 0x7B);
    assert_eq!(enc_ro(&f, -1e6, Rd, Overflow::Saturate), 0xFB);
    // E4M3 (NaN by default): 450 is between max 448 and the NaN code's 480.
    let g = E4M3;
    for (x, r, want) in [
        (450.0, Ru, 0x7F),
        (450.0, Rd, 0x7E),
        (450.0, Rtz, 0x7E),
        (450.0, Rto, 0x7E),
        (450.0, Rne, 0x7E),
        (-450.0, Rd, 0xFF),
        (-450.0, Ru, 0xFE),
        (464.0, Rna, 0x7F),
        (464.0, Rne, 0x7E),
        (1e9, Rtz, 0x7E),
        (-1e9, Rtz, 0xFE),
        (1e9, Rd, 0x7E),
        (-1e9, Ru, 0xFE),
    ] {
        assert_eq!(enc_r(&g, x, r), want, "e4m3 {x} {r}");
    }
    assert_eq!(enc_ro(&g, 464.0, Rna, Overflow::Saturate), 0x7E);
    assert_eq!(enc_ro(&g, 450.0, Ru, Overflow::Saturate), 0x7E);
    // fnuz: NaN is 0x80 whatever the sign.
    assert_eq!(enc_r(&E4M3FNUZ, 1e9, Rne), 0x80);
    assert_eq!(enc_r(&E4M3FNUZ, -1e9, Rne), 0x80);
    assert_eq!(enc_r(&E4M3FNUZ, 1e9, Rtz), 0x7F);
    assert_eq!(enc_r(&E4M3FNUZ, -1e9, Ru), 0xFF);
    assert_eq!(
        enc_ro(&E4M3FNUZ, f64::NEG_INFINITY, Rne, Overflow::Saturate),
        0xFF
    );
    assert_eq!(enc_r(&E4M3FNUZ, f64::NEG_INFINITY, Rne), 0x80);
}

#[test]
fn round_to_odd_hand_cases() {
    use Rounding::Rto;
    let f = E4M3;
    // Exact values stay.
    assert_eq!(enc_r(&f, 1.0, Rto), 0x38);
    assert_eq!(enc_r(&f, 1.25, Rto), 0x3A);
    // Between 1 (0x38) and 1.125 (0x39): the odd one.
    assert_eq!(enc_r(&f, 1.0625, Rto), 0x39);
    assert_eq!(enc_r(&f, 1.0001, Rto), 0x39);
    // Between 1.125 (0x39) and 1.25 (0x3A): 0x39 is odd already.
    assert_eq!(enc_r(&f, 1.1875, Rto), 0x39);
    assert_eq!(enc_r(&f, 1.2499, Rto), 0x39);
    // Between 1.25 (0x3A) and 1.375 (0x3B).
    assert_eq!(enc_r(&f, 1.3, Rto), 0x3B);
    assert_eq!(enc_r(&f, -1.3, Rto), 0xBB);
    // Subnormal: between 0 and 2^-9 -> 2^-9 (odd); between 2^-9 and 2^-8 -> 2^-9.
    assert_eq!(enc_r(&f, p2(-12), Rto), 0x01);
    assert_eq!(enc_r(&f, -p2(-12), Rto), 0x81);
    assert_eq!(enc_r(&f, 1.5 * p2(-9), Rto), 0x01);
    // Crossing a binade: between 0.9375 (0x37) and 1 (0x38) -> 0x37.
    assert_eq!(enc_r(&f, 0.97, Rto), 0x37);
    // FP4: between 4 (code 6) and 6 (code 7) -> 7; between 3 (5) and 4 (6) -> 5.
    assert_eq!(enc_r(&E2M1, 5.0, Rto), 7);
    assert_eq!(enc_r(&E2M1, 3.5, Rto), 5);
    assert_eq!(enc_r(&E2M1, 0.1, Rto), 1);
}

#[test]
fn subnormals_off() {
    let f = mf("e5m2:subnormals=off");
    assert_eq!(f.min_subnormal(), None);
    assert_eq!(f.min_normal(), p2(-14));
    for c in 1..4u32 {
        assert_eq!(f.decode(c), 0.0, "flushed code {c}");
        assert_eq!(f.decode(c | 0x80), 0.0);
        assert!(f.decode(c | 0x80).is_sign_negative());
    }
    // Below min normal: round to {0, min normal}; the tie at 2^-15 goes to 0 (even).
    assert_eq!(enc(&f, p2(-15)), 0x00);
    assert_eq!(enc(&f, -p2(-15)), 0x80);
    assert_eq!(enc(&f, p2(-15) * 1.01), 0x04);
    assert_eq!(enc(&f, p2(-16)), 0x00);
    assert_eq!(enc(&f, p2(-14) * 0.99), 0x04);
    assert_eq!(enc_r(&f, p2(-14) * 0.99, Rounding::Rtz), 0x00);
    assert_eq!(enc_r(&f, p2(-14) * 0.99, Rounding::Rna), 0x04);
    assert_eq!(enc_r(&f, p2(-15), Rounding::Rna), 0x04);
    assert_eq!(enc_r(&f, 1e-30, Rounding::Ru), 0x04);
    assert_eq!(enc_r(&f, 1e-30, Rounding::Rd), 0x00);
    assert_eq!(enc_r(&f, -1e-30, Rounding::Rd), 0x84);
    assert_eq!(enc_r(&f, -1e-30, Rounding::Ru), 0x80);
    // Normal values are untouched.
    assert_eq!(enc(&f, p2(-14)), 0x04);
    assert_eq!(enc(&f, 1.25 * p2(-14)), 0x05);
    // e4m3 with subnormals off: min normal 2^-6.
    let g = mf("e4m3:subnormals=off");
    assert_eq!(enc(&g, 0.6 * p2(-6)), 0x08);
    assert_eq!(enc(&g, 0.4 * p2(-6)), 0x00);
    assert_eq!(g.decode(0x07), 0.0);
    assert_eq!(g.max_value(), 448.0);
}

#[test]
fn double_rounding_trap() {
    // e4m3 between 1 (0x38) and 1.125 (0x39): the tie is 1.0625. An f64 just
    // above it rounds to 1.0625 in f32 (the excess 2^-40 is far below half an
    // f32 ulp, 2^-24), where RNE would pick 0x38. One rounding from f64 goes up.
    let x = 1.0625 + p2(-40);
    assert_eq!(
        x as f32, 1.0625f32,
        "the trap really lands on the tie in f32"
    );
    let o = ConvertOptions::default();
    assert_eq!(E4M3.encode(x, &o, 0).unwrap(), 0x39);
    assert_eq!(E4M3.encode(-x, &o, 0).unwrap(), 0xB9);
    assert_eq!(E4M3.encode_f32(x as f32, &o, 0).unwrap(), 0x38);
    // and just below the tie goes down
    assert_eq!(E4M3.encode(1.0625 - p2(-40), &o, 0).unwrap(), 0x38);
    // Same in the subnormal range: tie 0|2^-9 at 2^-10.
    let y = p2(-10) + p2(-40);
    assert_eq!(y as f32, p2(-10) as f32);
    assert_eq!(E4M3.encode(y, &o, 0).unwrap(), 0x01);
    assert_eq!(E4M3.encode_f32(y as f32, &o, 0).unwrap(), 0x00);
    // At the overflow tie: 464 + tiny is NaN from f64, 448 from its f32 rounding.
    let z = 464.0 + p2(-30);
    assert_eq!(z as f32, 464.0f32);
    assert_eq!(E4M3.encode(z, &o, 0).unwrap(), 0x7F);
    // bf16: the tie 1 + 2^-8 between 1 and 1 + 2^-7.
    let w = 1.0 + p2(-8) + p2(-40);
    assert_eq!(w as f32, (1.0 + p2(-8)) as f32);
    assert_eq!(BF16.encode(w, &o, 0).unwrap(), 0x3F81);
    assert_eq!(BF16.encode_f32(w as f32, &o, 0).unwrap(), 0x3F80);
}

#[test]
fn e8m0_scale() {
    let f = E8M0;
    assert!(!f.signed);
    assert!(!f.has_zero());
    assert_eq!(f.decode(0), p2(-127));
    assert_eq!(f.decode(0xFE), p2(127));
    assert_eq!(f.decode(127), 1.0);
    assert!(f.decode(0xFF).is_nan());
    assert_eq!(enc(&f, 1.0), 127);
    assert_eq!(enc(&f, p2(-127)), 0);
    assert_eq!(enc(&f, p2(127)), 0xFE);
    assert_eq!(enc(&f, f64::NAN), 0xFF);
    // 0.75 is the (linear) tie of 0.5 (code 126) and 1 (code 127): even code.
    assert_eq!(enc(&f, 0.75), 126);
    assert_eq!(enc(&f, 0.76), 127);
    assert_eq!(enc(&f, 3.0), 128, "tie 2|4, code 128 is even");
    assert_eq!(enc(&f, p2(128)), 0xFF, "overflow is NaN by default");
    assert_eq!(enc_ro(&f, p2(128), Rounding::Rne, Overflow::Saturate), 0xFE);
    assert_eq!(enc_r(&f, 3.0, Rounding::Rtz), 128);
    assert_eq!(enc_r(&f, 3.0, Rounding::Ru), 129);
    assert_eq!(enc_r(&f, 2.9, Rounding::Rne), 128);
    assert_eq!(enc_r(&f, 3.1, Rounding::Rne), 129);
    assert_eq!(enc_r(&f, 5.0, Rounding::Rne), 129);
    assert_eq!(
        enc_r(&f, 6.0, Rounding::Rne),
        130,
        "tie 4|8, code 130 is even"
    );
    assert_eq!(enc_r(&f, 6.0, Rounding::Rna), 130);
    assert_eq!(enc_r(&f, 3.0, Rounding::Rna), 129);
    // Negative values have no code: NaN.
    assert_eq!(enc(&f, -1.0), 0xFF);
}

#[test]
fn fnuz_has_no_negative_zero() {
    for f in [E4M3FNUZ, E5M2FNUZ, E4M3B11FNUZ] {
        assert_eq!(enc(&f, -0.0), 0x00, "{f}");
        assert_eq!(
            enc(&f, -1e-30),
            0x00,
            "{f}: a negative value rounding to zero is +0"
        );
        assert_eq!(enc_r(&f, -1e-30, Rounding::Rtz), 0x00, "{f}");
        assert_eq!(enc(&f, f64::NAN), 0x80, "{f}");
        assert_eq!(enc(&f, -f64::NAN), 0x80, "{f}");
        assert!(f.decode(0x80).is_nan());
        assert_eq!(f.nan_code(true), Some(0x80));
        assert_eq!(f.default_overflow(), Overflow::Nan);
    }
    assert_eq!(enc(&E4M3FNUZ, 240.0), 0x7F);
    // 248 is the tie 240|256; 240's code 0x7F is odd, so RNE goes up and overflows.
    assert_eq!(enc(&E4M3FNUZ, 248.0), 0x80);
    assert_eq!(enc(&E4M3FNUZ, 247.99), 0x7F);
    assert_eq!(
        enc_ro(&E4M3FNUZ, 248.0, Rounding::Rne, Overflow::Saturate),
        0x7F
    );
    assert_eq!(enc(&E4M3FNUZ, 249.0), 0x80);
    assert_eq!(enc(&E4M3B11FNUZ, 30.0), 0x7F);
    assert_eq!(enc(&E4M3B11FNUZ, 32.0), 0x80);
}

#[test]
fn ieee_nan_payloads() {
    let o = ConvertOptions::default();
    // E5M2 keeps sign and the top two f32 mantissa bits, quiet bit forced.
    let cases32: [(u32, u32); 5] = [
        (0x7FC0_0000, 0x7E),
        (0xFFC0_0000, 0xFE),
        (0x7F80_0001, 0x7E), // signalling, payload below the kept bits: quieted
        (0x7FA0_0000, 0x7F), // payload bit 21 -> E5M2 mantissa bit 0
        (0xFFE0_0000, 0xFF),
    ];
    for (b, want) in cases32 {
        assert_eq!(
            E5M2.encode_f32(f32::from_bits(b), &o, 0).unwrap(),
            want,
            "{b:#x}"
        );
    }
    // fp16 keeps 10 payload bits.
    let cases16: [(u32, u32); 4] = [
        (0x7F80_2000, 0x7E01),
        (0xFF80_2000, 0xFE01),
        (0x7FFF_E000, 0x7FFF),
        (0x7F80_1FFF, 0x7E00),
    ];
    for (b, want) in cases16 {
        assert_eq!(
            FP16.encode_f32(f32::from_bits(b), &o, 0).unwrap(),
            want,
            "{b:#x}"
        );
    }
    // from f64: top mantissa bits of the f64 NaN.
    let n = f64::from_bits(0x7FF0_0000_0000_0001);
    assert_eq!(FP16.encode(n, &o, 0).unwrap(), 0x7E00);
    let n = f64::from_bits(0xFFF4_0000_0000_0000); // payload bit 50
    assert_eq!(FP16.encode(n, &o, 0).unwrap(), 0xFF00);
    assert_eq!(BF16.encode(n, &o, 0).unwrap(), 0xFFE0);
    // fn E4M3 has one NaN per sign.
    assert_eq!(E4M3.encode(-f64::NAN, &o, 0).unwrap(), 0xFF);
    assert_eq!(E4M3.encode(f64::NAN, &o, 0).unwrap(), 0x7F);
}

#[test]
fn mx_int8_element() {
    // INT8 (MX): two's complement scaled by 2^-6, max 127 * 2^-6 = 1.984375.
    match parse("mxint8").unwrap() {
        Format::Block(b) => {
            assert_eq!(b.element_scale_log2, -6);
            assert_eq!(b.block_size, 32);
            assert_eq!(b.scale, E8M0);
            assert_eq!(b.element.max_value() * p2(b.element_scale_log2), 1.984375);
            assert_eq!(b.element.bits(), 8);
        }
        other => panic!("mxint8 parsed to {other:?}"),
    }
}
