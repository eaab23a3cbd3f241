//! HyperAttention: the LSH bucket order by hand, equality with exact
//! attention when one block covers every key, and both official versions
//! against slow f64 references written here from the code.
// The references mirror the official code's index loops on purpose.
#![allow(clippy::needless_range_loop)]

use crate::rel_err;
use bitsim::attention::hyper::{head_node, Hyper, Version};
use bitsim::attention::lsh::{gray, lsh_hash, stable_order};
use bitsim::attention::{self, AttentionVariant, AttnShape, Phase, Qkv};
use bitsim::workload::attention::realistic;

/// The code's `_unit_hamming_distance_array`, recursively.
fn perm(n: u32) -> Vec<u32> {
    if n == 1 {
        return vec![0, 1];
    }
    let a = perm(n - 1);
    let mut out = a.clone();
    out.extend(a.iter().rev().map(|x| x + (1 << (n - 1))));
    out
}

#[test]
fn gray_code_is_the_codes_perm_table() {
    assert_eq!(perm(3), vec![0, 1, 3, 2, 6, 7, 5, 4]);
    for r in 1..=8 {
        let p = perm(r);
        for (bin, want) in p.iter().enumerate() {
            assert_eq!(gray(bin as u32), *want, "r={r} bin={bin}");
        }
    }
}

#[test]
fn lsh_bucket_order_by_hand() {
    // d = 2, r = 2, projections = the unit axes (proj is d × r).
    let proj = [1.0f32, 0.0, 0.0, 1.0];
    let x = [
        1.0f32, 1.0, -1.0, 1.0, 1.0, -1.0, -1.0, -1.0, 2.0, 3.0, 0.0, 5.0,
    ];
    // bins: (+,+)=3, (−,+)=2, (+,−)=1, (−,−)=0, (+,+)=3, (0,+)=2 (0 is not > 0)
    // gray: 2, 3, 1, 0, 2, 3 — the sort is by these values, not by bin.
    let h = lsh_hash(&x, 2, &proj, 2);
    assert_eq!(h, vec![2, 3, 1, 0, 2, 3]);
    // Stable: equal hashes keep their order.
    assert_eq!(stable_order(&h), vec![3, 2, 0, 4, 1, 5]);
}

fn hyper(version: Version, block: usize, samples: usize, min_seq_len: usize) -> Hyper {
    Hyper {
        name: "t",
        description: "",
        version,
        lsh_bits: 7,
        block,
        samples,
        min_seq_len,
        seed: 3,
    }
}

#[test]
fn one_block_covering_every_key_is_exact_attention() {
    // Non-causal: 256 keys, one block of 256, LSH on (min_seq_len 0): the
    // residual is skipped (nk ≤ block) and the block is all of attention.
    let f64_ref = attention::find("attention/f64").unwrap();
    let x = realistic(AttnShape::of(2, 256, 64, false, Phase::Prefill), 1);
    let r = f64_ref.emulate(&x);
    for v in [Version::Original, Version::Triton] {
        let e = rel_err(
            &r,
            &hyper(v, 256, if v == Version::Original { 256 } else { 0 }, 0).emulate(&x),
        );
        assert!(e < 1e-5, "{v:?}: {e}");
    }
    // Causal, 512 tokens, min_seq_len 256: the halves are exact causal and
    // the lower-left 256×256 quarter is one LSH block: exact again.
    let x = realistic(AttnShape::of(1, 512, 64, true, Phase::Prefill), 2);
    let e = rel_err(
        &f64_ref.emulate(&x),
        &hyper(Version::Original, 256, 256, 256).emulate(&x),
    );
    assert!(e < 1e-5, "causal: {e}");
    // The rewrite adds its first s keys on top of the block: counted twice,
    // so with s > 0 it is not exact even when the block covers everything.
    let x = realistic(AttnShape::of(2, 256, 64, false, Phase::Prefill), 1);
    let e = rel_err(
        &f64_ref.emulate(&x),
        &hyper(Version::Triton, 256, 128, 0).emulate(&x),
    );
    assert!(e > 1e-3, "rewrite with samples: {e}");
}

/// f64 softmax attention of `q` over keys `ks` (with per-key bias `skip`
/// meaning excluded) returning (output, lse).
fn soft(q: &[f64], keys: &[(Vec<f64>, Vec<f64>, bool)]) -> (Vec<f64>, f64) {
    let d = q.len();
    let sc = 1.0 / (d as f64).sqrt();
    let s: Vec<f64> = keys
        .iter()
        .map(|(k, _, skip)| {
            if *skip {
                f64::NEG_INFINITY
            } else {
                q.iter().zip(k).map(|(a, b)| a * b).sum::<f64>() * sc
            }
        })
        .collect();
    let m = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let p: Vec<f64> = s.iter().map(|x| (x - m).exp()).collect();
    let l: f64 = p.iter().sum();
    let mut o = vec![0.0; d];
    for (pj, (_, v, _)) in p.iter().zip(keys) {
        for c in 0..d {
            o[c] += pj / l * v[c];
        }
    }
    (o, m + l.ln())
}

/// The original's non-causal forward in f64, from the code: sorted,
/// zero-padded blocks (padding keys included), own-block-masked samples
/// with lse + ln(n/s), merged by c = 1/(1 + exp(lse₂ − lse₁)).
fn original_reference(h: &Hyper, x: &Qkv, head: usize) -> Vec<f64> {
    let d = x.shape.d;
    let n = x.shape.nk;
    let row = |t: &[f32], i: usize| {
        t[i * d..(i + 1) * d]
            .iter()
            .map(|&v| v as f64)
            .collect::<Vec<_>>()
    };
    let (q, k, v) = (x.q_head(head), x.k_head(head), x.v_head(head));
    let proj = h.projections(d);
    let qo = stable_order(&lsh_hash(q, d, &proj, h.lsh_bits));
    let ko = stable_order(&lsh_hash(k, d, &proj, h.lsh_bits));
    let b = h.block;
    let pad = n.div_ceil(b) * b;
    let qb = pad / (pad / b);
    let set = h.sample_set(n, head_node(head));
    let mut out = vec![0.0; n * d];
    for (r, &qi) in qo.iter().enumerate() {
        let blk = r / qb;
        let keys: Vec<_> = (blk * b..(blk + 1) * b)
            .map(|p| {
                if p < n {
                    (row(k, ko[p]), row(v, ko[p]), false)
                } else {
                    (vec![0.0; d], vec![0.0; d], false)
                }
            })
            .collect();
        let (o1, l1) = soft(&row(q, qi), &keys);
        let samp: Vec<_> = set
            .iter()
            .map(|&p| (row(k, ko[p]), row(v, ko[p]), r / qb == p / b))
            .collect();
        let (o2, l2) = soft(&row(q, qi), &samp);
        let l2 = l2 + (n as f64 / set.len() as f64).ln();
        let c = 1.0 / (1.0 + (l2 - l1).exp());
        for ch in 0..d {
            out[qi * d + ch] = c * o1[ch] + (1.0 - c) * o2[ch];
        }
    }
    out
}

/// The rewrite's non-causal forward in f64: block keys ∪ first s keys in
/// one softmax (duplicates counted twice), no reweighting.
fn triton_reference(h: &Hyper, x: &Qkv, head: usize) -> Vec<f64> {
    let d = x.shape.d;
    let n = x.shape.nk;
    let row = |t: &[f32], i: usize| {
        t[i * d..(i + 1) * d]
            .iter()
            .map(|&v| v as f64)
            .collect::<Vec<_>>()
    };
    let (q, k, v) = (x.q_head(head), x.k_head(head), x.v_head(head));
    let proj = h.projections(d);
    let qo = stable_order(&lsh_hash(q, d, &proj, h.lsh_bits));
    let ko = stable_order(&lsh_hash(k, d, &proj, h.lsh_bits));
    let mut out = vec![0.0; n * d];
    for (r, &qi) in qo.iter().enumerate() {
        let blk = r / h.block;
        let mut keys: Vec<_> = (blk * h.block..((blk + 1) * h.block).min(n))
            .map(|p| (row(k, ko[p]), row(v, ko[p]), false))
            .collect();
        keys.extend((0..h.samples).map(|j| (row(k, j), row(v, j), false)));
        let (o, _) = soft(&row(q, qi), &keys);
        out[qi * d..(qi + 1) * d].copy_from_slice(&o);
    }
    out
}

#[test]
fn both_versions_equal_their_slow_references() {
    // 600 keys (not a multiple of 128: the original pads its last block),
    // blocks of 128, 64 samples, LSH from the first query.
    let x = realistic(AttnShape::of(2, 600, 32, false, Phase::Prefill), 6);
    for (v, reference) in [
        (
            Version::Original,
            original_reference as fn(&Hyper, &Qkv, usize) -> Vec<f64>,
        ),
        (Version::Triton, triton_reference),
    ] {
        let hy = hyper(v, 128, 64, 0);
        let got = hy.emulate(&x);
        let want: Vec<f64> = (0..2).flat_map(|h| reference(&hy, &x, h)).collect();
        let e = rel_err(&want, &got);
        let worst = want
            .iter()
            .zip(&got)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        eprintln!("{v:?}: relative error against the f64 reference {e:.2e}, worst {worst:.2e}");
        assert!(e < 1e-5 && worst < 1e-4, "{v:?}: {e} {worst}");
    }
}

#[test]
fn hyper_error_falls_as_samples_grow() {
    // n = 2048, d = 64, blocks of 256: error against f64 for s = 64 … 1024,
    // mean over 3 seeds; larger s must not be worse than s = 64 by much and
    // s = 1024 must beat s = 64 (the estimator's variance ∝ 1/s).
    let x = realistic(AttnShape::of(1, 2048, 64, false, Phase::Prefill), 9);
    let r = attention::find("attention/f64").unwrap().emulate(&x);
    let err = |s: usize| {
        (0..3)
            .map(|seed| {
                let mut h = hyper(Version::Original, 256, s, 0);
                h.seed = seed;
                rel_err(&r, &h.emulate(&x))
            })
            .sum::<f64>()
            / 3.0
    };
    let (e64, e1024) = (err(64), err(1024));
    eprintln!("hyper error: s=64 {e64:.3e}, s=1024 {e1024:.3e}");
    assert!(e1024 < e64, "{e1024} vs {e64}");
}

#[test]
fn registered_defaults_are_exact_below_min_seq_len_and_in_decode() {
    let f = attention::find("attention/f64").unwrap();
    for name in ["attention/hyper", "attention/hyper-triton"] {
        let v = attention::find(name).unwrap();
        for s in [
            AttnShape::of(2, 300, 64, true, Phase::Prefill),
            AttnShape::of(2, 5000, 64, true, Phase::Decode),
        ] {
            let x = realistic(s, 2);
            let e = rel_err(&f.emulate(&x), &v.emulate(&x));
            assert!(e < 1e-5, "{name} {s}: {e}");
        }
    }
}

// ---- attention-mass recall: the covered (query, key) pairs ----

/// d = 1: every LSH projection sees only the sign, so the sort puts the
/// negative keys (and queries) in one block and the positive ones in the
/// other (which comes first depends on the projections, not the rule).
/// Keys and queries interleave signs so the blocks are not the index order.
pub(crate) fn signed_d1() -> Qkv {
    let k = vec![1.0f32, -1.0, 2.0, -0.5, 0.5, -2.0, 1.5, -1.5];
    let q = vec![0.5f32, -1.0, -0.25, 2.0, 1.0, -2.0, 0.75, -0.5];
    let v = vec![0.1f32, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
    Qkv::new(AttnShape::of(1, 8, 1, false, Phase::Prefill), q, k, v).unwrap()
}

/// Row `i`'s exact mass on keys `keep` of [`signed_d1`], in f64 by hand.
pub(crate) fn mass_by_hand(x: &Qkv, i: usize, keep: &dyn Fn(usize) -> bool) -> f64 {
    let q = x.q[i] as f64;
    let p: Vec<f64> = x.k.iter().map(|&k| (q * k as f64).exp()).collect();
    let kept: f64 = (0..8).filter(|&j| keep(j)).map(|j| p[j]).sum();
    kept / p.iter().sum::<f64>()
}

#[test]
fn hyper_recall_is_one_when_one_block_covers_every_key() {
    use bitsim::metrics::attention::mass_recall;
    let f64_ref = attention::find("attention/f64").unwrap();
    let x = realistic(AttnShape::of(2, 64, 16, false, Phase::Prefill), 4);
    for v in [Version::Original, Version::Triton] {
        let h = hyper(v, 64, 16, 1);
        let c = h.coverage(&x).unwrap();
        assert!(c.iter().all(|&b| b), "{v:?}");
        let r = mass_recall(&f64_ref.scores(&x), &c, 64);
        assert_eq!((r.mean, r.min), (1.0, 1.0), "{v:?}");
    }
    // Exact below min_seq_len, causal: exactly the lower triangle.
    let x = realistic(AttnShape::of(1, 12, 8, true, Phase::Prefill), 5);
    let c = hyper(Version::Original, 4, 2, 100).coverage(&x).unwrap();
    for i in 0..12 {
        for j in 0..12 {
            assert_eq!(c[i * 12 + j], j <= i, "({i}, {j})");
        }
    }
}

#[test]
fn hyper_recall_of_the_sign_blocks_by_hand() {
    use bitsim::metrics::attention::mass_recall;
    let x = signed_d1();
    let scores: Vec<f64> = (0..64)
        .map(|p| x.q[p / 8] as f64 * x.k[p % 8] as f64)
        .collect();
    // No samples: each query sees exactly the keys of its own sign.
    for v in [Version::Original, Version::Triton] {
        let c = hyper(v, 4, 0, 1).coverage(&x).unwrap();
        for i in 0..8 {
            for j in 0..8 {
                let same = (x.q[i] > 0.0) == (x.k[j] > 0.0);
                assert_eq!(c[i * 8 + j], same, "{v:?} ({i}, {j})");
            }
        }
        let r = mass_recall(&scores, &c, 8);
        let want: Vec<f64> = (0..8)
            .map(|i| mass_by_hand(&x, i, &|j| (x.q[i] > 0.0) == (x.k[j] > 0.0)))
            .collect();
        for (a, b) in r.rows.iter().zip(&want) {
            assert!((a - b).abs() < 1e-12, "{v:?}: {a} vs {b}");
        }
        // q = 2 against keys ±{1, 2, 0.5, 1.5}: the positive half holds
        // (e¹ + e⁴ + e¹ + e³)/(that + e⁻¹ + e⁻⁴ + e⁻¹ + e⁻³) ≈ 0.9994.
        let e = f64::exp;
        let pos = e(2.0) + e(4.0) + e(1.0) + e(3.0);
        let neg = e(-2.0) + e(-4.0) + e(-1.0) + e(-3.0);
        assert!((r.rows[3] - pos / (pos + neg)).abs() < 1e-12);
        assert!(r.min < 0.9 && r.mean < 1.0, "{v:?}: {r:?}");
    }
    // The rewrite adds the first s = 3 keys (0, 1, 2) to every row.
    let c = hyper(Version::Triton, 4, 3, 1).coverage(&x).unwrap();
    for i in 0..8 {
        for j in 0..8 {
            let same = (x.q[i] > 0.0) == (x.k[j] > 0.0);
            assert_eq!(c[i * 8 + j], same || j < 3, "triton ({i}, {j})");
        }
    }
    // The original adds its uniform samples outside the row's own block.
    let h = hyper(Version::Original, 4, 3, 1);
    let ko = stable_order(&lsh_hash(&x.k, 1, &h.projections(1), h.lsh_bits));
    let set = h.sample_set(8, head_node(0));
    let c = h.coverage(&x).unwrap();
    for i in 0..8 {
        for j in 0..8 {
            let same = (x.q[i] > 0.0) == (x.k[j] > 0.0);
            let sampled = set.iter().any(|&p| ko[p] == j);
            assert_eq!(c[i * 8 + j], same || sampled, "original ({i}, {j})");
        }
    }
}

#[test]
fn hyper_uncovered_values_never_reach_the_output() {
    // The coverage is the code path's: a value the row does not cover can
    // change without changing that row's bits (V moves neither the sort nor
    // the samples), and changing a covered one moves some row.
    let x = realistic(AttnShape::of(1, 40, 8, true, Phase::Prefill), 6);
    for v in [Version::Original, Version::Triton] {
        let h = hyper(v, 4, 3, 8);
        let c = h.coverage(&x).unwrap();
        let base = h.emulate(&x);
        assert!(c.iter().any(|&b| !b), "{v:?}: something is left out");
        let mut moved = false;
        for i in (0..40).step_by(3) {
            let mut y = x.clone();
            for j in (0..40).filter(|&j| !c[i * 40 + j]) {
                y.v[j * 8..(j + 1) * 8].iter_mut().for_each(|e| *e = 1e3);
            }
            let out = h.emulate(&y);
            for t in 0..8 {
                assert_eq!(
                    out[i * 8 + t].to_bits(),
                    base[i * 8 + t].to_bits(),
                    "{v:?} row {i}"
                );
            }
            let j = (0..=i).rev().find(|&j| c[i * 40 + j]).unwrap();
            let mut y = x.clone();
            y.v[j * 8] += 1.0;
            moved |= h.emulate(&y)[i * 8] != base[i * 8];
        }
        assert!(moved, "{v:?}: a covered value must reach its row");
    }
}
