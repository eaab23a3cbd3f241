//! [`FloatUnit`]: one format with one set of rounding options, its constants
//! precomputed, plus the two halves every operation shares: unpacking a code
//! into sign, exponent and integer significand, and rounding an exact result
//! (kept as a 64-bit significand with a sticky bit) into a code.
//!
//! The rounding half mirrors `MiniFloat::encode` step for step (same
//! stochastic-rounding bits, same overflow and NaN rules), so rounding an
//! exact value here gives the same code as encoding that value.

use crate::formats::rounding::{round_up, sr_bits};
use crate::formats::{
    ConvertOptions, Exp0, FormatError, MiniFloat, NanPolicy, NonFinite, Overflow, Rounding,
};

/// A decoded operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operand {
    /// ±0 (also every exponent-0 code of a flush-to-zero format).
    Zero { neg: bool },
    /// `sig × 2^exp` with `0 < sig < 2^24`.
    Finite { neg: bool, exp: i32, sig: u32 },
    /// ±infinity.
    Inf { neg: bool },
    /// NaN; `payload` in f64 layout (quiet bit at 51), as `MiniFloat::decode` gives it.
    Nan { neg: bool, payload: u64 },
}

/// An exact result before rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exact {
    /// An exact zero of the given sign.
    Zero { neg: bool },
    /// `sig × 2^(exp − 63)` with bit 63 of `sig` set; bit 0 may be a sticky bit
    /// standing for nonzero bits below it (always at least 40 bits below the
    /// last bit any format keeps, so every rounding decision sees the truth).
    Finite { neg: bool, exp: i32, sig: u64 },
    /// ±infinity.
    Inf { neg: bool },
    /// NaN with f64-layout payload.
    Nan { neg: bool, payload: u64 },
}

/// The NaN an invalid operation (inf − inf, 0 × inf) produces: positive, quiet,
/// empty payload (the format's canonical NaN).
pub(crate) const DEFAULT_NAN: Exact = Exact::Nan {
    neg: false,
    payload: 1 << 51,
};

/// One arithmetic unit: a format plus rounding mode, overflow and NaN
/// policies and the stochastic-rounding seed, with the per-format constants
/// the integer hot paths need.
///
/// NaN results: a NaN operand propagates (the first NaN among `a`, `b`, `c`,
/// with its sign and, in IEEE-style formats, its payload, quieted, as x86 and
/// SoftFloat's 8086 specialization do); an invalid operation (inf − inf,
/// 0 × inf) gives the format's canonical positive quiet NaN. `fn` formats
/// have one NaN per sign, `fnuz` a single NaN. Formats without NaN cannot see
/// a NaN from codes; a NaN reaching them through [`FloatUnit::add_values`]
/// follows the NaN policy (`error` acts as `nan-to-negzero`, since the
/// operations cannot fail).
///
/// Unsigned formats (E8M0): a negative result becomes the NaN code (or code 0
/// where there is no NaN), a zero result the smallest value, exactly as
/// `MiniFloat::encode` does.
#[derive(Debug, Clone, Copy)]
pub struct FloatUnit {
    pub(crate) f: MiniFloat,
    pub(crate) m: u32,
    code_mask: u32,
    sign_bit: u32,
    mag_mask: u32,
    pub(crate) mant_mask: u32,
    e_all: u32,
    pub(crate) implicit: u32,
    pub(crate) bias: i32,
    /// Exponent of the last significand bit of exponent-field-0 codes.
    exp0_lsb: i32,
    pub(crate) emin: i32,
    pub(crate) max_mag: u32,
    mag_limit: u64,
    /// 2^m when exponent field 0 is a normal binade (its codes carry no implicit bit), else 0.
    normal_adj: u64,
    pub(crate) rounding: Rounding,
    overflow: Overflow,
    nan: NanPolicy,
    pub(crate) seed: u64,
    pub(crate) sr_bits: u32,
}

impl FloatUnit {
    /// A unit for `f` under `o`; fails where `MiniFloat::encode` would reject
    /// the options (an overflow policy the format cannot express, `sr_bits`
    /// outside 1..=32).
    pub fn new(f: &MiniFloat, o: &ConvertOptions) -> Result<Self, FormatError> {
        let overflow = f.resolve_overflow(o.overflow)?;
        o.validate()?;
        Ok(Self::build(f, o, overflow))
    }

    /// Like [`FloatUnit::new`] but never fails: an impossible overflow policy
    /// falls back to the format's default and `sr_bits` is clamped to 1..=32.
    /// Used by the free functions, whose contract returns a code.
    pub fn lenient(f: &MiniFloat, o: &ConvertOptions) -> Self {
        let overflow = f
            .resolve_overflow(o.overflow)
            .unwrap_or_else(|_| f.default_overflow());
        let mut o = *o;
        o.sr_bits = o.sr_bits.clamp(1, 32);
        Self::build(f, &o, overflow)
    }

    fn build(f: &MiniFloat, o: &ConvertOptions, overflow: Overflow) -> Self {
        let m = f.mbits;
        let mag_bits = f.ebits + f.mbits;
        let emin = match f.exp0 {
            Exp0::Normal => -f.bias,
            _ => 1 - f.bias,
        };
        FloatUnit {
            f: *f,
            m,
            code_mask: ((1u64 << f.bits()) - 1) as u32,
            sign_bit: if f.signed { 1 << mag_bits } else { 0 },
            mag_mask: (1u32 << mag_bits) - 1,
            mant_mask: (1u32 << m) - 1,
            e_all: (1u32 << f.ebits) - 1,
            implicit: 1 << m,
            bias: f.bias,
            exp0_lsb: emin - m as i32,
            emin,
            max_mag: f.max_mag_code(),
            mag_limit: 1u64 << mag_bits,
            normal_adj: if f.exp0 == Exp0::Normal { 1 << m } else { 0 },
            rounding: o.rounding,
            overflow,
            nan: match o.nan {
                NanPolicy::Error => NanPolicy::NegZero,
                p => p,
            },
            seed: o.seed,
            sr_bits: o.sr_bits,
        }
    }

    /// The format this unit computes in.
    pub fn format(&self) -> &MiniFloat {
        &self.f
    }

    /// Whether a code is a finite number with a non-zero exponent field (a
    /// "plain normal": implicit bit set, exponent = field − bias), the case
    /// the hot paths handle without unpacking.
    #[inline(always)]
    pub(crate) fn plain(&self, code: u32) -> bool {
        let mag = code & self.mag_mask;
        (mag >= self.implicit) & (mag <= self.max_mag)
    }

    /// The code's sign (bits above the format's width ignored).
    #[inline(always)]
    pub(crate) fn is_neg(&self, code: u32) -> bool {
        code & self.sign_bit != 0
    }

    /// The code without its sign bit.
    #[inline(always)]
    pub(crate) fn mag(&self, code: u32) -> u32 {
        code & self.mag_mask
    }

    /// The format's exponent bias.
    #[inline(always)]
    pub(crate) fn bias(&self) -> i32 {
        self.bias
    }

    /// Splits a code (bits above the format's width are ignored).
    #[inline(always)]
    pub(crate) fn unpack(&self, code: u32) -> Operand {
        let code = code & self.code_mask;
        let neg = code & self.sign_bit != 0;
        let mag = code & self.mag_mask;
        let ef = mag >> self.m;
        let mant = mag & self.mant_mask;
        match self.f.nonfinite {
            NonFinite::Ieee if ef == self.e_all => {
                return if mant == 0 {
                    Operand::Inf { neg }
                } else {
                    Operand::Nan {
                        neg,
                        payload: (mant as u64) << (52 - self.m),
                    }
                };
            }
            NonFinite::Fn if mag == self.mag_mask => {
                return Operand::Nan {
                    neg,
                    payload: 1 << 51,
                }
            }
            NonFinite::Fnuz if neg && mag == 0 => {
                return Operand::Nan {
                    neg: false,
                    payload: 1 << 51,
                }
            }
            _ => {}
        }
        if ef != 0 {
            return Operand::Finite {
                neg,
                exp: ef as i32 - self.bias - self.m as i32,
                sig: self.implicit | mant,
            };
        }
        match self.f.exp0 {
            Exp0::Subnormal if mant != 0 => Operand::Finite {
                neg,
                exp: self.exp0_lsb,
                sig: mant,
            },
            Exp0::Normal => Operand::Finite {
                neg,
                exp: self.exp0_lsb,
                sig: self.implicit | mant,
            },
            _ => Operand::Zero { neg },
        }
    }

    /// Rounds an exact result into a code (the rules of `MiniFloat::encode`).
    #[inline(always)]
    pub(crate) fn finish(&self, r: Exact, index: u64) -> u32 {
        match r {
            Exact::Finite { neg, exp, sig } => self.round(neg, exp, sig, index),
            Exact::Zero { neg } => self.f.zero_code(neg),
            Exact::Inf { neg } => {
                if !self.f.signed && neg {
                    self.nan_result(neg, 0)
                } else {
                    self.overflow_code(neg, false)
                }
            }
            Exact::Nan { neg, payload } => self.nan_result(neg, payload),
        }
    }

    /// Rounds `sig × 2^(exp − 63)` (bit 63 of `sig` set) to a code.
    #[inline(always)]
    fn round(&self, neg: bool, exp: i32, sig: u64, index: u64) -> u32 {
        if !self.f.signed && neg {
            // Negative values have no code: NaN where there is one, else the smallest value.
            return self.f.nan_code(false).unwrap_or(0);
        }
        let mode = self.rounding;
        let rand = if mode == Rounding::Sr {
            sr_bits(self.seed, index)
        } else {
            0
        };
        let m = self.m as i32;
        let emin = self.emin;
        if exp >= emin {
            // Normal range (the hot path): the shift is the constant 63 − m.
            let s = 63 - self.m;
            let n = sig >> s;
            let rem = sig & ((1u64 << s) - 1);
            // n holds the implicit bit; with exponent field 0 normal it is not part of the code.
            let trunc = (((exp - emin) as u64) << m) + n - self.normal_adj;
            let mag = trunc + self.round_bit(trunc, rem, s, neg, rand) as u64;
            return if mag <= self.max_mag as u64 {
                if mag == 0 && self.f.has_zero() {
                    self.f.zero_code(neg)
                } else {
                    self.sign(neg) | mag as u32
                }
            } else {
                self.overflow_code(neg, self.rounding.toward_zero(neg))
            };
        }
        if exp < emin {
            match self.f.exp0 {
                Exp0::Normal => return self.sign(neg),
                Exp0::Flush => {
                    // One gap from 0 to the smallest normal: round |x| / min_normal to {0, 1}.
                    let s = (63 + emin - exp) as u32;
                    let (n, rem) = shift(sig, s);
                    let up = round_up(n, rem, s, neg, mode, rand, self.sr_bits);
                    return if n + up as u64 >= 1 {
                        self.sign(neg) | self.implicit
                    } else {
                        self.f.zero_code(neg)
                    };
                }
                Exp0::Subnormal => {}
            }
        }
        let e_t = exp.max(emin);
        // |x| / 2^(e_t − m) = sig × 2^(exp − 63 − e_t + m); s ≥ 63 − 23 = 40.
        let s = (63 - m + e_t - exp) as u32;
        let (n, rem) = shift(sig, s);
        let implicit_adj = if self.f.exp0 == Exp0::Normal {
            1i64 << m
        } else {
            0
        };
        let trunc = (((e_t - emin) as i64) << m) + n as i64 - implicit_adj;
        let mag =
            trunc as u64 + round_up(trunc as u64, rem, s, neg, mode, rand, self.sr_bits) as u64;
        if mag < self.mag_limit && mag as u32 <= self.max_mag {
            if mag == 0 && self.f.has_zero() {
                self.f.zero_code(neg)
            } else {
                self.sign(neg) | mag as u32
            }
        } else {
            self.overflow_code(neg, self.rounding.toward_zero(neg))
        }
    }

    /// Whether to add one to `trunc` given the discarded bits `rem` (a fraction
    /// `rem / 2^s` of one unit, `40 ≤ s ≤ 63`): `round_up` specialised to
    /// 64-bit remainders (round-to-odd's "set the last bit" is +1 on an even `trunc`).
    #[inline(always)]
    fn round_bit(&self, trunc: u64, rem: u64, s: u32, neg: bool, rand: u32) -> bool {
        let half = 1u64 << (s - 1);
        match self.rounding {
            Rounding::Rne => (rem > half) | ((rem == half) & (trunc & 1 == 1)),
            Rounding::Rna => rem >= half,
            Rounding::Rtz => false,
            Rounding::Ru => (rem != 0) & !neg,
            Rounding::Rd => (rem != 0) & neg,
            Rounding::Rto => (rem != 0) & (trunc & 1 == 0),
            Rounding::Sr => {
                // floor(fraction × 2^r) + r random bits ≥ 2^r (s ≥ 40 > r).
                let r = self.sr_bits;
                (rem >> (s - r)) + (rand >> (32 - r)) as u64 >= 1u64 << r
            }
        }
    }

    #[inline(always)]
    fn sign(&self, neg: bool) -> u32 {
        if neg {
            self.sign_bit
        } else {
            0
        }
    }

    #[cold]
    fn overflow_code(&self, neg: bool, toward_zero: bool) -> u32 {
        if toward_zero {
            return self.f.max_code(neg);
        }
        match self.overflow {
            Overflow::Saturate => self.f.max_code(neg),
            Overflow::Inf => self.f.inf_code(neg).unwrap_or(self.f.max_code(neg)),
            Overflow::Nan => self.f.nan_code(neg).unwrap_or(self.f.max_code(neg)),
        }
    }

    #[cold]
    fn nan_result(&self, neg: bool, payload: u64) -> u32 {
        match self.f.nonfinite {
            NonFinite::Ieee => {
                let exp_all = self.e_all << self.m;
                let top = (payload >> (52 - self.m)) as u32;
                let quiet = 1u32 << (self.m - 1);
                self.sign(neg) | exp_all | top | quiet
            }
            NonFinite::FiniteOnly => match self.nan {
                NanPolicy::Max => self.f.max_code(false),
                _ => self.f.zero_code(true),
            },
            _ => self.f.nan_code(neg).unwrap_or(0),
        }
    }
}

/// `sig >> s` and the bits shifted out, for any `s`.
#[inline(always)]
pub(crate) fn shift(sig: u64, s: u32) -> (u64, u64) {
    if s >= 64 {
        (0, sig)
    } else {
        (sig >> s, sig & ((1u64 << s) - 1))
    }
}
