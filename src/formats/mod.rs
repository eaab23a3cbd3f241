//! Bit-exact number formats: integers, one generic minifloat, block-scaled
//! formats (MX, NVFP4), scaled tensors, packing and fast conversion.
//!
//! Every format is named by one string grammar (see [`parse()`]) used by the CLI,
//! TOML files and reports alike.

pub mod block;
pub mod decimal;
pub mod fast;
pub mod ggml;
pub mod int;
pub mod minifloat;
pub mod mx;
pub mod pack;
pub mod parse;
pub mod rounding;
pub mod scaled;
pub mod ternary;

pub use block::{BlockFormat, BlockKind, ScaleRule};
pub use int::{IntFormat, IntKind};
pub use minifloat::{exp2i, Class, Exp0, MiniFloat, NonFinite};
pub use parse::{parse, presets};
pub use rounding::{ConvertOptions, NanPolicy, Overflow, Rounding};

/// Everything that can go wrong when naming a format or converting to one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The name matches no preset and no `eXmY` / `intN` / `uintN` pattern.
    #[error("unknown format '{0}' (see `bitsim formats list`)")]
    UnknownFormat(String),
    /// The parameters do not describe a valid format.
    #[error("invalid format: {0}")]
    BadFormat(String),
    /// A rounding mode, overflow or NaN policy, or other option is invalid.
    #[error("{0}")]
    BadOption(String),
    /// A NaN reached a format without NaN under the `error` NaN policy.
    #[error("NaN input cannot be represented in {0} (NaN policy is 'error')")]
    NanInput(String),
}

/// A format for single elements: a minifloat or an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElementFormat {
    /// A minifloat (FP4 … f32, E8M0).
    Float(MiniFloat),
    /// An integer format.
    Int(IntFormat),
}

impl ElementFormat {
    /// Bits per code.
    pub fn bits(&self) -> u32 {
        match self {
            ElementFormat::Float(f) => f.bits(),
            ElementFormat::Int(i) => i.bits(),
        }
    }

    /// Encodes an f64 (one rounding).
    pub fn encode(&self, x: f64, opts: &ConvertOptions, index: u64) -> Result<u32, FormatError> {
        match self {
            ElementFormat::Float(f) => f.encode(x, opts, index),
            ElementFormat::Int(i) => i.encode(x, opts, index),
        }
    }

    /// Encodes an f32 (NaN payload kept for IEEE targets).
    pub fn encode_f32(
        &self,
        x: f32,
        opts: &ConvertOptions,
        index: u64,
    ) -> Result<u32, FormatError> {
        match self {
            ElementFormat::Float(f) => f.encode_f32(x, opts, index),
            ElementFormat::Int(i) => i.encode(x as f64, opts, index),
        }
    }

    /// The exact value of a code.
    pub fn decode(&self, code: u32) -> f64 {
        match self {
            ElementFormat::Float(f) => f.decode(code),
            ElementFormat::Int(i) => i.decode(code),
        }
    }

    /// The value of a code as f32 (exact for every preset).
    pub fn decode_f32(&self, code: u32) -> f32 {
        match self {
            ElementFormat::Float(f) => f.decode_f32(code),
            ElementFormat::Int(i) => i.decode(code) as f32,
        }
    }

    /// Largest finite value.
    pub fn max_value(&self) -> f64 {
        match self {
            ElementFormat::Float(f) => f.max_value(),
            ElementFormat::Int(i) => i.max_int() as f64,
        }
    }

    /// Checks an overflow policy against the format (integers only saturate).
    pub fn check_options(&self, opts: &ConvertOptions) -> Result<(), FormatError> {
        opts.validate()?;
        match self {
            ElementFormat::Float(f) => f.resolve_overflow(opts.overflow).map(|_| ()),
            ElementFormat::Int(i) => match opts.overflow {
                None | Some(Overflow::Saturate) => Ok(()),
                Some(o) => Err(FormatError::BadOption(format!(
                    "overflow={o} is impossible: integer format {i} only saturates"
                ))),
            },
        }
    }
}

impl std::fmt::Display for ElementFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ElementFormat::Float(x) => x.fmt(f),
            ElementFormat::Int(x) => x.fmt(f),
        }
    }
}

/// Any format a user can name: an element format or a block-scaled one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Format {
    /// One code per element, no scale.
    Element(ElementFormat),
    /// Blocks of elements sharing a scale (MX, NVFP4).
    Block(BlockFormat),
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Format::Element(e) => e.fmt(f),
            Format::Block(b) => b.fmt(f),
        }
    }
}
