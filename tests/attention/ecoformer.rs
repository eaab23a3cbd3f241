//! EcoFormer: hash codes and linear attention on hand cases, the whole
//! method against a slow quadratic-form reference written here, the fit
//! against its targets, and the energy arithmetic of the paper.
// The references mirror the code's index loops on purpose.
#![allow(clippy::needless_range_loop)]

use crate::rel_err;
use bitsim::attention::ecoformer::{leading_eigenvector, normalise, targets, EcoFormer, Hash};
use bitsim::attention::{self, AttentionVariant, AttnShape, Phase, Qkv};
use bitsim::hw::cost::OpKind;
use bitsim::hw::energy::EnergyTable;
use bitsim::workload::attention::realistic;

fn eco(bits: usize) -> EcoFormer {
    EcoFormer {
        name: "t",
        description: "",
        anchors: 25,
        bits,
        seed: 13,
    }
}

#[test]
fn hash_code_by_hand() {
    // d = 2, two anchors (1,0) and (0,1), 2σ = 1, means 0.
    // x = (1,0): ‖x−a₁‖² = 0, ‖x−a₂‖² = 2 → κ = (1, e⁻²).
    // A rows: (1, −1) → 1 − e⁻² > 0 → +1; (−1, 0.5) → −1 + e⁻²/2 < 0 → −1;
    // (0, 0) → 0 → +1 (a zero product gives +1).
    let hash = Hash {
        anchors: vec![1.0, 0.0, 0.0, 1.0],
        two_sigma: 1.0,
        mean: vec![0.0, 0.0],
        a: vec![1.0, -1.0, -1.0, 0.5, 0.0, 0.0],
    };
    let f = hash.features(&[1.0, 0.0]);
    assert_eq!(f[0], 1.0);
    assert!((f[1] as f64 - (-2f64).exp()).abs() < 1e-7);
    assert_eq!(hash.code(&[1.0, 0.0]), vec![1, -1, 1]);
    // The mean is subtracted before the projection: μ = (2, 0) turns bit 0.
    let h2 = Hash {
        mean: vec![2.0, 0.0],
        ..hash
    };
    assert_eq!(h2.code(&[1.0, 0.0])[0], -1);
    // Rows are L2-normalised first; a zero row stays zero.
    assert_eq!(
        normalise(&[3.0, 4.0, 0.0, 0.0], 2),
        vec![0.6, 0.8, 0.0, 0.0]
    );
}

#[test]
fn linear_attention_with_the_coded_bias_by_hand() {
    // b = 2, d = 1, three keys, non-causal, 3 queries (query i's own v_i).
    // h_k = (+,+), (+,−), (−,−); v = 1, 2, 4; Σh_k = (1, −1);
    // Σ h_k v = (1 + 2 − 4, 1 − 2 − 4) = (−1, −5).
    // Query 0, h_q = (+,+): D = 1 − 1 + 3·3 = 9, num = −1 − 5 + 3·v₀ = −3
    //   → −1/3. (The weights h_q·h_k + 3 = 5, 3, 1 give Σ w v / Σ w = 15/9;
    //   the coded numerator uses 3·v₀ in place of 3·Σv: a different value.)
    // Query 1, h_q = (−,+): D = −1 − 1 + 9 = 7, num = 1 − 5 + 3·2 = 2 → 2/7.
    // Query 2, h_q = (+,−): D = 1 + 1 + 9 = 11, num = −1 + 5 + 3·4 = 16 → 16/11.
    let s = AttnShape::of(1, 3, 1, false, Phase::Prefill);
    let x = Qkv::new(s, vec![0.0; 3], vec![0.0; 3], vec![1.0, 2.0, 4.0]).unwrap();
    let e = eco(2);
    let hq = [1, 1, -1, 1, 1, -1];
    let hk = [1, 1, 1, -1, -1, -1];
    let o = e.head_output(&x, 0, &hq, &hk);
    let want = [-1.0f32 / 3.0, 2.0 / 7.0, 16.0 / 11.0];
    for (a, w) in o.iter().zip(want) {
        assert_eq!(*a, w as f64);
    }
    // Causal: query 1 sees keys 0, 1: Σh_k = (2, 0), Σh_k v = (3, −1);
    // h_q = (−,+): D = −2 + 0 + 2·3 = 4, num = −3 − 1 + 3·2 = 2 → 1/2.
    let s = AttnShape::of(1, 3, 1, true, Phase::Prefill);
    let x = Qkv::new(s, vec![0.0; 3], vec![0.0; 3], vec![1.0, 2.0, 4.0]).unwrap();
    assert_eq!(e.head_output(&x, 0, &hq, &hk)[1], 0.5);
}

#[test]
fn whole_method_equals_a_slow_quadratic_reference() {
    // Codes from the hash's definition in f64, then the O(N²) form
    // out_i = (Σ_j (h_qi·h_kj) v_j + (b+1) v_i) / (Σ_j h_qi·h_kj + N(b+1)).
    for (shape, seed) in [
        (AttnShape::of(2, 300, 32, false, Phase::Prefill), 1),
        (AttnShape::of(1, 257, 64, true, Phase::Prefill), 2),
        (AttnShape::of(2, 400, 64, false, Phase::Decode), 3),
    ] {
        let x = realistic(shape, seed);
        let e = eco(16);
        let AttnShape { nq, nk, d, .. } = shape;
        let b = 16;
        let mut want = Vec::new();
        for h in 0..shape.heads {
            let hash = e.fit(&x, h);
            let m = hash.mean.len();
            let code = |row: &[f32]| -> Vec<i64> {
                let n = row.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
                let xn: Vec<f64> = row.iter().map(|v| *v as f64 / n).collect();
                let f: Vec<f64> = (0..m)
                    .map(|t| {
                        let a = &hash.anchors[t * d..(t + 1) * d];
                        let dist: f64 =
                            xn.iter().zip(a).map(|(p, q)| (p - *q as f64).powi(2)).sum();
                        (-dist / hash.two_sigma as f64).exp() - hash.mean[t] as f64
                    })
                    .collect();
                (0..b)
                    .map(|t| {
                        let s: f64 = (0..m).map(|u| hash.a[t * m + u] as f64 * f[u]).sum();
                        if s >= 0.0 {
                            1
                        } else {
                            -1
                        }
                    })
                    .collect()
            };
            let hq: Vec<Vec<i64>> = x.q_head(h).chunks(d).map(code).collect();
            let hk: Vec<Vec<i64>> = x.k_head(h).chunks(d).map(code).collect();
            // The variant's own codes agree with the definition.
            let (cq, ck) = e.codes(&x, h, &hash);
            let flat = |c: &[Vec<i64>]| c.iter().flatten().map(|v| *v as i32).collect::<Vec<_>>();
            assert_eq!(cq, flat(&hq), "{shape} head {h} query codes");
            assert_eq!(ck, flat(&hk), "{shape} head {h} key codes");
            let v = x.v_head(h);
            for i in 0..nq {
                let vis = shape.visible(i);
                let pos = nk - nq + i;
                let mut num = vec![0.0f64; d];
                let mut den = vis as f64 * (b as f64 + 1.0);
                for j in 0..vis {
                    let w: i64 = (0..b).map(|t| hq[i][t] * hk[j][t]).sum();
                    den += w as f64;
                    for c in 0..d {
                        num[c] += w as f64 * v[j * d + c] as f64;
                    }
                }
                for c in 0..d {
                    want.push((num[c] + (b as f64 + 1.0) * v[pos * d + c] as f64) / den);
                }
            }
        }
        let got = e.emulate(&x);
        // f32 sums of ±v against f64: a few f32 ulps of the sums' size.
        let err = rel_err(&want, &got);
        assert!(err < 1e-5, "{shape}: {err}");
        // Same seed, same bits.
        let again = e.emulate(&x);
        assert!(got
            .iter()
            .zip(&again)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}

#[test]
fn the_fit_separates_its_targets() {
    // On the fitting rows, h_q·h_k is higher on the +1 targets than on the
    // −1 targets; and better than a hash with random projections.
    let x = realistic(AttnShape::of(1, 256, 64, false, Phase::Prefill), 4);
    let e = eco(16);
    let hash = e.fit(&x, 0);
    let (hq, hk) = e.codes(&x, 0, &hash);
    let d = 64;
    let s = targets(&normalise(x.q_head(0), d), &normalise(x.k_head(0), d), d);
    let score = |hq: &[i32], hk: &[i32]| {
        let (mut pos, mut neg, mut np, mut nn) = (0.0, 0.0, 0, 0);
        for i in 0..256 {
            for j in 0..256 {
                let w: i32 = (0..16).map(|t| hq[i * 16 + t] * hk[j * 16 + t]).sum();
                match s[i * 256 + j] {
                    1.0 => {
                        pos += w as f64;
                        np += 1
                    }
                    -1.0 => {
                        neg += w as f64;
                        nn += 1
                    }
                    _ => {}
                }
            }
        }
        pos / np as f64 - neg / nn as f64
    };
    let fitted = score(&hq, &hk);
    let random = Hash {
        a: (0..16 * 25)
            .map(|i| ((i * 7919 % 101) as f32 / 50.0) - 1.0)
            .collect(),
        ..hash
    };
    let (rq, rk) = e.codes(&x, 0, &random);
    let rand = score(&rq, &rk);
    eprintln!("target separation: fitted {fitted:.2}, fixed pseudo-random A {rand:.2}");
    assert!(fitted > 0.0 && fitted > rand, "{fitted} vs {rand}");
}

#[test]
fn leading_eigenvector_of_a_hand_matrix() {
    // [[2, 1], [1, 2]]: eigenvalues 3 (1,1)/√2 and 1; [[−5, 0], [0, 1]]:
    // the largest *algebraic* eigenvalue is 1 (e₂), not −5.
    let v = leading_eigenvector(&[2.0, 1.0, 1.0, 2.0], &[1.0, 0.0]);
    assert!((v[0] / v[1] - 1.0).abs() < 1e-12, "{v:?}");
    let v = leading_eigenvector(&[-5.0, 0.0, 0.0, 1.0], &[0.3, 0.7]);
    assert!((v[0] / v[1]).abs() < 1e-6, "{v:?}");
}

#[test]
fn targets_mark_top_and_bottom_keys() {
    // One query (1, 0), 25 keys (j, 0) for j = −12..=12: top 10 are
    // j = 3..12 (+1), bottom 10 are j = −12..−3 (−1), the middle 5 are 0.
    let q = [1.0f32, 0.0];
    let k: Vec<f32> = (-12..=12).flat_map(|j| [j as f32, 0.0]).collect();
    let s = targets(&q, &k, 2);
    for (idx, j) in (-12i32..=12).enumerate() {
        let want = if j >= 3 {
            1.0
        } else if j <= -3 {
            -1.0
        } else {
            0.0
        };
        assert_eq!(s[idx], want, "key {j}");
    }
}

#[test]
fn paper_energy_arithmetic_through_the_energy_table() {
    // The paper's PVTv2-B0 figure: 0.54 G multiplies + 0.56 G adds at
    // 3.7 pJ / 0.9 pJ (Horowitz fp32) = 2.502e9 pJ; our 45 nm table lists
    // those two numbers.
    let t = EnergyTable::load("energy-45nm").unwrap();
    let (mul, _) = t.pj(OpKind::F32_MUL);
    let (add, _) = t.pj(OpKind::F32_ADD);
    assert_eq!((mul, add), (3.7, 0.9));
    let e = 0.54e9 * mul + 0.56e9 * add;
    assert!((e - 2.502e9).abs() < 1e3, "{e}");
    // The variant's counts on a hand shape (H = 1, N = 2, c = 4, m = 25,
    // b = 16): muls = 4·25 + 4·25·16 + 2·4 + 2·4 = 1716;
    // adds = 4·25·4 + 4·25·16 + 2·16·5 + 2·16·5 + 2·4 + 2 = 2330.
    let e = eco(16);
    assert_eq!(e.paper_counts(1, 2, 2, 4), (1716.0, 2330.0));
    let c = e.cost(AttnShape::of(1, 2, 4, false, Phase::Prefill));
    assert_eq!(
        c.ops,
        vec![(OpKind::F32_MUL, 1716.0), (OpKind::F32_ADD, 2330.0)]
    );
    // Registered, and found by name.
    assert!(attention::find("attention/ecoformer").is_some());
}
