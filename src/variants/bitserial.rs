//! Bit-serial matmul variants (BitMoD W4/W3, INT4/INT8 bit-serial baselines) built on [`crate::arith::bitserial`].

use super::MatmulVariant;

/// The variants of this family, in display order.
pub fn all() -> Vec<Box<dyn MatmulVariant>> {
    Vec::new()
}
