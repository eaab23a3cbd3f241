//! `bitsim io`: closed-form and simulated memory traffic of a variant, side by side, per cache size.

use std::io::Write;

use clap::Args;

use super::common::{CliError, CliResult};

/// Arguments of `io`.
#[derive(Debug, Clone, Args)]
pub struct IoArgs {}

/// Runs `io`.
pub fn run(_args: &IoArgs, _out: &mut dyn Write) -> CliResult {
    Err(CliError::new("io", "not available yet"))
}
