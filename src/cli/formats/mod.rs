//! `bitsim formats …`: list the presets, show every code of a format,
//! encode values, decode codes.

pub mod decode;
pub mod encode;
pub mod list;
pub mod show;

use std::io::Write;

use clap::Subcommand;

use super::common::{hex, num, parse_format, CliError};
use super::CliResult;
use crate::formats::{Class, ElementFormat, Format};

/// The `formats` subcommands.
#[derive(Debug, Subcommand)]
pub enum FormatsCommand {
    /// List every named format with its range and special values.
    List(list::ListArgs),
    /// Show every code of an element format (at most 16 bits) and its value.
    Show(show::ShowArgs),
    /// Encode values to a format and show code, decoded value and error.
    Encode(encode::EncodeArgs),
    /// Decode codes of a format.
    Decode(decode::DecodeArgs),
}

/// Runs a `formats` subcommand.
pub fn run(cmd: FormatsCommand, out: &mut dyn Write) -> CliResult {
    match cmd {
        FormatsCommand::List(a) => list::run(&a, out),
        FormatsCommand::Show(a) => show::run(&a, out),
        FormatsCommand::Encode(a) => encode::run(&a, out),
        FormatsCommand::Decode(a) => decode::run(&a, out),
    }
}

/// Parses a format that must be an element format; `action` says what a
/// block format cannot do here (for the error message).
pub fn element_format(s: &str, action: &str) -> Result<ElementFormat, CliError> {
    match parse_format("format", s)? {
        Format::Element(e) => Ok(e),
        Format::Block(b) => Err(CliError::new(
            format!("format '{s}'"),
            format!(
                "{b} is a block-scaled format (element {}, {} scale per {} elements); {action} \
                 works on element formats (use its element format, or `bitsim quantize` for blocks)",
                b.element, b.scale, b.block_size
            ),
        )),
    }
}

/// What a code stands for, in words: zero, subnormal, normal, inf, nan for
/// floats; int, or unused for integer codes outside the value set.
pub fn kind(fmt: &ElementFormat, code: u32) -> &'static str {
    match fmt {
        ElementFormat::Float(f) => match f.classify(code) {
            Class::Nan => "nan",
            Class::Inf => "inf",
            Class::Finite => {
                let v = f.decode(code);
                if v == 0.0 {
                    "zero"
                } else if v.abs() < f.min_normal() {
                    "subnormal"
                } else {
                    "normal"
                }
            }
        },
        ElementFormat::Int(i) => {
            if i.is_valid_code(code) {
                "int"
            } else {
                "unused"
            }
        }
    }
}

/// The decoded value of a code, formatted ([`num`]); `-` for an integer code
/// outside the value set (ternary `0b10`, a symmetric format's most negative
/// code), which stands for no value.
pub fn value(fmt: &ElementFormat, code: u32) -> String {
    match fmt {
        ElementFormat::Int(i) if !i.is_valid_code(code) => "-".into(),
        _ => num(fmt.decode(code)),
    }
}

/// Text for a code in hex at the format's width.
pub fn code_hex(fmt: &ElementFormat, code: u32) -> String {
    hex(code, fmt.bits())
}
