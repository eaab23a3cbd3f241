//! The L-Mul kernel (`matmul/lmul-carry-bf16`): bf16 activations (rounded
//! RNE inside) and bf16 weights; each product is the L-Mul unit's one
//! integer add of the two codes, and each output's products are summed in
//! K order in f32 from +0.
//!
//! For normal operands whose result is a normal bf16, the unit's product
//! code is `(|a| + |w| − 0x3F78) | (sign_a ⊕ sign_w)` ([`crate::arith::lmul`]).
//! On 16-bit lanes that is **one `vpaddw`**: `(a − 0x3F78) + w` modulo 2^16,
//! because adding the sign bits (2^15 each) modulo 2^16 is their XOR, and
//! the magnitude sum, in `[0x80, 0x7F7F]`, never carries into bit 15. The
//! activation keys `a − 0x3F78` are formed once per product. bf16 → f32 is a
//! 16-bit shift: `vpslld 16` of the 32-bit lanes turns the even 16-bit
//! lanes into f32 values, `vpand 0xFFFF0000` the odd ones (the panel's 16
//! lanes are stored interleaved so the two are output channels 0–7 and
//! 8–15), then one `vaddps` per 8 outputs, lanes across outputs, K in order.
//!
//! Everything else (±0, subnormals, inf, NaN operands; products that
//! overflow or underflow the normal range) follows the unit's special rules.
//! The kernel proves the fast case per register tile and K chunk instead of
//! per product: packing records, per panel and chunk of [`KC`], whether
//! every weight is normal and the least and greatest magnitude; the
//! activations get the same per row and chunk inside the product. When every
//! operand is normal and `min|a| + min|w| − 0x3F78 ≥ 0x80` and
//! `max|a| + max|w| − 0x3F78 ≤ 0x7F7F`, every product of the tile is the fast
//! one; otherwise the tile's chunk runs the portable path, which asks the
//! unit itself ([`LmulUnit::value_operands`]) for every product outside the
//! fast case. On real tensors (values within a few dozen binades of 1) the
//! check always passes.

use super::seqtile::{self, Plan, Tile, KC};
use crate::arith::lmul::{LmulUnit, Semantics};
use crate::formats::parse::BF16;
use crate::formats::{self, ConvertOptions, Rounding};
use crate::isa::{self, IsaLevel};

/// Output channels per panel (bf16 lanes of a 256-bit register).
pub const LANES: usize = 16;
/// The unit's offset for bf16: `(127 << 7) − 2^(7 − 4)`.
const OFFSET: u16 = 0x3F78;
/// Smallest and largest magnitude code of a normal bf16.
const NORMAL: (u16, u16) = (0x80, 0x7F7F);
/// Stored lane of output channel `l` of a panel: a 16-bit shift left of
/// the 32-bit lanes widens the even lanes (channels 0–7), a mask of their
/// high halves the odd lanes (channels 8–15).
const POS: [usize; LANES] = [0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15];
/// A padding weight (1.0): normal, in the middle of the range.
const PAD: u16 = 0x3F80;

/// Whether a chunk of operands is all normal, and its magnitude range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    normal: bool,
    lo: u16,
    hi: u16,
}

impl Span {
    fn of(codes: impl Iterator<Item = u16>) -> Span {
        let mut s = Span {
            normal: true,
            lo: u16::MAX,
            hi: 0,
        };
        for c in codes {
            let m = c & 0x7fff;
            s.normal &= (NORMAL.0..=NORMAL.1).contains(&m);
            s.lo = s.lo.min(m);
            s.hi = s.hi.max(m);
        }
        s
    }

    /// Every product of an operand of `self` and one of `o` is a fast one.
    fn fast_with(self, o: Span) -> bool {
        let (off, lo, hi) = (OFFSET as u32, NORMAL.0 as u32, NORMAL.1 as u32);
        self.normal
            && o.normal
            && self.lo as u32 + o.lo as u32 >= off + lo
            && self.hi as u32 + o.hi as u32 <= off + hi
    }
}

/// Packed weights of the L-Mul kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct LmulKernel {
    unit: LmulUnit,
    n: usize,
    k: usize,
    panels: usize,
    /// `[panel][k][16]` bf16 codes, lanes in [`POS`] order.
    data: Vec<u16>,
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

/// bf16 codes (RNE) of f32 values, through the vectorised converter.
fn bf16_codes(x: &[f32]) -> Vec<u16> {
    let mut c = vec![0u16; x.len()];
    formats::fast::encode_f32(
        &BF16,
        &ConvertOptions::with_rounding(Rounding::Rne),
        x,
        0,
        0,
        &mut c,
    )
    .expect("RNE cast with default options cannot fail");
    c
}

impl LmulKernel {
    /// Whether `unit` is one this kernel computes: `lmul-carry` on bf16 with bf16 results.
    pub fn supports(unit: &LmulUnit) -> bool {
        unit.format == BF16
            && unit.output == BF16
            && unit.semantics == Semantics::Carry
            && unit.offset() == OFFSET as i64
    }

    /// Packs weight values (`n × k`, row-major), each exactly a bf16 value.
    ///
    /// # Panics
    /// When the unit is not one [`Self::supports`] takes.
    pub fn pack(unit: LmulUnit, values: &[f32], n: usize, k: usize) -> LmulKernel {
        assert!(
            Self::supports(&unit),
            "L-Mul kernel: bf16 lmul-carry units only"
        );
        assert_eq!(values.len(), n * k, "L-Mul kernel: weights must be n × k");
        let codes = bf16_codes(values);
        let panels = n.div_ceil(LANES);
        let mut data = vec![PAD; panels * k * LANES];
        for j in 0..n {
            for kk in 0..k {
                data[((j / LANES) * k + kk) * LANES + POS[j % LANES]] = codes[j * k + kk];
            }
        }
        let chunks = k.div_ceil(KC);
        let spans = (0..panels * chunks)
            .map(|t| {
                let (p, c) = (t / chunks, t % chunks);
                let ks = c * KC..((c + 1) * KC).min(k);
                Span::of(
                    data[(p * k + ks.start) * LANES..(p * k + ks.end) * LANES]
                        .iter()
                        .copied(),
                )
            })
            .collect();
        LmulKernel {
            unit,
            n,
            k,
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
        2 * self.data.len()
    }

    /// `a · wᵀ` for `a` (`m × k` f32): activations rounded to bf16 inside.
    pub fn matmul(&self, a: &[f32], m: usize) -> Vec<f64> {
        assert_eq!(a.len(), m * self.k, "L-Mul kernel: A must be m × k");
        self.run(&bf16_codes(a), m, isa::effective())
    }

    /// The product on bf16 activation codes (`m × k`), at `level`.
    pub fn run(&self, codes: &[u16], m: usize, level: IsaLevel) -> Vec<f64> {
        let k = self.k;
        assert_eq!(codes.len(), m * k, "L-Mul kernel: A must be m × k");
        let chunks = k.div_ceil(KC);
        let keys: Vec<u16> = codes.iter().map(|c| c.wrapping_sub(OFFSET)).collect();
        let aspans: Vec<Span> = (0..m * chunks)
            .map(|t| {
                let (i, c) = (t / chunks, t % chunks);
                let ks = c * KC..((c + 1) * KC).min(k);
                Span::of(codes[i * k + ks.start..i * k + ks.end].iter().copied())
            })
            .collect();
        let plen = k * LANES;
        seqtile::run::<LANES, _>(m, self.n, k, self.panels, PLAN, |t: &Tile, regs| {
            let w: Vec<&[u16]> = (t.p..t.p + t.q)
                .map(|p| &self.data[p * plen..(p + 1) * plen])
                .collect();
            let rows: Vec<&[u16]> = (t.i..t.i + t.r)
                .map(|i| &keys[i * k..(i + 1) * k])
                .collect();
            let c = t.ks.start / KC;
            let fast = (t.i..t.i + t.r).all(|i| {
                (t.p..t.p + t.q)
                    .all(|p| aspans[i * chunks + c].fast_with(self.spans[p * chunks + c]))
            });
            if fast {
                sums_fast(level, &w, &rows, t.ks.clone(), regs);
            } else {
                sums_scalar(&self.unit, &w, &rows, t.ks.clone(), regs);
            }
        })
    }
}

/// The fast tile (every product known to be the one-add case).
fn sums_fast(
    level: IsaLevel,
    w: &[&[u16]],
    a: &[&[u16]],
    ks: std::ops::Range<usize>,
    regs: &mut [[f32; LANES]],
) {
    isa::dispatch!(level,
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2.
        avx2 => unsafe { avx2::sums(w, a, ks, regs) },
        scalar => fast_scalar(w, a, ks, regs),
    )
}

/// The fast tile on the portable path (and where AVX2 lacks a shape).
fn fast_scalar(w: &[&[u16]], a: &[&[u16]], ks: std::ops::Range<usize>, regs: &mut [[f32; LANES]]) {
    let q = w.len();
    for (t, ar) in a.iter().enumerate() {
        for (u, wp) in w.iter().enumerate() {
            let reg = &mut regs[t * q + u];
            for kk in ks.clone() {
                for (l, acc) in reg.iter_mut().enumerate() {
                    let p = ar[kk].wrapping_add(wp[kk * LANES + POS[l]]);
                    *acc += f32::from_bits((p as u32) << 16);
                }
            }
        }
    }
}

/// The portable path (and the plain statement of each lane's chain): every
/// product by [`product`], f32 adds in K order.
fn sums_scalar(
    unit: &LmulUnit,
    w: &[&[u16]],
    keys: &[&[u16]],
    ks: std::ops::Range<usize>,
    regs: &mut [[f32; LANES]],
) {
    let q = w.len();
    for (t, ar) in keys.iter().enumerate() {
        for (u, wp) in w.iter().enumerate() {
            let reg = &mut regs[t * q + u];
            for kk in ks.clone() {
                let a = ar[kk].wrapping_add(OFFSET);
                for (l, acc) in reg.iter_mut().enumerate() {
                    *acc += product(unit, a, wp[kk * LANES + POS[l]]);
                }
            }
        }
    }
}

/// The unit's product of bf16 codes `a` and `w`, as f32: the one-add case
/// from bits, anything else from the unit.
#[inline]
pub fn product(unit: &LmulUnit, a: u16, w: u16) -> f32 {
    let (ma, mw) = ((a & 0x7fff) as u32, (w & 0x7fff) as u32);
    let normal = |m: u32| (NORMAL.0 as u32..=NORMAL.1 as u32).contains(&m);
    if normal(ma) && normal(mw) {
        let r = (ma + mw).wrapping_sub(OFFSET as u32);
        if (NORMAL.0 as u32..=NORMAL.1 as u32).contains(&r) {
            return f32::from_bits((r | ((a ^ w) & 0x8000) as u32) << 16);
        }
    }
    unit.value_operands(unit.operand(a as u32), unit.operand(w as u32), 0) as f32
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::LANES;
    use std::arch::x86_64::*;

    /// A tile of `R` rows × `P` panels over `ks` (every product fast).
    #[inline(always)]
    unsafe fn tile<const R: usize, const P: usize>(
        w: &[&[u16]],
        a: &[&[u16]],
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
        let wp: [*const u16; P] = std::array::from_fn(|q| w[q].as_ptr());
        let ap: [*const u16; R] = std::array::from_fn(|r| a[r].as_ptr());
        let high = _mm256_set1_epi32(0xffff_0000u32 as i32);
        for kk in ks {
            // SAFETY: bounds asserted above.
            let wv: [__m256i; P] =
                std::array::from_fn(
                    |q| _mm256_loadu_si256(wp[q].add(kk * LANES) as *const __m256i),
                );
            for r in 0..R {
                let x = _mm256_set1_epi16(*ap[r].add(kk) as i16);
                for q in 0..P {
                    let p = _mm256_add_epi16(x, wv[q]);
                    let lo = _mm256_castsi256_ps(_mm256_slli_epi32::<16>(p));
                    let hi = _mm256_castsi256_ps(_mm256_and_si256(p, high));
                    acc[r][q][0] = _mm256_add_ps(acc[r][q][0], lo);
                    acc[r][q][1] = _mm256_add_ps(acc[r][q][1], hi);
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
    #[target_feature(enable = "avx2")]
    pub unsafe fn sums(
        w: &[&[u16]],
        a: &[&[u16]],
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
