//! The vector loops of `FloatUnit::{add,sub,mul}_slice` for fp16 and bf16
//! under round-to-nearest-even (AVX2 + F16C where the CPU and the ISA cap
//! allow, else the scalar specialised loop) at every ISA level this CPU has,
//! against three references: the per-element methods, the `*_slice_generic`
//! loops, and independent oracles (f64 arithmetic, exact for these products
//! and innocuous-double-rounding for these sums, rounded by
//! `MiniFloat::encode`; Berkeley SoftFloat for fp16 with feature
//! `softfloat`). The oracles compare NaN results as "both NaN" (which NaN
//! propagates is the unit's rule, pinned bit for bit by the per-element
//! comparison).
//!
//! Inputs: every edge class (±0, subnormals, min normal, max, four mantissas
//! at every exponent so that sums and products tie at every exponent, infs,
//! quiet and signalling NaNs with payloads, bits above the width) all pairs;
//! ragged lengths 0..=33 at every start offset 0..8; 2^20 seeded random
//! pairs; every overflow policy.

use std::sync::Mutex;

use crate::seeded::Rng;

use bitsim::arith::float::FloatUnit;
use bitsim::formats::parse::{BF16, FP16};
use bitsim::formats::{ConvertOptions, MiniFloat, Overflow};
use bitsim::isa::{self, IsaLevel};

/// The ISA cap is global: tests here that set it take turns.
static LEVEL_LOCK: Mutex<()> = Mutex::new(());

/// Runs `f` once per ISA level this CPU has, capped at that level.
fn at_every_level(mut f: impl FnMut(IsaLevel)) {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let levels = IsaLevel::available();
    assert!(levels.contains(&IsaLevel::Scalar));
    for level in levels {
        isa::set_cap(level);
        f(level);
    }
    isa::set_cap(IsaLevel::Avx512);
}

type SliceFn = fn(&FloatUnit, &[u32], &[u32], &mut [u32], u64);
type ElemFn = fn(&FloatUnit, u32, u32, u64) -> u32;
type F64Fn = fn(f64, f64) -> f64;

const OPS: [(&str, SliceFn, SliceFn, ElemFn, F64Fn); 3] = [
    (
        "add",
        FloatUnit::add_slice,
        FloatUnit::add_slice_generic,
        FloatUnit::add,
        |x, y| x + y,
    ),
    (
        "sub",
        FloatUnit::sub_slice,
        FloatUnit::sub_slice_generic,
        FloatUnit::sub,
        |x, y| x - y,
    ),
    (
        "mul",
        FloatUnit::mul_slice,
        FloatUnit::mul_slice_generic,
        FloatUnit::mul,
        |x, y| x * y,
    ),
];

/// RNE options and units for `f` under every overflow policy (fp16 and bf16 allow all).
fn units(f: &MiniFloat) -> Vec<(ConvertOptions, FloatUnit)> {
    [
        None,
        Some(Overflow::Saturate),
        Some(Overflow::Inf),
        Some(Overflow::Nan),
    ]
    .into_iter()
    .map(|ov| {
        let o = ConvertOptions {
            overflow: ov,
            ..Default::default()
        };
        (o, FloatUnit::new(f, &o).unwrap())
    })
    .collect()
}

/// Edge codes of a 16-bit IEEE-style format, both signs: four mantissas at
/// every exponent of fp16; for bf16 at the lowest and highest 12 exponents,
/// the 12 either side of 1 and every 32nd (all of bf16's would be 4 M pairs).
fn edges(f: &MiniFloat) -> Vec<u32> {
    let m = f.mbits;
    let e_all = (1u32 << f.ebits) - 1;
    let bias = f.bias as u32;
    let mut v = vec![0, 1, 2, 3, (1 << (m - 1)), (1 << m) - 1];
    let exps = (1..e_all).filter(|&e| {
        e_all < 64 || e <= 12 || e >= e_all - 12 || e.abs_diff(bias) <= 12 || e % 32 == 0
    });
    for e in exps {
        for mant in [0, 1, 1 << (m - 1), (1 << m) - 1] {
            v.push((e << m) | mant);
        }
    }
    let inf = e_all << m;
    v.extend([
        inf,
        inf | 1 << (m - 1),
        inf | (1 << (m - 1)) | 1,
        inf | 1,
        inf | ((1 << (m - 1)) - 1),
        inf | ((1 << m) - 1),
    ]);
    let neg: Vec<u32> = v.iter().map(|c| c | 0x8000).collect();
    v.extend(neg);
    v.extend([
        0x1_0000 | 0x3c00,
        0xabc0_0000 | 0x8001,
        0xffff_0000 | 0x7bff,
    ]);
    v
}

/// Seeded pairs: uniform codes, same-binade pairs (cancellation), exact
/// negations (zero sums), pairs near the top (overflow) and bottom.
fn random_pairs(seed: u64, n: usize, m: u32) -> (Vec<u32>, Vec<u32>) {
    let mut rng = Rng(seed);
    let (mut a, mut b) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let x = rng.u32() & 0xffff;
        let y = match i % 4 {
            0 => rng.u32() & 0xffff,
            1 => (x ^ (rng.u32() & ((1 << (m + 2)) - 1))) ^ (rng.u32() & 0x8000),
            2 => x ^ 0x8000,
            _ => (x & 0x8000) | (x & 0x7fff).saturating_sub((rng.u32() % (m + 3)) << m),
        };
        a.push(x);
        b.push(y);
    }
    (a, b)
}

/// The independent result: the f64 result (products exact; sums exact or
/// rounded innocuously, 53 ≥ 2p + 1) encoded by `MiniFloat::encode`.
fn oracle(f: &MiniFloat, o: &ConvertOptions, x: u32, y: u32, op: F64Fn) -> Option<u32> {
    let r = op(f.decode(x), f.decode(y));
    if r.is_nan() {
        return None;
    }
    Some(f.encode(r, o, 0).unwrap())
}

fn is_nan(f: &MiniFloat, c: u32) -> bool {
    f.decode(c).is_nan()
}

/// Checks `slice` against the per-element method, the generic loop and the oracle.
fn check_all(f: &MiniFloat, a: &[u32], b: &[u32], level: IsaLevel, with_oracle: bool) {
    let mut fast = vec![0u32; a.len()];
    let mut twin = vec![0u32; a.len()];
    for (o, u) in &units(f) {
        let ov = o.overflow;
        for (name, slice, generic, elem, op) in OPS {
            slice(u, a, b, &mut fast, 3);
            generic(u, a, b, &mut twin, 3);
            for i in 0..a.len() {
                let want = elem(u, a[i], b[i], 3 + i as u64);
                assert_eq!(
                    fast[i], want,
                    "{f} at {level} ov={ov:?} {name}({:#x}, {:#x}) at {i}",
                    a[i], b[i]
                );
                assert_eq!(twin[i], want, "{f} {name} generic loop at {i}");
                if with_oracle {
                    match oracle(f, o, a[i], b[i], op) {
                        Some(c) => assert_eq!(
                            fast[i], c,
                            "{f} at {level} ov={ov:?} {name}({:#x}, {:#x}) vs f64 oracle",
                            a[i], b[i]
                        ),
                        None => assert!(
                            is_nan(f, fast[i]),
                            "{f} {name}({:#x}, {:#x}) not NaN",
                            a[i],
                            b[i]
                        ),
                    }
                }
            }
        }
    }
}

#[test]
fn vector_loops_on_every_edge_pair() {
    for f in [FP16, BF16] {
        let e = edges(&f);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for &x in &e {
            for &y in &e {
                a.push(x);
                b.push(y);
            }
        }
        at_every_level(|level| check_all(&f, &a, &b, level, true));
    }
}

#[test]
fn vector_loops_on_seeded_random_pairs() {
    for (k, f) in [FP16, BF16].into_iter().enumerate() {
        let (a, b) = random_pairs(0xf16_5eed + k as u64, 1 << 20, f.mbits);
        at_every_level(|level| check_all(&f, &a, &b, level, true));
    }
}

/// Every length 0..=33 at every start offset 0..8 (unaligned vectors, every
/// tail length), with specials scattered so some vectors fall back.
#[test]
fn vector_loops_on_ragged_slices() {
    let mut rng = Rng(0x7a99_0016);
    for f in [FP16, BF16] {
        let e = edges(&f);
        let pick = |rng: &mut Rng| {
            if rng.u32().is_multiple_of(5) {
                e[rng.u32() as usize % e.len()]
            } else {
                rng.u32() & 0xffff
            }
        };
        let a: Vec<u32> = (0..48).map(|_| pick(&mut rng)).collect();
        let b: Vec<u32> = (0..48).map(|_| pick(&mut rng)).collect();
        at_every_level(|level| {
            for start in 0..8 {
                for len in 0..=33 {
                    let (x, y) = (&a[start..start + len], &b[start..start + len]);
                    check_all(&f, x, y, level, false);
                }
            }
        });
    }
}

/// Hand-derived fp16 results (independent of every code path): ties to even
/// at 1 and 2048, a subnormal product, overflow to inf and to max.
#[test]
fn vector_loops_hand_cases() {
    let cases: [(&str, u32, u32, Option<Overflow>, u32); 8] = [
        // 1 + 2^-11 is a tie between 1 and 1 + 2^-10: even is 1.
        ("add", 0x3c00, 0x1000, None, 0x3c00),
        // (1 + 2^-10) + 2^-11: tie, even is 1 + 2^-9.
        ("add", 0x3c01, 0x1000, None, 0x3c02),
        // 2048 + 1 is a tie between 2048 and 2050: even is 2048.
        ("add", 0x6800, 0x3c00, None, 0x6800),
        // 2^-12 × 2^-12 = 2^-24, the smallest subnormal.
        ("mul", 0x0c00, 0x0c00, None, 0x0001),
        // 2^-13 × 2^-12 = 2^-25: a tie between 0 and 2^-24, even is 0; sign kept.
        ("mul", 0x8800, 0x0c00, None, 0x8000),
        // 65504 + 65504 overflows: inf by default, max under saturate.
        ("add", 0x7bff, 0x7bff, None, 0x7c00),
        ("add", 0x7bff, 0x7bff, Some(Overflow::Saturate), 0x7bff),
        // x − x = +0 under rne.
        ("sub", 0xbc00, 0xbc00, None, 0x0000),
    ];
    at_every_level(|level| {
        for (name, x, y, ov, want) in cases {
            let o = ConvertOptions {
                overflow: ov,
                ..Default::default()
            };
            let u = FloatUnit::new(&FP16, &o).unwrap();
            // A full vector of the case, so the vector path (not the tail) sees it.
            let (a, b) = (vec![x; 8], vec![y; 8]);
            let mut out = vec![0u32; 8];
            let slice = OPS.iter().find(|op| op.0 == name).unwrap().1;
            slice(&u, &a, &b, &mut out, 0);
            assert_eq!(
                out,
                vec![want; 8],
                "{name}({x:#x}, {y:#x}) ov={ov:?} at {level}"
            );
        }
    });
}

/// SoftFloat agrees with the vector loops on fp16 edges and random pairs.
#[test]
fn vector_loops_match_softfloat_fp16() {
    use softfloat_wrapper::{Float, RoundingMode, F16};
    let e = edges(&FP16);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for &x in &e {
        for &y in &e {
            a.push(x);
            b.push(y);
        }
    }
    let (ra, rb) = random_pairs(0x50f7, 1 << 20, 10);
    a.extend(ra);
    b.extend(rb);
    let u = FloatUnit::new(&FP16, &ConvertOptions::default()).unwrap();
    let rne = RoundingMode::TiesToEven;
    at_every_level(|level| {
        let mut out = vec![0u32; a.len()];
        for (name, slice, ..) in OPS {
            slice(&u, &a, &b, &mut out, 0);
            for ((&ca, &cb), &got) in a.iter().zip(&b).zip(&out) {
                let (x, y) = (F16::from_bits(ca as u16), F16::from_bits(cb as u16));
                let s = match name {
                    "add" => x.add(y, rne),
                    "sub" => x.sub(y, rne),
                    _ => x.mul(y, rne),
                };
                if s.is_nan() {
                    assert!(is_nan(&FP16, got), "{name}({ca:#x}, {cb:#x}) at {level}");
                } else {
                    assert_eq!(
                        got,
                        s.to_bits() as u32,
                        "{name}({ca:#x}, {cb:#x}) vs SoftFloat at {level}"
                    );
                }
            }
        }
    });
}

/// All 2^32 fp16 operand pairs, add and mul, vector loops (at the CPU's
/// level) against the per-element methods (about 4.5 min on 2 shared cores). Run by hand:
/// `cargo test --release --test arith -- --ignored fp16_simd_all_pairs`.
#[test]
#[ignore]
fn fp16_simd_all_pairs_rne() {
    use rayon::prelude::*;
    let u = FloatUnit::new(&FP16, &ConvertOptions::default()).unwrap();
    let b: Vec<u32> = (0..=0xffff).collect();
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    isa::set_cap(IsaLevel::Avx512);
    (0..=0xffffu32).into_par_iter().for_each(|x| {
        let a = vec![x; 0x10000];
        let mut out = vec![0u32; 0x10000];
        u.add_slice(&a, &b, &mut out, 0);
        for (y, &got) in out.iter().enumerate() {
            assert_eq!(got, u.add(x, y as u32, 0), "add({x:#x}, {y:#x})");
        }
        u.mul_slice(&a, &b, &mut out, 0);
        for (y, &got) in out.iter().enumerate() {
            assert_eq!(got, u.mul(x, y as u32, 0), "mul({x:#x}, {y:#x})");
        }
    });
}
