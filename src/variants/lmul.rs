//! Matmul variants whose products are L-Mul units ([`crate::arith::lmul`]): `matmul/lmul-*`.

use super::MatmulVariant;

/// The variants of this family, in display order.
pub fn all() -> Vec<Box<dyn MatmulVariant>> {
    Vec::new()
}
