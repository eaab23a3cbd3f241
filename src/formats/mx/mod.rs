//! MX (OCP Microscaling v1.0) and NVFP4 block quantization.
//!
//! Blocks run along the last axis: a tensor is `rows × row_len`, each row is
//! cut into blocks of `block_size` elements (the last one may be shorter).
//!
//! # MX (OCP Microscaling Formats v1.0, §5 and §6.3)
//!
//! Each block shares one E8M0 scale `2^X`. `X` is chosen from the block's
//! largest magnitude `amax` by a [`ScaleRule`](super::ScaleRule); `emax_elem` is
//! `floor(log2(element max × 2^element_scale_log2))`: 8 (E4M3), 15 (E5M2),
//! 2 (E2M3), 4 (E3M2), 2 (E2M1), 0 (INT8).
//!
//! | rule | X | source |
//! |---|---|---|
//! | `floor` | `floor(log2 amax) − emax_elem` | OCP MX v1.0 §6.3 (the spec's conversion) |
//! | `ceil` | `ceil(log2 amax) − emax_elem` | torchao `ScaleCalculationMode.CEIL` |
//! | `rceil` | `ceil(log2 q)`, `q = amax / max_elem` rounded to f32 first | NVIDIA PTX `cvt.rp.satfinite.ue8m0x2.f32` on the f32 quotient (cuBLAS "1D block quantization") |
//! | `even` | `floor(log2 r) − emax_elem`, `r` = amax rounded half-up to the element's mantissa width | torchao `ScaleCalculationMode.EVEN` |
//!
//! `floor(log2 ·)` is read from the f32 exponent bits (f32 subnormals via
//! leading zeros), never from `log2()`: `log2(511.99997_f32)` rounds to 9.0.
//! For `even` the rounding is torchao's bit trick `(bits + 2^(22 − m)) & exponent mask`
//! with `m` the element's mantissa bits (MXINT8, which torchao lacks: `m = 6`,
//! the fraction bits of 127 × 2^−6 = 1.111111b). Where the rounding carries past
//! the f32 range we keep the mathematical `X = 128 − emax_elem` (torchao's f32
//! overflows to inf and gives a NaN scale).
//!
//! Then, for every rule (OCP §5.4.1, §6.3):
//! - `X > 127` → scale NaN (0xFF); `X < −127` → clamped to −127.
//! - `amax = 0` → scale code 0 (2^−127), every element ±0 (−0 kept where the
//!   element format has it).
//! - A NaN or ±inf anywhere in the block → scale NaN. A NaN scale makes the
//!   whole block decode as NaN; its element codes are stored as 0 and carry
//!   nothing. Under `NanPolicy::Error` a NaN input is an error instead (for
//!   NVFP4 too).
//! - Elements are `V / 2^X` rounded once with `opts.rounding`, normals clamped to
//!   the element max: MX elements **always saturate** (OCP §6.3 "clamp to the
//!   maximum normal"), whatever `opts.overflow` says. MXINT8 elements are
//!   `round(V / 2^X / 2^−6)` clamped to ±127 (symmetric int8, −128 unused).
//! - Under stochastic rounding element `i` (row-major flat index) uses random
//!   index `i`, so the output does not depend on blocking or threading.
//!
//! NVIDIA's `cvt...satfinite` would clamp an `rceil` scale above 2^127 to 0xFE;
//! we apply the OCP rule (NaN) uniformly. It is only reachable for MXINT8.
//!
//! # NVFP4
//!
//! E2M1 elements, blocks of 16, an E4M3 block scale, and an f32 tensor scale
//! (NVIDIA's recipe, as in TensorRT Model Optimizer's NVFP4 quantizer):
//! - `tensor_scale = amax_tensor / (448 × 6)` in f32; `1.0` when that is 0
//!   (all-zero tensor, or an amax so small the quotient underflows). NaN and
//!   ±inf are left out of `amax_tensor` so one bad value cannot poison every block.
//! - `block scale = E4M3_rne_saturating((amax_block / 6) / tensor_scale)`, both
//!   divisions in f32.
//! - `element = E2M1(v / (block_scale × tensor_scale))`, rounded once with
//!   `opts.rounding`, saturating (E2M1 has no inf/NaN). The divisor is exact in
//!   f64 (4 × 24 significant bits); the quotient is computed rounded-to-odd at
//!   53 bits ([`div_round_odd`]), which makes the later rounding to E2M1 (2 bits,
//!   plus ≤ 32 stochastic bits) equal to rounding the exact quotient
//!   (Boldo & Melquiond, "When double rounding is odd", 2005).
//! - A block whose scale code decodes to 0 (all zeros, or amax too small for
//!   E4M3) stores ±0 elements and decodes to ±0 (no division by zero).
//! - A NaN or ±inf in a block → block scale E4M3 NaN (0x7F); the block decodes as NaN.
//! - Dequantize: `e2m1 × block_scale × tensor_scale`, exact in f64, rounded once to f32.

mod nv;
mod reference;

pub use self::reference::quantize_reference;

use self::nv::quantize_nv;
use super::fast;
use super::{exp2i, Class};
use super::{
    BlockFormat, BlockKind, ConvertOptions, ElementFormat, FormatError, NanPolicy, Overflow,
};

/// A block-quantized tensor: one code per element, one scale code per block.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockTensor {
    /// The format.
    pub format: BlockFormat,
    /// Elements per row (the blocked axis).
    pub row_len: usize,
    /// Element codes, one per element, unpacked (row-major).
    pub codes: Vec<u8>,
    /// Block scale codes (E8M0 for MX, E4M3 for NVFP4), row-major by block.
    pub scales: Vec<u8>,
    /// NVFP4 per-tensor f32 scale (None for MX).
    pub tensor_scale: Option<f32>,
}

/// Facts about a block format's element used by the scale rules.
#[derive(Debug, Clone, Copy)]
struct ElemInfo {
    /// floor(log2(max value × 2^element_scale_log2)).
    emax: i32,
    /// Mantissa bits used by the `even` rule.
    mbits: u32,
    /// Max value × 2^element_scale_log2, as f32 (exact for every preset).
    max_f32: f32,
}

fn elem_info(fmt: &BlockFormat) -> ElemInfo {
    let (max, mbits) = match fmt.element {
        ElementFormat::Float(f) => (f.max_value(), f.mbits),
        ElementFormat::Int(i) => {
            let m = i.max_int() as u64;
            // Fraction bits of max_int written as 1.fff…b × 2^k.
            (m as f64, 63 - m.leading_zeros())
        }
    };
    let max = max * exp2i(fmt.element_scale_log2);
    // floor(log2) of a positive f64 from its exponent field (max is normal).
    let emax = ((max.to_bits() >> 52) & 0x7ff) as i32 - 1023;
    ElemInfo {
        emax,
        mbits,
        max_f32: max as f32,
    }
}

fn check_shape(fmt: &BlockFormat, len: usize, row_len: usize) -> Result<(), FormatError> {
    if row_len == 0 {
        return Err(FormatError::BadOption(format!(
            "{fmt}: row length must be > 0 (got 0)"
        )));
    }
    if !len.is_multiple_of(row_len) {
        return Err(FormatError::BadOption(format!(
            "{fmt}: {len} elements do not split into rows of {row_len}"
        )));
    }
    if fmt.block_size == 0 {
        return Err(FormatError::BadFormat(format!(
            "{fmt}: block size must be > 0"
        )));
    }
    Ok(())
}

fn check_format(fmt: &BlockFormat) -> Result<(), FormatError> {
    match fmt.kind {
        BlockKind::Mx => {
            if fmt.scale != super::parse::E8M0 {
                return Err(FormatError::BadFormat(format!(
                    "{fmt}: an MX block scale must be E8M0, got {}",
                    fmt.scale
                )));
            }
            if fmt.element.bits() > 8 {
                return Err(FormatError::BadFormat(format!(
                    "{fmt}: element format {} is wider than 8 bits",
                    fmt.element
                )));
            }
        }
        BlockKind::Nv => {
            if !matches!(fmt.element, ElementFormat::Float(_)) || fmt.element.bits() > 8 {
                return Err(FormatError::BadFormat(format!(
                    "{fmt}: an NVFP4-style element must be a minifloat of at most 8 bits, got {}",
                    fmt.element
                )));
            }
            if fmt.scale.bits() > 8 || !fmt.scale.has_nan() || fmt.element_scale_log2 != 0 {
                return Err(FormatError::BadFormat(format!(
                    "{fmt}: an NVFP4-style block scale must be an 8-bit minifloat with NaN and no element scale"
                )));
            }
        }
    }
    Ok(())
}

/// Element conversion options: `opts` with saturation forced (MX and NVFP4
/// elements always clamp to the element max).
fn element_options(
    fmt: &BlockFormat,
    opts: &ConvertOptions,
) -> Result<ConvertOptions, FormatError> {
    let o = ConvertOptions {
        overflow: Some(Overflow::Saturate),
        ..*opts
    };
    fmt.element.check_options(&o)?;
    Ok(o)
}

/// Under [`NanPolicy::Error`] a NaN input is refused: a block would carry it
/// as a NaN scale, which is what the policy forbids.
fn check_nan(fmt: &BlockFormat, opts: &ConvertOptions, data: &[f32]) -> Result<(), FormatError> {
    if opts.nan == NanPolicy::Error && data.iter().any(|x| x.is_nan()) {
        return Err(FormatError::NanInput(fmt.to_string()));
    }
    Ok(())
}

/// floor(log2(x)) of a positive finite f32 given its non-zero magnitude bits.
#[inline(always)]
fn floor_log2_bits(b: u32) -> i32 {
    let e = (b >> 23) as i32;
    if e != 0 {
        e - 127
    } else {
        // Subnormal: value = b × 2^−149, its top set bit is bit 31 − lz.
        -149 + 31 - b.leading_zeros() as i32
    }
}

/// ceil(log2(x)) of a positive finite f32 given its non-zero magnitude bits.
#[inline(always)]
fn ceil_log2_bits(b: u32) -> i32 {
    let exact_pow2 = if b >> 23 != 0 {
        b & 0x7f_ffff == 0
    } else {
        b.is_power_of_two()
    };
    floor_log2_bits(b) + (!exact_pow2) as i32
}

/// The E8M0 scale code of an MX block from the bits of its amax (`|x|` bits,
/// so ≥ 0x7f80_0000 means a NaN or inf was present).
#[inline]
fn mx_scale_code(rule: super::ScaleRule, amax_bits: u32, info: &ElemInfo) -> u8 {
    use super::ScaleRule::*;
    if amax_bits >= 0x7f80_0000 {
        return 0xff;
    }
    if amax_bits == 0 {
        return 0;
    }
    let x = match rule {
        Floor => floor_log2_bits(amax_bits) - info.emax,
        Ceil => ceil_log2_bits(amax_bits) - info.emax,
        Rceil => {
            // The f32 quotient, as the hardware sees it, then round up to a power of two.
            let q = (f32::from_bits(amax_bits) / info.max_f32).to_bits();
            if q == 0 {
                -1000 // underflowed: far below 2^−127, clamps
            } else if q >= 0x7f80_0000 {
                1000 // overflowed: NaN scale
            } else {
                ceil_log2_bits(q)
            }
        }
        Even => {
            let add = if info.mbits >= 23 {
                0
            } else {
                1u32 << (22 - info.mbits)
            };
            let r = (amax_bits + add) & 0x7f80_0000;
            if r == 0 {
                -1000
            } else {
                (r >> 23) as i32 - 127 - info.emax
            }
        }
    };
    if x > 127 {
        0xff
    } else {
        (x.max(-127) + 127) as u8
    }
}

/// The E8M0 scale rule of an MX block format, prepared once: the scale code
/// a block gets from the bits of its amax, exactly as [`quantize`] picks it
/// (for callers that lay out blocks themselves, like the format explorer).
#[derive(Debug, Clone, Copy)]
pub struct MxScaler {
    rule: super::ScaleRule,
    info: ElemInfo,
}

impl MxScaler {
    /// The scale rule of `fmt` (its element, element scale and rule).
    pub fn new(fmt: &BlockFormat) -> Self {
        MxScaler {
            rule: fmt.rule,
            info: elem_info(fmt),
        }
    }

    /// The E8M0 code for a block whose largest magnitude has f32 bits
    /// `amax_bits` (sign cleared; ≥ 0x7f80_0000 for NaN/inf: 0xFF).
    #[inline]
    pub fn code(&self, amax_bits: u32) -> u8 {
        mx_scale_code(self.rule, amax_bits, &self.info)
    }
}

/// Quantizes `data` (rows of `row_len` elements) to a block format.
///
/// Fails when `row_len` is 0 or does not divide `data.len()`, when the format
/// is not a valid MX/NVFP4-style description, or on invalid `opts`
/// (`opts.overflow` is ignored: elements saturate). See the module docs for
/// every rule.
pub fn quantize(
    fmt: &BlockFormat,
    opts: &ConvertOptions,
    data: &[f32],
    row_len: usize,
) -> Result<BlockTensor, FormatError> {
    check_format(fmt)?;
    check_shape(fmt, data.len(), row_len)?;
    let eopts = element_options(fmt, opts)?;
    check_nan(fmt, opts, data)?;
    match fmt.kind {
        BlockKind::Mx => quantize_mx(fmt, &eopts, data, row_len),
        BlockKind::Nv => quantize_nv(fmt, &eopts, data, row_len),
    }
}

fn blocks_per_row(fmt: &BlockFormat, row_len: usize) -> usize {
    row_len.div_ceil(fmt.block_size)
}

/// Elements per MX tile: a tile's block maxima, scales and codes are all
/// computed while its inputs are in the L1 cache, so the data is read from
/// memory once.
const MX_TILE: usize = 4096;

/// Most blocks in one tile (bounds the per-tile stack buffers).
const MX_TILE_BLOCKS: usize = 256;

fn quantize_mx(
    fmt: &BlockFormat,
    eopts: &ConvertOptions,
    data: &[f32],
    row_len: usize,
) -> Result<BlockTensor, FormatError> {
    let bs = fmt.block_size;
    let nblocks = data.len() / row_len * blocks_per_row(fmt, row_len);
    // Segments of whole blocks: when rows hold whole blocks the flat tensor
    // is uniform and is cut anywhere on a block boundary, else per row.
    let seg_len = if row_len.is_multiple_of(bs) {
        (fast::PAR_CHUNK / bs).max(1) * bs
    } else {
        row_len
    };
    let seg_blocks = seg_len.div_ceil(bs);
    let mut codes = vec![0u8; data.len()];
    let mut scales = vec![0u8; nblocks];
    // Prepared once; its error only counts if some block is encoded (as
    // when `fast::encode_f32` ran per block).
    let enc = match &fmt.element {
        ElementFormat::Float(f) => Some(fast::BlockEncoder::new(f, eopts)),
        ElementFormat::Int(_) => None,
    };
    let ctx = MxCtx {
        fmt,
        info: elem_info(fmt),
        eopts,
        enc: enc.as_ref(),
    };
    for_segments(
        data,
        (&mut codes, &mut scales),
        (seg_len, seg_blocks),
        |k, seg, cseg, sseg| mx_segment(&ctx, seg, cseg, sseg, k * seg_len),
    )?;
    Ok(BlockTensor {
        format: *fmt,
        row_len,
        codes,
        scales,
        tensor_scale: None,
    })
}

/// Runs `work(k, inputs, codes, scale codes)` on segment `k` of `data`
/// (`lens.0` inputs and codes, `lens.1` scale codes per segment; the last
/// may be short), on rayon's pool when the tensor is large. Segments are
/// independent, so the bits are those of one sequential pass; the first
/// error is returned.
fn for_segments(
    data: &[f32],
    (codes, scales): (&mut [u8], &mut [u8]),
    (seg_len, seg_blocks): (usize, usize),
    work: impl Fn(usize, &[f32], &mut [u8], &mut [u8]) -> Result<(), FormatError> + Sync,
) -> Result<(), FormatError> {
    use rayon::prelude::*;
    if data.len() >= fast::PAR_THRESHOLD {
        data.par_chunks(seg_len)
            .zip(codes.par_chunks_mut(seg_len))
            .zip(scales.par_chunks_mut(seg_blocks))
            .enumerate()
            .try_for_each(|(k, ((d, c), s))| work(k, d, c, s))
    } else {
        data.chunks(seg_len)
            .zip(codes.chunks_mut(seg_len))
            .zip(scales.chunks_mut(seg_blocks))
            .enumerate()
            .try_for_each(|(k, ((d, c), s))| work(k, d, c, s))
    }
}

/// What every MX segment needs.
struct MxCtx<'a> {
    fmt: &'a BlockFormat,
    info: ElemInfo,
    eopts: &'a ConvertOptions,
    /// The prepared element encoder (minifloat elements only).
    enc: Option<&'a Result<fast::BlockEncoder, FormatError>>,
}

/// Quantizes one segment (whole blocks, the last one possibly short) whose
/// first element has flat index `seg0`, tile by tile.
fn mx_segment(
    ctx: &MxCtx,
    seg: &[f32],
    cseg: &mut [u8],
    sseg: &mut [u8],
    seg0: usize,
) -> Result<(), FormatError> {
    let fmt = ctx.fmt;
    let bs = fmt.block_size;
    let tile_blocks = (MX_TILE / bs).clamp(1, MX_TILE_BLOCKS);
    let mut amax = [0u32; MX_TILE_BLOCKS];
    let mut shifts = [0i32; MX_TILE_BLOCKS];
    for (t, ((tile, ctile), stile)) in seg
        .chunks(tile_blocks * bs)
        .zip(cseg.chunks_mut(tile_blocks * bs))
        .zip(sseg.chunks_mut(tile_blocks))
        .enumerate()
    {
        let nb = stile.len();
        fast::block_amax_bits(tile, bs, &mut amax[..nb]);
        for ((s, sh), &a) in stile.iter_mut().zip(&mut shifts).zip(&amax[..nb]) {
            *s = mx_scale_code(fmt.rule, a, &ctx.info);
            *sh = *s as i32 - 127 + fmt.element_scale_log2;
        }
        let tile0 = seg0 + t * tile_blocks * bs;
        // Runs of blocks with finite scales. A NaN scale's codes stay 0 (the
        // scale carries the whole block), and its block is never encoded: it
        // would trip a NaN-error policy on a NaN the scale already records.
        let mut b = 0;
        while b < nb {
            if stile[b] == 0xff {
                b += 1;
                continue;
            }
            let run = stile[b..].iter().position(|&s| s == 0xff).unwrap_or(nb - b);
            let r = b * bs..((b + run) * bs).min(tile.len());
            let index0 = (tile0 + r.start) as u64;
            let (src, dst) = (&tile[r.clone()], &mut ctile[r]);
            let shifts = &shifts[b..b + run];
            match (&fmt.element, ctx.enc) {
                (ElementFormat::Float(_), Some(enc)) => {
                    let enc = enc.as_ref().map_err(|e| e.clone())?;
                    enc.encode_blocks(src, bs, shifts, index0, dst)?
                }
                (ElementFormat::Int(i), _) => {
                    for (j, (x, c)) in src.iter().zip(dst.iter_mut()).enumerate() {
                        let k = exp2i(-shifts[j / bs]);
                        // Exact: a power-of-two scaling of an f32 stays far inside f64.
                        *c = i.encode(*x as f64 * k, ctx.eopts, index0 + j as u64)? as u8;
                    }
                }
                (ElementFormat::Float(_), None) => unreachable!("prepared for minifloats"),
            }
            b += run;
        }
    }
    Ok(())
}

/// `a / b` rounded to odd at f64 precision: the truncated quotient with its last
/// bit set when inexact. Rounding this to any format of at most 51 significant
/// bits (stochastic-rounding bits included) gives the same result as rounding
/// the exact quotient (Boldo & Melquiond 2005).
///
/// Requires finite non-zero `a`, `b` whose quotient and remainder stay in the
/// normal f64 range (true for every f32 / product-of-f32 pair used here).
pub fn div_round_odd(a: f64, b: f64) -> f64 {
    let q = a / b;
    // The remainder of a round-to-nearest division is exactly representable,
    // and the fused multiply-add computes it exactly.
    let r = (-q).mul_add(b, a);
    if r == 0.0 || q.to_bits() & 1 == 1 {
        return q;
    }
    // Inexact with an even last bit: the exact quotient lies strictly between q
    // and its neighbour on the side of r / b, and that neighbour is odd.
    let exact_above = (r > 0.0) != (b < 0.0);
    let away_from_zero = exact_above == (q > 0.0);
    f64::from_bits(if away_from_zero {
        q.to_bits() + 1
    } else {
        q.to_bits() - 1
    })
}

impl BlockTensor {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.codes.len().checked_div(self.row_len).unwrap_or(0)
    }

    /// Blocks per row (the last one may be short).
    pub fn blocks_per_row(&self) -> usize {
        blocks_per_row(&self.format, self.row_len)
    }

    /// The value of block `i`'s scale (row-major block index), as f64:
    /// `2^X` for MX, `decode(E4M3) × tensor_scale` for NVFP4; NaN for a NaN scale.
    pub fn block_scale(&self, i: usize) -> f64 {
        let s = self.format.scale.decode(self.scales[i] as u32);
        s * self.tensor_scale.map_or(1.0, |t| t as f64)
    }

    /// Element codes packed at the element's width (FP4: two per byte, low
    /// nibble first; FP6: four in three bytes; 8-bit and any other width: one
    /// per byte), see [`super::pack`]. Scales are bytes already.
    pub fn packed_codes(&self) -> Vec<u8> {
        let p = super::pack::Packing::for_bits(self.format.element.bits())
            .unwrap_or(super::pack::Packing::Bits8);
        super::pack::pack(&self.codes, p)
            .expect("codes come from the element format and fit its width")
    }

    /// The exact dequantized values as f32.
    ///
    /// Each value is `element × 2^element_scale_log2 × block scale (× tensor
    /// scale)`, exact in f64 and rounded once to f32 (exact for every MX value;
    /// only products beyond the f32 range round, to ±inf). A block with a NaN
    /// scale decodes as NaN throughout.
    pub fn dequantize(&self) -> Vec<f32> {
        let elem = &self.format.element;
        let ek = exp2i(self.format.element_scale_log2);
        // Element values by code (codes are ≤ 8 bits).
        let table: Vec<f64> = (0..1u32 << elem.bits())
            .map(|c| elem.decode(c) * ek)
            .collect();
        let bs = self.format.block_size;
        let bpr = self.blocks_per_row();
        let mut out = vec![0f32; self.codes.len()];
        if self.row_len == 0 {
            return out;
        }
        for (r, (crow, orow)) in self
            .codes
            .chunks(self.row_len)
            .zip(out.chunks_mut(self.row_len))
            .enumerate()
        {
            for (b, (cblk, oblk)) in crow.chunks(bs).zip(orow.chunks_mut(bs)).enumerate() {
                let s = self.block_scale(r * bpr + b);
                for (c, o) in cblk.iter().zip(oblk.iter_mut()) {
                    // NaN scale → NaN (0 × NaN is NaN too).
                    *o = (table[*c as usize] * s) as f32;
                }
            }
        }
        out
    }
}

/// The value a block's scale code stands for, with MX's NaN scale made
/// explicit: `None` for a NaN scale.
pub fn scale_value(fmt: &BlockFormat, code: u8) -> Option<f64> {
    match fmt.scale.classify(code as u32) {
        Class::Finite => Some(fmt.scale.decode(code as u32)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::reference::ref_div_round_odd;

    #[test]
    fn div_round_odd_matches_long_division() {
        let mut s = 0x1234_5678_9abc_def0u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for _ in 0..20000 {
            let a = f32::from_bits((next() as u32 & 0x7fff_ffff).clamp(1, 0x7f7f_ffff));
            let ts = f32::from_bits((next() as u32 & 0x3fff_ffff).clamp(1, 0x7f7f_ffff));
            let sc = crate::formats::parse::E4M3.decode((next() % 126 + 1) as u32);
            let b = sc * ts as f64;
            let a = if next() & 1 == 1 {
                -(a as f64)
            } else {
                a as f64
            };
            assert_eq!(
                div_round_odd(a, b).to_bits(),
                ref_div_round_odd(a, b).to_bits(),
                "{a:e} / {b:e}"
            );
        }
        // Exact quotients stay exact.
        assert_eq!(div_round_odd(6.0, 3.0), 2.0);
        assert_eq!(ref_div_round_odd(-6.0, 3.0), -2.0);
    }
}
