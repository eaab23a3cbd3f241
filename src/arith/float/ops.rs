//! The operations of [`FloatUnit`]: exact results on integer significands
//! (64-bit for add and mul, 128-bit for fma and `add_values`), then one
//! rounding in [`FloatUnit::finish`].

use super::unit::{Exact, FloatUnit, Operand, DEFAULT_NAN};
use crate::formats::Rounding;

/// A finite non-zero term `sig × 2^exp` of an exact sum (`sig < 2^64`).
#[derive(Debug, Clone, Copy)]
struct Term {
    neg: bool,
    exp: i32,
    sig: u64,
}

impl FloatUnit {
    /// `a + b`, rounded once.
    #[inline]
    pub fn add(&self, a: u32, b: u32, index: u64) -> u32 {
        let r = if self.plain(a) & self.plain(b) {
            self.add_plain(a, b, false)
        } else {
            self.add_exact(self.unpack(a), self.unpack(b), false)
        };
        self.finish(r, index)
    }

    // `add` and `sub` keep separate bodies on purpose: one shared helper measured
    // about 12 % slower on the fp16 add bench.
    /// `a − b`, rounded once (a NaN `b` keeps its own sign).
    #[inline]
    pub fn sub(&self, a: u32, b: u32, index: u64) -> u32 {
        let r = if self.plain(a) & self.plain(b) {
            self.add_plain(a, b, true)
        } else {
            self.add_exact(self.unpack(a), self.unpack(b), true)
        };
        self.finish(r, index)
    }

    /// `a × b`, rounded once.
    #[inline]
    pub fn mul(&self, a: u32, b: u32, index: u64) -> u32 {
        let r = if self.plain(a) & self.plain(b) {
            self.mul_plain(a, b)
        } else {
            mul_exact(self.unpack(a), self.unpack(b))
        };
        self.finish(r, index)
    }

    /// `a × b + c`, rounded once.
    #[inline]
    pub fn fma(&self, a: u32, b: u32, c: u32, index: u64) -> u32 {
        let (a, b, c) = (self.unpack(a), self.unpack(b), self.unpack(c));
        let r = match (a, b, c) {
            (Operand::Nan { neg, payload }, _, _)
            | (_, Operand::Nan { neg, payload }, _)
            | (_, _, Operand::Nan { neg, payload }) => Exact::Nan { neg, payload },
            _ => {
                let p = mul_exact(a, b);
                let c = match c {
                    Operand::Zero { neg } => Exact::Zero { neg },
                    Operand::Inf { neg } => Exact::Inf { neg },
                    Operand::Finite { neg, exp, sig } => Exact::Finite {
                        neg,
                        exp: exp + 31 - sig.leading_zeros() as i32,
                        sig: (sig as u64) << (sig.leading_zeros() + 32),
                    },
                    Operand::Nan { .. } => unreachable!("handled above"),
                };
                self.sum_exact(p, c)
            }
        };
        self.finish(r, index)
    }

    /// The exact sum `x + y` of two f64 values, rounded once (for accumulators
    /// that add an exact product to a running sum). NaN inputs keep their sign
    /// and payload as `MiniFloat::encode` keeps them.
    pub fn add_values(&self, x: f64, y: f64, index: u64) -> u32 {
        let r = self.sum_exact(exact_f64(x), exact_f64(y));
        self.finish(r, index)
    }

    /// The sign of an exact zero sum of two terms of opposite signs (or of
    /// `x + (−x)`): +0, except −0 when rounding toward −infinity (IEEE 754 §6.3).
    #[inline(always)]
    fn cancel_sign(&self) -> bool {
        self.rounding == Rounding::Rd
    }

    /// Exact `a + b` (or `a − b`) of two plain normal codes (see
    /// [`FloatUnit::plain`]): the hot path of [`FloatUnit::add`], without
    /// unpacking into [`Operand`]s and without data-dependent branches. Same
    /// window and sticky rule as [`FloatUnit::add_finite`], its slow twin.
    #[inline(always)]
    fn add_plain(&self, a: u32, b: u32, negate_b: bool) -> Exact {
        let m = self.m;
        let (na, nb) = (self.is_neg(a), self.is_neg(b) ^ negate_b);
        let (ma, mb) = (self.mag(a), self.mag(b));
        // Among normal codes a larger magnitude code is a larger magnitude.
        let swap = mb > ma;
        let (mh, ml) = if swap { (mb, ma) } else { (ma, mb) };
        let (nh, nl) = if swap { (nb, na) } else { (na, nb) };
        let (eh, el) = (mh >> m, ml >> m);
        let xh = (((mh & self.mant_mask) | self.implicit) as u64) << (62 - m);
        let xl = (((ml & self.mant_mask) | self.implicit) as u64) << (62 - m);
        // Shifting by 63 keeps only the sticky bit, as any larger shift would.
        let d = (eh - el).min(63);
        let xl = (xl >> d) | ((xl & ((1u64 << d) - 1) != 0) as u64);
        let sub = 0u64.wrapping_sub((nh != nl) as u64);
        let sum = xh.wrapping_add((xl ^ sub).wrapping_sub(sub));
        if sum == 0 {
            return Exact::Zero {
                neg: self.cancel_sign(),
            };
        }
        let lz = sum.leading_zeros();
        Exact::Finite {
            neg: nh,
            exp: eh as i32 - self.bias() + 1 - lz as i32,
            sig: sum << lz,
        }
    }

    /// Exact `a × b` of two plain normal codes (hot path of [`FloatUnit::mul`]).
    #[inline(always)]
    fn mul_plain(&self, a: u32, b: u32) -> Exact {
        let m = self.m;
        let (ma, mb) = (self.mag(a), self.mag(b));
        let sa = ((ma & self.mant_mask) | self.implicit) as u64;
        let sb = ((mb & self.mant_mask) | self.implicit) as u64;
        let p = sa * sb;
        let lz = p.leading_zeros();
        // p × 2^(ea + eb − 2·bias − 2m), leading bit at 63 − lz.
        Exact::Finite {
            neg: self.is_neg(a) ^ self.is_neg(b),
            exp: (ma >> m) as i32 + (mb >> m) as i32 - 2 * self.bias() - 2 * m as i32 + 63
                - lz as i32,
            sig: p << lz,
        }
    }

    /// Exact `a + b` (or `a − b`) of two operands on a 64-bit window.
    #[inline(always)]
    fn add_exact(&self, a: Operand, b: Operand, negate_b: bool) -> Exact {
        use Operand::*;
        match (a, b) {
            (
                Finite {
                    neg: na,
                    exp: ea,
                    sig: sa,
                },
                Finite {
                    neg: nb,
                    exp: eb,
                    sig: sb,
                },
            ) => self.add_finite(na, ea, sa, nb ^ negate_b, eb, sb),
            (Nan { neg, payload }, _) | (_, Nan { neg, payload }) => Exact::Nan { neg, payload },
            (Inf { neg: na }, Inf { neg: nb }) => {
                if na != nb ^ negate_b {
                    DEFAULT_NAN
                } else {
                    Exact::Inf { neg: na }
                }
            }
            (Inf { neg }, _) => Exact::Inf { neg },
            (_, Inf { neg }) => Exact::Inf {
                neg: neg ^ negate_b,
            },
            (Zero { neg: na }, Zero { neg: nb }) => {
                let nb = nb ^ negate_b;
                Exact::Zero {
                    neg: if na == nb { na } else { self.cancel_sign() },
                }
            }
            (Zero { .. }, Finite { neg, exp, sig }) => normalize32(neg ^ negate_b, exp, sig),
            (Finite { neg, exp, sig }, Zero { .. }) => normalize32(neg, exp, sig),
        }
    }

    /// Exact sum of two finite non-zero operands (`sig < 2^24`): both are put
    /// with their leading bit at bit 61, the smaller one shifted right by the
    /// exponent difference with the bits shifted out jammed into bit 0 (a sticky
    /// bit at least 37 bits below any bit a format keeps).
    #[inline(always)]
    fn add_finite(&self, na: bool, ea: i32, sa: u32, nb: bool, eb: i32, sb: u32) -> Exact {
        let la = sa.leading_zeros();
        let lb = sb.leading_zeros();
        // Leading-bit exponents.
        let ta = ea + 31 - la as i32;
        let tb = eb + 31 - lb as i32;
        let xa = (sa as u64) << (la + 30);
        let xb = (sb as u64) << (lb + 30);
        // Branch-free selects: signs and the larger operand are data, so
        // branches on them would be mispredicted half the time.
        let swap = tb > ta;
        let (top, big, other, neg, other_neg, d) = if swap {
            (tb, xb, xa, nb, na, (tb - ta) as u32)
        } else {
            (ta, xa, xb, na, nb, (ta - tb) as u32)
        };
        let small = jam_shift(other, d);
        // Effective subtraction adds the two's complement; both terms are below
        // 2^62, so the sum fits in 63 bits and the signed result tells which
        // term was larger.
        let m = 0u64.wrapping_sub((neg != other_neg) as u64);
        let diff = big.wrapping_add((small ^ m).wrapping_sub(m)) as i64;
        let (neg, sum) = (neg ^ (diff < 0), diff.unsigned_abs());
        if sum == 0 {
            return Exact::Zero {
                neg: self.cancel_sign(),
            };
        }
        let lz = sum.leading_zeros();
        Exact::Finite {
            neg,
            exp: top + 2 - lz as i32,
            sig: sum << lz,
        }
    }

    /// Exact sum of two exact values on a 128-bit window (fma, `add_values`).
    fn sum_exact(&self, x: Exact, y: Exact) -> Exact {
        use Exact::*;
        match (x, y) {
            (Nan { neg, payload }, _) | (_, Nan { neg, payload }) => Nan { neg, payload },
            (Inf { neg: a }, Inf { neg: b }) => {
                if a != b {
                    DEFAULT_NAN
                } else {
                    Inf { neg: a }
                }
            }
            (Inf { neg }, _) | (_, Inf { neg }) => Inf { neg },
            (Zero { neg: a }, Zero { neg: b }) => Zero {
                neg: if a == b { a } else { self.cancel_sign() },
            },
            (Zero { .. }, f @ Finite { .. }) | (f @ Finite { .. }, Zero { .. }) => f,
            (
                Finite {
                    neg: na,
                    exp: ea,
                    sig: sa,
                },
                Finite {
                    neg: nb,
                    exp: eb,
                    sig: sb,
                },
            ) => {
                // Leading bits at bit 125 (two bits of headroom for the carry).
                let xa = (sa as u128) << 62;
                let xb = (sb as u128) << 62;
                let (neg, top, big, small, small_neg) = if ea >= eb {
                    (na, ea, xa, jam_shift128(xb, (ea - eb) as u32), nb)
                } else {
                    (nb, eb, xb, jam_shift128(xa, (eb - ea) as u32), na)
                };
                let (neg, sum) = if neg == small_neg {
                    (neg, big + small)
                } else if big >= small {
                    (neg, big - small)
                } else {
                    (!neg, small - big)
                };
                if sum == 0 {
                    return Zero {
                        neg: self.cancel_sign(),
                    };
                }
                let lz = sum.leading_zeros();
                let norm = sum << lz;
                let sticky = (norm as u64 != 0) as u64;
                Finite {
                    neg,
                    exp: top + 2 - lz as i32,
                    sig: (norm >> 64) as u64 | sticky,
                }
            }
        }
    }
}

/// Exact `a × b` (both significands < 2^24, so the product fits in 48 bits).
#[inline(always)]
fn mul_exact(a: Operand, b: Operand) -> Exact {
    use Operand::*;
    match (a, b) {
        (
            Finite {
                neg: na,
                exp: ea,
                sig: sa,
            },
            Finite {
                neg: nb,
                exp: eb,
                sig: sb,
            },
        ) => {
            let p = sa as u64 * sb as u64;
            let lz = p.leading_zeros();
            Exact::Finite {
                neg: na ^ nb,
                exp: ea + eb + 63 - lz as i32,
                sig: p << lz,
            }
        }
        (Nan { neg, payload }, _) | (_, Nan { neg, payload }) => Exact::Nan { neg, payload },
        (Inf { .. }, Zero { .. }) | (Zero { .. }, Inf { .. }) => DEFAULT_NAN,
        (Inf { neg: na }, Inf { neg: nb } | Finite { neg: nb, .. })
        | (Finite { neg: na, .. }, Inf { neg: nb }) => Exact::Inf { neg: na ^ nb },
        (Zero { neg: na }, Zero { neg: nb } | Finite { neg: nb, .. })
        | (Finite { neg: na, .. }, Zero { neg: nb }) => Exact::Zero { neg: na ^ nb },
    }
}

/// A finite operand as an exact value with its leading bit at bit 63.
#[inline(always)]
fn normalize32(neg: bool, exp: i32, sig: u32) -> Exact {
    let lz = sig.leading_zeros();
    Exact::Finite {
        neg,
        exp: exp + 31 - lz as i32,
        sig: (sig as u64) << (lz + 32),
    }
}

/// An f64 as an exact value.
fn exact_f64(x: f64) -> Exact {
    let b = x.to_bits();
    let neg = b >> 63 == 1;
    let ef = ((b >> 52) & 0x7ff) as i32;
    let frac = b & ((1u64 << 52) - 1);
    let t = match ef {
        0x7ff if frac == 0 => return Exact::Inf { neg },
        0x7ff => return Exact::Nan { neg, payload: frac },
        0 if frac == 0 => return Exact::Zero { neg },
        0 => Term {
            neg,
            exp: -1074,
            sig: frac,
        },
        _ => Term {
            neg,
            exp: ef - 1075,
            sig: frac | (1u64 << 52),
        },
    };
    let lz = t.sig.leading_zeros();
    Exact::Finite {
        neg: t.neg,
        exp: t.exp + 63 - lz as i32,
        sig: t.sig << lz,
    }
}

/// `x >> s` with the bits shifted out ORed into bit 0.
#[inline(always)]
fn jam_shift(x: u64, s: u32) -> u64 {
    if s >= 64 {
        (x != 0) as u64
    } else {
        (x >> s) | ((x & ((1u64 << s) - 1) != 0) as u64)
    }
}

/// `x >> s` with the bits shifted out ORed into bit 0 (128-bit).
#[inline(always)]
fn jam_shift128(x: u128, s: u32) -> u128 {
    if s >= 128 {
        (x != 0) as u128
    } else {
        (x >> s) | ((x & ((1u128 << s) - 1) != 0) as u128)
    }
}
