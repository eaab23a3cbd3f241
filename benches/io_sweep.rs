//! FlashAttention address trace (N = 4096, d = 128, f32) through one fully
//! associative LRU cache of each of 8 sizes: generator plus simulator
//! throughput, the workload of `bitsim io --generator attention/flash`.

use bitsim::hw::io_sweep::{simulate, CacheSpec};
use bitsim::hw::tiles::ElementSize;
use bitsim::hw::trace::CountingSink;
use bitsim::hw::tracegen::{generate, Generator, TraceParams};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

const SIZES_KIB: [u64; 8] = [16, 32, 64, 128, 256, 512, 1024, 2048];

fn params() -> TraceParams {
    TraceParams {
        generator: Generator::AttentionFlash,
        m: 0,
        n: 4096,
        k: 0,
        d: 128,
        format: ElementSize::f32(),
        fast_bytes: None,
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("io_sweep");
    g.sample_size(10);
    // The generator alone, into a counter: what the trace costs to produce.
    g.bench_function("flash_4096x128_generate_8_sizes", |b| {
        b.iter(|| {
            let mut total = 0;
            for kib in SIZES_KIB {
                let mut s = CountingSink::default();
                let p = TraceParams {
                    fast_bytes: Some(kib << 10),
                    ..params()
                };
                generate(&p, &mut s).unwrap();
                total += s.reads + s.writes;
            }
            black_box(total)
        })
    });
    // Generator plus simulated cache, the sweep `bitsim io` runs.
    g.bench_function("flash_4096x128_simulate_8_sizes", |b| {
        b.iter(|| {
            let mut total = 0;
            for kib in SIZES_KIB {
                total += simulate(&params(), &CacheSpec::fully_associative(kib << 10)).unwrap();
            }
            black_box(total)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
