//! QJL's kernel steps against plain scalar twins written here: the ±1 sum
//! of a query sketch over packed sign bits (sixteen lane sums, then the
//! halving tree), the JL sketch over a subset of channels and the packed
//! sign bits, at every ISA level this CPU has, on seeded inputs and edges
//! (every bit set, none set, alternating words, ±0, subnormals, huge
//! values that overflow to ±inf).

use bitsim::isa::IsaLevel;
use bitsim::kernels::attention::qjl::{sign_bits, sign_sum, sketch, LANES};
use bitsim::rng::SplitMix64;

/// The twin: term `p` is `v[p]` when bit `p` (word `p / 64`, bit `p % 64`)
/// is set, else `−v[p]`; lane `p % 16` adds them in order from +0; the
/// lanes fold as `x[i] + x[i + 8]`, `+ x[i + 4]`, `+ x[i + 2]`, `x[0] + x[1]`.
fn twin(v: &[f32], bits: &[u64]) -> f32 {
    let mut lane = [0.0f32; 16];
    for p in 0..v.len() {
        let set = bits[p / 64] & (1u64 << (p % 64)) != 0;
        lane[p % 16] += if set { v[p] } else { -v[p] };
    }
    let a: Vec<f32> = (0..8).map(|i| lane[i] + lane[i + 8]).collect();
    let b: Vec<f32> = (0..4).map(|i| a[i] + a[i + 4]).collect();
    (b[0] + b[2]) + (b[1] + b[3])
}

fn uniform(r: &mut SplitMix64) -> f32 {
    (r.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
}

fn same(a: f32, b: f32) -> bool {
    // A NaN's sign and payload depend on operand order the compiler may
    // commute; every other result must match bit for bit.
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn check_sum(v: &[f32], bits: &[u64], what: &str) {
    let want = twin(v, bits);
    for level in IsaLevel::available() {
        let got = sign_sum(v, bits, level);
        assert!(
            same(got, want),
            "{what} m={} level={level}: {got:e} ({:#x}) vs twin {want:e} ({:#x})",
            v.len(),
            got.to_bits(),
            want.to_bits()
        );
    }
}

#[test]
fn the_lane_count_is_sixteen() {
    assert_eq!(LANES, 16);
}

#[test]
fn sign_sums_equal_the_scalar_twin_on_seeded_inputs() {
    let mut r = SplitMix64::new(13);
    for m in [64, 128, 256, 512] {
        for t in 0..50 {
            let scale = [1e-3f32, 1.0, 300.0][t % 3];
            let v: Vec<f32> = (0..m).map(|_| uniform(&mut r) * scale).collect();
            let bits: Vec<u64> = (0..m / 64).map(|_| r.next_u64()).collect();
            check_sum(&v, &bits, &format!("seeded t={t}"));
        }
    }
}

#[test]
fn sign_sums_at_the_edges() {
    let mut r = SplitMix64::new(14);
    let m = 256;
    let v: Vec<f32> = (0..m).map(|_| uniform(&mut r)).collect();
    let words = |w: u64| vec![w; m / 64];
    for (what, bits) in [
        ("all set", words(u64::MAX)),
        ("none set", words(0)),
        ("alternating", words(0x5555_5555_5555_5555)),
        ("one bit per word", words(1 << 63)),
        ("bytes", words(0x00ff_00ff_ff00_ff00)),
    ] {
        check_sum(&v, &bits, what);
    }
    // With every bit set or none, the sum is ±(the tree of lane sums): the
    // twin's result and its negation.
    let all = twin(&v, &words(u64::MAX));
    let none = twin(&v, &words(0));
    assert_eq!(all.to_bits(), (-none).to_bits());
    let edge_values: [(&str, Vec<f32>); 5] = [
        ("zeros", vec![0.0; m]),
        ("negative zeros", vec![-0.0; m]),
        (
            "subnormals",
            (0..m).map(|p| f32::from_bits(1 + p as u32 * 7)).collect(),
        ),
        (
            "huge (overflow to inf)",
            (0..m)
                .map(|p| if p % 3 == 0 { f32::MAX } else { 3e38 })
                .collect(),
        ),
        (
            "cancelling",
            (0..m)
                .map(|p| if p % 2 == 0 { 1e30 } else { 1.0 })
                .collect(),
        ),
    ];
    for (what, v) in edge_values {
        for bits in [words(u64::MAX), words(0), words(0xdead_beef_0123_4567)] {
            check_sum(&v, &bits, what);
        }
    }
    // Overflow: every term +f32::MAX in lane sums of 16 terms is +inf.
    let big = vec![f32::MAX; m];
    assert_eq!(
        sign_sum(&big, &words(u64::MAX), IsaLevel::Scalar),
        f32::INFINITY
    );
}

#[test]
fn the_order_is_the_lane_order_not_one_chain() {
    // Terms 1e8 and −1e8 in lanes 0 and 1, and 1.0 in lanes 2..16: one
    // serial chain cancels ±1e8 first and keeps all fourteen 1.0s; the
    // lane order meets ±1e8 with partial sums of 1.0s small enough to be
    // absorbed.
    let mut v = vec![0.0f32; 64];
    v[0] = 1e8;
    v[1] = -1e8;
    for x in v.iter_mut().take(16).skip(2) {
        *x = 1.0;
    }
    let bits = [u64::MAX];
    let serial = v.iter().fold(0.0f32, |a, b| a + b);
    for level in IsaLevel::available() {
        let got = sign_sum(&v, &bits, level);
        assert_eq!(got, twin(&v, &bits), "level={level}");
        assert_ne!(got, serial, "level={level}: a serial chain's result");
    }
}

#[test]
fn sketches_and_sign_bits_equal_the_scalar_twin() {
    let mut r = SplitMix64::new(15);
    for (d, m) in [(32usize, 256usize), (80, 128), (7, 64), (128, 256)] {
        let s: Vec<f32> = (0..d * m).map(|_| uniform(&mut r) * 2.0).collect();
        let x: Vec<f32> = (0..d).map(|_| uniform(&mut r)).collect();
        // Channel subsets: all, all but a few (inliers), a few out of order
        // (outliers in topk order), none.
        let all: Vec<usize> = (0..d).collect();
        let some: Vec<usize> = (0..d).filter(|c| c % 5 != 2).collect();
        let few: Vec<usize> = [d - 1, 0, d / 2, 3 % d].to_vec();
        for chans in [&all, &some, &few, &Vec::new()] {
            let want: Vec<f32> = (0..m)
                .map(|p| {
                    let mut a = 0.0f32;
                    for &c in chans.iter() {
                        a = x[c].mul_add(s[c * m + p], a);
                    }
                    a
                })
                .collect();
            let mut want_bits = vec![0u64; m / 64];
            for p in 0..m {
                if want[p] > 0.0 {
                    want_bits[p / 64] |= 1 << (p % 64);
                }
            }
            for level in IsaLevel::available() {
                let mut got = vec![f32::NAN; m];
                sketch(&x, &s, m, chans, &mut got, level);
                for p in 0..m {
                    assert_eq!(
                        got[p].to_bits(),
                        want[p].to_bits(),
                        "d={d} m={m} p={p} {level}"
                    );
                }
                let mut bits = vec![!0u64; m / 64];
                sign_bits(&got, &mut bits);
                assert_eq!(bits, want_bits, "d={d} m={m} {level}");
            }
        }
    }
    // Signs of zero and NaN: not set.
    let mut b = [!0u64];
    let mut v = vec![1.0f32; 64];
    v[0] = 0.0;
    v[1] = -0.0;
    v[2] = f32::NAN;
    v[3] = -1e-45;
    v[4] = 1e-45;
    sign_bits(&v, &mut b);
    assert_eq!(b[0], !0b1111u64);
}
