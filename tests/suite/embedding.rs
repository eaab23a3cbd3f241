//! Sentence-embedding metrics on hand-computed cases, and against
//! independent computations written here (plain loops, the no-ties Spearman
//! formula, statrs' ranks and covariance).

use bitsim::metrics::embedding::{
    average_ranks, cosine, cosine_summary, recall_at_1, row_cosines, spearman, sqnr_db, top1,
    top1_agreement,
};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use statrs::statistics::{Data, OrderStatistics, RankTieBreaker, Statistics};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

/// The textbook cosine, two passes, no compensation.
fn naive_cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (na * nb)
}

fn random(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

// ---- cosine and SQNR ----------------------------------------------------------

#[test]
fn cosine_hand_cases() {
    // (3, 4)·(4, 3) = 24, both norms 5.
    assert!(close(cosine(&[3.0, 4.0], &[4.0, 3.0]), 24.0 / 25.0, 1e-15));
    assert_eq!(cosine(&[1.0, 0.0], &[0.0, 2.0]), 0.0);
    assert_eq!(cosine(&[1.0, -2.0], &[-2.0, 4.0]), -1.0);
    assert_eq!(cosine(&[0.3, 0.1], &[0.3, 0.1]), 1.0);
    // Scale does not matter: (1, 2, 2) and (2, 4, 4).
    assert!(close(
        cosine(&[1.0, 2.0, 2.0], &[2.0, 4.0, 4.0]),
        1.0,
        1e-15
    ));
    // Conventions of metrics::accuracy: zero vectors.
    assert_eq!(cosine(&[0.0, 0.0], &[0.0, 0.0]), 1.0);
    assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    assert!(cosine(&[f64::NAN, 1.0], &[1.0, 1.0]).is_nan());
}

#[test]
fn cosine_matches_the_textbook_formula_and_is_symmetric() {
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    for n in [1, 2, 7, 384] {
        for _ in 0..50 {
            let (a, b) = (random(&mut rng, n), random(&mut rng, n));
            let c = cosine(&a, &b);
            assert!(close(c, naive_cosine(&a, &b), 1e-12), "n {n}");
            assert_eq!(c, cosine(&b, &a));
        }
    }
}

#[test]
fn sqnr_hand_cases() {
    // r = (3, 4), x = (3, 5): ‖r‖² = 25, ‖e‖² = 1 → 10·log10(25) dB.
    assert!(close(
        sqnr_db(&[3.0, 4.0], &[3.0, 5.0]),
        13.979_400_086_720_377,
        1e-12
    ));
    // r = (1, 1, 1, 1), x = r + 0.1: ‖r‖² = 4, ‖e‖² = 0.04 → 20 dB.
    assert!(close(sqnr_db(&[1.0; 4], &[1.1; 4]), 20.0, 1e-9));
    assert_eq!(sqnr_db(&[1.0, 2.0], &[1.0, 2.0]), f64::INFINITY);
    assert_eq!(sqnr_db(&[0.0, 0.0], &[0.0, 1.0]), f64::NEG_INFINITY);
}

// ---- cosine between embedding sets -------------------------------------------

#[test]
fn cosine_summary_hand_case() {
    // Three rows of two: identical (1), orthogonal (0), opposite (−1).
    let r = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
    let x = [1.0, 0.0, 1.0, 0.0, -1.0, -1.0];
    assert_eq!(row_cosines(&r, &x, 2), [1.0, 0.0, -1.0]);
    let s = cosine_summary(&r, &x, 2);
    assert_eq!((s.mean, s.worst, s.worst_row), (0.0, -1.0, Some(2)));
    // Two rows, (3, 4) vs (4, 3) and identical: mean (24/25 + 1) / 2 = 0.98.
    let s = cosine_summary(&[3.0, 4.0, 1.0, 1.0], &[4.0, 3.0, 1.0, 1.0], 2);
    assert!(close(s.mean, 0.98, 1e-15));
    assert!(close(s.worst, 0.96, 1e-15));
    assert_eq!(s.worst_row, Some(0));
}

#[test]
fn cosine_summary_edge_cases() {
    let s = cosine_summary(&[], &[], 3);
    assert_eq!((s.mean, s.worst, s.worst_row), (1.0, 1.0, None));
    // Ties: the first worst row is reported.
    let s = cosine_summary(&[1.0, 1.0, 1.0], &[-1.0, -1.0, 1.0], 1);
    assert_eq!((s.worst, s.worst_row), (-1.0, Some(0)));
    // A NaN row makes the mean and the worst NaN, and is the worst row.
    let s = cosine_summary(&[1.0, 0.0, 1.0, 0.0], &[0.0, 1.0, f64::NAN, 0.0], 2);
    assert!(s.mean.is_nan() && s.worst.is_nan());
    assert_eq!(s.worst_row, Some(1));
}

#[test]
fn cosine_summary_matches_a_plain_loop() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (n, dim) = (40, 384);
    let r = random(&mut rng, n * dim);
    let x: Vec<f64> = r
        .iter()
        .map(|v| v + 0.3 * rng.random_range(-1.0..1.0))
        .collect();
    let cos: Vec<f64> = (0..n)
        .map(|i| naive_cosine(&r[i * dim..][..dim], &x[i * dim..][..dim]))
        .collect();
    let mean = cos.iter().sum::<f64>() / n as f64;
    let (mut worst, mut at) = (f64::INFINITY, 0);
    for (i, &c) in cos.iter().enumerate() {
        if c < worst {
            (worst, at) = (c, i);
        }
    }
    let s = cosine_summary(&r, &x, dim);
    assert!(close(s.mean, mean, 1e-12) && close(s.worst, worst, 1e-12));
    assert_eq!(s.worst_row, Some(at));
}

#[test]
#[should_panic(expected = "not rows of 3")]
fn ragged_embedding_set_panics() {
    cosine_summary(&[1.0; 4], &[1.0; 4], 3);
}

// ---- Spearman -------------------------------------------------------------------

#[test]
fn average_ranks_hand_cases() {
    assert_eq!(
        average_ranks(&[10.0, 20.0, 20.0, 30.0]),
        [1.0, 2.5, 2.5, 4.0]
    );
    assert_eq!(average_ranks(&[3.0, 1.0, 2.0]), [3.0, 1.0, 2.0]);
    // Three-way tie over ranks 2, 3, 4 → 3; −0 ties +0.
    assert_eq!(
        average_ranks(&[-1.0, 0.0, -0.0, 0.0, 5.0]),
        [1.0, 3.0, 3.0, 3.0, 5.0]
    );
    assert_eq!(average_ranks(&[7.0; 4]), [2.5; 4]);
    assert!(average_ranks(&[]).is_empty());
    // Infinities rank at the ends.
    assert_eq!(
        average_ranks(&[f64::INFINITY, f64::NEG_INFINITY, 0.0]),
        [3.0, 1.0, 2.0]
    );
}

#[test]
fn spearman_hand_case_with_ties() {
    // x = (1, 2, 2, 3) → ranks (1, 2.5, 2.5, 4); y = (1, 3, 2, 4) → (1, 3, 2, 4).
    // Deviations from 2.5: dx = (−1.5, 0, 0, 1.5), dy = (−1.5, 0.5, −0.5, 1.5).
    // Σdx·dy = 4.5, Σdx² = 4.5, Σdy² = 5 → ρ = 4.5 / √22.5 = √0.9.
    let r = spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 3.0, 2.0, 4.0]).unwrap();
    assert!(close(r, 0.9f64.sqrt(), 1e-15), "{r}");
    // Ties on both sides: x = (1, 1, 2, 2), y = (1, 2, 2, 3).
    // Ranks (1.5, 1.5, 3.5, 3.5) and (1, 2.5, 2.5, 4); dx = (−1, −1, 1, 1),
    // dy = (−1.5, 0, 0, 1.5): Σdx·dy = 3, Σdx² = 4, Σdy² = 4.5 → 3 / √18.
    let r = spearman(&[1.0, 1.0, 2.0, 2.0], &[1.0, 2.0, 2.0, 3.0]).unwrap();
    assert!(close(r, 3.0 / 18f64.sqrt(), 1e-15), "{r}");
}

#[test]
fn spearman_defined_cases() {
    let up = [1.0, 2.0, 3.0, 4.0, 5.0];
    assert_eq!(spearman(&up, &[2.0, 4.0, 8.0, 16.0, 32.0]), Some(1.0));
    assert_eq!(spearman(&up, &[5.0, 4.0, 3.0, 2.0, 1.0]), Some(-1.0));
    // Monotone transforms do not change ranks.
    let y: Vec<f64> = [0.3, 0.1, 0.9, 0.5, 0.7].to_vec();
    let ey: Vec<f64> = y.iter().map(|v: &f64| v.exp() * 100.0).collect();
    assert_eq!(spearman(&up, &y), spearman(&up, &ey));
}

#[test]
fn spearman_undefined_cases() {
    assert_eq!(spearman(&[], &[]), None);
    assert_eq!(spearman(&[1.0], &[2.0]), None);
    assert_eq!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None);
    assert_eq!(spearman(&[1.0, 2.0, 3.0], &[4.0, 4.0, 4.0]), None);
    assert_eq!(spearman(&[1.0, f64::NAN, 3.0], &[1.0, 2.0, 3.0]), None);
}

#[test]
fn spearman_without_ties_matches_the_sum_of_squared_rank_differences() {
    // With no ties ρ = 1 − 6·Σd² / (n(n² − 1)), d the rank differences.
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for n in [2usize, 3, 10, 162] {
        for _ in 0..20 {
            let mut rx: Vec<usize> = (1..=n).collect();
            let mut ry = rx.clone();
            rx.shuffle(&mut rng);
            ry.shuffle(&mut rng);
            // Values with those ranks, through a monotone map.
            let x: Vec<f64> = rx.iter().map(|&r| (r as f64).ln()).collect();
            let y: Vec<f64> = ry.iter().map(|&r| r as f64 * 3.0 - 100.0).collect();
            let d2: usize = rx
                .iter()
                .zip(&ry)
                .map(|(&a, &b)| a.abs_diff(b).pow(2))
                .sum();
            let nf = n as f64;
            let want = 1.0 - 6.0 * d2 as f64 / (nf * (nf * nf - 1.0));
            let got = spearman(&x, &y).unwrap();
            assert!(close(got, want, 1e-12), "n {n}: {got} vs {want}");
        }
    }
}

#[test]
fn spearman_with_ties_matches_statrs() {
    // Scores on a 0–5 grid in steps of 0.5 (many ties) against noisy copies.
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for n in [5usize, 30, 162] {
        for _ in 0..20 {
            let x: Vec<f64> = (0..n)
                .map(|_| rng.random_range(0..=10) as f64 / 2.0)
                .collect();
            let y: Vec<f64> = x
                .iter()
                .map(|v| ((v + rng.random_range(-1.5..1.5)) * 2.0).round() / 2.0)
                .collect();
            let rx = Data::new(x.clone()).ranks(RankTieBreaker::Average);
            let ry = Data::new(y.clone()).ranks(RankTieBreaker::Average);
            assert_eq!(average_ranks(&x), rx);
            let want =
                rx.iter().covariance(ry.iter()) / (rx.iter().std_dev() * ry.iter().std_dev());
            let got = spearman(&x, &y).unwrap();
            assert!(close(got, want, 1e-12), "n {n}: {got} vs {want}");
        }
    }
}

// ---- retrieval ------------------------------------------------------------------

#[test]
fn top1_hand_case() {
    // Documents: e1, e2, e1 again (ties with 0), and (1, 1).
    let docs = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0];
    // (0.6, 0.8) is closest to e2 (0.8) vs (1,1) (1.4/√2 ≈ 0.99): (1, 1) wins.
    // (1, 0.1) → e1 (cosine ≈ 0.995) at index 0, not its twin at 2.
    // (0, 1) → e2 exactly.
    // (−1, −1) → cosines −1/√2, −1/√2, −1/√2, −1: the first of the three ties.
    let queries = [0.6, 0.8, 1.0, 0.1, 0.0, 1.0, -1.0, -1.0];
    assert_eq!(top1(&queries, &docs, 2), [3, 0, 1, 0]);
    assert!(top1(&[], &docs, 2).is_empty());
}

#[test]
fn top1_nan_never_wins() {
    let docs = [f64::NAN, 0.0, 0.0, 1.0, 1.0, 0.0];
    assert_eq!(top1(&[1.0, 0.0], &docs, 2), [2]);
    assert_eq!(top1(&[0.0, 1.0], &docs, 2), [1]);
    // A NaN query: every cosine NaN → document 0.
    assert_eq!(top1(&[f64::NAN, 1.0], &docs, 2), [0]);
}

#[test]
fn top1_matches_a_plain_loop() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let (q, d, dim) = (63, 126, 16);
    let queries = random(&mut rng, q * dim);
    let docs = random(&mut rng, d * dim);
    let want: Vec<usize> = (0..q)
        .map(|i| {
            let qi = &queries[i * dim..][..dim];
            let scores: Vec<f64> = (0..d)
                .map(|j| naive_cosine(qi, &docs[j * dim..][..dim]))
                .collect();
            let best = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            scores.iter().position(|&s| s == best).unwrap()
        })
        .collect();
    assert_eq!(top1(&queries, &docs, dim), want);
}

#[test]
#[should_panic(expected = "queries but no documents")]
fn top1_without_documents_panics() {
    top1(&[1.0, 0.0], &[], 2);
}

#[test]
fn agreement_and_recall_hand_cases() {
    assert_eq!(top1_agreement(&[1, 2, 3, 4], &[1, 2, 0, 4]), 0.75);
    assert_eq!(top1_agreement(&[5, 5], &[5, 5]), 1.0);
    assert_eq!(top1_agreement(&[], &[]), 1.0);
    assert_eq!(recall_at_1(&[0, 1, 2], &[0, 2, 1]), 1.0 / 3.0);
    assert_eq!(recall_at_1(&[7], &[8]), 0.0);
    assert_eq!(recall_at_1(&[], &[]), 1.0);
}

#[test]
fn recall_of_documents_equal_to_their_queries_is_one() {
    // Each query's relevant document is the query itself (scaled), among
    // random others: top-1 finds all of them.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (q, dim) = (20, 32);
    let queries = random(&mut rng, q * dim);
    let mut docs = random(&mut rng, 2 * q * dim);
    let relevant: Vec<usize> = (0..q).map(|i| 2 * i + 1).collect();
    for (i, &r) in relevant.iter().enumerate() {
        for k in 0..dim {
            docs[r * dim + k] = 2.5 * queries[i * dim + k];
        }
    }
    let picks = top1(&queries, &docs, dim);
    assert_eq!(recall_at_1(&picks, &relevant), 1.0);
    assert_eq!(top1_agreement(&picks, &relevant), 1.0);
}

#[test]
#[should_panic(expected = "inputs differ in length")]
fn recall_length_mismatch_panics() {
    recall_at_1(&[1, 2], &[1]);
}
