//! BitMoD weights (`matmul/bitmod-w4`, `matmul/bitmod-w3`) on the integer
//! kernel family: the stored codes decoded through their group's type table
//! into int8, then [`IntKernel`]'s int8 dot products and group fold.
//!
//! Stored form ([`BitmodCodes`]): per weight a `bits`-bit code, the index of
//! its value in the group type's ascending value table; per group of 128
//! the type (ER±/EA±) and the fp16 scale. Every value of every type is an
//! integer of magnitude ≤ 16 (4-bit: {0, ±1, ±2, ±3, ±4, ±6, ±8, ±12} plus
//! ±10 or ±16; 3-bit: {0, ±1, ±2, ±4} plus ±3 or ±6), so the decoded weights
//! are int8 codes with no rescaling (no factor to fold into the scale) and
//! far from the −128 the int8 kernels refuse.
//!
//! Why the bits are the emulation's (`variants/kernel.rs` on the int32
//! datapath): the emulation sums each 128-group `Σ a·v` exactly in int32,
//! then `acc = acc + f32(p) · s_g` in group order from +0, then `acc · sa`
//! (int8 per-token absmax activations, the row scale outer; BitMoD weights
//! have no outer scale). [`IntKernel`] computes the same exact group sums
//! (|a| ≤ 127, |v| ≤ 16: pairs ≤ 4064, far below int16 saturation), folds
//! `acc + f32(sum) · s_g` per lane in group order, and finishes
//! `acc · sa` — the same operations in the same order. A ragged last group
//! is padded with zero weights and zero activations, which add nothing.
//!
//! Where the decode happens: once, at packing (the LUT of the group's type,
//! [`lut`]), into 8-bit integer panels. The product therefore streams one
//! byte per weight (plus an f32 scale per group), not the 4.14 / 3.14 bits
//! of the stored form: decoding in registers would need a per-row table
//! (the four types differ in the one extra value, and the 8 rows of a panel
//! each carry their own type), which the integer family's shared steps do
//! not have. The kernel's `bytes` counts what it streams.

use super::int8::IntKernel;
use super::pack::IntPanels;
use crate::arith::bitserial::datatypes::{BitmodType, BitmodWeights};
use crate::tensor::{QOperand, Values};

/// BitMoD weights in their stored form: codes, per-group types and scales.
#[derive(Debug, Clone, PartialEq)]
pub struct BitmodCodes {
    /// Family width (3 or 4): bits per code.
    pub bits: u32,
    /// Rows (output channels).
    pub rows: usize,
    /// Reduction length.
    pub k: usize,
    /// Group length.
    pub group: usize,
    /// Codes, row-major `rows × k`: each the index of the weight's value in
    /// its group type's ascending table (`< 2^bits`).
    pub codes: Vec<u8>,
    /// Types, `rows × ⌈k / group⌉`.
    pub types: Vec<BitmodType>,
    /// fp16 scales (as exact f32), same layout as `types`.
    pub scales: Vec<f32>,
}

/// The lookup table of `ty` in the `bits`-bit family: code → value, the
/// type's `2^bits` values ascending.
///
/// # Panics
/// When `bits` is not 3 or 4.
pub fn lut(bits: u32, ty: BitmodType) -> Vec<i8> {
    ty.values(bits).into_iter().map(|v| v as i8).collect()
}

impl BitmodCodes {
    /// The stored form of quantized weights: each value's index in its
    /// group type's table.
    ///
    /// # Panics
    /// When a value is not in its group's type (a quantizer bug).
    pub fn encode(w: &BitmodWeights) -> BitmodCodes {
        let gpr = w.groups_per_row();
        let tables: Vec<Vec<i8>> = BitmodType::ALL.iter().map(|&t| lut(w.bits, t)).collect();
        let mut codes = Vec::with_capacity(w.values.len());
        for r in 0..w.rows {
            for c in 0..w.k {
                let t = &tables[w.types[r * gpr + c / w.group].index()];
                let v = w.values[r * w.k + c];
                let code = t
                    .iter()
                    .position(|&x| x == v)
                    .unwrap_or_else(|| panic!("value {v} is not in its group's BitMoD type"));
                codes.push(code as u8);
            }
        }
        BitmodCodes {
            bits: w.bits,
            rows: w.rows,
            k: w.k,
            group: w.group,
            codes,
            types: w.types.clone(),
            scales: w.scales.clone(),
        }
    }

    /// The int8 weight values: every code through its group type's table.
    ///
    /// # Panics
    /// When a code is out of its table (corrupt codes).
    pub fn decode(&self) -> Vec<i8> {
        let gpr = self.k.div_ceil(self.group.max(1));
        let tables: Vec<Vec<i8>> = BitmodType::ALL.iter().map(|&t| lut(self.bits, t)).collect();
        let mut out = Vec::with_capacity(self.codes.len());
        for r in 0..self.rows {
            for g in 0..gpr {
                let t = &tables[self.types[r * gpr + g].index()];
                let span = g * self.group..((g + 1) * self.group).min(self.k);
                out.extend(
                    self.codes[r * self.k + span.start..r * self.k + span.end]
                        .iter()
                        .map(|&c| t[c as usize]),
                );
            }
        }
        out
    }
}

/// A BitMoD matmul kernel: LUT-decoded int8 panels in an [`IntKernel`].
#[derive(Debug, Clone)]
pub struct BitmodKernel {
    int: IntKernel,
}

impl BitmodKernel {
    /// Decodes and packs stored BitMoD weights (`rows × k`).
    pub fn pack(w: &BitmodCodes) -> BitmodKernel {
        let q = QOperand {
            rows: w.rows,
            k: w.k,
            values: Values::Int(w.decode()),
            group: w.group,
            inner: Some(w.scales.clone()),
            outer: None,
        };
        BitmodKernel {
            int: IntKernel::new(IntPanels::pack(&q, 8)),
        }
    }

    /// Reduction length.
    pub fn k(&self) -> usize {
        self.int.weights().groups.k
    }

    /// Bytes the product streams: the int8 panels and the f32 group scales.
    pub fn bytes(&self) -> usize {
        self.int.weights().bytes()
    }

    /// `a · wᵀ` for `a` (`m × k` f32, row-major): activations quantized to
    /// int8 per row inside, as the variant's quantizer does.
    pub fn matmul(&self, a: &[f32], m: usize) -> Vec<f64> {
        self.int.matmul(a, m)
    }
}
