//! The encode pipeline: a format, options and scale boiled down to integer
//! constants ([`EncParams`]), the branch-free per-lane code on the f32 bits,
//! and the loop that runs it over a range at one instruction-set level.

use super::per_isa::per_isa;
#[cfg(target_arch = "x86_64")]
use super::per_isa::streamed;
use super::Code;
use crate::formats::rounding::{sr_key, sr_random, NanPolicy, Overflow};
use crate::formats::{ConvertOptions, Exp0, FormatError, MiniFloat, NonFinite};
use crate::isa::{self, IsaLevel};

/// Rounding modes as const-generic tags, so the per-lane code has no branch
/// on the mode.
pub(super) const RNE: u8 = 0;
pub(super) const RNA: u8 = 1;
pub(super) const RTZ: u8 = 2;
pub(super) const RU: u8 = 3;
pub(super) const RD: u8 = 4;
pub(super) const RTO: u8 = 5;
pub(super) const SR: u8 = 6;

/// Runs `$body` with `$mode` bound to the const-generic tag of `$rounding`:
/// one monomorphized copy of the body per rounding mode.
macro_rules! with_mode {
    ($rounding:expr, $mode:ident => $body:expr) => {{
        use $crate::formats::fast::encode as tags;
        use $crate::formats::Rounding as R;
        match $rounding {
            R::Rne => {
                const $mode: u8 = tags::RNE;
                $body
            }
            R::Rna => {
                const $mode: u8 = tags::RNA;
                $body
            }
            R::Rtz => {
                const $mode: u8 = tags::RTZ;
                $body
            }
            R::Ru => {
                const $mode: u8 = tags::RU;
                $body
            }
            R::Rd => {
                const $mode: u8 = tags::RD;
                $body
            }
            R::Rto => {
                const $mode: u8 = tags::RTO;
                $body
            }
            R::Sr => {
                const $mode: u8 = tags::SR;
                $body
            }
        }
    }};
}

#[allow(unused_imports)] // used by `blocks`; here by textual scope
pub(super) use with_mode;

/// A format, options and scale boiled down to the integer constants the
/// per-lane pipeline needs. Special inputs (±0, ±inf, NaN, negative values for
/// unsigned formats) take their codes from the twin itself, computed once.
#[derive(Debug, Clone, Copy)]
pub(super) struct EncParams {
    /// Mantissa bits of the target.
    pub(super) m: u32,
    /// Unbiased exponent of the lowest binade with the target's full precision.
    pub(super) emin: i32,
    /// `emin + 127 + scale`: emin as a biased f32 exponent field of the
    /// input (≥ 1 whenever `simple`).
    pub(super) eb: u32,
    /// `23 − m + eb`.
    pub(super) s0_eb: u32,
    /// The format and scale fit `encode_lane_simple`.
    pub(super) simple: bool,
    /// The format alone fits `encode_lane_simple` (signed, gradual
    /// underflow); `simple` adds the scale's condition.
    pub(super) simple_fmt: bool,
    /// Write the output with non-temporal stores (large outputs).
    pub(super) stream: bool,
    /// The divisor's exponent.
    pub(super) scale: i32,
    /// Exponent field 0 is a flush-to-zero gap (`subnormals=off`).
    pub(super) flush: bool,
    /// Exponent field 0 is a normal binade (`subnormals=none`: no zero).
    pub(super) exp0_normal: bool,
    /// The implicit bit to subtract from a code when field 0 is normal.
    pub(super) adj: u32,
    /// Largest finite magnitude code.
    pub(super) max_mag: u32,
    /// The sign bit of a code (0 for unsigned formats).
    pub(super) sign_bit: u32,
    /// Sign bits of a negative value whose magnitude rounds to 0.
    pub(super) zneg_sign: u32,
    /// The format has no sign: every negative finite input gets `neg_fin`.
    pub(super) unsigned: bool,
    pub(super) neg_fin: u32,
    /// Overflow codes for positive / negative values, for this rounding mode.
    pub(super) ovf_pos: u32,
    pub(super) ovf_neg: u32,
    pub(super) zero_pos: u32,
    pub(super) zero_neg: u32,
    pub(super) inf_pos: u32,
    pub(super) inf_neg: u32,
    pub(super) nan_pos: u32,
    pub(super) nan_neg: u32,
    /// NaN payload: `frac >> nan_shift` is ORed into the NaN code (IEEE-style
    /// targets keep the top payload bits); 31 clears it.
    pub(super) nan_shift: u32,
    /// NaN inputs (resp. −inf) are errors (NanPolicy::Error, no NaN code).
    pub(super) err_nan: bool,
    pub(super) err_neginf: bool,
    /// Stochastic rounding: compare the top `32 − sr_shift` bits.
    pub(super) sr_shift: u32,
    pub(super) sr_mask: u32,
}

impl EncParams {
    pub(super) fn new(
        fmt: &MiniFloat,
        opts: &ConvertOptions,
        scale: i32,
    ) -> Result<Self, FormatError> {
        Ok(Self::unscaled(fmt, opts)?.with_scale(scale))
    }

    /// The parameters with scale 0 (the expensive part: the twin is asked
    /// for every special code). Only `with_scale` depends on the scale.
    pub(super) fn unscaled(fmt: &MiniFloat, opts: &ConvertOptions) -> Result<Self, FormatError> {
        let policy = fmt.resolve_overflow(opts.overflow)?;
        let m = fmt.mbits;
        let emin = match fmt.exp0 {
            Exp0::Normal => -fmt.bias,
            _ => 1 - fmt.bias,
        };
        let sign_bit = if fmt.signed { 1 << (fmt.ebits + m) } else { 0 };
        let ovf = |neg: bool| {
            if opts.rounding.toward_zero(neg) {
                return fmt.max_code(neg);
            }
            match policy {
                Overflow::Saturate => fmt.max_code(neg),
                Overflow::Inf => fmt.inf_code(neg).unwrap_or_else(|| fmt.max_code(neg)),
                Overflow::Nan => fmt.nan_code(neg).unwrap_or_else(|| fmt.max_code(neg)),
            }
        };
        // The twin's code for a special input (rounding plays no part there).
        let special = |x: f32| fmt.encode_f32(x, opts, 0);
        let (nan_pos, nan_neg, err_nan) = match (
            special(f32::from_bits(0x7fc0_0000)),
            special(f32::from_bits(0xffc0_0000)),
        ) {
            (Ok(p), Ok(n)) => (p, n, false),
            _ => (0, 0, true),
        };
        let (inf_neg, err_neginf) = match special(f32::NEG_INFINITY) {
            Ok(c) => (c, false),
            Err(_) => (0, true),
        };
        let r = opts.sr_bits.clamp(1, 32);
        let simple_fmt = fmt.signed && fmt.exp0 == Exp0::Subnormal;
        Ok(EncParams {
            m,
            emin,
            eb: 0,
            s0_eb: 0,
            simple: false,
            simple_fmt,
            stream: false,
            scale: 0,
            flush: fmt.exp0 == Exp0::Flush,
            exp0_normal: fmt.exp0 == Exp0::Normal,
            adj: if fmt.exp0 == Exp0::Normal { 1 << m } else { 0 },
            max_mag: fmt.max_mag_code(),
            sign_bit,
            zneg_sign: if fmt.has_zero() {
                fmt.zero_code(true)
            } else {
                sign_bit
            },
            unsigned: !fmt.signed,
            neg_fin: special(-1.0)?,
            ovf_pos: ovf(false),
            ovf_neg: ovf(true),
            zero_pos: special(0.0)?,
            zero_neg: special(-0.0)?,
            inf_pos: special(f32::INFINITY)?,
            inf_neg,
            nan_pos,
            nan_neg,
            nan_shift: if fmt.nonfinite == NonFinite::Ieee {
                23 - m
            } else {
                31
            },
            err_nan: err_nan && opts.nan == NanPolicy::Error,
            err_neginf,
            sr_shift: 32 - r,
            sr_mask: u32::MAX >> (32 - r),
        }
        .with_scale(0))
    }

    /// The same parameters for another scale: a handful of integer
    /// operations, cheap enough to run once per block.
    #[inline(always)]
    pub(super) fn with_scale(&self, scale: i32) -> Self {
        let eb = (self.emin + 127 + scale).max(1);
        EncParams {
            eb: eb as u32,
            s0_eb: (23 - self.m as i32 + eb) as u32,
            // f32 subnormals (exponent −126 − scale and below) need no
            // normalization when that is at or below emin.
            simple: self.simple_fmt && -126 - scale <= self.emin,
            scale,
            ..*self
        }
    }
}

/// `x >> s`, or 0 when `s ≥ 32` (what `vpsrlvd` does; LLVM folds the select).
#[inline(always)]
fn shr0(x: u32, s: u32) -> u32 {
    if s < 32 {
        x.wrapping_shr(s)
    } else {
        0
    }
}

/// `x << s`, or 0 when `s ≥ 32` (`vpsllvd`).
#[inline(always)]
fn shl0(x: u32, s: u32) -> u32 {
    if s < 32 {
        x.wrapping_shl(s)
    } else {
        0
    }
}

/// The rounding increment for a truncated code `trunc` whose discarded bits,
/// as a fraction of one unit in 32-bit fixed point, are `frac32` (`inexact`:
/// whether any discarded bit is set, which `frac32` alone misses when it is
/// truncated).
#[inline(always)]
fn round_up_lane<const MODE: u8>(
    p: &EncParams,
    trunc: u32,
    frac32: u32,
    inexact: bool,
    neg: bool,
    rand: u32,
) -> bool {
    const HALF: u32 = 0x8000_0000;
    match MODE {
        RNE => frac32 > HALF || (frac32 == HALF && trunc & 1 != 0),
        RNA => frac32 >= HALF,
        RTZ => false,
        RU => inexact && !neg,
        RD => inexact && neg,
        // Round to odd: +1 on an even truncation is the same as setting bit 0.
        RTO => inexact && trunc & 1 == 0,
        // floor(fraction × 2^r) + random r bits ≥ 2^r, without the 33rd bit.
        _ => (frac32 >> p.sr_shift) > (p.sr_mask ^ (rand >> p.sr_shift)),
    }
}

/// The discarded fraction of `sig >> s` in 32-bit fixed point: exact for
/// s ≤ 32; for larger s truncated, but then below 1/2 (sig < 2^24), and the
/// caller knows the remainder is all of `sig`.
#[inline(always)]
fn frac32_of(sig: u32, s: u32) -> u32 {
    shl0(sig, 32u32.wrapping_sub(s)) | shr0(sig, s.wrapping_sub(32))
}

/// `encode_lane_simple`'s magnitude under stochastic rounding, where the
/// comparison needs the discarded bits in full (`frac32_of`).
#[inline(always)]
fn simple_mag_sr(p: &EncParams, abs: u32, ef: u32, rand: u32) -> u32 {
    // |x| = sig × 2^(max(ef, 1) − 150 − scale); f32 subnormals keep sig < 2^23.
    let sig = (abs & 0x007f_ffff) | if ef != 0 { 0x0080_0000 } else { 0 };
    // t = (exponent of the leading place) − emin.
    let t = ef.max(1) as i32 - p.eb as i32;
    // Bits below the target's last place: the unit is 2^(max(e, emin) − m).
    let s = ((-t).max(0) as u32) + (23 - p.m);
    let n = shr0(sig, s);
    let frac32 = frac32_of(sig, s);
    let trunc = ((t.max(0) as u32) << p.m) + n;
    trunc + round_up_lane::<SR>(p, trunc, frac32, true, false, rand) as u32
}

/// One element for the common shape — signed, gradual underflow, and no f32
/// subnormal input lands above the target's `emin` (so f32 subnormals need no
/// normalization): the code of `bits / 2^scale`. Branch-free.
#[inline(always)]
pub(super) fn encode_lane_simple<const MODE: u8>(p: &EncParams, b: u32, rand: u32) -> u32 {
    let neg = b >> 31 != 0;
    let abs = b & 0x7fff_ffff;
    let ef = abs >> 23;
    let mag = if MODE == SR {
        simple_mag_sr(p, abs, ef, rand)
    } else {
        // k = the input's exponent field, capped at the target's emin (as a
        // biased f32 field, eb ≥ 1). x keeps the f32 fraction and puts field
        // k's binade at field 1 of the target: shifted right by s, it *is* the
        // target's magnitude code (normal: field + mantissa; below emin: the
        // subnormal significand, carrying into the min normal on round-up).
        let k = ef.max(1).min(p.eb);
        let x = (abs + (1 << 23)) - (k << 23);
        // s = 23 − m + (eb − k) ≥ 8; beyond 31 the result is 0 or 1 either way
        // (x < 2^24), so clamping keeps every shift in range.
        let s = (p.s0_eb - k).min(31);
        let q = x >> s;
        // Round by adding a bias below the cut, then truncating.
        match MODE {
            RNE => (x + (0x7fff_ffff >> (32 - s)) + (q & 1)) >> s,
            RNA => (x + (1 << (s - 1))) >> s,
            RTZ => q,
            RU if !neg => (x + (u32::MAX >> (32 - s))) >> s,
            RD if neg => (x + (u32::MAX >> (32 - s))) >> s,
            RU | RD => q,
            // Round to odd: set bit 0 when anything was cut off.
            _ => q | ((x << (32 - s)) != 0) as u32,
        }
    };
    let sgn = if mag == 0 { p.zneg_sign } else { p.sign_bit };
    let fin = if mag > p.max_mag {
        if neg {
            p.ovf_neg
        } else {
            p.ovf_pos
        }
    } else if neg {
        mag | sgn
    } else {
        mag
    };
    let special = if abs == 0x7f80_0000 {
        if neg {
            p.inf_neg
        } else {
            p.inf_pos
        }
    } else {
        (if neg { p.nan_neg } else { p.nan_pos }) | ((abs & 0x007f_ffff) >> p.nan_shift)
    };
    if abs >= 0x7f80_0000 {
        special
    } else {
        fin
    }
}

/// One element, any format: the code of `bits / 2^scale`. Branch-free.
#[inline(always)]
pub(super) fn encode_lane_general<const MODE: u8>(p: &EncParams, b: u32, rand: u32) -> u32 {
    let neg = b >> 31 != 0;
    let abs = b & 0x7fff_ffff;
    let ef = abs >> 23;
    let frac = abs & 0x007f_ffff;
    // Normalize f32 subnormals without a leading-zero count (AVX2 has none):
    // the integer fraction converts to f32 exactly, and its exponent is the
    // position of the leading bit.
    let fsub = (frac as i32 as f32).to_bits();
    let sub = ef == 0;
    let sig = ((if sub { fsub } else { frac }) & 0x007f_ffff) | 0x0080_0000;
    let e = if sub {
        (fsub >> 23) as i32 - (127 + 149)
    } else {
        ef as i32 - 127
    };
    // |x| = sig × 2^(e − 23); the scale only moves e. t = e − emin.
    let t = e - p.scale - p.emin;
    let below = t < 0;
    let flush = p.flush && below;
    // Bits of `sig` below the target's last place: the unit is 2^(e_t − m),
    // or 2^emin (the min normal) in a flush gap.
    let s = ((-t).max(0) as u32) + (23 - p.m) + if flush { p.m } else { 0 };
    let n = shr0(sig, s);
    let frac32 = frac32_of(sig, s);
    let inexact = frac32 != 0 || s > 32;
    // Truncated magnitude code: the binade above emin, plus the significand
    // (whose implicit bit counts one binade, except when field 0 is normal).
    let trunc = if flush {
        0
    } else {
        ((t.max(0) as u32) << p.m)
            .wrapping_add(n)
            .wrapping_sub(p.adj)
    };
    let up = round_up_lane::<MODE>(p, trunc, frac32, inexact, neg, rand);
    let mag = trunc.wrapping_add((up as u32) << if flush { p.m } else { 0 });
    // subnormals=none: everything below the smallest value becomes it.
    let mag = if p.exp0_normal && below { 0 } else { mag };
    let sgn = if mag == 0 { p.zneg_sign } else { p.sign_bit };
    let fin = if neg { mag | sgn } else { mag };
    let fin = if mag > p.max_mag {
        if neg {
            p.ovf_neg
        } else {
            p.ovf_pos
        }
    } else {
        fin
    };
    let fin = if neg && p.unsigned { p.neg_fin } else { fin };
    let zero = if neg { p.zero_neg } else { p.zero_pos };
    let inf = if neg { p.inf_neg } else { p.inf_pos };
    let nan = (if neg { p.nan_neg } else { p.nan_pos }) | (frac >> p.nan_shift);
    if abs == 0 {
        zero
    } else if abs < 0x7f80_0000 {
        fin
    } else if abs == 0x7f80_0000 {
        inf
    } else {
        nan
    }
}

/// The encode loop over one run of elements whose stochastic-rounding indices
/// share their high 32 bits (`key`); element `i` has low index `lo0 + i`.
/// Returns whether any element is an error (checked in a second pass, only
/// under policies that have errors, to keep the main loop lean).
#[inline(always)]
fn encode_block<const MODE: u8, const SIMPLE: bool, C: Code>(
    p: &EncParams,
    src: &[f32],
    dst: &mut [C],
    key: u32,
    lo0: u32,
) -> bool {
    // A by-value copy: `dst` may alias anything (u8), so loads through `p`
    // would be redone (as gathers) in every iteration.
    let p = *p;
    let n = src.len().min(dst.len());
    let (src, dst) = (&src[..n], &mut dst[..n]);
    for i in 0..n {
        let rand = if MODE == SR {
            sr_random(key, lo0.wrapping_add(i as u32))
        } else {
            0
        };
        let b = src[i].to_bits();
        let c = if SIMPLE {
            encode_lane_simple::<MODE>(&p, b, rand)
        } else {
            encode_lane_general::<MODE>(&p, b, rand)
        };
        dst[i] = C::from_u32(c);
    }
    (p.err_nan && src.iter().any(|x| x.is_nan()))
        || (p.err_neginf && src.contains(&f32::NEG_INFINITY))
}

per_isa! {
    fn [encode_block_avx2, encode_block_avx512] [const MODE: u8, const SIMPLE: bool, C: Code] (
        p: &EncParams,
        src: &[f32],
        dst: &mut [C],
        key: u32,
        lo0: u32,
    ) -> bool {
        if p.stream {
            let kernel = |off: usize, s: &[f32], d: &mut [C]| {
                encode_block::<MODE, SIMPLE, C>(p, s, d, key, lo0.wrapping_add(off as u32))
            };
            // SAFETY: each compilation only runs on CPUs with its ISA.
            streamed(src, dst, kernel, |d, s, n| unsafe {
                nt_copy(d, s, n)
            })
        } else {
            encode_block::<MODE, SIMPLE, C>(p, src, dst, key, lo0)
        }
    }
}

/// Runs the block kernel for one mode and shape at one level.
fn encode_at<const MODE: u8, const SIMPLE: bool, C: Code>(
    level: IsaLevel,
    p: &EncParams,
    src: &[f32],
    dst: &mut [C],
    key: u32,
    lo0: u32,
) -> bool {
    isa::dispatch!(level,
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX-512 F/BW/VL.
        avx512 => unsafe { encode_block_avx512::<MODE, SIMPLE, C>(p, src, dst, key, lo0) },
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2.
        avx2 => unsafe { encode_block_avx2::<MODE, SIMPLE, C>(p, src, dst, key, lo0) },
        scalar => encode_block::<MODE, SIMPLE, C>(p, src, dst, key, lo0),
    )
}

/// Picks the shape (simple or general) for one mode.
fn encode_shape<const MODE: u8, C: Code>(
    level: IsaLevel,
    p: &EncParams,
    src: &[f32],
    dst: &mut [C],
    key: u32,
    lo0: u32,
) -> bool {
    if p.simple {
        encode_at::<MODE, true, C>(level, p, src, dst, key, lo0)
    } else {
        encode_at::<MODE, false, C>(level, p, src, dst, key, lo0)
    }
}

/// Encodes `src` with indices from `index0`, cutting it where the high 32 bits
/// of the index change (the generator's key is per 2^32 elements).
pub(super) fn encode_range<C: Code>(
    level: IsaLevel,
    p: &EncParams,
    opts: &ConvertOptions,
    src: &[f32],
    index0: u64,
    dst: &mut [C],
) -> bool {
    let mut err = false;
    let mut off = 0;
    let mut idx = index0;
    while off < src.len() {
        let lo = idx as u32;
        let room = ((1u64 << 32) - lo as u64).min((src.len() - off) as u64) as usize;
        let key = sr_key(opts.seed, (idx >> 32) as u32);
        let (s, d) = (&src[off..off + room], &mut dst[off..off + room]);
        err |= with_mode!(opts.rounding, MODE => encode_shape::<MODE, C>(level, p, s, d, key, lo));
        off += room;
        idx = idx.wrapping_add(room as u64);
    }
    err
}

/// The error of an encode whose kernels flagged one: only a NaN (or −inf
/// into an unsigned format) under [`NanPolicy::Error`] does, and the twin
/// words it.
pub(super) fn twin_error(fmt: &MiniFloat, opts: &ConvertOptions, p: &EncParams) -> FormatError {
    let x = if p.err_nan {
        f32::NAN
    } else {
        f32::NEG_INFINITY
    };
    fmt.encode_f32(x, opts, 0)
        .err()
        .unwrap_or_else(|| FormatError::NanInput(fmt.to_string()))
}
