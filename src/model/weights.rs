//! `model.safetensors`: the encoder's tensors by their Hugging Face BERT
//! names, each checked against the shape `config.json` implies.

use std::collections::HashMap;
use std::path::Path;

use super::config::Config;
use crate::tensor::Matrix;
use crate::workload::safetensors::load_tensors;

/// A linear layer: `y = x · Wᵀ + b` with `W` stored `out × in`.
#[derive(Debug, Clone, PartialEq)]
pub struct Linear {
    /// Weights, `out × in` (the layout matmul variants take).
    pub w: Matrix,
    /// Bias, `out` values.
    pub b: Vec<f32>,
}

/// A LayerNorm's gain and bias.
#[derive(Debug, Clone, PartialEq)]
pub struct Norm {
    /// Gain (γ).
    pub gain: Vec<f32>,
    /// Bias (β).
    pub bias: Vec<f32>,
}

/// One encoder layer's tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerWeights {
    /// `attention.self.query`.
    pub query: Linear,
    /// `attention.self.key`.
    pub key: Linear,
    /// `attention.self.value`.
    pub value: Linear,
    /// `attention.output.dense`.
    pub attn_out: Linear,
    /// `attention.output.LayerNorm`.
    pub attn_norm: Norm,
    /// `intermediate.dense` (hidden → FFN width).
    pub ffn_in: Linear,
    /// `output.dense` (FFN width → hidden).
    pub ffn_out: Linear,
    /// `output.LayerNorm`.
    pub ffn_norm: Norm,
}

impl LayerWeights {
    /// The six linear layers in forward order with their tensor names
    /// (`attention.self.query`, …), as per-layer overrides and workloads name them.
    pub fn linears(&self) -> [(&'static str, &Linear); 6] {
        [
            ("attention.self.query", &self.query),
            ("attention.self.key", &self.key),
            ("attention.self.value", &self.value),
            ("attention.output.dense", &self.attn_out),
            ("intermediate.dense", &self.ffn_in),
            ("output.dense", &self.ffn_out),
        ]
    }

    /// [`Self::linears`], mutable: to run the model on changed weights
    /// (the explorer's fake-quantized linears).
    pub fn linears_mut(&mut self) -> [(&'static str, &mut Linear); 6] {
        [
            ("attention.self.query", &mut self.query),
            ("attention.self.key", &mut self.key),
            ("attention.self.value", &mut self.value),
            ("attention.output.dense", &mut self.attn_out),
            ("intermediate.dense", &mut self.ffn_in),
            ("output.dense", &mut self.ffn_out),
        ]
    }
}

/// Every tensor of the encoder.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    /// Word embeddings, `vocab × hidden`.
    pub word: Matrix,
    /// Position embeddings, `max positions × hidden`.
    pub position: Matrix,
    /// Token-type embeddings, `types × hidden`.
    pub token_type: Matrix,
    /// The embeddings' LayerNorm.
    pub embed_norm: Norm,
    /// The encoder layers, first first.
    pub layers: Vec<LayerWeights>,
}

/// Loads and checks the encoder's tensors; the error is one line naming
/// `path` (a missing tensor, a wrong shape, a truncated or malformed file).
pub fn load(path: &Path, c: &Config) -> Result<Weights, String> {
    let (h, f) = (c.hidden_size, c.intermediate_size);
    // Every tensor read, with the shape it must have.
    let mut wanted: Vec<(String, Vec<usize>)> = vec![
        (
            "embeddings.word_embeddings.weight".into(),
            vec![c.vocab_size, h],
        ),
        (
            "embeddings.position_embeddings.weight".into(),
            vec![c.max_position_embeddings, h],
        ),
        (
            "embeddings.token_type_embeddings.weight".into(),
            vec![c.type_vocab_size, h],
        ),
        ("embeddings.LayerNorm.weight".into(), vec![h]),
        ("embeddings.LayerNorm.bias".into(), vec![h]),
    ];
    for l in 0..c.num_hidden_layers {
        let p = |s: &str| format!("encoder.layer.{l}.{s}");
        for (name, out, inp) in [
            ("attention.self.query", h, h),
            ("attention.self.key", h, h),
            ("attention.self.value", h, h),
            ("attention.output.dense", h, h),
            ("intermediate.dense", f, h),
            ("output.dense", h, f),
        ] {
            wanted.push((p(&format!("{name}.weight")), vec![out, inp]));
            wanted.push((p(&format!("{name}.bias")), vec![out]));
        }
        for norm in ["attention.output.LayerNorm", "output.LayerNorm"] {
            wanted.push((p(&format!("{norm}.weight")), vec![h]));
            wanted.push((p(&format!("{norm}.bias")), vec![h]));
        }
    }
    let names: Vec<String> = wanted.iter().map(|(n, _)| n.clone()).collect();
    let shown = path.display();
    let mut got: Loaded = load_tensors(path, &names)
        .map_err(|e| {
            // The loader names the file already; add which tensor was missing plainly.
            match e.strip_prefix("tensor '") {
                Some(rest) => format!(
                    "{shown}: missing tensor '{}'",
                    rest.split('\'').next().unwrap_or(rest)
                ),
                None => e,
            }
        })?
        .into_iter()
        .map(|t| (t.name, (t.shape, t.data)))
        .collect();
    for (name, shape) in &wanted {
        let (s, _) = &got[name];
        if s != shape {
            return Err(format!(
                "{shown}: tensor '{name}' has shape {s:?}, expected {shape:?} (from config.json)"
            ));
        }
    }
    let word = matrix(take(&mut got, "embeddings.word_embeddings.weight"));
    let position = matrix(take(&mut got, "embeddings.position_embeddings.weight"));
    let token_type = matrix(take(&mut got, "embeddings.token_type_embeddings.weight"));
    let embed_norm = Norm {
        gain: take(&mut got, "embeddings.LayerNorm.weight").1,
        bias: take(&mut got, "embeddings.LayerNorm.bias").1,
    };
    let mut layers = Vec::with_capacity(c.num_hidden_layers);
    for l in 0..c.num_hidden_layers {
        let mut lin = |name: &str| Linear {
            w: matrix(take(&mut got, &format!("encoder.layer.{l}.{name}.weight"))),
            b: take(&mut got, &format!("encoder.layer.{l}.{name}.bias")).1,
        };
        let query = lin("attention.self.query");
        let key = lin("attention.self.key");
        let value = lin("attention.self.value");
        let attn_out = lin("attention.output.dense");
        let ffn_in = lin("intermediate.dense");
        let ffn_out = lin("output.dense");
        let mut norm = |name: &str| Norm {
            gain: take(&mut got, &format!("encoder.layer.{l}.{name}.weight")).1,
            bias: take(&mut got, &format!("encoder.layer.{l}.{name}.bias")).1,
        };
        layers.push(LayerWeights {
            query,
            key,
            value,
            attn_out,
            attn_norm: norm("attention.output.LayerNorm"),
            ffn_in,
            ffn_out,
            ffn_norm: norm("output.LayerNorm"),
        });
    }
    Ok(Weights {
        word,
        position,
        token_type,
        embed_norm,
        layers,
    })
}

type Loaded = HashMap<String, (Vec<usize>, Vec<f32>)>;

/// Removes a tensor whose presence and shape were checked.
fn take(got: &mut Loaded, name: &str) -> (Vec<usize>, Vec<f32>) {
    got.remove(name).expect("presence checked on load")
}

/// A checked 2-D tensor as a matrix.
fn matrix((shape, data): (Vec<usize>, Vec<f32>)) -> Matrix {
    Matrix::new(shape[0], shape[1], data)
}
