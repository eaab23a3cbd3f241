//! SALE: τ = 0 equals dense `sage-int8`; the block selection by hand on a
//! tiny input; selection and output against a slow reference written here
//! from the official algorithm (SPEC-NOTES §6).
// The references mirror the official code's index loops on purpose.
#![allow(clippy::needless_range_loop)]

use crate::rel_err;
use bitsim::arith::exp::{exp2_f32, exp_f32};
use bitsim::arith::fp16::fp16_rne;
use bitsim::attention::sage::{quantize_blocks, smooth_k, QkQuant};
use bitsim::attention::sale::{geometry, Sale, Selection};
use bitsim::attention::{self, AttentionVariant, AttnShape, Phase, Qkv};
use bitsim::workload::attention::realistic;
use half::f16;

fn sale(tau: f32, dense_below: usize) -> Sale {
    Sale {
        name: "t",
        description: "",
        tau,
        calibrate: false,
        dense_below,
    }
}

fn bits(x: &[f64]) -> Vec<u64> {
    x.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn tau_zero_and_short_sequences_equal_dense_sage_int8() {
    let sage = attention::find("attention/sage-int8").unwrap();
    for (shape, seed) in [
        (AttnShape::of(2, 1100, 64, true, Phase::Prefill), 1),
        (AttnShape::of(1, 1500, 64, false, Phase::Decode), 2),
    ] {
        let x = realistic(shape, seed);
        let dense = sage.emulate(&x);
        // τ = 0 on the sparse path (dense_below 0): every block kept.
        let s0 = sale(0.0, 0);
        assert_eq!(s0.selection(&x).sparsity(), 0.0);
        assert_eq!(bits(&s0.emulate(&x)), bits(&dense), "{shape}");
        // At or below dense_below: dense whatever τ.
        assert_eq!(bits(&sale(0.5, 2000).emulate(&x)), bits(&dense), "{shape}");
        // A threshold skips blocks and changes the output (the realistic
        // workload's attention is broad: τ = 0.004 skips nothing here).
        let s = sale(0.05, 0);
        assert!(s.selection(&x).sparsity() > 0.0, "{shape}");
        assert_ne!(bits(&s.emulate(&x)), bits(&dense), "{shape}");
    }
}

#[test]
fn block_selection_by_hand() {
    // Decode, d = 2, 256 keys (8 blocks of 32), the query at position 255.
    // Exact region: sink (block 0), the diagonal (block 7) and the 128-key
    // window before position 255 (keys 127..255: blocks 3–6). Blocks 1 and 2
    // are estimated.
    let shape = AttnShape::of(1, 256, 2, false, Phase::Decode);
    let (qbs, kbs, visible, exact) = geometry(shape);
    assert_eq!((qbs, kbs), (1, 8));
    assert!(visible.iter().all(|v| *v));
    assert_eq!(
        exact,
        vec![true, false, false, true, true, true, true, true]
    );
    // One query: its centred copy is 0, so the estimate is the correction
    // q̄·(k_j − k̄) = q·k_j − q·k̄ alone. Keys: 0 except k_40 = (2, 0)
    // (block 1) and k_70 = (1.4, 0) (block 2). The exact region's 192 keys
    // all score −q·k̄: m = −k̄₀ and ℓ = 192. With τ = e/192 a key is kept
    // when exp(sc·(s̃ − m))/ℓ > τ ⇔ sc·k_j0 > 1 ⇔ k_j0 > √2 = 1.414…:
    // block 1 (2 > √2) is kept, block 2 (1.4 < √2) is skipped.
    let q = [1.0f32, 0.0];
    let mut k = vec![0.0f32; 512];
    k[80] = 2.0;
    k[140] = 1.4;
    let v: Vec<f32> = (0..512).map(|i| (i % 7) as f32 * 0.25).collect();
    let x = Qkv::new(shape, q.to_vec(), k.clone(), v.clone()).unwrap();
    let tau = std::f32::consts::E / 192.0;
    let sel = sale(tau, 0).selection(&x);
    assert_eq!(
        sel.heads[0].kept,
        vec![true, true, false, true, true, true, true, true]
    );
    assert!((sel.sparsity() - 1.0 / 8.0).abs() < 1e-15);
    // With k_70 = 1.5 (> √2) block 2 is kept too.
    k[140] = 1.5;
    let x = Qkv::new(shape, q.to_vec(), k, v).unwrap();
    assert!(sale(tau, 0).selection(&x).heads[0].kept.iter().all(|b| *b));
}

/// The selection as the algorithm states it (SPEC-NOTES §6), per head.
fn reference_selection(x: &Qkv, tau: f32) -> Vec<Vec<bool>> {
    let AttnShape { nq, nk, d, .. } = x.shape;
    let h16 = |v: f32| f16::from_f32(v).to_f32();
    let sc = (1.0 / (d as f64).sqrt()) as f32;
    let (qbs, kbs, visible, exact) = geometry(x.shape);
    let mut out = Vec::new();
    for h in 0..x.shape.heads {
        let q: Vec<f32> = x.q_head(h).iter().map(|v| h16(*v)).collect();
        let k: Vec<f32> = x.k_head(h).iter().map(|v| h16(*v)).collect();
        let mean = |t: &[f32], n: usize| -> Vec<f32> {
            (0..d)
                .map(|c| ((0..n).map(|r| t[r * d + c] as f64).sum::<f64>() / n as f64) as f32)
                .collect()
        };
        let (qm, km) = (mean(&q, nq), mean(&k, nk));
        let qc: Vec<f32> = (0..nq * d).map(|e| q[e] - qm[e % d]).collect();
        let kc: Vec<f32> = (0..nk * d).map(|e| k[e] - km[e % d]).collect();
        // INT4 symmetric, amax/7, half to even; Q per 64 rows, K per 32 keys.
        let int4 = |t: &[f32], rows: usize| -> (Vec<i32>, Vec<f32>) {
            let mut codes = vec![0; t.len()];
            let mut scales = Vec::new();
            for (b, blk) in t.chunks(rows * d).enumerate() {
                let amax = blk.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-7);
                scales.push(amax / 7.0);
                for (e, v) in blk.iter().enumerate() {
                    codes[b * rows * d + e] = (v * (7.0 / amax)).round_ties_even() as i32;
                }
            }
            (codes, scales)
        };
        let (q4, sq) = int4(&qc, 64);
        let (k4, sk) = int4(&kc, 32);
        let fma_dot =
            |a: &[f32], b: &[f32]| a.iter().zip(b).fold(0.0f32, |s, (x, y)| x.mul_add(*y, s));
        let mut kept: Vec<bool> = (0..qbs * kbs).map(|p| visible[p] && exact[p]).collect();
        for i in 0..nq {
            let qb = i / 64;
            let vis = x.shape.visible(i);
            let mut m = f32::NEG_INFINITY;
            let mut s = Vec::new();
            for j in 0..vis {
                if exact[qb * kbs + j / 32] {
                    let v = fma_dot(&q[i * d..(i + 1) * d], &kc[j * d..(j + 1) * d]);
                    m = m.max(v);
                    s.push(v);
                }
            }
            let mut l = 0.0f32;
            for v in &s {
                l += exp_f32(sc * (v - m));
            }
            let thr = (l * tau).ln() / sc + m;
            for j in 0..vis {
                let kb = j / 32;
                if exact[qb * kbs + kb] {
                    continue;
                }
                let mut dot = 0i32;
                for c in 0..d {
                    dot += q4[i * d + c] * k4[j * d + c];
                }
                let corr = fma_dot(&qm, &kc[j * d..(j + 1) * d]);
                if dot as f32 * (sq[qb] * sk[kb]) + corr > thr {
                    kept[qb * kbs + kb] = true;
                }
            }
        }
        out.push(kept);
    }
    out
}

/// SageAttention v1 over the kept keys, written out: fp16 inputs, K
/// smoothing, INT8 Q (×sm_scale·log2 e) per 128 / K per 64 tokens (half
/// away from zero), base-2 online softmax per 64-key tile over the kept
/// keys, fp16 P·V accumulated in fp16 per tile, f32 across, fp16 output.
fn reference_output(x: &Qkv, sel: &Selection) -> Vec<f64> {
    let AttnShape { nq, nk, d, .. } = x.shape;
    let h16 = |v: f32| f16::from_f32(v).to_f32();
    #[allow(clippy::approx_constant)] // the code's literal
    let c = ((d as f64).powf(-0.5) * 1.44269504) as f32;
    let mut out = Vec::new();
    for h in 0..x.shape.heads {
        let q: Vec<f32> = x.q_head(h).iter().map(|v| h16(*v)).collect();
        let k: Vec<f32> = x.k_head(h).iter().map(|v| h16(*v)).collect();
        let v: Vec<f32> = x.v_head(h).iter().map(|v| h16(*v)).collect();
        let (q8, sq) = quantize_blocks(&q, d, 128, c, QkQuant::Int8Triton);
        let (k8, sk) = quantize_blocks(&smooth_k(&k, d), d, 64, 1.0, QkQuant::Int8Triton);
        let hs = &sel.heads[h];
        for i in 0..nq {
            let vis = x.shape.visible(i);
            let keep = |j: usize| hs.kept[(i / 64) * hs.key_blocks + j / 32];
            let s: Vec<f32> = (0..nk)
                .map(|j| {
                    let mut dot = 0i32;
                    for ch in 0..d {
                        dot += q8[i * d + ch] as i32 * k8[j * d + ch] as i32;
                    }
                    (dot as f32 * sq[i / 128]) * sk[j / 64]
                })
                .collect();
            let (mut m, mut l) = (f32::NEG_INFINITY, 0.0f32);
            let mut acc = vec![0.0f32; d];
            let mut t0 = 0;
            while t0 < vis {
                let t1 = (t0 + 64).min(vis);
                let ks: Vec<usize> = (t0..t1).filter(|&j| keep(j)).collect();
                t0 = t1;
                if ks.is_empty() {
                    continue;
                }
                let mn = ks.iter().fold(m, |a, &j| a.max(s[j]));
                let alpha = exp2_f32(m - mn);
                let p: Vec<f32> = ks.iter().map(|&j| exp2_f32(s[j] - mn)).collect();
                l = l * alpha + p.iter().fold(0.0f32, |a, b| a + b);
                let mut b = vec![0.0f32; d];
                for (jj, &j) in ks.iter().enumerate() {
                    let ph = h16(p[jj]);
                    for ch in 0..d {
                        b[ch] = fp16_rne(b[ch] as f64 + ph as f64 * v[j * d + ch] as f64);
                    }
                }
                for ch in 0..d {
                    acc[ch] = acc[ch] * alpha + b[ch];
                }
                m = mn;
            }
            out.extend(acc.iter().map(|a| h16(a / l) as f64));
        }
    }
    out
}

#[test]
fn selection_and_output_equal_a_slow_reference() {
    for (shape, seed, tau) in [
        (AttnShape::of(2, 1280, 64, true, Phase::Prefill), 3, 0.03f32),
        (AttnShape::of(1, 1200, 32, false, Phase::Prefill), 4, 0.02),
        (AttnShape::of(2, 2000, 64, false, Phase::Decode), 5, 0.02),
    ] {
        let x = realistic(shape, seed);
        let s = sale(tau, 1024);
        let sel = s.selection(&x);
        let want = reference_selection(&x, tau);
        for (h, w) in want.iter().enumerate() {
            assert_eq!(&sel.heads[h].kept, w, "{shape} head {h}");
        }
        let sp = sel.sparsity();
        assert!(sp > 0.0 && sp < 1.0, "{shape}: sparsity {sp}");
        let out = s.emulate(&x);
        assert_eq!(bits(&out), bits(&reference_output(&x, &sel)), "{shape}");
        // And it stays an approximation of attention (better than zeros).
        let r = attention::find("attention/f64").unwrap().emulate(&x);
        let e = rel_err(&r, &out);
        assert!(e < 1.0, "{shape}: sparsity {sp}, error {e}");
    }
}

#[test]
fn calibration_halves_tau_until_the_error_budget_holds() {
    let x = realistic(AttnShape::of(2, 1100, 64, true, Phase::Prefill), 6);
    let s = Sale {
        calibrate: true,
        ..sale(0.5, 0)
    };
    let sel = s.selection(&x);
    let r = attention::find("attention/f64").unwrap().emulate(&x);
    let (nq, d) = (1100, 64);
    for (h, hs) in sel.heads.iter().enumerate() {
        // τ is 0.008 / 2^k (or 0: dense), and the chosen τ meets the budget
        // Σ|out − ref| < 0.4·q_len while 2τ (if tried) did not.
        let t = hs.tau;
        assert!(
            t == 0.0 || (0.008 / t).log2().fract() == 0.0,
            "head {h}: τ {t}"
        );
        let run = |tau: f32| {
            let mut one = Selection {
                heads: sel.heads.clone(),
            };
            one.heads[h] = s.select_head(&bitsim::attention::exact::Input::Fp16.qkv(&x), h, tau);
            let o = s.run_with(&x, &one);
            o[h * nq * d..(h + 1) * nq * d]
                .iter()
                .zip(&r[h * nq * d..(h + 1) * nq * d])
                .map(|(a, b)| (a - b).abs())
                .sum::<f64>()
        };
        if t > 0.0 {
            assert!(run(t) < 0.4 * nq as f64, "head {h}");
        }
        if t < 0.008 && t > 0.0 {
            assert!(run(2.0 * t) >= 0.4 * nq as f64, "head {h}");
        }
    }
}

#[test]
fn cost_counts_the_selection_and_the_kept_pairs() {
    let s = sale(0.05, 1024);
    let shape = AttnShape::of(1, 2048, 64, true, Phase::Prefill);
    let x = realistic(shape, 7);
    let dense = attention::find("attention/sage-int8").unwrap().cost(shape);
    let worst = s.cost(shape);
    let measured = s.cost_on(&x);
    // Worst case: every pair's MACs plus the selection.
    assert_eq!(worst.macs, dense.macs);
    assert!(measured.macs < worst.macs);
    let sel = s.selection_cost(shape);
    let int4 = sel
        .ops
        .iter()
        .find(|(k, _)| *k == bitsim::hw::cost::OpKind::IntMul { a: 4, b: 4 })
        .unwrap()
        .1;
    // INT4 multiplies: d per visible pair outside the exact region.
    let (est, ex) = bitsim::attention::sale::pair_split(shape);
    assert_eq!(est + ex, shape.pairs());
    assert_eq!(int4, est * 64.0);
    // Below dense_below: exactly sage-int8.
    let short = AttnShape::of(1, 512, 64, true, Phase::Prefill);
    assert_eq!(
        s.cost(short),
        attention::find("attention/sage-int8").unwrap().cost(short)
    );
}

/// The INT4 estimate `f32(Σ q·k)·(sq·sk) + c` at every ISA level (the
/// `vpdpbusd` tile, `vpmaddwd`, scalar) against a twin written here:
/// seeded codes over the whole INT4 range, the extremes (+7 and −8 in every
/// channel, both signs of the largest dot), ragged d and key counts (packed
/// groups of 16 keys and 4 channels only partly filled).
#[test]
fn int4_estimate_equals_a_scalar_twin_at_every_level() {
    use bitsim::isa::IsaLevel;
    use bitsim::kernels::attention::int4_estimate;
    let twin = |q: &[i8], k: &[i8], d: usize, sq: f32, sk: f32, c: &[f32]| -> Vec<f32> {
        (0..c.len())
            .map(|j| {
                let mut dot = 0i32;
                for x in 0..d {
                    dot += q[x] as i32 * k[j * d + x] as i32;
                }
                dot as f32 * (sq * sk) + c[j]
            })
            .collect()
    };
    let mut rng = crate::seeded::Rng(0x5a1e);
    let mut next = move || rng.u32();
    for d in [1, 3, 4, 7, 16, 33, 64, 128, 136] {
        for nk in [1, 15, 16, 17, 33, 70] {
            let rand: Vec<i8> = (0..(nk + 1) * d).map(|_| (next() % 16) as i8 - 8).collect();
            let corr: Vec<f32> = (0..nk).map(|_| next() as f32 / 1e9 - 2.0).collect();
            let (sq, sk) = (0.37f32, 1.7e-3f32);
            let cases: [(&str, Vec<i8>, Vec<i8>); 4] = [
                ("seeded", rand[..d].to_vec(), rand[d..].to_vec()),
                ("+7 · −8", vec![7; d], vec![-8; nk * d]),
                ("−8 · −8", vec![-8; d], vec![-8; nk * d]),
                (
                    "alternating",
                    (0..d).map(|x| if x % 2 == 0 { 7 } else { -8 }).collect(),
                    (0..nk * d)
                        .map(|x| if x % 3 == 0 { -8 } else { 7 })
                        .collect(),
                ),
            ];
            for (what, q, k) in cases {
                let want = twin(&q, &k, d, sq, sk, &corr);
                // The extremes' dots are what they should be (the twin
                // itself checked by hand).
                if what == "+7 · −8" {
                    assert_eq!(want[0], (-56 * d as i32) as f32 * (sq * sk) + corr[0]);
                }
                for level in IsaLevel::available() {
                    let got = int4_estimate(&q, &k, d, sq, sk, &corr, level);
                    let gb: Vec<u32> = got.iter().map(|v| v.to_bits()).collect();
                    let wb: Vec<u32> = want.iter().map(|v| v.to_bits()).collect();
                    assert_eq!(gb, wb, "{what} d={d} nk={nk} level={}", level.name());
                }
            }
        }
    }
}
