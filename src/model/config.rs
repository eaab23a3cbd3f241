//! `config.json`: the encoder's sizes, as Hugging Face writes them for a
//! BERT model. Only the fields the forward pass needs are read; values the
//! forward does not implement (another activation, relative positions) are
//! rejected rather than silently ignored.

use serde::Deserialize;

/// The encoder's sizes and constants.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Config {
    /// Width of every hidden state (384 for MiniLM-L6).
    pub hidden_size: usize,
    /// Encoder layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer (head dimension = hidden / heads).
    pub num_attention_heads: usize,
    /// Width of the feed-forward block.
    pub intermediate_size: usize,
    /// Positions the position table holds (the longest input).
    pub max_position_embeddings: usize,
    /// Rows of the token-type table.
    pub type_vocab_size: usize,
    /// Rows of the word table.
    pub vocab_size: usize,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f64,
    /// Feed-forward activation; only `gelu` (exact, erf) is implemented.
    pub hidden_act: String,
    /// `absolute` (the only kind implemented) when present.
    #[serde(default)]
    pub position_embedding_type: Option<String>,
}

impl Config {
    /// Parses and checks `config.json`'s text; the error is the reason only
    /// (the caller names the file).
    pub fn parse(text: &str) -> Result<Config, String> {
        let c: Config =
            serde_json::from_str(text).map_err(|e| format!("not a BERT config: {e}"))?;
        if c.hidden_act != "gelu" {
            return Err(format!(
                "hidden_act '{}' is not implemented (only 'gelu', exact erf)",
                c.hidden_act
            ));
        }
        if let Some(p) = &c.position_embedding_type {
            if p != "absolute" {
                return Err(format!(
                    "position_embedding_type '{p}' is not implemented (only 'absolute')"
                ));
            }
        }
        let sizes = [
            ("hidden_size", c.hidden_size),
            ("num_hidden_layers", c.num_hidden_layers),
            ("num_attention_heads", c.num_attention_heads),
            ("intermediate_size", c.intermediate_size),
            ("max_position_embeddings", c.max_position_embeddings),
            ("type_vocab_size", c.type_vocab_size),
            ("vocab_size", c.vocab_size),
        ];
        if let Some((name, _)) = sizes.iter().find(|(_, v)| *v == 0) {
            return Err(format!("{name} is 0"));
        }
        if !c.hidden_size.is_multiple_of(c.num_attention_heads) {
            return Err(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                c.hidden_size, c.num_attention_heads
            ));
        }
        if !(c.layer_norm_eps.is_finite() && c.layer_norm_eps > 0.0) {
            return Err(format!(
                "layer_norm_eps {} must be positive",
                c.layer_norm_eps
            ));
        }
        Ok(c)
    }

    /// Head dimension: hidden size / heads.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}
