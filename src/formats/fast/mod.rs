//! Fast batch conversion between f32 and minifloat codes.
//!
//! Public entry points dispatch at run time to AVX-512 / AVX2 code, with a
//! portable fallback; every path is bit-identical to the reference
//! ([`MiniFloat::encode_f32`] / [`MiniFloat::decode_f32`], wrapped by
//! [`encode_f32_reference`] / [`decode_f32_reference`]).
//!
//! # How it is fast
//!
//! One generic routine serves every format (ml_dtypes `float8.h` style): the
//! format, options and scale are boiled down to a few integer constants
//! (`EncParams`), and each element goes through a branch-free integer
//! pipeline on the f32 bits. Two pipelines exist:
//!
//! * `encode_lane_simple`, for signed formats with gradual underflow (every
//!   preset but E8M0): the f32 bits are re-biased so that shifting them right
//!   gives the target code, and rounding is "add a bias below the cut, then
//!   shift" (about 35 vector instructions per 16 elements for RNE);
//! * `encode_lane_general`, for everything else (flush-to-zero, no zero,
//!   unsigned, scales that bring f32 subnormals into range): the discarded
//!   bits become a 32-bit fixed-point fraction, so stochastic rounding and
//!   sticky bits need no 64-bit lanes. Stochastic rounding always uses this
//!   comparison.
//!
//! The loops are monomorphized on the rounding mode (a const parameter, so no
//! branch on the mode per element) and on the pipeline, and compiled three
//! times — without target features, with AVX2, with AVX-512 — so LLVM
//! auto-vectorizes them for each instruction set; the public functions run
//! the level [`crate::isa::effective`] picks (the best one the CPU has, unless
//! the user capped it). Decoding builds the f32 bits
//! arithmetically (a 256-entry table for the rare 8-bit formats whose values
//! are not all f32).
//!
//! Large inputs (≥ [`PAR_THRESHOLD`] elements) are split into chunks run on
//! rayon's pool. Stochastic rounding draws element `i`'s random bits from its
//! absolute index `index0 + i` (a counter-based generator), so results do not
//! depend on chunking or thread count. Outputs of 8 MiB or more are written
//! with non-temporal stores (they would not stay in cache anyway).
//!
//! This file holds the API; the pipeline is in `encode` (per element),
//! `blocks` (per block scale, and block maxima) and `decode`, and `per_isa`
//! compiles a body once per instruction set and streams stores.

mod blocks;
mod decode;
mod encode;
mod per_isa;
pub(crate) mod quotient;

use rayon::prelude::*;

pub(crate) use self::blocks::amax_bits;
pub use self::blocks::BlockEncoder;
use self::blocks::{amax_at, check_blocks, encode_blocks_prepared};
use self::decode::{decode_at, DecParams, Decoder};
use self::encode::{encode_range, twin_error, EncParams};
use self::per_isa::STREAM_BYTES;
use super::rounding::Rounding;
use super::{ConvertOptions, FormatError, MiniFloat};
use crate::isa::{self, IsaLevel};

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
    #[inline(always)]
    fn from_u32(c: u32) -> Self {
        c as u8
    }
    #[inline(always)]
    fn to_u32(self) -> u32 {
        self as u32
    }
}

impl Code for u16 {
    const BITS: u32 = 16;
    #[inline(always)]
    fn from_u32(c: u32) -> Self {
        c as u16
    }
    #[inline(always)]
    fn to_u32(self) -> u32 {
        self as u32
    }
}

/// Inputs at least this long are converted in parallel (rayon), in chunks of
/// [`PAR_CHUNK`] elements. Below it, threading costs more than it saves.
pub const PAR_THRESHOLD: usize = 1 << 20;

/// Chunk length of the parallel path (a multiple of every vector width).
pub const PAR_CHUNK: usize = 1 << 16;

/// Largest `|scale_log2|` the vector pipeline takes; beyond it the reference
/// runs (it stays exact for |scale_log2| ≤ 873, see [`encode_f32_reference`]).
const MAX_FAST_SCALE: u32 = 512;

/// Encodes `src[i] / 2^scale_log2` (exactly: the scale moves the exponent, it
/// is never a float division) into `dst[i]`. Element `i` uses stochastic-rounding
/// index `index0 + i`. `dst.len()` must equal `src.len()`, and the format must
/// fit the container.
///
/// Runs at [`isa::effective`], in parallel for inputs of at least
/// [`PAR_THRESHOLD`] elements; the codes equal [`encode_f32_reference`]'s on every
/// input. On `Err` (a NaN under [`NanPolicy::Error`](crate::formats::rounding::NanPolicy::Error) in a format without NaN, or
/// an overflow policy the format lacks) the contents of `dst` are unspecified.
pub fn encode_f32<C: Code>(
    fmt: &MiniFloat,
    opts: &ConvertOptions,
    src: &[f32],
    scale_log2: i32,
    index0: u64,
    dst: &mut [C],
) -> Result<(), FormatError> {
    encode_f32_with(isa::effective(), fmt, opts, src, scale_log2, index0, dst)
}

/// [`encode_f32`] at a chosen [`IsaLevel`] (for tests and benchmarks). A
/// level the CPU lacks is lowered to [`isa::supported`] (the user's cap does
/// not apply), so the call is always safe; use [`IsaLevel::available`] to know
/// which levels really run.
pub fn encode_f32_with<C: Code>(
    level: IsaLevel,
    fmt: &MiniFloat,
    opts: &ConvertOptions,
    src: &[f32],
    scale_log2: i32,
    index0: u64,
    dst: &mut [C],
) -> Result<(), FormatError> {
    assert_eq!(src.len(), dst.len(), "encode_f32: length mismatch");
    assert!(
        fmt.bits() <= C::BITS,
        "format {fmt} does not fit the code type"
    );
    if src.is_empty() {
        return Ok(());
    }
    // Inputs the pipeline does not model take the twin, so the result is
    // still the twin's (whatever it does with an out-of-range `sr_bits`).
    let sr_ok = opts.rounding != Rounding::Sr || (1..=32).contains(&opts.sr_bits);
    if scale_log2.unsigned_abs() > MAX_FAST_SCALE || !sr_ok {
        return encode_f32_reference(fmt, opts, src, scale_log2, index0, dst);
    }
    let mut p = EncParams::new(fmt, opts, scale_log2)?;
    p.stream = std::mem::size_of_val(dst) >= STREAM_BYTES;
    let level = isa::supported(level);
    let err = if src.len() >= PAR_THRESHOLD {
        src.par_chunks(PAR_CHUNK)
            .zip(dst.par_chunks_mut(PAR_CHUNK))
            .enumerate()
            .map(|(k, (s, d))| {
                let i0 = index0.wrapping_add((k * PAR_CHUNK) as u64);
                encode_range(level, &p, opts, s, i0, d)
            })
            .reduce(|| false, |a, b| a | b)
    } else {
        encode_range(level, &p, opts, src, index0, dst)
    };
    if err {
        return Err(twin_error(fmt, opts, &p));
    }
    Ok(())
}

/// The reference of [`encode_f32`]: one [`MiniFloat::encode_f32`] (or, with
/// a scale, one exact [`MiniFloat::encode`] of the f64 quotient) per element.
/// Exact for |scale_log2| ≤ 873 (the quotient of any f32 by 2^scale_log2 is
/// then a normal f64); it stops at the first error.
pub fn encode_f32_reference<C: Code>(
    fmt: &MiniFloat,
    opts: &ConvertOptions,
    src: &[f32],
    scale_log2: i32,
    index0: u64,
    dst: &mut [C],
) -> Result<(), FormatError> {
    assert_eq!(src.len(), dst.len(), "encode_f32: length mismatch");
    assert!(
        fmt.bits() <= C::BITS,
        "format {fmt} does not fit the code type"
    );
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

/// Encodes blocks of `src`, each with its own scale: block `b` is elements
/// `b × block_size ..` (the last block may be short) and element `i` of it
/// becomes the code of `src[i] / 2^scale_log2[b]`, with stochastic-rounding
/// index `index0 + i` (`i` counts from the start of `src`). The codes equal
/// one [`encode_f32`] call per block, and [`encode_f32_blocks_reference`]'s.
///
/// For block-scaled formats (MX), where a call per 32-element block would
/// spend most of its time on setup: here the format and options are boiled
/// down once per call, a scale costs a few integer operations per block.
/// `dst.len()` must equal `src.len()`, `block_size` be > 0 and `scale_log2`
/// hold one scale per block (`src.len().div_ceil(block_size)`). Parallel for
/// inputs of at least [`PAR_THRESHOLD`] elements; blocks with
/// `|scale_log2| > 512` take the reference, like [`encode_f32`]. On `Err`
/// the contents of `dst` are unspecified.
pub fn encode_f32_blocks<C: Code>(
    fmt: &MiniFloat,
    opts: &ConvertOptions,
    src: &[f32],
    block_size: usize,
    scale_log2: &[i32],
    index0: u64,
    dst: &mut [C],
) -> Result<(), FormatError> {
    encode_f32_blocks_with(
        isa::effective(),
        fmt,
        opts,
        src,
        block_size,
        scale_log2,
        index0,
        dst,
    )
}

/// [`encode_f32_blocks`] at a chosen [`IsaLevel`] (lowered to
/// [`isa::supported`] if the CPU lacks it).
#[allow(clippy::too_many_arguments)]
pub fn encode_f32_blocks_with<C: Code>(
    level: IsaLevel,
    fmt: &MiniFloat,
    opts: &ConvertOptions,
    src: &[f32],
    block_size: usize,
    scale_log2: &[i32],
    index0: u64,
    dst: &mut [C],
) -> Result<(), FormatError> {
    check_blocks(fmt, src, block_size, scale_log2, dst.len(), C::BITS);
    if src.is_empty() {
        return Ok(());
    }
    // Like `encode_f32`, the fast path's setup (and its errors) only happens
    // when some block takes it.
    let p = if sr_fast(opts) && scale_log2.iter().any(|s| fast_scale(*s)) {
        Some(EncParams::unscaled(fmt, opts)?)
    } else {
        None
    };
    let level = isa::supported(level);
    encode_blocks_prepared(
        level,
        fmt,
        opts,
        p.as_ref(),
        src,
        block_size,
        scale_log2,
        index0,
        dst,
    )
}

/// Stochastic rounding with a width the pipeline models (else: the twin).
fn sr_fast(opts: &ConvertOptions) -> bool {
    opts.rounding != Rounding::Sr || (1..=32).contains(&opts.sr_bits)
}

/// A scale the vector pipeline takes (else: the twin).
fn fast_scale(s: i32) -> bool {
    s.unsigned_abs() <= MAX_FAST_SCALE
}

/// The reference of [`encode_f32_blocks`]: [`encode_f32_reference`] per block.
pub fn encode_f32_blocks_reference<C: Code>(
    fmt: &MiniFloat,
    opts: &ConvertOptions,
    src: &[f32],
    block_size: usize,
    scale_log2: &[i32],
    index0: u64,
    dst: &mut [C],
) -> Result<(), FormatError> {
    check_blocks(fmt, src, block_size, scale_log2, dst.len(), C::BITS);
    for (b, (s, d)) in src
        .chunks(block_size)
        .zip(dst.chunks_mut(block_size))
        .enumerate()
    {
        let i0 = index0.wrapping_add((b * block_size) as u64);
        encode_f32_reference(fmt, opts, s, scale_log2[b], i0, d)?;
    }
    Ok(())
}

/// Largest magnitude of each block, as f32 bits: `out[b]` is the maximum of
/// `bits & 0x7fff_ffff` over elements `b × block_size ..` (the last block may
/// be short), so a NaN or ±inf shows as ≥ `0x7f80_0000`. `out` must hold
/// `src.len().div_ceil(block_size)` entries. Vectorized at
/// [`isa::effective`], parallel for inputs of at least [`PAR_THRESHOLD`].
pub fn block_amax_bits(src: &[f32], block_size: usize, out: &mut [u32]) {
    assert!(block_size > 0, "block_amax_bits: block size 0");
    assert_eq!(
        out.len(),
        src.len().div_ceil(block_size),
        "block_amax_bits: one output per block"
    );
    let level = isa::effective();
    if src.len() >= PAR_THRESHOLD {
        // Whole blocks per task, about PAR_CHUNK elements each.
        let per = (PAR_CHUNK / block_size).max(1);
        src.par_chunks(per * block_size)
            .zip(out.par_chunks_mut(per))
            .for_each(|(s, o)| amax_at(level, s, block_size, o));
    } else {
        amax_at(level, src, block_size, out);
    }
}

/// Decodes codes to f32 (`dst[i] = value(src[i])`), at [`isa::effective`] and
/// in parallel for large inputs; bit-identical to [`decode_f32_reference`]
/// (NaN payloads included).
pub fn decode_f32<C: Code>(fmt: &MiniFloat, src: &[C], dst: &mut [f32]) {
    decode_f32_with(isa::effective(), fmt, src, dst)
}

/// [`decode_f32`] at a chosen [`IsaLevel`] (lowered to [`isa::supported`]
/// if the CPU lacks it).
pub fn decode_f32_with<C: Code>(level: IsaLevel, fmt: &MiniFloat, src: &[C], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len(), "decode_f32: length mismatch");
    assert!(
        fmt.bits() <= C::BITS,
        "format {fmt} does not fit the code type"
    );
    if src.is_empty() {
        return;
    }
    let level = isa::supported(level);
    let dec = match DecParams::new(fmt) {
        Some(p) => Decoder::Arith(p),
        // Formats with values outside f32 (odd biases) round in decode_f32;
        // 8-bit ones use a table of the twin's results, wider ones the twin.
        None if C::BITS == 8 => {
            let mut t = [0u32; 256];
            for (c, v) in t.iter_mut().enumerate() {
                *v = fmt.decode_f32(c as u32).to_bits();
            }
            Decoder::Table(Box::new(t))
        }
        None => return decode_f32_reference(fmt, src, dst),
    };
    let stream = dst.len() * 4 >= STREAM_BYTES;
    if src.len() >= PAR_THRESHOLD {
        src.par_chunks(PAR_CHUNK)
            .zip(dst.par_chunks_mut(PAR_CHUNK))
            .for_each(|(s, d)| decode_at(level, &dec, s, d, stream));
    } else {
        decode_at(level, &dec, src, dst, stream);
    }
}

/// The reference of [`decode_f32`]: one [`MiniFloat::decode_f32`] per element.
pub fn decode_f32_reference<C: Code>(fmt: &MiniFloat, src: &[C], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len(), "decode_f32: length mismatch");
    for (c, d) in src.iter().zip(dst.iter_mut()) {
        *d = fmt.decode_f32(c.to_u32());
    }
}
