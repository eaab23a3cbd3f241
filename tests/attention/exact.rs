//! The exact variants: the f64 reference against hand cases and an
//! independent log-sum-exp implementation; FlashAttention's emulation
//! against a twin written from its documented order; every variant against
//! the reference within a stated bound.

use crate::{qkv, rel_err, shape};
use bitsim::arith::exp::exp_f32;
use bitsim::attention::{self, AttnShape, Phase, Qkv};
use bitsim::workload::attention::realistic;

fn variant(name: &str) -> Box<dyn attention::AttentionVariant> {
    attention::find(name).unwrap_or_else(|| panic!("{name} is registered"))
}

#[test]
fn f64_uniform_weights_average_the_visible_values() {
    // Q = 0: every score is 0, so each row averages the values it sees.
    let s = shape(1, 3, 2, true);
    let v = [3.0, 0.0, 0.0, 6.0, 3.0, 3.0];
    let x = qkv(s, &[0.0; 6], &[1.0, 2.0, -1.0, 0.5, 4.0, 4.0], &v);
    let o = variant("attention/f64").emulate(&x);
    let want = [3.0, 0.0, 1.5, 3.0, 2.0, 3.0];
    for (a, b) in o.iter().zip(want) {
        assert!((a - b).abs() < 1e-15, "{o:?}");
    }
}

#[test]
fn f64_weights_one_two_three() {
    // d = 4 (scale ½), q = e0, keys' first channel 2·ln j for j = 1, 2, 3:
    // scores ln 1, ln 2, ln 3, so weights 1/6, 2/6, 3/6 (up to the f32
    // rounding of 2·ln j, < 1e−7 relative).
    let s = shape(1, 1, 4, false);
    let s = AttnShape { nk: 3, ..s };
    let k: Vec<f32> = (1..=3)
        .flat_map(|j| [(2.0 * (j as f64).ln()) as f32, 0.0, 0.0, 0.0])
        .collect();
    let v = [6.0, 0.0, 0.0, 1.0, 0.0, 6.0, 0.0, 1.0, 0.0, 0.0, 6.0, 1.0];
    let x = qkv(s, &[1.0, 0.0, 0.0, 0.0], &k, &v);
    let o = variant("attention/f64").emulate(&x);
    let want = [1.0, 2.0, 3.0, 1.0];
    for (a, b) in o.iter().zip(want) {
        assert!((a - b).abs() < 1e-6, "{o:?}");
    }
}

/// An independent naive attention: log-sum-exp per row, f64.
fn lse_attention(x: &Qkv) -> Vec<f64> {
    let AttnShape {
        heads, nq, nk, d, ..
    } = x.shape;
    let mut out = Vec::new();
    for h in 0..heads {
        for i in 0..nq {
            let q = &x.q[(h * nq + i) * d..][..d];
            let vis = x.shape.visible(i);
            let s: Vec<f64> = (0..vis)
                .map(|j| {
                    let k = &x.k[(h * nk + j) * d..][..d];
                    q.iter()
                        .zip(k)
                        .map(|(a, b)| *a as f64 * *b as f64)
                        .sum::<f64>()
                        / (d as f64).sqrt()
                })
                .collect();
            let m = s.iter().cloned().fold(f64::MIN, f64::max);
            let lse = m + s.iter().map(|t| (t - m).exp()).sum::<f64>().ln();
            for c in 0..d {
                out.push(
                    (0..vis)
                        .map(|j| (s[j] - lse).exp() * x.v[(h * nk + j) * d + c] as f64)
                        .sum(),
                );
            }
        }
    }
    out
}

#[test]
fn f64_matches_an_independent_log_sum_exp_attention() {
    for causal in [false, true] {
        let x = realistic(shape(2, 70, 32, causal), 7);
        let r = lse_attention(&x);
        let o = variant("attention/f64").emulate(&x);
        assert!(
            rel_err(&r, &o) < 1e-13,
            "causal {causal}: {}",
            rel_err(&r, &o)
        );
    }
    let x = realistic(AttnShape::of(2, 300, 64, false, Phase::Decode), 3);
    let e = rel_err(&lse_attention(&x), &variant("attention/f64").emulate(&x));
    assert!(e < 1e-13, "decode {e}");
}

/// FlashAttention (f32) written from the documented order, independently.
#[allow(clippy::needless_range_loop)] // indices spell out the documented order
fn flash_twin(x: &Qkv, b_c: usize) -> Vec<f64> {
    let AttnShape {
        heads, nq, nk, d, ..
    } = x.shape;
    let sc = (1.0 / (d as f64).sqrt()) as f32;
    let mut out = Vec::new();
    for h in 0..heads {
        for i in 0..nq {
            let q = &x.q[(h * nq + i) * d..][..d];
            let vis = x.shape.visible(i);
            let (mut m, mut l) = (f32::NEG_INFINITY, 0.0f32);
            let mut a = vec![0.0f32; d];
            let mut t0 = 0;
            while t0 < vis {
                let t1 = (t0 + b_c).min(vis);
                let s: Vec<f32> = (t0..t1)
                    .map(|j| {
                        let k = &x.k[(h * nk + j) * d..][..d];
                        let mut acc = 0.0f32;
                        for c in 0..d {
                            acc = q[c].mul_add(k[c], acc);
                        }
                        acc * sc
                    })
                    .collect();
                let m2 = s.iter().fold(m, |u, &w| u.max(w));
                let alpha = exp_f32(m - m2);
                let p: Vec<f32> = s.iter().map(|&w| exp_f32(w - m2)).collect();
                l = l * alpha + p.iter().fold(0.0f32, |u, w| u + w);
                for c in 0..d {
                    a[c] *= alpha;
                    for (jj, pj) in p.iter().enumerate() {
                        a[c] = pj.mul_add(x.v[(h * nk + t0 + jj) * d + c], a[c]);
                    }
                }
                m = m2;
                t0 = t1;
            }
            out.extend(a.iter().map(|v| (v / l) as f64));
        }
    }
    out
}

#[test]
fn flash_f32_is_its_documented_order_bit_for_bit() {
    let v = variant("attention/flash-f32");
    for (n, d) in [(1, 32), (2, 64), (63, 80), (65, 32), (200, 128)] {
        for causal in [false, true] {
            let x = realistic(shape(2, n, d, causal), n as u64);
            let (o, t) = (v.emulate(&x), flash_twin(&x, 64));
            let same = o.iter().zip(&t).all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "n={n} d={d} causal={causal}");
        }
    }
}

#[test]
fn thread_count_never_changes_a_bit() {
    let x = realistic(shape(2, 130, 64, true), 11);
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                attention::registry()
                    .iter()
                    .map(|v| v.emulate(&x))
                    .collect::<Vec<_>>()
            })
    };
    let (a, b) = (run(1), run(3));
    for (v, (p, q)) in attention::registry().iter().zip(a.iter().zip(&b)) {
        assert!(
            p.iter().zip(q).all(|(u, w)| u.to_bits() == w.to_bits()),
            "{}",
            v.name()
        );
    }
}

/// Each variant's stated error bound against f64 on the realistic workload
/// (prefill 2×128×64, causal and not): relative Frobenius error. Each bound
/// is about 1.5–2× the error measured when it was set (seed 5), so a change
/// that makes a variant markedly worse fails.
const BOUNDS: &[(&str, f64)] = &[
    ("attention/f64", 0.0),
    ("attention/f32", 1e-6),
    ("attention/flash-f32", 1e-6),
    ("attention/flash-bf16", 7e-3),
    ("attention/flash-fp16acc", 5e-3),
    ("attention/split-kv", 1e-6),
    ("attention/flash-dpbf16", 7e-3),
    ("attention/sage-int8", 3e-2),
    ("attention/sage2-fp8", 6e-2),
    ("attention/sage2pp-fp16acc", 7e-2),
    ("attention/int4-qk", 0.4),
    // Dense below 1024 keys: sage-int8's bound.
    ("attention/sale", 3e-2),
    ("attention/fp8-e4m3", 0.1),
    ("attention/mxfp8", 0.15),
    ("attention/mxfp4", 0.5),
    ("attention/nvfp4", 0.3),
    ("attention/lmul-bf16", 0.1),
    ("attention/lmul-e4m3", 0.2),
    ("attention/qjl", 0.5),
    ("attention/qjl-plain", 1.0),
    ("attention/hyper", 1e-6),
    ("attention/hyper-triton", 1e-6),
    ("attention/kdeformer", 1e-5),
    ("attention/kdeformer-stable", 1e-5),
    ("attention/subgen", 2.0),
    // Untrained hash + the coded numerator bias: no better than zeros
    // (REPRODUCTIONS.md); the bound only catches a broken emulation.
    ("attention/ecoformer", 1.2),
];

#[test]
fn every_variant_is_within_its_bound_of_f64() {
    let reg = attention::registry();
    let names: Vec<&str> = reg.iter().map(|v| v.name()).collect();
    let listed: Vec<&str> = BOUNDS.iter().map(|b| b.0).collect();
    assert_eq!(names, listed, "every registered variant has a bound");
    for causal in [true, false] {
        let x = realistic(shape(2, 128, 64, causal), 5);
        let r = variant("attention/f64").emulate(&x);
        for (v, (_, bound)) in reg.iter().zip(BOUNDS) {
            let o = v.emulate(&x);
            assert!(o.iter().all(|y| y.is_finite()), "{}", v.name());
            let e = rel_err(&r, &o);
            eprintln!("{} causal={causal}: {e:.3e}", v.name());
            assert!(
                e <= *bound,
                "{}: error {e} above its bound {bound}",
                v.name()
            );
        }
    }
}

#[test]
fn decode_sees_every_key_and_split_kv_merges_exactly_enough() {
    let s = AttnShape::of(1, 1000, 64, true, Phase::Decode);
    assert_eq!((s.nq, s.visible(0)), (1, 1000));
    let x = realistic(s, 9);
    let r = variant("attention/f64").emulate(&x);
    for name in ["attention/split-kv", "attention/flash-f32"] {
        let e = rel_err(&r, &variant(name).emulate(&x));
        assert!(e < 1e-5, "{name}: {e}");
    }
}

#[test]
fn native_flash_f32_equals_its_emulation_at_every_isa_level() {
    use bitsim::attention::exact::NativeF32;
    use bitsim::attention::AttentionVariant;
    use bitsim::attention::NativeAttention;
    use bitsim::isa::IsaLevel;
    use bitsim::kernels::attention::{Method, Round};
    let v = variant("attention/flash-f32");
    assert!(v.native().is_some(), "flash-f32 has a native kernel");
    for b_c in [64, 13] {
        let k = NativeF32 {
            input: bitsim::attention::exact::Input::F32,
            method: Method::Flash {
                b_c,
                round: Round::F32,
            },
        };
        let emu = bitsim::attention::exact::Flash {
            name: "t",
            description: "",
            input: bitsim::attention::exact::Input::F32,
            b_c,
            b_r: 64,
        };
        // d = 40 and 13 reach the blocked kernel's 8-channel and scalar
        // channel tails (multiples of 16 take neither).
        for (n, d) in [
            (1, 32),
            (2, 64),
            (63, 80),
            (65, 128),
            (1000, 32),
            (70, 40),
            (37, 13),
        ] {
            for causal in [false, true] {
                let x = realistic(shape(2, n, d, causal), 3 + n as u64);
                let want = emu.emulate(&x);
                for level in IsaLevel::available() {
                    let got = k.run_at(&x, level);
                    let same = got
                        .iter()
                        .zip(&want)
                        .all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(
                        same,
                        "b_c={b_c} n={n} d={d} causal={causal} level={}",
                        level.name()
                    );
                }
            }
        }
        // Decode: one query over the whole cache.
        let x = realistic(AttnShape::of(2, 777, 64, true, Phase::Decode), 1);
        for level in IsaLevel::available() {
            let got = k.run_at(&x, level);
            assert!(got
                .iter()
                .zip(&emu.emulate(&x))
                .all(|(a, b)| a.to_bits() == b.to_bits()));
        }
    }
}
