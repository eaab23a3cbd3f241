//! The saturating int16 accumulator kernel (`matmul/w8a8-int16-sat`): int8
//! activations (quantized per row inside) and int8 weights, each output's
//! products added in K order into a 16-bit register that clamps after every
//! add: `acc = clamp(acc + a·w, −32768, 32767)`. Saturation makes the sum
//! order-dependent, so vector lanes run across 16 output channels (panels of
//! 16 weight rows, K-major, widened to int16 at packing) and never along K:
//! per K step one `vpmullw` (|a·w| ≤ 16129 fits int16 exactly) and one
//! `vpaddsw` (exactly the clamped add). Then `out = (f32(acc) · sa[i]) · sw[j]`.

use super::quant;
use crate::isa::{self, IsaLevel};
use rayon::prelude::*;

/// Output channels per panel (int16 lanes of a 256-bit register).
pub const LANES: usize = 16;
/// Activation rows per register tile.
const TILE_ROWS: usize = 4;

/// Packed weights of the saturating int16 kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct Sat16Kernel {
    n: usize,
    k: usize,
    panels: usize,
    /// `[panel][k][16]` weight codes widened to int16.
    data: Vec<i16>,
    /// Per-row weight scales.
    scales: Vec<f32>,
}

impl Sat16Kernel {
    /// Packs int8 weight codes (`n × k`) with per-row scales.
    pub fn pack(codes: &[i8], n: usize, k: usize, scales: &[f32]) -> Sat16Kernel {
        let panels = n.div_ceil(LANES);
        let mut data = vec![0i16; panels * k * LANES];
        for j in 0..n {
            for kk in 0..k {
                data[((j / LANES) * k + kk) * LANES + j % LANES] = codes[j * k + kk] as i16;
            }
        }
        Sat16Kernel {
            n,
            k,
            panels,
            data,
            scales: scales.to_vec(),
        }
    }

    /// Reduction length.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Bytes the product streams (int16 codes plus scales).
    pub fn bytes(&self) -> usize {
        2 * self.data.len() + 4 * self.scales.len()
    }

    /// `a · wᵀ` for `a` (`m × k` f32): activations quantized inside.
    pub fn matmul(&self, a: &[f32], m: usize) -> Vec<f64> {
        let (codes, sa) = quant::int8_rows(a, m, self.k);
        let a16: Vec<i16> = codes.iter().map(|&c| c as i16).collect();
        let level = isa::effective();
        let (n, k) = (self.n, self.k);
        let mut out = vec![0f64; m * n];
        if n == 0 || m == 0 {
            return out;
        }
        let tiles = m.div_ceil(TILE_ROWS);
        let parts: Vec<(usize, usize, [[i16; LANES]; TILE_ROWS])> = (0..tiles * self.panels)
            .into_par_iter()
            .map(|t| {
                let (ti, p) = (t / self.panels, t % self.panels);
                let rows = ti * TILE_ROWS..((ti + 1) * TILE_ROWS).min(m);
                let ar: Vec<&[i16]> = rows.clone().map(|i| &a16[i * k..(i + 1) * k]).collect();
                let wp = &self.data[p * k * LANES..(p + 1) * k * LANES];
                (rows.start, p, sums(level, wp, &ar))
            })
            .collect();
        for (i0, p, acc) in parts {
            for (r, lanes) in acc.iter().enumerate().take((m - i0).min(TILE_ROWS)) {
                for (l, &v) in lanes.iter().enumerate() {
                    let j = p * LANES + l;
                    if j < n {
                        out[(i0 + r) * n + j] = ((v as f32 * sa[i0 + r]) * self.scales[j]) as f64;
                    }
                }
            }
        }
        out
    }
}

/// Saturating sums of up to [`TILE_ROWS`] rows against one panel.
fn sums(level: IsaLevel, wp: &[i16], a: &[&[i16]]) -> [[i16; LANES]; TILE_ROWS] {
    isa::dispatch!(level,
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2.
        avx2 => unsafe { avx2::sums(wp, a) },
        scalar => sums_scalar(wp, a),
    )
}

/// The portable path (and the obvious statement of each lane's sum).
fn sums_scalar(wp: &[i16], a: &[&[i16]]) -> [[i16; LANES]; TILE_ROWS] {
    let mut acc = [[0i16; LANES]; TILE_ROWS];
    for (r, ar) in a.iter().enumerate() {
        for (kk, &x) in ar.iter().enumerate() {
            for l in 0..LANES {
                acc[r][l] = acc[r][l].saturating_add(x * wp[kk * LANES + l]);
            }
        }
    }
    acc
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{LANES, TILE_ROWS};
    use std::arch::x86_64::*;

    /// AVX2 [`super::sums_scalar`].
    #[target_feature(enable = "avx2")]
    pub unsafe fn sums(wp: &[i16], a: &[&[i16]]) -> [[i16; LANES]; TILE_ROWS] {
        match a.len() {
            1 => rows::<1>(wp, a),
            2 => rows::<2>(wp, a),
            3 => rows::<3>(wp, a),
            _ => rows::<4>(wp, a),
        }
    }

    #[target_feature(enable = "avx2")]
    unsafe fn rows<const R: usize>(wp: &[i16], a: &[&[i16]]) -> [[i16; LANES]; TILE_ROWS] {
        let k = a[0].len();
        assert!(a.len() == R && a.iter().all(|r| r.len() == k) && wp.len() >= k * LANES);
        let mut acc = [_mm256_setzero_si256(); R];
        for kk in 0..k {
            // SAFETY: bounds asserted above.
            let w = _mm256_loadu_si256(wp.as_ptr().add(kk * LANES) as *const __m256i);
            for r in 0..R {
                let x = _mm256_set1_epi16(*a[r].get_unchecked(kk));
                acc[r] = _mm256_adds_epi16(acc[r], _mm256_mullo_epi16(x, w));
            }
        }
        let mut out = [[0i16; LANES]; TILE_ROWS];
        for r in 0..R {
            _mm256_storeu_si256(out[r].as_mut_ptr() as *mut __m256i, acc[r]);
        }
        out
    }
}
