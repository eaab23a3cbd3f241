//! KDEformer: against a slow f64 reference written from `KDEformer.py`,
//! the sampling probabilities against an independent eigenvalue, and where
//! the coded version (no max subtraction) overflows.
// The references mirror the official code's index loops on purpose.
#![allow(clippy::needless_range_loop)]

use crate::rel_err;
use bitsim::attention::kdeformer::KdeFormer;
use bitsim::attention::lsh::{lsh_hash, stable_order};
use bitsim::attention::{self, AttentionVariant, AttnShape, Phase, Qkv};
use bitsim::workload::attention::realistic;

fn kde(stable: bool, bucket: usize, samples: usize) -> KdeFormer {
    KdeFormer {
        name: "t",
        description: "",
        stable,
        lsh_bits: 7,
        bucket,
        samples,
        seed: 5,
    }
}

/// λ_max of `VaugᵀVaug` in f64 by 500 power iterations.
fn lambda_max(va: &[f64], e: usize) -> f64 {
    let n = va.len() / e;
    let mut g = vec![0.0; e * e];
    for j in 0..n {
        for r in 0..e {
            for c in 0..e {
                g[r * e + c] += va[j * e + r] * va[j * e + c];
            }
        }
    }
    let mut x = vec![1.0; e];
    let mut lam = 0.0;
    for _ in 0..500 {
        let y: Vec<f64> = (0..e)
            .map(|r| (0..e).map(|c| g[r * e + c] * x[c]).sum())
            .collect();
        lam = y.iter().map(|v| v * v).sum::<f64>().sqrt();
        x = y.iter().map(|v| v / lam).collect();
    }
    lam
}

/// The code's forward for one head in f64 (non-causal), with the variant's
/// own sample draw (the indices are random; P is checked separately).
fn reference(k: &KdeFormer, x: &Qkv, h: usize) -> Vec<f64> {
    let AttnShape { nq, nk, d, .. } = x.shape;
    let e = d + 1;
    let sc = (1.0 / (d as f64).sqrt()) as f32;
    let q32: Vec<f32> = x.q_head(h).iter().map(|v| v * sc).collect();
    let proj = k.projections(d);
    let qo = stable_order(&lsh_hash(&q32, d, &proj, 7));
    let ko = stable_order(&lsh_hash(x.k_head(h), d, &proj, 7));
    let kk = |p: usize| {
        x.k_head(h)[ko[p] * d..(ko[p] + 1) * d]
            .iter()
            .map(|&v| v as f64)
            .collect::<Vec<_>>()
    };
    let va64 = |p: usize| {
        let mut r: Vec<f64> = x.v_head(h)[ko[p] * d..(ko[p] + 1) * d]
            .iter()
            .map(|&v| v as f64)
            .collect();
        r.push(1.0);
        r
    };
    let va32: Vec<f32> = (0..nk)
        .flat_map(|p| {
            x.v_head(h)[ko[p] * d..(ko[p] + 1) * d]
                .iter()
                .cloned()
                .chain([1.0f32])
                .collect::<Vec<_>>()
        })
        .collect();
    let smp = k.samples_of(&va32, d, h);
    // P has the code's form p_i ∝ ‖v_aug,i‖/λ̂ + 1/n for one λ̂: solve λ̂
    // from the largest and smallest norms, check every p against it, and
    // check λ̂ against λ_max (500 f64 power iterations): ‖Gx‖ ≤ λ_max for a
    // unit x, and 20 iterations from a random start fall short of it.
    let vaf: Vec<f64> = va32.iter().map(|&v| v as f64).collect();
    let a: Vec<f64> = vaf
        .chunks(e)
        .map(|r| r.iter().map(|v| v * v).sum::<f64>().sqrt())
        .collect();
    let (i, j) = (0..nk).fold((0, 0), |(hi, lo), t| {
        (
            if a[t] > a[hi] { t } else { hi },
            if a[t] < a[lo] { t } else { lo },
        )
    });
    let r = smp.p[i] as f64 / smp.p[j] as f64;
    let lam_hat = nk as f64 * (a[i] - r * a[j]) / (r - 1.0);
    let raw: Vec<f64> = a.iter().map(|x| x / lam_hat + 1.0 / nk as f64).collect();
    let tot: f64 = raw.iter().sum();
    let worst = raw
        .iter()
        .zip(&smp.p)
        .map(|(x, p)| ((x / tot) - *p as f64).abs() / (x / tot))
        .fold(0.0, f64::max);
    let lam = lambda_max(&vaf, e);
    eprintln!(
        "head {h}: λ̂/λ_max = {:.4}; P vs that λ̂: worst relative difference {worst:.2e}",
        lam_hat / lam
    );
    assert!(worst < 1e-3, "P off by {worst}");
    assert!(
        lam_hat <= lam * 1.001 && lam_hat > 0.5 * lam,
        "{lam_hat} vs {lam}"
    );
    let blocks = nk / k.bucket;
    let qb = nq / blocks;
    let mut out = vec![0.0; nq * d];
    for (r, &i) in qo.iter().enumerate() {
        let q: Vec<f64> = q32[i * d..(i + 1) * d].iter().map(|&v| v as f64).collect();
        let dot = |kv: &[f64]| q.iter().zip(kv).map(|(a, b)| a * b).sum::<f64>();
        let t = r / qb;
        let mut acc = vec![0.0; e];
        for p in t * k.bucket..(t + 1) * k.bucket {
            let a = dot(&kk(p)).exp();
            for (c, o) in acc.iter_mut().enumerate() {
                *o += a * va64(p)[c];
            }
        }
        for &p in &smp.idx {
            if p / k.bucket == t {
                continue;
            }
            let w = dot(&kk(p)).exp() / (smp.p[p] as f64 * k.samples as f64);
            for (c, o) in acc.iter_mut().enumerate() {
                *o += w * va64(p)[c];
            }
        }
        for c in 0..d {
            out[i * d + c] = acc[c] / acc[d];
        }
    }
    out
}

#[test]
fn kdeformer_equals_the_slow_reference() {
    let x = realistic(AttnShape::of(2, 512, 32, false, Phase::Prefill), 7);
    for stable in [false, true] {
        let k = kde(stable, 128, 64);
        let got = k.emulate(&x);
        let want: Vec<f64> = (0..2).flat_map(|h| reference(&k, &x, h)).collect();
        let e = rel_err(&want, &got);
        eprintln!("stable={stable}: relative error against the f64 reference {e:.2e}");
        assert!(e < 1e-5, "stable={stable}: {e}");
    }
}

#[test]
fn one_bucket_covering_every_key_is_exact() {
    // One block of all 256 keys: every sample lands in the query's own
    // block and is masked, so the estimate is exact attention.
    let x = realistic(AttnShape::of(2, 256, 64, false, Phase::Prefill), 3);
    let r = attention::find("attention/f64").unwrap().emulate(&x);
    for stable in [false, true] {
        let e = rel_err(&r, &kde(stable, 256, 64).emulate(&x));
        assert!(e < 1e-5, "stable={stable}: {e}");
    }
}

#[test]
fn the_coded_version_overflows_where_exp_of_the_scores_leaves_f32() {
    // Q scaled up by f: scores f·(q·k/√d). One bucket (exact apart from
    // the exponent range). Per row, from the f64 scores: if the largest
    // score is ≥ 88.73 (exp overflows f32) the coded row is not finite; if
    // Σ_j exp(s_j)·max(1, |v_j|) < 1e37 it is finite and equals the
    // stable version's. The stable version is finite everywhere.
    let base = realistic(AttnShape::of(1, 256, 64, false, Phase::Prefill), 3);
    let r_f64 = attention::find("attention/f64").unwrap();
    let (mut overflowed, mut fine) = (0, 0);
    for f in [1.0f32, 4.0, 8.0, 16.0] {
        let q: Vec<f32> = base.q.iter().map(|v| v * f).collect();
        let x = Qkv::new(base.shape, q, base.k.clone(), base.v.clone()).unwrap();
        let coded = kde(false, 256, 0).emulate(&x);
        let stable = kde(true, 256, 0).emulate(&x);
        assert!(stable.iter().all(|v| v.is_finite()), "f={f}");
        assert!(rel_err(&r_f64.emulate(&x), &stable) < 1e-4, "f={f}");
        let s = r_f64.scores(&x);
        for i in 0..256 {
            let row = &s[i * 256..(i + 1) * 256];
            let mx = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let big: f64 = row
                .iter()
                .enumerate()
                .map(|(j, sj)| {
                    let vm = x.v[j * 64..(j + 1) * 64]
                        .iter()
                        .fold(1.0f64, |m, v| m.max(v.abs() as f64));
                    sj.exp() * vm
                })
                .sum();
            let o = &coded[i * 64..(i + 1) * 64];
            if mx >= 88.73 {
                assert!(
                    o.iter().any(|v| !v.is_finite()),
                    "f={f} row {i}: max {mx} yet finite"
                );
                overflowed += 1;
            } else if big < 1e37 {
                let st = &stable[i * 64..(i + 1) * 64];
                assert!(o.iter().all(|v| v.is_finite()), "f={f} row {i}");
                assert!(rel_err(st, o) < 1e-5, "f={f} row {i}");
                fine += 1;
            }
        }
        let bad = coded
            .chunks(64)
            .filter(|r| r.iter().any(|v| !v.is_finite()))
            .count();
        eprintln!("Q×{f}: {bad} of 256 rows not finite in the coded version");
    }
    assert!(
        overflowed > 0 && fine > 0,
        "both regimes exercised: {overflowed} {fine}"
    );
}

// ---- attention-mass recall: the covered (query, key) pairs ----

#[test]
fn kdeformer_recall_is_one_when_one_bucket_covers_every_key() {
    use bitsim::metrics::attention::mass_recall;
    let f64_ref = attention::find("attention/f64").unwrap();
    for causal in [false, true] {
        let x = realistic(AttnShape::of(2, 48, 16, causal, Phase::Prefill), 7);
        let c = kde(false, 64, 0).coverage(&x).unwrap();
        for h in 0..2 {
            for i in 0..48 {
                for j in 0..48 {
                    let want = !causal || j <= i;
                    assert_eq!(c[(h * 48 + i) * 48 + j], want, "causal {causal}");
                }
            }
        }
        let r = mass_recall(&f64_ref.scores(&x), &c, 48);
        assert_eq!((r.mean, r.min), (1.0, 1.0), "causal {causal}");
    }
}

#[test]
fn kdeformer_recall_of_the_sign_blocks_by_hand() {
    use crate::hyper::{mass_by_hand, signed_d1};
    use bitsim::metrics::attention::mass_recall;
    let x = signed_d1();
    let scores: Vec<f64> = (0..64)
        .map(|p| x.q[p / 8] as f64 * x.k[p % 8] as f64)
        .collect();
    // Buckets of 4, no samples: each query sees the keys of its own sign.
    let c = kde(false, 4, 0).coverage(&x).unwrap();
    let same = |i: usize, j: usize| (x.q[i] > 0.0) == (x.k[j] > 0.0);
    for i in 0..8 {
        for j in 0..8 {
            assert_eq!(c[i * 8 + j], same(i, j), "({i}, {j})");
        }
    }
    let r = mass_recall(&scores, &c, 8);
    for i in 0..8 {
        let want = mass_by_hand(&x, i, &|j| same(i, j));
        assert!((r.rows[i] - want).abs() < 1e-12, "row {i}");
    }
    assert!(r.min < 0.9);
    // With samples: the own bucket plus the sampled keys of the other one
    // (own-bucket samples carry mask 0 and add nothing new).
    let k = kde(false, 4, 3);
    let proj = k.projections(1);
    let ko = stable_order(&lsh_hash(&x.k, 1, &proj, k.lsh_bits));
    let va: Vec<f32> = ko.iter().flat_map(|&j| [x.v[j], 1.0]).collect();
    let idx = k.samples_of(&va, 1, 0).idx;
    let c = k.coverage(&x).unwrap();
    for i in 0..8 {
        for j in 0..8 {
            let sampled = idx.iter().any(|&p| ko[p] == j);
            assert_eq!(c[i * 8 + j], same(i, j) || sampled, "({i}, {j})");
        }
    }
    assert!(
        (0..8).any(|j| !same(0, j) && c[j]),
        "the samples reach the other bucket"
    );
}
