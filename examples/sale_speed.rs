//! Speed of `attention/sale`'s native kernel on the realistic workload
//! (`workload::attention::realistic`, whose attention is concentrated
//! enough for a threshold to skip blocks): per τ the fraction of blocks
//! skipped, the whole kernel, its selection alone (the INT4 estimate and
//! the exact pass, `NativeSale::kept_blocks`) and `sage-int8`'s native
//! kernel on the same input (the dense baseline). Medians of 3 runs.
//! Run: `cargo run --release --example sale_speed [HEADS N D THREADS]`
//! (default 8 4096 128 2).

use bitsim::attention::sale::{NativeSale, Sale};
use bitsim::attention::{find, AttentionVariant, AttnShape, Phase};
use bitsim::workload::attention::realistic;
use std::hint::black_box;
use std::time::Instant;

/// Seconds of `f`, median of 3 runs.
fn time(mut f: impl FnMut()) -> f64 {
    let mut v: Vec<f64> = (0..3)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[1]
}

fn main() {
    let a: Vec<usize> = std::env::args()
        .skip(1)
        .map(|s| s.parse().expect("HEADS N D THREADS: integers"))
        .collect();
    let arg = |i: usize, d: usize| a.get(i).copied().unwrap_or(d);
    let (heads, n, d, threads) = (arg(0, 8), arg(1, 4096), arg(2, 128), arg(3, 2));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool");
    pool.install(|| {
        for causal in [false, true] {
            let shape = AttnShape::of(heads, n, d, causal, Phase::Prefill);
            let x = realistic(shape, 1);
            let sage = find("attention/sage-int8").and_then(|v| v.native());
            let sage = sage.expect("sage-int8 has a native kernel");
            let t_sage = time(|| {
                black_box(sage.run(&x));
            });
            for tau in [0.004f32, 0.05, 0.3] {
                let v = Sale {
                    name: "attention/sale",
                    description: "",
                    tau,
                    calibrate: false,
                    dense_below: bitsim::attention::sale::DENSE_BELOW,
                };
                let skipped = v.selection(&x).sparsity();
                let k = v.native().expect("a native kernel");
                let t_sale = time(|| {
                    black_box(k.run(&x));
                });
                let sel = NativeSale::new(v);
                let level = bitsim::isa::effective();
                let t_sel = time(|| {
                    black_box(sel.kept_blocks(&x, level));
                });
                println!(
                    "{shape} tau={tau}: skipped {:.1}% of blocks; sage-int8 {:.1} ms, sale {:.1} ms (selection {:.1} ms = {:.1}%), sage-int8/sale {:.2}",
                    100.0 * skipped,
                    1e3 * t_sage,
                    1e3 * t_sale,
                    1e3 * t_sel,
                    100.0 * t_sel / t_sale,
                    t_sage / t_sale
                );
            }
        }
    });
}
