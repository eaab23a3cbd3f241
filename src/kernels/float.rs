//! The float kernel family: f32 lanes across 8 output channels, each lane a
//! sequential sum over K in the emulation's order, so vectorising never
//! reorders a sum. Per K group (one group of K without inner scales):
//! `dot = +0; dot = dot + a[i,k]·w[j,k]` for k in order, then the variants'
//! fold `acc = acc + (dot · sa[i,g]) · sw[j,g]`, and `out = (acc · sa[i]) ·
//! sw[j]` (each scale only where the operand has it: activation scales come
//! with activations a variant quantized itself, see [`ActScales`]).
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
//!
//! The same per-lane operations run on ymm (AVX2: one 8-row panel per
//! register) or zmm (AVX-512: two adjacent panels per register); a lane's
//! chain is the same sequence of roundings either way.
//!
//! Weights are stored as f32, bf16, fp16, one byte per value
//! ([`ByteCode`]) or, FP4 E2M1 values, half a byte
//! ([`FloatStorage::Nibble`]), each widened to f32 exactly in registers.
//! With inner (per group) scales the register tile itself runs the fold at
//! every group end (`Fold`): its dot registers start at +0, and the tile's
//! sums in memory hold `acc`, so a group of 16 or 32 K steps costs a few
//! extra operations per register instead of a pass through memory. Without
//! inner scales the tile's sums are the running dot products (reloaded
//! between K chunks, an exact f32 round trip) and the fold runs once, after
//! K.

use super::bytecode::E2M1_VALUES;
use super::pack::{
    exp_range, half_value, super_view, ByteCode, FloatPanels, FloatStorage, PANEL, SUPER,
};
use super::{Bias, OutElem, GEMV_MAX_M};
use crate::formats::MiniFloat;
use crate::isa::{self, IsaLevel};
use rayon::prelude::*;

/// Activation rows per register tile in the GEMM path, by level: AVX2 6 rows
/// × 2 panels (12 ymm accumulators); AVX-512 8 rows × 4 panels (16 zmm
/// accumulators, two panels per zmm). GEMV tiles take all M ≤ 8 rows (6 on
/// AVX2) and widen in panels instead (see [`panels_for`]): one row has
/// only one FMA per weight vector, so it needs many independent output
/// chains to hide the FMA latency (each chain is sequential in K by design).
const GEMM_TILE_ROWS_AVX2: usize = 6;
/// See [`GEMM_TILE_ROWS_AVX2`].
const GEMM_TILE_ROWS_AVX512: usize = 8;
/// Activation rows per cache block in the GEMM path.
const BLOCK_ROWS: usize = 96;
/// Panels per task: one super-panel (a GEMV task streams it in order).
const TASK_PANELS: usize = SUPER;
/// K positions per cache chunk in the GEMM path (a 4-panel tile's weights:
/// 32 KiB in f32, within L1); GEMV walks each group whole.
const KC: usize = 256;

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

/// Scales of activations a variant quantized before the product (MX, NVFP4,
/// absmax minifloats): folded as the emulation does, the inner one before
/// the weight's inner scale, the outer one before the weight's outer scale.
#[derive(Debug, Clone, Copy, Default)]
pub struct ActScales<'a> {
    /// Per row and K group, `[row][group]` (the weights' groups).
    pub inner: Option<&'a [f32]>,
    /// Per row.
    pub outer: Option<&'a [f32]>,
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
        let mut out = vec![0f64; m * self.w.n];
        self.matmul_into(a, m, None, &mut out);
        out
    }

    /// [`Self::matmul`] written into `out` (`m × n`, row-major; every
    /// element is overwritten, so it need not be zeroed), as f32 or f64,
    /// with `bias[j]` added to column `j` in f32 when given (see [`Bias`]).
    ///
    /// # Panics
    /// When `out` does not hold `m × n` values or `bias` not `n`.
    pub fn matmul_into<T: OutElem>(&self, a: &[f32], m: usize, bias: Bias, out: &mut [T]) {
        let cast;
        let a = match &self.act {
            ActCast::F32 => a,
            ActCast::Cast(f) => {
                cast = super::quant::cast_rows(f, a);
                &cast[..]
            }
        };
        let fused = self.fusable(a);
        let sa = ActScales::default();
        self.run_into(a, m, fused, isa::effective(), &sa, bias, out);
    }

    /// `a · wᵀ` for activations already quantized by the variant (element
    /// values `a`, `m × k`, with their scales `sa`): the step fuses where
    /// [`Self::fusable`] allows, at the effective ISA level.
    ///
    /// # Panics
    /// When `sa` does not fit `m` rows and the weights' K groups.
    pub fn matmul_scaled(&self, a: &[f32], m: usize, sa: &ActScales) -> Vec<f64> {
        let mut out = vec![0f64; m * self.w.n];
        self.matmul_scaled_into(a, m, sa, None, &mut out);
        out
    }

    /// [`Self::matmul_scaled`] written into `out` (see [`Self::matmul_into`]).
    ///
    /// # Panics
    /// When `sa` does not fit `m` rows and the weights' K groups, or `out`
    /// does not hold `m × n` values, or `bias` not `n`.
    pub fn matmul_scaled_into<T: OutElem>(
        &self,
        a: &[f32],
        m: usize,
        sa: &ActScales,
        bias: Bias,
        out: &mut [T],
    ) {
        let fused = self.fusable(a);
        self.run_into(a, m, fused, isa::effective(), sa, bias, out);
    }

    /// The product on prepared activations with a chosen step (`fused` must
    /// be what [`Self::fusable`] allows) at `level`.
    pub fn run(&self, a: &[f32], m: usize, fused: bool, level: IsaLevel) -> Vec<f64> {
        self.run_scaled(a, m, fused, level, &ActScales::default())
    }

    /// [`Self::run`] with activation scales folded in the emulation's order.
    ///
    /// # Panics
    /// When `sa` does not fit `m` rows and the weights' K groups.
    pub fn run_scaled(
        &self,
        a: &[f32],
        m: usize,
        fused: bool,
        level: IsaLevel,
        sa: &ActScales,
    ) -> Vec<f64> {
        let mut out = vec![0f64; m * self.w.n];
        self.run_into(a, m, fused, level, sa, None, &mut out);
        out
    }

    /// [`Self::run_scaled`] written into `out` (`m × n`; every element is
    /// overwritten), plus `bias` (see [`Bias`]).
    ///
    /// # Panics
    /// When `sa` does not fit `m` rows and the weights' K groups, or `out`
    /// does not hold `m × n` values, or `bias` not `n`.
    #[allow(clippy::too_many_arguments)] // the product's complete description
    pub fn run_into<T: OutElem>(
        &self,
        a: &[f32],
        m: usize,
        fused: bool,
        level: IsaLevel,
        sa: &ActScales,
        bias: Bias,
        out: &mut [T],
    ) {
        if let Some(s) = sa.inner {
            assert_eq!(
                s.len(),
                m * self.w.groups.count,
                "one inner scale per row and group"
            );
        }
        if let Some(s) = sa.outer {
            assert_eq!(s.len(), m, "one outer scale per row");
        }
        let n = self.w.n;
        assert_eq!(out.len(), m * n, "the output must hold m × n values");
        assert!(
            bias.is_none_or(|b| b.len() == n),
            "one bias per output column"
        );
        if m == 0 || n == 0 {
            return;
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
                let v = self.block(level, fused, a, sa, rows.clone(), panels.clone());
                (rows.start, panels.start, v)
            })
            .collect();
        let groups = self.w.panels.div_ceil(TASK_PANELS);
        super::int8::scatter_all(out, n, block, groups, &parts, bias);
    }

    /// Panel `p`'s stored values as bytes, from its first value to the end
    /// of its super-panel, and the values one K step advances.
    fn panel_bytes(&self, p: usize) -> (&[u8], usize) {
        let (start, stride) = super_view(self.w.panels, self.w.k, p);
        let sp_end = (p / SUPER * SUPER * self.w.k * PANEL + self.w.k * stride)
            .min(self.w.panels * self.w.k * PANEL);
        let (ptr, bytes) = match self.w.storage {
            FloatStorage::F32 => (
                self.w.data[start..sp_end].as_ptr() as *const u8,
                4 * (sp_end - start),
            ),
            FloatStorage::Byte(_) => (self.w.codes[start..sp_end].as_ptr(), sp_end - start),
            // Panel starts are multiples of 8 values: whole bytes.
            FloatStorage::Nibble => (
                self.w.codes[start / 2..sp_end / 2].as_ptr(),
                (sp_end - start) / 2,
            ),
            _ => (
                self.w.half[start..sp_end].as_ptr() as *const u8,
                2 * (sp_end - start),
            ),
        };
        // SAFETY: a view of initialised plain values as bytes, within the slice above.
        (unsafe { std::slice::from_raw_parts(ptr, bytes) }, stride)
    }

    /// One task: rows × panels, finished outputs `[row][panel col]`.
    ///
    /// GEMM: K is walked in chunks of [`KC`] so that a chunk of the task's
    /// activation rows stays in L2 and of its weight panels in L1 while every
    /// register tile passes over them; each lane's running dot product is
    /// stored between chunks and reloaded (an exact f32 round trip), so each
    /// output's sum is still one sequential chain in K order. GEMV walks each
    /// group whole: every weight byte is read once, in one stream per panel.
    fn block(
        &self,
        level: IsaLevel,
        fused: bool,
        a: &[f32],
        sa: &ActScales,
        rows: std::ops::Range<usize>,
        panels: std::ops::Range<usize>,
    ) -> Vec<f32> {
        let (k, g) = (self.w.k, &self.w.groups);
        let (nr, np_all) = (rows.len(), panels.len());
        let cols = np_all * PANEL;
        let gemv = nr <= GEMV_MAX_M;
        let tile_rows = match isa::supported(level) {
            IsaLevel::Avx512 if gemv => nr,
            IsaLevel::Avx512 => GEMM_TILE_ROWS_AVX512,
            _ if gemv => nr.min(GEMM_TILE_ROWS_AVX2),
            _ => GEMM_TILE_ROWS_AVX2,
        };
        let at = |i: usize, p: usize| (i - rows.start) * np_all + (p - panels.start);
        let mut dot = vec![[0f32; PANEL]; nr * np_all];
        let mut acc = vec![[0f32; PANEL]; nr * np_all];
        let views: Vec<(&[u8], usize)> = panels.clone().map(|pp| self.panel_bytes(pp)).collect();
        let kstride = views[0].1;
        // A task is one super-panel: every panel steps through K alike.
        assert!(views.iter().all(|v| v.1 == kstride));
        let wps_all: Vec<&[u8]> = views.iter().map(|v| v.0).collect();
        let arows_all: Vec<&[f32]> = rows.clone().map(|ii| &a[ii * k..(ii + 1) * k]).collect();
        // The tiles walk K in chunks of whole groups and fold each group
        // in registers (see `Fold`); one group of K folds once, below.
        let fold_in_tiles = g.count > 1;
        let ws_all: Vec<&[f32]> = match &self.w.scales.inner {
            Some(s) if fold_in_tiles => panels
                .clone()
                .map(|pp| &s[pp * g.count * PANEL..(pp + 1) * g.count * PANEL])
                .collect(),
            _ => vec![],
        };
        let sa_all: Vec<&[f32]> = match sa.inner {
            Some(s) if fold_in_tiles => rows
                .clone()
                .map(|ii| &s[ii * g.count..(ii + 1) * g.count])
                .collect(),
            _ => vec![],
        };
        let walk = |ks: std::ops::Range<usize>, sums: &mut [[f32; PANEL]], fold: bool| {
            let mut p = panels.start;
            while p < panels.end {
                // Every row tile takes the same panels (a tile of fewer
                // rows allows at least as many).
                let np = panels_for(level, tile_rows, panels.end - p);
                let (p0, i0) = (p - panels.start, rows.start);
                let wps = &wps_all[p0..p0 + np];
                let mut i = rows.start;
                while i < rows.end {
                    let r = tile_rows.min(rows.end - i);
                    let arows = &arows_all[i - i0..i - i0 + r];
                    let f = Fold {
                        len: g.len,
                        w: if ws_all.is_empty() {
                            &[]
                        } else {
                            &ws_all[p0..p0 + np]
                        },
                        a: if sa_all.is_empty() {
                            &[]
                        } else {
                            &sa_all[i - i0..i - i0 + r]
                        },
                    };
                    let d = &mut sums[at(i, p)..];
                    let tile = Tile {
                        fused,
                        storage: self.w.storage,
                        w: wps,
                        kstride,
                        a: arows,
                        ks: ks.clone(),
                        stride: np_all,
                        pf: gemv,
                        fold: fold.then_some(&f),
                    };
                    dots(level, &tile, d);
                    i += r;
                }
                p += np;
            }
        };
        if fold_in_tiles {
            // GEMV: all of K in one walk (one stream per panel); GEMM:
            // chunks of whole groups of about `KC` positions.
            let chunk = if gemv { k } else { (KC / g.len).max(1) * g.len };
            let mut k0 = 0;
            while k0 < k {
                let k1 = (k0 + chunk).min(k);
                walk(k0..k1, &mut acc, true);
                k0 = k1;
            }
        } else if g.count == 1 {
            // One group of K: the tiles' sums are the running dot products
            // (reloaded between chunks), folded once after K.
            let mut k0 = 0;
            while k0 < k {
                let k1 = if gemv { k } else { (k0 + KC).min(k) };
                walk(k0..k1, &mut dot, false);
                k0 = k1;
            }
            // The variants' fold: acc = acc + (dot · sa[i]) · sw[j]. A
            // missing scale multiplies by 1, which changes no bit (x · 1 is
            // x for every x, ±0 and ±inf included; a NaN stays a NaN), so the
            // lane loop has no branch and vectorises.
            for i in rows.clone() {
                let a_s = sa.inner.map_or(1.0, |s| s[i]);
                for p in panels.clone() {
                    let w_s: [f32; PANEL] = match &self.w.scales.inner {
                        Some(s) => s[p * PANEL..(p + 1) * PANEL]
                            .try_into()
                            .expect("PANEL scales"),
                        None => [1.0; PANEL],
                    };
                    let (d, ac) = (&dot[at(i, p)], &mut acc[at(i, p)]);
                    for l in 0..PANEL {
                        ac[l] += (d[l] * a_s) * w_s[l];
                    }
                }
            }
        }
        let mut out = vec![0f32; nr * cols];
        for i in rows.clone() {
            for p in panels.clone() {
                let c0 = (p - panels.start) * PANEL;
                for l in 0..PANEL {
                    let mut v = acc[at(i, p)][l];
                    if let Some(s) = sa.outer {
                        v *= s[i];
                    }
                    if let Some(s) = &self.w.scales.outer {
                        v *= s[p * PANEL + l];
                    }
                    out[(i - rows.start) * cols + c0 + l] = v;
                }
            }
        }
        out
    }
}

/// Stored value `idx` of a panel (the obvious decoder).
#[inline(always)]
fn value(storage: FloatStorage, panel: &[u8], idx: usize) -> f32 {
    match storage {
        FloatStorage::F32 => f32::from_le_bytes(panel[4 * idx..4 * idx + 4].try_into().unwrap()),
        FloatStorage::Byte(code) => code.decode(panel[idx]),
        FloatStorage::Nibble => E2M1_VALUES[(panel[idx / 2] >> (4 * (idx % 2)) & 15) as usize],
        _ => half_value(
            storage,
            u16::from_le_bytes([panel[2 * idx], panel[2 * idx + 1]]),
        ),
    }
}

/// How many of `left` panels a register tile of `rows` rows takes: the
/// largest allowed count ≤ `left` (AVX2: 8 / 4 / 2 / 1 panels for 1 / ≤ 3 /
/// more rows; AVX-512: 16 / 8 / 4 panels for ≤ 2 / ≤ 4 / more rows, in
/// zmm pairs, a last odd panel on the AVX2 tile; scalar: all).
fn panels_for(level: IsaLevel, rows: usize, left: usize) -> usize {
    let pick = |max: usize| {
        let mut p = max;
        while p > left {
            p /= 2;
        }
        p.max(1)
    };
    match isa::supported(level) {
        IsaLevel::Avx512 => pick(if rows <= 2 {
            16
        } else if rows <= 4 {
            8
        } else {
            4
        }),
        IsaLevel::Avx2 => pick(if rows == 1 {
            8
        } else if rows <= 3 {
            4
        } else {
            2
        }),
        IsaLevel::Scalar => left,
    }
}

/// One register tile's work: rows `a` against panels `w` (a shape
/// [`panels_for`] allows) over K positions `ks`; row `t`'s sums for panel
/// `q` sit at `d[t · stride + q]` of the tile's sums.
struct Tile<'a> {
    /// Fused step (see [`FloatSum`]).
    fused: bool,
    /// How the weights are stored.
    storage: FloatStorage,
    /// The panels' stored values from the tile's first K position's row.
    w: &'a [&'a [u8]],
    /// Values one K step advances in a panel.
    kstride: usize,
    /// Activation rows (whole rows of K).
    a: &'a [&'a [f32]],
    /// The K positions.
    ks: std::ops::Range<usize>,
    /// Sums per row of the tile's sums array.
    stride: usize,
    /// Prefetch the weights (a GEMV streams them once).
    pf: bool,
    /// Fold each K group in the tile (see [`Fold`]); without, the sums are
    /// running dot products, loaded at the start and stored at the end.
    fold: Option<&'a Fold<'a>>,
}

/// The variants' group fold done inside a tile, per K group of `len`
/// positions: the dot product starts at +0, runs over the group, and
/// `acc = acc + (dot · sa[t, g]) · sw[q, g]` adds it into the tile's sums
/// (which hold `acc`), exactly as the emulation orders it. A tile's `ks`
/// starts at a group's start and ends at a group's end (or K's).
struct Fold<'a> {
    /// Group length.
    len: usize,
    /// Per tile panel, its weights' inner scales `[group][8]`; empty: none.
    w: &'a [&'a [f32]],
    /// Per tile row, its inner scales `[group]`; empty: none.
    a: &'a [&'a [f32]],
}

impl Fold<'_> {
    /// The K groups a tile walks: `(group, positions)`.
    fn segments(
        &self,
        ks: &std::ops::Range<usize>,
    ) -> impl Iterator<Item = (usize, std::ops::Range<usize>)> {
        let (len, end) = (self.len, ks.end);
        let mut k0 = ks.start;
        std::iter::from_fn(move || {
            (k0 < end).then(|| {
                let g = k0 / len;
                let k1 = ((g + 1) * len).min(end);
                let seg = (g, k0..k1);
                k0 = k1;
                seg
            })
        })
    }

    /// Row `t`'s scale in group `g` (1 without activation scales).
    #[inline(always)]
    fn a_scale(&self, t: usize, g: usize) -> f32 {
        if self.a.is_empty() {
            1.0
        } else {
            self.a[t][g]
        }
    }

    /// Panel `q`'s 8 scales in group `g` (ones without weight scales).
    #[inline(always)]
    fn w_scales(&self, q: usize, g: usize) -> &[f32] {
        const ONES: [f32; PANEL] = [1.0; PANEL];
        if self.w.is_empty() {
            &ONES
        } else {
            &self.w[q][g * PANEL..(g + 1) * PANEL]
        }
    }

    /// Checks the scales cover a tile of `rows` × `panels` over `ks`.
    fn check(&self, rows: usize, panels: usize, ks: &std::ops::Range<usize>) {
        assert!(self.len > 0 && ks.start.is_multiple_of(self.len));
        let groups = ks.end.div_ceil(self.len);
        assert!(
            self.a.is_empty() || (self.a.len() == rows && self.a.iter().all(|s| s.len() >= groups))
        );
        assert!(
            self.w.is_empty()
                || (self.w.len() == panels && self.w.iter().all(|s| s.len() >= groups * PANEL))
        );
    }
}

/// Runs a tile at `level` (see [`Tile`]), its sums in `d`.
fn dots(level: IsaLevel, t: &Tile, d: &mut [[f32; PANEL]]) {
    let f = isa::active();
    // The SIMD paths are compiled with FMA and F16C (fused steps, fp16
    // widening); every AVX2 CPU known has both, but a CPU without them takes
    // the portable path.
    let ok = f.fma && f.f16c;
    isa::dispatch!(level,
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX-512
        // (F, BW, VL); FMA and F16C were checked above.
        avx512 => if ok {
            unsafe { avx512::dots(t, d) }
        } else {
            dots_scalar(t, d)
        },
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2; F16C and
        // FMA were checked above.
        avx2 => if ok {
            unsafe { avx2::dots(t, d) }
        } else {
            dots_scalar(t, d)
        },
        scalar => dots_scalar(t, d),
    )
}

/// The portable path (and the obvious statement of each lane's sum).
#[allow(clippy::needless_range_loop)] // indices mirror the packed layout
fn dots_scalar(t: &Tile, d: &mut [[f32; PANEL]]) {
    let step = |s: f32, x: f32, y: f32| if t.fused { x.mul_add(y, s) } else { s + x * y };
    for (r, ar) in t.a.iter().enumerate() {
        for (q, wp) in t.w.iter().enumerate() {
            let sums = &mut d[r * t.stride + q];
            let value = |kk: usize, l: usize| value(t.storage, wp, kk * t.kstride + l);
            match t.fold {
                None => {
                    for kk in t.ks.clone() {
                        for l in 0..PANEL {
                            sums[l] = step(sums[l], ar[kk], value(kk, l));
                        }
                    }
                }
                Some(f) => {
                    for (g, seg) in f.segments(&t.ks) {
                        let mut dot = [0f32; PANEL];
                        for kk in seg {
                            for l in 0..PANEL {
                                dot[l] = step(dot[l], ar[kk], value(kk, l));
                            }
                        }
                        let (a_s, w_s) = (f.a_scale(r, g), f.w_scales(q, g));
                        for l in 0..PANEL {
                            sums[l] += (dot[l] * a_s) * w_s[l];
                        }
                    }
                }
            }
        }
    }
}

/// Checks a tile's operands against its shape (the SIMD tiles read raw
/// pointers), `per_reg` panels per register sitting side by side at every
/// K position.
#[inline(always)]
fn check_tile(
    rows: usize,
    panels: usize,
    per_reg: usize,
    value_bits: usize,
    t: &Tile,
    d: &[[f32; PANEL]],
) {
    assert!(t.a.len() == rows && t.w.len() == panels && panels <= t.stride);
    for reg in t.w.chunks(per_reg) {
        for (h, p) in reg.iter().enumerate() {
            let at = reg[0].as_ptr().wrapping_add(h * PANEL * value_bits / 8);
            assert!(std::ptr::eq(p.as_ptr(), at));
        }
    }
    assert!(t.a.iter().all(|r| r.len() >= t.ks.end));
    let last = t.ks.end.saturating_sub(1) * t.kstride + PANEL;
    assert!(t.w.iter().all(|p| p.len() >= last * value_bits / 8));
    assert!(d.len() >= (rows - 1) * t.stride + panels);
    if let Some(f) = t.fold {
        f.check(rows, panels, &t.ks);
    }
}

/// The SIMD tiles' storage parameter: 0 f32, 1 bf16, 2 fp16, 3 E5M2 byte,
/// 4 E4M3 byte, 5 int8 · 2^e byte (see [`ByteCode`]), 6 E2M1 nibble.
fn storage_id(storage: FloatStorage) -> u8 {
    match storage {
        FloatStorage::F32 => 0,
        FloatStorage::Bf16 => 1,
        FloatStorage::F16 => 2,
        FloatStorage::Byte(ByteCode::E5m2) => 3,
        FloatStorage::Byte(ByteCode::E4m3) => 4,
        FloatStorage::Byte(ByteCode::I8(_)) => 5,
        FloatStorage::Nibble => 6,
    }
}

/// Bits per stored value of storage parameter `s` ([`storage_id`]); the
/// byte offsets of 8-value runs (a panel row, a register) are whole.
#[cfg(target_arch = "x86_64")]
const fn value_bits(s: u8) -> usize {
    match s {
        0 => 32,
        1 | 2 => 16,
        6 => 4,
        _ => 8,
    }
}

/// K steps ahead that a GEMV tile prefetches its weights: a GEMV streams
/// them from memory once, and the tile's short loop body would otherwise
/// keep too few cache misses in flight (one row: one FMA per weight vector).
#[cfg(target_arch = "x86_64")]
const PREFETCH_K: usize = 32;

/// Prefetch hints for `bytes` bytes at `p + off`, one per cache line (a hint
/// never faults, so reading past the end is harmless).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn prefetch(p: *const u8, off: usize, bytes: usize) {
    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    let mut l = 0;
    while l < bytes {
        // SAFETY: `_mm_prefetch` is SSE (baseline x86-64) and only a hint.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off + l) as *const i8) };
        l += 64;
    }
}

/// The register tile's two functions for one vector width, written once:
/// `run` (the K steps `acc[r][q] += a[r][k] · w[q][k]`) and `tile` (a tile
/// of `R` rows × `PANELS · P` panels, sums in place, with the fold at every
/// group end when the weights have inner scales). The AVX2 module expands
/// it on ymm (one panel per register), the AVX-512 one on zmm (two adjacent
/// panels per register); each supplies the widening `load`, the
/// weight-scale read `w_scales` and the lane orders `lanes_in` /
/// `lanes_out` (the sums' natural order to the register's and back) of its
/// width. A lane's chain is the same sequence of roundings at either width. (A macro, not generic code: the
/// intrinsics differ by type, and closures would not inherit the callers'
/// target features.)
#[cfg(target_arch = "x86_64")]
macro_rules! float_tile_fns {
    (
        $v:ty, panels: $pp:literal, zero: $zero:ident, loadu: $loadu:ident,
        storeu: $storeu:ident, set1: $set1:ident, fmadd: $fmadd:ident,
        add: $add:ident, mul: $mul:ident
    ) => {
        /// The K steps of a tile: `acc[r][q] += a[r][k] · w[q][k]` for k in `ks`.
        #[inline(always)]
        #[allow(clippy::needless_range_loop)] // r, q index register arrays
        #[allow(clippy::too_many_arguments)] // the tile's registers and operands
        unsafe fn run<const R: usize, const P: usize, const S: u8, const FUSED: bool>(
            acc: &mut [[$v; P]; R],
            wp: &[*const u8; P],
            ap: &[*const f32; R],
            ks: std::ops::Range<usize>,
            kstride: usize,
            pf: bool,
            scale: $v,
        ) {
            let vb = value_bits(S);
            for kk in ks {
                if pf {
                    prefetch(
                        wp[0],
                        (kk + PREFETCH_K) * kstride * vb / 8,
                        $pp * P * PANEL * vb / 8,
                    );
                }
                // (A loop, not `array::from_fn`: its closure would not inherit
                // the caller's target features, and the intrinsics would not inline.)
                let mut wv = [$zero(); P];
                for q in 0..P {
                    wv[q] = load::<S>(wp[q], kk * kstride, scale);
                }
                for r in 0..R {
                    let x = $set1(*ap[r].add(kk));
                    for q in 0..P {
                        acc[r][q] = if FUSED {
                            $fmadd(x, wv[q], acc[r][q])
                        } else {
                            // Rounded product, then rounded sum (Rust never
                            // contracts these into an FMA).
                            $add(acc[r][q], $mul(x, wv[q]))
                        };
                    }
                }
            }
        }

        /// A tile of `R` rows × `P` registers of panels (see [`Tile`]),
        /// sums in place.
        #[inline(always)]
        #[allow(clippy::needless_range_loop)] // r, q index register arrays
        unsafe fn tile<const R: usize, const P: usize, const S: u8, const FUSED: bool>(
            t: &Tile,
            d: &mut [[f32; PANEL]],
            scale: f32,
        ) {
            check_tile(R, $pp * P, $pp, value_bits(S), t, d);
            let (kstride, stride) = (t.kstride, t.stride);
            let scale = $set1(scale);
            let dp = d.as_mut_ptr();
            let wp: [*const u8; P] = std::array::from_fn(|q| t.w[$pp * q].as_ptr());
            let ap: [*const f32; R] = std::array::from_fn(|r| t.a[r].as_ptr());
            // SAFETY (all pointer reads and writes below): bounds checked
            // above; a row's sums of a register's panels are adjacent, and
            // so are their weights.
            let mut acc: [[$v; P]; R] = [[$zero(); P]; R];
            // (Macros, not closures: a closure would not inherit the
            // caller's target features and would not inline.)
            macro_rules! sums {
                ($r:expr, $q:expr) => {
                    (*dp.add($r * stride + $pp * $q)).as_mut_ptr()
                };
            }
            match t.fold {
                None => {
                    for r in 0..R {
                        for q in 0..P {
                            acc[r][q] = lanes_in::<S>($loadu(sums!(r, q)));
                        }
                    }
                    run::<R, P, S, FUSED>(&mut acc, &wp, &ap, t.ks.clone(), kstride, t.pf, scale);
                    for r in 0..R {
                        for q in 0..P {
                            $storeu(sums!(r, q), lanes_out::<S>(acc[r][q]));
                        }
                    }
                }
                Some(f) => {
                    for (g, seg) in f.segments(&t.ks) {
                        acc = [[$zero(); P]; R];
                        run::<R, P, S, FUSED>(&mut acc, &wp, &ap, seg, kstride, t.pf, scale);
                        let mut ws = [$zero(); P];
                        for q in 0..P {
                            ws[q] = lanes_in::<S>(w_scales(f, $pp * q, g));
                        }
                        for r in 0..R {
                            let sa = $set1(f.a_scale(r, g));
                            for q in 0..P {
                                let v = $mul($mul(acc[r][q], sa), ws[q]);
                                let p = sums!(r, q);
                                $storeu(p, $add($loadu(p), lanes_out::<S>(v)));
                            }
                        }
                    }
                }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{
        check_tile, prefetch, storage_id, value_bits, FloatStorage, Fold, Tile, E2M1_VALUES, PANEL,
        PREFETCH_K,
    };
    use std::arch::x86_64::*;

    /// E2M1 magnitudes (codes 0–7) as f32 bits, each entry XORed with its
    /// own code in bits 28–30 (see `load`): one XOR then clears those bits
    /// and sets the sign, where masking the sign and OR-ing it in took two
    /// operations.
    const E2M1_MAG_XOR_CODE: [u32; 8] = {
        let mut t = [0u32; 8];
        let mut i = 0;
        while i < 8 {
            t[i] = E2M1_VALUES[i].to_bits() ^ ((i as u32) << 28);
            i += 1;
        }
        t
    };

    /// 8 stored values at `idx` widened to f32 (`S`: see [`super::storage_id`];
    /// `scale`: the byte code's [`super::ByteCode::widen_scale`]).
    #[inline(always)]
    unsafe fn load<const S: u8>(p: *const u8, idx: usize, scale: __m256) -> __m256 {
        match S {
            0 => _mm256_loadu_ps((p as *const f32).add(idx)),
            1 => {
                let h = _mm_loadu_si128((p as *const u16).add(idx) as *const __m128i);
                _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16))
            }
            2 => _mm256_cvtph_ps(_mm_loadu_si128((p as *const u16).add(idx) as *const __m128i)),
            // E5M2 bytes are fp16's top bytes: each put above a zero byte
            // (one unpack) and widened by `vcvtph2ps`, exact, subnormal
            // codes included (see `ByteCode`).
            3 => {
                let b = _mm_loadl_epi64(p.add(idx) as *const __m128i);
                _mm256_cvtph_ps(_mm_unpacklo_epi8(_mm_setzero_si128(), b))
            }
            // E4M3 bytes: sign-extended to 32 bits, the fields shifted into
            // f32's (the sign's copies above bit 31 drop out, the ones
            // between the sign and the exponent are masked), then times
            // 2^120: exact, subnormal codes included (see `ByteCode`).
            4 => {
                let c = _mm256_cvtepi8_epi32(_mm_loadl_epi64(p.add(idx) as *const __m128i));
                let f = _mm256_and_si256(
                    _mm256_slli_epi32::<20>(c),
                    _mm256_set1_epi32(0x87f0_0000_u32 as i32),
                );
                _mm256_mul_ps(_mm256_castsi256_ps(f), scale)
            }
            // E2M1 nibbles (a panel's 4 bytes, row j at bit 4j): the
            // word broadcast to every lane and lane j shifted right by 4j,
            // so its code sits in bits 0–3; the magnitude is an 8-entry
            // `vpermd` lookup (bits 0–2) of `E2M1_MAG_XOR_CODE`, and one
            // XOR with the code shifted to bits 28–31 both undoes the
            // entry's XOR and puts the sign (code bit 3) in bit 31.
            6 => {
                let word = (p.add(idx / 2) as *const i32).read_unaligned();
                let c = _mm256_srlv_epi32(
                    _mm256_set1_epi32(word),
                    _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28),
                );
                let table = _mm256_loadu_si256(E2M1_MAG_XOR_CODE.as_ptr() as *const __m256i);
                let mag = _mm256_permutevar8x32_epi32(table, c);
                _mm256_castsi256_ps(_mm256_xor_si256(mag, _mm256_slli_epi32::<28>(c)))
            }
            _ => {
                let c = _mm_loadl_epi64(p.add(idx) as *const __m128i);
                _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(c)), scale)
            }
        }
    }

    /// Panel `q`'s weight scales of group `g`.
    #[inline(always)]
    unsafe fn w_scales(f: &Fold, q: usize, g: usize) -> __m256 {
        _mm256_loadu_ps(f.w_scales(q, g).as_ptr())
    }

    /// A register's lanes are its panel's rows in order, for every storage.
    #[inline(always)]
    fn lanes_in<const S: u8>(x: __m256) -> __m256 {
        x
    }

    /// See [`lanes_in`].
    #[inline(always)]
    fn lanes_out<const S: u8>(x: __m256) -> __m256 {
        x
    }

    float_tile_fns!(__m256, panels: 1, zero: _mm256_setzero_ps, loadu: _mm256_loadu_ps,
        storeu: _mm256_storeu_ps, set1: _mm256_set1_ps, fmadd: _mm256_fmadd_ps,
        add: _mm256_add_ps, mul: _mm256_mul_ps);

    macro_rules! by_shape {
        ($s:literal, $f:literal, $t:expr, $d:expr, $sc:expr) => {
            match ($t.a.len(), $t.w.len()) {
                (1, 8) => tile::<1, 8, $s, $f>($t, $d, $sc),
                (1, 4) => tile::<1, 4, $s, $f>($t, $d, $sc),
                (2, 4) => tile::<2, 4, $s, $f>($t, $d, $sc),
                (3, 4) => tile::<3, 4, $s, $f>($t, $d, $sc),
                (1, 2) => tile::<1, 2, $s, $f>($t, $d, $sc),
                (2, 2) => tile::<2, 2, $s, $f>($t, $d, $sc),
                (3, 2) => tile::<3, 2, $s, $f>($t, $d, $sc),
                (4, 2) => tile::<4, 2, $s, $f>($t, $d, $sc),
                (5, 2) => tile::<5, 2, $s, $f>($t, $d, $sc),
                (6, 2) => tile::<6, 2, $s, $f>($t, $d, $sc),
                (1, 1) => tile::<1, 1, $s, $f>($t, $d, $sc),
                (2, 1) => tile::<2, 1, $s, $f>($t, $d, $sc),
                (3, 1) => tile::<3, 1, $s, $f>($t, $d, $sc),
                (4, 1) => tile::<4, 1, $s, $f>($t, $d, $sc),
                (5, 1) => tile::<5, 1, $s, $f>($t, $d, $sc),
                (6, 1) => tile::<6, 1, $s, $f>($t, $d, $sc),
                (r, p) => unreachable!("no AVX2 float tile of {r} rows × {p} panels"),
            }
        };
    }

    /// The AVX2 tile for a storage and step (fused needs FMA, fp16 F16C).
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dots(t: &Tile, d: &mut [[f32; PANEL]]) {
        let sc = match t.storage {
            FloatStorage::Byte(code) => code.widen_scale(),
            _ => 1.0,
        };
        macro_rules! by_storage {
            ($($id:literal),*) => {
                match (storage_id(t.storage), t.fused) {
                    $(
                        ($id, false) => by_shape!($id, false, t, d, sc),
                        ($id, true) => by_shape!($id, true, t, d, sc),
                    )*
                    (id, _) => unreachable!("no float storage {id}"),
                }
            };
        }
        by_storage!(0, 1, 2, 3, 4, 5, 6)
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{
        check_tile, prefetch, storage_id, value_bits, FloatStorage, Fold, Tile, E2M1_VALUES, PANEL,
        PREFETCH_K,
    };
    use std::arch::x86_64::*;

    /// Two adjacent panels' 8 stored values at `idx` (16 consecutive
    /// values: panels sit side by side in a super-panel), widened to f32
    /// (`S`: see [`super::storage_id`]; `scale`: the byte code's
    /// [`super::ByteCode::widen_scale`]).
    #[inline(always)]
    unsafe fn load<const S: u8>(p: *const u8, idx: usize, scale: __m512) -> __m512 {
        match S {
            0 => _mm512_loadu_ps((p as *const f32).add(idx)),
            1 | 2 => {
                let h = _mm256_loadu_si256((p as *const u16).add(idx) as *const __m256i);
                if S == 1 {
                    _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16))
                } else {
                    _mm512_cvtph_ps(h)
                }
            }
            // E5M2 bytes: as the AVX2 `load`, 16 at once: the 16 bytes in
            // both halves of a ymm (a broadcast load, no shuffle), one
            // in-lane `vpshufb` puts bytes 0–7 (low half) and 8–15 (high
            // half) above zero bytes, then `vcvtph2ps`: three operations
            // and no multiply, where the E4M3 route below takes four.
            3 => {
                let b = _mm256_broadcastsi128_si256(_mm_loadu_si128(p.add(idx) as *const __m128i));
                let z = -128i8; // a `vpshufb` index with bit 7 set writes 0
                let tops = _mm256_setr_epi8(
                    z, 0, z, 1, z, 2, z, 3, z, 4, z, 5, z, 6, z, 7, z, 8, z, 9, z, 10, z, 11, z,
                    12, z, 13, z, 14, z, 15,
                );
                _mm512_cvtph_ps(_mm256_shuffle_epi8(b, tops))
            }
            // E4M3 bytes: as the AVX2 `load`.
            4 => {
                let c = _mm512_cvtepi8_epi32(_mm_loadu_si128(p.add(idx) as *const __m128i));
                let f = _mm512_and_si512(
                    _mm512_slli_epi32::<20>(c),
                    _mm512_set1_epi32(0x87f0_0000_u32 as i32),
                );
                _mm512_mul_ps(_mm512_castsi512_ps(f), scale)
            }
            // E2M1 nibbles (each panel's 4 bytes, row j at bit 4j): the two
            // panels' words broadcast as one 64-bit word (a load, no
            // shuffle), so even lanes hold the first panel's word and odd
            // lanes the second's; lanes 2i and 2i + 1 shifted right by 4i
            // put row i's code in bits 0–3; one 16-entry `vpermps` lookup
            // (which reads only bits 0–3). The register's lanes are thus
            // the panels' rows interleaved (see `lanes_in`): one shuffle
            // per 16 weights, where putting them in order took two more
            // and bound a GEMV.
            6 => {
                let pair = _mm512_set1_epi64((p.add(idx / 2) as *const i64).read_unaligned());
                let c = _mm512_srlv_epi32(
                    pair,
                    _mm512_setr_epi32(0, 0, 4, 4, 8, 8, 12, 12, 16, 16, 20, 20, 24, 24, 28, 28),
                );
                _mm512_permutexvar_ps(c, _mm512_loadu_ps(E2M1_VALUES.as_ptr()))
            }
            _ => {
                let c = _mm_loadu_si128(p.add(idx) as *const __m128i);
                _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(c)), scale)
            }
        }
    }

    /// Panels `q` and `q + 1`'s weight scales of group `g`, one zmm.
    #[inline(always)]
    unsafe fn w_scales(f: &Fold, q: usize, g: usize) -> __m512 {
        let lo = _mm256_loadu_ps(f.w_scales(q, g).as_ptr());
        let hi = _mm256_loadu_ps(f.w_scales(q + 1, g).as_ptr());
        // (The f64x4 insert is AVX-512 F; the f32x8 one needs DQ, which the
        // tile does not enable, so it would be an out-of-line call.)
        _mm512_castpd_ps(_mm512_insertf64x4::<1>(
            _mm512_castpd256_pd512(_mm256_castps_pd(lo)),
            _mm256_castps_pd(hi),
        ))
    }

    /// A register's sums in its lane order from the natural one (the
    /// first panel's 8 rows, then the second's): the same for every
    /// storage but nibbles, whose `load` interleaves the panels' rows
    /// (lane 2i: the first panel's row i; lane 2i + 1: the second's). Each
    /// lane's chain is unchanged; only where it sits moves.
    #[inline(always)]
    unsafe fn lanes_in<const S: u8>(x: __m512) -> __m512 {
        if S == 6 {
            let idx = _mm512_setr_epi32(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
            _mm512_permutexvar_ps(idx, x)
        } else {
            x
        }
    }

    /// The inverse of [`lanes_in`].
    #[inline(always)]
    unsafe fn lanes_out<const S: u8>(x: __m512) -> __m512 {
        if S == 6 {
            let idx = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
            _mm512_permutexvar_ps(idx, x)
        } else {
            x
        }
    }

    float_tile_fns!(__m512, panels: 2, zero: _mm512_setzero_ps, loadu: _mm512_loadu_ps,
        storeu: _mm512_storeu_ps, set1: _mm512_set1_ps, fmadd: _mm512_fmadd_ps,
        add: _mm512_add_ps, mul: _mm512_mul_ps);

    macro_rules! by_shape {
        ($s:literal, $f:literal, $t:expr, $d:expr, $sc:expr) => {
            match ($t.a.len(), $t.w.len()) {
                (1, 16) => tile::<1, 8, $s, $f>($t, $d, $sc),
                (2, 16) => tile::<2, 8, $s, $f>($t, $d, $sc),
                (1, 8) => tile::<1, 4, $s, $f>($t, $d, $sc),
                (2, 8) => tile::<2, 4, $s, $f>($t, $d, $sc),
                (3, 8) => tile::<3, 4, $s, $f>($t, $d, $sc),
                (4, 8) => tile::<4, 4, $s, $f>($t, $d, $sc),
                (1, 4) => tile::<1, 2, $s, $f>($t, $d, $sc),
                (2, 4) => tile::<2, 2, $s, $f>($t, $d, $sc),
                (3, 4) => tile::<3, 2, $s, $f>($t, $d, $sc),
                (4, 4) => tile::<4, 2, $s, $f>($t, $d, $sc),
                (5, 4) => tile::<5, 2, $s, $f>($t, $d, $sc),
                (6, 4) => tile::<6, 2, $s, $f>($t, $d, $sc),
                (7, 4) => tile::<7, 2, $s, $f>($t, $d, $sc),
                (8, 4) => tile::<8, 2, $s, $f>($t, $d, $sc),
                (1, 2) => tile::<1, 1, $s, $f>($t, $d, $sc),
                (2, 2) => tile::<2, 1, $s, $f>($t, $d, $sc),
                (3, 2) => tile::<3, 1, $s, $f>($t, $d, $sc),
                (4, 2) => tile::<4, 1, $s, $f>($t, $d, $sc),
                (5, 2) => tile::<5, 1, $s, $f>($t, $d, $sc),
                (6, 2) => tile::<6, 1, $s, $f>($t, $d, $sc),
                (7, 2) => tile::<7, 1, $s, $f>($t, $d, $sc),
                (8, 2) => tile::<8, 1, $s, $f>($t, $d, $sc),
                (r, p) => unreachable!("no AVX-512 float tile of {r} rows × {p} panels"),
            }
        };
    }

    /// The AVX-512 tile for a storage and step; a single panel (odd tail)
    /// runs on the AVX2 tile, 8 rows as two row tiles of at most 6.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
    pub unsafe fn dots(t: &Tile, d: &mut [[f32; PANEL]]) {
        if t.w.len() == 1 {
            let split = t.a.len().min(6);
            let (a0, a1) = t.a.split_at(split);
            let fold_rows = |rows: std::ops::Range<usize>| {
                t.fold.map(|f| Fold {
                    len: f.len,
                    w: f.w,
                    a: if f.a.is_empty() { &[] } else { &f.a[rows] },
                })
            };
            let (f0, f1) = (fold_rows(0..split), fold_rows(split..t.a.len()));
            let t0 = Tile {
                a: a0,
                fold: f0.as_ref(),
                ks: t.ks.clone(),
                ..*t
            };
            super::avx2::dots(&t0, d);
            if !a1.is_empty() {
                let t1 = Tile {
                    a: a1,
                    fold: f1.as_ref(),
                    ks: t.ks.clone(),
                    ..*t
                };
                super::avx2::dots(&t1, &mut d[split * t.stride..]);
            }
            return;
        }
        let sc = match t.storage {
            FloatStorage::Byte(code) => code.widen_scale(),
            _ => 1.0,
        };
        macro_rules! by_storage {
            ($($id:literal),*) => {
                match (storage_id(t.storage), t.fused) {
                    $(
                        ($id, false) => by_shape!($id, false, t, d, sc),
                        ($id, true) => by_shape!($id, true, t, d, sc),
                    )*
                    (id, _) => unreachable!("no float storage {id}"),
                }
            };
        }
        by_storage!(0, 1, 2, 3, 4, 5, 6)
    }
}
