//! `bitsim sim SPEC.toml`: cycles, utilisation and energy per layer of an accelerator model (BitMoD, Stripes, Loom).

use std::io::Write;

use clap::Args;

use super::common::{CliError, CliResult};

/// Arguments of `sim`.
#[derive(Debug, Clone, Args)]
pub struct SimArgs {}

/// Runs `sim`.
pub fn run(_args: &SimArgs, _out: &mut dyn Write) -> CliResult {
    Err(CliError::new("sim", "not available yet"))
}
