//! The attention reproductions of REPRODUCTIONS.md on the realistic
//! workload (outlier key channels, channel mean, RoPE, sink, log-normal
//! value norms): SageAttention v1's INT8 Q·Kᵀ with and without K smoothing
//! against FP16 attention, FP8 P·V's error, and L-Mul attention against
//! FP8 attention. Every figure is the output's relative Frobenius error and
//! cosine similarity against a reference computed in the same run. Run:
//! `cargo run --release --example attention_repro [H N D SEED]`
//! (default 2 1024 128 0, non-causal prefill).

use bitsim::attention::exact::{Flash, Input};
use bitsim::attention::sage::{PvPath, QkQuant, Sage};
use bitsim::attention::{self, AttentionVariant, AttnShape, Phase};
use bitsim::metrics::accuracy;
use bitsim::workload::attention::realistic;

fn sage(smooth_k: bool) -> Sage {
    Sage {
        name: "sage-int8",
        description: "",
        qk: QkQuant::Int8Triton,
        pv: PvPath::Fp16,
        smooth_k,
    }
}

fn main() {
    let a: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|s| s.parse().ok())
        .collect();
    let (h, n, d, seed) = match a[..] {
        [h, n, d, s] => (h as usize, n as usize, d as usize, s),
        _ => (2, 1024, 128, 0),
    };
    let x = realistic(AttnShape::of(h, n, d, false, Phase::Prefill), seed);
    let f64_ref = attention::find("attention/f64").unwrap().emulate(&x);
    let fp16 = Flash {
        name: "flash-fp16",
        description: "",
        input: Input::Fp16,
        b_c: 64,
        b_r: 64,
    }
    .emulate(&x);
    println!("realistic workload, {h} heads x {n} tokens x d={d}, non-causal, seed {seed}");
    println!(
        "{:<44} {:>12} {:>10} {:>12} {:>10}",
        "", "vs fp16", "", "vs f64", ""
    );
    println!(
        "{:<44} {:>12} {:>10} {:>12} {:>10}",
        "variant", "rel. error", "cosine", "rel. error", "cosine"
    );
    let row = |name: &str, o: &[f64]| {
        let a16 = accuracy(&fp16, o);
        let a64 = accuracy(&f64_ref, o);
        println!(
            "{name:<44} {:>12.3e} {:>10.6} {:>12.3e} {:>10.6}",
            a16.rel_fro_error, a16.cosine, a64.rel_fro_error, a64.cosine
        );
    };
    row("fp16 attention (fp16 Q/K/V, f32 softmax)", &fp16);
    row("sage-int8, K smoothed (as coded)", &sage(true).emulate(&x));
    row("sage-int8, no K smoothing", &sage(false).emulate(&x));
    for name in [
        "attention/sage2-fp8",
        "attention/sage2pp-fp16acc",
        "attention/int4-qk",
        "attention/flash-bf16",
        "attention/fp8-e4m3",
        "attention/lmul-bf16",
        "attention/lmul-e4m3",
    ] {
        row(name, &attention::find(name).unwrap().emulate(&x));
    }
}
