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

use super::pack::{exp_range, FloatPanels, PANEL};
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
                let wps: Vec<&[f32]> = (p..p + np)
                    .map(|pp| &self.w.data[pp * k * PANEL..(pp + 1) * k * PANEL])
                    .collect();
                let mut acc = [[[0f32; PANEL]; TILE_PANELS]; TILE_ROWS];
                for gi in 0..g.count {
                    let dots = dots(level, fused, &wps, &arows, g.range(gi));
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

/// Sequential dot products over `ks` for a tile of rows × panels.
fn dots(
    level: IsaLevel,
    fused: bool,
    w: &[&[f32]],
    a: &[&[f32]],
    ks: std::ops::Range<usize>,
) -> Dots {
    let fma = isa::active().fma;
    isa::dispatch!(level,
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2; the fused
        // arm also checked FMA above.
        avx2 => if !fused {
            unsafe { avx2::dots_mul_add(w, a, ks) }
        } else if fma {
            unsafe { avx2::dots_fused(w, a, ks) }
        } else {
            dots_scalar(fused, w, a, ks)
        },
        scalar => dots_scalar(fused, w, a, ks),
    )
}

/// The portable path (and the obvious statement of each lane's sum).
fn dots_scalar(fused: bool, w: &[&[f32]], a: &[&[f32]], ks: std::ops::Range<usize>) -> Dots {
    let mut d = [[[0f32; PANEL]; TILE_PANELS]; TILE_ROWS];
    for (t, ar) in a.iter().enumerate() {
        for (q, wp) in w.iter().enumerate() {
            for kk in ks.clone() {
                let x = ar[kk];
                for l in 0..PANEL {
                    let y = wp[kk * PANEL + l];
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
    use super::{Dots, PANEL, TILE_PANELS, TILE_ROWS};
    use std::arch::x86_64::*;

    macro_rules! tile_fn {
        ($name:ident, $feat:literal, $step:expr) => {
            /// AVX2 tile of `R` rows × `P` panels.
            #[target_feature(enable = $feat)]
            unsafe fn $name<const R: usize, const P: usize>(
                w: &[&[f32]],
                a: &[&[f32]],
                ks: std::ops::Range<usize>,
            ) -> Dots {
                assert!(a.len() == R && w.len() == P);
                assert!(a.iter().all(|r| r.len() >= ks.end));
                assert!(w.iter().all(|p| p.len() >= ks.end * PANEL));
                let mut acc = [[_mm256_setzero_ps(); P]; R];
                let wp: [*const f32; P] = std::array::from_fn(|q| w[q].as_ptr());
                let ap: [*const f32; R] = std::array::from_fn(|r| a[r].as_ptr());
                for kk in ks {
                    // SAFETY: bounds asserted above.
                    let wv: [__m256; P] =
                        std::array::from_fn(|q| _mm256_loadu_ps(wp[q].add(kk * PANEL)));
                    for r in 0..R {
                        let x = _mm256_broadcast_ss(&*ap[r].add(kk));
                        for q in 0..P {
                            acc[r][q] = $step(x, wv[q], acc[r][q]);
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
        };
    }

    #[inline(always)]
    unsafe fn mul_add(x: __m256, y: __m256, d: __m256) -> __m256 {
        _mm256_add_ps(d, _mm256_mul_ps(x, y))
    }
    #[inline(always)]
    unsafe fn fused(x: __m256, y: __m256, d: __m256) -> __m256 {
        _mm256_fmadd_ps(x, y, d)
    }

    tile_fn!(tile_mul_add, "avx2", mul_add);
    tile_fn!(tile_fused, "avx2,fma", fused);

    macro_rules! by_shape {
        ($f:ident, $w:expr, $a:expr, $ks:expr) => {
            match ($a.len(), $w.len()) {
                (1, 1) => $f::<1, 1>($w, $a, $ks),
                (2, 1) => $f::<2, 1>($w, $a, $ks),
                (3, 1) => $f::<3, 1>($w, $a, $ks),
                (4, 1) => $f::<4, 1>($w, $a, $ks),
                (5, 1) => $f::<5, 1>($w, $a, $ks),
                (6, 1) => $f::<6, 1>($w, $a, $ks),
                (1, _) => $f::<1, 2>($w, $a, $ks),
                (2, _) => $f::<2, 2>($w, $a, $ks),
                (3, _) => $f::<3, 2>($w, $a, $ks),
                (4, _) => $f::<4, 2>($w, $a, $ks),
                (5, _) => $f::<5, 2>($w, $a, $ks),
                _ => $f::<6, 2>($w, $a, $ks),
            }
        };
    }

    /// Multiply-then-add tile.
    #[target_feature(enable = "avx2")]
    pub unsafe fn dots_mul_add(w: &[&[f32]], a: &[&[f32]], ks: std::ops::Range<usize>) -> Dots {
        by_shape!(tile_mul_add, w, a, ks)
    }

    /// Fused tile (needs FMA).
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dots_fused(w: &[&[f32]], a: &[&[f32]], ks: std::ops::Range<usize>) -> Dots {
        by_shape!(tile_fused, w, a, ks)
    }
}
