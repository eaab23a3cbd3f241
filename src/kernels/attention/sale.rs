//! SALE's block selection (`attention/sale`; `attention::sale` documents
//! the order of every rounding) and the block mask its kept blocks run
//! through the SageAttention kernels with.
//!
//! Per block of query rows, as the emulation computes it:
//! - **the exact pass** over the exact region's key blocks: `s_j = dot_fma(q_i,
//!   k'_j)` (one FMA chain per key in channel order: the kernels' f32 score
//!   step with scale 1, lanes across keys), the row max as the emulation's
//!   fold in key order, `ℓ = Σ exp_f32(sc·(s_j − m))` in key order (the
//!   exponentials lane-wise by the shared SIMD form, the sum scalar), and
//!   the threshold `ln(ℓ·τ)/sc + m` in scalar f32;
//! - **the INT4 estimate** `f32(Σ q4·k4)·(sq·sk) + c_j > thr` for the other
//!   key blocks: the integer dot is exact (|code| ≤ 8, any order), so it runs
//!   on `vpdpbusd` (AVX-512 VNNI: the Sage kernel's packed K and 4-row ×
//!   32-key register tile), `vpmaddwd` (AVX2) or scalar; the scale multiply,
//!   the correction's add and the compare are the emulation's f32
//!   operations lane-wise. A key block is kept when any row has any visible
//!   key above its threshold: a boolean OR, so stopping at the first such
//!   key (as the emulation does, in whatever order) changes nothing.
//!
//! Layer: uses ground and `arith` only; `attention::sale` wraps it.

use super::{pack_k, Dims, Kern, Keys, PACK_MIN_QUERIES};
use crate::isa::{self, IsaLevel};
use rayon::prelude::*;

/// One head's selection inputs (the emulation's, prepared by the variant).
#[derive(Debug, Clone, Copy)]
pub struct SaleHead<'a> {
    /// Queries (fp16 values, not centred), `nq × d`.
    pub q: &'a [f32],
    /// Centred keys `k − k̄`, `nk × d`.
    pub kc: &'a [f32],
    /// INT4 codes of the centred queries, `nq × d`.
    pub q4: &'a [i8],
    /// Their scales, one per `q_block` rows.
    pub sq: &'a [f32],
    /// INT4 codes of the centred keys, `nk × d`.
    pub k4: &'a [i8],
    /// Their scales, one per `k_block` keys.
    pub sk: &'a [f32],
    /// The correction `q̄·k'_j` per key.
    pub corr: &'a [f32],
}

/// The selection's blocking and threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SaleBlocks {
    /// Query rows per selection block (and per Q scale).
    pub q_block: usize,
    /// Keys per selection block (and per K scale).
    pub k_block: usize,
    /// The relative-attention-score threshold τ.
    pub tau: f32,
    /// The softmax scale `sc` (natural-log units).
    pub sc: f32,
}

/// Which key blocks each block of query rows keeps: `kept[qb · key_blocks
/// + kb]`, blocks of `q_block` rows × `k_block` keys. A SageAttention
/// kernel given it leaves the other keys out of the softmax and P·V
/// (`attention::sage`'s row function with a mask).
#[derive(Debug, Clone, Copy)]
pub struct SageMask<'a> {
    /// Per (row block, key block).
    pub kept: &'a [bool],
    /// Query rows per row block.
    pub q_block: usize,
    /// Keys per key block.
    pub k_block: usize,
    /// Key blocks per row block.
    pub key_blocks: usize,
}

impl SageMask<'_> {
    /// Whether query `i` uses key `j`.
    #[inline(always)]
    pub fn keeps(&self, i: usize, j: usize) -> bool {
        self.kept[(i / self.q_block) * self.key_blocks + j / self.k_block]
    }

    /// Row block `qb`'s key blocks.
    pub(super) fn row(&self, qb: usize) -> &[bool] {
        &self.kept[qb * self.key_blocks..(qb + 1) * self.key_blocks]
    }
}

/// The INT4 estimate's key blocks for every head (`heads` of them, each
/// `⌈nq/q_block⌉ × ⌈nk/k_block⌉`, row-major): true where some row of the
/// row block has a visible key of the key block whose estimate exceeds the
/// row's threshold. Blocks with `exact[qb · kbs + kb]` set are not
/// estimated (false here; the caller keeps them). At `level` (AVX-512 with
/// VNNI: `vpdpbusd`; AVX2 with FMA: `vpmaddwd`; else scalar) — the same
/// bits at every level.
///
/// # Panics
/// When a tensor's length does not match `dims` or a block size is zero
/// (a caller bug).
pub fn sale_select(
    heads: &[SaleHead],
    dims: Dims,
    b: SaleBlocks,
    exact: &[bool],
    level: IsaLevel,
) -> Vec<Vec<bool>> {
    let Dims { nq, nk, d, .. } = dims;
    assert!(b.q_block > 0 && b.k_block > 0 && heads.len() == dims.heads);
    let (qbs, kbs) = (nq.div_ceil(b.q_block), nk.div_ceil(b.k_block));
    assert_eq!(exact.len(), qbs * kbs);
    for h in heads {
        assert!(h.q.len() == nq * d && h.q4.len() == nq * d && h.kc.len() == nk * d);
        assert!(h.k4.len() == nk * d && h.corr.len() == nk);
        assert!(h.sq.len() == qbs && h.sk.len() == kbs);
    }
    let packed: Vec<Vec<f32>> = if nq >= PACK_MIN_QUERIES {
        heads.par_iter().map(|h| pack_k(h.kc, nk, d)).collect()
    } else {
        Vec::new()
    };
    #[cfg(target_arch = "x86_64")]
    let vnni = vnni_at(level, d);
    #[cfg(target_arch = "x86_64")]
    let k4: Vec<super::sage512::PackedK> = if vnni {
        heads
            .par_iter()
            .map(|h| {
                let view = super::SageHead {
                    q: &[],
                    sq: &[],
                    k: h.k4,
                    sk: h.sk,
                    v: &[],
                    sv: &[],
                };
                super::sage512::pack(&view, nk, d, b.k_block)
            })
            .collect()
    } else {
        Vec::new()
    };
    (0..heads.len())
        .into_par_iter()
        .map(|h| {
            let hd = &heads[h];
            let keys = match packed.get(h) {
                Some(p) => Keys::Packed(p),
                None => Keys::Rows(hd.kc),
            };
            let mut out = vec![false; qbs * kbs];
            out.par_chunks_mut(kbs.max(1))
                .enumerate()
                .for_each(|(qb, keep)| {
                    let ex = &exact[qb * kbs..(qb + 1) * kbs];
                    let job = QJob {
                        hd,
                        keys,
                        dims,
                        b,
                        exact: ex,
                        qb,
                    };
                    #[cfg(target_arch = "x86_64")]
                    if vnni {
                        // SAFETY: `vnni_at` checked AVX-512 F/BW/VL, VNNI,
                        // AVX2 and FMA; `k4[h]` packs this head's codes.
                        unsafe { vnni_qblock(&job, &k4[h], keep) };
                        return;
                    }
                    super::sale_qblock_at(level, &job, keep);
                });
            out
        })
        .collect()
}

/// One row block's work.
pub(super) struct QJob<'a> {
    hd: &'a SaleHead<'a>,
    keys: Keys<'a>,
    dims: Dims,
    b: SaleBlocks,
    /// The row block's exact key blocks.
    exact: &'a [bool],
    qb: usize,
}

impl QJob<'_> {
    fn rows(&self) -> std::ops::Range<usize> {
        let r0 = self.qb * self.b.q_block;
        r0..(r0 + self.b.q_block).min(self.dims.nq)
    }

    /// Row `i`'s threshold `ln(ℓ·τ)/sc + m` from the exact pass (`s`, `e`:
    /// scratch of `nk` floats).
    #[inline(always)]
    fn threshold<K: Kern>(&self, k: &K, i: usize, s: &mut [f32]) -> f32 {
        let (d, kb) = (self.dims.d, self.b.k_block);
        let vis = self.dims.visible(i);
        let q = &self.hd.q[i * d..(i + 1) * d];
        // The exact region's visible keys, runs of exact blocks in key order.
        let mut n = 0;
        let mut blk = 0;
        while blk * kb < vis {
            if !self.exact[blk] {
                blk += 1;
                continue;
            }
            let mut end = blk;
            while end * kb < vis && self.exact[end] {
                end += 1;
            }
            let (t0, t1) = (blk * kb, (end * kb).min(vis));
            k.scores(self.keys, q, 1.0, t0, t1, &mut s[n..n + t1 - t0]);
            n += t1 - t0;
            blk = end;
        }
        let s = &mut s[..n];
        let m = s.iter().fold(f32::NEG_INFINITY, |a, &v| a.max(v));
        let sc = self.b.sc;
        for v in s.iter_mut() {
            *v = sc * (*v - m);
        }
        // exp_f32(x − 0) = exp_f32(x): x − 0 is x (−0 stays −0).
        k.exp_shifted(s, 0.0);
        let l = s.iter().fold(0.0f32, |a, &e| a + e);
        (l * self.b.tau).ln() / sc + m
    }
}

/// One row block's estimated key blocks with the scalar or AVX2 integer
/// dot (`keep` is the row block's row of the result).
#[inline(always)]
pub(super) fn select_qblock<K: Kern>(k: &K, job: &QJob, keep: &mut [bool]) {
    let (d, kb) = (job.dims.d, job.b.k_block);
    let hd = job.hd;
    let mut s = vec![0.0f32; job.dims.nk];
    for i in job.rows() {
        let thr = job.threshold(k, i, &mut s);
        let vis = job.dims.visible(i);
        let q4 = &hd.q4[i * d..(i + 1) * d];
        let sq = hd.sq[i / job.b.q_block];
        for (blk, kp) in keep.iter_mut().enumerate() {
            if *kp || job.exact[blk] {
                continue;
            }
            let sk = sq * hd.sk[blk];
            *kp = (blk * kb..((blk + 1) * kb).min(vis)).any(|j| {
                let dot = k.int_dot(q4, &hd.k4[j * d..(j + 1) * d]);
                dot as f32 * sk + hd.corr[j] > thr
            });
        }
    }
}

/// Whether [`sale_select`] runs the `vpdpbusd` estimate at `level`.
#[cfg(target_arch = "x86_64")]
fn vnni_at(level: IsaLevel, d: usize) -> bool {
    let f = isa::active();
    isa::supported(level) == IsaLevel::Avx512 && f.avx512vnni && f.avx2 && f.fma && d > 0
}

/// [`select_qblock`] with the AVX2 exact pass and the `vpdpbusd` estimate:
/// four rows × 32 keys per register tile (the Sage kernel's), each key
/// block's rows in tiles of four until one passes.
///
/// # Safety
/// The CPU must support AVX-512 F/BW/VL, VNNI, AVX2 and FMA; `kp` packs the
/// head's K codes with its `k_block`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn vnni_qblock(job: &QJob, kp: &super::sage512::PackedK, keep: &mut [bool]) {
    use std::arch::x86_64::*;
    const KG: usize = super::sage512::KG;
    let (d, kb, nk) = (job.dims.d, job.b.k_block, job.dims.nk);
    let hd = job.hd;
    let rows = job.rows();
    let nr = rows.len();
    if nr == 0 {
        return;
    }
    let d4 = kp.steps;
    // Thresholds (the AVX2 exact pass), unsigned Q codes, visible keys.
    let mut s = vec![0.0f32; nk];
    let mut thr = vec![0.0f32; nr];
    let mut qu = vec![128u8; nr * d4 * 4];
    let mut vis = vec![0usize; nr];
    let mut sqr = vec![0.0f32; nr];
    for (r, i) in rows.clone().enumerate() {
        // SAFETY: this function's features include the AVX2 entry's.
        thr[r] = unsafe { super::sale_threshold_avx2(job, i, &mut s) };
        vis[r] = job.dims.visible(i);
        sqr[r] = hd.sq[i / job.b.q_block];
        for (c, &x) in hd.q4[i * d..(i + 1) * d].iter().enumerate() {
            qu[r * d4 * 4 + c] = (x as u8) ^ 0x80;
        }
    }
    let vmax = vis.iter().copied().max().unwrap_or(0);
    for (blk, kp_out) in keep.iter_mut().enumerate() {
        let (k0, k1) = (blk * kb, ((blk + 1) * kb).min(vmax));
        if *kp_out || job.exact[blk] || k0 >= k1 {
            continue;
        }
        let (g0, g1) = (k0 / KG, k1.div_ceil(KG));
        'found: for r0 in (0..nr).step_by(4) {
            let rr: [usize; 4] = std::array::from_fn(|x| (r0 + x).min(nr - 1));
            // SAFETY: every row of qu holds d4·4 bytes.
            let q: [*const u8; 4] = rr.map(|r| unsafe { qu.as_ptr().add(r * d4 * 4) });
            let mut g = g0;
            while g < g1 {
                let pair = if g + 1 < g1 { 2 } else { 1 };
                // SAFETY: groups below g1 ≤ ⌈nk/16⌉ are packed.
                let acc = unsafe {
                    super::sage512::qk_4x32(
                        kp.data.as_ptr().add(g * d4 * 64),
                        kp.data.as_ptr().add((g + pair - 1) * d4 * 64),
                        q,
                        d4,
                    )
                };
                for (x, ax) in acc.iter().enumerate().take(nr - r0) {
                    let r = r0 + x;
                    for (h, &ah) in ax.iter().enumerate().take(pair) {
                        let j0 = (g + h) * KG;
                        // Lanes inside the block and visible to row r.
                        let hi = k1.min(vis[r]);
                        if j0 >= hi || j0 + KG <= k0 {
                            continue;
                        }
                        let lo_l = k0.saturating_sub(j0);
                        let hi_l = (hi - j0).min(KG);
                        let lanes = (((1u32 << hi_l) - 1) & !((1u32 << lo_l) - 1)) as __mmask16;
                        // SAFETY: ksum and sk hold every packed key (padded
                        // to whole groups); corr's lanes are masked to keys
                        // below nk.
                        let pass = unsafe {
                            let ks = _mm512_loadu_si512(kp.ksum.as_ptr().add(j0) as *const _);
                            let dot = _mm512_sub_epi32(ah, _mm512_slli_epi32::<7>(ks));
                            let sk = _mm512_loadu_ps(kp.sk.as_ptr().add(j0));
                            let est = _mm512_mul_ps(
                                _mm512_cvtepi32_ps(dot),
                                _mm512_mul_ps(_mm512_set1_ps(sqr[r]), sk),
                            );
                            let c = _mm512_maskz_loadu_ps(lanes, hd.corr.as_ptr().add(j0));
                            let est = _mm512_add_ps(est, c);
                            _mm512_mask_cmp_ps_mask::<_CMP_GT_OQ>(
                                lanes,
                                est,
                                _mm512_set1_ps(thr[r]),
                            )
                        };
                        if pass != 0 {
                            *kp_out = true;
                            break 'found;
                        }
                    }
                }
                g += 2;
            }
        }
    }
}

/// [`QJob::threshold`] with the given steps (the AVX2 entry's body).
#[inline(always)]
pub(super) fn threshold_with<K: Kern>(k: &K, job: &QJob, i: usize, s: &mut [f32]) -> f32 {
    job.threshold(k, i, s)
}

/// The scalar twin of the INT4 estimate's integer dot for tests: the
/// estimate `f32(Σ q·k)·(sq·sk) + c` of one query row against keys
/// `j0..j1` (`d` codes each) at `level` — the `vpdpbusd`, `vpmaddwd` or
/// scalar dot — for comparing the paths on chosen codes (±7, −8).
///
/// # Panics
/// When the slices do not hold the keys.
pub fn int4_estimate(
    q: &[i8],
    k: &[i8],
    d: usize,
    sq: f32,
    sk: f32,
    corr: &[f32],
    level: IsaLevel,
) -> Vec<f32> {
    let nk = k.len() / d.max(1);
    assert!(q.len() == d && k.len() == nk * d && corr.len() == nk);
    #[cfg(target_arch = "x86_64")]
    if vnni_at(level, d) {
        let skv = vec![sk; nk.div_ceil(32).max(1)];
        let view = super::SageHead {
            q: &[],
            sq: &[],
            k,
            sk: &skv,
            v: &[],
            sv: &[],
        };
        let kp = super::sage512::pack(&view, nk, d, 32);
        // SAFETY: vnni_at checked the CPU.
        return unsafe { vnni_estimates(q, &kp, nk, sq, corr) };
    }
    let dot = |a: &[i8], b: &[i8]| super::int_dot_at(level, a, b);
    (0..nk)
        .map(|j| dot(q, &k[j * d..(j + 1) * d]) as f32 * (sq * sk) + corr[j])
        .collect()
}

/// Every key's estimate through the `vpdpbusd` tile (one row).
///
/// # Safety
/// As [`vnni_qblock`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn vnni_estimates(
    q: &[i8],
    kp: &super::sage512::PackedK,
    nk: usize,
    sq: f32,
    corr: &[f32],
) -> Vec<f32> {
    use std::arch::x86_64::*;
    const KG: usize = super::sage512::KG;
    let d4 = kp.steps;
    let mut qu = vec![128u8; d4 * 4];
    for (c, &x) in q.iter().enumerate() {
        qu[c] = (x as u8) ^ 0x80;
    }
    let mut out = vec![0.0f32; nk.div_ceil(KG) * KG];
    let groups = nk.div_ceil(KG);
    let p = qu.as_ptr();
    for g in 0..groups {
        // SAFETY: group g is packed; qu holds d4·4 bytes.
        unsafe {
            let acc = super::sage512::qk_4x32(
                kp.data.as_ptr().add(g * d4 * 64),
                kp.data.as_ptr().add(g * d4 * 64),
                [p; 4],
                d4,
            );
            let j0 = g * KG;
            let ks = _mm512_loadu_si512(kp.ksum.as_ptr().add(j0) as *const _);
            let dot = _mm512_sub_epi32(acc[0][0], _mm512_slli_epi32::<7>(ks));
            let sk = _mm512_loadu_ps(kp.sk.as_ptr().add(j0));
            let n = (nk - j0).min(KG);
            let lanes = ((1u32 << n) - 1) as __mmask16;
            let est = _mm512_mul_ps(
                _mm512_cvtepi32_ps(dot),
                _mm512_mul_ps(_mm512_set1_ps(sq), sk),
            );
            let c = _mm512_maskz_loadu_ps(lanes, corr.as_ptr().add(j0));
            _mm512_storeu_ps(out.as_mut_ptr().add(j0), _mm512_add_ps(est, c));
        }
    }
    out.truncate(nk);
    out
}
