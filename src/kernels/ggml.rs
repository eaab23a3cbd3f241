//! The ggml block kernels: Q8_0, Q4_0 or MXFP4 weights × Q8_0 activations
//! (quantized per row inside the product by [`crate::formats::ggml`]),
//! an exact int32 dot per 32-block, then ggml's generic f32 fold per block:
//!
//! - Q8_0 (`ggml_vec_dot_q8_0_q8_0`): `sumf = sumf + f32(isum) · (d_w · d_a)`;
//! - Q4_0 (`ggml_vec_dot_q4_0_q8_0`): `sumf = sumf + (f32(isum) · d_w) · d_a`;
//! - MXFP4 (`ggml_vec_dot_mxfp4_q8_0`): `sumf = sumf + (d_a · 2^(X−1)) · f32(isum)`
//!   with the E2M1 codes as the integers `2·e2m1` (ggml's `kvalues_mxfp4`) and
//!   E8M0 code X; X = 0xFF is NaN here (OCP), where ggml decodes 2^127;
//!
//! each a separate multiply and add (never fused), blocks in K order.
//!
//! Packing: 8 weight rows interleaved per panel (the `_R8` layout), per
//! 32-block `[quad][8 rows][4 codes]`: Q8_0 as int8 (256 bytes), Q4_0 as
//! unsigned fields `code + 8` and MXFP4 as its E2M1 codes, quad `s` in the
//! low nibble and quad `s + 4` in the high nibble of the same byte (128
//! bytes); then the 8 rows' scales of every block, `[panel][block][8]`:
//! fp16 (decoded with F16C in the AVX2 path) or E8M0 bytes (decoded with
//! integer shifts). Packed bytes per weight are ggml's (34, 18 or 17 per 32).
//!
//! The int32 block sums are exact (|code| ≤ 127, 32 products ≤ 2^19), so
//! any order gives the emulation's integer. AVX2 steps, 4 K positions × 8
//! rows per instruction:
//! - Q8_0: `vpmaddubsw(|w|, sign(a, w))` pairs ≤ 2 · 127 · 127 = 32258
//!   (no int16 saturation; codes are ±127 at most, so `vpsignb` never meets
//!   −128), `vpmaddwd` with ones into int32;
//! - Q4_0: `vpmaddubsw(f, a)` with the unsigned fields, pairs ≤ 3810, the
//!   block's 8 quads summed in int16 (≤ 30480), one `vpmaddwd`, then
//!   `Σ a·(f − 8) = Σ a·f − 8·Σ a` with each row's block sum of `a`;
//! - MXFP4: nibbles to int8 `2·e2m1` in {0, ±1, ±2, ±3, ±4, ±6, ±8, ±12}
//!   by a 16-entry `vpshufb`, then the Q8_0 step, pairs ≤ 2 · 12 · 127 =
//!   3048, the block's 8 quads summed in int16 (≤ 24384), one `vpmaddwd`.
//!
//! The f32 fold runs per lane in the emulation's order, so every output's
//! bits are the emulation's. Each output is computed by one task, so the
//! thread count never changes a bit.

use crate::formats::ggml::{self, GgmlBlock, QK};
use crate::isa::{self, IsaLevel};
use rayon::prelude::*;

/// Weight rows per panel.
const PANEL: usize = 8;
/// Activation rows per register tile.
const TILE_ROWS: usize = 4;
/// Activation rows per cache block in the GEMM path.
const BLOCK_ROWS: usize = 64;
/// Panels per task.
const TASK_PANELS: usize = 4;

/// Q8_0 activations of `m` rows: codes (`m × nb × 32`), f32 scales and
/// per-block code sums (`m × nb`).
#[derive(Debug, Clone)]
pub struct QuantRows {
    /// Blocks per row.
    pub nb: usize,
    /// Codes, padded to whole blocks with 0.
    pub codes: Vec<i8>,
    /// Block scales as f32 (decoded from fp16).
    pub d: Vec<f32>,
    /// Σ codes per block.
    pub sums: Vec<i32>,
}

/// Quantizes activations (`m × k`) to Q8_0 per row, as the emulation does.
pub fn quantize_rows(a: &[f32], m: usize, k: usize) -> QuantRows {
    let b = ggml::quantize(GgmlBlock::Q8_0, a, m, k);
    let d = (0..b.d.len()).map(|i| b.scale(i)).collect();
    let sums = b
        .codes
        .chunks(QK)
        .map(|c| c.iter().map(|&x| x as i32).sum())
        .collect();
    QuantRows {
        nb: b.nb,
        codes: b.codes,
        d,
        sums,
    }
}

/// The weights' block format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Weights {
    /// ggml Q8_0: int8 codes, fp16 scale.
    Q8_0,
    /// ggml Q4_0: 4-bit codes with offset 8, fp16 scale.
    Q4_0,
    /// OCP MXFP4: E2M1 codes, E8M0 scale.
    Mxfp4,
}

impl Weights {
    /// Bits per stored code.
    fn code_bits(self) -> usize {
        match self {
            Weights::Q8_0 => 8,
            Weights::Q4_0 | Weights::Mxfp4 => 4,
        }
    }

    /// Bytes per stored scale.
    fn scale_bytes(self) -> usize {
        match self {
            Weights::Q8_0 | Weights::Q4_0 => 2,
            Weights::Mxfp4 => 1,
        }
    }
}

/// `2 · e2m1(code)` as an integer: ggml's `kvalues_mxfp4`.
pub const E2M1_X2: [i8; 16] = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12];

/// `2^(X − 128)` (half the E8M0 value, as ggml's `GGML_E8M0_TO_FP32_HALF`
/// folds the ½ of `2·e2m1` into the scale), exact in f32 (subnormal for
/// X < 2); NaN for X = 0xFF (OCP; ggml gives 2^127).
pub fn e8m0_half(x: u8) -> f32 {
    match x {
        0xFF => f32::NAN,
        0 | 1 => f32::from_bits(0x0020_0000 << x),
        _ => f32::from_bits((x as u32 - 1) << 23),
    }
}

/// Quantized weights before packing: per row `nb × 32` codes (Q8_0 / Q4_0:
/// the code values; MXFP4: E2M1 codes 0..=15), padding 0, and `nb` scale
/// codes (fp16 bits, or the E8M0 byte).
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// Rows (output channels).
    pub rows: usize,
    /// Reduction length (unpadded).
    pub k: usize,
    /// Blocks per row.
    pub nb: usize,
    /// Codes, `rows × nb × 32`.
    pub codes: Vec<i8>,
    /// Scale codes, `rows × nb`.
    pub scales: Vec<u16>,
}

impl Source {
    /// The source of ggml blocks.
    pub fn of_blocks(b: &ggml::Blocks) -> Source {
        Source {
            rows: b.rows,
            k: b.k,
            nb: b.nb,
            codes: b.codes.clone(),
            scales: b.d.clone(),
        }
    }
}

/// A ggml block kernel with packed weights.
#[derive(Debug, Clone)]
pub struct GgmlKernel {
    kind: Weights,
    n: usize,
    k: usize,
    nb: usize,
    panels: usize,
    /// Packed codes, `[panel][block][block_bytes]`.
    codes: Vec<u8>,
    /// Scale bytes, `[panel][block][8 × scale bytes]` (fp16 little-endian or E8M0).
    scales: Vec<u8>,
}

impl GgmlKernel {
    /// Packs quantized weights (`n × k`) of `kind`.
    pub fn pack(kind: Weights, w: &Source) -> GgmlKernel {
        let (n, nb) = (w.rows, w.nb);
        let panels = n.div_ceil(PANEL);
        let (bb, sb) = (block_bytes(kind), kind.scale_bytes());
        // Q4_0 padding rows hold field 8 (code 0); MXFP4's code 0 is +0.
        let fill = match kind {
            Weights::Q4_0 => 0x88,
            Weights::Q8_0 | Weights::Mxfp4 => 0u8,
        };
        let mut codes = vec![fill; panels * nb * bb];
        let mut scales = vec![0u8; panels * nb * PANEL * sb];
        for j in 0..n {
            let (p, lane) = (j / PANEL, j % PANEL);
            for b in 0..nb {
                let base = (p * nb + b) * bb;
                let sc = w.scales[j * nb + b].to_le_bytes();
                let at = ((p * nb + b) * PANEL + lane) * sb;
                scales[at..at + sb].copy_from_slice(&sc[..sb]);
                for e in 0..QK {
                    let c = w.codes[(j * nb + b) * QK + e];
                    let q = e / 4;
                    if kind == Weights::Q8_0 {
                        codes[base + q * 32 + lane * 4 + e % 4] = c as u8;
                    } else {
                        let at = base + (q % 4) * 32 + lane * 4 + e % 4;
                        let shift = 4 * (q / 4);
                        let field = match kind {
                            Weights::Q4_0 => (c + 8) as u8,
                            _ => c as u8 & 0x0F,
                        };
                        codes[at] = (codes[at] & !(0x0F << shift)) | (field << shift);
                    }
                }
            }
        }
        GgmlKernel {
            kind,
            n,
            k: w.k,
            nb,
            panels,
            codes,
            scales,
        }
    }

    /// Reduction length.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Bytes the product streams: codes plus fp16 scales.
    pub fn bytes(&self) -> usize {
        self.codes.len() + self.scales.len()
    }

    /// `a · wᵀ` for `a` (`m × k` f32, row-major): quantizes A to Q8_0 per
    /// row, then runs the product at the effective ISA level.
    pub fn matmul(&self, a: &[f32], m: usize) -> Vec<f64> {
        let q = quantize_rows(a, m, self.k);
        self.matmul_quant(&q, m)
    }

    /// The product for Q8_0 activations.
    pub fn matmul_quant(&self, q: &QuantRows, m: usize) -> Vec<f64> {
        let n = self.n;
        let mut out = vec![0f64; m * n];
        if m == 0 || n == 0 {
            return out;
        }
        let level = isa::effective();
        let block = if m <= super::GEMV_MAX_M {
            m
        } else {
            BLOCK_ROWS
        };
        let tasks: Vec<(usize, usize)> = (0..m.div_ceil(block))
            .flat_map(|b| (0..self.panels.div_ceil(TASK_PANELS)).map(move |c| (b, c)))
            .collect();
        let parts: Vec<(usize, usize, Vec<[f32; PANEL]>)> = tasks
            .par_iter()
            .map(|&(b, c)| {
                let rows = b * block..((b + 1) * block).min(m);
                let panels = c * TASK_PANELS..((c + 1) * TASK_PANELS).min(self.panels);
                let v = self.task(level, q, rows.clone(), panels.clone());
                (rows.start, panels.start, v)
            })
            .collect();
        for (i0, p0, v) in parts {
            let npn = TASK_PANELS.min(self.panels - p0);
            for (idx, lanes) in v.iter().enumerate() {
                let (i, p) = (i0 + idx / npn, p0 + idx % npn);
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

    /// One task: outputs `[row][panel]` × 8 lanes.
    fn task(
        &self,
        level: IsaLevel,
        q: &QuantRows,
        rows: std::ops::Range<usize>,
        panels: std::ops::Range<usize>,
    ) -> Vec<[f32; PANEL]> {
        let (nb, bb) = (self.nb, block_bytes(self.kind));
        let npn = panels.len();
        let mut acc = vec![[0f32; PANEL]; rows.len() * npn];
        for p in panels.clone() {
            let w = &self.codes[p * nb * bb..(p + 1) * nb * bb];
            let sl = nb * PANEL * self.kind.scale_bytes();
            let ws = &self.scales[p * sl..(p + 1) * sl];
            let mut i = rows.start;
            while i < rows.end {
                let r = TILE_ROWS.min(rows.end - i);
                let a: [Act; TILE_ROWS] = std::array::from_fn(|t| {
                    let ii = i + t.min(r - 1);
                    Act {
                        codes: &q.codes[ii * nb * QK..(ii + 1) * nb * QK],
                        d: &q.d[ii * nb..(ii + 1) * nb],
                        sums: &q.sums[ii * nb..(ii + 1) * nb],
                    }
                });
                let tile = tile(level, self.kind, w, ws, &a[..r], nb);
                for (t, lanes) in tile.iter().enumerate().take(r) {
                    acc[(i + t - rows.start) * npn + (p - panels.start)] = *lanes;
                }
                i += r;
            }
        }
        acc
    }
}

/// One activation row's quantized blocks.
#[derive(Clone, Copy)]
struct Act<'a> {
    codes: &'a [i8],
    d: &'a [f32],
    sums: &'a [i32],
}

/// Packed bytes of one block of one panel.
fn block_bytes(kind: Weights) -> usize {
    PANEL * QK * kind.code_bits() / 8
}

/// Lane `lane`'s weight scale of block `b` as f32.
#[inline(always)]
fn scale_of(kind: Weights, ws: &[u8], b: usize, lane: usize) -> f32 {
    match kind {
        Weights::Mxfp4 => e8m0_half(ws[b * PANEL + lane]),
        _ => {
            let at = (b * PANEL + lane) * 2;
            ggml::f16_to_f32(u16::from_le_bytes([ws[at], ws[at + 1]]))
        }
    }
}

/// ggml's per-block f32 fold (see the module docs): `dw` is the weight
/// scale as f32 (MXFP4: [`e8m0_half`]), `da` the activation's.
#[inline(always)]
pub fn fold(kind: Weights, sumf: f32, isum: i32, dw: f32, da: f32) -> f32 {
    match kind {
        Weights::Q8_0 => sumf + isum as f32 * (dw * da),
        Weights::Q4_0 => sumf + (isum as f32 * dw) * da,
        Weights::Mxfp4 => sumf + (da * dw) * isum as f32,
    }
}

/// A tile of up to [`TILE_ROWS`] activation rows × one panel, all blocks.
fn tile(
    level: IsaLevel,
    kind: Weights,
    w: &[u8],
    ws: &[u8],
    a: &[Act],
    nb: usize,
) -> [[f32; PANEL]; TILE_ROWS] {
    isa::dispatch!(level,
        avx2 => if isa::active().avx2 && isa::active().f16c {
            // SAFETY: AVX2 and F16C were just checked.
            unsafe {
                match (kind, a.len()) {
                    (Weights::Q8_0, 4) => avx2::q8::<4>(w, ws, a, nb),
                    (Weights::Q8_0, 3) => avx2::q8::<3>(w, ws, a, nb),
                    (Weights::Q8_0, 2) => avx2::q8::<2>(w, ws, a, nb),
                    (Weights::Q8_0, _) => avx2::q8::<1>(w, ws, a, nb),
                    (Weights::Q4_0, 4) => avx2::q4::<4>(w, ws, a, nb),
                    (Weights::Q4_0, 3) => avx2::q4::<3>(w, ws, a, nb),
                    (Weights::Q4_0, 2) => avx2::q4::<2>(w, ws, a, nb),
                    (Weights::Q4_0, _) => avx2::q4::<1>(w, ws, a, nb),
                    (Weights::Mxfp4, 4) => avx2::mxfp4::<4>(w, ws, a, nb),
                    (Weights::Mxfp4, 3) => avx2::mxfp4::<3>(w, ws, a, nb),
                    (Weights::Mxfp4, 2) => avx2::mxfp4::<2>(w, ws, a, nb),
                    (Weights::Mxfp4, _) => avx2::mxfp4::<1>(w, ws, a, nb),
                }
            }
        } else {
            tile_scalar(kind, w, ws, a, nb)
        },
        scalar => tile_scalar(kind, w, ws, a, nb),
    )
}

/// The portable tile: decodes each packed code and sums in int32.
fn tile_scalar(
    kind: Weights,
    w: &[u8],
    ws: &[u8],
    a: &[Act],
    nb: usize,
) -> [[f32; PANEL]; TILE_ROWS] {
    let bb = block_bytes(kind);
    let mut out = [[0f32; PANEL]; TILE_ROWS];
    for (t, act) in a.iter().enumerate() {
        for (lane, o) in out[t].iter_mut().enumerate() {
            let mut sumf = 0f32;
            for b in 0..nb {
                let blk = &w[b * bb..(b + 1) * bb];
                let mut isum = 0i32;
                for e in 0..QK {
                    let q = e / 4;
                    let c = if kind == Weights::Q8_0 {
                        blk[q * 32 + lane * 4 + e % 4] as i8 as i32
                    } else {
                        let byte = blk[(q % 4) * 32 + lane * 4 + e % 4];
                        let f = (byte >> (4 * (q / 4))) & 0x0F;
                        match kind {
                            Weights::Q4_0 => f as i32 - 8,
                            _ => E2M1_X2[f as usize] as i32,
                        }
                    };
                    isum += c * act.codes[b * QK + e] as i32;
                }
                let dw = scale_of(kind, ws, b, lane);
                sumf = fold(kind, sumf, isum, dw, act.d[b]);
            }
            *o = sumf;
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Act, E2M1_X2, PANEL, QK, TILE_ROWS};
    use std::arch::x86_64::*;

    /// Broadcasts the 4 activation codes at `at`.
    #[inline(always)]
    unsafe fn quad(a: &[i8], at: usize) -> __m256i {
        debug_assert!(at + 4 <= a.len());
        _mm256_set1_epi32(std::ptr::read_unaligned(a.as_ptr().add(at) as *const i32))
    }

    /// The 8 rows' weight scales of block `b` as f32.
    #[inline(always)]
    unsafe fn scales(ws: &[u8], b: usize) -> __m256 {
        debug_assert!((b + 1) * PANEL * 2 <= ws.len());
        _mm256_cvtph_ps(_mm_loadu_si128(
            ws.as_ptr().add(b * PANEL * 2) as *const __m128i
        ))
    }

    /// The 8 rows' E8M0 scales of block `b` as `2^(X − 128)` (NaN for 0xFF),
    /// bit for bit [`super::e8m0_half`].
    #[inline(always)]
    unsafe fn e8m0_scales(ws: &[u8], b: usize) -> __m256 {
        debug_assert!((b + 1) * PANEL <= ws.len());
        let x = _mm256_cvtepu8_epi32(_mm_loadl_epi64(ws.as_ptr().add(b * PANEL) as *const __m128i));
        let one = _mm256_set1_epi32(1);
        let normal = _mm256_slli_epi32::<23>(_mm256_sub_epi32(x, one));
        // X = 0 → 0x0020_0000, X = 1 → 0x0040_0000 (subnormals).
        let small = _mm256_srlv_epi32(_mm256_set1_epi32(0x0040_0000), _mm256_sub_epi32(one, x));
        let is_small = _mm256_cmpgt_epi32(_mm256_set1_epi32(2), x);
        let r = _mm256_blendv_epi8(normal, small, is_small);
        let is_nan = _mm256_cmpeq_epi32(x, _mm256_set1_epi32(0xFF));
        _mm256_castsi256_ps(_mm256_blendv_epi8(
            r,
            _mm256_set1_epi32(0x7FC0_0000),
            is_nan,
        ))
    }

    unsafe fn store<const R: usize>(acc: [__m256; R]) -> [[f32; PANEL]; TILE_ROWS] {
        let mut out = [[0f32; PANEL]; TILE_ROWS];
        for t in 0..R {
            _mm256_storeu_ps(out[t].as_mut_ptr(), acc[t]);
        }
        out
    }

    /// Q8_0 × Q8_0 tile of `R` rows.
    ///
    /// # Safety
    /// AVX2 and F16C; `w` holds `nb` blocks of 256 bytes, `ws` `nb × 8`
    /// scales, each row `nb × 32` codes and `nb` scales.
    #[target_feature(enable = "avx2,f16c")]
    pub unsafe fn q8<const R: usize>(
        w: &[u8],
        ws: &[u8],
        a: &[Act],
        nb: usize,
    ) -> [[f32; PANEL]; TILE_ROWS] {
        assert!(a.len() >= R && w.len() >= nb * 256 && ws.len() >= nb * PANEL * 2);
        for r in &a[..R] {
            assert!(r.codes.len() >= nb * QK && r.d.len() >= nb);
        }
        let ones = _mm256_set1_epi16(1);
        let mut acc = [_mm256_setzero_ps(); R];
        for b in 0..nb {
            let wb = w.as_ptr().add(b * 256);
            let mut isum = [_mm256_setzero_si256(); R];
            for q in 0..8 {
                let wv = _mm256_loadu_si256(wb.add(q * 32) as *const __m256i);
                let aw = _mm256_sign_epi8(wv, wv);
                for t in 0..R {
                    let sa = _mm256_sign_epi8(quad(a[t].codes, b * QK + q * 4), wv);
                    let p = _mm256_madd_epi16(_mm256_maddubs_epi16(aw, sa), ones);
                    isum[t] = _mm256_add_epi32(isum[t], p);
                }
            }
            let dw = scales(ws, b);
            for t in 0..R {
                let f = _mm256_cvtepi32_ps(isum[t]);
                let d = _mm256_mul_ps(dw, _mm256_set1_ps(*a[t].d.get_unchecked(b)));
                acc[t] = _mm256_add_ps(acc[t], _mm256_mul_ps(f, d));
            }
        }
        store(acc)
    }

    /// Q4_0 × Q8_0 tile of `R` rows.
    ///
    /// # Safety
    /// AVX2 and F16C; `w` holds `nb` blocks of 128 bytes, `ws` `nb × 8`
    /// scales, each row `nb × 32` codes, `nb` scales and `nb` sums.
    #[target_feature(enable = "avx2,f16c")]
    pub unsafe fn q4<const R: usize>(
        w: &[u8],
        ws: &[u8],
        a: &[Act],
        nb: usize,
    ) -> [[f32; PANEL]; TILE_ROWS] {
        assert!(a.len() >= R && w.len() >= nb * 128 && ws.len() >= nb * PANEL * 2);
        for r in &a[..R] {
            assert!(r.codes.len() >= nb * QK && r.d.len() >= nb && r.sums.len() >= nb);
        }
        let ones = _mm256_set1_epi16(1);
        let m4 = _mm256_set1_epi8(0x0F);
        let mut acc = [_mm256_setzero_ps(); R];
        for b in 0..nb {
            let wb = w.as_ptr().add(b * 128);
            let mut s16 = [_mm256_setzero_si256(); R];
            for s in 0..4 {
                let x = _mm256_loadu_si256(wb.add(s * 32) as *const __m256i);
                let lo = _mm256_and_si256(x, m4);
                let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(x), m4);
                for t in 0..R {
                    let c = a[t].codes;
                    let pl = _mm256_maddubs_epi16(lo, quad(c, b * QK + s * 4));
                    let ph = _mm256_maddubs_epi16(hi, quad(c, b * QK + (s + 4) * 4));
                    s16[t] = _mm256_add_epi16(s16[t], _mm256_add_epi16(pl, ph));
                }
            }
            let dw = scales(ws, b);
            for t in 0..R {
                let s32 = _mm256_madd_epi16(s16[t], ones);
                let corr = _mm256_set1_epi32(8 * *a[t].sums.get_unchecked(b));
                let f = _mm256_cvtepi32_ps(_mm256_sub_epi32(s32, corr));
                let d = _mm256_set1_ps(*a[t].d.get_unchecked(b));
                acc[t] = _mm256_add_ps(acc[t], _mm256_mul_ps(_mm256_mul_ps(f, dw), d));
            }
        }
        store(acc)
    }

    /// MXFP4 × Q8_0 tile of `R` rows.
    ///
    /// # Safety
    /// AVX2; `w` holds `nb` blocks of 128 bytes, `ws` `nb × 8` E8M0 bytes,
    /// each row `nb × 32` codes and `nb` scales.
    #[target_feature(enable = "avx2,f16c")]
    pub unsafe fn mxfp4<const R: usize>(
        w: &[u8],
        ws: &[u8],
        a: &[Act],
        nb: usize,
    ) -> [[f32; PANEL]; TILE_ROWS] {
        assert!(a.len() >= R && w.len() >= nb * 128 && ws.len() >= nb * PANEL);
        for r in &a[..R] {
            assert!(r.codes.len() >= nb * QK && r.d.len() >= nb);
        }
        let ones = _mm256_set1_epi16(1);
        let m4 = _mm256_set1_epi8(0x0F);
        let lut = _mm256_broadcastsi128_si256(_mm_loadu_si128(E2M1_X2.as_ptr() as *const __m128i));
        let mut acc = [_mm256_setzero_ps(); R];
        for b in 0..nb {
            let wb = w.as_ptr().add(b * 128);
            let mut s16 = [_mm256_setzero_si256(); R];
            for s in 0..4 {
                let x = _mm256_loadu_si256(wb.add(s * 32) as *const __m256i);
                let wl = _mm256_shuffle_epi8(lut, _mm256_and_si256(x, m4));
                let wh = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16::<4>(x), m4));
                let (al, ah) = (_mm256_sign_epi8(wl, wl), _mm256_sign_epi8(wh, wh));
                for t in 0..R {
                    let c = a[t].codes;
                    let sl = _mm256_sign_epi8(quad(c, b * QK + s * 4), wl);
                    let sh = _mm256_sign_epi8(quad(c, b * QK + (s + 4) * 4), wh);
                    let p = _mm256_add_epi16(
                        _mm256_maddubs_epi16(al, sl),
                        _mm256_maddubs_epi16(ah, sh),
                    );
                    s16[t] = _mm256_add_epi16(s16[t], p);
                }
            }
            let dw = e8m0_scales(ws, b);
            for t in 0..R {
                let f = _mm256_cvtepi32_ps(_mm256_madd_epi16(s16[t], ones));
                let d = _mm256_mul_ps(_mm256_set1_ps(*a[t].d.get_unchecked(b)), dw);
                acc[t] = _mm256_add_ps(acc[t], _mm256_mul_ps(d, f));
            }
        }
        store(acc)
    }
}
