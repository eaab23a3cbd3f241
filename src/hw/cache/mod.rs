//! Trace-driven cache simulator: multi-level, set-associative, LRU / FIFO /
//! random / tree-PLRU, write-back or write-through, plus Belady's OPT.
//!
//! A [`Hierarchy`] is an [`AccessSink`]: feed it accesses (from an address
//! generator in [`crate::hw::tracegen`] or a trace file), then read
//! [`Hierarchy::stats`], one [`LevelStats`] per level, fastest first.
//!
//! This first version is a slow but complete-enough model (LRU, write-back
//! with write-allocate, no inclusion enforcement); the fast simulator and the
//! other policies replace its insides behind the same types.

use crate::hw::trace::{Access, AccessKind, AccessSink};

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

/// A hierarchy, fastest level first; misses of the last level go to memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HierarchyConfig {
    /// Name of the hierarchy (from its file, or `inline`).
    pub name: String,
    /// Levels, fastest first.
    pub levels: Vec<LevelConfig>,
}

/// Counters of one level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LevelStats {
    /// Level name.
    pub name: String,
    /// Accesses that reached this level (line-granular).
    pub accesses: u64,
    /// Hits.
    pub hits: u64,
    /// Misses.
    pub misses: u64,
    /// Valid lines evicted.
    pub evictions: u64,
    /// Dirty lines written to the next level.
    pub writebacks: u64,
    /// Bytes brought into this level from the next one (or memory).
    pub bytes_in: u64,
    /// Bytes written from this level to the next one (or memory).
    pub bytes_out: u64,
}

struct Level {
    cfg: LevelConfig,
    sets: u64,
    /// Per set: (line tag, dirty), most recently used last.
    lines: Vec<Vec<(u64, bool)>>,
    stats: LevelStats,
}

/// A simulated hierarchy; an [`AccessSink`].
pub struct Hierarchy {
    levels: Vec<Level>,
}

impl Hierarchy {
    /// Builds an empty (cold) hierarchy.
    pub fn new(cfg: &HierarchyConfig) -> Result<Self, String> {
        let mut levels = Vec::new();
        for l in &cfg.levels {
            let lines = l.size / l.line as u64;
            let ways = if l.ways == 0 { lines } else { l.ways as u64 };
            let sets = (lines / ways).max(1);
            levels.push(Level {
                cfg: l.clone(),
                sets,
                lines: vec![Vec::new(); sets as usize],
                stats: LevelStats {
                    name: l.name.clone(),
                    ..Default::default()
                },
            });
        }
        Ok(Hierarchy { levels })
    }

    /// Counters per level, fastest first.
    pub fn stats(&self) -> Vec<LevelStats> {
        self.levels.iter().map(|l| l.stats.clone()).collect()
    }

    fn touch(&mut self, lvl: usize, line_addr: u64, write: bool) {
        if lvl == self.levels.len() {
            return;
        }
        let l = &mut self.levels[lvl];
        let line_bytes = l.cfg.line as u64;
        let ways = if l.cfg.ways == 0 {
            (l.cfg.size / line_bytes) as usize
        } else {
            l.cfg.ways as usize
        };
        let tag = line_addr / line_bytes;
        let set = (tag % l.sets) as usize;
        l.stats.accesses += 1;
        let s = &mut l.lines[set];
        if let Some(i) = s.iter().position(|e| e.0 == tag) {
            l.stats.hits += 1;
            let mut e = s.remove(i);
            e.1 |= write;
            s.push(e);
            return;
        }
        l.stats.misses += 1;
        l.stats.bytes_in += line_bytes;
        let mut victim = None;
        if s.len() == ways {
            let v = s.remove(0);
            l.stats.evictions += 1;
            if v.1 {
                l.stats.writebacks += 1;
                l.stats.bytes_out += line_bytes;
            }
            victim = Some(v);
        }
        s.push((tag, write));
        if let Some((vtag, true)) = victim {
            self.touch(lvl + 1, vtag * line_bytes, true);
        }
        self.touch(lvl + 1, tag * line_bytes, false);
    }
}

impl AccessSink for Hierarchy {
    fn access(&mut self, a: Access) {
        let Some(first) = self.levels.first() else {
            return;
        };
        let line = first.cfg.line as u64;
        let start = a.addr / line;
        let end = (a.addr + a.size.max(1) as u64 - 1) / line;
        for l in start..=end {
            self.touch(0, l * line, a.kind == AccessKind::Write);
        }
    }
}
