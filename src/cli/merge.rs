//! `bitsim merge DIR...`: joins the results of the shards of a sharded
//! `report` or `explore` run into the results (and report) of the unsharded
//! run.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::common::{stdout_error, CliError};
use crate::suite::files::{save, CSV_NAME, JSON_NAME};
use crate::suite::shard;

/// Arguments of `merge`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Each DIR is a shard's output folder (or its results.json), in any order.\n\
Every shard 0..N-1 must be present exactly once, finished, and from the same run\n\
(same spec, version and commit); otherwise the error names the shard."
)]
pub struct MergeArgs {
    /// The shards' output folders (or results.json files).
    #[arg(required = true, value_name = "DIR")]
    pub shards: Vec<PathBuf>,
    /// Output folder for the merged results.csv, results.json and index.html.
    #[arg(long, value_name = "DIR", default_value = "reports/merged")]
    pub out: PathBuf,
}

/// Runs `merge`.
pub fn run(args: &MergeArgs, out: &mut dyn Write) -> Result<i32, CliError> {
    let merged = shard::merge(&args.shards).map_err(|e| CliError::new(e.input, e.reason))?;
    let dir = &args.out;
    if dir.exists() && !dir.is_dir() {
        return Err(CliError::new(
            format!("--out {}", dir.display()),
            "exists and is not a folder",
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        CliError::new(
            dir.display().to_string(),
            format!("cannot create folder: {e}"),
        )
    })?;
    save(dir, &merged).map_err(|e| CliError::new(e.input, e.reason))?;
    let index = super::report::render(&merged, None, dir)?;
    writeln!(
        out,
        "merged {} shards: wrote {}, {}, {}",
        args.shards.len(),
        index.display(),
        dir.join(CSV_NAME).display(),
        dir.join(JSON_NAME).display()
    )
    .map_err(stdout_error)?;
    writeln!(out, "{}", super::report::summary_line(&merged)).map_err(stdout_error)?;
    Ok(0)
}
