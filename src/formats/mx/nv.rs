//! NVFP4 block quantization (see the parent module for the rules): an f32
//! tensor scale, E4M3 block scales and E2M1 elements.

use super::{blocks_per_row, div_round_odd, BlockTensor};
use crate::formats::fast::{amax_bits, PAR_CHUNK, PAR_THRESHOLD};
use crate::formats::{
    BlockFormat, ConvertOptions, ElementFormat, FormatError, MiniFloat, Overflow, Rounding,
};

/// E2M1 rounded to nearest even, saturating, by comparisons: `|x| / d`
/// rounds to the magnitude code `n` = how many of the midpoints between
/// consecutive E2M1 magnitudes it exceeds, plus one where it equals a
/// midpoint whose upper neighbour has the even code (a tie goes to the
/// even code); above the last midpoint that is the largest code (the
/// saturation). Each scaled midpoint `m · d` is exact in f64 (m has ≤ 3
/// significant bits, d = E4M3 scale × f32 tensor scale ≤ 28), and so is
/// `|x|`, so each comparison is the exact quotient's: the codes are those
/// of [`div_round_odd`] then `encode`, the general path (a test compares
/// the two on large seeded tensors and every edge case).
#[derive(Debug, Clone, Copy)]
struct E2m1Rne {
    /// Midpoints between consecutive magnitudes, ascending.
    mids: [f64; 7],
    /// Whether a tie at each midpoint rounds up (its upper code is even).
    up: [bool; 7],
    /// The sign bit of a code.
    sign: u32,
}

impl E2m1Rne {
    /// The comparison encoder for `elem` under `eopts`, when it applies:
    /// E2M1 elements rounded to nearest even (elements always saturate).
    fn new(elem: &MiniFloat, eopts: &ConvertOptions) -> Option<E2m1Rne> {
        if *elem != crate::formats::parse::E2M1 || eopts.rounding != Rounding::Rne {
            return None;
        }
        // Magnitude codes 0..=7 in ascending value: 0, 0.5, 1, …, 6.
        let v: Vec<f64> = (0..8u32).map(|c| elem.decode(c)).collect();
        Some(E2m1Rne {
            mids: std::array::from_fn(|i| (v[i] + v[i + 1]) / 2.0),
            up: std::array::from_fn(|i| (i + 1) % 2 == 0),
            sign: elem.zero_code(true),
        })
    }

    /// Encodes a block's values with divisor `d` (finite, > 0).
    #[inline]
    fn encode(&self, blk: &[f32], d: f64, codes: &mut [u8]) {
        let t: [f64; 7] = std::array::from_fn(|i| self.mids[i] * d);
        for (x, c) in blk.iter().zip(codes.iter_mut()) {
            let a = x.abs() as f64;
            let n: u32 = t
                .iter()
                .zip(&self.up)
                .map(|(&m, &up)| (a > m || (a == m && up)) as u32)
                .sum();
            *c = (n | if x.is_sign_negative() { self.sign } else { 0 }) as u8;
        }
    }
}

/// NVFP4 tensor scale: `amax / (scale_max × elem_max)` in f32, 1.0 when 0.
fn nv_tensor_scale(fmt: &BlockFormat, data: &[f32]) -> f32 {
    use rayon::prelude::*;
    // The largest finite magnitude (a maximum: any chunking gives it).
    let finite_max = |c: &[f32]| {
        c.iter()
            .map(|x| x.to_bits() & 0x7fff_ffff)
            .filter(|&b| b < 0x7f80_0000)
            .max()
            .unwrap_or(0)
    };
    let amax = if data.len() >= PAR_THRESHOLD {
        data.par_chunks(PAR_CHUNK)
            .map(finite_max)
            .max()
            .unwrap_or(0)
    } else {
        finite_max(data)
    };
    let denom = (fmt.scale.max_value() * fmt.element.max_value()) as f32; // 2688, exact
    let ts = f32::from_bits(amax) / denom;
    if ts == 0.0 {
        1.0
    } else {
        ts
    }
}

/// Quantizes `data` (rows of `row_len`) to NVFP4 with element options
/// `eopts`, on a checked format and shape.
///
/// Only the tensor scale looks at the whole tensor; with it fixed, every
/// row quantizes on its own (stochastic rounding draws from each element's
/// flat index), so large tensors run in row chunks on rayon's pool with the
/// bits of one sequential pass.
pub(super) fn quantize_nv(
    fmt: &BlockFormat,
    eopts: &ConvertOptions,
    data: &[f32],
    row_len: usize,
) -> Result<BlockTensor, FormatError> {
    let ts = nv_tensor_scale(fmt, data);
    let bpr = blocks_per_row(fmt, row_len);
    let nblocks = data.len() / row_len * bpr;
    let mut codes = vec![0u8; data.len()];
    let mut scales = vec![0u8; nblocks];
    // Whole rows of about `PAR_CHUNK` elements per task.
    let rows_per = (PAR_CHUNK / row_len).max(1);
    super::for_segments(
        data,
        (&mut codes, &mut scales),
        (rows_per * row_len, rows_per * bpr),
        |c, rows, crows, srows| nv_rows(fmt, eopts, ts, rows, row_len, crows, srows, c * rows_per),
    )?;
    Ok(BlockTensor {
        format: *fmt,
        row_len,
        codes,
        scales,
        tensor_scale: Some(ts),
    })
}

/// Quantizes whole rows `data` (the first is row `row0` of the tensor)
/// with tensor scale `ts` into their codes and block scale codes.
#[allow(clippy::too_many_arguments)] // the rows, their outputs and the tensor's constants
fn nv_rows(
    fmt: &BlockFormat,
    eopts: &ConvertOptions,
    ts: f32,
    data: &[f32],
    row_len: usize,
    codes: &mut [u8],
    scales: &mut [u8],
    row0: usize,
) -> Result<(), FormatError> {
    let ElementFormat::Float(elem) = fmt.element else {
        unreachable!("checked by check_format")
    };
    let sfmt = &fmt.scale;
    let emax = elem.max_value() as f32;
    let sopts = ConvertOptions {
        overflow: Some(Overflow::Saturate),
        ..ConvertOptions::default()
    };
    let nan = sfmt.nan_code(false).expect("checked by check_format") as u8;
    let fast = E2m1Rne::new(&elem, eopts);
    let mut scales = scales.iter_mut();
    for (r, (row, crow)) in data
        .chunks(row_len)
        .zip(codes.chunks_mut(row_len))
        .enumerate()
    {
        let first = ((row0 + r) * row_len) as u64;
        for (b, (blk, cblk)) in row
            .chunks(fmt.block_size)
            .zip(crow.chunks_mut(fmt.block_size))
            .enumerate()
        {
            let slot = scales.next().expect("one scale per block");
            let ab = amax_bits(blk);
            if ab >= 0x7f80_0000 {
                *slot = nan;
                continue;
            }
            let sb = f32::from_bits(ab) / emax / ts;
            let sc = sfmt.encode_f32(sb, &sopts, 0)?;
            *slot = sc as u8;
            // Exact: ≤ 4 × 24 significant bits.
            let d = sfmt.decode(sc) * ts as f64;
            if let (Some(f), true) = (&fast, d != 0.0) {
                f.encode(blk, d, cblk);
                continue;
            }
            let index0 = first + (b * fmt.block_size) as u64;
            for (j, (x, c)) in blk.iter().zip(cblk.iter_mut()).enumerate() {
                *c = if d == 0.0 {
                    elem.zero_code(x.is_sign_negative())
                } else {
                    elem.encode(div_round_odd(*x as f64, d), eopts, index0 + j as u64)?
                } as u8;
            }
        }
    }
    Ok(())
}
