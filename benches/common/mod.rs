//! Pieces the benches share: seeded operands and the variants' emulation group.

use bitsim::variants::{self, Shape};
use bitsim::workload::gen::{self, Distribution};
use bitsim::workload::Matrix;
use criterion::{Criterion, Throughput};
use std::time::Duration;

/// N(0, 1) operands from the workload layer's seeded generator.
pub fn gaussian(rows: usize, cols: usize, seed: u64) -> Matrix {
    gen::generate(&Distribution::Gaussian { std: 1.0 }, rows, cols, seed)
}

/// The group `emulate/SHAPE`: a full `emulate` (quantizing A and W, the
/// kernel, the output) of each named variant on Gaussian operands, in MACs
/// per second (criterion's "elem/s").
pub fn emulate_group(c: &mut Criterion, shape: Shape, names: &[&str], measure: Duration) {
    let a = gaussian(shape.m, shape.k, 1);
    let w = gaussian(shape.n, shape.k, 2);
    let mut g = c.benchmark_group(format!("emulate/{shape}"));
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(measure)
        .throughput(Throughput::Elements(shape.macs() as u64));
    for &name in names {
        let v = variants::find(name).expect("registered");
        g.bench_function(name.trim_start_matches("matmul/"), |b| {
            b.iter(|| v.emulate(&a, &w, 0))
        });
    }
    g.finish();
}
