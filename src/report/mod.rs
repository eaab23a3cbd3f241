//! The HTML report and run-to-run comparison. Reads result records only
//! (`suite::record`); never re-runs anything.

pub mod compare;

use crate::suite::record::Results;
use std::path::{Path, PathBuf};

/// Writes `out_dir/index.html` (self-contained: inline CSS and SVG, no
/// network, no JavaScript needed) for `results`, comparing with `baseline`
/// when given. Returns the path written. The file is written atomically.
pub fn write_report(_results: &Results, _baseline: Option<&Results>, _out_dir: &Path) -> Result<PathBuf, String> {
    unimplemented!("report::write_report")
}
