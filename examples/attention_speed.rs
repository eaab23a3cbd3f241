//! Native `attention/flash-f32` against its emulation, same run: median
//! wall time of each over 5 runs and their ratio. Run:
//! `cargo run --release --example attention_speed [H N D]` (default 4 1024 128).

use bitsim::attention::{self, AttnShape, Phase};
use bitsim::workload::attention::realistic;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let a: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|s| s.parse().ok())
        .collect();
    let (h, n, d) = match a[..] {
        [h, n, d] => (h, n, d),
        _ => (4, 1024, 128),
    };
    let x = realistic(AttnShape::of(h, n, d, false, Phase::Prefill), 0);
    let v = attention::find("attention/flash-f32").expect("registered");
    let k = v.native().expect("native kernel");
    let time = |f: &dyn Fn() -> Vec<f64>| {
        median(
            (0..5)
                .map(|_| {
                    let t = Instant::now();
                    std::hint::black_box(f());
                    t.elapsed().as_secs_f64()
                })
                .collect(),
        )
    };
    let te = time(&|| v.emulate(&x));
    let tn = time(&|| k.run(&x));
    let flops = 4.0 * (h * n * n * d) as f64;
    println!("flash-f32 {h}x{n}x{d} non-causal: emulation {:.3} s, native {:.3} s, native/emulation speed {:.1}x, native {:.2} GFLOP/s (4·N²·d per head)",
        te, tn, te / tn, flops / tn * 1e-9);
}
