//! Suite spec files (TOML): which variants run on which workloads, shapes
//! and seeds, with which energy table, and where the results go.
//!
//! ```toml
//! name = "example"
//! variants = ["matmul/f64", "matmul/mx*"]   # names or globs
//! seeds = [0, 1]
//! repetitions = 3                           # timing repetitions
//! energy = "energy-45nm"                    # built-in name or a path
//! out = "reports/out"
//!
//! [[workloads]]
//! name = "gauss"
//! dist = "gaussian"                         # gaussian | laplace | student-t | uniform | llm-like
//! std = 1.0                                 # its parameters: std, b, nu + scale, lo + hi
//! shapes = [[64, 1024, 256]]                # [m, k, n]
//!
//! [[workloads]]
//! name = "ckpt"
//! file = "model.safetensors"                # or a .npy holding one n × k matrix
//! tensors = ["*.q_proj.weight"]             # names or globs (safetensors only)
//! m = 64                                    # activation rows, drawn Gaussian(0, 1)
//! ```
//!
//! Every error names the file, the line and the key ([`SpecError`]).
//! Relative `file` and energy-table paths are resolved against the spec
//! file's folder; `out` is relative to the working directory.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::studies::StudiesSpec;
use crate::datafile::{DataError, DataFile};
use crate::tensor::Shape;
use crate::workload::gen::Distribution;

/// The built-in default suite (`bitsim report` with no `--suite`).
pub const DEFAULT_SUITE: &str = include_str!("../../bench-suites/default.toml");

/// The name under which the built-in default suite reports its errors.
pub const DEFAULT_SUITE_NAME: &str = "<built-in bench-suites/default.toml>";

/// Largest number of elements of one generated matrix (a guard against typos
/// such as an extra zero that would exhaust memory).
pub const MAX_ELEMENTS: usize = 1 << 28;

/// A spec error: the file, the line (1-based, when known) and what is wrong
/// (the message names the key), in the one data-file format.
pub type SpecError = DataError;

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

/// A parsed and checked suite.
#[derive(Debug, Clone, PartialEq)]
pub struct Suite {
    /// Suite name.
    pub name: String,
    /// The spec file as the user named it (for error messages).
    pub file: String,
    /// Selected variant names, resolved against the registry: spec order,
    /// each glob's matches in registry order, no duplicates.
    pub variants: Vec<String>,
    /// Workloads in spec order.
    pub workloads: Vec<Workload>,
    /// Workload seeds.
    pub seeds: Vec<u64>,
    /// Timing repetitions per (variant, shape).
    pub repetitions: u32,
    /// Energy table: a built-in name, or a path resolved against the spec's folder.
    pub energy: String,
    /// The spec line of `energy` (for errors from loading the table).
    pub energy_line: Option<usize>,
    /// Output folder.
    pub out: PathBuf,
    /// The studies to run after the cells (`[studies.*]` tables).
    pub studies: StudiesSpec,
    /// The folder relative paths in the spec are resolved against.
    pub base: PathBuf,
}

/// The distributions a spec may name.
pub const DIST_NAMES: &[&str] = &["gaussian", "laplace", "student-t", "uniform", "llm-like"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    name: Spanned<String>,
    variants: Spanned<Vec<Spanned<String>>>,
    workloads: Spanned<Vec<Spanned<RawWorkload>>>,
    #[serde(default)]
    seeds: Option<Spanned<Vec<u64>>>,
    #[serde(default)]
    repetitions: Option<u32>,
    #[serde(default)]
    energy: Option<Spanned<String>>,
    #[serde(default)]
    out: Option<String>,
    #[serde(default)]
    studies: Option<StudiesSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkload {
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
}

/// Parses spec text. `file` names it in errors; `base` is the folder that
/// relative paths in it are resolved against; `registry` lists every
/// variant name (what `variants` globs are matched against).
pub fn parse(text: &str, file: &str, base: &Path, registry: &[&str]) -> Result<Suite, SpecError> {
    let ctx = Ctx {
        file: DataFile::from_text(file, text),
    };
    let raw: RawSpec = ctx.file.parse()?;

    let name = raw.name.get_ref().trim().to_string();
    if name.is_empty() {
        return Err(ctx.err(raw.name.span(), "name: must not be empty"));
    }

    let variants = resolve_variants(&ctx, &raw.variants, registry)?;

    if raw.workloads.get_ref().is_empty() {
        return Err(ctx.err(raw.workloads.span(), "workloads: at least one is needed"));
    }
    let mut workloads: Vec<Workload> = Vec::new();
    for w in raw.workloads.get_ref() {
        let wl = workload(&ctx, w, base)?;
        if workloads.iter().any(|o| o.name == wl.name) {
            return Err(ctx.err(
                w.get_ref().name.span(),
                format!("workloads.name: '{}' is used twice", wl.name),
            ));
        }
        workloads.push(wl);
    }

    let seeds = match raw.seeds {
        None => vec![0],
        Some(s) => {
            let v = s.get_ref().clone();
            if v.is_empty() {
                return Err(ctx.err(s.span(), "seeds: at least one is needed"));
            }
            if let Some(d) = v.iter().enumerate().find(|(i, x)| v[..*i].contains(x)) {
                return Err(ctx.err(s.span(), format!("seeds: {} is listed twice", d.1)));
            }
            v
        }
    };

    let (energy, energy_line) = match raw.energy {
        None => ("energy-45nm".to_string(), None),
        Some(e) => {
            let s = e.get_ref().trim();
            if s.is_empty() {
                return Err(ctx.err(e.span(), "energy: must not be empty"));
            }
            // A path (it has a separator or a .toml ending) is relative to the spec;
            // anything else is a built-in table name.
            let is_path = s.contains('/') || s.contains('\\') || s.ends_with(".toml");
            let resolved = if is_path {
                base.join(s).display().to_string()
            } else {
                s.to_string()
            };
            (resolved, Some(ctx.line_of(e.span())))
        }
    };

    Ok(Suite {
        name,
        file: file.to_string(),
        variants,
        workloads,
        seeds,
        repetitions: raw.repetitions.unwrap_or(3),
        energy,
        energy_line,
        out: PathBuf::from(raw.out.unwrap_or_else(|| "reports/out".into())),
        studies: raw.studies.unwrap_or_default(),
        base: base.to_path_buf(),
    })
}

/// Reads and parses a spec file (see [`parse`]); relative paths in it are
/// resolved against the file's folder.
pub fn load(path: &Path, registry: &[&str]) -> Result<Suite, SpecError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| DataError::in_file(&file, format!("cannot read: {e}")))?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse(&text, &file, base, registry)
}

/// The built-in default suite, resolved against `registry`.
pub fn default_suite(registry: &[&str]) -> Result<Suite, SpecError> {
    parse(DEFAULT_SUITE, DEFAULT_SUITE_NAME, Path::new("."), registry)
}

/// The spec's text and file name, for errors with line numbers.
struct Ctx<'a> {
    file: DataFile<'a>,
}

impl Ctx<'_> {
    fn line_of(&self, span: Range<usize>) -> usize {
        self.file.line(span)
    }

    /// An error at `span`; `message` names the key.
    fn err(&self, span: Range<usize>, message: impl Into<String>) -> SpecError {
        self.file.err(span, "", message)
    }
}

fn resolve_variants(
    ctx: &Ctx,
    raw: &Spanned<Vec<Spanned<String>>>,
    registry: &[&str],
) -> Result<Vec<String>, SpecError> {
    if raw.get_ref().is_empty() {
        return Err(ctx.err(raw.span(), "variants: at least one is needed"));
    }
    let mut out: Vec<String> = Vec::new();
    for v in raw.get_ref() {
        let s = v.get_ref().trim();
        let pat = glob::Pattern::new(s).map_err(|e| {
            ctx.err(
                v.span(),
                format!("variants: '{s}' is not a valid glob: {e}"),
            )
        })?;
        let hits: Vec<&str> = registry
            .iter()
            .copied()
            .filter(|n| pat.matches(n))
            .collect();
        if hits.is_empty() {
            return Err(ctx.err(
                v.span(),
                format!(
                    "variants: '{s}' matches no registered variant (see `bitsim variants list`)"
                ),
            ));
        }
        for h in hits {
            if !out.iter().any(|o| o == h) {
                out.push(h.to_string());
            }
        }
    }
    Ok(out)
}

/// Reads a workload table: exactly one of `dist` and `file`, and only the keys that go with it.
fn workload(ctx: &Ctx, raw: &Spanned<RawWorkload>, base: &Path) -> Result<Workload, SpecError> {
    let w = raw.get_ref();
    let name = w.name.get_ref().trim().to_string();
    if name.is_empty() {
        return Err(ctx.err(w.name.span(), "workloads.name: must not be empty"));
    }
    let at = |span: Range<usize>, key: &str, msg: String| {
        ctx.err(span, format!("workloads '{name}': {key}: {msg}"))
    };
    let params = [
        ("std", &w.std),
        ("b", &w.b),
        ("nu", &w.nu),
        ("scale", &w.scale),
        ("lo", &w.lo),
        ("hi", &w.hi),
    ];
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
                "missing: give `dist` (generated) or `file` (weights from a file)".into(),
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
            let dist = distribution(ctx, &name, d, &params)?;
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
        line: ctx.line_of(raw.span()),
        kind,
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

/// The distribution named by `dist`, with its parameters (defaults: std 1;
/// b 1; nu 3, scale 1; lo −1, hi 1). A parameter of another distribution is an error.
fn distribution(
    ctx: &Ctx,
    wl: &str,
    d: &Spanned<String>,
    params: &[(&str, &Option<Spanned<f64>>)],
) -> Result<Dist, SpecError> {
    let name = d.get_ref().trim().to_ascii_lowercase();
    let allowed: &[&str] = match name.as_str() {
        "gaussian" => &["std"],
        "laplace" => &["b"],
        "student-t" => &["nu", "scale"],
        "uniform" => &["lo", "hi"],
        "llm-like" => &[],
        _ => {
            return Err(ctx.err(
                d.span(),
                format!(
                    "workloads '{wl}': dist: unknown distribution '{}' (expected one of {})",
                    d.get_ref(),
                    DIST_NAMES.join(", ")
                ),
            ))
        }
    };
    let get = |key: &str, default: f64, positive: bool| -> Result<f64, SpecError> {
        let p = params
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, p)| p.as_ref());
        let Some(p) = p else { return Ok(default) };
        let v = *p.get_ref();
        if !v.is_finite() || (positive && v <= 0.0) {
            let need = if positive {
                "a finite number > 0"
            } else {
                "a finite number"
            };
            return Err(ctx.err(
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
                return Err(ctx.err(
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
                return Err(ctx.err(
                    span,
                    format!("workloads '{wl}': lo, hi: lo = {lo} must be below hi = {hi}"),
                ));
            }
            Dist::Plain(Distribution::Uniform { lo, hi })
        }
        _ => Dist::LlmLike,
    })
}
