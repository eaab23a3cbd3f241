//! The encoder forward in f32 with every linear layer on a matmul variant
//! and every attention on an attention variant.
//!
//! The batch is padded (see [`super::tokenize::Batch`]); the forward keeps
//! only the real tokens, packed sentence after sentence (`tokens × hidden`),
//! and each sentence's attention runs over its own tokens. That is
//! key-padding masking by construction — padding keys get no weight — and
//! it keeps padding out of every blockwise quantizer (SageAttention's
//! per-block scales, K smoothing's token mean, per-tensor activation
//! scales), so a sentence's embedding never depends on the batch it came in.
//!
//! Everything outside the variants is computed as PyTorch's f32 model does,
//! with two deliberate differences so that the variants are the only source
//! of format error: LayerNorm's mean and variance and the pooling sums are
//! taken in f64 and rounded once to f32. The GELU is exact (erf) in f32,
//! vectorised ([`super::gelu`]: a rational erf within 3.3e-7 of f64's,
//! where PyTorch's `erff` is within one ulp); residual and bias additions
//! are f32 adds.

use rayon::prelude::*;

use super::spec::LayerVariants;
use super::tokenize::Batch;
use super::weights::{Linear, Norm};
use super::Model;
use crate::attention::{AttnShape, Qkv};
use crate::tensor::Matrix;
use crate::variants::NativeMatmul;

/// What one forward pass produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Forward {
    /// Sentence embeddings, `sentences × hidden`, L2-normalised.
    pub embeddings: Matrix,
    /// Hidden states of the real tokens (`tokens × hidden`, packed sentence
    /// after sentence): entry 0 after the embeddings' LayerNorm, entry `l + 1`
    /// after layer `l` (for per-layer SQNR against the f64 path).
    pub hidden: Vec<Matrix>,
    /// Real tokens of each sentence.
    pub lens: Vec<usize>,
}

/// What [`Prepared::forward_tapped`] shows of a forward pass as it runs:
/// the real tensors that activation formats and attention variants meet.
#[derive(Debug, Clone, Copy)]
pub enum Tap<'a> {
    /// The input of layer `layer`'s linear `linear` (a name of
    /// [`super::weights::LayerWeights::linears`]): `tokens × in_features`,
    /// the real tokens packed sentence after sentence. The query, key and
    /// value linears share one input; it is shown for each.
    LinearInput {
        /// Encoder layer.
        layer: usize,
        /// The linear's name, e.g. `attention.self.query`.
        linear: &'static str,
        /// Its input.
        input: &'a Matrix,
    },
    /// Sentence `sentence`'s Q, K and V (heads × tokens × head dim) as
    /// layer `layer`'s attention variant receives them.
    Attention {
        /// Encoder layer.
        layer: usize,
        /// Sentence of the batch.
        sentence: usize,
        /// Its Q, K and V.
        qkv: &'a Qkv,
    },
}

/// A linear layer bound to its variant (and its packed native kernel).
pub(super) struct BoundLinear<'m> {
    lin: &'m Linear,
    kernel: Option<Box<dyn NativeMatmul>>,
}

/// The model bound to a spec's variants, native kernels packed once.
pub struct Prepared<'m> {
    pub(super) model: &'m Model,
    pub(super) layers: Vec<LayerVariants>,
    /// Per layer, the six linears in [`super::weights::LayerWeights::linears`] order.
    pub(super) linears: Vec<Vec<BoundLinear<'m>>>,
    pub(super) seed: u64,
    /// The layers' intermediate buffers, kept between forwards (see
    /// [`Self::forward_tapped`]); a forward running while another holds
    /// them starts its own.
    pub(super) scratch: std::sync::Mutex<Option<Scratch>>,
}

/// Q, K, V, the attention context, the attention block's output and the
/// FFN's inner activation: one layer's intermediates, reused by the next.
type Scratch = [Matrix; 6];

impl<'m> Prepared<'m> {
    pub(super) fn new(
        model: &'m Model,
        layers: Vec<LayerVariants>,
        native: bool,
        seed: u64,
    ) -> Self {
        let linears = model
            .weights
            .layers
            .iter()
            .zip(&layers)
            .map(|(lw, v)| {
                lw.linears()
                    .into_iter()
                    .map(|(_, lin)| {
                        let kernel = native.then(|| v.matmul.native()).flatten().map(|mut k| {
                            k.pack_weights(&lin.w);
                            k
                        });
                        BoundLinear { lin, kernel }
                    })
                    .collect()
            })
            .collect();
        Prepared {
            model,
            layers,
            linears,
            seed,
            scratch: std::sync::Mutex::new(None),
        }
    }

    /// The matmul and attention variant names of each layer.
    pub fn layer_names(&self) -> Vec<(&'static str, &'static str)> {
        self.layers
            .iter()
            .map(|v| (v.matmul.name(), v.attention.name()))
            .collect()
    }

    /// Runs the encoder on a tokenized batch. Errors: an attention variant
    /// handed non-finite values (a format overflowed upstream).
    pub fn forward(&self, batch: &Batch) -> Result<Forward, String> {
        self.forward_tapped(batch, &mut |_| {})
    }

    /// [`Self::forward`], showing `tap` every linear's input and every
    /// sentence's Q/K/V as they are computed (in forward order, on the
    /// calling thread).
    pub fn forward_tapped(
        &self,
        batch: &Batch,
        tap: &mut dyn FnMut(Tap<'_>),
    ) -> Result<Forward, String> {
        let c = &self.model.config;
        let h = c.hidden_size;
        let w = &self.model.weights;
        let sentences = batch.sentences();
        let n = batch.width * sentences;
        if [batch.ids.len(), batch.type_ids.len(), batch.mask.len()] != [n; 3] {
            return Err(format!(
                "batch: ids, type ids and mask must each hold sentences × width = {n} values"
            ));
        }
        let lens: Vec<usize> = (0..sentences).map(|s| batch.len(s)).collect();
        check_batch(batch, &lens, c)?;
        let tokens: usize = lens.iter().sum();
        // Embeddings: (word + token type) + position, in PyTorch's order.
        let mut x = Matrix::zeros(tokens, h);
        let mut t = 0;
        for (s, &n) in lens.iter().enumerate() {
            for p in 0..n {
                let at = s * batch.width + p;
                let (word, ty) = (batch.ids[at] as usize, batch.type_ids[at] as usize);
                let row = &mut x.data[t * h..(t + 1) * h];
                for (j, r) in row.iter_mut().enumerate() {
                    *r = (w.word.row(word)[j] + w.token_type.row(ty)[j]) + w.position.row(p)[j];
                }
                t += 1;
            }
        }
        layer_norm(&mut x, &w.embed_norm, c.layer_norm_eps);
        // Each layer reads the last hidden state in place (no copy of it
        // for the list). The layers' intermediate products are written into
        // the same buffers layer after layer: fresh ones each time would be
        // fresh pages from the system for every layer (the allocator hands
        // large freed blocks back), each first write a page fault.
        let mut hidden = vec![x];
        let mut scratch: Scratch = self
            .scratch
            .try_lock()
            .ok()
            .and_then(|mut s| s.take())
            .unwrap_or_else(|| std::array::from_fn(|_| Matrix::zeros(0, 0)));
        for (l, lw) in w.layers.iter().enumerate() {
            let x = hidden.last().expect("the embeddings come first");
            let lin = &self.linears[l];
            let seed = self.seed.wrapping_add(l as u64);
            let names = lw.linears().map(|(name, _)| name);
            let run = |i: usize, a: &Matrix, out: &mut Matrix, tap: &mut dyn FnMut(Tap<'_>)| {
                tap(Tap::LinearInput {
                    layer: l,
                    linear: names[i],
                    input: a,
                });
                self.linear_into(l, &lin[i], a, seed, out)
            };
            let [q, k, v, ctx, y, f] = &mut scratch;
            run(0, x, q, tap);
            run(1, x, k, tap);
            run(2, x, v, tap);
            self.attention(l, [q, k, v], &lens, ctx, tap)
                .map_err(|e| format!("layer {l} attention: {e}"))?;
            run(3, ctx, y, tap);
            add_in_place(y, x);
            layer_norm(y, &lw.attn_norm, c.layer_norm_eps);
            run(4, y, f, tap);
            f.data
                .par_chunks_mut(GELU_CHUNK)
                .for_each(super::gelu::gelu_in_place);
            let mut z = Matrix::zeros(0, 0);
            run(5, f, &mut z, tap);
            add_in_place(&mut z, y);
            layer_norm(&mut z, &lw.ffn_norm, c.layer_norm_eps);
            hidden.push(z);
        }
        if let Ok(mut s) = self.scratch.try_lock() {
            *s = Some(scratch);
        }
        Ok(Forward {
            embeddings: pool(hidden.last().expect("at least the embeddings"), &lens),
            hidden,
            lens,
        })
    }

    /// `a · Wᵀ + b` on layer `l`'s matmul variant: its native kernel when
    /// bound (writing f32 with the bias added as it stores each output),
    /// else its emulation; each output rounded to f32, then the bias added.
    ///
    /// Written into `out`, reshaped to `a.rows × n` (every element is
    /// overwritten; its storage is kept when large enough).
    fn linear_into(&self, l: usize, bound: &BoundLinear, a: &Matrix, seed: u64, out: &mut Matrix) {
        let n = bound.lin.w.rows;
        let b = &bound.lin.b;
        let mut data = std::mem::take(&mut out.data);
        data.resize(a.rows * n, 0.0);
        match &bound.kernel {
            Some(k) => k.matmul_into(a, Some(&b[..]), &mut data),
            None => {
                let out = self.layers[l].matmul.emulate(a, &bound.lin.w, seed);
                data.par_chunks_mut(n)
                    .zip(out.par_chunks(n))
                    .for_each(|(dst, row)| {
                        for ((d, &v), &bias) in dst.iter_mut().zip(row).zip(b) {
                            *d = v as f32 + bias;
                        }
                    });
            }
        }
        *out = Matrix::new(a.rows, n, data);
    }

    /// Each sentence's multi-head attention over its own tokens on layer
    /// `l`'s attention variant (native kernel when it has one), written
    /// into `out` (tokens × hidden).
    fn attention(
        &self,
        l: usize,
        [q, k, v]: [&Matrix; 3],
        lens: &[usize],
        out: &mut Matrix,
        tap: &mut dyn FnMut(Tap<'_>),
    ) -> Result<(), String> {
        let c = &self.model.config;
        let (heads, d, h) = (c.num_attention_heads, c.head_dim(), c.hidden_size);
        let variant = &self.layers[l].attention;
        let kernel = variant.native();
        let starts: Vec<usize> = lens
            .iter()
            .scan(0, |s, &n| {
                *s += n;
                Some(*s - n)
            })
            .collect();
        // Each sentence's Q/K/V split into heads (heads × tokens × d), all
        // sentences in parallel; shown to `tap` in order, then run in parallel.
        let split = |m: &Matrix, start: usize, n: usize| {
            let mut t = Vec::with_capacity(heads * n * d);
            for hd in 0..heads {
                for i in 0..n {
                    t.extend_from_slice(&m.row(start + i)[hd * d..(hd + 1) * d]);
                }
            }
            t
        };
        let inputs: Vec<Result<Qkv, String>> = lens
            .par_iter()
            .zip(&starts)
            .map(|(&n, &start)| {
                let shape = AttnShape {
                    heads,
                    nq: n,
                    nk: n,
                    d,
                    causal: false,
                };
                Qkv::new(
                    shape,
                    split(q, start, n),
                    split(k, start, n),
                    split(v, start, n),
                )
            })
            .collect();
        let mut xs = Vec::with_capacity(inputs.len());
        for (sentence, x) in inputs.into_iter().enumerate() {
            let x = x?;
            tap(Tap::Attention {
                layer: l,
                sentence,
                qkv: &x,
            });
            xs.push(x);
        }
        let outs: Vec<Vec<f64>> = xs
            .par_iter()
            .map(|x| match &kernel {
                Some(kn) => kn.run(x),
                None => variant.emulate(x),
            })
            .collect();
        // Back to tokens × hidden: token row t of sentence s is row i = t − start.
        let mut owner = Vec::with_capacity(q.rows);
        for (s, &n) in lens.iter().enumerate() {
            owner.extend((0..n).map(|i| (s, i)));
        }
        // Every element is written below (heads · d = h).
        let mut data = std::mem::take(&mut out.data);
        data.resize(q.rows * h, 0.0);
        *out = Matrix::new(q.rows, h, data);
        out.data
            .par_chunks_mut(h)
            .zip(&owner)
            .for_each(|(row, &(s, i))| {
                let (o, n) = (&outs[s], lens[s]);
                for hd in 0..heads {
                    let src = &o[(hd * n + i) * d..(hd * n + i + 1) * d];
                    for (a, b) in row[hd * d..(hd + 1) * d].iter_mut().zip(src) {
                        *a = *b as f32;
                    }
                }
            });
        Ok(())
    }
}

/// A hand-built batch must fit the tables: lengths within the positions,
/// ids within the vocabulary and token types.
fn check_batch(batch: &Batch, lens: &[usize], c: &super::Config) -> Result<(), String> {
    if let Some(&l) = lens.iter().find(|&&l| l > c.max_position_embeddings) {
        return Err(format!(
            "batch: a sentence of {l} tokens exceeds the model's {} positions",
            c.max_position_embeddings
        ));
    }
    for (s, &l) in lens.iter().enumerate() {
        let at = s * batch.width..s * batch.width + l;
        if batch.ids[at.clone()]
            .iter()
            .any(|&i| i as usize >= c.vocab_size)
            || batch.type_ids[at]
                .iter()
                .any(|&t| t as usize >= c.type_vocab_size)
        {
            return Err(format!(
                "batch: sentence {s} has a token id beyond the vocabulary ({}) or a token type beyond {}",
                c.vocab_size, c.type_vocab_size
            ));
        }
    }
    Ok(())
}

/// `y += x` elementwise in f32.
fn add_in_place(y: &mut Matrix, x: &Matrix) {
    y.data
        .par_iter_mut()
        .zip(&x.data)
        .for_each(|(a, b)| *a += *b);
}

/// Values per parallel GELU task (a multiple of the 8 SIMD lanes).
const GELU_CHUNK: usize = 1 << 14;

/// Exact GELU in f32 (see [`super::gelu::gelu_f32`]).
pub use super::gelu::gelu_f32;

/// LayerNorm of every row in place: mean and (biased) variance in f64,
/// `(x − μ)/√(σ² + ε)·γ + β` in f64, rounded once to f32. The sums run
/// in [`LANES`] interleaved partial sums (element j into sum j mod
/// `LANES`, then the partial sums in order): one chain of f64 adds per
/// row was a latency-bound loop that took about a tenth of the int8
/// model's time; the order is fixed, so the bits are the same on every run.
fn layer_norm(x: &mut Matrix, norm: &Norm, eps: f64) {
    let h = x.cols;
    x.data.par_chunks_mut(h).for_each(|row| {
        let mean = lane_sum(row, |v| v) / h as f64;
        let var = lane_sum(row, |v| (v - mean) * (v - mean)) / h as f64;
        let inv = 1.0 / (var + eps).sqrt();
        for (j, v) in row.iter_mut().enumerate() {
            *v = ((*v as f64 - mean) * inv * norm.gain[j] as f64 + norm.bias[j] as f64) as f32;
        }
    });
}

/// Partial sums [`layer_norm`] keeps per row.
const LANES: usize = 8;

/// `Σ f(x_j)` in f64 over [`LANES`] interleaved partial sums, added in
/// order at the end.
#[inline]
fn lane_sum(row: &[f32], f: impl Fn(f64) -> f64) -> f64 {
    let mut acc = [0.0f64; LANES];
    let mut whole = row.chunks_exact(LANES);
    for c in &mut whole {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += f(v as f64);
        }
    }
    for (a, &v) in acc.iter_mut().zip(whole.remainder()) {
        *a += f(v as f64);
    }
    acc.iter().sum()
}

/// Masked mean pooling over each sentence's real tokens, then L2
/// normalisation (sums and norm in f64, one rounding to f32).
fn pool(x: &Matrix, lens: &[usize]) -> Matrix {
    let h = x.cols;
    let mut out = Matrix::zeros(lens.len(), h);
    let mut start = 0;
    for (s, &n) in lens.iter().enumerate() {
        let mut mean = vec![0.0f64; h];
        for t in start..start + n {
            for (m, &v) in mean.iter_mut().zip(x.row(t)) {
                *m += v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
        let norm = mean.iter().map(|m| m * m).sum::<f64>().sqrt().max(1e-12);
        for (o, m) in out.data[s * h..(s + 1) * h].iter_mut().zip(&mean) {
            *o = (m / norm) as f32;
        }
        start += n;
    }
    out
}
