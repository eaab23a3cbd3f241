//! The float kernel family: f32 lanes across 8 output channels, each lane a
//! sequential sum over K in the emulation's order, so vectorising never
//! reorders a sum. Per K group (one group of K without inner scales):
//! `dot = +0; dot = dot + a[i,k]·w[j,k]` for k in order, then the variants'
//! fold `acc = acc + dot · sw[j,g]`, and `out = (acc · sa[i]) · sw[j]` (each
//! scale only where the operand has it).
//!
//! [`FloatSum`] says how the emulation forms `dot + a·w`:
//! - [`FloatSum::Fused`]: one rounding (`f32-fma`), `vfmadd231ps`.
//! - [`FloatSum::MulAdd`]: the product rounded to f32, then the sum rounded.
//!   Where the product is exact in f32 the two are the same operation, so the
//!   kernel fuses them — but only when it can prove every product exact
//!   ([`FloatKernel::fusable`]): inputs of ≤ 12 significant bits each (bf16,
//!   fp16, int4 × bf16: products of ≤ 24 bits), every value finite, and the
//!   operands' exponent ranges keeping every nonzero product in the normal
//!   range (≥ 2^−126, where a 24-bit product is exact) and below 2^128 (so a
//!   product never overflows on its own). Otherwise (f32 inputs, or a range
//!   check that fails) it runs `vmulps` then `vaddps`, exactly as emulated,
//!   at about half the speed: exactness wins over speed there.

use super::pack::{exp_range, half_value, FloatPanels, FloatStorage, PANEL};
use super::GEMV_MAX_M;
use crate::formats::MiniFloat;
use crate::isa::{self, IsaLevel};
use rayon::prelude::*;

/// Activation rows per register tile (6 rows × 2 panels = 12 accumulators).
const TILE_ROWS: usize = 6;
/// Panels per register tile.
const TILE_PANELS: usize = 2;
/// Activation rows per cache block in the GEMM path.
const BLOCK_ROWS: usize = 96;
/// Panels per task.
const TASK_PANELS: usize = 4;

/// How the emulation forms each step `dot + a·w`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloatSum {
    /// `round(round(a·w) + dot)`: multiply, then add.
    MulAdd,
    /// `round(a·w + dot)`: fused multiply-add.
    Fused,
}

/// How activations are prepared inside the product.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ActCast {
    /// f32 as given.
    F32,
    /// Rounded RNE to a minifloat (bf16, fp16), exact in f32.
    Cast(MiniFloat),
}

/// A float matmul kernel with packed weights.
#[derive(Debug, Clone)]
pub struct FloatKernel {
    w: FloatPanels,
    sum: FloatSum,
    act: ActCast,
    /// Whether products of these operands have ≤ 24 significant bits.
    short_products: bool,
}

impl FloatKernel {
    /// A kernel over packed weights. `short_products`: every product of an
    /// activation and a weight value has at most 24 significant bits (true
    /// for bf16 × bf16, fp16 × fp16, int4 × bf16; false for f32).
    pub fn new(w: FloatPanels, sum: FloatSum, act: ActCast, short_products: bool) -> FloatKernel {
        FloatKernel {
            w,
            sum,
            act,
            short_products,
        }
    }

    /// The packed weights.
    pub fn weights(&self) -> &FloatPanels {
        &self.w
    }

    /// Whether a product step may run fused for these activation values:
    /// fused emulation always; multiply-then-add only when every product is
    /// provably exact (see the module docs).
    pub fn fusable(&self, a: &[f32]) -> bool {
        if self.sum == FloatSum::Fused {
            return true;
        }
        if !self.short_products {
            return false;
        }
        match (self.w.exp_range, exp_range(a)) {
            (Some((wlo, whi)), Some((alo, ahi))) => {
                // All zero on either side: every product is ±0, exact.
                wlo > whi || alo > ahi || (alo + wlo >= -126 && ahi + whi <= 126)
            }
            _ => false,
        }
    }

    /// `a · wᵀ` for `a` (`m × k` f32, row-major), activations prepared inside.
    pub fn matmul(&self, a: &[f32], m: usize) -> Vec<f64> {
        let cast;
        let a = match &self.act {
            ActCast::F32 => a,
            ActCast::Cast(f) => {
                cast = super::quant::cast_rows(f, a);
                &cast[..]
            }
        };
        let fused = self.fusable(a);
        self.run(a, m, fused, isa::effective())
    }

    /// The product on prepared activations with a chosen step (`fused` must
    /// be what [`Self::fusable`] allows) at `level`.
    pub fn run(&self, a: &[f32], m: usize, fused: bool, level: IsaLevel) -> Vec<f64> {
        let n = self.w.n;
        let mut out = vec![0f64; m * n];
        if m == 0 || n == 0 {
            return out;
        }
        let block = if m <= GEMV_MAX_M { m } else { BLOCK_ROWS };
        let tasks: Vec<(usize, usize)> = (0..m.div_ceil(block))
            .flat_map(|b| (0..self.w.panels.div_ceil(TASK_PANELS)).map(move |c| (b, c)))
            .collect();
        let parts: Vec<(usize, usize, Vec<f32>)> = tasks
            .par_iter()
            .map(|&(b, c)| {
                let rows = b * block..((b + 1) * block).min(m);
                let panels = c * TASK_PANELS..((c + 1) * TASK_PANELS).min(self.w.panels);
                let v = self.block(level, fused, a, rows.clone(), panels.clone());
                (rows.start, panels.start, v)
            })
            .collect();
        for (i0, p0, v) in parts {
            super::int8::scatter(&mut out, n, i0, p0 * PANEL, &v, block.min(m - i0));
        }
        out
    }

    /// Panel `p`'s stored values as bytes.
    fn panel_bytes(&self, p: usize) -> &[u8] {
        let len = self.w.k * PANEL;
        let (ptr, bytes) = match self.w.storage {
            FloatStorage::F32 => (
                self.w.data[p * len..(p + 1) * len].as_ptr() as *const u8,
                4 * len,
            ),
            _ => (
                self.w.half[p * len..(p + 1) * len].as_ptr() as *const u8,
                2 * len,
            ),
        };
        // SAFETY: a view of initialised plain values as bytes, within the slice above.
        unsafe { std::slice::from_raw_parts(ptr, bytes) }
    }

    /// One task: rows × panels, finished outputs `[row][panel col]`.
    fn block(
        &self,
        level: IsaLevel,
        fused: bool,
        a: &[f32],
        rows: std::ops::Range<usize>,
        panels: std::ops::Range<usize>,
    ) -> Vec<f32> {
        let (k, g) = (self.w.k, &self.w.groups);
        let cols = panels.len() * PANEL;
        let mut out = vec![0f32; rows.len() * cols];
        let mut p = panels.start;
        while p < panels.end {
            let np = TILE_PANELS.min(panels.end - p);
            let mut i = rows.start;
            while i < rows.end {
                let r = TILE_ROWS.min(rows.end - i);
                let arows: Vec<&[f32]> = (i..i + r).map(|ii| &a[ii * k..(ii + 1) * k]).collect();
                let wps: Vec<&[u8]> = (p..p + np).map(|pp| self.panel_bytes(pp)).collect();
                let mut acc = [[[0f32; PANEL]; TILE_PANELS]; TILE_ROWS];
                for gi in 0..g.count {
                    let dots = dots(level, fused, self.w.storage, &wps, &arows, g.range(gi));
                    for (t, accr) in acc.iter_mut().enumerate().take(r) {
                        for (q, accp) in accr.iter_mut().enumerate().take(np) {
                            let inner = self.w.scales.inner.as_ref().map(|s| {
                                let at = ((p + q) * g.count + gi) * PANEL;
                                &s[at..at + PANEL]
                            });
                            for l in 0..PANEL {
                                let mut v = dots[t][q][l];
                                if let Some(s) = inner {
                                    v *= s[l];
                                }
                                accp[l] += v;
                            }
                        }
                    }
                }
                for (t, accr) in acc.iter().enumerate().take(r) {
                    let row = i + t - rows.start;
                    for (q, accp) in accr.iter().enumerate().take(np) {
                        let c0 = (p + q - panels.start) * PANEL;
                        for l in 0..PANEL {
                            let mut v = accp[l];
                            if let Some(s) = &self.w.scales.outer {
                                v *= s[(p + q) * PANEL + l];
                            }
                            out[row * cols + c0 + l] = v;
                        }
                    }
                }
                i += r;
            }
            p += np;
        }
        out
    }
}

type Dots = [[[f32; PANEL]; TILE_PANELS]; TILE_ROWS];

/// Stored value `idx` of a panel (the obvious decoder).
#[inline(always)]
fn value(storage: FloatStorage, panel: &[u8], idx: usize) -> f32 {
    match storage {
        FloatStorage::F32 => f32::from_le_bytes(panel[4 * idx..4 * idx + 4].try_into().unwrap()),
        _ => half_value(
            storage,
            u16::from_le_bytes([panel[2 * idx], panel[2 * idx + 1]]),
        ),
    }
}

/// Sequential dot products over `ks` for a tile of rows × panels.
fn dots(
    level: IsaLevel,
    fused: bool,
    storage: FloatStorage,
    w: &[&[u8]],
    a: &[&[f32]],
    ks: std::ops::Range<usize>,
) -> Dots {
    let f = isa::active();
    // The AVX2 path is compiled with FMA and F16C (fused steps, fp16 widening);
    // every AVX2 CPU known has both, but a CPU without them takes the portable path.
    let ok = f.fma && f.f16c;
    isa::dispatch!(level,
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2; F16C and
        // FMA were checked above.
        avx2 => if ok {
            unsafe { avx2::dots(fused, storage, w, a, ks) }
        } else {
            dots_scalar(fused, storage, w, a, ks)
        },
        scalar => dots_scalar(fused, storage, w, a, ks),
    )
}

/// The portable path (and the obvious statement of each lane's sum).
#[allow(clippy::needless_range_loop)] // indices mirror the packed layout
fn dots_scalar(
    fused: bool,
    storage: FloatStorage,
    w: &[&[u8]],
    a: &[&[f32]],
    ks: std::ops::Range<usize>,
) -> Dots {
    let mut d = [[[0f32; PANEL]; TILE_PANELS]; TILE_ROWS];
    for (t, ar) in a.iter().enumerate() {
        for (q, wp) in w.iter().enumerate() {
            for kk in ks.clone() {
                let x = ar[kk];
                for l in 0..PANEL {
                    let y = value(storage, wp, kk * PANEL + l);
                    d[t][q][l] = if fused {
                        x.mul_add(y, d[t][q][l])
                    } else {
                        d[t][q][l] + x * y
                    };
                }
            }
        }
    }
    d
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Dots, FloatStorage, PANEL, TILE_PANELS, TILE_ROWS};
    use std::arch::x86_64::*;

    /// 8 stored values at `idx` widened to f32 (`S`: 0 f32, 1 bf16, 2 fp16).
    #[inline(always)]
    unsafe fn load<const S: u8>(p: *const u8, idx: usize) -> __m256 {
        match S {
            0 => _mm256_loadu_ps((p as *const f32).add(idx)),
            1 => {
                let h = _mm_loadu_si128((p as *const u16).add(idx) as *const __m128i);
                _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16))
            }
            _ => _mm256_cvtph_ps(_mm_loadu_si128((p as *const u16).add(idx) as *const __m128i)),
        }
    }

    #[inline(always)]
    unsafe fn mul_add(x: __m256, y: __m256, d: __m256) -> __m256 {
        _mm256_add_ps(d, _mm256_mul_ps(x, y))
    }
    #[inline(always)]
    unsafe fn fused(x: __m256, y: __m256, d: __m256) -> __m256 {
        _mm256_fmadd_ps(x, y, d)
    }

    /// A tile of `R` rows × `P` panels over `ks`.
    #[inline(always)]
    unsafe fn tile<const R: usize, const P: usize, const S: u8, const FUSED: bool>(
        w: &[&[u8]],
        a: &[&[f32]],
        ks: std::ops::Range<usize>,
    ) -> Dots {
        let vb = if S == 0 { 4 } else { 2 };
        assert!(a.len() == R && w.len() == P);
        assert!(a.iter().all(|r| r.len() >= ks.end));
        assert!(w.iter().all(|p| p.len() >= ks.end * PANEL * vb));
        let mut acc = [[_mm256_setzero_ps(); P]; R];
        let wp: [*const u8; P] = std::array::from_fn(|q| w[q].as_ptr());
        let ap: [*const f32; R] = std::array::from_fn(|r| a[r].as_ptr());
        for kk in ks {
            // SAFETY: bounds asserted above.
            let wv: [__m256; P] = std::array::from_fn(|q| load::<S>(wp[q], kk * PANEL));
            for r in 0..R {
                let x = _mm256_broadcast_ss(&*ap[r].add(kk));
                for q in 0..P {
                    acc[r][q] = if FUSED {
                        fused(x, wv[q], acc[r][q])
                    } else {
                        mul_add(x, wv[q], acc[r][q])
                    };
                }
            }
        }
        let mut d = [[[0f32; PANEL]; TILE_PANELS]; TILE_ROWS];
        for r in 0..R {
            for q in 0..P {
                _mm256_storeu_ps(d[r][q].as_mut_ptr(), acc[r][q]);
            }
        }
        d
    }

    macro_rules! by_shape {
        ($s:literal, $f:literal, $w:expr, $a:expr, $ks:expr) => {
            match ($a.len(), $w.len()) {
                (1, 1) => tile::<1, 1, $s, $f>($w, $a, $ks),
                (2, 1) => tile::<2, 1, $s, $f>($w, $a, $ks),
                (3, 1) => tile::<3, 1, $s, $f>($w, $a, $ks),
                (4, 1) => tile::<4, 1, $s, $f>($w, $a, $ks),
                (5, 1) => tile::<5, 1, $s, $f>($w, $a, $ks),
                (6, 1) => tile::<6, 1, $s, $f>($w, $a, $ks),
                (1, _) => tile::<1, 2, $s, $f>($w, $a, $ks),
                (2, _) => tile::<2, 2, $s, $f>($w, $a, $ks),
                (3, _) => tile::<3, 2, $s, $f>($w, $a, $ks),
                (4, _) => tile::<4, 2, $s, $f>($w, $a, $ks),
                (5, _) => tile::<5, 2, $s, $f>($w, $a, $ks),
                _ => tile::<6, 2, $s, $f>($w, $a, $ks),
            }
        };
    }

    /// The AVX2 tile for a storage and step (fused needs FMA, fp16 F16C).
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dots(
        fused: bool,
        storage: FloatStorage,
        w: &[&[u8]],
        a: &[&[f32]],
        ks: std::ops::Range<usize>,
    ) -> Dots {
        match (storage, fused) {
            (FloatStorage::F32, false) => by_shape!(0, false, w, a, ks),
            (FloatStorage::F32, true) => by_shape!(0, true, w, a, ks),
            (FloatStorage::Bf16, false) => by_shape!(1, false, w, a, ks),
            (FloatStorage::Bf16, true) => by_shape!(1, true, w, a, ks),
            (FloatStorage::F16, false) => by_shape!(2, false, w, a, ks),
            (FloatStorage::F16, true) => by_shape!(2, true, w, a, ks),
        }
    }
}
