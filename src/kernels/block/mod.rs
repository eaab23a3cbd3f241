//! The block kernels: weights in a ggml-style block format × int8
//! activations quantized per row inside the product, an exact int32 dot per
//! block, then the format's f32 fold per block, blocks in K order. One
//! driver ([`BlockKernel`]) does the packing frame, the threading, the tile
//! dispatch, the scalar reference tile and the f32 folds ([`Fold`]); a format is one [`BlockFormat`]
//! impl in its own file: [`q8_0`], [`q4_0`], [`mxfp4`] (× Q8_0 activations,
//! 32-blocks) and [`tq2_0`], [`tq1_0`] (× Q8_K, 256-blocks), each saying how
//! it packs, decodes, dots and folds one block. Q4_0 and MXFP4 share their
//! 4-bit layout and AVX2 step ([`nibble`]); the ternary formats share
//! [`pack_vectors`].
//!
//! Packing: 8 weight rows interleaved per panel (the `_R8` layout), each
//! block of a panel `BLOCK_BYTES` of codes laid out as the format's AVX2
//! step reads them: 32-byte vectors of one quad (4 K positions) of the 8
//! rows, `[8 rows][4 codes]`, so one `vpmaddubsw` takes a vector against a
//! broadcast quad of one activation row and no horizontal sum is needed.
//! Then the 8 rows' scales of every block, `[panel][block][8 × SCALE_BYTES]`
//! (fp16 little-endian, decoded with F16C in the AVX2 path, or E8M0).
//! Padding rows hold the format's code for weight 0 and scale 0.
//!
//! Why the bits are the emulation's: each format's docs bound its int16
//! partial sums below saturation, so the int32 block sums are exact and any
//! order gives the emulation's integer; the f32 fold runs per lane (one
//! lane per output) in the emulation's order with the format's operand
//! order. Each output is computed by one task in a fixed order, so the
//! thread count never changes a bit.
//!
//! Speed: the AVX2 tile is one `#[target_feature]` function monomorphised
//! per format and tile height, and every format method it calls is
//! `#[inline(always)]`, so the block step compiles inside it with AVX2
//! enabled and the format's constants stay in registers across blocks.

pub mod act;
#[cfg(target_arch = "x86_64")]
mod avx512;
pub mod mxfp4;
pub mod nibble;
pub mod q4_0;
pub mod q8_0;
pub mod tq1_0;
pub mod tq2_0;

pub use act::{quantize_rows, ActFormat, QuantRows};

use crate::formats::ggml::f16_to_f32;
use crate::isa::{self, IsaLevel};
use rayon::prelude::*;
use std::marker::PhantomData;

/// Weight rows per panel.
pub const PANEL: usize = 8;
/// Activation rows per register tile (AVX2 and scalar).
const TILE_ROWS: usize = 4;
/// Activation rows per VNNI register tile: one weight vector (two panels,
/// loaded and offset once per quad) feeds 8 rows' `vpdpbusd`, and 8
/// independent sums per quad hide its latency.
const VNNI_ROWS: usize = 8;
/// Activation rows per cache block in the GEMM path.
const BLOCK_ROWS: usize = 64;
/// Panels per task.
const TASK_PANELS: usize = 4;

/// One activation row's quantized blocks, as a tile reads them.
#[derive(Debug, Clone, Copy)]
pub struct Act<'a> {
    /// Codes, `nb × QK`.
    pub codes: &'a [i8],
    /// Block scales as f32, `nb`.
    pub d: &'a [f32],
    /// Σ codes per block, `nb`.
    pub sums: &'a [i32],
}

/// One block of up to 8 activation rows as the AVX-512 VNNI
/// steps read it (an 8-row group's block; see the driver's VNNI layout):
/// row `t`'s `qk` codes at `codes + t · qk`, its block sums' start
/// `−o · Σ codes` ([`BlockFormat::VNNI_OFFSET`]) at `starts + t`.
#[derive(Debug, Clone, Copy)]
pub struct VnniBlock {
    /// The rows' codes, one row's block after another.
    pub codes: *const i8,
    /// The rows' `−o · Σ codes` of the block.
    pub starts: *const i32,
    /// Codes per row and block (the activation format's block length).
    pub qk: usize,
}

/// A weight block format: how one block of a panel of 8 rows is packed,
/// decoded, dotted and folded. Everything else is [`BlockKernel`]'s.
pub trait BlockFormat: std::fmt::Debug + Clone + Copy + Send + Sync + 'static {
    /// The activations' block format; its block length is the weights'.
    type Act: ActFormat;
    /// Packed code bytes of one block of one panel (8 rows).
    const BLOCK_BYTES: usize;
    /// Bytes of one row's scale code per block (fp16: 2, E8M0: 1).
    const SCALE_BYTES: usize = 2;
    /// The stored code of weight 0, which padding rows hold.
    const PAD_CODE: i8 = 0;
    /// The format's per-block f32 fold (ggml's generic C path).
    const FOLD: Fold;

    /// Packs one block of the 8 rows' codes (`rows[lane]`, QK codes each in
    /// K order) into `out` (`BLOCK_BYTES`).
    fn pack_block(rows: &[&[i8]; PANEL], out: &mut [u8]);

    /// The integer weight of element `e` of row `lane` in packed block
    /// `blk`: the scalar reference decode of the packing.
    fn weight(blk: &[u8], lane: usize, e: usize) -> i32;

    /// One row's weight scale from its `SCALE_BYTES` scale bytes (fp16
    /// little-endian unless the format says otherwise).
    #[inline(always)]
    fn scale(bytes: &[u8]) -> f32 {
        f16_to_f32(u16::from_le_bytes([bytes[0], bytes[1]]))
    }

    /// Constants the AVX2 block step keeps in registers (lookup tables, masks).
    #[cfg(target_arch = "x86_64")]
    type Consts: Copy;

    /// Loads [`Self::Consts`] once per tile.
    ///
    /// # Safety
    /// AVX2 (called only from inside the driver's AVX2 tile).
    #[cfg(target_arch = "x86_64")]
    unsafe fn consts() -> Self::Consts;

    /// The exact int32 dots of packed block `b` (at `blk`, `BLOCK_BYTES`)
    /// with block `b` of each of the `R` rows `a`, 8 lanes (weight rows)
    /// each.
    ///
    /// # Safety
    /// AVX2 and F16C; `blk` points at `BLOCK_BYTES` readable bytes, each row
    /// has `(b + 1) · QK` codes and `b + 1` sums (the driver checks both).
    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_avx2<const R: usize>(
        c: &Self::Consts,
        blk: *const u8,
        a: &[Act; R],
        b: usize,
    ) -> [std::arch::x86_64::__m256i; R];

    /// Whether the format has an AVX-512 VNNI step ([`Self::dot_avx512`]);
    /// a format without one runs its AVX2 tile at the AVX-512 level.
    const VNNI: bool = false;

    /// The offset `o` the VNNI step adds to each weight to make it
    /// `vpdpbusd`'s unsigned operand: its block sums start at `−o · Σ a`,
    /// computed once per activation block ([`VnniBlock::starts`]).
    const VNNI_OFFSET: i32 = 0;

    /// The exact int32 dots of a packed block of two panels (at `blk0`
    /// and `blk1`, `BLOCK_BYTES` each) with the same block of the first
    /// `R` rows of `a`: 16 lanes, the first panel's 8 rows then the
    /// second's. The default is never called (the driver checks
    /// [`Self::VNNI`]).
    ///
    /// # Safety
    /// AVX-512 F/BW/VL and VNNI; `BLOCK_BYTES` readable at `blk0` and
    /// `blk1`; `a` holds `R` rows' codes and sums (the driver checks).
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn dot_avx512<const R: usize>(
        blk0: *const u8,
        blk1: *const u8,
        a: VnniBlock,
    ) -> [std::arch::x86_64::__m512i; R] {
        let _ = (blk0, blk1, a);
        unreachable!("{} has no AVX-512 step", std::any::type_name::<Self>())
    }

    /// The 8 rows' weight scales of block `b` as f32 (fp16 through F16C
    /// unless the format says otherwise), bit for bit [`Self::scale`].
    ///
    /// # Safety
    /// AVX2 and F16C; `ws` holds `(b + 1) · 8 · SCALE_BYTES` bytes.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn scales_avx2(ws: &[u8], b: usize) -> std::arch::x86_64::__m256 {
        use std::arch::x86_64::*;
        debug_assert!((b + 1) * PANEL * 2 <= ws.len());
        _mm256_cvtph_ps(_mm_loadu_si128(
            ws.as_ptr().add(b * PANEL * 2) as *const __m128i
        ))
    }
}

/// The per-block f32 folds of ggml's generic dot products: `sumf` plus the
/// block's int32 sum `isum` scaled by the weight scale `dw` and the
/// activation scale `da`, a separate multiply and add each step. The
/// operand order is each C path's, kept as written so that every bit
/// (NaN payloads aside) is the emulation's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fold {
    /// `sumf + isum · (dw · da)` (`ggml_vec_dot_q8_0_q8_0`).
    IsumDwDa,
    /// `sumf + (isum · dw) · da` (`ggml_vec_dot_q4_0_q8_0`).
    IsumDwThenDa,
    /// `sumf + (da · dw) · isum` (`ggml_vec_dot_mxfp4_q8_0`).
    DaDwIsum,
    /// `sumf + isum · (da · dw)` (`ggml_vec_dot_tq*_0_q8_K`).
    IsumDaDw,
}

impl Fold {
    /// One block's fold into `sumf`.
    #[inline(always)]
    pub fn apply(self, sumf: f32, isum: i32, dw: f32, da: f32) -> f32 {
        let f = isum as f32;
        match self {
            Fold::IsumDwDa => sumf + f * (dw * da),
            Fold::IsumDwThenDa => sumf + (f * dw) * da,
            Fold::DaDwIsum => sumf + (da * dw) * f,
            Fold::IsumDaDw => sumf + f * (da * dw),
        }
    }

    /// [`Self::apply`] on 8 lanes: `acc` plus `isum` (int32) scaled by the
    /// lanes' `dw` and the row's `da`, in the same operand order.
    ///
    /// # Safety
    /// AVX2.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    pub unsafe fn apply_avx2(
        self,
        acc: std::arch::x86_64::__m256,
        isum: std::arch::x86_64::__m256i,
        dw: std::arch::x86_64::__m256,
        da: f32,
    ) -> std::arch::x86_64::__m256 {
        use std::arch::x86_64::*;
        let (f, da) = (_mm256_cvtepi32_ps(isum), _mm256_set1_ps(da));
        let p = match self {
            Fold::IsumDwDa => _mm256_mul_ps(f, _mm256_mul_ps(dw, da)),
            Fold::IsumDwThenDa => _mm256_mul_ps(_mm256_mul_ps(f, dw), da),
            Fold::DaDwIsum => _mm256_mul_ps(_mm256_mul_ps(da, dw), f),
            Fold::IsumDaDw => _mm256_mul_ps(f, _mm256_mul_ps(da, dw)),
        };
        _mm256_add_ps(acc, p)
    }
}

#[cfg(target_arch = "x86_64")]
impl Fold {
    /// [`Self::apply`] on 16 lanes (two panels), as [`Self::apply_avx2`].
    ///
    /// # Safety
    /// AVX-512 F.
    #[inline(always)]
    pub unsafe fn apply_avx512(
        self,
        acc: std::arch::x86_64::__m512,
        isum: std::arch::x86_64::__m512i,
        dw: std::arch::x86_64::__m512,
        da: f32,
    ) -> std::arch::x86_64::__m512 {
        use std::arch::x86_64::*;
        let (f, da) = (_mm512_cvtepi32_ps(isum), _mm512_set1_ps(da));
        let p = match self {
            Fold::IsumDwDa => _mm512_mul_ps(f, _mm512_mul_ps(dw, da)),
            Fold::IsumDwThenDa => _mm512_mul_ps(_mm512_mul_ps(f, dw), da),
            Fold::DaDwIsum => _mm512_mul_ps(_mm512_mul_ps(da, dw), f),
            Fold::IsumDaDw => _mm512_mul_ps(f, _mm512_mul_ps(da, dw)),
        };
        _mm512_add_ps(acc, p)
    }
}

/// Quantized weights before packing, in any block format: per row `nb × QK`
/// stored codes (a ragged last block padded with the code of weight 0) and
/// `nb` scale codes (fp16 bits, or the E8M0 byte).
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// Rows (output channels).
    pub rows: usize,
    /// Reduction length (unpadded).
    pub k: usize,
    /// Blocks per row.
    pub nb: usize,
    /// Codes, `rows × nb × QK`.
    pub codes: Vec<i8>,
    /// Scale codes, `rows × nb`.
    pub scales: Vec<u16>,
}

/// A block kernel in format `F` with packed weights.
#[derive(Debug, Clone)]
pub struct BlockKernel<F: BlockFormat> {
    n: usize,
    k: usize,
    nb: usize,
    panels: usize,
    /// Packed codes, `[panel][block][BLOCK_BYTES]`.
    codes: Vec<u8>,
    /// Scale bytes, `[panel][block][8 × SCALE_BYTES]`.
    scales: Vec<u8>,
    format: PhantomData<F>,
}

impl<F: BlockFormat> BlockKernel<F> {
    /// Packs quantized weights (`n × k`).
    pub fn pack(w: &Source) -> BlockKernel<F> {
        let qk = F::Act::QK;
        let (n, nb) = (w.rows, w.nb);
        let panels = n.div_ceil(PANEL);
        let (bb, sb) = (F::BLOCK_BYTES, F::SCALE_BYTES);
        assert_eq!(w.codes.len(), n * nb * qk, "codes are rows × nb × QK");
        let pad = vec![F::PAD_CODE; qk];
        let mut codes = vec![0u8; panels * nb * bb];
        let mut scales = vec![0u8; panels * nb * PANEL * sb];
        for p in 0..panels {
            for b in 0..nb {
                let rows: [&[i8]; PANEL] = std::array::from_fn(|lane| {
                    let j = p * PANEL + lane;
                    if j < n {
                        &w.codes[(j * nb + b) * qk..(j * nb + b + 1) * qk]
                    } else {
                        &pad[..]
                    }
                });
                F::pack_block(&rows, &mut codes[(p * nb + b) * bb..(p * nb + b + 1) * bb]);
                for lane in 0..PANEL.min(n - p * PANEL) {
                    let sc = w.scales[(p * PANEL + lane) * nb + b].to_le_bytes();
                    let at = ((p * nb + b) * PANEL + lane) * sb;
                    scales[at..at + sb].copy_from_slice(&sc[..sb]);
                }
            }
        }
        BlockKernel {
            n,
            k: w.k,
            nb,
            panels,
            codes,
            scales,
            format: PhantomData,
        }
    }

    /// Reduction length.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Bytes the product streams: codes plus scales.
    pub fn bytes(&self) -> usize {
        self.codes.len() + self.scales.len()
    }

    /// `a · wᵀ` for `a` (`m × k` f32, row-major): quantizes A per row to
    /// the format's activations, then runs the product at the effective ISA
    /// level.
    pub fn matmul(&self, a: &[f32], m: usize) -> Vec<f64> {
        let q = act::quantize_rows::<F::Act>(a, m, self.k);
        self.matmul_quant(&q, m)
    }

    /// The product for quantized activations.
    pub fn matmul_quant(&self, q: &QuantRows, m: usize) -> Vec<f64> {
        let n = self.n;
        if m == 0 || n == 0 {
            return vec![0f64; m * n];
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
        let groups = vnni_tile::<F>(level).then(|| Groups::new(q, m, F::Act::QK, F::VNNI_OFFSET));
        // The tasks write their outputs in place, in parallel: no zeroing
        // (a reused heap block would be memset on one thread) and no merge
        // of per-task results on one thread afterwards.
        let mut out: Vec<f64> = Vec::with_capacity(m * n);
        let dst = Out(out.as_mut_ptr());
        tasks.par_iter().for_each(|&(b, c)| {
            let rows = b * block..((b + 1) * block).min(m);
            let panels = c * TASK_PANELS..((c + 1) * TASK_PANELS).min(self.panels);
            self.task(level, q, groups.as_ref(), rows, panels, dst);
        });
        // SAFETY: the tasks cover rows 0..m × panels 0..panels, and every
        // task writes each of its outputs `i · n + j` (i < m, j < n) once,
        // so all `m · n` elements are initialised.
        unsafe { out.set_len(m * n) };
        out
    }

    /// One task: the outputs of `rows` × `panels` (8 lanes each, those
    /// below `n`) written to `dst`. The VNNI tile (when `groups` are given)
    /// takes two panels at once (a task's odd last panel twice, the copy
    /// dropped) and 8-row groups (`rows` start at a multiple of 8).
    fn task(
        &self,
        level: IsaLevel,
        q: &QuantRows,
        groups: Option<&Groups>,
        rows: std::ops::Range<usize>,
        panels: std::ops::Range<usize>,
        dst: Out,
    ) {
        let (n, nb, bb, qk) = (self.n, self.nb, F::BLOCK_BYTES, F::Act::QK);
        let sl = nb * PANEL * F::SCALE_BYTES;
        let (step, tile_rows) = if groups.is_some() {
            (2, VNNI_ROWS)
        } else {
            (1, TILE_ROWS)
        };
        let mut p = panels.start;
        while p < panels.end {
            let p1 = (p + step - 1).min(panels.end - 1);
            let w = |p: usize| &self.codes[p * nb * bb..(p + 1) * nb * bb];
            let ws = |p: usize| &self.scales[p * sl..(p + 1) * sl];
            // Output columns of this step: panel p's 8, then p1's if it
            // is another panel; those at or past n are padding.
            let cols = (p * PANEL..(p1 + 1) * PANEL).take_while(|&j| j < n).count();
            let mut i = rows.start;
            while i < rows.end {
                let r = tile_rows.min(rows.end - i);
                let tile = if let Some(g) = groups {
                    assert_eq!(i % VNNI_ROWS, 0, "VNNI tiles start at a group");
                    // SAFETY: `groups` exist only where `vnni_tile` holds.
                    unsafe { tile_vnni::<F>(r, [w(p), w(p1)], [ws(p), ws(p1)], g.group(i), nb) }
                } else {
                    let a: [Act; TILE_ROWS] = std::array::from_fn(|t| {
                        let ii = i + t.min(r - 1);
                        Act {
                            codes: &q.codes[ii * nb * qk..(ii + 1) * nb * qk],
                            d: &q.d[ii * nb..(ii + 1) * nb],
                            sums: &q.sums[ii * nb..(ii + 1) * nb],
                        }
                    });
                    tile::<F>(level, w(p), ws(p), &a[..r], nb)
                };
                for (t, lanes) in tile.iter().enumerate().take(r) {
                    let at = (i + t) * n + p * PANEL;
                    for (l, &x) in lanes[..cols].iter().enumerate() {
                        // SAFETY: row i + t < m and column p·8 + l < n: an
                        // element of `dst`'s m · n, written by this task only.
                        unsafe { dst.0.add(at + l).write(x as f64) };
                    }
                }
                i += r;
            }
            p = p1 + 1;
        }
    }
}

/// The activations in 8-row groups for the VNNI tile, rows past the last
/// repeating it: group `g`'s block `b` holds its 8 rows' codes one after
/// another (`codes[((g · nb + b) · 8 + t) · QK ..]`), their scales and
/// block sums' starts `−o · Σ codes` at `(g · nb + b) · 8 + t`.
struct Groups {
    nb: usize,
    qk: usize,
    codes: Vec<i8>,
    d: Vec<f32>,
    starts: Vec<i32>,
}

/// One 8-row group of [`Groups`].
#[derive(Clone, Copy)]
struct Group<'a> {
    codes: &'a [i8],
    d: &'a [f32],
    starts: &'a [i32],
}

impl Groups {
    /// The groups of `q`'s `m` rows (blocks of `qk`, weight offset `o`),
    /// copied in parallel.
    fn new(q: &QuantRows, m: usize, qk: usize, o: i32) -> Groups {
        let nb = q.nb;
        let gb = nb * VNNI_ROWS;
        let ng = m.div_ceil(VNNI_ROWS);
        let mut g = Groups {
            nb,
            qk,
            codes: vec![0; ng * gb * qk],
            d: vec![0.0; ng * gb],
            starts: vec![0; ng * gb],
        };
        g.codes
            .par_chunks_mut(gb * qk)
            .zip(g.d.par_chunks_mut(gb))
            .zip(g.starts.par_chunks_mut(gb))
            .enumerate()
            .for_each(|(gi, ((codes, d), starts))| {
                for t in 0..VNNI_ROWS {
                    let i = (gi * VNNI_ROWS + t).min(m - 1);
                    for b in 0..nb {
                        let (at, from) = (b * VNNI_ROWS + t, i * nb + b);
                        codes[at * qk..(at + 1) * qk]
                            .copy_from_slice(&q.codes[from * qk..(from + 1) * qk]);
                        d[at] = q.d[from];
                        starts[at] = -o * q.sums[from];
                    }
                }
            });
        g
    }

    /// The group of row `i` (a multiple of 8).
    fn group(&self, i: usize) -> Group<'_> {
        let (gi, gb) = (i / VNNI_ROWS, self.nb * VNNI_ROWS);
        Group {
            codes: &self.codes[gi * gb * self.qk..(gi + 1) * gb * self.qk],
            d: &self.d[gi * gb..(gi + 1) * gb],
            starts: &self.starts[gi * gb..(gi + 1) * gb],
        }
    }
}

/// The VNNI tile of the first `r` rows of group `g` × two panels; 5–7
/// rows run as 8 (the group's rows past the last repeat it) and the
/// copies' outputs are dropped.
///
/// # Safety
/// [`vnni_tile`] holds at the product's level.
unsafe fn tile_vnni<F: BlockFormat>(
    r: usize,
    w: [&[u8]; 2],
    ws: [&[u8]; 2],
    g: Group,
    nb: usize,
) -> TileOut {
    #[cfg(target_arch = "x86_64")]
    {
        match r {
            5..=8 => avx512::tile::<F, 8>(w, ws, g, nb),
            4 => avx512::tile::<F, 4>(w, ws, g, nb),
            3 => avx512::tile::<F, 3>(w, ws, g, nb),
            2 => avx512::tile::<F, 2>(w, ws, g, nb),
            1 => avx512::tile::<F, 1>(w, ws, g, nb),
            r => unreachable!("no VNNI tile of {r} rows"),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (r, w, ws, g, nb);
        unreachable!("the VNNI tile is x86-64 only")
    }
}

/// The product's output buffer, shared by its tasks: each writes only its
/// own rows × columns (see [`BlockKernel::matmul_quant`]).
#[derive(Clone, Copy)]
struct Out(*mut f64);
// SAFETY: the tasks write disjoint elements and nothing reads them until
// every task has finished.
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

impl<F: BlockFormat> super::PackedKernel for BlockKernel<F> {
    fn k(&self) -> usize {
        BlockKernel::k(self)
    }
    fn bytes(&self) -> usize {
        BlockKernel::bytes(self)
    }
    fn matmul(&self, a: &[f32], m: usize) -> Vec<f64> {
        BlockKernel::matmul(self, a, m)
    }
}

/// Whether the product at `level` runs `F`'s AVX-512 VNNI tile
/// ([`BlockFormat::VNNI`], and a CPU with AVX-512 F/BW/VL, VNNI, AVX2 and
/// F16C under the cap).
fn vnni_tile<F: BlockFormat>(level: IsaLevel) -> bool {
    let f = isa::active();
    F::VNNI
        && isa::supported(level) == IsaLevel::Avx512
        && f.avx512f
        && f.avx512bw
        && f.avx512vl
        && f.avx512vnni
        && f.avx2
        && f.f16c
}

/// The tile the product of format `F` runs at `level` on this CPU:
/// `"avx512-vnni"`, `"avx2"` or `"scalar"` (tests assert that each level's
/// comparison runs the tile it names).
pub fn tile_name<F: BlockFormat>(level: IsaLevel) -> &'static str {
    if vnni_tile::<F>(level) {
        return "avx512-vnni";
    }
    let f = isa::active();
    if isa::supported(level) >= IsaLevel::Avx2 && f.avx2 && f.f16c {
        "avx2"
    } else {
        "scalar"
    }
}

/// Outputs of one tile: up to [`VNNI_ROWS`] rows × 16 lanes (the first
/// panel's 8, then the second's; the non-VNNI tiles fill the first 8
/// lanes of at most [`TILE_ROWS`] rows).
type TileOut = [[f32; 2 * PANEL]; VNNI_ROWS];

/// A tile of up to [`TILE_ROWS`] activation rows × one panel, all blocks
/// (AVX2 or scalar; the VNNI tile is [`tile_vnni`]).
fn tile<F: BlockFormat>(level: IsaLevel, w: &[u8], ws: &[u8], a: &[Act], nb: usize) -> TileOut {
    isa::dispatch!(level,
        avx2 => if isa::active().avx2 && isa::active().f16c {
            // SAFETY: AVX2 and F16C were just checked.
            unsafe {
                match a.len() {
                    4 => avx2::tile::<F, 4>(w, ws, a, nb),
                    3 => avx2::tile::<F, 3>(w, ws, a, nb),
                    2 => avx2::tile::<F, 2>(w, ws, a, nb),
                    _ => avx2::tile::<F, 1>(w, ws, a, nb),
                }
            }
        } else {
            tile_scalar::<F>(w, ws, a, nb)
        },
        scalar => tile_scalar::<F>(w, ws, a, nb),
    )
}

/// The portable tile: decodes each packed code and sums in int32.
fn tile_scalar<F: BlockFormat>(w: &[u8], ws: &[u8], a: &[Act], nb: usize) -> TileOut {
    let (bb, sb, qk) = (F::BLOCK_BYTES, F::SCALE_BYTES, F::Act::QK);
    let mut out = [[0f32; 2 * PANEL]; VNNI_ROWS];
    for (t, act) in a.iter().enumerate() {
        for (lane, o) in out[t][..PANEL].iter_mut().enumerate() {
            let mut sumf = 0f32;
            for b in 0..nb {
                let blk = &w[b * bb..(b + 1) * bb];
                let ab = &act.codes[b * qk..(b + 1) * qk];
                let mut isum = 0i32;
                for (e, &x) in ab.iter().enumerate() {
                    isum += F::weight(blk, lane, e) * x as i32;
                }
                let at = (b * PANEL + lane) * sb;
                let dw = F::scale(&ws[at..at + sb]);
                sumf = F::FOLD.apply(sumf, isum, dw, act.d[b]);
            }
            *o = sumf;
        }
    }
    out
}

/// Fills `vectors` packed 32-byte vectors of one block of 8 rows: byte
/// `v·32 + lane·4 + e` is `byte(v, code)`, where `code(q)` is the stored
/// code (as u8) of element `4q + e` of row `lane`, position `e` of its quad
/// `q`. Each vector holds one 32-bit lane per row, as the AVX2 steps read
/// them; the ternary formats differ only in which quads a byte holds and
/// how it encodes them. (`code` is a `&dyn Fn` because a closure cannot
/// take a generic argument; packing runs once per weight matrix.)
pub fn pack_vectors(
    rows: &[&[i8]; PANEL],
    out: &mut [u8],
    vectors: usize,
    byte: impl Fn(usize, &dyn Fn(usize) -> u8) -> u8,
) {
    for (lane, c) in rows.iter().enumerate() {
        for e in 0..4 {
            let code = |quad: usize| c[quad * 4 + e] as u8;
            for v in 0..vectors {
                out[v * 32 + lane * 4 + e] = byte(v, &code);
            }
        }
    }
}

/// Broadcasts the 4 activation codes at `at` to every 32-bit lane: the
/// quad one `vpmaddubsw` takes against a packed vector of 8 rows.
///
/// # Safety
/// AVX2; `a` holds `at + 4` codes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn quad_avx2(a: &[i8], at: usize) -> std::arch::x86_64::__m256i {
    debug_assert!(at + 4 <= a.len());
    std::arch::x86_64::_mm256_set1_epi32(std::ptr::read_unaligned(a.as_ptr().add(at) as *const i32))
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Act, ActFormat, BlockFormat, TileOut, PANEL};
    use std::arch::x86_64::*;

    /// The `F` tile of `R` rows: per block the format's int32 dots, scales
    /// and fold.
    ///
    /// # Safety
    /// AVX2 and F16C; `w` holds `nb` packed blocks and `ws` their scales.
    #[target_feature(enable = "avx2,f16c")]
    pub unsafe fn tile<F: BlockFormat, const R: usize>(
        w: &[u8],
        ws: &[u8],
        a: &[Act],
        nb: usize,
    ) -> TileOut {
        let qk = F::Act::QK;
        // The bounds the format's unchecked loads rely on.
        assert!(
            a.len() >= R
                && w.len() >= nb * F::BLOCK_BYTES
                && ws.len() >= nb * PANEL * F::SCALE_BYTES
        );
        for r in &a[..R] {
            assert!(r.codes.len() >= nb * qk && r.d.len() >= nb && r.sums.len() >= nb);
        }
        let a: &[Act; R] = a[..R].try_into().expect("R rows");
        let c = F::consts();
        let mut acc = [_mm256_setzero_ps(); R];
        for b in 0..nb {
            let isum = F::dot_avx2::<R>(&c, w.as_ptr().add(b * F::BLOCK_BYTES), a, b);
            let dw = F::scales_avx2(ws, b);
            for t in 0..R {
                acc[t] = F::FOLD.apply_avx2(acc[t], isum[t], dw, *a[t].d.get_unchecked(b));
            }
        }
        let mut out = [[0f32; 2 * PANEL]; super::VNNI_ROWS];
        for t in 0..R {
            _mm256_storeu_ps(out[t].as_mut_ptr(), acc[t]);
        }
        out
    }
}
