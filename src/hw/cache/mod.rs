//! Trace-driven cache simulator: multi-level, set-associative (fully
//! associative as a case), LRU / FIFO / random / tree-PLRU replacement,
//! write-back or write-through, inclusive levels, plus Belady's OPT.
//!
//! A [`Hierarchy`] is an [`AccessSink`]: feed it accesses (from an address
//! generator in [`crate::hw::tracegen`] or a trace file read by
//! [`tracefile`]), then read [`Hierarchy::stats`], one [`LevelStats`] per
//! level, fastest first. [`reference::ReferenceHierarchy`] is its slow,
//! obviously correct twin with the same semantics (the tests compare their
//! statistics bit for bit), and [`opt::belady`] is the ideal single-level
//! replacement for lower-bound comparisons.
//!
//! # Semantics
//!
//! **Requests.** Each level sees line-granular *requests*, each a read or a
//! write of one of its lines. A CPU access of `size` bytes at `addr` becomes
//! one request to level 0 per level-0 line it touches (an access straddling a
//! line boundary touches each line; a `size` of 0 counts as 1 byte); fetches
//! are reads. A level sends requests to the next one (the last level sends
//! them to memory, which always answers):
//! - a **fill** (read of the line containing the missed line) on every miss
//!   that allocates,
//! - a **write-back** (write of the evicted line) when a dirty line leaves a
//!   write-back level,
//! - a **write-through** (write of the written bytes) on every write that
//!   reaches a write-through level, hit or miss.
//!
//! So `accesses` of level i+1 = fills + write-backs + write-throughs of
//! level i; for level 0 it is the number of lines the CPU accesses touch.
//!
//! **Hits and misses.** `accesses = hits + misses`. On a hit, reads change
//! nothing but the replacement state; a write marks the line dirty
//! (write-back) or is forwarded (write-through). On a miss, a write-back
//! level allocates for reads and writes (write-allocate: the fill is a
//! read; a write then marks the new line dirty); a write-through level
//! allocates for reads only (no write-allocate: a write miss is only
//! forwarded). Lines of a write-through level are never dirty.
//!
//! **Allocation order.** The slot that receives the new line is chosen
//! first: the lowest-numbered invalid way of the set, else the policy's
//! victim (LRU: least recently hit or inserted; FIFO: earliest inserted;
//! random: way `splitmix64() % ways`, one draw per victim from the level's
//! seeded generator; PLRU: the leaf the tree bits point to). Then the victim
//! is evicted (below), then the fill is requested from the next level, then
//! the line is inserted into the chosen slot. Inserting and hitting both
//! count as a use for LRU and PLRU.
//!
//! **Inclusion.** Every level is inclusive of the levels above it: when a
//! line leaves level j by replacement, every copy of its bytes in levels
//! 0..j is invalidated first (*back-invalidation*), level 0 first. A
//! back-invalidated copy counts as an eviction of its level; if it is dirty,
//! it is written back exactly like a replaced dirty line (a write-back
//! request to the level below it, counted in `writebacks` and `bytes_out`),
//! so its data reaches level j before level j's victim leaves, and makes that
//! victim dirty. [`Hierarchy::back_invalidations`] counts them separately.
//! Line sizes may grow, never shrink, from one level to the next.
//!
//! **Bytes.** `bytes_in` is the level's line size per fill; `bytes_out` is
//! the level's line size per write-back plus the written bytes per
//! write-through. The last level's `bytes_in` and `bytes_out` are the
//! traffic to and from memory. Dirty lines still cached at the end are not
//! counted unless [`Hierarchy::flush`] writes them back.

pub mod config;
mod full;
pub mod opt;
mod plru;
pub mod reference;
mod sim;
mod store;
pub mod tracefile;

pub use config::{parse_level, parse_size};
pub use sim::Hierarchy;

use crate::rng::SplitMix64;

/// Replacement policy of a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    /// Least recently used.
    Lru,
    /// First in, first out.
    Fifo,
    /// Uniformly random victim from a generator seeded with `seed`.
    Random {
        /// Generator seed.
        seed: u64,
    },
    /// Tree pseudo-LRU (ways must be a power of two).
    Plru,
}

impl Policy {
    /// The policy's name as written in files and flags (`lru`, `fifo`,
    /// `random`, `plru`).
    pub fn name(&self) -> &'static str {
        match self {
            Policy::Lru => "lru",
            Policy::Fifo => "fifo",
            Policy::Random { .. } => "random",
            Policy::Plru => "plru",
        }
    }
}

/// Write policy of a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WritePolicy {
    /// Write-back with write-allocate.
    WriteBack,
    /// Write-through without write-allocate.
    WriteThrough,
}

/// One cache level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelConfig {
    /// Name (`L1`, `L2`, `smem`).
    pub name: String,
    /// Capacity in bytes.
    pub size: u64,
    /// Associativity; `0` means fully associative.
    pub ways: u32,
    /// Line size in bytes (a power of two).
    pub line: u32,
    /// Replacement policy.
    pub policy: Policy,
    /// Write policy.
    pub write: WritePolicy,
}

impl LevelConfig {
    /// Lines the level holds.
    pub fn lines(&self) -> u64 {
        self.size / self.line.max(1) as u64
    }

    /// Effective associativity (`lines()` when fully associative).
    pub fn effective_ways(&self) -> u64 {
        if self.ways == 0 {
            self.lines()
        } else {
            self.ways as u64
        }
    }

    /// Number of sets.
    pub fn sets(&self) -> u64 {
        self.lines() / self.effective_ways().max(1)
    }

    /// Checks the geometry and policy; the error starts with the offending
    /// key (`line`, `size`, `ways`, `policy`).
    pub fn validate(&self) -> Result<(), String> {
        let line = self.line as u64;
        if line < 4 || !line.is_power_of_two() {
            return Err(format!(
                "line: {line} is not a power of two of at least 4 bytes"
            ));
        }
        if self.size == 0 {
            return Err("size: must be positive".into());
        }
        if line > self.size {
            return Err(format!(
                "line: {line} bytes is larger than the cache ({} bytes)",
                self.size
            ));
        }
        let ways = self.effective_ways();
        if !self.size.is_multiple_of(line * ways) {
            return Err(format!(
                "size: {} is not a multiple of line × ways = {line} × {ways}",
                self.size
            ));
        }
        let sets = self.sets();
        if !sets.is_power_of_two() {
            return Err(format!(
                "ways: the set count {} / ({line} × {ways}) = {sets} is not a power of two",
                self.size
            ));
        }
        // 2^26 lines (4 GiB of 64-byte lines) keeps the tag store's memory in bounds.
        if ways > u32::MAX as u64 / 2 || self.lines() > 1 << 26 {
            return Err(format!(
                "size: {} lines are too many (at most 2^26)",
                self.lines()
            ));
        }
        if self.policy == Policy::Plru && !ways.is_power_of_two() {
            return Err(format!(
                "policy: plru needs a power-of-two number of ways, not {ways}"
            ));
        }
        Ok(())
    }
}

/// A hierarchy, fastest level first; misses of the last level go to memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HierarchyConfig {
    /// Name of the hierarchy (from its file, or `inline`).
    pub name: String,
    /// Levels, fastest first.
    pub levels: Vec<LevelConfig>,
}

impl HierarchyConfig {
    /// Checks every level and the order of line sizes; the error names the
    /// level and the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.levels.is_empty() {
            return Err("level: at least one level is needed".into());
        }
        for (i, l) in self.levels.iter().enumerate() {
            l.validate().map_err(|e| format!("level {}: {e}", l.name))?;
            if self.levels[..i].iter().any(|o| o.name == l.name) {
                return Err(format!("level {}: name: used twice", l.name));
            }
            if i > 0 && l.line < self.levels[i - 1].line {
                return Err(format!(
                    "level {}: line: {} bytes is smaller than the line of the level above ({})",
                    l.name,
                    l.line,
                    self.levels[i - 1].line
                ));
            }
        }
        Ok(())
    }
}

/// Counters of one level (see the module documentation for what counts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LevelStats {
    /// Level name.
    pub name: String,
    /// Requests that reached this level (line-granular).
    pub accesses: u64,
    /// Hits.
    pub hits: u64,
    /// Misses.
    pub misses: u64,
    /// Valid lines evicted (replaced or back-invalidated).
    pub evictions: u64,
    /// Dirty lines written to the next level.
    pub writebacks: u64,
    /// Bytes brought into this level from the next one (or memory).
    pub bytes_in: u64,
    /// Bytes written from this level to the next one (or memory).
    pub bytes_out: u64,
}

impl LevelStats {
    /// `hits / accesses` (0 when there were no accesses).
    pub fn hit_rate(&self) -> f64 {
        if self.accesses == 0 {
            0.0
        } else {
            self.hits as f64 / self.accesses as f64
        }
    }
}

/// The generator behind [`Policy::Random`] (splitmix64): part of the
/// semantics, so that every simulator draws the same victims.
#[derive(Debug, Clone)]
pub struct VictimRng(SplitMix64);

impl VictimRng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        VictimRng(SplitMix64::new(seed))
    }

    /// A way in `0..ways` (`ways` ≥ 1).
    pub fn way(&mut self, ways: u64) -> u64 {
        self.0.next_u64() % ways
    }
}

/// The level-0 line requests of one CPU access: (byte address inside the
/// line, bytes of the access within that line), in address order.
pub(crate) fn split_lines(addr: u64, size: u32, shift: u32) -> impl Iterator<Item = (u64, u64)> {
    let end = addr.saturating_add(size.max(1) as u64 - 1);
    let (first, last) = (addr >> shift, end >> shift);
    (first..=last).map(move |l| {
        let lo = (l << shift).max(addr);
        let hi = ((l << shift) | ((1u64 << shift) - 1)).min(end);
        (lo, hi - lo + 1)
    })
}
