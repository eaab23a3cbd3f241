//! One operation of a float unit explained: the unit's result, the exact
//! result, and the error in absolute, relative and ulp terms (what `bitsim
//! arith` prints), plus the exact decimal expansion of an f64.

use super::float::FloatUnit;
use crate::arith::lmul::{self, Semantics};
use crate::formats::{ConvertOptions, MiniFloat};

/// A float operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloatOp {
    /// `a + b`.
    Add,
    /// `a − b`.
    Sub,
    /// `a × b`.
    Mul,
    /// `a × b + c`, rounded once.
    Fma,
}

impl FloatOp {
    /// Every operation, in display order.
    pub const ALL: [FloatOp; 4] = [FloatOp::Add, FloatOp::Sub, FloatOp::Mul, FloatOp::Fma];

    /// Its name (`add`, `sub`, `mul`, `fma`).
    pub fn name(self) -> &'static str {
        match self {
            FloatOp::Add => "add",
            FloatOp::Sub => "sub",
            FloatOp::Mul => "mul",
            FloatOp::Fma => "fma",
        }
    }

    /// The operation called `name`, if any.
    pub fn from_name(name: &str) -> Option<FloatOp> {
        Self::ALL.into_iter().find(|o| o.name() == name)
    }

    /// Number of operands.
    pub fn arity(self) -> usize {
        if self == FloatOp::Fma {
            3
        } else {
            2
        }
    }
}

/// The arithmetic units an operation can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitKind {
    /// Correctly rounded IEEE-style arithmetic ([`FloatUnit`]).
    Ieee,
    /// L-Mul products ([`crate::arith::lmul`]), mul only.
    Lmul(Semantics),
}

impl UnitKind {
    /// Every unit, in display order.
    pub const ALL: [UnitKind; 3] = [
        UnitKind::Ieee,
        UnitKind::Lmul(Semantics::Carry),
        UnitKind::Lmul(Semantics::Literal),
    ];

    /// Its name (`ieee`, `lmul-carry`, `lmul-literal`).
    pub fn name(self) -> &'static str {
        match self {
            UnitKind::Ieee => "ieee",
            UnitKind::Lmul(Semantics::Carry) => "lmul-carry",
            UnitKind::Lmul(Semantics::Literal) => "lmul-literal",
        }
    }

    /// The unit called `name`, if any.
    pub fn from_name(name: &str) -> Option<UnitKind> {
        Self::ALL.into_iter().find(|u| u.name() == name)
    }
}

/// One operation explained.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Explained {
    /// The unit's result code.
    pub code: u32,
    /// Its value.
    pub value: f64,
    /// The exact result of the operation on the operands' values, as an f64.
    pub exact: f64,
    /// Whether [`Self::exact`] is exact (else it is the f64 nearest to it).
    pub exact_is_exact: bool,
    /// `value − exact`: NaN where either is NaN, ±∞ where exactly one is
    /// infinite (an overflow to ±inf) or they are opposite infinities.
    pub error_abs: f64,
    /// `error_abs / |exact|` (∞ for a non-zero error of an exact zero, and
    /// for an infinite error).
    pub error_rel: f64,
    /// `error_abs` in ulps of the format at the exact result's binade.
    pub error_ulps: f64,
}

/// Runs `op` on the codes `c` (as many as its arity) of `f` on `unit`, and
/// explains the result. Errors: an L-Mul unit asked for anything but mul;
/// options the format cannot take.
pub fn explain(
    f: &MiniFloat,
    op: FloatOp,
    unit: UnitKind,
    c: &[u32],
    opts: &ConvertOptions,
) -> Result<Explained, String> {
    assert_eq!(
        c.len(),
        op.arity(),
        "{} takes {} operands",
        op.name(),
        op.arity()
    );
    let code = match unit {
        UnitKind::Ieee => {
            let u = FloatUnit::new(f, opts).map_err(|e| e.to_string())?;
            match op {
                FloatOp::Add => u.add(c[0], c[1], 0),
                FloatOp::Sub => u.sub(c[0], c[1], 0),
                FloatOp::Mul => u.mul(c[0], c[1], 0),
                FloatOp::Fma => u.fma(c[0], c[1], c[2], 0),
            }
        }
        UnitKind::Lmul(sem) if op == FloatOp::Mul => lmul::lmul(f, c[0], c[1], sem, opts),
        UnitKind::Lmul(_) => {
            return Err(format!(
                "only mul is meaningful for an L-Mul unit (got {})",
                op.name()
            ))
        }
    };
    let vals: Vec<f64> = c.iter().map(|&x| f.decode(x)).collect();
    let value = f.decode(code);
    let (exact, exact_is_exact) = exact_result(op, &vals);
    let (error_abs, error_rel, error_ulps) = if value.is_finite() && exact.is_finite() {
        let abs = value - exact;
        let rel = if exact != 0.0 {
            abs / exact.abs()
        } else if abs == 0.0 {
            0.0
        } else {
            f64::INFINITY
        };
        (abs, rel, abs / f.ulp_at(exact))
    } else if value.is_nan() || exact.is_nan() {
        (f64::NAN, f64::NAN, f64::NAN)
    } else if value != exact {
        // One side infinite (an overflow to ±inf, or a finite result of an
        // infinite exact one): the error is infinite, with its sign.
        let abs = value - exact;
        (abs, f64::INFINITY, abs)
    } else {
        (0.0, 0.0, 0.0)
    };
    Ok(Explained {
        code,
        value,
        exact,
        exact_is_exact,
        error_abs,
        error_rel,
        error_ulps,
    })
}

/// TwoSum (Knuth): the rounding error of `x + y` in f64.
fn two_sum_err(x: f64, y: f64) -> f64 {
    let s = x + y;
    let bb = s - x;
    (x - (s - bb)) + (y - bb)
}

/// The exact result as an f64 and whether it is exact. Every product of two
/// codes (≤ 24 significand bits) is exact in f64; sums are checked with TwoSum.
fn exact_result(op: FloatOp, v: &[f64]) -> (f64, bool) {
    let sum = |x: f64, y: f64| {
        let s = x + y;
        (s, !s.is_finite() || two_sum_err(x, y) == 0.0)
    };
    match op {
        FloatOp::Add => sum(v[0], v[1]),
        FloatOp::Sub => sum(v[0], -v[1]),
        FloatOp::Mul => (v[0] * v[1], true),
        FloatOp::Fma => sum(v[0] * v[1], v[2]),
    }
}

/// The exact decimal expansion of a finite non-zero f64 (every binary
/// fraction has a finite one: `sig × 2^e` is `sig × 5^−e / 10^−e` for
/// e < 0); `None` for zeros, infinities and NaN.
pub fn exact_decimal(x: f64) -> Option<String> {
    if !x.is_finite() || x == 0.0 {
        return None;
    }
    let b = x.to_bits();
    let ef = ((b >> 52) & 0x7ff) as i32;
    let frac = b & ((1u64 << 52) - 1);
    let (sig, e) = if ef == 0 {
        (frac, -1074)
    } else {
        (frac | (1 << 52), ef - 1075)
    };
    // Little-endian base-10^9 limbs.
    let mut limbs = vec![
        (sig % 1_000_000_000) as u32,
        (sig / 1_000_000_000 % 1_000_000_000) as u32,
        (sig / 1_000_000_000_000_000_000) as u32,
    ];
    let mul = |limbs: &mut Vec<u32>, m: u64| {
        let mut carry = 0u64;
        for l in limbs.iter_mut() {
            let v = *l as u64 * m + carry;
            *l = (v % 1_000_000_000) as u32;
            carry = v / 1_000_000_000;
        }
        while carry > 0 {
            limbs.push((carry % 1_000_000_000) as u32);
            carry /= 1_000_000_000;
        }
    };
    for _ in 0..e.unsigned_abs() {
        mul(&mut limbs, if e > 0 { 2 } else { 5 });
    }
    let mut digits = String::new();
    for (i, l) in limbs.iter().rev().enumerate() {
        if i == 0 {
            digits.push_str(&l.to_string());
        } else {
            digits.push_str(&format!("{l:09}"));
        }
    }
    let digits = digits.trim_start_matches('0').to_string();
    let sign = if x < 0.0 { "-" } else { "" };
    if e >= 0 {
        return Some(format!("{sign}{digits}"));
    }
    let k = e.unsigned_abs() as usize;
    let padded = if digits.len() <= k {
        format!("{}{digits}", "0".repeat(k + 1 - digits.len()))
    } else {
        digits
    };
    let (int, fracd) = padded.split_at(padded.len() - k);
    let fracd = fracd.trim_end_matches('0');
    Some(if fracd.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{fracd}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_decimals() {
        assert_eq!(exact_decimal(1.0).unwrap(), "1");
        assert_eq!(exact_decimal(-2.25).unwrap(), "-2.25");
        assert_eq!(
            exact_decimal(0.1).unwrap(),
            "0.1000000000000000055511151231257827021181583404541015625"
        );
        assert_eq!(exact_decimal(2f64.powi(-10)).unwrap(), "0.0009765625");
        assert_eq!(exact_decimal(1e22).unwrap(), "10000000000000000000000");
        assert_eq!(
            exact_decimal(2f64.powi(70)).unwrap(),
            "1180591620717411303424"
        );
        let tiny = exact_decimal(5e-324).unwrap();
        assert!(
            tiny.starts_with("0.000") && tiny.ends_with("65625"),
            "{tiny}"
        );
        assert_eq!(tiny.len(), 2 + 1074);
        assert_eq!(exact_decimal(0.0), None);
        assert_eq!(exact_decimal(f64::NAN), None);
    }
}
