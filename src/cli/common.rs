//! Pieces every subcommand shares: the one-line error type, conversion
//! option flags, number and code formatting, and atomic output files.

use std::fmt;
use std::fs::File;
use std::io;
use std::path::Path;

use clap::Args;

use crate::formats::{
    parse, ConvertOptions, ElementFormat, Format, FormatError, NanPolicy, Overflow, Rounding,
};

/// An error the CLI reports as `bitsim: error: <input>: <reason>` (exit code 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// The input at fault: a file, a flag with its value, a format name, a value.
    pub input: String,
    /// Why it was rejected.
    pub reason: String,
}

impl CliError {
    /// An error about `input`.
    pub fn new(input: impl Into<String>, reason: impl fmt::Display) -> Self {
        CliError {
            input: input.into(),
            reason: reason.to_string(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keep it to one line whatever the reason's text holds.
        let one_line = |s: &str| {
            s.split(['\n', '\r'])
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("; ")
        };
        write!(f, "{}: {}", one_line(&self.input), one_line(&self.reason))
    }
}

/// What a subcommand returns.
pub type CliResult = Result<(), CliError>;

/// The reason [`stdout_error`] gives for a closed pipe, which `main` treats as success.
pub const BROKEN_PIPE: &str = "broken pipe";

/// Maps a write error on stdout to a [`CliError`].
pub fn stdout_error(e: io::Error) -> CliError {
    if e.kind() == io::ErrorKind::BrokenPipe {
        CliError::new("stdout", BROKEN_PIPE)
    } else {
        CliError::new("stdout", e)
    }
}

/// Conversion options shared by `formats encode` and `quantize`.
///
/// Values are taken as strings and checked here (not by clap) so that a bad
/// value gives the same one-line error as every other bad input; values may
/// start with `-` (`--seed -3` reaches our parser, not clap's).
#[derive(Debug, Clone, Args)]
pub struct ConvertArgs {
    /// Rounding mode: rne, rna, rtz, ru, rd, rto, sr (stochastic).
    #[arg(
        long,
        value_name = "R",
        default_value = "rne",
        allow_hyphen_values = true
    )]
    pub rounding: String,
    /// Overflow policy: saturate, inf or nan [default: the format's own: inf
    /// where it has infinities, else nan where it has NaN, else saturate].
    #[arg(long, value_name = "O", allow_hyphen_values = true)]
    pub overflow: Option<String>,
    /// What NaN becomes in formats without NaN: nan-to-negzero, nan-to-max or error.
    #[arg(
        long = "nan",
        value_name = "P",
        default_value = "nan-to-negzero",
        allow_hyphen_values = true
    )]
    pub nan: String,
    /// Seed of stochastic rounding (same seed, same output).
    #[arg(
        long,
        value_name = "S",
        default_value = "0",
        allow_hyphen_values = true
    )]
    pub seed: String,
    /// Random bits per stochastic-rounding decision, 1..=32 [default: 32];
    /// only with `--rounding sr`.
    #[arg(long = "sr-bits", value_name = "B", allow_hyphen_values = true)]
    pub sr_bits: Option<String>,
}

impl ConvertArgs {
    /// Parses the flags into [`ConvertOptions`] (format-independent checks only).
    pub fn options(&self) -> Result<ConvertOptions, CliError> {
        let flag = |name: &str, v: &str| format!("--{name} {v}");
        let rounding: Rounding = self
            .rounding
            .parse()
            .map_err(|e| CliError::new(flag("rounding", &self.rounding), e))?;
        let overflow = match &self.overflow {
            None => None,
            Some(o) => Some(
                o.parse::<Overflow>()
                    .map_err(|e| CliError::new(flag("overflow", o), e))?,
            ),
        };
        let nan: NanPolicy = self
            .nan
            .parse()
            .map_err(|e| CliError::new(flag("nan", &self.nan), e))?;
        let seed =
            parse_uint(&self.seed).map_err(|e| CliError::new(flag("seed", &self.seed), e))?;
        let sr_text = self.sr_bits.as_deref().unwrap_or("32");
        let sr_bits = parse_uint(sr_text)
            .ok()
            .filter(|b| (1..=32).contains(b))
            .ok_or_else(|| {
                CliError::new(flag("sr-bits", sr_text), "expected an integer in 1..=32")
            })? as u32;
        if self.sr_bits.is_some() && rounding != Rounding::Sr {
            // It would be ignored: say so rather than let it pass.
            return Err(CliError::new(
                flag("sr-bits", sr_text),
                format!(
                    "applies only to stochastic rounding (--rounding sr), not --rounding {}",
                    self.rounding
                ),
            ));
        }
        let opts = ConvertOptions {
            rounding,
            overflow,
            nan,
            seed,
            sr_bits,
        };
        opts.validate()
            .map_err(|e| CliError::new(flag("sr-bits", sr_text), e))?;
        Ok(opts)
    }

    /// Checks the options against an element format; the error names the
    /// `--overflow` flag, the only one that depends on the format.
    pub fn check(&self, fmt: &ElementFormat, opts: &ConvertOptions) -> CliResult {
        fmt.check_options(opts).map_err(|e| {
            let input = match &self.overflow {
                Some(o) => format!("--overflow {o}"),
                None => format!("format {fmt}"),
            };
            CliError::new(input, e)
        })
    }
}

/// Parses a non-negative integer in decimal, `0x` hex or `0b` binary.
pub fn parse_uint(s: &str) -> Result<u64, String> {
    // The reason leaves the value out: every caller's label names the flag
    // and the value the user typed (`--seed -1: not a …`).
    const NOT_UINT: &str = "not a non-negative integer (decimal, 0x… hex or 0b… binary)";
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let (digits, radix) = if let Some(h) = lower.strip_prefix("0x") {
        (h, 16)
    } else if let Some(b) = lower.strip_prefix("0b") {
        (b, 2)
    } else {
        (lower.as_str(), 10)
    };
    let digits = digits.replace('_', "");
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return Err(NOT_UINT.to_string());
    }
    u64::from_str_radix(&digits, radix).map_err(|e| match e.kind() {
        std::num::IntErrorKind::PosOverflow => format!("too large (at most {})", u64::MAX),
        _ => NOT_UINT.to_string(),
    })
}

/// Parses a format name; the error names the input as `what 'name'`.
pub fn parse_format(what: &str, s: &str) -> Result<Format, CliError> {
    parse(s).map_err(|e| CliError::new(format!("{what} '{s}'"), strip_format_prefix(&e, s)))
}

/// The error's text without a repeated `'name': ` prefix (the input is named already).
fn strip_format_prefix(e: &FormatError, s: &str) -> String {
    let text = e.to_string();
    let quoted = format!("'{}': ", s.trim().to_ascii_lowercase());
    let quoted_raw = format!("'{s}': ");
    text.replacen(&quoted_raw, "", 1).replacen(&quoted, "", 1)
}

/// Formats a number so that it parses back to exactly the same f64:
/// Rust's shortest round-trip digits, in plain notation (`{}`) when
/// 1e-6 ≤ |x| < 1e16 or x = 0, in scientific notation (`{:e}`, e.g. `1e-9`)
/// otherwise; `nan`, `inf`, `-inf`, and `-0` for negative zero.
pub fn num(x: f64) -> String {
    // One number format for the CLI and the results CSV ({} prints −0 as "-0").
    crate::suite::files::csv_number(x)
}

/// A code in hex, zero-padded to the format's width: `0x7e`.
pub fn hex(code: u32, bits: u32) -> String {
    format!("0x{:0w$x}", code, w = bits.div_ceil(4) as usize)
}

/// A code in binary, exactly `bits` digits wide: `01111110`.
pub fn binary(code: u32, bits: u32) -> String {
    format!("{:0w$b}", code, w = bits as usize)
}

/// Prints rows as left-aligned columns separated by two spaces (no trailing spaces).
pub fn table(out: &mut dyn io::Write, rows: &[Vec<String>]) -> io::Result<()> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == r.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(width[c] - cell.chars().count() + 2));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Writes an output file atomically: `write` fills a temporary file in the
/// same directory, which is renamed over `path` only when everything
/// succeeded, so a failure never leaves a partial file behind.
pub fn write_atomically(path: &Path, write: impl FnOnce(&mut File) -> io::Result<()>) -> CliResult {
    // The error's own text already says "cannot create/write output".
    crate::atomic_file::write_with(path, write)
        .map_err(|e| CliError::new(path.display().to_string(), e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for x in [
            0.0,
            -0.0,
            448.0,
            0.1,
            1e-9,
            2f64.powi(-149),
            3.4028234663852886e38,
            1e16,
            1e-6,
        ] {
            assert_eq!(num(x).parse::<f64>().unwrap().to_bits(), x.to_bits(), "{x}");
        }
        assert_eq!(num(-0.0), "-0");
        assert_eq!(num(1e-9), "1e-9");
        assert_eq!(num(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn uints() {
        assert_eq!(parse_uint("0x7E"), Ok(0x7e));
        assert_eq!(parse_uint("0b101"), Ok(5));
        assert_eq!(parse_uint("12"), Ok(12));
        assert!(parse_uint("-1").is_err());
        assert!(parse_uint("0x").is_err());
        assert!(parse_uint("0x+1").is_err());
    }
}
