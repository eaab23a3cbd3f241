//! [`AttentionInfo`]: what an attention variant is, as data — name,
//! formats, accumulators, how K and V are stored, its loop schedule and the
//! operation kinds its cost counts. `bitsim variants list`, the README's
//! variant table, the cost and the report are all printed from it.

use crate::hw::cost::OpKind;
use serde::{Deserialize, Serialize};

/// The loop structure of a variant (what its slow-memory traffic follows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Schedule {
    /// S and P materialised in slow memory (standard attention).
    Standard,
    /// Tiled online softmax: `b_r` query rows × `b_c` keys per tile.
    Flash {
        /// Keys per tile.
        b_c: usize,
        /// Query rows per tile.
        b_r: usize,
    },
    /// KV split into `splits` contiguous chunks (flash tiles of `b_c` keys
    /// inside each), merged by log-sum-exp.
    SplitKv {
        /// Chunks of the KV sequence.
        splits: usize,
        /// Keys per tile inside a chunk.
        b_c: usize,
    },
}

impl Schedule {
    /// Keys per tile (the whole sequence for [`Schedule::Standard`]).
    pub fn b_c(&self, nk: usize) -> usize {
        match *self {
            Schedule::Standard => nk.max(1),
            Schedule::Flash { b_c, .. } | Schedule::SplitKv { b_c, .. } => b_c.max(1),
        }
    }

    /// Short text (`standard`, `flash 64x64`, `split-kv 4x64`).
    pub fn describe(&self) -> String {
        match *self {
            Schedule::Standard => "standard (S, P in memory)".into(),
            Schedule::Flash { b_c, b_r } => format!("flash Br={b_r} Bc={b_c}"),
            Schedule::SplitKv { splits, b_c } => format!("split-kv {splits} chunks, Bc={b_c}"),
        }
    }
}

/// Which elements one stored scale covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScaleGroup {
    /// No scale.
    None,
    /// One scale per this many tokens of one head (all `d` channels).
    Tokens(usize),
    /// One scale per channel over the whole sequence.
    Channel,
    /// One scale per this many consecutive elements of a row.
    Block(usize),
    /// One scale per head.
    Tensor,
}

/// How a cached K or V element is stored.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Storage {
    /// Bits of one element code.
    pub bits: u32,
    /// Bits of one scale.
    pub scale_bits: u32,
    /// What one scale covers.
    pub group: ScaleGroup,
}

impl Storage {
    /// Unscaled elements of `bits` bits.
    pub const fn plain(bits: u32) -> Self {
        Storage {
            bits,
            scale_bits: 0,
            group: ScaleGroup::None,
        }
    }

    /// Bits per element, scales amortised, for `n` tokens of head dimension `d`.
    pub fn bits_per_element(&self, n: usize, d: usize) -> f64 {
        let (n, d) = (n.max(1) as f64, d.max(1) as f64);
        let per_scale = match self.group {
            ScaleGroup::None => return self.bits as f64,
            ScaleGroup::Tokens(t) => (t as f64).min(n) * d,
            ScaleGroup::Channel => n,
            ScaleGroup::Block(b) => b as f64,
            ScaleGroup::Tensor => n * d,
        };
        self.bits as f64 + self.scale_bits as f64 / per_scale
    }
}

/// The operation kinds one score and one P·V term cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ops {
    /// Multiply of one Q·K term.
    pub qk_mul: OpKind,
    /// Add of one Q·K term.
    pub qk_add: OpKind,
    /// Multiply of one P·V term.
    pub pv_mul: OpKind,
    /// Add of one P·V term.
    pub pv_add: OpKind,
    /// The softmax's arithmetic (exponential, max, sums, rescaling).
    pub softmax: Softmax,
}

/// The arithmetic the softmax runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Softmax {
    /// f32, exponential by [`crate::arith::exp::exp_f32`].
    F32,
    /// f64 (the reference).
    F64,
}

/// What an attention variant is, as data.
#[derive(Debug, Clone, PartialEq)]
pub struct AttentionInfo {
    /// Registry name (`attention/flash-f32`).
    pub name: &'static str,
    /// One-line description of what is modelled (and the code it follows).
    pub description: &'static str,
    /// Q and K: format and scaling, e.g. `int8 per 128/64 tokens (f32 scale)`.
    pub qk_desc: &'static str,
    /// P and V: format and scaling.
    pub pv_desc: &'static str,
    /// Accumulators, e.g. `f32`, `fp16 in block, f32 across`.
    pub accumulator: &'static str,
    /// Bits of a stored Q element (for I/O; scales amortised as for K).
    pub q: Storage,
    /// How a cached key is stored.
    pub k: Storage,
    /// How a cached value is stored.
    pub v: Storage,
    /// Bits of a stored output element.
    pub o_bits: u32,
    /// Loop schedule.
    pub schedule: Schedule,
    /// Operation kinds for the cost.
    pub ops: Ops,
}

impl AttentionInfo {
    /// Bits per cached K and V element (their mean), scales included, for
    /// `n` tokens of head dimension `d`.
    pub fn kv_bits(&self, n: usize, d: usize) -> f64 {
        (self.k.bits_per_element(n, d) + self.v.bits_per_element(n, d)) / 2.0
    }
}
