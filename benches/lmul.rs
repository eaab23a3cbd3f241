//! L-Mul throughput: the `matmul/lmul-*` variants' emulation on the default
//! suite's 64 × 1024 × 256 cell (MACs per second, criterion's "elem/s"),
//! and single L-Mul units on code pairs (products per second).
//!
//! ```text
//! RAYON_NUM_THREADS=2 cargo bench --bench lmul
//! ```

use bitsim::arith::lmul::{LmulUnit, Semantics};
use bitsim::formats::parse::{BF16, E4M3};
use bitsim::formats::ConvertOptions;
use bitsim::variants::Shape;
mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;
use std::time::Duration;

const SHAPE: Shape = Shape {
    m: 64,
    k: 1024,
    n: 256,
};

fn bench(c: &mut Criterion) {
    common::emulate_group(
        c,
        SHAPE,
        &[
            "matmul/lmul-carry-bf16",
            "matmul/lmul-literal-bf16",
            "matmul/lmul-carry-e4m3",
            "matmul/lmul-literal-e4m3",
        ],
        Duration::from_secs(3),
    );

    // One unit, code by code (the scalar API the CLI uses).
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let codes: Vec<(u32, u32)> = (0..1 << 16)
        .map(|_| (rng.random::<u32>() & 0xffff, rng.random::<u32>() & 0xffff))
        .collect();
    let mut g = c.benchmark_group("unit/mul");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(codes.len() as u64));
    for (fname, f) in [("bf16", BF16), ("e4m3", E4M3)] {
        let mask = (f.code_count() - 1) as u32;
        for sem in Semantics::ALL {
            let unit = LmulUnit::new(f, sem, &ConvertOptions::default()).unwrap();
            g.bench_function(format!("{sem}-{fname}"), |b| {
                b.iter(|| {
                    codes.iter().fold(0u32, |h, &(x, y)| {
                        h ^ unit.mul(black_box(x & mask), y & mask, 0)
                    })
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
