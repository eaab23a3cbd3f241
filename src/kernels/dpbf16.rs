//! The `vdpbf16ps` kernel (`matmul/bf16-dpbf16`): bf16 activations (rounded
//! RNE inside) and bf16 weights; each output is one f32 lane of
//! [`crate::arith::dpbf16`]: from +0, one instruction per K pair `(k, k + 1)`,
//! the odd element's fused step first, DAZ inputs, RNE, FTZ output.
//!
//! Layout (oneDNN's and XNNPACK's for `vdpbf16ps`): weights in panels of 16
//! output channels; at each K pair a panel holds 16 dwords, channel `l`'s
//! `w[k] | w[k + 1] << 16` — one zmm, the instruction's second source. An
//! activation pair is one dword, broadcast. Odd K is padded with a +0 element
//! on both sides (the emulation's model); codes are stored flushed (DAZ), so
//! every stored nonzero is a normal bf16, an inf or a NaN.
//!
//! Paths, chosen per register tile and K chunk of [`KC`] pairs:
//! - **AVX-512 BF16** (`_mm512_dpbf16_ps`, where `avx512bf16` is detected and
//!   the level is AVX-512): the instruction itself, for every tile. The
//!   kernel tests compare it with the emulation wherever the CPU has the
//!   feature (they passed on an AMD EPYC Zen 5 VM with `avx512_bf16`,
//!   including the hand cases for the pair order, fused tiny products, the
//!   flush signs and tininess after rounding: the hardware's bits are the
//!   model's there); on other CPUs only the AVX2 and portable paths run.
//! - **fast** (AVX2 + FMA, or portable f32 ops): where the tile's operands
//!   are finite and every nonzero product `a·w` has its leading bit in
//!   `[2^−112, 2^126]` (biased exponents `Ea + Ew ∈ [142, 380]`), the fused
//!   step is a plain f32 FMA — and the product alone is exact, so on the
//!   portable path `acc + a·w` in f32 is the same operation. Why no flush
//!   is needed: each such product is a multiple of `2^(ea + ew − 14)` ≥
//!   2^−126 (8-bit significands), the accumulator starts at +0 and RNE
//!   rounding of a multiple of `u` to f32 stays a multiple of `u` when
//!   `u` ≥ 2^−126, so every nonzero accumulator value is ≥ 2^−126: no
//!   result is ever tiny, and DAZ / FTZ never act. Overflow to inf is RNE's
//!   in both. Inputs are widened by a shift (even element) and a mask (odd
//!   element) of the dword, as in oneDNN's AVX-512 emulation of the
//!   instruction; then `vfmadd231ps` odd, `vfmadd231ps` even.
//! - **exact**: any other tile asks the unit ([`dpbf16::instruction`]) per
//!   lane and pair. Real tensors (values within a few dozen binades of 1)
//!   always pass the check.
//!
//! Like [`super::lmul`], packing records per panel and chunk whether every
//! weight is finite and its nonzero exponent range; the activations get the
//! same per row and chunk inside the product.

use super::seqtile::{self, Plan, Tile, KC};
use crate::arith::dpbf16;
use crate::formats::parse::BF16;
use crate::isa::{self, IsaLevel};

/// Output channels per panel (f32 lanes of a zmm; two ymm on AVX2).
pub const LANES: usize = 16;
/// The fast window on `Ea + Ew` (biased exponents of nonzero operands).
const FAST: (u32, u32) = (142, 380);

/// A bf16 code with subnormals flushed to a zero of their sign (DAZ).
#[inline]
pub fn daz(c: u16) -> u16 {
    if c & 0x7f80 == 0 {
        c & 0x8000
    } else {
        c
    }
}

/// Whether a chunk of (flushed) codes is all finite, and the least and
/// greatest biased exponent of its nonzero codes (`lo > hi` when it has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    finite: bool,
    lo: u32,
    hi: u32,
}

impl Span {
    fn of(codes: impl Iterator<Item = u16>) -> Span {
        let mut s = Span {
            finite: true,
            lo: 255,
            hi: 0,
        };
        for c in codes {
            let e = ((c >> 7) & 0xff) as u32;
            s.finite &= e != 0xff;
            if e != 0 {
                s.lo = s.lo.min(e);
                s.hi = s.hi.max(e);
            }
        }
        s
    }

    /// Every product of a code of `self` and one of `o` is zero or in the
    /// fast window. A side without nonzeros (`lo = 255`, `hi = 0`) passes.
    fn fast_with(self, o: Span) -> bool {
        self.finite && o.finite && self.lo + o.lo >= FAST.0 && self.hi + o.hi <= FAST.1
    }
}

/// The spans of `rows` rows of `pairs` dwords each, per chunk of [`KC`] pairs.
fn spans(data: &[u32], rows: usize, pairs: usize, stride: usize) -> Vec<Span> {
    let chunks = pairs.div_ceil(KC);
    (0..rows * chunks)
        .map(|t| {
            let (r, c) = (t / chunks, t % chunks);
            let ks = c * KC..((c + 1) * KC).min(pairs);
            let s = &data[(r * pairs + ks.start) * stride..(r * pairs + ks.end) * stride];
            Span::of(s.iter().flat_map(|&d| [d as u16, (d >> 16) as u16]))
        })
        .collect()
}

/// Packed weights of the `vdpbf16ps` kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct Dpbf16Kernel {
    n: usize,
    k: usize,
    /// K pairs, `⌈k / 2⌉`.
    pairs: usize,
    panels: usize,
    /// `[panel][pair][16]` dwords `w[k] | w[k + 1] << 16` (flushed codes).
    data: Vec<u32>,
    /// `[panel][chunk]` spans of the weights.
    spans: Vec<Span>,
}

fn tile_panels(r: usize) -> usize {
    match r {
        1 => 4,
        2 => 2,
        _ => 1,
    }
}

const PLAN: Plan = Plan {
    tile_rows: 4,
    task_panels: 4,
    tile_panels,
};

/// The `vdpbf16ps` path's plan: four panels at every row count, so a
/// 4 × 4 tile holds sixteen independent chains (four left the
/// instruction's latency exposed: a third of its peak at 256×1024×1024).
/// Each output is still one chain in K order, so the bits do not change.
const PLAN_BF16: Plan = Plan {
    tile_rows: 4,
    task_panels: 4,
    tile_panels: |_| 4,
};

/// bf16 codes (RNE, then flushed) of f32 values.
fn bf16_codes(x: &[f32]) -> Vec<u16> {
    let mut c: Vec<u16> = super::quant::rne_codes(&BF16, x);
    c.iter_mut().for_each(|v| *v = daz(*v));
    c
}

/// Row `r` of a `rows × k` code matrix as `⌈k / 2⌉` pair dwords, +0 padded.
fn pair_row(codes: &[u16], k: usize, r: usize) -> impl Iterator<Item = u32> + '_ {
    let row = &codes[r * k..(r + 1) * k];
    row.chunks(2)
        .map(|p| p[0] as u32 | (p.get(1).copied().unwrap_or(0) as u32) << 16)
}

impl Dpbf16Kernel {
    /// Packs weight values (`n × k`, row-major), each exactly a bf16 value.
    pub fn pack(values: &[f32], n: usize, k: usize) -> Dpbf16Kernel {
        assert_eq!(values.len(), n * k, "dpbf16 kernel: weights must be n × k");
        let codes = bf16_codes(values);
        let pairs = k.div_ceil(2);
        let panels = n.div_ceil(LANES);
        let mut data = vec![0u32; panels * pairs * LANES];
        for j in 0..n {
            for (kp, d) in pair_row(&codes, k, j).enumerate() {
                data[((j / LANES) * pairs + kp) * LANES + j % LANES] = d;
            }
        }
        let spans = spans(&data, panels, pairs, LANES);
        Dpbf16Kernel {
            n,
            k,
            pairs,
            panels,
            data,
            spans,
        }
    }

    /// Reduction length.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Bytes of packed weights one product streams.
    pub fn bytes(&self) -> usize {
        4 * self.data.len()
    }

    /// `a · wᵀ` for `a` (`m × k` f32): activations rounded to bf16 inside.
    pub fn matmul(&self, a: &[f32], m: usize) -> Vec<f64> {
        assert_eq!(a.len(), m * self.k, "dpbf16 kernel: A must be m × k");
        self.run(&bf16_codes(a), m, isa::effective())
    }

    /// The product on bf16 activation codes (`m × k`, flushed or not), at `level`.
    pub fn run(&self, codes: &[u16], m: usize, level: IsaLevel) -> Vec<f64> {
        let (k, pairs) = (self.k, self.pairs);
        assert_eq!(codes.len(), m * k, "dpbf16 kernel: A must be m × k");
        let flushed: Vec<u16> = codes.iter().map(|&c| daz(c)).collect();
        let act: Vec<u32> = (0..m).flat_map(|i| pair_row(&flushed, k, i)).collect();
        let chunks = pairs.div_ceil(KC);
        let bf16 = level == IsaLevel::Avx512 && isa::features().capped(level).avx512bf16;
        // The activations' exponent spans choose between the fast and the
        // exact emulated tile; the instruction itself needs neither.
        let aspans = if bf16 {
            Vec::new()
        } else {
            spans(&act, m, pairs, 1)
        };
        let plen = pairs * LANES;
        let plan = if bf16 { PLAN_BF16 } else { PLAN };
        seqtile::run::<LANES, _>(m, self.n, pairs, self.panels, plan, |t: &Tile, regs| {
            let w: Vec<&[u32]> = (t.p..t.p + t.q)
                .map(|p| &self.data[p * plen..(p + 1) * plen])
                .collect();
            let rows: Vec<&[u32]> = (t.i..t.i + t.r)
                .map(|i| &act[i * pairs..(i + 1) * pairs])
                .collect();
            if bf16 {
                return sums_bf16(&w, &rows, t.ks.clone(), regs);
            }
            let c = t.ks.start / KC;
            let fast = (t.i..t.i + t.r).all(|i| {
                (t.p..t.p + t.q)
                    .all(|p| aspans[i * chunks + c].fast_with(self.spans[p * chunks + c]))
            });
            if fast {
                sums_fast(level, &w, &rows, t.ks.clone(), regs);
            } else {
                sums_exact(&w, &rows, t.ks.clone(), regs);
            }
        })
    }
}

/// The two halves of a pair dword widened to f32: (even, odd).
#[inline(always)]
fn halves(d: u32) -> (f32, f32) {
    (f32::from_bits(d << 16), f32::from_bits(d & 0xffff_0000))
}

/// The fast tile (every product known to be in the fast window).
fn sums_fast(
    level: IsaLevel,
    w: &[&[u32]],
    a: &[&[u32]],
    ks: std::ops::Range<usize>,
    regs: &mut [[f32; LANES]],
) {
    isa::dispatch!(level,
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2 (and FMA,
        // which every AVX2 level here implies, as in `kernels::float`).
        avx2 => unsafe { avx2::sums(w, a, ks, regs) },
        scalar => fast_scalar(w, a, ks, regs),
    )
}

/// The fast tile on the portable path: the products are exact, so f32
/// multiply then add is the fused step.
fn fast_scalar(w: &[&[u32]], a: &[&[u32]], ks: std::ops::Range<usize>, regs: &mut [[f32; LANES]]) {
    let q = w.len();
    for (t, ar) in a.iter().enumerate() {
        for (u, wp) in w.iter().enumerate() {
            let reg = &mut regs[t * q + u];
            for kp in ks.clone() {
                let (a0, a1) = halves(ar[kp]);
                for (l, acc) in reg.iter_mut().enumerate() {
                    let (w0, w1) = halves(wp[kp * LANES + l]);
                    *acc += a1 * w1;
                    *acc += a0 * w0;
                }
            }
        }
    }
}

/// Any tile, by the unit itself (and the plain statement of each lane's chain).
fn sums_exact(w: &[&[u32]], a: &[&[u32]], ks: std::ops::Range<usize>, regs: &mut [[f32; LANES]]) {
    let q = w.len();
    let split = |d: u32| [d as u16, (d >> 16) as u16];
    for (t, ar) in a.iter().enumerate() {
        for (u, wp) in w.iter().enumerate() {
            let reg = &mut regs[t * q + u];
            for kp in ks.clone() {
                for (l, acc) in reg.iter_mut().enumerate() {
                    *acc = dpbf16::instruction(*acc, split(ar[kp]), split(wp[kp * LANES + l]));
                }
            }
        }
    }
}

/// Every tile on `vdpbf16ps` (only where AVX-512 BF16 is detected).
fn sums_bf16(w: &[&[u32]], a: &[&[u32]], ks: std::ops::Range<usize>, regs: &mut [[f32; LANES]]) {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: the caller checked that this CPU has AVX-512 F and BF16.
        unsafe { avx512bf16::sums(w, a, ks, regs) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    sums_exact(w, a, ks, regs)
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::LANES;
    use std::arch::x86_64::*;

    /// A tile of `R` rows × `P` panels over `ks` (every product in the fast window).
    // Index loops: `r`, `q`, `h` pick registers across three arrays at once.
    #[allow(clippy::needless_range_loop)]
    #[inline(always)]
    unsafe fn tile<const R: usize, const P: usize>(
        w: &[&[u32]],
        a: &[&[u32]],
        ks: std::ops::Range<usize>,
        regs: &mut [[f32; LANES]],
    ) {
        assert!(a.len() == R && w.len() == P && regs.len() == R * P);
        assert!(a.iter().all(|r| r.len() >= ks.end));
        assert!(w.iter().all(|p| p.len() >= ks.end * LANES));
        let mut acc: [[[__m256; 2]; P]; R] = std::array::from_fn(|r| {
            std::array::from_fn(|q| {
                let s = regs[r * P + q].as_ptr();
                [_mm256_loadu_ps(s), _mm256_loadu_ps(s.add(8))]
            })
        });
        let wp: [*const u32; P] = std::array::from_fn(|q| w[q].as_ptr());
        let ap: [*const u32; R] = std::array::from_fn(|r| a[r].as_ptr());
        let high = _mm256_set1_epi32(0xffff_0000u32 as i32);
        for kp in ks {
            // SAFETY: bounds asserted above.
            let x: [(__m256, __m256); R] = std::array::from_fn(|r| {
                let (a0, a1) = super::halves(*ap[r].add(kp));
                (_mm256_set1_ps(a0), _mm256_set1_ps(a1))
            });
            for q in 0..P {
                for h in 0..2 {
                    // Even elements by a shift, odd ones by a mask of the pair dwords.
                    let d = _mm256_loadu_si256(wp[q].add(kp * LANES + 8 * h) as *const __m256i);
                    let w0 = _mm256_castsi256_ps(_mm256_slli_epi32::<16>(d));
                    let w1 = _mm256_castsi256_ps(_mm256_and_si256(d, high));
                    for r in 0..R {
                        acc[r][q][h] = _mm256_fmadd_ps(x[r].1, w1, acc[r][q][h]);
                        acc[r][q][h] = _mm256_fmadd_ps(x[r].0, w0, acc[r][q][h]);
                    }
                }
            }
        }
        for r in 0..R {
            for q in 0..P {
                let d = regs[r * P + q].as_mut_ptr();
                _mm256_storeu_ps(d, acc[r][q][0]);
                _mm256_storeu_ps(d.add(8), acc[r][q][1]);
            }
        }
    }

    /// The AVX2 tile for the shapes [`super::tile_panels`] plans (and single panels).
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn sums(
        w: &[&[u32]],
        a: &[&[u32]],
        ks: std::ops::Range<usize>,
        regs: &mut [[f32; LANES]],
    ) {
        match (a.len(), w.len()) {
            (1, 4) => tile::<1, 4>(w, a, ks, regs),
            (2, 2) => tile::<2, 2>(w, a, ks, regs),
            (1, 1) => tile::<1, 1>(w, a, ks, regs),
            (2, 1) => tile::<2, 1>(w, a, ks, regs),
            (3, 1) => tile::<3, 1>(w, a, ks, regs),
            (4, 1) => tile::<4, 1>(w, a, ks, regs),
            _ => super::fast_scalar(w, a, ks, regs),
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512bf16 {
    use super::LANES;
    use std::arch::x86_64::*;

    /// A tile of `R` rows × `P` panels over `ks`: one `vdpbf16ps` per row,
    /// panel and K pair.
    #[inline(always)]
    unsafe fn tile<const R: usize, const P: usize>(
        w: &[&[u32]],
        a: &[&[u32]],
        ks: std::ops::Range<usize>,
        regs: &mut [[f32; LANES]],
    ) {
        assert!(a.len() == R && w.len() == P && regs.len() == R * P);
        assert!(a.iter().all(|r| r.len() >= ks.end));
        assert!(w.iter().all(|p| p.len() >= ks.end * LANES));
        let mut acc: [[__m512; P]; R] = std::array::from_fn(|r| {
            std::array::from_fn(|q| _mm512_loadu_ps(regs[r * P + q].as_ptr()))
        });
        let wp: [*const u32; P] = std::array::from_fn(|q| w[q].as_ptr());
        let ap: [*const u32; R] = std::array::from_fn(|r| a[r].as_ptr());
        for kp in ks {
            // SAFETY: bounds asserted above; `__m512bh` is 32 bf16 in 512 bits.
            let wv: [__m512bh; P] = std::array::from_fn(|q| {
                std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(
                    wp[q].add(kp * LANES) as *const _
                ))
            });
            for r in 0..R {
                let x = std::mem::transmute::<__m512i, __m512bh>(_mm512_set1_epi32(
                    *ap[r].add(kp) as i32
                ));
                for q in 0..P {
                    acc[r][q] = _mm512_dpbf16_ps(acc[r][q], x, wv[q]);
                }
            }
        }
        for r in 0..R {
            for q in 0..P {
                _mm512_storeu_ps(regs[r * P + q].as_mut_ptr(), acc[r][q]);
            }
        }
    }

    /// The AVX-512 BF16 tile for every shape [`super::PLAN_BF16`] and
    /// [`super::tile_panels`] plan.
    #[target_feature(enable = "avx512f,avx512bf16")]
    pub unsafe fn sums(
        w: &[&[u32]],
        a: &[&[u32]],
        ks: std::ops::Range<usize>,
        regs: &mut [[f32; LANES]],
    ) {
        match (a.len(), w.len()) {
            (1, 4) => tile::<1, 4>(w, a, ks, regs),
            (2, 4) => tile::<2, 4>(w, a, ks, regs),
            (3, 4) => tile::<3, 4>(w, a, ks, regs),
            (4, 4) => tile::<4, 4>(w, a, ks, regs),
            (2, 2) => tile::<2, 2>(w, a, ks, regs),
            (1, 1) => tile::<1, 1>(w, a, ks, regs),
            (2, 1) => tile::<2, 1>(w, a, ks, regs),
            (3, 1) => tile::<3, 1>(w, a, ks, regs),
            (4, 1) => tile::<4, 1>(w, a, ks, regs),
            _ => super::sums_exact(w, a, ks, regs),
        }
    }
}
