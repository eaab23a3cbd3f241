//! Stochastic rounding: reproducible from the seed, unbiased (checked with a
//! statistical bound from statrs, tight enough that a 1 % bias fails), the
//! `sr_bits` truncation of the rounding probability, and never anything but
//! the two neighbours.

use bitsim::formats::parse::parse_element;
use bitsim::formats::parse::{BF16, E2M1, E4M3, E5M2};
use bitsim::formats::{ConvertOptions, ElementFormat, IntFormat, IntKind, MiniFloat, Rounding};
use statrs::distribution::{ContinuousCDF, Normal};

const N: u64 = 100_000;

fn sr(seed: u64, bits: u32) -> ConvertOptions {
    ConvertOptions {
        rounding: Rounding::Sr,
        seed,
        sr_bits: bits,
        ..Default::default()
    }
}

fn int4() -> ElementFormat {
    ElementFormat::Int(
        IntFormat::new(IntKind::Signed {
            bits: 4,
            symmetric: false,
        })
        .unwrap(),
    )
}

fn elements() -> Vec<ElementFormat> {
    vec![
        ElementFormat::Float(E4M3),
        ElementFormat::Float(E2M1),
        ElementFormat::Float(BF16),
        ElementFormat::Float(E5M2),
        int4(),
        parse_element("int8").unwrap(),
        parse_element("e8m0").unwrap(),
    ]
}

/// Two-sided z quantile for a 99.99 % confidence bound.
fn z9999() -> f64 {
    let z = Normal::new(0.0, 1.0)
        .unwrap()
        .inverse_cdf(1.0 - 0.0001 / 2.0);
    assert!((z - 3.8906).abs() < 1e-3, "{z}");
    z
}

/// The two neighbours (lo < hi) of `x` in format `f`, from the directed modes.
fn neighbours(f: &ElementFormat, x: f64) -> (f64, f64) {
    let lo = f.decode(
        f.encode(x, &ConvertOptions::with_rounding(Rounding::Rd), 0)
            .unwrap(),
    );
    let hi = f.decode(
        f.encode(x, &ConvertOptions::with_rounding(Rounding::Ru), 0)
            .unwrap(),
    );
    (lo, hi)
}

/// Fraction of N stochastic roundings of `x` that went up, and their mean value.
fn run(f: &ElementFormat, x: f64, opts: &ConvertOptions) -> (f64, f64) {
    let (lo, hi) = neighbours(f, x);
    assert!(
        lo < x && x < hi,
        "{f}: {x} must lie strictly between two codes ({lo}, {hi})"
    );
    let mut ups = 0u64;
    let mut sum = 0.0;
    for i in 0..N {
        let v = f.decode(f.encode(x, opts, i).unwrap());
        assert!(
            v == lo || v == hi,
            "{f}: SR of {x} gave {v}, not {lo} or {hi}"
        );
        ups += (v == hi) as u64;
        sum += v;
    }
    (ups as f64 / N as f64, sum / N as f64)
}

#[test]
fn same_seed_same_codes_different_seed_differs() {
    for f in elements() {
        let xs: Vec<f64> = (0..4096)
            .map(|i| ((i as f64) * 0.7548776662).sin() * f.max_value() * 0.9)
            .collect();
        let codes = |seed: u64| -> Vec<u32> {
            xs.iter()
                .enumerate()
                .map(|(i, &x)| {
                    f.encode(x.abs().max(1e-3), &sr(seed, 32), i as u64)
                        .unwrap()
                })
                .collect()
        };
        assert_eq!(codes(42), codes(42), "{f}");
        assert_ne!(codes(42), codes(43), "{f}: seed has no effect");
        // The index matters too: the same value at different indices rounds differently.
        let x = neighbours(&f, 1.3).0 * 0.5 + neighbours(&f, 1.3).1 * 0.5;
        let mut seen = std::collections::HashSet::new();
        for i in 0..64 {
            seen.insert(f.encode(x, &sr(7, 32), i).unwrap());
        }
        assert_eq!(seen.len(), 2, "{f}: 64 indices gave {seen:?}");
        // High index bits are mixed in as well.
        let a: Vec<u32> = (0..256u64)
            .map(|i| f.encode(x, &sr(7, 32), i).unwrap())
            .collect();
        let b: Vec<u32> = (0..256u64)
            .map(|i| f.encode(x, &sr(7, 32), i | (1 << 40)).unwrap())
            .collect();
        assert_ne!(a, b, "{f}: index bits above 32 are ignored");
    }
}

#[test]
fn sr_is_unbiased() {
    let z = z9999();
    let e4m3 = ElementFormat::Float(E4M3);
    let e2m1 = ElementFormat::Float(E2M1);
    let bf16 = ElementFormat::Float(BF16);
    let cases: Vec<(ElementFormat, f64)> = vec![
        (e4m3, 1.03),
        (e4m3, 1.0 + 0.125 * 0.5),
        (e4m3, -300.0),
        (e4m3, 0.3 * 2f64.powi(-9)), // subnormal gap 0 .. 2^-9
        (e2m1, 2.3),
        (e2m1, -4.5),
        (e2m1, 0.1),
        (bf16, 1.0 + 2f64.powi(-9)),
        (bf16, -3.3),
        (int4(), 2.7),
        (int4(), -3.25),
        (int4(), 0.01),
    ];
    for (i, (f, x)) in cases.into_iter().enumerate() {
        let (lo, hi) = neighbours(&f, x);
        let p = (x - lo) / (hi - lo);
        let (_, mean) = run(&f, x, &sr(1000 + i as u64, 32));
        // The rounded value is lo + B·(hi − lo), B ~ Bernoulli(p): its mean over
        // N draws has standard deviation (hi − lo)·sqrt(p(1 − p)/N).
        let sd = (hi - lo) * (p * (1.0 - p) / N as f64).sqrt();
        let bound = z * sd;
        assert!(
            (mean - x).abs() <= bound,
            "{f}: mean of SR({x}) = {mean}, off by {} > {bound}",
            (mean - x).abs()
        );
        // A real bound: a rounding biased by 1 % of the gap would fail it.
        assert!(bound < 0.01 * (hi - lo), "{f} {x}: bound {bound} too loose");
    }
}

#[test]
fn biased_rounding_would_fail_the_bound() {
    // The same bound applied to round-to-nearest (a biased rounding) fails.
    let z = z9999();
    let f = ElementFormat::Float(E4M3);
    let x = 1.03;
    let (lo, hi) = neighbours(&f, x);
    let p = (x - lo) / (hi - lo);
    let v = f.decode(f.encode(x, &ConvertOptions::default(), 0).unwrap());
    let bound = z * (hi - lo) * (p * (1.0 - p) / N as f64).sqrt();
    assert!((v - x).abs() > bound);
}

#[test]
fn few_random_bits_truncate_the_probability() {
    let z = z9999();
    let e4m3 = ElementFormat::Float(E4M3);
    let e2m1 = ElementFormat::Float(E2M1);
    // (format, lo, hi, frac): x = lo + frac·(hi − lo), all exact in f64.
    let cases: Vec<(ElementFormat, f64, f64, f64)> = vec![
        (e4m3, 1.0, 1.125, 0.7),
        (e2m1, 2.0, 3.0, 0.7),
        (int4(), 2.0, 3.0, 0.7),
        (e2m1, 4.0, 6.0, 0.3),
        (e2m1, -3.0, -2.0, 0.7),   // x = −2.3: magnitude fraction 0.3
        (int4(), -3.0, -2.0, 0.7), // x = −2.3: fraction above floor 0.7
    ];
    for (k, (f, lo, hi, frac)) in cases.into_iter().enumerate() {
        let x = lo + frac * (hi - lo);
        // Minifloats are sign-magnitude: SR truncates the discarded magnitude
        // bits, so the probability of moving away from zero is
        // floor(frac_mag·2^r)/2^r, frac_mag measured from the neighbour nearer
        // zero. Integers are two's complement (documented in int.rs): the
        // fraction is x − floor(x) and the probability is that of rounding up.
        let is_int = matches!(f, ElementFormat::Int(_));
        let (near0, far0) = if lo >= 0.0 || is_int {
            (lo, hi)
        } else {
            (hi, lo)
        };
        let frac_mag = (x - near0) / (far0 - near0);
        for r in 1..=4u32 {
            let scale = (1u64 << r) as f64;
            let p_r = (frac_mag * scale).floor() / scale;
            let (up_rate, _) = run(&f, x, &sr(77 + k as u64 * 10 + r as u64, r));
            let away_rate = if lo >= 0.0 || is_int {
                up_rate
            } else {
                1.0 - up_rate
            };
            if p_r == 0.0 || p_r == 1.0 {
                assert_eq!(away_rate, p_r, "{f} {x} r={r}");
                continue;
            }
            let bound = z * (p_r * (1.0 - p_r) / N as f64).sqrt();
            assert!(
                (away_rate - p_r).abs() <= bound,
                "{f} {x} r={r}: rate {away_rate}, want {p_r} ± {bound}"
            );
            // and it is distinguishable from the untruncated probability
            if (p_r - frac_mag).abs() > 1e-12 {
                assert!(
                    (away_rate - frac_mag).abs() > bound,
                    "{f} {x} r={r}: rate {away_rate} indistinguishable from {frac_mag}"
                );
            }
        }
    }
    // With one random bit a fraction below 1/2 never rounds away from zero.
    for i in 0..10_000 {
        assert_eq!(
            E2M1.encode(2.3, &sr(5, 1), i).unwrap(),
            E2M1.encode(2.0, &sr(5, 1), 0).unwrap()
        );
    }
}

#[test]
fn sr_only_returns_the_two_neighbours() {
    let mut s = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    for f in elements() {
        let max = f.max_value();
        for i in 0..100_000u64 {
            let r = next();
            // log-uniform magnitudes over the format's range, both signs
            let e = (r % 64) as i32 - 40;
            let m = 1.0 + (next() >> 11) as f64 / (1u64 << 53) as f64;
            let mut x = (m * 2f64.powi(e)).min(max);
            if let ElementFormat::Int(_) = f {
                x = (next() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 * max - max;
            } else if r >> 63 == 1 && f.to_string() != "e8m0" {
                x = -x;
            }
            let rd = f
                .encode(x, &ConvertOptions::with_rounding(Rounding::Rd), 0)
                .unwrap();
            let ru = f
                .encode(x, &ConvertOptions::with_rounding(Rounding::Ru), 0)
                .unwrap();
            let c = f.encode(x, &sr(99, 32), i).unwrap();
            assert!(
                c == rd || c == ru,
                "{f}: SR({x}) = {c:#x}, neighbours {rd:#x} {ru:#x}"
            );
            for bits in [1, 3, 8] {
                let c = f.encode(x, &sr(99, bits), i).unwrap();
                assert!(c == rd || c == ru, "{f}: SR{bits}({x}) = {c:#x}");
            }
        }
    }
}

#[test]
fn sr_exact_values_stay() {
    for f in [E4M3, E2M1, E5M2] {
        for code in 0..(1u32 << f.bits()) {
            let v = f.decode(code);
            if v.is_finite() && v != 0.0 {
                for i in 0..16 {
                    assert_eq!(f.encode(v, &sr(3, 32), i).unwrap(), code, "{f} {code:#x}");
                }
            }
        }
    }
}

#[test]
fn bad_sr_bits_are_an_error_not_a_panic() {
    for bits in [0u32, 33, 64] {
        let o = sr(1, bits);
        assert!(o.validate().is_err(), "sr_bits={bits} accepted by validate");
        let f: MiniFloat = E4M3;
        let r = std::panic::catch_unwind(|| f.encode(1.03, &o, 0));
        assert!(
            matches!(r, Ok(Err(_))),
            "e4m3 encode with sr_bits={bits}: {r:?}"
        );
        let r = std::panic::catch_unwind(|| int4().encode(2.5, &o, 0));
        assert!(
            matches!(r, Ok(Err(_))),
            "int4 encode with sr_bits={bits}: {r:?}"
        );
    }
}
