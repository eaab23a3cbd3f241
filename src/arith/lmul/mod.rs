//! L-Mul (Luo & Sun 2024, "Addition is All You Need"): multiplication by
//! integer addition of bit fields, in its two semantics (`lmul-carry`,
//! `lmul-literal`), for any minifloat format.
//!
//! For `x = (1 + x_m)·2^x_e`, `y = (1 + y_m)·2^y_e` with `m` mantissa bits the
//! paper defines `L-Mul(x, y) = (1 + x_m + y_m + 2^−l(m))·2^(x_e + y_e)`,
//! with `l(m) = m` for `m ≤ 3`, `3` for `m = 4`, `4` for `m > 4` ([`l_of`]).
//! In hardware it is one integer addition of the magnitudes' exponent|mantissa
//! fields minus the constant `(bias << m) − 2^(m − l(m))` ([`LmulUnit::offset`];
//! f32: `0x3F78_0000`, bf16: `0x3F78`). The two readings differ when
//! `x_m + y_m + 2^−l(m) ≥ 1`:
//!
//! - [`Semantics::Carry`]: the integer sum; the mantissa carry runs into the
//!   exponent, giving `2^(x_e+y_e+1)·(x_m + y_m + 2^−l(m))` (exact, no
//!   rounding, while the result stays in the normal range).
//! - [`Semantics::Literal`]: the formula's value `(1 + x_m + y_m + 2^−l(m))·2^(x_e+y_e)`,
//!   which then has one bit more than the format holds and is rounded with
//!   the options' rounding mode.
//!
//! The paper leaves the special cases open; bitsim defines them:
//!
//! | operands | result |
//! |---|---|
//! | NaN and anything | the format's canonical NaN (positive) |
//! | ±inf × ±0 | NaN |
//! | ±inf × nonzero finite or inf | ±inf (sign XOR), whatever the overflow policy (an exact result, not an overflow) |
//! | ±0 × finite | ±0, sign XOR (+0 where the format has no −0): never a small non-zero value |
//! | subnormal operand | normalized first (a leading-zero count and shift, as an FP multiplier's front end does), then it enters the formula as `(1 + x_m)·2^x_e` with `x_e` below the normal range; exact, nothing is flushed |
//! | result above the largest finite value | the overflow policy (`o.overflow`, else the format's default), as [`MiniFloat::encode`] applies it (directed roundings toward zero give ±max) |
//! | result below the smallest normal | rounded into the subnormals with `o.rounding` (a format without subnormals rounds to 0 or its smallest normal, as `encode` does) |
//!
//! Exponent field 0 of a `subnormals=off` format reads as zero; of a
//! `subnormals=none` format (E8M0) it is an ordinary binade. Out-of-range
//! results are defined by their exact value: for `lmul-carry` the value the
//! integer sum stands for under an unbounded exponent (field `⌊R/2^m⌋`,
//! mantissa `R mod 2^m`), for `lmul-literal` the formula's value; either is
//! rounded once by [`MiniFloat::encode`].

mod dot;

pub use dot::{dot, matmul, PreparedOperand};

use crate::formats::minifloat::exp2i;
use crate::formats::rounding::{round_up, sr_bits};
use crate::formats::{Class, ConvertOptions, Exp0, FormatError, MiniFloat, Overflow, Rounding};

/// The two readings of L-Mul (Luo & Sun 2024, "Addition is All You Need").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Semantics {
    /// One integer addition of the exponent|mantissa fields minus the
    /// offset; a mantissa carry runs into the exponent.
    Carry,
    /// The paper's formula `(1 + x_m + y_m + 2^−l(m)) · 2^(x_e + y_e)`, rounded into the format.
    Literal,
}

impl Semantics {
    /// Both semantics, in display order.
    pub const ALL: [Semantics; 2] = [Semantics::Carry, Semantics::Literal];

    /// The name used in variant names and reports (`lmul-carry`, `lmul-literal`).
    pub fn name(self) -> &'static str {
        match self {
            Semantics::Carry => "lmul-carry",
            Semantics::Literal => "lmul-literal",
        }
    }
}

impl std::fmt::Display for Semantics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Semantics {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "lmul-carry" | "carry" => Ok(Semantics::Carry),
            "lmul-literal" | "literal" => Ok(Semantics::Literal),
            _ => Err(format!(
                "unknown L-Mul semantics '{s}' (expected lmul-carry or lmul-literal)"
            )),
        }
    }
}

/// `l(m)` of the paper: the offset is `2^−l(m)`.
pub fn l_of(m: u32) -> u32 {
    match m {
        0..=3 => m,
        4 => 3,
        _ => 4,
    }
}

/// An operand split for the unit: its sign and what kind of value it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand {
    /// NaN (any code the format reads as NaN).
    Nan,
    /// ±infinity.
    Inf {
        /// Sign.
        neg: bool,
    },
    /// ±0.
    Zero {
        /// Sign.
        neg: bool,
    },
    /// A finite non-zero value `(1 + M/2^m)·2^(E − bias)` as the extended
    /// magnitude integer `(E << m) + M`: the code's magnitude for normal
    /// codes; for subnormals the normalized value, whose field `E ≤ 0`
    /// makes the integer small or negative.
    Finite {
        /// Sign.
        neg: bool,
        /// Extended magnitude integer.
        mag: i64,
    },
}

/// An L-Mul unit for one format, semantics and set of options: the constants
/// are derived once, the options validated once.
///
/// The result format is the operand format unless the unit is built with
/// [`LmulUnit::with_output`]: a format of the same mantissa width with a
/// wider exponent models an adder that keeps its carry-out bit, so products
/// of large or small operands neither overflow nor underflow (an FP8 L-Mul
/// feeding an f32 accumulator).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LmulUnit {
    /// The operand format.
    pub format: MiniFloat,
    /// The result format (same mantissa width).
    pub output: MiniFloat,
    /// Which reading of L-Mul.
    pub semantics: Semantics,
    /// Rounding (literal carries and out-of-range results) and policies.
    pub opts: ConvertOptions,
    /// `2^(m − l(m))`: the offset `2^−l(m)` in units of the last mantissa bit.
    off: i64,
    /// Smallest operand-layout integer with a normal exponent field of the output.
    lo: i64,
    /// Largest operand-layout integer that is a finite output code.
    hi: i64,
    /// Output code minus operand-layout integer: `(bias_out − bias) << m`.
    shift: i64,
}

impl LmulUnit {
    /// A unit for `format` with options `opts`. Fails when the options do
    /// not fit the format (an overflow policy it cannot represent, stochastic
    /// rounding bits outside 1..=32).
    pub fn new(
        format: MiniFloat,
        semantics: Semantics,
        opts: &ConvertOptions,
    ) -> Result<Self, FormatError> {
        Self::with_output(format, format, semantics, opts)
    }

    /// A unit whose results are rounded into `output` instead of `format`
    /// (the options then apply to `output`). Fails, besides as [`LmulUnit::new`],
    /// when the mantissa widths differ, or when `format` has infinities, NaN
    /// or signs that `output` lacks.
    pub fn with_output(
        format: MiniFloat,
        output: MiniFloat,
        semantics: Semantics,
        opts: &ConvertOptions,
    ) -> Result<Self, FormatError> {
        format.validate()?;
        output.validate()?;
        opts.validate()?;
        let bad = |why: &str| {
            Err(FormatError::BadOption(format!(
                "L-Mul {format} -> {output}: {why}"
            )))
        };
        if output.mbits != format.mbits {
            return bad("the result format must have the operands' mantissa width");
        }
        if (format.has_inf() && !output.has_inf())
            || (format.has_nan() && !output.has_nan())
            || (format.signed && !output.signed)
        {
            return bad("the result format must hold the operands' infinities, NaN and signs");
        }
        let overflow = output.resolve_overflow(opts.overflow)?;
        let m = format.mbits;
        let shift = ((output.bias as i64) - (format.bias as i64)) << m;
        let lo_out = if output.exp0 == Exp0::Normal {
            0
        } else {
            1i64 << m
        };
        Ok(LmulUnit {
            format,
            output,
            semantics,
            opts: ConvertOptions {
                overflow: Some(overflow),
                ..*opts
            },
            off: 1i64 << (m - l_of(m)),
            lo: lo_out - shift,
            hi: output.max_mag_code() as i64 - shift,
            shift,
        })
    }

    /// The constant the hardware subtracts from the sum of the two magnitude
    /// codes: `(bias << m) − 2^(m − l(m))` (f32: `0x3F78_0000`, bf16: `0x3F78`).
    pub fn offset(&self) -> i64 {
        ((self.format.bias as i64) << self.format.mbits) - self.off
    }

    /// The overflow policy in force (the options' or the format's default).
    pub fn overflow(&self) -> Overflow {
        self.opts.overflow.expect("resolved in new")
    }

    /// Splits a code into an [`Operand`] (bits above the format's width are ignored).
    pub fn operand(&self, code: u32) -> Operand {
        let f = &self.format;
        let code = (code as u64 & (f.code_count() - 1)) as u32;
        let m = f.mbits;
        let mag_bits = f.ebits + m;
        let neg = f.signed && (code >> mag_bits) & 1 == 1;
        match f.classify(code) {
            Class::Nan => return Operand::Nan,
            Class::Inf => return Operand::Inf { neg },
            Class::Finite => {}
        }
        let mag = code & ((1u32 << mag_bits) - 1);
        let field = mag >> m;
        let mant = mag & ((1u32 << m) - 1);
        if field != 0 || f.exp0 == Exp0::Normal {
            return Operand::Finite {
                neg,
                mag: mag as i64,
            };
        }
        if mant == 0 || f.exp0 == Exp0::Flush {
            return Operand::Zero { neg };
        }
        // Subnormal mant·2^(1−bias−m): its leading one at bit p gives
        // (1 + (mant − 2^p)/2^p)·2^(p+1−m−bias), i.e. field p + 1 − m ≤ 0.
        let p = 31 - mant.leading_zeros();
        let frac = ((mant - (1 << p)) as i64) << (m - p);
        let e = p as i64 + 1 - m as i64;
        Operand::Finite {
            neg,
            mag: (e << m) + frac,
        }
    }

    /// L-Mul of two codes of `format`, as a code of `output`; `index` keys
    /// stochastic rounding (the element's position).
    pub fn mul(&self, a: u32, b: u32, index: u64) -> u32 {
        self.mul_operands(self.operand(a), self.operand(b), index)
    }

    /// L-Mul of two split operands, as a code of `output`.
    pub fn mul_operands(&self, a: Operand, b: Operand, index: u64) -> u32 {
        let f = &self.output;
        match self.special(a, b) {
            Some(Special::Nan) => self.nan(),
            Some(Special::Inf(neg)) => f.inf_code(neg).expect("an infinite operand implies inf"),
            Some(Special::Zero(neg)) => f.zero_code(neg),
            None => {
                let (neg, ma, mb) = finite_pair(a, b);
                match self.core(ma, mb, neg, index) {
                    Raw::Code(r) => {
                        let sign = if neg && f.signed {
                            1u32 << (f.ebits + f.mbits)
                        } else {
                            0
                        };
                        sign | (r + self.shift) as u32
                    }
                    Raw::Exact(v) => self.encode(if neg { -v } else { v }, index),
                }
            }
        }
    }

    /// The value of L-Mul of two split operands, as f64 (what an accumulator
    /// receives): equal to `output.decode(mul_operands(a, b, index))`,
    /// computed from bits without a decode on the common path.
    #[inline]
    pub fn value_operands(&self, a: Operand, b: Operand, index: u64) -> f64 {
        if let (Operand::Finite { neg: na, mag: ma }, Operand::Finite { neg: nb, mag: mb }) = (a, b)
        {
            let neg = na != nb;
            if let Raw::Code(r) = self.core(ma, mb, neg, index) {
                let m = self.format.mbits;
                let e = (r >> m) - self.format.bias as i64 + 1023;
                let mant = (r & ((1i64 << m) - 1)) as u64;
                return f64::from_bits(
                    ((neg as u64) << 63) | ((e as u64) << 52) | (mant << (52 - m)),
                );
            }
        }
        self.output.decode(self.mul_operands(a, b, index))
    }

    /// The canonical NaN of the format (every format reaching here has one:
    /// NaN results need a NaN or an infinite operand).
    fn nan(&self) -> u32 {
        self.output
            .nan_code(false)
            .unwrap_or(self.output.zero_code(false))
    }

    fn encode(&self, v: f64, index: u64) -> u32 {
        self.output
            .encode(v, &self.opts, index)
            .expect("options validated in LmulUnit::new")
    }

    /// The result class when an operand is not finite non-zero.
    fn special(&self, a: Operand, b: Operand) -> Option<Special> {
        use Operand::*;
        let sign = |o: Operand| match o {
            Inf { neg } | Zero { neg } | Finite { neg, .. } => neg,
            Nan => false,
        };
        let neg = sign(a) != sign(b);
        match (a, b) {
            (Nan, _) | (_, Nan) => Some(Special::Nan),
            (Inf { .. }, Zero { .. }) | (Zero { .. }, Inf { .. }) => Some(Special::Nan),
            (Inf { .. }, _) | (_, Inf { .. }) => Some(Special::Inf(neg)),
            (Zero { .. }, _) | (_, Zero { .. }) => Some(Special::Zero(neg)),
            _ => None,
        }
    }

    /// The L-Mul of two finite non-zero magnitudes: the result as an integer
    /// of the operand layout when it is a normal number of the output format,
    /// else its exact value (to be rounded by `encode`).
    #[inline(always)]
    fn core(&self, ma: i64, mb: i64, neg: bool, index: u64) -> Raw {
        let m = self.format.mbits;
        let bias = self.format.bias as i64;
        let mask = (1i64 << m) - 1;
        // Field of the result before any carry, and the mantissa sum.
        let e = (ma >> m) + (mb >> m) - bias;
        let s = (ma & mask) + (mb & mask) + self.off;
        if self.semantics == Semantics::Carry || s <= mask {
            // One integer addition; any carry runs into the exponent.
            let r = (e << m) + s;
            if r >= self.lo && r <= self.hi {
                return Raw::Code(r);
            }
            let (field, mant) = (r >> m, r & mask);
            return Raw::Exact(
                ((1i64 << m) + mant) as f64 * exp2i((field - bias - m as i64) as i32),
            );
        }
        // Literal with 1 + s ≥ 2: significand t = 2^m + s in binade e + 1,
        // where it has one bit too many: round it away.
        let t = (1i64 << m) + s;
        if e + 1 >= self.lo >> m {
            let rand = if self.opts.rounding == Rounding::Sr {
                sr_bits(self.opts.seed, index)
            } else {
                0
            };
            let n = (t >> 1) as u64;
            let up = round_up(
                n,
                (t & 1) as u64,
                1,
                neg,
                self.opts.rounding,
                rand,
                self.opts.sr_bits,
            );
            // n + up may reach 2^(m+1): the integer sum carries it into the exponent.
            let r = ((e + 1) << m) + (n + up as u64) as i64 - (1i64 << m);
            if r <= self.hi {
                return Raw::Code(r);
            }
        }
        Raw::Exact(t as f64 * exp2i((e - bias - m as i64) as i32))
    }
}

/// The result of the integer datapath for finite non-zero operands.
enum Raw {
    /// A finite magnitude in the output's normal range, as an integer of the
    /// operand layout (the output code is it plus `shift`).
    Code(i64),
    /// The exact magnitude, outside the normal range (or past max after rounding).
    Exact(f64),
}

enum Special {
    Nan,
    Inf(bool),
    Zero(bool),
}

fn finite_pair(a: Operand, b: Operand) -> (bool, i64, i64) {
    match (a, b) {
        (Operand::Finite { neg: na, mag: ma }, Operand::Finite { neg: nb, mag: mb }) => {
            (na != nb, ma, mb)
        }
        _ => unreachable!("special() handles every non-finite or zero operand"),
    }
}

/// L-Mul of two codes of `f`.
///
/// An overflow policy the format cannot represent, or invalid stochastic
/// rounding bits, fall back to the format's default policy and 32 bits
/// (validate first with [`LmulUnit::new`] to get an error instead).
/// Stochastic rounding uses element index 0; [`LmulUnit::mul`] takes an index.
pub fn lmul(f: &MiniFloat, a: u32, b: u32, sem: Semantics, o: &ConvertOptions) -> u32 {
    let unit = LmulUnit::new(*f, sem, o).unwrap_or_else(|_| {
        let fallback = ConvertOptions {
            overflow: None,
            sr_bits: if (1..=32).contains(&o.sr_bits) {
                o.sr_bits
            } else {
                32
            },
            ..*o
        };
        LmulUnit::new(*f, sem, &fallback).expect("a validated format with default options")
    });
    unit.mul(a, b, 0)
}
