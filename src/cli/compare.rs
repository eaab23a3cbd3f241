//! `bitsim compare OLD.json NEW.json`: what changed between two runs; exit
//! code 1 when a metric regressed beyond the threshold.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::common::{stdout_error, CliError};
use crate::report::compare::compare;
use crate::suite::files::read_results;
use crate::suite::record::Results;

/// Exit code when a metric regressed.
pub const EXIT_REGRESSION: i32 = 1;

/// Arguments of `compare`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Exit code: 0 when nothing regressed, 1 when some metric moved in its bad\n\
direction by more than --max-regression percent (and beyond timing noise), 2 on bad input."
)]
pub struct CompareArgs {
    /// The earlier results.json (the baseline).
    #[arg(value_name = "OLD.json")]
    pub old: PathBuf,
    /// The later results.json.
    #[arg(value_name = "NEW.json")]
    pub new: PathBuf,
    /// Largest change in a metric's bad direction, in percent, that is not a regression.
    #[arg(
        long,
        value_name = "PCT",
        default_value = "5",
        allow_hyphen_values = true
    )]
    pub max_regression: String,
}

/// Reads a results file for the CLI; the error names the file.
pub fn load(path: &Path) -> Result<Results, CliError> {
    read_results(path).map_err(|e| CliError::new(path.display().to_string(), e))
}

/// Parses `--max-regression`: a finite percentage ≥ 0.
pub fn parse_pct(s: &str) -> Result<f64, CliError> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|p| p.is_finite() && *p >= 0.0)
        .ok_or_else(|| {
            CliError::new(
                format!("--max-regression {s}"),
                "expected a percentage >= 0 (e.g. 5)",
            )
        })
}

/// Runs `compare`; returns the exit code (0, or [`EXIT_REGRESSION`]).
pub fn run(args: &CompareArgs, out: &mut dyn Write) -> Result<i32, CliError> {
    let pct = parse_pct(&args.max_regression)?;
    let old = load(&args.old)?;
    let new = load(&args.new)?;
    let c = compare(&old, &new, pct);
    let text = c.render_text();
    out.write_all(text.as_bytes()).map_err(stdout_error)?;
    if !text.is_empty() && !text.ends_with('\n') {
        writeln!(out).map_err(stdout_error)?;
    }
    Ok(if c.has_regression() {
        EXIT_REGRESSION
    } else {
        0
    })
}
