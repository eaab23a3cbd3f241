//! The block-scaled encode (one scale per block, for MX): the prepared
//! [`BlockEncoder`], the block kernels, and the per-block maxima that MX
//! scales come from.

use super::encode::{
    encode_lane_general, encode_lane_simple, twin_error, with_mode, EncParams, SR,
};
use super::per_isa::per_isa;
#[cfg(target_arch = "x86_64")]
use super::per_isa::streamed;
use super::{encode_f32_blocks_reference, encode_f32_reference, fast_scale, sr_fast, Code};
use super::{PAR_CHUNK, PAR_THRESHOLD, STREAM_BYTES};
use crate::formats::rounding::{sr_key, sr_random};
use crate::formats::{ConvertOptions, FormatError, MiniFloat};
use crate::isa::{self, IsaLevel};
use rayon::prelude::*;

/// A format and options prepared once for many [`BlockEncoder::encode_blocks`]
/// calls, for callers that interleave small block encodes with other work
/// (MX quantization computes a tile's scales, then encodes it while it is
/// still in cache).
#[derive(Debug, Clone)]
pub struct BlockEncoder {
    fmt: MiniFloat,
    opts: ConvertOptions,
    level: IsaLevel,
    /// `None` when the options send everything to the twin.
    params: Option<EncParams>,
}

impl BlockEncoder {
    /// Prepares `fmt` and `opts` at [`isa::effective`]. Fails where
    /// [`encode_f32`](super::encode_f32) would fail on every non-empty input with a scale of at
    /// most 512 in magnitude (an overflow policy the format lacks).
    pub fn new(fmt: &MiniFloat, opts: &ConvertOptions) -> Result<Self, FormatError> {
        Self::with_level(isa::effective(), fmt, opts)
    }

    /// [`BlockEncoder::new`] at a chosen [`IsaLevel`] (lowered to
    /// [`isa::supported`] if the CPU lacks it).
    pub fn with_level(
        level: IsaLevel,
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
            level: isa::supported(level),
            params,
        })
    }

    /// [`encode_f32_blocks`](super::encode_f32_blocks) with the prepared format and options: the same
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

/// The body of the block encoders, on checked, non-empty arguments; `p` is
/// `None` when no block may take the vector pipeline.
#[allow(clippy::too_many_arguments)]
pub(super) fn encode_blocks_prepared<C: Code>(
    level: IsaLevel,
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
        return encode_f32_blocks_reference(fmt, opts, src, block_size, scale_log2, index0, dst);
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
        return Err(twin_error(fmt, opts, &p));
    }
    // Blocks with huge scales (the kernels skipped them): the twin.
    for (b, s) in scale_log2.iter().enumerate() {
        if !fast_scale(*s) {
            let r = b * block_size..((b + 1) * block_size).min(src.len());
            let i0 = index0.wrapping_add(r.start as u64);
            encode_f32_reference(fmt, opts, &src[r.clone()], *s, i0, &mut dst[r])?;
        }
    }
    Ok(())
}

/// The argument checks shared by the block encoders (programming errors:
/// they panic).
pub(super) fn check_blocks(
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
    level: IsaLevel,
    p: &EncParams,
    blocks: &Blocks,
    e0: usize,
    src: &[f32],
    dst: &mut [C],
    key: u32,
    lo0: u32,
) -> bool {
    isa::dispatch!(level,
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX-512 F/BW/VL.
        avx512 => unsafe { encode_blocks_avx512::<MODE, C>(p, blocks, e0, src, dst, key, lo0) },
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2.
        avx2 => unsafe { encode_blocks_avx2::<MODE, C>(p, blocks, e0, src, dst, key, lo0) },
        scalar => encode_blocks_seg::<MODE, C>(p, blocks, e0, src, dst, key, lo0),
    )
}

/// `encode_range` for blocks: `src[0]` is element `e0` of the call.
#[allow(clippy::too_many_arguments)]
fn encode_blocks_range<C: Code>(
    level: IsaLevel,
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
        err |= with_mode!(opts.rounding, MODE => {
            encode_blocks_at::<MODE, C>(level, p, blocks, e, s, d, key, lo)
        });
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
        *o = amax_bits(blk);
    }
}

/// Largest `|x|` bit pattern of one block (NaN/inf show as ≥ 0x7f80_0000):
/// the portable reduction, shared with the NVFP4 quantizer.
#[inline(always)]
pub(crate) fn amax_bits(block: &[f32]) -> u32 {
    block
        .iter()
        .fold(0u32, |m, x| m.max(x.to_bits() & 0x7fff_ffff))
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

/// Per-block maxima of `bits & 0x7fff_ffff` at one level.
pub(super) fn amax_at(level: IsaLevel, src: &[f32], block_size: usize, out: &mut [u32]) {
    isa::dispatch!(level,
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX-512 F/BW/VL.
        avx512 => unsafe { amax_blocks_avx512(src, block_size, out) },
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2.
        avx2 => unsafe { amax_blocks_avx2(src, block_size, out) },
        scalar => amax_blocks(src, block_size, out),
    )
}
