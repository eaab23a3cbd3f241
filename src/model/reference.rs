//! The encoder forward in f64: the twin the f32 path is checked against.
//! Plain loops, f64 throughout (weights widened exactly), exact softmax with
//! `f64::exp` and GELU with `libm::erf`; no variant, no kernel.

use rayon::prelude::*;

use super::tokenize::Batch;
use super::weights::{Linear, Norm};
use super::Model;

/// What the f64 forward produced (layouts as in [`super::forward::Forward`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Forward64 {
    /// Sentence embeddings, `sentences × hidden` row-major, L2-normalised.
    pub embeddings: Vec<f64>,
    /// Hidden states of the real tokens, `layers + 1` entries of `tokens × hidden`.
    pub hidden: Vec<Vec<f64>>,
    /// Real tokens of each sentence.
    pub lens: Vec<usize>,
}

/// Runs the f64 encoder on a tokenized batch.
pub fn forward(model: &Model, batch: &Batch) -> Forward64 {
    let c = &model.config;
    let w = &model.weights;
    let h = c.hidden_size;
    let lens: Vec<usize> = (0..batch.sentences()).map(|s| batch.len(s)).collect();
    let mut x = Vec::new();
    for (s, &n) in lens.iter().enumerate() {
        for p in 0..n {
            let at = s * batch.width + p;
            let (word, ty) = (batch.ids[at] as usize, batch.type_ids[at] as usize);
            for j in 0..h {
                x.push(
                    w.word.row(word)[j] as f64
                        + w.token_type.row(ty)[j] as f64
                        + w.position.row(p)[j] as f64,
                );
            }
        }
    }
    layer_norm(&mut x, h, &w.embed_norm, c.layer_norm_eps);
    let mut hidden = vec![x.clone()];
    for lw in &w.layers {
        let (q, k, v) = (
            linear(&x, &lw.query),
            linear(&x, &lw.key),
            linear(&x, &lw.value),
        );
        let ctx = attention(&q, &k, &v, &lens, c.num_attention_heads, h);
        let mut y = linear(&ctx, &lw.attn_out);
        y.iter_mut().zip(&x).for_each(|(a, b)| *a += b);
        layer_norm(&mut y, h, &lw.attn_norm, c.layer_norm_eps);
        let mut f = linear(&y, &lw.ffn_in);
        f.iter_mut()
            .for_each(|v| *v = 0.5 * *v * (1.0 + libm::erf(*v / std::f64::consts::SQRT_2)));
        let mut z = linear(&f, &lw.ffn_out);
        z.iter_mut().zip(&y).for_each(|(a, b)| *a += b);
        layer_norm(&mut z, h, &lw.ffn_norm, c.layer_norm_eps);
        x = z;
        hidden.push(x.clone());
    }
    let mut embeddings = Vec::with_capacity(lens.len() * h);
    let mut start = 0;
    for &n in &lens {
        let mut mean = vec![0.0; h];
        for t in start..start + n {
            for (m, v) in mean.iter_mut().zip(&x[t * h..(t + 1) * h]) {
                *m += v;
            }
        }
        let norm = mean.iter().map(|m| m * m).sum::<f64>().sqrt().max(1e-12);
        embeddings.extend(mean.iter().map(|m| m / norm));
        start += n;
    }
    Forward64 {
        embeddings,
        hidden,
        lens,
    }
}

/// `x · Wᵀ + b` in f64 (rows in parallel, k in order).
fn linear(x: &[f64], lin: &Linear) -> Vec<f64> {
    let (n, k) = (lin.w.rows, lin.w.cols);
    x.par_chunks(k)
        .flat_map_iter(|row| {
            (0..n).map(move |j| {
                let wr = lin.w.row(j);
                let dot: f64 = row.iter().zip(wr).map(|(a, &b)| a * b as f64).sum();
                dot + lin.b[j] as f64
            })
        })
        .collect()
}

/// Per-sentence multi-head softmax attention over the sentence's own tokens.
fn attention(q: &[f64], k: &[f64], v: &[f64], lens: &[usize], heads: usize, h: usize) -> Vec<f64> {
    let d = h / heads;
    let scale = 1.0 / (d as f64).sqrt();
    let mut out = vec![0.0; q.len()];
    let mut start = 0;
    for &n in lens {
        for hd in 0..heads {
            let cols = hd * d..(hd + 1) * d;
            for i in start..start + n {
                let qi = &q[i * h..(i + 1) * h][cols.clone()];
                let s: Vec<f64> = (start..start + n)
                    .map(|j| {
                        let kj = &k[j * h..(j + 1) * h][cols.clone()];
                        qi.iter().zip(kj).map(|(a, b)| a * b).sum::<f64>() * scale
                    })
                    .collect();
                let m = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let p: Vec<f64> = s.iter().map(|x| (x - m).exp()).collect();
                let l: f64 = p.iter().sum();
                for (pj, j) in p.iter().zip(start..start + n) {
                    let vj = &v[j * h..(j + 1) * h][cols.clone()];
                    for (o, vv) in out[i * h..(i + 1) * h][cols.clone()].iter_mut().zip(vj) {
                        *o += pj / l * vv;
                    }
                }
            }
        }
        start += n;
    }
    out
}

/// LayerNorm of every `h`-wide row in place, in f64.
fn layer_norm(x: &mut [f64], h: usize, norm: &Norm, eps: f64) {
    for row in x.chunks_mut(h) {
        let mean = row.iter().sum::<f64>() / h as f64;
        let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / h as f64;
        let inv = 1.0 / (var + eps).sqrt();
        for (j, v) in row.iter_mut().enumerate() {
            *v = (*v - mean) * inv * norm.gain[j] as f64 + norm.bias[j] as f64;
        }
    }
}
