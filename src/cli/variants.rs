//! `bitsim variants list`: every registered matmul variant.

use std::io::Write;

use clap::{Args, Subcommand};

use super::common::{num, stdout_error, table};
use super::CliResult;
use crate::variants::{registry, MatmulVariant};

/// Reduction length at which `variants list` reports bits per weight
/// (group and block scales amortize over it).
pub const LIST_K: usize = 4096;

/// The `variants` subcommands.
#[derive(Debug, Subcommand)]
pub enum VariantsCommand {
    /// List every registered variant: formats, accumulator, storage, description.
    List(ListArgs),
}

/// Arguments of `variants list` (none).
#[derive(Debug, Clone, Args)]
pub struct ListArgs {}

/// Runs a `variants` subcommand.
pub fn run(cmd: VariantsCommand, out: &mut dyn Write) -> CliResult {
    match cmd {
        VariantsCommand::List(_) => list(&registry(), out),
    }
}

/// Prints the variant table (header first, registry order).
pub fn list(variants: &[Box<dyn MatmulVariant>], out: &mut dyn Write) -> CliResult {
    let mut rows = vec![vec![
        "name".to_string(),
        "weights".into(),
        "activations".into(),
        "accumulator".into(),
        format!("bits/weight (k={LIST_K})"),
        "description".into(),
    ]];
    for v in variants {
        rows.push(vec![
            v.name().to_string(),
            v.weight_format(),
            v.act_format(),
            v.accumulator(),
            num(v.bits_per_weight(LIST_K)),
            v.description().to_string(),
        ]);
    }
    table(out, &rows).map_err(stdout_error)
}
