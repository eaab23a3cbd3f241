//! Trace-driven cache simulator: multi-level, set-associative (fully
//! associative as a case), LRU / FIFO / random / tree-PLRU replacement,
//! write-back or write-through, inclusive, non-inclusive (NINE) or
//! exclusive levels, plus Belady's OPT.
//!
//! A [`Hierarchy`] is an [`AccessSink`](crate::hw::trace::AccessSink): feed it accesses (from an address
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
//! **Inclusion** (the hierarchy's [`Inclusion`], `inclusive` by default)
//! says what one level's replacement does to the others:
//!
//! - **`inclusive`**: every level holds a superset of the levels above it:
//!   when a line leaves level j by replacement, every copy of its bytes in
//!   levels 0..j is invalidated first (*back-invalidation*), level 0 first.
//!   A back-invalidated copy counts as an eviction of its level; if it is
//!   dirty, it is written back exactly like a replaced dirty line (a
//!   write-back request to the level below it, counted in `writebacks` and
//!   `bytes_out`), so its data reaches level j before level j's victim
//!   leaves, and makes that victim dirty. [`Hierarchy::back_invalidations`]
//!   counts them separately. Line sizes may grow, never shrink, from one
//!   level to the next.
//! - **`nine`** (non-inclusive, non-exclusive; what pycachesim and Dinero
//!   IV's multi-level use simulate): the requests are the same (a miss
//!   fills the line into every level it missed in, a dirty victim is
//!   written back into the next level as a write request, allocating there
//!   if it misses), but an eviction touches no other level: no
//!   back-invalidation.
//! - **`exclusive`**: a line lives in at most one level. Only level 0 takes
//!   CPU requests; a level-0 miss looks the line up in levels 1, 2, … in
//!   order (one *lookup* request per level, counted in `accesses`, `hits`
//!   and `misses`) until one holds it, and that level gives it up (an
//!   *upward move*: the line, with its dirty bit, leaves that level without
//!   counting an eviction there); if no level holds it, memory supplies
//!   it. Level 0's slot is chosen first (as above), the line is looked up
//!   below, then level 0's victim moves down into level 1 (counted as an
//!   eviction of level 0, in its `bytes_out`, and in `writebacks` when
//!   dirty), where it may displace level 1's victim into level 2 and so
//!   on; a victim leaving the last level goes to memory if dirty (a
//!   write-back) and is dropped if clean. A moved-down line is inserted
//!   with its dirty bit and counts as a use for LRU and PLRU; it is not a
//!   request of the level that receives it. Every level must be
//!   write-back, with the same line size.
//!
//! The same four reads through one toy hierarchy show the three policies
//! (L1: two 64-byte lines, fully associative, LRU; L2: two 64-byte lines,
//! direct-mapped, so lines 0x000 and 0x080 share its set 0; lines A =
//! 0x000, B = 0x080, C = 0x040; contents listed least recently used first,
//! L2 by set):
//!
//! | access | inclusive | nine | exclusive |
//! |---|---|---|---|
//! | A | L1 miss, L2 miss: L1 {A}, L2 {A, –} | L1 miss, L2 miss: L1 {A}, L2 {A, –} | L1 miss, L2 miss: L1 {A}, L2 {–, –} |
//! | B | L1 miss, L2 miss; L2 replaces A, back-invalidating it in L1: L1 {B}, L2 {B, –} | L1 miss, L2 miss; L2 replaces A: L1 {A, B}, L2 {B, –} | L1 miss, L2 miss: L1 {A, B}, L2 {–, –} |
//! | A | L1 miss, L2 miss; L2 replaces B, back-invalidating it: L1 {A}, L2 {A, –} | L1 **hit**: L1 {B, A} | L1 **hit**: L1 {B, A} |
//! | C | L1 miss, L2 miss: L1 {A, C}, L2 {A, C} | L1 miss (replaces B), L2 miss: L1 {A, C}, L2 {B, C} | L1 miss (B moves down), L2 miss: L1 {A, C}, L2 {B, –} |
//! | totals | L1 0 hits, 2 evictions (both back-invalidations); L2 4 misses; memory 4 fills | L1 1 hit, 1 eviction; L2 3 misses, 1 eviction; memory 3 fills | L1 1 hit, 1 eviction; L2 3 lookups, 3 misses, no eviction; memory 3 fills |
//!
//! A fifth read of B would miss in L1 under all three but hit L2 under
//! `nine` and `exclusive`; under `exclusive` it would also move B out of L2.
//!
//! **Bytes** are the traffic on the link between a level and the next one
//! (or memory). `bytes_in` is the level's line size per fill (under
//! `exclusive`: per miss, the line passing up towards level 0); `bytes_out`
//! is the level's line size per write-back (under `exclusive`: per line
//! moved down, clean or dirty, except that clean lines leaving the last
//! level are dropped) plus the written bytes per write-through. The last
//! level's `bytes_in` and `bytes_out` are the traffic to and from memory.
//! Dirty lines still cached at the end are not counted unless
//! [`Hierarchy::flush`] writes them back (under `exclusive`, a flushed line
//! goes straight to memory: a write-back of the level that holds it, and
//! `bytes_out` of that level and of every level below it).

pub mod config;
mod full;
pub mod opt;
mod packed;
mod plru;
pub mod reference;
mod sim;
mod split;
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

/// How the levels of a hierarchy share lines (see the module documentation
/// for the rules and a worked example).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Inclusion {
    /// Every level holds a superset of the levels above it (back-invalidation).
    #[default]
    Inclusive,
    /// Non-inclusive, non-exclusive: fills go into every level that missed,
    /// evictions touch no other level.
    Nine,
    /// A line lives in at most one level; victims move down, hits below move up.
    Exclusive,
}

impl Inclusion {
    /// Every policy, in the order flags and errors list them (`inclusive`, `nine`, `exclusive`).
    pub const ALL: [Inclusion; 3] = [Inclusion::Inclusive, Inclusion::Nine, Inclusion::Exclusive];

    /// The name as written in files and flags (`inclusive`, `nine`, `exclusive`).
    pub fn name(self) -> &'static str {
        match self {
            Inclusion::Inclusive => "inclusive",
            Inclusion::Nine => "nine",
            Inclusion::Exclusive => "exclusive",
        }
    }

    /// Parses a name (`inclusive`, `nine` or `non-inclusive`, `exclusive`).
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "inclusive" => Ok(Inclusion::Inclusive),
            "nine" | "non-inclusive" => Ok(Inclusion::Nine),
            "exclusive" => Ok(Inclusion::Exclusive),
            _ => Err(format!(
                "unknown inclusion '{s}' (expected inclusive, nine or exclusive)"
            )),
        }
    }
}

/// A hierarchy, fastest level first; misses of the last level go to memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HierarchyConfig {
    /// Name of the hierarchy (from its file, or `inline`).
    pub name: String,
    /// Levels, fastest first.
    pub levels: Vec<LevelConfig>,
    /// How levels share lines.
    pub inclusion: Inclusion,
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
            // An inclusive level holds a copy of every line above it: one
            // smaller than the level above would evict lines that level still
            // uses (non-inclusive and exclusive levels may be smaller: victim
            // caches are).
            if i > 0 && self.inclusion == Inclusion::Inclusive && l.size < self.levels[i - 1].size {
                return Err(format!(
                    "level {}: size: {} bytes is smaller than the level above ({}, {} bytes); \
                     an inclusive level must hold it (use --inclusion nine or exclusive for a \
                     smaller one)",
                    l.name,
                    l.size,
                    self.levels[i - 1].name,
                    self.levels[i - 1].size
                ));
            }
            if self.inclusion == Inclusion::Exclusive {
                if l.write == WritePolicy::WriteThrough {
                    return Err(format!(
                        "level {}: write: an exclusive hierarchy needs write-back levels",
                        l.name
                    ));
                }
                if l.line != self.levels[0].line {
                    return Err(format!(
                        "level {}: line: an exclusive hierarchy needs one line size ({} bytes here, {} in level {})",
                        l.name, l.line, self.levels[0].line, self.levels[0].name
                    ));
                }
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
    /// Adds `other`'s counters to these (the name stays): the statistics of
    /// a hierarchy from those of its independent parts.
    pub fn add(&mut self, other: &LevelStats) {
        self.accesses += other.accesses;
        self.hits += other.hits;
        self.misses += other.misses;
        self.evictions += other.evictions;
        self.writebacks += other.writebacks;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
    }

    /// Names of the [`LevelStats::counts`] fields, in order (the CSV header).
    pub const COUNT_NAMES: [&'static str; 7] = [
        "accesses",
        "hits",
        "misses",
        "evictions",
        "writebacks",
        "bytes_in",
        "bytes_out",
    ];

    /// Every counter, in the order of [`LevelStats::COUNT_NAMES`]: the one
    /// place that lists them, for printing and for comparing with
    /// hand-derived values (two whole stats compare with `==`).
    pub fn counts(&self) -> [u64; 7] {
        [
            self.accesses,
            self.hits,
            self.misses,
            self.evictions,
            self.writebacks,
            self.bytes_in,
            self.bytes_out,
        ]
    }

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
