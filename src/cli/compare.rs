//! `bitsim compare OLD.json NEW.json`: what changed between two runs; exit
//! code 1 when a metric regressed beyond the threshold, a baseline row is
//! missing, or the suite changed; 2 when the runs cannot be judged at all.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::common::{stdout_error, CliError};
use crate::report::compare::{check_comparable, compare, without_timings, Gate, Side};
use crate::suite::files::read_results;
use crate::suite::record::Results;

/// Exit code when a metric regressed.
pub const EXIT_REGRESSION: i32 = 1;

/// Arguments of `compare`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Exit code: 0 when nothing regressed, 1 when some metric moved in its bad\n\
direction by more than --max-regression percent (and beyond timing noise), when a baseline\n\
row is missing from the new run (unless --allow-removed) or when the suite differs (unless\n\
--allow-suite-change); 2 on bad input: an unreadable file, an empty run, runs with no row in\n\
common, or timings with fewer than --min-reps repetitions (unless --no-timings)."
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
    /// Fewest timing repetitions per run to judge a timing; fewer is an error.
    #[arg(long, value_name = "N", default_value_t = crate::report::compare::MIN_TIMING_REPS as u64,
          value_parser = clap::value_parser!(u64).range(2..))]
    pub min_reps: u64,
    /// Leave timing metrics out (compare deterministic metrics only).
    #[arg(long)]
    pub no_timings: bool,
    /// Accept baseline rows missing from the new run.
    #[arg(long)]
    pub allow_removed: bool,
    /// Accept runs of differently named suites.
    #[arg(long)]
    pub allow_suite_change: bool,
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
    let gate = Gate {
        min_reps: usize::try_from(args.min_reps).unwrap_or(usize::MAX),
        timings: !args.no_timings,
        allow_removed: args.allow_removed,
        allow_suite_change: args.allow_suite_change,
    };
    let (old, new) = if gate.timings {
        (old, new)
    } else {
        (without_timings(&old), without_timings(&new))
    };
    check_comparable(&old, &new, &gate).map_err(|r| {
        let path = match r.side {
            Side::Old => &args.old,
            Side::New => &args.new,
        };
        CliError::new(path.display().to_string(), r.reason)
    })?;
    let c = compare(&old, &new, pct);
    let text = c.render_text();
    out.write_all(text.as_bytes()).map_err(stdout_error)?;
    if !text.is_empty() && !text.ends_with('\n') {
        writeln!(out).map_err(stdout_error)?;
    }
    let failures = c.failures(&gate, &old, &new);
    for f in &failures {
        writeln!(out, "FAIL: {f}").map_err(stdout_error)?;
    }
    Ok(if failures.is_empty() {
        0
    } else {
        EXIT_REGRESSION
    })
}
