//! The data-file layer for `sims/` (and suite specs): the built-in registry,
//! "built-in name or path" lookup, TOML parsing, and error locations in one
//! format, `FILE line N: KEY: reason` ([`DataError`]).
//!
//! Every `sims/*.toml` is built into the binary under its file stem
//! (`sims/cache-zen5.toml` → `cache-zen5`): `build.rs` lists the folder, so a
//! new built-in table is a new file there and nothing else. A loader asks for
//! the names of its [`Kind`] (by file-name prefix).

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

// `BUILTIN: &[(&str, &str)]`: (file stem, text) of every `sims/*.toml`, sorted by name.
include!(concat!(env!("OUT_DIR"), "/sims_registry.rs"));

/// The kinds of built-in data file, told apart by their file-name prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Energy tables (`energy-*.toml`).
    Energy,
    /// Cache hierarchies (`cache-*.toml`).
    Cache,
    /// Roofline machines (`machine-*.toml`).
    Machine,
    /// Accelerator scenarios: every other file (`bitmod.toml`, `stripes.toml`),
    /// which say what they are with their `kind` key.
    Accelerator,
}

impl Kind {
    const PREFIXED: [Kind; 3] = [Kind::Energy, Kind::Cache, Kind::Machine];

    fn prefix(self) -> &'static str {
        match self {
            Kind::Energy => "energy-",
            Kind::Cache => "cache-",
            Kind::Machine => "machine-",
            Kind::Accelerator => "",
        }
    }

    /// What a file of this kind is called in messages.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Energy => "energy table",
            Kind::Cache => "hierarchy",
            Kind::Machine => "machine",
            Kind::Accelerator => "accelerator scenario",
        }
    }

    /// The kind of the built-in file named `name`.
    pub fn of(name: &str) -> Kind {
        Kind::PREFIXED
            .into_iter()
            .find(|k| name.starts_with(k.prefix()))
            .unwrap_or(Kind::Accelerator)
    }
}

/// Names of the built-in files of `kind`, sorted.
pub fn builtin_names(kind: Kind) -> Vec<&'static str> {
    BUILTIN
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| Kind::of(n) == kind)
        .collect()
}

/// The text of the built-in file `name` of `kind`, if there is one.
pub fn builtin(kind: Kind, name: &str) -> Option<&'static str> {
    BUILTIN
        .iter()
        .find(|(n, _)| *n == name && Kind::of(n) == kind)
        .map(|(_, text)| *text)
}

/// An error in a data file: the file, the line (1-based, when known), the
/// key (when known) and what is wrong. Displays as `FILE line N: KEY: reason`,
/// leaving out the parts that are not known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataError {
    /// The file as the user named it (or `<built-in sims/NAME.toml>`).
    pub file: String,
    /// 1-based line of the offending key or value, if known.
    pub line: Option<usize>,
    /// Dotted path of the offending key, if known and not already in `reason`.
    pub key: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl DataError {
    /// An error about the whole file (no line, no key).
    pub fn in_file(file: impl Into<String>, reason: impl Into<String>) -> Self {
        DataError {
            file: file.into(),
            line: None,
            key: None,
            reason: reason.into(),
        }
    }

    /// The input part of a one-line CLI error: `FILE line N`, or `FILE`.
    pub fn location(&self) -> String {
        match self.line {
            Some(l) => format!("{} line {l}", self.file),
            None => self.file.clone(),
        }
    }

    /// The part after the location: `KEY: reason`, or `reason`.
    pub fn message(&self) -> String {
        match &self.key {
            Some(k) => format!("{k}: {}", self.reason),
            None => self.reason.clone(),
        }
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location(), self.message())
    }
}

impl std::error::Error for DataError {}

impl From<DataError> for String {
    fn from(e: DataError) -> String {
        e.to_string()
    }
}

/// 1-based line of byte `offset` in `text` (a toml span's start).
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The line of every key of a TOML text, by dotted path: `explore.max_bits`,
/// and array elements by index, `explore.tensors.0.dist` (an array-of-tables
/// element itself maps to the line of its first key). Lets a loader that
/// deserialises into plain structs still say `FILE line N: KEY` when it
/// rejects a value. Empty when the text does not parse (the parse error
/// has its own line then).
pub fn key_lines(text: &str) -> std::collections::BTreeMap<String, usize> {
    use toml::de::{DeTable, DeValue};
    fn walk(
        text: &str,
        prefix: &str,
        v: &DeValue<'_>,
        out: &mut std::collections::BTreeMap<String, usize>,
    ) {
        match v {
            DeValue::Table(t) => {
                for (k, val) in t.iter() {
                    let path = if prefix.is_empty() {
                        k.get_ref().to_string()
                    } else {
                        format!("{prefix}.{}", k.get_ref())
                    };
                    let line = line_of(text, k.span().start);
                    out.entry(path.clone()).or_insert(line);
                    walk(text, &path, val.get_ref(), out);
                }
            }
            DeValue::Array(a) => {
                for (i, val) in a.iter().enumerate() {
                    let path = format!("{prefix}.{i}");
                    walk(text, &path, val.get_ref(), out);
                    // An inline value's own span; a table's first key otherwise.
                    let inner = format!("{path}.");
                    let line = match val.get_ref() {
                        DeValue::Table(_) => out
                            .range(inner.clone()..)
                            .take_while(|(k, _)| k.starts_with(&inner))
                            .map(|(_, l)| *l)
                            .min(),
                        _ => None,
                    }
                    .unwrap_or_else(|| line_of(text, val.span().start));
                    out.entry(path).or_insert(line);
                }
            }
            _ => {}
        }
    }
    let mut out = std::collections::BTreeMap::new();
    if let Ok(t) = DeTable::parse(text) {
        walk(text, "", &DeValue::Table(t.into_inner()), &mut out);
    }
    out
}

/// The key whose value holds byte `offset` of `text` (a toml error's span),
/// when that value is not a table: `std` for `std = "big"`, `shapes` for an
/// element of `shapes = [[4, "a", 8]]`. toml's own type errors name no key;
/// this lets a loader name it. `None` inside a table's header or keys, or
/// when the text does not parse.
pub fn key_at(text: &str, offset: usize) -> Option<String> {
    use toml::de::{DeTable, DeValue};
    // The innermost value holding `offset`, and the last key on its path.
    // Every child is searched: the span of an array of tables (`[[w]]`)
    // does not cover its tables, so a container's span cannot prune.
    fn find<'t>(v: &'t DeValue<'_>, key: Option<&'t str>, offset: usize) -> Option<&'t str> {
        let leaf = |val: &DeValue<'_>, span: &std::ops::Range<usize>| {
            !matches!(val, DeValue::Table(_) | DeValue::Array(_)) && span.contains(&offset)
        };
        match v {
            DeValue::Table(t) => t.iter().find_map(|(k, val)| {
                if leaf(val.get_ref(), &val.span()) {
                    Some(k.get_ref().as_ref())
                } else {
                    find(val.get_ref(), Some(k.get_ref().as_ref()), offset)
                }
            }),
            DeValue::Array(a) => a.iter().find_map(|val| {
                if leaf(val.get_ref(), &val.span()) {
                    key
                } else {
                    find(val.get_ref(), key, offset)
                }
            }),
            _ => None,
        }
    }
    let t = DeTable::parse(text).ok()?;
    find(&DeValue::Table(t.into_inner()), None, offset).map(str::to_string)
}

/// One data file's text and name, for parsing and locating errors.
#[derive(Debug, Clone)]
pub struct DataFile<'a> {
    /// The name errors start with.
    pub origin: String,
    /// The file's text.
    pub text: std::borrow::Cow<'a, str>,
    /// The folder relative paths inside the file are resolved against
    /// (`None` for a built-in file).
    pub dir: Option<PathBuf>,
}

impl<'a> DataFile<'a> {
    /// Text that is already in memory; `origin` names it in errors.
    pub fn from_text(origin: impl Into<String>, text: &'a str) -> Self {
        DataFile {
            origin: origin.into(),
            text: text.into(),
            dir: None,
        }
    }

    /// The built-in file `name_or_path` of `kind`, or else the file at that
    /// path (relative to `relative_to` when given).
    pub fn open(
        kind: Kind,
        name_or_path: &str,
        relative_to: Option<&Path>,
    ) -> Result<DataFile<'static>, DataError> {
        if let Some(text) = builtin(kind, name_or_path) {
            return Ok(DataFile {
                origin: format!("<built-in sims/{name_or_path}.toml>"),
                text: text.into(),
                dir: None,
            });
        }
        let path = match relative_to {
            Some(dir) => dir.join(name_or_path),
            None => PathBuf::from(name_or_path),
        };
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| {
            DataError::in_file(
                &origin,
                format!(
                    "not a built-in {} ({}) and cannot read it as a file: {e}",
                    kind.noun(),
                    builtin_names(kind).join(", ")
                ),
            )
        })?;
        Ok(DataFile {
            origin,
            text: text.into(),
            dir: path.parent().map(Path::to_path_buf),
        })
    }

    /// 1-based line of a toml span.
    pub fn line(&self, span: Range<usize>) -> usize {
        line_of(&self.text, span.start)
    }

    /// `FILE line N` for byte `offset`: the location part of a message that
    /// is put together by hand (`format!("{}: KEY: reason", file.at(o))`).
    pub fn at(&self, offset: usize) -> String {
        format!("{} line {}", self.origin, line_of(&self.text, offset))
    }

    /// An error at `span`, naming `key` (pass `""` when `reason` names it already).
    pub fn err(&self, span: Range<usize>, key: &str, reason: impl Into<String>) -> DataError {
        DataError {
            file: self.origin.clone(),
            line: Some(self.line(span)),
            key: (!key.is_empty()).then(|| key.to_string()),
            reason: reason.into(),
        }
    }

    /// An error about the whole file, naming `key` (or `""`).
    pub fn err_file(&self, key: &str, reason: impl Into<String>) -> DataError {
        DataError {
            key: (!key.is_empty()).then(|| key.to_string()),
            ..DataError::in_file(&self.origin, reason)
        }
    }

    /// Parses the text as `T`. The error names the line and, for a value of
    /// the wrong type, its key (toml's message does not); toml's multi-line
    /// source excerpt is dropped to keep errors on one line.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, DataError> {
        toml::from_str(&self.text).map_err(|e| {
            let reason = e.message().trim().replace('\n', "; ");
            match e.span() {
                Some(span) => {
                    let key = key_at(&self.text, span.start).unwrap_or_default();
                    self.err(span, &key, reason)
                }
                None => self.err_file("", reason),
            }
        })
    }
}
