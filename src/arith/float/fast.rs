//! The add and mul hot paths with the format and the rounding mode fixed at
//! compile time, for the slice loops of [`FloatUnit`].
//!
//! The per-element methods ([`FloatUnit::add`], [`FloatUnit::mul`]) read the
//! format's constants and the rounding mode from the unit on every call; the
//! variable shifts and the mode dispatch that follow cost more than the
//! arithmetic. Here a [`Shape`] (fp16, bf16, e4m3, e5m2) supplies the
//! constants and a [`Mode`] the rounding decision, so each (shape, mode) pair
//! compiles to its own straight-line loop body.
//!
//! Only the common case is specialised: both operands plain normal codes and
//! the rounded result a normal, in-range code. Anything else (zeros,
//! subnormals, infinities, NaNs, an exact zero sum, a subnormal or
//! overflowing result) returns [`SLOW`] and the caller recomputes that element
//! with the per-element method, so every result is the per-element result by
//! construction; the test suite checks it bit for bit.

use super::FloatUnit;
use crate::formats::parse::{BF16, E4M3, E5M2, FP16};
use crate::formats::rounding::sr_bits;
use crate::formats::{Exp0, MiniFloat, NonFinite};

/// Marker for "not handled here": no code of a ≤ 24-bit format is `u32::MAX`.
pub(crate) const SLOW: u32 = u32::MAX;

/// A format's constants, known at compile time. Implemented only for signed
/// formats with subnormals whose largest code is a plain normal (IEEE-style or
/// `fn` NaN placement); [`Shape::matches`] checks a unit against them.
pub(crate) trait Shape {
    /// The format.
    const F: MiniFloat;
    /// Mantissa bits.
    const M: u32 = Self::F.mbits;
    /// Exponent bias.
    const BIAS: i32 = Self::F.bias;
    /// The implicit bit, `2^M`.
    const IMPLICIT: u32 = 1 << Self::M;
    /// All bits below the sign.
    const MAG_MASK: u32 = (1 << (Self::F.ebits + Self::M)) - 1;
    /// The sign bit.
    const SIGN: u32 = 1 << (Self::F.ebits + Self::M);
    /// Largest finite magnitude code.
    const MAX_MAG: u32 = match Self::F.nonfinite {
        // All-ones exponent is inf/NaN: the largest finite has exponent field e_all − 1.
        NonFinite::Ieee => (((1 << Self::F.ebits) - 1) << Self::M) - 1,
        // Only the all-ones magnitude is NaN.
        _ => Self::MAG_MASK - 1,
    };
    /// Smallest normal exponent (of the leading bit).
    const EMIN: i32 = 1 - Self::BIAS;

    /// Whether `u` computes in this shape, with exactly these constants.
    fn matches(u: &FloatUnit) -> bool {
        u.f == Self::F
            && u.f.signed
            && u.f.exp0 == Exp0::Subnormal
            && matches!(u.f.nonfinite, NonFinite::Ieee | NonFinite::Fn)
            && u.m == Self::M
            && u.bias == Self::BIAS
            && u.implicit == Self::IMPLICIT
            && u.max_mag == Self::MAX_MAG
            && u.emin == Self::EMIN
    }
}

/// IEEE binary16.
pub(crate) struct Fp16;
/// bfloat16.
pub(crate) struct Bf16;
/// OCP FP8 E4M3 (`fn`).
pub(crate) struct E4m3;
/// OCP FP8 E5M2.
pub(crate) struct E5m2;

impl Shape for Fp16 {
    const F: MiniFloat = FP16;
}
impl Shape for Bf16 {
    const F: MiniFloat = BF16;
}
impl Shape for E4m3 {
    const F: MiniFloat = E4M3;
}
impl Shape for E5m2 {
    const F: MiniFloat = E5M2;
}

/// A rounding mode fixed at compile time: whether to add one to `trunc`
/// given the discarded bits `rem` (a fraction `rem / 2^s` of one unit,
/// `40 ≤ s ≤ 63`), exactly as `FloatUnit::round_bit` decides it.
pub(crate) trait Mode {
    /// The round-up decision; `index` keys stochastic rounding.
    fn up(u: &FloatUnit, trunc: u64, rem: u64, s: u32, neg: bool, index: u64) -> bool;
}

/// Round to nearest, ties to even.
pub(crate) struct Rne;
/// Round to nearest, ties away from zero.
pub(crate) struct Rna;
/// Round toward zero.
pub(crate) struct Rtz;
/// Round toward +infinity.
pub(crate) struct Ru;
/// Round toward −infinity.
pub(crate) struct Rd;
/// Round to odd.
pub(crate) struct Rto;
/// Stochastic rounding (seed and width read from the unit).
pub(crate) struct Sr;

impl Mode for Rne {
    #[inline(always)]
    fn up(_: &FloatUnit, trunc: u64, rem: u64, s: u32, _: bool, _: u64) -> bool {
        let half = 1u64 << (s - 1);
        (rem > half) | ((rem == half) & (trunc & 1 == 1))
    }
}
impl Mode for Rna {
    #[inline(always)]
    fn up(_: &FloatUnit, _: u64, rem: u64, s: u32, _: bool, _: u64) -> bool {
        rem >= 1u64 << (s - 1)
    }
}
impl Mode for Rtz {
    #[inline(always)]
    fn up(_: &FloatUnit, _: u64, _: u64, _: u32, _: bool, _: u64) -> bool {
        false
    }
}
impl Mode for Ru {
    #[inline(always)]
    fn up(_: &FloatUnit, _: u64, rem: u64, _: u32, neg: bool, _: u64) -> bool {
        (rem != 0) & !neg
    }
}
impl Mode for Rd {
    #[inline(always)]
    fn up(_: &FloatUnit, _: u64, rem: u64, _: u32, neg: bool, _: u64) -> bool {
        (rem != 0) & neg
    }
}
impl Mode for Rto {
    #[inline(always)]
    fn up(_: &FloatUnit, trunc: u64, rem: u64, _: u32, _: bool, _: u64) -> bool {
        (rem != 0) & (trunc & 1 == 0)
    }
}
impl Mode for Sr {
    #[inline(always)]
    fn up(u: &FloatUnit, _: u64, rem: u64, s: u32, _: bool, index: u64) -> bool {
        // floor(fraction × 2^r) + r random bits ≥ 2^r (s ≥ 40 > r).
        let r = u.sr_bits;
        let rand = sr_bits(u.seed, index);
        (rem >> (s - r)) + (rand >> (32 - r)) as u64 >= 1u64 << r
    }
}

/// Whether both codes are plain normals (see `FloatUnit::plain`).
#[inline(always)]
fn plain2<F: Shape>(a: u32, b: u32) -> bool {
    let (ma, mb) = (a & F::MAG_MASK, b & F::MAG_MASK);
    (ma >= F::IMPLICIT) & (ma <= F::MAX_MAG) & (mb >= F::IMPLICIT) & (mb <= F::MAX_MAG)
}

/// Rounds `sig × 2^(exp − 63)` (bit 63 set) when the result is a normal,
/// in-range code: the normal-range branch of `FloatUnit::round` with the
/// constants folded in (the formats here have no exponent-0 normals).
#[inline(always)]
fn round_normal<F: Shape, R: Mode>(
    u: &FloatUnit,
    neg: bool,
    exp: i32,
    sig: u64,
    index: u64,
) -> u32 {
    if exp < F::EMIN {
        return SLOW;
    }
    let s = 63 - F::M;
    let n = sig >> s;
    let rem = sig & ((1u64 << s) - 1);
    let trunc = (((exp - F::EMIN) as u64) << F::M) + n;
    let mag = trunc + R::up(u, trunc, rem, s, neg, index) as u64;
    if mag > F::MAX_MAG as u64 {
        return SLOW;
    }
    (if neg { F::SIGN } else { 0 }) | mag as u32
}

/// `a + b` (or `a − b`) on the fast path, or [`SLOW`]: `FloatUnit::add_plain`
/// followed by [`round_normal`].
#[inline(always)]
pub(crate) fn add<F: Shape, R: Mode>(
    u: &FloatUnit,
    a: u32,
    b: u32,
    negate_b: bool,
    index: u64,
) -> u32 {
    if !plain2::<F>(a, b) {
        return SLOW;
    }
    let m = F::M;
    let (na, nb) = (a & F::SIGN != 0, (b & F::SIGN != 0) ^ negate_b);
    let (ma, mb) = (a & F::MAG_MASK, b & F::MAG_MASK);
    // Among normal codes a larger magnitude code is a larger magnitude.
    let swap = mb > ma;
    let (mh, ml) = if swap { (mb, ma) } else { (ma, mb) };
    let nh = if swap { nb } else { na };
    let (eh, el) = (mh >> m, ml >> m);
    let mant = F::IMPLICIT - 1;
    let xh = (((mh & mant) | F::IMPLICIT) as u64) << (62 - m);
    let xl = (((ml & mant) | F::IMPLICIT) as u64) << (62 - m);
    // Shifting by 63 keeps only the sticky bit, as any larger shift would.
    let d = (eh - el).min(63);
    let xl = (xl >> d) | ((xl & ((1u64 << d) - 1) != 0) as u64);
    let sub = 0u64.wrapping_sub((na != nb) as u64);
    let sum = xh.wrapping_add((xl ^ sub).wrapping_sub(sub));
    if sum == 0 {
        // An exact zero takes its sign from the rounding mode: leave it to the unit.
        return SLOW;
    }
    let lz = sum.leading_zeros();
    let exp = eh as i32 - F::BIAS + 1 - lz as i32;
    round_normal::<F, R>(u, nh, exp, sum << lz, index)
}

/// `a × b` on the fast path, or [`SLOW`]: `FloatUnit::mul_plain` followed by
/// [`round_normal`].
#[inline(always)]
pub(crate) fn mul<F: Shape, R: Mode>(u: &FloatUnit, a: u32, b: u32, index: u64) -> u32 {
    if !plain2::<F>(a, b) {
        return SLOW;
    }
    let m = F::M;
    let (ma, mb) = (a & F::MAG_MASK, b & F::MAG_MASK);
    let mant = F::IMPLICIT - 1;
    let sa = ((ma & mant) | F::IMPLICIT) as u64;
    let sb = ((mb & mant) | F::IMPLICIT) as u64;
    let p = sa * sb;
    let lz = p.leading_zeros();
    let neg = (a ^ b) & F::SIGN != 0;
    // p × 2^(ea + eb − 2·bias − 2m), leading bit at 63 − lz.
    let exp = (ma >> m) as i32 + (mb >> m) as i32 - 2 * F::BIAS - 2 * m as i32 + 63 - lz as i32;
    round_normal::<F, R>(u, neg, exp, p << lz, index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::parse::E3M2;
    use crate::formats::{ConvertOptions, Overflow, Rounding};

    /// The shapes engage for their formats under every mode and overflow
    /// policy (else the specialised loops would silently never run), and
    /// only for them.
    #[test]
    fn shapes_match_their_formats_only() {
        for r in Rounding::ALL {
            for ov in [None, Some(Overflow::Saturate)] {
                let o = ConvertOptions {
                    rounding: r,
                    overflow: ov,
                    ..Default::default()
                };
                let unit = |f: &MiniFloat| FloatUnit::new(f, &o).unwrap();
                assert!(Fp16::matches(&unit(&FP16)) && !Fp16::matches(&unit(&BF16)));
                assert!(Bf16::matches(&unit(&BF16)) && !Bf16::matches(&unit(&E5M2)));
                assert!(E4m3::matches(&unit(&E4M3)) && !E4m3::matches(&unit(&E5M2)));
                assert!(E5m2::matches(&unit(&E5M2)) && !E5m2::matches(&unit(&FP16)));
                let odd = unit(&E3M2);
                assert!(!Fp16::matches(&odd) && !Bf16::matches(&odd));
                assert!(!E4m3::matches(&odd) && !E5m2::matches(&odd));
            }
        }
        // Hand-derived constants.
        assert_eq!(
            (Fp16::MAX_MAG, Fp16::SIGN, Fp16::EMIN),
            (0x7bff, 0x8000, -14)
        );
        assert_eq!(
            (Bf16::MAX_MAG, Bf16::SIGN, Bf16::EMIN),
            (0x7f7f, 0x8000, -126)
        );
        assert_eq!((E4m3::MAX_MAG, E4m3::SIGN, E4m3::EMIN), (0x7e, 0x80, -6));
        assert_eq!((E5m2::MAX_MAG, E5m2::SIGN, E5m2::EMIN), (0x7b, 0x80, -14));
    }
}
