//! NVFP4 block quantization (see the parent module for the rules): an f32
//! tensor scale, E4M3 block scales and E2M1 elements.

use super::{blocks_per_row, div_round_odd, BlockTensor};
use crate::formats::fast::amax_bits;
use crate::formats::{BlockFormat, ConvertOptions, ElementFormat, FormatError, Overflow};

/// NVFP4 tensor scale: `amax / (scale_max × elem_max)` in f32, 1.0 when 0.
fn nv_tensor_scale(fmt: &BlockFormat, data: &[f32]) -> f32 {
    let amax = data
        .iter()
        .map(|x| x.to_bits() & 0x7fff_ffff)
        .filter(|&b| b < 0x7f80_0000)
        .max()
        .unwrap_or(0);
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
pub(super) fn quantize_nv(
    fmt: &BlockFormat,
    eopts: &ConvertOptions,
    data: &[f32],
    row_len: usize,
) -> Result<BlockTensor, FormatError> {
    let ElementFormat::Float(elem) = fmt.element else {
        unreachable!("checked by check_format")
    };
    let sfmt = &fmt.scale;
    let ts = nv_tensor_scale(fmt, data);
    let emax = elem.max_value() as f32;
    let sopts = ConvertOptions {
        overflow: Some(Overflow::Saturate),
        ..ConvertOptions::default()
    };
    let nan = sfmt.nan_code(false).expect("checked by check_format") as u8;
    let nblocks = data.len() / row_len * blocks_per_row(fmt, row_len);
    let mut codes = vec![0u8; data.len()];
    let mut scales = Vec::with_capacity(nblocks);
    for (r, (row, crow)) in data
        .chunks(row_len)
        .zip(codes.chunks_mut(row_len))
        .enumerate()
    {
        let row0 = (r * row_len) as u64;
        for (b, (blk, cblk)) in row
            .chunks(fmt.block_size)
            .zip(crow.chunks_mut(fmt.block_size))
            .enumerate()
        {
            let ab = amax_bits(blk);
            if ab >= 0x7f80_0000 {
                scales.push(nan);
                continue;
            }
            let sb = f32::from_bits(ab) / emax / ts;
            let sc = sfmt.encode_f32(sb, &sopts, 0)?;
            scales.push(sc as u8);
            // Exact: ≤ 4 × 24 significant bits.
            let d = sfmt.decode(sc) * ts as f64;
            let index0 = row0 + (b * fmt.block_size) as u64;
            for (j, (x, c)) in blk.iter().zip(cblk.iter_mut()).enumerate() {
                *c = if d == 0.0 {
                    elem.zero_code(x.is_sign_negative())
                } else {
                    elem.encode(div_round_odd(*x as f64, d), eopts, index0 + j as u64)?
                } as u8;
            }
        }
    }
    Ok(BlockTensor {
        format: *fmt,
        row_len,
        codes,
        scales,
        tensor_scale: Some(ts),
    })
}
