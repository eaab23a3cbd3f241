//! The decode pipeline: codes to f32 bits arithmetically (or through a
//! 256-entry table for the 8-bit formats whose values are not all f32).

use super::per_isa::per_isa;
#[cfg(target_arch = "x86_64")]
use super::per_isa::streamed;
use super::Code;
use crate::formats::{Exp0, MiniFloat, NonFinite};
use crate::isa::{self, IsaLevel};

/// A format whose every value is an f32 (so decoding never rounds), as the
/// constants of the arithmetic decoder.
#[derive(Debug, Clone, Copy)]
pub(super) struct DecParams {
    code_mask: u32,
    mag_mask: u32,
    mag_bits: u32,
    m: u32,
    mant_mask: u32,
    /// Field 0 is subnormal or a flush gap (not a normal binade).
    low_field0: bool,
    flush: bool,
    /// `bias + m`: a code with field `f` and integer significand `sig` is
    /// `sig × 2^(f − bias − m)`.
    bias_m: i32,
    /// IEEE-style: the all-ones field holds ±inf and NaNs.
    ieee: bool,
    all_e: u32,
    /// fn: the all-ones magnitude is NaN.
    fn_nan: bool,
    /// fnuz: the negative-zero code is the (positive, quiet) NaN.
    fnuz: bool,
    /// `decode_lane_simple` applies, multiplying by `scale` = 2^(127 − bias).
    simple: bool,
    scale: f32,
}

impl DecParams {
    /// `None` when some value is not an f32 (it would round), or below 2^−149.
    pub(super) fn new(fmt: &MiniFloat) -> Option<Self> {
        let m = fmt.mbits;
        let low_field0 = fmt.exp0 != Exp0::Normal;
        // Lowest place value of any code, and exponent of the largest one.
        let lowest = if low_field0 { 1 - fmt.bias } else { -fmt.bias } - m as i32;
        let top_field = (fmt.max_mag_code() >> m) as i32;
        let highest = top_field - fmt.bias;
        if lowest < -149 || highest > 127 {
            return None;
        }
        let mag_bits = fmt.ebits + m;
        Some(DecParams {
            code_mask: ((1u64 << fmt.bits()) - 1) as u32,
            mag_mask: (1 << mag_bits) - 1,
            mag_bits,
            m,
            mant_mask: (1 << m) - 1,
            low_field0,
            flush: fmt.exp0 == Exp0::Flush,
            bias_m: fmt.bias + m as i32,
            ieee: fmt.nonfinite == NonFinite::Ieee,
            all_e: (1 << fmt.ebits) - 1,
            fn_nan: fmt.nonfinite == NonFinite::Fn,
            fnuz: fmt.nonfinite == NonFinite::Fnuz,
            // 2^(127 − bias) must be a normal f32, and no finite code may have
            // an all-ones 8-bit field (it would read as an f32 inf/NaN).
            simple: fmt.exp0 == Exp0::Subnormal
                && (0..=253).contains(&fmt.bias)
                && (fmt.ebits < 8 || fmt.nonfinite == NonFinite::Ieee),
            scale: f32::from_bits(((254 - fmt.bias).clamp(1, 254) as u32) << 23),
        })
    }
}

/// One code to f32 bits for formats with gradual underflow (`DecParams::simple`):
/// the magnitude bits placed as an f32's exponent and fraction are the value
/// times 2^(bias − 127), so one multiply by 2^(127 − bias) fixes the exponent.
/// It is exact: subnormal codes become f32 subnormals, which scale exactly
/// (Rust runs with the default floating-point environment, no flush-to-zero).
#[inline(always)]
fn decode_lane_simple(p: &DecParams, c: u32) -> u32 {
    const QNAN: u32 = 0x7fc0_0000;
    let c = c & p.code_mask;
    let mag = c & p.mag_mask;
    let sign = (c >> p.mag_bits) << 31;
    let v = (f32::from_bits(mag << (23 - p.m)) * p.scale).to_bits();
    let v = if p.ieee && mag >> p.m == p.all_e {
        0x7f80_0000 | ((mag & p.mant_mask) << (23 - p.m))
    } else if p.fn_nan && mag == p.mag_mask {
        QNAN
    } else {
        v
    };
    if p.fnuz && c == 1 << p.mag_bits {
        QNAN
    } else {
        v | sign
    }
}

/// One code to f32 bits, from the code's fields (branch-free).
#[inline(always)]
fn decode_lane(p: &DecParams, c: u32) -> u32 {
    const QNAN: u32 = 0x7fc0_0000;
    let c = c & p.code_mask;
    let mag = c & p.mag_mask;
    let neg = c >> p.mag_bits != 0;
    let ef = mag >> p.m;
    let mant = mag & p.mant_mask;
    let low = ef == 0 && p.low_field0;
    let sig = if low {
        if p.flush {
            0
        } else {
            mant
        }
    } else {
        mant | (1 << p.m)
    };
    let e = (if low { 1 } else { ef as i32 }) - p.bias_m;
    // sig × 2^e: convert sig exactly, then move its exponent; where that
    // falls below f32's normal range, shift the significand instead.
    let fb = (sig as f32).to_bits();
    let be = (fb >> 23) as i32 + e;
    let normal = fb.wrapping_add((e as u32) << 23);
    let subnormal = ((fb & 0x007f_ffff) | 0x0080_0000) >> (1 - be).clamp(0, 31);
    let bits = if sig == 0 {
        0
    } else if be >= 1 {
        normal
    } else {
        subnormal
    };
    let v = if p.ieee && ef == p.all_e {
        0x7f80_0000 | (mant << (23 - p.m))
    } else if p.fn_nan && mag == p.mag_mask {
        QNAN
    } else {
        bits
    };
    if p.fnuz && neg && mag == 0 {
        QNAN
    } else {
        v | ((neg as u32) << 31)
    }
}

pub(super) enum Decoder {
    Arith(DecParams),
    /// f32 bits of each of the 256 codes.
    Table(Box<[u32; 256]>),
}

#[inline(always)]
fn decode_block<C: Code>(dec: &Decoder, src: &[C], dst: &mut [f32]) {
    let n = src.len().min(dst.len());
    let (src, dst) = (&src[..n], &mut dst[..n]);
    match dec {
        Decoder::Arith(p) if p.simple => {
            let p = *p; // hoisted out of the loop (see encode_block)
            for i in 0..n {
                dst[i] = f32::from_bits(decode_lane_simple(&p, src[i].to_u32()));
            }
        }
        Decoder::Arith(p) => {
            let p = *p;
            for i in 0..n {
                dst[i] = f32::from_bits(decode_lane(&p, src[i].to_u32()));
            }
        }
        Decoder::Table(t) => {
            for i in 0..n {
                dst[i] = f32::from_bits(t[(src[i].to_u32() & 0xff) as usize]);
            }
        }
    }
}

per_isa! {
    fn [decode_block_avx2, decode_block_avx512] [C: Code] (
        dec: &Decoder,
        src: &[C],
        dst: &mut [f32],
        stream: bool,
    ) {
        if stream {
            let kernel = |_: usize, s: &[C], d: &mut [f32]| {
                decode_block(dec, s, d);
                false
            };
            // SAFETY: each compilation only runs on CPUs with its ISA.
            streamed(src, dst, kernel, |d, s, n| unsafe {
                nt_copy(d, s, n)
            });
        } else {
            decode_block(dec, src, dst)
        }
    }
}

/// Decodes `src` into `dst` at one level.
pub(super) fn decode_at<C: Code>(
    level: IsaLevel,
    dec: &Decoder,
    src: &[C],
    dst: &mut [f32],
    stream: bool,
) {
    isa::dispatch!(level,
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX-512 F/BW/VL.
        avx512 => unsafe { decode_block_avx512(dec, src, dst, stream) },
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2.
        avx2 => unsafe { decode_block_avx2(dec, src, dst, stream) },
        scalar => decode_block(dec, src, dst),
    )
}
