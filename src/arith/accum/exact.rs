//! A Kulisch accumulator: a two's-complement fixed-point register wide
//! enough to hold any sum of f64 values exactly, rounded once when read.
//!
//! Bit 0 of the register weighs 2^−1074 (the smallest f64 subnormal); the
//! largest finite f64 reaches bit 2097, and 64 more bits absorb carries of up
//! to 2^64 additions, so the register never overflows in practice.

use crate::formats::{ConvertOptions, MiniFloat};

/// 64-bit limbs of the register (bits 0 ..= 2175; bit 2175 is the sign).
const LIMBS: usize = 34;

/// The exact sum of f64 values, with IEEE special-value bookkeeping
/// (a NaN, or +inf and −inf together, make the sum NaN; one infinity wins
/// over every finite value). An exact zero sum is +0, except a sum of −0s
/// only, which is −0 (as IEEE adds in every mode but round-down give).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactSum {
    limbs: [u64; LIMBS],
    /// Whether every value added so far was −0 (false when empty).
    only_neg_zeros: bool,
    /// Whether anything was added.
    any: bool,
    nan: bool,
    pos_inf: bool,
    neg_inf: bool,
}

impl Default for ExactSum {
    fn default() -> Self {
        Self::new()
    }
}

impl ExactSum {
    /// An empty (zero) sum.
    pub fn new() -> Self {
        ExactSum {
            limbs: [0; LIMBS],
            only_neg_zeros: false,
            any: false,
            nan: false,
            pos_inf: false,
            neg_inf: false,
        }
    }

    /// Adds `x` exactly.
    pub fn add(&mut self, x: f64) {
        let b = x.to_bits();
        let neg = b >> 63 == 1;
        self.only_neg_zeros = (self.only_neg_zeros || !self.any) && b == (-0.0f64).to_bits();
        self.any = true;
        let ef = ((b >> 52) & 0x7ff) as u32;
        let frac = b & ((1u64 << 52) - 1);
        if ef == 0x7ff {
            if frac != 0 {
                self.nan = true;
            } else if neg {
                self.neg_inf = true;
            } else {
                self.pos_inf = true;
            }
            return;
        }
        // x = sig × 2^(shift − 1074): subnormals have shift 0, normals ef − 1.
        let (sig, shift) = if ef == 0 {
            (frac, 0)
        } else {
            (frac | (1u64 << 52), ef - 1)
        };
        if sig == 0 {
            return;
        }
        let (limb, off) = ((shift / 64) as usize, shift % 64);
        let v = (sig as u128) << off;
        let parts = [v as u64, (v >> 64) as u64];
        if neg {
            self.sub_at(limb, parts);
        } else {
            self.add_at(limb, parts);
        }
    }

    fn add_at(&mut self, limb: usize, parts: [u64; 2]) {
        let mut carry = false;
        for (i, p) in parts.into_iter().enumerate() {
            let (s1, c1) = self.limbs[limb + i].overflowing_add(p);
            let (s2, c2) = s1.overflowing_add(carry as u64);
            self.limbs[limb + i] = s2;
            carry = c1 || c2;
        }
        let mut i = limb + 2;
        while carry && i < LIMBS {
            let (s, c) = self.limbs[i].overflowing_add(1);
            self.limbs[i] = s;
            carry = c;
            i += 1;
        }
    }

    fn sub_at(&mut self, limb: usize, parts: [u64; 2]) {
        let mut borrow = false;
        for (i, p) in parts.into_iter().enumerate() {
            let (s1, b1) = self.limbs[limb + i].overflowing_sub(p);
            let (s2, b2) = s1.overflowing_sub(borrow as u64);
            self.limbs[limb + i] = s2;
            borrow = b1 || b2;
        }
        let mut i = limb + 2;
        while borrow && i < LIMBS {
            let (s, b) = self.limbs[i].overflowing_sub(1);
            self.limbs[i] = s;
            borrow = b;
            i += 1;
        }
    }

    /// Adds every value of `xs`.
    pub fn extend(&mut self, xs: impl IntoIterator<Item = f64>) {
        for x in xs {
            self.add(x);
        }
    }

    /// Whether the finite part is exactly zero (infinities and NaN aside).
    pub fn is_zero(&self) -> bool {
        self.limbs.iter().all(|&l| l == 0)
    }

    /// The sum rounded to odd at f64 precision (53 bits): truncated, with
    /// the last bit set when anything nonzero was cut off. Rounding this once
    /// more into any format of at most 51 significant bits (every minifloat)
    /// gives the correctly rounded exact sum under every rounding mode but
    /// `sr` (whose random threshold may look below the 53rd bit).
    /// A magnitude of 2^1024 or more reads as ±`f64::MAX` (still an overflow
    /// of every minifloat); NaN and infinities as described on the type.
    pub fn to_f64_round_odd(&self) -> f64 {
        if self.nan || (self.pos_inf && self.neg_inf) {
            return f64::NAN;
        }
        if self.pos_inf {
            return f64::INFINITY;
        }
        if self.neg_inf {
            return f64::NEG_INFINITY;
        }
        let neg = self.limbs[LIMBS - 1] >> 63 == 1;
        let mut mag = self.limbs;
        if neg {
            // Two's-complement negation: invert and add one.
            let mut carry = true;
            for l in mag.iter_mut() {
                let (s, c) = (!*l).overflowing_add(carry as u64);
                *l = s;
                carry = c;
            }
        }
        let Some(top) = (0..LIMBS).rev().find(|&i| mag[i] != 0) else {
            return if self.only_neg_zeros { -0.0 } else { 0.0 };
        };
        // Index of the highest set bit.
        let h = top * 64 + 63 - mag[top].leading_zeros() as usize;
        let bit = |i: usize| (mag[i / 64] >> (i % 64)) & 1;
        let v = if h < 53 {
            // Below 2^−1021: an exact f64 (subnormal or the lowest normal binade).
            mag[0] as f64 * crate::formats::exp2i(-1074)
        } else {
            let lo = h - 52;
            let mut sig = 0u64;
            for i in (lo..=h).rev() {
                sig = (sig << 1) | bit(i);
            }
            let sticky = (0..lo / 64).any(|i| mag[i] != 0)
                || (!lo.is_multiple_of(64) && mag[lo / 64] & ((1u64 << (lo % 64)) - 1) != 0);
            if sticky {
                sig |= 1;
            }
            let e = h as i64 - 1074;
            if e > 1023 {
                f64::MAX
            } else {
                f64::from_bits((((e + 1023) as u64) << 52) | (sig & ((1u64 << 52) - 1)))
            }
        };
        if neg {
            -v
        } else {
            v
        }
    }

    /// The sum rounded once into `f` per `o` (`index` keys stochastic
    /// rounding). NaN results follow `f`'s NaN policy.
    pub fn round_to(&self, f: &MiniFloat, o: &ConvertOptions, index: u64) -> u32 {
        let v = self.to_f64_round_odd();
        f.encode(v, o, index)
            .unwrap_or_else(|_| f.nan_code(false).unwrap_or(f.zero_code(false)))
    }
}
