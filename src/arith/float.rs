//! Generic minifloat arithmetic (add, sub, mul, fma) on codes, computed on
//! integer significands with guard/round/sticky bits and rounded once.

use crate::formats::{ConvertOptions, MiniFloat};

// PLACEHOLDER bodies (computed through f64, which can double-round): the
// integer guard/round/sticky implementation replaces them. The signatures
// are the contract other modules code against.

/// `a + b` of two codes of `f`, rounded once per `o`; `index` keys stochastic rounding.
pub fn add(f: &MiniFloat, a: u32, b: u32, o: &ConvertOptions, index: u64) -> u32 {
    add_values(f, f.decode(a), f.decode(b), o, index)
}

/// `a − b` of two codes of `f`, rounded once per `o`.
pub fn sub(f: &MiniFloat, a: u32, b: u32, o: &ConvertOptions, index: u64) -> u32 {
    add_values(f, f.decode(a), -f.decode(b), o, index)
}

/// `a × b` of two codes of `f`, rounded once per `o`.
pub fn mul(f: &MiniFloat, a: u32, b: u32, o: &ConvertOptions, index: u64) -> u32 {
    encode_or_nan(f, f.decode(a) * f.decode(b), o, index)
}

/// `a × b + c` of three codes of `f`, rounded once per `o`.
pub fn fma(f: &MiniFloat, a: u32, b: u32, c: u32, o: &ConvertOptions, index: u64) -> u32 {
    encode_or_nan(f, f.decode(a).mul_add(f.decode(b), f.decode(c)), o, index)
}

/// The exact sum `x + y` of two f64 values, rounded once into `f` per `o`
/// (for accumulators adding an exact product to a running sum).
pub fn add_values(f: &MiniFloat, x: f64, y: f64, o: &ConvertOptions, index: u64) -> u32 {
    encode_or_nan(f, x + y, o, index)
}

fn encode_or_nan(f: &MiniFloat, x: f64, o: &ConvertOptions, index: u64) -> u32 {
    f.encode(x, o, index)
        .unwrap_or_else(|_| f.nan_code(false).unwrap_or(f.zero_code(false)))
}
