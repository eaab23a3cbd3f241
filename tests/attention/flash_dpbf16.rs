//! `attention/flash-dpbf16` against this file's own model of it, written
//! from the instruction's definition with f64 arithmetic (not the crate's
//! `arith::dpbf16`): each `vdpbf16ps` step is DAZ on its three inputs, the
//! exact product of two bf16 values (16 significant bits: exact in f64), an
//! f64 sum made exact-enough by rounding to odd (53 ≥ 24 + 2 bits, so one
//! more rounding to f32 is the single rounding of the exact sum), one RNE
//! rounding to 24 bits with an unbounded exponent, then FTZ (tiny after
//! rounding) and overflow to ±inf. Hand cases make the odd-first order,
//! DAZ, FTZ, ±0, inf and NaN visible; seeded random cases cover the tiles.
//! (The native kernel equals the emulation bit for bit: `native.rs`.)

use super::{qkv, shape};
use bitsim::arith::exp::exp_f32;
use bitsim::attention::{self, AttentionVariant, AttnShape, Phase, Qkv};
use bitsim::rng::SplitMix64 as Rng;
use half::bf16;

fn variant() -> Box<dyn AttentionVariant> {
    attention::find("attention/flash-dpbf16").expect("registered")
}

fn bf(x: f32) -> f32 {
    bf16::from_f32(x).to_f32()
}

/// A zero of `x`'s sign for subnormal `x` (DAZ).
fn daz(x: f32) -> f32 {
    if x.is_subnormal() {
        0.0f32.copysign(x)
    } else {
        x
    }
}

/// `s` rounded to odd at f64's 53 bits given the exact sum's error `err`
/// (`s + err` is exact): a nonzero error forces the last bit to 1.
fn to_odd(s: f64, err: f64) -> f64 {
    if err == 0.0 || s.to_bits() & 1 == 1 || !s.is_finite() {
        return s;
    }
    // Step one ulp towards the exact value; that neighbour is odd.
    let toward = if (err > 0.0) == (s > 0.0) { 1i64 } else { -1 };
    f64::from_bits((s.to_bits() as i64 + toward) as u64)
}

/// One fused step of the instruction, from its definition (module doc).
fn step(acc: f32, a: f32, b: f32) -> f32 {
    let (acc, a, b) = (daz(acc) as f64, daz(a) as f64, daz(b) as f64);
    let p = a * b; // exact: 8 × 8 significant bits
    let s = acc + p;
    // TwoSum: s + err is the exact sum (finite operands).
    let err = if s.is_finite() {
        let bb = s - acc;
        (acc - (s - bb)) + (p - bb)
    } else {
        0.0
    };
    let s = to_odd(s, err);
    if s != 0.0 && s.abs() < 2f64.powi(-125) {
        // Round at 24 bits with the exponent unbounded: scale into f32's
        // normal range first (exact), then test tininess after rounding.
        let t = (s * 2f64.powi(100)) as f32;
        if (t.abs() as f64) < 2f64.powi(-126 + 100) {
            return 0.0f32.copysign(s as f32);
        }
        return (t as f64 * 2f64.powi(-100)) as f32;
    }
    s as f32
}

/// One instruction: `[even, odd]` pairs, odd first.
fn instr(acc: f32, a: [f32; 2], b: [f32; 2]) -> f32 {
    step(step(acc, a[1], b[1]), a[0], b[0])
}

/// The dot of the score step: pairs (2u, 2u+1) in order, odd d padded with +0.
fn dot(q: &[f32], k: &[f32]) -> f32 {
    let at = |x: &[f32], c: usize| x.get(c).copied().unwrap_or(0.0);
    (0..q.len()).step_by(2).fold(0.0, |acc, c| {
        instr(acc, [at(q, c), at(q, c + 1)], [at(k, c), at(k, c + 1)])
    })
}

/// The variant as its doc states it: scores, then 64-key tiles of online
/// softmax with P·V by key pairs.
fn model(x: &Qkv) -> (Vec<f64>, Vec<f64>) {
    let s = x.shape;
    let d = s.d;
    let sc = (1.0 / (d as f64).sqrt()) as f32;
    let r = |v: &[f32]| v.iter().map(|&y| bf(y)).collect::<Vec<f32>>();
    let (q, k, v) = (r(&x.q), r(&x.k), r(&x.v));
    let mut out = Vec::new();
    let mut scores = Vec::new();
    for h in 0..s.heads {
        for i in 0..s.nq {
            let qi = &q[(h * s.nq + i) * d..][..d];
            let kh = &k[h * s.nk * d..][..s.nk * d];
            let vh = &v[h * s.nk * d..][..s.nk * d];
            let vis = s.visible(i);
            let sr: Vec<f32> = (0..s.nk)
                .map(|j| {
                    if j < vis {
                        dot(qi, &kh[j * d..(j + 1) * d]) * sc
                    } else {
                        f32::NEG_INFINITY
                    }
                })
                .collect();
            scores.extend(sr.iter().map(|&y| y as f64));
            let (mut m, mut l) = (f32::NEG_INFINITY, 0.0f32);
            let mut acc = vec![0.0f32; d];
            for t0 in (0..vis).step_by(64) {
                let t1 = (t0 + 64).min(vis);
                let mn = sr[t0..t1].iter().fold(m, |a, &b| a.max(b));
                if mn == f32::NEG_INFINITY {
                    continue;
                }
                let alpha = exp_f32(m - mn);
                let p: Vec<f32> = sr[t0..t1].iter().map(|&y| exp_f32(y - mn)).collect();
                l = l * alpha + p.iter().fold(0.0f32, |a, &b| a + b);
                for a in acc.iter_mut() {
                    *a *= alpha;
                }
                let pb = |j: usize| if j < t1 { bf(p[j - t0]) } else { 0.0 };
                let vb = |j: usize, c: usize| if j < t1 { vh[j * d + c] } else { 0.0 };
                for j in (t0..t1).step_by(2) {
                    for (c, a) in acc.iter_mut().enumerate() {
                        *a = instr(*a, [pb(j), pb(j + 1)], [vb(j, c), vb(j + 1, c)]);
                    }
                }
                m = mn;
            }
            out.extend(acc.iter().map(|&a| bf(a / l) as f64));
        }
    }
    (out, scores)
}

/// Equal bits, or both NaN (which NaN is not modelled).
fn same(a: &[f64], b: &[f64], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
            "{what}: element {i}: variant {x:e} ({:#x}), model {y:e} ({:#x})",
            x.to_bits(),
            y.to_bits()
        );
    }
}

fn check(x: &Qkv, what: &str) {
    let v = variant();
    let (o, s) = model(x);
    same(&v.scores(x), &s, &format!("{what} scores"));
    same(&v.emulate(x), &o, &format!("{what} output"));
}

/// One head, one query, `nk` keys, head dim `d`, non-causal.
fn one(nk: usize, d: usize) -> AttnShape {
    AttnShape {
        nq: 1,
        ..AttnShape::of(1, nk, d, false, Phase::Decode)
    }
}

#[test]
fn the_model_itself_rounds_as_the_instruction_does() {
    // Odd first: 1, then 2^-24 (a tie: stays 1), 2^-24 again, then −1 → 0;
    // in channel order it would be 2^-24 + 1 → 1, − 1 → 0, + 2^-24 = 2^-24.
    let e = 2f32.powi(-12);
    let (q, k) = ([e, 1.0, -1.0, e], [e, 1.0, 1.0, e]);
    assert_eq!(dot(&q, &k).to_bits(), 0.0f32.to_bits());
    // DAZ: a bf16 subnormal operand is zero; FTZ: a tiny result is a signed zero.
    assert_eq!(step(0.0, 2f32.powi(-130), 2f32.powi(100)), 0.0);
    assert_eq!(
        step(0.0, -(2f32.powi(-70)), 2f32.powi(-60)).to_bits(),
        (-0.0f32).to_bits()
    );
    // A subnormal accumulator reads as zero: 2^-127 + 2^-126 gives 2^-126.
    assert_eq!(step(2f32.powi(-127), 1.0, 2f32.powi(-126)), 2f32.powi(-126));
    // 2^-126·(1 − 2^-8) is exact in 24 bits and below 2^-126: flushed.
    let below = 1.0 - 2f32.powi(-8); // a bf16 value
    assert_eq!(step(0.0, below, 2f32.powi(-126)).to_bits(), 0);
    // Fusing: a product below f32's normal range still adds exactly.
    let want = (2f64.powi(-110) + 2f64.powi(-130)) as f32;
    assert_ne!(want, 2f32.powi(-110));
    assert_eq!(step(2f32.powi(-110), 2f32.powi(-70), 2f32.powi(-60)), want);
    // Overflow: RNE to +inf.
    assert_eq!(step(f32::MAX, 2f32.powi(100), 2f32.powi(27)), f32::INFINITY);
}

/// A hand case: what it shows, the shape, Q, K, V.
type Case = (&'static str, AttnShape, Vec<f32>, Vec<f32>, Vec<f32>);

#[test]
fn hand_cases_equal_the_model() {
    let e = 2f32.powi(-12);
    let tiny = 2f32.powi(-130); // a bf16 subnormal
    let cases: Vec<Case> = vec![
        (
            // The odd-first dot gives score +0 for key 0 (channel order 2^-25):
            // visible in the scores.
            "odd first",
            one(2, 4),
            vec![e, 1.0, -1.0, e],
            vec![e, 1.0, 1.0, e, 0.5, 0.25, -2.0, 3.0],
            vec![1.0, 2.0, 3.0, 4.0, -1.5, 0.75, 8.0, 0.125],
        ),
        (
            "DAZ input",
            one(3, 2),
            vec![tiny, 1.0],
            vec![2f32.powi(100), 0.0, 1.0, 1.0, tiny, -tiny],
            vec![1.0, tiny, -3.0, 2.0, 5.0, -tiny],
        ),
        (
            "FTZ output",
            one(2, 3),
            vec![-(2f32.powi(-70)), 2f32.powi(-70), 1.0],
            vec![2f32.powi(-60), 2f32.powi(-60), 0.0, 1.0, 1.0, 1.0],
            vec![
                2f32.powi(-100),
                -(2f32.powi(-100)),
                1.0,
                2f32.powi(-27),
                1.0,
                -1.0,
            ],
        ),
        (
            "±0",
            one(3, 2),
            vec![-0.0, -0.0],
            vec![0.0, -0.0, -0.0, 0.0, -0.0, -0.0],
            vec![-0.0, 0.0, -0.0, -0.0, 0.0, -0.0],
        ),
        (
            // 2^200 rounds to +inf (the score), and exp(inf − inf) is NaN.
            "inf score, NaN output",
            one(2, 2),
            vec![2f32.powi(100), 0.0],
            vec![2f32.powi(100), 1.0, 1.0, 1.0],
            vec![1.0, 2.0, 3.0, 4.0],
        ),
        (
            // −inf score: that key's weight is +0.
            "-inf score",
            one(3, 2),
            vec![2f32.powi(100), 1.0],
            vec![-(2f32.powi(100)), 1.0, 1.0, -1.0, 0.5, 0.5],
            vec![1.0e30, -3.0e30, 3.0, 4.0, -0.5, 0.25],
        ),
        (
            "huge V overflows",
            one(2, 1),
            vec![0.0],
            vec![0.0, 0.0],
            vec![3.0e38, 3.0e38],
        ),
    ];
    for (what, s, q, k, v) in cases {
        check(&qkv(s, &q, &k, &v), what);
    }
    // The odd-first case's first score really is +0.
    let x = qkv(
        one(2, 4),
        &[e, 1.0, -1.0, e],
        &[e, 1.0, 1.0, e, 0.5, 0.25, -2.0, 3.0],
        &[0.0; 8],
    );
    assert_eq!(variant().scores(&x)[0].to_bits(), 0.0f64.to_bits());
}

#[test]
fn seeded_random_cases_equal_the_model() {
    let mut rng = Rng::new(0x5eed_dbf1);
    for (n, d, causal) in [
        (1, 1, false),
        (2, 3, true),
        (5, 4, false),
        (63, 5, true),
        (65, 2, false),
        (130, 3, true),
        (129, 6, false),
    ] {
        let x = bitsim::workload::attention::realistic(shape(1, n, d, causal), rng.next_u64());
        check(&x, &format!("n={n} d={d} causal={causal}"));
        // Wide-range values: products and accumulators far apart.
        let len = n * d;
        let wide = |rng: &mut Rng| -> Vec<f32> {
            (0..len)
                .map(|_| {
                    let m = rng.next_u64();
                    let sign = if m & 1 == 1 { -1.0 } else { 1.0 };
                    sign * (1.0 + (m >> 40) as f32 / 2f32.powi(24))
                        * 2f32.powi(((m >> 8) % 40) as i32 - 30)
                })
                .collect()
        };
        let (q, k, v) = (wide(&mut rng), wide(&mut rng), wide(&mut rng));
        check(
            &qkv(shape(1, n, d, causal), &q, &k, &v),
            &format!("wide n={n} d={d}"),
        );
    }
}
