//! The attention workload grammar (`kind = "attention"` in a
//! `[[workloads]]` table):
//!
//! ```toml
//! [[workloads]]
//! name = "attn"
//! kind = "attention"
//! dist = "realistic"        # realistic (default) | gaussian
//! heads = 2
//! n = 256                   # tokens (the KV-cache length when decoding)
//! d = 64                    # head dimension (even for realistic: RoPE)
//! causal = true             # default false
//! phase = "prefill"         # prefill (default) | decode
//!
//! [[workloads]]
//! name = "mine"
//! kind = "attention"
//! q = "Q.npy"               # [heads, nq, d]; k and v [heads, nk, d]
//! k = "K.npy"
//! v = "V.npy"
//!
//! [[workloads]]
//! name = "mine-st"
//! kind = "attention"
//! file = "qkv.safetensors"  # q, k, v name tensors in it
//! q = "layer0.q"
//! k = "layer0.k"
//! v = "layer0.v"
//!
//! [[workloads]]
//! name = "minilm-l3"
//! kind = "attention"
//! model = "models/all-MiniLM-L6-v2"   # the Q/K/V layer 3's attention receives
//! layer = 3
//! sentence = 17             # of the built-in evaluation set (default: its longest)
//! ```
//!
//! Generated workloads draw Q/K/V from the suite's seeds; file and model
//! workloads are the same tensors for every seed (a model's come from its
//! f32 forward, computed when the suite runs). Their shapes are checked when the files
//! are loaded ([`super::cases::attention_cases`]).

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::attention::{AttnShape, Phase};
use super::span::{SpanError, MAX_ELEMENTS};

/// The generators an attention workload may name.
pub const ATTN_DISTS: &[&str] = &["realistic", "gaussian", "glove-like"];

/// Which seeded generator draws an attention workload's Q/K/V.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttnDist {
    /// [`super::attention::realistic`].
    Realistic,
    /// [`super::attention::gaussian`].
    Gaussian,
    /// [`super::attention::glove_like`].
    GloveLike,
}

/// One of Q, K, V in a file: a `.npy` (no name) or a tensor of a `.safetensors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorRef {
    /// The file, resolved against the spec's folder.
    pub path: PathBuf,
    /// The tensor's name in a `.safetensors` file.
    pub name: Option<String>,
}

/// Where an attention workload's Q/K/V come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttnSource {
    /// Seeded, of this shape.
    Generated {
        /// The generator.
        dist: AttnDist,
        /// The shape (decode: one query over `n` keys).
        shape: AttnShape,
    },
    /// Read from files (shapes `[heads, tokens, d]`).
    Files {
        /// Q, K and V.
        qkv: [TensorRef; 3],
        /// Whether the mask is causal.
        causal: bool,
    },
    /// What a model layer's attention receives on one evaluation sentence.
    Model {
        /// The model folder, resolved against the spec's folder.
        dir: PathBuf,
        /// The encoder layer.
        layer: usize,
        /// The sentence's index in the built-in evaluation set (None: the longest).
        sentence: Option<usize>,
    },
}

/// An attention workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttnWorkload {
    /// Where its Q/K/V come from.
    pub source: AttnSource,
}

type At<'a> = &'a dyn Fn(Range<usize>, &str, String) -> SpanError;

/// The keys of a `[[workloads]]` table an attention workload reads (the
/// spec's reader fills it), with the matmul-only keys the table has.
pub struct AttnKeys<'a> {
    /// Where the table's `name` is (errors about missing keys point there).
    pub name_span: Range<usize>,
    /// `dist`.
    pub dist: Option<&'a Spanned<String>>,
    /// `file`.
    pub file: Option<&'a Spanned<String>>,
    /// `heads`.
    pub heads: Option<&'a Spanned<toml::Value>>,
    /// `n`.
    pub n: Option<&'a Spanned<toml::Value>>,
    /// `d`.
    pub d: Option<&'a Spanned<toml::Value>>,
    /// `causal`.
    pub causal: Option<&'a Spanned<toml::Value>>,
    /// `phase`.
    pub phase: Option<&'a Spanned<toml::Value>>,
    /// `q`.
    pub q: Option<&'a Spanned<toml::Value>>,
    /// `k`.
    pub k: Option<&'a Spanned<toml::Value>>,
    /// `v`.
    pub v: Option<&'a Spanned<toml::Value>>,
    /// `model`.
    pub model: Option<&'a Spanned<String>>,
    /// `layer`.
    pub layer: Option<&'a Spanned<usize>>,
    /// `sentence`.
    pub sentence: Option<&'a Spanned<toml::Value>>,
    /// The matmul-only keys present, with their spans.
    pub matmul_only: Vec<(&'static str, Range<usize>)>,
}

impl AttnKeys<'_> {
    /// The first key only attention workloads take, with its span.
    pub fn first_attention_key(&self) -> Option<(&'static str, Range<usize>)> {
        [
            ("heads", self.heads),
            ("n", self.n),
            ("d", self.d),
            ("causal", self.causal),
            ("phase", self.phase),
            ("q", self.q),
            ("k", self.k),
            ("v", self.v),
            ("sentence", self.sentence),
        ]
        .into_iter()
        .find_map(|(k, s)| s.map(|s| (k, s.span())))
    }
}

/// A positive whole number.
fn count(v: &Spanned<toml::Value>, key: &str, at: At) -> Result<usize, SpanError> {
    match v.get_ref() {
        toml::Value::Integer(n) if *n >= 1 => Ok(*n as usize),
        other => Err(at(
            v.span(),
            key,
            format!("{other} is not a whole number of at least 1"),
        )),
    }
}

/// A string value.
fn text<'v>(v: &'v Spanned<toml::Value>, key: &str, at: At) -> Result<&'v str, SpanError> {
    match v.get_ref() {
        toml::Value::String(s) if !s.trim().is_empty() => Ok(s.trim()),
        toml::Value::String(_) => Err(at(v.span(), key, "must not be empty".into())),
        other => Err(at(v.span(), key, format!("{other} is not a string"))),
    }
}

/// Reads an attention workload (its `kind` is `attention`); `at` makes an
/// error naming the workload and the key.
pub fn read(w: &AttnKeys, base: &Path, at: At) -> Result<AttnWorkload, SpanError> {
    if let Some((key, span)) = w.matmul_only.first() {
        return Err(at(
            span.clone(),
            key,
            "not for attention workloads (they take dist, heads, n, d, causal, phase; or q, k, v and file)"
                .into(),
        ));
    }
    let causal = match &w.causal {
        None => false,
        Some(c) => match c.get_ref() {
            toml::Value::Boolean(b) => *b,
            other => {
                return Err(at(
                    c.span(),
                    "causal",
                    format!("{other} is not true or false"),
                ))
            }
        },
    };
    if let Some(model) = w.model {
        return read_model(w, model, base, at);
    }
    for (key, span) in [
        ("layer", w.layer.map(|s| s.span())),
        ("sentence", w.sentence.map(|s| s.span())),
    ] {
        if let Some(span) = span {
            return Err(at(
                span,
                key,
                "only for attention workloads from a model (add model = DIR)".into(),
            ));
        }
    }
    let files = [w.q, w.k, w.v];
    if files.iter().any(|f| f.is_some()) || w.file.is_some() {
        return read_files(w, base, causal, at);
    }
    let dist = match &w.dist {
        None => AttnDist::Realistic,
        Some(d) => match d.get_ref().trim() {
            "realistic" => AttnDist::Realistic,
            "gaussian" => AttnDist::Gaussian,
            "glove-like" => AttnDist::GloveLike,
            other => {
                return Err(at(
                    d.span(),
                    "dist",
                    format!(
                        "'{other}' is not an attention workload generator (expected one of {})",
                        ATTN_DISTS.join(", ")
                    ),
                ))
            }
        },
    };
    let need = |v: Option<&Spanned<toml::Value>>, key: &str, eg: &str| match v {
        None => Err(at(
            w.name_span.clone(),
            key,
            format!("missing: e.g. {key} = {eg}"),
        )),
        Some(v) => count(v, key, at),
    };
    let heads = need(w.heads, "heads", "2")?;
    let n = need(w.n, "n", "256")?;
    let d = need(w.d, "d", "64")?;
    if dist == AttnDist::Realistic && !d.is_multiple_of(2) {
        let span =
            w.d.as_ref()
                .map(|s| s.span())
                .unwrap_or(w.name_span.clone());
        return Err(at(
            span,
            "d",
            format!("{d} is odd: the realistic generator's RoPE needs an even head dimension"),
        ));
    }
    let phase = match &w.phase {
        None => Phase::Prefill,
        Some(p) => match text(p, "phase", at)? {
            "prefill" => Phase::Prefill,
            "decode" => Phase::Decode,
            other => {
                return Err(at(
                    p.span(),
                    "phase",
                    format!("'{other}' is not a phase (expected prefill or decode)"),
                ))
            }
        },
    };
    let shape = AttnShape::of(heads, n, d, causal, phase);
    check_size(shape).map_err(|m| {
        let span =
            w.n.as_ref()
                .map(|s| s.span())
                .unwrap_or(w.name_span.clone());
        at(span, "n", m)
    })?;
    Ok(AttnWorkload {
        source: AttnSource::Generated { dist, shape },
    })
}

/// Q/K/V of a model layer's attention on one evaluation sentence
/// (`model`, `layer`, optional `sentence`).
fn read_model(
    w: &AttnKeys,
    model: &Spanned<String>,
    base: &Path,
    at: At,
) -> Result<AttnWorkload, SpanError> {
    for (key, span) in [
        ("dist", w.dist.map(|s| s.span())),
        ("file", w.file.map(|s| s.span())),
        ("heads", w.heads.map(|s| s.span())),
        ("n", w.n.map(|s| s.span())),
        ("d", w.d.map(|s| s.span())),
        ("causal", w.causal.map(|s| s.span())),
        ("phase", w.phase.map(|s| s.span())),
        ("q", w.q.map(|s| s.span())),
        ("k", w.k.map(|s| s.span())),
        ("v", w.v.map(|s| s.span())),
    ] {
        if let Some(span) = span {
            return Err(at(
                span,
                key,
                "not for attention workloads from a model (the model gives the shape: its heads, head dimension and the sentence's tokens, unmasked)".into(),
            ));
        }
    }
    let dir = base.join(model.get_ref().trim());
    if !dir.join("model.safetensors").is_file() {
        return Err(at(
            model.span(),
            "model",
            format!(
                "'{}': no model.safetensors there (fetch the model with scripts/fetch-minilm)",
                dir.display()
            ),
        ));
    }
    let Some(layer) = w.layer else {
        return Err(at(
            w.name_span.clone(),
            "layer",
            "missing: the encoder layer whose attention inputs to take, e.g. layer = 3".into(),
        ));
    };
    let sentence = match w.sentence {
        None => None,
        Some(s) => match s.get_ref() {
            toml::Value::Integer(i) if *i >= 0 => Some(*i as usize),
            other => {
                return Err(at(
                    s.span(),
                    "sentence",
                    format!("{other} is not an index of the evaluation set's sentences (0, 1, …)"),
                ))
            }
        },
    };
    Ok(AttnWorkload {
        source: AttnSource::Model {
            dir,
            layer: *layer.get_ref(),
            sentence,
        },
    })
}

/// Q/K/V from `.npy` files (`q`, `k`, `v`) or tensors of one `.safetensors`
/// (`file` with `q`, `k`, `v` naming tensors).
fn read_files(w: &AttnKeys, base: &Path, causal: bool, at: At) -> Result<AttnWorkload, SpanError> {
    for (key, span) in [
        ("dist", w.dist.as_ref().map(|s| s.span())),
        ("heads", w.heads.as_ref().map(|s| s.span())),
        ("n", w.n.as_ref().map(|s| s.span())),
        ("d", w.d.as_ref().map(|s| s.span())),
        ("phase", w.phase.as_ref().map(|s| s.span())),
    ] {
        if let Some(span) = span {
            return Err(at(
                span,
                key,
                "not for attention workloads from files (the tensors' shapes [heads, tokens, d] give the shape)"
                    .into(),
            ));
        }
    }
    let container = match &w.file {
        None => None,
        Some(f) => {
            let fname = f.get_ref().trim();
            let path = base.join(fname);
            if !fname.to_ascii_lowercase().ends_with(".safetensors") {
                return Err(at(
                    f.span(),
                    "file",
                    format!("'{fname}': expected a .safetensors file (or leave `file` out and give q, k, v as .npy files)"),
                ));
            }
            if !path.is_file() {
                return Err(at(
                    f.span(),
                    "file",
                    format!("'{}': no such file", path.display()),
                ));
            }
            Some(path)
        }
    };
    let given = [("q", w.q), ("k", w.k), ("v", w.v)];
    if let Some((key, _)) = given.iter().find(|(_, v)| v.is_none()) {
        return Err(at(
            w.name_span.clone(),
            key,
            "missing: an attention workload from files needs q, k and v".into(),
        ));
    }
    let mut refs = Vec::new();
    for (key, v) in given {
        let Some(v) = v else { continue };
        let s = text(v, key, at)?;
        refs.push(match &container {
            Some(path) => TensorRef {
                path: path.clone(),
                name: Some(s.to_string()),
            },
            None => {
                let path = base.join(s);
                if !s.to_ascii_lowercase().ends_with(".npy") {
                    return Err(at(
                        v.span(),
                        key,
                        format!("'{s}': expected a .npy file (or name a tensor of `file = \"….safetensors\"`)"),
                    ));
                }
                if !path.is_file() {
                    return Err(at(v.span(), key, format!("'{}': no such file", path.display())));
                }
                TensorRef { path, name: None }
            }
        });
    }
    let [q, k, v]: [TensorRef; 3] = refs.try_into().expect("three tensors");
    Ok(AttnWorkload {
        source: AttnSource::Files {
            qkv: [q, k, v],
            causal,
        },
    })
}

/// Refuses shapes whose tensors or scores would not fit (a typo's extra zero).
pub fn check_size(s: AttnShape) -> Result<(), String> {
    let q = s.heads.checked_mul(s.nq).and_then(|x| x.checked_mul(s.d));
    let kv = s.heads.checked_mul(s.nk).and_then(|x| x.checked_mul(s.d));
    let scores = s.heads.checked_mul(s.nq).and_then(|x| x.checked_mul(s.nk));
    for (what, e) in [("Q", q), ("K and V", kv), ("the scores", scores)] {
        if !matches!(e, Some(e) if e <= MAX_ELEMENTS) {
            return Err(format!(
                "{s}: {what} would have more than {MAX_ELEMENTS} elements"
            ));
        }
    }
    Ok(())
}
