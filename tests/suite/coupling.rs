//! Communication-free coupling samplers (`metrics::coupling`): agreement of
//! P with itself, two-point closed forms, the fast samplers against the
//! literal protocols, and the helpers' formulas against hand values.

use bitsim::metrics::coupling::{
    self, chunk_rng, clopper_pearson, expected_tokens, reference, Coupler, Sampler,
};
use rand::Rng;

/// A random probability vector of `n` outcomes (some exactly zero).
fn random_dist(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = chunk_rng(seed, 0, 99);
    let mut v: Vec<f64> = (0..n)
        .map(|_| {
            let u: f64 = rng.random();
            if u < 0.15 {
                0.0
            } else {
                u.powi(3)
            }
        })
        .collect();
    v[0] += 0.01; // never all zero
    let s: f64 = v.iter().sum();
    v.iter_mut().for_each(|x| *x /= s);
    v
}

/// Monte Carlo agreement of the literal protocols.
fn reference_rate(p: &[f64], q: &[f64], s: Sampler, trials: u64, seed: u64) -> u64 {
    let mut rng = chunk_rng(seed, 7, 7);
    (0..trials)
        .filter(|_| {
            let (a, b) = match s {
                Sampler::Gumbel => reference::gumbel(p, q, &mut rng),
                Sampler::WeightedMinHash => reference::wmh(p, q, &mut rng),
                _ => unreachable!(),
            };
            a == b
        })
        .count() as u64
}

#[test]
fn with_p_equal_q_every_coupled_sampler_always_agrees() {
    for seed in 0..4 {
        let p = random_dist(50, seed);
        let c = Coupler::new(&p, &p).unwrap();
        let s = [Sampler::Optimal, Sampler::Gumbel, Sampler::WeightedMinHash];
        assert_eq!(c.agreements(&s, 5000, seed), vec![5000; 3], "seed {seed}");
        for s in [Sampler::Gumbel, Sampler::WeightedMinHash] {
            assert_eq!(
                reference_rate(&p, &p, s, 500, seed),
                500,
                "{s:?} seed {seed}"
            );
            assert!((s.exact(&p, &p) - 1.0).abs() < 1e-12);
        }
        // Independent draws do not: Σ p² < 1 here.
        let ind = c.agreements(&[Sampler::Independent], 5000, seed)[0];
        assert!(ind < 5000);
    }
}

#[test]
fn two_point_distributions_match_their_closed_forms() {
    let trials = 40_000;
    for (k, &(p1, q1)) in [(0.5f64, 0.3f64), (0.9, 0.1), (0.2, 0.25), (0.99, 0.5)]
        .iter()
        .enumerate()
    {
        let (p, q) = ([p1, 1.0 - p1], [q1, 1.0 - q1]);
        let d = (p1 - q1).abs();
        // Gumbel by the race integral, outcome by outcome:
        // Pr[a = b = i] = 1 / (1 + max(p_j/p_i, q_j/q_i)), j the other outcome.
        let g = 1.0 / (1.0 + (p[1] / p[0]).max(q[1] / q[0]))
            + 1.0 / (1.0 + (p[0] / p[1]).max(q[0] / q[1]));
        assert!((coupling::gumbel_exact(&p, &q) - g).abs() < 1e-12);
        assert!((Sampler::Optimal.exact(&p, &q) - (1.0 - d)).abs() < 1e-12);
        let c = Coupler::new(&p, &q).unwrap();
        let counts = c.agreements(&[Sampler::Optimal, Sampler::Gumbel], trials, k as u64);
        // 99.9 % intervals: a correct sampler fails one of these 8 checks
        // with probability below 1 %.
        for (count, want) in counts.iter().zip([1.0 - d, g]) {
            let (lo, hi) = clopper_pearson(*count, trials, 0.999);
            assert!(
                lo <= want && want <= hi,
                "{p:?} {q:?}: {count}/{trials} vs {want}"
            );
        }
        let lit = reference_rate(&p, &q, Sampler::Gumbel, 20_000, k as u64);
        let (lo, hi) = clopper_pearson(lit, 20_000, 0.999);
        assert!(lo <= g && g <= hi, "literal Gumbel {lit}/20000 vs {g}");
    }
}

#[test]
fn gumbel_exact_matches_the_double_loop_and_beats_the_bound() {
    for seed in 0..20 {
        let (p, q) = (random_dist(40, seed), random_dist(40, seed + 1000));
        let fast = coupling::gumbel_exact(&p, &q);
        let slow = reference::gumbel_exact(&p, &q);
        assert!(
            (fast - slow).abs() <= 1e-12 * slow.max(1e-300),
            "seed {seed}: {fast} vs {slow}"
        );
        let d = coupling::tv(&p, &q);
        assert!(fast >= coupling::bound(d) - 1e-12);
        assert!(fast >= coupling::wmh_exact(&p, &q) - 1e-12);
        assert!(fast <= 1.0 - d + 1e-12, "no coupling beats the optimal one");
        // WMH's exact rate: the bound plus the chance that the later side's
        // fresh draw lands where the earlier side took its point.
        let (mut lo, mut hi, mut extra) = (0.0, 0.0, 0.0);
        for i in 0..p.len() {
            lo += p[i].min(q[i]);
            hi += p[i].max(q[i]);
            extra += if p[i] > q[i] {
                (p[i] - q[i]) * q[i]
            } else {
                (q[i] - p[i]) * p[i]
            };
        }
        assert!((lo / hi - coupling::bound(d)).abs() < 1e-12);
        assert!((coupling::wmh_exact(&p, &q) - (lo + extra) / hi).abs() < 1e-12);
        assert!(coupling::wmh_exact(&p, &q) >= coupling::bound(d));
    }
}

#[test]
fn fast_samplers_agree_with_the_literal_protocols() {
    let (p, q) = (random_dist(12, 5), random_dist(12, 6));
    let c = Coupler::new(&p, &q).unwrap();
    let trials = 20_000;
    for s in [Sampler::Gumbel, Sampler::WeightedMinHash] {
        let fast = c.agreements(&[s], trials, 3)[0];
        let lit = reference_rate(&p, &q, s, trials, 4);
        let exact = s.exact(&p, &q);
        for k in [fast, lit] {
            let (lo, hi) = clopper_pearson(k, trials, 0.999);
            assert!(
                lo <= exact && exact <= hi,
                "{s:?}: {k}/{trials} vs exact {exact}"
            );
        }
    }
    // Marginals of the fast samplers: a ~ P and b ~ Q, outcome by outcome.
    for s in Sampler::ALL {
        let mut rng = chunk_rng(11, 0, 0);
        let (mut ca, mut cb) = (vec![0u64; 12], vec![0u64; 12]);
        for _ in 0..trials {
            let (a, b) = c.sample(s, &mut rng);
            ca[a] += 1;
            cb[b] += 1;
        }
        for i in 0..12 {
            for (cnt, want) in [(ca[i], p[i]), (cb[i], q[i])] {
                let (lo, hi) = clopper_pearson(cnt, trials, 0.9999);
                assert!(
                    lo <= want && want <= hi,
                    "{s:?} outcome {i}: {cnt}/{trials} vs {want}"
                );
            }
        }
    }
}

#[test]
fn same_seed_same_counts_and_bad_pairs_are_errors() {
    let (p, q) = (random_dist(30, 1), random_dist(30, 2));
    let c = Coupler::new(&p, &q).unwrap();
    assert_eq!(
        c.agreements(&Sampler::ALL, 9000, 5),
        c.agreements(&Sampler::ALL, 9000, 5)
    );
    assert_ne!(
        c.agreements(&Sampler::ALL, 9000, 5),
        c.agreements(&Sampler::ALL, 9000, 6)
    );
    assert!(Coupler::new(&[0.5, 0.5], &[1.0]).is_err());
    assert!(Coupler::new(&[0.0, 0.0], &[0.5, 0.5]).is_err());
    assert!(Coupler::new(&[f64::NAN, 1.0], &[0.5, 0.5]).is_err());
}

#[test]
fn helper_formulas_match_hand_values() {
    // Leviathan et al.: 1 + α + … + α^γ.
    assert_eq!(expected_tokens(0.0, 4), 1.0);
    assert_eq!(expected_tokens(1.0, 4), 5.0);
    assert!((expected_tokens(0.5, 2) - 1.75).abs() < 1e-15);
    assert!((expected_tokens(0.8, 3) - (1.0 + 0.8 + 0.64 + 0.512)).abs() < 1e-12);
    // Clopper–Pearson with no successes: upper = 1 − (α/2)^(1/n).
    let (lo, hi) = clopper_pearson(0, 10, 0.95);
    assert_eq!(lo, 0.0);
    assert!((hi - (1.0 - 0.025f64.powf(0.1))).abs() < 1e-9, "{hi}");
    // n of n: lower = (α/2)^(1/n).
    let (lo, hi) = clopper_pearson(10, 10, 0.95);
    assert!((lo - 0.025f64.powf(0.1)).abs() < 1e-9 && hi == 1.0);
    assert!((coupling::tv(&[0.5, 0.5, 0.0], &[0.2, 0.5, 0.3]) - 0.3).abs() < 1e-15);
}
