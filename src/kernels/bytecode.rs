//! One-byte weight codes for the float kernels: the scaled low-bit float
//! variants' weight elements (FP8, FP6, FP4, MXINT8's int8·2^−6) all fit
//! one of three byte codes exactly, so their panels stream 1 byte per
//! weight instead of bf16's 2, and the SIMD tiles widen a byte to f32 in
//! three or four operations:
//!
//! - [`ByteCode::E5m2`] (FP8 E5M2, and FP6 E3M2 and FP4 E2M1, whose values
//!   are E5M2 values) is fp16's top byte: the bytes are put above zero
//!   bytes by one shuffle and widened by `vcvtph2ps`, exact, subnormal codes
//!   included (on the Intel cores measured, the conversion takes fp16 subnormals at
//!   full speed, where a multiply with a subnormal f32 input takes an assist).
//! - [`ByteCode::E4m3`] (FP8 E4M3 and FP6 E2M3; bias 7, no inf): the byte
//!   sign-extended to 32 bits and shifted left by 20 so that its exponent
//!   and mantissa fields land at the top of f32's; a mask keeps those
//!   fields and one copy of the sign in bit 31. Read as an f32 that is the
//!   value times 2^(7 − 127), a subnormal f32 when the code is subnormal
//!   (E4M3's subnormals are at the same relative place), so one multiply by
//!   2^120 — a power of two, the product normal — gives the value exactly,
//!   −0 included. Rust leaves the CPU's denormals-are-zero mode off, which
//!   this needs. (A multiply with a subnormal input takes a microcode assist
//!   on Intel cores; E4M3 through fp16 avoids it but takes two operations
//!   more, and measured no faster, since absmax-scaled weights have few
//!   subnormal codes.)
//! - [`ByteCode::I8`]: a two's-complement int8 times 2^e, widened by
//!   `vcvtdq2ps` (exact) and a multiply by 2^e (exact in the normal range,
//!   which the values' check below guarantees). MXINT8's elements.
//!
//! [`ByteCode::encode`] takes only values whose decode gives back the same
//! f32 bits (±0 included) and that are finite, so a packed matrix decodes to
//! exactly the values it was given. E5M2's inf / NaN codes are never stored
//! (non-finite values fail the check); E4M3's 0x7F, NaN in
//! the OCP format, is 480 here, in the widening and in [`ByteCode::decode`]
//! alike, and no variant's weight is 480.
//!
//! FP4 E2M1 weights go further, two to a byte ([`E2M1_VALUES`],
//! [`e2m1_code`]): half the bytes of a one-byte code, widened by a table
//! lookup instead of shifts.

use crate::binade::lowest_bit_log2;

/// A one-byte weight code (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteCode {
    /// fp16's top byte.
    E5m2,
    /// FP8 E4M3 (bias 7).
    E4m3,
    /// int8 · 2^e.
    I8(i8),
}

impl ByteCode {
    /// The value of code `c` (the plain definition each SIMD widening must
    /// match).
    pub fn decode(self, c: u8) -> f32 {
        let sign = if c & 0x80 != 0 { -1.0 } else { 1.0 };
        match self {
            ByteCode::E5m2 | ByteCode::E4m3 => {
                let (ebits, bias) = if self == ByteCode::E5m2 {
                    (5, 15)
                } else {
                    (4, 7)
                };
                let mbits = 7 - ebits;
                let e = ((c & 0x7f) >> mbits) as i32;
                let m = (c & ((1 << mbits) - 1)) as f32;
                if self == ByteCode::E5m2 && e == 31 {
                    return if m == 0.0 {
                        sign * f32::INFINITY
                    } else {
                        f32::NAN
                    };
                }
                let mag = if e == 0 {
                    m * 2f32.powi(1 - bias - mbits)
                } else {
                    (m + (1 << mbits) as f32) * 2f32.powi(e - bias - mbits)
                };
                sign * mag
            }
            ByteCode::I8(e) => (c as i8) as f32 * 2f32.powi(e as i32),
        }
    }

    /// Every code's value, `[code]` (the [`Self::decode`] of each byte).
    pub fn table(self) -> [f32; 256] {
        std::array::from_fn(|c| self.decode(c as u8))
    }

    /// The code of `x`, when `x` is finite and decodes back to the same bits.
    pub fn encode(self, x: f32) -> Option<u8> {
        self.encode_with(&self.table(), x)
    }

    /// [`Self::encode`] against this code's [`Self::table`] (for many values).
    pub fn encode_with(self, table: &[f32; 256], x: f32) -> Option<u8> {
        if !x.is_finite() {
            return None;
        }
        let c = match self {
            ByteCode::E5m2 => {
                // E5M2 is fp16's top byte.
                let h = half::f16::from_f32(x).to_bits();
                (h >> 8) as u8
            }
            ByteCode::E4m3 => {
                // x · 2^-8 in fp16 carries E4M3's fields one bit lower
                // than the byte; a value outside E4M3's range fails the
                // check below.
                let h = half::f16::from_f32(x / 256.0).to_bits();
                ((h >> 8) & 0x80) as u8 | ((h >> 7) & 0x7f) as u8
            }
            ByteCode::I8(e) => {
                // A power of two as bits (e is far inside f32's normal
                // exponents for every code `fit` tries).
                let v = x * f32::from_bits(((127 - e as i32).clamp(1, 254) as u32) << 23);
                if !(-128.0..=127.0).contains(&v) {
                    return None;
                }
                v as i8 as u8
            }
        };
        (table[c as usize].to_bits() == x.to_bits()).then_some(c)
    }

    /// The first code that holds every value exactly (E5M2, then E4M3, then
    /// int8 · 2^e with the largest e that could); `None` when none does (a
    /// non-finite value, or more than 8 significant bits).
    pub fn fit(values: &[f32]) -> Option<ByteCode> {
        let holds_all = |code: ByteCode| {
            let table = code.table();
            values
                .iter()
                .all(|&x| code.encode_with(&table, x).is_some())
        };
        for code in [ByteCode::E5m2, ByteCode::E4m3] {
            if holds_all(code) {
                return Some(code);
            }
        }
        // int8 · 2^e: every value must be an integer multiple of 2^e, so
        // e is at most the lowest set bit's exponent over the values, and a
        // smaller e only needs larger integers: that exponent is the one
        // candidate (the encode check decides; non-finite values fail it).
        let e = values
            .iter()
            .filter(|x| **x != 0.0 && x.is_finite())
            .map(|&x| lowest_bit_log2(x))
            .min()
            .unwrap_or(0);
        let code = ByteCode::I8(i8::try_from(e).ok()?);
        holds_all(code).then_some(code)
    }

    /// The multiplier the SIMD widening applies after its conversion (1 for
    /// E5M2, whose fp16 conversion is the value).
    pub fn widen_scale(self) -> f32 {
        match self {
            ByteCode::E5m2 => 1.0,
            ByteCode::E4m3 => 2f32.powi(120),
            ByteCode::I8(e) => 2f32.powi(e as i32),
        }
    }
}

/// FP4 E2M1 values by their 4-bit code (sign in bit 3, then two exponent
/// bits and one mantissa bit; bias 1, no inf or NaN): the table a
/// nibble-stored weight ([`super::pack::FloatStorage::Nibble`]) is widened
/// through, one `vpermps` lookup per 16 weights at AVX-512.
pub const E2M1_VALUES: [f32; 16] = [
    0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0,
];

/// The E2M1 code of `x` when `x` is an E2M1 value, bit for bit (−0 is 8).
pub fn e2m1_code(x: f32) -> Option<u8> {
    // By the f32 bits (no search and few branches: packing tests every
    // weight): a nonzero magnitude is 0.5 … 6 when its exponent and first
    // mantissa bit, bits 22–30, are 0xfc … 0x103 (0.5, 0.75, 1, 1.5, 2, 3,
    // 4, 6; 0.75 is not E2M1) and every lower bit is 0.
    const BY_TOP: [u8; 8] = [1, NONE, 2, 3, 4, 5, 6, 7];
    const NONE: u8 = 0xff;
    let b = x.to_bits();
    let (mag, sign) = (b & 0x7fff_ffff, (b >> 28) as u8 & 8);
    if mag == 0 {
        return Some(sign);
    }
    let c = *BY_TOP.get((mag >> 22).wrapping_sub(0xfc) as usize)?;
    (c != NONE && mag & 0x3f_ffff == 0).then_some(c | sign)
}
