//! The block kernels' tiles on hand-made codes the quantizers never give
//! (Q8_0 weight −128, whole blocks at ±max, every MXFP4 code, TQ2_0 code 3)
//! and scales at their extremes (fp16 0, subnormal, max, ±inf, NaN; E8M0
//! 0x00, 0x01, 0xFE, 0xFF), through `BlockKernel::matmul_quant` at every
//! ISA level this CPU has, against a plain model of ggml's block arithmetic
//! written here: per output and block in K order the integer dot, then the
//! format's fold as ggml's generic C path writes it. Shapes: M = 1..9
//! (GEMV tiles of 1–4 rows; VNNI tiles of 8, 5–7 rows running as 8 with
//! copies) and 70 (GEMM: a 64-row block and a 6-row one),
//! N ragged against the 8-row panels with an odd panel count in a task
//! (the VNNI tile's lone last panel), K ragged in blocks.
//!
//! Activation codes stay within ±127, as both activation quantizers keep
//! them (the AVX2 tile's `vpsignb` needs it).

use crate::seeded::Rng;
use crate::LEVEL_LOCK;
use bitsim::formats::ggml::f16_to_f32;
use bitsim::isa::{self, IsaLevel};
use bitsim::kernels::block::mxfp4::{e8m0_half, Mxfp4, E2M1_X2};
use bitsim::kernels::block::q4_0::Q4_0;
use bitsim::kernels::block::q8_0::Q8_0;
use bitsim::kernels::block::tq1_0::Tq1_0;
use bitsim::kernels::block::tq2_0::Tq2_0;
use bitsim::kernels::block::{tile_name, ActFormat, BlockFormat, BlockKernel, QuantRows, Source};

/// One format's model: the integer weight of a stored code, the weight
/// scale of a scale code, the fold, the stored codes' range and the scale
/// codes worth trying.
struct Model {
    weight: fn(i8) -> i32,
    scale: fn(u16) -> f32,
    fold: fn(f32, i32, f32, f32) -> f32,
    codes: std::ops::RangeInclusive<i8>,
    scales: &'static [u16],
}

/// fp16 scale codes: ordinary, 0, −0, smallest subnormal, max, ±inf, NaN.
const FP16: &[u16] = &[
    0x3C00, 0x2E66, 0xB800, 0x0000, 0x8000, 0x0001, 0x7BFF, 0x7C00, 0xFC00, 0x7E00,
];
/// E8M0 scale codes: 2^-127, 2^-126, 1, 2^127, NaN, ordinary.
const E8M0: &[u16] = &[0x00, 0x01, 0x7F, 0xFE, 0xFF, 0x79, 0x84];

fn f16(h: u16) -> f32 {
    f16_to_f32(h)
}

fn q8_0() -> Model {
    Model {
        weight: |c| c as i32,
        scale: f16,
        fold: |s, i, dw, da| s + i as f32 * (dw * da),
        codes: -128..=127,
        scales: FP16,
    }
}

fn q4_0() -> Model {
    Model {
        weight: |c| c as i32,
        scale: f16,
        fold: |s, i, dw, da| s + (i as f32 * dw) * da,
        codes: -8..=7,
        scales: FP16,
    }
}

fn mxfp4() -> Model {
    Model {
        weight: |c| E2M1_X2[c as usize] as i32,
        scale: |x| e8m0_half(x as u8),
        fold: |s, i, dw, da| s + (da * dw) * i as f32,
        codes: 0..=15,
        scales: E8M0,
    }
}

fn ternary(codes: std::ops::RangeInclusive<i8>) -> Model {
    Model {
        weight: |c| c as i32 - 1,
        scale: f16,
        fold: |s, i, dw, da| s + i as f32 * (da * dw),
        codes,
        scales: FP16,
    }
}

/// Seeded weights of `n` rows × `nb` blocks: per row a kind (random codes,
/// all the largest code, all the smallest, alternating the two), per block
/// a scale code (mostly the first, ordinary one; the rest in turn).
fn source<F: BlockFormat>(m: &Model, n: usize, nb: usize, k: usize, seed: u64) -> Source {
    let qk = F::Act::QK;
    let (lo, hi) = (*m.codes.start(), *m.codes.end());
    let mut r = Rng(seed);
    let mut codes = vec![0i8; n * nb * qk];
    let mut scales = vec![0u16; n * nb];
    for j in 0..n {
        for b in 0..nb {
            for e in 0..qk {
                let c = match (j + b) % 5 {
                    1 => hi,
                    2 => lo,
                    3 => [lo, hi][e % 2],
                    _ => (lo as i64 + r.below((hi as i64 - lo as i64 + 1) as u64) as i64) as i8,
                };
                // A ragged last block holds the code of weight 0.
                codes[(j * nb + b) * qk + e] = if b * qk + e < k { c } else { F::PAD_CODE };
            }
            let s = m.scales;
            scales[j * nb + b] = if r.below(3) == 0 {
                s[r.below(s.len() as u64) as usize]
            } else {
                s[0]
            };
        }
    }
    Source {
        rows: n,
        k,
        nb,
        codes,
        scales,
    }
}

/// Seeded activations of `m` rows: codes in ±127 by row kind (random, all
/// 127, all −127, alternating), scales ordinary with some 0, huge, tiny.
fn acts(m: usize, nb: usize, qk: usize, seed: u64) -> QuantRows {
    let mut r = Rng(seed);
    let codes: Vec<i8> = (0..m * nb * qk)
        .map(|x| match (x / (nb * qk)) % 4 {
            1 => 127,
            2 => -127,
            3 => [127, -127][x % 2],
            _ => (r.below(255) as i32 - 127) as i8,
        })
        .collect();
    let d = (0..m * nb)
        .map(|_| match r.below(9) {
            0 => 0.0,
            1 => 3.0e30,
            2 => 1.0e-41,
            _ => (r.gauss() as f32) * 0.01,
        })
        .collect();
    let sums = codes
        .chunks(qk)
        .map(|c| c.iter().map(|&x| x as i32).sum())
        .collect();
    QuantRows { nb, codes, d, sums }
}

/// The plain model: per output, per block in K order, the integer dot of
/// the weights (decoded from the stored codes) with the activation codes,
/// folded as ggml's generic C path.
fn model(md: &Model, w: &Source, q: &QuantRows, m: usize, qk: usize) -> Vec<f64> {
    let (n, nb) = (w.rows, w.nb);
    let mut out = vec![0f64; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut sumf = 0f32;
            for b in 0..nb {
                let mut isum = 0i32;
                for e in 0..qk {
                    let c = w.codes[(j * nb + b) * qk + e];
                    isum += (md.weight)(c) * q.codes[(i * nb + b) * qk + e] as i32;
                }
                let dw = (md.scale)(w.scales[j * nb + b]);
                sumf = (md.fold)(sumf, isum, dw, q.d[i * nb + b]);
            }
            out[i * n + j] = sumf as f64;
        }
    }
    out
}

/// The tile each level must run on this CPU.
fn want_tile(level: IsaLevel) -> &'static str {
    let f = isa::features();
    match level {
        IsaLevel::Avx512 if f.avx512vnni && f.avx2 && f.f16c => "avx512-vnni",
        IsaLevel::Avx512 | IsaLevel::Avx2 if f.avx2 && f.f16c => "avx2",
        _ => "scalar",
    }
}

/// Format `F` on every shape at every level against [`model`].
fn run<F: BlockFormat>(md: Model, name: &str, nbs: &[usize]) {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let qk = F::Act::QK;
    let mut seed = 1;
    for &nb in nbs {
        // Ragged K: the last block short by 5 (codes past K are padding).
        let k = nb * qk - 5;
        for &n in &[3usize, 21, 37] {
            seed += 1;
            let w = source::<F>(&md, n, nb, k, seed);
            let kernel = BlockKernel::<F>::pack(&w);
            for m in (1..=9).chain([70]) {
                let q = acts(m, nb, qk, seed * 100 + m as u64);
                let want = model(&md, &w, &q, m, qk);
                for level in IsaLevel::available() {
                    isa::set_cap(level);
                    assert_eq!(tile_name::<F>(level), want_tile(level), "{name} at {level}");
                    let got = kernel.matmul_quant(&q, m);
                    crate::assert_bits_eq(&format!("{name} {m}×{k}×{n} at {level}"), &got, &want);
                }
                isa::set_cap(IsaLevel::Avx512);
            }
        }
    }
}

#[test]
fn q8_0_tiles_match_the_model() {
    run::<Q8_0>(q8_0(), "q8_0", &[1, 7]);
}

#[test]
fn q4_0_tiles_match_the_model() {
    run::<Q4_0>(q4_0(), "q4_0", &[1, 7]);
}

#[test]
fn mxfp4_tiles_match_the_model() {
    run::<Mxfp4>(mxfp4(), "mxfp4", &[1, 7]);
}

#[test]
fn tq2_0_tiles_match_the_model() {
    run::<Tq2_0>(ternary(0..=3), "tq2_0", &[1, 3]);
}

#[test]
fn tq1_0_tiles_match_the_model() {
    run::<Tq1_0>(ternary(0..=2), "tq1_0", &[1, 3]);
}

/// On a CPU with AVX-512 VNNI, every block format runs its VNNI tile at
/// the AVX-512 level (so the comparisons above exercise it).
#[test]
fn the_avx512_level_runs_the_vnni_tile() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if !IsaLevel::available().contains(&IsaLevel::Avx512) || !isa::features().avx512vnni {
        return;
    }
    isa::set_cap(IsaLevel::Avx512);
    for (name, t) in [
        ("q8_0", tile_name::<Q8_0>(IsaLevel::Avx512)),
        ("q4_0", tile_name::<Q4_0>(IsaLevel::Avx512)),
        ("mxfp4", tile_name::<Mxfp4>(IsaLevel::Avx512)),
        ("tq2_0", tile_name::<Tq2_0>(IsaLevel::Avx512)),
        ("tq1_0", tile_name::<Tq1_0>(IsaLevel::Avx512)),
    ] {
        assert_eq!(t, "avx512-vnni", "{name}");
    }
    isa::set_cap(IsaLevel::Avx2);
    assert_eq!(
        tile_name::<Q8_0>(IsaLevel::Avx512),
        "avx2",
        "capped at AVX2"
    );
    isa::set_cap(IsaLevel::Avx512);
}

/// The product's parallel activation quantizer (row chunks) equals one
/// call of the format's quantizer, for both activation formats, on shapes
/// that split into several chunks with a ragged last one and a ragged K.
#[test]
fn parallel_activation_quantizer_equals_one_call() {
    use bitsim::kernels::block::act::{Q8KAct, Q8_0Act};
    use bitsim::kernels::block::quantize_rows;
    fn check<A: ActFormat>(m: usize, k: usize, seed: u64) {
        let mut r = Rng(seed);
        let a: Vec<f32> = (0..m * k)
            .map(|i| match i % 101 {
                0 => 0.0,
                1 => -3.0e4,
                _ => r.gauss() as f32,
            })
            .collect();
        let (got, want) = (quantize_rows::<A>(&a, m, k), A::quantize(&a, m, k));
        assert_eq!(got.nb, want.nb);
        assert_eq!(got.codes, want.codes, "{m}×{k} codes");
        assert_eq!(got.sums, want.sums, "{m}×{k} sums");
        let bits = |d: &[f32]| d.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got.d), bits(&want.d), "{m}×{k} scales");
    }
    // 2^17 values per chunk: 131 rows of 1000, so 3 chunks, the last ragged.
    check::<Q8_0Act>(300, 1000, 5);
    check::<Q8KAct>(300, 1000, 6);
    // Fewer rows than a chunk: one call.
    check::<Q8_0Act>(3, 100, 7);
}

/// The product's Q8_0 activation quantizer (whole blocks on AVX-512, the
/// rest and blocks with a NaN as ggml's scalar code) against ggml's
/// reference quantizer, at every ISA level: codes, scale bits and sums on
/// Gaussian rows and on blocks of edge cases, K ragged (a last block of 8).
#[test]
fn q8_0_activation_quantizer_equals_the_reference_at_every_level() {
    use bitsim::formats::ggml::{quantize, GgmlBlock, QK};
    use bitsim::kernels::block::act::Q8_0Act;
    use bitsim::kernels::block::quantize_rows;
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (nan, inf, tiny) = (f32::NAN, f32::INFINITY, f32::from_bits(1));
    // Blocks of 32 (shorter ones repeat cyclically): ties of roundf at
    // scale 1 (amax 127), ±0, subnormals (1/d overflows to inf, 0 · inf is
    // NaN), the largest finite, inf (d = inf, 1/d = 0, inf · 0 is NaN), NaN
    // first, inside, last and before a larger value, all-zero.
    let special: Vec<Vec<f32>> = vec![
        vec![
            127.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 126.5, -126.5, 63.5, -63.5, 0.49999997,
        ],
        vec![-127.0, 126.49999, -0.50000006, 3.5, -4.5, 100.5, 0.0, -0.0],
        vec![0.0, -0.0],
        vec![tiny, -tiny, 0.0, f32::MIN_POSITIVE, -3.0 * tiny],
        vec![1e-37, -2e-38, 0.0, 5e-39],
        vec![f32::MAX, -f32::MAX, 1.0, -0.0, 3e38],
        vec![inf, 1.0, -2.0, 0.0],
        vec![-inf, inf, 5.0],
        vec![nan, 1.0, -3.0, 2.0],
        vec![1.0, -3.0, nan, 2.0, 0.25],
        vec![1.0, -3.0, 2.0, 0.25, 7.0, nan],
        vec![100.0, nan, 1.0, -2.0],
        vec![-nan, inf, 1.0],
    ];
    let k = 13 * QK - 24;
    let mut r = Rng(41);
    for m in [1usize, 5, 40, 700] {
        let a: Vec<f32> = (0..m * k)
            .map(|i| {
                let (row, col) = (i / k, i % k);
                let (b, e) = (col / QK, col % QK);
                if row % 3 == 0 && b < special.len() {
                    let s = &special[(b + row) % special.len()];
                    s[e % s.len()]
                } else {
                    (r.gauss() * [1.0, 1e-3, 300.0][row % 3]) as f32
                }
            })
            .collect();
        let want = quantize(GgmlBlock::Q8_0, &a, m, k);
        let sums: Vec<i32> = want
            .codes
            .chunks(QK)
            .map(|c| c.iter().map(|&x| x as i32).sum())
            .collect();
        for level in IsaLevel::available() {
            isa::set_cap(level);
            let got = quantize_rows::<Q8_0Act>(&a, m, k);
            assert_eq!(got.nb, want.nb);
            assert_eq!(got.codes, want.codes, "{m}×{k} codes at {level}");
            assert_eq!(got.sums, sums, "{m}×{k} sums at {level}");
            let d: Vec<u32> = (0..want.d.len()).map(|i| want.scale(i).to_bits()).collect();
            let got_d: Vec<u32> = got.d.iter().map(|x| x.to_bits()).collect();
            assert_eq!(got_d, d, "{m}×{k} scales at {level}");
        }
        isa::set_cap(IsaLevel::Avx512);
    }
}

/// Hand-derived Q8_0 codes at `roundf`'s ties (scale 1: amax 127, so the
/// codes are the values rounded half away from zero) and at saturation,
/// at every ISA level.
#[test]
fn q8_0_activation_ties_round_away_from_zero() {
    use bitsim::kernels::block::act::Q8_0Act;
    use bitsim::kernels::block::quantize_rows;
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut a = vec![0f32; 32];
    let x = [
        127.0, 0.5, -0.5, 1.5, -2.5, 126.5, -126.5, 0.49999997, -127.0, 3.0,
    ];
    a[..x.len()].copy_from_slice(&x);
    let want: [i8; 10] = [127, 1, -1, 2, -3, 127, -127, 0, -127, 3];
    for level in IsaLevel::available() {
        isa::set_cap(level);
        let q = quantize_rows::<Q8_0Act>(&a, 1, 32);
        assert_eq!(&q.codes[..10], &want, "at {level}");
        assert_eq!(q.d[0], 1.0, "at {level}");
        assert_eq!(
            q.sums[0],
            want.iter().map(|&c| c as i32).sum::<i32>(),
            "at {level}"
        );
    }
    isa::set_cap(IsaLevel::Avx512);
}
