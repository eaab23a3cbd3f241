//! Conversions and single-rounding arithmetic against Berkeley SoftFloat 3
//! (through `softfloat-wrapper`, a dev-dependency built with the C compiler).
//!
//! - f64 -> fp16, f64 -> f32, f32 -> fp16 in every mode SoftFloat has: rne,
//!   rtz, ru, rd, rna (`near_maxMag`) and round-to-odd. `softfloat-wrapper`
//!   does not expose round-to-odd, so that mode calls the SoftFloat C
//!   functions directly (the library is built with `SOFTFLOAT_ROUND_ODD`).
//! - fp16 add/mul: the exact sum/product of two fp16 numbers fits in an f64,
//!   so bitsim's encoder applied to it is a correctly rounded fp16 add/mul;
//!   compared with SoftFloat's `f16_add` / `f16_mul` in every mode.
//! - f32 mul (exact in f64) and f32 add where the f64 sum is exact (two-sum
//!   check), random sampling.
//!
//! NaN results: SoftFloat's 8086-SSE specialization keeps sign and top payload
//! bits with the quiet bit set on conversion, exactly bitsim's rule, so NaN
//! conversions are compared bit for bit. For arithmetic, which NaN operand
//! propagates is SoftFloat's business, so NaN results are compared as "both NaN".
//!
//! Never used for bf16 (softfloat-wrapper's BF16 conversion truncates).

use bitsim::formats::parse::{F32, FP16};
use bitsim::formats::{ConvertOptions, MiniFloat, Rounding};
use rayon::prelude::*;
use softfloat_wrapper::{Float, F16, F32 as SF32, F64 as SF64};

use crate::softfloat_c::{c, Mode, MODES};

fn sf_f64_to_f16(x: f64, m: Mode) -> u32 {
    match m {
        Mode::Std(r) => SF64::from_bits(x.to_bits()).to_f16(r).to_bits() as u32,
        Mode::Odd => unsafe {
            c::softfloat_roundingMode_write_helper(c::ROUND_ODD);
            c::f64_to_f16(c::F64T { v: x.to_bits() }).v as u32
        },
    }
}

fn sf_f64_to_f32(x: f64, m: Mode) -> u32 {
    match m {
        Mode::Std(r) => SF64::from_bits(x.to_bits()).to_f32(r).to_bits(),
        Mode::Odd => unsafe {
            c::softfloat_roundingMode_write_helper(c::ROUND_ODD);
            c::f64_to_f32(c::F64T { v: x.to_bits() }).v
        },
    }
}

fn sf_f32_to_f16(x: f32, m: Mode) -> u32 {
    match m {
        Mode::Std(r) => SF32::from_bits(x.to_bits()).to_f16(r).to_bits() as u32,
        Mode::Odd => unsafe {
            c::softfloat_roundingMode_write_helper(c::ROUND_ODD);
            c::f32_to_f16(c::F32T { v: x.to_bits() }).v as u32
        },
    }
}

fn sf_f16_op(a: u16, b: u16, mul: bool, m: Mode) -> u32 {
    match m {
        Mode::Std(r) => {
            let (x, y) = (F16::from_bits(a), F16::from_bits(b));
            (if mul { x.mul(y, r) } else { x.add(y, r) }).to_bits() as u32
        }
        Mode::Odd => unsafe {
            c::softfloat_roundingMode_write_helper(c::ROUND_ODD);
            let (x, y) = (c::F16T { v: a }, c::F16T { v: b });
            (if mul {
                c::f16_mul(x, y)
            } else {
                c::f16_add(x, y)
            })
            .v as u32
        },
    }
}

fn sf_f32_op(a: u32, b: u32, mul: bool, m: Mode) -> u32 {
    match m {
        Mode::Std(r) => {
            let (x, y) = (SF32::from_bits(a), SF32::from_bits(b));
            (if mul { x.mul(y, r) } else { x.add(y, r) }).to_bits()
        }
        Mode::Odd => unsafe {
            c::softfloat_roundingMode_write_helper(c::ROUND_ODD);
            let (x, y) = (c::F32T { v: a }, c::F32T { v: b });
            (if mul {
                c::f32_mul(x, y)
            } else {
                c::f32_add(x, y)
            })
            .v
        },
    }
}

struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Random f64 inputs for a target format: random exponents over the range,
/// midpoints of neighbouring target codes nudged by a few ulps, edges, NaNs.
fn f64_inputs(f: &MiniFloat, seed: u64, n: usize) -> Vec<f64> {
    let mut rng = SplitMix(seed);
    let lo = f.min_subnormal().unwrap().log2() as i64 - 3;
    let hi = f.max_value().log2() as i64 + 3;
    let mag_codes = 1u64 << (f.ebits + f.mbits);
    let mut v = Vec::with_capacity(n + 64);
    for i in 0..n {
        let r = rng.next();
        let x = if i % 2 == 0 {
            let e = lo + (r % (hi - lo + 1) as u64) as i64;
            f64::from_bits((((e + 1023) as u64) << 52) | (rng.next() >> 12))
        } else {
            // midpoint of codes c, c+1 (c+1 may be the infinity code: the tie above max)
            let c = (r % (mag_codes >> 1 << 1)) as u32 & !(1 << (f.ebits + f.mbits - 1)) as u32;
            let c = c.min(f.max_mag_code());
            let a = f.decode(c);
            let b = if c < f.max_mag_code() {
                f.decode(c + 1)
            } else {
                2.0 * a - f.decode(c - 1)
            };
            let mid = (a + b) / 2.0;
            let k = (rng.next() % 7) as i64 - 3;
            if mid == 0.0 {
                mid
            } else {
                f64::from_bits((mid.to_bits() as i64 + k) as u64)
            }
        };
        v.push(if rng.next() & 1 == 1 { -x } else { x });
    }
    let max = f.max_value();
    let sub = f.min_subnormal().unwrap();
    for e in [
        0.0,
        f64::INFINITY,
        f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
        max,
        f64::from_bits(max.to_bits() + 1),
        sub / 2.0,
        f64::from_bits((sub / 2.0).to_bits() + 1),
        f64::from_bits((sub / 2.0).to_bits() - 1),
        f.min_normal(),
        f64::from_bits(f.min_normal().to_bits() - 1),
        f64::NAN,
        f64::from_bits(0x7FF0_0000_0000_0001),
        f64::from_bits(0x7FF4_0000_0000_0000),
        f64::from_bits(0x7FFF_FFFF_FFFF_FFFF),
    ] {
        v.push(e);
        v.push(-e);
    }
    v
}

fn cmp_code(ours: u32, theirs: u32, what: &dyn Fn() -> String) {
    assert_eq!(
        ours,
        theirs,
        "{}: ours {ours:#x}, softfloat {theirs:#x}",
        what()
    );
}

#[test]
fn softfloat_f64_to_f16_and_f32() {
    for (f, seed) in [(FP16, 1u64), (F32, 2)] {
        let xs = f64_inputs(&f, seed, 400_000);
        xs.par_iter().for_each(|&x| {
            for (r, m) in MODES {
                let ours = f.encode(x, &ConvertOptions::with_rounding(r), 0).unwrap();
                let theirs = if f == FP16 {
                    sf_f64_to_f16(x, m)
                } else {
                    sf_f64_to_f32(x, m)
                };
                cmp_code(ours, theirs, &|| {
                    format!("{f} from f64 {:#018x} ({x:e}) {r}", x.to_bits())
                });
            }
        });
    }
}

#[test]
fn softfloat_f32_to_f16_sampled() {
    // every 1021st f32 pattern (~4.2 M), NaNs included
    let n = (1u64 << 32).div_ceil(1021);
    (0..n).into_par_iter().for_each(|i| {
        let b = (i * 1021 + 5) as u32;
        let x = f32::from_bits(b);
        for (r, m) in MODES {
            let ours = FP16
                .encode_f32(x, &ConvertOptions::with_rounding(r), 0)
                .unwrap();
            cmp_code(ours, sf_f32_to_f16(x, m), &|| {
                format!("fp16 from f32 {b:#010x} ({x:e}) {r}")
            });
        }
    });
}

/// Every fp16 code's value, decoded once: the all-pairs sweeps would
/// otherwise spend more time decoding operands than rounding results.
fn fp16_value(c: u16) -> f64 {
    static VALUES: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();
    VALUES.get_or_init(|| (0..=0xFFFFu32).map(|c| FP16.decode(c)).collect())[c as usize]
}

/// The fp16 code of `a op b` rounded once by bitsim (in mode `r`).
fn our_f16_op(a: u16, b: u16, mul: bool, r: Rounding) -> u32 {
    let (x, y) = (fp16_value(a), fp16_value(b));
    let mut v = if mul { x * y } else { x + y }; // exact for fp16 operands
                                                 // IEEE 754 §6.3: an exact zero sum of operands of opposite signs is +0,
                                                 // except under roundTowardNegative, where it is −0. f64 arithmetic ran
                                                 // in round-to-nearest, so fix the sign for rd.
    if !mul && v == 0.0 && x.is_sign_negative() != y.is_sign_negative() && r == Rounding::Rd {
        v = -0.0;
    }
    FP16.encode(v, &ConvertOptions::with_rounding(r), 0)
        .unwrap()
}

fn check_f16_pair(a: u16, b: u16) {
    check_f16_pair_in(a, b, &MODES);
}

fn check_f16_pair_in(a: u16, b: u16, modes: &[(Rounding, Mode)]) {
    for mul in [false, true] {
        for &(r, m) in modes {
            let ours = our_f16_op(a, b, mul, r);
            let theirs = sf_f16_op(a, b, mul, m);
            if ours == theirs {
                continue; // (equal bits: the NaN rule below has nothing to add)
            }
            let (on, tn) = (
                fp16_value(ours as u16).is_nan(),
                fp16_value(theirs as u16).is_nan(),
            );
            let op = if mul { '*' } else { '+' };
            if on || tn {
                assert!(
                    on && tn,
                    "fp16 {a:#06x} {op} {b:#06x} {r}: ours {ours:#06x}, softfloat {theirs:#06x}"
                );
            } else {
                assert_eq!(ours, theirs, "fp16 {a:#06x} {op} {b:#06x} {r}");
            }
        }
    }
}

/// A sampled subset of all fp16 pairs: every 4099th pair index (~1 M pairs),
/// plus every pair of the 512 codes around 1.0, min normal and max.
#[test]
fn softfloat_f16_add_mul_sampled() {
    let n = (1u64 << 32).div_ceil(4099);
    (0..n).into_par_iter().for_each(|i| {
        let p = i * 4099;
        check_f16_pair((p >> 16) as u16, p as u16);
    });
    let focus: Vec<u16> = [0x3C00u16, 0x0400, 0x7BFF, 0x0001]
        .iter()
        .flat_map(|&c| (c.saturating_sub(32)..c.saturating_add(32)).flat_map(|x| [x, x | 0x8000]))
        .collect();
    focus.par_iter().for_each(|&a| {
        for &b in &focus {
            check_f16_pair(a, b);
        }
    });
}

/// All 2^32 fp16 pairs, add and mul, in one rounding mode.
fn f16_exhaustive(k: usize) {
    let modes = [MODES[k]];
    (0..=0xFFFFu32).into_par_iter().for_each(|a| {
        for b in 0..=0xFFFFu16 {
            check_f16_pair_in(a as u16, b, &modes);
        }
    });
}

// One ignored test per mode (all 2^32 pairs each, add and mul); each takes
// about 2 min on 2 cores in release (rne: 1/64 of the pairs in 2.0 s, with
// operands decoded once into a table; 6.3 s when every pair decoded its
// operands and compared results through decode). Run with
// `cargo test --release --test formats -- --ignored softfloat_f16_add_mul_exhaustive`.
#[test]
#[ignore = "all 2^32 fp16 pairs, add and mul, rne; ~2 min on 2 cores"]
fn softfloat_f16_add_mul_exhaustive_rne() {
    f16_exhaustive(0);
}

#[test]
#[ignore = "all 2^32 fp16 pairs, add and mul, rtz; ~2 min on 2 cores"]
fn softfloat_f16_add_mul_exhaustive_rtz() {
    f16_exhaustive(1);
}

#[test]
#[ignore = "all 2^32 fp16 pairs, add and mul, ru; ~2 min on 2 cores"]
fn softfloat_f16_add_mul_exhaustive_ru() {
    f16_exhaustive(2);
}

#[test]
#[ignore = "all 2^32 fp16 pairs, add and mul, rd; ~2 min on 2 cores"]
fn softfloat_f16_add_mul_exhaustive_rd() {
    f16_exhaustive(3);
}

#[test]
#[ignore = "all 2^32 fp16 pairs, add and mul, rna; ~2 min on 2 cores"]
fn softfloat_f16_add_mul_exhaustive_rna() {
    f16_exhaustive(4);
}

#[test]
#[ignore = "all 2^32 fp16 pairs, add and mul, rto; ~2 min on 2 cores"]
fn softfloat_f16_add_mul_exhaustive_rto() {
    f16_exhaustive(5);
}

fn random_f32(rng: &mut SplitMix) -> u32 {
    let r = rng.next();
    match r % 4 {
        // any pattern
        0 => (r >> 32) as u32,
        // moderate exponents (sums and products stay in range)
        1 | 2 => {
            let e = 64 + ((r >> 8) % 128) as u32;
            (((r >> 63) as u32) << 31) | (e << 23) | ((r >> 20) as u32 & 0x7F_FFFF)
        }
        // near the subnormal range
        _ => {
            let e = ((r >> 8) % 12) as u32;
            (((r >> 63) as u32) << 31) | (e << 23) | ((r >> 20) as u32 & 0x7F_FFFF)
        }
    }
}

#[test]
fn softfloat_f32_mul_and_exact_add() {
    let seeds: Vec<u64> = (0..64).collect();
    let checked_adds: u64 = seeds
        .par_iter()
        .map(|&s| {
            let mut rng = SplitMix(0xF32 + s);
            let mut adds = 0;
            for _ in 0..20_000 {
                let (a, b) = (random_f32(&mut rng), random_f32(&mut rng));
                // sums: make half of them close in exponent so they are often exact
                let b = if rng.next() & 1 == 1 {
                    (a & 0xFF80_0000) ^ (b & 0x807F_FFFF)
                } else {
                    b
                };
                let (x, y) = (f32::from_bits(a) as f64, f32::from_bits(b) as f64);
                for (r, m) in MODES {
                    let o = ConvertOptions::with_rounding(r);
                    // product: 24 × 24 bits, exact in f64
                    let theirs = sf_f32_op(a, b, true, m);
                    let ours = F32.encode(x * y, &o, 0).unwrap();
                    let nan = F32.decode(ours).is_nan() || F32.decode(theirs).is_nan();
                    if nan {
                        assert!(
                            F32.decode(ours).is_nan() && F32.decode(theirs).is_nan(),
                            "{a:#x}*{b:#x} {r}"
                        );
                    } else {
                        assert_eq!(ours, theirs, "f32 {a:#010x} * {b:#010x} {r}");
                    }
                    // sum: only where f64 holds it exactly (two-sum error 0)
                    let s = x + y;
                    let bb = s - x;
                    let err = (x - (s - bb)) + (y - bb);
                    if !s.is_finite() || err != 0.0 {
                        continue;
                    }
                    let mut v = s;
                    if v == 0.0 && x.is_sign_negative() != y.is_sign_negative() && r == Rounding::Rd
                    {
                        v = -0.0;
                    }
                    let ours = F32.encode(v, &o, 0).unwrap();
                    assert_eq!(
                        ours,
                        sf_f32_op(a, b, false, m),
                        "f32 {a:#010x} + {b:#010x} {r}"
                    );
                    adds += 1;
                }
            }
            adds
        })
        .sum();
    assert!(
        checked_adds > 1_000_000,
        "only {checked_adds} exact sums checked"
    );
}
