//! Emulation throughput of matmul variants, in MACs per second (criterion
//! reports it as "elem/s": one element = one multiply-accumulate).
//!
//! Shape 256 × 4096 × 1024 (M × K × N, 1.07 G MACs). Each iteration is a full
//! `emulate`: quantizing A and W, the kernel, and writing the output.
//!
//! ```text
//! RAYON_NUM_THREADS=1 cargo bench --bench variants
//! RAYON_NUM_THREADS=2 cargo bench --bench variants
//! ```
//! Optional filter: `cargo bench --bench variants -- w8a8`. The `kernel/`
//! group times the kernel alone on operands quantized beforehand.

use bitsim::variants::{self, kernel, Datapath, Shape};
mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::time::Duration;

const SHAPE: Shape = Shape {
    m: 256,
    k: 4096,
    n: 1024,
};

fn bench(c: &mut Criterion) {
    common::emulate_group(
        c,
        SHAPE,
        &[
            "matmul/w8a8-int",
            "matmul/w4a8-int",
            "matmul/fp8-e4m3",
            "matmul/mxfp4",
        ],
        Duration::from_secs(5),
    );

    let a = common::gaussian(SHAPE.m, SHAPE.k, 1);
    let w = common::gaussian(SHAPE.n, SHAPE.k, 2);
    // The kernel alone on pre-quantized operands: what the emulation costs
    // beyond the format layer's quantizers.
    let mut g = c.benchmark_group(format!("kernel/{SHAPE}"));
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(SHAPE.macs() as u64));
    for v in variants::registry::all() {
        if !["matmul/w8a8-int", "matmul/fp8-e4m3", "matmul/mxfp4"].contains(&v.name) {
            continue;
        }
        let int = v.datapath == Datapath::Int32;
        let (qa, qw) = (v.act.quantize(&a, int), v.weight.quantize(&w, int));
        g.bench_function(v.name.trim_start_matches("matmul/"), |b| {
            b.iter(|| kernel::matmul(&qa, &qw))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
