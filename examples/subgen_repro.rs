//! SubGen's reproduction (REPRODUCTIONS.md): is the decode-time state's
//! memory sublinear in the context length N at a fixed error? For each N
//! and cluster radius δ, one decode step (the last token's query over N
//! cached keys, the realistic workload) through [`SubGen::state`] and
//! [`SubGen::estimate`]: clusters, the state's bytes against the plain f32
//! KV cache's, and the output's relative error against `attention/f64`.
//! Run: `cargo run --release --example subgen_repro [HEADS D SEED MAX_N S]`
//! (default 2 64 0 32768 256; S is the numerator's sample count).

use bitsim::attention::subgen::SubGen;
use bitsim::attention::{self, AttnShape, Phase};
use bitsim::metrics::accuracy;
use bitsim::workload::attention::realistic;

fn main() {
    let a: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|s| s.parse().ok())
        .collect();
    let (heads, d, seed, max_n, samples) = match a[..] {
        [h, d, s, m, k] => (h, d, s as u64, m, k),
        [h, d, s, m] => (h, d, s as u64, m, 256),
        _ => (2, 64, 0, 32768, 256),
    };
    let reference = attention::find("attention/f64").expect("registered");
    let deltas = [2.0, 3.0, 4.0, 5.0];
    println!("decode, realistic Q/K/V, {heads} heads, d = {d}, seed {seed}; t = 8, s = {samples}");
    println!("N      | δ   | clusters (mean/head) | state bytes | / f32 KV cache | rel. error");
    let mut n = 1024;
    while n <= max_n {
        let x = realistic(AttnShape::of(heads, n, d, false, Phase::Decode), seed);
        let want = reference.emulate(&x);
        for &delta in &deltas {
            let sg = SubGen {
                name: "subgen",
                description: "",
                delta,
                t: 8,
                s: samples,
                seed: 0,
            };
            let (mut clusters, mut bytes, mut out) = (0usize, 0usize, Vec::new());
            for h in 0..heads {
                let (k, v) = (x.k_head(h), x.v_head(h));
                let st = sg.state(k, v, d, n, h as u64);
                clusters += st.clusters.len();
                bytes += st.bytes(d);
                let (z, _, _) = sg.estimate(&st, x.q_row(h, 0), k, v);
                out.extend(z);
            }
            let kv = heads * n * 2 * d * 4;
            let acc = accuracy(&want, &out);
            println!(
                "{n:6} | {delta:3} | {:20.1} | {bytes:11} | {:14.3} | {:.3e}",
                clusters as f64 / heads as f64,
                bytes as f64 / kv as f64,
                acc.rel_fro_error
            );
        }
        n *= 2;
    }
}
