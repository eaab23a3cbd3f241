//! `arith::float` add/sub/mul against `rustc_apfloat` (a Rust port of LLVM's
//! APFloat, an independent software implementation) under rne, rna, rtz, ru
//! and rd: every pair of e4m3 (`Float8E4M3FN`) and e5m2 (`Float8E5M2`) codes,
//! and a seeded sample of bf16 pairs (plus bf16 fma on a sample of triples).
//!
//! Overflow uses the default policy (inf for e5m2 and bf16, NaN for e4m3),
//! which is what APFloat does. NaN results are compared as "both NaN".
//!
//! APFloat's known `Float8E4M3FN` bug (see tests/oracle_apfloat.rs: a negative
//! result whose rounding reaches the NaN binade under ru/rd takes the
//! overflow branch with the wrong direction) is routed around the same way:
//! for e4m3 under a directed mode, a negative exact result is asked of
//! APFloat as the negated operation under the mirrored mode, and negated back
//! (add(a, b, rd) = −add(−a, −b, ru); mul(a, b, rd) = −mul(−a, b, ru)).

use crate::seeded;

use bitsim::arith::float::FloatUnit;
use bitsim::formats::parse::{BF16, E4M3, E5M2};
use bitsim::formats::{ConvertOptions, MiniFloat, Rounding};
use rayon::prelude::*;
use rustc_apfloat::ieee::{BFloat, Float8E4M3FN, Float8E5M2};
use rustc_apfloat::{Float, Round};
use seeded::Rng;

const MODES: [(Rounding, Round); 5] = [
    (Rounding::Rne, Round::NearestTiesToEven),
    (Rounding::Rna, Round::NearestTiesToAway),
    (Rounding::Rtz, Round::TowardZero),
    (Rounding::Ru, Round::TowardPositive),
    (Rounding::Rd, Round::TowardNegative),
];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Add,
    Sub,
    Mul,
}

fn ap<T: Float>(op: Op, a: u32, b: u32, r: Round) -> u32 {
    let (x, y) = (T::from_bits(a as u128), T::from_bits(b as u128));
    let v = match op {
        Op::Add => x.add_r(y, r),
        Op::Sub => x.sub_r(y, r),
        Op::Mul => x.mul_r(y, r),
    }
    .value;
    v.to_bits() as u32
}

fn mirror(r: Round) -> Round {
    match r {
        Round::TowardPositive => Round::TowardNegative,
        Round::TowardNegative => Round::TowardPositive,
        r => r,
    }
}

/// APFloat's answer, around its E4M3FN negative-overflow bug (module comment).
fn ap_fixed<T: Float>(f: &MiniFloat, op: Op, a: u32, b: u32, r: Round) -> u32 {
    let directed = matches!(r, Round::TowardPositive | Round::TowardNegative);
    if *f == E4M3 && directed {
        let (x, y) = (f.decode(a), f.decode(b));
        let exact = match op {
            Op::Add => x + y,
            Op::Sub => x - y,
            Op::Mul => x * y,
        };
        if exact < 0.0 {
            let s = 0x80;
            let (na, nb) = match op {
                Op::Mul => (a ^ s, b),
                _ => (a ^ s, b ^ s),
            };
            return ap::<T>(op, na, nb, mirror(r)) ^ s;
        }
    }
    ap::<T>(op, a, b, r)
}

fn ours(u: &FloatUnit, op: Op, a: u32, b: u32) -> u32 {
    match op {
        Op::Add => u.add(a, b, 0),
        Op::Sub => u.sub(a, b, 0),
        Op::Mul => u.mul(a, b, 0),
    }
}

fn check(f: &MiniFloat, ours: u32, theirs: u32, what: &dyn Fn() -> String) {
    let (on, tn) = (f.decode(ours).is_nan(), f.decode(theirs).is_nan());
    if on || tn {
        assert!(
            on && tn,
            "{f} {}: ours {ours:#x}, apfloat {theirs:#x}",
            what()
        );
    } else {
        assert_eq!(ours, theirs, "{f} {}", what());
    }
}

fn all_pairs<T: Float>(f: &MiniFloat) {
    for (r, ar) in MODES {
        let u = FloatUnit::new(f, &ConvertOptions::with_rounding(r)).unwrap();
        (0..256u32).into_par_iter().for_each(|a| {
            for b in 0..256u32 {
                for op in [Op::Add, Op::Sub, Op::Mul] {
                    check(
                        f,
                        ours(&u, op, a, b),
                        ap_fixed::<T>(f, op, a, b, ar),
                        &|| format!("{op:?} {r} a={a:#04x} b={b:#04x}"),
                    );
                }
            }
        });
    }
}

#[test]
fn apfloat_e4m3_all_pairs_add_sub_mul() {
    all_pairs::<Float8E4M3FN>(&E4M3);
}

#[test]
fn apfloat_e5m2_all_pairs_add_sub_mul() {
    all_pairs::<Float8E5M2>(&E5M2);
}

/// Seeded bf16 pairs (half of them with nearby exponents) plus all pairs of
/// edge codes, add/sub/mul and fma, five modes.
#[test]
fn apfloat_bf16_sampled_add_sub_mul_fma() {
    let mut rng = Rng(0xbf16);
    let mut pairs: Vec<(u32, u32, u32)> = (0..200_000)
        .map(|i| {
            let a = rng.u32() & 0xffff;
            let b = if i % 2 == 0 {
                rng.u32() & 0xffff
            } else {
                // Same sign-exponent neighbourhood: flip low exponent bits and the mantissa.
                (a ^ (rng.u32() & 0x83ff)) & 0xffff
            };
            (a, b, rng.u32() & 0xffff)
        })
        .collect();
    let edges = [
        0x0000u32, 0x0001, 0x007f, 0x0080, 0x0081, 0x3f80, 0x3f81, 0x3f7f, 0x7f7f, 0x7f7e, 0x7f80,
        0x7fc0, 0x7f81,
    ];
    for &x in &edges {
        for &y in &edges {
            for s in [0, 0x8000] {
                pairs.push((x, y ^ s, (x + y) & 0xffff));
            }
        }
    }
    for (r, ar) in MODES {
        let u = FloatUnit::new(&BF16, &ConvertOptions::with_rounding(r)).unwrap();
        pairs.par_iter().for_each(|&(a, b, c)| {
            for op in [Op::Add, Op::Sub, Op::Mul] {
                check(
                    &BF16,
                    ours(&u, op, a, b),
                    ap::<BFloat>(op, a, b, ar),
                    &|| format!("{op:?} {r} a={a:#06x} b={b:#06x}"),
                );
            }
            let theirs = BFloat::from_bits(a as u128)
                .mul_add_r(
                    BFloat::from_bits(b as u128),
                    BFloat::from_bits(c as u128),
                    ar,
                )
                .value
                .to_bits() as u32;
            check(&BF16, u.fma(a, b, c, 0), theirs, &|| {
                format!("fma {r} a={a:#06x} b={b:#06x} c={c:#06x}")
            });
        });
    }
}
