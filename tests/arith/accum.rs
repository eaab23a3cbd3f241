//! Accumulator models against independent slow models written here:
//! integer registers against i64 arithmetic, float registers against
//! "exact sum in f64 (asserted exact), then `MiniFloat::encode`", the
//! Kulisch register against i128 fixed-point sums, and every fast path
//! against the general model, on seeded random inputs and edge cases.

use crate::seeded;

use bitsim::arith::accum::fast::{add_round_odd, FastSum};
use bitsim::arith::accum::{
    Acc, AccumSpec, Accumulate, Accumulator, ExactSum, F32Sequential, Fp8Dot, IntOverflow, Order,
    Product,
};
use bitsim::formats::parse::{BF16, E4M3, E5M2, F32, FP16};
use bitsim::formats::{ConvertOptions, MiniFloat, Rounding};
use bitsim::hw::cost::OpKind;
use seeded::Rng;

fn acc(s: &str) -> Accumulator {
    Accumulator::new(s.parse().unwrap_or_else(|e| panic!("{s}: {e}")))
}

fn e8m13() -> MiniFloat {
    match bitsim::formats::parse::parse_element("e8m13").unwrap() {
        bitsim::formats::ElementFormat::Float(f) => f,
        _ => unreachable!(),
    }
}

/// Equal bits, or both NaN (NaN payloads are a hardware choice).
fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn assert_same(what: &str, got: f64, want: f64) {
    assert!(
        same(got, want),
        "{what}: got {got:e} ({:#x}), want {want:e} ({:#x})",
        got.to_bits(),
        want.to_bits()
    );
}

/// `a + b` in f64, asserting it is exact (Knuth's TwoSum error is zero).
fn exact_add(a: f64, b: f64) -> f64 {
    let s = a + b;
    if s.is_finite() {
        let bb = s - a;
        let err = (a - (s - bb)) + (b - bb);
        assert_eq!(
            err, 0.0,
            "{a:e} + {b:e} is not exact in f64: the slow model needs exact sums"
        );
    }
    s
}

/// `x` rounded once into `f`, as a value.
fn round(f: &MiniFloat, x: f64, mode: Rounding) -> f64 {
    f.decode(
        f.encode(x, &ConvertOptions::with_rounding(mode), 0)
            .unwrap(),
    )
}

/// Random FP8 products: two random finite codes of `f`, multiplied (exact in f64).
fn fp8_products(rng: &mut Rng, f: &MiniFloat, n: usize) -> Vec<f64> {
    let finite = |rng: &mut Rng| loop {
        let v = f.decode(rng.below(256) as u32);
        if v.is_finite() {
            return v;
        }
    };
    (0..n).map(|_| finite(rng) * finite(rng)).collect()
}

/// Products of N(0,1) values rounded to e4m3 (the typical case).
fn gaussian_products(rng: &mut Rng, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| {
            round(&E4M3, rng.gauss(), Rounding::Rne) * round(&E4M3, rng.gauss(), Rounding::Rne)
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Integer registers.

fn random_int_products(rng: &mut Rng, n: usize, bound: i64) -> Vec<i64> {
    (0..n)
        .map(|_| rng.below(2 * bound as u64 + 1) as i64 - bound)
        .collect()
}

#[test]
fn int32_wrap_is_i64_sum_mod_2_32() {
    let mut rng = Rng(1);
    let a = acc("acc=int32:wrap");
    let f = FastSum::new(&a.spec).unwrap();
    for n in [0, 1, 5, 100, 3000] {
        for bound in [127 * 127, 1 << 28, 1 << 40] {
            let ps = random_int_products(&mut rng, n, bound);
            let want = ps.iter().sum::<i64>() as i32 as f64;
            let fs: Vec<f64> = ps.iter().map(|&p| p as f64).collect();
            assert_same("model", a.sum(&fs), want);
            assert_same("fast", f.sum(&fs), want);
        }
    }
    // The int8 fast dot: i8 × i8 products.
    for _ in 0..50 {
        let x: Vec<i8> = (0..777).map(|_| rng.next() as i8).collect();
        let y: Vec<i8> = (0..777).map(|_| rng.next() as i8).collect();
        let want: i64 = x.iter().zip(&y).map(|(&a, &b)| a as i64 * b as i64).sum();
        assert_eq!(f.dot_i8(&x, &y), Some(want as i32 as f64));
    }
}

/// Slow saturating register: clamp after every add, in i64.
fn sat_sum(ps: &[i64], bits: u32) -> i64 {
    let (lo, hi) = (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1);
    ps.iter().fold(0, |s, &p| (s + p).clamp(lo, hi))
}

#[test]
fn saturating_and_wrapping_registers_match_slow_loops() {
    let mut rng = Rng(2);
    for bits in [16u32, 32] {
        let sat = acc(&format!("acc=int{bits}:sat"));
        let wrap = acc(&format!("acc=int{bits}"));
        let (fsat, fwrap) = (
            FastSum::new(&sat.spec).unwrap(),
            FastSum::new(&wrap.spec).unwrap(),
        );
        for n in [1, 10, 200, 4000] {
            for bound in [127 * 127, 1i64 << (bits - 2), 1i64 << 33] {
                let ps = random_int_products(&mut rng, n, bound);
                let fs: Vec<f64> = ps.iter().map(|&p| p as f64).collect();
                let want_sat = sat_sum(&ps, bits) as f64;
                let s = ps.iter().sum::<i64>();
                let want_wrap = if bits == 16 {
                    s as i16 as f64
                } else {
                    s as i32 as f64
                };
                assert_same("sat model", sat.sum(&fs), want_sat);
                assert_same("sat fast", fsat.sum(&fs), want_sat);
                assert_same("wrap model", wrap.sum(&fs), want_wrap);
                assert_same("wrap fast", fwrap.sum(&fs), want_wrap);
            }
        }
    }
    // Hand case: int16 saturates at 32767 and comes back down from there.
    let ps = [30000.0, 30000.0, -20000.0];
    assert_eq!(acc("acc=int16:sat").sum(&ps), 12767.0);
    assert_eq!(acc("acc=int16:wrap").sum(&ps), (40000i64 as i16) as f64);
    // Saturation is path-dependent, so order changes it; a tree saturates per node.
    assert_eq!(acc("acc=int16:sat,order=pairwise").sum(&ps), 12767.0);
    assert_eq!(
        acc("acc=int16:sat,order=pairwise").sum(&[-20000.0, 30000.0, 30000.0]),
        32767.0
    );
    assert_eq!(
        acc("acc=int16:sat").sum(&[-20000.0, 30000.0, 30000.0]),
        32767.0
    );
    assert_eq!(
        acc("acc=int16:sat").sum(&[30000.0, -20000.0, 30000.0]),
        32767.0
    );
    assert_eq!(
        acc("acc=int16:sat").sum(&[30000.0, 30000.0, -30000.0]),
        2767.0
    );
}

// ---------------------------------------------------------------------------
// Float registers: sequential, chunked, tree.

/// Slow sequential register: exact f64 sum (asserted), then one rounding.
fn slow_seq(f: &MiniFloat, mode: Rounding, ps: &[f64]) -> f64 {
    ps.iter().fold(0.0, |s, &p| round(f, exact_add(s, p), mode))
}

#[test]
fn float_registers_match_exact_sum_then_encode() {
    let mut rng = Rng(3);
    let cases: Vec<(&str, MiniFloat, Rounding)> = vec![
        ("acc=f32", F32, Rounding::Rne),
        ("acc=fp16", FP16, Rounding::Rne),
        ("acc=bf16", BF16, Rounding::Rne),
        ("acc=e8m13:rtz", e8m13(), Rounding::Rtz),
        ("acc=e8m13:rne", e8m13(), Rounding::Rne),
        ("acc=e8m13:rna", e8m13(), Rounding::Rna),
        ("acc=e8m13:ru", e8m13(), Rounding::Ru),
        ("acc=e8m13:rd", e8m13(), Rounding::Rd),
        ("acc=e8m13:rto", e8m13(), Rounding::Rto),
        ("acc=bf16:rtz", BF16, Rounding::Rtz),
    ];
    for (s, f, mode) in cases {
        let a = acc(s);
        let fast = FastSum::new(&a.spec);
        for n in [0, 1, 7, 300, 2000] {
            for ps in [
                gaussian_products(&mut rng, n),
                fp8_products(&mut rng, &E4M3, n),
            ] {
                let want = slow_seq(&f, mode, &ps);
                assert_same(s, a.sum(&ps), want);
                if let Some(fs) = &fast {
                    assert_same(&format!("{s} fast"), fs.sum(&ps), want);
                }
            }
        }
    }
}

#[test]
fn chunked_register_promotes_into_f32_every_c() {
    let mut rng = Rng(4);
    let f = e8m13();
    for c in [1usize, 7, 128] {
        let s = format!("acc=e8m13:rtz,order=chunk:{c}");
        let a = acc(&s);
        let fast = FastSum::new(&a.spec).unwrap();
        for n in [0, 5, 128, 1000, 3001] {
            let ps = gaussian_products(&mut rng, n);
            // Each chunk sequentially in e8m13 rtz; f32 of it is exact; a native f32 add.
            let want = ps
                .chunks(c)
                .fold(0f32, |acc, ch| acc + slow_seq(&f, Rounding::Rtz, ch) as f32)
                as f64;
            assert_same(&s, a.sum(&ps), want);
            assert_same(&format!("{s} fast"), fast.sum(&ps), want);
        }
    }
    // Chunking recovers what the truncating register loses: 1 + 4096 × 2^-14.
    let mut ps = vec![1.0];
    ps.extend(std::iter::repeat_n(2f64.powi(-14), 4096));
    assert_eq!(acc("acc=e8m13:rtz").sum(&ps), 1.0);
    // Chunk 1 holds the 1 and 127 small terms (lost); the other 3969 are kept.
    assert_eq!(
        acc("acc=e8m13:rtz,order=chunk:128").sum(&ps),
        1.0 + 3969.0 * 2f64.powi(-14)
    );
}

/// Slow tree: levels of `fan` consecutive values, each node the exact f64 sum
/// of its children (asserted) rounded once.
fn slow_tree(f: &MiniFloat, mode: Rounding, ps: &[f64], fan: usize) -> f64 {
    if ps.is_empty() {
        return 0.0;
    }
    let mut level = ps.to_vec();
    loop {
        level = level
            .chunks(fan)
            .map(|c| round(f, c.iter().fold(0.0, |s, &x| exact_add(s, x)), mode))
            .collect();
        if level.len() == 1 {
            return level[0];
        }
    }
}

#[test]
fn tree_orders_match_a_slow_tree() {
    let mut rng = Rng(5);
    for (s, f, mode, fan) in [
        ("acc=bf16,order=pairwise", BF16, Rounding::Rne, 2),
        ("acc=bf16,order=tree:4", BF16, Rounding::Rne, 4),
        ("acc=e8m13:rtz,order=tree:3", e8m13(), Rounding::Rtz, 3),
        ("acc=fp16,order=tree:16", FP16, Rounding::Rne, 16),
    ] {
        let a = acc(s);
        assert!(FastSum::new(&a.spec).is_none(), "trees have no fast path");
        for n in [1, 2, 3, 17, 256, 1000] {
            let ps = gaussian_products(&mut rng, n);
            assert_same(s, a.sum(&ps), slow_tree(&f, mode, &ps, fan));
        }
    }
}

#[test]
fn order_matters_where_it_should_and_not_where_it_must_not() {
    // bf16 (8 significant bits): 1 + 7 × 2^-9. Sequentially every 2^-9 is a
    // quarter ulp and vanishes; pairwise the small terms meet first.
    let mut ps = vec![1.0];
    ps.extend(std::iter::repeat_n(2f64.powi(-9), 7));
    let seq = acc("acc=bf16").sum(&ps);
    let pair = acc("acc=bf16,order=pairwise").sum(&ps);
    let exact = acc("acc=exact:bf16").sum(&ps);
    assert_eq!(seq, 1.0);
    // (1 + 2^-9 → 1) + (2^-8) → 1 (tie to even); 2^-8 + 2^-8 = 2^-7; 1 + 2^-7.
    assert_eq!(pair, 1.0 + 2f64.powi(-7));
    // 1 + 1.75 ulp rounds to 1 + 2 ulp.
    assert_eq!(exact, 1.0 + 2f64.powi(-6));

    // Exact and wrapping integer registers are order-independent.
    let mut rng = Rng(6);
    let g = gaussian_products(&mut rng, 999);
    let want = acc("acc=exact").sum(&g);
    for o in ["pairwise", "tree:5", "seq"] {
        assert_same(o, acc(&format!("acc=exact,order={o}")).sum(&g), want);
    }
    let mut rev = g.clone();
    rev.reverse();
    assert_same("reversed", acc("acc=exact").sum(&rev), want);
    let ints: Vec<f64> = random_int_products(&mut rng, 999, 1 << 30)
        .iter()
        .map(|&x| x as f64)
        .collect();
    let w = acc("acc=int32").sum(&ints);
    assert_same(
        "int32 pairwise",
        acc("acc=int32,order=pairwise").sum(&ints),
        w,
    );
    assert_same("int32 tree:7", acc("acc=int32,order=tree:7").sum(&ints), w);
}

// ---------------------------------------------------------------------------
// Kulisch register.

/// A random f64 that is a multiple of 2^-40 below 2^80, and its numerator.
fn fixed_value(rng: &mut Rng) -> (f64, i128) {
    let sig = (rng.next() >> (11 + rng.below(50))) as i128;
    let shift = rng.below(70) as i32; // value = sig · 2^(shift − 40)
    let neg = rng.next() & 1 == 1;
    let n = if neg { -(sig << shift) } else { sig << shift };
    (n as f64 * 2f64.powi(-40), n)
}

/// Rounds `n · 2^-40` (|n| < 2^127) to `p` significant bits with RNE or RTZ,
/// with no exponent limit (the values here stay far inside f32's range).
fn round_fixed(n: i128, p: u32, mode: Rounding) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let mag = n.unsigned_abs();
    let top = 127 - mag.leading_zeros();
    let (kept, cut) = if top + 1 > p {
        (mag >> (top + 1 - p), top + 1 - p)
    } else {
        (mag, 0)
    };
    let rem = if cut == 0 {
        0
    } else {
        mag & ((1u128 << cut) - 1)
    };
    let half = if cut == 0 { 0 } else { 1u128 << (cut - 1) };
    let up = match mode {
        Rounding::Rne => cut > 0 && (rem > half || (rem == half && kept & 1 == 1)),
        Rounding::Rtz => false,
        _ => unimplemented!(),
    };
    let v = (kept + up as u128) as f64 * 2f64.powi(cut as i32 - 40);
    if n < 0 {
        -v
    } else {
        v
    }
}

#[test]
fn kulisch_equals_the_exactly_rounded_sum() {
    let mut rng = Rng(7);
    for trial in 0..300 {
        let n = 1 + rng.below(60) as usize;
        let (mut xs, mut ns): (Vec<f64>, Vec<i128>) = (0..n).map(|_| fixed_value(&mut rng)).unzip();
        // Heavy cancellation: append the negation of a prefix and one more value.
        if trial % 2 == 0 {
            for i in 0..n / 2 {
                xs.push(-xs[i]);
                ns.push(-ns[i]);
            }
            let (x, v) = fixed_value(&mut rng);
            xs.push(x);
            ns.push(v);
        }
        let total: i128 = ns.iter().sum();
        assert_same(
            "f32 rne",
            acc("acc=exact").sum(&xs),
            round_fixed(total, 24, Rounding::Rne),
        );
        assert_same(
            "e8m13 rtz",
            acc("acc=exact:e8m13:rtz").sum(&xs),
            round_fixed(total, 14, Rounding::Rtz),
        );
        let mut s = ExactSum::new();
        s.extend(xs.iter().copied());
        let rto = s.to_f64_round_odd();
        // Round to odd: truncated to 53 bits, the last bit set when inexact.
        let t = round_fixed(total, 53, Rounding::Rtz);
        let mag = total.unsigned_abs();
        let cut = (128 - mag.leading_zeros()).saturating_sub(53);
        let exact = (mag >> cut) << cut == mag;
        let want_rto = if exact {
            t
        } else {
            f64::from_bits(t.to_bits() | 1)
        };
        assert_same("round to odd", rto, want_rto);
    }
}

#[test]
fn kulisch_edge_cases() {
    let a = acc("acc=exact");
    // Cancellation an f32 register cannot see through.
    assert_eq!(a.sum(&[1e30, 1.0, -1e30]), 1.0);
    assert_eq!(F32Sequential.sum(&[1e30, 1.0, -1e30]), 0.0);
    // f64 subnormals and the top of the range.
    let tiny = f64::from_bits(1);
    let mut s = ExactSum::new();
    s.extend([1e308, tiny, -1e308, tiny]);
    assert_eq!(s.to_f64_round_odd(), 2.0 * tiny);
    let mut s = ExactSum::new();
    s.extend([f64::MAX, f64::MAX]);
    assert_eq!(s.to_f64_round_odd(), f64::MAX);
    assert_eq!(a.sum(&[f64::MAX, f64::MAX]), f64::INFINITY);
    assert_eq!(a.sum(&[-f64::MAX, -f64::MAX, 1.0]), f64::NEG_INFINITY);
    // Specials.
    assert!(a.sum(&[1.0, f64::NAN]).is_nan());
    assert!(a.sum(&[f64::INFINITY, f64::NEG_INFINITY]).is_nan());
    assert_eq!(a.sum(&[f64::INFINITY, -1e300, 5.0]), f64::INFINITY);
    // An exact zero is +0, but −0s alone sum to −0 (as IEEE adds).
    assert_same("neg zeros", a.sum(&[-0.0, -0.0]), -0.0);
    assert_same("mixed zeros", a.sum(&[-0.0, 0.0]), 0.0);
    assert_same("cancel", a.sum(&[3.5, -3.5]), 0.0);
    assert_same("empty", a.sum(&[]), 0.0);
    // Rounded once: 1 + 2^-24 + 2^-24 is 1 + 2^-23 exactly (f32 RNE would drop each).
    assert_eq!(
        a.sum(&[1.0, 2f64.powi(-24), 2f64.powi(-24)]),
        1.0 + 2f64.powi(-23)
    );
    assert_eq!(
        F32Sequential.sum(&[1.0, 2f64.powi(-24), 2f64.powi(-24)]),
        1.0
    );
}

#[test]
fn add_round_odd_matches_the_kulisch_register() {
    assert_eq!(add_round_odd(1.0, 2f64.powi(-60)), 1.0 + 2f64.powi(-52));
    assert_eq!(add_round_odd(1.0, -(2f64.powi(-60))), 1.0 - 2f64.powi(-53));
    assert_eq!(add_round_odd(1.0, 2f64.powi(-52)), 1.0 + 2f64.powi(-52));
    assert_eq!(add_round_odd(1.5, -1.5), 0.0);
    let mut rng = Rng(8);
    for _ in 0..100_000 {
        let r = |rng: &mut Rng| {
            let m = rng.unit() + 0.5;
            let e = rng.below(200) as i32 - 100;
            let s = if rng.next() & 1 == 1 { -1.0 } else { 1.0 };
            s * m * 2f64.powi(e)
        };
        let (a, b) = (r(&mut rng), r(&mut rng));
        let mut s = ExactSum::new();
        s.extend([a, b]);
        assert_same(
            &format!("{a:e} + {b:e}"),
            add_round_odd(a, b),
            s.to_f64_round_odd(),
        );
    }
}

// ---------------------------------------------------------------------------
// Fast paths against the model.

#[test]
fn fp8_dot_matches_the_model_bit_for_bit() {
    let model = acc("acc=f32");
    let mut rng = Rng(9);
    for (fa, fb) in [(E4M3, E4M3), (E5M2, E5M2), (E4M3, E5M2)] {
        let d = Fp8Dot::new(&fa, &fb).unwrap();
        for n in [0usize, 1, 2, 31, 256, 4096] {
            for _ in 0..20 {
                let a: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                let b: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                let ps: Vec<f64> = a
                    .iter()
                    .zip(&b)
                    .map(|(&x, &y)| fa.decode(x as u32) * fb.decode(y as u32))
                    .collect();
                assert_same("fp8 dot", d.dot(&a, &b) as f64, model.sum(&ps));
                assert_same("F32Sequential", F32Sequential.sum(&ps), model.sum(&ps));
            }
        }
        // Edge cases: NaN, inf, max, subnormal products, ±0, cancellation.
        let code =
            |f: &MiniFloat, x: f64| f.encode(x, &ConvertOptions::default(), 0).unwrap() as u8;
        let sub = |f: &MiniFloat| f.min_subnormal().unwrap();
        let specials: Vec<(Vec<f64>, Vec<f64>)> = vec![
            (
                vec![fa.max_value(), -fa.max_value()],
                vec![fb.max_value(), fb.max_value()],
            ),
            (
                vec![sub(&fa), sub(&fa), 1.0],
                vec![sub(&fb), -sub(&fb), 0.0],
            ),
            (vec![-0.0, 0.0, -0.0], vec![1.0, -1.0, 1.0]),
            (vec![1.0, f64::NAN], vec![1.0, 1.0]),
            (vec![fa.max_value(); 3], vec![fb.max_value(); 3]),
        ];
        for (x, y) in specials {
            let (a, b): (Vec<u8>, Vec<u8>) = (
                x.iter().map(|&v| code(&fa, v)).collect(),
                y.iter().map(|&v| code(&fb, v)).collect(),
            );
            let ps: Vec<f64> = a
                .iter()
                .zip(&b)
                .map(|(&p, &q)| fa.decode(p as u32) * fb.decode(q as u32))
                .collect();
            assert_same("fp8 edge", d.dot(&a, &b) as f64, model.sum(&ps));
        }
        // All code pairs once each, in a seeded order.
        let mut pairs: Vec<(u8, u8)> = (0..=255u8)
            .flat_map(|x| (0..=255u8).map(move |y| (x, y)))
            .collect();
        for i in (1..pairs.len()).rev() {
            pairs.swap(i, rng.below(i as u64 + 1) as usize);
        }
        for ch in pairs.chunks(97) {
            let (a, b): (Vec<u8>, Vec<u8>) = ch.iter().copied().unzip();
            let ps: Vec<f64> = ch
                .iter()
                .map(|&(p, q)| fa.decode(p as u32) * fb.decode(q as u32))
                .collect();
            assert_same("fp8 pairs", d.dot(&a, &b) as f64, model.sum(&ps));
        }
    }
    // inf × 0 and inf − inf (E5M2 has infinities).
    let d = Fp8Dot::new(&E5M2, &E5M2).unwrap();
    assert!(d.dot(&[0x7c], &[0x00]).is_nan());
    assert!(d.dot(&[0x7c, 0xfc], &[0x3c, 0x3c]).is_nan());
    assert_eq!(d.dot(&[0x7c, 0x3c], &[0x3c, 0x3c]), f32::INFINITY);
    assert!(Fp8Dot::new(&FP16, &E4M3).is_err());
}

/// A float register step by step, each add rounded once from the Kulisch
/// register's exact sum; also reports whether every sum was exact in f64
/// (where the model's `add_values` is exact whatever its implementation).
fn slow_seq_any(f: &MiniFloat, mode: Rounding, ps: &[f64]) -> (f64, bool) {
    let mut all_exact = true;
    let mut acc = 0.0;
    for &p in ps {
        let s = acc + p;
        if s.is_finite() {
            let bb = s - acc;
            all_exact &= (acc - (s - bb)) + (p - bb) == 0.0;
        }
        let mut e = ExactSum::new();
        e.extend([acc, p]);
        let o = ConvertOptions::with_rounding(mode);
        acc = f.decode(e.round_to(f, &o, 0));
    }
    (acc, all_exact)
}

#[test]
fn fast_sums_match_slow_models_on_edge_cases() {
    let edge = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        65504.0,
        -65504.0,
        65520.0,
        2f64.powi(-24),
        -(2f64.powi(-24)),
        2f64.powi(-25),
        3.0 * 2f64.powi(-26),
        200704.0,
        1e30,
        -1e30,
        2f64.powi(-149),
        f32::MAX as f64,
        -(f32::MAX as f64),
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ];
    let mut rng = Rng(10);
    let floats = [
        ("acc=f32", F32, Rounding::Rne),
        ("acc=fp16", FP16, Rounding::Rne),
        ("acc=bf16", BF16, Rounding::Rne),
        ("acc=e8m13:rtz", e8m13(), Rounding::Rtz),
        ("acc=e8m13:ru", e8m13(), Rounding::Ru),
        ("acc=e8m13:rna", e8m13(), Rounding::Rna),
        ("acc=e8m13:rto", e8m13(), Rounding::Rto),
        ("acc=fp16:rtz", FP16, Rounding::Rtz),
    ];
    let mut compared = 0;
    for (s, f, mode) in floats {
        let a = acc(s);
        let fast = FastSum::new(&a.spec).unwrap_or_else(|| panic!("{s} has a fast path"));
        for _ in 0..3000 {
            let n = rng.below(6) as usize;
            let ps: Vec<f64> = (0..n)
                .map(|_| edge[rng.below(edge.len() as u64) as usize])
                .collect();
            let (want, all_exact) = slow_seq_any(&f, mode, &ps);
            assert_same(&format!("{s} {ps:?}"), fast.sum(&ps), want);
            if all_exact {
                compared += 1;
                assert_same(&format!("{s} model {ps:?}"), a.sum(&ps), want);
            }
        }
    }
    assert!(compared > 10_000, "too few exact cases: {compared}");
    for s in [
        "acc=e8m13:rtz,order=chunk:3",
        "acc=exact",
        "acc=exact:bf16:rtz",
        "acc=exact,order=chunk:4",
        "acc=int16:sat",
        "acc=int32",
    ] {
        let a = acc(s);
        let f = FastSum::new(&a.spec).unwrap_or_else(|| panic!("{s} has a fast path"));
        for _ in 0..3000 {
            let n = rng.below(9) as usize;
            let ps: Vec<f64> = (0..n).map(|_| edge[rng.below(12) as usize]).collect();
            assert_same(&format!("{s} {ps:?}"), f.sum(&ps), a.sum(&ps));
        }
        for n in [10, 1000] {
            let ps = gaussian_products(&mut rng, n);
            assert_same(s, f.sum(&ps), a.sum(&ps));
        }
    }
    for s in [
        "acc=bf16:sr",
        "acc=e8m13:rd",
        "acc=f32,order=pairwise",
        "acc=f32,product=bf16",
        "acc=fp16:sat",
    ] {
        assert!(
            FastSum::new(&s.parse().unwrap()).is_none(),
            "{s}: no fast path expected"
        );
    }
}

// ---------------------------------------------------------------------------
// Products, grammar, costs.

#[test]
fn rounded_products_round_each_product_once() {
    let a = acc("acc=f32,product=bf16:rtz");
    let ps = [1.0 + 2f64.powi(-8) + 2f64.powi(-9), 3.0];
    assert_eq!(a.sum(&ps), 4.0);
    assert_eq!(acc("acc=f32,product=bf16").sum(&ps), 4.0 + 2f64.powi(-7));
    assert_eq!(acc("acc=f32").sum(&ps), 4.0 + 2f64.powi(-8) + 2f64.powi(-9));
}

#[test]
fn grammar_round_trips_and_errors_name_the_bad_part() {
    let s: AccumSpec = "acc=e8m13:rtz,order=chunk:128,product=exact"
        .parse()
        .unwrap();
    assert_eq!(
        s.acc,
        Acc::Float {
            format: e8m13(),
            rounding: Rounding::Rtz,
            saturate: false
        }
    );
    assert_eq!(s.order, Order::Chunk { size: 128 });
    assert_eq!(s.product, Product::Exact);
    assert_eq!(
        "acc=int16:sat".parse::<AccumSpec>().unwrap().acc,
        Acc::Int {
            bits: 16,
            overflow: IntOverflow::Saturate
        }
    );
    assert_eq!(
        "acc=exact".parse::<AccumSpec>().unwrap().acc,
        Acc::Exact {
            format: F32,
            rounding: Rounding::Rne
        }
    );
    assert_eq!(
        "order=pairwise".parse::<AccumSpec>().unwrap(),
        AccumSpec {
            order: Order::Tree { fan_in: 2 },
            ..Default::default()
        }
    );
    for t in [
        "acc=f32,order=seq,product=exact",
        "acc=e8m13:rtz,order=chunk:128,product=exact",
        "acc=int16:sat,order=seq,product=exact",
        "acc=int32:wrap,order=tree:4,product=exact",
        "acc=exact,order=seq,product=exact",
        "acc=exact:bf16:rtz,order=seq,product=exact",
        "acc=fp16:rtz:sat,order=pairwise,product=bf16:rtz,seed=9",
    ] {
        let s: AccumSpec = t.parse().unwrap();
        assert_eq!(s.to_string(), t);
        assert_eq!(s.to_string().parse::<AccumSpec>().unwrap(), s);
    }
    for (bad, needle) in [
        ("acc=e8m13:rtx", "rtx"),
        ("acc=e9m3", "e9m3"),
        ("acc=int99", "2..=64"),
        ("acc=int16:clamp", "clamp"),
        ("order=chunk:0", "chunk"),
        ("order=tree:1", "tree"),
        ("order=zigzag", "zigzag"),
        ("product=int8", "int8"),
        ("foo=1", "foo"),
        ("acc=f32,acc=bf16", "twice"),
        ("acc", "key=value"),
        ("", "empty"),
        ("acc=e8m0", "e8m0"),
        ("seed=x", "'x'"),
    ] {
        let e = bad.parse::<AccumSpec>().unwrap_err();
        assert!(
            e.contains(needle),
            "{bad}: error '{e}' does not name '{needle}'"
        );
    }
}

#[test]
fn add_ops_follow_the_register() {
    assert_eq!(
        acc("acc=e8m13:rtz").add_op(),
        OpKind::FpAdd {
            ebits: 8,
            mbits: 13
        }
    );
    assert_eq!(
        acc("acc=fp16").add_op(),
        OpKind::FpAdd {
            ebits: 5,
            mbits: 10
        }
    );
    assert_eq!(acc("acc=int16:sat").add_op(), OpKind::IntAdd { bits: 16 });
    // E4M3 products span 2^-18 (min subnormal squared) to below 2^18
    // (448² = 200704): 36 bits, plus 16 carry bits and a sign bit.
    let k = Accumulator::for_operands("acc=exact".parse().unwrap(), &E4M3, &E4M3);
    assert_eq!(k.add_op(), OpKind::IntAdd { bits: 36 + 16 + 1 });
    assert_eq!(
        acc("acc=e8m13:rtz,order=chunk:128").describe(),
        "e8m13 rtz, chunk 128 → f32"
    );
}
