//! The `vdpbf16ps` unit (AVX-512 BF16, "dot product of BF16 pairs
//! accumulated into packed single precision"), one f32 lane of it, bit-exact.
//!
//! What the instruction does, per f32 lane `i` (Intel, *Architecture
//! Instruction Set Extensions and Future Features Programming Reference*,
//! May 2019, VDPBF16PS; the same text is in the SDM):
//!
//! ```text
//! // FP32 FMA with daz in, ftz out and RNE rounding. MXCSR neither consulted nor updated.
//! srcdest.fp32[i] += make_fp32(src1.bfloat16[2*i+1]) * make_fp32(src2.bfloat16[2*i+1])
//! srcdest.fp32[i] += make_fp32(src1.bfloat16[2*i+0]) * make_fp32(src2.bfloat16[2*i+0])
//! ```
//!
//! with "output denormals always flushed to zero and input denormals always
//! treated as zero" and no exceptions. So one instruction is **two fused
//! steps, odd element first**: `acc = fma(a₁, b₁, acc)`, then
//! `acc = fma(a₀, b₀, acc)`, each rounded once (RNE) to f32. oneDNN's AVX-512
//! emulation of the instruction (`bf16_emulation_t::vdpbf16ps` in
//! `jit_avx512_core_bf16cvt.hpp`) runs the same order: a `vfmadd231ps` on the
//! high (odd) halves, then one on the low (even) halves.
//!
//! [`step`] is one such fused step, modelled here as:
//! - **DAZ in**: a bf16 operand or an accumulator with exponent field 0 and
//!   a nonzero mantissa (a subnormal) is read as a zero of its sign;
//! - the product `a·b` and the sum `acc + a·b` are **exact** (a fused
//!   multiply-add: the product is not rounded, so a product below 2^−126 or
//!   above f32's range still enters the sum at its exact value);
//! - **one RNE rounding** to 24 significant bits with an unbounded exponent;
//! - **FTZ out**, x86's rule: a result is flushed to a zero of its sign when
//!   it is *tiny after rounding* (the rounded value, exponent unbounded, is
//!   below 2^−126: Intel SDM vol. 1 §4.9.1.5, the rule MXCSR.FTZ applies and
//!   SoftFloat's 8086 specialisation implements); a rounded value of 2^128 or
//!   more is ±inf (RNE overflow);
//! - zeros as IEEE 754 fma: an exact zero sum of terms of opposite signs is
//!   +0, `(−0) + (−0) = −0`;
//! - inf and NaN as IEEE 754 fma: `0 × inf` and `inf − inf` are NaN, a NaN
//!   operand gives NaN. Which NaN is not modelled (the kernels promise NaN
//!   outputs only as NaN; the manual's priority table orders the NaN
//!   operands): [`step`] returns the default quiet NaN.
//!
//! Everything here works on integer significands (a bf16 has 8, a product
//! 16, an f32 24) aligned in one 128-bit window with a sticky bit, so the
//! exact sum is never rounded through a float type.

/// One fused step of the lane: `acc + a·b` for bf16 codes `a`, `b` and an f32
/// accumulator, with DAZ inputs, one RNE rounding and FTZ output (see the
/// module doc).
pub fn step(acc: f32, a: u16, b: u16) -> f32 {
    let x = Term::of_f32(acc.to_bits());
    let (ta, tb) = (Term::of_bf16(a), Term::of_bf16(b));
    let p = match (ta, tb) {
        (Term::Nan, _) | (_, Term::Nan) => return f32::NAN,
        (Term::Inf { .. }, Term::Zero { .. }) | (Term::Zero { .. }, Term::Inf { .. }) => {
            return f32::NAN
        }
        (Term::Inf { neg: na }, t) | (t, Term::Inf { neg: na }) => Term::Inf { neg: na ^ t.neg() },
        (Term::Zero { neg: na }, t) | (t, Term::Zero { neg: na }) => {
            Term::Zero { neg: na ^ t.neg() }
        }
        (
            Term::Fin {
                neg: na,
                exp: ea,
                sig: sa,
            },
            Term::Fin {
                neg: nb,
                exp: eb,
                sig: sb,
            },
        ) => Term::Fin {
            neg: na ^ nb,
            exp: ea + eb,
            sig: sa * sb,
        },
    };
    match (x, p) {
        (Term::Nan, _) | (_, Term::Nan) => f32::NAN,
        (Term::Inf { neg: nx }, Term::Inf { neg: np }) => {
            if nx == np {
                signed_inf(nx)
            } else {
                f32::NAN
            }
        }
        (Term::Inf { neg }, _) | (_, Term::Inf { neg }) => signed_inf(neg),
        (Term::Zero { neg: nx }, Term::Zero { neg: np }) => signed_zero(nx && np),
        (Term::Zero { .. }, Term::Fin { neg, exp, sig })
        | (Term::Fin { neg, exp, sig }, Term::Zero { .. }) => round(neg, exp, sig as u128),
        (
            Term::Fin {
                neg: nx,
                exp: ex,
                sig: sx,
            },
            Term::Fin {
                neg: np,
                exp: ep,
                sig: sp,
            },
        ) => sum(nx, ex, sx, np, ep, sp),
    }
}

/// One instruction on one lane: the odd pair element first, then the even
/// one (`pair[1]`, then `pair[0]`), as the manual's pseudo-code orders them.
pub fn instruction(acc: f32, a: [u16; 2], b: [u16; 2]) -> f32 {
    step(step(acc, a[1], b[1]), a[0], b[0])
}

/// A dot product as a `vdpbf16ps` kernel computes one output: one lane,
/// from +0, one instruction per pair `(k, k + 1)` in K order (so the
/// products run 1, 0, 3, 2, 5, 4, …); an odd K is padded with one +0
/// element on both sides, whose `+0 · +0` still runs through the last
/// instruction's first step (a −0 accumulator becomes +0 there).
///
/// # Panics
/// When `a` and `b` differ in length.
pub fn dot(a: &[u16], b: &[u16]) -> f32 {
    assert_eq!(a.len(), b.len(), "dpbf16 dot: operands of equal length");
    let pair = |x: &[u16], k: usize| [x[k], x.get(k + 1).copied().unwrap_or(0)];
    (0..a.len())
        .step_by(2)
        .fold(0.0f32, |acc, k| instruction(acc, pair(a, k), pair(b, k)))
}

/// A decoded operand: `sig × 2^exp` for finite nonzero values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Term {
    Zero { neg: bool },
    Fin { neg: bool, exp: i32, sig: u32 },
    Inf { neg: bool },
    Nan,
}

impl Term {
    /// A sign, an 8-bit exponent field (bias 127) and `mbits` mantissa
    /// bits; exponent field 0 reads as a zero of its sign (DAZ).
    fn of_fields(bits: u32, mbits: u32) -> Term {
        let neg = (bits >> (mbits + 8)) & 1 == 1;
        let e = ((bits >> mbits) & 0xff) as i32;
        let m = bits & ((1 << mbits) - 1);
        match e {
            0 => Term::Zero { neg },
            0xff if m == 0 => Term::Inf { neg },
            0xff => Term::Nan,
            _ => Term::Fin {
                neg,
                exp: e - 127 - mbits as i32,
                sig: m | 1 << mbits,
            },
        }
    }

    /// An f32 bit pattern (24-bit significands).
    fn of_f32(bits: u32) -> Term {
        Term::of_fields(bits, 23)
    }

    /// A bf16 code (8-bit significands, so a product has at most 16).
    fn of_bf16(code: u16) -> Term {
        Term::of_fields(code as u32, 7)
    }

    fn neg(self) -> bool {
        match self {
            Term::Zero { neg } | Term::Fin { neg, .. } | Term::Inf { neg } => neg,
            Term::Nan => false,
        }
    }
}

fn signed_zero(neg: bool) -> f32 {
    if neg {
        -0.0
    } else {
        0.0
    }
}

fn signed_inf(neg: bool) -> f32 {
    if neg {
        f32::NEG_INFINITY
    } else {
        f32::INFINITY
    }
}

/// How far above the smaller exponent the larger term is placed: every
/// significand here has ≤ 24 bits, so terms ≤ 100 binades apart fit a u128
/// exactly; a term further down than that is only a sticky bit, at least 75
/// bits below the last bit the rounding keeps.
const WINDOW: i32 = 100;

/// The exact sum of two finite nonzero terms `sx·2^ex` and `sp·2^ep`, rounded.
fn sum(nx: bool, ex: i32, sx: u32, np: bool, ep: i32, sp: u32) -> f32 {
    let base = ex.max(ep) - WINDOW;
    // A term's magnitude in units of 2^base; bits below the window jammed
    // into bit 0 (a sticky bit).
    let place = |e: i32, s: u32| -> u128 {
        let s = s as u128;
        if e >= base {
            s << (e - base)
        } else {
            let d = (base - e) as u32;
            if d >= 64 {
                1
            } else {
                (s >> d) | ((s & ((1u128 << d) - 1) != 0) as u128)
            }
        }
    };
    let (mx, mp) = (place(ex, sx) as i128, place(ep, sp) as i128);
    let total = if nx { -mx } else { mx } + if np { -mp } else { mp };
    if total == 0 {
        // Only terms of opposite signs cancel exactly: +0 under RNE.
        return 0.0;
    }
    round(total < 0, base, total.unsigned_abs())
}

/// `mag × 2^exp` (`mag > 0`, possibly with a sticky bit 0) rounded RNE to 24
/// significant bits with an unbounded exponent, then put in f32's range:
/// ≥ 2^128 → ±inf, below 2^−126 → ±0 (tiny after rounding: FTZ).
fn round(neg: bool, exp: i32, mag: u128) -> f32 {
    let top = 127 - mag.leading_zeros() as i32;
    let (mut n, mut e) = if top <= 23 {
        (mag, exp)
    } else {
        let s = (top - 23) as u32;
        let (q, rem, half) = (mag >> s, mag & ((1u128 << s) - 1), 1u128 << (s - 1));
        let up = rem > half || (rem == half && q & 1 == 1);
        (q + up as u128, exp + s as i32)
    };
    if n == 1 << 24 {
        n >>= 1;
        e += 1;
    }
    // Now `n < 2^24`; the value's leading bit is at exponent `e + log2(n)`.
    let lead = e + 127 - n.leading_zeros() as i32;
    if lead >= 128 {
        return signed_inf(neg);
    }
    if lead < -126 {
        return signed_zero(neg);
    }
    // A normal f32: exact in f64, and `as f32` keeps it.
    let v = n as f64 * f64::from_bits(((e + 1023) as u64) << 52);
    (if neg { -v } else { v }) as f32
}
