//! The HTML report and run-to-run comparison. Reads result records only
//! (`suite::record`); never re-runs anything.
//!
//! - [`write_report`]: one self-contained `index.html` (inline CSS and SVG,
//!   no script, no URL) with run metadata, a per-variant summary, a
//!   per-workload table, charts, variant details and, with a baseline, the
//!   changes.
//! - [`compare::compare`]: pairs the rows of two runs and judges each change
//!   (Welch's t-test for timings), as `bitsim compare` prints it.

pub mod charts;
pub mod compare;
pub mod figures;
pub mod html;
mod page;
pub mod pareto;
mod parts;
pub mod sections;
pub mod stats;
pub mod summary;
mod tables;
pub mod template;

use crate::suite::record::Results;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `out_dir/index.html` (self-contained: inline CSS and SVG, no
/// network, no JavaScript needed) for `results`, comparing with `baseline`
/// when given. Returns the path written. The file is written atomically.
pub fn write_report(
    results: &Results,
    baseline: Option<&Results>,
    out_dir: &Path,
) -> Result<PathBuf, String> {
    let page = html::render(results, baseline)?;
    std::fs::create_dir_all(out_dir).map_err(|e| {
        format!(
            "{}: cannot create the report directory: {e}",
            out_dir.display()
        )
    })?;
    let path = out_dir.join("index.html");
    crate::atomic_file::write_with(&path, |f| f.write_all(page.as_bytes()))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}
