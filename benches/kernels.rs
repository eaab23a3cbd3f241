//! Native kernels for development: the product of every native kernel at a
//! small GEMV and a small GEMM shape, weights packed once outside the timing
//! (activation quantization inside, as in `bitsim kernels bench`).
//!
//! ```text
//! cargo bench --bench kernels
//! cargo bench --bench kernels -- w8a8     # one kernel
//! BITSIM_ISA=scalar cargo bench --bench kernels
//! ```
//! Figures against a same-run ceiling come from `bitsim kernels bench`.

use bitsim::suite::kernel_bench::operands;
use bitsim::variants::{self, Shape};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let shapes = [
        Shape {
            m: 1,
            k: 2048,
            n: 1024,
        },
        Shape {
            m: 32,
            k: 512,
            n: 512,
        },
    ];
    for v in variants::registry() {
        let Some(mut kernel) = v.native() else {
            continue;
        };
        for s in shapes {
            let (a, w) = operands(s, 0);
            kernel.pack_weights(&w);
            let mut g = c.benchmark_group(format!("kernels/{}", v.name()));
            g.throughput(Throughput::Elements((s.m * s.k * s.n) as u64));
            g.bench_function(s.to_string(), |b| {
                b.iter(|| black_box(kernel.matmul(black_box(&a))))
            });
            g.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
