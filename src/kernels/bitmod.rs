//! BitMoD weights (`matmul/bitmod-w4`, `matmul/bitmod-w3`) on the integer
//! kernel family: the stored codes decoded through their group's type table
//! into int8, then [`IntKernel`]'s int8 dot products and group fold.
//!
//! Stored form ([`BitmodCodes`]): per weight a `bits`-bit code, the index of
//! its value in the group type's ascending value table; per group of 128
//! the type (ER±/EA±) and the fp16 scale. Every value of every type is an
//! integer of magnitude ≤ 16 (4-bit: {0, ±1, ±2, ±3, ±4, ±6, ±8, ±12} plus
//! ±10 or ±16; 3-bit: {0, ±1, ±2, ±4} plus ±3 or ±6), so the decoded weights
//! are int8 codes with no rescaling (no factor to fold into the scale) and
//! far from the −128 the int8 kernels refuse.
//!
//! Why the bits are the emulation's (`variants/kernel.rs` on the int32
//! datapath): the emulation sums each 128-group `Σ a·v` exactly in int32,
//! then `acc = acc + f32(p) · s_g` in group order from +0, then `acc · sa`
//! (int8 per-token absmax activations, the row scale outer; BitMoD weights
//! have no outer scale). [`IntKernel`] computes the same exact group sums
//! (|a| ≤ 127, |v| ≤ 16: pairs ≤ 4064, far below int16 saturation), folds
//! `acc + f32(sum) · s_g` per lane in group order, and finishes
//! `acc · sa` — the same operations in the same order. A ragged last group
//! is padded with zero weights and zero activations, which add nothing.
//!
//! Two packed forms, each with its own path:
//! - **GEMV** (M ≤ [`GEMV_MAX_M`], AVX2 and AVX-512 levels: the AVX2 code):
//!   the codes stay 4-bit ([`NibblePanels`]: 8 rows interleaved, two quads
//!   a byte) and are decoded in registers. The 8 rows of a panel each carry
//!   their own type, and the four types differ only in their one extra
//!   value, so the kernel's field is a position in one shared table of the
//!   15 values every type has in common (`vpshufb`) or 15 for "the extra",
//!   replaced by the row's extra (`vpcmpeqb` + `vpblendvb` against a vector
//!   of the 8 rows' extras, built once per group). The table holds `v + 16`
//!   (0..=32, unsigned), so `vpmaddubsw(v + 16, a)` takes the activations
//!   as they are: pairs ≤ 2 · 32 · 127 = 8128, four quads summed in int16
//!   (≤ 32512, below saturation) before one `vpmaddwd`; then
//!   `Σ a·v = Σ a·(v+16) − 16·Σ a` per group, exact in int32. The fold is
//!   the integer family's, in f32 lanes: `acc + f32(sum) · s_g` per group in
//!   order, then `acc · sa`.
//! - **GEMM** (M > 8) and the scalar level: the codes decoded once through
//!   [`lut`] into the int8 panels of [`IntKernel`] (its VNNI GEMM, its AVX2
//!   int16-lane GEMM, its portable sums), 1 byte per weight.
//!
//! [`BitmodKernel::bytes`] counts the GEMV's form (4-bit codes, an extra
//! byte and an f32 scale per row and group: 4.31 bits per weight at
//! group 128), the stream a decode step reads.

use super::int8::IntKernel;
use super::pack::{IntPanels, PANEL};
use super::{quant, GEMV_MAX_M};
use crate::arith::bitserial::datatypes::{BitmodType, BitmodWeights};
use crate::isa;
use crate::tensor::{QOperand, Values};
use rayon::prelude::*;

/// BitMoD weights in their stored form: codes, per-group types and scales.
#[derive(Debug, Clone, PartialEq)]
pub struct BitmodCodes {
    /// Family width (3 or 4): bits per code.
    pub bits: u32,
    /// Rows (output channels).
    pub rows: usize,
    /// Reduction length.
    pub k: usize,
    /// Group length.
    pub group: usize,
    /// Codes, row-major `rows × k`: each the index of the weight's value in
    /// its group type's ascending table (`< 2^bits`).
    pub codes: Vec<u8>,
    /// Types, `rows × ⌈k / group⌉`.
    pub types: Vec<BitmodType>,
    /// fp16 scales (as exact f32), same layout as `types`.
    pub scales: Vec<f32>,
}

/// The lookup table of `ty` in the `bits`-bit family: code → value, the
/// type's `2^bits` values ascending.
///
/// # Panics
/// When `bits` is not 3 or 4.
pub fn lut(bits: u32, ty: BitmodType) -> Vec<i8> {
    ty.values(bits).into_iter().map(|v| v as i8).collect()
}

impl BitmodCodes {
    /// The stored form of quantized weights: each value's index in its
    /// group type's table.
    ///
    /// # Panics
    /// When a value is not in its group's type (a quantizer bug).
    pub fn encode(w: &BitmodWeights) -> BitmodCodes {
        let gpr = w.groups_per_row();
        let tables: Vec<Vec<i8>> = BitmodType::ALL.iter().map(|&t| lut(w.bits, t)).collect();
        let mut codes = Vec::with_capacity(w.values.len());
        for r in 0..w.rows {
            for c in 0..w.k {
                let t = &tables[w.types[r * gpr + c / w.group].index()];
                let v = w.values[r * w.k + c];
                let code = t
                    .iter()
                    .position(|&x| x == v)
                    .unwrap_or_else(|| panic!("value {v} is not in its group's BitMoD type"));
                codes.push(code as u8);
            }
        }
        BitmodCodes {
            bits: w.bits,
            rows: w.rows,
            k: w.k,
            group: w.group,
            codes,
            types: w.types.clone(),
            scales: w.scales.clone(),
        }
    }

    /// The int8 weight values: every code through its group type's table.
    ///
    /// # Panics
    /// When a code is out of its table (corrupt codes).
    pub fn decode(&self) -> Vec<i8> {
        let gpr = self.k.div_ceil(self.group.max(1));
        let tables: Vec<Vec<i8>> = BitmodType::ALL.iter().map(|&t| lut(self.bits, t)).collect();
        let mut out = Vec::with_capacity(self.codes.len());
        for r in 0..self.rows {
            for g in 0..gpr {
                let t = &tables[self.types[r * gpr + g].index()];
                let span = g * self.group..((g + 1) * self.group).min(self.k);
                out.extend(
                    self.codes[r * self.k + span.start..r * self.k + span.end]
                        .iter()
                        .map(|&c| t[c as usize]),
                );
            }
        }
        out
    }
}

/// The values every BitMoD type has (the 3-bit family's are a subset),
/// indexed by the GEMV's 4-bit field; field 15 stands for the row's extra
/// value (its entry here is never used).
pub const SHARED: [i8; 16] = [0, 1, -1, 2, -2, 3, -3, 4, -4, 6, -6, 8, -8, 12, -12, 0];

/// The field meaning "this group's extra value".
const EXTRA: u8 = 15;

/// The offset that makes every value a `vpmaddubsw` unsigned operand.
const OFFSET: i32 = 16;

/// BitMoD codes for the GEMV: per panel of 8 rows and per group, the 4-bit
/// fields (see the module docs) in blocks of 32 bytes `[8 rows][4]`, quad
/// `2b` in the low and quad `2b + 1` in the high nibble of block `b`; then
/// per panel and group the 8 rows' extra values plus 16 and their
/// scales. Padding (a ragged last group, rows past N) is field 0 (value 0).
#[derive(Debug, Clone, PartialEq)]
pub struct NibblePanels {
    /// Output channels.
    pub n: usize,
    /// Reduction length.
    pub k: usize,
    /// Group length.
    pub group: usize,
    /// Groups per row.
    pub groups: usize,
    /// Quads per group, padded to a multiple of 4 (two int16 blocks).
    pub quads: usize,
    /// Panels, `⌈n / 8⌉`.
    pub panels: usize,
    /// Fields, `[panel][group][quads / 2][32]`.
    pub data: Vec<u8>,
    /// Extra value + 16 per row, `[panel][group][8]`.
    pub extra: Vec<u8>,
    /// Scales, `[panel][group][8]`.
    pub scales: Vec<f32>,
}

impl NibblePanels {
    /// Packs stored BitMoD weights.
    pub fn pack(w: &BitmodCodes) -> NibblePanels {
        let group = w.group.max(1);
        let groups = w.k.div_ceil(group);
        let quads = group.div_ceil(4).div_ceil(4) * 4;
        let panels = w.rows.div_ceil(PANEL);
        let values = w.decode();
        let gb = quads / 2 * 32;
        let mut data = vec![0u8; panels * groups * gb];
        let mut extra = vec![OFFSET as u8; panels * groups * PANEL];
        let mut scales = vec![0f32; panels * groups * PANEL];
        for j in 0..w.rows {
            let (p, l) = (j / PANEL, j % PANEL);
            for g in 0..groups {
                let ty = w.types[j * groups + g];
                let x = ty.extra(w.bits);
                let pg = p * groups + g;
                extra[pg * PANEL + l] = (x + OFFSET) as u8;
                scales[pg * PANEL + l] = w.scales[j * groups + g];
                for kk in g * group..((g + 1) * group).min(w.k) {
                    let v = values[j * w.k + kk] as i32;
                    let f = if v == x {
                        EXTRA
                    } else {
                        SHARED[..15]
                            .iter()
                            .position(|&s| s as i32 == v)
                            .expect("every BitMoD value is shared or the extra")
                            as u8
                    };
                    let off = kk - g * group;
                    let (q, e) = (off / 4, off % 4);
                    let at = pg * gb + (q / 2) * 32 + l * 4 + e;
                    data[at] |= f << (4 * (q % 2));
                }
            }
        }
        NibblePanels {
            n: w.rows,
            k: w.k,
            group,
            groups,
            quads,
            panels,
            data,
            extra,
            scales,
        }
    }

    /// Bytes the GEMV streams: fields, extras and scales.
    pub fn bytes(&self) -> usize {
        self.data.len() + self.extra.len() + 4 * self.scales.len()
    }
}

/// A BitMoD matmul kernel: 4-bit fields decoded in registers for the GEMV,
/// LUT-decoded int8 panels in an [`IntKernel`] for the rest.
#[derive(Debug, Clone)]
pub struct BitmodKernel {
    nib: NibblePanels,
    int: IntKernel,
}

impl BitmodKernel {
    /// Decodes and packs stored BitMoD weights (`rows × k`).
    pub fn pack(w: &BitmodCodes) -> BitmodKernel {
        let q = QOperand {
            rows: w.rows,
            k: w.k,
            values: Values::Int(w.decode()),
            group: w.group,
            inner: Some(w.scales.clone()),
            outer: None,
        };
        BitmodKernel {
            nib: NibblePanels::pack(w),
            int: IntKernel::new(IntPanels::pack(&q, 8)),
        }
    }

    /// Reduction length.
    pub fn k(&self) -> usize {
        self.nib.k
    }

    /// Bytes a GEMV streams: the 4-bit fields, extras and f32 scales.
    pub fn bytes(&self) -> usize {
        self.nib.bytes()
    }

    /// `a · wᵀ` for `a` (`m × k` f32, row-major): activations quantized to
    /// int8 per row inside, as the variant's quantizer does.
    pub fn matmul(&self, a: &[f32], m: usize) -> Vec<f64> {
        let level = isa::effective();
        let simd = isa::supported(level) != isa::IsaLevel::Scalar;
        if m > GEMV_MAX_M || !simd || self.nib.n == 0 || self.nib.k == 0 {
            return self.int.matmul(a, m);
        }
        self.gemv(a, m)
    }

    /// The register-decode GEMV (AVX2 code, at the AVX2 and AVX-512 levels).
    fn gemv(&self, a: &[f32], m: usize) -> Vec<f64> {
        let w = &self.nib;
        let (codes, sa) = quant::int8_rows(a, m, w.k);
        // Activations in the padded group layout, and their sums per group.
        let padded = w.groups * w.quads * 4;
        let mut ap = vec![0i8; m * padded];
        let mut asum = vec![0i32; m * w.groups];
        for i in 0..m {
            for g in 0..w.groups {
                let r = g * w.group..((g + 1) * w.group).min(w.k);
                let src = &codes[i * w.k + r.start..i * w.k + r.end];
                let at = i * padded + g * w.quads * 4;
                ap[at..at + src.len()].copy_from_slice(src);
                asum[i * w.groups + g] = src.iter().map(|&x| x as i32).sum();
            }
        }
        let n = w.n;
        let mut out = vec![0f64; m * n];
        let cols: Vec<Vec<[f32; PANEL]>> = (0..w.panels)
            .into_par_iter()
            .map(|p| {
                (0..m)
                    .map(|i| {
                        let ar = &ap[i * padded..(i + 1) * padded];
                        let sr = &asum[i * w.groups..(i + 1) * w.groups];
                        let acc = isa::dispatch!(isa::effective(),
                            // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2.
                            avx2 => unsafe { avx2::panel(w, p, ar, sr) },
                            scalar => unreachable!("the scalar level takes the int8 panels"),
                        );
                        acc.map(|x| x * sa[i])
                    })
                    .collect()
            })
            .collect();
        for (p, rows) in cols.iter().enumerate() {
            for (i, lanes) in rows.iter().enumerate() {
                for (l, &x) in lanes.iter().enumerate() {
                    let j = p * PANEL + l;
                    if j < n {
                        out[i * n + j] = x as f64;
                    }
                }
            }
        }
        out
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{NibblePanels, EXTRA, OFFSET, PANEL, SHARED};
    use std::arch::x86_64::*;

    /// One activation row (padded codes `a`, group sums `asum`) against
    /// every group of panel `p`: the 8 lanes' `acc`, folded in group order
    /// as `acc + f32(sum_g) · s_g` (before the row scale).
    ///
    /// # Safety
    /// AVX2.
    #[target_feature(enable = "avx2")]
    #[allow(clippy::needless_range_loop)] // g indexes the packed groups too
    pub unsafe fn panel(w: &NibblePanels, p: usize, a: &[i8], asum: &[i32]) -> [f32; PANEL] {
        let gb = w.quads / 2 * 32;
        assert!(w.quads.is_multiple_of(4));
        assert!(w.data.len() >= (p + 1) * w.groups * gb);
        assert!(a.len() >= w.groups * w.quads * 4 && asum.len() >= w.groups);
        let lanes = (p + 1) * w.groups * PANEL;
        assert!(w.extra.len() >= lanes && w.scales.len() >= lanes);
        let mut t = [0i8; 16];
        for (d, &s) in t.iter_mut().zip(&SHARED) {
            *d = (s as i32 + OFFSET) as i8;
        }
        let lut = _mm256_broadcastsi128_si256(_mm_loadu_si128(t.as_ptr() as *const __m128i));
        let m4 = _mm256_set1_epi8(0x0F);
        let f15 = _mm256_set1_epi8(EXTRA as i8);
        let ones = _mm256_set1_epi16(1);
        // Row l's extra byte into its 4 bytes (rows 0–3 in the low lane, 4–7 high).
        let spread = _mm256_setr_epi8(
            0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7,
            7, 7, 7,
        );
        let mut acc = _mm256_setzero_ps();
        for g in 0..w.groups {
            let pg = p * w.groups + g;
            let blk = w.data.as_ptr().add(pg * gb);
            let ex8 = (w.extra.as_ptr().add(pg * PANEL) as *const i64).read_unaligned();
            let ext = _mm256_shuffle_epi8(_mm256_set1_epi64x(ex8), spread);
            let ag = a.as_ptr().add(g * w.quads * 4);
            let mut s32 = _mm256_setzero_si256();
            let mut b = 0;
            while b < w.quads / 2 {
                let mut s16 = _mm256_setzero_si256();
                // Two blocks (four quads) per int16 sum: ≤ 4 · 8128 < 32767.
                for bb in b..b + 2 {
                    let x = _mm256_loadu_si256(blk.add(bb * 32) as *const __m256i);
                    let lo = _mm256_and_si256(x, m4);
                    let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(x), m4);
                    let wl = _mm256_blendv_epi8(
                        _mm256_shuffle_epi8(lut, lo),
                        ext,
                        _mm256_cmpeq_epi8(lo, f15),
                    );
                    let wh = _mm256_blendv_epi8(
                        _mm256_shuffle_epi8(lut, hi),
                        ext,
                        _mm256_cmpeq_epi8(hi, f15),
                    );
                    let a0 = _mm256_set1_epi32((ag.add(bb * 8) as *const i32).read_unaligned());
                    let a1 = _mm256_set1_epi32((ag.add(bb * 8 + 4) as *const i32).read_unaligned());
                    s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(wl, a0));
                    s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(wh, a1));
                }
                s32 = _mm256_add_epi32(s32, _mm256_madd_epi16(s16, ones));
                b += 2;
            }
            // Σ a·v = Σ a·(v + 16) − 16·Σ a (exact in int32).
            s32 = _mm256_sub_epi32(s32, _mm256_set1_epi32(OFFSET * asum[g]));
            let sc = _mm256_loadu_ps(w.scales.as_ptr().add(pg * PANEL));
            acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_cvtepi32_ps(s32), sc));
        }
        let mut out = [0f32; PANEL];
        _mm256_storeu_ps(out.as_mut_ptr(), acc);
        out
    }
}
