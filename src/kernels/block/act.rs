//! The activation block formats the block kernels quantize to inside the
//! product: ggml's Q8_0 (32-blocks, fp16 scale) and Q8_K (256-blocks, f32
//! scale), both int8 codes, each with its per-block code sums (the offset
//! corrections of Q4_0 and the ternary formats need them).

use crate::formats::ggml::{self, GgmlBlock};
use crate::formats::ternary::{self, quantize_q8_k};
use rayon::prelude::*;

/// Activations of `m` rows quantized to int8 blocks: codes (`m × nb × QK`),
/// f32 scales and per-block code sums (`m × nb`).
#[derive(Debug, Clone)]
pub struct QuantRows {
    /// Blocks per row.
    pub nb: usize,
    /// Codes, padded to whole blocks with 0.
    pub codes: Vec<i8>,
    /// Block scales as f32.
    pub d: Vec<f32>,
    /// Σ codes per block.
    pub sums: Vec<i32>,
}

/// An activation block format: its block length, description and quantizer.
pub trait ActFormat {
    /// Values per block (the weights' block length too).
    const QK: usize;
    /// What the format is, for variant listings.
    const DESC: &'static str;
    /// Storage bits per activation (codes, scale and any sums).
    fn bits() -> f64;
    /// Quantizes activations (`m × k`) per row, as the emulation does.
    fn quantize(a: &[f32], m: usize, k: usize) -> QuantRows;
}

/// ggml Q8_0 activations: 32-blocks, fp16 absmax/127 scale, `roundf`.
#[derive(Debug, Clone, Copy)]
pub struct Q8_0Act;

impl ActFormat for Q8_0Act {
    const QK: usize = ggml::QK;
    const DESC: &'static str = "Q8_0: int8 g32, fp16 absmax/127 scale";

    fn bits() -> f64 {
        GgmlBlock::Q8_0.bits_per_weight()
    }

    fn quantize(a: &[f32], m: usize, k: usize) -> QuantRows {
        let b = ggml::quantize(GgmlBlock::Q8_0, a, m, k);
        let d = (0..b.d.len()).map(|i| b.scale(i)).collect();
        let sums = b
            .codes
            .chunks(Self::QK)
            .map(|c| c.iter().map(|&x| x as i32).sum())
            .collect();
        QuantRows {
            nb: b.nb,
            codes: b.codes,
            d,
            sums,
        }
    }
}

/// ggml Q8_K activations: 256-blocks, f32 −max/127 scale; the block sums
/// come from its 16 stored sums of 16.
#[derive(Debug, Clone, Copy)]
pub struct Q8KAct;

impl ActFormat for Q8KAct {
    const QK: usize = ternary::QK_K;
    const DESC: &'static str = "Q8_K: int8 g256, f32 -max/127 scale";

    fn bits() -> f64 {
        ternary::Q8_K_BITS
    }

    fn quantize(a: &[f32], m: usize, k: usize) -> QuantRows {
        let q = quantize_q8_k(a, m, k);
        let sums = q
            .bsums
            .chunks(16)
            .map(|s| s.iter().map(|&x| x as i32).sum())
            .collect();
        QuantRows {
            nb: q.nb,
            codes: q.codes,
            d: q.d,
            sums,
        }
    }
}

/// Activation values per task of [`quantize_rows`] (whole rows, at least one).
const PAR_VALUES: usize = 1 << 17;

/// [`ActFormat::quantize`] on chunks of whole rows in parallel: every row
/// quantizes on its own, so the result is one call's, bit for bit (the
/// product calls this; the emulation calls the format's quantizer once).
pub fn quantize_rows<A: ActFormat>(a: &[f32], m: usize, k: usize) -> QuantRows {
    let rows_per = (PAR_VALUES / k.max(1)).max(1);
    if m <= rows_per || k == 0 {
        return A::quantize(a, m, k);
    }
    assert_eq!(a.len(), m * k, "activations are m × k");
    let parts: Vec<QuantRows> = a
        .par_chunks(rows_per * k)
        .map(|c| A::quantize(c, c.len() / k, k))
        .collect();
    let mut q = QuantRows {
        nb: parts[0].nb,
        codes: Vec::with_capacity(parts.iter().map(|p| p.codes.len()).sum()),
        d: Vec::with_capacity(parts.iter().map(|p| p.d.len()).sum()),
        sums: Vec::with_capacity(parts.iter().map(|p| p.sums.len()).sum()),
    };
    for p in parts {
        q.codes.extend_from_slice(&p.codes);
        q.d.extend_from_slice(&p.d);
        q.sums.extend_from_slice(&p.sums);
    }
    q
}
