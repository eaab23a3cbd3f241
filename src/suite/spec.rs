//! Suite spec files (TOML): which variants run on which workloads, shapes
//! and seeds, with which energy table, and where the results go.
//!
//! ```toml
//! name = "example"
//! variants = ["matmul/f64", "matmul/mx*"]   # names or globs
//! seeds = [0, 1]
//! repetitions = 3                           # timing repetitions
//! native = true                             # time native kernels too (default true)
//! accuracy = true                           # measure the accuracy cells (default true)
//! emulation_rows = 16                       # time the emulation on at most 16 rows (default: all)
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

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::studies::StudiesSpec;
use crate::datafile::{DataError, DataFile};
use crate::workload::spec::{self as workload, RawWorkload, Workload};

/// The built-in default suite (`bitsim report` with no `--suite`).
pub const DEFAULT_SUITE: &str = include_str!("../../bench-suites/default.toml");

/// The name under which the built-in default suite reports its errors.
pub const DEFAULT_SUITE_NAME: &str = "<built-in bench-suites/default.toml>";

/// A spec error: the file, the line (1-based, when known) and what is wrong
/// (the message names the key), in the one data-file format.
pub type SpecError = DataError;

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
    /// Whether variants with a native kernel have it timed (`native_gops`,
    /// `native_ceiling_fraction`) and checked against the emulation.
    pub native: bool,
    /// Whether the accuracy cells (accuracy, weight error, storage, energy)
    /// are measured; without them a run holds timings only.
    pub accuracy: bool,
    /// When set, the emulation is timed (and the native kernel checked
    /// against it) on at most this many activation rows of each shape: the
    /// emulation's work is linear in M, so its MAC/s hold, and large shapes
    /// stay affordable. Needs `accuracy = false` (the accuracy cells
    /// emulate whole shapes).
    pub emulation_rows: Option<usize>,
    /// Energy table: a built-in name, or a path resolved against the spec's folder.
    pub energy: String,
    /// The spec line of `energy` (for errors from loading the table).
    pub energy_line: Option<usize>,
    /// Output folder.
    pub out: PathBuf,
    /// The studies to run after the cells (`[studies.*]` tables).
    pub studies: StudiesSpec,
    /// Spec lines of the studies' tables (`NAME`) and keys (`NAME.KEY`),
    /// for errors from validating their values (see [`Suite::study_error_at`]).
    pub study_lines: BTreeMap<String, usize>,
    /// The folder relative paths in the spec are resolved against.
    pub base: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    name: Spanned<String>,
    variants: Spanned<Vec<Spanned<String>>>,
    workloads: Spanned<Vec<Spanned<RawWorkload>>>,
    #[serde(default)]
    seeds: Option<Spanned<Vec<u64>>>,
    #[serde(default)]
    repetitions: Option<Spanned<u32>>,
    // Read as plain values and checked by hand, so that a wrong type names the key.
    #[serde(default)]
    native: Option<Spanned<toml::Value>>,
    #[serde(default)]
    accuracy: Option<Spanned<toml::Value>>,
    #[serde(default)]
    emulation_rows: Option<Spanned<toml::Value>>,
    #[serde(default)]
    energy: Option<Spanned<String>>,
    #[serde(default)]
    out: Option<String>,
    #[serde(default)]
    studies: Option<StudiesSpec>,
    /// The format explorer's table (`bitsim explore --spec`); `report` ignores it.
    #[serde(default)]
    #[allow(dead_code)]
    explore: Option<toml::Value>,
}

/// Most timing repetitions a suite may ask for (each repeats every variant
/// and shape; more would only burn hours without narrowing the noise test).
pub const MAX_REPETITIONS: u32 = 1000;

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
        let wl = workload::read(w, base, |span| ctx.line_of(span))
            .map_err(|e| ctx.err(e.span, e.message))?;
        if workloads.iter().any(|o| o.name == wl.name) {
            return Err(ctx.err(
                w.get_ref().name_span(),
                format!("workloads.name: '{}' is used twice", wl.name),
            ));
        }
        workloads.push(wl);
    }

    check_grid(&ctx, &raw, &variants, &workloads)?;

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

    // 0 would silently drop every timing; a huge count would run for days.
    let repetitions = match raw.repetitions {
        None => 3,
        Some(r) => {
            let n = *r.get_ref();
            if !(1..=MAX_REPETITIONS).contains(&n) {
                return Err(ctx.err(
                    r.span(),
                    format!(
                        "repetitions: {n} is out of range (1..={MAX_REPETITIONS}; 3 or more to compare timings)"
                    ),
                ));
            }
            n
        }
    };

    let native = flag(&ctx, raw.native.as_ref(), "native")?;
    let accuracy = flag(&ctx, raw.accuracy.as_ref(), "accuracy")?;
    let emulation_rows = match raw.emulation_rows {
        None => None,
        Some(r) => {
            let n = match r.get_ref() {
                toml::Value::Integer(n) if *n >= 1 => *n,
                _ => {
                    return Err(ctx.err(
                        r.span(),
                        format!(
                            "emulation_rows: {} is not a positive row count (must be at least 1)",
                            r.get_ref()
                        ),
                    ))
                }
            };
            if accuracy {
                return Err(ctx.err(
                    r.span(),
                    "emulation_rows: needs `accuracy = false` (the accuracy cells emulate whole shapes)",
                ));
            }
            Some(n as usize)
        }
    };

    Ok(Suite {
        name,
        file: file.to_string(),
        variants,
        workloads,
        seeds,
        repetitions,
        native,
        accuracy,
        emulation_rows,
        energy,
        energy_line,
        out: PathBuf::from(raw.out.unwrap_or_else(|| "reports/out".into())),
        studies: raw.studies.unwrap_or_default(),
        study_lines: study_lines(&ctx)?,
        base: base.to_path_buf(),
    })
}

/// The `[studies.*]` tables with their spans (read a second time, so the
/// typed parameters stay plain).
#[derive(Deserialize)]
struct StudyKeys {
    #[serde(default)]
    studies: BTreeMap<String, Spanned<BTreeMap<String, Spanned<toml::Value>>>>,
}

/// The line of every study table and key, as [`Suite::study_lines`] keeps them.
fn study_lines(ctx: &Ctx) -> Result<BTreeMap<String, usize>, SpecError> {
    let keys: StudyKeys = ctx.file.parse()?;
    let mut lines = BTreeMap::new();
    for (name, table) in &keys.studies {
        lines.insert(name.clone(), ctx.line_of(table.span()));
        for (key, v) in table.get_ref() {
            lines.insert(format!("{name}.{key}"), ctx.line_of(v.span()));
        }
    }
    Ok(lines)
}

impl Suite {
    /// Where an error of study `name` belongs: `FILE line N` of the key the
    /// error starts with (`KEY: …` or `KEY must …`) if the study's table
    /// has it, else of the table; just `FILE` if the spec has neither.
    pub fn study_error_at(&self, name: &str, error: &str) -> String {
        let key: String = error
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let line = self
            .study_lines
            .get(&format!("{name}.{key}"))
            .or_else(|| self.study_lines.get(name));
        match line {
            Some(l) => format!("{} line {l}", self.file),
            None => self.file.clone(),
        }
    }
}

/// A boolean key that defaults to true; any other type is an error naming it.
fn flag(ctx: &Ctx, v: Option<&Spanned<toml::Value>>, key: &str) -> Result<bool, SpecError> {
    match v {
        None => Ok(true),
        Some(v) => match v.get_ref() {
            toml::Value::Boolean(b) => Ok(*b),
            other => Err(ctx.err(v.span(), format!("{key}: {other} is not true or false"))),
        },
    }
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

/// Whether `name` is an attention variant's (they run on attention workloads only).
pub fn is_attention(name: &str) -> bool {
    name.starts_with("attention/")
}

/// Attention variants run on attention workloads, matmul variants on the
/// others: each kind the suite names must have something to run on.
fn check_grid(
    ctx: &Ctx,
    raw: &RawSpec,
    variants: &[String],
    workloads: &[Workload],
) -> Result<(), SpecError> {
    let attn_wl = workloads
        .iter()
        .find(|w| matches!(w.kind, workload::WorkloadKind::Attention(_)));
    let matmul_wl = workloads
        .iter()
        .find(|w| !matches!(w.kind, workload::WorkloadKind::Attention(_)));
    let attn_v = variants.iter().find(|v| is_attention(v));
    let matmul_v = variants.iter().find(|v| !is_attention(v));
    if let (Some(v), None) = (attn_v, attn_wl) {
        return Err(ctx.err(
            raw.variants.span(),
            format!(
                "variants: {v} is an attention variant, but no workload has kind = \"attention\""
            ),
        ));
    }
    if let (Some(v), None) = (matmul_v, matmul_wl) {
        return Err(ctx.err(
            raw.variants.span(),
            format!(
                "variants: {v} is a matmul variant, but every workload has kind = \"attention\""
            ),
        ));
    }
    // Workloads were read one per table, in order.
    let span_of = |name: &str| {
        workloads
            .iter()
            .zip(raw.workloads.get_ref())
            .find(|(w, _)| w.name == name)
            .map_or(raw.workloads.span(), |(_, r)| r.span())
    };
    if let (None, Some(w)) = (attn_v, attn_wl) {
        return Err(ctx.err(
            span_of(&w.name),
            format!("workloads: '{}' is an attention workload, but no variant is (add e.g. \"attention/*\" to variants)", w.name),
        ));
    }
    if let (None, Some(w)) = (matmul_v, matmul_wl) {
        return Err(ctx.err(
            span_of(&w.name),
            format!("workloads: '{}' is a matmul workload, but no variant is (add e.g. \"matmul/*\" to variants)", w.name),
        ));
    }
    Ok(())
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
