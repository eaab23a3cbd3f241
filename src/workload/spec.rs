//! The workload grammar of a suite spec: a `[[workloads]]` table names a
//! distribution and its parameters with shapes (`dist = "laplace"`, `b = 2`,
//! `shapes = [[64, 1024, 256]]`), or a weight file (`file`, `tensors`, `m`),
//! or a real model's weights (`model = "DIR"`, `layer = 3`, `tensor =
//! "attention.self.query.weight"`, `m`: shorthand for the file
//! `DIR/model.safetensors` and the tensor `encoder.layer.3.<tensor>`).
//!
//! Errors carry the span of the offending value in the spec text
//! ([`SpanError`]); the suite's reader turns that span into a file and line.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::attention_spec::AttnKeys;
use super::gen::{Distribution, MAX_MAGNITUDE, MIN_MAGNITUDE};
use crate::tensor::Shape;

/// Whether parameter `key` = `v` keeps drawn values inside f32's range
/// (`nu` is a shape, not a magnitude).
fn magnitude_ok(key: &str, v: f64) -> bool {
    key == "nu" || v == 0.0 || (MIN_MAGNITUDE..=MAX_MAGNITUDE).contains(&v.abs())
}

/// The distributions a spec may name.
pub const DIST_NAMES: &[&str] = &["gaussian", "laplace", "student-t", "uniform", "llm-like"];

pub use super::span::{SpanError, MAX_ELEMENTS};

/// A value distribution of a generated workload.
#[derive(Debug, Clone, PartialEq)]
pub enum Dist {
    /// Activations and weights drawn independently from one distribution.
    Plain(Distribution),
    /// [`crate::workload::gen::llm_like`] operands.
    LlmLike,
}

/// Where a workload's matrices come from.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkloadKind {
    /// Attention Q/K/V, generated or from files (`kind = "attention"`).
    Attention(super::attention_spec::AttnWorkload),
    /// Seeded synthetic matrices of the given shapes.
    Generated {
        /// The distribution.
        dist: Dist,
        /// Shapes `[m, k, n]`.
        shapes: Vec<Shape>,
    },
    /// Weights from a file; activations `m × k` drawn Gaussian(0, 1).
    File {
        /// The file, resolved against the spec's folder.
        path: PathBuf,
        /// Tensor names or globs (empty for `.npy`, which holds one tensor).
        tensors: Vec<String>,
        /// Activation rows.
        m: usize,
    },
}

/// One workload of a suite.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// Its name in the results.
    pub name: String,
    /// The spec line of its `[[workloads]]` table (for later errors, e.g. reading its file).
    pub line: usize,
    /// Generated or from a file.
    pub kind: WorkloadKind,
}

/// A `[[workloads]]` table as written (spans kept for errors).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    name: Spanned<String>,
    dist: Option<Spanned<String>>,
    std: Option<Spanned<f64>>,
    b: Option<Spanned<f64>>,
    nu: Option<Spanned<f64>>,
    scale: Option<Spanned<f64>>,
    lo: Option<Spanned<f64>>,
    hi: Option<Spanned<f64>>,
    shapes: Option<Spanned<Vec<Spanned<Vec<usize>>>>>,
    file: Option<Spanned<String>>,
    tensors: Option<Spanned<Vec<Spanned<String>>>>,
    m: Option<Spanned<usize>>,
    model: Option<Spanned<String>>,
    layer: Option<Spanned<usize>>,
    tensor: Option<Spanned<String>>,
    // The attention keys (`kind = "attention"`, see [`super::attention_spec`]);
    // numbers and flags read as plain values so that a wrong type names the key.
    kind: Option<Spanned<toml::Value>>,
    heads: Option<Spanned<toml::Value>>,
    n: Option<Spanned<toml::Value>>,
    d: Option<Spanned<toml::Value>>,
    causal: Option<Spanned<toml::Value>>,
    phase: Option<Spanned<toml::Value>>,
    q: Option<Spanned<toml::Value>>,
    k: Option<Spanned<toml::Value>>,
    v: Option<Spanned<toml::Value>>,
    sentence: Option<Spanned<toml::Value>>,
}

impl RawWorkload {
    /// Where the table's `name` is (for errors about the name, such as a duplicate).
    pub fn name_span(&self) -> Range<usize> {
        self.name.span()
    }
}

/// Reads a `[[workloads]]` table: exactly one of `dist` and `file`, and only
/// the keys that go with it. `line_of` turns a span of the spec text into its
/// line (kept in [`Workload::line`] for later errors about the workload's file).
pub fn read(
    raw: &Spanned<RawWorkload>,
    base: &Path,
    line_of: impl Fn(Range<usize>) -> usize,
) -> Result<Workload, SpanError> {
    let w = raw.get_ref();
    let name = w.name.get_ref().trim().to_string();
    if name.is_empty() {
        return Err(SpanError::new(
            w.name.span(),
            "workloads.name: must not be empty",
        ));
    }
    let at = |span: Range<usize>, key: &str, msg: String| {
        SpanError::new(span, format!("workloads '{name}': {key}: {msg}"))
    };
    let kind = w
        .kind
        .as_ref()
        .map(|k| (k.get_ref().as_str().map(str::trim), k.span()));
    match kind {
        None | Some((Some("matmul"), _)) => {}
        Some((Some("attention"), _)) => {
            return Ok(Workload {
                kind: WorkloadKind::Attention(super::attention_spec::read(
                    &attn_keys(w),
                    base,
                    &at,
                )?),
                name,
                line: line_of(raw.span()),
            })
        }
        Some((_, span)) => {
            let v = w
                .kind
                .as_ref()
                .map(|k| k.get_ref().to_string())
                .unwrap_or_default();
            return Err(at(
                span,
                "kind",
                format!("{v} is not a workload kind (expected \"matmul\" or \"attention\")"),
            ));
        }
    }
    if let Some((key, span)) = attn_keys(w).first_attention_key() {
        return Err(at(
            span,
            key,
            "only for attention workloads (add kind = \"attention\")".into(),
        ));
    }
    let params = [
        ("std", &w.std),
        ("b", &w.b),
        ("nu", &w.nu),
        ("scale", &w.scale),
        ("lo", &w.lo),
        ("hi", &w.hi),
    ];
    let model_keys = [
        ("layer", w.layer.as_ref().map(|s| s.span())),
        ("tensor", w.tensor.as_ref().map(|s| s.span())),
    ];
    if let Some(md) = &w.model {
        if let Some(span) = w
            .dist
            .as_ref()
            .map(|d| d.span())
            .or(w.file.as_ref().map(|f| f.span()))
        {
            return Err(at(
                span,
                "model",
                "a workload has one of `dist`, `file` and `model`".into(),
            ));
        }
        return Ok(Workload {
            kind: read_model(w, md, base, &at)?,
            name,
            line: line_of(raw.span()),
        });
    }
    if let Some((key, Some(span))) = model_keys.iter().find(|(_, s)| s.is_some()) {
        return Err(at(span.clone(), key, "only for `model` workloads".into()));
    }
    let kind = match (&w.dist, &w.file) {
        (Some(_), Some(f)) => {
            return Err(at(
                f.span(),
                "file",
                "a workload has either `dist` or `file`, not both".into(),
            ))
        }
        (None, None) => {
            return Err(at(
                raw.span(),
                "dist",
                "missing: give `dist` (generated), `file` (weights from a file) or `model` (a model's weights)".into(),
            ))
        }
        (Some(d), None) => {
            for (key, span) in [
                ("file", w.file.as_ref().map(|s| s.span())),
                ("tensors", w.tensors.as_ref().map(|s| s.span())),
                ("m", w.m.as_ref().map(|s| s.span())),
            ] {
                if let Some(span) = span {
                    return Err(at(span, key, "only for `file` workloads".into()));
                }
            }
            let dist = Dist::from_params(&name, d, &params)?;
            let Some(shapes) = &w.shapes else {
                return Err(at(
                    raw.span(),
                    "shapes",
                    "missing: e.g. shapes = [[64, 1024, 256]]".into(),
                ));
            };
            if shapes.get_ref().is_empty() {
                return Err(at(shapes.span(), "shapes", "at least one is needed".into()));
            }
            let mut out = Vec::new();
            for s in shapes.get_ref() {
                let shape = parse_shape(s.get_ref()).map_err(|m| at(s.span(), "shapes", m))?;
                if out.contains(&shape) {
                    return Err(at(s.span(), "shapes", format!("{shape} is listed twice")));
                }
                out.push(shape);
            }
            WorkloadKind::Generated { dist, shapes: out }
        }
        (None, Some(f)) => {
            for (key, p) in params {
                if let Some(p) = p {
                    return Err(at(p.span(), key, "only for `dist` workloads".into()));
                }
            }
            if let Some(s) = &w.shapes {
                return Err(at(
                    s.span(),
                    "shapes",
                    "only for `dist` workloads (a file's tensors give k and n; `m` gives m)".into(),
                ));
            }
            let fname = f.get_ref().trim();
            let path = base.join(fname);
            let ext = path
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            if ext != "safetensors" && ext != "npy" {
                return Err(at(
                    f.span(),
                    "file",
                    format!("'{fname}': expected a .safetensors or .npy file"),
                ));
            }
            if !path.is_file() {
                return Err(at(
                    f.span(),
                    "file",
                    format!("'{}': no such file", path.display()),
                ));
            }
            let tensors: Vec<String> =
                match &w.tensors {
                    None if ext == "safetensors" => return Err(at(
                        raw.span(),
                        "tensors",
                        "missing: name the weight tensors (names or globs) to use from the file"
                            .into(),
                    )),
                    None => Vec::new(),
                    Some(t) if ext == "npy" => {
                        return Err(at(
                            t.span(),
                            "tensors",
                            "a .npy file holds one tensor; leave `tensors` out".into(),
                        ))
                    }
                    Some(t) => {
                        if t.get_ref().is_empty() {
                            return Err(at(t.span(), "tensors", "at least one is needed".into()));
                        }
                        let mut v = Vec::new();
                        for s in t.get_ref() {
                            let p = s.get_ref().trim();
                            glob::Pattern::new(p).map_err(|e| {
                                at(
                                    s.span(),
                                    "tensors",
                                    format!("'{p}' is not a valid glob: {e}"),
                                )
                            })?;
                            v.push(p.to_string());
                        }
                        v
                    }
                };
            let Some(m) = &w.m else {
                return Err(at(
                    raw.span(),
                    "m",
                    "missing: the number of activation rows".into(),
                ));
            };
            if *m.get_ref() == 0 {
                return Err(at(m.span(), "m", "must be at least 1".into()));
            }
            WorkloadKind::File {
                path,
                tensors,
                m: *m.get_ref(),
            }
        }
    };
    Ok(Workload {
        name,
        line: line_of(raw.span()),
        kind,
    })
}

/// The matmul-workload keys present in `w` (generated, file and model
/// workloads), with their spans, in the order the grammar lists them.
fn matmul_keys_present(w: &RawWorkload) -> Vec<(&'static str, Range<usize>)> {
    let keys = [
        ("std", w.std.as_ref().map(|s| s.span())),
        ("b", w.b.as_ref().map(|s| s.span())),
        ("nu", w.nu.as_ref().map(|s| s.span())),
        ("scale", w.scale.as_ref().map(|s| s.span())),
        ("lo", w.lo.as_ref().map(|s| s.span())),
        ("hi", w.hi.as_ref().map(|s| s.span())),
        ("shapes", w.shapes.as_ref().map(|s| s.span())),
        ("tensors", w.tensors.as_ref().map(|s| s.span())),
        ("m", w.m.as_ref().map(|s| s.span())),
        ("model", w.model.as_ref().map(|s| s.span())),
        ("layer", w.layer.as_ref().map(|s| s.span())),
        ("tensor", w.tensor.as_ref().map(|s| s.span())),
    ];
    keys.into_iter()
        .filter_map(|(k, s)| s.map(|s| (k, s)))
        .collect()
}

/// The keys an attention workload reads, and the matmul-only keys present.
fn attn_keys(w: &RawWorkload) -> AttnKeys<'_> {
    AttnKeys {
        name_span: w.name.span(),
        dist: w.dist.as_ref(),
        file: w.file.as_ref(),
        heads: w.heads.as_ref(),
        n: w.n.as_ref(),
        d: w.d.as_ref(),
        causal: w.causal.as_ref(),
        phase: w.phase.as_ref(),
        q: w.q.as_ref(),
        k: w.k.as_ref(),
        v: w.v.as_ref(),
        model: w.model.as_ref(),
        layer: w.layer.as_ref(),
        sentence: w.sentence.as_ref(),
        // `model` and `layer` also name a model's attention (its Q/K/V).
        matmul_only: matmul_keys_present(w)
            .into_iter()
            .filter(|(k, _)| !["model", "layer"].contains(k))
            .collect(),
    }
}

/// A `model` workload: the weights `encoder.layer.<layer>.<tensor>` of
/// `DIR/model.safetensors` (every layer when `layer` is left out; `tensor`
/// may be a glob), with `m` Gaussian activation rows.
fn read_model(
    w: &RawWorkload,
    md: &Spanned<String>,
    base: &Path,
    at: &dyn Fn(Range<usize>, &str, String) -> SpanError,
) -> Result<WorkloadKind, SpanError> {
    // A model workload takes `model`, `layer`, `tensor` and `m`; every other
    // matmul key belongs to a generated or file workload.
    let model_keys = ["model", "layer", "tensor", "m"];
    let others = matmul_keys_present(w);
    if let Some((key, span)) = others.iter().find(|(k, _)| !model_keys.contains(k)) {
        return Err(at(
            span.clone(),
            key,
            "not for `model` workloads (they take `layer`, `tensor` and `m`)".into(),
        ));
    }
    let dir = base.join(md.get_ref().trim());
    let path = dir.join("model.safetensors");
    if !path.is_file() {
        return Err(at(
            md.span(),
            "model",
            format!(
                "'{}': no such file (fetch the model with scripts/fetch-minilm)",
                path.display()
            ),
        ));
    }
    let Some(tensor) = &w.tensor else {
        return Err(at(
            md.span(),
            "tensor",
            "missing: the tensor within the layer, e.g. \"attention.self.query.weight\"".into(),
        ));
    };
    let layer = w
        .layer
        .as_ref()
        .map_or("*".to_string(), |l| l.get_ref().to_string());
    let name = format!("encoder.layer.{layer}.{}", tensor.get_ref().trim());
    glob::Pattern::new(&name).map_err(|e| {
        at(
            tensor.span(),
            "tensor",
            format!("'{name}' is not a valid glob: {e}"),
        )
    })?;
    let Some(m) = &w.m else {
        return Err(at(
            md.span(),
            "m",
            "missing: the number of activation rows".into(),
        ));
    };
    if *m.get_ref() == 0 {
        return Err(at(m.span(), "m", "must be at least 1".into()));
    }
    Ok(WorkloadKind::File {
        path,
        tensors: vec![name],
        m: *m.get_ref(),
    })
}

/// `[m, k, n]` with every dimension at least 1 and matrices of sane size.
fn parse_shape(v: &[usize]) -> Result<Shape, String> {
    let &[m, k, n] = v else {
        return Err(format!("{v:?} is not [m, k, n] (three numbers)"));
    };
    if m == 0 || k == 0 || n == 0 {
        return Err(format!("[{m}, {k}, {n}] has a zero dimension"));
    }
    for (what, a, b) in [("A", m, k), ("W", n, k), ("the output", m, n)] {
        if !matches!(a.checked_mul(b), Some(e) if e <= MAX_ELEMENTS) {
            return Err(format!(
                "[{m}, {k}, {n}]: {what} would have more than {MAX_ELEMENTS} elements"
            ));
        }
    }
    Ok(Shape { m, k, n })
}

impl Dist {
    /// The distribution named by `dist`, with its parameters (defaults: std 1;
    /// b 1; nu 3, scale 1; lo −1, hi 1) given as `(key, value)` pairs; `wl`
    /// is the workload's name, for errors. A parameter of another
    /// distribution is an error.
    pub fn from_params(
        wl: &str,
        d: &Spanned<String>,
        params: &[(&str, &Option<Spanned<f64>>)],
    ) -> Result<Dist, SpanError> {
        let name = d.get_ref().trim().to_ascii_lowercase();
        let allowed: &[&str] = match name.as_str() {
            "gaussian" => &["std"],
            "laplace" => &["b"],
            "student-t" => &["nu", "scale"],
            "uniform" => &["lo", "hi"],
            "llm-like" => &[],
            _ => {
                return Err(SpanError::new(
                    d.span(),
                    format!(
                        "workloads '{wl}': dist: unknown distribution '{}' (expected one of {})",
                        d.get_ref(),
                        DIST_NAMES.join(", ")
                    ),
                ))
            }
        };
        let get = |key: &str, default: f64, positive: bool| -> Result<f64, SpanError> {
            let p = params
                .iter()
                .find(|(k, _)| *k == key)
                .and_then(|(_, p)| p.as_ref());
            let Some(p) = p else { return Ok(default) };
            let v = *p.get_ref();
            if v.is_finite() && !(positive && v <= 0.0) && !magnitude_ok(key, v) {
                return Err(SpanError::new(
                    p.span(),
                    format!(
                        "workloads '{wl}': {key}: {v:e} is outside what f32 tensors can hold \
                         (|{key}| must be 0 or within [{MIN_MAGNITUDE:e}, {MAX_MAGNITUDE:e}]: \
                         larger values overflow to inf and make every metric NaN, smaller ones \
                         round to 0 and make every variant look exact)"
                    ),
                ));
            }
            if !v.is_finite() || (positive && v <= 0.0) {
                let need = if positive {
                    "a finite number > 0"
                } else {
                    "a finite number"
                };
                return Err(SpanError::new(
                    p.span(),
                    format!("workloads '{wl}': {key}: {v} is not {need}"),
                ));
            }
            Ok(v)
        };
        for (key, p) in params {
            if let Some(p) = p {
                if !allowed.contains(key) {
                    let ok = if allowed.is_empty() {
                        "it takes no parameters".to_string()
                    } else {
                        format!("it takes {}", allowed.join(", "))
                    };
                    return Err(SpanError::new(
                        p.span(),
                        format!("workloads '{wl}': {key}: not a parameter of dist '{name}' ({ok})"),
                    ));
                }
            }
        }
        Ok(match name.as_str() {
            "gaussian" => Dist::Plain(Distribution::Gaussian {
                std: get("std", 1.0, true)?,
            }),
            "laplace" => Dist::Plain(Distribution::Laplace {
                b: get("b", 1.0, true)?,
            }),
            "student-t" => Dist::Plain(Distribution::StudentT {
                nu: get("nu", 3.0, true)?,
                scale: get("scale", 1.0, true)?,
            }),
            "uniform" => {
                let lo = get("lo", -1.0, false)?;
                let hi = get("hi", 1.0, false)?;
                if lo >= hi {
                    let span = params
                        .iter()
                        .find_map(|(k, p)| p.as_ref().filter(|_| *k == "hi" || *k == "lo"))
                        .map_or(d.span(), |p| p.span());
                    return Err(SpanError::new(
                        span,
                        format!("workloads '{wl}': lo, hi: lo = {lo} must be below hi = {hi}"),
                    ));
                }
                Dist::Plain(Distribution::Uniform { lo, hi })
            }
            _ => Dist::LlmLike,
        })
    }
}
