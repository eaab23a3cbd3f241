//! The real model's f32 native path against the same-run f32 FMA ceiling:
//! median wall time of the full encoder forward (embeddings to pooled,
//! normalised sentence embeddings) over a batch of real-token sentences,
//! the model's flops per second, and their fraction of the FMA peak loop
//! measured in the same process on as many threads as the rayon pool has.
//! Also the int8 path (`matmul/w8a8-int` with `attention/flash-f32` and with
//! `attention/sage-int8`) as a speed ratio to the f32 path.
//!
//! Run: `cargo run --release --example model_speed [DIR [SENTENCES [TOKENS [REPS]]]]`
//! (default `models/all-MiniLM-L6-v2 32 64 5`; fetch the model with
//! `scripts/fetch-minilm`).
//!
//! Flops counted: 2 per multiply-add of the six linears per layer
//! (`2·(4h² + 2hf)` per token) and of the attention's two products
//! (`2·2·n²·h` per sentence per layer); LayerNorm, GELU, softmax and
//! pooling are not counted (they are work the FMA ceiling does not bound).

use std::time::{Duration, Instant};

use bitsim::hw::roofline::peaks::{peak_gops, PeakOp};
use bitsim::model::{Batch, Model, ModelSpec};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `sentences` rows of exactly `tokens` real tokens: `[CLS]`, a window of
/// real word pieces of a fixed text (each row starting elsewhere), `[SEP]`.
fn batch(model: &Model, sentences: usize, tokens: usize) -> Batch {
    let text = "Low-bit arithmetic changes what a chip spends on every multiply and every byte \
        it moves; a simulator that models the formats bit by bit can tell how much accuracy a \
        real sentence encoder keeps when its linear layers and attentions run in eight, six or \
        four bits, and how much energy and memory traffic that saves per sentence.";
    let pieces = model.tokenize(&[text]).expect("tokenizes");
    let words = &pieces.ids[1..pieces.len(0) - 1];
    let (cls, sep) = (pieces.ids[0], pieces.ids[pieces.len(0) - 1]);
    let mut ids = Vec::with_capacity(sentences * tokens);
    for s in 0..sentences {
        ids.push(cls);
        ids.extend((0..tokens - 2).map(|i| words[(s * 7 + i) % words.len()]));
        ids.push(sep);
    }
    Batch {
        width: tokens,
        type_ids: vec![0; ids.len()],
        mask: vec![1; ids.len()],
        ids,
    }
}

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let dir = a.first().map_or("models/all-MiniLM-L6-v2", String::as_str);
    let num = |i: usize, d: usize| a.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let (sentences, tokens, reps) = (num(1, 32), num(2, 64), num(3, 5));
    let model = Model::load(dir.as_ref()).unwrap_or_else(|e| panic!("{e}"));
    let c = &model.config;
    let b = batch(&model, sentences, tokens);
    let (h, f, n) = (
        c.hidden_size as f64,
        c.intermediate_size as f64,
        tokens as f64,
    );
    let flops = c.num_hidden_layers as f64
        * sentences as f64
        * (n * 2.0 * (4.0 * h * h + 2.0 * h * f) + 2.0 * 2.0 * n * n * h);
    let threads = rayon::current_num_threads();

    let time = |spec: &ModelSpec| {
        let p = model.prepare(spec).expect("spec");
        p.forward(&b).expect("forward"); // warm-up
        median(
            (0..reps)
                .map(|_| {
                    let t = Instant::now();
                    std::hint::black_box(p.forward(&b).expect("forward"));
                    t.elapsed().as_secs_f64()
                })
                .collect(),
        )
    };
    let (peak_before, what) = peak_gops(PeakOp::F32Fma, threads, Duration::from_millis(300));
    let f32_spec = ModelSpec::default();
    let t32 = time(&f32_spec);
    let (peak_after, _) = peak_gops(PeakOp::F32Fma, threads, Duration::from_millis(300));
    let peak = peak_before.max(peak_after);
    let gflops = flops / t32 * 1e-9;
    println!(
        "model {sentences} sentences x {tokens} tokens, {threads} threads, {:.2} GFLOP per forward",
        flops * 1e-9
    );
    println!("f32 FMA peak loop ({what}): {peak_before:.1} / {peak_after:.1} GFLOP/s (before / after; the higher is the ceiling)");
    println!(
        "f32 native (matmul/f32-fma + attention/flash-f32): median {:.1} ms, {gflops:.1} GFLOP/s = {:.2} of the ceiling, {:.0} sentences/s",
        t32 * 1e3,
        gflops / peak,
        sentences as f64 / t32
    );
    for attn in ["attention/flash-f32", "attention/sage-int8"] {
        let spec = ModelSpec {
            matmul: "matmul/w8a8-int".into(),
            attention: attn.into(),
            ..ModelSpec::default()
        };
        let t = time(&spec);
        println!(
            "int8 (matmul/w8a8-int + {attn}): median {:.1} ms, {:.2}x the f32 path's speed",
            t * 1e3,
            t32 / t
        );
    }
}
