//! Format conversion throughput: the fast path against its scalar twin.
//!
//! 16 M f32 elements (64 MiB, beyond the L3), single thread unless a name
//! says otherwise: the fast path runs inside a one-thread rayon pool, so its
//! parallel split costs nothing but does not help either. Run with
//!
//! ```text
//! cargo bench --bench formats -- '^(encode|decode|memory)'
//! ```
//!
//! (the `mxfp4_quantize` group needs `formats::mx::quantize`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode, Throughput,
};

use bitsim::formats::fast::{self, Code};
use bitsim::formats::{mx, parse, ConvertOptions, ElementFormat, Format, MiniFloat, Rounding};
use bitsim::isa::IsaLevel;

const N: usize = 16 << 20;

fn minifloat(name: &str) -> MiniFloat {
    match parse(name).expect("preset") {
        Format::Element(ElementFormat::Float(f)) => f,
        _ => panic!("{name} is not a minifloat"),
    }
}

/// Seeded, roughly Gaussian data (σ ≈ 64): mostly in range for FP8, some
/// saturating, a few subnormal; the fast path's cost does not depend on it.
fn data(n: usize) -> Vec<f32> {
    let mut s = 0x243f_6a88_85a3_08d3u64;
    let mut u = move || {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (s >> 40) as f32 / (1u64 << 24) as f32
    };
    (0..n)
        .map(|_| (u() + u() + u() + u() - 2.0) * 110.0)
        .collect()
}

fn one_thread() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool")
}

fn configure<M: criterion::measurement::Measurement>(g: &mut BenchmarkGroup<'_, M>) {
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Elements(N as u64));
}

fn encode_group<C: Code>(
    c: &mut Criterion,
    group: &str,
    fmt: &str,
    rounding: Rounding,
    src: &[f32],
) {
    let f = minifloat(fmt);
    let opts = ConvertOptions {
        rounding,
        seed: 1,
        ..Default::default()
    };
    let pool = one_thread();
    let mut dst = vec![C::default(); src.len()];
    let mut g = c.benchmark_group(group);
    configure(&mut g);
    g.bench_function("scalar_twin", |b| {
        b.iter(|| fast::encode_f32_reference(&f, &opts, black_box(src), 0, 0, &mut dst).unwrap())
    });
    for level in IsaLevel::available() {
        g.bench_function(format!("fast_{level}"), |b| {
            b.iter(|| {
                pool.install(|| {
                    fast::encode_f32_with(level, &f, &opts, black_box(src), 0, 0, &mut dst)
                })
                .unwrap()
            })
        });
    }
    g.bench_function("dispatched", |b| {
        b.iter(|| {
            pool.install(|| fast::encode_f32(&f, &opts, black_box(src), 0, 0, &mut dst))
                .unwrap()
        })
    });
    g.bench_function("dispatched_all_threads", |b| {
        b.iter(|| fast::encode_f32(&f, &opts, black_box(src), 0, 0, &mut dst).unwrap())
    });
    g.finish();
}

fn encode(c: &mut Criterion) {
    let src = data(N);
    encode_group::<u8>(c, "encode_e4m3_rne", "e4m3", Rounding::Rne, &src);
    encode_group::<u8>(c, "encode_e4m3_sr", "e4m3", Rounding::Sr, &src);
    encode_group::<u8>(c, "encode_e5m2_rne", "e5m2", Rounding::Rne, &src);
    encode_group::<u8>(c, "encode_e2m1_rne", "e2m1", Rounding::Rne, &src);
    encode_group::<u16>(c, "encode_bf16_rne", "bf16", Rounding::Rne, &src);
}

fn decode(c: &mut Criterion) {
    let f = minifloat("e4m3");
    let codes: Vec<u8> = {
        let mut codes = vec![0u8; N];
        fast::encode_f32_reference(&f, &ConvertOptions::default(), &data(N), 0, 0, &mut codes)
            .unwrap();
        codes
    };
    let pool = one_thread();
    let mut dst = vec![0f32; N];
    let mut g = c.benchmark_group("decode_e4m3");
    configure(&mut g);
    g.bench_function("scalar_twin", |b| {
        b.iter(|| fast::decode_f32_reference(&f, black_box(&codes), &mut dst))
    });
    for level in IsaLevel::available() {
        g.bench_function(format!("fast_{level}"), |b| {
            b.iter(|| {
                pool.install(|| fast::decode_f32_with(level, &f, black_box(&codes), &mut dst))
            })
        });
    }
    g.bench_function("dispatched", |b| {
        b.iter(|| pool.install(|| fast::decode_f32(&f, black_box(&codes), &mut dst)))
    });
    g.bench_function("dispatched_all_threads", |b| {
        b.iter(|| fast::decode_f32(&f, black_box(&codes), &mut dst))
    });
    g.finish();
}

/// The memory ceiling in the same run: trivial loops moving the same bytes as
/// encode (4 read + 1 written per element) and decode (1 + 4).
fn memory_baseline(c: &mut Criterion) {
    let src = data(N);
    let mut bytes = vec![0u8; N];
    let mut floats = vec![0f32; N];
    let mut g = c.benchmark_group("memory_baseline");
    configure(&mut g);
    g.bench_function("f32_to_u8_top_byte", |b| {
        b.iter(|| {
            for (s, d) in black_box(&src).iter().zip(bytes.iter_mut()) {
                *d = (s.to_bits() >> 24) as u8;
            }
        })
    });
    g.bench_function("u8_to_f32_shift", |b| {
        b.iter(|| {
            for (s, d) in black_box(&bytes).iter().zip(floats.iter_mut()) {
                *d = f32::from_bits((*s as u32) << 20);
            }
        })
    });
    g.finish();
}

/// MX FP4 quantization of 16 M elements in rows of 4096 (its own group: on
/// branches where `mx::quantize` is still a stub, filter it out).
fn mxfp4(c: &mut Criterion) {
    let Format::Block(fmt) = parse("mxfp4").expect("preset") else {
        panic!("mxfp4 is a block format")
    };
    let src = data(N);
    let opts = ConvertOptions::default();
    let pool = one_thread();
    let mut g = c.benchmark_group("mxfp4_quantize");
    configure(&mut g);
    g.bench_function("quantize", |b| {
        b.iter(|| {
            pool.install(|| mx::quantize(&fmt, &opts, black_box(&src), 4096))
                .unwrap()
        })
    });
    g.bench_function("quantize_all_threads", |b| {
        b.iter(|| mx::quantize(&fmt, &opts, black_box(&src), 4096).unwrap())
    });
    g.finish();
}

criterion_group!(benches, encode, decode, memory_baseline, mxfp4);
criterion_main!(benches);
