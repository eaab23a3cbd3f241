//! SageAttention's quantizers on hand cases, e4m3 rounding against the
//! format module, and K smoothing's softmax invariance.

use crate::{rel_err, shape};
use bitsim::attention::sage::{e4m3_rne, quantize_blocks, smooth_k, PvPath, QkQuant, Sage};
use bitsim::attention::{self, AttentionVariant, Qkv};
use bitsim::formats::parse::E4M3;
use bitsim::formats::ConvertOptions;
use bitsim::workload::attention::realistic;

#[test]
fn triton_rounds_half_away_and_cuda_half_even() {
    // One block of one row, d = 4: amax 127, so scale = 1 and codes = values.
    let x = [127.0f32, 62.5, -62.5, 0.5];
    let (t, st) = quantize_blocks(&x, 4, 128, 1.0, QkQuant::Int8Triton);
    let (c, sc) = quantize_blocks(&x, 4, 128, 1.0, QkQuant::Int8Cuda);
    assert_eq!((st, sc), (vec![1.0], vec![1.0]));
    assert_eq!(t, vec![127, 63, -63, 1]);
    assert_eq!(c, vec![127, 62, -62, 0]);
    // INT4: amax 7 → scale 1; 2.5 → 2 (even), −3.5 → −4.
    let (q, s) = quantize_blocks(&[7.0, 2.5, -3.5, 0.0], 4, 128, 1.0, QkQuant::Int4);
    assert_eq!((q, s), (vec![7, 2, -4, 0], vec![1.0]));
}

#[test]
fn blocks_of_tokens_share_one_scale() {
    // 65 tokens of d = 2 in blocks of 64: two scales; the second from token 64 alone.
    let mut x = vec![1.0f32; 130];
    x[0] = 127.0;
    x[128] = 2.54;
    x[129] = -1.27;
    let (q, s) = quantize_blocks(&x, 2, 64, 1.0, QkQuant::Int8Triton);
    assert_eq!(s.len(), 2);
    assert_eq!(s[0], 1.0);
    assert_eq!(s[1], 2.54f32 / 127.0);
    assert_eq!((q[128], q[129]), (127, -64)); // −1.27/0.02 = −63.5 → −64 (away)
                                              // The pre-multiplier applies before the scale: ×2 doubles the scale.
    let (_, s2) = quantize_blocks(&x, 2, 64, 2.0, QkQuant::Int8Triton);
    assert_eq!(s2[0], 2.0);
    // A zero block: scale 0, codes 0 (Triton would divide 0 by 0).
    let (z, zs) = quantize_blocks(&[0.0; 4], 4, 64, 1.0, QkQuant::Int8Triton);
    assert_eq!((z, zs), (vec![0; 4], vec![0.0]));
    // CUDA path floors amax at 1e−7.
    let (_, cs) = quantize_blocks(&[0.0; 4], 4, 64, 1.0, QkQuant::Int8Cuda);
    assert_eq!(cs, vec![1e-7f32 / 127.0]);
}

#[test]
fn e4m3_rounding_matches_the_format_module() {
    // Every f32 in a dense sweep of [−600, 600] (both signs, all binades
    // down to subnormals): the format module's RNE encode-then-decode,
    // saturated to ±448, is the oracle.
    let opts = ConvertOptions::default();
    let mut checked = 0;
    for bits in (0u32..0x4416_0000).step_by(97) {
        for x in [f32::from_bits(bits), -f32::from_bits(bits)] {
            let want = if x.abs() > 448.0 {
                448f32.copysign(x)
            } else {
                E4M3.decode_f32(E4M3.encode_f32(x, &opts, 0).unwrap())
            };
            let got = e4m3_rne(x);
            assert!(
                got == want || (got == 0.0 && want == 0.0),
                "{x:e}: {got} vs {want}"
            );
            checked += 1;
        }
    }
    assert!(checked > 20_000_000);
}

#[test]
fn k_smoothing_is_softmax_invariant_in_f64() {
    // Keys on a grid of 2^−12 below 64 and a per-channel shift on a grid of
    // 2^−4: k − μ is exact in f32, so the shifted keys are exactly K − μ.
    // Every score row moves by the constant q·μ/√d, and the f64 reference's
    // output stays the same to f64 rounding.
    let x = realistic(shape(2, 96, 64, true), 4);
    let grid = |v: f32, g: f32| ((v / g).round() * g).clamp(-63.0, 63.0);
    let k: Vec<f32> = x.k.iter().map(|&v| grid(v, 1.0 / 4096.0)).collect();
    let mu: Vec<f32> = (0..64).map(|c| ((c as f32) - 32.0) / 16.0).collect();
    let shifted: Vec<f32> = k
        .chunks(64)
        .flat_map(|r| r.iter().zip(&mu).map(|(a, b)| a - b).collect::<Vec<_>>())
        .collect();
    for (a, (b, m)) in k.iter().zip(shifted.iter().zip(mu.iter().cycle())) {
        assert_eq!((*b as f64) + (*m as f64), *a as f64, "the shift is exact");
    }
    let y0 = Qkv::new(x.shape, x.q.clone(), k, x.v.clone()).unwrap();
    let y1 = Qkv::new(x.shape, x.q.clone(), shifted, x.v.clone()).unwrap();
    let r = attention::find("attention/f64").unwrap();
    let (a, b) = (r.emulate(&y0), r.emulate(&y1));
    assert!(rel_err(&a, &b) < 1e-13, "{}", rel_err(&a, &b));
    // SageAttention's own smoothing subtracts the fp16 mean: its result
    // is such a shift up to the fp16 rounding of k − mean.
    let sm = smooth_k(y0.k_head(0), 64);
    assert_eq!(sm.len(), 96 * 64);
}

/// K smoothing element by element against the definition, `fp16(k −
/// fp16(mean))`, with the mean summed in f64 and every rounding by
/// `half`'s scalar conversions: random keys at several magnitudes (fp16
/// subnormal differences, ties of the fp16 grid, values near 65504),
/// lengths that end inside a conversion chunk, NaN and inf channels.
#[test]
fn smoothing_rounds_each_difference_once_to_fp16() {
    use half::f16;
    let d = 24;
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for n in [1usize, 3, 700, 1400] {
        let mut k: Vec<f32> = (0..n * d)
            .map(|i| {
                let r = next();
                let unit = (r >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                match i % d {
                    // Differences below fp16's smallest normal.
                    0 => unit * 1e-4,
                    // Exactly on fp16 ties around 1: 1 + (2j + 1)·2^−11.
                    1 => 1.0 + ((r % 64) as f32 * 2.0 + 1.0) / 2048.0,
                    // Near the top of fp16's range (may round to inf).
                    2 => 65504.0 + unit * 64.0,
                    _ => unit * 2f32.powi((r % 20) as i32 - 6),
                }
            })
            .collect();
        if n == 700 {
            k[5 * d + 7] = f32::NAN;
            k[9 * d + 8] = f32::INFINITY;
        }
        let got = smooth_k(&k, d);
        let mean: Vec<f32> = (0..d)
            .map(|c| {
                let m = (0..n).map(|j| k[j * d + c] as f64).sum::<f64>() / n as f64;
                f16::from_f64(m).to_f32()
            })
            .collect();
        for (i, (&g, &x)) in got.iter().zip(&k).enumerate() {
            let want = f16::from_f32(x - mean[i % d]).to_f32();
            assert!(
                g.to_bits() == want.to_bits() || (g.is_nan() && want.is_nan()),
                "n={n} element {i}: {g} against {want}"
            );
        }
    }
}

#[test]
fn smoothing_buys_accuracy_on_keys_with_a_channel_mean() {
    // The realistic keys carry a per-channel mean: INT8 QK without smoothing
    // spends its range on it. SageAttention's claim: smoothing recovers it.
    let x = realistic(shape(2, 256, 64, false), 1);
    let r = attention::find("attention/f64").unwrap().emulate(&x);
    let run = |smooth_k| {
        let v = Sage {
            name: "t",
            description: "",
            qk: QkQuant::Int8Triton,
            pv: PvPath::Fp16,
            smooth_k,
        };
        rel_err(&r, &v.emulate(&x))
    };
    let (with, without) = (run(true), run(false));
    eprintln!("INT8 QK relative error: smoothed {with:.3e}, not smoothed {without:.3e}");
    assert!(with < without, "smoothed {with} vs not {without}");
}

/// f64 → fp16 in one rounding, on hand-derived cases (fp16: 10 fraction
/// bits, smallest subnormal 2⁻²⁴, largest finite 65504).
#[test]
fn fp16_rounds_once_to_nearest_even() {
    use bitsim::arith::fp16::fp16_rne;
    let p = |e: i32| 2f64.powi(e);
    let cases: [(f64, f32); 14] = [
        (1.0 + p(-11), 1.0),                             // tie → even
        (1.0 + 3.0 * p(-11), 1.0 + 2.0 * p(-10) as f32), // tie → even (up)
        // Just above a tie: a double rounding through f32 would give 1.
        (1.0 + p(-11) + p(-40), 1.0 + p(-10) as f32),
        (1.0 - p(-12), 1.0),              // tie below 1 (step 2⁻¹¹) → even = 1
        (p(-25), 0.0),                    // half the smallest subnormal → 0
        (3.0 * p(-25), p(-23) as f32),    // 1.5 steps → 2 steps
        (p(-25) + p(-60), p(-24) as f32), // just above the tie
        (65504.0, 65504.0),
        (65519.999, 65504.0),
        (65520.0, f32::INFINITY), // tie at the top → overflow
        (-65520.0, f32::NEG_INFINITY),
        (-1.0 - p(-11) - p(-40), -1.0 - p(-10) as f32),
        (1e300, f32::INFINITY),
        (0.1, 0.099975586), // 0x2E66
    ];
    for (x, want) in cases {
        assert_eq!(fp16_rne(x).to_bits(), want.to_bits(), "{x:e}");
    }
    assert_eq!(fp16_rne(-0.0).to_bits(), (-0.0f32).to_bits());
    assert!(fp16_rne(f64::NAN).is_nan());
}

/// The vectorised block quantizer equals its plain reference twin, codes
/// and scale bits, at every ISA level: seeded values with ±0, subnormals,
/// exact ties after scaling, values that overflow to ±inf under the
/// pre-multiplier, NaN, all-zero blocks and ragged tails (lengths that are
/// not whole blocks nor whole vectors).
#[test]
fn block_quantizer_equals_its_reference_at_every_level() {
    use bitsim::attention::sage::quantize_blocks_reference;
    use bitsim::isa::{self, IsaLevel};
    let mut rng = crate::seeded::Rng(0x5eed);
    let mut rnd = || rng.u32();
    let special = [
        0.0f32,
        -0.0,
        f32::from_bits(1),
        -f32::from_bits(0x007f_ffff),
        62.5,
        -62.5,
        0.5,
        -1.5,
        3.0e38,
        -3.0e38,
        f32::NAN,
    ];
    let mut cases: Vec<(Vec<f32>, usize, usize)> = Vec::new();
    for (n, d, block) in [
        (130, 2, 64),
        (37, 3, 4),
        (1000, 32, 16),
        (5, 1, 2),
        (64, 8, 8),
    ] {
        let x: Vec<f32> = (0..n)
            .map(|i| match rnd() % 8 {
                0 => special[rnd() as usize % special.len()],
                1 => (rnd() % 255) as f32 - 127.0,
                _ => (rnd() as f32 / u32::MAX as f32 - 0.5) * [1e-3, 3.0, 4e4][i % 3],
            })
            .collect();
        cases.push((x, d, block));
    }
    // A block of zeros between nonzero ones, and a block with a NaN only.
    let mut z = vec![1.25f32; 48];
    z[16..32].fill(0.0);
    cases.push((z, 4, 4));
    cases.push((vec![f32::NAN, 0.0, 0.0, 0.0], 4, 1));
    for level in IsaLevel::available() {
        isa::set_cap(level);
        for (x, d, block) in &cases {
            for pre in [1.0f32, 0.1803, 7.0, 2.0e3] {
                for how in [QkQuant::Int8Triton, QkQuant::Int8Cuda, QkQuant::Int4] {
                    let (c, s) = quantize_blocks(x, *d, *block, pre, how);
                    let (rc, rs) = quantize_blocks_reference(x, *d, *block, pre, how);
                    let at = format!(
                        "{level} {how:?} n={} d={d} block={block} pre={pre}",
                        x.len()
                    );
                    assert_eq!(c, rc, "codes, {at}");
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&s), bits(&rs), "scales, {at}");
                }
            }
        }
    }
    isa::set_cap(IsaLevel::Avx512);
}
