//! Throughput of the generic minifloat arithmetic (`arith::float`), single
//! thread, through the slice API on 64 Ki seeded random codes per operand
//! (L2-resident, so the numbers are the ALU path, not memory): fp16, bf16,
//! e4m3 and e5m2 add and mul under rne (the loops specialised per format and
//! rounding mode) next to the same slices through the per-element loop
//! (`*_generic`, the baseline measured in the same run), e3m2 add (a format
//! with no specialised loop), fp16 add under stochastic rounding, and f32
//! fma. Run with
//!
//! ```text
//! cargo bench --bench arith_float
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};

use bitsim::arith::float::FloatUnit;
use bitsim::formats::parse::{BF16, E3M2, E4M3, E5M2, F32, FP16};
use bitsim::formats::{ConvertOptions, MiniFloat, Rounding};

const N: usize = 1 << 16;

/// Seeded codes of finite values within a few binades of 1 (so sums cancel,
/// carry and round), with every 64th code a random bit pattern (specials too).
fn codes(f: &MiniFloat, seed: u64) -> Vec<u32> {
    let mut s = seed;
    let mut next = move || {
        s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mask = ((1u64 << f.bits()) - 1) as u32;
    (0..N)
        .map(|i| {
            let r = next();
            if i % 64 == 0 {
                return r as u32 & mask;
            }
            let e = (f.bias as u64 + (r >> 40) % 7).saturating_sub(3) as u32;
            let m = r as u32 & ((1 << f.mbits) - 1);
            let sign = ((r >> 32) as u32 & 1) << (f.bits() - 1);
            sign | (e << f.mbits) | m
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("arith_float");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Elements(N as u64));
    let rne = ConvertOptions::default();
    let sr = ConvertOptions::with_rounding(Rounding::Sr);
    for (name, f, o) in [
        ("fp16", FP16, rne),
        ("bf16", BF16, rne),
        ("e4m3", E4M3, rne),
        ("e5m2", E5M2, rne),
        ("e3m2", E3M2, rne),
        ("fp16_sr", FP16, sr),
    ] {
        let u = FloatUnit::new(&f, &o).unwrap();
        let (a, b) = (codes(&f, 1), codes(&f, 2));
        let mut out = vec![0u32; N];
        g.bench_function(format!("{name}_add"), |bch| {
            bch.iter(|| u.add_slice(black_box(&a), black_box(&b), &mut out, 0))
        });
        g.bench_function(format!("{name}_add_generic"), |bch| {
            bch.iter(|| u.add_slice_generic(black_box(&a), black_box(&b), &mut out, 0))
        });
        if !matches!(name, "fp16_sr" | "e3m2") {
            g.bench_function(format!("{name}_mul"), |bch| {
                bch.iter(|| u.mul_slice(black_box(&a), black_box(&b), &mut out, 0))
            });
            g.bench_function(format!("{name}_mul_generic"), |bch| {
                bch.iter(|| u.mul_slice_generic(black_box(&a), black_box(&b), &mut out, 0))
            });
        }
    }
    let u = FloatUnit::new(&F32, &rne).unwrap();
    let (a, b, c3) = (codes(&F32, 1), codes(&F32, 2), codes(&F32, 3));
    let mut out = vec![0u32; N];
    g.bench_function("f32_fma", |bch| {
        bch.iter(|| u.fma_slice(black_box(&a), black_box(&b), black_box(&c3), &mut out, 0))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
