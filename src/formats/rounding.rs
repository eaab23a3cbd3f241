//! Rounding modes, overflow and NaN policies, and the seeded random source
//! used by stochastic rounding.
//!
//! These are separate from the formats (DESIGN.md vocabulary): one format can
//! be reached under any rounding mode and any overflow policy it allows.

use std::fmt;
use std::str::FromStr;

use super::FormatError;

/// How a value that falls between two representable numbers is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// Round to nearest, ties to even (IEEE default).
    Rne,
    /// Round to nearest, ties away from zero.
    Rna,
    /// Round toward zero (truncate).
    Rtz,
    /// Round toward +infinity.
    Ru,
    /// Round toward −infinity.
    Rd,
    /// Round to odd: truncate, then set the last bit if anything was lost.
    Rto,
    /// Stochastic rounding: round up with probability equal to the discarded
    /// fraction, using a seeded, per-element random number.
    Sr,
}

impl Rounding {
    /// All modes, in a stable order.
    pub const ALL: [Rounding; 7] = [
        Rounding::Rne,
        Rounding::Rna,
        Rounding::Rtz,
        Rounding::Ru,
        Rounding::Rd,
        Rounding::Rto,
        Rounding::Sr,
    ];

    /// The name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Rounding::Rne => "rne",
            Rounding::Rna => "rna",
            Rounding::Rtz => "rtz",
            Rounding::Ru => "ru",
            Rounding::Rd => "rd",
            Rounding::Rto => "rto",
            Rounding::Sr => "sr",
        }
    }

    /// Whether, for a value of sign `neg`, this mode never increases the
    /// magnitude (so an overflow resolves to the largest finite value, as
    /// IEEE 754 §7.4 prescribes for the directed modes).
    pub fn toward_zero(self, neg: bool) -> bool {
        match self {
            Rounding::Rtz | Rounding::Rto => true,
            Rounding::Ru => neg,
            Rounding::Rd => !neg,
            _ => false,
        }
    }
}

impl fmt::Display for Rounding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Rounding {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Self, FormatError> {
        Rounding::ALL
            .into_iter()
            .find(|r| r.name() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                FormatError::BadOption(format!(
                    "unknown rounding mode '{s}' (expected one of rne, rna, rtz, ru, rd, rto, sr)"
                ))
            })
    }
}

/// What happens to a value whose rounded magnitude exceeds the largest finite value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Overflow {
    /// Clamp to ±max finite (infinities too).
    Saturate,
    /// Produce ±infinity (formats with infinities only).
    Inf,
    /// Produce NaN (formats with a NaN only).
    Nan,
}

impl Overflow {
    /// The name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Overflow::Saturate => "saturate",
            Overflow::Inf => "inf",
            Overflow::Nan => "nan",
        }
    }
}

impl fmt::Display for Overflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Overflow {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Self, FormatError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "saturate" | "sat" => Ok(Overflow::Saturate),
            "inf" => Ok(Overflow::Inf),
            "nan" => Ok(Overflow::Nan),
            _ => Err(FormatError::BadOption(format!(
                "unknown overflow policy '{s}' (expected saturate, inf or nan)"
            ))),
        }
    }
}

/// What a NaN input becomes in a format that cannot represent NaN
/// (finite-only minifloats such as FP4/FP6, and integers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NanPolicy {
    /// The −0 code (ml_dtypes behaviour); 0 for integers (+1 for int1, which has no 0).
    NegZero,
    /// +max finite (ONNX behaviour).
    Max,
    /// Refuse: the conversion fails with an error.
    Error,
}

impl NanPolicy {
    /// The name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            NanPolicy::NegZero => "nan-to-negzero",
            NanPolicy::Max => "nan-to-max",
            NanPolicy::Error => "error",
        }
    }
}

impl fmt::Display for NanPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for NanPolicy {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Self, FormatError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "nan-to-negzero" | "negzero" => Ok(NanPolicy::NegZero),
            "nan-to-max" | "max" => Ok(NanPolicy::Max),
            "error" => Ok(NanPolicy::Error),
            _ => Err(FormatError::BadOption(format!(
                "unknown NaN policy '{s}' (expected nan-to-negzero, nan-to-max or error)"
            ))),
        }
    }
}

/// murmur3's 32-bit finalizer: a bijection with full avalanche.
#[inline(always)]
pub fn mix32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x85eb_ca6b);
    x ^= x >> 13;
    x = x.wrapping_mul(0xc2b2_ae35);
    x ^= x >> 16;
    x
}

/// The per-block key of the stochastic-rounding generator: depends on the seed
/// and the high 32 bits of the element index, so vector code computes it once
/// per 2^32 elements.
#[inline(always)]
pub fn sr_key(seed: u64, index_hi: u32) -> u32 {
    mix32((seed as u32) ^ mix32(((seed >> 32) as u32) ^ mix32(index_hi ^ 0x9e37_79b9)))
}

/// 32 random bits for element `index_lo` under `key` (see [`sr_key`]).
/// Counter-based, so the result is the same whatever the chunking or thread count.
#[inline(always)]
pub fn sr_random(key: u32, index_lo: u32) -> u32 {
    mix32(index_lo.wrapping_mul(0x9e37_79b1) ^ key)
}

/// 32 random bits for element `index` of a conversion seeded with `seed`.
#[inline]
pub fn sr_bits(seed: u64, index: u64) -> u32 {
    sr_random(sr_key(seed, (index >> 32) as u32), index as u32)
}

/// Everything a conversion needs beyond the format: rounding, policies, and
/// the stochastic-rounding seed and width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvertOptions {
    /// Rounding mode.
    pub rounding: Rounding,
    /// Overflow policy; `None` picks the format's default (see `MiniFloat::default_overflow`).
    pub overflow: Option<Overflow>,
    /// What NaN becomes in formats without NaN.
    pub nan: NanPolicy,
    /// Seed of the stochastic-rounding generator.
    pub seed: u64,
    /// Random bits per stochastic rounding decision, 1..=32: the discarded
    /// fraction is truncated to this many bits before the comparison.
    pub sr_bits: u32,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            rounding: Rounding::Rne,
            overflow: None,
            nan: NanPolicy::NegZero,
            seed: 0,
            sr_bits: 32,
        }
    }
}

impl ConvertOptions {
    /// Options with the given rounding mode and defaults elsewhere.
    pub fn with_rounding(rounding: Rounding) -> Self {
        ConvertOptions {
            rounding,
            ..Default::default()
        }
    }

    /// Checks the option values that do not depend on a format.
    pub fn validate(&self) -> Result<(), FormatError> {
        if !(1..=32).contains(&self.sr_bits) {
            return Err(FormatError::BadOption(format!(
                "stochastic rounding bits must be 1..=32, got {}",
                self.sr_bits
            )));
        }
        Ok(())
    }
}

/// Decides whether to round a magnitude up, given the truncated code `n`
/// (only its last bit matters), the discarded bits `rem` (a fraction `rem / 2^s` of one unit of `n`), the
/// sign, the mode and, for `sr`, the random bits.
///
/// `rem < 2^53` always holds for inputs derived from an f64 significand, so the
/// arithmetic below cannot overflow.
#[inline(always)]
pub fn round_up(
    n: u64,
    rem: u64,
    s: u32,
    neg: bool,
    mode: Rounding,
    rand32: u32,
    sr_bits: u32,
) -> bool {
    if rem == 0 {
        return false;
    }
    // half = 2^(s-1); for s > 64 every nonzero rem is below half (and s = 0
    // has no half).
    let cmp_half = if s == 0 || s > 64 {
        std::cmp::Ordering::Less
    } else {
        (rem as u128).cmp(&(1u128 << (s - 1)))
    };
    match mode {
        Rounding::Rne => {
            cmp_half == std::cmp::Ordering::Greater
                || (cmp_half == std::cmp::Ordering::Equal && n & 1 == 1)
        }
        Rounding::Rna => cmp_half != std::cmp::Ordering::Less,
        Rounding::Rtz => false,
        Rounding::Ru => !neg,
        Rounding::Rd => neg,
        // Round to odd: set the last bit instead of incrementing; the caller
        // treats `true` as "make n odd" (n | 1), which never carries.
        Rounding::Rto => n & 1 == 0,
        Rounding::Sr => {
            // floor(fraction * 2^r) compared against r random bits.
            let r = sr_bits;
            let top = if s >= 128 {
                0u128
            } else {
                ((rem as u128) << r) >> s
            } as u64;
            let rnd = (rand32 >> (32 - r)) as u64;
            top + rnd >= (1u64 << r)
        }
    }
}
