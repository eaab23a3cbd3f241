//! Fast batch conversion between f32 and minifloat codes.
//!
//! Public entry points dispatch at run time to AVX-512 / AVX2 code, with a
//! portable fallback; every path is bit-identical to the scalar twin
//! ([`MiniFloat::encode_f32`] / [`MiniFloat::decode_f32`], wrapped by
//! [`encode_f32_scalar`] / [`decode_f32_scalar`]).
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
//! auto-vectorizes them for each instruction set; the public functions pick
//! the best one the CPU has ([`detected_level`]). Decoding builds the f32 bits
//! arithmetically (a 256-entry table for the rare 8-bit formats whose values
//! are not all f32).
//!
//! Large inputs (≥ [`PAR_THRESHOLD`] elements) are split into chunks run on
//! rayon's pool. Stochastic rounding draws element `i`'s random bits from its
//! absolute index `index0 + i` (a counter-based generator), so results do not
//! depend on chunking or thread count. Outputs of 8 MiB or more are written
//! with non-temporal stores (they would not stay in cache anyway).

use rayon::prelude::*;

use super::rounding::{sr_key, sr_random, NanPolicy, Overflow, Rounding};
use super::{ConvertOptions, Exp0, FormatError, MiniFloat, NonFinite};

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

/// Largest `|scale_log2|` the vector pipeline takes; beyond it the scalar twin
/// runs (it stays exact for |scale_log2| ≤ 873, see [`encode_f32_scalar`]).
const MAX_FAST_SCALE: u32 = 512;

/// An instruction-set level a conversion can run at.
///
/// Ordered: a level runs on every CPU that runs a higher one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SimdLevel {
    /// Portable code: the same branch-free pipeline, compiled for the
    /// baseline target (on x86-64: SSE2 only).
    Scalar,
    /// x86-64 AVX2.
    Avx2,
    /// x86-64 AVX-512 (F, BW, VL).
    Avx512,
}

impl SimdLevel {
    /// Every level, lowest first.
    pub const ALL: [SimdLevel; 3] = [SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512];

    /// A short name (`scalar`, `avx2`, `avx512`).
    pub fn name(self) -> &'static str {
        match self {
            SimdLevel::Scalar => "scalar",
            SimdLevel::Avx2 => "avx2",
            SimdLevel::Avx512 => "avx512",
        }
    }

    /// The levels this CPU can run, lowest first.
    pub fn available() -> Vec<SimdLevel> {
        let top = detected_level();
        SimdLevel::ALL.into_iter().filter(|l| *l <= top).collect()
    }
}

impl std::fmt::Display for SimdLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The highest level this CPU supports (run-time detection; std caches it).
pub fn detected_level() -> SimdLevel {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vl")
        {
            return SimdLevel::Avx512;
        }
        if is_x86_feature_detected!("avx2") {
            return SimdLevel::Avx2;
        }
    }
    SimdLevel::Scalar
}

/// Encodes `src[i] / 2^scale_log2` (exactly: the scale moves the exponent, it
/// is never a float division) into `dst[i]`. Element `i` uses stochastic-rounding
/// index `index0 + i`. `dst.len()` must equal `src.len()`, and the format must
/// fit the container.
///
/// Runs at [`detected_level`], in parallel for inputs of at least
/// [`PAR_THRESHOLD`] elements; the codes equal [`encode_f32_scalar`]'s on every
/// input. On `Err` (a NaN under [`NanPolicy::Error`] in a format without NaN, or
/// an overflow policy the format lacks) the contents of `dst` are unspecified.
pub fn encode_f32<C: Code>(
    fmt: &MiniFloat,
    opts: &ConvertOptions,
    src: &[f32],
    scale_log2: i32,
    index0: u64,
    dst: &mut [C],
) -> Result<(), FormatError> {
    encode_f32_with(detected_level(), fmt, opts, src, scale_log2, index0, dst)
}

/// [`encode_f32`] at a chosen [`SimdLevel`] (for tests and benchmarks). A
/// level the CPU lacks is lowered to [`detected_level`], so the call is always
/// safe; use [`SimdLevel::available`] to know which levels really run.
pub fn encode_f32_with<C: Code>(
    level: SimdLevel,
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
        return encode_f32_scalar(fmt, opts, src, scale_log2, index0, dst);
    }
    let mut p = EncParams::new(fmt, opts, scale_log2)?;
    p.stream = std::mem::size_of_val(dst) >= STREAM_BYTES;
    let level = level.min(detected_level());
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
        // Only a NaN (or −inf into an unsigned format) under NanPolicy::Error
        // flags an error; let the twin word it.
        let x = if p.err_nan {
            f32::NAN
        } else {
            f32::NEG_INFINITY
        };
        return Err(fmt
            .encode_f32(x, opts, 0)
            .err()
            .unwrap_or_else(|| FormatError::NanInput(fmt.to_string())));
    }
    Ok(())
}

/// The scalar twin of [`encode_f32`]: one [`MiniFloat::encode_f32`] (or, with
/// a scale, one exact [`MiniFloat::encode`] of the f64 quotient) per element.
/// Exact for |scale_log2| ≤ 873 (the quotient of any f32 by 2^scale_log2 is
/// then a normal f64); it stops at the first error.
pub fn encode_f32_scalar<C: Code>(
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
/// one [`encode_f32`] call per block, and [`encode_f32_blocks_scalar`]'s.
///
/// For block-scaled formats (MX), where a call per 32-element block would
/// spend most of its time on setup: here the format and options are boiled
/// down once per call, a scale costs a few integer operations per block.
/// `dst.len()` must equal `src.len()`, `block_size` be > 0 and `scale_log2`
/// hold one scale per block (`src.len().div_ceil(block_size)`). Parallel for
/// inputs of at least [`PAR_THRESHOLD`] elements; blocks with
/// `|scale_log2| > 512` take the scalar twin, like [`encode_f32`]. On `Err`
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
        detected_level(),
        fmt,
        opts,
        src,
        block_size,
        scale_log2,
        index0,
        dst,
    )
}

/// [`encode_f32_blocks`] at a chosen [`SimdLevel`] (lowered to
/// [`detected_level`] if the CPU lacks it).
#[allow(clippy::too_many_arguments)]
pub fn encode_f32_blocks_with<C: Code>(
    level: SimdLevel,
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
    let level = level.min(detected_level());
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

/// A format and options prepared once for many [`BlockEncoder::encode_blocks`]
/// calls, for callers that interleave small block encodes with other work
/// (MX quantization computes a tile's scales, then encodes it while it is
/// still in cache).
#[derive(Debug, Clone)]
pub struct BlockEncoder {
    fmt: MiniFloat,
    opts: ConvertOptions,
    level: SimdLevel,
    /// `None` when the options send everything to the twin.
    params: Option<EncParams>,
}

impl BlockEncoder {
    /// Prepares `fmt` and `opts` at [`detected_level`]. Fails where
    /// [`encode_f32`] would fail on every non-empty input with a scale of at
    /// most 512 in magnitude (an overflow policy the format lacks).
    pub fn new(fmt: &MiniFloat, opts: &ConvertOptions) -> Result<Self, FormatError> {
        Self::with_level(detected_level(), fmt, opts)
    }

    /// [`BlockEncoder::new`] at a chosen [`SimdLevel`] (lowered to
    /// [`detected_level`] if the CPU lacks it).
    pub fn with_level(
        level: SimdLevel,
        fmt: &MiniFloat,
        opts: &ConvertOptions,
    ) -> Result<Self, FormatError> {
        let params = if sr_fast(opts) {
            Some(EncParams::unscaled(fmt, opts)?)
        } else {
            None
        };
        Ok(BlockEncoder {
            fmt: *fmt,
            opts: *opts,
            level: level.min(detected_level()),
            params,
        })
    }

    /// [`encode_f32_blocks`] with the prepared format and options: the same
    /// codes, the same errors (except those [`BlockEncoder::new`] reported).
    pub fn encode_blocks<C: Code>(
        &self,
        src: &[f32],
        block_size: usize,
        scale_log2: &[i32],
        index0: u64,
        dst: &mut [C],
    ) -> Result<(), FormatError> {
        check_blocks(&self.fmt, src, block_size, scale_log2, dst.len(), C::BITS);
        if src.is_empty() {
            return Ok(());
        }
        encode_blocks_prepared(
            self.level,
            &self.fmt,
            &self.opts,
            self.params.as_ref(),
            src,
            block_size,
            scale_log2,
            index0,
            dst,
        )
    }
}

/// Stochastic rounding with a width the pipeline models (else: the twin).
fn sr_fast(opts: &ConvertOptions) -> bool {
    opts.rounding != Rounding::Sr || (1..=32).contains(&opts.sr_bits)
}

/// A scale the vector pipeline takes (else: the twin).
fn fast_scale(s: i32) -> bool {
    s.unsigned_abs() <= MAX_FAST_SCALE
}

/// The body of the block encoders, on checked, non-empty arguments; `p` is
/// `None` when no block may take the vector pipeline.
#[allow(clippy::too_many_arguments)]
fn encode_blocks_prepared<C: Code>(
    level: SimdLevel,
    fmt: &MiniFloat,
    opts: &ConvertOptions,
    p: Option<&EncParams>,
    src: &[f32],
    block_size: usize,
    scale_log2: &[i32],
    index0: u64,
    dst: &mut [C],
) -> Result<(), FormatError> {
    let Some(p) = p else {
        return encode_f32_blocks_scalar(fmt, opts, src, block_size, scale_log2, index0, dst);
    };
    let mut p = *p;
    p.stream = std::mem::size_of_val(dst) >= STREAM_BYTES;
    let blocks = Blocks {
        size: block_size,
        scales: scale_log2,
    };
    let err = if src.len() >= PAR_THRESHOLD {
        src.par_chunks(PAR_CHUNK)
            .zip(dst.par_chunks_mut(PAR_CHUNK))
            .enumerate()
            .map(|(k, (s, d))| {
                let e0 = k * PAR_CHUNK;
                let i0 = index0.wrapping_add(e0 as u64);
                encode_blocks_range(level, &p, opts, &blocks, e0, s, i0, d)
            })
            .reduce(|| false, |a, b| a | b)
    } else {
        encode_blocks_range(level, &p, opts, &blocks, 0, src, index0, dst)
    };
    if err {
        // As in `encode_f32_with`: the twin words the error.
        let x = if p.err_nan {
            f32::NAN
        } else {
            f32::NEG_INFINITY
        };
        return Err(fmt
            .encode_f32(x, opts, 0)
            .err()
            .unwrap_or_else(|| FormatError::NanInput(fmt.to_string())));
    }
    // Blocks with huge scales (the kernels skipped them): the twin.
    for (b, s) in scale_log2.iter().enumerate() {
        if !fast_scale(*s) {
            let r = b * block_size..((b + 1) * block_size).min(src.len());
            let i0 = index0.wrapping_add(r.start as u64);
            encode_f32_scalar(fmt, opts, &src[r.clone()], *s, i0, &mut dst[r])?;
        }
    }
    Ok(())
}

/// The scalar twin of [`encode_f32_blocks`]: [`encode_f32_scalar`] per block.
pub fn encode_f32_blocks_scalar<C: Code>(
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
        encode_f32_scalar(fmt, opts, s, scale_log2[b], i0, d)?;
    }
    Ok(())
}

/// The argument checks shared by the block encoders (programming errors:
/// they panic).
fn check_blocks(
    fmt: &MiniFloat,
    src: &[f32],
    block_size: usize,
    scale_log2: &[i32],
    dst_len: usize,
    code_bits: u32,
) {
    assert_eq!(src.len(), dst_len, "encode_f32_blocks: length mismatch");
    assert!(block_size > 0, "encode_f32_blocks: block size 0");
    assert_eq!(
        scale_log2.len(),
        src.len().div_ceil(block_size),
        "encode_f32_blocks: one scale per block"
    );
    assert!(
        fmt.bits() <= code_bits,
        "format {fmt} does not fit the code type"
    );
}

/// Largest magnitude of each block, as f32 bits: `out[b]` is the maximum of
/// `bits & 0x7fff_ffff` over elements `b × block_size ..` (the last block may
/// be short), so a NaN or ±inf shows as ≥ `0x7f80_0000`. `out` must hold
/// `src.len().div_ceil(block_size)` entries. Vectorized at
/// [`detected_level`], parallel for inputs of at least [`PAR_THRESHOLD`].
pub fn block_amax_bits(src: &[f32], block_size: usize, out: &mut [u32]) {
    assert!(block_size > 0, "block_amax_bits: block size 0");
    assert_eq!(
        out.len(),
        src.len().div_ceil(block_size),
        "block_amax_bits: one output per block"
    );
    let level = detected_level();
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

/// Decodes codes to f32 (`dst[i] = value(src[i])`), at [`detected_level`] and
/// in parallel for large inputs; bit-identical to [`decode_f32_scalar`]
/// (NaN payloads included).
pub fn decode_f32<C: Code>(fmt: &MiniFloat, src: &[C], dst: &mut [f32]) {
    decode_f32_with(detected_level(), fmt, src, dst)
}

/// [`decode_f32`] at a chosen [`SimdLevel`] (lowered to [`detected_level`]
/// if the CPU lacks it).
pub fn decode_f32_with<C: Code>(level: SimdLevel, fmt: &MiniFloat, src: &[C], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len(), "decode_f32: length mismatch");
    assert!(
        fmt.bits() <= C::BITS,
        "format {fmt} does not fit the code type"
    );
    if src.is_empty() {
        return;
    }
    let level = level.min(detected_level());
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
        None => return decode_f32_scalar(fmt, src, dst),
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

/// The scalar twin of [`decode_f32`]: one [`MiniFloat::decode_f32`] per element.
pub fn decode_f32_scalar<C: Code>(fmt: &MiniFloat, src: &[C], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len(), "decode_f32: length mismatch");
    for (c, d) in src.iter().zip(dst.iter_mut()) {
        *d = fmt.decode_f32(c.to_u32());
    }
}

// ---------------------------------------------------------------------------
// Encode

/// Rounding modes as const-generic tags, so the per-lane code has no branch
/// on the mode.
const RNE: u8 = 0;
const RNA: u8 = 1;
const RTZ: u8 = 2;
const RU: u8 = 3;
const RD: u8 = 4;
const RTO: u8 = 5;
const SR: u8 = 6;

/// A format, options and scale boiled down to the integer constants the
/// per-lane pipeline needs. Special inputs (±0, ±inf, NaN, negative values for
/// unsigned formats) take their codes from the twin itself, computed once.
#[derive(Debug, Clone, Copy)]
struct EncParams {
    /// Mantissa bits of the target.
    m: u32,
    /// Unbiased exponent of the lowest binade with the target's full precision.
    emin: i32,
    /// `emin + 127 + scale`: emin as a biased f32 exponent field of the
    /// input (≥ 1 whenever `simple`).
    eb: u32,
    /// `23 − m + eb`.
    s0_eb: u32,
    /// The format and scale fit `encode_lane_simple`.
    simple: bool,
    /// The format alone fits `encode_lane_simple` (signed, gradual
    /// underflow); `simple` adds the scale's condition.
    simple_fmt: bool,
    /// Write the output with non-temporal stores (large outputs).
    stream: bool,
    /// The divisor's exponent.
    scale: i32,
    /// Exponent field 0 is a flush-to-zero gap (`subnormals=off`).
    flush: bool,
    /// Exponent field 0 is a normal binade (`subnormals=none`: no zero).
    exp0_normal: bool,
    /// The implicit bit to subtract from a code when field 0 is normal.
    adj: u32,
    /// Largest finite magnitude code.
    max_mag: u32,
    /// The sign bit of a code (0 for unsigned formats).
    sign_bit: u32,
    /// Sign bits of a negative value whose magnitude rounds to 0.
    zneg_sign: u32,
    /// The format has no sign: every negative finite input gets `neg_fin`.
    unsigned: bool,
    neg_fin: u32,
    /// Overflow codes for positive / negative values, for this rounding mode.
    ovf_pos: u32,
    ovf_neg: u32,
    zero_pos: u32,
    zero_neg: u32,
    inf_pos: u32,
    inf_neg: u32,
    nan_pos: u32,
    nan_neg: u32,
    /// NaN payload: `frac >> nan_shift` is ORed into the NaN code (IEEE-style
    /// targets keep the top payload bits); 31 clears it.
    nan_shift: u32,
    /// NaN inputs (resp. −inf) are errors (NanPolicy::Error, no NaN code).
    err_nan: bool,
    err_neginf: bool,
    /// Stochastic rounding: compare the top `32 − sr_shift` bits.
    sr_shift: u32,
    sr_mask: u32,
}

impl EncParams {
    fn new(fmt: &MiniFloat, opts: &ConvertOptions, scale: i32) -> Result<Self, FormatError> {
        Ok(Self::unscaled(fmt, opts)?.with_scale(scale))
    }

    /// The parameters with scale 0 (the expensive part: the twin is asked
    /// for every special code). Only `with_scale` depends on the scale.
    fn unscaled(fmt: &MiniFloat, opts: &ConvertOptions) -> Result<Self, FormatError> {
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
    fn with_scale(&self, scale: i32) -> Self {
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
fn encode_lane_simple<const MODE: u8>(p: &EncParams, b: u32, rand: u32) -> u32 {
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
fn encode_lane_general<const MODE: u8>(p: &EncParams, b: u32, rand: u32) -> u32 {
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

/// Defines the AVX2 and the AVX-512 compilation of one body: the same code
/// under each `#[target_feature]` set, so LLVM vectorizes it for that ISA.
/// Inside the body, `nt_copy` is that ISA's streaming (non-temporal) copy.
/// Callers must only call each function on a CPU with its features.
macro_rules! per_isa {
    (fn [$avx2:ident, $avx512:ident] [$($gen:tt)*] ($($args:tt)*) $(-> $ret:ty)? $body:block) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        unsafe fn $avx2<$($gen)*>($($args)*) $(-> $ret)? {
            #[allow(unused_imports)]
            use nt::copy_avx2 as nt_copy;
            $body
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
        unsafe fn $avx512<$($gen)*>($($args)*) $(-> $ret)? {
            #[allow(unused_imports)]
            use nt::copy_avx512 as nt_copy;
            $body
        }
    };
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

/// Output bytes of one call from which stores bypass the cache: such an
/// output does not fit beside its input in the L3 anyway, and streaming
/// stores save the read-for-ownership of every destination line.
const STREAM_BYTES: usize = 8 << 20;

/// Elements per staging tile of the streaming path.
const TILE: usize = 256;

/// Non-temporal copies from a staging buffer into 64-byte-aligned memory.
#[cfg(target_arch = "x86_64")]
mod nt {
    use std::arch::x86_64::*;

    /// Copies `bytes` (a multiple of 64) from `src` to 64-byte-aligned `dst`.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub unsafe fn copy_avx2(dst: *mut u8, src: *const u8, bytes: usize) {
        let mut k = 0;
        while k < bytes {
            let v = _mm256_loadu_si256(src.add(k) as *const __m256i);
            _mm256_stream_si256(dst.add(k) as *mut __m256i, v);
            k += 32;
        }
    }

    /// Copies `bytes` (a multiple of 64) from `src` to 64-byte-aligned `dst`.
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub unsafe fn copy_avx512(dst: *mut u8, src: *const u8, bytes: usize) {
        let mut k = 0;
        while k < bytes {
            let v = _mm512_loadu_si512(src.add(k) as *const _);
            _mm512_stream_si512(dst.add(k) as *mut _, v);
            k += 64;
        }
    }

    /// Orders the streaming stores before anything that follows.
    #[inline]
    pub fn fence() {
        // SAFETY: SSE is part of the x86-64 baseline.
        unsafe { _mm_sfence() }
    }
}

/// Runs `kernel(offset, src_part, dst_part)` over `src`/`dst`, writing whole
/// 64-byte-aligned tiles of `dst` through a staging buffer and `copy`
/// (non-temporal stores); the unaligned head and the tail go direct.
/// Returns the OR of the kernel's results.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn streamed<I, O: Copy + Default>(
    src: &[I],
    dst: &mut [O],
    mut kernel: impl FnMut(usize, &[I], &mut [O]) -> bool,
    copy: impl Fn(*mut u8, *const u8, usize),
) -> bool {
    let n = src.len().min(dst.len());
    let size = std::mem::size_of::<O>();
    let head = (((64 - dst.as_ptr() as usize % 64) % 64) / size).min(n);
    let mut err = kernel(0, &src[..head], &mut dst[..head]);
    let mut off = head;
    let mut buf = [O::default(); TILE];
    while off + TILE <= n {
        err |= kernel(off, &src[off..off + TILE], &mut buf);
        // `dst[off..]` is 64-byte aligned and TILE × size a multiple of 64.
        copy(
            dst[off..].as_mut_ptr() as *mut u8,
            buf.as_ptr() as *const u8,
            TILE * size,
        );
        off += TILE;
    }
    err |= kernel(off, &src[off..n], &mut dst[off..n]);
    nt::fence();
    err
}

/// Runs the block kernel for one mode and shape at one level.
fn encode_at<const MODE: u8, const SIMPLE: bool, C: Code>(
    level: SimdLevel,
    p: &EncParams,
    src: &[f32],
    dst: &mut [C],
    key: u32,
    lo0: u32,
) -> bool {
    match level {
        // SAFETY: callers lower `level` to `detected_level()`, so the CPU has
        // the features these functions are compiled for.
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => unsafe {
            encode_block_avx512::<MODE, SIMPLE, C>(p, src, dst, key, lo0)
        },
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => unsafe { encode_block_avx2::<MODE, SIMPLE, C>(p, src, dst, key, lo0) },
        _ => encode_block::<MODE, SIMPLE, C>(p, src, dst, key, lo0),
    }
}

/// Picks the shape (simple or general) for one mode.
fn encode_shape<const MODE: u8, C: Code>(
    level: SimdLevel,
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
fn encode_range<C: Code>(
    level: SimdLevel,
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
        err |= match opts.rounding {
            Rounding::Rne => encode_shape::<RNE, C>(level, p, s, d, key, lo),
            Rounding::Rna => encode_shape::<RNA, C>(level, p, s, d, key, lo),
            Rounding::Rtz => encode_shape::<RTZ, C>(level, p, s, d, key, lo),
            Rounding::Ru => encode_shape::<RU, C>(level, p, s, d, key, lo),
            Rounding::Rd => encode_shape::<RD, C>(level, p, s, d, key, lo),
            Rounding::Rto => encode_shape::<RTO, C>(level, p, s, d, key, lo),
            Rounding::Sr => encode_shape::<SR, C>(level, p, s, d, key, lo),
        };
        off += room;
        idx = idx.wrapping_add(room as u64);
    }
    err
}

// ---------------------------------------------------------------------------
// Block-scaled encode

/// Block layout of an `encode_f32_blocks` call.
struct Blocks<'a> {
    size: usize,
    scales: &'a [i32],
}

/// Vector width of the block kernels' inner loop: a fixed trip count, so
/// LLVM vectorizes it whole (its own loop would pick a step wider than a
/// 32-element block and leave every block to the scalar remainder).
const LANES: usize = 16;

/// The lane pipeline over one run of elements sharing one scale, in
/// fixed-width groups of [`LANES`] plus a tail; element `i` has low SR index
/// `lo0 + i`.
#[inline(always)]
fn encode_lanes<const MODE: u8, const SIMPLE: bool, C: Code>(
    p: &EncParams,
    src: &[f32],
    dst: &mut [C],
    key: u32,
    lo0: u32,
) {
    let lane = |i: usize, x: f32| {
        let rand = if MODE == SR {
            sr_random(key, lo0.wrapping_add(i as u32))
        } else {
            0
        };
        let b = x.to_bits();
        C::from_u32(if SIMPLE {
            encode_lane_simple::<MODE>(p, b, rand)
        } else {
            encode_lane_general::<MODE>(p, b, rand)
        })
    };
    let n = src.len().min(dst.len());
    let full = n / LANES * LANES;
    for (g, (s, d)) in src[..full]
        .chunks_exact(LANES)
        .zip(dst[..full].chunks_exact_mut(LANES))
        .enumerate()
    {
        let s: &[f32; LANES] = s.try_into().expect("exact chunk");
        let d: &mut [C; LANES] = d.try_into().expect("exact chunk");
        for j in 0..LANES {
            d[j] = lane(g * LANES + j, s[j]);
        }
    }
    for i in full..n {
        dst[i] = lane(i, src[i]);
    }
}

/// The block kernel: `src[0]` is element `e0` of the call, SR indices as in
/// `encode_block`. Each block's parameters come from the call's by one
/// `with_scale`; blocks whose scale the pipeline does not take are left for
/// the caller (the twin). Returns whether any element is an error.
#[inline(always)]
fn encode_blocks_seg<const MODE: u8, C: Code>(
    base: &EncParams,
    blocks: &Blocks,
    e0: usize,
    src: &[f32],
    dst: &mut [C],
    key: u32,
    lo0: u32,
) -> bool {
    let base = *base; // a by-value copy, see `encode_block`
    let n = src.len().min(dst.len());
    let (src, dst) = (&src[..n], &mut dst[..n]);
    let mut b = e0 / blocks.size;
    let mut start = e0 - b * blocks.size; // position inside block b
    let mut off = 0;
    while off < n {
        let len = (blocks.size - start).min(n - off);
        let scale = blocks.scales[b];
        if fast_scale(scale) {
            let p = base.with_scale(scale);
            let (s, d) = (&src[off..off + len], &mut dst[off..off + len]);
            let lo = lo0.wrapping_add(off as u32);
            if p.simple {
                encode_lanes::<MODE, true, C>(&p, s, d, key, lo);
            } else {
                encode_lanes::<MODE, false, C>(&p, s, d, key, lo);
            }
        }
        off += len;
        b += 1;
        start = 0;
    }
    (base.err_nan && src.iter().any(|x| x.is_nan()))
        || (base.err_neginf && src.contains(&f32::NEG_INFINITY))
}

per_isa! {
    fn [encode_blocks_avx2, encode_blocks_avx512] [const MODE: u8, C: Code] (
        p: &EncParams,
        blocks: &Blocks,
        e0: usize,
        src: &[f32],
        dst: &mut [C],
        key: u32,
        lo0: u32,
    ) -> bool {
        if p.stream {
            let kernel = |off: usize, s: &[f32], d: &mut [C]| {
                encode_blocks_seg::<MODE, C>(
                    p,
                    blocks,
                    e0 + off,
                    s,
                    d,
                    key,
                    lo0.wrapping_add(off as u32),
                )
            };
            // SAFETY: each compilation only runs on CPUs with its ISA.
            streamed(src, dst, kernel, |d, s, n| unsafe {
                nt_copy(d, s, n)
            })
        } else {
            encode_blocks_seg::<MODE, C>(p, blocks, e0, src, dst, key, lo0)
        }
    }
}

/// Runs the block kernel for one mode at one level.
#[allow(clippy::too_many_arguments)]
fn encode_blocks_at<const MODE: u8, C: Code>(
    level: SimdLevel,
    p: &EncParams,
    blocks: &Blocks,
    e0: usize,
    src: &[f32],
    dst: &mut [C],
    key: u32,
    lo0: u32,
) -> bool {
    match level {
        // SAFETY: callers lower `level` to `detected_level()`.
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => unsafe {
            encode_blocks_avx512::<MODE, C>(p, blocks, e0, src, dst, key, lo0)
        },
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => unsafe {
            encode_blocks_avx2::<MODE, C>(p, blocks, e0, src, dst, key, lo0)
        },
        _ => encode_blocks_seg::<MODE, C>(p, blocks, e0, src, dst, key, lo0),
    }
}

/// `encode_range` for blocks: `src[0]` is element `e0` of the call.
#[allow(clippy::too_many_arguments)]
fn encode_blocks_range<C: Code>(
    level: SimdLevel,
    p: &EncParams,
    opts: &ConvertOptions,
    blocks: &Blocks,
    e0: usize,
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
        let e = e0 + off;
        err |= match opts.rounding {
            Rounding::Rne => encode_blocks_at::<RNE, C>(level, p, blocks, e, s, d, key, lo),
            Rounding::Rna => encode_blocks_at::<RNA, C>(level, p, blocks, e, s, d, key, lo),
            Rounding::Rtz => encode_blocks_at::<RTZ, C>(level, p, blocks, e, s, d, key, lo),
            Rounding::Ru => encode_blocks_at::<RU, C>(level, p, blocks, e, s, d, key, lo),
            Rounding::Rd => encode_blocks_at::<RD, C>(level, p, blocks, e, s, d, key, lo),
            Rounding::Rto => encode_blocks_at::<RTO, C>(level, p, blocks, e, s, d, key, lo),
            Rounding::Sr => encode_blocks_at::<SR, C>(level, p, blocks, e, s, d, key, lo),
        };
        off += room;
        idx = idx.wrapping_add(room as u64);
    }
    err
}

/// Per-block maxima of `bits & 0x7fff_ffff` (portable; LLVM does not turn
/// short per-block reductions into vector code, hence the intrinsics below).
#[inline(always)]
fn amax_blocks(src: &[f32], block_size: usize, out: &mut [u32]) {
    for (blk, o) in src.chunks(block_size).zip(out.iter_mut()) {
        *o = blk
            .iter()
            .fold(0u32, |m, x| m.max(x.to_bits() & 0x7fff_ffff));
    }
}

/// `amax_blocks` with 8-lane unsigned maxima, for block sizes that are a
/// multiple of 8 (others take the portable loop).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn amax_blocks_avx2(src: &[f32], block_size: usize, out: &mut [u32]) {
    use std::arch::x86_64::*;
    if !block_size.is_multiple_of(8) {
        return amax_blocks(src, block_size, out);
    }
    let mask = _mm256_set1_epi32(0x7fff_ffff);
    let whole = src.len() / block_size;
    for (b, o) in out[..whole].iter_mut().enumerate() {
        let p = src[b * block_size..].as_ptr();
        let mut acc = _mm256_setzero_si256();
        let mut k = 0;
        while k < block_size {
            // SAFETY: `k + 8 ≤ block_size` elements from the block's start are in `src`.
            let v = unsafe { _mm256_loadu_si256(p.add(k) as *const __m256i) };
            acc = _mm256_max_epu32(acc, _mm256_and_si256(v, mask));
            k += 8;
        }
        let m = _mm_max_epu32(
            _mm256_castsi256_si128(acc),
            _mm256_extracti128_si256::<1>(acc),
        );
        let m = _mm_max_epu32(m, _mm_shuffle_epi32::<0b0100_1110>(m));
        let m = _mm_max_epu32(m, _mm_shuffle_epi32::<0b1011_0001>(m));
        *o = _mm_cvtsi128_si32(m) as u32;
    }
    amax_blocks(&src[whole * block_size..], block_size, &mut out[whole..]);
}

/// `amax_blocks` with 16-lane unsigned maxima, for block sizes that are a
/// multiple of 16 (others take the AVX2 code).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn amax_blocks_avx512(src: &[f32], block_size: usize, out: &mut [u32]) {
    use std::arch::x86_64::*;
    if !block_size.is_multiple_of(16) {
        return amax_blocks_avx2(src, block_size, out);
    }
    let mask = _mm512_set1_epi32(0x7fff_ffff);
    let whole = src.len() / block_size;
    for (b, o) in out[..whole].iter_mut().enumerate() {
        let p = src[b * block_size..].as_ptr();
        let mut acc = _mm512_setzero_si512();
        let mut k = 0;
        while k < block_size {
            // SAFETY: `k + 16 ≤ block_size` elements from the block's start are in `src`.
            let v = unsafe { _mm512_loadu_si512(p.add(k) as *const _) };
            acc = _mm512_max_epu32(acc, _mm512_and_si512(v, mask));
            k += 16;
        }
        *o = _mm512_reduce_max_epu32(acc);
    }
    amax_blocks_avx2(&src[whole * block_size..], block_size, &mut out[whole..]);
}

fn amax_at(level: SimdLevel, src: &[f32], block_size: usize, out: &mut [u32]) {
    match level {
        // SAFETY: `level` is `detected_level()`.
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => unsafe { amax_blocks_avx512(src, block_size, out) },
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => unsafe { amax_blocks_avx2(src, block_size, out) },
        _ => amax_blocks(src, block_size, out),
    }
}

// ---------------------------------------------------------------------------
// Decode

/// A format whose every value is an f32 (so decoding never rounds), as the
/// constants of the arithmetic decoder.
#[derive(Debug, Clone, Copy)]
struct DecParams {
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
    fn new(fmt: &MiniFloat) -> Option<Self> {
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

enum Decoder {
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

fn decode_at<C: Code>(level: SimdLevel, dec: &Decoder, src: &[C], dst: &mut [f32], stream: bool) {
    match level {
        // SAFETY: `level` was lowered to `detected_level()`.
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => unsafe { decode_block_avx512(dec, src, dst, stream) },
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => unsafe { decode_block_avx2(dec, src, dst, stream) },
        _ => decode_block(dec, src, dst),
    }
}
