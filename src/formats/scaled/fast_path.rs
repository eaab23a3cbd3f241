//! The fast twin of the scaled quantizer's two per-element passes: group
//! maxima from f32 bits, and element codes through the rounded-to-odd f32
//! quotient of `crate::formats::fast::quotient`. Both run on row-aligned
//! chunks in parallel; the results do not depend on the chunking.

use super::{Axis, Granularity};
use crate::formats::fast::quotient::{quotients, QuotientEncoder, Scales};
use crate::formats::fast::{block_amax_bits, PAR_CHUNK};
use crate::formats::{ConvertOptions, ElementFormat, FormatError};
use crate::isa::IsaLevel;
use rayon::prelude::*;

/// f32 bits of `|v|` for finite `v`, 0 for NaN and ±inf (they take no part
/// in a group's absmax). The order of these bits is the order of `|v|`.
#[inline(always)]
fn finite_abs_bits(v: &f32) -> u32 {
    let b = v.to_bits() & 0x7fff_ffff;
    if b < 0x7f80_0000 {
        b
    } else {
        0
    }
}

fn seg_max(s: &[f32]) -> u32 {
    s.iter().map(finite_abs_bits).fold(0, u32::max)
}

/// Absmax of the finite values of every group, as in the reference (an f32
/// magnitude is exact in f64, and the maximum of magnitudes is the maximum of
/// their bits).
pub(super) fn absmax(data: &[f32], rows: usize, cols: usize, g: Granularity) -> Vec<f64> {
    let n = super::groups(g, rows, cols);
    if data.is_empty() {
        return vec![0.0; n];
    }
    // Contiguous groups: the vectorized block maxima, then the rare blocks
    // holding a NaN or an infinity again without them.
    let contiguous = match g {
        Granularity::PerTensor => Some(data.len()),
        Granularity::PerChannel(Axis::Row) => Some(cols),
        Granularity::PerGroup(k) if cols.is_multiple_of(k) => Some(k),
        _ => None,
    };
    let bits: Vec<u32> = match (contiguous, g) {
        (Some(block), _) => {
            let mut out = vec![0u32; n];
            block_amax_bits(data, block, &mut out);
            for (b, o) in out.iter_mut().enumerate() {
                if *o >= 0x7f80_0000 {
                    *o = seg_max(&data[b * block..((b + 1) * block).min(data.len())]);
                }
            }
            out
        }
        (None, Granularity::PerGroup(k)) => {
            let per_row = cols.div_ceil(k);
            let mut out = vec![0u32; n];
            out.par_chunks_mut(per_row)
                .zip(data.par_chunks(cols))
                .for_each(|(o, row)| {
                    for (o, seg) in o.iter_mut().zip(row.chunks(k)) {
                        *o = seg_max(seg);
                    }
                });
            out
        }
        _ => {
            // Per column: element-wise maxima of rows, reduced over row blocks.
            let rows_per = (PAR_CHUNK / cols).max(1);
            data.par_chunks(rows_per * cols)
                .map(|block| {
                    let mut m = vec![0u32; cols];
                    for row in block.chunks(cols) {
                        for (m, v) in m.iter_mut().zip(row) {
                            *m = (*m).max(finite_abs_bits(v));
                        }
                    }
                    m
                })
                .reduce(
                    || vec![0u32; cols],
                    |mut a, b| {
                        for (a, b) in a.iter_mut().zip(b) {
                            *a = (*a).max(b);
                        }
                        a
                    },
                )
        }
    };
    bits.into_iter().map(|b| f32::from_bits(b) as f64).collect()
}

/// Elements per task of the code pass (whole rows, at least one).
const CHUNK: usize = 1 << 14;

/// The element codes, or `None` when the element format, the options or the
/// scales need the reference (see `QuotientEncoder::new`; scales must be
/// finite, non-negative f32 values). `Some(Err)` means the reference should
/// run to word the error.
pub(super) fn codes(
    level: IsaLevel,
    data: &[f32],
    cols: usize,
    g: Granularity,
    element: &ElementFormat,
    sval: &[f64],
    opts: &ConvertOptions,
) -> Option<Result<Vec<u32>, FormatError>> {
    if data.is_empty() {
        return Some(Ok(vec![]));
    }
    let enc = QuotientEncoder::new(level, element, opts)?;
    let s32: Vec<f32> = sval.iter().map(|&s| s as f32).collect();
    let exact = sval
        .iter()
        .zip(&s32)
        .all(|(d, f)| d.is_finite() && *d >= 0.0 && *f as f64 == *d);
    if !exact {
        return None;
    }
    let rows_per = (CHUNK / cols).max(1);
    let mut codes = vec![0u32; data.len()];
    let res = data
        .par_chunks(rows_per * cols)
        .zip(codes.par_chunks_mut(rows_per * cols))
        .enumerate()
        .try_for_each_init(
            || (Vec::<f32>::new(), Vec::<u16>::new()),
            |(q, tmp), (k, (src, dst))| {
                let r0 = k * rows_per;
                q.clear();
                q.resize(src.len(), 0.0);
                for (j, (row, out)) in src.chunks(cols).zip(q.chunks_mut(cols)).enumerate() {
                    let r = r0 + j;
                    match g {
                        Granularity::PerTensor => quotients(level, row, Scales::One(s32[0]), out),
                        Granularity::PerChannel(Axis::Row) => {
                            quotients(level, row, Scales::One(s32[r]), out)
                        }
                        Granularity::PerChannel(Axis::Col) => {
                            quotients(level, row, Scales::Each(&s32), out)
                        }
                        Granularity::PerGroup(n) => {
                            let g0 = r * cols.div_ceil(n);
                            for (i, (seg, o)) in row.chunks(n).zip(out.chunks_mut(n)).enumerate() {
                                quotients(level, seg, Scales::One(s32[g0 + i]), o);
                            }
                        }
                    }
                }
                enc.encode(q, (r0 * cols) as u64, tmp, dst)
            },
        );
    Some(res.map(|()| codes))
}
