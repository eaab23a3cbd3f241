//! The L-Mul unit against independent oracles: the integer addition of bit
//! patterns the paper's hardware performs (`lmul-carry`), and the paper's
//! formula evaluated in f64 from decoded values then rounded by
//! `MiniFloat::encode` (`lmul-literal`, and the piecewise reading of the
//! carry). Exhaustive over every code pair of the 8-bit and smaller formats,
//! seeded samples for bf16, fp16 and f32; special cases by hand.

use crate::seeded;
use bitsim::arith::accum::{Accumulate, F32Sequential};
use bitsim::arith::lmul::{self, l_of, lmul, LmulUnit, PreparedOperand, Semantics};
use bitsim::formats::parse::{self, BF16, E4M3, E5M2, F32, FP16};
use bitsim::formats::{ConvertOptions, ElementFormat, MiniFloat, Overflow, Rounding};
use seeded::Rng;

fn fmt(name: &str) -> MiniFloat {
    match parse::parse_element(name).unwrap() {
        ElementFormat::Float(f) => f,
        ElementFormat::Int(_) => panic!("{name} is not a float"),
    }
}

fn rne() -> ConvertOptions {
    ConvertOptions::default()
}

/// `|x| = (1 + frac)·2^exp` from the f64's bits (every format value is an f64 normal).
fn split(x: f64) -> (f64, i32) {
    let b = x.abs().to_bits();
    let exp = ((b >> 52) & 0x7ff) as i32 - 1023;
    assert!(exp > -1023, "format values are f64 normals");
    let frac = f64::from_bits((b & ((1u64 << 52) - 1)) | (1023u64 << 52)) - 1.0;
    (frac, exp)
}

/// `2^k` by repeated exact doubling/halving (independent of the library's exp2i).
fn pow2(k: i32) -> f64 {
    2.0f64.powi(k)
}

/// The oracle: L-Mul of two codes from decoded values.
fn oracle(f: &MiniFloat, a: u32, b: u32, sem: Semantics, o: &ConvertOptions) -> u32 {
    oracle_into(f, f, a, b, sem, o)
}

/// The oracle with results rounded into `out`.
fn oracle_into(
    fin: &MiniFloat,
    f: &MiniFloat,
    a: u32,
    b: u32,
    sem: Semantics,
    o: &ConvertOptions,
) -> u32 {
    let (x, y) = (fin.decode(a), fin.decode(b));
    let nan = || f.nan_code(false).unwrap();
    if x.is_nan() || y.is_nan() {
        return nan();
    }
    let neg = x.is_sign_negative() != y.is_sign_negative();
    if x.is_infinite() || y.is_infinite() {
        if x == 0.0 || y == 0.0 {
            return nan();
        }
        return f.inf_code(neg).unwrap();
    }
    if x == 0.0 || y == 0.0 {
        return f.zero_code(neg);
    }
    let (xm, xe) = split(x);
    let (ym, ye) = split(y);
    let s = xm + ym + pow2(-(l_of(f.mbits) as i32));
    let e = xe + ye;
    let v = match sem {
        Semantics::Literal => (1.0 + s) * pow2(e),
        // The integer sum read piecewise: no carry, one carry, two carries.
        Semantics::Carry if s < 1.0 => (1.0 + s) * pow2(e),
        Semantics::Carry if s < 2.0 => s * pow2(e + 1),
        Semantics::Carry => (s - 1.0) * pow2(e + 2),
    };
    f.encode(if neg { -v } else { v }, o, 0).unwrap()
}

/// Formats of at most 8 bits, exhaustively.
const SMALL: &[&str] = &[
    "e2m1",
    "e2m3",
    "e3m2",
    "e4m3",
    "e5m2",
    "e4m3fnuz",
    "e5m2fnuz",
    "e4m3b11fnuz",
    "e3m4",
    "e4m2",
    "e5m1",
    "e3m3",
    "e2m5",
    "e1m6:nonfinite=finite",
    "e8m0",
    "e4m3:subnormals=off",
    "e5m2:subnormals=off",
];

fn option_sets(f: &MiniFloat) -> Vec<ConvertOptions> {
    let mut v = Vec::new();
    for r in [
        Rounding::Rne,
        Rounding::Rna,
        Rounding::Rtz,
        Rounding::Ru,
        Rounding::Rd,
        Rounding::Rto,
    ] {
        for ov in [Overflow::Saturate, Overflow::Inf, Overflow::Nan] {
            if f.resolve_overflow(Some(ov)).is_ok() {
                v.push(ConvertOptions {
                    overflow: Some(ov),
                    ..ConvertOptions::with_rounding(r)
                });
            }
        }
    }
    v
}

#[test]
fn small_formats_match_the_oracle_exhaustively() {
    for name in SMALL {
        let f = fmt(name);
        let n = f.code_count() as u32;
        for o in option_sets(&f) {
            for sem in Semantics::ALL {
                let unit = LmulUnit::new(f, sem, &o).unwrap();
                for a in 0..n {
                    for b in 0..n {
                        let got = unit.mul(a, b, 0);
                        let want = oracle(&f, a, b, sem, &o);
                        assert!(
                            got == want,
                            "{name} {sem} {o:?}: {a:#x} * {b:#x} = {got:#x}, want {want:#x}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn lmul_function_equals_the_unit() {
    let mut rng = Rng(7);
    for name in SMALL {
        let f = fmt(name);
        for _ in 0..2000 {
            let (a, b) = (rng.u32() & 0xff, rng.u32() & 0xff);
            for sem in Semantics::ALL {
                let unit = LmulUnit::new(f, sem, &rne()).unwrap();
                assert_eq!(lmul(&f, a, b, sem, &rne()), unit.mul(a, b, 0));
            }
        }
    }
}

#[test]
fn wide_formats_match_the_oracle_on_samples() {
    let mut rng = Rng(11);
    for f in [BF16, FP16, F32, fmt("e8m4"), fmt("e5m3"), fmt("e6m9")] {
        let mask = (f.code_count() - 1) as u32;
        for o in option_sets(&f) {
            for sem in Semantics::ALL {
                let unit = LmulUnit::new(f, sem, &o).unwrap();
                for _ in 0..20_000 {
                    let (a, b) = (rng.u32() & mask, rng.u32() & mask);
                    let got = unit.mul(a, b, 0);
                    let want = oracle(&f, a, b, sem, &o);
                    assert!(
                        got == want,
                        "{f} {sem} {o:?}: {a:#x} * {b:#x} = {got:#x}, want {want:#x}"
                    );
                }
            }
        }
    }
}

#[test]
fn offsets_are_the_papers_constants() {
    let c = |f| LmulUnit::new(f, Semantics::Carry, &rne()).unwrap().offset();
    assert_eq!(c(F32), 0x3F78_0000);
    assert_eq!(c(BF16), 0x3F78);
    // e4m3: (7 << 3) − 2^(3−3) = 55; fp16: (15 << 10) − 2^(10−4) = 15296.
    assert_eq!(c(E4M3), 55);
    assert_eq!(c(FP16), 15296);
    assert_eq!(
        [l_of(1), l_of(2), l_of(3), l_of(4), l_of(5), l_of(23)],
        [1, 2, 3, 3, 4, 4]
    );
}

/// Carry on an IEEE format whose magnitude field is `w` bits: the integer
/// sum of the patterns minus `c`, sign XORed, whenever both operands are
/// normal and the sum is a normal finite code.
fn carry_is_integer_add(f: MiniFloat, c: u32, a: u32, b: u32) -> bool {
    let w = f.ebits + f.mbits;
    let mag = (1u32 << w) - 1;
    let (ma, mb) = (a & mag, b & mag);
    let normal = |x: u32| x >> f.mbits != 0 && x >> f.mbits != (1 << f.ebits) - 1;
    if !normal(ma) || !normal(mb) {
        return false;
    }
    let r = ma as i64 + mb as i64 - c as i64;
    if r < (1 << f.mbits) as i64 || r > f.max_mag_code() as i64 {
        return false;
    }
    let want = ((a ^ b) & (1 << w)) | r as u32;
    let got = lmul(&f, a, b, Semantics::Carry, &rne());
    assert_eq!(got, want, "{f}: {a:#x} * {b:#x}");
    true
}

#[test]
fn f32_carry_is_one_integer_addition() {
    let mut rng = Rng(3);
    let mut checked = 0;
    for _ in 0..400_000 {
        // Exponents near the bias so most sums stay in range.
        let e = |r: &mut Rng| (r.below(120) as u32 + 67) << 23;
        let a = (rng.u32() & 0x8000_0000) | e(&mut rng) | (rng.u32() & 0x7f_ffff);
        let b = (rng.u32() & 0x8000_0000) | e(&mut rng) | (rng.u32() & 0x7f_ffff);
        checked += carry_is_integer_add(F32, 0x3F78_0000, a, b) as u32;
    }
    assert!(checked > 300_000, "{checked}");
}

#[test]
fn bf16_carry_is_one_integer_addition_strided() {
    // Every normal magnitude against a stride of the others (the exhaustive
    // sweep is the ignored test below).
    let mut checked = 0u64;
    for a in 0x0080u32..0x7f80 {
        for b in (0x0080u32..0x7f80).step_by(61) {
            checked += carry_is_integer_add(BF16, 0x3F78, a, b | 0x8000) as u64;
        }
    }
    assert!(checked > 5_000_000, "{checked}");
}

/// Exhaustive over all normal bf16 magnitude pairs (about 1.06 G pairs).
#[test]
#[ignore]
fn bf16_carry_is_one_integer_addition_exhaustive() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let checked = AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..4u32 {
            let checked = &checked;
            s.spawn(move || {
                let mut c = 0u64;
                for a in (0x0080u32 + t..0x7f80).step_by(4) {
                    for b in 0x0080u32..0x7f80 {
                        c += carry_is_integer_add(BF16, 0x3F78, a, b) as u64;
                    }
                }
                checked.fetch_add(c, Ordering::Relaxed);
            });
        }
    });
    assert!(checked.into_inner() > 500_000_000);
}

#[test]
fn zeros_give_signed_zeros_never_small_values() {
    for name in SMALL.iter().copied().chain(["bf16", "fp16"]) {
        let f = fmt(name);
        if !f.has_zero() {
            continue;
        }
        let zeros = [f.zero_code(false), f.zero_code(true)];
        let n = f.code_count().min(1 << 16) as u32;
        for sem in Semantics::ALL {
            for z in zeros {
                for x in 0..n {
                    for (a, b) in [(z, x), (x, z)] {
                        let r = f.decode(lmul(&f, a, b, sem, &rne()));
                        let xv = f.decode(x);
                        if xv.is_nan() || xv.is_infinite() {
                            assert!(r.is_nan(), "{name}: 0 × {x:#x} must be NaN");
                        } else {
                            assert_eq!(r, 0.0, "{name}: {a:#x} × {b:#x}");
                            if f.has_neg_zero() {
                                let neg = f.decode(z).is_sign_negative() != xv.is_sign_negative();
                                assert_eq!(
                                    r.is_sign_negative(),
                                    neg,
                                    "{name}: sign of {a:#x} × {b:#x}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn specials_by_hand() {
    let o = rne();
    for sem in Semantics::ALL {
        // e5m2: inf 0x7C, NaN 0x7D..0x7F, 1.0 = 0x3C, 2.0 = 0x40.
        let m = |a, b| lmul(&E5M2, a, b, sem, &o);
        assert_eq!(m(0x7C, 0x3C), 0x7C);
        assert_eq!(m(0x7C, 0xBC), 0xFC);
        assert_eq!(m(0xFC, 0xFC), 0x7C);
        assert!(E5M2.decode(m(0x7C, 0x00)).is_nan());
        assert!(E5M2.decode(m(0x80, 0xFC)).is_nan());
        assert!(E5M2.decode(m(0x7D, 0x3C)).is_nan());
        assert!(E5M2.decode(m(0x3C, 0xFF)).is_nan());
        // A subnormal times inf is inf (it is not zero).
        assert_eq!(m(0x01, 0x7C), 0x7C);
        // 1.0 × 1.0 = 1 + 2^−2 (l(2) = 2): 1.25 = 0x3D.
        assert_eq!(m(0x3C, 0x3C), 0x3D);
        assert_eq!(m(0xBC, 0x3C), 0xBD);
        // e4m3 (fn): NaN 0x7F propagates, 1.0 = 0x38 → 1 + 1/8 = 0x39.
        let m4 = |a, b| lmul(&E4M3, a, b, sem, &o);
        assert!(E4M3.decode(m4(0x7F, 0x38)).is_nan());
        assert!(E4M3.decode(m4(0x00, 0xFF)).is_nan());
        assert_eq!(m4(0x38, 0x38), 0x39);
    }
    // 1.5 × 1.5 in e4m3 (0x3C): x_m + y_m + 1/8 = 1.125 ≥ 1.
    // carry: 2·1.125 = 2.25 = 0x41; literal: 1 + 1.125 = 2.125, a tie between
    // 2.0 (0x40) and 2.25 (0x41): RNE gives the even 2.0, RU 2.25.
    assert_eq!(lmul(&E4M3, 0x3C, 0x3C, Semantics::Carry, &o), 0x41);
    assert_eq!(lmul(&E4M3, 0x3C, 0x3C, Semantics::Literal, &o), 0x40);
    let ru = ConvertOptions::with_rounding(Rounding::Ru);
    assert_eq!(lmul(&E4M3, 0x3C, 0x3C, Semantics::Literal, &ru), 0x41);
}

#[test]
fn overflow_follows_the_policy() {
    // e5m2 max 57344 (0x7B); 256 × 256 = 65536-ish overflows.
    let big = E5M2.encode(256.0, &rne(), 0).unwrap();
    for sem in Semantics::ALL {
        for (ov, want) in [
            (Overflow::Inf, 0x7Cu32),
            (Overflow::Saturate, 0x7B),
            (Overflow::Nan, 0x7E),
        ] {
            let o = ConvertOptions {
                overflow: Some(ov),
                ..rne()
            };
            let r = lmul(&E5M2, big, big, sem, &o);
            if ov == Overflow::Nan {
                assert!(E5M2.decode(r).is_nan());
            } else {
                assert_eq!(r, want, "{sem} {ov}");
                assert_eq!(lmul(&E5M2, big | 0x80, big, sem, &o), want | 0x80);
            }
        }
        // Round toward zero keeps the largest finite value (IEEE 754 §7.4).
        let rtz = ConvertOptions::with_rounding(Rounding::Rtz);
        assert_eq!(lmul(&E5M2, big, big, sem, &rtz), 0x7B);
        // e4m3 fn: default policy is NaN, saturate gives 448 (0x7E).
        let b4 = E4M3.encode(32.0, &rne(), 0).unwrap();
        assert_eq!(lmul(&E4M3, b4, b4, sem, &rne()), 0x7F);
        let sat = ConvertOptions {
            overflow: Some(Overflow::Saturate),
            ..rne()
        };
        assert_eq!(lmul(&E4M3, b4, b4, sem, &sat), 0x7E);
        // The code right above max (0x7F = the NaN pattern) is an overflow, not a NaN by accident:
        // 16 × 29 ≈ 464 → carry sum lands on 0x7F; saturating gives 448.
        let (a, b) = (
            E4M3.encode(16.0, &rne(), 0).unwrap(),
            E4M3.encode(28.0, &rne(), 0).unwrap(),
        );
        let r = lmul(&E4M3, a, b, Semantics::Carry, &sat);
        assert_eq!(r, 0x7E);
    }
}

#[test]
fn underflow_rounds_into_subnormals_or_flushes() {
    // e4m3: min normal 2^−6, min subnormal 2^−9. 2^−4 × 2^−4 = 2^−8 (·(1 + 1/8)):
    // 2^−8·1.125 rounds RNE to the subnormal 2^−8 (code 0x02).
    let a = E4M3.encode(0.0625, &rne(), 0).unwrap();
    for sem in Semantics::ALL {
        assert_eq!(lmul(&E4M3, a, a, sem, &rne()), 0x02);
        assert_eq!(lmul(&E4M3, a, a | 0x80, sem, &rne()), 0x82);
        let ru = ConvertOptions::with_rounding(Rounding::Ru);
        assert_eq!(lmul(&E4M3, a, a, sem, &ru), 0x03);
        // Far below: 2^−6 × 2^−6 = 2^−12 → 0 (sign kept).
        let t = E4M3.encode(2f64.powi(-6), &rne(), 0).unwrap();
        assert_eq!(lmul(&E4M3, t, t | 0x80, sem, &rne()), 0x80);
        // Without subnormals: 2^−8·1.125 rounds to 0 (below half the min normal).
        let f = fmt("e4m3:subnormals=off");
        let a2 = f.encode(0.0625, &rne(), 0).unwrap();
        assert_eq!(f.decode(lmul(&f, a2, a2, sem, &rne())), 0.0);
    }
}

#[test]
fn subnormal_operands_are_normalized() {
    // e4m3 subnormal 2^−9 (0x01) × 1.0: (1 + 0 + 0 + 1/8)·2^−9 → 2^−9 after rounding.
    // 3·2^−9 (0x03) = 1.5·2^−8 times 2.0 (0x40): x_m + y_m + 1/8 = 0.625 < 1 →
    // 1.625·2^−7 = 6.5 units of 2^−9, below the min normal 2^−6: a tie → RNE 6 (0x06).
    for sem in Semantics::ALL {
        assert_eq!(lmul(&E4M3, 0x01, 0x38, sem, &rne()), 0x01);
        assert_eq!(lmul(&E4M3, 0x03, 0x40, sem, &rne()), 0x06);
        // 7·2^−9 = 1.75·2^−7, × 2^4 (0x58): x_m = 0.75, + 1/8 → 1.875·2^−3
        // (field 4, mantissa 7) = 0x27 exactly.
        assert_eq!(lmul(&E4M3, 0x07, 0x58, sem, &rne()), 0x27);
    }
    // e2m1: 0.5 (0x1) × 4 (0x6): 1·2^−1 × 1·2^2, l(1) = 1 → (1 + 1/2)·2 = 3 (0x5).
    let e2m1 = fmt("e2m1");
    assert_eq!(lmul(&e2m1, 0x1, 0x6, Semantics::Carry, &rne()), 0x5);
}

#[test]
fn value_path_equals_decode_of_the_code() {
    let mut rng = Rng(5);
    let check = |f: &MiniFloat, unit: &LmulUnit, a: u32, b: u32| {
        let v = unit.value_operands(unit.operand(a), unit.operand(b), 0);
        let d = f.decode(unit.mul(a, b, 0));
        assert!(
            v.to_bits() == d.to_bits() || (v.is_nan() && d.is_nan()),
            "{f}: {a:#x} * {b:#x}: {v} vs {d}"
        );
    };
    for name in SMALL {
        let f = fmt(name);
        let n = f.code_count() as u32;
        for sem in Semantics::ALL {
            let unit = LmulUnit::new(f, sem, &rne()).unwrap();
            for a in 0..n {
                for b in 0..n {
                    check(&f, &unit, a, b);
                }
            }
        }
    }
    for f in [BF16, FP16, F32] {
        let mask = (f.code_count() - 1) as u32;
        for sem in Semantics::ALL {
            let unit = LmulUnit::new(f, sem, &rne()).unwrap();
            for _ in 0..100_000 {
                check(&f, &unit, rng.u32() & mask, rng.u32() & mask);
            }
        }
    }
}

#[test]
fn invalid_options_are_refused_by_the_unit() {
    let o = ConvertOptions {
        overflow: Some(Overflow::Inf),
        ..rne()
    };
    assert!(LmulUnit::new(E4M3, Semantics::Carry, &o).is_err());
    let sr = ConvertOptions {
        sr_bits: 0,
        ..ConvertOptions::with_rounding(Rounding::Sr)
    };
    assert!(LmulUnit::new(E4M3, Semantics::Literal, &sr).is_err());
    // The plain function falls back to the format's default policy (NaN for e4m3).
    let b4 = E4M3.encode(32.0, &rne(), 0).unwrap();
    assert!(E4M3
        .decode(lmul(&E4M3, b4, b4, Semantics::Carry, &o))
        .is_nan());
}

#[test]
fn dot_and_matmul_equal_a_slow_f32_sum_of_oracle_products() {
    let mut rng = Rng(9);
    for f in [E4M3, BF16, fmt("e5m3")] {
        for sem in Semantics::ALL {
            let unit = LmulUnit::new(f, sem, &rne()).unwrap();
            let (m, n, k) = (5, 7, 33);
            let gen = |rng: &mut Rng, len| -> Vec<u32> {
                (0..len)
                    .map(|_| f.encode(rng.gauss() * 3.0, &rne(), 0).unwrap())
                    .collect()
            };
            let (a, w) = (gen(&mut rng, m * k), gen(&mut rng, n * k));
            let pa = PreparedOperand::from_codes(&unit, m, k, &a);
            let pw = PreparedOperand::from_codes(&unit, n, k, &w);
            let out = lmul::matmul(&unit, &pa, &pw, &F32Sequential);
            let mut buf = Vec::new();
            for i in 0..m {
                for j in 0..n {
                    let mut acc = 0.0f32;
                    for t in 0..k {
                        acc += f.decode(oracle(&f, a[i * k + t], w[j * k + t], sem, &rne())) as f32;
                    }
                    assert_eq!(out[i * n + j], acc as f64, "{f} {sem} ({i},{j})");
                    let d = lmul::dot(&unit, pa.row(i), pw.row(j), &F32Sequential, &mut buf, 0);
                    assert_eq!(d, acc as f64);
                }
            }
            assert_eq!(F32Sequential.describe(), "f32 sequential");
        }
    }
}

#[test]
fn widened_results_match_the_oracle_exhaustively() {
    for (fin, fout) in [
        (E4M3, MiniFloat::ieee(8, 3)),
        (E5M2, MiniFloat::ieee(8, 2)),
        (fmt("e2m1"), fmt("e4m1")),
        (fmt("e4m3fnuz"), fmt("e6m3:nonfinite=fnuz")),
    ] {
        for o in option_sets(&fout) {
            for sem in Semantics::ALL {
                let unit = LmulUnit::with_output(fin, fout, sem, &o).unwrap();
                for a in 0..fin.code_count() as u32 {
                    for b in 0..fin.code_count() as u32 {
                        let got = unit.mul(a, b, 0);
                        let want = oracle_into(&fin, &fout, a, b, sem, &o);
                        assert_eq!(got, want, "{fin}->{fout} {sem} {o:?}: {a:#x} * {b:#x}");
                        let v = unit.value_operands(unit.operand(a), unit.operand(b), 0);
                        let d = fout.decode(got);
                        assert!(v.to_bits() == d.to_bits() || (v.is_nan() && d.is_nan()));
                    }
                }
            }
        }
    }
    // e4m3 × e4m3 never overflows or underflows e8m3: 448 × 448 is finite.
    let unit =
        LmulUnit::with_output(E4M3, MiniFloat::ieee(8, 3), Semantics::Carry, &rne()).unwrap();
    assert!(unit.output.decode(unit.mul(0x7E, 0x7E, 0)) > 448.0 * 400.0);
    assert!(unit.output.decode(unit.mul(0x01, 0x01, 0)) > 0.0);
}

#[test]
fn widened_output_must_fit() {
    let o = rne();
    assert!(LmulUnit::with_output(E4M3, MiniFloat::ieee(8, 4), Semantics::Carry, &o).is_err());
    assert!(LmulUnit::with_output(E5M2, fmt("e8m2:nonfinite=fn"), Semantics::Carry, &o).is_err());
    assert!(
        LmulUnit::with_output(E4M3, fmt("e6m3:nonfinite=finite"), Semantics::Carry, &o).is_err()
    );
}

/// An accumulator that hashes the bits of the products it receives, in
/// order, so two product streams compare bit for bit through `sum`.
struct BitsHash;

impl Accumulate for BitsHash {
    fn sum(&self, products: &[f64]) -> f64 {
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for p in products {
            h = (h ^ p.to_bits()).wrapping_mul(0x100_0000_01b3);
            h ^= h >> 29;
        }
        (h >> 12) as f64
    }
    fn describe(&self) -> String {
        "bits hash".into()
    }
    fn add_op(&self) -> bitsim::hw::cost::OpKind {
        bitsim::hw::cost::OpKind::F32_ADD
    }
}

#[test]
fn matmul_fast_loop_equals_the_slow_dot() {
    let mut rng = Rng(17);
    let mut pairs: Vec<(MiniFloat, MiniFloat)> = SMALL.iter().map(|n| (fmt(n), fmt(n))).collect();
    pairs.extend([
        (E4M3, MiniFloat::ieee(8, 3)),
        (E5M2, MiniFloat::ieee(8, 2)),
        (BF16, BF16),
        (FP16, FP16),
        (F32, F32),
    ]);
    for (fin, fout) in pairs {
        let mask = (fin.code_count() - 1) as u32;
        let (m, n, k) = (3, 4, 300);
        // Random codes (every special and subnormal shows up in 8-bit
        // formats), plus N(0, 1)-like values for the wide ones.
        let gen = |rng: &mut Rng, len: usize| -> Vec<u32> {
            (0..len)
                .map(|t| {
                    if t % 2 == 0 {
                        rng.u32() & mask
                    } else {
                        fin.encode(rng.gauss(), &rne(), 0).unwrap()
                    }
                })
                .collect()
        };
        let (a, w) = (gen(&mut rng, m * k), gen(&mut rng, n * k));
        for o in option_sets(&fout).into_iter().step_by(2) {
            for sem in Semantics::ALL {
                let unit = LmulUnit::with_output(fin, fout, sem, &o).unwrap();
                let pa = PreparedOperand::from_codes(&unit, m, k, &a);
                let pw = PreparedOperand::from_codes(&unit, n, k, &w);
                let fast = lmul::matmul(&unit, &pa, &pw, &BitsHash);
                let mut buf = Vec::new();
                for i in 0..m {
                    for j in 0..n {
                        let slow = lmul::dot(&unit, pa.row(i), pw.row(j), &BitsHash, &mut buf, 0);
                        assert_eq!(
                            fast[i * n + j].to_bits(),
                            slow.to_bits(),
                            "{fin}->{fout} {sem} {o:?} ({i},{j})"
                        );
                    }
                }
            }
        }
    }
}
