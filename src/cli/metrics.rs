//! `bitsim metrics`: the metric table of `results.csv` / `results.json`
//! (name, unit, which way is better, and whether it is a timing).
//!
//! Scripts that compare two runs leave out the timing rows (they differ from
//! run to run); `bitsim metrics --timing --names` gives them the list, so it
//! lives in one place, the metric table.

use std::io::Write;

use clap::Args;

use super::common::{stdout_error, table};
use super::CliResult;
use crate::suite::record::metric;

/// Arguments of `metrics`.
#[derive(Debug, Clone, Args)]
pub struct MetricsArgs {
    /// Only the timing metrics (noisy, machine-dependent, several repetitions)
    #[arg(long)]
    pub timing: bool,
    /// Only the names, one per line (for scripts)
    #[arg(long)]
    pub names: bool,
}

/// Prints the metric table (or its names), in the table's order.
pub fn run(a: &MetricsArgs, out: &mut dyn Write) -> CliResult {
    let chosen: Vec<&metric::Metric> = metric::all().filter(|m| !a.timing || m.timing).collect();
    if a.names {
        for m in &chosen {
            writeln!(out, "{}", m.name).map_err(stdout_error)?;
        }
        return Ok(());
    }
    let mut rows = vec![vec![
        "name".to_string(),
        "unit".into(),
        "better".into(),
        "kind".into(),
    ]];
    for m in chosen {
        rows.push(vec![
            m.name.to_string(),
            if m.unit.is_empty() {
                "-".into()
            } else {
                m.unit.to_string()
            },
            if m.higher_is_better {
                "higher"
            } else {
                "lower"
            }
            .into(),
            if m.timing { "timing" } else { "result" }.into(),
        ]);
    }
    table(out, &rows).map_err(stdout_error)
}
