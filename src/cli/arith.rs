//! `bitsim arith FORMAT OP A B [C]`: one operation of an arithmetic unit (IEEE, lmul-carry, lmul-literal), with its exact result, bits and error.

use std::io::Write;

use clap::Args;

use super::common::{CliError, CliResult};

/// Arguments of `arith`.
#[derive(Debug, Clone, Args)]
pub struct ArithArgs {}

/// Runs `arith`.
pub fn run(_args: &ArithArgs, _out: &mut dyn Write) -> CliResult {
    Err(CliError::new("arith", "not available yet"))
}
