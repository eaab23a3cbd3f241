//! Integer formats: INT1 binary {−1, +1}, ternary {−1, 0, +1}, signed
//! two's-complement INT2..INT8 (optionally symmetric), unsigned UINT1..8.

use super::rounding::{sr_bits, ConvertOptions, NanPolicy, Rounding};
use super::FormatError;

/// Which integer set a format holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntKind {
    /// {−1, +1}: code 0 = −1, code 1 = +1 (sign binarization, BitNet / XNOR-Net).
    Binary,
    /// {−1, 0, +1} in a 2-bit two's-complement code (0b11 = −1); code 0b10 unused.
    Ternary,
    /// Two's complement with `bits` bits; `symmetric` leaves the most negative code unused.
    Signed {
        /// Width, 2..=16.
        bits: u32,
        /// Range ±(2^(bits−1) − 1) instead of [−2^(bits−1), 2^(bits−1) − 1].
        symmetric: bool,
    },
    /// 0 ..= 2^bits − 1.
    Unsigned {
        /// Width, 1..=16.
        bits: u32,
    },
}

/// An integer format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IntFormat {
    /// The integer set.
    pub kind: IntKind,
}

impl IntFormat {
    /// Builds and validates an integer format.
    pub fn new(kind: IntKind) -> Result<Self, FormatError> {
        match kind {
            IntKind::Signed { bits, .. } if !(2..=16).contains(&bits) => Err(FormatError::BadFormat(
                format!("signed integer width must be 2..=16 bits, got {bits} (int1 is the binary format)"),
            )),
            IntKind::Unsigned { bits } if !(1..=16).contains(&bits) => Err(FormatError::BadFormat(
                format!("unsigned integer width must be 1..=16 bits, got {bits}"),
            )),
            _ => Ok(IntFormat { kind }),
        }
    }

    /// Bits per code.
    pub fn bits(&self) -> u32 {
        match self.kind {
            IntKind::Binary => 1,
            IntKind::Ternary => 2,
            IntKind::Signed { bits, .. } | IntKind::Unsigned { bits } => bits,
        }
    }

    /// Smallest representable integer.
    pub fn min_int(&self) -> i64 {
        match self.kind {
            IntKind::Binary | IntKind::Ternary => -1,
            IntKind::Signed { bits, symmetric } => -(1i64 << (bits - 1)) + symmetric as i64,
            IntKind::Unsigned { .. } => 0,
        }
    }

    /// Largest representable integer.
    pub fn max_int(&self) -> i64 {
        match self.kind {
            IntKind::Binary | IntKind::Ternary => 1,
            IntKind::Signed { bits, .. } => (1i64 << (bits - 1)) - 1,
            IntKind::Unsigned { bits } => (1i64 << bits) - 1,
        }
    }

    /// Whether `code` denotes a value (ternary 0b10 and a symmetric format's
    /// most negative code do not).
    pub fn is_valid_code(&self, code: u32) -> bool {
        if code >= 1 << self.bits() {
            return false;
        }
        match self.kind {
            IntKind::Ternary => code != 0b10,
            IntKind::Signed {
                bits,
                symmetric: true,
            } => code != 1 << (bits - 1),
            _ => true,
        }
    }

    /// The integer a code stands for (unused codes read as their two's-complement value).
    pub fn decode_int(&self, code: u32) -> i64 {
        let code = code & ((1u32 << self.bits()) - 1);
        match self.kind {
            IntKind::Binary => {
                if code & 1 == 1 {
                    1
                } else {
                    -1
                }
            }
            IntKind::Ternary => sign_extend(code, 2),
            IntKind::Signed { bits, .. } => sign_extend(code, bits),
            IntKind::Unsigned { .. } => code as i64,
        }
    }

    /// The value of a code, as f64.
    pub fn decode(&self, code: u32) -> f64 {
        self.decode_int(code) as f64
    }

    /// The code of an integer in range.
    pub fn code_of(&self, v: i64) -> u32 {
        debug_assert!(v >= self.min_int() && v <= self.max_int());
        match self.kind {
            IntKind::Binary => (v > 0) as u32,
            _ => (v as u32) & ((1u32 << self.bits()) - 1),
        }
    }

    /// Rounds `x` to an integer of this format (saturating), under `opts`.
    /// Fails only for NaN under [`NanPolicy::Error`], or (stochastic rounding)
    /// `sr_bits` outside 1..=32.
    pub fn round(&self, x: f64, opts: &ConvertOptions, index: u64) -> Result<i64, FormatError> {
        if opts.rounding == Rounding::Sr {
            opts.validate()?;
        }
        let (lo, hi) = (self.min_int(), self.max_int());
        if x.is_nan() {
            return match opts.nan {
                // "0 for integers"; binary {−1, +1} has no 0, so NaN becomes
                // what 0 becomes under the nearest modes (+1).
                NanPolicy::NegZero if self.kind == IntKind::Binary => Ok(1),
                NanPolicy::NegZero => Ok(0.clamp(lo, hi)),
                NanPolicy::Max => Ok(hi),
                NanPolicy::Error => Err(FormatError::NanInput(self.to_string())),
            };
        }
        if self.kind == IntKind::Binary {
            return Ok(self.round_binary(x, opts, index));
        }
        // Outside the range every mode saturates; this also keeps x − floor(x) exact.
        if x <= lo as f64 {
            return Ok(lo);
        }
        if x >= hi as f64 {
            return Ok(hi);
        }
        let fl = x.floor();
        let frac = x - fl; // exact: |x| < 2^16
        let fl = fl as i64;
        let up = if frac == 0.0 {
            false
        } else {
            match opts.rounding {
                Rounding::Rne => frac > 0.5 || (frac == 0.5 && fl & 1 == 1),
                // Ties away from zero: up for positive values, down (toward −inf) for negative.
                Rounding::Rna => frac > 0.5 || (frac == 0.5 && x > 0.0),
                Rounding::Rtz => x < 0.0,
                Rounding::Ru => true,
                Rounding::Rd => false,
                Rounding::Rto => fl & 1 == 0,
                Rounding::Sr => sr_up(frac, opts, index),
            }
        };
        Ok((fl + up as i64).clamp(lo, hi))
    }

    /// Binary {−1, +1}: the nearest-style modes give sign(x) with 0 → +1; the
    /// directed modes pick the neighbour on their side; `sr` picks +1 with
    /// probability (x + 1) / 2 on [−1, 1].
    fn round_binary(&self, x: f64, opts: &ConvertOptions, index: u64) -> i64 {
        let s = if x >= 0.0 { 1 } else { -1 };
        match opts.rounding {
            Rounding::Ru => {
                if x > -1.0 {
                    1
                } else {
                    -1
                }
            }
            Rounding::Rd => {
                if x < 1.0 {
                    -1
                } else {
                    1
                }
            }
            Rounding::Sr if x > -1.0 && x < 1.0 => {
                if sr_up((x + 1.0) * 0.5, opts, index) {
                    1
                } else {
                    -1
                }
            }
            _ => s,
        }
    }

    /// Encodes `x` to a code under `opts`.
    pub fn encode(&self, x: f64, opts: &ConvertOptions, index: u64) -> Result<u32, FormatError> {
        Ok(self.code_of(self.round(x, opts, index)?))
    }
}

/// Stochastic decision for a fraction in [0, 1): up with probability
/// floor(frac · 2^r) / 2^r.
fn sr_up(frac: f64, opts: &ConvertOptions, index: u64) -> bool {
    let r = opts.sr_bits;
    let top = (frac * (1u64 << r) as f64).floor() as u64; // exact: scaling by 2^r
    let rnd = (sr_bits(opts.seed, index) >> (32 - r)) as u64;
    top + rnd >= 1u64 << r
}

fn sign_extend(code: u32, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((code as i64) << shift) >> shift
}

impl std::fmt::Display for IntFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            IntKind::Binary => write!(f, "int1"),
            IntKind::Ternary => write!(f, "ternary"),
            IntKind::Signed { bits, symmetric } => {
                write!(f, "int{bits}{}", if symmetric { ":symmetric" } else { "" })
            }
            IntKind::Unsigned { bits } => write!(f, "uint{bits}"),
        }
    }
}
