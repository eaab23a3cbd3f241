//! Cache simulator throughput, in accesses per second (criterion's
//! "elem/s": one element = one CPU access fed to the hierarchy).
//!
//! ```text
//! cargo bench --bench cache
//! ```
//! Streams (2 M accesses each, generated beforehand, replayed into a warm
//! hierarchy): `blocked-matmul` is the load/store stream of a 32-blocked
//! f32 matmul C += A·B with n = 192 (high L1 hit rate), `random` is uniform
//! 8-byte reads and writes over 256 MiB (misses everywhere). Hierarchies:
//! `zen5` (the 3-level built-in, LRU), `full-1MiB` (one fully associative
//! 1 MiB LRU level, the I/O-model case), and the slow `reference` twin on
//! zen5 for comparison (blocked-matmul only). `a2-3level` is the hierarchy
//! of `scripts/cachesim-speed` (48 KiB 12-way / 1 MiB 16-way / 8 MiB
//! 16-way, LRU), on which nearly every random access misses every level:
//! its `random` time per access is the all-miss path. `a2-3level-batched`
//! feeds the same stream in batches of 16 Ki accesses (the simulator then
//! prefetches the lower levels' sets ahead), and `a2-3level-split` in
//! batches to the hierarchy split into two parts simulated on two threads
//! (`Hierarchy::parallel`; a whole-process trace replay runs this way).
//!
//! `cache/din-parse` parses the `random` stream's din text (one `L ADDR`
//! line per access, from memory) into a counter: the fast in-place reader
//! against its line-by-line reference twin, in lines per second.

use bitsim::hw::cache::reference::ReferenceHierarchy;
use bitsim::hw::cache::tracefile::{read_din, read_din_reference, DinWriter};
use bitsim::hw::cache::{parse_level, Hierarchy, HierarchyConfig};
use bitsim::hw::trace::{Access, AccessSink, CountingSink};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::time::Duration;

const N: usize = 2_000_000;

/// Loads and stores of a blocked f32 matmul (A, B, C row-major, n = 192, tile 32).
fn blocked_matmul() -> Vec<Access> {
    let (n, t) = (192u64, 32u64);
    let (a, b, c) = (0x1000_0000u64, 0x2000_0000u64, 0x3000_0000u64);
    let mut v = Vec::with_capacity(N);
    'outer: for it in (0..n).step_by(t as usize) {
        for jt in (0..n).step_by(t as usize) {
            for kt in (0..n).step_by(t as usize) {
                for i in it..it + t {
                    for j in jt..jt + t {
                        v.push(Access::read(c + 4 * (i * n + j), 4));
                        for k in kt..kt + t {
                            v.push(Access::read(a + 4 * (i * n + k), 4));
                            v.push(Access::read(b + 4 * (k * n + j), 4));
                        }
                        v.push(Access::write(c + 4 * (i * n + j), 4));
                        if v.len() >= N {
                            break 'outer;
                        }
                    }
                }
            }
        }
    }
    v
}

/// Uniform 8-byte-aligned accesses over 256 MiB, one in four a write (splitmix64).
fn random() -> Vec<Access> {
    let mut s = 42u64;
    (0..N)
        .map(|_| {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            let addr = (z & ((256 << 20) - 1)) & !7;
            if z >> 62 == 0 {
                Access::write(addr, 8)
            } else {
                Access::read(addr, 8)
            }
        })
        .collect()
}

fn replay<S: AccessSink>(sink: &mut S, trace: &[Access]) {
    for &a in trace {
        sink.access(a);
    }
}

/// Accesses per batch of the batched replays (the din reader's batch size).
const BATCH: usize = 1 << 14;

fn replay_batched<S: AccessSink>(sink: &mut S, trace: &[Access]) {
    for chunk in trace.chunks(BATCH) {
        sink.access_batch(chunk);
    }
}

fn bench(c: &mut Criterion) {
    let zen5 = HierarchyConfig::load("cache-zen5").expect("built-in");
    let full = HierarchyConfig {
        name: "full".into(),
        levels: vec![parse_level("M:1MiB:full:64:lru").expect("valid")],
        inclusion: Default::default(),
    };
    let a2 = HierarchyConfig {
        name: "a2-3level".into(),
        levels: [
            "L1:48KiB:12:64:lru",
            "L2:1MiB:16:64:lru",
            "L3:8MiB:16:64:lru",
        ]
        .map(|l| parse_level(l).expect("valid"))
        .to_vec(),
        inclusion: Default::default(),
    };
    for (name, trace) in [("blocked-matmul", blocked_matmul()), ("random", random())] {
        let mut g = c.benchmark_group(format!("cache/{name}"));
        g.sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3))
            .throughput(Throughput::Elements(trace.len() as u64));
        let mut h = Hierarchy::new(&zen5).expect("valid");
        g.bench_function("zen5", |b| b.iter(|| replay(&mut h, &trace)));
        let mut h = Hierarchy::new(&full).expect("valid");
        g.bench_function("full-1MiB", |b| b.iter(|| replay(&mut h, &trace)));
        if name == "random" {
            let mut h = Hierarchy::new(&a2).expect("valid");
            g.bench_function("a2-3level", |b| b.iter(|| replay(&mut h, &trace)));
            let mut h = Hierarchy::new(&a2).expect("valid");
            g.bench_function("a2-3level-batched", |b| {
                b.iter(|| replay_batched(&mut h, &trace))
            });
            let mut h = Hierarchy::with_parts(&a2, 2).expect("splits in two");
            g.bench_function("a2-3level-split", |b| {
                b.iter(|| replay_batched(&mut h, &trace))
            });
        }
        if name == "blocked-matmul" {
            // The slow twin on random misses takes seconds per iteration.
            let mut r = ReferenceHierarchy::new(&zen5).expect("valid");
            g.bench_function("reference-zen5", |b| b.iter(|| replay(&mut r, &trace)));
        }
        g.finish();
    }
    let trace = random();
    let mut w = DinWriter::new(Vec::new());
    for &a in &trace {
        w.access(a);
    }
    let text = w.finish().expect("in memory");
    let mut g = c.benchmark_group("cache/din-parse");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(trace.len() as u64));
    g.bench_function("read_din", |b| {
        b.iter(|| read_din(&text[..], 8, &mut CountingSink::default()).expect("valid"))
    });
    g.bench_function("read_din_reference", |b| {
        b.iter(|| read_din_reference(&text[..], 8, &mut CountingSink::default()).expect("valid"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
