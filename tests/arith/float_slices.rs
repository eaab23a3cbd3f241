//! The slice loops of `FloatUnit` specialised per format and rounding mode
//! (`add_slice`, `sub_slice`, `mul_slice`) against their slow twins: the
//! per-element methods and the `*_slice_generic` loops, bit for bit.
//!
//! Inputs: every pair of codes for 8-bit formats; for 16-bit formats every
//! pair of a hand-picked edge list (±0, subnormals, min normal, ties, max,
//! near-overflow, inf, quiet and signalling NaNs with payloads, codes with
//! bits above the format's width) plus seeded random pairs built to cancel,
//! carry, tie, underflow and overflow. Every rounding mode (stochastic
//! rounding with several widths and a wrapping index), every overflow
//! policy the format allows. The correctness of the per-element path itself
//! is checked against independent oracles in `float.rs` and the SoftFloat
//! tests.

use crate::seeded::Rng;

use bitsim::arith::float::FloatUnit;
use bitsim::formats::parse::{BF16, E2M1, E3M2, E4M3, E4M3FNUZ, E5M2, FP16};
use bitsim::formats::{ConvertOptions, Exp0, MiniFloat, NonFinite, Overflow, Rounding};

/// The four specialised formats, an odd one, and near-misses of fp16 (other
/// bias, flushed subnormals) that must take the generic loop.
fn formats() -> Vec<MiniFloat> {
    vec![
        FP16,
        BF16,
        E4M3,
        E5M2,
        E3M2,
        E2M1,
        E4M3FNUZ,
        MiniFloat::new(5, 10, 14, NonFinite::Ieee, Exp0::Subnormal, true).unwrap(),
        MiniFloat::new(5, 10, 15, NonFinite::Ieee, Exp0::Flush, true).unwrap(),
    ]
}

/// Every option set to test for `f`: each mode × each allowed overflow policy,
/// stochastic rounding at three widths.
fn option_sets(f: &MiniFloat) -> Vec<ConvertOptions> {
    let mut v = Vec::new();
    for ov in [
        None,
        Some(Overflow::Saturate),
        Some(Overflow::Inf),
        Some(Overflow::Nan),
    ] {
        if ov.is_some_and(|p| f.resolve_overflow(Some(p)).is_err()) {
            continue;
        }
        for r in Rounding::ALL {
            let widths: &[u32] = if r == Rounding::Sr { &[1, 7, 32] } else { &[8] };
            for &sr_bits in widths {
                v.push(ConvertOptions {
                    rounding: r,
                    overflow: ov,
                    seed: 0x5eed_f00d_1234_5678,
                    sr_bits,
                    ..Default::default()
                });
            }
        }
    }
    assert!(v.len() >= 9, "{f}: too few option sets");
    v
}

/// Hand-picked codes of every class, both signs, some with junk above the width.
fn edge_codes(f: &MiniFloat) -> Vec<u32> {
    let m = f.mbits;
    let one = f.encode(1.0, &ConvertOptions::default(), 0).unwrap();
    let max = f.max_code(false);
    let mut v = vec![
        0,
        1,
        2,
        (1u32 << m).saturating_sub(1),
        1 << m,
        (1 << m) + 1,
        2 << m,
        one,
        one + 1,
        one | (1 << m.saturating_sub(1)),
        one + (1 << m),
        one - 1,
        // Half an ulp of 1 (a tie when added to 1) and a quarter.
        one.saturating_sub((m + 1) << m),
        one.saturating_sub((m + 2) << m),
        max,
        max - 1,
        max - (1 << m),
        max.saturating_sub(2 << m),
    ];
    if let Some(c) = f.inf_code(false) {
        v.push(c);
    }
    if let Some(c) = f.nan_code(false) {
        v.push(c);
        v.push(c | 1);
        if f.nonfinite == NonFinite::Ieee && m >= 2 {
            // Signalling NaNs with payloads (quiet bit clear).
            v.push((c & !(1 << (m - 1))) | 1);
            v.push((c & !(1 << (m - 1))) | ((1 << (m - 1)) - 1));
        }
    }
    let s = 1u32 << (f.bits() - 1);
    let neg: Vec<u32> = v.iter().map(|c| c | s).collect();
    v.extend(neg);
    // Bits above the width are ignored by every path.
    let junk: Vec<u32> = v.iter().take(8).map(|c| c | (0xabc << f.bits())).collect();
    v.extend(junk);
    v
}

/// Operand pairs for `f`: all pairs for ≤ 8 bits, else edges × edges plus seeded pairs.
fn pairs(f: &MiniFloat, seed: u64) -> (Vec<u32>, Vec<u32>) {
    let bits = f.bits();
    let mask = ((1u64 << bits) - 1) as u32;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    if bits <= 8 {
        for x in 0..=mask {
            for y in 0..=mask {
                a.push(x);
                b.push(y);
            }
        }
    } else {
        let e = edge_codes(f);
        for &x in &e {
            for &y in &e {
                a.push(x);
                b.push(y);
            }
        }
        let mut rng = Rng(seed);
        let m = f.mbits;
        let s = 1u32 << (bits - 1);
        for i in 0..60_000 {
            let x = rng.u32() & mask;
            let y = match i % 6 {
                // Anything.
                0 => rng.u32() & mask,
                // Same binade, random sign: cancellation and carries.
                1 => (x ^ (rng.u32() & ((1 << (m + 2)) - 1))) ^ (rng.u32() & s),
                // Exactly −x or x: exact zero sums.
                2 => x ^ (s * (rng.u32() & 1)),
                // m+1 or m+2 binades below with a random mantissa: ties and sticky bits.
                3 => (x & s) | ((x & !s).saturating_sub((m + 1 + rng.u32() % 2) << m)),
                // Small exponent difference, mantissa cleared: exact ties.
                4 => (x & !((1 << m) - 1)).saturating_sub((rng.u32() % (m + 3)) << m),
                // Near the top and bottom of the range: overflow and underflow.
                _ => {
                    let top = f.max_code(false) - (rng.u32() % (3 << m));
                    let low = rng.u32() % (3 << m);
                    (if rng.u32() & 1 == 0 { top } else { low }) | (rng.u32() & s)
                }
            };
            a.push(x);
            b.push(y & mask);
        }
    }
    (a, b)
}

type SliceFn = fn(&FloatUnit, &[u32], &[u32], &mut [u32], u64);
type ElemFn = fn(&FloatUnit, u32, u32, u64) -> u32;

const OPS: [(&str, SliceFn, SliceFn, ElemFn); 3] = [
    (
        "add",
        FloatUnit::add_slice,
        FloatUnit::add_slice_generic,
        FloatUnit::add,
    ),
    (
        "sub",
        FloatUnit::sub_slice,
        FloatUnit::sub_slice_generic,
        FloatUnit::sub,
    ),
    (
        "mul",
        FloatUnit::mul_slice,
        FloatUnit::mul_slice_generic,
        FloatUnit::mul,
    ),
];

#[test]
fn specialised_slices_equal_per_element_path() {
    for (k, f) in formats().iter().enumerate() {
        let (a, b) = pairs(f, 0x51ce_0000 + k as u64);
        // Wraps past u64::MAX, so stochastic rounding's index wrap is covered too.
        let index0 = u64::MAX - 1000;
        let mut fast = vec![0u32; a.len()];
        let mut twin = vec![0u32; a.len()];
        for o in option_sets(f) {
            let u = FloatUnit::new(f, &o).unwrap();
            for (name, slice, generic, elem) in OPS {
                slice(&u, &a, &b, &mut fast, index0);
                generic(&u, &a, &b, &mut twin, index0);
                for i in 0..a.len() {
                    let want = elem(&u, a[i], b[i], index0.wrapping_add(i as u64));
                    assert_eq!(
                        fast[i], want,
                        "{f} {} ov={:?} sr_bits={} {name}({:#x}, {:#x}) at {i}",
                        o.rounding, o.overflow, o.sr_bits, a[i], b[i]
                    );
                    assert_eq!(twin[i], want, "{f} {name} generic loop at {i}");
                }
            }
        }
    }
}

/// Ragged lengths (empty, one, odd) and an offset start index agree with per-element calls.
#[test]
fn ragged_slices_and_offsets() {
    let mut rng = Rng(0x7a99);
    for f in [FP16, BF16, E4M3, E5M2, E3M2] {
        let mask = ((1u64 << f.bits()) - 1) as u32;
        for len in [0usize, 1, 2, 7, 31, 1000] {
            let a: Vec<u32> = (0..len).map(|_| rng.u32() & mask).collect();
            let b: Vec<u32> = (0..len).map(|_| rng.u32() & mask).collect();
            for r in Rounding::ALL {
                let u = FloatUnit::new(&f, &ConvertOptions::with_rounding(r)).unwrap();
                let mut out = vec![0u32; len];
                u.add_slice(&a, &b, &mut out, 77);
                for i in 0..len {
                    assert_eq!(out[i], u.add(a[i], b[i], 77 + i as u64), "{f} {r} {i}");
                }
                u.mul_slice(&a, &b, &mut out, 5);
                for i in 0..len {
                    assert_eq!(out[i], u.mul(a[i], b[i], 5 + i as u64), "{f} {r} {i}");
                }
            }
        }
    }
}

#[test]
#[should_panic(expected = "slice lengths differ")]
fn mismatched_lengths_panic() {
    let u = FloatUnit::new(&FP16, &ConvertOptions::default()).unwrap();
    u.add_slice(&[0, 1], &[0], &mut [0, 0], 0);
}
