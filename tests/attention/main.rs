//! The attention layer: the softmax exponential, the variants against hand
//! cases and independent references, quantizers, metrics and costs.

#[path = "../seeded/mod.rs"]
mod seeded;

mod costs;
mod ecoformer;
mod exact;
mod exp;
mod flash_dpbf16;
mod hyper;
mod kdeformer;
mod metrics;
mod native;
mod qjl;
mod sage;
mod sale;
mod subgen;
mod workloads;

use bitsim::attention::{AttnShape, Phase, Qkv};

/// A shape of one phase.
pub fn shape(heads: usize, n: usize, d: usize, causal: bool) -> AttnShape {
    AttnShape::of(heads, n, d, causal, Phase::Prefill)
}

/// Relative Frobenius error of `x` against `r`.
pub fn rel_err(r: &[f64], x: &[f64]) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for (a, b) in r.iter().zip(x) {
        num += (a - b) * (a - b);
        den += a * a;
    }
    (num / den).sqrt()
}

/// Q/K/V from explicit values (one head).
pub fn qkv(s: AttnShape, q: &[f32], k: &[f32], v: &[f32]) -> Qkv {
    Qkv::new(s, q.to_vec(), k.to_vec(), v.to_vec()).expect("valid hand tensors")
}
