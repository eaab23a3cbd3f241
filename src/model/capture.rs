//! The model's real tensors, taken from the f32 reference forward: the
//! activations entering each linear layer (for the format explorer) and the
//! Q/K/V each layer's attention receives (attention workloads).
//!
//! Activations are named like the weights they meet:
//! `encoder.layer.L.LINEAR.input` beside `encoder.layer.L.LINEAR.weight`
//! (`LINEAR` one of [`super::weights::LayerWeights::linears`]).

use super::{Model, ModelError, ModelSpec, Tap};
use crate::attention::Qkv;
use crate::tensor::Matrix;

/// The name of the activation entering `linear` of `layer`.
pub fn activation_name(layer: usize, linear: &str) -> String {
    format!("encoder.layer.{layer}.{linear}.input")
}

impl Model {
    /// The inputs of the linear layers whose [`activation_name`] `want`
    /// accepts, on the f32 reference path over `sentences` (the real tokens,
    /// packed sentence after sentence: `tokens × in_features` each), in
    /// forward order.
    pub fn activations(
        &self,
        sentences: &[&str],
        want: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<(String, Matrix)>, ModelError> {
        let batch = self.tokenize(sentences)?;
        let mut out = Vec::new();
        self.prepare(&ModelSpec::default())?
            .forward_tapped(&batch, &mut |t| {
                if let Tap::LinearInput {
                    layer,
                    linear,
                    input,
                } = t
                {
                    let name = activation_name(layer, linear);
                    if want(&name) {
                        out.push((name, input.clone()));
                    }
                }
            })
            .map_err(|e| ModelError::new("the f32 forward", e))?;
        Ok(out)
    }

    /// Sentence `index` of the built-in evaluation set, or (None) its
    /// longest sentence in tokens (the first of the longest).
    pub fn eval_sentence(&self, index: Option<usize>) -> Result<String, ModelError> {
        let set = crate::workload::eval_set::EvalSet::builtin()
            .map_err(|e| ModelError::new("the built-in evaluation set", e.to_string()))?;
        let all = set.sentences();
        match index {
            Some(i) => all.get(i).map(|s| s.to_string()).ok_or_else(|| {
                ModelError::new(
                    format!("sentence {i}"),
                    format!(
                        "the evaluation set has sentences 0 to {}",
                        all.len().saturating_sub(1)
                    ),
                )
            }),
            None => {
                let batch = self.tokenize(&all)?;
                let longest = (0..all.len())
                    .rev()
                    .max_by_key(|&s| batch.len(s))
                    .ok_or_else(|| ModelError::new("the evaluation set", "has no sentence"))?;
                Ok(all[longest].to_string())
            }
        }
    }

    /// The Q, K and V (heads × tokens × head dim) that layer `layer`'s
    /// attention receives for `sentence` on the f32 reference path.
    pub fn attention_inputs(&self, sentence: &str, layer: usize) -> Result<Qkv, ModelError> {
        let layers = self.config.num_hidden_layers;
        if layer >= layers {
            return Err(ModelError::new(
                format!("layer {layer}"),
                format!("the model has layers 0 to {}", layers.saturating_sub(1)),
            ));
        }
        let batch = self.tokenize(&[sentence])?;
        let mut got = None;
        self.prepare(&ModelSpec::default())?
            .forward_tapped(&batch, &mut |t| {
                if let Tap::Attention { layer: l, qkv, .. } = t {
                    if l == layer {
                        got = Some(qkv.clone());
                    }
                }
            })
            .map_err(|e| ModelError::new("the f32 forward", e))?;
        got.ok_or_else(|| ModelError::new(format!("layer {layer}"), "its attention never ran"))
    }
}
