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
use bitsim::variants::{self, Shape};
use bitsim::workload::gen::{self, Distribution};
use bitsim::workload::Matrix;
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

/// N(0, 1) operands from the workload layer's seeded generator.
fn gaussian(rows: usize, cols: usize, seed: u64) -> Matrix {
    gen::generate(&Distribution::Gaussian { std: 1.0 }, rows, cols, seed)
}

fn bench(c: &mut Criterion) {
    let a = gaussian(SHAPE.m, SHAPE.k, 1);
    let w = gaussian(SHAPE.n, SHAPE.k, 2);
    let mut g = c.benchmark_group(format!("emulate/{SHAPE}"));
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(SHAPE.macs() as u64));
    for name in [
        "matmul/lmul-carry-bf16",
        "matmul/lmul-literal-bf16",
        "matmul/lmul-carry-e4m3",
        "matmul/lmul-literal-e4m3",
    ] {
        let v = variants::find(name).expect("registered");
        g.bench_function(name.trim_start_matches("matmul/"), |b| {
            b.iter(|| v.emulate(&a, &w, 0))
        });
    }
    g.finish();

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
