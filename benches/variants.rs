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
use bitsim::workload::gen::{self, Distribution};
use bitsim::workload::Matrix;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::time::Duration;

const SHAPE: Shape = Shape {
    m: 256,
    k: 4096,
    n: 1024,
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
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(SHAPE.macs() as u64));
    for name in [
        "matmul/w8a8-int",
        "matmul/w4a8-int",
        "matmul/fp8-e4m3",
        "matmul/mxfp4",
    ] {
        let v = variants::find(name).expect("registered");
        g.bench_function(name.trim_start_matches("matmul/"), |b| {
            b.iter(|| v.emulate(&a, &w, 0))
        });
    }
    g.finish();

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
