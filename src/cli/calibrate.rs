//! `bitsim calibrate`: measures this machine's compute and memory-bandwidth ceilings for the roofline.

use std::io::Write;

use clap::Args;

use super::common::{CliError, CliResult};

/// Arguments of `calibrate`.
#[derive(Debug, Clone, Args)]
pub struct CalibrateArgs {}

/// Runs `calibrate`.
pub fn run(_args: &CalibrateArgs, _out: &mut dyn Write) -> CliResult {
    Err(CliError::new("calibrate", "not available yet"))
}
