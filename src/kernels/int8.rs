//! The integer kernel family: int8 activations (quantized per row inside the
//! product) against integer weights (int8, int4, int2, ternary, binary codes
//! packed at their own width in [`IntPanels`] and decoded to int8 in
//! registers), int32 dot products per K group, then the
//! variants' f32 fold: `acc = acc + f32(sum_g) · sw[j,g]` per group in order,
//! `out = (acc · sa[i]) · sw[j]` (each scale only where the operand has it).
//!
//! The int32 sums are exact and associative here, so any summation order
//! gives the emulation's bits: |a|, |w| ≤ 127 (symmetric quantizers never
//! produce −128), so a product is at most 16129 and K ≤ 2^16 products stay
//! below 2^31. The f32 fold runs in one shared scalar routine in group order.
//!
//! AVX2 inner step (4 K positions × 8 output channels per instruction): for a
//! quad of weight bytes `w` and a broadcast quad of activation bytes `a`,
//! `vpmaddubsw(|w|, sign(a, w))` forms `a·w` pairs in int16 — at most
//! 2 · 127 · 127 = 32258, below the int16 saturation at 32767 that broke
//! kernels fed a 128 (`vpsignb` leaves −128 as −128; neither appears here) —
//! and `vpmaddwd` with ones widens the pairs into the int32 lanes.

use super::pack::{IntPanels, PANEL};
use super::quant;
use super::GEMV_MAX_M;
use crate::isa::{self, IsaLevel};
use rayon::prelude::*;

/// Activation rows per register tile.
const TILE_ROWS: usize = 4;
/// Activation rows per cache block in the GEMM path (their int8 rows stay in L2
/// while every weight panel passes once).
const BLOCK_ROWS: usize = 64;
/// Panels per task.
const TASK_PANELS: usize = 4;

/// An integer matmul kernel with packed weights.
#[derive(Debug, Clone)]
pub struct IntKernel {
    w: IntPanels,
}

impl IntKernel {
    /// A kernel over packed weights.
    pub fn new(w: IntPanels) -> IntKernel {
        IntKernel { w }
    }

    /// The packed weights.
    pub fn weights(&self) -> &IntPanels {
        &self.w
    }

    /// `a · wᵀ` for `a` (`m × k` f32, row-major): quantizes A to int8 per row
    /// ([`quant::int8_rows`]), then runs the product at the effective ISA level.
    pub fn matmul(&self, a: &[f32], m: usize) -> Vec<f64> {
        let k = self.w.groups.k;
        let (codes, scales) = quant::int8_rows(a, m, k);
        self.matmul_codes(&codes, &scales, m)
    }

    /// The product for int8 activation codes (`m × k`) with per-row scales.
    pub fn matmul_codes(&self, codes: &[i8], a_scales: &[f32], m: usize) -> Vec<f64> {
        let g = &self.w.groups;
        let n = self.w.n;
        let mut out = vec![0f64; m * n];
        if m == 0 || n == 0 {
            return out;
        }
        // Activations in the weights' padded group layout.
        let padded = g.padded();
        let mut ap = vec![0i8; m * padded];
        for i in 0..m {
            for kk in 0..g.k {
                ap[i * padded + g.pos(kk)] = codes[i * g.k + kk];
            }
        }
        let level = isa::effective();
        let block = if m <= GEMV_MAX_M { m } else { BLOCK_ROWS };
        let tasks: Vec<(usize, usize)> = (0..m.div_ceil(block))
            .flat_map(|b| (0..self.w.panels.div_ceil(TASK_PANELS)).map(move |c| (b, c)))
            .collect();
        let parts: Vec<(usize, usize, Vec<f32>)> = tasks
            .par_iter()
            .map(|&(b, c)| {
                let rows = b * block..((b + 1) * block).min(m);
                let panels = c * TASK_PANELS..((c + 1) * TASK_PANELS).min(self.w.panels);
                let v = self.block(level, &ap, a_scales, rows.clone(), panels.clone());
                (rows.start, panels.start, v)
            })
            .collect();
        for (i0, p0, v) in parts {
            scatter(&mut out, n, i0, p0 * PANEL, &v, block.min(m - i0));
        }
        out
    }

    /// One task: rows × panels, finished outputs `[row][panel col]` as f32.
    fn block(
        &self,
        level: IsaLevel,
        ap: &[i8],
        a_scales: &[f32],
        rows: std::ops::Range<usize>,
        panels: std::ops::Range<usize>,
    ) -> Vec<f32> {
        let g = &self.w.groups;
        let padded = g.padded();
        let cols = panels.len() * PANEL;
        let mut out = vec![0f32; rows.len() * cols];
        for p in panels.clone() {
            let wp = &self.w.data[p * self.w.panel_len()..(p + 1) * self.w.panel_len()];
            let mut i = rows.start;
            while i < rows.end {
                let r = TILE_ROWS.min(rows.end - i);
                let arows: Vec<&[i8]> = (i..i + r)
                    .map(|ii| &ap[ii * padded..(ii + 1) * padded])
                    .collect();
                let mut acc = [[0f32; PANEL]; TILE_ROWS];
                let gl = self.w.group_len();
                for gi in 0..g.count {
                    let wq = &wp[gi * gl..(gi + 1) * gl];
                    let ag: Vec<&[i8]> = arows
                        .iter()
                        .map(|a| &a[gi * g.quads * 4..(gi + 1) * g.quads * 4])
                        .collect();
                    let sums = group_sums(level, self.w.bits, wq, &ag, g.quads);
                    let inner =
                        self.w.scales.inner.as_ref().map(|s| {
                            &s[(p * g.count + gi) * PANEL..(p * g.count + gi + 1) * PANEL]
                        });
                    for (a, s) in acc.iter_mut().zip(&sums).take(r) {
                        fold(a, s, inner);
                    }
                }
                for (t, a) in acc.iter().enumerate().take(r) {
                    let row = i + t - rows.start;
                    let c0 = (p - panels.start) * PANEL;
                    for l in 0..PANEL {
                        let mut v = a[l] * a_scales[i + t];
                        if let Some(s) = &self.w.scales.outer {
                            v *= s[p * PANEL + l];
                        }
                        out[row * cols + c0 + l] = v;
                    }
                }
                i += r;
            }
        }
        out
    }
}

/// Copies a task's block (`rows × cols`, cols a multiple of 8) into the
/// `m × n` output, dropping padded columns.
pub(crate) fn scatter(out: &mut [f64], n: usize, i0: usize, j0: usize, v: &[f32], rows: usize) {
    if v.is_empty() || rows == 0 {
        return;
    }
    let cols = v.len() / rows;
    for r in 0..rows {
        for c in 0..cols.min(n.saturating_sub(j0)) {
            out[(i0 + r) * n + j0 + c] = v[r * cols + c] as f64;
        }
    }
}

/// The variants' group fold: `acc = acc + f32(sum) · s` (× only with inner scales).
#[inline(always)]
pub fn fold(acc: &mut [f32; PANEL], sums: &[i32; PANEL], inner: Option<&[f32]>) {
    for l in 0..PANEL {
        let mut v = sums[l] as f32;
        if let Some(s) = inner {
            v *= s[l];
        }
        acc[l] += v;
    }
}

/// int32 sums of one K group for up to [`TILE_ROWS`] activation rows against
/// one panel's packed blocks: `sums[r][l] = Σ_q Σ_b a[r][4q+b] · w[q][l][b]`.
fn group_sums(
    level: IsaLevel,
    bits: u32,
    wq: &[u8],
    a: &[&[i8]],
    quads: usize,
) -> [[i32; PANEL]; TILE_ROWS] {
    isa::dispatch!(level,
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2.
        avx2 => unsafe { avx2::group_sums(bits, wq, a, quads) },
        scalar => group_sums_scalar(bits, wq, a, quads),
    )
}

/// Code `b` of row `l` in quad `q` of packed blocks (the obvious decoder).
#[inline(always)]
fn code(bits: u32, wq: &[u8], q: usize, l: usize, b: usize) -> i32 {
    let per_block = 8 / bits as usize;
    let byte = wq[(q / per_block) * super::pack::BLOCK + l * 4 + b] as i32;
    let field = (byte >> ((q % per_block) as u32 * bits)) & ((1i32 << bits) - 1);
    match bits {
        8 => byte as u8 as i8 as i32,
        4 => field - 8,
        2 => field - 1,
        _ => 2 * field - 1,
    }
}

/// The portable path (and the obvious statement of the sum).
#[allow(clippy::needless_range_loop)] // indices mirror the packed layout
fn group_sums_scalar(bits: u32, wq: &[u8], a: &[&[i8]], quads: usize) -> [[i32; PANEL]; TILE_ROWS] {
    let mut sums = [[0i32; PANEL]; TILE_ROWS];
    for (r, ar) in a.iter().enumerate() {
        for q in 0..quads {
            for l in 0..PANEL {
                let mut s = 0i32;
                for b in 0..4 {
                    s += ar[q * 4 + b] as i32 * code(bits, wq, q, l, b);
                }
                sums[r][l] = sums[r][l].wrapping_add(s);
            }
        }
    }
    sums
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{PANEL, TILE_ROWS};
    use std::arch::x86_64::*;

    /// AVX2 [`super::group_sums_scalar`].
    #[target_feature(enable = "avx2")]
    pub unsafe fn group_sums(
        bits: u32,
        wq: &[u8],
        a: &[&[i8]],
        quads: usize,
    ) -> [[i32; PANEL]; TILE_ROWS] {
        macro_rules! by_rows {
            ($b:literal) => {
                match a.len() {
                    1 => rows::<1, $b>(wq, a, quads),
                    2 => rows::<2, $b>(wq, a, quads),
                    3 => rows::<3, $b>(wq, a, quads),
                    _ => rows::<4, $b>(wq, a, quads),
                }
            };
        }
        match bits {
            8 => by_rows!(8),
            4 => by_rows!(4),
            2 => by_rows!(2),
            _ => by_rows!(1),
        }
    }

    /// Quad `slot` of a packed block as int8 codes.
    #[inline(always)]
    unsafe fn decode<const BITS: u32>(v: __m256i, slot: u32) -> __m256i {
        // Shifts within 16-bit lanes; the mask below drops what crossed bytes.
        let shifted = _mm256_srl_epi16(v, _mm_cvtsi32_si128((slot * BITS) as i32));
        match BITS {
            8 => v,
            4 => _mm256_sub_epi8(
                _mm256_and_si256(shifted, _mm256_set1_epi8(0x0f)),
                _mm256_set1_epi8(8),
            ),
            2 => _mm256_sub_epi8(
                _mm256_and_si256(shifted, _mm256_set1_epi8(0x03)),
                _mm256_set1_epi8(1),
            ),
            _ => {
                let f = _mm256_and_si256(shifted, _mm256_set1_epi8(0x01));
                _mm256_sub_epi8(_mm256_add_epi8(f, f), _mm256_set1_epi8(1))
            }
        }
    }

    #[target_feature(enable = "avx2")]
    unsafe fn rows<const R: usize, const BITS: u32>(
        wq: &[u8],
        a: &[&[i8]],
        quads: usize,
    ) -> [[i32; PANEL]; TILE_ROWS] {
        let per_block = 8 / BITS as usize;
        assert!(quads.is_multiple_of(per_block));
        assert!(wq.len() >= quads / per_block * 32 && a.iter().all(|r| r.len() >= quads * 4));
        let ones = _mm256_set1_epi16(1);
        let mut acc = [_mm256_setzero_si256(); R];
        let wp = wq.as_ptr();
        let ap: [*const i8; R] = std::array::from_fn(|r| a[r].as_ptr());
        for blk in 0..quads / per_block {
            // SAFETY: bounds asserted above; unaligned loads.
            let v = _mm256_loadu_si256(wp.add(blk * 32) as *const __m256i);
            for slot in 0..per_block {
                let q = blk * per_block + slot;
                let w = decode::<BITS>(v, slot as u32);
                let aw = _mm256_abs_epi8(w);
                for r in 0..R {
                    let a4 = _mm256_set1_epi32((ap[r].add(q * 4) as *const i32).read_unaligned());
                    let s = _mm256_sign_epi8(a4, w);
                    let p16 = _mm256_maddubs_epi16(aw, s);
                    acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(p16, ones));
                }
            }
        }
        let mut out = [[0i32; PANEL]; TILE_ROWS];
        for r in 0..R {
            _mm256_storeu_si256(out[r].as_mut_ptr() as *mut __m256i, acc[r]);
        }
        out
    }
}
