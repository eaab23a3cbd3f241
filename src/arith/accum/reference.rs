//! The general accumulator model: any [`AccumSpec`], written for clarity
//! (the reference, the slow twin of every fast path in [`super::fast`]).
//!
//! Semantics, step by step:
//! - **products**: each product is taken exactly (f64) or rounded once into
//!   the product format (`product=FMT`);
//! - **float register**, sequential: `acc = +0`, then for each product
//!   `acc = round(acc + p)` via [`crate::arith::float::add_values`] (one
//!   rounding of the exact sum), the step index keying stochastic rounding;
//! - **integer register**: products are taken as integers (rounded to the
//!   nearest, ties to even, if they are not: integer operands never produce
//!   such products; NaN counts as 0, ±inf as the register's extreme); every
//!   add saturates or wraps at the register width;
//! - **exact register**: every product goes into a Kulisch accumulator
//!   ([`ExactSum`]); the sum is rounded once at the end (order is irrelevant);
//! - **tree**: each node rounds the exact sum of its children once into the
//!   register (two children: `add_values`; more: [`ExactSum`]); a node with a
//!   single child rounds it into the register;
//! - **chunk**: each chunk of C products is summed in the register in the
//!   chosen way (sequentially), converted to f32 (RNE) and added into an
//!   f32 register (RNE, from +0).
//!
//! The result is the final register value as an exact f64.

use super::exact::ExactSum;
use super::spec::{Acc, AccumSpec, IntOverflow, Order, Product};
use super::Accumulate;
use crate::arith::float::add_values;
use crate::arith::op::OpKind;
use crate::formats::parse::F32;
use crate::formats::{ConvertOptions, MiniFloat};

/// An accumulator built from an [`AccumSpec`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Accumulator {
    /// The description it follows.
    pub spec: AccumSpec,
    /// Width of the Kulisch register counted by [`Accumulate::add_op`] for
    /// `acc=exact` (see [`kulisch_bits`]).
    pub exact_bits: u32,
}

/// Width of a Kulisch register for products of two formats, summing up to
/// 2^`carry_bits` products: from the lowest bit of the smallest product to
/// the top bit of the largest, plus carry bits and a sign bit.
pub fn kulisch_bits(a: &MiniFloat, b: &MiniFloat, carry_bits: u32) -> u32 {
    let lsb = |f: &MiniFloat| -> i64 {
        let m = f.min_subnormal().unwrap_or(f.min_normal());
        floor_log2(m)
    };
    let msb = |f: &MiniFloat| -> i64 { floor_log2(f.max_value()) };
    // max_a·max_b < 2^(msb_a + msb_b + 2).
    let top = msb(a) + msb(b) + 2;
    let bottom = lsb(a) + lsb(b);
    (top - bottom) as u32 + carry_bits + 1
}

impl Accumulator {
    /// An accumulator; an exact register is costed as a Kulisch adder for
    /// products of two f32 values with 16 carry bits.
    pub fn new(spec: AccumSpec) -> Self {
        Accumulator {
            spec,
            exact_bits: kulisch_bits(&F32, &F32, 16),
        }
    }

    /// An accumulator whose exact register is sized for products of `a` × `b`
    /// (16 carry bits).
    pub fn for_operands(spec: AccumSpec, a: &MiniFloat, b: &MiniFloat) -> Self {
        Accumulator {
            spec,
            exact_bits: kulisch_bits(a, b, 16),
        }
    }

    /// A product as it enters the register.
    pub fn product(&self, p: f64, index: u64) -> f64 {
        match self.spec.product {
            Product::Exact => p,
            Product::Round { format, rounding } => {
                let o = ConvertOptions {
                    rounding,
                    seed: self.spec.seed,
                    ..Default::default()
                };
                format.decode(encode_or_nan(&format, p, &o, index))
            }
        }
    }

    /// Sums `products` (already rounded by [`Accumulator::product`]) in the
    /// register, in the spec's order, ignoring chunking: the value of one chunk.
    fn register_sum(&self, ps: &[f64], base: u64) -> f64 {
        match self.spec.order {
            Order::Tree { fan_in } => self.tree(ps, fan_in, base),
            _ => self.sequential(ps, base),
        }
    }

    fn sequential(&self, ps: &[f64], base: u64) -> f64 {
        match self.spec.acc {
            Acc::Float { format, .. } => {
                let o = self.opts();
                let mut acc = 0.0f64;
                for (i, &p) in ps.iter().enumerate() {
                    acc = format.decode(add_values(&format, acc, p, &o, base + i as u64));
                }
                acc
            }
            Acc::Int { bits, overflow } => {
                let mut acc: i128 = 0;
                for &p in ps {
                    acc = int_step(acc + int_of(p), bits, overflow);
                }
                acc as f64
            }
            Acc::Exact { format, .. } => {
                let mut s = ExactSum::new();
                s.extend(ps.iter().copied());
                format.decode(s.round_to(&format, &self.opts(), base))
            }
        }
    }

    /// The register value of the exact sum of `xs` (one node of a tree).
    fn node(&self, xs: &[f64], index: u64) -> f64 {
        match self.spec.acc {
            Acc::Float { format, .. } => {
                let o = self.opts();
                match xs {
                    [a, b] => format.decode(add_values(&format, *a, *b, &o, index)),
                    _ => {
                        let mut s = ExactSum::new();
                        s.extend(xs.iter().copied());
                        format.decode(s.round_to(&format, &o, index))
                    }
                }
            }
            Acc::Int { bits, overflow } => {
                let s: i128 = xs.iter().map(|&x| int_of(x)).sum();
                int_step(s, bits, overflow) as f64
            }
            // Exact: a tree of exact adders is the exact sum.
            Acc::Exact { .. } => unreachable!("exact registers sum sequentially"),
        }
    }

    fn tree(&self, ps: &[f64], fan_in: usize, base: u64) -> f64 {
        if matches!(self.spec.acc, Acc::Exact { .. }) {
            return self.sequential(ps, base);
        }
        if ps.is_empty() {
            return 0.0;
        }
        let mut level: Vec<f64> = ps.to_vec();
        let mut index = base;
        loop {
            let next: Vec<f64> = level
                .chunks(fan_in)
                .map(|c| {
                    index += 1;
                    self.node(c, index - 1)
                })
                .collect();
            level = next;
            if level.len() == 1 {
                return level[0];
            }
        }
    }

    fn opts(&self) -> ConvertOptions {
        self.spec
            .acc
            .convert_options(self.spec.seed)
            .unwrap_or_default()
    }
}

/// floor(log2 x) of a positive normal f64, from its exponent bits.
fn floor_log2(x: f64) -> i64 {
    ((x.to_bits() >> 52) & 0x7ff) as i64 - 1023
}

/// A product as an integer register operand: nearest integer (ties to
/// even), NaN → 0, beyond ±2^100 (infinities included) → ±2^100, so that
/// sums of up to 2^20 operands stay inside i128 before the register clamps.
fn int_of(p: f64) -> i128 {
    if p.is_nan() {
        return 0;
    }
    let lim = 2f64.powi(100);
    p.round_ties_even().clamp(-lim, lim) as i128
}

/// The register after adding: saturate or wrap to a signed `bits`-bit value.
fn int_step(v: i128, bits: u32, o: IntOverflow) -> i128 {
    let (lo, hi) = (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1);
    match o {
        IntOverflow::Saturate => v.clamp(lo, hi),
        IntOverflow::Wrap => {
            let m = 1i128 << bits;
            let r = v.rem_euclid(m);
            if r > hi {
                r - m
            } else {
                r
            }
        }
    }
}

fn encode_or_nan(f: &MiniFloat, x: f64, o: &ConvertOptions, index: u64) -> u32 {
    f.encode(x, o, index)
        .unwrap_or_else(|_| f.nan_code(false).unwrap_or(f.zero_code(false)))
}

impl Accumulate for Accumulator {
    fn sum(&self, products: &[f64]) -> f64 {
        let ps: Vec<f64> = products
            .iter()
            .enumerate()
            .map(|(i, &p)| self.product(p, i as u64))
            .collect();
        match self.spec.order {
            Order::Chunk { size } => {
                let o = ConvertOptions::default();
                let mut acc = 0.0f64;
                for (c, chunk) in ps.chunks(size).enumerate() {
                    let v = self.register_sum(chunk, (c * size) as u64);
                    let v = F32.decode(encode_or_nan(&F32, v, &o, 0));
                    acc = F32.decode(add_values(&F32, acc, v, &o, c as u64));
                }
                acc
            }
            _ => self.register_sum(&ps, 0),
        }
    }

    fn describe(&self) -> String {
        self.spec.describe()
    }

    fn add_op(&self) -> OpKind {
        match self.spec.acc {
            Acc::Float { format, .. } => OpKind::FpAdd {
                ebits: format.ebits,
                mbits: format.mbits,
            },
            Acc::Int { bits, .. } => OpKind::IntAdd { bits },
            Acc::Exact { .. } => OpKind::IntAdd {
                bits: self.exact_bits,
            },
        }
    }
}
