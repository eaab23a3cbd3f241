//! Speed of weight quantization through `formats::scaled` (absmax scales, the
//! path every `AbsMax` matmul operand takes): the fast path
//! (`scaled::quantize`) against its scalar twin (`scaled::quantize_reference`)
//! and a same-run ceiling (one pass that reads the f32 weights and writes one
//! u32 code each, with the absmax of each row). Median of several runs; both
//! paths are checked to give equal codes. Run:
//! `cargo run --release --example scaled_speed [ROWS COLS]` (default 4096 4096).

use bitsim::formats::parse::parse_element;
use bitsim::formats::scaled::{quantize, quantize_reference, Axis, Granularity, ScaleOptions};
use bitsim::formats::{ConvertOptions, ElementFormat, Rounding};
use bitsim::workload::gen::{generate, Distribution};
use rayon::prelude::*;
use std::hint::black_box;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Seconds of `f`, median of `n` runs.
fn time(n: usize, mut f: impl FnMut()) -> f64 {
    median(
        (0..n)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

/// The ceiling: read every weight once, write one u32 each (a row's absmax
/// and a multiply by its reciprocal), in parallel over rows like the fast path.
fn ceiling(data: &[f32], cols: usize, out: &mut [u32]) {
    out.par_chunks_mut(cols)
        .zip(data.par_chunks(cols))
        .for_each(|(o, row)| {
            let m = row.iter().fold(0f32, |a, x| a.max(x.abs()));
            let r = 127.0 / m;
            for (o, x) in o.iter_mut().zip(row) {
                *o = (x * r) as i32 as u32;
            }
        });
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("ROWS COLS"))
        .collect();
    let (rows, cols) = match args[..] {
        [r, c] => (r, c),
        _ => (4096, 4096),
    };
    let w = generate(&Distribution::Gaussian { std: 0.02 }, rows, cols, 1);
    let n = (rows * cols) as f64;
    let opts = ConvertOptions::with_rounding(Rounding::Rne);
    let mut out = vec![0u32; rows * cols];
    let ceil = time(7, || ceiling(black_box(&w.data), cols, &mut out));
    println!(
        "{rows} x {cols} weights, {} threads; ceiling (read f32, write u32, row absmax): {:.3} ns/weight",
        rayon::current_num_threads(),
        ceil / n * 1e9
    );
    println!("case                          fast ns/w  reference ns/w  ceiling/fast  fast speedup");
    let cases: [(&str, &str, Granularity); 5] = [
        ("int8 per row", "int8", Granularity::PerChannel(Axis::Row)),
        ("int4 group 128", "int4", Granularity::PerGroup(128)),
        ("e4m3 per row", "e4m3", Granularity::PerChannel(Axis::Row)),
        ("e2m1 group 32", "e2m1", Granularity::PerGroup(32)),
        ("int8 per tensor", "int8", Granularity::PerTensor),
    ];
    for (name, e, g) in cases {
        let e: ElementFormat = parse_element(e).unwrap();
        let so = ScaleOptions {
            rounding: Rounding::Rne,
            symmetric: true,
            ..Default::default()
        };
        let q = || quantize(black_box(&w.data), rows, cols, &e, g, &so, &opts).unwrap();
        let fast = time(7, || {
            black_box(q());
        });
        let reference = time(1, || {
            black_box(quantize_reference(&w.data, rows, cols, &e, g, &so, &opts).unwrap());
        });
        let want = quantize_reference(&w.data, rows, cols, &e, g, &so, &opts).unwrap();
        assert_eq!(q(), want, "{name}: fast path differs from the reference");
        println!(
            "{name:<28} {:>10.3} {:>15.2} {:>13.2} {:>12.1}x",
            fast / n * 1e9,
            reference / n * 1e9,
            ceil / fast,
            reference / fast
        );
    }
}
