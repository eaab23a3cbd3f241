//! BitMoD data types (Chen et al., HPCA 2025) and per-group type selection.
//!
//! The 4-bit base type is FP4 E2M1 with its magnitudes doubled so that every
//! value is an integer: {0, ±1, ±2, ±3, ±4, ±6, ±8, ±12}. E2M1 spends a code
//! on −0; BitMoD gives that code one extra value instead:
//! - ER (extra resolution): ±10, filling the gap between 8 and 12;
//! - EA (extra asymmetry): ±16, extending the range on one side.
//!
//! The sign of the extra value gives four types, ER+, ER−, EA+, EA−. The
//! 3-bit family starts from FP3 {0, ±1, ±2, ±4} and adds ±3 (ER) or ±6 (EA).
//!
//! Quantization, per group of `group` weights along a row (BitMoD uses 128),
//! following the reference quantizer of the BitMoD repository
//! (`bitmod_quant/quant_utils/quant_weight.py`):
//! - scale `s = f16(clamp(absmax / qmax, 1e-5, 1e4))`, where `qmax` is the
//!   largest magnitude of the type (12 or 16; 4 or 6) and `f16(·)` rounds to
//!   nearest even: the scale is stored as an fp16 value;
//! - each weight `w` becomes the type value `v` nearest to `w / s`; a tie
//!   (`w = s · midpoint`) goes to the lower value, as the reference's
//!   `x <= mid` rule does. Comparisons are exact: `s · midpoint` is exact in f64;
//! - NaN weights quantize to 0 and are left out of the absmax;
//! - the group keeps the type of least squared error `Σ (v·s − w)²` (f64),
//!   the first in the order ER+, ER−, EA+, EA− on a tie.
//!
//! Storage: `bits` per weight plus, per group, the fp16 scale (16 bits) and
//! the 2-bit type selector — `bits + 18/128` (4.140625 and 3.140625 bits
//! per weight at group 128), counted the way every other variant counts its
//! scales. The paper counts 8 bits of metadata per group (4.0625 / 3.0625),
//! which does not cover the fp16 scale the method keeps; that figure is
//! [`paper_bits_per_weight`].

use crate::tensor::Matrix;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// BitMoD's group length.
pub const GROUP: usize = 128;

/// Metadata bits per group as the paper counts them.
pub const METADATA_BITS: u32 = 8;

/// Bits per group the stored group really carries: the fp16 scale and the
/// 2-bit choice among the four types.
pub const GROUP_BITS: u32 = 16 + 2;

/// One of the four BitMoD data types (within a 3- or 4-bit family).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BitmodType {
    /// Extra resolution, extra value positive (+10 / +3).
    ErPos,
    /// Extra resolution, extra value negative (−10 / −3).
    ErNeg,
    /// Extra asymmetry, extra value positive (+16 / +6).
    EaPos,
    /// Extra asymmetry, extra value negative (−16 / −6).
    EaNeg,
}

impl BitmodType {
    /// The four types in selection (tie-break) order.
    pub const ALL: [BitmodType; 4] = [
        BitmodType::ErPos,
        BitmodType::ErNeg,
        BitmodType::EaPos,
        BitmodType::EaNeg,
    ];

    /// Short name: `ER+`, `ER-`, `EA+`, `EA-`.
    pub fn name(self) -> &'static str {
        match self {
            BitmodType::ErPos => "ER+",
            BitmodType::ErNeg => "ER-",
            BitmodType::EaPos => "EA+",
            BitmodType::EaNeg => "EA-",
        }
    }

    /// Index in [`BitmodType::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The extra value of this type in the `bits`-bit family (3 or 4).
    pub fn extra(self, bits: u32) -> i32 {
        let (er, ea) = if bits == 3 { (3, 6) } else { (10, 16) };
        match self {
            BitmodType::ErPos => er,
            BitmodType::ErNeg => -er,
            BitmodType::EaPos => ea,
            BitmodType::EaNeg => -ea,
        }
    }

    /// Every value of the type, ascending (`2^bits` distinct integers).
    ///
    /// # Panics
    /// When `bits` is not 3 or 4.
    pub fn values(self, bits: u32) -> Vec<i32> {
        let base: &[i32] = match bits {
            3 => &[1, 2, 4],
            4 => &[1, 2, 3, 4, 6, 8, 12],
            _ => panic!("BitMoD types have 3 or 4 bits, not {bits}"),
        };
        let mut v: Vec<i32> = base.iter().flat_map(|&m| [m, -m]).collect();
        v.push(0);
        v.push(self.extra(bits));
        v.sort_unstable();
        v
    }

    /// Largest magnitude of the type (the scale divisor).
    pub fn qmax(self, bits: u32) -> i32 {
        self.values(bits).iter().map(|v| v.abs()).max().unwrap_or(1)
    }
}

/// Storage bits per weight: `bits` plus [`GROUP_BITS`] (fp16 scale, type
/// selector) amortized over the group.
pub fn bits_per_weight(bits: u32, group: usize) -> f64 {
    bits as f64 + GROUP_BITS as f64 / group.max(1) as f64
}

/// Storage bits per weight with the paper's metadata count (8 bits per
/// group, no fp16 scale), for comparison with its tables.
pub fn paper_bits_per_weight(bits: u32, group: usize) -> f64 {
    bits as f64 + METADATA_BITS as f64 / group.max(1) as f64
}

/// The fp16 group scale for a group whose largest finite magnitude is `absmax`.
pub fn group_scale(absmax: f64, qmax: i32) -> f32 {
    let s = (absmax / qmax as f64).clamp(1e-5, 1e4);
    // One rounding from f64 (`half`'s `from_f64` rounds through f32 when the
    // CPU has F16C, so its bits would depend on the machine).
    crate::arith::fp16::fp16_rne(s)
}

/// A type's values with their decision midpoints, precomputed once.
#[derive(Debug, Clone)]
pub struct TypeTable {
    /// The type.
    pub ty: BitmodType,
    /// Family width (3 or 4).
    pub bits: u32,
    /// Values, ascending.
    pub values: Vec<i32>,
    /// `(values[i] + values[i+1]) / 2`.
    pub mids: Vec<f64>,
    /// Largest magnitude.
    pub qmax: i32,
}

impl TypeTable {
    /// The table of `ty` in the `bits`-bit family.
    pub fn new(ty: BitmodType, bits: u32) -> Self {
        let values = ty.values(bits);
        let mids = values
            .windows(2)
            .map(|p| (p[0] + p[1]) as f64 / 2.0)
            .collect();
        let qmax = ty.qmax(bits);
        TypeTable {
            ty,
            bits,
            values,
            mids,
            qmax,
        }
    }

    /// The value `w` rounds to under scale `s`: the number of midpoints
    /// strictly below `w` (so a tie goes to the lower value) indexes it.
    #[inline]
    pub fn round(&self, w: f64, s: f64) -> i32 {
        if w.is_nan() {
            return 0;
        }
        let i = self.mids.partition_point(|&m| m * s < w);
        self.values[i]
    }
}

/// A group quantized with one type.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupQuant {
    /// The type.
    pub ty: BitmodType,
    /// The fp16 scale (as an exact f32).
    pub scale: f32,
    /// The integer values, one per weight.
    pub values: Vec<i8>,
    /// Squared error `Σ (v·s − w)²` (f64; NaN weights count as 0).
    pub sse: f64,
}

/// Largest finite magnitude of `w` (NaN skipped; ±inf count as inf).
fn absmax(w: &[f32]) -> f64 {
    w.iter()
        .filter(|x| !x.is_nan())
        .fold(0.0f64, |m, &x| m.max((x as f64).abs()))
}

/// Quantizes one group with one type.
pub fn quantize_group(w: &[f32], t: &TypeTable) -> GroupQuant {
    let s = group_scale(absmax(w), t.qmax);
    let sf = s as f64;
    let mut sse = 0.0;
    let mut values = Vec::with_capacity(w.len());
    for &x in w {
        let v = t.round(x as f64, sf);
        if !x.is_nan() {
            let d = v as f64 * sf - x as f64;
            sse += d * d;
        }
        values.push(v as i8);
    }
    GroupQuant {
        ty: t.ty,
        scale: s,
        values,
        sse,
    }
}

/// The four type tables of a family, in [`BitmodType::ALL`] order.
pub fn tables(bits: u32) -> [TypeTable; 4] {
    BitmodType::ALL.map(|t| TypeTable::new(t, bits))
}

/// Quantizes a group with every type and keeps the least squared error (the
/// first in [`BitmodType::ALL`] order on a tie).
pub fn select_group(w: &[f32], tables: &[TypeTable; 4]) -> GroupQuant {
    let mut best: Option<GroupQuant> = None;
    for t in tables {
        let q = quantize_group(w, t);
        if best.as_ref().is_none_or(|b| q.sse < b.sse) {
            best = Some(q);
        }
    }
    best.expect("four types")
}

/// A weight matrix in BitMoD form: per row, groups of `group` weights along
/// K, each with its own type and fp16 scale.
#[derive(Debug, Clone, PartialEq)]
pub struct BitmodWeights {
    /// Family width (3 or 4).
    pub bits: u32,
    /// Rows (output channels).
    pub rows: usize,
    /// Reduction length.
    pub k: usize,
    /// Group length.
    pub group: usize,
    /// Integer values, row-major `rows × k`.
    pub values: Vec<i8>,
    /// Scales, `rows × ceil(k / group)` row-major.
    pub scales: Vec<f32>,
    /// Chosen types, same layout as `scales`.
    pub types: Vec<BitmodType>,
}

impl BitmodWeights {
    /// Groups per row.
    pub fn groups_per_row(&self) -> usize {
        self.k.div_ceil(self.group)
    }

    /// How many groups picked each type, in [`BitmodType::ALL`] order.
    pub fn histogram(&self) -> [usize; 4] {
        let mut h = [0; 4];
        for t in &self.types {
            h[t.index()] += 1;
        }
        h
    }

    /// The dequantized weights `v · s` (exact in f64, rounded once to f32).
    pub fn dequantize(&self) -> Matrix {
        let gpr = self.groups_per_row();
        let mut out = Vec::with_capacity(self.values.len());
        for r in 0..self.rows {
            for c in 0..self.k {
                let s = self.scales[r * gpr + c / self.group] as f64;
                out.push((self.values[r * self.k + c] as f64 * s) as f32);
            }
        }
        Matrix::new(self.rows, self.k, out)
    }
}

/// Quantizes `w` (`rows × k`) to BitMoD `bits`-bit types with per-group
/// selection. Rows run in parallel; the result does not depend on the
/// thread count (rows are independent).
///
/// # Panics
/// When `bits` is not 3 or 4, or `group` is 0.
pub fn quantize(w: &Matrix, bits: u32, group: usize) -> BitmodWeights {
    assert!(group > 0, "group length must be positive");
    let t = tables(bits);
    let (rows, k) = (w.rows, w.cols);
    let gpr = k.div_ceil(group);
    let per_row: Vec<(Vec<i8>, Vec<f32>, Vec<BitmodType>)> = (0..rows)
        .into_par_iter()
        .map(|r| {
            let row = w.row(r);
            let mut vals = Vec::with_capacity(k);
            let mut sc = Vec::with_capacity(gpr);
            let mut ty = Vec::with_capacity(gpr);
            for g in row.chunks(group) {
                let q = select_group(g, &t);
                vals.extend_from_slice(&q.values);
                sc.push(q.scale);
                ty.push(q.ty);
            }
            (vals, sc, ty)
        })
        .collect();
    let mut out = BitmodWeights {
        bits,
        rows,
        k,
        group,
        values: Vec::with_capacity(rows * k),
        scales: Vec::with_capacity(rows * gpr),
        types: Vec::with_capacity(rows * gpr),
    };
    for (v, s, t) in per_row {
        out.values.extend(v);
        out.scales.extend(s);
        out.types.extend(t);
    }
    out
}
