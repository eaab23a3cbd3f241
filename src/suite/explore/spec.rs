//! The explorer's spec: the `[explore]` table of a TOML file (a suite file
//! may hold one; `bitsim report` ignores it), with the space, the
//! constraint and the tensors.
//!
//! ```toml
//! name = "explore"                  # optional (default "explore")
//! out = "reports/explore"           # optional
//!
//! [explore]
//! elements = ["float:3-8", "int:2-8", "uint:2-8", "e4m3"]   # ranges or names
//! nonfinite = "finite"              # style of generated minifloats: finite | fn | ieee
//! blocks = ["tensor", "channel", "g32"]
//! scales = ["e8m0", "e4m3", "fp16", "bf16", "f32"]
//! rules = ["floor", "ceil", "rceil", "even", "mse", "absmax", "minmax", "nv"]
//! max_bits = 9.0                    # bits per element incl. block scales (≤)
//! known = true                      # add MXFP4, NVFP4, … (config::KNOWN)
//! partner = "int8:symmetric/channel/f32/absmax"   # activations of the matmul check
//! matmul_rows = 64                  # weight rows in the matmul check
//! matmul_m = 8                      # activation rows in the matmul check
//! energy = "energy-45nm"
//! seed = 0
//!
//! [[explore.tensors]]
//! name = "w0"
//! role = "weight"                   # weight | activation
//! dist = "student-t"                # gaussian (std) | laplace (b) | student-t (nu, scale) | uniform (lo, hi) | llm-like
//! nu = 4.0
//! scale = 0.02
//! rows = 1024
//! cols = 1024
//!
//! [[explore.tensors]]
//! name = "ckpt"
//! role = "weight"
//! file = "model.safetensors"        # or a .npy; relative to the spec's folder
//! tensors = ["*.weight"]
//!
//! [[explore.tensors]]
//! name = "minilm-act"
//! role = "activation"               # a model's tensors are the activations its linears meet
//! model = "models/all-MiniLM-L6-v2" # the model folder; the f32 forward over the evaluation set
//! tensors = ["*.query.input"]       # globs of encoder.layer.L.LINEAR.input
//! sentences = 64                    # the first N sentences of the built-in evaluation set (default 64)
//!
//! [explore.model]                   # optional: the model-level score of the best candidates
//! model = "models/all-MiniLM-L6-v2" # the model folder, relative to the spec's folder
//! sentences = 128                   # the first N evaluation-set sentences (default: all of them)
//! max_candidates = 16               # thin the bits × SQNR front to N points (default: all)
//! known = true                      # also score the known formats of the space (default true)
//! ```
//!
//! The space is the product elements × blocks × scales × rules, keeping the
//! combinations that go together ([`Config::check`]) and meet `max_bits`,
//! then the known formats. Errors name the file, the line (where the key is
//! written in it) and the key.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::config::{Block, Config, Element, Rule, KNOWN};
use crate::formats::{parse, ElementFormat, MiniFloat};
use crate::workload::gen::Distribution;

/// The built-in spec (`bitsim explore` without `--spec`).
pub const DEFAULT_SPEC: &str = include_str!("../../../bench-suites/explore.toml");

/// The name the built-in spec reports errors under.
pub const DEFAULT_SPEC_NAME: &str = "<built-in bench-suites/explore.toml>";

/// A tensor's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A weight matrix (also gets the matmul check).
    Weight,
    /// An activation matrix.
    Activation,
}

/// Where a tensor comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Drawn from a distribution (`llm-like`: `None`, the suite's LLM-like
    /// weights or activations by role).
    Synthetic {
        /// The distribution (None for llm-like).
        dist: Option<Distribution>,
        /// Rows.
        rows: usize,
        /// Columns.
        cols: usize,
    },
    /// Tensors of a `.safetensors` / `.npy` file.
    File {
        /// The file (resolved against the spec's folder).
        path: PathBuf,
        /// Names or globs (empty: all).
        tensors: Vec<String>,
    },
    /// The activations entering a model's linear layers
    /// (`encoder.layer.L.LINEAR.input`) on its f32 forward over the first
    /// `sentences` sentences of the built-in evaluation set.
    Model {
        /// The model folder (resolved against the spec's folder).
        dir: PathBuf,
        /// Globs of activation names.
        tensors: Vec<String>,
        /// How many evaluation-set sentences.
        sentences: usize,
    },
}

/// Evaluation-set sentences a model tensor runs when `sentences` is left out.
pub const DEFAULT_MODEL_SENTENCES: usize = 64;

/// A `[[explore.tensors]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorSpec {
    /// Name in the results (file tensors: `NAME/TENSOR` when several).
    pub name: String,
    /// Weight or activation.
    pub role: Role,
    /// Where its values come from.
    pub source: Source,
}

/// A parsed and checked explorer spec.
#[derive(Debug, Clone, PartialEq)]
pub struct ExploreSpec {
    /// Run name (the results' suite column).
    pub name: String,
    /// The file, as named (for errors).
    pub file: String,
    /// Output folder.
    pub out: PathBuf,
    /// The configurations, in canonical order (space first, then known formats not in it).
    pub configs: Vec<Config>,
    /// The tensors.
    pub tensors: Vec<TensorSpec>,
    /// The matmul check's activation configuration.
    pub partner: Config,
    /// Weight rows in the matmul check.
    pub matmul_rows: usize,
    /// Activation rows in the matmul check.
    pub matmul_m: usize,
    /// Energy table name or path.
    pub energy: String,
    /// Seed of synthetic tensors and the matmul check's activations.
    pub seed: u64,
    /// The `[explore.model]` table: score the best candidates on a real model.
    pub model: Option<ModelTable>,
}

/// The `[explore.model]` table: after the sweep, the configurations on the
/// bits × SQNR front (and the known formats) are applied to the model's
/// linear-layer weights and scored with the real-model study's embedding
/// metrics (see [`super::model`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelTable {
    /// The model folder (resolved against the spec's folder).
    pub dir: PathBuf,
    /// The folder as written in the spec (what the results record).
    pub written: String,
    /// The first N sentences of the built-in evaluation set (`None`: all).
    pub sentences: Option<usize>,
    /// Thin the front to at most this many candidates, evenly along it (`None`: all).
    pub max_candidates: Option<usize>,
    /// Also score the known formats of the space.
    pub known: bool,
}

#[derive(Deserialize)]
struct RawFile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    out: Option<String>,
    explore: Option<RawExplore>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExplore {
    #[serde(default)]
    elements: Option<Vec<String>>,
    #[serde(default)]
    nonfinite: Option<String>,
    #[serde(default)]
    blocks: Option<Vec<String>>,
    #[serde(default)]
    scales: Option<Vec<String>>,
    #[serde(default)]
    rules: Option<Vec<String>>,
    #[serde(default)]
    max_bits: Option<f64>,
    #[serde(default)]
    known: Option<bool>,
    #[serde(default)]
    partner: Option<String>,
    #[serde(default)]
    matmul_rows: Option<usize>,
    #[serde(default)]
    matmul_m: Option<usize>,
    #[serde(default)]
    energy: Option<String>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    tensors: Vec<RawTensor>,
    #[serde(default)]
    model: Option<RawModel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    model: Option<String>,
    sentences: Option<usize>,
    max_candidates: Option<usize>,
    known: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTensor {
    name: String,
    role: Role,
    dist: Option<String>,
    std: Option<f64>,
    b: Option<f64>,
    nu: Option<f64>,
    scale: Option<f64>,
    lo: Option<f64>,
    hi: Option<f64>,
    rows: Option<usize>,
    cols: Option<usize>,
    file: Option<String>,
    model: Option<String>,
    sentences: Option<usize>,
    tensors: Option<Vec<String>>,
}

/// Reads a spec file.
pub fn load(path: &Path) -> Result<ExploreSpec, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse_spec(&text, &path.display().to_string(), base)
}

/// The built-in spec.
pub fn default_spec() -> Result<ExploreSpec, String> {
    parse_spec(DEFAULT_SPEC, DEFAULT_SPEC_NAME, Path::new("."))
}

/// Parses spec text; `file` names it in errors, `base` resolves relative files.
pub fn parse_spec(text: &str, file: &str, base: &Path) -> Result<ExploreSpec, String> {
    // `FILE line N: KEY: reason` where the key is written in the file;
    // a default that was left out has no line.
    let lines = crate::datafile::key_lines(text);
    let at_line = |path: &str, key: &str, msg: String| match lines.get(path) {
        Some(l) => format!("{file} line {l}: {key}: {msg}"),
        None => format!("{file}: {key}: {msg}"),
    };
    let at = |key: &str, msg: String| at_line(key, key, msg);
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let msg = e.message().to_string();
        match e.span() {
            Some(s) => {
                let line = crate::datafile::line_of(text, s.start);
                match crate::datafile::key_at(text, s.start) {
                    Some(key) => format!("{file} line {line}: {key}: {msg}"),
                    None => format!("{file} line {line}: {msg}"),
                }
            }
            None => format!("{file}: {msg}"),
        }
    })?;
    let x = raw
        .explore
        .ok_or_else(|| format!("{file}: explore: no [explore] table"))?;
    let nonfinite = x.nonfinite.unwrap_or_else(|| "finite".into());
    if !["finite", "fn", "ieee", "fnuz"].contains(&nonfinite.as_str()) {
        return Err(at(
            "explore.nonfinite",
            format!("'{nonfinite}' is not finite, fn, fnuz or ieee"),
        ));
    }
    let list = |v: Option<Vec<String>>, d: &[&str]| {
        v.unwrap_or_else(|| d.iter().map(|s| s.to_string()).collect())
    };
    let mut elements = Vec::new();
    for e in list(x.elements, &["float:3-8", "int:2-8"]) {
        let got = expand_element(&e, &nonfinite).map_err(|m| at("explore.elements", m))?;
        elements.extend(got);
    }
    let blocks = list(
        x.blocks,
        &["tensor", "channel", "g16", "g32", "g64", "g128"],
    )
    .iter()
    .map(|b| Block::parse(b))
    .collect::<Result<Vec<_>, _>>()
    .map_err(|m| at("explore.blocks", m))?;
    let scales = list(x.scales, &["e8m0", "e4m3", "bf16"])
        .iter()
        .map(|s| scale_format(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|m| at("explore.scales", m))?;
    let rules = list(x.rules, &["floor", "rceil", "absmax", "mse"])
        .iter()
        .map(|r| Rule::parse(r))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|m| at("explore.rules", m))?;
    for (key, empty) in [
        ("explore.elements", elements.is_empty()),
        ("explore.blocks", blocks.is_empty()),
        ("explore.scales", scales.is_empty()),
        ("explore.rules", rules.is_empty()),
    ] {
        if empty {
            return Err(at(key, "the space is empty (list at least one)".into()));
        }
    }
    let max_bits = x.max_bits.unwrap_or(9.0);
    if !(max_bits.is_finite() && max_bits > 0.0) {
        return Err(at(
            "explore.max_bits",
            format!("{max_bits} is not a positive number"),
        ));
    }
    let mut configs: Vec<Config> = Vec::new();
    let mut combos = 0usize;
    for e in &elements {
        for b in &blocks {
            for s in &scales {
                for r in &rules {
                    let c = Config {
                        element: *e,
                        block: *b,
                        scale: *s,
                        rule: *r,
                    };
                    if c.check().is_err() {
                        continue;
                    }
                    combos += 1;
                    if c.nominal_bits() <= max_bits && !configs.contains(&c) {
                        configs.push(c);
                    }
                }
            }
        }
    }
    if combos == 0 {
        return Err(at(
            "explore.rules",
            "no element, scale and rule of the space go together (e.g. floor/ceil/rceil/even need an e8m0 scale, absmax/mse another, minmax a uintN element)".into(),
        ));
    }
    if configs.is_empty() {
        return Err(at(
            "explore.max_bits",
            format!("no configuration has at most {max_bits} bits per element"),
        ));
    }
    if x.known.unwrap_or(true) {
        for (_, k) in KNOWN {
            let c = Config::parse(k).map_err(|m| at("explore.known", m))?;
            if !configs.contains(&c) {
                configs.push(c);
            }
        }
    }
    let partner_s = x
        .partner
        .unwrap_or_else(|| "int8:symmetric/channel/f32/absmax".into());
    let partner = Config::parse(&partner_s).map_err(|m| at("explore.partner", m))?;
    let matmul_rows = x.matmul_rows.unwrap_or(64);
    let matmul_m = x.matmul_m.unwrap_or(8);
    if matmul_m == 0 {
        return Err(at("explore.matmul_m", "must be at least 1".into()));
    }
    if x.tensors.is_empty() {
        return Err(at(
            "explore.tensors",
            "at least one [[explore.tensors]] is needed".into(),
        ));
    }
    let model = match x.model {
        Some(m) => Some(model_table(m, base).map_err(|(key, m)| {
            let path = format!("explore.model.{key}");
            if lines.contains_key(&path) {
                at(&path, m)
            } else {
                at_line("explore.model", &path, m)
            }
        })?),
        None => None,
    };
    let mut tensors = Vec::new();
    for (i, t) in x.tensors.into_iter().enumerate() {
        let key = format!("explore.tensors '{}'", t.name);
        let name_path = format!("explore.tensors.{i}.name");
        if t.name.trim().is_empty() || t.name.contains(',') {
            return Err(at_line(
                &name_path,
                "explore.tensors.name",
                format!("'{}' is empty or has a comma", t.name),
            ));
        }
        if tensors.iter().any(|o: &TensorSpec| o.name == t.name) {
            return Err(at_line(
                &name_path,
                "explore.tensors.name",
                format!("'{}' is used twice", t.name),
            ));
        }
        // The line of the tensor's key at fault, else of the tensor itself.
        let source = tensor_source(&t, base).map_err(|(sub, m)| {
            let sub_path = format!("explore.tensors.{i}.{sub}");
            let path = if lines.contains_key(&sub_path) {
                sub_path
            } else {
                format!("explore.tensors.{i}")
            };
            at_line(&path, &key, format!("{sub}: {m}"))
        })?;
        tensors.push(TensorSpec {
            name: t.name,
            role: t.role,
            source,
        });
    }
    Ok(ExploreSpec {
        name: raw.name.unwrap_or_else(|| "explore".into()),
        file: file.to_string(),
        out: PathBuf::from(raw.out.unwrap_or_else(|| "reports/explore".into())),
        configs,
        tensors,
        partner,
        matmul_rows,
        matmul_m,
        energy: x.energy.unwrap_or_else(|| "energy-45nm".into()),
        seed: x.seed.unwrap_or(0),
        model,
    })
}

/// The `[explore.model]` table; an error names the key at fault and the reason.
fn model_table(m: RawModel, base: &Path) -> Result<ModelTable, (&'static str, String)> {
    let written = m.model.ok_or((
        "model",
        "missing (the model folder, e.g. \"models/all-MiniLM-L6-v2\")".to_string(),
    ))?;
    let p = Path::new(written.trim());
    let dir = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    };
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        if !dir.join(f).is_file() {
            return Err((
                "model",
                format!(
                    "'{}': no {f} there ({})",
                    dir.display(),
                    crate::model::FETCH_HINT
                ),
            ));
        }
    }
    if m.sentences == Some(0) {
        return Err(("sentences", "must be at least 1".into()));
    }
    if m.max_candidates == Some(0) {
        return Err(("max_candidates", "must be at least 1".into()));
    }
    Ok(ModelTable {
        dir,
        written,
        sentences: m.sentences,
        max_candidates: m.max_candidates,
        known: m.known.unwrap_or(true),
    })
}

/// A scale format: a minifloat of the format grammar.
fn scale_format(s: &str) -> Result<MiniFloat, String> {
    match parse::parse_element(s).map_err(|e| format!("'{s}': {e}"))? {
        ElementFormat::Float(f) => Ok(f),
        ElementFormat::Int(_) => Err(format!(
            "'{s}': a scale format is a minifloat, not an integer"
        )),
    }
}

/// `float:A-B`, `int:A-B`, `uint:A-B` or one element name.
fn expand_element(s: &str, nonfinite: &str) -> Result<Vec<Element>, String> {
    let range = |r: &str, lo: u32, hi: u32| -> Result<(u32, u32), String> {
        let (a, b) = r.split_once('-').unwrap_or((r, r));
        let a: u32 = a.parse().map_err(|_| format!("'{s}': bad bit range"))?;
        let b: u32 = b.parse().map_err(|_| format!("'{s}': bad bit range"))?;
        if a > b || a < lo || b > hi {
            return Err(format!("'{s}': bit range must lie within {lo}-{hi}"));
        }
        Ok((a, b))
    };
    if let Some(r) = s.strip_prefix("float:") {
        let (a, b) = range(r, 3, 8)?;
        let mut out = Vec::new();
        for bits in a..=b {
            for e in 1..bits {
                let m = bits - 1 - e;
                let name = format!("e{e}m{m}:nonfinite={nonfinite}");
                // Combinations the style cannot describe (an IEEE e1m1 has no normals) are left out.
                if let Ok(el) = Element::parse(&name) {
                    out.push(el);
                }
            }
        }
        if out.is_empty() {
            return Err(format!(
                "'{s}': no minifloat of that width has style {nonfinite}"
            ));
        }
        return Ok(out);
    }
    if let Some(r) = s.strip_prefix("int:") {
        let (a, b) = range(r, 2, 8)?;
        return Ok((a..=b)
            .flat_map(|bits| [false, true].map(|symmetric| Element::Int { bits, symmetric }))
            .collect());
    }
    if let Some(r) = s.strip_prefix("uint:") {
        let (a, b) = range(r, 2, 8)?;
        return Ok((a..=b).map(|bits| Element::Asym { bits }).collect());
    }
    Ok(vec![Element::parse(s)?])
}

/// The tensor's source; an error names the key at fault and the reason.
fn tensor_source(t: &RawTensor, base: &Path) -> Result<Source, (&'static str, String)> {
    if let Some(m) = &t.model {
        return model_source(t, m, base);
    }
    if t.sentences.is_some() {
        return Err((
            "sentences",
            "only for model tensors (add model = DIR)".into(),
        ));
    }
    if let Some(f) = &t.file {
        if t.dist.is_some() || t.rows.is_some() || t.cols.is_some() {
            return Err(("file", "a file tensor takes no dist, rows or cols".into()));
        }
        let p = Path::new(f);
        let path = if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        };
        if !path.is_file() {
            return Err(("file", format!("'{}' does not exist", path.display())));
        }
        return Ok(Source::File {
            path,
            tensors: t.tensors.clone().unwrap_or_default(),
        });
    }
    let dist_name = t.dist.as_deref().ok_or((
        "dist",
        "a tensor needs dist (with rows and cols) or file".to_string(),
    ))?;
    let rows = t.rows.ok_or(("rows", "missing".to_string()))?;
    let cols = t.cols.ok_or(("cols", "missing".to_string()))?;
    if rows == 0 || cols == 0 || rows.checked_mul(cols).is_none_or(|n| n > 1 << 30) {
        return Err((
            "rows",
            format!("rows x cols = {rows} x {cols} is not a tensor of 1 to 2^30 values"),
        ));
    }
    let need = |v: Option<f64>, k: &'static str| {
        v.ok_or_else(|| (k, format!("dist {dist_name} needs it")))
    };
    let dist = match dist_name {
        "llm-like" => None,
        "gaussian" => Some(Distribution::Gaussian {
            std: t.std.unwrap_or(1.0),
        }),
        "laplace" => Some(Distribution::Laplace {
            b: t.b.unwrap_or(1.0),
        }),
        "student-t" => Some(Distribution::StudentT {
            nu: need(t.nu, "nu")?,
            scale: t.scale.unwrap_or(1.0),
        }),
        "uniform" => Some(Distribution::Uniform {
            lo: need(t.lo, "lo")?,
            hi: need(t.hi, "hi")?,
        }),
        other => {
            return Err((
                "dist",
                format!("'{other}' is not gaussian, laplace, student-t, uniform or llm-like"),
            ))
        }
    };
    if let Some(d) = &dist {
        d.validate().map_err(|e| ("dist", e.to_string()))?;
    }
    Ok(Source::Synthetic { dist, rows, cols })
}

/// A `model = DIR` tensor: activations, by glob, over evaluation-set sentences.
fn model_source(t: &RawTensor, dir: &str, base: &Path) -> Result<Source, (&'static str, String)> {
    if t.file.is_some() || t.dist.is_some() || t.rows.is_some() || t.cols.is_some() {
        return Err((
            "model",
            "a model tensor takes no file, dist, rows or cols".into(),
        ));
    }
    if t.role != Role::Activation {
        return Err((
            "role",
            "a model tensor is an activation (its weights: file = \"DIR/model.safetensors\")"
                .into(),
        ));
    }
    let p = Path::new(dir);
    let dir = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    };
    if !dir.join("model.safetensors").is_file() {
        return Err((
            "model",
            format!(
                "'{}': no model.safetensors there (fetch the model with scripts/fetch-minilm)",
                dir.display()
            ),
        ));
    }
    let tensors = t.tensors.clone().unwrap_or_default();
    if tensors.is_empty() {
        return Err((
            "tensors",
            "name the activations, e.g. [\"*.query.input\"] (encoder.layer.L.LINEAR.input)".into(),
        ));
    }
    for g in &tensors {
        glob::Pattern::new(g)
            .map_err(|e| ("tensors", format!("'{g}' is not a valid glob: {e}")))?;
    }
    let sentences = t.sentences.unwrap_or(DEFAULT_MODEL_SENTENCES);
    if sentences == 0 {
        return Err(("sentences", "must be at least 1".into()));
    }
    Ok(Source::Model {
        dir,
        tensors,
        sentences,
    })
}
