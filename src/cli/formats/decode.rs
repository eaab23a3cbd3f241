//! `bitsim formats decode FORMAT CODE...`: the value of each code.

use std::io::Write;

use clap::Args;

use super::{code_hex, element_format, kind, value};
use crate::cli::common::{binary, hex, parse_uint, stdout_error, table, CliError};
use crate::cli::CliResult;

/// Arguments of `formats decode`.
#[derive(Debug, Clone, Args)]
pub struct DecodeArgs {
    /// Format name (element formats only, e.g. e5m2, e2m1, int4).
    #[arg(value_name = "FORMAT")]
    pub format: String,
    /// Codes: hex (0x7e), binary (0b01111110) or decimal (126); at most the format's width.
    #[arg(value_name = "CODE", required = true, num_args = 1.., allow_negative_numbers = true)]
    pub codes: Vec<String>,
}

/// Decodes each code and prints the table.
pub fn run(args: &DecodeArgs, out: &mut dyn Write) -> CliResult {
    let fmt = element_format(&args.format, "`formats decode`")?;
    let bits = fmt.bits();
    let codes = args
        .codes
        .iter()
        .map(|s| {
            let named = || format!("code '{s}'");
            let c = parse_uint(s).map_err(|e| CliError::new(named(), e))?;
            if c >> bits != 0 {
                return Err(CliError::new(
                    named(),
                    format!(
                        "does not fit the {bits}-bit format {fmt} (largest code {})",
                        hex(((1u64 << bits) - 1) as u32, bits)
                    ),
                ));
            }
            Ok(c as u32)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut rows = vec![vec![
        "code".to_string(),
        "bits".into(),
        "value".into(),
        "kind".into(),
    ]];
    for c in codes {
        rows.push(vec![
            code_hex(&fmt, c),
            binary(c, bits),
            value(&fmt, c),
            kind(&fmt, c).into(),
        ]);
    }
    writeln!(out, "{fmt}:")
        .and_then(|_| table(out, &rows))
        .map_err(stdout_error)
}
