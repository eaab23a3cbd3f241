//! Matmul variants: each is one way a piece of hardware computes
//! `out = A · Wᵀ` (A: activations `M × K`, W: weights `N × K` as a linear
//! layer stores them), with a bit-exact emulation and a cost in counts.

use crate::hw::cost::Cost;
use crate::tensor::Matrix;
pub use crate::tensor::Shape;

pub mod accum;
pub mod bitserial;
pub mod kernel;
pub mod lmul;
pub mod operand;
pub mod quant_matmul;
pub mod registry;

pub use operand::{OperandSpec, ScaleAxis};
pub use quant_matmul::{Datapath, QuantMatmul};

/// One way to compute a matmul.
pub trait MatmulVariant: Send + Sync {
    /// Registry name, e.g. `matmul/w8a8-int`.
    fn name(&self) -> &str;
    /// One-line description.
    fn description(&self) -> &str;
    /// Weight format with its scaling, e.g. `int4 g128 (f32 scale)`.
    fn weight_format(&self) -> String;
    /// Activation format with its scaling.
    fn act_format(&self) -> String;
    /// Accumulator, e.g. `int32`, `f32`.
    fn accumulator(&self) -> String;
    /// Element formats the variant uses (names in the format grammar, e.g. `["int4", "int8"]`),
    /// for the report's number lines; empty for f64/f32 references.
    fn element_formats(&self) -> Vec<String>;
    /// Storage bits per weight including scale overhead, for reduction length `k`.
    fn bits_per_weight(&self, k: usize) -> f64;
    /// The weights after quantization and dequantization (for weight-error metrics).
    fn quantize_weights(&self, w: &Matrix) -> Matrix;
    /// The product as the modelled hardware computes it, bit-exactly; `m × n`.
    /// `seed` feeds stochastic rounding where a variant uses it.
    fn emulate(&self, a: &Matrix, w: &Matrix, seed: u64) -> Vec<f64>;
    /// Operation and byte counts for a shape.
    fn cost(&self, shape: Shape) -> Cost;
}

/// Every registered variant, in display order: the [`QuantMatmul`] entries
/// of [`registry::all`], then the accumulator ([`accum`]), L-Mul ([`lmul`])
/// and bit-serial ([`bitserial`]) families.
pub fn registry() -> Vec<Box<dyn MatmulVariant>> {
    let mut v: Vec<Box<dyn MatmulVariant>> = registry::all()
        .into_iter()
        .map(|v| Box::new(v) as Box<dyn MatmulVariant>)
        .collect();
    v.extend(accum::all());
    v.extend(lmul::all());
    v.extend(bitserial::all());
    v
}

/// The registered variant called `name`.
pub fn find(name: &str) -> Option<Box<dyn MatmulVariant>> {
    registry().into_iter().find(|v| v.name() == name)
}
