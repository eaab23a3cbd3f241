//! Fast paths of the accumulator model, each with the general
//! [`super::Accumulator`] as its slow twin (tests compare them bit for bit).
//!
//! [`Fp8Dot`]: FP8 × FP8 → f32 dot products in sequential order. Every
//! product of two 8-bit minifloats is exact in f32 (at most 2 × 4 = 8
//! significant bits, far inside the f32 exponent range), so a 256-entry
//! decode table, an f32 multiply and an f32 add (Rust never contracts the
//! two into an FMA) give exactly the bits of the model's
//! `acc=f32,order=seq,product=exact`: the f32 add rounds the exact sum once.
//!
//! [`FastSum`]: sequential and chunked sums of exact products in float,
//! integer and exact registers, used by the matmul variants.

use super::spec::{Acc, AccumSpec, IntOverflow, Order, Product};
use super::Accumulate;
use crate::formats::minifloat::{Exp0, NonFinite};
use crate::formats::{ConvertOptions, MiniFloat, Rounding};

/// FP8 × FP8 dot products with an f32 accumulator, sequential from +0.
#[derive(Debug, Clone)]
pub struct Fp8Dot {
    lut_a: [f32; 256],
    lut_b: [f32; 256],
}

/// Whether every product of a value of `a` and one of `b` is an exact f32:
/// significands fit in 24 bits together and the product range stays within
/// f32 normals (no rounding in the multiply, no overflow, no underflow).
fn products_exact_in_f32(a: &MiniFloat, b: &MiniFloat) -> bool {
    let low = |f: &MiniFloat| f.min_subnormal().unwrap_or(f.min_normal());
    (a.mbits + 1) + (b.mbits + 1) <= 24
        && a.max_value() * b.max_value() < f32::MAX as f64
        && low(a) * low(b) >= f32::MIN_POSITIVE as f64
}

impl Fp8Dot {
    /// Tables for operands of formats `a` and `b` (each at most 8 bits, every
    /// product exact in f32: every signed OFP8 format, FP6 and FP4 qualify).
    pub fn new(a: &MiniFloat, b: &MiniFloat) -> Result<Self, String> {
        for f in [a, b] {
            if f.bits() > 8 {
                return Err(format!("{f} is wider than 8 bits"));
            }
        }
        if !products_exact_in_f32(a, b) {
            return Err(format!("products of {a} × {b} are not all exact in f32"));
        }
        let lut = |f: &MiniFloat| {
            let mut t = [0f32; 256];
            let mask = ((1u32 << f.bits()) - 1) as usize;
            for (c, v) in t.iter_mut().enumerate() {
                // Codes are masked to the format's width, as decode does.
                *v = f.decode_f32((c & mask) as u32);
            }
            t
        };
        Ok(Fp8Dot {
            lut_a: lut(a),
            lut_b: lut(b),
        })
    }

    /// `Σ a[k] · b[k]` in k order: f32 multiply, f32 add, from +0. The
    /// slices are paired up to the shorter length.
    #[inline]
    pub fn dot(&self, a: &[u8], b: &[u8]) -> f32 {
        let mut acc = 0f32;
        for (&x, &y) in a.iter().zip(b) {
            acc += self.lut_a[x as usize] * self.lut_b[y as usize];
        }
        acc
    }

    /// The exact value of code `c` of operand `a` (as f32).
    pub fn value_a(&self, c: u8) -> f32 {
        self.lut_a[c as usize]
    }

    /// The exact value of code `c` of operand `b` (as f32).
    pub fn value_b(&self, c: u8) -> f32 {
        self.lut_b[c as usize]
    }
}

/// The rounded sum `a + b` in f64 with round-to-odd: the truncated sum with
/// its last bit set when the exact sum is not an f64 (TwoSum recovers the
/// exact error). Rounding the result once more into a format of at most 51
/// significant bits equals rounding the exact sum once (every mode but `sr`).
#[inline(always)]
pub fn add_round_odd(a: f64, b: f64) -> f64 {
    let s = a + b;
    if !s.is_finite() {
        return s;
    }
    // Knuth's TwoSum: err = (a + b) − s exactly (no overflow: s is finite).
    let bb = s - a;
    let err = (a - (s - bb)) + (b - bb);
    let bits = s.to_bits();
    if err == 0.0 || bits & 1 == 1 {
        return s;
    }
    // s is even and inexact: the odd neighbour lies toward the error.
    // (s ≠ 0: a sum that rounds to zero in f64 is exact.)
    if (err > 0.0) == (s > 0.0) {
        f64::from_bits(bits + 1)
    } else {
        f64::from_bits(bits - 1)
    }
}

/// 2^k for a normal f64 exponent.
#[inline(always)]
fn pow2(k: i32) -> f64 {
    debug_assert!((-1022..=1023).contains(&k));
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// Rounding of f64 values into an IEEE-style minifloat register (signed,
/// with infinities and subnormals), by scaling to an integer significand.
#[derive(Debug, Clone, Copy, PartialEq)]
struct FloatReg {
    format: MiniFloat,
    mbits: i32,
    emin: i32,
    max: f64,
    mode: Rounding,
}

impl FloatReg {
    /// Supported: IEEE-style formats, default overflow (inf), modes other
    /// than `rd` (whose exact-cancellation zero is −0 in IEEE adds) and `sr`.
    fn new(format: MiniFloat, mode: Rounding, saturate: bool) -> Option<Self> {
        let ieee = format.nonfinite == NonFinite::Ieee
            && format.exp0 == Exp0::Subnormal
            && format.signed
            && format.mbits >= 1;
        let mode_ok = !matches!(mode, Rounding::Rd | Rounding::Sr);
        (ieee && mode_ok && !saturate).then(|| FloatReg {
            format,
            mbits: format.mbits as i32,
            emin: 1 - format.bias,
            max: format.max_value(),
            mode,
        })
    }

    /// `x` (exact, or rounded to odd at 53 bits) rounded once into the format.
    #[inline(always)]
    fn round(&self, x: f64) -> f64 {
        if x == 0.0 || !x.is_finite() {
            return x;
        }
        let be = ((x.to_bits() >> 52) & 0x7ff) as i32;
        if be == 0 {
            // f64 subnormal input: far below every register's range; take the generic path.
            let o = ConvertOptions::with_rounding(self.mode);
            return self
                .format
                .decode(self.format.encode(x, &o, 0).unwrap_or(0));
        }
        let q = (be - 1023).max(self.emin) - self.mbits;
        // Power-of-two scalings (normal f64 factors: −1100 < ±q < 1100): exact.
        let y = x * pow2(-q);
        // |y| < 2^(mbits + 1) ≤ 2^24: integer casts are exact, and avoid the
        // libm calls `round`/`trunc` become without SSE4.1.
        let t = y as i64;
        let frac = y - t as f64;
        let sign: i64 = if y < 0.0 { -1 } else { 1 };
        let half = frac.abs().partial_cmp(&0.5).expect("finite");
        use std::cmp::Ordering::*;
        let up = frac != 0.0
            && match self.mode {
                Rounding::Rne => half == Greater || (half == Equal && t & 1 == 1),
                Rounding::Rna => half != Less,
                Rounding::Rtz => false,
                Rounding::Ru => sign > 0,
                Rounding::Rd => sign < 0,
                Rounding::Rto | Rounding::Sr => t & 1 == 0,
            };
        let r = if up { t + sign } else { t };
        if r == 0 {
            return 0.0f64.copysign(x);
        }
        let v = r as f64 * pow2(q);
        if v.abs() > self.max {
            let neg = v < 0.0;
            let m = if self.mode.toward_zero(neg) {
                self.max
            } else {
                f64::INFINITY
            };
            return if neg { -m } else { m };
        }
        v
    }

    /// Four independent registers in lockstep (equal lengths): the same
    /// bits as four [`FloatReg::sequential`] calls, with the four dependency
    /// chains overlapping in the CPU.
    #[inline]
    fn sequential4(&self, ps: [&[f64]; 4]) -> [f64; 4] {
        let mut acc = [0.0f64; 4];
        for (k, &p0) in ps[0].iter().enumerate() {
            let p = [p0, ps[1][k], ps[2][k], ps[3][k]];
            for l in 0..4 {
                acc[l] = self.round(add_round_odd(acc[l], p[l]));
            }
        }
        acc
    }

    #[inline]
    fn sequential(&self, ps: &[f64]) -> f64 {
        let mut acc = 0.0f64;
        for &p in ps {
            acc = self.round(add_round_odd(acc, p));
        }
        acc
    }
}

/// Fast twins of [`super::Accumulator`] for the common specs: exact
/// products in sequential or chunked order into an IEEE-style float register
/// (rounding `rne`, `rna`, `rtz`, `ru` or `rto`, default overflow), an
/// integer register, or an exact register. Each add is [`add_round_odd`]
/// followed by one rounding into the register, which equals the model's
/// single rounding of the exact sum.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FastSum {
    reg: Reg,
    chunk: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Reg {
    Float(FloatReg),
    Int {
        bits: u32,
        saturate: bool,
    },
    Exact {
        format: MiniFloat,
        opts: ConvertOptions,
    },
}

impl FastSum {
    /// The fast path of `spec`, if it has one (`None`: use the model).
    pub fn new(spec: &AccumSpec) -> Option<Self> {
        if spec.product != Product::Exact {
            return None;
        }
        let chunk = match spec.order {
            Order::Sequential => None,
            Order::Chunk { size } => Some(size.max(1)),
            Order::Tree { .. } => return None,
        };
        let reg = match spec.acc {
            Acc::Float {
                format,
                rounding,
                saturate,
            } => Reg::Float(FloatReg::new(format, rounding, saturate)?),
            Acc::Int { bits, overflow } => Reg::Int {
                bits,
                saturate: overflow == IntOverflow::Saturate,
            },
            Acc::Exact { format, rounding } if rounding != Rounding::Sr => Reg::Exact {
                format,
                opts: ConvertOptions::with_rounding(rounding),
            },
            Acc::Exact { .. } => return None,
        };
        Some(FastSum { reg, chunk })
    }

    /// The register value after summing `ps` in one register (no chunking).
    fn register(&self, ps: &[f64]) -> f64 {
        match self.reg {
            Reg::Float(r) => r.sequential(ps),
            Reg::Int { bits, saturate } => {
                // Integer products, exact in f64 below 2^53; others go to the model.
                if ps.iter().all(|p| p.fract() == 0.0 && p.abs() < 9.0e15) {
                    int_sum(ps.iter().map(|&p| p as i64), bits, saturate) as f64
                } else {
                    self.model(ps)
                }
            }
            Reg::Exact { format, opts } => {
                // A plain f64 sum is the exact sum when no step rounds (TwoSum
                // error zero); otherwise the Kulisch register. Starting from −0
                // (the identity of IEEE addition) gives the register's zero signs.
                let mut s = if ps.is_empty() { 0.0 } else { -0.0f64 };
                for &p in ps {
                    let t = s + p;
                    let bb = t - s;
                    let err = (s - (t - bb)) + (p - bb);
                    if err != 0.0 {
                        return self.model(ps);
                    }
                    s = t;
                }
                format.decode(
                    format
                        .encode(s, &opts, 0)
                        .unwrap_or_else(|_| format.nan_code(false).unwrap_or(0)),
                )
            }
        }
    }

    /// The general model on one register's worth of products (rare fallbacks).
    fn model(&self, ps: &[f64]) -> f64 {
        let acc = match self.reg {
            Reg::Float(r) => Acc::Float {
                format: r.format,
                rounding: r.mode,
                saturate: false,
            },
            Reg::Int { bits, saturate } => Acc::Int {
                bits,
                overflow: if saturate {
                    IntOverflow::Saturate
                } else {
                    IntOverflow::Wrap
                },
            },
            Reg::Exact { format, opts } => Acc::Exact {
                format,
                rounding: opts.rounding,
            },
        };
        let spec = AccumSpec {
            acc,
            ..Default::default()
        };
        Accumulate::sum(&super::Accumulator::new(spec), ps)
    }

    /// `ps` summed as the spec says (same bits as [`super::Accumulator`]).
    pub fn sum(&self, ps: &[f64]) -> f64 {
        match self.chunk {
            None => self.register(ps),
            Some(c) => {
                // Promotion: f32(chunk) (RNE), then an f32 add (RNE) from +0.
                let mut acc = 0f32;
                for chunk in ps.chunks(c) {
                    acc += self.register(chunk) as f32;
                }
                acc as f64
            }
        }
    }

    /// Four sums at once: `[self.sum(ps[0]), …, self.sum(ps[3])]`, faster
    /// for float registers when the four slices have equal lengths.
    pub fn sum4(&self, ps: [&[f64]; 4]) -> [f64; 4] {
        let n = ps[0].len();
        let Reg::Float(r) = self.reg else {
            return ps.map(|p| self.sum(p));
        };
        if ps.iter().any(|p| p.len() != n) {
            return ps.map(|p| self.sum(p));
        }
        match self.chunk {
            None => r.sequential4(ps),
            Some(c) => {
                let mut acc = [0f32; 4];
                let mut s = 0;
                while s < n {
                    let e = (s + c).min(n);
                    let v = r.sequential4(ps.map(|p| &p[s..e]));
                    for l in 0..4 {
                        acc[l] += v[l] as f32;
                    }
                    s = e;
                }
                acc.map(|a| a as f64)
            }
        }
    }

    /// `Σ a[k]·b[k]` of int8 operands in an integer register (`None` for
    /// other registers or chunked orders): the integer fast path.
    pub fn dot_i8(&self, a: &[i8], b: &[i8]) -> Option<f64> {
        match (self.reg, self.chunk) {
            (Reg::Int { bits, saturate }, None) => Some(int_sum(
                a.iter().zip(b).map(|(&x, &y)| x as i64 * y as i64),
                bits,
                saturate,
            ) as f64),
            _ => None,
        }
    }
}

/// Sequential integer register: saturate at every step, or wrap (the sum
/// modulo 2^bits, which wrapping i64 adds give for any width ≤ 64).
#[inline]
fn int_sum(ps: impl Iterator<Item = i64>, bits: u32, saturate: bool) -> i64 {
    let (lo, hi) = if bits >= 64 {
        (i64::MIN, i64::MAX)
    } else {
        (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
    };
    if saturate {
        let mut acc = 0i64;
        for p in ps {
            acc = acc.saturating_add(p).clamp(lo, hi);
        }
        acc
    } else {
        let s = ps.fold(0i64, |s, p| s.wrapping_add(p));
        if bits >= 64 {
            s
        } else {
            // Sign-extend the low `bits` bits.
            (s << (64 - bits)) >> (64 - bits)
        }
    }
}
