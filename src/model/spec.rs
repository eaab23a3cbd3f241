//! [`ModelSpec`]: which matmul variant every linear layer runs on and which
//! attention variant every attention runs on, with per-layer overrides
//! (`0=matmul/bf16` keeps layer 0's linears in bf16).

use crate::attention::{self, AttentionVariant};
use crate::variants::{self, MatmulVariant};

/// The matmul variant of the reference path: a CPU FMA GEMM in f32.
pub const DEFAULT_MATMUL: &str = "matmul/f32-fma";
/// The attention variant of the reference path: FlashAttention-tiled f32
/// (exact softmax, online rescaling; it has a native kernel).
pub const DEFAULT_ATTENTION: &str = "attention/flash-f32";

/// How the model computes: variants for every layer, overrides per layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    /// Matmul variant of every linear layer without an override.
    pub matmul: String,
    /// Attention variant of every layer without an override.
    pub attention: String,
    /// Per-layer overrides, applied in order (a later one wins).
    pub overrides: Vec<LayerOverride>,
    /// Run a variant's native kernel where it has one (same bits as its
    /// emulation, faster); `false` runs every emulation.
    pub native: bool,
    /// Seed handed to the matmul emulations (stochastic rounding).
    pub seed: u64,
}

impl Default for ModelSpec {
    /// The f32 reference: [`DEFAULT_MATMUL`], [`DEFAULT_ATTENTION`], native kernels on.
    fn default() -> Self {
        ModelSpec {
            matmul: DEFAULT_MATMUL.to_string(),
            attention: DEFAULT_ATTENTION.to_string(),
            overrides: Vec::new(),
            native: true,
            seed: 0,
        }
    }
}

/// One layer on another variant: a matmul variant (its six linears) or an
/// attention variant, by the name's prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerOverride {
    /// Encoder layer, from 0.
    pub layer: usize,
    /// A `matmul/…` or `attention/…` registry name.
    pub variant: String,
}

impl LayerOverride {
    /// Parses `L=VARIANT` (`0=matmul/bf16`, `5=attention/f64`); the error is
    /// the reason only.
    pub fn parse(text: &str) -> Result<LayerOverride, String> {
        let (l, v) = text
            .split_once('=')
            .ok_or("expected LAYER=VARIANT, e.g. 0=matmul/bf16")?;
        let layer = l
            .trim()
            .parse()
            .map_err(|_| format!("layer '{l}' is not a non-negative integer"))?;
        Ok(LayerOverride {
            layer,
            variant: v.trim().to_string(),
        })
    }
}

/// The variants of one layer, resolved from a spec.
pub struct LayerVariants {
    /// The six linears' matmul variant.
    pub matmul: Box<dyn MatmulVariant>,
    /// The attention variant.
    pub attention: Box<dyn AttentionVariant>,
}

impl ModelSpec {
    /// The variants of each of `layers` layers; the error names the bad part
    /// of the spec and why.
    pub fn resolve(&self, layers: usize) -> Result<Vec<LayerVariants>, (String, String)> {
        let matmul = |name: &str, input: &str| {
            variants::find(name).ok_or_else(|| {
                (
                    input.to_string(),
                    format!("unknown matmul variant '{name}' (see `bitsim variants list`)"),
                )
            })
        };
        let attn = |name: &str, input: &str| {
            attention::find(name).ok_or_else(|| {
                (
                    input.to_string(),
                    format!("unknown attention variant '{name}' (see `bitsim variants list`)"),
                )
            })
        };
        let mut names: Vec<(String, String)> =
            vec![(self.matmul.clone(), self.attention.clone()); layers];
        for o in &self.overrides {
            let input = format!("layer override '{}={}'", o.layer, o.variant);
            let slot = names.get_mut(o.layer).ok_or_else(|| {
                (
                    input.clone(),
                    format!(
                        "the model has {layers} layers (0 to {})",
                        layers.saturating_sub(1)
                    ),
                )
            })?;
            if o.variant.starts_with("matmul/") {
                slot.0 = o.variant.clone();
            } else if o.variant.starts_with("attention/") {
                slot.1 = o.variant.clone();
            } else {
                return Err((
                    input,
                    "the variant must be a matmul/… or attention/… name".to_string(),
                ));
            }
        }
        // Check the defaults even when every layer overrides them.
        matmul(&self.matmul, "matmul variant")?;
        attn(&self.attention, "attention variant")?;
        names
            .iter()
            .map(|(m, a)| {
                Ok(LayerVariants {
                    matmul: matmul(m, "layer override")?,
                    attention: attn(a, "layer override")?,
                })
            })
            .collect()
    }
}
