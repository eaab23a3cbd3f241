//! The two-layer trainer of the `scaling1bit` and `paretoq` studies, and
//! the power-law fit.

use bitsim::suite::studies::scaling1bit::fit_power_law;
use bitsim::suite::studies::twolayer::{self, make_data, reference_step, step, Net, Quant, Task};

fn tiny(seed: u64) -> Task {
    Task {
        d: 4,
        teacher_width: 4,
        samples: 64,
        test: 64,
        steps: 60,
        lr: 0.5,
        seed,
    }
}

#[test]
fn loss_decreases_on_a_tiny_task() {
    let t = tiny(1);
    let (train, test) = make_data(&t);
    for q in [Quant::Full, Quant::Bits(1.0), Quant::Bits(4.0)] {
        let r = twolayer::train(&t, 256, q, &train, &test);
        let (first, last) = (r.losses[0], *r.losses.last().unwrap());
        assert!(last < 0.7 * first, "{q:?}: loss {first} → {last}");
    }
}

#[test]
fn one_bit_weights_are_exactly_plus_or_minus_the_scale() {
    let net = Net::init(64, 8, 3);
    let q = Quant::Bits(1.0).apply(&net.w);
    // The scale is mean|w| (f64 sum, rounded once to f32), computed here.
    let s = (net.w.iter().map(|x| x.abs() as f64).sum::<f64>() / net.w.len() as f64) as f32;
    assert!(s > 0.0);
    for (x, y) in net.w.iter().zip(&q) {
        assert!(*y == s || *y == -s, "{y} is not ±{s}");
        assert_eq!(*y < 0.0, *x < 0.0, "sign of {x} kept");
    }
    // Zero maps to +s; ternary keeps zero.
    assert_eq!(Quant::Bits(1.0).apply(&[0.0, -2.0]), vec![1.0, -1.0]);
    assert_eq!(
        Quant::Bits(1.58).apply(&[0.5, -2.0, 3.5]),
        vec![0.0, -2.0, 2.0]
    );
    // int2: one level each side, scale max|w|.
    assert_eq!(
        Quant::Bits(2.0).apply(&[0.4, -1.2, 2.0]),
        vec![0.0, -2.0, 2.0]
    );
}

#[test]
fn same_seed_same_numbers_and_the_step_matches_its_reference() {
    let t = tiny(7);
    let (train, test) = make_data(&t);
    let (train2, test2) = make_data(&t);
    assert_eq!(train, train2);
    assert_eq!(test, test2);
    let a = twolayer::train(&t, 200, Quant::Bits(1.0), &train, &test);
    let b = twolayer::train(&t, 200, Quant::Bits(1.0), &train, &test);
    assert_eq!(a, b);
    let c = twolayer::train(&tiny(8), 200, Quant::Bits(1.0), &train, &test);
    assert_ne!(a.losses, c.losses);

    // Fast step (f32, chunked) against the plain f64 loops, from one start.
    for q in [Quant::Full, Quant::Bits(1.0)] {
        let (mut x, mut y) = (Net::init(130, 4, 2), Net::init(130, 4, 2));
        for _ in 0..5 {
            let (lx, ly) = (
                step(&mut x, q, &train, 0.5),
                reference_step(&mut y, q, &train, 0.5),
            );
            assert!((lx - ly).abs() <= 1e-4 * ly, "{q:?}: loss {lx} vs {ly}");
        }
        let dw =
            x.w.iter()
                .zip(&y.w)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
        let dv =
            x.v.iter()
                .zip(&y.v)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
        assert!(
            dw < 1e-4 && dv < 1e-4,
            "{q:?}: weights differ by {dw}, {dv}"
        );
        assert_ne!(x.w, Net::init(130, 4, 2).w, "the step moved the weights");
    }
}

#[test]
fn power_law_fit_recovers_known_parameters() {
    let w: Vec<f64> = (6..=14).map(|e| (1u64 << e) as f64).collect();
    let l: Vec<f64> = w.iter().map(|x| 3.0 * x.powf(-0.7) + 0.01).collect();
    let f = fit_power_law("exact", &w, &l);
    assert!((f.alpha - 0.7).abs() < 1e-3, "{f:?}");
    assert!(
        (f.a - 3.0).abs() < 0.05 && (f.c - 0.01).abs() < 1e-4,
        "{f:?}"
    );
    assert!(f.r2 > 0.999999);
    // Noisy data: the interval contains the truth and is not the whole range.
    let noise = [1.03, 0.98, 1.01, 0.97, 1.02, 0.99, 1.04, 0.96, 1.0];
    let l: Vec<f64> = w
        .iter()
        .zip(noise)
        .map(|(x, n)| (2.0 * x.powf(-0.5) + 0.05) * n)
        .collect();
    let f = fit_power_law("noisy", &w, &l);
    let (lo, hi) = f.alpha_ci.unwrap();
    assert!(lo <= 0.5 && 0.5 <= hi && hi - lo < 2.0, "{f:?}");
    assert!(lo > 0.0, "a falling loss gives an interval above 0: {f:?}");
}
