//! The LSH-sorted attention variants' native kernels (`attention/hyper`,
//! `attention/hyper-triton`, `attention/kdeformer`,
//! `attention/kdeformer-stable`) against their emulations on the full
//! shape, same run: the median of R runs of each, their ratio, the bits
//! compared, and GFLOP/s at 4·d flops per pair the method scores (its
//! `cost`: blocks plus samples, not N²). `kernels bench` times these
//! emulations on a few rows, which for them is a different path (exact
//! attention below `min_seq_len`), so its × emulation figure does not apply.
//! Run: `cargo run --release --example sorted_speed [H N D THREADS REPS] [causal]`
//! (default 4 8192 64 2 3).

use bitsim::attention::{self, AttnShape, Phase};
use bitsim::workload::attention::gaussian;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let causal = args.iter().any(|a| a == "causal");
    let a: Vec<usize> = args.iter().filter_map(|s| s.parse().ok()).collect();
    let (h, n, d, threads, reps) = match a[..] {
        [h, n, d, t, r] => (h, n, d, t, r),
        _ => (4, 8192, 64, 2, 3),
    };
    let shape = AttnShape::of(h, n, d, causal, Phase::Prefill);
    let x = gaussian(shape, 0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool");
    for name in [
        "attention/hyper",
        "attention/hyper-triton",
        "attention/kdeformer",
        "attention/kdeformer-stable",
    ] {
        let v = attention::find(name).expect("registered");
        let k = v.native().expect("native kernel");
        let time = |f: &(dyn Fn() -> Vec<f64> + Sync)| {
            let runs: Vec<(f64, Vec<f64>)> = (0..reps.max(1))
                .map(|_| {
                    let t = Instant::now();
                    let o = pool.install(f);
                    (t.elapsed().as_secs_f64(), o)
                })
                .collect();
            let out = runs[0].1.clone();
            (median(runs.into_iter().map(|r| r.0).collect()), out)
        };
        let (te, oe) = time(&|| v.emulate(&x));
        let (tn, on) = time(&|| k.run(&x));
        let same = oe.iter().zip(&on).all(|(a, b)| a.to_bits() == b.to_bits());
        let flops = 2.0 * v.cost(shape).macs;
        println!(
            "{name} {h}x{n}x{d} causal={causal} threads={threads}: emulation {te:.3} s, native {tn:.3} s, native/emulation speed {:.1}x, native {:.2} GFLOP/s (4·d per scored pair), same bits: {same}",
            te / tn,
            flops / tn / 1e9
        );
    }
}
