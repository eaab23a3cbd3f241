//! [`Datapath`]: the arithmetic of a quantized matmul's per-group partial
//! sums (shared by the variant and its native kernel).

/// The arithmetic that forms each group's partial sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datapath {
    /// Exact f64 products, sequential f64 sum (the reference).
    F64,
    /// f32 products, sequential f32 sum from +0.
    F32,
    /// f32 fused multiply-adds, sequential from +0: `dot = fma(a, w, dot)`.
    F32Fused,
    /// Integer products, int32 (wrapping) accumulator.
    Int32,
}
