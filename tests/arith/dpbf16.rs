//! The `vdpbf16ps` lane (`bitsim::arith::dpbf16`): hand-derived cases (ties,
//! DAZ, FTZ with the sign, tininess after rounding, overflow, fusing, NaN and
//! inf, the pair order, odd-K padding) and an independent oracle on seeded
//! operands: f64 arithmetic, then an explicit RNE cut to 24 bits on the f64
//! bit pattern and the flush / overflow range check written out here.

use crate::seeded::Rng;
use bitsim::arith::dpbf16::{dot, instruction, step};

/// bf16 codes used below (sign, 8-bit exponent field, 7 mantissa bits).
const ONE: u16 = 0x3f80;
const NEG_ONE: u16 = 0xbf80;
/// 2^(e): a normal bf16 power of two.
fn pow2(e: i32) -> u16 {
    assert!((-126..=127).contains(&e));
    ((e + 127) as u16) << 7
}
fn neg(c: u16) -> u16 {
    c ^ 0x8000
}

fn bits(x: f32) -> u32 {
    x.to_bits()
}

/// The oracle: one fused step with DAZ inputs, one RNE rounding, FTZ output
/// (tiny after rounding), by f64 arithmetic. Why f64 is enough: a bf16 × bf16
/// product has ≤ 16 significant bits and its exponent stays far inside f64's
/// range, so it is exact; the f64 sum of it and a 24-bit accumulator is
/// rounded once to 53 bits, and rounding that to 24 bits gives the exact
/// sum's 24-bit rounding (double rounding is innocuous when 53 ≥ 2·24 + 2,
/// Figueroa 1995).
fn oracle(acc: f32, a: u16, b: u16) -> f32 {
    let daz32 = |x: u32| {
        if x & 0x7f80_0000 == 0 {
            f32::from_bits(x & 0x8000_0000)
        } else {
            f32::from_bits(x)
        }
    };
    let x = daz32(acc.to_bits()) as f64;
    let va = daz32((a as u32) << 16) as f64;
    let vb = daz32((b as u32) << 16) as f64;
    let s = va * vb + x;
    if s.is_nan() {
        return f32::NAN;
    }
    if s.is_infinite() || s == 0.0 {
        return s as f32;
    }
    // RNE to 24 significant bits: drop the low 29 of f64's 52 mantissa bits
    // (a carry runs into the exponent field, as it should).
    let sb = s.to_bits();
    let (keep, drop) = (sb >> 29, sb & ((1 << 29) - 1));
    let up = drop > 1 << 28 || (drop == 1 << 28 && keep & 1 == 1);
    let r = f64::from_bits((keep + up as u64) << 29);
    if r.abs() >= 2f64.powi(128) {
        return if r < 0.0 {
            f32::NEG_INFINITY
        } else {
            f32::INFINITY
        };
    }
    if r.abs() < 2f64.powi(-126) {
        return if r < 0.0 { -0.0 } else { 0.0 };
    }
    r as f32
}

fn same(got: f32, want: f32) -> bool {
    (got.is_nan() && want.is_nan()) || got.to_bits() == want.to_bits()
}

#[test]
fn ties_round_to_even_at_each_add() {
    // 1 + 2^-24: halfway between 1 and 1 + 2^-23 → the even one, 1.
    assert_eq!(bits(step(1.0, pow2(-24), ONE)), bits(1.0));
    // (1 + 2^-23) + 2^-24: halfway to 1 + 2^-22 (even) → up.
    let odd = f32::from_bits(0x3f80_0001);
    assert_eq!(bits(step(odd, pow2(-24), ONE)), 0x3f80_0002);
    // Just above the tie (1.5 · 2^-24 = 0x33c0) rounds up.
    assert_eq!(bits(step(1.0, 0x33c0, ONE)), 0x3f80_0001);
}

#[test]
fn subnormal_inputs_read_as_zero() {
    // 2^-133 (bf16 0x0001) × 2^100 would be 2^-33; DAZ makes it +0 · 2^100.
    assert_eq!(bits(step(0.0, 0x0001, pow2(100))), bits(0.0));
    assert_eq!(bits(step(1.0, 0x0001, pow2(100))), bits(1.0));
    // −subnormal: the product is −0; +0 + −0 = +0, −0 + −0 = −0.
    assert_eq!(bits(step(0.0, 0x8001, pow2(100))), bits(0.0));
    assert_eq!(bits(step(-0.0, 0x8001, pow2(100))), bits(-0.0));
    // A subnormal accumulator reads as zero of its sign too.
    let sub = f32::from_bits(0x0000_0005);
    assert_eq!(bits(step(sub, 0, ONE)), bits(0.0));
    assert_eq!(bits(step(-sub, 0x8000, ONE)), bits(-0.0));
}

#[test]
fn tiny_results_flush_to_a_zero_of_their_sign() {
    // 2^-70 · 2^-70 = 2^-140: normal inputs, a product below 2^-126.
    assert_eq!(bits(step(0.0, pow2(-70), pow2(-70))), bits(0.0));
    assert_eq!(bits(step(0.0, pow2(-70), neg(pow2(-70)))), bits(-0.0));
    assert_eq!(bits(step(-0.0, neg(pow2(-70)), pow2(-70))), bits(-0.0));
    // A sum that cancels to a subnormal: 2^-125 − 1.5·2^-125... here
    // 2^-125 − 2^-125·(1 + 2^-7) = −2^-132: tiny, negative → −0.
    let acc = f32::from_bits(0x0100_0000); // 2^-125
    let b = (pow2(-125) & 0xff80) | 1; // (1 + 2^-7) · 2^-125
    assert_eq!(bits(step(acc, neg(b), ONE)), bits(-0.0));
}

#[test]
fn the_product_is_fused_into_the_sum() {
    // 2^-125 + 2^-127: the product alone is below 2^-126 (an unfused
    // FTZ multiply would drop it), but the fused sum is 1.25 · 2^-125.
    let acc = f32::from_bits(0x0100_0000);
    assert_eq!(step(acc, pow2(-64), pow2(-63)), 1.25 * 2f32.powi(-125));
    // 2^64 · 2^64 = 2^128 overflows f32 on its own; −2^127 + 2^128 = 2^127.
    assert_eq!(step(-(2f32.powi(127)), pow2(64), pow2(64)), 2f32.powi(127));
}

#[test]
fn tininess_is_decided_after_rounding() {
    // 2^-126 − 2^-152 rounds (24 bits, exponent unbounded) to 2^-126: kept.
    let min = f32::from_bits(0x0080_0000);
    assert_eq!(bits(step(min, pow2(-76), neg(pow2(-76)))), bits(min));
    // 2^-126 − 2^-150 is exact at 24 bits and below 2^-126: tiny → +0
    // (gradual underflow would round it to 2^-126 instead).
    assert_eq!(bits(step(min, pow2(-75), neg(pow2(-75)))), bits(0.0));
}

#[test]
fn overflow_goes_to_inf() {
    // f32::MAX + 2^104 = 2^128; f32::MAX + 2^103 is a tie, MAX's mantissa is
    // odd, so it rounds to 2^128: inf either way.
    assert_eq!(step(f32::MAX, pow2(52), pow2(52)), f32::INFINITY);
    assert_eq!(step(f32::MAX, pow2(52), pow2(51)), f32::INFINITY);
    assert_eq!(step(-f32::MAX, neg(pow2(52)), pow2(51)), f32::NEG_INFINITY);
    // Below the tie it stays MAX.
    assert_eq!(step(f32::MAX, pow2(51), pow2(51)), f32::MAX);
}

#[test]
fn nan_and_inf() {
    let (inf, nan) = (0x7f80u16, 0x7fc0u16);
    assert!(step(0.0, inf, 0).is_nan(), "inf · 0");
    assert!(step(1.0, 0x8000, inf).is_nan(), "−0 · inf");
    assert_eq!(step(1.0, inf, ONE), f32::INFINITY);
    assert_eq!(step(1.0, inf, NEG_ONE), f32::NEG_INFINITY);
    assert!(step(f32::NEG_INFINITY, inf, ONE).is_nan(), "−inf + inf");
    assert_eq!(step(f32::INFINITY, ONE, ONE), f32::INFINITY);
    assert!(step(f32::NAN, ONE, ONE).is_nan());
    assert!(step(1.0, nan, ONE).is_nan());
    assert!(step(f32::INFINITY, nan, 0).is_nan());
    // An inf product with a subnormal-flushed partner is 0 · inf.
    assert!(step(1.0, inf, 0x0001).is_nan());
}

#[test]
fn the_odd_element_goes_first() {
    // acc = 1; p1 = 1.5·2^-24, p0 = 2^-24. Odd first: 1 + 1.5·2^-24 →
    // 1 + 2^-23, then + 2^-24 is a tie → 1 + 2^-22 (even). Even first:
    // 1 + 2^-24 → 1 (tie), then + 1.5·2^-24 → 1 + 2^-23.
    let a = [pow2(-24), 0x33c0];
    assert_eq!(bits(instruction(1.0, a, [ONE, ONE])), 0x3f80_0002);
    assert_eq!(
        bits(instruction(1.0, [a[1], a[0]], [ONE, ONE])),
        0x3f80_0001
    );
    // The same through `dot`: K = 4, the first pair leaves 1.
    let k4 = [0, ONE, pow2(-24), 0x33c0];
    assert_eq!(bits(dot(&k4, &[ONE; 4])), 0x3f80_0002);
}

#[test]
fn odd_k_is_padded_with_a_positive_zero() {
    // K = 2: p1 = −2^-140 → −0 (flushed); p0 = +0 · −1 = −0; −0 + −0 = −0.
    let (a2, w2) = ([0, pow2(-70)], [NEG_ONE, neg(pow2(-70))]);
    assert_eq!(bits(dot(&a2, &w2)), bits(-0.0));
    // K = 3: the pad's +0 · +0 runs first in the second instruction:
    // −0 + +0 = +0, then + (+0 · −1) = +0.
    let (a3, w3) = ([0, pow2(-70), 0], [NEG_ONE, neg(pow2(-70)), NEG_ONE]);
    assert_eq!(bits(dot(&a3, &w3)), bits(0.0));
    assert_eq!(bits(dot(&[], &[])), bits(0.0));
    assert_eq!(dot(&[ONE], &[pow2(3)]), 8.0);
}

/// A bf16 code with its exponent near `centre` (± `spread` binades).
fn code_near(r: &mut Rng, centre: i32, spread: i32) -> u16 {
    let e = (centre + r.below((2 * spread + 1) as u64) as i32 - spread).clamp(0, 255);
    ((r.below(2) as u16) << 15) | ((e as u16) << 7) | r.below(128) as u16
}

#[test]
fn step_equals_the_f64_oracle_on_seeded_operands() {
    let mut r = Rng(0xdb16);
    let mut checked = 0u32;
    for i in 0..3_000_000u32 {
        let (acc, a, b) = match i % 4 {
            // Anything: random bit patterns (subnormals, inf, NaN included).
            0 => (f32::from_bits(r.u32()), r.u32() as u16, r.u32() as u16),
            // Products and accumulators near the bottom of the range.
            1 => {
                let acc = f32::from_bits(r.u32() & 0x81ff_ffff);
                (acc, code_near(&mut r, 64, 12), code_near(&mut r, 64, 12))
            }
            // Near the top: overflow and its ties.
            2 => {
                let acc = f32::from_bits(r.u32() | 0x7e00_0000) * 0.99;
                (acc, code_near(&mut r, 190, 8), code_near(&mut r, 190, 8))
            }
            // Near cancellation: acc ≈ −a·b.
            _ => {
                let (a, b) = (code_near(&mut r, 127, 40), code_near(&mut r, 127, 40));
                let p = -(f32::from_bits((a as u32) << 16) * f32::from_bits((b as u32) << 16));
                let nudge = r.below(9) as i32 - 4;
                (f32::from_bits((p.to_bits() as i32 + nudge) as u32), a, b)
            }
        };
        let (got, want) = (step(acc, a, b), oracle(acc, a, b));
        assert!(
            same(got, want),
            "step({acc:e} [{:#010x}], {a:#06x}, {b:#06x}) = {got:e} [{:#010x}], oracle {want:e} [{:#010x}]",
            acc.to_bits(),
            got.to_bits(),
            want.to_bits()
        );
        checked += !want.is_nan() as u32;
    }
    assert!(checked > 2_000_000, "most cases are not NaN: {checked}");
}

#[test]
fn dot_is_the_chain_of_instructions() {
    let mut r = Rng(77);
    for k in [1usize, 2, 3, 8, 33] {
        for _ in 0..2000 {
            let a: Vec<u16> = (0..k).map(|_| code_near(&mut r, 120, 10)).collect();
            let b: Vec<u16> = (0..k).map(|_| code_near(&mut r, 120, 10)).collect();
            // The chain written out with the oracle: pairs, odd first, pad +0.
            let mut acc = 0.0f32;
            for p in (0..k).step_by(2) {
                let (a1, b1) = (
                    a.get(p + 1).copied().unwrap_or(0),
                    b.get(p + 1).copied().unwrap_or(0),
                );
                acc = oracle(acc, a1, b1);
                acc = oracle(acc, a[p], b[p]);
            }
            let got = dot(&a, &b);
            assert!(same(got, acc), "K={k}: {got:e} vs {acc:e}");
        }
    }
}
