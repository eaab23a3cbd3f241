//! BitMoD data types, per-group selection and the cycle-counting bit-serial
//! PE, against hand-written values, brute force and direct computation.

use crate::seeded;

use bitsim::arith::bitserial::datatypes::{self, group_scale, BitmodType, TypeTable};
use bitsim::arith::bitserial::pe::{self, output_cycles, weight_digits, PeConfig, WeightCoding};
use bitsim::formats::{parse::FP16, ConvertOptions, Rounding};
use bitsim::variants::bitserial::{BitSerialMatmul, SerialWeights};
use bitsim::variants::operand::{QOperand, Values};
use bitsim::variants::{find, MatmulVariant};
use bitsim::workload::Matrix;
use seeded::Rng;

#[test]
fn value_sets_are_as_published() {
    use BitmodType::*;
    let want4 = |extra: i32| {
        let mut v = vec![-12, -8, -6, -4, -3, -2, -1, 0, 1, 2, 3, 4, 6, 8, 12, extra];
        v.sort();
        v
    };
    assert_eq!(ErPos.values(4), want4(10));
    assert_eq!(ErNeg.values(4), want4(-10));
    assert_eq!(EaPos.values(4), want4(16));
    assert_eq!(EaNeg.values(4), want4(-16));
    assert_eq!(ErPos.values(3), vec![-4, -2, -1, 0, 1, 2, 3, 4]);
    assert_eq!(ErNeg.values(3), vec![-4, -3, -2, -1, 0, 1, 2, 4]);
    assert_eq!(EaPos.values(3), vec![-4, -2, -1, 0, 1, 2, 4, 6]);
    assert_eq!(EaNeg.values(3), vec![-6, -4, -2, -1, 0, 1, 2, 4]);
    for t in BitmodType::ALL {
        assert_eq!(t.values(4).len(), 16, "{t:?}: one value per 4-bit code");
        assert_eq!(t.values(3).len(), 8, "{t:?}: one value per 3-bit code");
    }
    assert_eq!(
        (ErPos.qmax(4), EaNeg.qmax(4), ErNeg.qmax(3), EaPos.qmax(3)),
        (12, 16, 4, 6)
    );
}

#[test]
fn metadata_bits_per_weight() {
    // The fp16 scale (16 bits) and the type selector (2 bits) per group of
    // 128 count, as every other variant's scales do (they used to be left
    // out: the paper's 8 bits of metadata, 4.0625 / 3.0625).
    assert_eq!(datatypes::bits_per_weight(4, 128), 4.0 + 18.0 / 128.0);
    assert_eq!(datatypes::bits_per_weight(3, 128), 3.0 + 18.0 / 128.0);
    assert_eq!(datatypes::paper_bits_per_weight(4, 128), 4.0625);
    assert_eq!(datatypes::paper_bits_per_weight(3, 128), 3.0625);
    assert_eq!(
        find("matmul/bitmod-w4").unwrap().bits_per_weight(4096),
        4.140625
    );
    assert_eq!(
        find("matmul/bitmod-w3").unwrap().bits_per_weight(4096),
        3.140625
    );
    // int4 g128 with an f32 scale per group; int8 per channel amortized over k.
    assert_eq!(
        find("matmul/bitserial-w4a8").unwrap().bits_per_weight(4096),
        4.25
    );
    assert_eq!(
        find("matmul/bitserial-w8a8").unwrap().bits_per_weight(4096),
        8.0 + 32.0 / 4096.0
    );
}

/// The fp16 scale by the project's own minifloat encoder (RNE), an oracle
/// independent of the `half` crate the implementation uses.
fn oracle_scale(absmax: f64, qmax: i32) -> f64 {
    let s = (absmax / qmax as f64).clamp(1e-5, 1e4);
    let o = ConvertOptions::with_rounding(Rounding::Rne);
    FP16.decode(FP16.encode(s, &o, 0).unwrap())
}

/// Brute force: every value of every type tried for every weight (ties to
/// the lower value), the type with the least squared error kept (first on ties).
fn brute(w: &[f32], bits: u32) -> (BitmodType, f64, Vec<i32>, f64) {
    let absmax = w
        .iter()
        .filter(|x| !x.is_nan())
        .fold(0.0f64, |m, &x| m.max((x as f64).abs()));
    let mut best: Option<(BitmodType, f64, Vec<i32>, f64)> = None;
    for t in BitmodType::ALL {
        let vals = t.values(bits);
        let s = oracle_scale(absmax, t.qmax(bits));
        let mut q = Vec::new();
        let mut sse = 0.0;
        for &x in w {
            if x.is_nan() {
                q.push(0);
                continue;
            }
            let x = x as f64;
            let mut bv = vals[0];
            for &v in &vals {
                // strictly closer wins; on a tie the earlier (lower) value stays
                if (v as f64 * s - x).abs() < (bv as f64 * s - x).abs() {
                    bv = v;
                }
            }
            sse += (bv as f64 * s - x).powi(2);
            q.push(bv);
        }
        if best.as_ref().is_none_or(|b| sse < b.3) {
            best = Some((t, s, q, sse));
        }
    }
    best.unwrap()
}

fn check_group(w: &[f32], bits: u32) {
    let tables = datatypes::tables(bits);
    let got = datatypes::select_group(w, &tables);
    let (t, s, q, sse) = brute(w, bits);
    assert_eq!(got.ty, t, "type for {w:?}");
    assert_eq!(got.scale as f64, s, "scale");
    assert_eq!(
        got.values.iter().map(|&v| v as i32).collect::<Vec<_>>(),
        q,
        "values"
    );
    assert_eq!(got.sse.to_bits(), sse.to_bits(), "sse");
}

#[test]
fn selection_matches_brute_force_on_random_groups() {
    let mut r = Rng(0xB17_30D);
    for case in 0..400 {
        let len = [128, 128, 37, 1][case % 4];
        let skew = r.gauss() * 0.5;
        let w: Vec<f32> = (0..len)
            .map(|_| {
                let g = r.gauss();
                // heavy tails and one-sided outliers, so every type gets picked
                let x = if r.below(20) == 0 {
                    g * 6.0 + skew * 8.0
                } else {
                    g
                };
                (x * 0.02) as f32
            })
            .collect();
        check_group(&w, 4);
        check_group(&w, 3);
    }
}

#[test]
fn selection_edge_cases() {
    let s12 = 1.0f32 / 12.0;
    let cases: Vec<Vec<f32>> = vec![
        vec![0.0; 128],
        vec![-0.0, 0.0, -0.0],
        vec![f32::NAN, 1.0, -0.5],
        vec![1e-30, -1e-30, 3e-31], // scale clamps to 1e-5
        vec![1e9, -3.0, 2.0],       // scale clamps to 1e4
        vec![f32::from_bits(1), -f32::from_bits(3)], // subnormals
        vec![1.0, -1.0, 0.5, -0.5, 0.25],
        vec![-16.0, 1.0, 2.0, 3.0, 10.0],
        vec![16.0, -1.0, -2.0, -10.0],
        vec![12.0, 5.0 * s12 * 12.0, -9.0], // ties at midpoints
        vec![65504.0, 0.1],
    ];
    for w in &cases {
        check_group(w, 4);
        check_group(w, 3);
    }
}

#[test]
fn one_sided_outlier_picks_extra_asymmetry_on_its_side() {
    // values on the grid of EA−: the −16 outlier is only representable there
    let w: Vec<f32> = [-16.0f32, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, -12.0, -8.0].to_vec();
    let g = datatypes::select_group(&w, &datatypes::tables(4));
    assert_eq!(g.ty, BitmodType::EaNeg);
    assert_eq!(g.sse, 0.0, "every value lies on the EA− grid with scale 1");
    let w: Vec<f32> = [10.0f32, 12.0, 1.0, -12.0].to_vec();
    let g = datatypes::select_group(&w, &datatypes::tables(4));
    assert_eq!((g.ty, g.sse), (BitmodType::ErPos, 0.0));
}

#[test]
fn ties_go_to_the_lower_value() {
    let t = TypeTable::new(BitmodType::ErPos, 4);
    assert_eq!(t.round(5.0, 1.0), 4); // between 4 and 6
    assert_eq!(t.round(-5.0, 1.0), -6);
    assert_eq!(t.round(9.0, 1.0), 8); // between 8 and 10
    assert_eq!(t.round(11.0, 1.0), 10);
    assert_eq!(t.round(5.000001, 1.0), 6);
    assert_eq!(t.round(100.0, 1.0), 12);
    assert_eq!(t.round(f64::NAN, 1.0), 0);
    assert_eq!(group_scale(0.0, 12), half::f16::from_f64(1e-5).to_f32());
}

#[test]
fn histogram_counts_every_group() {
    let mut r = Rng(7);
    let w = Matrix::new(
        8,
        300,
        (0..2400).map(|_| (r.gauss() * 0.02) as f32).collect(),
    );
    let q = datatypes::quantize(&w, 4, 128);
    assert_eq!(q.scales.len(), 8 * 3);
    assert_eq!(q.histogram().iter().sum::<usize>(), 24);
    // dequantize = value × scale of its group
    let d = q.dequantize();
    for (i, &x) in d.data.iter().enumerate() {
        let (row, col) = (i / 300, i % 300);
        let want = q.values[i] as f64 * q.scales[row * 3 + col / 128] as f64;
        assert_eq!(x, want as f32);
    }
}

#[test]
fn weight_digits_reconstruct_every_weight() {
    for b in 1..=4 {
        for bits in [4u32, 8] {
            let cfg = PeConfig {
                dp: 4,
                bits_per_cycle: b,
                coding: WeightCoding::TwosComplement { bits },
                scale_bits: 24,
            };
            let lo = -(1i32 << (bits - 1));
            for w in lo..-lo {
                let d = weight_digits(w, &cfg).unwrap();
                assert_eq!(d.len() as u32, bits.div_ceil(b));
                assert_eq!(
                    d.iter().map(|&(x, s)| x << s).sum::<i64>(),
                    w as i64,
                    "w={w} b={b}"
                );
            }
            assert!(weight_digits(-lo, &cfg).is_err());
        }
        for fam in [3u32, 4] {
            let cfg = PeConfig {
                bits_per_cycle: b,
                ..PeConfig::bitmod(fam)
            };
            for t in BitmodType::ALL {
                for w in t.values(fam) {
                    let d = weight_digits(w, &cfg).unwrap();
                    assert_eq!(d.iter().map(|&(x, s)| x << s).sum::<i64>(), w as i64);
                }
            }
        }
    }
    // 7 = 0b111 needs three mantissa bits: not a BitMoD value of the 3-bit PE
    assert!(weight_digits(7, &PeConfig::bitmod(3)).is_err());
}

#[test]
fn cycle_counts_match_hand_computed_cases() {
    // INT4, dp 4, 2 bits/cycle, one group of 128 with an f32 scale:
    // 32 loads × 2 cycles + ceil(24/2) = 76.
    assert_eq!(output_cycles(&PeConfig::int(4), 128, 128), 76);
    // BitMoD W4 (3 mantissa bits → 2 cycles), K 256 in 2 groups, fp16 scales:
    // 2 × (32·2 + 6) = 140.
    assert_eq!(output_cycles(&PeConfig::bitmod(4), 256, 128), 140);
    // BitMoD W3 (2 mantissa bits → 1 cycle): 2 × (32 + 6) = 76.
    assert_eq!(output_cycles(&PeConfig::bitmod(3), 256, 128), 76);
    // INT8, dp 8, 1 bit/cycle, no group scale, K 100: ceil(100/8)·8 = 104.
    let c = PeConfig {
        dp: 8,
        bits_per_cycle: 1,
        coding: WeightCoding::TwosComplement { bits: 8 },
        scale_bits: 24,
    };
    assert_eq!(output_cycles(&c, 100, 0), 104);
    // 3 bits/cycle BitMoD W4, K 130 g128: (32·1 + 4) + (1·1 + 4) = 41.
    let c = PeConfig {
        bits_per_cycle: 3,
        ..PeConfig::bitmod(4)
    };
    assert_eq!(output_cycles(&c, 130, 128), 41);
}

/// Direct computation: exact integer group sums (i64), `p · s` exact in f64
/// and rounded once to f32, f32 accumulation, then outer scales in f32.
fn direct(a: &QOperand, w: &QOperand) -> Vec<f64> {
    let (Values::Int(av), Values::Int(wv)) = (&a.values, &w.values) else {
        panic!("integer operands")
    };
    let k = a.k;
    let g = if w.inner.is_some() { w.group } else { k };
    let groups = k.div_ceil(g);
    let mut out = Vec::new();
    for i in 0..a.rows {
        for j in 0..w.rows {
            let mut acc = 0f32;
            for gi in 0..groups {
                let p: i64 = (gi * g..((gi + 1) * g).min(k))
                    .map(|c| av[i * k + c] as i64 * wv[j * k + c] as i64)
                    .sum();
                acc += match &w.inner {
                    Some(s) => (p as f64 * s[j * groups + gi] as f64) as f32,
                    None => p as f32,
                };
            }
            acc *= a.outer.as_ref().unwrap()[i];
            if let Some(s) = &w.outer {
                acc *= s[j];
            }
            out.push(acc as f64);
        }
    }
    out
}

fn gen(r: &mut Rng, rows: usize, k: usize, std: f64) -> Matrix {
    Matrix::new(
        rows,
        k,
        (0..rows * k).map(|_| (r.gauss() * std) as f32).collect(),
    )
}

#[test]
fn pe_equals_direct_computation_and_the_variant_bit_for_bit() {
    let mut r = Rng(0x5E_121A1);
    for (ci, &(m, k, n)) in [(3, 256, 5), (2, 300, 4), (4, 128, 3), (1, 37, 6), (2, 1, 2)]
        .iter()
        .enumerate()
    {
        let a = gen(&mut r, m, k, 1.0 + ci as f64);
        let w = gen(&mut r, n, k, 0.02);
        for weights in [
            SerialWeights::Bitmod(4),
            SerialWeights::Bitmod(3),
            SerialWeights::Int(4),
            SerialWeights::Int(8),
        ] {
            let name = match weights {
                SerialWeights::Bitmod(4) => "matmul/bitmod-w4",
                SerialWeights::Bitmod(_) => "matmul/bitmod-w3",
                SerialWeights::Int(4) => "matmul/bitserial-w4a8",
                SerialWeights::Int(_) => "matmul/bitserial-w8a8",
            };
            let v = find(name).unwrap();
            let bs = BitSerialMatmul::new(weights);
            let (qa, qw) = (bs.quantize_acts_q(&a), bs.quantize_weights_q(&w));
            let cfg = bs.pe();
            let run = pe::matmul(&qa, &qw, &cfg).unwrap();
            let want = direct(&qa, &qw);
            let got = v.emulate(&a, &w, 0);
            for ((x, y), z) in run.out.iter().zip(&want).zip(&got) {
                assert_eq!(x.to_bits(), y.to_bits(), "{name} {m}x{k}x{n}: PE vs direct");
                assert_eq!(
                    z.to_bits(),
                    y.to_bits(),
                    "{name} {m}x{k}x{n}: variant vs direct"
                );
            }
            let group = if matches!(weights, SerialWeights::Int(8)) {
                0
            } else {
                128
            };
            assert_eq!(
                run.cycles(),
                (m * n) as u64 * output_cycles(&cfg, k, group),
                "{name} cycles"
            );
        }
    }
}

#[test]
fn shift_and_add_dequantization_rounds_once() {
    let mut r = Rng(99);
    let cfg = PeConfig::bitmod(4);
    for _ in 0..5000 {
        let p = (r.next() % (1 << 20)) as i64 - (1 << 19);
        let s = half::f16::from_bits((r.next() % 0x7C00) as u16).to_f32();
        let (v, c) = pe::dequantize(p, s, &cfg).unwrap();
        assert_eq!(c, 6);
        assert_eq!(v.to_bits(), ((p as f32) * s).to_bits(), "p={p} s={s}");
    }
    // an f32 scale has 24 significant bits: too many for the fp16 PE
    assert!(pe::dequantize(3, 1.0 + f32::EPSILON, &cfg).is_err());
    assert!(pe::dequantize(3, f32::INFINITY, &cfg).is_err());
}

#[test]
fn variant_quantize_weights_is_the_dequantized_bitmod_grid() {
    let mut r = Rng(3);
    let w = gen(&mut r, 4, 256, 0.02);
    let v = find("matmul/bitmod-w4").unwrap();
    let d = v.quantize_weights(&w);
    let q = datatypes::quantize(&w, 4, 128);
    for (i, x) in d.data.iter().enumerate() {
        let s = q.scales[(i / 256) * 2 + (i % 256) / 128] as f64;
        let t = q.types[(i / 256) * 2 + (i % 256) / 128];
        let val = *x as f64 / s;
        assert!(
            t.values(4).contains(&(val as i32)) && val.fract() == 0.0,
            "{x} not on the {t:?} grid"
        );
    }
}

/// A 7B-class layer slice through the PE (slow: every output cycle by cycle).
#[test]
#[ignore]
fn pe_equals_variant_on_a_large_layer() {
    let mut r = Rng(0xB16);
    let a = gen(&mut r, 8, 4096, 1.0);
    let w = gen(&mut r, 128, 4096, 0.02);
    for weights in [
        SerialWeights::Bitmod(4),
        SerialWeights::Bitmod(3),
        SerialWeights::Int(4),
        SerialWeights::Int(8),
    ] {
        let bs = BitSerialMatmul::new(weights);
        let (qa, qw) = (bs.quantize_acts_q(&a), bs.quantize_weights_q(&w));
        let run = pe::matmul(&qa, &qw, &bs.pe()).unwrap();
        let got = bs.emulate(&a, &w, 0);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&run.out), bits(&got), "{weights:?}");
    }
}
