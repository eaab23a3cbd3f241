//! `bitsim formats encode FORMAT VALUE...`: one rounding per value, shown
//! with its code, decoded value and error.

use std::io::Write;

use clap::Args;

use super::{code_hex, element_format};
use crate::cli::common::{binary, num, stdout_error, table, CliError, ConvertArgs};
use crate::cli::CliResult;
use crate::formats::decimal::{self, Decimal};
use crate::formats::{ElementFormat, Overflow};

/// Arguments of `formats encode`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Values are decimal numbers (exponents allowed: 1e-9), inf, -inf or nan;\n\
each is rounded once, exactly, from the decimal itself (not from its nearest f64). Under\n\
--rounding sr the i-th value (from 0) uses stochastic-rounding index i.\n\
error = decoded - input, computed in f64; values that are not f64s are listed after the\n\
table (shown as, and their error against, the nearest f64)."
)]
pub struct EncodeArgs {
    /// Format name (element formats only, e.g. e4m3, e2m1, int8).
    #[arg(value_name = "FORMAT")]
    pub format: String,
    // `crate::cli::escape_negative_values` lets these start with '-'.
    /// Values to encode; negative values such as -0, -1e-9 or -inf are fine.
    #[arg(value_name = "VALUE", required = true, num_args = 1..)]
    pub values: Vec<String>,
    /// Rounding, overflow, NaN policy, stochastic-rounding seed.
    #[command(flatten)]
    pub convert: ConvertArgs,
}

/// Parses a value: a decimal number, `inf`, `-inf` or `nan`, read so that
/// it rounds once into any format (see [`crate::formats::decimal`]).
pub fn parse_value(s: &str) -> Result<Decimal, CliError> {
    decimal::parse(s).map_err(|e| {
        CliError::new(
            format!("value '{s}'"),
            format!("{e} (expected a decimal such as 0.75, -1.5e-3, or inf, -inf, nan)"),
        )
    })
}

/// Encodes each value and prints the table.
pub fn run(args: &EncodeArgs, out: &mut dyn Write) -> CliResult {
    let fmt = element_format(&args.format, "`formats encode`")?;
    let opts = args.convert.options()?;
    args.convert.check(&fmt, &opts)?;
    // Parse every value before printing anything, so a bad one prints nothing.
    let values = args
        .values
        .iter()
        .map(|v| parse_value(v))
        .collect::<Result<Vec<_>, _>>()?;
    let overflow = match fmt {
        ElementFormat::Float(f) => f
            .resolve_overflow(opts.overflow)
            .map(|o| o.name())
            .unwrap_or("?"),
        ElementFormat::Int(_) => Overflow::Saturate.name(),
    };
    let mut rows = vec![vec![
        "input".to_string(),
        "code".into(),
        "bits".into(),
        "value".into(),
        "error".into(),
    ]];
    for (i, (x, raw)) in values.iter().zip(&args.values).enumerate() {
        let code = fmt
            .encode(x.value, &opts, i as u64)
            .map_err(|e| CliError::new(format!("value '{raw}'"), e))?;
        let d = fmt.decode(code);
        // The nearest f64 (not the round-to-odd stand-in) is shown and used for the error.
        let near: f64 = if x.exact {
            x.value
        } else {
            raw.trim().parse().unwrap_or(x.value)
        };
        let (input, error) = (num(near), num(d - near));
        rows.push(vec![
            input,
            code_hex(&fmt, code),
            binary(code, fmt.bits()),
            num(d),
            error,
        ]);
    }
    writeln!(
        out,
        "{fmt}: rounding {}, overflow {overflow}, nan {}",
        opts.rounding, opts.nan
    )
    .and_then(|_| table(out, &rows))
    .and_then(|_| {
        let inexact: Vec<&str> = values
            .iter()
            .zip(&args.values)
            .filter(|(x, _)| !x.exact)
            .map(|(_, raw)| raw.trim())
            .collect();
        if inexact.is_empty() {
            Ok(())
        } else {
            writeln!(
                out,
                "not an f64 (rounded once from the exact decimal; shown and error against the nearest f64): {}",
                inexact.join(", ")
            )
        }
    })
    .map_err(stdout_error)
}
