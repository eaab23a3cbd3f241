//! The vectorised GELU of the f32 forward: its erf against f64 `erf` (libm,
//! an independent implementation), the GELU against the f64 formula, and
//! the AVX2 lanes against the scalar twin, bit for bit, at every ISA level.

use bitsim::isa::IsaLevel;
use bitsim::model::gelu::{erf_f32, gelu_f32, gelu_in_place_at};
use bitsim::rng::SplitMix64;

/// Every 61st f32 bit pattern in [0, 4.5] (erf is odd in f32 too: every
/// step is sign-symmetric), plus a uniform grid of step 1e-5.
fn samples() -> Vec<f32> {
    let top = 4.5f32.to_bits();
    let mut v: Vec<f32> = (0..=top).step_by(61).map(f32::from_bits).collect();
    v.extend((0..=450_000).map(|i| i as f32 * 1e-5));
    v
}

#[test]
fn erf_is_within_5e_7_of_f64_erf() {
    let mut worst = (0.0f64, 0.0f32);
    for x in samples() {
        let e = erf_f32(x);
        assert_eq!(erf_f32(-x).to_bits(), (-e).to_bits(), "odd at {x:e}");
        let err = (e as f64 - libm::erf(x as f64)).abs();
        if err > worst.0 {
            worst = (err, x);
        }
    }
    println!(
        "erf_f32: worst |error| {:.3e} at x = {:e}",
        worst.0, worst.1
    );
    assert!(
        worst.0 <= 5e-7,
        "erf_f32 error {:e} at {:e}",
        worst.0,
        worst.1
    );
    // Far out and at the edges: exactly ±1, ±0, NaN.
    for (x, want) in [
        (10.0f32, 1.0f32),
        (f32::MAX, 1.0),
        (f32::INFINITY, 1.0),
        (-f32::INFINITY, -1.0),
        (0.0, 0.0),
    ] {
        assert_eq!(erf_f32(x).to_bits(), want.to_bits(), "erf({x:e})");
    }
    assert_eq!(erf_f32(-0.0).to_bits(), (-0.0f32).to_bits());
    assert!(erf_f32(f32::NAN).is_nan());
}

#[test]
fn gelu_is_close_to_the_f64_formula() {
    let gelu64 = |x: f64| 0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2));
    for x in samples().into_iter().flat_map(|x| [2.0 * x, -2.0 * x]) {
        let err = (gelu_f32(x) as f64 - gelu64(x as f64)).abs();
        assert!(
            err <= 5e-7 * (x.abs() as f64) + 1e-45,
            "gelu({x:e}): error {err:e}"
        );
    }
    assert_eq!(gelu_f32(-20.0).to_bits(), (-0.0f32).to_bits());
    assert_eq!(gelu_f32(20.0), 20.0);
    assert_eq!(gelu_f32(f32::INFINITY), f32::INFINITY);
    assert!(gelu_f32(-f32::INFINITY).is_nan()); // −∞ · 0, as 0.5·x·(1 + erf x) gives
    assert!(gelu_f32(f32::NAN).is_nan());
}

#[test]
fn simd_lanes_match_the_scalar_twin_at_every_level() {
    let mut rng = SplitMix64::new(14);
    let mut uniform = || (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
    let mut v: Vec<f32> = (0..20_000)
        .map(|i| {
            let scale = [0.1f32, 1.0, 3.0, 8.0][i % 4];
            (uniform() * 2.0 - 1.0) * scale * 2.0
        })
        .collect();
    let edges = [
        0.0f32,
        -0.0,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
        f32::from_bits(1),
        -f32::from_bits(1),
        f32::MAX,
        f32::MIN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        4.0,
        -4.0,
        4.0 * std::f32::consts::SQRT_2,
        -4.0 * std::f32::consts::SQRT_2,
        5.656_855,
        -5.656_855,
        1e-20,
        -1e-20,
    ];
    v.extend(edges);
    v.extend(edges.iter().rev());
    let want: Vec<f32> = v.iter().map(|&x| gelu_f32(x)).collect();
    let same = |a: f32, b: f32| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
    for level in IsaLevel::ALL {
        // Ragged lengths and offsets: every tail length, lanes at every start.
        for (start, len) in [(0, v.len()), (3, 17), (1, 8), (5, 7), (0, 0), (9, 123)] {
            let mut got = v[start..start + len].to_vec();
            gelu_in_place_at(&mut got, level);
            for (i, (&g, &w)) in got.iter().zip(&want[start..start + len]).enumerate() {
                assert!(
                    same(g, w),
                    "{level:?}: gelu({:e}) = {g:e}, scalar twin {w:e}",
                    v[start + i]
                );
            }
        }
    }
}
