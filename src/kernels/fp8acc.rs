//! The FP8 E4M3 accumulator kernels (`matmul/fp8-e4m3-exact`,
//! `matmul/fp8-e4m3-acc-e8m13`, `matmul/fp8-e4m3-chunk128`): E4M3 activation
//! and weight values (quantized by the variant), each output's exact
//! products `a·w` summed by one of two registers ([`Fp8Register`]):
//!
//! - **exact** (Kulisch): the exact sum, rounded once to f32 (RNE);
//! - **e8m13 rtz**: a float register of 14 significant bits (8 exponent
//!   bits, 13 stored mantissa bits) that truncates toward zero after every
//!   add in K order, from +0; optionally promoted into an f32 sum (RNE add)
//!   every `chunk` products (DeepSeek-V3's 128).
//!
//! Why integers describe both: an E4M3 value is `sig · 2^(e−10)` with
//! `sig < 16` and the exponent at least `1 − 10 = −9` (the smallest
//! subnormal is 2^−9), so it is an integer multiple of 2^−9 below 2^18 · 2^−9
//! (448 = 229376 · 2^−9), and a product of two is an integer multiple of
//! 2^−18 with magnitude at most 448² = 200704 < 2^17.62. Every sum of
//! products, and every rtz rounding of one (which keeps the leading 14 bits
//! of a value ≥ 2^−18, a normal e8m13 number), stays a multiple of 2^−18.
//!
//! Weights are packed as fp16 codes (every E4M3 value is exact in fp16: its
//! exponents 2^−9..2^8 are inside fp16's normal range) in panels of 8 output
//! channels, K-major, as [`super::fp16acc`]; lanes run across the 8 outputs.
//!
//! **Exact.** The scalar path is the obvious one: the integer sum of
//! `(a·2^9)·(w·2^9)` in i128 (no bound on K), converted to f32 with one
//! correct rounding and scaled by 2^−18 (exact). The AVX2 path sums the f32
//! products (exact: ≤ 8 significant bits) in f64 lanes, in any order:
//! every partial sum is a multiple of 2^−18 of magnitude at most
//! `K · 200704`, so while `K ≤ 2^17` ([`EXACT_F64_MAX_K`]: `2^17 · 200704 <
//! 2^35`) it has at most 53 significant bits and every f64 add is exact.
//! Beyond that bound the AVX2 path takes the scalar one (exactness first).
//! Signed zeros as the Kulisch register: −0 only when every product is −0
//! (IEEE adds starting from −0 give that in any order), +0 for K = 0.
//!
//! **e8m13 rtz.** The scalar path is the obvious one: the register as an
//! integer multiple of 2^−18 (i128), `s = acc + p` exactly, then `|s|` cut to
//! its leading 14 bits. The AVX2 path works on f32 lanes: `s = f32(acc + p)`
//! (RNE), `e = (acc + p) − s` by Knuth's TwoSum (exact), and the register is
//! `s` with its 10 low mantissa bits cleared (truncation of the magnitude:
//! toward zero) — except where `s` is itself a 14-bit value (low 10 bits
//! zero), `e ≠ 0` and `e` points toward zero: there the f32 rounding went up
//! across the 14-bit boundary and the register is the 14-bit value below `s`
//! (its bits minus `0x400`, which crosses a binade correctly). Why that is
//! all: RNE into f32 is monotonic and every 14-bit value is an f32, so the
//! exact sum and `s` lie between the same two 14-bit neighbours unless `s`
//! landed on one. Both forms keep IEEE's zero signs (an exact cancellation
//! is +0; the register starts at +0 and never holds −0) and carry NaN through.
//! Each step is branch-free: the TwoSum costs five f32 operations per
//! vector, on top of the multiply and add.

use super::fp16acc::{f16_to_f32, f32_to_f16};
use super::seqtile::{self, Plan, Tile};
use crate::isa::{self, IsaLevel};
use rayon::prelude::*;

/// Output channels per panel (f32 lanes of a 256-bit register).
pub const LANES: usize = 8;

/// Largest K for which the AVX2 exact path's f64 sums are provably exact
/// (see the module docs); longer K takes the integer path.
pub const EXACT_F64_MAX_K: usize = 1 << 17;

/// 2^18: one product unit (2^−18) per integer step.
const UNIT: f64 = 262_144.0;

/// How the kernel's register sums each output's products.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fp8Register {
    /// Kulisch register: the exact sum, rounded once to f32 (RNE).
    Exact,
    /// e8m13 with round-toward-zero adds, from +0; `chunk`: promoted into an
    /// f32 sum (RNE) every `chunk` products (a divisor of [`seqtile::KC`]).
    E8m13Rtz {
        /// Products per promotion (`None`: all of K in the register).
        chunk: Option<usize>,
    },
}

impl Fp8Register {
    /// Whether this kernel can run the register (chunks must divide the
    /// task driver's K chunk so every chunk starts a register afresh).
    pub fn supported(self) -> bool {
        match self {
            Fp8Register::Exact | Fp8Register::E8m13Rtz { chunk: None } => true,
            Fp8Register::E8m13Rtz { chunk: Some(c) } => c > 0 && seqtile::KC.is_multiple_of(c),
        }
    }
}

/// Packed weights of the FP8 accumulator kernels.
#[derive(Debug, Clone, PartialEq)]
pub struct Fp8AccKernel {
    n: usize,
    k: usize,
    panels: usize,
    reg: Fp8Register,
    /// `[panel][k][8]` fp16 codes of the E4M3 values (padding lanes hold +0).
    data: Vec<u16>,
}

/// Register tile shapes (as [`super::fp16acc`]): 8 chains per tile where rows allow.
fn tile_panels(r: usize) -> usize {
    match r {
        1 => 8,
        2 => 4,
        _ => 2,
    }
}

const PLAN: Plan = Plan {
    tile_rows: 4,
    task_panels: 8,
    tile_panels,
};

/// Whether `x` is an E4M3 value (or NaN): a multiple of 2^−9 with at most 4
/// significant bits and magnitude at most 448.
pub fn is_e4m3_value(x: f32) -> bool {
    if x.is_nan() {
        return true;
    }
    let y = x.abs() as f64 * 512.0;
    if y > 229_376.0 || y.fract() != 0.0 {
        return false;
    }
    let i = y as u64;
    i == 0 || 64 - i.leading_zeros() - i.trailing_zeros() <= 4
}

impl Fp8AccKernel {
    /// Packs weight values (`n × k`, row-major), each an E4M3 value or NaN
    /// (the variant's quantizer has run).
    ///
    /// # Panics
    /// On a value that is not an E4M3 value, or an unsupported register.
    pub fn pack(values: &[f32], n: usize, k: usize, reg: Fp8Register) -> Fp8AccKernel {
        assert_eq!(values.len(), n * k, "fp8-acc: weights must be n × k");
        assert!(reg.supported(), "fp8-acc: unsupported register {reg:?}");
        let panels = n.div_ceil(LANES);
        let mut data = vec![0u16; panels * k * LANES];
        for j in 0..n {
            for kk in 0..k {
                let v = values[j * k + kk];
                assert!(
                    is_e4m3_value(v),
                    "fp8-acc: weight {v:e} is not an E4M3 value"
                );
                data[((j / LANES) * k + kk) * LANES + j % LANES] = f32_to_f16(v);
            }
        }
        Fp8AccKernel {
            n,
            k,
            panels,
            reg,
            data,
        }
    }

    /// Reduction length.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Output channels.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Bytes of packed weights one product streams.
    pub fn bytes(&self) -> usize {
        2 * self.data.len()
    }

    /// The registers' final values (`m × n`, as f32 values in f64) for
    /// activation values `a` (`m × k`, each an E4M3 value or NaN), at `level`.
    pub fn run(&self, a: &[f32], m: usize, level: IsaLevel) -> Vec<f64> {
        assert_eq!(a.len(), m * self.k, "fp8-acc: A must be m × k");
        debug_assert!(a.iter().all(|&x| is_e4m3_value(x)));
        match self.reg {
            Fp8Register::Exact => self.run_exact(a, m, level),
            Fp8Register::E8m13Rtz { chunk } => self.run_rtz(a, m, chunk, level),
        }
    }

    fn panel(&self, p: usize) -> &[u16] {
        let plen = self.k * LANES;
        &self.data[p * plen..(p + 1) * plen]
    }

    fn run_rtz(&self, a: &[f32], m: usize, chunk: Option<usize>, level: IsaLevel) -> Vec<f64> {
        let k = self.k;
        seqtile::run::<LANES, _>(m, self.n, k, self.panels, PLAN, |t: &Tile, regs| {
            let w: Vec<&[u16]> = (t.p..t.p + t.q).map(|p| self.panel(p)).collect();
            let rows: Vec<&[f32]> = (t.i..t.i + t.r).map(|i| &a[i * k..(i + 1) * k]).collect();
            match chunk {
                None => rtz_sums(level, &w, &rows, t.ks.clone(), regs),
                Some(c) => {
                    // `ks` starts at a multiple of KC, hence of c: each piece
                    // is one whole chunk (or the tail of K).
                    debug_assert_eq!(t.ks.start % c, 0);
                    let mut inner = vec![[0f32; LANES]; regs.len()];
                    let mut s = t.ks.start;
                    while s < t.ks.end {
                        let e = (s + c).min(t.ks.end);
                        inner.iter_mut().for_each(|r| *r = [0.0; LANES]);
                        rtz_sums(level, &w, &rows, s..e, &mut inner);
                        for (o, i) in regs.iter_mut().zip(&inner) {
                            for l in 0..LANES {
                                o[l] += i[l];
                            }
                        }
                        s = e;
                    }
                }
            }
        })
    }

    fn run_exact(&self, a: &[f32], m: usize, level: IsaLevel) -> Vec<f64> {
        let (n, k) = (self.n, self.k);
        let mut out = vec![0f64; m * n];
        if m == 0 || n == 0 {
            return out;
        }
        // Tasks: up to 4 rows × one panel, whole K (the sum is exact, so no
        // state needs to survive between tasks).
        let tiles = m.div_ceil(4);
        let parts: Vec<(usize, usize, Vec<[f32; LANES]>)> = (0..tiles * self.panels)
            .into_par_iter()
            .map(|t| {
                let (ti, p) = (t % tiles, t / tiles);
                let rows = ti * 4..(ti * 4 + 4).min(m);
                let ar: Vec<&[f32]> = rows.clone().map(|i| &a[i * k..(i + 1) * k]).collect();
                (rows.start, p, exact_sums(level, self.panel(p), &ar))
            })
            .collect();
        for (i0, p, regs) in parts {
            for (r, lanes) in regs.iter().enumerate() {
                for (l, &v) in lanes.iter().enumerate() {
                    let j = p * LANES + l;
                    if j < n {
                        out[(i0 + r) * n + j] = v as f64;
                    }
                }
            }
        }
        out
    }
}

/// The integer of an E4M3 value in units of 2^−9 (exact).
#[inline]
fn units9(x: f32) -> i64 {
    (x as f64 * 512.0) as i64
}

/// `Σ a[k]·w[k]` exactly (i128 in units of 2^−18), rounded once to f32:
/// the obvious Kulisch register on one output.
pub fn exact_dot(a: impl Iterator<Item = f32>, w: impl Iterator<Item = f32>) -> f32 {
    let mut sum: i128 = 0;
    let (mut any, mut only_neg_zeros, mut nan) = (false, true, false);
    for (x, y) in a.zip(w) {
        any = true;
        if x.is_nan() || y.is_nan() {
            nan = true;
            continue;
        }
        let p = units9(x) * units9(y);
        only_neg_zeros &= p == 0 && (x.is_sign_negative() != y.is_sign_negative());
        sum += p as i128;
    }
    if nan {
        return f32::NAN;
    }
    if sum == 0 {
        return if any && only_neg_zeros { -0.0 } else { 0.0 };
    }
    // `as f32` rounds the integer once (RNE); 2^−18 scales exactly.
    (sum as f32) * (1.0 / UNIT as f32)
}

/// `acc + x·w` in the e8m13 rtz register, written the obvious way: the
/// register and the product as integers in units of 2^−18, the exact sum
/// cut to its leading 14 bits (toward zero).
pub fn rtz_step(acc: f32, x: f32, w: f32) -> f32 {
    if acc.is_nan() || x.is_nan() || w.is_nan() {
        return f32::NAN;
    }
    let s = (acc as f64 * UNIT) as i128 + (units9(x) * units9(w)) as i128;
    if s == 0 {
        return 0.0;
    }
    let mut mag = s.unsigned_abs();
    let bits = 128 - mag.leading_zeros();
    if bits > 14 {
        let sh = bits - 14;
        mag = (mag >> sh) << sh;
    }
    // 14 significant bits: exact in f64 and in f32.
    let v = (mag as f64 / UNIT) as f32;
    if s < 0 {
        -v
    } else {
        v
    }
}

/// Exact sums of up to 4 rows against one panel, rounded to f32.
fn exact_sums(level: IsaLevel, wp: &[u16], a: &[&[f32]]) -> Vec<[f32; LANES]> {
    let k = a.first().map_or(0, |r| r.len());
    if k > EXACT_F64_MAX_K {
        return exact_sums_scalar(wp, a);
    }
    isa::dispatch!(level,
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2; F16C is checked.
        avx2 => if isa::active().f16c {
            unsafe { avx2::exact_sums(wp, a) }
        } else {
            exact_sums_scalar(wp, a)
        },
        scalar => exact_sums_scalar(wp, a),
    )
}

/// The portable exact path: [`exact_dot`] per output.
fn exact_sums_scalar(wp: &[u16], a: &[&[f32]]) -> Vec<[f32; LANES]> {
    a.iter()
        .map(|ar| {
            std::array::from_fn(|l| {
                exact_dot(
                    ar.iter().copied(),
                    (0..ar.len()).map(|kk| f16_to_f32(wp[kk * LANES + l])),
                )
            })
        })
        .collect()
}

/// Advances the e8m13 registers (`[row][panel]`) of a tile over `ks`.
fn rtz_sums(
    level: IsaLevel,
    w: &[&[u16]],
    a: &[&[f32]],
    ks: std::ops::Range<usize>,
    regs: &mut [[f32; LANES]],
) {
    isa::dispatch!(level,
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2; F16C is checked.
        avx2 => if isa::active().f16c {
            unsafe { avx2::rtz_sums(w, a, ks, regs) }
        } else {
            rtz_sums_scalar(w, a, ks, regs)
        },
        scalar => rtz_sums_scalar(w, a, ks, regs),
    )
}

/// The portable e8m13 path: [`rtz_step`] per lane and K step.
fn rtz_sums_scalar(
    w: &[&[u16]],
    a: &[&[f32]],
    ks: std::ops::Range<usize>,
    regs: &mut [[f32; LANES]],
) {
    let q = w.len();
    for (t, ar) in a.iter().enumerate() {
        for (u, wp) in w.iter().enumerate() {
            let reg = &mut regs[t * q + u];
            for kk in ks.clone() {
                for (l, acc) in reg.iter_mut().enumerate() {
                    *acc = rtz_step(*acc, ar[kk], f16_to_f32(wp[kk * LANES + l]));
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(clippy::needless_range_loop)] // stage-by-stage loops index several arrays
mod avx2 {
    use super::LANES;
    use std::arch::x86_64::*;

    /// One e8m13 rtz step on `N` registers of 8 lanes (see the module docs):
    /// TwoSum, truncation of `s` to 14 bits, one 14-bit step down where `s`
    /// is a 14-bit value above the exact sum.
    #[inline(always)]
    unsafe fn steps<const N: usize>(acc: &mut [__m256; N], p: &[__m256; N]) {
        let z = _mm256_setzero_ps();
        let low = _mm256_set1_epi32(0x3ff);
        let step = _mm256_set1_epi32(0x400);
        let zi = _mm256_setzero_si256();
        let (mut s, mut bb, mut err) = ([z; N], [z; N], [z; N]);
        for i in 0..N {
            s[i] = _mm256_add_ps(acc[i], p[i]);
        }
        for i in 0..N {
            bb[i] = _mm256_sub_ps(s[i], acc[i]);
        }
        for i in 0..N {
            let t = _mm256_sub_ps(s[i], bb[i]);
            let u = _mm256_sub_ps(p[i], bb[i]);
            err[i] = _mm256_add_ps(_mm256_sub_ps(acc[i], t), u);
        }
        for i in 0..N {
            let si = _mm256_castps_si256(s[i]);
            // All ones where err is a nonzero number (false for NaN).
            let inexact = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_NEQ_OQ>(err[i], z));
            // All ones where err and s differ in sign (|exact| < |s|).
            let below = _mm256_srai_epi32::<31>(_mm256_xor_si256(_mm256_castps_si256(err[i]), si));
            // All ones where s is a 14-bit value.
            let on14 = _mm256_cmpeq_epi32(_mm256_and_si256(si, low), zi);
            let down = _mm256_and_si256(_mm256_and_si256(inexact, below), on14);
            let t = _mm256_andnot_si256(low, si);
            acc[i] = _mm256_castsi256_ps(_mm256_sub_epi32(t, _mm256_and_si256(down, step)));
        }
    }

    /// An e8m13 tile of `R` rows × `P` panels over `ks`.
    #[inline(always)]
    unsafe fn tile<const R: usize, const P: usize, const N: usize>(
        w: &[&[u16]],
        a: &[&[f32]],
        ks: std::ops::Range<usize>,
        regs: &mut [[f32; LANES]],
    ) {
        assert!(a.len() == R && w.len() == P && regs.len() == R * P && N == R * P);
        assert!(a.iter().all(|r| r.len() >= ks.end));
        assert!(w.iter().all(|p| p.len() >= ks.end * LANES));
        // Register r·P + q: row r, panel q.
        let mut acc: [__m256; N] = std::array::from_fn(|i| _mm256_loadu_ps(regs[i].as_ptr()));
        let wp: [*const u16; P] = std::array::from_fn(|q| w[q].as_ptr());
        let ap: [*const f32; R] = std::array::from_fn(|r| a[r].as_ptr());
        let z = _mm256_setzero_ps();
        let (mut wv, mut x, mut p) = ([z; P], [z; R], [z; N]);
        for kk in ks {
            // SAFETY: bounds asserted above.
            for q in 0..P {
                wv[q] = _mm256_cvtph_ps(_mm_loadu_si128(wp[q].add(kk * LANES) as *const __m128i));
            }
            for r in 0..R {
                x[r] = _mm256_broadcast_ss(&*ap[r].add(kk));
            }
            // Exact: E4M3 products have ≤ 8 significant bits, in [2^−18, 2^18).
            for i in 0..N {
                p[i] = _mm256_mul_ps(x[i / P], wv[i % P]);
            }
            steps(&mut acc, &p);
        }
        for (i, v) in acc.iter().enumerate() {
            _mm256_storeu_ps(regs[i].as_mut_ptr(), *v);
        }
    }

    /// The AVX2 e8m13 tile for the shapes [`super::tile_panels`] plans (and single panels).
    #[target_feature(enable = "avx2,f16c")]
    pub unsafe fn rtz_sums(
        w: &[&[u16]],
        a: &[&[f32]],
        ks: std::ops::Range<usize>,
        regs: &mut [[f32; LANES]],
    ) {
        match (a.len(), w.len()) {
            (1, 8) => tile::<1, 8, 8>(w, a, ks, regs),
            (2, 4) => tile::<2, 4, 8>(w, a, ks, regs),
            (3, 2) => tile::<3, 2, 6>(w, a, ks, regs),
            (4, 2) => tile::<4, 2, 8>(w, a, ks, regs),
            (1, 1) => tile::<1, 1, 1>(w, a, ks, regs),
            (2, 1) => tile::<2, 1, 2>(w, a, ks, regs),
            (3, 1) => tile::<3, 1, 3>(w, a, ks, regs),
            (4, 1) => tile::<4, 1, 4>(w, a, ks, regs),
            _ => super::rtz_sums_scalar(w, a, ks, regs),
        }
    }

    /// Exact sums of `R` rows against one panel, `PH` K phases (independent
    /// f64 chains; the sums are exact, so their order is free).
    #[inline(always)]
    unsafe fn exact_tile<const R: usize, const PH: usize>(
        wp: &[u16],
        a: &[&[f32]],
    ) -> Vec<[f32; LANES]> {
        let k = a[0].len();
        assert!(a.len() == R && a.iter().all(|r| r.len() == k) && wp.len() >= k * LANES);
        let nz = _mm256_set1_pd(-0.0);
        // Chains start at −0, the identity of IEEE addition: the sum is −0
        // only when every product is −0, as the Kulisch register's.
        let mut acc = [[[nz; 2]; R]; PH];
        let w = wp.as_ptr();
        let mut kk = 0;
        while kk < k {
            let e = (kk + PH).min(k);
            for ph in 0..e - kk {
                // SAFETY: kk + ph < k; bounds asserted above.
                let wv =
                    _mm256_cvtph_ps(_mm_loadu_si128(w.add((kk + ph) * LANES) as *const __m128i));
                for r in 0..R {
                    let x = _mm256_broadcast_ss(a[r].get_unchecked(kk + ph));
                    let p = _mm256_mul_ps(x, wv);
                    let c = &mut acc[ph][r];
                    c[0] = _mm256_add_pd(c[0], _mm256_cvtps_pd(_mm256_castps256_ps128(p)));
                    c[1] = _mm256_add_pd(c[1], _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(p)));
                }
            }
            kk = e;
        }
        let mut out = vec![[0f32; LANES]; R];
        for r in 0..R {
            let mut s = acc[0][r];
            for ph in 1..PH {
                s[0] = _mm256_add_pd(s[0], acc[ph][r][0]);
                s[1] = _mm256_add_pd(s[1], acc[ph][r][1]);
            }
            let mut v = [0f64; LANES];
            _mm256_storeu_pd(v.as_mut_ptr(), s[0]);
            _mm256_storeu_pd(v.as_mut_ptr().add(4), s[1]);
            for l in 0..LANES {
                // One RNE rounding of the exact sum; K = 0 gives +0.
                out[r][l] = if k == 0 { 0.0 } else { v[l] as f32 };
            }
        }
        out
    }

    /// The AVX2 exact path for 1–4 rows (8 f64 chains each).
    #[target_feature(enable = "avx2,f16c")]
    pub unsafe fn exact_sums(wp: &[u16], a: &[&[f32]]) -> Vec<[f32; LANES]> {
        match a.len() {
            1 => exact_tile::<1, 4>(wp, a),
            2 => exact_tile::<2, 2>(wp, a),
            3 => exact_tile::<3, 1>(wp, a),
            _ => exact_tile::<4, 1>(wp, a),
        }
    }
}
