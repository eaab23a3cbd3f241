//! The SageAttention family's blocked kernels: [`QB`] query rows of a head
//! walk the K/V tiles together. The walk (tiles, the block mask's kept
//! runs, the online-softmax bookkeeping, P·V chunks, K packing) is written
//! once here over the ISA steps a [`Steps`] supplies: `sage512` (AVX-512,
//! `vpdpbusd`) and `sage256` (AVX2, `vpmaddwd`).
//!
//! Every row keeps [`super::sage_row`]'s order of every rounding; what
//! changes is only how the exact and the lane-wise steps are computed:
//! - **Q·Kᵀ** is exact int32 arithmetic, so any order gives the same sum.
//!   K is packed once per head, [`Steps::KG`] keys × [`Steps::CS`] channels
//!   per register; an [`R`]-row × two-group register tile shares each K
//!   load among the rows.
//! - **Scores** `f32(dot)` then the two scale multiplies, lane-wise in the
//!   variant's order (`(s·sq)·sk` or `s·(sq·sk)`).
//! - **p** by the shared `exp2`'s SIMD form (bit-identical to
//!   [`exp2_f32`]); its fp16 rounding by `vcvtps2ph` (RNE, as `half`'s), its
//!   e4m3 rounding by the operations of [`super::e4m3_rne`] in lanes.
//! - **P·V** per channel in key order, each chunk's partial sums held in
//!   registers across the chunk's keys; the FP16 step `fp16(b + p·v)` is
//!   one rounding to nearest (through round-to-odd in f32), the FP8 step
//!   `b + p8·v` one FMA (the product is exact).
//! - **The row max** lane-wise (exact in any order; the scalar fold when a
//!   NaN is present); **the row sums** in key order with rows in the lanes.
//!
//! Rows are independent, so blocking them changes no bit. Layer: uses
//! ground and `arith` only.

use super::{sage_finish, Dims, SageBlocks, SageHead, SageMask, SagePv, SageScore, State};
use crate::arith::exp::exp2_f32;

/// Query rows per block (they share every K/V tile read).
pub(super) const QB: usize = 16;
/// Rows per Q·Kᵀ register tile.
pub(super) const R: usize = 4;
/// Rows per FMA P·V register tile (they share each V register).
pub(super) const PR: usize = 4;

/// One head's K packed for an ISA's integer dot: per group of `KG` keys,
/// per step of `CS` channels, the keys' `CS` codes side by side; keys and
/// channels padded with 0. `ksum[j] = Σ_c k_jc` (for an unsigned-Q offset).
pub(super) struct PackedK<C> {
    /// The packed codes.
    pub(super) data: Vec<C>,
    /// `Σ_c k_jc` per key (padded keys 0).
    pub(super) ksum: Vec<i32>,
    /// Per-key K scales (`sk[j / k_block]` expanded; padded keys 0).
    pub(super) sk: Vec<f32>,
    /// Steps of `CS` channels.
    pub(super) steps: usize,
}

/// Packs one head's K codes (`nk × d`) for steps `S`.
pub(super) fn pack<S: Steps>(
    hd: &SageHead,
    nk: usize,
    d: usize,
    k_block: usize,
) -> PackedK<S::Code> {
    let (kg, cs) = (S::KG, S::CS);
    let steps = d.div_ceil(cs);
    let groups = nk.div_ceil(kg);
    let mut data = vec![S::Code::default(); groups * steps * kg * cs];
    let mut ksum = vec![0i32; groups * kg];
    let mut sk = vec![0.0f32; groups * kg];
    for j in 0..nk {
        let (g, l) = (j / kg, j % kg);
        let row = &hd.k[j * d..(j + 1) * d];
        // Step st's cs channels of key j lie side by side at `at`.
        for (st, part) in row.chunks(cs).enumerate() {
            let at = (g * steps + st) * kg * cs + l * cs;
            for (o, &x) in data[at..at + part.len()].iter_mut().zip(part) {
                *o = S::Code::from(x);
            }
        }
        ksum[j] = row.iter().map(|&x| x as i32).sum();
        sk[j] = hd.sk[j / k_block];
    }
    PackedK {
        data,
        ksum,
        sk,
        steps,
    }
}

/// The ISA steps of the blocked walk. Implemented by zero-sized types
/// constructed only inside `target_feature` entry points, so every method
/// runs on a CPU with the implementor's features.
pub(super) trait Steps {
    /// Keys per packed group (one register of int32 sums).
    const KG: usize;
    /// Channels per packed step.
    const CS: usize;
    /// A packed K code.
    type Code: Copy + Default + From<i8> + Send + Sync;
    /// A Q code as the dot reads it.
    type QCode: Copy;
    /// The Q code padding a row to whole steps (its product with a padded
    /// k of 0 adds nothing).
    const Q_PAD: Self::QCode;
    /// A register of [`Steps::KG`] int32 sums.
    type Acc: Copy;

    /// The Q code of `x`.
    fn q_code(x: i8) -> Self::QCode;

    /// Exact int32 sums of [`R`] rows × the groups at `k0` and `k1` over
    /// `steps` steps.
    ///
    /// # Safety
    /// Each group holds `steps` packed steps; each Q row `steps·CS` codes.
    unsafe fn qk_tile(
        &self,
        k0: *const Self::Code,
        k1: *const Self::Code,
        q: [*const Self::QCode; R],
        steps: usize,
    ) -> [[Self::Acc; 2]; R];

    /// The [`Steps::KG`] scores of keys `j0..` from their sums: the signed
    /// dot, `f32(dot)`, then the scales in the variant's order.
    ///
    /// # Safety
    /// `kp` packs keys `j0..j0 + KG`; `dst` has `KG` floats.
    unsafe fn scores(
        &self,
        acc: Self::Acc,
        kp: &PackedK<Self::Code>,
        j0: usize,
        sq: f32,
        order: SageScore,
        dst: *mut f32,
    );

    /// The largest score of a tile as the emulation's fold computes it
    /// (`f32::max` from −inf).
    fn tile_max(&self, tile: &[f32]) -> f32;

    /// `p = exp2_f32(p − m)` for every element.
    fn exp2_shifted(&self, tile: &mut [f32], m: f32);

    /// `Σ_j p_rj` for rows `first..len.len()` of the score buffer (row `r`
    /// at `s[r·stride..]`, `len[r]` keys), each in key order from +0.
    fn row_sums(&self, s: &[f32], stride: usize, len: &[usize], first: usize) -> [f32; QB];

    /// `acc_c = acc_c · a`.
    fn scale(&self, acc: &mut [f32], a: f32);

    /// The weight each P·V step multiplies V by: `fp16(p)` or `e4m3(p·448)`.
    fn weights(&self, p: &[f32], pv: SagePv, out: &mut [f32]);

    /// One P·V chunk: `b_c` from +0 over the chunk's keys in order (the
    /// variant's step), then `acc_c += b_c` (`v` holds `p.len()` rows of
    /// `acc.len()`).
    fn pv_chunk(&self, acc: &mut [f32], p: &[f32], v: &[f32], pv: SagePv);

    /// The P·V step (the variant's, as [`Steps::pv_chunk`]'s) of [`PR`]
    /// rows over the same `n` keys: per row and channel `b_c` from +0 over
    /// the keys in order, then `acc_c += b_c`.
    ///
    /// # Safety
    /// Each `acc[x]` holds `d` floats (the rows distinct), each `p[x]` `n`;
    /// `v` holds `n·d`.
    unsafe fn pv_rows(
        &self,
        acc: [*mut f32; PR],
        p: [*const f32; PR],
        n: usize,
        v: &[f32],
        d: usize,
        pv: SagePv,
    );
}

/// Whether the blocked kernel of steps `S` serves these blocks (tiles
/// start on packed groups; otherwise the row kernel runs).
pub(super) fn serves<S: Steps>(b: &SageBlocks) -> bool {
    b.tile.is_multiple_of(S::KG)
}

/// Whether [`sage_block`] of steps `S` takes mask `m`: each of its row
/// blocks holds whole blocks of [`QB`] rows (one mask row per block), key
/// blocks are whole packed groups, and a tile holds one or two whole key
/// blocks — so a tile's kept keys are one run.
pub(super) fn serves_mask<S: Steps>(b: &SageBlocks, m: &SageMask) -> bool {
    m.q_block.is_multiple_of(QB)
        && m.k_block.is_multiple_of(S::KG)
        && b.tile.is_multiple_of(m.k_block)
        && b.tile / m.k_block <= 2
}

/// Rows `i0..i0 + o.len()/d` (at most [`QB`]) of one head. With `keep =
/// (row, k_block)`, the block's mask row (one flag per `k_block` keys):
/// every tile runs only its kept run of keys (`serves_mask` makes it one
/// run), a tile with none is skipped, as the masked row function does.
/// Inlined into each ISA's `target_feature` entry point.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn sage_block<S: Steps>(
    isa: &S,
    hd: &SageHead,
    kp: &PackedK<S::Code>,
    dims: Dims,
    b: SageBlocks,
    keep: Option<(&[bool], usize)>,
    i0: usize,
    o: &mut [f64],
) {
    let d = dims.d;
    let nr = o.len() / d;
    debug_assert!(nr <= QB && serves::<S>(&b));
    let blk = Block::<S>::new(hd, kp, dims, b, i0, nr);
    let mut st: Vec<State> = (0..nr).map(|_| State::new(d)).collect();
    let mut s = vec![0.0f32; nr * blk.stride];
    let mut pw = vec![0.0f32; nr * b.tile];
    let mut t0 = 0;
    while t0 < blk.tmax {
        // The tile's kept run [t0 + lo, t0 + hi) (the whole tile unmasked).
        let (lo, hi) = match keep {
            None => (0, b.tile),
            Some((row, kb)) => {
                let k = |x: usize| row.get((t0 + x) / kb).copied().unwrap_or(false);
                let mut lo = 0;
                while lo < b.tile && !k(lo) {
                    lo += kb;
                }
                let mut hi = lo;
                while hi < b.tile && k(hi) {
                    hi += kb;
                }
                (lo, hi)
            }
        };
        if lo >= hi || t0 + lo >= blk.tmax {
            t0 += b.tile;
            continue;
        }
        let first = blk.tile_scores(isa, kp, t0, (t0 + lo, t0 + hi), &mut s);
        let (vis, stride) = (&blk.vis, blk.stride);
        // Per row: the tile max, α and p = 2^(s − m').
        let mut alpha = [0.0f32; QB];
        let mut len = [0usize; QB];
        for r in first..nr {
            len[r] = (t0 + hi).min(vis[r]) - (t0 + lo);
            let tile = &mut s[r * stride + lo..r * stride + lo + len[r]];
            let m_new = st[r].m.max(isa.tile_max(tile));
            alpha[r] = exp2_f32(st[r].m - m_new);
            isa.exp2_shifted(tile, m_new);
            st[r].m = m_new;
        }
        // Row sums in key order, the rows in the lanes.
        let sums = isa.row_sums(&s[lo..], stride, &len[..nr], first);
        for r in first..nr {
            let sr = &mut st[r];
            sr.l = sr.l * alpha[r] + sums[r];
            isa.scale(&mut sr.acc, alpha[r]);
            let tile = &s[r * stride + lo..r * stride + lo + len[r]];
            isa.weights(tile, b.pv, &mut pw[r * b.tile..r * b.tile + len[r]]);
        }
        // P·V chunks start at the tile's start every `chunk` keys; the
        // kept run's pieces of them (`pw` and `v` from the run's start).
        // (An iterator, not a Vec: one allocation per row group and tile
        // showed in the profile at short sequences.)
        let pieces = |n: usize| {
            let mut c0 = lo;
            std::iter::from_fn(move || {
                (c0 < lo + n).then(|| {
                    let c1 = ((c0 / b.chunk + 1) * b.chunk).min(lo + n);
                    let piece = (c0 - lo, c1 - lo);
                    c0 = c1;
                    piece
                })
            })
        };
        let mut r = first;
        while r < nr {
            let n = len[r];
            let v = &hd.v[(t0 + lo) * d..(t0 + lo + n) * d];
            // P·V steps of PR rows that see the same keys share each V
            // load (the tile's V, 64 keys × d floats, does not stay in L1
            // while sixteen rows read it one at a time) and run PR rows'
            // independent chains (the FP16 step's is long).
            if r + PR <= nr && len[r..r + PR].iter().all(|&x| x == n) {
                for (c0, c1) in pieces(n) {
                    let acc = std::array::from_fn(|x| st[r + x].acc.as_mut_ptr());
                    let p = std::array::from_fn(|x| pw[(r + x) * b.tile + c0..].as_ptr());
                    // SAFETY: each acc holds d floats (distinct rows), each
                    // p c1 − c0 weights, v rows c0..c1 of d floats.
                    unsafe { isa.pv_rows(acc, p, c1 - c0, &v[c0 * d..c1 * d], d, b.pv) };
                }
                r += PR;
                continue;
            }
            let pw = &pw[r * b.tile..r * b.tile + n];
            for (c0, c1) in pieces(n) {
                isa.pv_chunk(&mut st[r].acc, &pw[c0..c1], &v[c0 * d..c1 * d], b.pv);
            }
            r += 1;
        }
        t0 += b.tile;
    }
    for (r, sr) in st.iter().enumerate() {
        sage_finish(sr, hd.sv, &mut o[r * d..(r + 1) * d]);
    }
}

/// Only the Q·Kᵀ phase of [`sage_block`] (the same packed K and score
/// step over the same tiles), for timing it apart: returns a checksum of
/// the scores so the work cannot be skipped.
#[inline(always)]
pub(super) fn qk_block<S: Steps>(
    isa: &S,
    hd: &SageHead,
    kp: &PackedK<S::Code>,
    dims: Dims,
    b: SageBlocks,
    i0: usize,
    nr: usize,
) -> f32 {
    let blk = Block::<S>::new(hd, kp, dims, b, i0, nr);
    let mut s = vec![0.0f32; nr * blk.stride];
    let mut sum = 0.0f32;
    let mut t0 = 0;
    while t0 < blk.tmax {
        let first = blk.tile_scores(isa, kp, t0, (t0, t0 + b.tile), &mut s);
        if first < nr {
            sum += s[first * blk.stride];
        }
        t0 += b.tile;
    }
    sum
}

/// One block's rows as the score step reads them.
struct Block<S: Steps> {
    /// Q codes, `steps·CS` per row, padded with [`Steps::Q_PAD`].
    q: Vec<S::QCode>,
    /// Keys each row sees.
    vis: Vec<usize>,
    /// Each row's Q scale.
    sq: Vec<f32>,
    /// The most keys any row sees.
    tmax: usize,
    /// Floats per row of the score buffer.
    stride: usize,
    nr: usize,
    tile: usize,
    score: SageScore,
}

impl<S: Steps> Block<S> {
    #[inline(always)]
    fn new(
        hd: &SageHead,
        kp: &PackedK<S::Code>,
        dims: Dims,
        b: SageBlocks,
        i0: usize,
        nr: usize,
    ) -> Self {
        let (d, w) = (dims.d, kp.steps * S::CS);
        let mut q = vec![S::Q_PAD; nr * w];
        for r in 0..nr {
            let row = &hd.q[(i0 + r) * d..(i0 + r + 1) * d];
            for (c, &x) in row.iter().enumerate() {
                q[r * w + c] = S::q_code(x);
            }
        }
        let vis: Vec<usize> = (0..nr).map(|r| dims.visible(i0 + r)).collect();
        Block {
            q,
            tmax: vis.iter().copied().max().unwrap_or(0),
            vis,
            sq: (0..nr).map(|r| hd.sq[(i0 + r) / b.q_block]).collect(),
            stride: b.tile + S::KG,
            nr,
            tile: b.tile,
            score: b.score,
        }
    }

    /// The scores of keys `[k0, k1)` of the tile at `t0` (a multiple of the
    /// tile, below `tmax`; `k0` on a packed group, below `tmax`) for every
    /// row seeing a key there: row `r`'s key `j` at `s[r·stride + j − t0]`.
    /// Returns the first such row (causal rows that end earlier come first).
    #[inline(always)]
    fn tile_scores(
        &self,
        isa: &S,
        kp: &PackedK<S::Code>,
        t0: usize,
        (k0, k1): (usize, usize),
        s: &mut [f32],
    ) -> usize {
        let (nr, steps, kg) = (self.nr, kp.steps, S::KG);
        let gsize = steps * kg * S::CS;
        debug_assert!(k0.is_multiple_of(kg) && k0 >= t0 && k1 <= t0 + self.tile);
        assert!(s.len() >= nr * self.stride);
        let g0 = k0 / kg;
        let g1 = k1.min(self.tmax).div_ceil(kg);
        assert!(kp.data.len() >= g1 * gsize && kp.sk.len() >= g1 * kg);
        let first = (0..nr).find(|&r| self.vis[r] > k0).unwrap_or(nr);
        let mut r0 = first;
        while r0 < nr {
            let rows: [usize; R] = std::array::from_fn(|x| (r0 + x).min(nr - 1));
            // SAFETY: every row holds steps·CS codes.
            let q = rows.map(|r| unsafe { self.q.as_ptr().add(r * steps * S::CS) });
            let mut g = g0;
            while g < g1 {
                // Two groups per register tile; a lone last group twice.
                let pair = if g + 1 < g1 { 2 } else { 1 };
                // SAFETY: groups below g1 are packed (asserted); the score
                // rows hold stride ≥ tile + KG floats from t0 = g0·KG.
                unsafe {
                    let acc = isa.qk_tile(
                        kp.data.as_ptr().add(g * gsize),
                        kp.data.as_ptr().add((g + pair - 1) * gsize),
                        q,
                        steps,
                    );
                    for (x, ax) in acc.iter().enumerate().take(R.min(nr - r0)) {
                        let r = r0 + x;
                        for (h, &ah) in ax.iter().enumerate().take(pair) {
                            let dst = s.as_mut_ptr().add(r * self.stride + (g + h) * kg - t0);
                            isa.scores(ah, kp, (g + h) * kg, self.sq[r], self.score, dst);
                        }
                    }
                }
                g += 2;
            }
            r0 += R;
        }
        first
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::e4m3_rne;

    /// The inputs the lane forms of [`e4m3_rne`] are checked on: a dense
    /// sweep of bit patterns (both signs, every binade) and the boundary
    /// cases (the subnormal boundary, ties, 448/464, the specials), padded
    /// with 1.0 to a multiple of `lanes`.
    pub(in crate::kernels::attention) fn e4m3_sweep(lanes: usize) -> Vec<f32> {
        let mut xs: Vec<f32> = (0u32..=u32::MAX).step_by(997).map(f32::from_bits).collect();
        xs.extend([
            0.0,
            -0.0,
            448.0,
            464.0,
            465.0,
            480.0,
            0.015625,
            0.0155,
            0.001953125,
            0.0009765625,
            0.0029296875,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ]);
        while !xs.len().is_multiple_of(lanes) {
            xs.push(1.0);
        }
        xs
    }

    /// Panics unless `got` holds the bits of `e4m3_rne` of each of `xs`
    /// (any NaN for NaN).
    pub(in crate::kernels::attention) fn check_e4m3(xs: &[f32], got: &[f32]) {
        for (x, got) in xs.iter().zip(got) {
            let want = e4m3_rne(*x);
            if want.is_nan() {
                assert!(got.is_nan(), "e4m3 lanes({x:e}) = {got:e}");
            } else {
                assert_eq!(got.to_bits(), want.to_bits(), "e4m3 lanes({x:e})");
            }
        }
    }
}
