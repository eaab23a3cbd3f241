//! SoftFloat's C ABI (for round-to-odd, which softfloat-wrapper's
//! `RoundingMode` lacks) and the rounding modes both SoftFloat oracle test
//! files sweep, each paired with bitsim's name for it.
#![allow(dead_code)]

use bitsim::formats::Rounding;
use softfloat_wrapper::RoundingMode;

/// The C functions and types (softfloat.h).
pub mod c {
    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct F16T {
        pub v: u16,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct F32T {
        pub v: u32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct F64T {
        pub v: u64,
    }
    /// softfloat.h: `softfloat_round_odd`.
    pub const ROUND_ODD: u8 = 6;
    extern "C" {
        pub fn softfloat_roundingMode_write_helper(v: u8);
        pub fn f64_to_f16(a: F64T) -> F16T;
        pub fn f64_to_f32(a: F64T) -> F32T;
        pub fn f32_to_f16(a: F32T) -> F16T;
        pub fn f16_add(a: F16T, b: F16T) -> F16T;
        pub fn f16_sub(a: F16T, b: F16T) -> F16T;
        pub fn f16_mul(a: F16T, b: F16T) -> F16T;
        pub fn f16_mulAdd(a: F16T, b: F16T, c: F16T) -> F16T;
        pub fn f32_add(a: F32T, b: F32T) -> F32T;
        pub fn f32_sub(a: F32T, b: F32T) -> F32T;
        pub fn f32_mul(a: F32T, b: F32T) -> F32T;
        pub fn f32_mulAdd(a: F32T, b: F32T, c: F32T) -> F32T;
    }
}

/// A SoftFloat rounding mode: one of the wrapper's, or round-to-odd via C.
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    /// A mode the wrapper has.
    Std(RoundingMode),
    /// Round to odd.
    Odd,
}

/// bitsim's rounding modes (stochastic aside) and SoftFloat's equivalents.
pub const MODES: [(Rounding, Mode); 6] = [
    (Rounding::Rne, Mode::Std(RoundingMode::TiesToEven)),
    (Rounding::Rtz, Mode::Std(RoundingMode::TowardZero)),
    (Rounding::Ru, Mode::Std(RoundingMode::TowardPositive)),
    (Rounding::Rd, Mode::Std(RoundingMode::TowardNegative)),
    (Rounding::Rna, Mode::Std(RoundingMode::TiesToAway)),
    (Rounding::Rto, Mode::Odd),
];
