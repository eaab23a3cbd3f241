//! The cost of an attention variant: operation counts by kind and bytes.
//!
//! # Operations (for `P` = visible query–key pairs over all heads)
//!
//! - Q·Kᵀ: `P·d` multiplies (`qk_mul`) and adds (`qk_add`); P·V the same
//!   with `pv_mul`, `pv_add`; `macs` = `2·P·d`.
//! - softmax per pair: one exponential, one subtract (of the row max), one
//!   compare (the max, counted as an add) and one add (the row sum); the
//!   standard schedule also divides every p (counted as a multiply); tiled
//!   schedules rescale per row and tile (one exponential, `d` multiplies and
//!   2 ops for ℓ) and divide `d` outputs per row.
//! - one exponential = the 12 multiplies and 11 adds of
//!   [`crate::arith::exp::exp_f32`] (f64 for the reference).
//!
//! # Bytes
//!
//! Slow memory (`dram_bytes`) follows the closed forms of
//! [`crate::hw::iomodel`], per head, with each tensor counted at its own
//! bits (scales amortised, [`super::info::Storage`]):
//! - standard: [`standard_attention_count`] with one Q block: Q, K, V read
//!   once, S and P written and read once (at the output's bits), O written;
//! - tiled (Algorithm 1 order, [`flash_attention_count`] with the variant's
//!   tiles): K, V once; Q once per KV tile step `T_c = ⌈nk/B_c⌉`; O written
//!   every step and read back on all but the first; ℓ, m (f32) likewise;
//! - split-KV: each chunk a tiled pass over its keys, plus each chunk's
//!   partial O, ℓ, m (f32) written and read back for the merge.
//!
//! For `nq = nk` and one element size these equal the closed forms'
//! read + write bytes exactly (tested). On-chip (`sram_bytes`): every visible
//! pair reads its K and V row (`P·d` elements each), and every query row
//! reads Q and writes O once.
//!
//! [`standard_attention_count`]: crate::hw::iomodel::standard_attention_count
//! [`flash_attention_count`]: crate::hw::iomodel::flash_attention_count

use super::info::{AttentionInfo, Schedule, Softmax};
use super::AttnShape;
use crate::hw::cost::{Cost, OpKind};

/// Multiplies and adds of one exponential.
pub const EXP_OPS: (f64, f64) = (12.0, 11.0);

/// Slow-memory bytes of one head (see the module docs).
pub fn head_dram_bytes(info: &AttentionInfo, shape: AttnShape) -> f64 {
    let AttnShape { nq, nk, d, .. } = shape;
    let (nq, nk, d) = (nq as f64, nk as f64, d as f64);
    let qb = info.q.bits_per_element(shape.nq, shape.d) / 8.0;
    let kb = info.k.bits_per_element(shape.nk, shape.d) / 8.0;
    let vb = info.v.bits_per_element(shape.nk, shape.d) / 8.0;
    let ob = info.o_bits as f64 / 8.0;
    let flash = |nk: f64, b_c: usize| {
        let tc = (nk / b_c.max(1) as f64).ceil().max(1.0);
        nq * d * qb * tc
            + nk * d * (kb + vb)
            + (2.0 * tc - 1.0) * nq * d * ob
            + (2.0 * tc - 1.0) * 2.0 * nq * 4.0
    };
    match info.schedule {
        Schedule::Standard => nq * d * qb + nk * d * (kb + vb) + 4.0 * nq * nk * ob + nq * d * ob,
        Schedule::Flash { b_c, .. } => flash(nk, b_c),
        Schedule::SplitKv { splits, b_c } => {
            let chunk = (nk / splits.max(1) as f64).ceil().max(1.0);
            let full = (nk / chunk).floor();
            let rest = nk - full * chunk;
            let mut bytes = full * flash(chunk, b_c);
            if rest > 0.0 {
                bytes += flash(rest, b_c);
            }
            let parts = (nk / chunk).ceil();
            // Each chunk's f32 partial (O, ℓ, m) written, then read by the merge.
            bytes + 2.0 * parts * nq * (d + 2.0) * 4.0
        }
    }
}

/// The variant's cost for `shape` (module docs).
pub fn cost(info: &AttentionInfo, shape: AttnShape) -> Cost {
    let pairs = shape.pairs();
    let d = shape.d as f64;
    let rows = (shape.heads * shape.nq) as f64;
    let mut c = Cost {
        macs: 2.0 * pairs * d,
        ..Cost::default()
    };
    let o = &info.ops;
    c.add(o.qk_mul, pairs * d);
    c.add(o.qk_add, pairs * d);
    c.add(o.pv_mul, pairs * d);
    c.add(o.pv_add, pairs * d);
    let (mul, add) = match o.softmax {
        Softmax::F32 => (OpKind::F32_MUL, OpKind::F32_ADD),
        Softmax::F64 => (OpKind::F64_MUL, OpKind::F64_ADD),
    };
    let exps = match info.schedule {
        Schedule::Standard => {
            c.add(mul, pairs);
            pairs
        }
        Schedule::Flash { b_c, .. } | Schedule::SplitKv { b_c, .. } => {
            let tiles = rows * (shape.nk as f64 / b_c.max(1) as f64).ceil();
            c.add(mul, tiles * d + rows * d);
            c.add(add, 2.0 * tiles);
            pairs + tiles
        }
    };
    c.add(mul, exps * EXP_OPS.0);
    c.add(add, exps * EXP_OPS.1 + 3.0 * pairs);
    c.dram_bytes = shape.heads as f64 * head_dram_bytes(info, shape);
    let kv = (info.k.bits_per_element(shape.nk, shape.d)
        + info.v.bits_per_element(shape.nk, shape.d))
        / 8.0;
    let qo = (info.q.bits_per_element(shape.nq, shape.d) + info.o_bits as f64) / 8.0;
    c.sram_bytes = pairs * d * kv + rows * d * qo;
    c
}
