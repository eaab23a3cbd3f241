//! The kinds of arithmetic operation a cost counts, sized by operand widths.
//! The cost layer ([`crate::hw::cost`]) counts them; energy tables price them.

use crate::formats::ElementFormat;
use serde::{Deserialize, Serialize};

/// A kind of arithmetic operation, sized by its operand widths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OpKind {
    /// Integer multiply of an `a`-bit by a `b`-bit operand.
    IntMul {
        /// Width of the first operand.
        a: u32,
        /// Width of the second operand.
        b: u32,
    },
    /// Integer add of `bits`-wide operands.
    IntAdd {
        /// Adder width.
        bits: u32,
    },
    /// Floating-point multiply in a format with `ebits` exponent and `mbits` mantissa bits.
    FpMul {
        /// Exponent bits.
        ebits: u32,
        /// Mantissa bits.
        mbits: u32,
    },
    /// Floating-point add in a format with `ebits` exponent and `mbits` mantissa bits.
    FpAdd {
        /// Exponent bits.
        ebits: u32,
        /// Mantissa bits.
        mbits: u32,
    },
}

impl OpKind {
    /// f32 multiply.
    pub const F32_MUL: OpKind = OpKind::FpMul {
        ebits: 8,
        mbits: 23,
    };
    /// f32 add.
    pub const F32_ADD: OpKind = OpKind::FpAdd {
        ebits: 8,
        mbits: 23,
    };
    /// f64 multiply.
    pub const F64_MUL: OpKind = OpKind::FpMul {
        ebits: 11,
        mbits: 52,
    };
    /// f64 add.
    pub const F64_ADD: OpKind = OpKind::FpAdd {
        ebits: 11,
        mbits: 52,
    };
}

impl std::fmt::Display for OpKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            OpKind::IntMul { a, b } => write!(f, "int mul {a}x{b}"),
            OpKind::IntAdd { bits } => write!(f, "int add {bits}"),
            OpKind::FpMul { ebits, mbits } => write!(f, "fp mul e{ebits}m{mbits}"),
            OpKind::FpAdd { ebits, mbits } => write!(f, "fp add e{ebits}m{mbits}"),
        }
    }
}

impl OpKind {
    /// The multiply of two elements of `format`: a float multiply in its
    /// exponent and mantissa widths, or an integer multiply of its width.
    pub fn mul_of(format: &ElementFormat) -> OpKind {
        match format {
            ElementFormat::Float(f) => OpKind::FpMul {
                ebits: f.ebits,
                mbits: f.mbits,
            },
            ElementFormat::Int(i) => OpKind::IntMul {
                a: i.bits(),
                b: i.bits(),
            },
        }
    }
}
