//! `bitsim formats show FORMAT [--csv]`: every code of a format.

use std::io::Write;

use clap::Args;

use super::{code_hex, element_format, kind, value};
use crate::cli::common::{binary, stdout_error, table, CliError};
use crate::cli::CliResult;

/// The widest format `show` enumerates (2^16 rows).
pub const MAX_SHOW_BITS: u32 = 16;

/// Arguments of `formats show`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "CSV columns: code (decimal), bits (binary, the format's width), value.\n\
Values are exact: shortest digits that parse back to the same number, in plain\n\
notation for 1e-6 <= |x| < 1e16 and 0, scientific (1e-9) otherwise; specials\n\
are nan, inf, -inf, and -0. Unused integer codes show their two's-complement reading."
)]
pub struct ShowArgs {
    /// Format name (e.g. e2m1, e4m3, int4, e3m2:bias=2); element formats of at most 16 bits.
    #[arg(value_name = "FORMAT")]
    pub format: String,
    /// Print CSV (`code,bits,value`) instead of an aligned table.
    #[arg(long)]
    pub csv: bool,
}

/// Prints the code table.
pub fn run(args: &ShowArgs, out: &mut dyn Write) -> CliResult {
    let fmt = element_format(&args.format, "`formats show`")?;
    let bits = fmt.bits();
    if bits > MAX_SHOW_BITS {
        return Err(CliError::new(
            format!("format '{}'", args.format),
            format!("{fmt} has {bits}-bit codes; `formats show` lists formats of at most {MAX_SHOW_BITS} bits"),
        ));
    }
    let n = 1u32 << bits;
    if args.csv {
        let mut write = || -> std::io::Result<()> {
            writeln!(out, "code,bits,value")?;
            for c in 0..n {
                // An unused code has no value: an empty field.
                let v = value(&fmt, c);
                let v = if v == "-" { String::new() } else { v };
                writeln!(out, "{},{},{}", c, binary(c, bits), v)?;
            }
            Ok(())
        };
        return write().map_err(stdout_error);
    }
    let mut rows = vec![vec![
        "code".to_string(),
        "hex".into(),
        "bits".into(),
        "value".into(),
        "kind".into(),
    ]];
    for c in 0..n {
        rows.push(vec![
            c.to_string(),
            code_hex(&fmt, c),
            binary(c, bits),
            value(&fmt, c),
            kind(&fmt, c).into(),
        ]);
    }
    writeln!(out, "{fmt}: {bits} bits, {n} codes")
        .and_then(|_| table(out, &rows))
        .map_err(stdout_error)
}
