//! Matmul variants whose accumulator is modelled by [`crate::arith::accum`] (narrow, truncated, chunked, integer-saturating or exact accumulation).

use super::MatmulVariant;

/// The variants of this family, in display order.
pub fn all() -> Vec<Box<dyn MatmulVariant>> {
    Vec::new()
}
