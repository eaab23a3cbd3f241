//! Cost of the roofline study and of the models behind it: placing every
//! registered variant on the built-in machine for the study's default
//! shapes, the whole study (registry, machine file, placements), and SRAM
//! energy by array size.
//!
//! ```text
//! cargo bench --bench roofline
//! ```
//! The study must stay far below a second (it runs on every `bitsim report`).

use bitsim::hw::energy::EnergyTable;
use bitsim::hw::roofline::{Machine, Scope};
use bitsim::suite::studies::roofline::{run, RooflineParams};
use bitsim::suite::studies::StudyContext;
use bitsim::variants::{self, Shape};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::path::Path;

fn bench(c: &mut Criterion) {
    let machine = Machine::load("machine-zen5").unwrap();
    let registry = variants::registry();
    let shapes = [
        Shape {
            m: 1,
            k: 4096,
            n: 4096,
        },
        Shape {
            m: 512,
            k: 4096,
            n: 4096,
        },
    ];
    c.bench_function("roofline/place-all-variants", |b| {
        b.iter(|| {
            let mut sum = 0.0;
            for v in &registry {
                for &s in &shapes {
                    sum += machine.place(&v.cost(s), Scope::AllCores).attainable_gops;
                }
            }
            black_box(sum)
        })
    });
    let energy = EnergyTable::load("energy-45nm").unwrap();
    let names: Vec<String> = registry.iter().map(|v| v.name().to_string()).collect();
    let ctx = StudyContext {
        energy: &energy,
        base: Path::new("."),
        seed: 0,
        variants: &names,
    };
    let params = RooflineParams::default();
    c.bench_function("roofline/study-default", |b| {
        b.iter(|| black_box(run(&params, &ctx).unwrap()))
    });
    c.bench_function("energy/sram-sized-48-sizes", |b| {
        b.iter(|| {
            (0..48u32)
                .map(|i| energy.sram_pj_per_byte_sized(black_box(1u64 << i)).0)
                .sum::<f64>()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
