//! `arith::float` add/sub/mul/fma on fp16 and f32 against Berkeley SoftFloat 3
//! (through `softfloat-wrapper`, a dev-dependency: its C library builds with
//! the system C compiler), in every rounding mode
//! SoftFloat has: rne, rtz, ru, rd, rna (`near_maxMag`) and round-to-odd
//! (called through SoftFloat's C functions, as the wrapper does not name it).
//! Stochastic rounding has no SoftFloat counterpart (see tests/arith_float.rs).
//!
//! NaN results are compared as "both NaN": which NaN operand propagates, and
//! the default NaN's sign, are SoftFloat's specialization choices (its 8086
//! default NaN is negative, bitsim's is positive); bitsim's own NaN rule is
//! pinned in tests/arith_float.rs. Everything else is compared bit for bit,
//! including signed zeros and overflow under every mode.
//!
//! Never used for bf16 (softfloat-wrapper's BF16 computes in F32 and truncates).

use crate::seeded;

use bitsim::arith::float::FloatUnit;
use bitsim::formats::parse::{F32, FP16};
use bitsim::formats::{ConvertOptions, MiniFloat};
use rayon::prelude::*;
use seeded::Rng;
use softfloat_wrapper::{Float, F16, F32 as SF32};

use crate::softfloat_c::{c, Mode, MODES};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Add,
    Sub,
    Mul,
    Fma,
}

/// SoftFloat's fp16 result of `op` (c only for fma).
fn sf16(op: Op, a: u32, b: u32, c: u32, m: Mode) -> u32 {
    let (a, b, c) = (a as u16, b as u16, c as u16);
    match m {
        Mode::Std(r) => {
            let (x, y, z) = (F16::from_bits(a), F16::from_bits(b), F16::from_bits(c));
            (match op {
                Op::Add => x.add(y, r),
                Op::Sub => x.sub(y, r),
                Op::Mul => x.mul(y, r),
                Op::Fma => x.fused_mul_add(y, z, r),
            })
            .to_bits() as u32
        }
        Mode::Odd => unsafe {
            c::softfloat_roundingMode_write_helper(c::ROUND_ODD);
            let (x, y, z) = (c::F16T { v: a }, c::F16T { v: b }, c::F16T { v: c });
            (match op {
                Op::Add => c::f16_add(x, y),
                Op::Sub => c::f16_sub(x, y),
                Op::Mul => c::f16_mul(x, y),
                Op::Fma => c::f16_mulAdd(x, y, z),
            })
            .v as u32
        },
    }
}

/// SoftFloat's f32 result of `op`.
fn sf32(op: Op, a: u32, b: u32, c: u32, m: Mode) -> u32 {
    match m {
        Mode::Std(r) => {
            let (x, y, z) = (SF32::from_bits(a), SF32::from_bits(b), SF32::from_bits(c));
            (match op {
                Op::Add => x.add(y, r),
                Op::Sub => x.sub(y, r),
                Op::Mul => x.mul(y, r),
                Op::Fma => x.fused_mul_add(y, z, r),
            })
            .to_bits()
        }
        Mode::Odd => unsafe {
            c::softfloat_roundingMode_write_helper(c::ROUND_ODD);
            let (x, y, z) = (c::F32T { v: a }, c::F32T { v: b }, c::F32T { v: c });
            (match op {
                Op::Add => c::f32_add(x, y),
                Op::Sub => c::f32_sub(x, y),
                Op::Mul => c::f32_mul(x, y),
                Op::Fma => c::f32_mulAdd(x, y, z),
            })
            .v
        },
    }
}

fn ours(u: &FloatUnit, op: Op, a: u32, b: u32, c: u32) -> u32 {
    match op {
        Op::Add => u.add(a, b, 0),
        Op::Sub => u.sub(a, b, 0),
        Op::Mul => u.mul(a, b, 0),
        Op::Fma => u.fma(a, b, c, 0),
    }
}

fn is_nan(f: &MiniFloat, code: u32) -> bool {
    f.decode(code).is_nan()
}

fn check(f: &MiniFloat, ours: u32, theirs: u32, what: &dyn Fn() -> String) {
    if is_nan(f, ours) || is_nan(f, theirs) {
        assert!(
            is_nan(f, ours) && is_nan(f, theirs),
            "{f} {}: ours {ours:#x}, softfloat {theirs:#x}",
            what()
        );
    } else {
        assert_eq!(ours, theirs, "{f} {}", what());
    }
}

/// ±0, subnormals, min normal, 1, neighbours of 1, max, ±inf, quiet and signalling NaN.
fn edges(f: &MiniFloat) -> Vec<u32> {
    let m = f.mbits;
    let one = f.encode(1.0, &ConvertOptions::default(), 0).unwrap();
    let inf = f.inf_code(false).unwrap();
    let mut v = vec![
        0,
        1,
        2,
        (1 << m) - 1,
        1 << m,
        (1 << m) + 1,
        one,
        one + 1,
        one - 1,
        one + (1 << m),
        f.max_code(false),
        f.max_code(false) - 1,
        inf,
        inf | 1,
        inf | (1 << (m - 1)),
    ];
    let s = 1u32 << (f.bits() - 1);
    let neg: Vec<u32> = v.iter().map(|c| c | s).collect();
    v.extend(neg);
    v
}

/// Random codes: half uniform bit patterns, half chosen so that `b` (and `c`)
/// sit within a few binades of `a` (cancellation, carries, ties, near-overflow).
fn triples(f: &MiniFloat, seed: u64, n: usize) -> Vec<(u32, u32, u32)> {
    let mut rng = Rng(seed);
    let bits = f.bits();
    let mask = ((1u64 << bits) - 1) as u32;
    let m = f.mbits;
    let near = |rng: &mut Rng, a: u32| {
        let e = ((a >> m) & ((1 << f.ebits) - 1)) as i64;
        let e2 =
            (e + rng.below(2 * m as u64 + 5) as i64 - m as i64 - 2).clamp(0, (1 << f.ebits) - 2);
        let mant = if rng.below(4) == 0 {
            a & ((1 << m) - 1)
        } else {
            rng.u32() & ((1 << m) - 1)
        };
        (rng.u32() & (1 << (bits - 1))) | ((e2 as u32) << m) | mant
    };
    let mut v = Vec::with_capacity(n);
    for i in 0..n {
        let a = rng.u32() & mask;
        let (b, c) = if i % 2 == 0 {
            (rng.u32() & mask, rng.u32() & mask)
        } else {
            let b = near(&mut rng, a);
            // c near the product's binade: a's exponent plus b's minus the bias.
            let ea = ((a >> m) & ((1 << f.ebits) - 1)) as i64;
            let eb = ((b >> m) & ((1 << f.ebits) - 1)) as i64;
            let ep = (ea + eb - f.bias as i64).clamp(1, (1 << f.ebits) - 2) as u32;
            let mant = rng.u32() & ((1 << m) - 1);
            let c = near(&mut rng, (ep << m) | mant);
            (b, c)
        };
        v.push((a, b, c));
    }
    let e = edges(f);
    for &x in &e {
        for &y in &e {
            v.push((x, y, e[(x as usize + y as usize) % e.len()]));
            v.push((x, e[(x as usize * 7 + y as usize) % e.len()], y));
        }
    }
    v
}

fn sampled(f: &MiniFloat, sf: fn(Op, u32, u32, u32, Mode) -> u32, seed: u64, n: usize) {
    let t = triples(f, seed, n);
    for (r, m) in MODES {
        let u = FloatUnit::new(f, &ConvertOptions::with_rounding(r)).unwrap();
        t.par_iter().for_each(|&(a, b, c)| {
            for op in [Op::Add, Op::Sub, Op::Mul, Op::Fma] {
                check(f, ours(&u, op, a, b, c), sf(op, a, b, c, m), &|| {
                    format!("{op:?} {r} a={a:#x} b={b:#x} c={c:#x}")
                });
            }
        });
    }
}

#[test]
fn softfloat_fp16_add_sub_mul_fma_sampled() {
    sampled(&FP16, sf16, 0x16, 200_000);
}

#[test]
fn softfloat_f32_add_sub_mul_fma_sampled() {
    sampled(&F32, sf32, 0x32, 300_000);
}

/// All 2^32 fp16 pairs of one operation under rne (rayon over `a`).
fn fp16_all_pairs(op: Op) {
    let u = FloatUnit::new(&FP16, &ConvertOptions::default()).unwrap();
    let m = MODES[0].1;
    (0..=0xffffu32).into_par_iter().for_each(|a| {
        for b in 0..=0xffffu32 {
            let (x, y) = (ours(&u, op, a, b, 0), sf16(op, a, b, 0, m));
            if x != y && !(is_nan(&FP16, x) && is_nan(&FP16, y)) {
                panic!("fp16 {op:?} rne a={a:#06x} b={b:#06x}: ours {x:#06x}, softfloat {y:#06x}");
            }
        }
    });
}

#[test]
#[ignore = "all 2^32 fp16 pairs, add, rne; ~3 min on 2 cores"]
fn fp16_add_all_pairs_rne() {
    fp16_all_pairs(Op::Add);
}

#[test]
#[ignore = "all 2^32 fp16 pairs, mul, rne; ~3 min on 2 cores"]
fn fp16_mul_all_pairs_rne() {
    fp16_all_pairs(Op::Mul);
}
