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
//!
//! **E4M3 operands** (`matmul/lmul-carry-e4m3`: offset 55, e8m3 results) run
//! on the same lanes. Each operand is widened once to e8m3 and left-aligned
//! in 16 bits: magnitude `|m|·16 + (120 << 7)`, where `m` is the unit's own
//! magnitude integer ([`LmulUnit::operand`]: subnormals normalised, so their
//! field can be negative). That is the bf16 layout with the low four mantissa
//! bits zero, and the unit's `r = |a| + |w| − 55` becomes `a' + w' − 0x3F70`
//! in it (`0x3F70 = (120 << 7) + (55 << 4)`), whose bits, shifted up by 16,
//! are the e8m3 product as an f32. Every finite non-zero pair of E4M3
//! magnitudes lands in e8m3's normal range, so only ±0 and NaN operands
//! take the unit's rules; they are widened to codes outside the finite range
//! (`0`, `0x7FFF`) that the span check sends to the portable path, which
//! turns them back into the unit's operands.
//!
//! **`lmul-literal`** (`matmul/lmul-literal-bf16`, `-e4m3`) differs from the
//! carry reading only when the mantissa sum carries: with `T = a_m + w_m + k`
//! (mantissa fields plus the offset's `2^−l(m)`, in units of the last
//! mantissa bit) at least `2^m`, the carry reading's code has exponent
//! `e + 1` and mantissa `M = T − 2^m` (for bf16, whose `k` is 8 units, `M`
//! can reach `2^m + 6`: the integer sum then carries twice), while the
//! formula's value `(1 + T·2^−m)·2^e = (1 + M·2^−m/2)·2^(e+1)` has mantissa
//! `M/2`: one bit more than the format holds, rounded to nearest even (a
//! tie exactly when `M` is odd). So the literal code is the integer sum
//! minus `M − rne(M/2)`; in lanes, the carry is `T > 0x7F` with
//! `T = (a & MM) + k + (w & MM)` (the mantissa's top at `0x80` in both
//! layouts), `M = T − 0x80`, and a handful of 16-bit operations apply the
//! difference. The literal value is below the carry reading's and at least
//! `2^(e+1)`, where the carry code's exponent is `e + 1` or `e + 2`: so the
//! span check asks a literal tile's carry codes to clear the smallest normal
//! by one binade (`0x80` more), and then the literal codes are normal too.

use super::quant::rne_codes;
use super::seqtile::{self, Plan, Tile, KC};
use crate::arith::lmul::{LmulUnit, Operand, Semantics};
use crate::formats::parse::{BF16, E4M3};
use crate::formats::MiniFloat;
use crate::isa::{self, IsaLevel};

/// Output channels per panel (bf16 lanes of a 256-bit register).
pub const LANES: usize = 16;
/// Smallest and largest magnitude code of a normal bf16.
const NORMAL: (u16, u16) = (0x80, 0x7F7F);
/// `120 << 7`: an e4m3 magnitude integer `m` sits at `m·16 + WIDEN` (the
/// exponent rebiased from 7 to 127, the mantissa left-aligned).
const WIDEN: i64 = 120 << 7;
/// The lane of a NaN operand in the E4M3 layout (outside the finite range).
const WIDE_NAN: u16 = 0x7FFF;

/// How the operands sit in the 16-bit lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// bf16 codes as they are (`lmul-carry` on bf16, bf16 results).
    Bf16,
    /// E4M3 operands widened to left-aligned e8m3 (see the module docs).
    E4m3,
}

impl Layout {
    /// The layout of a unit this kernel computes (either semantics).
    fn of(unit: &LmulUnit) -> Option<Layout> {
        if unit.format == BF16 && unit.output == BF16 && unit.offset() == 0x3F78 {
            Some(Layout::Bf16)
        } else if unit.format == E4M3 && unit.output == MiniFloat::ieee(8, 3) && unit.offset() == 55
        {
            Some(Layout::E4m3)
        } else {
            None
        }
    }

    /// What the lanes subtract from the sum of two magnitudes: bf16's
    /// `(127 << 7) − 2^(7 − 4)`; for E4M3, `WIDEN + (55 << 4)`.
    fn offset(self) -> u16 {
        match self {
            Layout::Bf16 => 0x3F78,
            Layout::E4m3 => 0x3F70,
        }
    }

    /// The literal reading's constants in this layout.
    fn literal(self) -> Literal {
        match self {
            Layout::Bf16 => Literal {
                mm: 0x7f,
                k: 8,
                shift: 0,
            },
            Layout::E4m3 => Literal {
                mm: 0x70,
                k: 0x10,
                shift: 4,
            },
        }
    }

    /// The magnitudes of operands whose products take the one-add path
    /// (when the result is in range): normal bf16; every finite non-zero
    /// E4M3 value (from the smallest subnormal, `m = −16`, to 448, `m = 126`).
    fn finite(self) -> (u16, u16) {
        match self {
            Layout::Bf16 => NORMAL,
            Layout::E4m3 => ((-16 * 16 + WIDEN) as u16, (126 * 16 + WIDEN) as u16),
        }
    }

    /// The magnitudes of carry codes that are normal numbers of the output
    /// (bf16; e8m3, whose low four bits are zero here) and, when `literal`,
    /// whose literal reading is normal too (one binade above the smallest
    /// normal: see the module docs).
    fn normal_out(self, literal: bool) -> (u16, u16) {
        let (lo, hi) = match self {
            Layout::Bf16 => NORMAL,
            Layout::E4m3 => (0x80, 0x7F70),
        };
        (if literal { lo + 0x80 } else { lo }, hi)
    }

    /// The lanes of f32 values, each exactly a value of the unit's format.
    fn lanes(self, unit: &LmulUnit, x: &[f32]) -> Vec<u16> {
        match self {
            Layout::Bf16 => rne_codes(&BF16, x),
            Layout::E4m3 => {
                let c: Vec<u8> = rne_codes(&E4M3, x);
                let table: Vec<u16> = (0..256u32).map(|code| widen(unit.operand(code))).collect();
                c.iter().map(|&b| table[b as usize]).collect()
            }
        }
    }

    /// The unit's operand in lane `c`.
    fn operand(self, unit: &LmulUnit, c: u16) -> Operand {
        match self {
            Layout::Bf16 => unit.operand(c as u32),
            Layout::E4m3 => {
                let neg = c & 0x8000 != 0;
                match c & 0x7fff {
                    0 => Operand::Zero { neg },
                    m if m == WIDE_NAN => Operand::Nan,
                    m => Operand::Finite {
                        neg,
                        mag: (m as i64 - WIDEN) >> 4,
                    },
                }
            }
        }
    }
}

/// Where an `lmul-literal` product's mantissa sits in the 16-bit lanes (see
/// the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Literal {
    /// The mantissa field's bits (bf16 `0x7F`; E4M3 widened `0x70`).
    mm: u16,
    /// The offset's `2^−l(m)` in lane units (bf16 8 = 2^−4; E4M3 `0x10` = 2^−3).
    k: u16,
    /// The mantissa's lowest bit.
    shift: u32,
}

impl Literal {
    /// The mantissa term of an operand lane: `(c & mm)` (plus `k` for the
    /// activation side, so a lane's carry test is one add and one compare).
    fn term(self, c: u16, with_k: bool) -> u16 {
        (c & self.mm) + if with_k { self.k } else { 0 }
    }

    /// The literal reading of the carry product `r` of the lanes whose
    /// mantissa terms are `ta` (with `k`) and `tw`.
    #[inline]
    fn apply(self, r: u16, ta: u16, tw: u16) -> u16 {
        let t = ta + tw;
        if t <= 0x7f {
            return r;
        }
        let u = (t - 0x80) >> self.shift;
        // Round half to even: a tie exactly when u is odd.
        let q = (u >> 1) + (u & (u >> 1) & 1);
        r - ((u - q) << self.shift)
    }
}

/// The E4M3 lane of a unit operand (E4M3 has no infinities).
fn widen(o: Operand) -> u16 {
    match o {
        Operand::Finite { neg, mag } => (neg as u16) << 15 | (mag * 16 + WIDEN) as u16,
        Operand::Zero { neg } => (neg as u16) << 15,
        Operand::Nan | Operand::Inf { .. } => WIDE_NAN,
    }
}
/// Stored lane of output channel `l` of a panel: a 16-bit shift left of
/// the 32-bit lanes widens the even lanes (channels 0–7), a mask of their
/// high halves the odd lanes (channels 8–15).
const POS: [usize; LANES] = [0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15];
/// A padding weight (1.0): normal, in the middle of the range.
const PAD: u16 = 0x3F80;

/// What a chunk of operands holds: whether every one is finite (one-add
/// path) or ±0, whether any is ±0, and the magnitude range of the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    normal: bool,
    zeros: bool,
    lo: u16,
    hi: u16,
}

/// How a register tile's chunk runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// Every product is the one-add case.
    Fast,
    /// Every product is the one-add case or has a ±0 operand: the one-add
    /// lanes with the zero products skipped. Exact because a ±0 product
    /// never changes an f32 sum that starts at +0 (such a sum is never −0
    /// under RNE, and `x + ±0 = x` for every other `x`, NaN and ±inf included).
    Zeros,
    /// Anything else: the unit's rules product by product.
    Portable,
}

impl Span {
    fn of(layout: Layout, codes: impl Iterator<Item = u16>) -> Span {
        let (lo, hi) = layout.finite();
        let mut s = Span {
            normal: true,
            zeros: false,
            lo: u16::MAX,
            hi: 0,
        };
        for c in codes {
            let m = c & 0x7fff;
            if m == 0 {
                s.zeros = true;
                continue;
            }
            s.normal &= (lo..=hi).contains(&m);
            s.lo = s.lo.min(m);
            s.hi = s.hi.max(m);
        }
        s
    }

    /// The path of the products of operands of `self` with those of `o`.
    fn path_with(self, o: Span, layout: Layout, literal: bool) -> Path {
        let off = layout.offset() as u32;
        let (lo, hi) = layout.normal_out(literal);
        // With no non-zero operand on a side, its range is empty (lo > hi)
        // and every product of the pair has a zero operand.
        let in_range = self.lo > self.hi
            || o.lo > o.hi
            || (self.lo as u32 + o.lo as u32 >= off + lo as u32
                && self.hi as u32 + o.hi as u32 <= off + hi as u32);
        match (self.normal && o.normal && in_range, self.zeros || o.zeros) {
            (false, _) => Path::Portable,
            (true, false) => Path::Fast,
            (true, true) => Path::Zeros,
        }
    }
}

/// Packed weights of the L-Mul kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct LmulKernel {
    unit: LmulUnit,
    layout: Layout,
    /// `Some` for `lmul-literal` units.
    literal: Option<Literal>,
    n: usize,
    k: usize,
    panels: usize,
    /// `[panel][k][16]` lanes (bf16 codes, or widened E4M3), in [`POS`] order.
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

impl LmulKernel {
    /// Whether `unit` is one this kernel computes: `lmul-carry` or
    /// `lmul-literal` on bf16 with bf16 results, or on E4M3 (offset 55) with
    /// e8m3 results.
    pub fn supports(unit: &LmulUnit) -> bool {
        Layout::of(unit).is_some()
    }

    /// Packs weight values (`n × k`, row-major), each exactly a value of
    /// the unit's format.
    ///
    /// # Panics
    /// When the unit is not one [`Self::supports`] takes.
    pub fn pack(unit: LmulUnit, values: &[f32], n: usize, k: usize) -> LmulKernel {
        let layout =
            Layout::of(&unit).expect("L-Mul kernel: L-Mul units on bf16 or on E4M3 into e8m3 only");
        assert_eq!(values.len(), n * k, "L-Mul kernel: weights must be n × k");
        let codes = layout.lanes(&unit, values);
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
                    layout,
                    data[(p * k + ks.start) * LANES..(p * k + ks.end) * LANES]
                        .iter()
                        .copied(),
                )
            })
            .collect();
        LmulKernel {
            unit,
            layout,
            literal: (unit.semantics == Semantics::Literal).then(|| layout.literal()),
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

    /// Output channels.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Bytes of packed weights one product streams.
    pub fn bytes(&self) -> usize {
        2 * self.data.len()
    }

    /// `a · wᵀ` for `a` (`m × k` f32): bf16 activations are rounded (RNE)
    /// inside; E4M3 ones must already be E4M3 values (the variant quantizes
    /// them with its scale).
    pub fn matmul(&self, a: &[f32], m: usize) -> Vec<f64> {
        assert_eq!(a.len(), m * self.k, "L-Mul kernel: A must be m × k");
        self.run(&self.layout.lanes(&self.unit, a), m, isa::effective())
    }

    /// The product on activation lanes (`m × k`: bf16 codes, or widened
    /// E4M3 as [`Self::matmul`] forms them), at `level`.
    fn run(&self, codes: &[u16], m: usize, level: IsaLevel) -> Vec<f64> {
        let k = self.k;
        let layout = self.layout;
        assert_eq!(codes.len(), m * k, "L-Mul kernel: A must be m × k");
        let chunks = k.div_ceil(KC);
        let off = layout.offset();
        let keys: Vec<u16> = codes.iter().map(|c| c.wrapping_sub(off)).collect();
        let lit = self.literal;
        let terms: Vec<u16> = match lit {
            Some(l) => codes.iter().map(|&c| l.term(c, true)).collect(),
            None => Vec::new(),
        };
        let aspans: Vec<Span> = (0..m * chunks)
            .map(|t| {
                let (i, c) = (t / chunks, t % chunks);
                let ks = c * KC..((c + 1) * KC).min(k);
                Span::of(
                    layout,
                    codes[i * k + ks.start..i * k + ks.end].iter().copied(),
                )
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
            let term_rows: Vec<&[u16]> = match lit {
                Some(_) => (t.i..t.i + t.r)
                    .map(|i| &terms[i * k..(i + 1) * k])
                    .collect(),
                None => Vec::new(),
            };
            let c = t.ks.start / KC;
            let mut path = Path::Fast;
            for i in t.i..t.i + t.r {
                for p in t.p..t.p + t.q {
                    match aspans[i * chunks + c].path_with(
                        self.spans[p * chunks + c],
                        layout,
                        lit.is_some(),
                    ) {
                        Path::Portable => path = Path::Portable,
                        Path::Zeros if path == Path::Fast => path = Path::Zeros,
                        _ => {}
                    }
                }
            }
            let ops = Operands {
                off,
                w: &w,
                a: &rows,
                lit: lit.map(|l| (l, &term_rows[..])),
            };
            match path {
                Path::Fast => sums_fast::<false>(level, &ops, t.ks.clone(), regs),
                Path::Zeros => sums_fast::<true>(level, &ops, t.ks.clone(), regs),
                Path::Portable => sums_scalar(&self.unit, layout, &ops, t.ks.clone(), regs),
            }
        })
    }
}

/// A register tile's operands: the layout's offset (the activation keys
/// are `a − off`), the weight panels, the activation keys, and for
/// `lmul-literal` its constants and the activations' mantissa terms
/// ([`Literal::term`] with `k`), row by row like the keys.
struct Operands<'a> {
    off: u16,
    w: &'a [&'a [u16]],
    a: &'a [&'a [u16]],
    lit: Option<(Literal, &'a [&'a [u16]])>,
}

/// The fast tile (every product known to be the one-add case; with
/// `ZEROS`, or to have a ±0 operand, whose product is skipped: see
/// [`Path::Zeros`]).
fn sums_fast<const ZEROS: bool>(
    level: IsaLevel,
    ops: &Operands,
    ks: std::ops::Range<usize>,
    regs: &mut [[f32; LANES]],
) {
    isa::dispatch!(level,
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2.
        avx2 => unsafe {
            match ops.lit {
                None => avx2::sums::<ZEROS, false>(ops, ks, regs),
                Some(_) => avx2::sums::<ZEROS, true>(ops, ks, regs),
            }
        },
        scalar => fast_scalar::<ZEROS>(ops, ks, regs),
    )
}

/// The fast tile on the portable path (and where AVX2 lacks a shape).
fn fast_scalar<const ZEROS: bool>(
    ops: &Operands,
    ks: std::ops::Range<usize>,
    regs: &mut [[f32; LANES]],
) {
    let q = ops.w.len();
    for (t, ar) in ops.a.iter().enumerate() {
        for (u, wp) in ops.w.iter().enumerate() {
            let reg = &mut regs[t * q + u];
            for kk in ks.clone() {
                if ZEROS && ar[kk].wrapping_add(ops.off) & 0x7fff == 0 {
                    continue;
                }
                for (l, acc) in reg.iter_mut().enumerate() {
                    let wl = wp[kk * LANES + POS[l]];
                    if ZEROS && wl & 0x7fff == 0 {
                        continue;
                    }
                    let mut p = ar[kk].wrapping_add(wl);
                    if let Some((lit, terms)) = ops.lit {
                        p = lit.apply(p, terms[t][kk], lit.term(wl, false));
                    }
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
    layout: Layout,
    ops: &Operands,
    ks: std::ops::Range<usize>,
    regs: &mut [[f32; LANES]],
) {
    let q = ops.w.len();
    let lit = ops.lit.map(|(l, _)| l);
    for (t, ar) in ops.a.iter().enumerate() {
        for (u, wp) in ops.w.iter().enumerate() {
            let reg = &mut regs[t * q + u];
            for kk in ks.clone() {
                let a = ar[kk].wrapping_add(layout.offset());
                for (l, acc) in reg.iter_mut().enumerate() {
                    *acc += product(unit, layout, lit, a, wp[kk * LANES + POS[l]]);
                }
            }
        }
    }
}

/// The unit's product of the operands in lanes `a` and `w`, as f32: the
/// one-add case from bits (and, for `lmul-literal`, its rounding of a
/// carry), anything else from the unit.
#[inline]
fn product(unit: &LmulUnit, layout: Layout, lit: Option<Literal>, a: u16, w: u16) -> f32 {
    let (ma, mw) = ((a & 0x7fff) as u32, (w & 0x7fff) as u32);
    let (lo, hi) = layout.finite();
    let (out_lo, out_hi) = layout.normal_out(lit.is_some());
    let finite = |m: u32| (lo as u32..=hi as u32).contains(&m);
    if finite(ma) && finite(mw) {
        let r = (ma + mw).wrapping_sub(layout.offset() as u32);
        if (out_lo as u32..=out_hi as u32).contains(&r) {
            let mut p = r as u16 | ((a ^ w) & 0x8000);
            if let Some(l) = lit {
                p = l.apply(p, l.term(a, true), l.term(w, false));
            }
            return f32::from_bits((p as u32) << 16);
        }
    }
    unit.value_operands(layout.operand(unit, a), layout.operand(unit, w), 0) as f32
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Operands, LANES};
    use std::arch::x86_64::*;

    /// A tile of `R` rows × `P` panels over `ks` (every product fast; with
    /// `ZEROS`, products with a ±0 operand skipped: a zero activation skips
    /// its K step, zero weights clear their lanes of the product to +0;
    /// with `LIT`, each carry product rounded as `lmul-literal` reads it).
    #[inline(always)]
    unsafe fn tile<const R: usize, const P: usize, const ZEROS: bool, const LIT: bool>(
        ops: &Operands,
        ks: std::ops::Range<usize>,
        regs: &mut [[f32; LANES]],
    ) {
        let (off, w, a) = (ops.off, ops.w, ops.a);
        assert!(a.len() == R && w.len() == P && regs.len() == R * P);
        assert!(a.iter().all(|r| r.len() >= ks.end));
        assert!(w.iter().all(|p| p.len() >= ks.end * LANES));
        let (lit, terms) = match ops.lit {
            Some((l, t)) => (l, t),
            None => (super::Layout::Bf16.literal(), &[][..]),
        };
        assert!(!LIT || (terms.len() == R && terms.iter().all(|r| r.len() >= ks.end)));
        let tp: [*const u16; R] = std::array::from_fn(|r| {
            if LIT {
                terms[r].as_ptr()
            } else {
                std::ptr::null()
            }
        });
        let mm = _mm256_set1_epi16(lit.mm as i16);
        let top = _mm256_set1_epi16(0x7f);
        let above = _mm256_set1_epi16(0x80);
        let one = _mm256_set1_epi16(1);
        let shift = _mm_cvtsi32_si128(lit.shift as i32);
        let mut acc: [[[__m256; 2]; P]; R] = std::array::from_fn(|r| {
            std::array::from_fn(|q| {
                let s = regs[r * P + q].as_ptr();
                [_mm256_loadu_ps(s), _mm256_loadu_ps(s.add(8))]
            })
        });
        let wp: [*const u16; P] = std::array::from_fn(|q| w[q].as_ptr());
        let ap: [*const u16; R] = std::array::from_fn(|r| a[r].as_ptr());
        let high = _mm256_set1_epi32(0xffff_0000u32 as i32);
        let magnitude = _mm256_set1_epi16(0x7fff);
        let zero = _mm256_setzero_si256();
        for kk in ks {
            // SAFETY: bounds asserted above.
            let wv: [__m256i; P] =
                std::array::from_fn(
                    |q| _mm256_loadu_si256(wp[q].add(kk * LANES) as *const __m256i),
                );
            // The weights' mantissa terms (literal carries).
            let wt: [__m256i; P] = std::array::from_fn(|q| {
                if LIT {
                    _mm256_and_si256(wv[q], mm)
                } else {
                    zero
                }
            });
            // All ones in the lanes of ±0 weights.
            let wz: [__m256i; P] = std::array::from_fn(|q| {
                if ZEROS {
                    _mm256_cmpeq_epi16(_mm256_and_si256(wv[q], magnitude), zero)
                } else {
                    zero
                }
            });
            for r in 0..R {
                let key = *ap[r].add(kk);
                if ZEROS && key.wrapping_add(off) & 0x7fff == 0 {
                    continue;
                }
                let x = _mm256_set1_epi16(key as i16);
                let xt = if LIT {
                    _mm256_set1_epi16(*tp[r].add(kk) as i16)
                } else {
                    zero
                };
                for q in 0..P {
                    let mut p = _mm256_add_epi16(x, wv[q]);
                    if ZEROS {
                        p = _mm256_andnot_si256(wz[q], p);
                    }
                    if LIT {
                        // Lanes whose mantissa sum t carried: u = (t − 0x80) >> shift,
                        // p − (u − rne(u/2)) << shift.
                        let t = _mm256_add_epi16(xt, wt[q]);
                        let carry = _mm256_cmpgt_epi16(t, top);
                        let u = _mm256_srl_epi16(_mm256_sub_epi16(t, above), shift);
                        let h = _mm256_srli_epi16::<1>(u);
                        let rne =
                            _mm256_add_epi16(h, _mm256_and_si256(_mm256_and_si256(u, h), one));
                        let d = _mm256_sll_epi16(_mm256_sub_epi16(u, rne), shift);
                        p = _mm256_sub_epi16(p, _mm256_and_si256(d, carry));
                    }
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
    pub unsafe fn sums<const ZEROS: bool, const LIT: bool>(
        ops: &Operands,
        ks: std::ops::Range<usize>,
        regs: &mut [[f32; LANES]],
    ) {
        match (ops.a.len(), ops.w.len()) {
            (1, 4) => tile::<1, 4, ZEROS, LIT>(ops, ks, regs),
            (2, 2) => tile::<2, 2, ZEROS, LIT>(ops, ks, regs),
            (1, 1) => tile::<1, 1, ZEROS, LIT>(ops, ks, regs),
            (2, 1) => tile::<2, 1, ZEROS, LIT>(ops, ks, regs),
            (3, 1) => tile::<3, 1, ZEROS, LIT>(ops, ks, regs),
            (4, 1) => tile::<4, 1, ZEROS, LIT>(ops, ks, regs),
            _ => super::fast_scalar::<ZEROS>(ops, ks, regs),
        }
    }
}
