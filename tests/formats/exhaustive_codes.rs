//! Every code of every minifloat of at most 16 bits: decoding agrees with a
//! second, independently written decoder; every code re-encodes to itself
//! (NaN codes to the canonical rule, flushed codes to ±0) from f64 and from
//! f32, under every rounding mode; values are monotonic in code order.

use bitsim::formats::parse::parse_element;
use bitsim::formats::{
    parse, ConvertOptions, ElementFormat, Exp0, Format, MiniFloat, NonFinite, Overflow, Rounding,
};

fn formats() -> Vec<MiniFloat> {
    let mut v: Vec<MiniFloat> = parse::presets()
        .into_iter()
        .filter_map(|(_, f)| match f {
            Format::Element(ElementFormat::Float(m)) if m.bits() <= 16 => Some(m),
            _ => None,
        })
        .collect();
    for s in [
        "fp16",
        "bf16",
        "e5m2:subnormals=off",
        "e3m3:bias=2",
        "e4m3:signed=false",
        "e8m0",
        "e4m3:subnormals=off",
        "e4m3fnuz:subnormals=off",
        "e4m3:nonfinite=ieee",
        "e2m1:subnormals=off",
        "e3m2:nonfinite=fn",
        "e5m2:signed=false",
        "e4m3:subnormals=none",
        "e1m2",
        "e3m0",
        "e2m3:bias=-2",
        "e6m9",
        "e5m10:subnormals=off",
        "e8m7:signed=false",
        "e4m4:nonfinite=fnuz,bias=9",
    ] {
        match parse_element(s).unwrap() {
            ElementFormat::Float(m) => v.push(m),
            other => panic!("{s}: {other:?}"),
        }
    }
    assert!(v.len() >= 25);
    v
}

/// A second decoder, written from the field definitions alone.
/// Returns None for NaN codes.
fn ref_decode(f: &MiniFloat, code: u32) -> Option<f64> {
    let mag_bits = f.ebits + f.mbits;
    let neg = f.signed && (code >> mag_bits) & 1 == 1;
    let e = (code >> f.mbits) & ((1 << f.ebits) - 1);
    let m = code & ((1 << f.mbits) - 1);
    let e_all = (1 << f.ebits) - 1;
    let m_all = (1 << f.mbits) - 1;
    let frac = m as f64 / (1u64 << f.mbits) as f64;
    let mag: f64 = match f.nonfinite {
        NonFinite::Ieee if e == e_all => {
            if m == 0 {
                f64::INFINITY
            } else {
                return None;
            }
        }
        NonFinite::Fn if e == e_all && m == m_all => return None,
        NonFinite::Fnuz if neg && e == 0 && m == 0 => return None,
        _ => {
            if e == 0 {
                match f.exp0 {
                    Exp0::Subnormal => frac * 2f64.powi(1 - f.bias),
                    Exp0::Flush => 0.0,
                    Exp0::Normal => (1.0 + frac) * 2f64.powi(-f.bias),
                }
            } else {
                (1.0 + frac) * 2f64.powi(e as i32 - f.bias)
            }
        }
    };
    Some(if neg { -mag } else { mag })
}

/// What a code must re-encode to under any rounding mode: itself, except
/// NaN codes of IEEE formats (quiet bit forced) and flushed codes (±0).
fn canonical(f: &MiniFloat, code: u32) -> u32 {
    let sign = if f.signed {
        code & (1 << (f.ebits + f.mbits))
    } else {
        0
    };
    match ref_decode(f, code) {
        None => match f.nonfinite {
            NonFinite::Ieee => code | (1 << (f.mbits - 1)),
            // fn: one NaN per sign (all-ones magnitude); fnuz: the single 0x80.
            _ => code,
        },
        // fnuz has no -0: every zero is +0.
        Some(v) if v == 0.0 && f.nonfinite == NonFinite::Fnuz => 0,
        Some(v) => {
            if v == 0.0 {
                sign
            } else {
                code
            }
        }
    }
}

fn all_opts(i: u64) -> Vec<ConvertOptions> {
    let mut v = Vec::new();
    for r in Rounding::ALL {
        v.push(ConvertOptions {
            rounding: r,
            seed: 0x1234_5678 ^ i,
            ..Default::default()
        });
    }
    v
}

#[test]
fn every_code_decodes_like_the_reference() {
    for f in formats() {
        for code in 0..(1u32 << f.bits()) {
            let got = f.decode(code);
            match ref_decode(&f, code) {
                None => assert!(got.is_nan(), "{f} {code:#x}: {got}"),
                Some(want) => {
                    assert_eq!(
                        got.to_bits(),
                        want.to_bits(),
                        "{f} {code:#x}: {got} vs {want}"
                    );
                    // decode_f32 is exact for values that are f32 numbers.
                    if (want as f32) as f64 == want {
                        assert_eq!(
                            f.decode_f32(code).to_bits(),
                            (want as f32).to_bits(),
                            "{f} {code:#x} decode_f32"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn every_code_round_trips_under_every_mode() {
    for f in formats() {
        for code in 0..(1u32 << f.bits()) {
            let want = canonical(&f, code);
            let v = f.decode(code);
            let v32 = f.decode_f32(code);
            let exact32 = v.is_nan() || v32 as f64 == v;
            for o in all_opts(code as u64) {
                let got = f.encode(v, &o, code as u64).unwrap();
                assert_eq!(got, want, "{f} code {code:#x} = {v} under {}", o.rounding);
                if exact32 {
                    let got = f.encode_f32(v32, &o, code as u64).unwrap();
                    assert_eq!(got, want, "{f} code {code:#x} via f32 under {}", o.rounding);
                }
                // Exact values never overflow, whatever the policy.
                let sat = ConvertOptions {
                    overflow: Some(Overflow::Saturate),
                    ..o
                };
                if v.is_finite() {
                    assert_eq!(
                        f.encode(v, &sat, 3).unwrap(),
                        want,
                        "{f} {code:#x} saturate"
                    );
                }
            }
        }
    }
}

#[test]
fn values_are_monotonic_in_code_order() {
    for f in formats() {
        let mag_codes = 1u32 << (f.ebits + f.mbits);
        let sign = if f.signed { mag_codes } else { 0 };
        let mut prev = f64::NEG_INFINITY;
        for mag in 0..mag_codes {
            let v = f.decode(mag);
            if v.is_nan() {
                // NaN codes sit above every number (IEEE, fn).
                for later in mag..mag_codes {
                    assert!(f.decode(later).is_nan(), "{f}: number after a NaN code");
                }
                break;
            }
            let flushed = f.exp0 == Exp0::Flush && mag >> f.mbits == 0;
            if flushed {
                assert_eq!(v, 0.0);
            } else {
                assert!(
                    v > prev || (mag == 0 && v == 0.0),
                    "{f} {mag:#x}: {v} after {prev}"
                );
            }
            prev = v;
            if f.signed {
                let n = f.decode(sign | mag);
                if !n.is_nan() {
                    assert_eq!(
                        n,
                        -v,
                        "{f}: code {:#x} is not the negative of {mag:#x}",
                        sign | mag
                    );
                    assert!(n.is_sign_negative() || f.nonfinite == NonFinite::Fnuz);
                }
            }
        }
        // The largest finite magnitude is max_value.
        let max = (0..mag_codes)
            .map(|c| f.decode(c))
            .filter(|v| v.is_finite())
            .fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(max, f.max_value(), "{f}");
    }
}

#[test]
fn midpoints_round_to_the_right_neighbour() {
    // Between consecutive finite positive codes a < b: the midpoint goes to the
    // even code under RNE, to b under RNA; just inside either side goes to
    // that side; directed modes pick their side. Exact in f64 for these formats.
    for f in formats() {
        let mag_codes = 1u32 << (f.ebits + f.mbits);
        let mut prev: Option<(u32, f64)> = None;
        for mag in 0..mag_codes {
            let v = f.decode(mag);
            if !v.is_finite() {
                break;
            }
            if f.exp0 == Exp0::Flush && mag >> f.mbits == 0 && mag != 0 {
                continue;
            }
            if let Some((a, va)) = prev {
                let mid = (va + v) / 2.0;
                let o = |r| ConvertOptions::with_rounding(r);
                let enc = |x: f64, r| f.encode(x, &o(r), 0).unwrap();
                let even = if a & 1 == 0 { a } else { mag };
                // Flush: the pair (0, min normal) has codes 0 and 1<<m, both even for m>0.
                let even = if f.exp0 == Exp0::Flush && a == 0 {
                    a
                } else {
                    even
                };
                assert_eq!(enc(mid, Rounding::Rne), even, "{f} mid {va}|{v}");
                assert_eq!(enc(mid, Rounding::Rna), mag, "{f} rna mid {va}|{v}");
                let lo = f64::from_bits(mid.to_bits() - 1);
                let hi = f64::from_bits(mid.to_bits() + 1);
                for r in [Rounding::Rne, Rounding::Rna] {
                    assert_eq!(enc(lo, r), a, "{f} below mid {va}|{v} {r}");
                    assert_eq!(enc(hi, r), mag, "{f} above mid {va}|{v} {r}");
                }
                assert_eq!(enc(mid, Rounding::Rtz), a, "{f}");
                assert_eq!(enc(mid, Rounding::Rd), a, "{f}");
                assert_eq!(enc(mid, Rounding::Ru), mag, "{f}");
                let odd = if a & 1 == 1 { a } else { mag };
                if !(f.exp0 == Exp0::Flush && a == 0) {
                    assert_eq!(enc(mid, Rounding::Rto), odd, "{f} rto {va}|{v}");
                }
                if f.signed && f.nonfinite != NonFinite::Fnuz {
                    let s = mag_codes;
                    assert_eq!(enc(-mid, Rounding::Rd), s | mag, "{f}");
                    assert_eq!(
                        enc(-mid, Rounding::Ru),
                        if a == 0 { s } else { s | a },
                        "{f}"
                    );
                    assert_eq!(
                        enc(-mid, Rounding::Rne),
                        if even == 0 { s } else { s | even }
                    );
                }
            }
            prev = Some((mag, v));
        }
    }
}
