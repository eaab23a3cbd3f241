//! The GloVe-like workload: the structure of KDEformer's GloVe demo (Q = K,
//! V other words, the demo's score scale) and the topic clusters that make
//! it a workload for angular LSH, each checked against values derived here.

use crate::shape;
use bitsim::attention::{AttnShape, Phase};
use bitsim::workload::attention::{
    gaussian, glove_like, GLOVE_NORM_SIGMA, GLOVE_STD, GLOVE_TOPICS,
};

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
}

#[test]
fn queries_are_the_keys_and_values_are_other_words() {
    let s = shape(2, 300, 100, false);
    let x = glove_like(s, 7);
    for h in 0..2 {
        assert_eq!(x.q_head(h), x.k_head(h), "head {h}: prefill Q = K");
        assert_ne!(x.k_head(h), x.v_head(h), "head {h}: V is drawn apart");
    }
    assert_ne!(x.k_head(0), x.k_head(1), "heads are independent");
    // Decode: the query is the newest key.
    let dec = glove_like(AttnShape::of(1, 300, 100, false, Phase::Decode), 7);
    assert_eq!(dec.q_head(0), &dec.k_head(0)[299 * 100..]);
    // Same seed, same bytes; another seed, other words.
    let again = glove_like(s, 7);
    assert_eq!((x.q, x.k, x.v), (again.q, again.k, again.v));
    assert_ne!(glove_like(s, 8).k, glove_like(s, 7).k);
}

#[test]
fn diagonal_scores_have_the_demos_scale_at_every_head_dim() {
    // The demo's diagonal score is ‖w‖²/√10 with E‖w‖² = 100·(σc² + σu²)·E[e^{2σg}]
    // = 100·(σc² + σu²)·e^{2σ²} at d = 100; bitsim scores q·k/√d. At other d
    // the words have d coordinates, so the mean diagonal is d/100 times it.
    let (sc, su) = GLOVE_STD;
    for d in [64usize, 100, 128] {
        let n = 4096;
        let x = glove_like(shape(1, n, d, false), 3);
        let k = x.k_head(0);
        let mean: f64 = k
            .chunks(d)
            .map(|r| dot(r, r) / (d as f64).sqrt())
            .sum::<f64>()
            / n as f64;
        let want =
            d as f64 * (sc * sc + su * su) * (2.0 * GLOVE_NORM_SIGMA.powi(2)).exp() / 10f64.sqrt();
        assert!(
            (mean / want - 1.0).abs() < 0.05,
            "d={d}: mean diagonal score {mean:.3}, derived {want:.3}"
        );
    }
}

#[test]
fn every_word_has_near_neighbours_unlike_gaussian_vectors() {
    // Same-topic words have cosine ≈ σc²/(σc² + σu²) = 0.5 (± ~0.09) and a
    // word has ~n/64 of them; independent Gaussian vectors at d = 100 have
    // cosines of std 0.1, so their maximum over 511 others is ≈ 0.3.
    let (n, d) = (512usize, 100usize);
    assert_eq!(GLOVE_TOPICS, 64);
    let median_max_cos = |k: &[f32]| {
        let rows: Vec<&[f32]> = k.chunks(d).collect();
        let mut best: Vec<f64> = (0..n)
            .map(|i| {
                (0..n)
                    .filter(|&j| j != i)
                    .map(|j| {
                        dot(rows[i], rows[j])
                            / (dot(rows[i], rows[i]) * dot(rows[j], rows[j])).sqrt()
                    })
                    .fold(f64::MIN, f64::max)
            })
            .collect();
        best.sort_by(f64::total_cmp);
        best[n / 2]
    };
    let g = median_max_cos(glove_like(shape(1, n, d, false), 1).k_head(0));
    let r = median_max_cos(gaussian(shape(1, n, d, false), 1).k_head(0));
    assert!(g > 0.5, "glove-like median nearest cosine {g:.3}");
    assert!(r < 0.4, "gaussian median nearest cosine {r:.3}");
}
