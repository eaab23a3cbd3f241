//! The fp16-accumulator kernel (`matmul/fp16-acc-fp16`): fp16 activations
//! (rounded RNE inside) and fp16 weights, each output's exact products added
//! in K order into an fp16 register that rounds RNE after every add, from +0.
//!
//! Lanes run across 8 output channels (panels of 8 weight rows, K-major,
//! stored as fp16 codes and widened with `vcvtph2ps`). Per K step and lane:
//!
//! 1. `p = a · w` in f32: **exact** (two fp16 values have ≤ 11 significant
//!    bits each, so the product has ≤ 22; its magnitude lies in
//!    `[2^−48, 65504²] ⊂` the normal f32 range);
//! 2. `s = f32(acc + p)`, then `acc = fp16(s)` with RNE (`vcvtps2ph` imm 0,
//!    which rounds once, keeps fp16 subnormals and overflows to ±inf).
//!
//! Step 2 rounds twice, and with 22-bit products double rounding does go
//! wrong — but only when `s` is an fp16 tie. Why: RNE into f32 is monotonic
//! and every fp16 tie (the midpoints between adjacent fp16 values, the
//! subnormal ones and 65520 included) is itself an f32 value, so an exact
//! sum below a tie gives `s ≤` the tie and one above gives `s ≥` it; if `s`
//! is not a tie, `s` and the exact sum lie strictly between the same two
//! ties and round to the same fp16 value. So each lane checks whether `s`
//! may be a tie: in the fp16 normal range a tie has low 13 bits `0x1000`;
//! below 2^−14 (fp16 subnormal ties, and zero) every lane counts,
//! conservatively. When any lane of a register tile may be one (about one
//! step in a hundred on random data), that step is redone exactly:
//!
//! - `e = (acc + p) − s` by Knuth's TwoSum (6 f32 operations, exact for any
//!   finite operands whose sum does not overflow: here `|s| < 2^33`);
//! - `s` **rounded to odd** at 24 bits: where `e ≠ 0` and `s` is even, `s`
//!   moves one ulp toward `e` (an integer ±1 on its bits);
//! - `acc = fp16(s)`. Round to odd at `p` bits followed by RNE at `q ≤ p − 2`
//!   bits equals one RNE rounding of the exact value (Boldo & Melquiond,
//!   "Emulation of FMA and correctly rounded sums: proved algorithms using
//!   rounding to odd", 2008); fp16 keeps at most 11 bits at every exponent
//!   where f32 keeps 24, subnormal fp16 results included.
//!
//! Signed zeros follow IEEE in both forms: `+0 + −0 = +0`, `−0 + −0 = −0`,
//! an exact cancellation is +0 and a nonzero sum rounding to zero keeps its
//! sign — as in the emulation's f64 adds. Infinities and NaN pass through
//! (in the exact form `e` is NaN, and the ordered compare `e ≠ 0` is false,
//! so nothing is adjusted).
//!
//! The portable path runs the same two forms in scalar f32 with a bitwise
//! fp16 rounding ([`f32_to_f16`]); both are compared with the variant's
//! emulation (f64 round-to-odd adds and a generic rounding) in the tests.

use super::quant;
use super::seqtile::{self, Plan, Tile};
use crate::formats::parse::FP16;
use crate::isa::{self, IsaLevel};

/// Output channels per panel (f32 lanes of a 256-bit register).
pub const LANES: usize = 8;

/// Packed weights of the fp16-accumulator kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct Fp16AccKernel {
    n: usize,
    k: usize,
    panels: usize,
    /// `[panel][k][8]` fp16 codes (padding lanes hold +0).
    data: Vec<u16>,
}

/// Register tile shapes: 8 independent chains per tile where rows allow.
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

impl Fp16AccKernel {
    /// Packs weight values (`n × k`, row-major), each exactly an fp16 value
    /// (the variant's RNE cast has run).
    pub fn pack(values: &[f32], n: usize, k: usize) -> Fp16AccKernel {
        assert_eq!(values.len(), n * k, "fp16-acc: weights must be n × k");
        let panels = n.div_ceil(LANES);
        let mut data = vec![0u16; panels * k * LANES];
        for j in 0..n {
            for kk in 0..k {
                data[((j / LANES) * k + kk) * LANES + j % LANES] = f32_to_f16(values[j * k + kk]);
            }
        }
        Fp16AccKernel { n, k, panels, data }
    }

    /// Reduction length.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Bytes of packed weights one product streams.
    pub fn bytes(&self) -> usize {
        2 * self.data.len()
    }

    /// `a · wᵀ` for `a` (`m × k` f32): activations rounded to fp16 inside.
    pub fn matmul(&self, a: &[f32], m: usize) -> Vec<f64> {
        let a = quant::cast_rows(&FP16, a);
        self.run(&a, m, isa::effective())
    }

    /// The product on activations that are already fp16 values, at `level`.
    pub fn run(&self, a: &[f32], m: usize, level: IsaLevel) -> Vec<f64> {
        assert_eq!(a.len(), m * self.k, "fp16-acc: A must be m × k");
        let k = self.k;
        let plen = k * LANES;
        seqtile::run::<LANES, _>(m, self.n, k, self.panels, PLAN, |t: &Tile, regs| {
            let w: Vec<&[u16]> = (t.p..t.p + t.q)
                .map(|p| &self.data[p * plen..(p + 1) * plen])
                .collect();
            let rows: Vec<&[f32]> = (t.i..t.i + t.r).map(|i| &a[i * k..(i + 1) * k]).collect();
            sums(level, &w, &rows, t.ks.clone(), regs);
        })
    }
}

/// Advances the registers (`[row][panel]`) of a tile over `ks`.
fn sums(
    level: IsaLevel,
    w: &[&[u16]],
    a: &[&[f32]],
    ks: std::ops::Range<usize>,
    regs: &mut [[f32; LANES]],
) {
    // The AVX2 path needs F16C; every AVX2 CPU known has it, but one without
    // takes the portable path.
    let f16c = isa::active().f16c;
    isa::dispatch!(level,
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2; F16C was checked above.
        avx2 => if f16c {
            unsafe { avx2::sums(w, a, ks, regs) }
        } else {
            sums_scalar(w, a, ks, regs)
        },
        scalar => sums_scalar(w, a, ks, regs),
    )
}

/// The portable path (and the plain statement of each lane's chain).
fn sums_scalar(w: &[&[u16]], a: &[&[f32]], ks: std::ops::Range<usize>, regs: &mut [[f32; LANES]]) {
    let q = w.len();
    for (t, ar) in a.iter().enumerate() {
        for (u, wp) in w.iter().enumerate() {
            let reg = &mut regs[t * q + u];
            for kk in ks.clone() {
                let x = ar[kk];
                for (l, acc) in reg.iter_mut().enumerate() {
                    *acc = step_fp16(*acc, x * f16_to_f32(wp[kk * LANES + l]));
                }
            }
        }
    }
}

/// [`add_fp16`] in the two forms of the AVX2 path: `fp16(f32(acc + p))`
/// where the f32 sum is not an fp16 tie and not below 2^−14 (NaN included),
/// else the exact form.
#[inline]
fn step_fp16(acc: f32, p: f32) -> f32 {
    let s = acc + p;
    let b = s.to_bits();
    if b & 0x1fff == 0x1000 || s.is_nan() || s.abs() < f32::from_bits(0x3880_0000) {
        return add_fp16(acc, p);
    }
    if b & 0x7fff_ffff >= 0x477f_f000 {
        // ≥ 65520 (inf included): RNE overflows to inf.
        return f32::from_bits((b & 0x8000_0000) | 0x7f80_0000);
    }
    // fp16 normal range: drop 13 mantissa bits RNE (a carry runs into the exponent).
    f32::from_bits((b + 0xfff + ((b >> 13) & 1)) & !0x1fff)
}

/// `fp16_RNE(acc + p)` of the exact sum, for an fp16 value `acc` and an
/// exact product `p` (both as f32): TwoSum, round to odd, one rounding.
#[inline]
pub fn add_fp16(acc: f32, p: f32) -> f32 {
    let s = acc + p;
    let bb = s - acc;
    let err = (acc - (s - bb)) + (p - bb);
    let mut b = s.to_bits();
    // `err` is NaN when an operand is infinite or NaN: nothing to adjust.
    if !err.is_nan() && err != 0.0 && b & 1 == 0 {
        if (err.to_bits() ^ b) >> 31 == 0 {
            b += 1;
        } else {
            b -= 1;
        }
    }
    f16_to_f32(f32_to_f16(f32::from_bits(b)))
}

/// The fp16 code of `x` rounded RNE (overflow to ±inf, subnormals kept,
/// NaN to a quiet NaN of the same sign).
pub fn f32_to_f16(x: f32) -> u16 {
    let b = x.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    let a = b & 0x7fff_ffff;
    if a > 0x7f80_0000 {
        return sign | 0x7e00;
    }
    if a >= 0x477f_f000 {
        // ≥ 65520, the tie above 65504, which RNE sends to 65536: inf.
        return sign | 0x7c00;
    }
    if a < 0x3880_0000 {
        // Below 2^−14: the subnormal code is RNE(|x| · 2^24); the scaling is
        // exact and adding 2^23 rounds a value below 2^10 to an integer (RNE).
        let y = f32::from_bits(a) * 16_777_216.0;
        let r = (y + 8_388_608.0) - 8_388_608.0;
        return sign | r as u16;
    }
    // Normal: drop 13 mantissa bits RNE (a carry runs into the exponent), rebias 127 → 15.
    let lsb = (a >> 13) & 1;
    sign | (((a + 0xfff + lsb) >> 13) - 0x1_c000) as u16
}

/// The exact f32 value of fp16 code `h`.
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h as u32) & 0x8000) << 16;
    let e = ((h >> 10) & 0x1f) as u32;
    let m = (h & 0x3ff) as u32;
    match e {
        // m · 2^−24: exact in f32.
        0 => f32::from_bits((m as f32 * f32::from_bits(0x3380_0000)).to_bits() | sign),
        31 => f32::from_bits(sign | 0x7f80_0000 | (m << 13)),
        _ => f32::from_bits(sign | ((e + 112) << 23) | (m << 13)),
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(clippy::needless_range_loop)] // stage-by-stage loops index several arrays
mod avx2 {
    use super::LANES;
    use std::arch::x86_64::*;

    /// One register step on `N` registers of 8 lanes: `fp16(acc + p)`.
    ///
    /// Fast form: `s = f32(acc + p)` and `fp16(s)`. This double rounding is
    /// wrong only where `s` is an fp16 tie (see the module docs), so every
    /// lane is checked for `s` being one: in the fp16 normal range a tie has
    /// low 13 bits `0x1000`; below 2^−14 (fp16 subnormals, and zero) every
    /// lane counts as one, conservatively. If any lane of the `N` registers
    /// may be a tie, the step is redone exactly ([`steps_exact`]).
    #[inline(always)]
    unsafe fn steps<const N: usize>(acc: &mut [__m256; N], p: &[__m256; N]) {
        let z = _mm256_setzero_ps();
        let low = _mm256_set1_epi32(0x1fff);
        let tie = _mm256_set1_epi32(0x1000);
        let abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fff_ffff));
        let min_normal = _mm256_set1_ps(f32::from_bits(0x3880_0000)); // 2^−14
        let mut s = [z; N];
        let mut flag = _mm256_setzero_si256();
        for i in 0..N {
            s[i] = _mm256_add_ps(acc[i], p[i]);
        }
        for i in 0..N {
            let si = _mm256_castps_si256(s[i]);
            let at_tie = _mm256_cmpeq_epi32(_mm256_and_si256(si, low), tie);
            let small = _mm256_cmp_ps::<_CMP_LT_OQ>(_mm256_and_ps(s[i], abs), min_normal);
            flag = _mm256_or_si256(flag, _mm256_or_si256(at_tie, _mm256_castps_si256(small)));
        }
        if _mm256_testz_si256(flag, flag) == 0 {
            steps_exact(acc, p);
            return;
        }
        for i in 0..N {
            acc[i] = _mm256_cvtph_ps(_mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(s[i]));
        }
    }

    /// One exact register step on 8 lanes of `N` registers: [`super::add_fp16`].
    /// Written stage by stage across the registers (the `N` independent
    /// chains side by side); taken for about one tile step in twenty on
    /// normal operands, so it is kept out of line.
    #[cold]
    #[target_feature(enable = "avx2,f16c")]
    unsafe fn steps_exact<const N: usize>(acc: &mut [__m256; N], p: &[__m256; N]) {
        // Plain loops, not closures: a closure is a function without this
        // one's target features, and may not be inlined.
        let one = _mm256_set1_epi32(1);
        let z = _mm256_setzero_ps();
        let (mut s, mut bb, mut t, mut u, mut err) = ([z; N], [z; N], [z; N], [z; N], [z; N]);
        for i in 0..N {
            s[i] = _mm256_add_ps(acc[i], p[i]);
        }
        for i in 0..N {
            bb[i] = _mm256_sub_ps(s[i], acc[i]);
        }
        for i in 0..N {
            t[i] = _mm256_sub_ps(s[i], bb[i]);
            u[i] = _mm256_sub_ps(p[i], bb[i]);
        }
        for i in 0..N {
            err[i] = _mm256_add_ps(_mm256_sub_ps(acc[i], t[i]), u[i]);
        }
        for i in 0..N {
            let si = _mm256_castps_si256(s[i]);
            // All ones where err is a nonzero number (false for NaN).
            let inexact = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_NEQ_OQ>(err[i], z));
            // All ones where s is even: (s & 1) − 1.
            let even = _mm256_sub_epi32(_mm256_and_si256(si, one), one);
            // +1 where err and s share a sign (away from zero), −1 otherwise.
            let dir = _mm256_or_si256(
                _mm256_srai_epi32::<31>(_mm256_xor_si256(_mm256_castps_si256(err[i]), si)),
                one,
            );
            let adj = _mm256_and_si256(_mm256_and_si256(inexact, even), dir);
            s[i] = _mm256_castsi256_ps(_mm256_add_epi32(si, adj));
        }
        for i in 0..N {
            acc[i] = _mm256_cvtph_ps(_mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(s[i]));
        }
    }

    /// A tile of `R` rows × `P` panels over `ks`.
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
            for i in 0..N {
                p[i] = _mm256_mul_ps(x[i / P], wv[i % P]);
            }
            steps(&mut acc, &p);
        }
        for (i, v) in acc.iter().enumerate() {
            _mm256_storeu_ps(regs[i].as_mut_ptr(), *v);
        }
    }

    /// The AVX2 tile for the shapes [`super::tile_panels`] plans (and single panels).
    #[target_feature(enable = "avx2,f16c")]
    pub unsafe fn sums(
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
            _ => super::sums_scalar(w, a, ks, regs),
        }
    }
}
