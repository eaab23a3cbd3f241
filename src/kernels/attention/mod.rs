//! Native attention kernels returning exactly the bits of their emulations
//! (`attention::exact` and `attention::sage` document the order of every
//! rounding): naive f32 (`attention/f32`), FlashAttention's tiled online
//! softmax in f32 and bf16 (`attention/flash-f32`, `attention/flash-bf16`),
//! split-KV decode (`attention/split-kv`), and the SageAttention family's
//! integer Q·Kᵀ with base-2 online softmax: v1's INT8 with FP16 P·V
//! accumulation (`attention/sage-int8`), INT4 Q/K with the same P·V
//! (`attention/int4-qk`), v2's FP8 P·V with two-level f32 accumulation
//! (`attention/sage2-fp8`) and v2++'s FP8 P·V accumulated in FP16 per 32
//! keys (`attention/sage2pp-fp16acc`); and the dense parts of the
//! LSH-sorted methods (`attention/hyper`, `attention/hyper-triton`,
//! `attention/kdeformer`, `attention/kdeformer-stable`; `sorted`).
//!
//! Why the bits agree:
//! - **f32 scores** are one FMA chain per key over the channels in order.
//!   Vector lanes run across **keys**, never along the channels: K is
//!   either packed 8 keys side by side, channel-major (prefill, where the
//!   packing is reused by every query), or transposed 8×8 (AVX-512: 16×16)
//!   in registers as it is read (decode: one pass over the cache).
//! - **P·V** is per channel (`a_c = fma(p_j, v_jc, a_c)`, lanes across
//!   channels, keys in order); the AVX2 paths hold the accumulators in
//!   registers across a tile's keys, which changes no order.
//! - The exponentials are the shared functions ([`exp_f32`], [`exp2_f32`]);
//!   the f32 paths run `exp_f32` eight lanes at a time through its AVX2 form
//!   (`arith::exp::avx2::exp8`, the same operations). The row max and the
//!   row sums stay scalar in key order.
//! - **Prefill blocks** (AVX2, packed K): 16 query rows of a head walk the
//!   K/V tiles together and interleave four rows' arithmetic in registers
//!   (a 4-row × 16-key score tile, a 4-row × 16-channel P·V tile); rows are
//!   independent, so interleaving them changes no bit.
//! - **INT8/INT4 dots** are exact int32 sums (|code| ≤ 127, so no order
//!   matters): AVX2 widens to int16 and multiplies pairs with `vpmaddwd`.
//! - **FP8 P·V** (`p8 = e4m3(p·448)` by the shared [`e4m3_rne`], per key in
//!   key order): `b = b + p8·v` is `vmulps` then `vaddps` per channel, as
//!   the scalar definition (the product of two e4m3 values is exact anyway).
//! - **FP16 accumulation** `b = fp16(b + p·v)`: the product of two fp16
//!   values (or two e4m3 values) is exact in f32; the sum is formed in f32 with its exact error
//!   (TwoSum) and rounded to odd, then to fp16 by `vcvtps2ph` — rounding to
//!   odd in 24 bits then to nearest in 11 equals one rounding to nearest
//!   (24 ≥ 11 + 2).
//!
//! AVX2 (with FMA; F16C for the fp16 step) and a portable scalar path,
//! chosen by the crate's `isa::dispatch!` macro. The Sage family also has a
//! blocked kernel (`sageblk` documents it) with AVX-512 steps (`vpdpbusd`,
//! with VNNI; `sage512`) and AVX2 steps (`vpmaddwd`; `sage256`);
//! the f32-score kernels have one for row-major K (`decode512`: decode's
//! streams); the rest run their AVX2 path at the AVX-512 level.
//! `attention/flash-dpbf16` has only an AVX-512 BF16 kernel (`dpbf16`).
//! `attention/flash-fp16acc` (ggml's per-key online softmax with an FP16 V
//! accumulator) has its own kernel ([`flash_fp16acc`], `fp16acc`).
//! QJL's sketches and ±1 sums over packed sign bits are in [`qjl`].
//!
//! Layer: uses ground and `arith` only; `attention` wraps it.

use crate::arith::exp::{exp2_f32, exp_f32};
use crate::arith::fp16::fp16_rne;
use crate::isa::{self, IsaLevel};
use half::{bf16, f16};
use rayon::prelude::*;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod decode512;
#[cfg(target_arch = "x86_64")]
mod dpbf16;
mod fp16acc;
pub mod qjl;
#[cfg(target_arch = "x86_64")]
mod sage256;
#[cfg(target_arch = "x86_64")]
mod sage512;
#[cfg(target_arch = "x86_64")]
mod sageblk;
mod sale;
pub mod sorted;

pub use fp16acc::{flash_fp16acc, fp16acc_steps};
pub use sale::{int4_estimate, sale_select, SageMask, SaleBlocks, SaleHead};

// SALE's selection at a level: `sale` and `avx2` are siblings, so the AVX2
// entry points are reached through here (imports only run downwards).

/// [`sale::select_qblock`] at `level` (AVX2 with FMA: the AVX2 steps).
fn sale_qblock_at(level: IsaLevel, job: &sale::QJob, keep: &mut [bool]) {
    let fma = isa::active().fma;
    isa::dispatch!(level,
        // SAFETY: this arm runs only on CPUs with AVX2; FMA was checked.
        avx2 => if fma { unsafe { avx2::sale_qblock(job, keep) } } else { sale::select_qblock(&Scalar, job, keep) },
        scalar => sale::select_qblock(&Scalar, job, keep),
    )
}

/// A SALE row's threshold with the AVX2 steps.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[cfg(target_arch = "x86_64")]
unsafe fn sale_threshold_avx2(job: &sale::QJob, i: usize, s: &mut [f32]) -> f32 {
    // SAFETY: as this function's.
    unsafe { avx2::sale_threshold(job, i, s) }
}

/// The exact int32 dot of two int8 vectors at `level` (`vpmaddwd` on AVX2).
fn int_dot_at(level: IsaLevel, a: &[i8], b: &[i8]) -> i32 {
    isa::dispatch!(level,
        // SAFETY: this arm runs only on CPUs with AVX2.
        avx2 => unsafe { avx2::int_dot_entry(a, b) },
        scalar => Scalar.int_dot(a, b),
    )
}

/// `attention/flash-dpbf16` (bf16 codes `heads × n × d`; the variant's
/// module doc fixes every rounding) on `vdpbf16ps`, at `level`: `None`
/// below AVX-512 or where the CPU (under the cap) lacks AVX-512 BF16 — the
/// variant then runs its emulation.
pub fn flash_dpbf16(
    q: &[u16],
    k: &[u16],
    v: &[u16],
    dims: Dims,
    level: IsaLevel,
) -> Option<Vec<f64>> {
    let Dims {
        heads, nq, nk, d, ..
    } = dims;
    assert!(
        q.len() == heads * nq * d && k.len() == heads * nk * d && v.len() == k.len(),
        "flash_dpbf16: Q, K, V must be heads × n × d"
    );
    #[cfg(target_arch = "x86_64")]
    if level == IsaLevel::Avx512 && isa::features().capped(level).avx512bf16 {
        return Some(dpbf16::run(q, k, v, dims));
    }
    let _ = (q, k, v, level);
    None
}

/// Keys per packed group (one AVX2 vector of f32).
const GROUP: usize = 8;
/// Fewer queries per head than this read K row-major (transposing in
/// registers) instead of packing it first: packing pays off only when
/// reused.
pub const PACK_MIN_QUERIES: usize = 8;

/// Sizes of one attention call (tensors `heads × n × d`, row-major).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    /// Heads.
    pub heads: usize,
    /// Queries per head.
    pub nq: usize,
    /// Keys per head.
    pub nk: usize,
    /// Head dimension.
    pub d: usize,
    /// Query i (at position nk − nq + i) sees keys up to its position.
    pub causal: bool,
}

impl Dims {
    fn visible(&self, i: usize) -> usize {
        if self.causal {
            (self.nk + i + 1).saturating_sub(self.nq).min(self.nk)
        } else {
            self.nk
        }
    }
}

/// Rounding of p before its P·V product and of the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// None (f32).
    F32,
    /// RNE to bf16.
    Bf16,
}

impl Round {
    #[inline(always)]
    fn apply(self, x: f32) -> f32 {
        match self {
            Round::F32 => x,
            Round::Bf16 => bf16::from_f32(x).to_f32(),
        }
    }
}

/// Which f32-score attention to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// S and P materialised: max, exp, sum, P = p/ℓ, then P·V.
    Naive,
    /// Tiled online softmax, `b_c` keys per tile; `round` rounds p before
    /// P·V and the output.
    Flash {
        /// Keys per tile.
        b_c: usize,
        /// p's and the output's rounding.
        round: Round,
    },
    /// `splits` contiguous chunks of ⌈nk/splits⌉ keys, each a flash pass
    /// (`b_c` keys per tile), merged by log-sum-exp; chunks run in parallel.
    SplitKv {
        /// Chunks.
        splits: usize,
        /// Keys per tile inside a chunk.
        b_c: usize,
    },
}

/// K of one head as a kernel reads it.
#[derive(Clone, Copy)]
enum Keys<'a> {
    /// Packed in groups of 8 keys, channel-major (`[group][channel][8]`).
    Packed(&'a [f32]),
    /// Row-major `nk × d`.
    Rows(&'a [f32]),
}

/// Every element rounded to fp16 (RNE) and back to f32: `half`'s slice
/// conversions (F16C where the CPU has it) in parallel chunks. The fp16
/// inputs' rounding of the emulations and of `flash-fp16acc`'s kernel.
pub fn round_fp16(x: &[f32]) -> Vec<f32> {
    use half::slice::HalfFloatSliceExt;
    use rayon::prelude::*;
    let mut out = vec![0.0f32; x.len()];
    out.par_chunks_mut(1 << 14)
        .zip(x.par_chunks(1 << 14))
        .for_each(|(o, i)| {
            let mut h = vec![half::f16::ZERO; i.len()];
            h.convert_from_f32_slice(i);
            h.convert_to_f32_slice(o);
        });
    out
}

/// K of one head packed in groups of 8 keys, channel-major inside a group
/// (`[group][channel][8]`), the last group zero-padded.
fn pack_k(k: &[f32], nk: usize, d: usize) -> Vec<f32> {
    pack_groups::<GROUP>(k, nk, d)
}

/// K of one head packed in groups of `G` keys, channel-major inside a
/// group (`[group][channel][G]`), the last group zero-padded.
fn pack_groups<const G: usize>(k: &[f32], nk: usize, d: usize) -> Vec<f32> {
    let groups = nk.div_ceil(G);
    let mut out = vec![0.0f32; groups * d * G];
    for j in 0..nk {
        let (g, l) = (j / G, j % G);
        for c in 0..d {
            out[(g * d + c) * G + l] = k[j * d + c];
        }
    }
    out
}

/// The primitive steps a path supplies; the row algorithms below are
/// written once over them. Every method computes exactly the bits of the
/// scalar definition.
trait Kern: Sync {
    /// `out[j − t0] = dot_fma(q, k_j) · sc` for keys `j` in `[t0, t1)`.
    fn scores(&self, keys: Keys, q: &[f32], sc: f32, t0: usize, t1: usize, out: &mut [f32]);
    /// `acc_c = fma(p, v_c, acc_c)`.
    fn pv(&self, acc: &mut [f32], p: f32, v: &[f32]);
    /// `acc_c = acc_c · a`.
    fn scale(&self, acc: &mut [f32], a: f32);
    /// `p = exp_f32(p − m)` for every element.
    fn exp_shifted(&self, tile: &mut [f32], m: f32);
    /// [`Kern::pv`] for each key `j` of a tile in order: `p[j]` against V's
    /// row `j` (`v` holds `p.len()` rows of `acc.len()` values).
    fn pv_tile(&self, acc: &mut [f32], p: &[f32], v: &[f32]);
    /// The exact int32 dot of two int8 vectors.
    fn int_dot(&self, a: &[i8], b: &[i8]) -> i32;
    /// `b_c = fp16(b_c + p·v_c)` (one rounding; `p·v_c` exact in f32).
    fn fp16_mac(&self, b: &mut [f32], p: f32, v: &[f32]);
    /// `b_c = b_c + p·v_c`, product and sum each rounded to f32 (unfused).
    fn mul_add(&self, b: &mut [f32], p: f32, v: &[f32]);
}

/// The portable path: the scalar definitions.
struct Scalar;

impl Kern for Scalar {
    #[inline(always)]
    fn scores(&self, keys: Keys, q: &[f32], sc: f32, t0: usize, t1: usize, out: &mut [f32]) {
        let d = q.len();
        for j in t0..t1 {
            let mut a = 0.0f32;
            match keys {
                Keys::Packed(kp) => {
                    let base = (j / GROUP) * d * GROUP + j % GROUP;
                    for (c, qc) in q.iter().enumerate() {
                        a = qc.mul_add(kp[base + c * GROUP], a);
                    }
                }
                Keys::Rows(k) => {
                    for (qc, kc) in q.iter().zip(&k[j * d..(j + 1) * d]) {
                        a = qc.mul_add(*kc, a);
                    }
                }
            }
            out[j - t0] = a * sc;
        }
    }

    #[inline(always)]
    fn pv(&self, acc: &mut [f32], p: f32, v: &[f32]) {
        for (a, x) in acc.iter_mut().zip(v) {
            *a = p.mul_add(*x, *a);
        }
    }

    #[inline(always)]
    fn scale(&self, acc: &mut [f32], a: f32) {
        acc.iter_mut().for_each(|x| *x *= a);
    }

    #[inline(always)]
    fn exp_shifted(&self, tile: &mut [f32], m: f32) {
        tile.iter_mut().for_each(|p| *p = exp_f32(*p - m));
    }

    #[inline(always)]
    fn pv_tile(&self, acc: &mut [f32], p: &[f32], v: &[f32]) {
        let d = acc.len();
        for (j, &pj) in p.iter().enumerate() {
            self.pv(acc, pj, &v[j * d..(j + 1) * d]);
        }
    }

    #[inline(always)]
    fn int_dot(&self, a: &[i8], b: &[i8]) -> i32 {
        a.iter().zip(b).map(|(x, y)| *x as i32 * *y as i32).sum()
    }

    #[inline(always)]
    fn fp16_mac(&self, b: &mut [f32], p: f32, v: &[f32]) {
        for (bc, vc) in b.iter_mut().zip(v) {
            *bc = fp16_rne(*bc as f64 + p as f64 * *vc as f64);
        }
    }

    #[inline(always)]
    fn mul_add(&self, b: &mut [f32], p: f32, v: &[f32]) {
        for (bc, vc) in b.iter_mut().zip(v) {
            *bc += p * vc;
        }
    }
}

/// One online-softmax state.
#[derive(Debug, Clone)]
struct State {
    m: f32,
    l: f32,
    acc: Vec<f32>,
}

impl State {
    fn new(d: usize) -> Self {
        State {
            m: f32::NEG_INFINITY,
            l: 0.0,
            acc: vec![0.0; d],
        }
    }
}

/// One query row's f32 inputs.
struct Row<'a> {
    q: &'a [f32],
    keys: Keys<'a>,
    v: &'a [f32],
    sc: f32,
}

/// FlashAttention's online softmax over keys `[j0, j1)` in tiles of `b_c`
/// keys from `j0` (the order of `attention::exact::flash_row`).
#[inline(always)]
fn flash_range<K: Kern>(
    k: &K,
    r: &Row,
    (j0, j1): (usize, usize),
    b_c: usize,
    round: Round,
    st: &mut State,
    s: &mut [f32],
) {
    let d = r.q.len();
    let mut t0 = j0;
    while t0 < j1 {
        let t1 = (t0 + b_c).min(j1);
        let tile = &mut s[..t1 - t0];
        k.scores(r.keys, r.q, r.sc, t0, t1, tile);
        let m_new = tile.iter().fold(st.m, |u, &w| u.max(w));
        if m_new == f32::NEG_INFINITY {
            t0 = t1;
            continue;
        }
        let alpha = exp_f32(st.m - m_new);
        k.exp_shifted(tile, m_new);
        let mut sum = 0.0f32;
        for p in tile.iter_mut() {
            sum += *p;
            *p = round.apply(*p);
        }
        st.l = st.l * alpha + sum;
        k.scale(&mut st.acc, alpha);
        k.pv_tile(&mut st.acc, tile, &r.v[t0 * d..t1 * d]);
        st.m = m_new;
        t0 = t1;
    }
}

/// Naive attention of one row over `vis` keys (`attention::exact::NaiveF32`).
#[inline(always)]
fn naive_row<K: Kern>(k: &K, r: &Row, vis: usize, o: &mut [f64]) {
    let d = r.q.len();
    let mut s = vec![0.0f32; vis];
    k.scores(r.keys, r.q, r.sc, 0, vis, &mut s);
    let m = s.iter().fold(f32::NEG_INFINITY, |u, &w| u.max(w));
    let mut l = 0.0f32;
    for p in s.iter_mut() {
        *p = exp_f32(*p - m);
        l += *p;
    }
    let mut acc = vec![0.0f32; d];
    for (j, p) in s.iter().enumerate() {
        k.pv(&mut acc, p / l, &r.v[j * d..(j + 1) * d]);
    }
    for (a, b) in o.iter_mut().zip(&acc) {
        *a = *b as f64;
    }
}

/// Everything an f32-score call shares.
struct Job<'a> {
    q: &'a [f32],
    keys: Vec<Keys<'a>>,
    v: &'a [f32],
    dims: Dims,
    sc: f32,
}

impl<'a> Job<'a> {
    fn row(&self, r: usize) -> Row<'_> {
        let Dims { nq, nk, d, .. } = self.dims;
        let h = r / nq;
        Row {
            q: &self.q[r * d..(r + 1) * d],
            keys: self.keys[h],
            v: &self.v[h * nk * d..(h + 1) * nk * d],
            sc: self.sc,
        }
    }
}

/// One output row of a whole-row method (naive or flash).
#[inline(always)]
fn whole_row<K: Kern>(k: &K, job: &Job, method: Method, r: usize, o: &mut [f64]) {
    let row = job.row(r);
    let vis = job.dims.visible(r % job.dims.nq);
    match method {
        Method::Naive => naive_row(k, &row, vis, o),
        Method::Flash { b_c, round } => {
            let mut st = State::new(job.dims.d);
            let mut s = vec![0.0f32; b_c];
            flash_range(k, &row, (0, vis), b_c, round, &mut st, &mut s);
            for (a, b) in o.iter_mut().zip(&st.acc) {
                *a = round.apply(b / st.l) as f64;
            }
        }
        Method::SplitKv { .. } => unreachable!("split-KV runs by chunks"),
    }
}

/// One chunk's state of a split-KV row (`None` when it saw no key).
#[inline(always)]
fn chunk_state<K: Kern>(
    k: &K,
    job: &Job,
    r: usize,
    (c0, c1): (usize, usize),
    b_c: usize,
) -> Option<State> {
    let row = job.row(r);
    let mut st = State::new(job.dims.d);
    let mut s = vec![0.0f32; b_c];
    flash_range(k, &row, (c0, c1), b_c, Round::F32, &mut st, &mut s);
    (st.m != f32::NEG_INFINITY).then_some(st)
}

/// Whether the blocked flash path (AVX2 + FMA) runs at `level`.
fn blocked_at(level: IsaLevel) -> bool {
    let fma = isa::active().fma;
    isa::dispatch!(level,
        avx2 => fma,
        scalar => false,
    )
}

/// Whole-row work at `level` (the AVX2 path needs FMA as well).
fn whole_row_at(level: IsaLevel, job: &Job, method: Method, r: usize, o: &mut [f64]) {
    let fma = isa::active().fma;
    isa::dispatch!(level,
        // SAFETY: this arm runs only on CPUs with AVX-512 F (and AVX2); FMA was checked.
        avx512 => if fma && decode512::takes(job) { unsafe { decode512::whole_row(job, method, r, o) } } else if fma { unsafe { avx2::whole_row(job, method, r, o) } } else { whole_row(&Scalar, job, method, r, o) },
        // SAFETY: this arm runs only on CPUs with AVX2; FMA was checked.
        avx2 => if fma { unsafe { avx2::whole_row(job, method, r, o) } } else { whole_row(&Scalar, job, method, r, o) },
        scalar => whole_row(&Scalar, job, method, r, o),
    )
}

fn chunk_state_at(
    level: IsaLevel,
    job: &Job,
    r: usize,
    range: (usize, usize),
    b_c: usize,
) -> Option<State> {
    let fma = isa::active().fma;
    isa::dispatch!(level,
        // SAFETY: as in `whole_row_at`.
        avx512 => if fma && decode512::takes(job) { unsafe { decode512::chunk_state(job, r, range, b_c) } } else if fma { unsafe { avx2::chunk_state(job, r, range, b_c) } } else { chunk_state(&Scalar, job, r, range, b_c) },
        // SAFETY: as in `whole_row_at`.
        avx2 => if fma { unsafe { avx2::chunk_state(job, r, range, b_c) } } else { chunk_state(&Scalar, job, r, range, b_c) },
        scalar => chunk_state(&Scalar, job, r, range, b_c),
    )
}

/// An f32-score attention (`method`) at `level`: the output
/// (`heads × nq × d`) as f64.
///
/// # Panics
/// When a tensor's length does not match `dims` (a caller bug).
pub fn attention_f32(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    dims: Dims,
    method: Method,
    level: IsaLevel,
) -> Vec<f64> {
    let Dims {
        heads, nq, nk, d, ..
    } = dims;
    assert!(q.len() == heads * nq * d && k.len() == heads * nk * d && v.len() == k.len());
    let method = match method {
        Method::Flash { b_c, round } => Method::Flash {
            b_c: b_c.max(1),
            round,
        },
        Method::SplitKv { splits, b_c } => Method::SplitKv {
            splits: splits.max(1),
            b_c: b_c.max(1),
        },
        m => m,
    };
    let packed: Vec<Vec<f32>> = if nq >= PACK_MIN_QUERIES {
        (0..heads)
            .into_par_iter()
            .map(|h| pack_k(&k[h * nk * d..(h + 1) * nk * d], nk, d))
            .collect()
    } else {
        Vec::new()
    };
    let keys = (0..heads)
        .map(|h| match packed.get(h) {
            Some(p) => Keys::Packed(p),
            None => Keys::Rows(&k[h * nk * d..(h + 1) * nk * d]),
        })
        .collect();
    let job = Job {
        q,
        keys,
        v,
        dims,
        sc: (1.0 / (d as f64).sqrt()) as f32,
    };
    let mut out = vec![0.0f64; heads * nq * d];
    match method {
        Method::SplitKv { splits, b_c } => {
            let chunk = nk.div_ceil(splits);
            // Every (row, chunk) in parallel, then each row merged in chunk order.
            let states: Vec<Option<State>> = (0..heads * nq * splits)
                .into_par_iter()
                .map(|t| {
                    let (r, c) = (t / splits, t % splits);
                    let vis = dims.visible(r % nq);
                    let c0 = c * chunk;
                    (c0 < vis)
                        .then(|| chunk_state_at(level, &job, r, (c0, (c0 + chunk).min(vis)), b_c))
                        .flatten()
                })
                .collect();
            out.par_chunks_mut(d)
                .zip(states.par_chunks(splits))
                .for_each(|(o, parts)| merge(parts, o));
        }
        Method::Flash { b_c, round } if !packed.is_empty() && d > 0 && blocked_at(level) => {
            // Blocks of query rows per head walk the K/V tiles together.
            #[cfg(target_arch = "x86_64")]
            out.par_chunks_mut(nq * d)
                .enumerate()
                .for_each(|(h, head)| {
                    head.par_chunks_mut(avx2::QBLOCK * d)
                        .enumerate()
                        .for_each(|(b, o)| {
                            // SAFETY: `blocked_at` checked AVX2 and FMA; K is packed.
                            unsafe { avx2::flash_block(&job, b_c, round, h, b * avx2::QBLOCK, o) }
                        })
                });
            #[cfg(not(target_arch = "x86_64"))]
            unreachable!("blocked_at is false off x86_64 ({b_c}, {round:?})");
        }
        _ => out
            .par_chunks_mut(d.max(1))
            .with_min_len(4)
            .enumerate()
            .for_each(|(r, o)| whole_row_at(level, &job, method, r, o)),
    }
    out
}

/// The log-sum-exp merge of `attention::exact::SplitKv`, chunk order.
fn merge(parts: &[Option<State>], o: &mut [f64]) {
    let parts: Vec<&State> = parts.iter().flatten().collect();
    let m = parts.iter().map(|p| p.m).fold(f32::NEG_INFINITY, f32::max);
    let mut l = 0.0f32;
    let mut acc = vec![0.0f32; o.len()];
    for p in parts {
        let w = exp_f32(p.m - m);
        l = p.l.mul_add(w, l);
        for (a, b) in acc.iter_mut().zip(&p.acc) {
            *a = b.mul_add(w, *a);
        }
    }
    for (a, b) in o.iter_mut().zip(&acc) {
        *a = (b / l) as f64;
    }
}

/// `attention/flash-f32` at `level` (tiles of `b_c` keys).
pub fn flash_f32(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    dims: Dims,
    b_c: usize,
    level: IsaLevel,
) -> Vec<f64> {
    let method = Method::Flash {
        b_c,
        round: Round::F32,
    };
    attention_f32(q, k, v, dims, method, level)
}

/// f32 to the nearest e4m3 value (RNE, ties to even; saturating at ±448;
/// subnormals down to 2^−9), returned as f32. NaN stays NaN. (SageAttention
/// v2's FP8 rounding of P and V; the emulation and the kernels share it.)
#[inline]
pub fn e4m3_rne(x: f32) -> f32 {
    let a = x.abs();
    if a.is_nan() {
        return x;
    }
    let r = if a >= 0.015625 {
        // Normal: keep 3 mantissa bits (RNE on the bit pattern).
        let b = a.to_bits();
        let lsb = (b >> 20) & 1;
        let v = f32::from_bits((b + 0x7FFFF + lsb) & !0xFFFFF);
        v.min(448.0)
    } else {
        // Subnormal step 2^−9: RNE through the 1.5·2^23 magic number.
        let t = a * 512.0;
        ((t + 12_582_912.0) - 12_582_912.0) / 512.0
    };
    r.copysign(x)
}

/// One head of a SageAttention-style variant prepared by its quantizers: Q
/// and K codes (`n × d`), their per-block f32 scales, and V as the P·V path
/// reads it (fp16 values, or e4m3 values with per-channel scales).
#[derive(Debug, Clone, Copy)]
pub struct SageHead<'a> {
    /// Q codes.
    pub q: &'a [i8],
    /// Q scales, one per `q_block` queries.
    pub sq: &'a [f32],
    /// K codes.
    pub k: &'a [i8],
    /// K scales, one per `k_block` keys.
    pub sk: &'a [f32],
    /// V (fp16 or e4m3 values as f32).
    pub v: &'a [f32],
    /// Per-channel V scales (`d` of them; FP8 paths only, else empty): the
    /// output is multiplied by `sv_c / 448`.
    pub sv: &'a [f32],
}

/// The order of a score's two scale multiplies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SageScore {
    /// v1 (Triton): `(f32(dot) · sq) · sk`.
    V1,
    /// v2 (CUDA): `f32(dot) · (sq · sk)`.
    V2,
}

/// How P·V is computed inside a tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SagePv {
    /// `p` rounded to fp16, `b = fp16(b + p·v)` (one rounding per add).
    Fp16,
    /// `p8 = e4m3(p · 448)`, `b = b + p8·v` in f32 (the product is exact).
    Fp8F32,
    /// `p8 = e4m3(p · 448)`, `b = fp16(b + p8·v)` (one rounding per add).
    Fp8Fp16,
}

/// A SageAttention-style kernel's blocking and arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SageBlocks {
    /// Queries per Q scale.
    pub q_block: usize,
    /// Keys per K scale.
    pub k_block: usize,
    /// Keys per online-softmax tile.
    pub tile: usize,
    /// Keys per P·V partial sum `b` (from +0, flushed into the f32
    /// accumulator after each chunk); chunks start at each tile's start.
    pub chunk: usize,
    /// Score order.
    pub score: SageScore,
    /// P·V path.
    pub pv: SagePv,
}

/// One row of a SageAttention-style variant (`attention::sage` documents
/// the order of every rounding; this is the same loop). With `mask`, only
/// the keys it keeps enter the softmax and P·V, as in the emulation's
/// masked row: a tile with no kept key is skipped; in the others the
/// skipped keys are left out of the max, weigh 0 in the row sum and add
/// nothing to P·V.
#[inline(always)]
fn sage_row<K: Kern>(
    k: &K,
    hd: &SageHead,
    dims: Dims,
    b: SageBlocks,
    mask: Option<&SageMask>,
    i: usize,
    o: &mut [f64],
) {
    let d = dims.d;
    let vis = dims.visible(i);
    let kept = |j: usize| mask.is_none_or(|m| m.keeps(i, j));
    let qi = &hd.q[i * d..(i + 1) * d];
    let sq = hd.sq[i / b.q_block];
    let mut st = State::new(d);
    let mut s = vec![0.0f32; b.tile];
    let mut part = vec![0.0f32; d];
    let mut t0 = 0;
    while t0 < vis {
        let t1 = (t0 + b.tile).min(vis);
        if mask.is_some() && !(t0..t1).any(kept) {
            t0 = t1;
            continue;
        }
        let tile = &mut s[..t1 - t0];
        for (jj, sj) in tile.iter_mut().enumerate() {
            let j = t0 + jj;
            if !kept(j) {
                // Out of the max (−inf never wins the fold); p is set to 0 below.
                *sj = f32::NEG_INFINITY;
                continue;
            }
            let dot = k.int_dot(qi, &hd.k[j * d..(j + 1) * d]) as f32;
            let sk = hd.sk[j / b.k_block];
            *sj = match b.score {
                SageScore::V1 => (dot * sq) * sk,
                SageScore::V2 => dot * (sq * sk),
            };
        }
        let m_new =
            st.m.max(tile.iter().fold(f32::NEG_INFINITY, |u, &w| u.max(w)));
        let alpha = exp2_f32(st.m - m_new);
        let mut r = 0.0f32;
        for (jj, p) in tile.iter_mut().enumerate() {
            *p = if kept(t0 + jj) {
                exp2_f32(*p - m_new)
            } else {
                0.0
            };
            r += *p;
        }
        st.l = st.l * alpha + r;
        k.scale(&mut st.acc, alpha);
        let mut c0 = t0;
        while c0 < t1 {
            let c1 = (c0 + b.chunk).min(t1);
            part.iter_mut().for_each(|x| *x = 0.0);
            for j in (c0..c1).filter(|&j| kept(j)) {
                let p = tile[j - t0];
                let v = &hd.v[j * d..(j + 1) * d];
                match b.pv {
                    SagePv::Fp16 => k.fp16_mac(&mut part, f16::from_f32(p).to_f32(), v),
                    SagePv::Fp8F32 => k.mul_add(&mut part, e4m3_rne(p * 448.0), v),
                    SagePv::Fp8Fp16 => k.fp16_mac(&mut part, e4m3_rne(p * 448.0), v),
                }
            }
            for (a, bc) in st.acc.iter_mut().zip(&part) {
                *a += bc;
            }
            c0 = c1;
        }
        st.m = m_new;
        t0 = t1;
    }
    sage_finish(&st, hd.sv, o);
}

/// A SageAttention row's output: `acc / l`, times `sv_c / 448` on the FP8
/// paths, rounded to fp16. Sixteen channels at a time: the f32 steps in
/// loops that vectorise, the fp16 rounding by `vcvtps2ph`/`vcvtph2ps`
/// where the CPU has F16C (RNE, the instruction `half` uses there too)
/// instead of one library call per element.
fn sage_finish(st: &State, sv: &[f32], o: &mut [f64]) {
    const W: usize = 16;
    #[cfg(target_arch = "x86_64")]
    let f16c = isa::active().f16c;
    let mut y = [0.0f32; W];
    for (c0, (oc, ac)) in o.chunks_mut(W).zip(st.acc.chunks(W)).enumerate() {
        let n = oc.len();
        for (yc, a) in y.iter_mut().zip(ac) {
            *yc = a / st.l;
        }
        if !sv.is_empty() {
            for (yc, s) in y.iter_mut().zip(&sv[c0 * W..c0 * W + n]) {
                *yc *= s / 448.0;
            }
        }
        #[cfg(target_arch = "x86_64")]
        if f16c {
            // SAFETY: the CPU has F16C (checked above).
            unsafe { avx2::round_fp16_16(&mut y) };
        } else {
            y.iter_mut().for_each(|x| *x = f16::from_f32(*x).to_f32());
        }
        #[cfg(not(target_arch = "x86_64"))]
        y.iter_mut().for_each(|x| *x = f16::from_f32(*x).to_f32());
        for (oc, yc) in oc.iter_mut().zip(&y) {
            *oc = *yc as f64;
        }
    }
}

/// A SageAttention-style variant (`attention/sage-int8`, `sage2-fp8`,
/// `sage2pp-fp16acc`, `int4-qk`) at `level` on prepared heads: the output
/// (`heads × nq × d`) as f64.
///
/// # Panics
/// When `heads` or a head's tensors do not match `dims`, or a block size is
/// zero (a caller bug).
pub fn sage(heads: &[SageHead], dims: Dims, blocks: SageBlocks, level: IsaLevel) -> Vec<f64> {
    sage_masked(heads, None, dims, blocks, level)
}

/// [`sage`] with a block mask per head (`masks[h]`; `None`: dense): only
/// the kept keys enter each row's softmax and P·V (`sage_row` documents
/// how). The blocked kernels (AVX-512 and AVX2) take masks whose row blocks hold
/// whole blocks of its rows and whose tiles hold one or two whole key
/// blocks (kept keys then form one run per tile; SALE's 64 × 32 blocks
/// with 64-key tiles); other masks run the row kernel.
///
/// # Panics
/// As [`sage`]; also when a mask's blocks do not cover the shape.
pub fn sage_masked(
    heads: &[SageHead],
    masks: Option<&[SageMask]>,
    dims: Dims,
    blocks: SageBlocks,
    level: IsaLevel,
) -> Vec<f64> {
    let Dims { nq, nk, d, .. } = dims;
    check_sage(heads, dims, &blocks);
    if let Some(ms) = masks {
        assert_eq!(ms.len(), dims.heads);
        for m in ms {
            assert!(m.q_block > 0 && m.k_block > 0 && m.key_blocks >= nk.div_ceil(m.k_block));
            assert!(m.kept.len() >= nq.div_ceil(m.q_block) * m.key_blocks);
        }
    }
    let mut out = vec![0.0f64; dims.heads * nq * d];
    // The block's mask row and key block, for head h's rows from i0.
    #[cfg(target_arch = "x86_64")]
    let keep = |h: usize, i0: usize| masks.map(|ms| (ms[h].row(i0 / ms[h].q_block), ms[h].k_block));
    #[cfg(target_arch = "x86_64")]
    match blocked_sage(level, &blocks, d) {
        Some(Blocked::Avx512)
            if masks.is_none_or(|ms| {
                ms.iter()
                    .all(|m| sageblk::serves_mask::<sage512::Avx512>(&blocks, m))
            }) =>
        {
            sage_blocks::<sage512::Avx512, _>(heads, dims, blocks, &mut out, d, |h, kp, i0, o| {
                // SAFETY: `blocked_sage` checked the CPU and the blocks; `kp`
                // packs head `h`; `o` holds the block's rows; the mask is served.
                unsafe { sage512::sage_block(&heads[h], kp, dims, blocks, keep(h, i0), i0, o) }
            });
            return out;
        }
        Some(Blocked::Avx2)
            if masks.is_none_or(|ms| {
                ms.iter()
                    .all(|m| sageblk::serves_mask::<sage256::Avx2Blk>(&blocks, m))
            }) =>
        {
            sage_blocks::<sage256::Avx2Blk, _>(heads, dims, blocks, &mut out, d, |h, kp, i0, o| {
                // SAFETY: as the AVX-512 arm's, for AVX2, FMA and F16C.
                unsafe { sage256::sage_block(&heads[h], kp, dims, blocks, keep(h, i0), i0, o) }
            });
            return out;
        }
        _ => {}
    }
    let f = isa::active();
    let (fma, f16c) = (f.fma, f.f16c);
    out.par_chunks_mut(d.max(1))
        .with_min_len(4)
        .enumerate()
        .for_each(|(r, o)| {
            let (h, i) = (r / nq, r % nq);
            let hd = &heads[h];
            let m = masks.map(|ms| &ms[h]);
            isa::dispatch!(level,
                // SAFETY: this arm runs only on CPUs with AVX2; FMA and F16C were checked.
                avx2 => if fma && f16c { unsafe { avx2::sage_row(hd, dims, blocks, m, i, o) } } else { sage_row(&Scalar, hd, dims, blocks, m, i, o) },
                scalar => sage_row(&Scalar, hd, dims, blocks, m, i, o),
            )
        });
    out
}

/// Which steps [`sage`]'s blocked kernel runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blocked {
    /// AVX-512 with VNNI (`vpdpbusd`).
    Avx512,
    /// AVX2 (`vpmaddwd`).
    Avx2,
}

/// The blocked kernel [`sage`] runs at `level`, if any: the AVX-512 steps
/// at the AVX-512 level with VNNI, else the AVX2 steps from the AVX2 level
/// up (both with FMA and F16C; tiles on the steps' packed groups).
fn blocked_sage(level: IsaLevel, blocks: &SageBlocks, d: usize) -> Option<Blocked> {
    #[cfg(target_arch = "x86_64")]
    {
        let f = isa::active();
        let at = isa::supported(level);
        if d == 0 || !(f.fma && f.f16c) {
            None
        } else if at == IsaLevel::Avx512
            && f.avx512vnni
            && sageblk::serves::<sage512::Avx512>(blocks)
        {
            Some(Blocked::Avx512)
        } else if at >= IsaLevel::Avx2 && f.avx2 && sageblk::serves::<sage256::Avx2Blk>(blocks) {
            Some(Blocked::Avx2)
        } else {
            None
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (level, blocks, d);
        None
    }
}

/// Only the Q·Kᵀ phase of [`sage`]'s blocked kernel (K packing and every
/// visible tile's scores, nothing after), for timing that phase apart:
/// `None` where the blocked kernel does not run at `level`. Returns a
/// checksum of the scores.
///
/// # Panics
/// As [`sage`].
pub fn sage_qk(heads: &[SageHead], dims: Dims, blocks: SageBlocks, level: IsaLevel) -> Option<f32> {
    check_sage(heads, dims, &blocks);
    let which = blocked_sage(level, &blocks, dims.d)?;
    #[cfg(target_arch = "x86_64")]
    {
        // One checksum per query row, written by the row's block.
        let mut sums = vec![0.0f32; dims.heads * dims.nq];
        match which {
            Blocked::Avx512 => {
                sage_blocks::<sage512::Avx512, _>(
                    heads,
                    dims,
                    blocks,
                    &mut sums,
                    1,
                    |h, kp, i0, o| {
                        // SAFETY: `blocked_sage` checked the CPU and the blocks.
                        o[0] =
                            unsafe { sage512::qk_block(&heads[h], kp, dims, blocks, i0, o.len()) };
                    },
                )
            }
            Blocked::Avx2 => {
                sage_blocks::<sage256::Avx2Blk, _>(
                    heads,
                    dims,
                    blocks,
                    &mut sums,
                    1,
                    |h, kp, i0, o| {
                        // SAFETY: `blocked_sage` checked the CPU and the blocks.
                        o[0] =
                            unsafe { sage256::qk_block(&heads[h], kp, dims, blocks, i0, o.len()) };
                    },
                )
            }
        }
        Some(sums.iter().sum())
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = which;
        None
    }
}

/// The shape checks of [`sage`] and [`sage_qk`].
fn check_sage(heads: &[SageHead], dims: Dims, blocks: &SageBlocks) {
    let Dims { nq, nk, d, .. } = dims;
    assert_eq!(heads.len(), dims.heads);
    assert!(blocks.q_block > 0 && blocks.k_block > 0 && blocks.tile > 0 && blocks.chunk > 0);
    for h in heads {
        assert!(h.q.len() == nq * d && h.k.len() == nk * d && h.v.len() == nk * d);
        assert!(h.sv.is_empty() || h.sv.len() == d);
    }
}

/// The blocked kernel's walk: K packed once per head for steps `S`, then
/// every block of up to [`sageblk::QB`] query rows of every head in
/// parallel, each given its head's index, the packed K, its first row and
/// its part of `out` (laid out `heads × nq × per_row`).
#[cfg(target_arch = "x86_64")]
fn sage_blocks<S: sageblk::Steps, O: Send>(
    heads: &[SageHead],
    dims: Dims,
    blocks: SageBlocks,
    out: &mut [O],
    per_row: usize,
    block: impl Fn(usize, &sageblk::PackedK<S::Code>, usize, &mut [O]) + Sync,
) {
    let Dims { nq, nk, d, .. } = dims;
    let packed: Vec<sageblk::PackedK<S::Code>> = heads
        .par_iter()
        .map(|h| sageblk::pack::<S>(h, nk, d, blocks.k_block))
        .collect();
    out.par_chunks_mut((nq * per_row).max(1))
        .enumerate()
        .for_each(|(h, oh)| {
            oh.par_chunks_mut(sageblk::QB * per_row)
                .enumerate()
                .for_each(|(bi, o)| block(h, &packed[h], bi * sageblk::QB, o))
        });
}
