//! SubGen: clustering and reservoirs by hand, memory in bytes, the
//! estimate against the paper's formula, and with δ = 0 and full
//! reservoirs an exact denominator and an unbiased output.
// The references mirror the official code's index loops on purpose.
#![allow(clippy::needless_range_loop)]

use bitsim::attention::subgen::SubGen;
use bitsim::attention::{self, AttnShape, Phase};
use bitsim::workload::attention::gaussian;

fn subgen(delta: f64, t: usize, s: usize, seed: u64) -> SubGen {
    SubGen {
        name: "t",
        description: "",
        delta,
        t,
        s,
        seed,
    }
}

#[test]
fn clusters_by_hand() {
    // d = 1: keys 0, 0.5, 3, 0.4, 3.1 with δ = 1 → {0, 0.5, 0.4} and {3, 3.1}.
    let k = [0.0f32, 0.5, 3.0, 0.4, 3.1];
    let v = [1.0f32, 0.0, 2.0, 1.0, 1.0];
    let st = subgen(1.0, 2, 3, 1).state(&k, &v, 1, 5, 0);
    assert_eq!(st.clusters.len(), 2);
    assert_eq!((st.clusters[0].centre, st.clusters[0].count), (0, 3));
    assert_eq!((st.clusters[1].centre, st.clusters[1].count), (2, 2));
    // Reservoir of t = 2: the first two members, then token 3 replaces
    // one of them or not; always 2 entries drawn from {0, 1, 3}.
    let r = &st.clusters[0].reservoir;
    assert_eq!(r.len(), 2);
    assert!(r.iter().all(|j| [0, 1, 3].contains(j)));
    assert_eq!(st.clusters[1].reservoir, vec![2, 4]);
    // μ = Σ v² = 1 + 0 + 4 + 1 + 1; token 1 (v = 0) is never sampled.
    assert_eq!(st.mu, 7.0);
    assert!(st.samples.iter().all(|s| s.is_some() && *s != Some(1)));
    // Bytes: keys stored = 2 centres + 4 reservoir keys (d = 1), 2 counts,
    // 3 samples × (k, v), μ: 4·(6 + 2 + 6 + 1) = 60.
    assert_eq!(st.bytes(1), 60);
}

#[test]
fn reservoir_is_uniform_over_members() {
    // 10 identical keys in one cluster, t = 3: each token ends in the
    // reservoir with probability 3/10 (2000 seeds, 5 standard errors).
    let k = [0.0f32; 10];
    let v = [1.0f32; 10];
    let mut hits = [0usize; 10];
    let t = 2000;
    for seed in 0..t {
        let st = subgen(0.5, 3, 1, seed).state(&k, &v, 1, 10, 0);
        for &j in &st.clusters[0].reservoir {
            hits[j] += 1;
        }
    }
    let se = (0.3f64 * 0.7 / t as f64).sqrt();
    for (j, h) in hits.iter().enumerate() {
        let p = *h as f64 / t as f64;
        assert!((p - 0.3).abs() < 5.0 * se, "token {j}: {p}");
    }
}

#[test]
fn delta_zero_full_reservoirs_exact_denominator_unbiased_output() {
    let s = AttnShape::of(1, 50, 8, false, Phase::Decode);
    let x = gaussian(s, 3);
    let (q, k, v) = (x.q_row(0, 0), x.k_head(0), x.v_head(0));
    let sc = 1.0 / 8f64.sqrt();
    let sco: Vec<f64> = (0..50)
        .map(|j| {
            (0..8)
                .map(|c| q[c] as f64 * k[j * 8 + c] as f64)
                .sum::<f64>()
                * sc
        })
        .collect();
    let exact_out = attention::find("attention/f64").unwrap().emulate(&x);
    let seeds = 600u64;
    let mut sum = [0.0f64; 8];
    let mut sq = [0.0f64; 8];
    for seed in 0..seeds {
        let g = subgen(0.0, 64, 16, seed);
        let st = g.state(k, v, 8, 50, 0);
        assert_eq!(st.clusters.len(), 50);
        let (z, tau, m) = g.estimate(&st, q, k, v);
        let want: f64 = sco.iter().map(|s| (s - m).exp()).sum();
        assert!((tau - want).abs() <= 1e-12 * want, "τ {tau} vs {want}");
        // z from the paper's formula, written here.
        let mut zz = [0.0f64; 8];
        for j in st.samples.iter().flatten() {
            let w: f64 = (0..8).map(|c| (v[j * 8 + c] as f64).powi(2)).sum();
            for c in 0..8 {
                zz[c] += st.mu / w * (sco[*j] - m).exp() * v[j * 8 + c] as f64 / (16.0 * want);
            }
        }
        for c in 0..8 {
            assert!(
                (z[c] - zz[c]).abs() <= 1e-12 * (1.0 + zz[c].abs()),
                "z[{c}]"
            );
            sum[c] += z[c];
            sq[c] += z[c] * z[c];
        }
    }
    for c in 0..8 {
        let mean = sum[c] / seeds as f64;
        let var = sq[c] / seeds as f64 - mean * mean;
        let se = (var / seeds as f64).sqrt();
        let zc = (mean - exact_out[c]) / se;
        assert!(
            zc.abs() < 5.0,
            "channel {c}: mean {mean} exact {} z {zc}",
            exact_out[c]
        );
    }
}

#[test]
fn memory_grows_with_clusters_not_tokens_on_clustered_keys() {
    // Keys on 4 well-separated points (plus tiny noise): 4 clusters at any
    // N, so the state's bytes stop growing once the reservoirs are full.
    let d = 8;
    let mk = |n: usize| {
        let x = gaussian(AttnShape::of(1, n, d, false, Phase::Decode), 2);
        let k: Vec<f32> = (0..n * d)
            .map(|i| 10.0 * ((i / d) % 4 == i % d) as i32 as f32 + 0.01 * x.k[i])
            .collect();
        subgen(1.0, 8, 32, 0).state(&k, &x.v, d, n, 0).bytes(d)
    };
    let (a, b) = (mk(256), mk(2048));
    assert_eq!(a, b, "{a} vs {b}");
    assert_eq!(a, 4 * (4 * 9 * d + 4 + 32 * 2 * d + 1));
}

/// The definition's clustering, written plainly: for each key the first
/// centre (creation order) with `sqrt(Σ_c (k_c − centre_c)²) ≤ δ`, the
/// squares summed in channel order in f64. Returns each key's cluster.
fn clusters_reference(k: &[f32], d: usize, n: usize, delta: f64) -> Vec<usize> {
    let mut centres: Vec<usize> = Vec::new();
    let mut of = Vec::new();
    for j in 0..n {
        let mut found = None;
        for (i, &c) in centres.iter().enumerate() {
            let mut s = 0.0f64;
            for ch in 0..d {
                let x = k[j * d + ch] as f64 - k[c * d + ch] as f64;
                s += x * x;
            }
            if s.sqrt() <= delta {
                found = Some(i);
                break;
            }
        }
        of.push(found.unwrap_or_else(|| {
            centres.push(j);
            centres.len() - 1
        }));
    }
    of
}

#[test]
fn clustering_equals_the_plain_definition_at_and_near_the_radius() {
    // Seeded keys on a coarse grid (many exact ties at ‖k − c‖ = δ) and the
    // same keys nudged by one ulp either way, for several d (tails of the
    // four-way sum) and radii; plus a huge key (squares overflow to ∞) and
    // a NaN key (never within δ).
    let mut rng = crate::seeded::Rng(0x5eed);
    let mut next = move || rng.u32();
    for &d in &[1usize, 3, 4, 7, 16, 17, 33, 64, 65] {
        let n = 300;
        let grid: Vec<f32> = (0..n * d).map(|_| (next() % 3) as f32).collect();
        let nudged: Vec<f32> = grid
            .iter()
            .map(|&x| match next() % 3 {
                0 => f32::from_bits(x.to_bits() + 1),
                1 if x > 0.0 => f32::from_bits(x.to_bits() - 1),
                _ => x,
            })
            .collect();
        let mut special = grid.clone();
        special[5 * d] = 3e38;
        special[6 * d] = f32::NAN;
        for k in [&grid, &nudged, &special] {
            for &delta in &[1.0f64, 2.0, 2f64.sqrt(), 3.0, 1e300] {
                let st = subgen(delta, 4, 2, 0).state(k, &vec![1.0; n * d], d, n, 0);
                let want = clusters_reference(k, d, n, delta);
                let mut want_counts = vec![0usize; want.iter().max().map_or(0, |m| m + 1)];
                for &c in &want {
                    want_counts[c] += 1;
                }
                for (i, c) in st.clusters.iter().enumerate() {
                    assert_eq!(want[c.centre], i, "d {d} δ {delta}: centre of cluster {i}");
                }
                let counts: Vec<usize> = st.clusters.iter().map(|c| c.count).collect();
                assert_eq!(counts, want_counts, "d {d} δ {delta}");
            }
        }
    }
}
