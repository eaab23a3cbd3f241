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

/// Arguments of `variants list`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Print a Markdown table (the README's variant table is this output)
    #[arg(long)]
    pub markdown: bool,
}

/// Runs a `variants` subcommand.
pub fn run(cmd: VariantsCommand, out: &mut dyn Write) -> CliResult {
    match cmd {
        VariantsCommand::List(a) if a.markdown => markdown(&registry(), out),
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
        let info = v.info();
        rows.push(vec![
            info.name.to_string(),
            info.weight_desc.clone(),
            info.act_desc.clone(),
            info.accumulator.clone(),
            num(info.bits_per_weight(LIST_K)),
            info.description.to_string(),
        ]);
    }
    table(out, &rows).map_err(stdout_error)
}

/// Prints the variant table as Markdown: family, formats, accumulator,
/// bits per weight and description of every variant, registry order.
pub fn markdown(variants: &[Box<dyn MatmulVariant>], out: &mut dyn Write) -> CliResult {
    // A `|` inside a cell would end it.
    let cell = |s: &str| s.replace('|', "\\|");
    let mut text = format!(
        "| variant | family | weights | activations | accumulator | bits/weight (k={LIST_K}) | models |\n\
         |---|---|---|---|---|---|---|\n"
    );
    for v in variants {
        let info = v.info();
        text.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} |\n",
            info.name,
            info.family.name(),
            cell(&info.weight_desc),
            cell(&info.act_desc),
            cell(&info.accumulator),
            num(info.bits_per_weight(LIST_K)),
            cell(info.description),
        ));
    }
    out.write_all(text.as_bytes()).map_err(stdout_error)
}
