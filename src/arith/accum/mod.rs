//! Accumulators and dot-product models: product format, accumulator format
//! (minifloat, saturating or wrapping integer, exact), and summation order.
//!
//! - [`AccumSpec`] describes one accumulator and has a string grammar
//!   (`acc=e8m13:rtz,order=chunk:128,product=exact`, `acc=int16:sat`,
//!   `acc=exact`; see [`spec`]).
//! - [`Accumulator`] is the general, obviously-written model of any spec
//!   ([`reference`](mod@reference) gives the semantics step by step); it implements
//!   [`Accumulate`], like the plain [`F32Sequential`].
//! - [`ExactSum`] is the Kulisch (exact fixed-point) register.
//! - [`fast`] holds the fast paths ([`Fp8Dot`]: FP8 × FP8 → f32 dot products),
//!   each tested bit for bit against [`Accumulator`].

pub mod exact;
pub mod fast;
pub mod reference;
pub mod spec;

pub use exact::ExactSum;
pub use fast::Fp8Dot;
pub use reference::{kulisch_bits, Accumulator};
pub use spec::{Acc, AccumSpec, IntOverflow, Order, Product};

use crate::arith::op::OpKind;

/// How a piece of hardware sums the products of one dot product. Products
/// come in exactly, as f64 (every product of two formats of ≤ 24 significand
/// bits, and every L-Mul result, is exact in f64); the result is the
/// accumulator's final value, exactly, as f64.
pub trait Accumulate: Send + Sync {
    /// Sums `products` in the modelled order and precision.
    fn sum(&self, products: &[f64]) -> f64;
    /// Short name for reports (`f32 sequential`, `e8m13 chunk 128 → f32`).
    fn describe(&self) -> String;
    /// The add operation one accumulation step costs.
    fn add_op(&self) -> OpKind;
}

/// f32 accumulator, sequential from +0: each product is rounded to f32
/// (RNE), then added with an f32 add. Exact products of formats with ≤ 12
/// significand bits each are already f32 values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct F32Sequential;

impl Accumulate for F32Sequential {
    fn sum(&self, products: &[f64]) -> f64 {
        products.iter().fold(0.0f32, |acc, &p| acc + p as f32) as f64
    }
    fn describe(&self) -> String {
        "f32 sequential".into()
    }
    fn add_op(&self) -> OpKind {
        OpKind::F32_ADD
    }
}
