//! The XNOR-popcount kernel (binary weights × binary activations): signs
//! packed 64 per word, `dot = K − 2 · popcount(a ⊕ w)` — exactly the int32
//! sum of the ±1 products, since each differing sign contributes −1 and each
//! equal one +1 (padding bits are 0 on both sides and never differ). Then
//! `out = (f32(dot) · sa[i]) · sw[j]`, as the variants finish an int32 sum.

use super::quant;
use crate::isa::{self, IsaLevel};
use rayon::prelude::*;

/// Binary weights, one row of sign bits (1 = −1) per output channel.
#[derive(Debug, Clone, PartialEq)]
pub struct XnorKernel {
    n: usize,
    k: usize,
    words: usize,
    bits: Vec<u64>,
    scales: Vec<f32>,
}

/// Packs sign flags (row-major `rows × k`) into 64-bit words per row.
pub fn pack_signs(neg: &[bool], rows: usize, k: usize) -> Vec<u64> {
    let words = k.div_ceil(64);
    let mut bits = vec![0u64; rows * words];
    for r in 0..rows {
        for kk in 0..k {
            if neg[r * k + kk] {
                bits[r * words + kk / 64] |= 1 << (kk % 64);
            }
        }
    }
    bits
}

impl XnorKernel {
    /// Packs weights given as ±1 values (`n × k`) with per-row scales.
    pub fn pack(values: &[i8], n: usize, k: usize, scales: &[f32]) -> XnorKernel {
        let neg: Vec<bool> = values.iter().map(|&v| v < 0).collect();
        XnorKernel {
            n,
            k,
            words: k.div_ceil(64),
            bits: pack_signs(&neg, n, k),
            scales: scales.to_vec(),
        }
    }

    /// Bytes the product streams (sign words plus scales).
    pub fn bytes(&self) -> usize {
        8 * self.bits.len() + 4 * self.scales.len()
    }

    /// `a · wᵀ` for `a` (`m × k` f32): activations binarised per row inside.
    pub fn matmul(&self, a: &[f32], m: usize) -> Vec<f64> {
        let (neg, sa) = quant::sign_rows(a, m, self.k);
        let abits = pack_signs(&neg, m, self.k);
        let level = isa::effective();
        let (n, k, words) = (self.n, self.k, self.words);
        let mut out = vec![0f64; m * n];
        if n == 0 {
            return out;
        }
        out.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
            let ar = &abits[i * words..(i + 1) * words];
            for (j, o) in row.iter_mut().enumerate() {
                let wr = &self.bits[j * words..(j + 1) * words];
                let diff = popcount_xor(level, ar, wr) as i64;
                let dot = (k as i64 - 2 * diff) as i32;
                *o = ((dot as f32 * sa[i]) * self.scales[j]) as f64;
            }
        });
        out
    }
}

/// `Σ popcount(a[w] ⊕ b[w])`.
fn popcount_xor(level: IsaLevel, a: &[u64], b: &[u64]) -> u32 {
    isa::dispatch!(level,
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2 (which
        // every x86-64 CPU with AVX2 pairs with POPCNT; checked below).
        avx2 => if isa::active().avx2 && std::is_x86_feature_detected!("popcnt") {
            unsafe { popcount_xor_popcnt(a, b) }
        } else {
            popcount_xor_body(a, b)
        },
        scalar => popcount_xor_body(a, b),
    )
}

#[inline(always)]
fn popcount_xor_body(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
unsafe fn popcount_xor_popcnt(a: &[u64], b: &[u64]) -> u32 {
    popcount_xor_body(a, b)
}
