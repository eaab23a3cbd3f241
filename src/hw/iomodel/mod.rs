//! Closed-form I/O counts and lower bounds: standard attention,
//! FlashAttention, Saha–Ye, blocked matmul and GEMV, Hong–Kung. The sweep
//! that sets them beside simulated cache traffic is [`crate::hw::io_sweep`];
//! the tiles the closed forms take are [`crate::hw::tiles`].
//!
//! # Units and accounting
//!
//! - N is the sequence length, d the head dimension, M the fast-memory size
//!   in **words**; a word is one element of the operand format, its share of
//!   the block scale included ([`ElementSize::words_in`] turns a cache size
//!   in bytes into M). Byte counts are words × bits per element / 8; the
//!   softmax statistics ℓ and m of FlashAttention are f32 (4 bytes each)
//!   whatever the operand format.
//! - A count is what the algorithm moves between slow and fast memory:
//!   `read_words` loaded, `write_words` stored. The textbook figure is their
//!   sum ([`IoCount::words`]).
//! - A write-back, write-allocate cache also fetches every line the
//!   algorithm writes before it has read it. Those words are `fill_words`;
//!   reads + writes + fills ([`IoCount::cached_bytes`]) is what such a cache
//!   moves, and what the simulator reproduces exactly when the schedule's
//!   working set fits (see `tests/hw/iomodel.rs`).
//! - Every closed form is exact for its schedule (partial tiles included),
//!   not only asymptotic; each function documents its loop order.
//!
//! # Lower bounds and their constants
//!
//! - Saha & Ye (ICML 2024) prove Θ(N²d²/M) for M ≥ d² and Θ(N²d/√M) for
//!   M < d² without an explicit constant. [`saha_ye_bound`] uses constant 1
//!   in both regimes, which makes the two meet at M = d² (both N²), and takes
//!   the maximum with the compulsory traffic 4Nd (read Q, K, V; write O).
//!   With constant 1 it is indicative, not a theorem.
//! - Hong & Kung: matrix product traffic is Ω(mnk/√M); the tight form of
//!   Smith et al. (2019) is ≥ 2mnk/√M − 2M, whose leading term 2mnk/√M
//!   [`hong_kung_bound`] reports, with the maximum of that form and the
//!   compulsory mk + kn + mn as the bound.

mod attention;
mod matmul;

pub use attention::{
    flash_attention_count, saha_ye_bound, saha_ye_small_memory, standard_attention_count,
};
pub use matmul::{gemv_count, hong_kung_bound, naive_matmul_count, tiled_matmul_count};

use crate::hw::tiles::ElementSize;
use serde::{Deserialize, Serialize};

/// Which regime of a closed form or bound applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Regime {
    /// Every operand is read once: the tiles cover the whole problem.
    Fits,
    /// Some operand is streamed from slow memory more than once.
    Restream,
    /// Every operand access goes to slow memory (no fast memory used).
    NoReuse,
    /// Saha–Ye, M ≥ d²: Θ(N²d²/M).
    LargeMemory,
    /// Saha–Ye, M < d²: Θ(N²d/√M).
    SmallMemory,
    /// Hong–Kung's 2mnk/√M − 2M exceeds the compulsory traffic.
    HongKung,
    /// The compulsory traffic (inputs read once, outputs written once) dominates.
    Compulsory,
}

impl Regime {
    /// Short label for tables and CSV.
    pub fn label(self) -> &'static str {
        match self {
            Regime::Fits => "fits",
            Regime::Restream => "re-stream",
            Regime::NoReuse => "no-reuse",
            Regime::LargeMemory => "M>=d^2",
            Regime::SmallMemory => "M<d^2",
            Regime::HongKung => "hong-kung",
            Regime::Compulsory => "compulsory",
        }
    }
}

impl std::fmt::Display for Regime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// An exact slow-memory traffic count of one schedule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IoCount {
    /// Words loaded from slow memory.
    pub read_words: u64,
    /// Words stored to slow memory.
    pub write_words: u64,
    /// Words a write-allocate cache fetches because they are written before being read.
    pub fill_words: u64,
    /// Bytes loaded.
    pub read_bytes: f64,
    /// Bytes stored.
    pub write_bytes: f64,
    /// Bytes of the write-allocate fills.
    pub fill_bytes: f64,
    /// Which regime the schedule is in.
    pub regime: Regime,
}

impl IoCount {
    fn zero(regime: Regime) -> Self {
        IoCount {
            read_words: 0,
            write_words: 0,
            fill_words: 0,
            read_bytes: 0.0,
            write_bytes: 0.0,
            fill_bytes: 0.0,
            regime,
        }
    }

    /// Reads + writes, words (the textbook count).
    pub fn words(&self) -> u64 {
        self.read_words + self.write_words
    }

    /// Reads + writes, bytes.
    pub fn bytes(&self) -> f64 {
        self.read_bytes + self.write_bytes
    }

    /// Reads + writes + write-allocate fills, bytes: the traffic of a
    /// write-back, write-allocate cache running this schedule.
    pub fn cached_bytes(&self) -> f64 {
        self.bytes() + self.fill_bytes
    }
}

/// The closed form of the schedule a generator runs for one fast-memory size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClosedForm {
    /// Fast memory M in words of the format.
    pub m_words: u64,
    /// The tiles the generator chose, as text (`Bc=32 Br=32`).
    pub tiles: String,
    /// The exact count of that schedule.
    pub count: IoCount,
    /// The lower bound (Saha–Ye for attention, Hong–Kung for matmuls).
    pub bound: Bound,
}

/// A lower bound on slow-memory traffic.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bound {
    /// The bound, words: max(compulsory, leading term form).
    pub words: f64,
    /// The bound, bytes (words × bits per element / 8).
    pub bytes: f64,
    /// The asymptotic leading term alone, words.
    pub leading_words: f64,
    /// Which regime applies (Saha–Ye: large or small memory; Hong–Kung or compulsory).
    pub regime: Regime,
    /// Whether the compulsory traffic is the larger term.
    pub compulsory: bool,
}

/// Accumulates a count: operand elements in the format, statistics in f32.
struct Tally<'a> {
    es: &'a ElementSize,
    c: IoCount,
}

impl<'a> Tally<'a> {
    fn new(es: &'a ElementSize, regime: Regime) -> Self {
        Tally {
            es,
            c: IoCount::zero(regime),
        }
    }
    fn read(&mut self, words: u64) {
        self.c.read_words += words;
        self.c.read_bytes += self.es.bytes(words);
    }
    fn write(&mut self, words: u64) {
        self.c.write_words += words;
        self.c.write_bytes += self.es.bytes(words);
    }
    fn fill(&mut self, words: u64) {
        self.c.fill_words += words;
        self.c.fill_bytes += self.es.bytes(words);
    }
    fn read_f32(&mut self, words: u64) {
        self.c.read_words += words;
        self.c.read_bytes += 4.0 * words as f64;
    }
    fn write_f32(&mut self, words: u64) {
        self.c.write_words += words;
        self.c.write_bytes += 4.0 * words as f64;
    }
    fn fill_f32(&mut self, words: u64) {
        self.c.fill_words += words;
        self.c.fill_bytes += 4.0 * words as f64;
    }
}
