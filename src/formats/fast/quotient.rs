//! Element codes of `v / s` for scaled tensors ([`crate::formats::scaled`]),
//! where `s` is an arbitrary (not power-of-two) f32 scale.
//!
//! The reference rounds the exact quotient once: it computes it rounded to
//! odd in f64 ([`crate::formats::mx::div_round_odd`]) and encodes that. Here
//! each quotient is rounded to odd straight into **f32** (24 bits), by
//! branch-free arithmetic that LLVM vectorizes, and the f32 then goes through
//! the fast minifloat encoder ([`super::BlockEncoder`]) or a vectorized
//! integer rounder. Rounding to odd at 24 bits and then to a format of at most
//! 22 significant bits gives the same result as rounding the exact value once,
//! for every mode but stochastic rounding (the odd last bit keeps the
//! "inexact" information every mode needs, and every rounding boundary of
//! such a format, its values and midpoints, is an f32 with an even last bit,
//! so the f32 lies on the same side of each boundary as the exact quotient).
//! [`QuotientEncoder::new`] refuses the formats and options where that
//! argument does not hold (the caller then runs the reference).
//!
//! The rounded-to-odd quotient: `q = v / s` in f64 (round to nearest), then
//! `t = q` rounded to nearest f32. The side of the exact quotient relative to
//! `t` is the side of `q` when `q ≠ t`, and otherwise the sign of the exact
//! remainder `v − q·s`, computed without FMA by splitting `q` into 24 + 29
//! bits (both partial products with the 24-bit `s` are exact, and the first
//! difference is exact by Sterbenz's lemma). An inexact `t` with an even last
//! bit moves one f32 step toward the exact value (an f32 overflow to ±inf
//! comes back to ±max, an underflow to ±0 goes to ±the smallest subnormal).

use super::per_isa::per_isa;
use super::{BlockEncoder, MiniFloat};
use crate::formats::{ConvertOptions, ElementFormat, FormatError, IntFormat, IntKind};
use crate::formats::{NanPolicy, Rounding};
use crate::isa::{self, IsaLevel};

/// `v / s` rounded to odd into f32, for finite non-zero `v` and finite
/// positive f32 `s`; `v` itself when it is not finite; `±0` (the sign of
/// `v`) when `v` or `s` is zero.
#[inline(always)]
pub(crate) fn quotient_rto(v: f32, s: f32) -> f32 {
    let (vd, sd) = (v as f64, s as f64);
    let q = vd / sd;
    let t = q as f32;
    let td = t as f64;
    let qh = f64::from_bits(q.to_bits() & !((1u64 << 29) - 1));
    let ql = q - qh;
    let r = (vd - qh * sd) - ql * sd;
    let inexact = td != q || r != 0.0;
    let above = if td != q {
        q.abs() > td.abs()
    } else {
        (r > 0.0) == (vd > 0.0)
    };
    let b = t.to_bits();
    let b = if inexact && b & 1 == 0 {
        if above {
            b.wrapping_add(1)
        } else {
            b.wrapping_sub(1)
        }
    } else {
        b
    };
    let zero = f32::from_bits(v.to_bits() & 0x8000_0000);
    if !v.is_finite() {
        v
    } else if v == 0.0 || s == 0.0 {
        zero
    } else {
        f32::from_bits(b)
    }
}

/// Where the scale of each element comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scales<'a> {
    /// One scale for the whole run.
    One(f32),
    /// One scale per element.
    Each(&'a [f32]),
}

// Inlined into each per-ISA compilation, so that LLVM vectorizes it there.
#[inline(always)]
fn quotients_scalar(src: &[f32], s: Scales, out: &mut [f32]) {
    match s {
        Scales::One(s) => {
            for (o, v) in out.iter_mut().zip(src) {
                *o = quotient_rto(*v, s);
            }
        }
        Scales::Each(s) => {
            for ((o, v), s) in out.iter_mut().zip(src).zip(s) {
                *o = quotient_rto(*v, *s);
            }
        }
    }
}

per_isa! {
    fn [quotients_avx2, quotients_avx512] [] (src: &[f32], s: Scales, out: &mut [f32]) {
        quotients_scalar(src, s, out)
    }
}

/// Rounded-to-odd quotients of `src` by its scales at `level`.
pub(crate) fn quotients(level: IsaLevel, src: &[f32], s: Scales, out: &mut [f32]) {
    isa::dispatch!(level,
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX-512 F/BW/VL.
        avx512 => unsafe { quotients_avx512(src, s, out) },
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2.
        avx2 => unsafe { quotients_avx2(src, s, out) },
        scalar => quotients_scalar(src, s, out),
    )
}

/// Rounding modes as const parameters of the integer rounder.
const RNE: u8 = 0;
const RNA: u8 = 1;
const RTZ: u8 = 2;
const RU: u8 = 3;
const RD: u8 = 4;
const RTO: u8 = 5;

/// An integer format boiled down for the vectorized rounder.
#[derive(Debug, Clone, Copy)]
struct IntParams {
    lo: f32,
    hi: f32,
    mask: u32,
    /// The integer a NaN becomes.
    nan: f32,
}

/// `IntFormat::round` on an f32 (see the module docs for why the rounded-to-odd
/// quotient gives the same integer), saturating, NaN to `p.nan`.
#[inline(always)]
fn int_lane<const MODE: u8>(p: &IntParams, x: f32) -> u32 {
    let c = x.clamp(p.lo, p.hi);
    let r = match MODE {
        RNE => c.round_ties_even(),
        RNA => c.round(),
        RTZ => c.trunc(),
        RU => c.ceil(),
        RD => c.floor(),
        _ => {
            let f = c.floor();
            if f != c && (f as i32) & 1 == 0 {
                f + 1.0
            } else {
                f
            }
        }
    };
    let r = if x.is_nan() { p.nan } else { r };
    (r as i32 as u32) & p.mask
}

#[inline(always)]
fn int_codes_scalar<const MODE: u8>(p: &IntParams, src: &[f32], dst: &mut [u32]) {
    for (d, x) in dst.iter_mut().zip(src) {
        *d = int_lane::<MODE>(p, *x);
    }
}

per_isa! {
    fn [int_codes_avx2, int_codes_avx512] [const MODE: u8] (p: &IntParams, src: &[f32], dst: &mut [u32]) {
        int_codes_scalar::<MODE>(p, src, dst)
    }
}

fn int_codes_at<const MODE: u8>(level: IsaLevel, p: &IntParams, src: &[f32], dst: &mut [u32]) {
    isa::dispatch!(level,
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX-512 F/BW/VL.
        avx512 => unsafe { int_codes_avx512::<MODE>(p, src, dst) },
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2.
        avx2 => unsafe { int_codes_avx2::<MODE>(p, src, dst) },
        scalar => int_codes_scalar::<MODE>(p, src, dst),
    )
}

/// How the rounded quotients become codes.
#[derive(Debug, Clone)]
enum Coder {
    Float(BlockEncoder),
    Int(IntParams, u8),
}

/// Encodes `v / s` into an element format through the rounded-to-odd f32
/// quotient; bit-identical to the reference of [`crate::formats::scaled`].
#[derive(Debug, Clone)]
pub(crate) struct QuotientEncoder {
    level: IsaLevel,
    coder: Coder,
}

/// Largest significant bits of a format the f32 detour serves (24 − 2).
const MAX_PRECISION: u32 = 22;

impl QuotientEncoder {
    /// `None` when the element format or options need the reference:
    /// stochastic rounding, a minifloat wider than 16 bits or with more than
    /// 22 significant bits, one whose range reaches f32's limits, binary
    /// integers, or NaN under [`NanPolicy::Error`].
    pub(crate) fn new(
        level: IsaLevel,
        element: &ElementFormat,
        opts: &ConvertOptions,
    ) -> Option<Self> {
        let mode = match opts.rounding {
            Rounding::Rne => RNE,
            Rounding::Rna => RNA,
            Rounding::Rtz => RTZ,
            Rounding::Ru => RU,
            Rounding::Rd => RD,
            Rounding::Rto => RTO,
            Rounding::Sr => return None,
        };
        let coder = match element {
            ElementFormat::Float(f) => {
                if !f32_detour_exact(f) {
                    return None;
                }
                Coder::Float(BlockEncoder::with_level(level, f, opts).ok()?)
            }
            ElementFormat::Int(i) => Coder::Int(int_params(i, opts.nan)?, mode),
        };
        Some(QuotientEncoder {
            level: isa::supported(level),
            coder,
        })
    }

    /// Codes of the quotients `q` (from [`quotients`]); element `i` has
    /// stochastic-rounding index `index0 + i` (unused: no stochastic rounding
    /// here, but kept for the encoder's contract). `tmp` is scratch of
    /// `q.len()` entries.
    pub(crate) fn encode(
        &self,
        q: &[f32],
        index0: u64,
        tmp: &mut Vec<u16>,
        dst: &mut [u32],
    ) -> Result<(), FormatError> {
        match &self.coder {
            Coder::Float(e) => {
                tmp.clear();
                tmp.resize(q.len(), 0);
                if !q.is_empty() {
                    e.encode_blocks(q, q.len(), &[0], index0, tmp)?;
                }
                for (d, c) in dst.iter_mut().zip(tmp.iter()) {
                    *d = *c as u32;
                }
            }
            Coder::Int(p, mode) => match *mode {
                RNE => int_codes_at::<RNE>(self.level, p, q, dst),
                RNA => int_codes_at::<RNA>(self.level, p, q, dst),
                RTZ => int_codes_at::<RTZ>(self.level, p, q, dst),
                RU => int_codes_at::<RU>(self.level, p, q, dst),
                RD => int_codes_at::<RD>(self.level, p, q, dst),
                _ => int_codes_at::<RTO>(self.level, p, q, dst),
            },
        }
        Ok(())
    }
}

/// Whether rounding to odd into f32 first leaves every rounding of `f`
/// unchanged: at most 22 significant bits, at most 16 bits of code, the
/// smallest positive value at least 2^−146 (two bits above f32's smallest
/// subnormal) and the largest below f32's.
fn f32_detour_exact(f: &MiniFloat) -> bool {
    let smallest = f.min_subnormal().unwrap_or_else(|| f.min_normal());
    f.bits() <= 16
        && f.mbits < MAX_PRECISION
        && smallest >= crate::formats::exp2i(-146)
        && f.max_value() < f32::MAX as f64
}

/// The vectorized rounder's view of an integer format; `None` for binary
/// (its sign rule has its own modes) and for NaN under `Error`.
fn int_params(i: &IntFormat, nan: NanPolicy) -> Option<IntParams> {
    if i.kind == IntKind::Binary {
        return None;
    }
    let (lo, hi) = (i.min_int(), i.max_int());
    let nan = match nan {
        NanPolicy::NegZero => 0.clamp(lo, hi),
        NanPolicy::Max => hi,
        NanPolicy::Error => return None,
    };
    Some(IntParams {
        lo: lo as f32,
        hi: hi as f32,
        mask: (1u32 << i.bits()) - 1,
        nan: nan as f32,
    })
}
