//! Accumulators and dot-product models: product format, accumulator format
//! (minifloat, saturating or wrapping integer, exact), and summation order.

use crate::hw::cost::OpKind;

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
