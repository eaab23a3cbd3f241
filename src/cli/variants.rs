//! `bitsim variants list`: every registered matmul and attention variant.

use std::io::Write;

use clap::{Args, Subcommand};

use super::common::{num, stdout_error, table};
use super::CliResult;
use crate::attention::{self, AttentionVariant};
use crate::variants::{registry, MatmulVariant};

/// Reduction length at which `variants list` reports bits per weight
/// (group and block scales amortize over it).
pub const LIST_K: usize = 4096;

/// Sequence length and head dimension at which `variants list` reports an
/// attention variant's bits per cached K/V element (scales amortise over them).
pub const LIST_ATTN: (usize, usize) = (4096, 128);

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
    for v in attention::registry() {
        rows.push(attention_row(&*v));
    }
    table(out, &rows).map_err(stdout_error)
}

/// An attention variant's cells: name, Q/K, P/V, accumulator, bits per
/// cached K/V element (at [`LIST_ATTN`]), description.
fn attention_row(v: &dyn AttentionVariant) -> Vec<String> {
    let info = v.info();
    vec![
        info.name.to_string(),
        format!("Q/K: {}", info.qk_desc),
        format!("P/V: {}", info.pv_desc),
        info.accumulator.to_string(),
        num(info.kv_bits(LIST_ATTN.0, LIST_ATTN.1)),
        info.description.to_string(),
    ]
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
    // Attention variants: family `attention`; the weight and activation
    // columns hold Q/K and P/V, bits per weight is bits per cached K/V
    // element at N, d = LIST_ATTN.
    for v in attention::registry() {
        let r = attention_row(&*v);
        text.push_str(&format!(
            "| `{}` | attention | {} | {} | {} | {} | {} |\n",
            r[0],
            cell(&r[1]),
            cell(&r[2]),
            cell(&r[3]),
            r[4],
            cell(&r[5]),
        ));
    }
    out.write_all(text.as_bytes()).map_err(stdout_error)
}
