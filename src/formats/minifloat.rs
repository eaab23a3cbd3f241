//! One generic minifloat, parametrized by exponent bits, mantissa bits, bias,
//! non-finite style, the meaning of exponent field 0, and signedness.
//!
//! Every float format in bitsim (FP4 … FP8, E8M0, fp16, bf16, f32) is a value
//! of [`MiniFloat`]; conversion is one routine working on integer significands
//! (ml_dtypes `float8.h` style), so it rounds exactly once from f64.

use super::rounding::{round_up, sr_bits, ConvertOptions, NanPolicy, Overflow, Rounding};
use super::FormatError;

/// Where a format keeps its infinities and NaNs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NonFinite {
    /// IEEE 754: all-ones exponent is ±inf (mantissa 0) or NaN (mantissa ≠ 0).
    Ieee,
    /// "fn": no infinity; NaN only at the all-ones code (S.1111.111 for E4M3).
    Fn,
    /// "fnuz": no infinity, no −0; the single NaN sits at the negative-zero code.
    Fnuz,
    /// Every code is a finite number (FP4/FP6).
    FiniteOnly,
}

impl NonFinite {
    /// The name used in format strings (`nonfinite=…`).
    pub fn name(self) -> &'static str {
        match self {
            NonFinite::Ieee => "ieee",
            NonFinite::Fn => "fn",
            NonFinite::Fnuz => "fnuz",
            NonFinite::FiniteOnly => "finite",
        }
    }
}

/// What exponent field 0 means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exp0 {
    /// Gradual underflow: subnormals 0.mmm × 2^(1−bias).
    Subnormal,
    /// Subnormals off: every exponent-0 code reads as ±0, and values below the
    /// smallest normal round into {0, min normal}.
    Flush,
    /// Exponent field 0 is an ordinary normal binade (E8M0: code 0 = 2^−127); no zero.
    Normal,
}

impl Exp0 {
    /// The name used in format strings (`subnormals=…`).
    pub fn name(self) -> &'static str {
        match self {
            Exp0::Subnormal => "on",
            Exp0::Flush => "off",
            Exp0::Normal => "none",
        }
    }
}

/// A minifloat format: `sign? | exponent (ebits) | mantissa (mbits)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MiniFloat {
    /// Exponent bits, 1..=8.
    pub ebits: u32,
    /// Mantissa (fraction) bits, 0..=23.
    pub mbits: u32,
    /// Exponent bias: a normal code with exponent field `e` has scale 2^(e − bias).
    pub bias: i32,
    /// Placement of infinities and NaNs.
    pub nonfinite: NonFinite,
    /// Meaning of exponent field 0.
    pub exp0: Exp0,
    /// Whether a sign bit is present (E8M0 is unsigned).
    pub signed: bool,
}

/// How an encoded value relates to the input, for callers that care (CLI output).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A finite number (including zero).
    Finite,
    /// ±infinity.
    Inf,
    /// Not a number.
    Nan,
}

/// `2^k` as an exact f64 (including f64 subnormals), from bits.
#[inline]
pub fn exp2i(k: i32) -> f64 {
    if k >= -1022 {
        assert!(k <= 1023, "2^{k} overflows f64");
        f64::from_bits(((k + 1023) as u64) << 52)
    } else {
        assert!(k >= -1074, "2^{k} underflows f64");
        f64::from_bits(1u64 << (k + 1074))
    }
}

/// An f64 split into sign, class and, for finite non-zero values, an exact
/// `sig × 2^(exp − 52)` with `sig` normalized to have bit 52 set.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Parts {
    Zero {
        neg: bool,
    },
    Inf {
        neg: bool,
    },
    /// `payload` holds the 51 bits below the quiet bit, plus the quiet bit at 51.
    Nan {
        neg: bool,
        payload: u64,
    },
    Finite {
        neg: bool,
        exp: i32,
        sig: u64,
    },
}

pub(crate) fn split_f64(x: f64) -> Parts {
    let b = x.to_bits();
    let neg = b >> 63 == 1;
    let ef = ((b >> 52) & 0x7ff) as i32;
    let frac = b & ((1u64 << 52) - 1);
    match ef {
        0x7ff if frac == 0 => Parts::Inf { neg },
        0x7ff => Parts::Nan { neg, payload: frac },
        0 if frac == 0 => Parts::Zero { neg },
        0 => {
            // f64 subnormal: normalize so bit 52 is set.
            let lz = frac.leading_zeros() as i32 - 11;
            Parts::Finite {
                neg,
                exp: -1022 - lz,
                sig: frac << lz,
            }
        }
        _ => Parts::Finite {
            neg,
            exp: ef - 1023,
            sig: frac | (1u64 << 52),
        },
    }
}

/// An f32 widened to [`Parts`] from its bits (NaN payload kept, never quieted).
pub(crate) fn split_f32(x: f32) -> Parts {
    let b = x.to_bits();
    let neg = b >> 31 == 1;
    if (b & 0x7fff_ffff) > 0x7f80_0000 {
        return Parts::Nan {
            neg,
            payload: ((b & 0x7f_ffff) as u64) << 29,
        };
    }
    // Every other f32 widens to f64 exactly.
    split_f64(x as f64)
}

impl MiniFloat {
    /// One ulp of the format in the binade of `x` (zero, non-finite, f64
    /// subnormal and values below the format's lowest binade: its smallest step).
    pub fn ulp_at(&self, x: f64) -> f64 {
        let emin = match self.exp0 {
            Exp0::Normal => -self.bias,
            _ => 1 - self.bias,
        };
        // The binade from the bits, never from log2.
        let e = if x == 0.0 || !x.is_finite() || x.abs() < f64::MIN_POSITIVE {
            emin
        } else {
            (x.abs().to_bits() >> 52) as i32 - 1023
        };
        exp2i(e.max(emin) - self.mbits as i32)
    }

    /// The sign, exponent and mantissa fields of a code: the sign bit
    /// (`None` for unsigned formats), the biased exponent field and the
    /// mantissa field (`None` when the format has no mantissa bits).
    pub fn fields(&self, code: u32) -> (Option<u32>, u32, Option<u32>) {
        let sign = self.signed.then(|| (code >> (self.ebits + self.mbits)) & 1);
        let e = (code >> self.mbits) & ((1 << self.ebits) - 1);
        let m = (self.mbits != 0).then(|| code & ((1 << self.mbits) - 1));
        (sign, e, m)
    }

    /// Builds and validates a format.
    pub fn new(
        ebits: u32,
        mbits: u32,
        bias: i32,
        nonfinite: NonFinite,
        exp0: Exp0,
        signed: bool,
    ) -> Result<Self, FormatError> {
        let f = MiniFloat {
            ebits,
            mbits,
            bias,
            nonfinite,
            exp0,
            signed,
        };
        f.validate()?;
        Ok(f)
    }

    /// An IEEE-style format with the standard bias 2^(ebits−1) − 1.
    pub const fn ieee(ebits: u32, mbits: u32) -> Self {
        MiniFloat {
            ebits,
            mbits,
            bias: (1 << (ebits - 1)) - 1,
            nonfinite: NonFinite::Ieee,
            exp0: Exp0::Subnormal,
            signed: true,
        }
    }

    /// Checks that the parameters describe a format bitsim can represent exactly.
    pub fn validate(&self) -> Result<(), FormatError> {
        let bad = |why: String| Err(FormatError::BadFormat(why));
        if !(1..=8).contains(&self.ebits) {
            return bad(format!("exponent bits must be 1..=8, got {}", self.ebits));
        }
        if self.mbits > 23 {
            return bad(format!("mantissa bits must be 0..=23, got {}", self.mbits));
        }
        let lim = 1i32 << self.ebits;
        if self.bias < -lim || self.bias > lim {
            return bad(format!(
                "bias {} out of range for {} exponent bits (allowed {}..={})",
                self.bias, self.ebits, -lim, lim
            ));
        }
        if !self.signed && self.nonfinite == NonFinite::Fnuz {
            return bad(
                "an unsigned format cannot be fnuz (its NaN is the negative-zero code)".into(),
            );
        }
        if self.nonfinite == NonFinite::Ieee && (self.ebits < 2 || self.mbits < 1) {
            return bad(
                "an IEEE-style format needs at least 2 exponent bits and 1 mantissa bit (to tell NaN from inf)"
                    .into(),
            );
        }
        if self.exp0 == Exp0::Normal && self.nonfinite == NonFinite::Fnuz {
            return bad("subnormals=none has no zero code, so it cannot be fnuz".into());
        }
        Ok(())
    }

    /// Total bits per code.
    pub fn bits(&self) -> u32 {
        self.ebits + self.mbits + self.signed as u32
    }

    /// Number of codes, 2^bits.
    pub fn code_count(&self) -> u64 {
        1u64 << self.bits()
    }

    fn mag_bits(&self) -> u32 {
        self.ebits + self.mbits
    }

    fn sign_bit(&self) -> u32 {
        if self.signed {
            1 << self.mag_bits()
        } else {
            0
        }
    }

    fn mant_mask(&self) -> u32 {
        (1u32 << self.mbits) - 1
    }

    /// Magnitude code (sign stripped) of the largest finite value.
    pub fn max_mag_code(&self) -> u32 {
        let all = (1u32 << self.mag_bits()) - 1;
        match self.nonfinite {
            NonFinite::Ieee => all - (1 << self.mbits),
            NonFinite::Fn => all - 1,
            NonFinite::Fnuz | NonFinite::FiniteOnly => all,
        }
    }

    /// The smallest exponent of a value with exponent field 1 (or 0 when `exp0` is normal).
    fn emin(&self) -> i32 {
        match self.exp0 {
            Exp0::Normal => -self.bias,
            _ => 1 - self.bias,
        }
    }

    /// Whether the format has ±infinity.
    pub fn has_inf(&self) -> bool {
        self.nonfinite == NonFinite::Ieee
    }

    /// Whether the format has a NaN.
    pub fn has_nan(&self) -> bool {
        self.nonfinite != NonFinite::FiniteOnly
    }

    /// Whether the format has a −0 code.
    pub fn has_neg_zero(&self) -> bool {
        self.signed && self.nonfinite != NonFinite::Fnuz && self.exp0 != Exp0::Normal
    }

    /// Whether the format can represent zero at all.
    pub fn has_zero(&self) -> bool {
        self.exp0 != Exp0::Normal
    }

    /// The default overflow policy: `inf` where the format has infinities,
    /// `nan` where it only has NaN (the non-saturating OFP8 behaviour, as
    /// ml_dtypes), `saturate` for finite-only formats.
    pub fn default_overflow(&self) -> Overflow {
        match self.nonfinite {
            NonFinite::Ieee => Overflow::Inf,
            NonFinite::Fn | NonFinite::Fnuz => Overflow::Nan,
            NonFinite::FiniteOnly => Overflow::Saturate,
        }
    }

    /// Resolves and checks an overflow policy against what the format has.
    pub fn resolve_overflow(&self, o: Option<Overflow>) -> Result<Overflow, FormatError> {
        let o = o.unwrap_or_else(|| self.default_overflow());
        match o {
            Overflow::Inf if !self.has_inf() => Err(FormatError::BadOption(format!(
                "overflow=inf is impossible: format {self} has no infinity"
            ))),
            Overflow::Nan if !self.has_nan() => Err(FormatError::BadOption(format!(
                "overflow=nan is impossible: format {self} has no NaN"
            ))),
            _ => Ok(o),
        }
    }

    /// The canonical NaN code with the given sign (IEEE: quiet NaN with an
    /// empty payload; fn: all-ones; fnuz: the negative-zero code).
    pub fn nan_code(&self, neg: bool) -> Option<u32> {
        let s = if neg { self.sign_bit() } else { 0 };
        match self.nonfinite {
            NonFinite::Ieee => {
                let exp_all = ((1u32 << self.ebits) - 1) << self.mbits;
                Some(s | exp_all | (1 << (self.mbits - 1)))
            }
            NonFinite::Fn => Some(s | ((1u32 << self.mag_bits()) - 1)),
            NonFinite::Fnuz => Some(1 << self.mag_bits()),
            NonFinite::FiniteOnly => None,
        }
    }

    /// The ±infinity code, if the format has one.
    pub fn inf_code(&self, neg: bool) -> Option<u32> {
        self.has_inf().then(|| {
            (if neg { self.sign_bit() } else { 0 }) | (((1u32 << self.ebits) - 1) << self.mbits)
        })
    }

    /// The ±max-finite code.
    pub fn max_code(&self, neg: bool) -> u32 {
        (if neg { self.sign_bit() } else { 0 }) | self.max_mag_code()
    }

    /// The code of ±0 (−0 becomes +0 where the format has none); for formats
    /// without zero, the smallest magnitude.
    pub fn zero_code(&self, neg: bool) -> u32 {
        if neg && self.has_neg_zero() {
            self.sign_bit()
        } else {
            0
        }
    }

    /// Classifies a code.
    pub fn classify(&self, code: u32) -> Class {
        let mag = code & ((1u32 << self.mag_bits()) - 1);
        let neg = self.signed && code & self.sign_bit() != 0;
        let ef = mag >> self.mbits;
        let all_e = (1u32 << self.ebits) - 1;
        match self.nonfinite {
            NonFinite::Ieee if ef == all_e => {
                if mag & self.mant_mask() == 0 {
                    Class::Inf
                } else {
                    Class::Nan
                }
            }
            NonFinite::Fn if mag == (1u32 << self.mag_bits()) - 1 => Class::Nan,
            NonFinite::Fnuz if neg && mag == 0 => Class::Nan,
            _ => Class::Finite,
        }
    }

    /// The exact value of a magnitude code, as f64.
    fn mag_value(&self, mag: u32) -> f64 {
        let ef = (mag >> self.mbits) as i32;
        let mant = (mag & self.mant_mask()) as f64;
        let m = self.mbits as i32;
        let implicit = (1u64 << self.mbits) as f64;
        match (ef, self.exp0) {
            (0, Exp0::Subnormal) => mant * exp2i(1 - self.bias - m),
            (0, Exp0::Flush) => 0.0,
            (0, Exp0::Normal) => (implicit + mant) * exp2i(-self.bias - m),
            _ => (implicit + mant) * exp2i(ef - self.bias - m),
        }
    }

    /// Decodes a code to its exact value. NaN codes decode to an f64 NaN with
    /// the code's sign and (IEEE formats) its payload in the top mantissa bits.
    pub fn decode(&self, code: u32) -> f64 {
        let code = code & ((1u64 << self.bits()) - 1) as u32;
        let neg = self.signed && code & self.sign_bit() != 0;
        let mag = code & ((1u32 << self.mag_bits()) - 1);
        let v = match self.classify(code) {
            Class::Inf => f64::INFINITY,
            Class::Nan => {
                let payload = if self.nonfinite == NonFinite::Ieee {
                    ((mag & self.mant_mask()) as u64) << (52 - self.mbits)
                } else {
                    1u64 << 51
                };
                f64::from_bits(0x7ff0_0000_0000_0000 | payload)
            }
            Class::Finite => self.mag_value(mag),
        };
        if neg && !(self.nonfinite == NonFinite::Fnuz && v.is_nan()) {
            -v
        } else {
            v
        }
    }

    /// Decodes a code to f32. Exact whenever the value is an f32 (every preset);
    /// otherwise rounded to nearest even.
    pub fn decode_f32(&self, code: u32) -> f32 {
        let v = self.decode(code);
        if v.is_nan() {
            // Keep sign and top payload bits explicitly: `as` may not preserve them.
            let b = v.to_bits();
            return f32::from_bits(
                (((b >> 63) as u32) << 31) | 0x7f80_0000 | ((b >> 29) as u32 & 0x7f_ffff).max(1),
            );
        }
        v as f32
    }

    /// Largest finite value.
    pub fn max_value(&self) -> f64 {
        self.mag_value(self.max_mag_code())
    }

    /// Smallest positive normal value (the smallest value for `subnormals=none`).
    pub fn min_normal(&self) -> f64 {
        match self.exp0 {
            Exp0::Normal => self.mag_value(0),
            _ => self.mag_value(1 << self.mbits),
        }
    }

    /// Smallest positive subnormal, if the format has subnormals.
    pub fn min_subnormal(&self) -> Option<f64> {
        (self.exp0 == Exp0::Subnormal && self.mbits > 0).then(|| self.mag_value(1))
    }

    /// Encodes an f64 with a single rounding. `index` is the element's position,
    /// used only by stochastic rounding. Fails only for a NaN input under
    /// [`NanPolicy::Error`] in a format without NaN, an invalid overflow policy,
    /// or (stochastic rounding) `sr_bits` outside 1..=32.
    pub fn encode(&self, x: f64, opts: &ConvertOptions, index: u64) -> Result<u32, FormatError> {
        self.encode_parts(split_f64(x), opts, index)
    }

    /// Encodes an f32 (widened exactly; a NaN keeps its payload bits).
    pub fn encode_f32(
        &self,
        x: f32,
        opts: &ConvertOptions,
        index: u64,
    ) -> Result<u32, FormatError> {
        self.encode_parts(split_f32(x), opts, index)
    }

    pub(crate) fn encode_parts(
        &self,
        p: Parts,
        opts: &ConvertOptions,
        index: u64,
    ) -> Result<u32, FormatError> {
        let overflow = self.resolve_overflow(opts.overflow)?;
        // sr_bits outside 1..=32 would make the SR shifts overflow.
        if opts.rounding == Rounding::Sr {
            opts.validate()?;
        }
        let sb = self.sign_bit();
        match p {
            Parts::Nan { neg, payload } => self.encode_nan(neg, payload, opts.nan),
            Parts::Inf { neg } => {
                if !self.signed && neg {
                    return self.encode_nan(neg, 0, opts.nan);
                }
                Ok(self.overflow_code(neg, overflow, false))
            }
            Parts::Zero { neg } => Ok(self.zero_code(neg)),
            Parts::Finite { neg, exp, sig } => {
                if !self.signed && neg {
                    // Negative values have no code: NaN where there is one,
                    // otherwise the smallest value.
                    return match self.nan_code(false) {
                        Some(c) => Ok(c),
                        None => Ok(0),
                    };
                }
                let rand = if opts.rounding == Rounding::Sr {
                    sr_bits(opts.seed, index)
                } else {
                    0
                };
                let mag = self.round_magnitude(neg, exp, sig, opts.rounding, rand, opts.sr_bits);
                match mag {
                    Some(mag) if mag <= self.max_mag_code() => {
                        if mag == 0 && self.has_zero() {
                            Ok(self.zero_code(neg))
                        } else {
                            Ok(if neg { sb | mag } else { mag })
                        }
                    }
                    _ => Ok(self.overflow_code(neg, overflow, opts.rounding.toward_zero(neg))),
                }
            }
        }
    }

    /// Rounds `sig × 2^(exp − 52)` to a magnitude code under an unbounded
    /// exponent range; `None` when even the exponent field would not fit (overflow).
    fn round_magnitude(
        &self,
        neg: bool,
        exp: i32,
        sig: u64,
        mode: Rounding,
        rand: u32,
        sr_bits: u32,
    ) -> Option<u32> {
        let m = self.mbits as i32;
        let emin = self.emin();
        if exp < emin {
            match self.exp0 {
                // No zero: everything below the smallest value becomes it.
                Exp0::Normal => return Some(0),
                // One gap from 0 to min normal: round |x| / min_normal to {0, 1}.
                Exp0::Flush => {
                    let s = (52 + emin - exp) as u32;
                    let (n, rem) = shift(sig, s);
                    let up = round_up(n, rem, s, neg, mode, rand, sr_bits);
                    return Some(if n + up as u64 >= 1 {
                        1 << self.mbits
                    } else {
                        0
                    });
                }
                Exp0::Subnormal => {}
            }
        }
        let e_t = exp.max(emin);
        // |x| / 2^(e_t − m) = sig × 2^(exp − 52 − e_t + m); s ≥ 52 − 23 > 0.
        let s = (52 - m + e_t - exp) as u32;
        let (n, rem) = shift(sig, s);
        // For e_t = emin, n may be a subnormal significand (< 2^m) or carry into
        // the normal range; the formula covers both. With exp0 = normal, field 0
        // already carries the implicit bit.
        let implicit_adj = if self.exp0 == Exp0::Normal {
            1i64 << m
        } else {
            0
        };
        let trunc = (((e_t - emin) as i64) << m) + n as i64 - implicit_adj;
        // Ties-to-even and round-to-odd look at the code's last bit, which is not
        // n's when m = 0 (E8M0: n's last bit is the implicit one).
        let mag = trunc + round_up(trunc as u64, rem, s, neg, mode, rand, sr_bits) as i64;
        if mag >= (1i64 << self.mag_bits()) {
            None
        } else {
            Some(mag as u32)
        }
    }

    fn overflow_code(&self, neg: bool, policy: Overflow, toward_zero: bool) -> u32 {
        if toward_zero {
            return self.max_code(neg);
        }
        match policy {
            Overflow::Saturate => self.max_code(neg),
            Overflow::Inf => self.inf_code(neg).expect("validated: format has inf"),
            Overflow::Nan => self.nan_code(neg).expect("validated: format has NaN"),
        }
    }

    fn encode_nan(&self, neg: bool, payload: u64, policy: NanPolicy) -> Result<u32, FormatError> {
        match self.nonfinite {
            NonFinite::Ieee => {
                // Keep sign and the top payload bits, force the quiet bit (as hardware does).
                let exp_all = ((1u32 << self.ebits) - 1) << self.mbits;
                let top = (payload >> (52 - self.mbits)) as u32;
                let quiet = 1u32 << (self.mbits - 1);
                let s = if neg && self.signed {
                    self.sign_bit()
                } else {
                    0
                };
                Ok(s | exp_all | top | quiet)
            }
            NonFinite::FiniteOnly => match policy {
                NanPolicy::NegZero => Ok(self.zero_code(true)),
                NanPolicy::Max => Ok(self.max_code(false)),
                NanPolicy::Error => Err(FormatError::NanInput(format!("{self}"))),
            },
            _ => Ok(self.nan_code(neg).expect("fn/fnuz formats have NaN")),
        }
    }
}

/// `sig >> s` and the bits shifted out, for any `s`.
#[inline]
fn shift(sig: u64, s: u32) -> (u64, u64) {
    if s >= 64 {
        (0, sig)
    } else {
        (sig >> s, sig & ((1u64 << s) - 1))
    }
}
