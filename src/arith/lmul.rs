//! L-Mul (Luo & Sun 2024): multiplication by integer addition of bit fields,
//! in its two semantics (`lmul-carry`, `lmul-literal`).

use crate::formats::{ConvertOptions, MiniFloat};

/// The two readings of L-Mul (SPEC-NOTES §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Semantics {
    /// One integer addition of the exponent|mantissa fields minus the
    /// offset; a mantissa carry runs into the exponent.
    Carry,
    /// The paper's formula `(1 + x_m + y_m + 2^−l(m)) · 2^(x_e + y_e)`, rounded into the format.
    Literal,
}

/// L-Mul of two codes of `f` (PLACEHOLDER body: returns +0; the real unit replaces it).
pub fn lmul(f: &MiniFloat, a: u32, b: u32, sem: Semantics, o: &ConvertOptions) -> u32 {
    let _ = (a, b, sem, o);
    f.zero_code(false)
}
