//! Generic minifloat arithmetic (add, sub, mul, fma) on codes of any
//! [`MiniFloat`], computed on integer significands and rounded once.
//!
//! Every rounding mode of [`crate::formats::Rounding`] (stochastic rounding
//! keyed by `o.seed` and `index` exactly as `MiniFloat::encode` keys it),
//! every overflow policy (`o.overflow`, `None` = the format's default) and
//! every format style (ieee / fn / fnuz / finite, subnormals on / flushed /
//! exponent-0-normal, unsigned) are handled; rounding an exact result here
//! gives the same code as `MiniFloat::encode` of that exact value. The
//! exact result is never rounded through f64 (that would round twice).
//!
//! Special values follow IEEE 754 where the format has them: x + (−x) = +0
//! (−0 under `rd`), (−0) + (−0) = −0, inf − inf, 0 × inf → NaN, fma's exact
//! zero sums likewise. `fnuz` formats have no −0, so every zero result is +0.
//! NaN results are described on [`FloatUnit`].
//!
//! The free functions build a [`FloatUnit`] per call; loops should build one
//! unit and call its methods (or its slice methods) instead.

mod fast;
mod ops;
mod slices;
mod unit;

pub use unit::FloatUnit;

use crate::formats::{ConvertOptions, MiniFloat};

/// `a + b` of two codes of `f`, rounded once per `o`; `index` keys stochastic rounding.
pub fn add(f: &MiniFloat, a: u32, b: u32, o: &ConvertOptions, index: u64) -> u32 {
    FloatUnit::lenient(f, o).add(a, b, index)
}

/// `a − b` of two codes of `f`, rounded once per `o`.
pub fn sub(f: &MiniFloat, a: u32, b: u32, o: &ConvertOptions, index: u64) -> u32 {
    FloatUnit::lenient(f, o).sub(a, b, index)
}

/// `a × b` of two codes of `f`, rounded once per `o`.
pub fn mul(f: &MiniFloat, a: u32, b: u32, o: &ConvertOptions, index: u64) -> u32 {
    FloatUnit::lenient(f, o).mul(a, b, index)
}

/// `a × b + c` of three codes of `f`, rounded once per `o`.
pub fn fma(f: &MiniFloat, a: u32, b: u32, c: u32, o: &ConvertOptions, index: u64) -> u32 {
    FloatUnit::lenient(f, o).fma(a, b, c, index)
}

/// The exact sum `x + y` of two f64 values, rounded once into `f` per `o`
/// (for accumulators adding an exact product to a running sum).
pub fn add_values(f: &MiniFloat, x: f64, y: f64, o: &ConvertOptions, index: u64) -> u32 {
    FloatUnit::lenient(f, o).add_values(x, y, index)
}
