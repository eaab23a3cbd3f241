//! Every native attention kernel equals its variant's emulation bit for bit
//! at every ISA level this CPU has: causal and not, ragged N (1, 2, 63, 65,
//! 1000), d in {32, 64, 80, 128}, prefill and decode; plus the kernels'
//! exact-arithmetic steps against hand cases and an f64 oracle.

use super::shape;
use bitsim::attention::hyper::{Hyper, Version};
use bitsim::attention::kdeformer::KdeFormer;
use bitsim::attention::{self, AttentionVariant, AttnShape, Phase, Qkv};
use bitsim::isa::IsaLevel;
use bitsim::workload::attention::realistic;

/// The variants whose native kernels this file checks (the registry's).
const NATIVE: [&str; 17] = [
    "attention/f32",
    "attention/flash-f32",
    "attention/flash-bf16",
    "attention/flash-fp16acc",
    "attention/split-kv",
    "attention/flash-dpbf16",
    "attention/sage-int8",
    "attention/sage2-fp8",
    "attention/sage2pp-fp16acc",
    "attention/int4-qk",
    "attention/sale",
    "attention/qjl",
    "attention/qjl-plain",
    "attention/hyper",
    "attention/hyper-triton",
    "attention/kdeformer",
    "attention/kdeformer-stable",
];

fn same_bits(a: &[f64], b: &[f64]) -> Option<usize> {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .position(|(x, y)| x.to_bits() != y.to_bits())
}

/// Runs `v`'s kernel at every level this CPU has and compares with the
/// emulation.
fn check(v: &dyn AttentionVariant, x: &Qkv, what: &str) {
    let want = v.emulate(x);
    let k = v.native().expect("a native kernel");
    for level in IsaLevel::available() {
        let got = k.run_at(x, level);
        if let Some(i) = same_bits(&got, &want) {
            panic!(
                "{} {what} level={}: element {i}: native {} emulation {}",
                v.name(),
                level.name(),
                got[i],
                want[i]
            );
        }
    }
}

#[test]
fn the_registry_lists_exactly_these_native_kernels() {
    let with: Vec<&str> = attention::registry()
        .iter()
        .filter(|v| v.native().is_some())
        .map(|v| v.name())
        .collect();
    assert_eq!(with, NATIVE);
}

#[test]
fn prefill_equals_the_emulation_at_every_level() {
    for name in NATIVE {
        let v = attention::find(name).unwrap();
        for d in [32, 64, 80, 128] {
            for n in [1, 2, 63, 65] {
                for causal in [false, true] {
                    let x = realistic(shape(2, n, d, causal), 7 + n as u64 + d as u64);
                    check(&*v, &x, &format!("n={n} d={d} causal={causal}"));
                }
            }
        }
    }
}

/// Every native kernel on 1000 queries and keys (many tiles, the online
/// softmax's rescaling) at one head dimension.
fn long_prefill(d: usize, causal: bool) {
    for name in NATIVE {
        let v = attention::find(name).unwrap();
        let x = realistic(shape(1, 1000, d, causal), 11);
        check(&*v, &x, &format!("n=1000 d={d} causal={causal}"));
    }
}

// One test per head dimension, not one for all four: each is tens of seconds
// of emulation, and as separate tests they share the test threads.
#[test]
fn long_prefill_d32_causal_equals_the_emulation_at_every_level() {
    long_prefill(32, true);
}

#[test]
fn long_prefill_d80_equals_the_emulation_at_every_level() {
    long_prefill(80, false);
}

#[test]
fn long_prefill_d128_causal_equals_the_emulation_at_every_level() {
    long_prefill(128, true);
}

#[test]
fn long_prefill_d64_equals_the_emulation_at_every_level() {
    long_prefill(64, false);
}

#[test]
fn decode_equals_the_emulation_at_every_level() {
    for name in NATIVE {
        let v = attention::find(name).unwrap();
        for d in [32, 64, 80, 128] {
            for n in [1, 2, 63, 65, 1000] {
                let x = realistic(AttnShape::of(3, n, d, true, Phase::Decode), 5 + n as u64);
                check(&*v, &x, &format!("decode n={n} d={d}"));
            }
        }
    }
}

/// The decode paths' tails: keys around multiples of 16 (whole and partial
/// vector groups, one and two groups at a time) and head dimensions that
/// are not multiples of 16 or 8 (masked last channels), tiles shorter than
/// a group, and split-KV chunks that end mid-group.
#[test]
fn decode_tails_equal_the_emulation_at_every_level() {
    for name in [
        "attention/f32",
        "attention/flash-f32",
        "attention/flash-bf16",
        "attention/flash-fp16acc",
        "attention/split-kv",
        "attention/flash-dpbf16",
    ] {
        let v = attention::find(name).unwrap();
        for d in [1, 7, 8, 20, 72, 136, 200] {
            for n in [3, 15, 16, 17, 31, 32, 33, 47, 48, 79, 130] {
                let x = realistic(
                    AttnShape::of(2, n, d, false, Phase::Decode),
                    31 + n as u64 + d as u64,
                );
                check(&*v, &x, &format!("decode n={n} d={d}"));
            }
        }
    }
}

/// Few queries over more keys (cross attention, causal offset), below and
/// above the packing threshold: both K layouts of the score step.
#[test]
fn few_queries_over_many_keys_use_both_key_layouts() {
    let pack = bitsim::kernels::attention::PACK_MIN_QUERIES;
    for name in NATIVE {
        let v = attention::find(name).unwrap();
        for nq in [pack - 1, pack, pack + 3] {
            for causal in [false, true] {
                let full = realistic(shape(2, 131, 80, causal), 9);
                let d = 80;
                let q: Vec<f32> = (0..2)
                    .flat_map(|h| full.q_head(h)[(131 - nq) * d..].to_vec())
                    .collect();
                let s = AttnShape { nq, ..full.shape };
                let x = Qkv::new(s, q, full.k.clone(), full.v.clone()).unwrap();
                check(&*v, &x, &format!("nq={nq} causal={causal}"));
            }
        }
    }
}

/// Edge values: all-zero inputs (uniform weights), huge scores (one key
/// takes all the weight), values at fp16's largest finite magnitudes (the
/// FP16 accumulator overflows the same way in both; FP8 V saturates its
/// scale), Q and K at fp16's largest magnitudes (int8 codes ±127 in every
/// channel), tiny values (fp16 and f32 subnormal products). The shape is
/// causal, so query 0 sees one key and every other key is masked.
#[test]
fn edge_values_equal_the_emulation() {
    let s = shape(1, 70, 32, true);
    let len = 70 * 32;
    let zeros = vec![0.0f32; len];
    let ramp: Vec<f32> = (0..len)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.7)
        .collect();
    let big_v: Vec<f32> = (0..len)
        .map(|i| if i % 3 == 0 { 65504.0 } else { -30000.0 })
        .collect();
    let tiny: Vec<f32> = (0..len).map(|i| ((i % 17) as f32 - 8.0) * 1e-7).collect();
    let big_qk: Vec<f32> = (0..len)
        .map(|i| if i % 5 < 2 { 65504.0 } else { -65504.0 })
        .collect();
    let cases = [
        ("zeros", zeros.clone(), zeros.clone(), ramp.clone()),
        ("huge scores", ramp.clone(), ramp.clone(), ramp.clone()),
        ("fp16-max values", ramp.clone(), zeros.clone(), big_v),
        ("fp16-max Q and K", big_qk.clone(), big_qk, ramp.clone()),
        ("tiny", tiny.clone(), tiny.clone(), tiny),
    ];
    for (what, q, k, v) in cases {
        let x = Qkv::new(s, q, k, v).unwrap();
        for name in NATIVE {
            check(&*attention::find(name).unwrap(), &x, what);
        }
    }
}

/// The thread count never changes a bit of a native kernel.
#[test]
fn threads_do_not_change_native_bits() {
    let x = realistic(shape(2, 150, 64, true), 21);
    let xd = realistic(AttnShape::of(2, 3000, 64, true, Phase::Decode), 22);
    for name in NATIVE {
        let k = attention::find(name).unwrap().native().unwrap();
        for x in [&x, &xd] {
            let one = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap()
                .install(|| k.run(x));
            let three = rayon::ThreadPoolBuilder::new()
                .num_threads(3)
                .build()
                .unwrap()
                .install(|| k.run(x));
            assert_eq!(same_bits(&one, &three), None, "{name}");
        }
    }
}

/// The Sage kernels' Q·Kᵀ phase runs apart exactly where their blocked
/// kernel runs (AVX2 with FMA and F16C and up), QJL's everywhere; each
/// gives the same checksum on any thread count, and the other kernels have
/// no such phase.
#[test]
fn the_qk_phase_runs_where_the_blocked_kernel_does() {
    let f = bitsim::isa::active();
    let blocked = bitsim::isa::effective() >= IsaLevel::Avx2 && f.avx2 && f.fma && f.f16c;
    let x = realistic(shape(2, 150, 64, true), 23);
    for name in NATIVE {
        let v = attention::find(name).unwrap();
        let k = v.native().unwrap();
        let sage = name.contains("sage") || name.contains("int4");
        // QJL's score phase runs apart at every level.
        let qjl = name.contains("qjl");
        match k.qk_phase(&x) {
            None => assert!(
                !(qjl || (sage && blocked)),
                "{name}: no Q·Kᵀ phase on this CPU"
            ),
            Some(run) => {
                assert!(
                    (sage && blocked) || qjl,
                    "{name}: a Q·Kᵀ phase where none should run"
                );
                let one = rayon::ThreadPoolBuilder::new()
                    .num_threads(1)
                    .build()
                    .unwrap()
                    .install(&run);
                let a = run();
                assert!(a.is_finite() && a != 0.0, "{name}: checksum {a}");
                assert_eq!(
                    a.to_bits(),
                    one.to_bits(),
                    "{name}: threads changed the checksum"
                );
            }
        };
    }
}

/// The Sage kernels at head dimensions off the 16-lane and 4-channel grids
/// (masked channel tails in P·V, padded channel quads in the packed K),
/// below and above one 64-key tile, causal and not.
#[test]
fn sage_ragged_head_dims_equal_the_emulation() {
    for name in NATIVE
        .iter()
        .filter(|n| n.contains("sage") || n.contains("int4"))
    {
        let v = attention::find(name).unwrap();
        for d in [1, 7, 20, 72, 136] {
            for n in [17, 130] {
                for causal in [false, true] {
                    let x = realistic(shape(2, n, d, causal), 31 + n as u64 + d as u64);
                    check(&*v, &x, &format!("n={n} d={d} causal={causal}"));
                }
            }
        }
    }
}

/// The Sage kernels on hand-made codes at the int8 extremes (all −128;
/// −128/127/−127 mixed: the AVX2 path's `vpmaddwd` pair sums at their
/// largest, which `vpmaddubsw` would saturate) and random codes, over
/// ragged tiles (keys off the 8- and 64-key grids), odd head dims (padded
/// channel pairs and quads), causal blocks with fewer queries than keys
/// (each row of a 16-row block sees a different key count, ends inside a
/// tile), every score order and P·V path: every level equals the portable
/// row kernel (the scalar level, which shares no code with the blocked
/// kernels' steps). The quantizers never emit −128, so the emulation
/// cannot be the reference here. Also checks that the blocked kernel is
/// what runs from the AVX2 level up (its Q·Kᵀ phase exists there).
#[test]
fn sage_blocked_kernels_equal_the_row_kernel_at_int8_extremes() {
    use bitsim::kernels::attention::{
        sage, sage_qk, Dims, SageBlocks, SageHead, SagePv, SageScore,
    };
    let mut rng = crate::seeded::Rng(0x9E37_79B9_7F4A_7C15);
    let mut next = move || rng.u32();
    let f = bitsim::isa::active();
    let shapes = [
        (37, 150, 130, true),
        (40, 40, 3, true),
        (16, 203, 20, false),
        (1, 77, 7, true),
        (33, 64, 128, true),
        (20, 131, 64, false),
    ];
    for (nq, nk, d, causal) in shapes {
        let dims = Dims {
            heads: 3,
            nq,
            nk,
            d,
            causal,
        };
        // Head 0: all −128; head 1: −128, 127, −127 mixed; head 2: random.
        let codes = |n: usize, next: &mut dyn FnMut() -> u32| -> Vec<Vec<i8>> {
            vec![
                vec![-128i8; n],
                (0..n)
                    .map(|i| [-128i8, 127, -127, -128, 127][i % 5])
                    .collect(),
                (0..n).map(|_| next() as u8 as i8).collect(),
            ]
        };
        let q = codes(nq * d, &mut next);
        let k = codes(nk * d, &mut next);
        // Values exact in fp16 and e4m3 (k/4, |k| ≤ 15).
        let v: Vec<f32> = (0..nk * d)
            .map(|_| (next() % 31) as f32 * 0.25 - 3.75)
            .collect();
        let sq: Vec<f32> = (0..nq.div_ceil(16))
            .map(|i| 2e-5 * (1.0 + i as f32))
            .collect();
        let sk: Vec<f32> = (0..nk.div_ceil(8))
            .map(|i| 3e-5 * (1.0 + (i % 3) as f32))
            .collect();
        let sv = vec![1.5f32; d];
        for (score, pv, chunk) in [
            (SageScore::V1, SagePv::Fp16, 64),
            (SageScore::V2, SagePv::Fp8F32, 64),
            (SageScore::V2, SagePv::Fp8Fp16, 32),
        ] {
            let blocks = SageBlocks {
                q_block: 16,
                k_block: 8,
                tile: 64,
                chunk,
                score,
                pv,
            };
            let heads: Vec<SageHead> = (0..3)
                .map(|h| SageHead {
                    q: &q[h],
                    sq: &sq,
                    k: &k[h],
                    sk: &sk,
                    v: &v,
                    sv: if pv == SagePv::Fp16 { &[] } else { &sv },
                })
                .collect();
            let want = sage(&heads, dims, blocks, IsaLevel::Scalar);
            assert!(want.iter().all(|x| x.is_finite()));
            for level in IsaLevel::available() {
                let got = sage(&heads, dims, blocks, level);
                if let Some(i) = same_bits(&got, &want) {
                    panic!(
                        "{nq}x{nk} d={d} causal={causal} {pv:?} level={level}: element {i}: {} vs row kernel {}",
                        got[i], want[i]
                    );
                }
                let blocked = level >= IsaLevel::Avx2 && f.avx2 && f.fma && f.f16c;
                assert_eq!(
                    sage_qk(&heads, dims, blocks, level).is_some(),
                    blocked,
                    "level={level}: the blocked kernel runs from AVX2 up"
                );
            }
        }
    }
}

/// HyperAttention with small blocks, samples and `min_seq_len`, so the
/// test's short shapes take the LSH path (sorted blocks, samples, the
/// causal recursion) rather than exact attention.
fn small_hyper(version: Version, block: usize, samples: usize, min_seq_len: usize) -> Hyper {
    Hyper {
        name: "small",
        description: "",
        version,
        lsh_bits: if version == Version::Original { 7 } else { 8 },
        block,
        samples,
        min_seq_len,
        seed: 9,
    }
}

fn small_kde(stable: bool, bucket: usize, samples: usize) -> KdeFormer {
    KdeFormer {
        name: "small",
        description: "",
        stable,
        lsh_bits: 7,
        bucket,
        samples,
        seed: 4,
    }
}

/// The LSH-sorted methods' kernels on their approximate paths: small
/// HyperAttention blocks (one and several of the rewrite's 128-key tiles,
/// padded last blocks, samples in and out of the own block, the causal
/// recursion with odd halves) and KDEformer buckets, ragged n and d, causal
/// and not, prefill and decode, at every level. Each case first checks
/// that the method left pairs out (so it is not exact attention).
#[test]
fn lsh_paths_equal_the_emulation_at_every_level() {
    // Each with the length above which its output must leave pairs out.
    let mut variants: Vec<(Box<dyn AttentionVariant>, usize)> = Vec::new();
    for v in [Version::Original, Version::Triton] {
        variants.push((Box::new(small_hyper(v, 16, 8, 32)), 32));
        variants.push((Box::new(small_hyper(v, 150, 200, 64)), 300));
    }
    for stable in [false, true] {
        variants.push((Box::new(small_kde(stable, 16, 8)), 0));
        variants.push((Box::new(small_kde(stable, 40, 0)), 0));
    }
    for (v, approx_above) in &variants {
        for (n, d) in [(97, 7), (130, 32), (401, 80)] {
            for causal in [false, true] {
                let x = realistic(shape(2, n, d, causal), 13 + n as u64 + d as u64);
                if n > *approx_above {
                    let cov = v.coverage(&x).unwrap();
                    let seen = (0..2 * n).map(|r| x.shape.visible(r % n)).sum::<usize>();
                    assert!(
                        cov.iter().filter(|c| **c).count() < seen,
                        "n={n} d={d} causal={causal}: the approximate path did not run"
                    );
                }
                check(&**v, &x, &format!("small n={n} d={d} causal={causal}"));
            }
        }
        for n in [65, 300] {
            let x = realistic(AttnShape::of(2, n, 24, true, Phase::Decode), 3 + n as u64);
            check(&**v, &x, &format!("small decode n={n}"));
        }
        let x = realistic(shape(3, 200, 64, true), 41);
        let k = v.native().unwrap();
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| k.run(&x));
        let three = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap()
            .install(|| k.run(&x));
        assert_eq!(same_bits(&one, &three), None, "threads");
    }
}

/// KDEformer as coded overflows (no max subtraction): scores above ln of
/// f32's max give inf/inf = NaN in both the kernel and the emulation, and
/// the stable version stays finite; both bit for bit.
#[test]
fn kdeformer_overflow_is_kept_by_the_kernel() {
    let s = shape(1, 64, 16, false);
    let q: Vec<f32> = (0..64 * 16).map(|i| ((i % 7) as f32 - 2.0) * 3.0).collect();
    let x = Qkv::new(
        s,
        q.clone(),
        q,
        (0..64 * 16).map(|i| (i % 5) as f32).collect(),
    )
    .unwrap();
    for stable in [false, true] {
        let v = small_kde(stable, 16, 8);
        let o = v.emulate(&x);
        assert_eq!(o.iter().any(|x| x.is_nan()), !stable, "stable={stable}");
        check(&v, &x, &format!("overflow stable={stable}"));
    }
}

/// SALE past its dense threshold (the other tests' shapes are dense):
/// the registered τ and a larger one (more blocks skipped, tiles with one
/// of their two key blocks kept), prefill and decode, causal and not,
/// ragged N and d, and edge inputs; every level. Each shape must skip
/// blocks at the larger τ, so the selection is exercised.
#[test]
fn sale_sparse_selection_equals_the_emulation() {
    use bitsim::attention::sale::Sale;
    let sale = |tau: f32, dense_below: usize| Sale {
        name: "attention/sale",
        description: "",
        tau,
        calibrate: false,
        dense_below,
    };
    let registered = attention::find("attention/sale").unwrap();
    let shapes = [
        (shape(1, 1100, 32, true), 1),
        (shape(2, 1090, 20, false), 2),
        (shape(1, 1300, 80, true), 3),
        (AttnShape::of(2, 1500, 64, true, Phase::Decode), 4),
        (AttnShape::of(1, 1057, 7, false, Phase::Decode), 5),
    ];
    for (s, seed) in shapes {
        let x = realistic(s, seed);
        check(&*registered, &x, &format!("registered {s}"));
        for (tau, dense_below) in [(0.05, 0), (0.3, 0)] {
            let v = sale(tau, dense_below);
            assert!(
                v.selection(&x).sparsity() > 0.0,
                "{s} τ={tau}: nothing skipped"
            );
            check(&v, &x, &format!("τ={tau} {s}"));
        }
    }
    // Edge inputs on the sparse path: zeros (every estimate equals its
    // row's scores: ties at the threshold), fp16's largest Q and K (INT4
    // codes ±7 in every channel, INT8 ±127), huge V, tiny values.
    let s = shape(1, 1100, 16, true);
    let len = 1100 * 16;
    let ramp: Vec<f32> = (0..len)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.7)
        .collect();
    let big: Vec<f32> = (0..len)
        .map(|i| if i % 5 < 2 { 65504.0 } else { -65504.0 })
        .collect();
    let big_v: Vec<f32> = (0..len)
        .map(|i| if i % 3 == 0 { 65504.0 } else { -30000.0 })
        .collect();
    let tiny: Vec<f32> = (0..len).map(|i| ((i % 17) as f32 - 8.0) * 1e-7).collect();
    let zeros = vec![0.0f32; len];
    let cases = [
        ("zeros", zeros.clone(), zeros, ramp.clone()),
        ("ramp", ramp.clone(), ramp.clone(), big_v),
        ("fp16-max Q and K", big.clone(), big, ramp.clone()),
        ("tiny", tiny.clone(), tiny.clone(), tiny),
    ];
    for (what, q, k, v) in cases {
        let x = Qkv::new(s, q, k, v).unwrap();
        for tau in [0.004, 0.05, 0.3] {
            check(&sale(tau, 0), &x, &format!("{what} τ={tau}"));
        }
    }
}

/// SALE's native selection alone equals the emulation's kept blocks at
/// every level (the output test above could hide a wrong block whose keys
/// weigh nothing).
#[test]
fn sale_native_selection_equals_the_emulation() {
    use bitsim::attention::sale::{NativeSale, Sale};
    for (s, seed, tau) in [
        (shape(2, 1100, 32, true), 7, 0.05f32),
        (shape(1, 1090, 20, false), 8, 0.3),
        (AttnShape::of(2, 1500, 64, true, Phase::Decode), 9, 0.05),
    ] {
        let x = realistic(s, seed);
        let v = Sale {
            name: "t",
            description: "",
            tau,
            calibrate: false,
            dense_below: 0,
        };
        let want: Vec<Vec<bool>> = v.selection(&x).heads.into_iter().map(|h| h.kept).collect();
        assert!(want.iter().flatten().any(|k| !k), "{s}: nothing skipped");
        let k = NativeSale::new(v);
        for level in IsaLevel::available() {
            assert_eq!(k.kept_blocks(&x, level), want, "{s} level={}", level.name());
        }
    }
}

/// `attention/flash-fp16acc`'s accumulator step (`a = f16(a·ms)` on a new
/// maximum, then `a = f16(fma(v, vs, a))`) at every level against a scalar
/// twin and hand-worked results: the tie just above fp16's largest finite
/// value (65504 + 16 = 65520 rounds to even: +inf), a rescale that stays
/// finite and one that overflows, subnormal results and their ties, ties
/// in the normal range, ±0, and NaN made and carried (inf·0, inf − inf,
/// NaN in). Channel counts exercise every path's vectors and tails; `raw`
/// rounds V to fp16 first (the decode path reads V as given).
#[test]
fn fp16_accumulator_steps_equal_a_scalar_twin() {
    use bitsim::kernels::attention::fp16acc_steps;
    use half::f16;
    let h16 = |x: f32| f16::from_f32(x).to_f32();
    let sub = 2f32.powi(-24);
    // (a, v, rescale, vs, expected after the step), worked by hand.
    let cases: [(f32, f32, Option<f32>, f32, f32); 14] = [
        (65504.0, 16.0, None, 1.0, f32::INFINITY),
        (65504.0, 15.0, None, 1.0, 65504.0),
        (-65504.0, -16.0, None, 1.0, f32::NEG_INFINITY),
        (65504.0, 0.0, Some(1.0001), 1.0, 65504.0),
        (65504.0, 0.0, Some(1.001), 1.0, f32::INFINITY),
        (0.0, sub, None, 0.5, 0.0),
        (0.0, sub, None, 0.75, sub),
        (0.0, 3.0 * sub, None, 0.5, 2.0 * sub),
        (1.0, 2f32.powi(-11), None, 1.0, 1.0),
        (
            1.0 + 2f32.powi(-10),
            2f32.powi(-11),
            None,
            1.0,
            1.0 + 2f32.powi(-9),
        ),
        (-0.0, -0.0, None, 1.0, -0.0),
        (f32::INFINITY, 1.0, Some(0.0), 1.0, f32::NAN),
        (f32::INFINITY, f32::NEG_INFINITY, None, 1.0, f32::NAN),
        (f32::NAN, 1.0, None, 1.0, f32::NAN),
    ];
    let same = |x: f32, y: f32| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan());
    for (a, v, r, vs, want) in cases {
        let mut twin = a;
        if let Some(ms) = r {
            twin = h16(twin * ms);
        }
        twin = h16(v.mul_add(vs, twin));
        assert!(
            same(twin, want),
            "twin {a} {v} {r:?} {vs}: {twin} not {want}"
        );
        for level in IsaLevel::available() {
            for d in [1, 7, 8, 16, 17, 130] {
                for raw in [false, true] {
                    let mut acc = vec![a; d];
                    fp16acc_steps(level, &mut acc, &vec![v; d], &[(r, vs)], raw);
                    for x in &acc {
                        assert_eq!(
                            x.to_bits(),
                            twin.to_bits(),
                            "{level} d={d} {a} {v} {r:?} {vs}"
                        );
                    }
                }
            }
        }
    }
    // Many keys in a row, seeded values across fp16's range (raw V not on
    // the fp16 grid; rescales now and then), channel by channel.
    let mut rng = crate::seeded::Rng(12345);
    let mut rnd = || (rng.next() >> 40) as f32 / (1u64 << 24) as f32;
    for d in [5, 64, 80, 130] {
        let keys = 150;
        let v: Vec<f32> = (0..keys * d)
            .map(|i| (rnd() - 0.5) * [1e-6, 3.0, 40000.0][i % 3])
            .collect();
        let steps: Vec<(Option<f32>, f32)> = (0..keys)
            .map(|j| ((j % 7 == 3).then(&mut rnd), rnd() * 1.5))
            .collect();
        for raw in [false, true] {
            let mut twin = vec![0.0f32; d];
            for (j, (r, vs)) in steps.iter().enumerate() {
                for (c, t) in twin.iter_mut().enumerate() {
                    if let Some(ms) = r {
                        *t = h16(*t * ms);
                    }
                    let vc = v[j * d + c];
                    let vc = if raw { h16(vc) } else { vc };
                    *t = h16(vc.mul_add(*vs, *t));
                }
            }
            for level in IsaLevel::available() {
                let mut acc = vec![0.0f32; d];
                fp16acc_steps(level, &mut acc, &v, &steps, raw);
                for (c, (x, t)) in acc.iter().zip(&twin).enumerate() {
                    assert!(
                        same(*x, *t),
                        "{level} d={d} raw={raw} channel {c}: {x} vs {t}"
                    );
                }
            }
        }
    }
}
