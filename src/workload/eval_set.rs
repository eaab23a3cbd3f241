//! The sentence-embedding evaluation set of `bench-suites/data/minilm-eval/`:
//! scored sentence pairs, and retrieval queries with one relevant document
//! each (the directory's README says how it was written and what the
//! columns mean).
//!
//! The three files are tab-separated with a header line naming the columns;
//! columns are found by name, so their order is free. Fields are trimmed;
//! blank lines are skipped. A malformed file gets one [`DataError`] naming
//! the file, the line and the reason (a missing or unknown column, an empty
//! field, an unknown label, a score outside 0–5, a duplicate id, a query whose
//! document does not exist).
//!
//! The committed set is built into the binary ([`EvalSet::builtin`]); a
//! directory holding the same three files can replace it ([`EvalSet::load`]).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::datafile::DataError;

/// The set's directory in the repository.
pub const DIR: &str = "bench-suites/data/minilm-eval";
/// File name of the scored pairs.
pub const PAIRS_FILE: &str = "pairs.tsv";
/// File name of the retrieval queries.
pub const QUERIES_FILE: &str = "queries.tsv";
/// File name of the retrieval documents.
pub const DOCS_FILE: &str = "docs.tsv";

const BUILTIN_PAIRS: &str = include_str!("../../bench-suites/data/minilm-eval/pairs.tsv");
const BUILTIN_QUERIES: &str = include_str!("../../bench-suites/data/minilm-eval/queries.tsv");
const BUILTIN_DOCS: &str = include_str!("../../bench-suites/data/minilm-eval/docs.tsv");

/// How a pair's two sentences relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Label {
    /// The same statement in other words.
    Paraphrase,
    /// The same topic, a different statement.
    Related,
    /// Different topics.
    Unrelated,
}

impl Label {
    /// Every label, in the order of the files' documentation.
    pub const ALL: [Label; 3] = [Label::Paraphrase, Label::Related, Label::Unrelated];

    /// The label as written in `pairs.tsv`.
    pub fn name(self) -> &'static str {
        match self {
            Label::Paraphrase => "paraphrase",
            Label::Related => "related",
            Label::Unrelated => "unrelated",
        }
    }

    /// The label written `s`, if it is one.
    pub fn parse(s: &str) -> Option<Label> {
        Label::ALL.into_iter().find(|l| l.name() == s)
    }
}

/// One scored sentence pair (a row of `pairs.tsv`).
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// Unique id (`p001`).
    pub id: String,
    /// Topic of the pair (of its first sentence, for unrelated pairs).
    pub topic: String,
    /// How the two sentences relate.
    pub label: Label,
    /// Graded similarity, 0 (nothing in common) to 5 (the same meaning).
    pub score: f64,
    /// First sentence.
    pub a: String,
    /// Second sentence.
    pub b: String,
}

/// One retrieval document (a row of `docs.tsv`).
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    /// Unique id (`d001`).
    pub id: String,
    /// Topic.
    pub topic: String,
    /// The document's text.
    pub text: String,
}

/// One retrieval query (a row of `queries.tsv`) and its relevant document.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Unique id (`q01`).
    pub id: String,
    /// Topic.
    pub topic: String,
    /// The query's text.
    pub text: String,
    /// Id of the one relevant document.
    pub doc_id: String,
    /// Index of the relevant document in [`EvalSet::docs`].
    pub doc: usize,
}

/// The whole evaluation set, rows in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalSet {
    /// Scored sentence pairs.
    pub pairs: Vec<Pair>,
    /// Retrieval queries.
    pub queries: Vec<Query>,
    /// Retrieval documents.
    pub docs: Vec<Doc>,
}

/// A file's name (as errors show it) and its text.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The file as errors name it.
    pub name: &'a str,
    /// Its contents.
    pub text: &'a str,
}

impl EvalSet {
    /// The committed set, built into the binary. Errors only if the committed
    /// files are malformed (a test keeps them well-formed).
    pub fn builtin() -> Result<EvalSet, DataError> {
        let name = |f: &str| format!("<built-in {DIR}/{f}>");
        let (p, q, d) = (name(PAIRS_FILE), name(QUERIES_FILE), name(DOCS_FILE));
        EvalSet::parse(
            Source {
                name: &p,
                text: BUILTIN_PAIRS,
            },
            Source {
                name: &q,
                text: BUILTIN_QUERIES,
            },
            Source {
                name: &d,
                text: BUILTIN_DOCS,
            },
        )
    }

    /// Reads `pairs.tsv`, `queries.tsv` and `docs.tsv` from `dir`; errors
    /// name the file as `dir/FILE`.
    pub fn load(dir: &Path) -> Result<EvalSet, DataError> {
        let read = |f: &str| {
            let path = dir.join(f).display().to_string();
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok((path, text)),
                Err(e) => Err(DataError::in_file(path, format!("cannot read: {e}"))),
            }
        };
        let (p, q, d) = (read(PAIRS_FILE)?, read(QUERIES_FILE)?, read(DOCS_FILE)?);
        EvalSet::parse(
            Source {
                name: &p.0,
                text: &p.1,
            },
            Source {
                name: &q.0,
                text: &q.1,
            },
            Source {
                name: &d.0,
                text: &d.1,
            },
        )
    }

    /// Parses the three files' texts (documents first, so that queries can
    /// name them).
    pub fn parse(
        pairs: Source<'_>,
        queries: Source<'_>,
        docs: Source<'_>,
    ) -> Result<EvalSet, DataError> {
        let docs = parse_docs(docs)?;
        let queries = parse_queries(queries, &docs)?;
        let pairs = parse_pairs(pairs)?;
        Ok(EvalSet {
            pairs,
            queries,
            docs,
        })
    }

    /// Index of each query's relevant document in [`EvalSet::docs`], in
    /// query order (the labels for recall@1).
    pub fn relevant(&self) -> Vec<usize> {
        self.queries.iter().map(|q| q.doc).collect()
    }

    /// Every distinct sentence once, in order of first appearance: pairs
    /// (`a` then `b`, row by row), then queries, then documents.
    pub fn sentences(&self) -> Vec<&str> {
        let all = self
            .pairs
            .iter()
            .flat_map(|p| [p.a.as_str(), p.b.as_str()])
            .chain(self.queries.iter().map(|q| q.text.as_str()))
            .chain(self.docs.iter().map(|d| d.text.as_str()));
        let mut seen = HashSet::new();
        all.filter(|s| seen.insert(*s)).collect()
    }
}

/// One data row: its 1-based line and its fields in the order the caller
/// asked for the columns.
struct Row<'a> {
    line: usize,
    fields: Vec<&'a str>,
}

fn at_line(file: &str, line: usize, key: Option<&str>, reason: String) -> DataError {
    DataError {
        file: file.to_string(),
        line: Some(line),
        key: key.map(String::from),
        reason,
    }
}

/// The rows of a tab-separated file whose header must hold exactly the
/// names in `columns` (any order), with each row's fields reordered to
/// `columns`. Every field must be non-empty.
fn parse_table<'a>(src: Source<'a>, columns: &[&str]) -> Result<Vec<Row<'a>>, DataError> {
    let mut lines = src
        .text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((hline, header)) = lines.next() else {
        return Err(DataError::in_file(
            src.name,
            format!(
                "empty file: expected a header line with {}",
                columns.join(", ")
            ),
        ));
    };
    let names: Vec<&str> = header.split('\t').map(str::trim).collect();
    for (i, n) in names.iter().enumerate() {
        if !columns.contains(n) {
            return Err(at_line(
                src.name,
                hline,
                None,
                format!(
                    "unknown column `{n}` in the header (expected {})",
                    columns.join(", ")
                ),
            ));
        }
        if names[..i].contains(n) {
            return Err(at_line(
                src.name,
                hline,
                None,
                format!("column `{n}` appears twice in the header"),
            ));
        }
    }
    // Position of each wanted column in the file.
    let mut at = Vec::with_capacity(columns.len());
    for c in columns {
        match names.iter().position(|n| n == c) {
            Some(p) => at.push(p),
            None => {
                return Err(at_line(
                    src.name,
                    hline,
                    None,
                    format!("missing column `{c}` in the header"),
                ))
            }
        }
    }
    let mut rows = Vec::new();
    for (line, l) in lines {
        let raw: Vec<&str> = l.split('\t').map(str::trim).collect();
        if raw.len() < names.len() {
            return Err(at_line(
                src.name,
                line,
                None,
                format!(
                    "missing column `{}`: {} fields, the header has {}",
                    names[raw.len()],
                    raw.len(),
                    names.len()
                ),
            ));
        }
        if raw.len() > names.len() {
            return Err(at_line(
                src.name,
                line,
                None,
                format!(
                    "{} fields, the header has {} (a tab inside a field?)",
                    raw.len(),
                    names.len()
                ),
            ));
        }
        let fields: Vec<&str> = at.iter().map(|&p| raw[p]).collect();
        if let Some(i) = fields.iter().position(|f| f.is_empty()) {
            return Err(at_line(
                src.name,
                line,
                Some(columns[i]),
                "empty field".into(),
            ));
        }
        rows.push(Row { line, fields });
    }
    if rows.is_empty() {
        return Err(DataError::in_file(src.name, "no rows after the header"));
    }
    Ok(rows)
}

/// Checks that ids (field 0 of each row) are unique.
fn unique_ids(src: Source<'_>, rows: &[Row<'_>], key: &str) -> Result<(), DataError> {
    let mut first: HashMap<&str, usize> = HashMap::new();
    for r in rows {
        if let Some(l) = first.insert(r.fields[0], r.line) {
            return Err(at_line(
                src.name,
                r.line,
                Some(key),
                format!("duplicate id `{}` (first on line {l})", r.fields[0]),
            ));
        }
    }
    Ok(())
}

fn parse_docs(src: Source<'_>) -> Result<Vec<Doc>, DataError> {
    let rows = parse_table(src, &["doc_id", "topic", "text"])?;
    unique_ids(src, &rows, "doc_id")?;
    Ok(rows
        .into_iter()
        .map(|r| Doc {
            id: r.fields[0].into(),
            topic: r.fields[1].into(),
            text: r.fields[2].into(),
        })
        .collect())
}

fn parse_queries(src: Source<'_>, docs: &[Doc]) -> Result<Vec<Query>, DataError> {
    let rows = parse_table(src, &["query_id", "topic", "query", "doc_id"])?;
    unique_ids(src, &rows, "query_id")?;
    let index: HashMap<&str, usize> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.id.as_str(), i))
        .collect();
    rows.into_iter()
        .map(|r| {
            let doc_id = r.fields[3];
            let Some(&doc) = index.get(doc_id) else {
                return Err(at_line(
                    src.name,
                    r.line,
                    Some("doc_id"),
                    format!("no document `{doc_id}` in {DOCS_FILE}"),
                ));
            };
            Ok(Query {
                id: r.fields[0].into(),
                topic: r.fields[1].into(),
                text: r.fields[2].into(),
                doc_id: doc_id.into(),
                doc,
            })
        })
        .collect()
}

fn parse_pairs(src: Source<'_>) -> Result<Vec<Pair>, DataError> {
    let rows = parse_table(
        src,
        &["id", "topic", "label", "score", "sentence_a", "sentence_b"],
    )?;
    unique_ids(src, &rows, "id")?;
    rows.into_iter()
        .map(|r| {
            let f = &r.fields;
            let label = Label::parse(f[2]).ok_or_else(|| {
                at_line(
                    src.name,
                    r.line,
                    Some("label"),
                    format!(
                        "unknown label `{}` (expected paraphrase, related or unrelated)",
                        f[2]
                    ),
                )
            })?;
            let score = match f[3].parse::<f64>() {
                Ok(s) if (0.0..=5.0).contains(&s) => s,
                _ => {
                    return Err(at_line(
                        src.name,
                        r.line,
                        Some("score"),
                        format!("`{}` is not a number from 0 to 5", f[3]),
                    ))
                }
            };
            Ok(Pair {
                id: f[0].into(),
                topic: f[1].into(),
                label,
                score,
                a: f[4].into(),
                b: f[5].into(),
            })
        })
        .collect()
}
