//! The fast conversion path against its scalar twin: every SIMD level this CPU
//! has, every listed format, rounding mode, overflow and NaN policy, on random,
//! range-concentrated and edge-case inputs. Expected values always come from
//! `encode_f32_reference` / `decode_f32_reference` (the format core), never from the
//! fast code.

use crate::seeded;
use bitsim::formats::fast::{
    self, decode_f32_reference, decode_f32_with, encode_f32_blocks_reference,
    encode_f32_blocks_with, encode_f32_reference, encode_f32_with, Code, PAR_THRESHOLD,
};
use bitsim::formats::{
    parse, ConvertOptions, ElementFormat, Format, MiniFloat, NanPolicy, Overflow, Rounding,
};
use bitsim::isa::IsaLevel;
use seeded::Rng;

/// Formats of at most 8 bits (u8 codes).
const U8_FORMATS: &[&str] = &[
    "e2m1",
    "e2m3",
    "e3m2",
    "e4m3",
    "e5m2",
    "e4m3fnuz",
    "e5m2fnuz",
    "e4m3b11fnuz",
    "e3m4",
    "e8m0",
    "e4m3:subnormals=off",
    "e2m1:subnormals=off",
    "e5m2:subnormals=none",
    "e3m2:subnormals=none",
    "e4m3:signed=false",
    "e3m2:signed=false",
    "e5m2:signed=false",
    "e4m3:bias=3",
    "e3m4:bias=-2",
    "e4m3:nonfinite=ieee",
    "e7m0",
    "e1m6",
    // Values beyond f32 (decode rounds): exercises the table decoder.
    "e8m0:bias=-3",
    "e8m0:bias=200",
];

/// Formats of 9..=16 bits (u16 codes).
const U16_FORMATS: &[&str] = &[
    "fp16",
    "bf16",
    "e5m10:subnormals=off",
    "e8m7:subnormals=none",
    "e6m9:signed=false",
    "e1m14",
    "e8m7:bias=200",
];

const SCALES: &[i32] = &[0, -127, -3, 5, 130, -160, 160];

fn minifloat(name: &str) -> MiniFloat {
    match parse(name).unwrap_or_else(|e| panic!("{name}: {e}")) {
        Format::Element(ElementFormat::Float(f)) => f,
        other => panic!("{name} is not a minifloat: {other}"),
    }
}

/// `v × 2^k` as f32, through f64 (exact unless it leaves f32's range).
fn scaled(v: f64, k: i32) -> f32 {
    (v * 2f64.powi(k)) as f32
}

/// Inputs for one format and scale: random bit patterns, values concentrated
/// around the format's range (ties, near max, subnormals), and edge cases.
fn inputs(fmt: &MiniFloat, scale: i32, seed: u64) -> Vec<f32> {
    let mut rng = Rng(seed ^ (scale as u64).wrapping_mul(0x1234_5678_9abc_def1));
    let mut v: Vec<f32> = Vec::new();
    // (a) every class of f32, uniformly over bit patterns.
    for _ in 0..1500 {
        v.push(f32::from_bits(rng.u32()));
    }
    // (b) random values whose quotient lies in (or just outside) the format's range.
    let lo = fmt
        .min_subnormal()
        .unwrap_or(fmt.min_normal())
        .log2()
        .floor() as i32
        - 3;
    let hi = fmt.max_value().log2().ceil() as i32 + 2;
    for _ in 0..1500 {
        let e = lo + rng.below((hi - lo + 1) as u64) as i32;
        let mant = f32::from_bits(0x3f80_0000 | (rng.u32() >> 9)) as f64;
        let sign = if rng.next() & 1 == 0 { 1.0 } else { -1.0 };
        v.push(scaled(sign * mant, e + scale));
    }
    // Midpoints between neighbouring codes (exact ties), and the f32s on
    // either side; plus the codes themselves.
    let codes = fmt.code_count();
    let picks: Vec<u64> = if codes <= 512 {
        (0..codes).collect()
    } else {
        (0..400).map(|_| rng.below(codes)).collect()
    };
    for c in picks {
        let a = fmt.decode(c as u32);
        let b = fmt.decode(c as u32 + 1);
        if !a.is_finite() {
            continue;
        }
        v.push(scaled(a, scale));
        if b.is_finite() && (c + 1) < codes && (a >= 0.0) == (b >= 0.0) {
            let t = scaled((a + b) / 2.0, scale);
            v.extend([t, t.next_up(), t.next_down()]);
        }
    }
    // (c) edge cases.
    let max = fmt.max_value();
    let min_n = fmt.min_normal();
    let min_s = fmt.min_subnormal().unwrap_or(min_n);
    let ulp_max = max - fmt.decode(fmt.max_mag_code() - 1).max(0.0);
    for m in [
        max,
        max + ulp_max / 2.0,
        max + ulp_max,
        max * 2.0,
        min_n,
        min_n / 2.0,
        min_s,
        min_s / 2.0,
        min_s * 0.75,
        min_s / 4.0,
        min_s / 2f64.powi(40),
        1.0,
        1.5,
    ] {
        let x = scaled(m, scale);
        v.extend([
            x,
            -x,
            x.next_up(),
            x.next_down(),
            -x.next_up(),
            -x.next_down(),
        ]);
    }
    for b in [
        0x0000_0000u32,
        0x8000_0000,
        0x0000_0001,
        0x8000_0001,
        0x007f_ffff,
        0x0040_0000,
        0x0080_0000,
        0x7f7f_ffff,
        0xff7f_ffff,
        0x7f80_0000,
        0xff80_0000,
        0x7f80_0001,
        0x7fc0_0000,
        0x7fc0_0001,
        0x7fff_ffff,
        0xffbf_ffff,
        0xffc0_1234,
        0xff80_0001,
        0x7fa5_5555,
    ] {
        v.push(f32::from_bits(b));
    }
    v
}

fn overflow_policies(fmt: &MiniFloat) -> Vec<Option<Overflow>> {
    let mut v = vec![None];
    for o in [Overflow::Saturate, Overflow::Inf, Overflow::Nan] {
        if fmt.resolve_overflow(Some(o)).is_ok() {
            v.push(Some(o));
        }
    }
    v
}

fn nan_policies(fmt: &MiniFloat) -> Vec<NanPolicy> {
    if fmt.has_nan() {
        // The policy is never consulted: one is enough.
        vec![NanPolicy::NegZero]
    } else {
        vec![NanPolicy::NegZero, NanPolicy::Max, NanPolicy::Error]
    }
}

/// Compares every level with the twin on `src`; on a mismatch names the
/// first differing element.
fn check_encode<C: Code + PartialEq + std::fmt::Debug>(
    name: &str,
    fmt: &MiniFloat,
    opts: &ConvertOptions,
    src: &[f32],
    scale: i32,
    index0: u64,
) {
    let mut want = vec![C::default(); src.len()];
    let want_r = encode_f32_reference(fmt, opts, src, scale, index0, &mut want);
    for level in IsaLevel::available() {
        let mut got = vec![C::default(); src.len()];
        let got_r = encode_f32_with(level, fmt, opts, src, scale, index0, &mut got);
        let ctx = || {
            format!(
                "{name} level={level} rounding={} overflow={:?} nan={} sr_bits={} scale={scale} index0={index0}",
                opts.rounding, opts.overflow, opts.nan, opts.sr_bits
            )
        };
        assert_eq!(got_r, want_r, "result differs: {}", ctx());
        if want_r.is_err() {
            continue; // codes are unspecified after an error
        }
        if let Some(i) = (0..src.len()).find(|&i| got[i] != want[i]) {
            panic!(
                "{}: element {i} input {:#010x} ({:e}): twin {:?}, fast {:?}",
                ctx(),
                src[i].to_bits(),
                src[i],
                want[i],
                got[i]
            );
        }
    }
}

/// Inputs without NaN (and without −inf for unsigned formats), so that the
/// `error` policy still compares codes.
fn without_errors(fmt: &MiniFloat, v: &[f32]) -> Vec<f32> {
    v.iter()
        .copied()
        .filter(|x| !x.is_nan() && (fmt.signed || *x != f32::NEG_INFINITY))
        .collect()
}

fn sweep<C: Code + PartialEq + std::fmt::Debug>(names: &[&str]) {
    for (k, name) in names.iter().enumerate() {
        let fmt = minifloat(name);
        for &scale in SCALES {
            let all = inputs(&fmt, scale, 0x5eed_0000 + k as u64);
            for rounding in Rounding::ALL {
                for overflow in overflow_policies(&fmt) {
                    for nan in nan_policies(&fmt) {
                        let opts = ConvertOptions {
                            rounding,
                            overflow,
                            nan,
                            seed: 0xdead_beef_0000_0001 ^ k as u64,
                            sr_bits: 32,
                        };
                        let index0 = 0x1234_5677 + 2 * scale.unsigned_abs() as u64;
                        if nan == NanPolicy::Error && !fmt.has_nan() {
                            // With NaNs present both sides must fail ...
                            check_encode::<C>(name, &fmt, &opts, &all, scale, index0);
                            // ... and without them agree on every code.
                            let clean = without_errors(&fmt, &all);
                            check_encode::<C>(name, &fmt, &opts, &clean, scale, index0);
                        } else {
                            check_encode::<C>(name, &fmt, &opts, &all, scale, index0);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn encode_u8_formats_match_twin() {
    sweep::<u8>(U8_FORMATS);
}

#[test]
fn encode_u16_formats_match_twin() {
    sweep::<u16>(U16_FORMATS);
}

#[test]
fn stochastic_rounding_widths_and_seeds_match_twin() {
    for name in ["e4m3", "e2m1", "bf16", "e5m2:subnormals=off", "e8m0"] {
        let fmt = minifloat(name);
        let src = inputs(&fmt, -3, 77);
        for sr_bits in [1, 2, 7, 16, 31, 32] {
            for seed in [0u64, 1, u64::MAX, 0x0123_4567_89ab_cdef] {
                let opts = ConvertOptions {
                    rounding: Rounding::Sr,
                    seed,
                    sr_bits,
                    ..Default::default()
                };
                if fmt.bits() <= 8 {
                    check_encode::<u8>(name, &fmt, &opts, &src, -3, 3);
                } else {
                    check_encode::<u16>(name, &fmt, &opts, &src, -3, 3);
                }
            }
        }
    }
}

#[test]
fn sr_index_crossing_2_pow_32_matches_twin() {
    // The generator's key changes with the high half of the index.
    let fmt = minifloat("e4m3");
    let src = inputs(&fmt, 0, 5);
    let opts = ConvertOptions {
        rounding: Rounding::Sr,
        seed: 42,
        ..Default::default()
    };
    for index0 in [(1u64 << 32) - 1001, (7u64 << 32) - 1, u64::MAX - 100_000] {
        check_encode::<u8>("e4m3", &fmt, &opts, &src, 0, index0);
    }
}

#[test]
fn chunk_boundaries_match_twin() {
    let cases: &[(&str, Rounding, i32)] = &[
        ("e4m3", Rounding::Rne, 0),
        ("e4m3", Rounding::Sr, -3),
        ("e2m1", Rounding::Rtz, 5),
        ("e5m2", Rounding::Rna, 0),
    ];
    let mut rng = Rng(99);
    let big: Vec<f32> = (0..PAR_THRESHOLD + 4099)
        .map(|_| {
            // Mostly moderate values, so rounding (not saturation) dominates.
            let b = rng.u32();
            f32::from_bits(if b & 1 == 0 {
                b
            } else {
                (b & 0x83ff_ffff) | 0x3c00_0000
            })
        })
        .collect();
    for &(name, rounding, scale) in cases {
        let fmt = minifloat(name);
        let opts = ConvertOptions {
            rounding,
            seed: 11,
            ..Default::default()
        };
        for len in [0usize, 1, 15, 16, 17, 31, 33, 1000] {
            for off in [0usize, 1, 3] {
                check_encode::<u8>(name, &fmt, &opts, &big[off..off + len], scale, 12_345);
            }
        }
        check_encode::<u8>(name, &fmt, &opts, &big, scale, 12_345);
        // The public entry point (dispatched, parallel above the threshold).
        let mut want = vec![0u8; big.len()];
        let mut got = vec![0u8; big.len()];
        encode_f32_reference(&fmt, &opts, &big, scale, 7, &mut want).unwrap();
        fast::encode_f32(&fmt, &opts, &big, scale, 7, &mut got).unwrap();
        assert!(
            want == got,
            "{name} {rounding}: encode_f32 differs from the twin"
        );
    }
    // u16 through the parallel path too.
    let fmt = minifloat("bf16");
    let opts = ConvertOptions::with_rounding(Rounding::Sr);
    check_encode::<u16>("bf16", &fmt, &opts, &big, 0, 1);
}

#[test]
fn single_thread_pool_gives_the_same_codes() {
    let fmt = minifloat("e4m3");
    let opts = ConvertOptions {
        rounding: Rounding::Sr,
        seed: 3,
        ..Default::default()
    };
    let mut rng = Rng(1);
    let src: Vec<f32> = (0..PAR_THRESHOLD + 5)
        .map(|_| f32::from_bits((rng.u32() & 0x83ff_ffff) | 0x3c00_0000))
        .collect();
    let mut a = vec![0u8; src.len()];
    let mut b = vec![0u8; src.len()];
    fast::encode_f32(&fmt, &opts, &src, 0, 5, &mut a).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    pool.install(|| fast::encode_f32(&fmt, &opts, &src, 0, 5, &mut b).unwrap());
    assert!(a == b);
}

#[test]
fn nan_under_error_policy_is_an_error() {
    for name in ["e2m1", "e2m3", "e3m2", "e3m2:signed=false"] {
        let fmt = minifloat(name);
        let opts = ConvertOptions {
            nan: NanPolicy::Error,
            ..Default::default()
        };
        for len in [1usize, 17, PAR_THRESHOLD + 1] {
            let mut src = vec![1.0f32; len];
            src[len / 2] = f32::from_bits(0xffc0_0042);
            let mut dst = vec![0u8; len];
            let want = encode_f32_reference(&fmt, &opts, &src, 0, 0, &mut dst);
            assert!(want.is_err(), "{name}: the twin accepts NaN");
            for level in IsaLevel::available() {
                let got = encode_f32_with(level, &fmt, &opts, &src, 0, 0, &mut dst);
                assert_eq!(got, want, "{name} {level} len {len}");
            }
            // Without the NaN both succeed.
            src[len / 2] = 2.0;
            for level in IsaLevel::available() {
                assert!(encode_f32_with(level, &fmt, &opts, &src, 0, 0, &mut dst).is_ok());
            }
        }
    }
    // −inf into an unsigned finite-only format goes through the NaN policy.
    let fmt = minifloat("e3m2:signed=false");
    let opts = ConvertOptions {
        nan: NanPolicy::Error,
        ..Default::default()
    };
    let src = [1.0f32, f32::NEG_INFINITY, 0.5];
    let mut dst = [0u8; 3];
    let want = encode_f32_reference(&fmt, &opts, &src, 0, 0, &mut dst);
    assert!(want.is_err());
    for level in IsaLevel::available() {
        assert_eq!(
            encode_f32_with(level, &fmt, &opts, &src, 0, 0, &mut dst),
            want
        );
    }
}

#[test]
fn impossible_overflow_policy_is_an_error() {
    let fmt = minifloat("e4m3");
    let opts = ConvertOptions {
        overflow: Some(Overflow::Inf),
        ..Default::default()
    };
    let src = [1.0f32; 20];
    let mut dst = [0u8; 20];
    let want = encode_f32_reference(&fmt, &opts, &src, 0, 0, &mut dst);
    assert!(want.is_err());
    for level in IsaLevel::available() {
        assert_eq!(
            encode_f32_with(level, &fmt, &opts, &src, 0, 0, &mut dst),
            want
        );
        // Like the twin, an empty input is not checked.
        assert_eq!(
            encode_f32_with::<u8>(level, &fmt, &opts, &[], 0, 0, &mut []),
            Ok(())
        );
    }
}

#[test]
fn out_of_range_scale_and_sr_bits_follow_the_twin() {
    let fmt = minifloat("e5m2");
    let src = inputs(&fmt, 0, 8);
    check_encode::<u8>("e5m2", &fmt, &ConvertOptions::default(), &src, 700, 0);
    check_encode::<u8>("e5m2", &fmt, &ConvertOptions::default(), &src, -700, 0);
}

/// Compares `encode_f32_blocks_with` at every level against the per-block
/// twin (`encode_f32_blocks_reference`, itself checked against
/// `encode_f32_reference` block by block).
#[allow(clippy::too_many_arguments)]
fn check_encode_blocks<C: Code + PartialEq + std::fmt::Debug>(
    name: &str,
    fmt: &MiniFloat,
    opts: &ConvertOptions,
    src: &[f32],
    block_size: usize,
    scales: &[i32],
    index0: u64,
) {
    let mut want = vec![C::default(); src.len()];
    let want_r = encode_f32_blocks_reference(fmt, opts, src, block_size, scales, index0, &mut want);
    if want_r.is_ok() {
        // The twin really is encode_f32_reference per block.
        for (b, (s, w)) in src
            .chunks(block_size)
            .zip(want.chunks(block_size))
            .enumerate()
        {
            let mut one = vec![C::default(); s.len()];
            let i0 = index0.wrapping_add((b * block_size) as u64);
            encode_f32_reference(fmt, opts, s, scales[b], i0, &mut one).unwrap();
            assert!(one == w, "{name}: block twin differs at block {b}");
        }
    }
    for level in IsaLevel::available() {
        let mut got = vec![C::default(); src.len()];
        let got_r =
            encode_f32_blocks_with(level, fmt, opts, src, block_size, scales, index0, &mut got);
        let ctx = || {
            format!(
                "{name} level={level} rounding={} nan={} block_size={block_size} len={} index0={index0}",
                opts.rounding,
                opts.nan,
                src.len()
            )
        };
        assert_eq!(got_r, want_r, "result differs: {}", ctx());
        if want_r.is_err() {
            continue;
        }
        if let Some(i) = (0..src.len()).find(|&i| got[i] != want[i]) {
            panic!(
                "{}: element {i} (block {}, scale {}) input {:#010x} ({:e}): twin {:?}, fast {:?}",
                ctx(),
                i / block_size,
                scales[i / block_size],
                src[i].to_bits(),
                src[i],
                want[i],
                got[i]
            );
        }
    }
}

/// Random inputs for blocks with per-block scales: each block's values are
/// drawn around its own scale (so they land in the format's range), mixed
/// with random bit patterns, NaNs, infinities and zeros.
fn block_inputs(
    fmt: &MiniFloat,
    rng: &mut Rng,
    scales: &[i32],
    block_size: usize,
    len: usize,
) -> Vec<f32> {
    let hi = fmt.max_value().log2().ceil() as i32 + 2;
    let lo = fmt.min_normal().log2().floor() as i32 - fmt.mbits as i32 - 3;
    (0..len)
        .map(|i| {
            let scale = scales[i / block_size];
            match rng.below(16) {
                0 => f32::from_bits(rng.u32()),
                1 => [f32::NAN, -f32::NAN, f32::INFINITY, f32::NEG_INFINITY][rng.below(4) as usize],
                2 => [0.0, -0.0][rng.below(2) as usize],
                _ => {
                    let e = lo + rng.below((hi - lo + 1) as u64) as i32;
                    let mant = f32::from_bits(0x3f80_0000 | (rng.u32() >> 9)) as f64;
                    let sign = if rng.next() & 1 == 0 { 1.0 } else { -1.0 };
                    scaled(sign * mant, e + scale)
                }
            }
        })
        .collect()
}

#[test]
fn encode_blocks_match_block_twin() {
    let mut rng = Rng(0xb10c);
    let formats: &[&str] = &[
        "e2m1",
        "e4m3",
        "e5m2",
        "e2m3",
        "e8m0",
        "e4m3:subnormals=off",
        "e3m2:signed=false",
        "e5m2:subnormals=none",
    ];
    for (k, name) in formats.iter().enumerate() {
        let fmt = minifloat(name);
        for block_size in [1usize, 7, 16, 32, 33] {
            // A whole number of blocks, and a ragged last block.
            for len in [block_size * 9, block_size * 9 + block_size / 2 + 1] {
                let nb = len.div_ceil(block_size);
                let scales: Vec<i32> = (0..nb).map(|_| rng.below(321) as i32 - 160).collect();
                let src = block_inputs(&fmt, &mut rng, &scales, block_size, len);
                for rounding in Rounding::ALL {
                    for nan in nan_policies(&fmt) {
                        let opts = ConvertOptions {
                            rounding,
                            nan,
                            seed: 0x5eed ^ k as u64,
                            ..Default::default()
                        };
                        let index0 = rng.below(1 << 40);
                        check_encode_blocks::<u8>(
                            name, &fmt, &opts, &src, block_size, &scales, index0,
                        );
                        if nan == NanPolicy::Error && !fmt.has_nan() {
                            let clean = without_errors(&fmt, &src);
                            let nb = clean.len().div_ceil(block_size);
                            check_encode_blocks::<u8>(
                                name,
                                &fmt,
                                &opts,
                                &clean,
                                block_size,
                                &scales[..nb],
                                index0,
                            );
                        }
                    }
                }
            }
        }
    }
    // u16 codes, scales beyond the vector pipeline (the twin per block), and
    // SR indices crossing 2^32 inside a block.
    let fmt = minifloat("bf16");
    let scales = [0, 700, -3, -700, 100, -127, 5];
    let src = block_inputs(&fmt, &mut rng, &scales, 33, 33 * 7 - 4);
    for rounding in Rounding::ALL {
        let opts = ConvertOptions::with_rounding(rounding);
        for index0 in [0, (1u64 << 32) - 40, u64::MAX - 50] {
            check_encode_blocks::<u16>("bf16", &fmt, &opts, &src, 33, &scales, index0);
        }
    }
}

#[test]
fn encode_blocks_parallel_and_streamed_match_block_twin() {
    // Above PAR_THRESHOLD (rayon chunks that cut blocks) and above the
    // streaming-store size.
    let fmt = minifloat("e2m1");
    let mut rng = Rng(0x1a26e);
    for block_size in [32usize, 33] {
        let len: usize = (9 << 20) + 5;
        let nb = len.div_ceil(block_size);
        let scales: Vec<i32> = (0..nb).map(|_| rng.below(321) as i32 - 160).collect();
        let src = block_inputs(&fmt, &mut rng, &scales, block_size, len);
        for rounding in [Rounding::Rne, Rounding::Sr] {
            let opts = ConvertOptions {
                rounding,
                seed: 9,
                ..Default::default()
            };
            check_encode_blocks::<u8>("e2m1", &fmt, &opts, &src, block_size, &scales, 3);
            let mut want = vec![0u8; len];
            let mut got = vec![0u8; len];
            encode_f32_blocks_reference(&fmt, &opts, &src, block_size, &scales, 3, &mut want)
                .unwrap();
            fast::encode_f32_blocks(&fmt, &opts, &src, block_size, &scales, 3, &mut got).unwrap();
            assert!(want == got, "encode_f32_blocks differs from the twin");
        }
    }
    const { assert!(PAR_THRESHOLD < 9 << 20) };
}

#[test]
fn block_amax_matches_fold() {
    let mut rng = Rng(0xa3a);
    // 8 and 24 reach the 8-lane code on AVX-512 CPUs too.
    for block_size in [1usize, 7, 8, 16, 24, 32, 33] {
        for len in [0usize, 1, 100, 1000, PAR_THRESHOLD + 77] {
            let src: Vec<f32> = (0..len).map(|_| f32::from_bits(rng.u32())).collect();
            let mut got = vec![0u32; len.div_ceil(block_size)];
            fast::block_amax_bits(&src, block_size, &mut got);
            let want: Vec<u32> = src
                .chunks(block_size)
                .map(|b| b.iter().map(|x| x.to_bits() & 0x7fff_ffff).max().unwrap())
                .collect();
            assert!(got == want, "block {block_size} len {len}");
        }
    }
}

fn check_decode<C: Code>(name: &str, fmt: &MiniFloat, codes: &[C]) {
    let mut want = vec![0f32; codes.len()];
    decode_f32_reference(fmt, codes, &mut want);
    for level in IsaLevel::available() {
        let mut got = vec![0f32; codes.len()];
        decode_f32_with(level, fmt, codes, &mut got);
        if let Some(i) = (0..codes.len()).find(|&i| got[i].to_bits() != want[i].to_bits()) {
            panic!(
                "{name} {level}: code {:#x}: twin {:#010x}, fast {:#010x}",
                codes[i].to_u32(),
                want[i].to_bits(),
                got[i].to_bits()
            );
        }
    }
}

#[test]
fn decode_every_code_matches_twin() {
    // Every container value (codes above the format's width are masked).
    let all8: Vec<u8> = (0..=255).collect();
    for name in U8_FORMATS {
        check_decode(name, &minifloat(name), &all8);
    }
    let all16: Vec<u16> = (0..=u16::MAX).collect();
    for name in U16_FORMATS {
        check_decode(name, &minifloat(name), &all16);
    }
    // Odd lengths and the parallel path.
    let fmt = minifloat("e4m3");
    let big: Vec<u8> = (0..PAR_THRESHOLD + 77)
        .map(|i| (i * 37 % 256) as u8)
        .collect();
    for len in [0usize, 1, 15, 16, 17, 1000] {
        check_decode("e4m3", &fmt, &big[3..3 + len]);
    }
    check_decode("e4m3", &fmt, &big);
    let mut want = vec![0f32; big.len()];
    let mut got = vec![0f32; big.len()];
    decode_f32_reference(&fmt, &big, &mut want);
    fast::decode_f32(&fmt, &big, &mut got);
    assert!(want
        .iter()
        .zip(&got)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
}

#[test]
fn levels_are_ordered_and_detected() {
    let avail = IsaLevel::available();
    assert_eq!(avail[0], IsaLevel::Scalar);
    assert_eq!(*avail.last().unwrap(), bitsim::isa::detected());
    eprintln!("SIMD levels on this CPU: {avail:?}");
}
