//! `bitsim cachesim`: per-level statistics of a cache hierarchy replaying a variant's accesses or a trace file.

use std::io::Write;

use clap::Args;

use super::common::{CliError, CliResult};

/// Arguments of `cachesim`.
#[derive(Debug, Clone, Args)]
pub struct CachesimArgs {}

/// Runs `cachesim`.
pub fn run(_args: &CachesimArgs, _out: &mut dyn Write) -> CliResult {
    Err(CliError::new("cachesim", "not available yet"))
}
