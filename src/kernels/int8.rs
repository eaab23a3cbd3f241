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
//! below 2^31. The f32 fold runs in group order: one shared scalar routine
//! (GEMM), or the same convert / multiply / add per lane in f32 registers
//! (the AVX2 GEMV, which walks all groups of a panel in one call).
//!
//! AVX2 inner step (4 K positions × 8 output channels per instruction), for
//! a broadcast quad of activation bytes `a`:
//! - int8 weights `w`: `vpmaddubsw(|w|, sign(a, w))` forms `a·w` pairs in
//!   int16 — at most 2 · 127 · 127 = 32258, below the int16 saturation at
//!   32767 that broke kernels fed a 128 (`vpsignb` leaves −128 as −128;
//!   neither appears here) — and `vpmaddwd` with ones widens the pairs into
//!   the int32 lanes;
//! - narrower weights, stored as unsigned fields `f` with `w = α·f − β`
//!   (int4: f − 8, int2 / ternary: f − 1, binary: 2f − 1):
//!   `vpmaddubsw(f, a)` (pairs ≤ 2 · 15 · 127 = 3810), eight quads summed
//!   in int16 (≤ 30480) before one `vpmaddwd`, and `Σ a·w = α·Σ a·f − β·Σ a`
//!   with each row's `Σ a` over the same quads — all exact integers.
//!
//! On AVX-512 VNNI, the GEMM (M > 8) of narrower weights runs the 8-bit
//! kernel over a copy widened to one byte per code (made at the first GEMM,
//! [`IntPanels::widen_to_8`]): the same exact group sums, and the wide
//! VNNI tile instead of decoding fields per row tile. GEMV keeps the narrow
//! panels (it is bound by the bytes it streams).
//!
//! The AVX2 GEMM (M > 8) of int8 weights runs on int16 lanes instead
//! ([`super::madd16`]: `vpmaddwd` + `vpaddd` per 16 MACs, no per-row sign
//! step); GEMV keeps the int8 form above, which reads half the bytes.

use super::madd16;
use super::pack::{IntPanels, BLOCK, PANEL};
use super::quant;
use super::{Bias, OutElem, GEMV_MAX_M};
use crate::isa::{self, IsaLevel};
use rayon::prelude::*;
use std::sync::OnceLock;

/// Activation rows per register tile.
const TILE_ROWS: usize = 4;
/// Activation rows per cache block in the GEMM path (their int8 rows stay in L2
/// while every weight panel passes once).
const BLOCK_ROWS: usize = 64;
/// Panels per task.
const TASK_PANELS: usize = 4;
/// Quads per cache chunk in the GEMM path (a multiple of every width's quads
/// per block; one panel's chunk is 8 KiB at 8 bits). GEMV walks each group
/// whole, so a task reads its panels as one stream in memory order.
const KC_QUADS: usize = 256;

/// An integer matmul kernel with packed weights.
#[derive(Debug, Clone)]
pub struct IntKernel {
    w: IntPanels,
    /// Largest activation code: 127 (int8 activations), or a narrower
    /// symmetric width's `2^(bits−1) − 1` (int4 → 7). The codes are int8
    /// values either way, so every path below runs unchanged.
    act_max: i8,
    /// 8-bit weights widened to int16 for the AVX2 GEMM, made at its first
    /// use ([`madd16::widen_weights`]); GEMV and VNNI never need them.
    w16: OnceLock<Vec<i16>>,
    /// 8-bit weights re-laid for the VNNI GEMM's wide tile ([`Vnni8`]),
    /// made at its first use.
    vnni8: OnceLock<Vnni8>,
    /// Narrower weights widened to 8-bit panels ([`IntPanels::widen_to_8`])
    /// for the VNNI GEMM, made at its first use: one `vpdpbusd` per quad
    /// and two panels beats decoding fields per row tile, and the group
    /// sums are the same exact integers.
    wide8: OnceLock<Box<IntKernel>>,
}

/// 8-bit weights laid out for the VNNI GEMM's 4-row × 4-register tile:
/// panels in pairs (lanes 0–7 the even panel, 8–15 the odd one, a missing
/// odd panel zero), per pair and group every quad's 64 bytes in one
/// register, so a tile step is one plain load per pair (the two-panel
/// step needs two half loads and an insert); and per pair and group each
/// lane's `−128 · Σ w`, the accumulators' start (see [`avx512`]).
#[derive(Debug, Clone)]
struct Vnni8 {
    /// `[pair][group][quad][lane][byte]`.
    data: Vec<u8>,
    /// `[pair][group][lane]`: `−128 · Σ_k w` over the group.
    init: Vec<[i32; 2 * PANEL]>,
}

/// Panel pairs per VNNI GEMM register tile (4 × 16 lanes).
const VNNI_PAIRS: usize = 4;
/// Quads per cache chunk of the VNNI GEMM: four pairs' chunk is 24 KiB, so
/// it stays in L1 while every row tile of the task passes over it.
const VNNI_KC: usize = 96;
/// Panels per task of the VNNI GEMM's row-block tasks (one register tile wide).
const VNNI_TASK_PANELS: usize = 2 * VNNI_PAIRS;

impl IntKernel {
    /// A kernel over packed weights.
    pub fn new(w: IntPanels) -> IntKernel {
        IntKernel {
            w,
            act_max: 127,
            w16: OnceLock::new(),
            vnni8: OnceLock::new(),
            wide8: OnceLock::new(),
        }
    }

    /// The kernel with activations quantized to symmetric codes in
    /// `[−max, max]` instead of int8 ([`quant::int_rows`]; `max = 7` for
    /// int4 activations, `2^(bits−1) − 1` in general).
    ///
    /// # Panics
    /// When `max` is not `2^(bits−1) − 1` for a width of 2 to 8 bits.
    pub fn with_act_max(mut self, max: i8) -> IntKernel {
        assert!(
            max > 0 && (max as u8 + 1).is_power_of_two(),
            "activation max {max} is not 2^(bits−1) − 1"
        );
        self.act_max = max;
        self
    }

    /// The packed weights.
    pub fn weights(&self) -> &IntPanels {
        &self.w
    }

    /// `a · wᵀ` for `a` (`m × k` f32, row-major): quantizes A to int8 per row
    /// ([`quant::int8_rows`]; narrower codes after [`Self::with_act_max`]),
    /// then runs the product at the effective ISA level.
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
    /// When `a` or `out` does not hold `m` rows, or `bias` not `n` values.
    pub fn matmul_into<T: OutElem>(&self, a: &[f32], m: usize, bias: Bias, out: &mut [T]) {
        let k = self.w.groups.k;
        if self.takes_vnni8(isa::effective(), m) && self.w.groups.padded() == k {
            // The codes straight in the VNNI GEMM's unsigned form: no
            // second pass (and no second buffer) to offset them.
            let (codes128, scales) = quant::int_rows_offset(a, m, k, self.act_max);
            assert_eq!(out.len(), m * self.w.n, "the output must hold m × n values");
            assert!(
                bias.is_none_or(|b| b.len() == self.w.n),
                "one bias per output column"
            );
            self.vnni8_gemm(&codes128, &scales, m, bias, out);
            return;
        }
        let (codes, scales) = quant::int_rows(a, m, k, self.act_max);
        self.matmul_codes_into(&codes, &scales, m, bias, out);
    }

    /// Whether a product of `m` rows at `level` runs as the VNNI GEMM of
    /// 8-bit weights ([`Self::vnni8_gemm`]): VNNI, 8-bit weights, and enough
    /// row blocks to keep every thread busy.
    fn takes_vnni8(&self, level: IsaLevel, m: usize) -> bool {
        vnni(level)
            && self.w.bits == 8
            && m > GEMV_MAX_M
            && m.div_ceil(BLOCK_ROWS) >= 2 * rayon::current_num_threads()
    }

    /// The VNNI GEMM of 8-bit weights (see [`Self::takes_vnni8`]): the wide
    /// tile over the re-laid weights, [`VNNI_TASK_PANELS`] panels per task,
    /// one task per row block, each finishing its rows straight into the
    /// output. `a128`: the activation codes in the weights' padded group
    /// layout (`m × padded`) as unsigned `a + 128` (the byte XOR 0x80).
    fn vnni8_gemm<T: OutElem>(
        &self,
        a128: &[i8],
        a_scales: &[f32],
        m: usize,
        bias: Bias,
        out: &mut [T],
    ) {
        let n = self.w.n;
        let v8 = self.vnni8.get_or_init(|| self.vnni8_layout());
        let tasks = self.w.panels.div_ceil(VNNI_TASK_PANELS);
        out.par_chunks_mut(BLOCK_ROWS * n)
            .enumerate()
            .for_each(|(b, dst)| {
                let rows = b * BLOCK_ROWS..((b + 1) * BLOCK_ROWS).min(m);
                for c in 0..tasks {
                    let panels =
                        c * VNNI_TASK_PANELS..((c + 1) * VNNI_TASK_PANELS).min(self.w.panels);
                    let acc = self.block_vnni8(v8, a128, rows.clone(), panels.clone());
                    self.finish_into(&acc, a_scales, rows.clone(), panels, dst, bias);
                }
            });
    }

    /// The product for int8 activation codes (`m × k`) with per-row scales.
    pub fn matmul_codes(&self, codes: &[i8], a_scales: &[f32], m: usize) -> Vec<f64> {
        let mut out = vec![0f64; m * self.w.n];
        self.matmul_codes_into(codes, a_scales, m, None, &mut out);
        out
    }

    /// [`Self::matmul_codes`] written into `out` (`m × n`; see [`Self::matmul_into`]).
    ///
    /// # Panics
    /// When `out` does not hold `m × n` values or `bias` not `n`.
    pub fn matmul_codes_into<T: OutElem>(
        &self,
        codes: &[i8],
        a_scales: &[f32],
        m: usize,
        bias: Bias,
        out: &mut [T],
    ) {
        let g = &self.w.groups;
        let n = self.w.n;
        assert_eq!(out.len(), m * n, "the output must hold m × n values");
        assert!(
            bias.is_none_or(|b| b.len() == n),
            "one bias per output column"
        );
        if m == 0 || n == 0 {
            return;
        }
        if self.w.bits < 8 && m > GEMV_MAX_M && vnni(isa::effective()) {
            // The VNNI GEMM of narrow weights: the 8-bit kernel over the
            // widened panels (same groups, scales and fold; exact sums).
            let k8 = self
                .wide8
                .get_or_init(|| Box::new(IntKernel::new(self.w.widen_to_8())));
            return k8.matmul_codes_into(codes, a_scales, m, bias, out);
        }
        // Activations in the weights' padded group layout.
        let padded = g.padded();
        // Group by group as whole slices (`pos` maps group `gi`'s K range to
        // `gi · quads · 4` onwards), rows in parallel.
        // Without padding (every group a whole number of quads) the layout
        // is the codes' own, and they are read in place.
        let ap: std::borrow::Cow<[i8]> = if padded == g.k {
            std::borrow::Cow::Borrowed(&codes[..m * padded])
        } else {
            let mut ap = vec![0i8; m * padded];
            if padded > 0 && g.k > 0 {
                ap.par_chunks_mut(padded)
                    .zip(codes.par_chunks(g.k))
                    .for_each(|(dst, src)| {
                        for gi in 0..g.count {
                            let r = g.range(gi);
                            let at = g.pos(r.start);
                            dst[at..at + r.len()].copy_from_slice(&src[r]);
                        }
                    });
            }
            std::borrow::Cow::Owned(ap)
        };
        // Each row's code sum per group, once (the narrow-weight SIMD GEMV
        // subtracts it, see `avx2::fields`; a GEMM's last row block may be
        // short enough to take the GEMV path).
        let gq = g.quads * 4;
        let asum: Vec<i32> = if self.w.bits < 8 {
            (0..m * g.count)
                .map(|ig| {
                    let o = (ig / g.count) * padded + (ig % g.count) * gq;
                    ap[o..o + gq].iter().map(|&x| x as i32).sum()
                })
                .collect()
        } else {
            vec![0; m * g.count]
        };
        let level = isa::effective();
        // The VNNI GEMM takes int8 activations as unsigned `a + 128` (the
        // byte XOR 0x80) and corrects with the weights' sums; see `avx512`.
        let ap128: Vec<i8> = if vnni(level) && self.w.bits == 8 && m > GEMV_MAX_M {
            ap.par_iter().map(|&x| x ^ i8::MIN).collect()
        } else {
            vec![]
        };
        // The AVX2 GEMM of int8 weights runs on int16 lanes (see `madd16`):
        // weights widened once, activations here.
        let wide = self.wide(level) && m > GEMV_MAX_M;
        let (w16, ap16): (&[i16], Vec<i16>) = if wide {
            let w16 = self.w16.get_or_init(|| madd16::widen_weights(&self.w));
            (&w16[..], ap.par_iter().map(|&x| x as i16).collect())
        } else {
            (&[][..], vec![])
        };
        let block = if m <= GEMV_MAX_M { m } else { BLOCK_ROWS };
        // One task's accumulators: rows × panels, `[row][panel]`.
        let run = |rows: std::ops::Range<usize>, panels: std::ops::Range<usize>| {
            if wide && rows.len() > GEMV_MAX_M {
                self.block16(w16, &ap16, rows, panels)
            } else {
                self.block(level, &ap, &asum, rows, panels)
            }
        };
        let groups = self.w.panels.div_ceil(TASK_PANELS);
        if self.takes_vnni8(level, m) {
            // The VNNI GEMM of 8-bit weights: the same fold and finish.
            self.vnni8_gemm(&ap128, a_scales, m, bias, out);
            return;
        }
        if m.div_ceil(block) >= 2 * rayon::current_num_threads() {
            // Enough row blocks to keep every thread busy: one task per row
            // block, each finishing its rows straight into the output (no
            // per-task buffers, no second pass over the output).
            out.par_chunks_mut(block * n)
                .enumerate()
                .for_each(|(b, dst)| {
                    let rows = b * block..((b + 1) * block).min(m);
                    for c in 0..groups {
                        let panels = c * TASK_PANELS..((c + 1) * TASK_PANELS).min(self.w.panels);
                        let acc = run(rows.clone(), panels.clone());
                        self.finish_into(&acc, a_scales, rows.clone(), panels, dst, bias);
                    }
                });
            return;
        }
        // Too few row blocks for one per thread: tasks of row block ×
        // panels. The VNNI GEMM of 8-bit weights runs its wide tile here
        // too, one tile of panels per task.
        let v8 = (!ap128.is_empty()).then(|| self.vnni8.get_or_init(|| self.vnni8_layout()));
        let tp = if v8.is_some() {
            VNNI_TASK_PANELS
        } else {
            TASK_PANELS
        };
        let groups = self.w.panels.div_ceil(tp);
        let tasks: Vec<(usize, usize)> = (0..m.div_ceil(block))
            .flat_map(|b| (0..groups).map(move |c| (b, c)))
            .collect();
        let parts: Vec<(usize, usize, Vec<f32>)> = tasks
            .par_iter()
            .map(|&(b, c)| {
                let rows = b * block..((b + 1) * block).min(m);
                let panels = c * tp..((c + 1) * tp).min(self.w.panels);
                let acc = match v8 {
                    Some(v8) => self.block_vnni8(v8, &ap128, rows.clone(), panels.clone()),
                    None => run(rows.clone(), panels.clone()),
                };
                let v = self.finish(&acc, a_scales, rows.clone(), panels.clone());
                (rows.start, panels.start, v)
            })
            .collect();
        scatter_all(out, n, block, groups, &parts, bias);
    }

    /// Whether the GEMM at `level` runs on int16 lanes ([`madd16`]): int8
    /// weights on an AVX2 (or AVX-512 without VNNI) level.
    fn wide(&self, level: IsaLevel) -> bool {
        self.w.bits == 8 && !vnni(level) && isa::supported(level) != IsaLevel::Scalar
    }

    /// [`Self::block`] for a GEMM task of int8 weights on int16 lanes
    /// (`w16`: [`madd16::widen_weights`]; `a16`: the padded activation rows
    /// as int16): register tiles of 4 rows × 2 panels over chunks of half
    /// [`KC_QUADS`] quads (a pair of panels' int16 chunk is 16 KiB, within
    /// L1), the same group fold and finish.
    fn block16(
        &self,
        w16: &[i16],
        a16: &[i16],
        rows: std::ops::Range<usize>,
        panels: std::ops::Range<usize>,
    ) -> Vec<[f32; PANEL]> {
        let g = &self.w.groups;
        let padded = g.padded();
        let (nr, npn) = (rows.len(), panels.len());
        let at = |i: usize, p: usize| (i - rows.start) * npn + (p - panels.start);
        let mut sums = vec![[0i32; PANEL]; nr * npn];
        let mut acc = vec![[0f32; PANEL]; nr * npn];
        let pl = self.w.panel_len();
        for gi in 0..g.count {
            sums.iter_mut().for_each(|s| *s = [0; PANEL]);
            let mut q0 = 0;
            while q0 < g.quads {
                let q1 = (q0 + KC_QUADS / 2).min(g.quads);
                let wq = |pp: usize| {
                    let o = pp * pl + gi * g.quads * 32;
                    &w16[o + q0 * 32..o + q1 * 32]
                };
                let mut p = panels.start;
                while p < panels.end {
                    let np = if p + 1 < panels.end { 2 } else { 1 };
                    let ws: [&[i16]; 2] = [wq(p), wq(p + np - 1)];
                    let mut i = rows.start;
                    while i < rows.end {
                        let r = madd16::TILE_ROWS.min(rows.end - i);
                        let ag: [&[i16]; madd16::TILE_ROWS] = std::array::from_fn(|t| {
                            let o = (i + t.min(r - 1)) * padded + gi * g.quads * 4;
                            &a16[o + q0 * 4..o + q1 * 4]
                        });
                        #[cfg(target_arch = "x86_64")]
                        // SAFETY: `wide` holds only at levels with AVX2.
                        let part = unsafe { madd16::sums(&ws[..np], &ag[..r], q1 - q0) };
                        #[cfg(not(target_arch = "x86_64"))]
                        let part: madd16::Sums = unreachable!("int16 lanes are x86-64 only");
                        for (pi, pp) in part.iter().enumerate().take(np) {
                            for (t, pt) in pp.iter().enumerate().take(r) {
                                let s = &mut sums[at(i + t, p + pi)];
                                for l in 0..PANEL {
                                    s[l] = s[l].wrapping_add(pt[l]);
                                }
                            }
                        }
                        i += r;
                    }
                    p += np;
                }
                q0 = q1;
            }
            for i in rows.clone() {
                for p in panels.clone() {
                    let inner =
                        self.w.scales.inner.as_ref().map(|s| {
                            &s[(p * g.count + gi) * PANEL..(p * g.count + gi + 1) * PANEL]
                        });
                    fold(&mut acc[at(i, p)], &sums[at(i, p)], inner);
                }
            }
        }
        acc
    }

    /// [`Vnni8`] of the 8-bit weights.
    fn vnni8_layout(&self) -> Vnni8 {
        let g = &self.w.groups;
        let (pl, gl) = (self.w.panel_len(), self.w.group_len());
        let pairs = self.w.panels.div_ceil(2);
        let mut data = vec![0u8; pairs * g.count * g.quads * 64];
        let mut init = vec![[0i32; 2 * PANEL]; pairs * g.count];
        for pp in 0..pairs {
            for gi in 0..g.count {
                let dst = &mut data[(pp * g.count + gi) * g.quads * 64..][..g.quads * 64];
                let sums = &mut init[pp * g.count + gi];
                for half in 0..2 {
                    let p = 2 * pp + half;
                    if p >= self.w.panels {
                        continue;
                    }
                    let wg = &self.w.data[p * pl + gi * gl..p * pl + (gi + 1) * gl];
                    for q in 0..g.quads {
                        dst[q * 64 + half * 32..q * 64 + half * 32 + 32]
                            .copy_from_slice(&wg[q * BLOCK..(q + 1) * BLOCK]);
                        for l in 0..PANEL {
                            let s: i32 = (0..4).map(|b| code(8, wg, q, l, b)).sum();
                            sums[half * PANEL + l] -= 128 * s;
                        }
                    }
                }
            }
        }
        Vnni8 { data, init }
    }

    /// [`Self::block`] for a GEMM task of 8-bit weights on the VNNI step
    /// (`a128`: the padded rows as `a + 128`, see [`Self::matmul_codes_into`]):
    /// register tiles of 4 rows × [`VNNI_PAIRS`] pairs over chunks of
    /// [`VNNI_KC`] quads, the sums of a group starting from its `−128 · Σ w`
    /// and held in memory between chunks (exact int32, any order), then
    /// the same group fold.
    fn block_vnni8(
        &self,
        v8: &Vnni8,
        a128: &[i8],
        rows: std::ops::Range<usize>,
        panels: std::ops::Range<usize>,
    ) -> Vec<[f32; PANEL]> {
        let g = &self.w.groups;
        let padded = g.padded();
        let (nr, npn) = (rows.len(), panels.len());
        debug_assert!(panels.start.is_multiple_of(2));
        let (p0, npairs) = (panels.start / 2, npn.div_ceil(2));
        let mut acc = vec![[0f32; PANEL]; nr * npn];
        // `[row][pair]`, 16 lanes each.
        let mut sums = vec![[0i32; 2 * PANEL]; nr * npairs];
        for gi in 0..g.count {
            for (i, s) in sums.iter_mut().enumerate() {
                *s = v8.init[(p0 + i % npairs) * g.count + gi];
            }
            let mut q0 = 0;
            while q0 < g.quads {
                let q1 = (q0 + VNNI_KC).min(g.quads);
                let mut pp = 0;
                while pp < npairs {
                    let np = VNNI_PAIRS.min(npairs - pp);
                    let w: [*const u8; VNNI_PAIRS] = std::array::from_fn(|x| {
                        let o = ((p0 + pp + x.min(np - 1)) * g.count + gi) * g.quads + q0;
                        v8.data[o * 64..].as_ptr()
                    });
                    let mut i = 0;
                    while i < nr {
                        let r = TILE_ROWS.min(nr - i);
                        let a: [*const i8; TILE_ROWS] = std::array::from_fn(|t| {
                            let o = (rows.start + i + t.min(r - 1)) * padded + gi * g.quads * 4;
                            a128[o + q0 * 4..o + q1 * 4].as_ptr()
                        });
                        let base = sums.as_mut_ptr();
                        // SAFETY: rows below nr, pairs from pp: inside `sums`.
                        let s: [*mut [i32; 2 * PANEL]; TILE_ROWS] =
                            std::array::from_fn(|t| unsafe {
                                base.add((i + t.min(r - 1)) * npairs + pp)
                            });
                        #[cfg(target_arch = "x86_64")]
                        // SAFETY: this path runs only where `vnni` holds (the
                        // CPU has AVX-512 F/BW/VL and VNNI); every pointer
                        // holds `q1 − q0` quads (weights: 64 bytes each,
                        // rows: 4 bytes) or `np` pairs of sums; rows past
                        // `r` repeat row `r − 1`, whose sums are written last.
                        unsafe {
                            avx512::tile_vnni8(w, np, a, s, q1 - q0)
                        };
                        i += r;
                    }
                    pp += np;
                }
                q0 = q1;
            }
            for i in 0..nr {
                for p in 0..npn {
                    let pa = p + panels.start;
                    let inner =
                        self.w.scales.inner.as_ref().map(|s| {
                            &s[(pa * g.count + gi) * PANEL..(pa * g.count + gi + 1) * PANEL]
                        });
                    let s = &sums[i * npairs + p / 2];
                    let lanes: &[i32; PANEL] = s[(p % 2) * PANEL..(p % 2 + 1) * PANEL]
                        .try_into()
                        .expect("8 lanes");
                    fold(&mut acc[i * npn + p], lanes, inner);
                }
            }
        }
        acc
    }

    /// [`Self::finish`] written straight into a row block of the output
    /// (`dst`: rows `rows` of the `m × n` output, from `rows.start`), with
    /// the bias added as [`scatter`] adds it: the same operations in the
    /// same order, padded columns dropped.
    fn finish_into<T: OutElem>(
        &self,
        acc: &[[f32; PANEL]],
        a_scales: &[f32],
        rows: std::ops::Range<usize>,
        panels: std::ops::Range<usize>,
        dst: &mut [T],
        bias: Bias,
    ) {
        let (n, j0) = (self.w.n, panels.start * PANEL);
        self.epilogue(acc, a_scales, rows, panels, (dst, n, j0), bias);
    }

    /// A task's outputs `[row][panel col]`: `(acc · sa[i]) · sw[j]` (the
    /// weights' outer scale only where they have one); padded columns 0.
    fn finish(
        &self,
        acc: &[[f32; PANEL]],
        a_scales: &[f32],
        rows: std::ops::Range<usize>,
        panels: std::ops::Range<usize>,
    ) -> Vec<f32> {
        let cols = panels.len() * PANEL;
        let mut out = vec![0f32; rows.len() * cols];
        self.epilogue(acc, a_scales, rows, panels, (&mut out, cols, 0), None);
        out
    }

    /// The one epilogue of [`Self::finish`] and [`Self::finish_into`]:
    /// `(acc · sa[i]) · sw[j] (+ bias[j])` in f32, into row `r` of the task
    /// at `dst[r·stride + col0 ..]` for the task's unpadded columns.
    fn epilogue<T: OutElem>(
        &self,
        acc: &[[f32; PANEL]],
        a_scales: &[f32],
        rows: std::ops::Range<usize>,
        panels: std::ops::Range<usize>,
        (dst, stride, col0): (&mut [T], usize, usize),
        bias: Bias,
    ) {
        let npn = panels.len();
        let j0 = panels.start * PANEL;
        let w = (npn * PANEL).min(self.w.n.saturating_sub(j0));
        if w == 0 {
            return;
        }
        let outer = self.w.scales.outer.as_ref().map(|s| &s[j0..j0 + w]);
        let bias = bias.map(|b| &b[j0..j0 + w]);
        for i in rows.clone() {
            let r = i - rows.start;
            let sa = a_scales[i];
            let ac = acc[r * npn..(r + 1) * npn].as_flattened();
            let row = &mut dst[r * stride + col0..r * stride + col0 + w];
            // One loop per case, so that each vectorizes without a branch per lane.
            match (outer, bias) {
                (None, None) => row
                    .iter_mut()
                    .zip(ac)
                    .for_each(|(d, &a)| *d = T::of_f32(a * sa)),
                (None, Some(b)) => row
                    .iter_mut()
                    .zip(ac)
                    .zip(b)
                    .for_each(|((d, &a), &b)| *d = T::of_f32(a * sa + b)),
                (Some(s), None) => row
                    .iter_mut()
                    .zip(ac)
                    .zip(s)
                    .for_each(|((d, &a), &s)| *d = T::of_f32((a * sa) * s)),
                (Some(s), Some(b)) => row
                    .iter_mut()
                    .zip(ac)
                    .zip(s)
                    .zip(b)
                    .for_each(|(((d, &a), &s), &b)| *d = T::of_f32((a * sa) * s + b)),
            }
        }
    }

    /// One task: rows × panels, finished outputs `[row][panel col]` as f32.
    ///
    /// Each group's quads are walked in chunks of [`KC_QUADS`] so that a
    /// chunk of the task's activation rows stays in L2 and of one weight
    /// panel in L1 while the register tiles pass over them; the int32 sums of
    /// the chunks add up to the group's sum (exact, any order). The VNNI
    /// GEMM never comes here ([`Self::block_vnni8`], narrow weights widened
    /// first), so the tiles are the AVX2 or portable ones.
    fn block(
        &self,
        level: IsaLevel,
        ap: &[i8],
        asum: &[i32],
        rows: std::ops::Range<usize>,
        panels: std::ops::Range<usize>,
    ) -> Vec<[f32; PANEL]> {
        let g = &self.w.groups;
        let padded = g.padded();
        let (nr, npn) = (rows.len(), panels.len());
        let at = |i: usize, p: usize| (i - rows.start) * npn + (p - panels.start);
        let mut sums = vec![[0i32; PANEL]; nr * npn];
        let mut acc = vec![[0f32; PANEL]; nr * npn];
        let (gl, qpb) = (self.w.group_len(), self.w.quads_per_block());
        let gemv = nr <= GEMV_MAX_M;
        let chunk = if gemv { g.quads } else { KC_QUADS };
        // GEMV takes one panel at a time through all its groups (one stream
        // in memory order); GEMM every panel per group chunk (reusing the
        // activation rows' chunk). Each output's groups fold in order either way.
        let outer: Vec<std::ops::Range<usize>> = if gemv {
            panels.clone().map(|p| p..p + 1).collect()
        } else {
            vec![panels.clone()]
        };
        let simd_gemv = gemv && isa::supported(level) != IsaLevel::Scalar;
        if simd_gemv {
            // Every group of a panel in one call, folded in registers.
            for p in panels.clone() {
                let wp = &self.w.data[p * self.w.panel_len()..(p + 1) * self.w.panel_len()];
                let inner = self
                    .w
                    .scales
                    .inner
                    .as_ref()
                    .map(|s| &s[p * g.count * PANEL..(p + 1) * g.count * PANEL]);
                let mut i = rows.start;
                while i < rows.end {
                    let r = TILE_ROWS.min(rows.end - i);
                    let ar: [&[i8]; TILE_ROWS] = std::array::from_fn(|t| {
                        let o = (i + t.min(r - 1)) * padded;
                        &ap[o..o + padded]
                    });
                    let sr: [&[i32]; TILE_ROWS] = std::array::from_fn(|t| {
                        let o = (i + t.min(r - 1)) * g.count;
                        &asum[o..o + g.count]
                    });
                    let mut part = [[0f32; PANEL]; TILE_ROWS];
                    let gl = (g.count, g.quads);
                    gemv_panel(
                        level,
                        self.w.bits,
                        wp,
                        &ar[..r],
                        &sr[..r],
                        gl,
                        inner,
                        &mut part,
                    );
                    for (t, pt) in part.iter().enumerate().take(r) {
                        acc[at(i + t, p)] = *pt;
                    }
                    i += r;
                }
            }
        }
        let pl = self.w.panel_len();
        for pr in outer.into_iter().filter(|_| !simd_gemv) {
            for gi in 0..g.count {
                sums.iter_mut().for_each(|s| *s = [0; PANEL]);
                let mut q0 = 0;
                while q0 < g.quads {
                    let q1 = (q0 + chunk).min(g.quads);
                    for p in pr.clone() {
                        let wp = &self.w.data[p * pl..(p + 1) * pl];
                        let wq = &wp[gi * gl + q0 / qpb * BLOCK..gi * gl + q1 / qpb * BLOCK];
                        let mut i = rows.start;
                        while i < rows.end {
                            let r = TILE_ROWS.min(rows.end - i);
                            let ag: [&[i8]; TILE_ROWS] = std::array::from_fn(|t| {
                                let o = (i + t.min(r - 1)) * padded + gi * g.quads * 4;
                                &ap[o + q0 * 4..o + q1 * 4]
                            });
                            let part = group_sums(level, self.w.bits, wq, &ag[..r], q1 - q0);
                            for (t, pt) in part.iter().enumerate().take(r) {
                                let s = &mut sums[at(i + t, p)];
                                for l in 0..PANEL {
                                    s[l] = s[l].wrapping_add(pt[l]);
                                }
                            }
                            i += r;
                        }
                    }
                    q0 = q1;
                }
                for i in rows.clone() {
                    for p in pr.clone() {
                        let inner = self.w.scales.inner.as_ref().map(|s| {
                            &s[(p * g.count + gi) * PANEL..(p * g.count + gi + 1) * PANEL]
                        });
                        fold(&mut acc[at(i, p)], &sums[at(i, p)], inner);
                    }
                }
            }
        }
        acc
    }
}

/// Whether the GEMM runs the AVX-512 VNNI step at `level`.
fn vnni(level: IsaLevel) -> bool {
    let f = isa::active();
    isa::supported(level) == IsaLevel::Avx512
        && f.avx512f
        && f.avx512bw
        && f.avx512vl
        && f.avx512vnni
}

/// Copies every task's block into the `m × n` output, row blocks in
/// parallel (a serial copy of a large output kept one core idle): `parts`
/// holds `(first row, first panel, values)` per task, row block after row
/// block, `groups` tasks per row block of `block` rows. Adds `bias` (see
/// [`Bias`]).
pub(crate) fn scatter_all<T: OutElem>(
    out: &mut [T],
    n: usize,
    block: usize,
    groups: usize,
    parts: &[(usize, usize, Vec<f32>)],
    bias: Bias,
) {
    out.par_chunks_mut(block * n)
        .zip(parts.par_chunks(groups))
        .for_each(|(dst, ps)| {
            for (_, p0, v) in ps {
                scatter(dst, n, p0 * PANEL, v, dst.len() / n, bias);
            }
        });
}

/// Copies a task's block (`rows × cols`, cols a multiple of 8) into columns
/// `j0..` of the first `rows` rows of an `n`-column output, dropping padded
/// columns, adding `bias[j]` to column `j` when given.
fn scatter<T: OutElem>(out: &mut [T], n: usize, j0: usize, v: &[f32], rows: usize, bias: Bias) {
    if v.is_empty() || rows == 0 {
        return;
    }
    let cols = v.len() / rows;
    let w = cols.min(n.saturating_sub(j0));
    if w == 0 {
        return;
    }
    for r in 0..rows {
        let dst = &mut out[r * n + j0..r * n + j0 + w];
        let src = &v[r * cols..r * cols + w];
        match bias {
            None => dst
                .iter_mut()
                .zip(src)
                .for_each(|(d, &x)| *d = T::of_f32(x)),
            Some(b) => dst
                .iter_mut()
                .zip(src)
                .zip(&b[j0..j0 + w])
                .for_each(|((d, &x), &b)| *d = T::of_f32(x + b)),
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

/// [`avx2::gemv_panel`] at `level` (the SIMD levels only).
#[allow(clippy::too_many_arguments)] // one panel's complete description
fn gemv_panel(
    level: IsaLevel,
    bits: u32,
    wp: &[u8],
    a: &[&[i8]],
    asum: &[&[i32]],
    (groups, quads): (usize, usize),
    inner: Option<&[f32]>,
    out: &mut [[f32; PANEL]; TILE_ROWS],
) {
    isa::dispatch!(level,
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2.
        avx2 => unsafe { avx2::gemv_panel(bits, wp, a, asum, (groups, quads), inner, out) },
        scalar => unreachable!("the portable GEMV goes through group_sums"),
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
        let per_block = 8 / bits as usize;
        assert!(quads.is_multiple_of(per_block) && a.len() <= TILE_ROWS);
        assert!(wq.len() >= quads / per_block * 32 && a.iter().all(|r| r.len() >= quads * 4));
        macro_rules! by_rows {
            ($b:literal) => {
                match a.len() {
                    1 => store(sums::<1, $b, false>(wq.as_ptr(), ptrs(a), quads, None)),
                    2 => store(sums::<2, $b, false>(wq.as_ptr(), ptrs(a), quads, None)),
                    3 => store(sums::<3, $b, false>(wq.as_ptr(), ptrs(a), quads, None)),
                    _ => store(sums::<4, $b, false>(wq.as_ptr(), ptrs(a), quads, None)),
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

    /// GEMV: every group of one panel for `a.len()` ≤ [`TILE_ROWS`] rows
    /// (whole padded rows), folded in group order as the variants fold:
    /// `acc = acc + f32(sum_g) · inner[g]` in f32 lanes (convert, multiply,
    /// add: the scalar fold's roundings, lane by lane), into `out[r]`.
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)] // one panel's complete description
    pub unsafe fn gemv_panel(
        bits: u32,
        wp: &[u8],
        a: &[&[i8]],
        asum: &[&[i32]],
        (groups, quads): (usize, usize),
        inner: Option<&[f32]>,
        out: &mut [[f32; PANEL]; TILE_ROWS],
    ) {
        let per_block = 8 / bits as usize;
        assert!(quads.is_multiple_of(per_block) && a.len() <= TILE_ROWS);
        assert!(wp.len() >= groups * quads / per_block * 32);
        assert!(a.iter().all(|r| r.len() >= groups * quads * 4));
        assert!(asum.len() == a.len() && asum.iter().all(|r| r.len() >= groups));
        assert!(inner.is_none_or(|s| s.len() >= groups * PANEL));
        macro_rules! by_rows {
            ($b:literal) => {
                match a.len() {
                    1 => {
                        gemv_rows::<1, $b>(wp.as_ptr(), ptrs(a), asum, (groups, quads), inner, out)
                    }
                    2 => {
                        gemv_rows::<2, $b>(wp.as_ptr(), ptrs(a), asum, (groups, quads), inner, out)
                    }
                    3 => {
                        gemv_rows::<3, $b>(wp.as_ptr(), ptrs(a), asum, (groups, quads), inner, out)
                    }
                    _ => {
                        gemv_rows::<4, $b>(wp.as_ptr(), ptrs(a), asum, (groups, quads), inner, out)
                    }
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

    /// The first `R` row pointers.
    #[inline(always)]
    fn ptrs<const R: usize>(a: &[&[i8]]) -> [*const i8; R] {
        std::array::from_fn(|r| a[r].as_ptr())
    }

    #[inline(always)]
    unsafe fn store<const R: usize>(s: [__m256i; R]) -> [[i32; PANEL]; TILE_ROWS] {
        let mut out = [[0i32; PANEL]; TILE_ROWS];
        for r in 0..R {
            _mm256_storeu_si256(out[r].as_mut_ptr() as *mut __m256i, s[r]);
        }
        out
    }

    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // r indexes register arrays
    unsafe fn gemv_rows<const R: usize, const BITS: u32>(
        wp: *const u8,
        ap: [*const i8; R],
        asum: &[&[i32]],
        (groups, quads): (usize, usize),
        inner: Option<&[f32]>,
        out: &mut [[f32; PANEL]; TILE_ROWS],
    ) {
        let gl = quads / (8 / BITS as usize) * 32;
        let mut acc = [_mm256_setzero_ps(); R];
        for g in 0..groups {
            let a: [*const i8; R] = std::array::from_fn(|r| ap[r].add(g * quads * 4));
            let sa: [i32; R] = std::array::from_fn(|r| asum[r][g]);
            let s = sums::<R, BITS, true>(wp.add(g * gl), a, quads, Some(sa));
            let sc = inner.map(|s| _mm256_loadu_ps(s.as_ptr().add(g * PANEL)));
            for r in 0..R {
                let mut v = _mm256_cvtepi32_ps(s[r]);
                if let Some(sc) = sc {
                    v = _mm256_mul_ps(v, sc);
                }
                acc[r] = _mm256_add_ps(acc[r], v);
            }
        }
        for r in 0..R {
            _mm256_storeu_ps(out[r].as_mut_ptr(), acc[r]);
        }
    }

    /// int32 sums of `quads` quads for `R` rows against packed blocks at `wq`.
    #[inline(always)]
    /// `PF`: prefetch the weights ahead (GEMV streams them from memory).
    /// `asum`: each row's code sum over these quads, if known.
    unsafe fn sums<const R: usize, const BITS: u32, const PF: bool>(
        wq: *const u8,
        ap: [*const i8; R],
        quads: usize,
        asum: Option<[i32; R]>,
    ) -> [__m256i; R] {
        if BITS == 8 {
            signed::<R, PF>(wq, ap, quads)
        } else {
            fields::<R, BITS, PF>(wq, ap, quads, asum)
        }
    }

    /// Bytes ahead of the current block that GEMV prefetches.
    const PREFETCH: usize = 1024;

    /// int8 weights: `vpmaddubsw(|w|, sign(a, w))` (pairs ≤ 2 · 127 · 127,
    /// below int16 saturation), widened by `vpmaddwd` every quad.
    #[inline(always)]
    unsafe fn signed<const R: usize, const PF: bool>(
        wq: *const u8,
        ap: [*const i8; R],
        quads: usize,
    ) -> [__m256i; R] {
        let ones = _mm256_set1_epi16(1);
        let mut acc = [_mm256_setzero_si256(); R];
        for q in 0..quads {
            if PF && q % 2 == 0 {
                // A hint only: never faults, even past the end.
                _mm_prefetch::<_MM_HINT_T0>(wq.wrapping_add(q * 32 + PREFETCH) as *const i8);
            }
            let w = _mm256_loadu_si256(wq.add(q * 32) as *const __m256i);
            let aw = _mm256_abs_epi8(w);
            for r in 0..R {
                let a4 = _mm256_set1_epi32((ap[r].add(q * 4) as *const i32).read_unaligned());
                let s = _mm256_sign_epi8(a4, w);
                let p16 = _mm256_maddubs_epi16(aw, s);
                acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(p16, ones));
            }
        }
        acc
    }

    /// Narrow weights `w = α·f − β` from their stored fields `f` (4-bit:
    /// f − 8; 2-bit: f − 1; 1-bit: 2f − 1): `vpmaddubsw(f, a)` with the field
    /// as the unsigned operand (pairs ≤ 2 · 15 · 127 = 3810), eight quads'
    /// pairs summed in int16 (≤ 30480, below saturation) before one
    /// `vpmaddwd` widens them; then `Σ a·w = α·Σ a·f − β·Σ a` (exact in
    /// int32). No `abs` / `sign` per row, and a quarter of the widenings.
    #[inline(always)]
    unsafe fn fields<const R: usize, const BITS: u32, const PF: bool>(
        wq: *const u8,
        ap: [*const i8; R],
        quads: usize,
        asum: Option<[i32; R]>,
    ) -> [__m256i; R] {
        let per_block = 8 / BITS as usize;
        let blocks = quads / per_block;
        let per_flush = 8 / per_block;
        let ones = _mm256_set1_epi16(1);
        let mask = _mm256_set1_epi8(((1u32 << BITS) - 1) as i8);
        let mut acc = [_mm256_setzero_si256(); R];
        let mut b0 = 0;
        while b0 < blocks {
            let b1 = (b0 + per_flush).min(blocks);
            let mut s16 = [_mm256_setzero_si256(); R];
            for b in b0..b1 {
                if PF && b % 2 == 0 {
                    // A hint only: never faults, even past the end.
                    _mm_prefetch::<_MM_HINT_T0>(wq.wrapping_add(b * 32 + PREFETCH) as *const i8);
                }
                let v = _mm256_loadu_si256(wq.add(b * 32) as *const __m256i);
                for slot in 0..per_block {
                    let q = b * per_block + slot;
                    // Shifts within 16-bit lanes; the mask drops what crossed bytes.
                    let f = if slot == 0 {
                        _mm256_and_si256(v, mask)
                    } else {
                        let sh = _mm_cvtsi32_si128((slot as u32 * BITS) as i32);
                        _mm256_and_si256(_mm256_srl_epi16(v, sh), mask)
                    };
                    for r in 0..R {
                        let a4 =
                            _mm256_set1_epi32((ap[r].add(q * 4) as *const i32).read_unaligned());
                        s16[r] = _mm256_add_epi16(s16[r], _mm256_maddubs_epi16(f, a4));
                    }
                }
            }
            for r in 0..R {
                acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(s16[r], ones));
            }
            b0 = b1;
        }
        let (alpha, beta) = match BITS {
            4 => (1, 8),
            2 => (1, 1),
            _ => (2, 1),
        };
        for r in 0..R {
            let sa: i32 = match asum {
                Some(s) => s[r],
                None => std::slice::from_raw_parts(ap[r], quads * 4)
                    .iter()
                    .map(|&x| x as i32)
                    .sum(),
            };
            if alpha == 2 {
                acc[r] = _mm256_add_epi32(acc[r], acc[r]);
            }
            acc[r] = _mm256_sub_epi32(acc[r], _mm256_set1_epi32(beta * sa));
        }
        acc
    }
}

/// AVX-512 VNNI GEMM step: two panels per zmm (lanes 0–7 and 8–15), one
/// `vpdpbusd` per row and quad where AVX2 needs `vpmaddubsw` + `vpmaddwd` +
/// `vpaddd`. 8-bit weights only (narrower ones are widened first, see
/// [`IntPanels::widen_to_8`]). The unsigned operand is the activation
/// `a + 128` (the rows arrive XOR 0x80), and `Σ a·w = Σ (a+128)·w − 128·Σ w`:
/// each group's sums start at the lanes' `−128·Σ w` ([`Vnni8`]'s `init`).
/// `vpdpbusd` adds four exact products into int32 without saturating, so
/// the sums are the AVX2 path's exact integers.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{PANEL, TILE_ROWS};
    use std::arch::x86_64::*;

    /// The wide VNNI tile of 8-bit weights ([`super::Vnni8`] layout): for
    /// `np` ≤ 4 pairs at `w[x]` (64 bytes per quad) and [`TILE_ROWS`] rows
    /// of `a + 128` at `a[t]`, adds `Σ_q (a+128)·w` over `quads` quads to
    /// `sums[t][x]` (16 lanes). One load per pair and one broadcast per row
    /// feed sixteen independent `vpdpbusd` chains. A row passed twice (the
    /// same codes and sums pointers, for a short tile) stores the same
    /// values twice.
    ///
    /// # Safety
    /// AVX-512 F/BW/VL and VNNI; each `w[x]` (x < np) holds `quads · 64`
    /// bytes, each `a[t]` `quads · 4`, each `sums[t]` `np` pairs.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
    pub unsafe fn tile_vnni8(
        w: [*const u8; 4],
        np: usize,
        a: [*const i8; TILE_ROWS],
        sums: [*mut [i32; 2 * PANEL]; TILE_ROWS],
        quads: usize,
    ) {
        match np {
            4 => tile::<4>(w, a, sums, quads),
            3 => tile::<3>(w, a, sums, quads),
            2 => tile::<2>(w, a, sums, quads),
            _ => tile::<1>(w, a, sums, quads),
        }
    }

    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // t and x index register arrays
    unsafe fn tile<const NP: usize>(
        w: [*const u8; 4],
        a: [*const i8; TILE_ROWS],
        sums: [*mut [i32; 2 * PANEL]; TILE_ROWS],
        quads: usize,
    ) {
        let mut acc = [[_mm512_setzero_si512(); NP]; TILE_ROWS];
        for t in 0..TILE_ROWS {
            for x in 0..NP {
                acc[t][x] = _mm512_loadu_si512(sums[t].add(x) as *const __m512i);
            }
        }
        for q in 0..quads {
            let v: [__m512i; NP] =
                std::array::from_fn(|x| _mm512_loadu_si512(w[x].add(q * 64) as *const __m512i));
            for t in 0..TILE_ROWS {
                let b = _mm512_set1_epi32((a[t].add(q * 4) as *const i32).read_unaligned());
                for x in 0..NP {
                    acc[t][x] = _mm512_dpbusd_epi32(acc[t][x], b, v[x]);
                }
            }
        }
        // A repeated row's sums equal its original's (same start, same
        // codes), so storing them again changes nothing.
        for t in 0..TILE_ROWS {
            for x in 0..NP {
                _mm512_storeu_si512(sums[t].add(x) as *mut __m512i, acc[t][x]);
            }
        }
    }
}
