//! `tokenizer.json` through the `tokenizers` crate (the field's standard
//! implementation; BERT WordPiece, lower-casing and accent stripping as the
//! file specifies), and the batch it produces: ids padded to the longest
//! sentence with the attention mask marking real tokens.

use std::path::Path;

use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// A tokenized batch: `sentences × width` ids, token types and mask
/// (row-major), padded on the right to the longest sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Padded length of every row (the longest sentence's token count).
    pub width: usize,
    /// Token ids (`[CLS] … [SEP]`, then padding ids).
    pub ids: Vec<u32>,
    /// Token type ids (0 for a single sentence).
    pub type_ids: Vec<u32>,
    /// 1 for a real token, 0 for padding.
    pub mask: Vec<u32>,
}

impl Batch {
    /// Sentences in the batch.
    pub fn sentences(&self) -> usize {
        self.ids.len().checked_div(self.width).unwrap_or(0)
    }

    /// Real tokens of sentence `s` (its mask's ones; the mask is a prefix).
    pub fn len(&self, s: usize) -> usize {
        self.mask[s * self.width..(s + 1) * self.width]
            .iter()
            .filter(|&&m| m == 1)
            .count()
    }

    /// Whether the batch holds no sentence.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Real token ids of sentence `s`.
    pub fn sentence_ids(&self, s: usize) -> &[u32] {
        &self.ids[s * self.width..s * self.width + self.len(s)]
    }
}

/// The model's tokenizer, set to truncate at `max_tokens` and pad a batch
/// to its longest sentence.
pub struct ModelTokenizer {
    inner: Tokenizer,
}

impl ModelTokenizer {
    /// Reads `path`; the error is one line naming it.
    pub fn load(path: &Path, max_tokens: usize) -> Result<ModelTokenizer, String> {
        let shown = path.display();
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
        let mut inner: Tokenizer = text
            .parse()
            .map_err(|e| format!("{shown}: not a tokenizer file: {e}"))?;
        inner
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                ..Default::default()
            }))
            .map_err(|e| format!("{shown}: cannot truncate at {max_tokens} tokens: {e}"))?;
        let pad = inner.get_padding().cloned().unwrap_or_default();
        inner.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..pad
        }));
        Ok(ModelTokenizer { inner })
    }

    /// Tokenizes `sentences` (with `[CLS]`/`[SEP]`) into one padded batch.
    pub fn batch(&self, sentences: &[&str]) -> Result<Batch, String> {
        let enc = self
            .inner
            .encode_batch(sentences.to_vec(), true)
            .map_err(|e| format!("tokenizer: {e}"))?;
        let width = enc.first().map_or(0, |e| e.get_ids().len());
        let mut b = Batch {
            width,
            ids: Vec::with_capacity(width * enc.len()),
            type_ids: Vec::with_capacity(width * enc.len()),
            mask: Vec::with_capacity(width * enc.len()),
        };
        for e in &enc {
            b.ids.extend_from_slice(e.get_ids());
            b.type_ids.extend_from_slice(e.get_type_ids());
            b.mask.extend_from_slice(e.get_attention_mask());
        }
        Ok(b)
    }
}
