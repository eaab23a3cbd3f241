//! The SageAttention family's blocked AVX-512 kernel (`vpdpbusd` Q·Kᵀ):
//! [`QB`] query rows of a head walk the K/V tiles together.
//!
//! Every row keeps [`super::sage_row`]'s order of every rounding; what
//! changes is only how the exact and the lane-wise steps are computed:
//! - **Q·Kᵀ** is exact int32 arithmetic, so any order gives the same sum.
//!   K is packed once per head for `vpdpbusd` (16 keys × 4 channels per
//!   register); Q is offset to unsigned (`q + 128`) and the offset's term
//!   `128·Σ_c k_c` (precomputed per key) is subtracted, exactly. A 4-row ×
//!   32-key register tile feeds eight independent accumulators.
//! - **Scores** `f32(dot)` then the two scale multiplies, lane-wise in the
//!   variant's order (`(s·sq)·sk` or `s·(sq·sk)`).
//! - **p** by the shared `exp2`'s SIMD form ([`exp2_8`](crate::arith::exp::avx2::exp2_8), bit-identical to
//!   [`exp2_f32`]); its fp16 rounding by `vcvtps2ph` (RNE, as `half`'s), its
//!   e4m3 rounding by [`e4m3_16`] (the operations of [`super::e4m3_rne`]).
//! - **P·V** per channel in key order, 16 channels per register, each
//!   chunk's partial sums held in registers across the chunk's keys. The
//!   FP16 step rounds the f32 sum to odd (toward zero, last bit set when
//!   inexact) then to fp16 by `vcvtps2ph`, as the AVX2 `fp16_mac` does with
//!   TwoSum; the FP8 step `b + p8·v` is one FMA (the product is exact).
//! - **The row max** lane-wise (exact in any order; the scalar fold when a
//!   NaN is present); **the row sums** in key order with sixteen rows in the
//!   lanes.
//!
//! Rows are independent, so blocking them changes no bit. Layer: uses
//! ground and `arith` only.

use super::{e4m3_rne, sage_finish, Dims, SageBlocks, SageHead, SagePv, SageScore, State};
use crate::arith::exp::{avx2::exp2_shifted, exp2_f32};
use half::f16;
use std::arch::x86_64::*;

/// Query rows per block (they share every K/V tile read).
pub(super) const QB: usize = 16;
/// Rows per Q·Kᵀ register tile.
const R: usize = 4;
/// Rows per FMA P·V register tile (4 rows × 64 channels: 16 sums, 4 V
/// registers, each p broadcast from memory).
const PR: usize = 4;
/// Keys per packed group (one `vpdpbusd` register of int32 sums).
pub(super) const KG: usize = 16;

/// One head's K packed for `vpdpbusd`: per group of 16 keys, per step of 4
/// channels, the 16 keys' 4 codes side by side (64 bytes); keys and
/// channels padded with 0. `ksum[j] = Σ_c k_jc` for the unsigned-Q offset.
pub(super) struct PackedK {
    /// The packed codes.
    pub(super) data: Vec<i8>,
    /// `Σ_c k_jc` per key (padded keys 0).
    pub(super) ksum: Vec<i32>,
    /// Per-key K scales (`sk[j / k_block]` expanded; padded keys 0).
    pub(super) sk: Vec<f32>,
    /// Steps of 4 channels.
    pub(super) d4: usize,
}

/// Packs one head's K codes (`nk × d`).
pub(super) fn pack(hd: &SageHead, nk: usize, d: usize, k_block: usize) -> PackedK {
    let d4 = d.div_ceil(4);
    let groups = nk.div_ceil(KG);
    let mut data = vec![0i8; groups * d4 * 64];
    let mut ksum = vec![0i32; groups * KG];
    let mut sk = vec![0.0f32; groups * KG];
    for j in 0..nk {
        let (g, l) = (j / KG, j % KG);
        let row = &hd.k[j * d..(j + 1) * d];
        for (c, &x) in row.iter().enumerate() {
            data[(g * d4 + c / 4) * 64 + l * 4 + c % 4] = x;
        }
        ksum[j] = row.iter().map(|&x| x as i32).sum();
        sk[j] = hd.sk[j / k_block];
    }
    PackedK { data, ksum, sk, d4 }
}

/// Whether the blocked kernel serves these blocks (tiles start on packed
/// groups; otherwise the row kernel runs).
pub(super) fn serves(b: &SageBlocks) -> bool {
    b.tile.is_multiple_of(KG)
}

/// Whether [`sage_block`] takes mask `m`: each of its row blocks holds
/// whole blocks of [`QB`] rows (one mask row per block), key blocks are
/// whole packed groups, and a tile holds one or two whole key blocks — so
/// a tile's kept keys are one run.
pub(super) fn serves_mask(b: &SageBlocks, m: &super::SageMask) -> bool {
    m.q_block.is_multiple_of(QB)
        && m.k_block.is_multiple_of(KG)
        && b.tile.is_multiple_of(m.k_block)
        && b.tile / m.k_block <= 2
}

/// Rows `i0..i0 + o.len()/d` (at most [`QB`]) of one head. With `keep =
/// (row, k_block)`, the block's mask row (one flag per `k_block` keys):
/// every tile runs only its kept run of keys (`serves_mask` makes it one
/// run), a tile with none is skipped, as the masked row function does.
///
/// # Safety
/// The CPU must support AVX-512 F/BW/VL, AVX-512 VNNI, AVX2, FMA and F16C;
/// `serves(&b)` (and `serves_mask` for the mask); `kp` is `pack` of `hd`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
pub(super) unsafe fn sage_block(
    hd: &SageHead,
    kp: &PackedK,
    dims: Dims,
    b: SageBlocks,
    keep: Option<(&[bool], usize)>,
    i0: usize,
    o: &mut [f64],
) {
    let d = dims.d;
    let nr = o.len() / d;
    debug_assert!(nr <= QB && serves(&b));
    let blk = Block::new(hd, kp, dims, b, i0, nr);
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
        let first = blk.tile_scores(kp, t0, (t0 + lo, t0 + hi), &mut s);
        let (vis, stride) = (&blk.vis, blk.stride);
        // Per row: the tile max (lane-wise; the scalar fold when a NaN is
        // present, whose rule it keeps), α and p = 2^(s − m').
        let mut alpha = [0.0f32; QB];
        let mut len = [0usize; QB];
        for r in first..nr {
            len[r] = (t0 + hi).min(vis[r]) - (t0 + lo);
            let tile = &mut s[r * stride + lo..r * stride + lo + len[r]];
            let m_new = st[r].m.max(tile_max(tile));
            alpha[r] = exp2_f32(st[r].m - m_new);
            exp2_shifted(tile, m_new);
            st[r].m = m_new;
        }
        // Row sums in key order, sixteen rows in the lanes.
        let sums = row_sums(&s[lo..], stride, &len[..nr], first);
        for r in first..nr {
            let sr = &mut st[r];
            sr.l = sr.l * alpha[r] + sums[r];
            scale(&mut sr.acc, alpha[r]);
            let tile = &s[r * stride + lo..r * stride + lo + len[r]];
            weights(tile, b.pv, &mut pw[r * b.tile..r * b.tile + len[r]]);
        }
        // P·V chunks start at the tile's start every `chunk` keys; the
        // kept run's pieces of them (`pw` and `v` from the run's start).
        let pieces = |n: usize| {
            let mut out = Vec::with_capacity(2);
            let mut c0 = lo;
            while c0 < lo + n {
                let c1 = ((c0 / b.chunk + 1) * b.chunk).min(lo + n);
                out.push((c0 - lo, c1 - lo));
                c0 = c1;
            }
            out
        };
        let mut r = first;
        while r < nr {
            let n = len[r];
            let v = &hd.v[(t0 + lo) * d..(t0 + lo + n) * d];
            // FMA steps of PR rows that see the same keys share each V
            // load (the tile's V, 64 keys × d floats, does not stay in L1
            // while sixteen rows read it one at a time).
            if b.pv == SagePv::Fp8F32 && r + PR <= nr && len[r..r + PR].iter().all(|&x| x == n) {
                for (c0, c1) in pieces(n) {
                    let acc = std::array::from_fn(|x| st[r + x].acc.as_mut_ptr());
                    let p = std::array::from_fn(|x| pw[(r + x) * b.tile + c0..].as_ptr());
                    // SAFETY: each acc holds d floats, each p c1 − c0
                    // weights, v rows c0..c1 of d floats.
                    unsafe { pv_rows(acc, p, c1 - c0, &v[c0 * d..c1 * d], d) };
                }
                r += PR;
                continue;
            }
            let pw = &pw[r * b.tile..r * b.tile + n];
            for (c0, c1) in pieces(n) {
                pv_chunk(&mut st[r].acc, &pw[c0..c1], &v[c0 * d..c1 * d], b.pv);
            }
            r += 1;
        }
        t0 += b.tile;
    }
    for (r, sr) in st.iter().enumerate() {
        sage_finish(sr, hd.sv, &mut o[r * d..(r + 1) * d]);
    }
}

/// One block's rows as the score step reads them.
struct Block {
    /// Unsigned Q (`q + 128`), `d4·4` bytes per row, padded with 128
    /// (times a padded k of 0).
    qu: Vec<u8>,
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

impl Block {
    fn new(hd: &SageHead, kp: &PackedK, dims: Dims, b: SageBlocks, i0: usize, nr: usize) -> Self {
        let (d, d4) = (dims.d, kp.d4);
        let mut qu = vec![128u8; nr * d4 * 4];
        for r in 0..nr {
            let q = &hd.q[(i0 + r) * d..(i0 + r + 1) * d];
            for (c, &x) in q.iter().enumerate() {
                qu[r * d4 * 4 + c] = (x as u8) ^ 0x80;
            }
        }
        let vis: Vec<usize> = (0..nr).map(|r| dims.visible(i0 + r)).collect();
        Block {
            qu,
            tmax: vis.iter().copied().max().unwrap_or(0),
            vis,
            sq: (0..nr).map(|r| hd.sq[(i0 + r) / b.q_block]).collect(),
            stride: b.tile + KG,
            nr,
            tile: b.tile,
            score: b.score,
        }
    }

    /// The scores of keys `[k0, k1)` of the tile at `t0` (a multiple of the
    /// tile, below `tmax`; `k0` on a packed group, below `tmax`) for every
    /// row seeing a key there: row `r`'s key `j` at `s[r·stride + j − t0]`.
    /// Returns the first such row (causal rows that end earlier come first).
    ///
    /// # Safety
    /// As [`sage_block`]; `s` holds `nr · stride` floats.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
    unsafe fn tile_scores(
        &self,
        kp: &PackedK,
        t0: usize,
        (k0, k1): (usize, usize),
        s: &mut [f32],
    ) -> usize {
        let (nr, d4) = (self.nr, kp.d4);
        debug_assert!(k0.is_multiple_of(KG) && k0 >= t0 && k1 <= t0 + self.tile);
        let g0 = k0 / KG;
        let g1 = k1.min(self.tmax).div_ceil(KG);
        let first = (0..nr).find(|&r| self.vis[r] > k0).unwrap_or(nr);
        let mut r0 = first;
        while r0 < nr {
            let rows: [usize; R] = std::array::from_fn(|x| (r0 + x).min(nr - 1));
            // SAFETY: every row holds d4·4 bytes.
            let q: [*const u8; R] = rows.map(|r| unsafe { self.qu.as_ptr().add(r * d4 * 4) });
            let mut g = g0;
            while g < g1 {
                // Two groups per register tile; a lone last group twice.
                let pair = if g + 1 < g1 { 2 } else { 1 };
                // SAFETY: groups below g1 are packed; the score rows hold
                // stride ≥ tile + 16 floats from t0 = g0·16.
                unsafe {
                    let acc = qk_4x32(
                        kp.data.as_ptr().add(g * d4 * 64),
                        kp.data.as_ptr().add((g + pair - 1) * d4 * 64),
                        q,
                        d4,
                    );
                    for (x, ax) in acc.iter().enumerate().take(R.min(nr - r0)) {
                        let r = r0 + x;
                        for (h, &ah) in ax.iter().enumerate().take(pair) {
                            let dst = s.as_mut_ptr().add(r * self.stride + (g + h) * KG - t0);
                            scores16(ah, kp, (g + h) * KG, self.sq[r], self.score, dst);
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

/// Only the Q·Kᵀ phase of [`sage_block`] (the same packed K and score
/// step over the same tiles), for timing it apart: returns a checksum of
/// the scores so the work cannot be skipped.
///
/// # Safety
/// As [`sage_block`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
pub(super) unsafe fn qk_block(
    hd: &SageHead,
    kp: &PackedK,
    dims: Dims,
    b: SageBlocks,
    i0: usize,
    nr: usize,
) -> f32 {
    let blk = Block::new(hd, kp, dims, b, i0, nr);
    let mut s = vec![0.0f32; nr * blk.stride];
    let mut sum = 0.0f32;
    let mut t0 = 0;
    while t0 < blk.tmax {
        // SAFETY: as this function's; s holds nr · stride floats.
        let first = unsafe { blk.tile_scores(kp, t0, (t0, t0 + b.tile), &mut s) };
        if first < nr {
            sum += s[first * blk.stride];
        }
        t0 += b.tile;
    }
    sum
}

/// Exact int32 sums of 4 rows × 32 keys (groups at `k0` and `k1`) over
/// `d4` steps of 4 channels, with unsigned Q: `Σ (q + 128)·k`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) unsafe fn qk_4x32(
    k0: *const i8,
    k1: *const i8,
    q: [*const u8; R],
    d4: usize,
) -> [[__m512i; 2]; R] {
    let mut acc = [[_mm512_setzero_si512(); 2]; R];
    for c in 0..d4 {
        // SAFETY: each group holds d4 steps of 64 bytes; each Q row d4·4 bytes.
        unsafe {
            let a = _mm512_loadu_si512(k0.add(c * 64) as *const _);
            let b = _mm512_loadu_si512(k1.add(c * 64) as *const _);
            for (x, ax) in acc.iter_mut().enumerate() {
                let qb = _mm512_set1_epi32((q[x].add(c * 4) as *const i32).read_unaligned());
                ax[0] = _mm512_dpbusd_epi32(ax[0], qb, a);
                ax[1] = _mm512_dpbusd_epi32(ax[1], qb, b);
            }
        }
    }
    acc
}

/// 16 scores from the unsigned sums of keys `j0..j0 + 16`: the signed dot
/// (`sum − 128·Σk`), `f32(dot)`, then the scales in the variant's order.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn scores16(
    acc: __m512i,
    kp: &PackedK,
    j0: usize,
    sq: f32,
    order: SageScore,
    dst: *mut f32,
) {
    // SAFETY: ksum and sk hold every packed key; dst has 16 floats.
    unsafe {
        let ks = _mm512_loadu_si512(kp.ksum.as_ptr().add(j0) as *const _);
        let dot = _mm512_sub_epi32(acc, _mm512_slli_epi32::<7>(ks));
        let s = _mm512_cvtepi32_ps(dot);
        let sk = _mm512_loadu_ps(kp.sk.as_ptr().add(j0));
        let sqv = _mm512_set1_ps(sq);
        let y = match order {
            SageScore::V1 => _mm512_mul_ps(_mm512_mul_ps(s, sqv), sk),
            SageScore::V2 => _mm512_mul_ps(s, _mm512_mul_ps(sqv, sk)),
        };
        _mm512_storeu_ps(dst, y);
    }
}

/// The largest score of a tile as the emulation's fold computes it
/// (`f32::max` from −inf, which skips NaN): lane-wise when no lane is NaN
/// (the maximum of numbers is exact in any order; a ±0 tie cannot change
/// a later bit, since only `2^(x − m)` reads it), else the scalar fold.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn tile_max(tile: &[f32]) -> f32 {
    let n = tile.len();
    let mut m = _mm512_set1_ps(f32::NEG_INFINITY);
    let mut nan: __mmask16 = 0;
    let mut j = 0;
    while j < n {
        let k = lanes(n - j);
        // SAFETY: masked to elements below n.
        let x = unsafe { _mm512_mask_loadu_ps(m, k, tile.as_ptr().add(j)) };
        nan |= _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(x, x);
        m = _mm512_max_ps(m, x);
        j += 16;
    }
    if nan != 0 {
        return tile.iter().fold(f32::NEG_INFINITY, |u, &w| u.max(w));
    }
    _mm512_reduce_max_ps(m)
}

/// `Σ_j p_rj` for rows `first..len.len()` of the score buffer, each in key
/// order from +0 (the emulation's sum), the rows in the lanes: one masked
/// gather per key.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn row_sums(s: &[f32], stride: usize, len: &[usize], first: usize) -> [f32; QB] {
    let nr = len.len();
    let longest = len[first..].iter().copied().max().unwrap_or(0);
    let idx = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(stride as i32),
    );
    let lens = {
        let mut l = [0i32; QB];
        for r in first..nr {
            l[r] = len[r] as i32;
        }
        // SAFETY: l holds 16 ints.
        unsafe { _mm512_loadu_si512(l.as_ptr() as *const _) }
    };
    let mut acc = _mm512_setzero_ps();
    for j in 0..longest {
        let k = _mm512_cmpgt_epi32_mask(lens, _mm512_set1_epi32(j as i32));
        // SAFETY: lane r is read only when key j < len[r] ≤ stride, inside row r.
        let p = unsafe {
            _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), k, idx, s.as_ptr().add(j))
        };
        acc = _mm512_mask_add_ps(acc, k, acc, p);
    }
    let mut out = [0.0f32; QB];
    // SAFETY: out holds 16 floats.
    unsafe { _mm512_storeu_ps(out.as_mut_ptr(), acc) };
    out
}

/// The weight each P·V step multiplies V by: `fp16(p)` or `e4m3(p·448)`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,f16c")]
unsafe fn weights(p: &[f32], pv: SagePv, out: &mut [f32]) {
    let n = p.len();
    let mut j = 0;
    while j + 16 <= n {
        // SAFETY: j + 16 ≤ n ≤ out.len().
        unsafe {
            let x = _mm512_loadu_ps(p.as_ptr().add(j));
            let y = match pv {
                SagePv::Fp16 => _mm512_cvtph_ps(_mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(x)),
                SagePv::Fp8F32 | SagePv::Fp8Fp16 => {
                    e4m3_16(_mm512_mul_ps(x, _mm512_set1_ps(448.0)))
                }
            };
            _mm512_storeu_ps(out.as_mut_ptr().add(j), y);
        }
        j += 16;
    }
    for (w, &x) in out[j..n].iter_mut().zip(&p[j..]) {
        *w = match pv {
            SagePv::Fp16 => f16::from_f32(x).to_f32(),
            SagePv::Fp8F32 | SagePv::Fp8Fp16 => e4m3_rne(x * 448.0),
        };
    }
}

/// [`e4m3_rne`] of each lane: the same bit operations (normal: RNE on the
/// pattern, capped at 448; below 2^−6: the 1.5·2^23 magic number in steps
/// of 2^−9), the sign copied back, NaN kept.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) unsafe fn e4m3_16(x: __m512) -> __m512 {
    let sign = _mm512_set1_epi32(i32::MIN);
    let xb = _mm512_castps_si512(x);
    let ab = _mm512_andnot_si512(sign, xb);
    let a = _mm512_castsi512_ps(ab);
    let lsb = _mm512_and_si512(_mm512_srli_epi32::<20>(ab), _mm512_set1_epi32(1));
    let nb = _mm512_and_si512(
        _mm512_add_epi32(_mm512_add_epi32(ab, _mm512_set1_epi32(0x7FFFF)), lsb),
        _mm512_set1_epi32(!0xFFFFF),
    );
    let normal = _mm512_min_ps(_mm512_castsi512_ps(nb), _mm512_set1_ps(448.0));
    let magic = _mm512_set1_ps(12_582_912.0);
    let t = _mm512_mul_ps(a, _mm512_set1_ps(512.0));
    let sub = _mm512_div_ps(
        _mm512_sub_ps(_mm512_add_ps(t, magic), magic),
        _mm512_set1_ps(512.0),
    );
    let is_normal = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(a, _mm512_set1_ps(0.015625));
    let r = _mm512_mask_blend_ps(is_normal, sub, normal);
    let r = _mm512_castsi512_ps(_mm512_or_si512(
        _mm512_castps_si512(r),
        _mm512_and_si512(xb, sign),
    ));
    let nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(x, x);
    _mm512_mask_blend_ps(nan, r, x)
}

/// `acc_c = acc_c · a`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn scale(acc: &mut [f32], a: f32) {
    let d = acc.len();
    let av = _mm512_set1_ps(a);
    let mut c = 0;
    while c < d {
        let m = lanes(d - c);
        // SAFETY: the mask covers only channels below d.
        unsafe {
            let p = acc.as_mut_ptr().add(c);
            _mm512_mask_storeu_ps(p, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, p), av));
        }
        c += 16;
    }
}

/// The mask of the first `min(n, 16)` lanes.
#[inline(always)]
fn lanes(n: usize) -> __mmask16 {
    if n >= 16 {
        0xFFFF
    } else {
        ((1u32 << n) - 1) as __mmask16
    }
}

/// One P·V chunk: `b_c` from +0 over the chunk's keys in order (the
/// variant's step), then `acc_c += b_c`. Up to 128 channels' partial sums
/// stay in registers across the keys.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,f16c")]
unsafe fn pv_chunk(acc: &mut [f32], p: &[f32], v: &[f32], pv: SagePv) {
    let d = acc.len();
    let mut c = 0;
    while c < d {
        let w = (d - c).min(128);
        // SAFETY: channels c..c + w lie inside every row of v and acc.
        unsafe {
            match w.div_ceil(16) {
                1 => pv_kind::<1>(acc, p, v, c, w, pv),
                2 => pv_kind::<2>(acc, p, v, c, w, pv),
                3 => pv_kind::<3>(acc, p, v, c, w, pv),
                4 => pv_kind::<4>(acc, p, v, c, w, pv),
                5 => pv_kind::<5>(acc, p, v, c, w, pv),
                6 => pv_kind::<6>(acc, p, v, c, w, pv),
                7 => pv_kind::<7>(acc, p, v, c, w, pv),
                _ => pv_kind::<8>(acc, p, v, c, w, pv),
            }
        }
        c += w;
    }
}

/// [`pv_block`] chosen at compile time by step and by whether every lane
/// is in use (plain loads, no mask registers to hold).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,f16c")]
unsafe fn pv_kind<const NV: usize>(
    acc: &mut [f32],
    p: &[f32],
    v: &[f32],
    c: usize,
    w: usize,
    pv: SagePv,
) {
    // SAFETY: as pv_chunk's.
    unsafe {
        match (w == 16 * NV, pv == SagePv::Fp8F32) {
            (true, true) => pv_block::<NV, true, true>(acc, p, v, c, w),
            (true, false) => pv_block::<NV, true, false>(acc, p, v, c, w),
            (false, true) => pv_block::<NV, false, true>(acc, p, v, c, w),
            (false, false) => pv_block::<NV, false, false>(acc, p, v, c, w),
        }
    }
}

/// [`pv_chunk`] on channels `c..c + w` (`NV` registers, the last masked
/// unless `FULL`); `FMA`: the FP8 step with f32 sums, else the FP16 step.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,f16c")]
unsafe fn pv_block<const NV: usize, const FULL: bool, const FMA: bool>(
    acc: &mut [f32],
    p: &[f32],
    v: &[f32],
    c: usize,
    w: usize,
) {
    let d = acc.len();
    let mask: [__mmask16; NV] = std::array::from_fn(|x| lanes(w - (16 * x).min(w)));
    let mut b = [_mm512_setzero_ps(); NV];
    for (j, &pj) in p.iter().enumerate() {
        let pb = _mm512_set1_ps(pj);
        // SAFETY: row j of v holds channels c..c + w (masked loads).
        let row = unsafe { v.as_ptr().add(j * d + c) };
        for x in 0..NV {
            let vx = unsafe {
                if FULL {
                    _mm512_loadu_ps(row.add(16 * x))
                } else {
                    _mm512_maskz_loadu_ps(mask[x], row.add(16 * x))
                }
            };
            b[x] = if FMA {
                // p8·v (two e4m3 values) is exact in f32, so the fused
                // form rounds once where `b + p8·v` rounds once too.
                _mm512_fmadd_ps(pb, vx, b[x])
            } else {
                fp16_mac16(b[x], _mm512_mul_ps(pb, vx))
            };
        }
    }
    for x in 0..NV {
        // SAFETY: masked to channels below c + w ≤ d.
        unsafe {
            let a = acc.as_mut_ptr().add(c + 16 * x);
            let s = _mm512_add_ps(_mm512_maskz_loadu_ps(mask[x], a), b[x]);
            _mm512_mask_storeu_ps(a, mask[x], s);
        }
    }
}

/// The FMA P·V step ([`pv_block`] with `FMA`) of [`PR`] rows over the
/// same `n` keys: per row and channel `b_c` from +0 over the keys in
/// order, then `acc_c += b_c`; the rows share every V register. Channels
/// run 64 at a time, the last group masked.
///
/// # Safety
/// Each `acc[x]` holds `d` floats, each `p[x]` `n`; `v` holds `n·d`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn pv_rows(acc: [*mut f32; PR], p: [*const f32; PR], n: usize, v: &[f32], d: usize) {
    debug_assert!(v.len() >= n * d);
    let mut c = 0;
    while c < d {
        let w = (d - c).min(64);
        // SAFETY: as this function's; channels c..c + w lie inside d.
        unsafe {
            match (w.div_ceil(16), w.is_multiple_of(16)) {
                (4, true) => pv_rows_nv::<4, true>(acc, p, n, v, d, c, w),
                (4, false) => pv_rows_nv::<4, false>(acc, p, n, v, d, c, w),
                (3, _) => pv_rows_nv::<3, false>(acc, p, n, v, d, c, w),
                (2, _) => pv_rows_nv::<2, false>(acc, p, n, v, d, c, w),
                _ => pv_rows_nv::<1, false>(acc, p, n, v, d, c, w),
            }
        }
        c += w;
    }
}

/// [`pv_rows`] on channels `c..c + w` in `NV` registers (the last masked
/// unless `FULL`).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn pv_rows_nv<const NV: usize, const FULL: bool>(
    acc: [*mut f32; PR],
    p: [*const f32; PR],
    n: usize,
    v: &[f32],
    d: usize,
    c: usize,
    w: usize,
) {
    let mask: [__mmask16; NV] = std::array::from_fn(|x| lanes(w - (16 * x).min(w)));
    let mut b = [[_mm512_setzero_ps(); NV]; PR];
    for j in 0..n {
        // SAFETY: row j of v holds channels c..c + w (masked loads).
        let row = unsafe { v.as_ptr().add(j * d + c) };
        let vx: [__m512; NV] = std::array::from_fn(|x| unsafe {
            if FULL {
                _mm512_loadu_ps(row.add(16 * x))
            } else {
                _mm512_maskz_loadu_ps(mask[x], row.add(16 * x))
            }
        });
        for (br, &pr) in b.iter_mut().zip(&p) {
            // SAFETY: p[x] holds n weights.
            let pb = _mm512_set1_ps(unsafe { *pr.add(j) });
            for x in 0..NV {
                // Exact product, one rounding: as pv_block's FMA step.
                br[x] = _mm512_fmadd_ps(pb, vx[x], br[x]);
            }
        }
    }
    for (br, &a) in b.iter().zip(&acc) {
        for x in 0..NV {
            // SAFETY: masked to channels below c + w ≤ d of a d-float row.
            unsafe {
                let a = a.add(c + 16 * x);
                let s = _mm512_add_ps(_mm512_maskz_loadu_ps(mask[x], a), br[x]);
                _mm512_mask_storeu_ps(a, mask[x], s);
            }
        }
    }
}

/// `fp16(x + y)` lane-wise for fp16 `x` and an exact product `y` (of two
/// fp16 or e4m3 values): the f32 sum rounded to odd, then RNE to fp16 —
/// one rounding to nearest (24 ≥ 11 + 2). Round-to-odd is the sum
/// rounded toward zero with its last bit set when inexact, and the sum is
/// inexact exactly when its roundings down and up differ (embedded
/// rounding modes; no f32 overflow: |x + y| < 2^33).
#[inline(always)]
unsafe fn fp16_mac16(x: __m512, y: __m512) -> __m512 {
    const RZ: i32 = _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC;
    const RD: i32 = _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC;
    const RU: i32 = _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC;
    // SAFETY (whole body): called only from functions enabling AVX-512 F/BW/VL.
    unsafe {
        let z = _mm512_castps_si512(_mm512_add_round_ps::<RZ>(x, y));
        let inexact = _mm512_cmp_ps_mask::<_CMP_NEQ_OQ>(
            _mm512_add_round_ps::<RD>(x, y),
            _mm512_add_round_ps::<RU>(x, y),
        );
        let odd = _mm512_mask_or_epi32(z, inexact, z, _mm512_set1_epi32(1));
        _mm512_cvtph_ps(_mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(
            _mm512_castsi512_ps(odd),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lane-wise e4m3 rounding equals the scalar one on a dense sweep
    /// (both signs, every binade, the subnormal boundary, ties, 448/464,
    /// the specials).
    #[test]
    fn e4m3_lanes_equal_the_scalar_rounding() {
        if !(is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw")) {
            eprintln!("no AVX-512 on this CPU: the lane form cannot run here");
            return;
        }
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
        while !xs.len().is_multiple_of(16) {
            xs.push(1.0);
        }
        let mut out = [0.0f32; 16];
        for chunk in xs.chunks(16) {
            // SAFETY: AVX-512 F/BW checked above; both buffers hold 16 floats.
            unsafe {
                _mm512_storeu_ps(out.as_mut_ptr(), e4m3_16(_mm512_loadu_ps(chunk.as_ptr())));
            }
            for (x, got) in chunk.iter().zip(out) {
                let want = e4m3_rne(*x);
                if want.is_nan() {
                    assert!(got.is_nan(), "e4m3_16({x:e}) = {got:e}");
                } else {
                    assert_eq!(got.to_bits(), want.to_bits(), "e4m3_16({x:e})");
                }
            }
        }
    }
}
