//! Dot-product throughput of the accumulator models, single thread, in
//! MACs per second (criterion's "elem/s": one element = one
//! multiply-accumulate), K = 4096.
//!
//! ```text
//! cargo bench --bench arith_dot
//! cargo bench --bench arith_dot -- --warm-up-time 1 --measurement-time 2   # quick
//! ```
//!
//! - `fp8-e4m3-f32/fast`: [`Fp8Dot`] (decode table, f32 multiply, f32 add in order);
//! - `fp8-e4m3-f32/model`: its slow twin, the general [`Accumulator`]
//!   (`acc=f32`) on the decoded exact products;
//! - `e8m13-rtz/fast` and `/model`: the truncating e8m13 register through
//!   [`FastSum`] and through the general model.

use bitsim::arith::accum::fast::FastSum;
use bitsim::arith::accum::{AccumSpec, Accumulate, Accumulator, Fp8Dot};
use bitsim::formats::parse::E4M3;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

const K: usize = 4096;

/// Seeded finite E4M3 codes (splitmix64; NaN codes 0x7F/0xFF replaced).
fn codes(seed: u64) -> Vec<u8> {
    let mut s = seed;
    (0..K)
        .map(|_| {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            let c = (z >> 56) as u8;
            if c & 0x7f == 0x7f {
                c & 0xf0
            } else {
                c
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let (a, b) = (codes(1), codes(2));
    let fast = Fp8Dot::new(&E4M3, &E4M3).expect("E4M3 products are exact in f32");
    let products: Vec<f64> = a
        .iter()
        .zip(&b)
        .map(|(&x, &y)| E4M3.decode(x as u32) * E4M3.decode(y as u32))
        .collect();
    let spec = |s: &str| -> AccumSpec { s.parse().expect("valid spec") };

    let mut g = c.benchmark_group("dot/fp8-e4m3-f32");
    g.throughput(Throughput::Elements(K as u64));
    g.bench_function("fast", |bn| {
        bn.iter(|| fast.dot(black_box(&a), black_box(&b)))
    });
    let model = Accumulator::new(spec("acc=f32"));
    g.bench_function("model", |bn| {
        bn.iter(|| {
            let ps: Vec<f64> = black_box(&a)
                .iter()
                .zip(black_box(&b))
                .map(|(&x, &y)| E4M3.decode(x as u32) * E4M3.decode(y as u32))
                .collect();
            model.sum(&ps)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("dot/e8m13-rtz");
    g.throughput(Throughput::Elements(K as u64));
    let s = spec("acc=e8m13:rtz");
    let f = FastSum::new(&s).expect("e8m13 rtz has a fast path");
    g.bench_function("fast", |bn| bn.iter(|| f.sum(black_box(&products))));
    let m = Accumulator::new(s);
    g.bench_function("model", |bn| bn.iter(|| m.sum(black_box(&products))));
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
