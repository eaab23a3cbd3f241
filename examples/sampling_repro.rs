//! HyperAttention's and KDEformer's error against their sample count s
//! (REPRODUCTIONS.md): KDEformer's GloVe demo sweep (n = 8192, d = 100,
//! s from 64 to 4096, KDEformer's buckets s/2, spectral-norm relative error)
//! on the GloVe-like workload and on the realistic one, for both official
//! HyperAttention versions (blocks of 256, s samples) and both KDEformer
//! versions (as coded, and with the row maximum subtracted). Each variant
//! runs through its native kernel (bit-identical to its emulation); the
//! reference is `attention/f64`. Non-causal prefill, as the demo.
//! Run: `cargo run --release --example sampling_repro [HEADS N D SEED]`
//! (default 2 8192 100 0).

use bitsim::attention::hyper::{Hyper, Version};
use bitsim::attention::kdeformer::KdeFormer;
use bitsim::attention::{self, AttentionVariant, AttnShape, Phase, Qkv};
use bitsim::metrics::accuracy;
use bitsim::metrics::attention::spectral_rel_error;
use bitsim::workload::attention::{glove_like, realistic};

fn hyper(version: Version, s: usize) -> Hyper {
    let (lsh_bits, min_seq_len) = match version {
        Version::Original => (7, 4096),
        Version::Triton => (8, 2048),
    };
    Hyper {
        name: "hyper",
        description: "",
        version,
        lsh_bits,
        block: 256,
        samples: s,
        min_seq_len,
        seed: 0,
    }
}

fn kde(stable: bool, s: usize) -> KdeFormer {
    KdeFormer {
        name: "kdeformer",
        description: "",
        stable,
        lsh_bits: 7,
        bucket: s / 2,
        samples: s,
        seed: 0,
    }
}

fn run(v: &dyn AttentionVariant, x: &Qkv) -> Vec<f64> {
    match v.native() {
        Some(k) => k.run(x),
        None => v.emulate(x),
    }
}

/// Mean over rows and heads of the exact softmax's mass on the query's own
/// key (prefill rows; the diagonal) and on the row's 256 largest scores: how
/// concentrated the workload's attention is.
fn concentration(x: &Qkv) -> (f64, f64) {
    use rayon::prelude::*;
    let (heads, n, d) = (x.shape.heads, x.shape.nq, x.shape.d);
    let sc = 1.0 / (d as f64).sqrt();
    let (own, top): (f64, f64) = (0..heads * n)
        .into_par_iter()
        .map(|t| {
            let (h, i) = (t / n, t % n);
            let q = x.q_row(h, i);
            let mut s: Vec<f64> = x
                .k_head(h)
                .chunks(d)
                .map(|k| {
                    q.iter()
                        .zip(k)
                        .map(|(a, b)| *a as f64 * *b as f64)
                        .sum::<f64>()
                        * sc
                })
                .collect();
            let m = s.iter().copied().fold(f64::MIN, f64::max);
            let z: f64 = s.iter().map(|v| (v - m).exp()).sum();
            let own = (s[i] - m).exp() / z;
            s.sort_by(|a, b| b.total_cmp(a));
            let top = s.iter().take(256).map(|v| (v - m).exp()).sum::<f64>() / z;
            (own, top)
        })
        .reduce(|| (0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    let rows = (heads * n) as f64;
    (own / rows, top / rows)
}

fn main() {
    let a: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|s| s.parse().ok())
        .collect();
    let (heads, n, d, seed) = match a[..] {
        [h, n, d, s] => (h, n, d, s as u64),
        _ => (2, 8192, 100, 0),
    };
    let shape = AttnShape::of(heads, n, d, false, Phase::Prefill);
    let reference = attention::find("attention/f64").expect("registered");
    let sizes = [64usize, 128, 256, 512, 1024, 2048, 4096];
    for (name, x) in [
        ("glove-like", glove_like(shape, seed)),
        ("realistic", realistic(shape, seed)),
    ] {
        let want = reference.emulate(&x);
        let (own, top) = concentration(&x);
        println!(
            "\n{name}: {heads} heads x {n} x d={d}, non-causal, seed {seed}; \
             exact attention's mean mass on the own key {own:.3}, on the 256 largest scores {top:.3}"
        );
        println!("spectral-norm relative error (worst head) / relative Frobenius error");
        println!(
            "{:>5} | {:>19} | {:>19} | {:>19} | {:>19}",
            "s", "hyper", "hyper-triton", "kdeformer", "kdeformer-stable"
        );
        for &s in sizes.iter().filter(|&&s| s < n) {
            let variants: [Box<dyn AttentionVariant>; 4] = [
                Box::new(hyper(Version::Original, s)),
                Box::new(hyper(Version::Triton, s)),
                Box::new(kde(false, s)),
                Box::new(kde(true, s)),
            ];
            let cells: Vec<String> = variants
                .iter()
                .map(|v| {
                    let got = run(v.as_ref(), &x);
                    let spec = spectral_rel_error(&want, &got, heads, d, 1);
                    let fro = accuracy(&want, &got).rel_fro_error;
                    format!("{spec:>9.3e} {fro:>9.3e}")
                })
                .collect();
            println!("{s:>5} | {}", cells.join(" | "));
        }
    }
}
