//! Generic minifloat arithmetic (`arith::float`) against `MiniFloat::encode`
//! of the exact result.
//!
//! For formats of at most 8 bits every sum and product of two codes is exact
//! in f64 (checked per pair with an error-free transformation: TwoSum for
//! sums, an f64 fma for products), so `encode(exact)` is the correctly
//! rounded result in every mode, including stochastic rounding with the same
//! seed and index. The special-value rules (NaN propagation, invalid
//! operations, the sign of an exact zero sum) are written out here by hand
//! from IEEE 754 and the documented NaN rule, not taken from the code.

use crate::seeded;

use bitsim::arith::float::{self, FloatUnit};
use bitsim::formats::parse::{E2M1, E2M3, E3M2, E3M4, E4M3, E5M2, E8M0, F32, FP16};
use bitsim::formats::{
    presets, ConvertOptions, ElementFormat, Exp0, Format, MiniFloat, NonFinite, Overflow, Rounding,
};
use rayon::prelude::*;
use seeded::Rng;

/// Every float preset of at most 8 bits plus formats built with overrides:
/// flushed subnormals, odd biases, unsigned, exponent-0-normal, tiny IEEE.
fn small_formats() -> Vec<MiniFloat> {
    let mut v: Vec<MiniFloat> = presets()
        .into_iter()
        .filter_map(|(_, f)| match f {
            Format::Element(ElementFormat::Float(m)) if m.bits() <= 8 => Some(m),
            _ => None,
        })
        .collect();
    assert!(v.contains(&E2M1) && v.contains(&E8M0) && v.contains(&E4M3));
    let custom = [
        (3, 2, 3, NonFinite::FiniteOnly, Exp0::Flush, true),
        (5, 2, 15, NonFinite::Ieee, Exp0::Flush, true),
        (4, 3, 5, NonFinite::Ieee, Exp0::Subnormal, true),
        (4, 3, -2, NonFinite::Fn, Exp0::Subnormal, true),
        (2, 2, 1, NonFinite::Ieee, Exp0::Subnormal, true),
        (4, 4, 7, NonFinite::FiniteOnly, Exp0::Subnormal, false),
        (3, 3, 2, NonFinite::Fn, Exp0::Normal, true),
        (4, 2, 9, NonFinite::Fnuz, Exp0::Flush, true),
        (7, 0, 63, NonFinite::Fn, Exp0::Normal, true),
        (1, 3, 0, NonFinite::FiniteOnly, Exp0::Subnormal, true),
    ];
    for (e, m, b, nf, z, s) in custom {
        v.push(MiniFloat::new(e, m, b, nf, z, s).unwrap());
    }
    v
}

/// Every overflow policy the format allows, plus the default.
fn policies(f: &MiniFloat) -> Vec<Option<Overflow>> {
    let mut v = vec![None];
    for p in [Overflow::Saturate, Overflow::Inf, Overflow::Nan] {
        if f.resolve_overflow(Some(p)).is_ok() {
            v.push(Some(p));
        }
    }
    v
}

fn opts(r: Rounding, ov: Option<Overflow>) -> ConvertOptions {
    ConvertOptions {
        rounding: r,
        overflow: ov,
        seed: 0x5eed_0123_4567_89ab,
        ..Default::default()
    }
}

/// TwoSum (Knuth): the rounding error of `x + y`; zero iff the f64 sum is exact.
fn two_sum_err(x: f64, y: f64) -> f64 {
    let s = x + y;
    let bb = s - x;
    (x - (s - bb)) + (y - bb)
}

/// `x + y` rounded to odd in f64 (Boldo & Melquiond): the exact sum when
/// TwoSum says it is exact, else the f64 neighbour of the rounded sum, on the
/// side of the exact value, whose last bit is odd. Rounding that value once
/// more to a format of at most 50 significand bits (with 32 stochastic bits:
/// at most 20) is the correct rounding of the exact sum. Only needed where the
/// exponent range exceeds f64's 53 bits of significand (E8M0-like formats).
fn sum_to_odd(x: f64, y: f64) -> f64 {
    let s = x + y;
    let e = two_sum_err(x, y);
    if e == 0.0 || !s.is_finite() || s.to_bits() & 1 == 1 {
        return s;
    }
    let away = (e > 0.0) == (s > 0.0);
    f64::from_bits(if away {
        s.to_bits() + 1
    } else {
        s.to_bits() - 1
    })
}

/// The sign rule for an exact zero sum: both terms zero of one sign keep it;
/// otherwise +0, or −0 under rounding toward −infinity.
fn zero_sum(x: f64, y: f64, r: Rounding) -> f64 {
    if x == 0.0 && y == 0.0 && x.is_sign_negative() == y.is_sign_negative() {
        x
    } else if r == Rounding::Rd {
        -0.0
    } else {
        0.0
    }
}

/// Expected `x + y` of two decoded values: NaN operands propagate (first one
/// wins), inf − inf is the canonical NaN, otherwise the exact sum encoded.
fn expect_sum(f: &MiniFloat, o: &ConvertOptions, x: f64, y: f64, idx: u64) -> u32 {
    if x.is_nan() {
        return f.encode(x, o, idx).unwrap();
    }
    if y.is_nan() {
        return f.encode(y, o, idx).unwrap();
    }
    if x.is_infinite() && y.is_infinite() && x != y {
        return f.nan_code(false).unwrap();
    }
    let mut s = x + y;
    if s.is_finite() && f.mbits > 0 {
        assert_eq!(two_sum_err(x, y), 0.0, "{f}: {x} + {y} not exact in f64");
    }
    if f.mbits == 0 {
        s = sum_to_odd(x, y);
    }
    if s == 0.0 {
        s = zero_sum(x, y, o.rounding);
    }
    f.encode(s, o, idx).unwrap()
}

/// Expected `x × y`.
fn expect_prod(f: &MiniFloat, o: &ConvertOptions, x: f64, y: f64, idx: u64) -> u32 {
    if x.is_nan() {
        return f.encode(x, o, idx).unwrap();
    }
    if y.is_nan() {
        return f.encode(y, o, idx).unwrap();
    }
    let p = x * y;
    if p.is_nan() {
        return f.nan_code(false).unwrap();
    }
    if p.is_finite() {
        assert_eq!(x.mul_add(y, -p), 0.0, "{f}: {x} * {y} not exact in f64");
    }
    f.encode(p, o, idx).unwrap()
}

fn check_all_pairs(f: &MiniFloat) {
    let n = f.code_count() as u32;
    for ov in policies(f) {
        (0..n).into_par_iter().for_each(|a| {
            for r in Rounding::ALL {
                let o = opts(r, ov);
                let u = FloatUnit::new(f, &o).unwrap();
                for b in 0..n {
                    let idx = ((a as u64) << 8 | b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                    let (x, y) = (f.decode(a), f.decode(b));
                    let what = || format!("{f} {r} {ov:?} a={a:#x} ({x}) b={b:#x} ({y})");
                    assert_eq!(
                        u.add(a, b, idx),
                        expect_sum(f, &o, x, y, idx),
                        "add {}",
                        what()
                    );
                    let neg_y = if y.is_nan() { y } else { -y };
                    assert_eq!(
                        u.sub(a, b, idx),
                        expect_sum(f, &o, x, neg_y, idx),
                        "sub {}",
                        what()
                    );
                    assert_eq!(
                        u.mul(a, b, idx),
                        expect_prod(f, &o, x, y, idx),
                        "mul {}",
                        what()
                    );
                    // The 128-bit path on the same sums.
                    assert_eq!(
                        u.add_values(x, y, idx),
                        u.add(a, b, idx),
                        "add_values {}",
                        what()
                    );
                }
            }
        });
    }
}

#[test]
fn small_formats_all_pairs_all_modes_add_sub_mul() {
    for f in small_formats() {
        check_all_pairs(&f);
    }
}

/// Expected `x × y + z` (`None` when the exact sum is not an f64: then the
/// round-to-odd sum is checked instead, counted separately).
fn expect_fma(f: &MiniFloat, o: &ConvertOptions, x: f64, y: f64, z: f64, idx: u64) -> Option<u32> {
    for v in [x, y, z] {
        if v.is_nan() {
            return Some(f.encode(v, o, idx).unwrap());
        }
    }
    let p = x * y;
    if p.is_nan() || (p.is_infinite() && z.is_infinite() && p != z) {
        return Some(f.nan_code(false).unwrap());
    }
    if p.is_finite() {
        assert_eq!(x.mul_add(y, -p), 0.0);
    }
    let mut s = p + z;
    if s.is_finite() && two_sum_err(p, z) != 0.0 {
        return (f.mbits <= 3).then(|| f.encode(sum_to_odd(p, z), o, idx).unwrap());
    }
    if s == 0.0 {
        s = zero_sum(p, z, o.rounding);
    }
    Some(f.encode(s, o, idx).unwrap())
}

#[test]
fn small_formats_fma_seeded_triples_all_modes() {
    for (k, f) in small_formats().into_iter().enumerate() {
        let n = f.code_count();
        let mut rng = Rng(0xf3a0 + k as u64);
        let mut exact = 0;
        let triples: Vec<(u32, u32, u32)> = (0..40_000)
            .map(|_| {
                (
                    rng.below(n) as u32,
                    rng.below(n) as u32,
                    rng.below(n) as u32,
                )
            })
            .collect();
        for ov in policies(&f) {
            for r in Rounding::ALL {
                let o = opts(r, ov);
                let u = FloatUnit::new(&f, &o).unwrap();
                for (i, &(a, b, c)) in triples.iter().enumerate() {
                    let (x, y, z) = (f.decode(a), f.decode(b), f.decode(c));
                    if let Some(want) = expect_fma(&f, &o, x, y, z, i as u64) {
                        exact += 1;
                        assert_eq!(
                            u.fma(a, b, c, i as u64),
                            want,
                            "{f} {r} {ov:?} fma({a:#x}, {b:#x}, {c:#x}) = fma({x}, {y}, {z})"
                        );
                    }
                }
            }
        }
        assert!(exact > 0, "{f}: no checked triple");
    }
}

/// The free functions are the unit's methods (and accept what `encode` accepts).
#[test]
fn free_functions_match_unit() {
    let mut rng = Rng(77);
    for f in [E4M3, E5M2, FP16, F32] {
        for r in Rounding::ALL {
            let o = opts(r, None);
            let u = FloatUnit::new(&f, &o).unwrap();
            for i in 0..2000u64 {
                let mask = (f.code_count() - 1) as u32;
                let (a, b, c) = (rng.u32() & mask, rng.u32() & mask, rng.u32() & mask);
                assert_eq!(float::add(&f, a, b, &o, i), u.add(a, b, i));
                assert_eq!(float::sub(&f, a, b, &o, i), u.sub(a, b, i));
                assert_eq!(float::mul(&f, a, b, &o, i), u.mul(a, b, i));
                assert_eq!(float::fma(&f, a, b, c, &o, i), u.fma(a, b, c, i));
            }
        }
    }
}

/// add on the 64-bit path equals fma(a, 1, b) on the 128-bit path, and the
/// slice API equals the scalar one (fp16 and f32, seeded random codes + edges).
#[test]
fn add_equals_fma_with_one_and_slices_match() {
    for (f, one) in [(FP16, 0x3c00u32), (F32, 0x3f80_0000)] {
        let mask = (f.code_count() - 1) as u32;
        let mut rng = Rng(0xadd);
        let mut a: Vec<u32> = (0..50_000).map(|_| rng.u32() & mask).collect();
        let mut b: Vec<u32> = (0..50_000)
            .map(|i| {
                // Half the time a nearby exponent, so sums cancel and carry.
                let x = a[i];
                if i % 2 == 0 {
                    (x ^ (rng.u32() & ((1 << (f.mbits + 2)) - 1)))
                        ^ (rng.u32() & (1 << (f.bits() - 1)))
                } else {
                    rng.u32() & mask
                }
            })
            .collect();
        let edges = edge_codes(&f);
        for &x in &edges {
            for &y in &edges {
                a.push(x);
                b.push(y);
            }
        }
        for r in Rounding::ALL {
            let u = FloatUnit::new(&f, &opts(r, None)).unwrap();
            let mut out = vec![0; a.len()];
            u.add_slice(&a, &b, &mut out, 1000);
            for i in 0..a.len() {
                let want = u.fma(a[i], one, b[i], 1000 + i as u64);
                assert_eq!(out[i], want, "{f} {r} add({:#x}, {:#x})", a[i], b[i]);
                assert_eq!(u.add(a[i], b[i], 1000 + i as u64), want);
            }
            u.mul_slice(&a, &b, &mut out, 7);
            for i in 0..a.len() {
                assert_eq!(out[i], u.mul(a[i], b[i], 7 + i as u64));
            }
            let c: Vec<u32> = b.iter().rev().copied().collect();
            u.fma_slice(&a, &b, &c, &mut out, 9);
            for i in 0..a.len() {
                assert_eq!(out[i], u.fma(a[i], b[i], c[i], 9 + i as u64));
            }
        }
    }
}

/// ±0, smallest/largest subnormal, smallest normal, 1, max, ±inf, NaNs.
fn edge_codes(f: &MiniFloat) -> Vec<u32> {
    let m = f.mbits;
    let s = 1u32 << (f.bits() - 1);
    let mut v = vec![
        0,
        1,
        (1 << m) - 1,
        1 << m,
        (1 << m) + 1,
        f.encode(1.0, &ConvertOptions::default(), 0).unwrap(),
        f.max_code(false),
        f.max_code(false) - 1,
    ];
    if let Some(c) = f.inf_code(false) {
        v.push(c);
    }
    if let Some(c) = f.nan_code(false) {
        v.push(c);
        v.push(c | 1);
    }
    let neg: Vec<u32> = v.iter().map(|c| c | s).collect();
    v.extend(neg);
    v
}

fn rne() -> ConvertOptions {
    ConvertOptions::default()
}

fn with(r: Rounding) -> ConvertOptions {
    ConvertOptions::with_rounding(r)
}

/// Hand-derived fp16 and f32 cases.
#[test]
fn hand_derived_cases() {
    let one = 0x3c00;
    // 1 + 2^-11 is the tie between 1 and 1 + 2^-10: even is 1; up goes to 0x3c01.
    let tie = 0x1000; // 2^-11: exponent 15 − 11 = 4 → 0x1000
    assert_eq!(FP16.decode(tie), 2f64.powi(-11));
    assert_eq!(float::add(&FP16, one, tie, &rne(), 0), 0x3c00);
    assert_eq!(float::add(&FP16, one, tie, &with(Rounding::Rna), 0), 0x3c01);
    assert_eq!(float::add(&FP16, one, tie, &with(Rounding::Ru), 0), 0x3c01);
    assert_eq!(float::add(&FP16, one, tie, &with(Rounding::Rto), 0), 0x3c01);
    assert_eq!(float::add(&FP16, 0x3c01, tie, &rne(), 0), 0x3c02);
    // x + (−x): +0, −0 under rd; −0 + −0 = −0; −0 + +0 = +0.
    assert_eq!(float::sub(&FP16, 0x4500, 0x4500, &rne(), 0), 0x0000);
    assert_eq!(
        float::sub(&FP16, 0x4500, 0x4500, &with(Rounding::Rd), 0),
        0x8000
    );
    assert_eq!(float::add(&FP16, 0x8000, 0x8000, &rne(), 0), 0x8000);
    assert_eq!(float::add(&FP16, 0x8000, 0x0000, &rne(), 0), 0x0000);
    assert_eq!(
        float::add(&FP16, 0x8000, 0x0000, &with(Rounding::Rd), 0),
        0x8000
    );
    // inf − inf and 0 × inf: canonical quiet NaN 0x7e00.
    assert_eq!(float::sub(&FP16, 0x7c00, 0x7c00, &rne(), 0), 0x7e00);
    assert_eq!(float::mul(&FP16, 0x0000, 0xfc00, &rne(), 0), 0x7e00);
    // A NaN operand propagates with sign and payload, quieted: 0xfc01 → 0xfe01.
    assert_eq!(float::add(&FP16, one, 0xfc01, &rne(), 0), 0xfe01);
    assert_eq!(float::sub(&FP16, one, 0xfc01, &rne(), 0), 0xfe01);
    assert_eq!(float::mul(&FP16, 0x7d00, 0xfc01, &rne(), 0), 0x7f00);
    // max + max overflows: inf by default, max when saturating, max under rtz.
    assert_eq!(float::add(&FP16, 0x7bff, 0x7bff, &rne(), 0), 0x7c00);
    let sat = ConvertOptions {
        overflow: Some(Overflow::Saturate),
        ..rne()
    };
    assert_eq!(float::add(&FP16, 0x7bff, 0x7bff, &sat, 0), 0x7bff);
    assert_eq!(
        float::add(&FP16, 0xfbff, 0xfbff, &with(Rounding::Rtz), 0),
        0xfbff
    );
    // Smallest subnormal × 0.5 = 2^-25: a tie to even (0); ru gives 2^-24.
    assert_eq!(float::mul(&FP16, 0x0001, 0x3800, &rne(), 0), 0x0000);
    assert_eq!(float::mul(&FP16, 0x8001, 0x3800, &rne(), 0), 0x8000);
    assert_eq!(
        float::mul(&FP16, 0x0001, 0x3800, &with(Rounding::Ru), 0),
        0x0001
    );
    // f32 fma(−2^-40, 2^-40, 1) = 1 − 2^-80 exactly: rd gives 1 − 2^-24
    // (rounding through f64 first would give 1.0).
    let a = (-2f32.powi(-40)).to_bits();
    let b = 2f32.powi(-40).to_bits();
    assert_eq!(
        float::fma(&F32, a, b, 0x3f80_0000, &with(Rounding::Rd), 0),
        0x3f7f_ffff
    );
    assert_eq!(float::fma(&F32, a, b, 0x3f80_0000, &rne(), 0), 0x3f80_0000);
    assert_eq!(
        float::fma(&F32, a, b, 0x3f80_0000, &with(Rounding::Rto), 0),
        0x3f7f_ffff
    );
    // fma exact zero: 1 × 1 + (−1) = +0, −0 under rd; (−0 product) + (−0) = −0.
    assert_eq!(
        float::fma(&F32, 0x3f80_0000, 0x3f80_0000, 0xbf80_0000, &rne(), 0),
        0
    );
    assert_eq!(
        float::fma(
            &F32,
            0x3f80_0000,
            0x3f80_0000,
            0xbf80_0000,
            &with(Rounding::Rd),
            0
        ),
        0x8000_0000
    );
    assert_eq!(
        float::fma(&F32, 0x8000_0000, 0x3f80_0000, 0x8000_0000, &rne(), 0),
        0x8000_0000
    );
    // fma(0, inf, c) and inf × 1 + (−inf) are invalid.
    assert_eq!(
        float::fma(&F32, 0, 0x7f80_0000, 0x3f80_0000, &rne(), 0),
        0x7fc0_0000
    );
    assert_eq!(
        float::fma(&F32, 0x7f80_0000, 0x3f80_0000, 0xff80_0000, &rne(), 0),
        0x7fc0_0000
    );
}

/// Format styles without IEEE specials: fn NaN, fnuz (no −0), finite-only, E8M0.
#[test]
fn non_ieee_styles() {
    // E4M3 (fn): 448 + 32 = 480 → the tie above max rounds to NaN 0x7f by default, 448 saturating.
    let c448 = 0x7e;
    let c32 = E4M3.encode(32.0, &rne(), 0).unwrap();
    assert_eq!(float::add(&E4M3, c448, c32, &rne(), 0), 0x7f);
    let sat = ConvertOptions {
        overflow: Some(Overflow::Saturate),
        ..rne()
    };
    assert_eq!(float::add(&E4M3, c448, c32, &sat, 0), 0x7e);
    assert_eq!(float::mul(&E4M3, 0xff, 0x38, &rne(), 0), 0xff);
    // An impossible policy (inf in E4M3) falls back to the format default in the free functions…
    let inf = ConvertOptions {
        overflow: Some(Overflow::Inf),
        ..rne()
    };
    assert_eq!(float::add(&E4M3, c448, c32, &inf, 0), 0x7f);
    // …and is refused by the unit constructor.
    assert!(FloatUnit::new(&E4M3, &inf).is_err());
    // fnuz: 1 − 1 = +0 even under rd (no −0 code); NaN is 0x80.
    let f = bitsim::formats::parse::E4M3FNUZ;
    let one = f.encode(1.0, &rne(), 0).unwrap();
    assert_eq!(float::sub(&f, one, one, &with(Rounding::Rd), 0), 0x00);
    assert_eq!(float::add(&f, 0x80, one, &rne(), 0), 0x80);
    // Finite-only: 6 + 6 in E2M1 saturates to 6 (0x7); 4 × −4 to −6 (0xf).
    assert_eq!(float::add(&E2M1, 0x7, 0x7, &rne(), 0), 0x7);
    assert_eq!(float::mul(&E2M1, 0x6, 0xe, &rne(), 0), 0xf);
    // E2M3: 7.5 − 7.5 = 0, rd gives the −0 code.
    let c = E2M3.max_code(false);
    assert_eq!(float::sub(&E2M3, c, c, &with(Rounding::Rd), 0), 0x20);
    // E3M2: 0.0625 × 0.25 = 2^-6 underflows to ±0 (tie below half of 2^-4).
    assert_eq!(float::mul(&E3M2, 0x01, 0x04, &rne(), 0), 0x00);
    // E8M0 (unsigned, no zero): 2 × 4 = 8; 1 − 1 = 0 → the smallest value (code 0);
    // 1 − 2 < 0 → NaN 0xff; 2^127 × 2 overflows to NaN.
    let e = |x: f64| E8M0.encode(x, &rne(), 0).unwrap();
    assert_eq!(float::mul(&E8M0, e(2.0), e(4.0), &rne(), 0), e(8.0));
    assert_eq!(float::sub(&E8M0, e(1.0), e(1.0), &rne(), 0), 0x00);
    assert_eq!(float::sub(&E8M0, e(1.0), e(2.0), &rne(), 0), 0xff);
    assert_eq!(float::mul(&E8M0, 0xfe, e(2.0), &rne(), 0), 0xff);
    // E8M0 add: 1 + 1 = 2; 1 + 2 = 3 is a tie between 2 and 4 (code parity: 2 = 0x80 even).
    assert_eq!(float::add(&E8M0, e(1.0), e(1.0), &rne(), 0), e(2.0));
    assert_eq!(float::add(&E8M0, e(1.0), e(2.0), &rne(), 0), e(2.0));
    // E3M4 and E5M2 have infinities: inf + finite = inf.
    assert_eq!(float::add(&E5M2, 0x7c, 0x3c, &rne(), 0), 0x7c);
    assert_eq!(float::add(&E3M4, 0xf0, 0x30, &rne(), 0), 0xf0);
}

/// add_values rounds the exact f64 sum once (never the rounded f64 sum).
#[test]
fn add_values_rounds_once() {
    // 1 + (2^-11 + 2^-60) in fp16: the f64 sum is exact here, above the tie → 0x3c01.
    let y = 2f64.powi(-11) + 2f64.powi(-60);
    assert_eq!(float::add_values(&FP16, 1.0, y, &rne(), 0), 0x3c01);
    // 1 + 2^-11 + 2^-80: the f64 sum rounds to the tie 1 + 2^-11 (→ 1.0 in fp16),
    // but the exact sum is above it → 0x3c01.
    let x = 1.0 + 2f64.powi(-11);
    assert_eq!(
        float::add_values(&FP16, x, 2f64.powi(-80), &rne(), 0),
        0x3c01
    );
    assert_eq!(
        float::add_values(&FP16, x, -2f64.powi(-80), &rne(), 0),
        0x3c00
    );
    // Cancellation to zero and huge exponent gaps.
    assert_eq!(float::add_values(&F32, 1e300, -1e300, &rne(), 0), 0);
    assert_eq!(
        float::add_values(&F32, 1.0, -5e-324, &with(Rounding::Rtz), 0),
        0x3f7f_ffff
    );
    // NaN keeps its sign and payload top bits (as encode does).
    assert_eq!(
        float::add_values(&FP16, -f64::NAN, 1.0, &rne(), 0) & 0xfe00,
        0xfe00
    );
    assert_eq!(
        float::add_values(&FP16, f64::INFINITY, f64::NEG_INFINITY, &rne(), 0),
        0x7e00
    );
}

/// Stochastic rounding is keyed by seed and index exactly like `encode`: over
/// many indices, 1 + 2^-12 in fp16 rounds up about a quarter of the time.
#[test]
fn stochastic_rounding_rate_and_determinism() {
    let o = ConvertOptions {
        rounding: Rounding::Sr,
        seed: 42,
        ..Default::default()
    };
    let quarter = FP16.encode(2f64.powi(-12), &rne(), 0).unwrap();
    let n = 100_000u64;
    let ups = (0..n)
        .filter(|&i| float::add(&FP16, 0x3c00, quarter, &o, i) == 0x3c01)
        .count();
    let p = ups as f64 / n as f64;
    // Binomial sd = sqrt(0.25 · 0.75 / 1e5) ≈ 0.0014; allow 5 sd.
    assert!((p - 0.25).abs() < 0.007, "rate {p}");
    for i in 0..1000 {
        assert_eq!(
            float::add(&FP16, 0x3c00, quarter, &o, i),
            FP16.encode(1.0 + 2f64.powi(-12), &o, i).unwrap()
        );
    }
}
