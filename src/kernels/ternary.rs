//! The ggml ternary kernels: TQ2_0 or TQ1_0 weights × Q8_K activations
//! (quantized per row inside the product by [`crate::formats::ternary`]),
//! an exact int32 dot per 256-block, then ggml's generic f32 fold per block
//! (`ggml_vec_dot_tq2_0_q8_K` / `tq1_0_q8_K`, generic C path):
//! `sumf = sumf + f32(isum) · (d_a · d_w)`, a separate multiply and add,
//! blocks in K order.
//!
//! Packing: 8 weight rows interleaved per panel, the codes `c` = weight + 1
//! of each 256-block as ggml decodes them from its bytes, arranged by quad
//! (4 K positions): a 32-byte vector holds one quad of the 8 rows,
//! `[8 rows][4 codes]`, so one `vpmaddubsw` takes it against a broadcast quad
//! of activations. Then the 8 rows' fp16 scales of every block.
//!
//! - TQ2_0: 16 vectors a block (512 bytes), vector `s` holding quads `s`,
//!   `s + 16`, `s + 32`, `s + 48` in bits 0–1, 2–3, 4–5, 6–7; decoded by
//!   shift and mask (ggml's 2 bits a weight, as stored).
//! - TQ1_0: 13 vectors a block (416 bytes, ggml's 52 code bytes a row):
//!   vectors 0–11 hold quads `s + 12n` (n = 0..5) as 5 trits a byte, vector
//!   12 quads 60–63 as 4 trits (and a zero trit), each byte `⌈256·v/243⌉`
//!   of its base-3 value `v` as ggml stores it. Decode: `q · 3ⁿ mod 256` by two
//!   16-entry `vpshufb` lookups (low nibble `l·3ⁿ`, high nibble `16h·3ⁿ`,
//!   added mod 256), then its high part `(3p) >> 8` = `[p ≥ 86] + [p ≥ 171]`
//!   by two saturating subtracts and `min(·, 1)`.
//!
//! The int32 block sums are exact: `vpmaddubsw(c, a)` with codes c ≤ 3 and
//! |a| ≤ 127 (Q8_K codes never reach −128) gives pairs ≤ 762, summed in
//! int16 for at most 8 vectors of 4 (TQ2_0: ≤ 24384) or 6 vectors of 5
//! (TQ1_0, c ≤ 2: ≤ 15240) before one `vpmaddwd` widens them; then
//! `Σ a·(c − 1) = Σ a·c − Σ a` with each row's block sum of `a` (from the
//! Q8_K block sums). So any order gives the emulation's integer, and the f32
//! fold runs per lane in the emulation's order: every output's bits are the
//! emulation's. Each output is computed by one task, so the thread count
//! never changes a bit.

use crate::formats::ggml::f16_to_f32;
use crate::formats::ternary::{quantize_q8_k, tq1_trit, Ternary, TernaryRows, Q8K, QK_K};
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
/// Quads per block.
const QUADS: usize = QK_K / 4;
/// TQ1_0: vectors of 5 trits per block.
const TQ1_GROUPS: usize = 12;

/// `(l · 3ⁿ) mod 256` for nibble `l`, n = 0..5.
const LO3: [[u8; 16]; 5] = pow3_table(1);
/// `(16h · 3ⁿ) mod 256` for nibble `h`, n = 0..5.
const HI3: [[u8; 16]; 5] = pow3_table(16);

const fn pow3_table(step: u32) -> [[u8; 16]; 5] {
    let mut t = [[0u8; 16]; 5];
    let mut n = 0;
    let mut p = 1u32;
    while n < 5 {
        let mut i = 0;
        while i < 16 {
            t[n][i] = ((i as u32 * step * p) % 256) as u8;
            i += 1;
        }
        p *= 3;
        n += 1;
    }
    t
}

/// The base-3 byte of trits `t` (most significant first), as ggml stores it.
fn encode_trits(t: &[u8; 5]) -> u8 {
    let v = t.iter().fold(0u32, |v, &c| v * 3 + c as u32);
    (v * 256).div_ceil(243) as u8
}

/// The weights' format's packed bytes of one block of one panel.
fn block_bytes(kind: Ternary) -> usize {
    match kind {
        Ternary::Tq2_0 => 16 * 32,
        Ternary::Tq1_0 => (TQ1_GROUPS + 1) * 32,
    }
}

/// A ggml ternary kernel with packed weights.
#[derive(Debug, Clone)]
pub struct TernaryKernel {
    kind: Ternary,
    n: usize,
    k: usize,
    nb: usize,
    panels: usize,
    /// Packed codes, `[panel][block][block_bytes]`.
    codes: Vec<u8>,
    /// fp16 scales, `[panel][block][8]` little-endian.
    scales: Vec<u8>,
}

impl TernaryKernel {
    /// Packs weights quantized to ggml's ternary blocks (`n × k`).
    pub fn pack(w: &TernaryRows) -> TernaryKernel {
        let (kind, n, nb) = (w.kind, w.rows, w.nb);
        let panels = n.div_ceil(PANEL);
        let bb = block_bytes(kind);
        let mut codes = vec![0u8; panels * nb * bb];
        let mut scales = vec![0u8; panels * nb * PANEL * 2];
        for p in 0..panels {
            for b in 0..nb {
                // Padding rows: code 1 (weight 0), scale 0.
                let mut c = [[1u8; QK_K]; PANEL];
                for (lane, cl) in c.iter_mut().enumerate() {
                    let j = p * PANEL + lane;
                    if j < n {
                        *cl = w.codes(j, b);
                        let at = ((p * nb + b) * PANEL + lane) * 2;
                        scales[at..at + 2].copy_from_slice(&w.d(j, b).to_le_bytes());
                    }
                }
                let out = &mut codes[(p * nb + b) * bb..(p * nb + b + 1) * bb];
                pack_block(kind, &c, out);
            }
        }
        TernaryKernel {
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

    /// `a · wᵀ` for `a` (`m × k` f32, row-major): quantizes A to Q8_K per
    /// row, then runs the product at the effective ISA level.
    pub fn matmul(&self, a: &[f32], m: usize) -> Vec<f64> {
        let q = quantize_q8_k(a, m, self.k);
        self.matmul_quant(&q, m)
    }

    /// The product for Q8_K activations.
    pub fn matmul_quant(&self, q: &Q8K, m: usize) -> Vec<f64> {
        let n = self.n;
        let mut out = vec![0f64; m * n];
        if m == 0 || n == 0 {
            return out;
        }
        let sums: Vec<i32> = q
            .bsums
            .chunks(16)
            .map(|s| s.iter().map(|&x| x as i32).sum())
            .collect();
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
                let v = self.task(level, q, &sums, rows.clone(), panels.clone());
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
        q: &Q8K,
        sums: &[i32],
        rows: std::ops::Range<usize>,
        panels: std::ops::Range<usize>,
    ) -> Vec<[f32; PANEL]> {
        let (nb, bb) = (self.nb, block_bytes(self.kind));
        let npn = panels.len();
        let mut acc = vec![[0f32; PANEL]; rows.len() * npn];
        for p in panels.clone() {
            let w = &self.codes[p * nb * bb..(p + 1) * nb * bb];
            let ws = &self.scales[p * nb * PANEL * 2..(p + 1) * nb * PANEL * 2];
            let mut i = rows.start;
            while i < rows.end {
                let r = TILE_ROWS.min(rows.end - i);
                let a: [Act; TILE_ROWS] = std::array::from_fn(|t| {
                    let ii = i + t.min(r - 1);
                    Act {
                        codes: &q.codes[ii * nb * QK_K..(ii + 1) * nb * QK_K],
                        d: &q.d[ii * nb..(ii + 1) * nb],
                        sums: &sums[ii * nb..(ii + 1) * nb],
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

/// Packs one block of 8 rows' codes (see the module docs).
fn pack_block(kind: Ternary, c: &[[u8; QK_K]; PANEL], out: &mut [u8]) {
    // Byte `v·32 + lane·4 + e` of vector v; quad q holds elements 4q..4q+4.
    for lane in 0..PANEL {
        for e in 0..4 {
            let code = |quad: usize| c[lane][quad * 4 + e];
            match kind {
                Ternary::Tq2_0 => {
                    for s in 0..16 {
                        out[s * 32 + lane * 4 + e] =
                            (0..4).fold(0u8, |b, f| b | (code(s + 16 * f) << (2 * f)));
                    }
                }
                Ternary::Tq1_0 => {
                    for s in 0..TQ1_GROUPS {
                        let t = std::array::from_fn(|n| code(s + TQ1_GROUPS * n));
                        out[s * 32 + lane * 4 + e] = encode_trits(&t);
                    }
                    let t = [code(60), code(61), code(62), code(63), 0];
                    out[TQ1_GROUPS * 32 + lane * 4 + e] = encode_trits(&t);
                }
            }
        }
    }
}

/// Code of quad `quad`, position `lane·4 + e` of a packed block (the scalar decode).
fn packed_code(kind: Ternary, blk: &[u8], quad: usize, at: usize) -> u8 {
    match kind {
        Ternary::Tq2_0 => (blk[(quad % 16) * 32 + at] >> (2 * (quad / 16))) & 3,
        Ternary::Tq1_0 if quad < 60 => tq1_trit(blk[(quad % 12) * 32 + at], quad / 12),
        Ternary::Tq1_0 => tq1_trit(blk[TQ1_GROUPS * 32 + at], quad - 60),
    }
}

/// One activation row's quantized blocks.
#[derive(Clone, Copy)]
struct Act<'a> {
    codes: &'a [i8],
    d: &'a [f32],
    sums: &'a [i32],
}

/// ggml's generic per-block fold: `sumf + f32(isum) · (d_a · d_w)`.
#[inline(always)]
pub fn fold(sumf: f32, isum: i32, dw: f32, da: f32) -> f32 {
    sumf + isum as f32 * (da * dw)
}

/// A tile of up to [`TILE_ROWS`] activation rows × one panel, all blocks.
fn tile(
    level: IsaLevel,
    kind: Ternary,
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
                    (Ternary::Tq2_0, 4) => avx2::tq2::<4>(w, ws, a, nb),
                    (Ternary::Tq2_0, 3) => avx2::tq2::<3>(w, ws, a, nb),
                    (Ternary::Tq2_0, 2) => avx2::tq2::<2>(w, ws, a, nb),
                    (Ternary::Tq2_0, _) => avx2::tq2::<1>(w, ws, a, nb),
                    (Ternary::Tq1_0, 4) => avx2::tq1::<4>(w, ws, a, nb),
                    (Ternary::Tq1_0, 3) => avx2::tq1::<3>(w, ws, a, nb),
                    (Ternary::Tq1_0, 2) => avx2::tq1::<2>(w, ws, a, nb),
                    (Ternary::Tq1_0, _) => avx2::tq1::<1>(w, ws, a, nb),
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
    kind: Ternary,
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
                for e in 0..QK_K {
                    let c = packed_code(kind, blk, e / 4, lane * 4 + e % 4) as i32 - 1;
                    isum += c * act.codes[b * QK_K + e] as i32;
                }
                let at = (b * PANEL + lane) * 2;
                let dw = f16_to_f32(u16::from_le_bytes([ws[at], ws[at + 1]]));
                sumf = fold(sumf, isum, dw, act.d[b]);
            }
            *o = sumf;
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Act, HI3, LO3, PANEL, QK_K, QUADS, TILE_ROWS, TQ1_GROUPS};
    use std::arch::x86_64::*;

    /// Broadcasts the 4 activation codes of quad `quad` of block `b`.
    #[inline(always)]
    unsafe fn quad(a: &[i8], b: usize, quad: usize) -> __m256i {
        let at = b * QK_K + quad * 4;
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

    /// The block's f32 fold for `R` rows, from int16 partial sums already
    /// widened into `s32` (Σ a·c): subtracts Σ a, converts, folds.
    #[inline(always)]
    unsafe fn fold<const R: usize>(
        acc: &mut [__m256; R],
        s32: &[__m256i; R],
        a: &[Act],
        ws: &[u8],
        b: usize,
    ) {
        let dw = scales(ws, b);
        for t in 0..R {
            let corr = _mm256_set1_epi32(*a[t].sums.get_unchecked(b));
            let f = _mm256_cvtepi32_ps(_mm256_sub_epi32(s32[t], corr));
            let d = _mm256_mul_ps(_mm256_set1_ps(*a[t].d.get_unchecked(b)), dw);
            acc[t] = _mm256_add_ps(acc[t], _mm256_mul_ps(f, d));
        }
    }

    unsafe fn store<const R: usize>(acc: [__m256; R]) -> [[f32; PANEL]; TILE_ROWS] {
        let mut out = [[0f32; PANEL]; TILE_ROWS];
        for t in 0..R {
            _mm256_storeu_ps(out[t].as_mut_ptr(), acc[t]);
        }
        out
    }

    fn check<const R: usize>(w: &[u8], ws: &[u8], a: &[Act], nb: usize, bb: usize) {
        assert!(a.len() >= R && w.len() >= nb * bb && ws.len() >= nb * PANEL * 2);
        for r in &a[..R] {
            assert!(r.codes.len() >= nb * QK_K && r.d.len() >= nb && r.sums.len() >= nb);
        }
    }

    /// TQ2_0 × Q8_K tile of `R` rows.
    ///
    /// # Safety
    /// AVX2 and F16C; `w` holds `nb` blocks of 512 bytes, `ws` `nb × 8`
    /// scales, each row `nb × 256` codes, `nb` scales and `nb` sums.
    #[target_feature(enable = "avx2,f16c")]
    pub unsafe fn tq2<const R: usize>(
        w: &[u8],
        ws: &[u8],
        a: &[Act],
        nb: usize,
    ) -> [[f32; PANEL]; TILE_ROWS] {
        check::<R>(w, ws, a, nb, 512);
        let ones = _mm256_set1_epi16(1);
        let m2 = _mm256_set1_epi8(3);
        let mut acc = [_mm256_setzero_ps(); R];
        for b in 0..nb {
            let wb = w.as_ptr().add(b * 512);
            let mut s32 = [_mm256_setzero_si256(); R];
            for half in 0..2 {
                // 8 vectors × 4 quads: int16 lanes ≤ 8 · 4 · 762 = 24384.
                let mut s16 = [_mm256_setzero_si256(); R];
                for s in half * 8..half * 8 + 8 {
                    let x = _mm256_loadu_si256(wb.add(s * 32) as *const __m256i);
                    let c0 = _mm256_and_si256(x, m2);
                    let c1 = _mm256_and_si256(_mm256_srli_epi16::<2>(x), m2);
                    let c2 = _mm256_and_si256(_mm256_srli_epi16::<4>(x), m2);
                    let c3 = _mm256_and_si256(_mm256_srli_epi16::<6>(x), m2);
                    for t in 0..R {
                        let c = a[t].codes;
                        let p01 = _mm256_add_epi16(
                            _mm256_maddubs_epi16(c0, quad(c, b, s)),
                            _mm256_maddubs_epi16(c1, quad(c, b, s + 16)),
                        );
                        let p23 = _mm256_add_epi16(
                            _mm256_maddubs_epi16(c2, quad(c, b, s + 32)),
                            _mm256_maddubs_epi16(c3, quad(c, b, s + 48)),
                        );
                        s16[t] = _mm256_add_epi16(s16[t], _mm256_add_epi16(p01, p23));
                    }
                }
                for t in 0..R {
                    s32[t] = _mm256_add_epi32(s32[t], _mm256_madd_epi16(s16[t], ones));
                }
            }
            fold(&mut acc, &s32, a, ws, b);
        }
        store(acc)
    }

    /// Trit `N` of every byte of `lo` / `hi` (the bytes' low and high
    /// nibbles): `p = q · 3^N mod 256` by two lookups, then `[p ≥ 86] + [p ≥ 171]`.
    #[inline(always)]
    unsafe fn trit(lo: __m256i, hi: __m256i, tl: __m256i, th: __m256i) -> __m256i {
        let one = _mm256_set1_epi8(1);
        let p = _mm256_add_epi8(_mm256_shuffle_epi8(tl, lo), _mm256_shuffle_epi8(th, hi));
        let t1 = _mm256_min_epu8(_mm256_subs_epu8(p, _mm256_set1_epi8(85)), one);
        let t2 = _mm256_min_epu8(_mm256_subs_epu8(p, _mm256_set1_epi8(-86)), one); // 170
        _mm256_add_epi8(t1, t2)
    }

    /// TQ1_0 × Q8_K tile of `R` rows.
    ///
    /// # Safety
    /// AVX2 and F16C; `w` holds `nb` blocks of 416 bytes, `ws` `nb × 8`
    /// scales, each row `nb × 256` codes, `nb` scales and `nb` sums.
    #[target_feature(enable = "avx2,f16c")]
    pub unsafe fn tq1<const R: usize>(
        w: &[u8],
        ws: &[u8],
        a: &[Act],
        nb: usize,
    ) -> [[f32; PANEL]; TILE_ROWS] {
        let bb = (TQ1_GROUPS + 1) * 32;
        check::<R>(w, ws, a, nb, bb);
        let ones = _mm256_set1_epi16(1);
        let m4 = _mm256_set1_epi8(0x0F);
        let (mut tl, mut th) = ([_mm256_setzero_si256(); 5], [_mm256_setzero_si256(); 5]);
        for n in 0..5 {
            tl[n] = _mm256_broadcastsi128_si256(_mm_loadu_si128(LO3[n].as_ptr() as *const __m128i));
            th[n] = _mm256_broadcastsi128_si256(_mm_loadu_si128(HI3[n].as_ptr() as *const __m128i));
        }
        let mut acc = [_mm256_setzero_ps(); R];
        for b in 0..nb {
            let wb = w.as_ptr().add(b * bb);
            let mut s32 = [_mm256_setzero_si256(); R];
            // Groups of 6, 6 and 1 vectors: int16 lanes ≤ 6 · 5 · 508 = 15240.
            for (from, to) in [(0, 6), (6, TQ1_GROUPS), (TQ1_GROUPS, TQ1_GROUPS + 1)] {
                let mut s16 = [_mm256_setzero_si256(); R];
                for s in from..to {
                    let x = _mm256_loadu_si256(wb.add(s * 32) as *const __m256i);
                    let lo = _mm256_and_si256(x, m4);
                    let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(x), m4);
                    let trits = if s < TQ1_GROUPS { 5 } else { 4 };
                    for n in 0..trits {
                        let c = trit(lo, hi, tl[n], th[n]);
                        let q = if s < TQ1_GROUPS {
                            s + TQ1_GROUPS * n
                        } else {
                            QUADS - 4 + n
                        };
                        for t in 0..R {
                            let p = _mm256_maddubs_epi16(c, quad(a[t].codes, b, q));
                            s16[t] = _mm256_add_epi16(s16[t], p);
                        }
                    }
                }
                for t in 0..R {
                    s32[t] = _mm256_add_epi32(s32[t], _mm256_madd_epi16(s16[t], ones));
                }
            }
            fold(&mut acc, &s32, a, ws, b);
        }
        store(acc)
    }
}
