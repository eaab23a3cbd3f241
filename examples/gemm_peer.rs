//! `matmul/f32-fma`'s native GEMM against the `gemm` crate (a dev-dependency,
//! built with its `x86-v4` feature so that it uses AVX-512 where the CPU has
//! it, AVX2 + FMA otherwise) in the same process, on the same operands and
//! the same number of threads, with the FMA peak loop as the common ceiling.
//! Repetitions alternate between the two (A/B/A/B) so that load from other
//! work on the machine falls on both alike; medians are reported.
//!
//! Run: `cargo run --release --example gemm_peer [M K N [THREADS [REPS]]]`
//! (default 512 4096 4096, 2 threads, 5 repetitions). `BITSIM_ISA=avx2`
//! caps our kernel and the peak loop (not the `gemm` crate, which picks its
//! own path).
//!
//! What each side computes: both form `A · Wᵀ` (A: M × K, W: N × K, f32).
//! Ours returns the emulation's exact bits as f64 (each output one
//! sequential fused chain over K), so its time includes quantization-free
//! preparation and the f64 output; `gemm` accumulates in its own order.

use bitsim::hw::roofline::peaks::{peak_gops, PeakOp};
use bitsim::suite::kernel_bench::{median, operands};
use bitsim::variants::{self, Shape};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|s| {
            s.parse().unwrap_or_else(|_| {
                eprintln!("gemm_peer: {s:?} is not a positive integer");
                std::process::exit(2)
            })
        })
        .collect();
    let (m, k, n) = match args[..] {
        [m, k, n, ..] => (m, k, n),
        _ => (512, 4096, 4096),
    };
    let threads = args.get(3).copied().unwrap_or(2).max(1);
    let reps = args.get(4).copied().unwrap_or(5).max(1);
    let shape = Shape { m, k, n };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");
    pool.install(|| run(shape, threads, reps));
}

fn run(shape: Shape, threads: usize, reps: usize) {
    let Shape { m, k, n } = shape;
    let (a, w) = operands(shape, 0);
    let v = variants::find("matmul/f32-fma").expect("registered");
    let mut ours = v.native().expect("native kernel");
    ours.pack_weights(&w);
    let mut dst = vec![0f32; m * n];
    let peer = |dst: &mut [f32]| {
        // SAFETY: dst is m × n row-major, A m × k row-major, W n × k
        // row-major read as the k × n matrix Wᵀ (row stride 1, column
        // stride k); every pointer covers its matrix.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                dst.as_mut_ptr(),
                1,
                n as isize,
                false,
                a.data.as_ptr(),
                1,
                k as isize,
                w.data.as_ptr(),
                k as isize,
                1,
                0.0f32,
                1.0f32,
                false,
                false,
                false,
                gemm::Parallelism::Rayon(threads),
            )
        }
    };
    // Warm-up, and a sanity check that both compute the same product.
    let out = ours.matmul(&a);
    peer(&mut dst);
    let worst = out
        .iter()
        .zip(&dst)
        .map(|(&x, &y)| (x - y as f64).abs() / x.abs().max(1.0))
        .fold(0f64, f64::max);
    let (mut t_ours, mut t_peer) = (vec![], vec![]);
    for _ in 0..reps {
        let t = Instant::now();
        std::hint::black_box(ours.matmul(std::hint::black_box(&a)));
        t_ours.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        peer(std::hint::black_box(&mut dst));
        t_peer.push(t.elapsed().as_secs_f64());
    }
    let (peak, what) = peak_gops(PeakOp::F32Fma, threads, Duration::from_millis(300));
    let ops = 2.0 * (m * k * n) as f64;
    let (mo, mp) = (median(&t_ours), median(&t_peer));
    let (go, gp) = (ops / mo / 1e9, ops / mp / 1e9);
    println!("shape {m}x{k}x{n}, {threads} threads, {reps} alternating repetitions (medians)");
    println!("FMA peak: {peak:.1} GOP/s ({what})");
    println!(
        "matmul/f32-fma: {:9.3} ms  {go:7.1} GOP/s  {:5.1} % of peak",
        mo * 1e3,
        100.0 * go / peak
    );
    println!(
        "gemm crate:     {:9.3} ms  {gp:7.1} GOP/s  {:5.1} % of peak",
        mp * 1e3,
        100.0 * gp / peak
    );
    println!("ours / gemm: {:.3} (throughput ratio)", go / gp);
    println!("largest relative difference of the outputs: {worst:.2e}");
}
