//! Results files: `results.csv` (tidy rows) and `results.json` (metadata
//! plus rows), written atomically, and read back.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use super::error::RunError;
use super::record::{Measurement, Results};

/// File name of the CSV rows in an output folder.
pub const CSV_NAME: &str = "results.csv";
/// File name of the JSON results in an output folder.
pub const JSON_NAME: &str = "results.json";

/// The CSV columns, in order.
pub const CSV_HEADER: &[&str] = &[
    "suite", "variant", "workload", "shape", "metric", "value", "unit", "seed", "rep", "version",
    "commit",
];

/// Writes `bytes` to `path` atomically: a temporary file in the same folder,
/// flushed, then renamed over `path`; on failure the temporary file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    crate::atomic_file::write_with(path, |f| f.write_all(bytes))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes `results.csv` and `results.json` into `dir` (which must exist).
pub fn write_results(dir: &Path, results: &Results) -> Result<(), String> {
    save(dir, results).map_err(|e| e.to_string())
}

/// [`write_results`] with the error naming the file it could not write.
pub fn save(dir: &Path, results: &Results) -> Result<(), RunError> {
    let json_path = dir.join(JSON_NAME);
    let json = serde_json::to_string_pretty(results).map_err(|e| {
        RunError::new(
            json_path.display().to_string(),
            format!("cannot serialize: {e}"),
        )
    })?;
    let write = |path: &Path, bytes: &[u8]| {
        crate::atomic_file::write_with(path, |f| f.write_all(bytes))
            .map_err(|e| RunError::new(path.display().to_string(), e.to_string()))
    };
    write(&dir.join(CSV_NAME), to_csv(&results.rows).as_bytes())?;
    write(&json_path, (json + "\n").as_bytes())
}

/// Removes the report (`index.html`) of an earlier run from `dir`, once a
/// run is about to rewrite the results there: an interrupted or failed run
/// would otherwise leave an old report beside new results. A finished run
/// writes a new one.
pub fn remove_stale_report(dir: &Path) -> Result<(), RunError> {
    let index = dir.join("index.html");
    match std::fs::remove_file(&index) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(RunError::new(
            index.display().to_string(),
            format!("cannot remove the earlier report: {e}"),
        )),
        _ => Ok(()),
    }
}

/// Reads a `results.json`; the error names the file and the reason.
pub fn read_results(path: &Path) -> Result<Results, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("not a bitsim results.json: {e}"))
}

/// A value as CSV text that parses back to the same f64: shortest round-trip
/// digits, in plain notation (`{}`) when 1e-6 ≤ |x| < 1e16 or x = 0 and in
/// scientific notation (`{:e}`) otherwise; `nan`, `inf`, `-inf`.
pub fn csv_number(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.into()
    } else if x == 0.0 || (1e-6..1e16).contains(&x.abs()) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

/// One CSV field, quoted (RFC 4180) when it holds a comma, quote or line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The rows as CSV with a header line ([`CSV_HEADER`]); a missing commit is an empty field.
pub fn to_csv(rows: &[Measurement]) -> String {
    let mut s = CSV_HEADER.join(",");
    s.push('\n');
    for r in rows {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{}",
            field(&r.suite),
            field(&r.variant),
            field(&r.workload),
            field(&r.shape),
            field(&r.metric),
            csv_number(r.value),
            field(&r.unit),
            r.seed,
            r.rep,
            field(&r.version),
            field(r.commit.as_deref().unwrap_or(""))
        );
    }
    s
}

/// Parses CSV written by [`to_csv`] (RFC 4180 quoting; the header must match).
pub fn from_csv(text: &str) -> Result<Vec<Measurement>, String> {
    let records = split_records(text)?;
    let mut it = records.into_iter();
    match it.next() {
        Some((_, h)) if h == CSV_HEADER => {}
        _ => return Err(format!("line 1: header is not {}", CSV_HEADER.join(","))),
    }
    it.map(|(line, f)| {
        let bad = |what: &str| format!("line {line}: {what}");
        if f.len() != CSV_HEADER.len() {
            return Err(bad(&format!(
                "{} fields, expected {}",
                f.len(),
                CSV_HEADER.len()
            )));
        }
        Ok(Measurement {
            suite: f[0].clone(),
            variant: f[1].clone(),
            workload: f[2].clone(),
            shape: f[3].clone(),
            metric: f[4].clone(),
            value: f[5]
                .parse()
                .map_err(|_| bad(&format!("value '{}'", f[5])))?,
            unit: f[6].clone(),
            seed: f[7].parse().map_err(|_| bad(&format!("seed '{}'", f[7])))?,
            rep: f[8].parse().map_err(|_| bad(&format!("rep '{}'", f[8])))?,
            version: f[9].clone(),
            commit: Some(f[10].clone()).filter(|c| !c.is_empty()),
        })
    })
    .collect()
}

/// Splits CSV text into records of fields, with each record's first line number.
fn split_records(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut out = Vec::new();
    let (mut rec, mut cur) = (Vec::new(), String::new());
    let (mut quoted, mut line, mut start) = (false, 1usize, 1usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                line += usize::from(c == '\n');
                cur.push(c);
            }
            (false, '"') if cur.is_empty() => quoted = true,
            (false, ',') => rec.push(std::mem::take(&mut cur)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                rec.push(std::mem::take(&mut cur));
                out.push((start, std::mem::take(&mut rec)));
                line += 1;
                start = line;
            }
            (false, c) => cur.push(c),
        }
    }
    if quoted {
        return Err(format!("line {start}: unterminated quoted field"));
    }
    if !cur.is_empty() || !rec.is_empty() {
        rec.push(cur);
        out.push((start, rec));
    }
    Ok(out)
}
