//! Bit-serial units: BitMoD per-group type selection (weights per second),
//! the bit-serial variants' `emulate` at the default suite's cell
//! (64 × 1024 × 256, MACs per second), and the cycle-counting PE (its slow
//! twin, on a smaller shape).
//!
//! ```text
//! cargo bench --bench bitserial
//! cargo bench --bench bitserial -- --warm-up-time 1 --measurement-time 2
//! ```

use bitsim::arith::bitserial::{datatypes, pe};
use bitsim::variants::bitserial::{BitSerialMatmul, SerialWeights};
use bitsim::variants::{find, Shape};
use bitsim::workload::gen::llm_like;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

const CELL: Shape = Shape {
    m: 64,
    k: 1024,
    n: 256,
};

fn bench(c: &mut Criterion) {
    let (a, w) = llm_like(CELL.m, CELL.k, CELL.n, 1);

    let mut g = c.benchmark_group("bitmod/select");
    g.throughput(Throughput::Elements((CELL.n * CELL.k) as u64));
    for bits in [4u32, 3] {
        g.bench_function(format!("w{bits} {}x{}", CELL.n, CELL.k), |b| {
            b.iter(|| datatypes::quantize(black_box(&w), bits, datatypes::GROUP))
        });
    }
    g.finish();

    let mut g = c.benchmark_group(format!("emulate/{CELL}"));
    g.sample_size(10);
    g.throughput(Throughput::Elements(CELL.macs() as u64));
    for name in [
        "matmul/bitmod-w4",
        "matmul/bitmod-w3",
        "matmul/bitserial-w4a8",
        "matmul/bitserial-w8a8",
    ] {
        let v = find(name).expect("registered");
        g.bench_function(name, |b| {
            b.iter(|| v.emulate(black_box(&a), black_box(&w), 0))
        });
    }
    g.finish();

    // The PE counts cycles output by output: a smaller shape.
    let (a, w) = llm_like(8, 1024, 32, 2);
    let v = BitSerialMatmul::new(SerialWeights::Bitmod(4));
    let (qa, qw) = (v.quantize_acts_q(&a), v.quantize_weights_q(&w));
    let mut g = c.benchmark_group("pe/8x1024x32");
    g.sample_size(10);
    g.throughput(Throughput::Elements(8 * 1024 * 32));
    g.bench_function("bitmod-w4", |b| {
        b.iter(|| pe::matmul(black_box(&qa), black_box(&qw), &v.pe()).expect("in range"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
