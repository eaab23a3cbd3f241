//! The slow, obviously correct twin of [`super::Hierarchy`]: every set is a
//! plain vector of ways searched linearly (fully associative levels too), LRU
//! and FIFO keep an explicit order list of ways, PLRU an explicit tree of
//! booleans. Same semantics (see the [module documentation](super)); the
//! tests compare the two simulators' statistics bit for bit.
//!
//! Each inclusion policy has its own request function, written out in
//! full ([`ReferenceHierarchy`]'s `request_inclusive`, `request_nine`,
//! `request_exclusive`), so that each reads as the rule it implements.

use super::{split_lines, HierarchyConfig, Inclusion, LevelStats, Policy, VictimRng, WritePolicy};
use crate::hw::trace::{Access, AccessKind, AccessSink};

#[derive(Clone)]
struct Set {
    /// Way → (line number, dirty).
    ways: Vec<Option<(u64, bool)>>,
    /// LRU: valid ways from least to most recently used; FIFO: valid ways
    /// from earliest to latest inserted.
    order: Vec<usize>,
    /// PLRU: node → "the victim is in the right subtree".
    tree: Vec<bool>,
}

struct Level {
    line_bytes: u64,
    policy: Policy,
    write_through: bool,
    sets: Vec<Set>,
    rng: VictimRng,
    stats: LevelStats,
    back_invalidations: u64,
}

impl Level {
    fn set_of(&self, line: u64) -> usize {
        (line % self.sets.len() as u64) as usize
    }

    fn find(&self, line: u64) -> Option<(usize, usize)> {
        let s = self.set_of(line);
        self.sets[s]
            .ways
            .iter()
            .position(|w| matches!(w, Some((l, _)) if *l == line))
            .map(|w| (s, w))
    }

    /// Records a use of `way` (hit or insertion).
    fn use_way(&mut self, s: usize, way: usize) {
        let set = &mut self.sets[s];
        match self.policy {
            Policy::Lru => {
                set.order.retain(|&w| w != way);
                set.order.push(way);
            }
            Policy::Plru => {
                let depth = set.ways.len().trailing_zeros();
                let mut node = 0;
                for d in (0..depth).rev() {
                    let right = (way >> d) & 1 == 1;
                    set.tree[node] = !right;
                    node = 2 * node + 1 + right as usize;
                }
            }
            Policy::Fifo | Policy::Random { .. } => {}
        }
    }

    fn choose_way(&mut self, s: usize) -> usize {
        let n = self.sets[s].ways.len();
        if let Some(w) = self.sets[s].ways.iter().position(Option::is_none) {
            return w;
        }
        match self.policy {
            Policy::Lru | Policy::Fifo => self.sets[s].order[0],
            Policy::Random { .. } => self.rng.way(n as u64) as usize,
            Policy::Plru => {
                let set = &self.sets[s];
                let (mut node, mut way) = (0, 0);
                for _ in 0..n.trailing_zeros() {
                    let right = set.tree[node];
                    way = 2 * way + right as usize;
                    node = 2 * node + 1 + right as usize;
                }
                way
            }
        }
    }

    fn invalidate(&mut self, s: usize, way: usize) -> Option<(u64, bool)> {
        let set = &mut self.sets[s];
        let old = set.ways[way].take();
        set.order.retain(|&w| w != way);
        old
    }

    fn insert(&mut self, s: usize, way: usize, line: u64, dirty: bool) {
        self.sets[s].ways[way] = Some((line, dirty));
        if self.policy == Policy::Fifo {
            self.sets[s].order.push(way);
        }
        self.use_way(s, way);
    }
}

/// Reference simulator; an [`AccessSink`] with the same statistics as
/// [`super::Hierarchy`].
pub struct ReferenceHierarchy {
    levels: Vec<Level>,
    inclusion: Inclusion,
}

impl ReferenceHierarchy {
    /// An empty (cold) hierarchy; fails on an invalid configuration.
    pub fn new(cfg: &HierarchyConfig) -> Result<Self, String> {
        cfg.validate()?;
        let levels = cfg
            .levels
            .iter()
            .map(|l| {
                let ways = l.effective_ways() as usize;
                let empty = Set {
                    ways: vec![None; ways],
                    order: Vec::new(),
                    tree: vec![false; ways - 1],
                };
                Level {
                    line_bytes: l.line as u64,
                    policy: l.policy,
                    write_through: l.write == WritePolicy::WriteThrough,
                    sets: vec![empty; l.sets() as usize],
                    rng: VictimRng::new(match l.policy {
                        Policy::Random { seed } => seed,
                        _ => 0,
                    }),
                    stats: LevelStats {
                        name: l.name.clone(),
                        ..Default::default()
                    },
                    back_invalidations: 0,
                }
            })
            .collect();
        Ok(ReferenceHierarchy {
            levels,
            inclusion: cfg.inclusion,
        })
    }

    /// Counters per level, fastest first.
    pub fn stats(&self) -> Vec<LevelStats> {
        self.levels.iter().map(|l| l.stats.clone()).collect()
    }

    /// Back-invalidations per level (included in `evictions`).
    pub fn back_invalidations(&self) -> Vec<u64> {
        self.levels.iter().map(|l| l.back_invalidations).collect()
    }

    /// Writes every dirty line back, level 0 first.
    pub fn flush(&mut self) {
        for i in 0..self.levels.len() {
            let mut dirty = Vec::new();
            for set in &mut self.levels[i].sets {
                for (line, d) in set.ways.iter_mut().flatten() {
                    if *d {
                        *d = false;
                        dirty.push(*line);
                    }
                }
            }
            let bytes = self.levels[i].line_bytes;
            for line in dirty {
                self.levels[i].stats.writebacks += 1;
                self.levels[i].stats.bytes_out += bytes;
                match self.inclusion {
                    Inclusion::Inclusive => {
                        self.request_inclusive(i + 1, line * bytes, true, bytes)
                    }
                    Inclusion::Nine => self.request_nine(i + 1, line * bytes, true, bytes),
                    // Straight to memory: it leaves every level below on the way.
                    Inclusion::Exclusive => {
                        for below in i + 1..self.levels.len() {
                            self.levels[below].stats.bytes_out += bytes;
                        }
                    }
                }
            }
        }
    }

    /// A request to level `i` of an inclusive hierarchy.
    fn request_inclusive(&mut self, i: usize, addr: u64, write: bool, bytes: u64) {
        if i >= self.levels.len() {
            return; // memory
        }
        let line = addr / self.levels[i].line_bytes;
        self.levels[i].stats.accesses += 1;
        if let Some((s, w)) = self.levels[i].find(line) {
            self.levels[i].stats.hits += 1;
            self.levels[i].use_way(s, w);
            if write {
                if self.levels[i].write_through {
                    self.levels[i].stats.bytes_out += bytes;
                    self.request_inclusive(i + 1, addr, true, bytes);
                } else {
                    self.levels[i].sets[s].ways[w] = Some((line, true));
                }
            }
            return;
        }
        self.levels[i].stats.misses += 1;
        if write && self.levels[i].write_through {
            self.levels[i].stats.bytes_out += bytes;
            self.request_inclusive(i + 1, addr, true, bytes);
            return;
        }
        let s = self.levels[i].set_of(line);
        let w = self.levels[i].choose_way(s);
        if let Some((victim, _)) = self.levels[i].sets[s].ways[w] {
            // Inclusion: copies above go first, level 0 first.
            let lb = self.levels[i].line_bytes;
            for u in 0..i {
                let ub = self.levels[u].line_bytes;
                for k in 0..lb / ub {
                    let sub = (victim * lb + k * ub) / ub;
                    if let Some((us, uw)) = self.levels[u].find(sub) {
                        self.levels[u].back_invalidations += 1;
                        self.evict(u, us, uw);
                    }
                }
            }
            self.evict(i, s, w);
        }
        let lb = self.levels[i].line_bytes;
        self.levels[i].stats.bytes_in += lb;
        self.request_inclusive(i + 1, line * lb, false, 0);
        self.levels[i].insert(s, w, line, write);
    }

    /// A request to level `i` of a NINE hierarchy: the inclusive rules
    /// without back-invalidation.
    fn request_nine(&mut self, i: usize, addr: u64, write: bool, bytes: u64) {
        if i >= self.levels.len() {
            return; // memory
        }
        let line = addr / self.levels[i].line_bytes;
        self.levels[i].stats.accesses += 1;
        if let Some((s, w)) = self.levels[i].find(line) {
            self.levels[i].stats.hits += 1;
            self.levels[i].use_way(s, w);
            if write {
                if self.levels[i].write_through {
                    self.levels[i].stats.bytes_out += bytes;
                    self.request_nine(i + 1, addr, true, bytes);
                } else {
                    self.levels[i].sets[s].ways[w] = Some((line, true));
                }
            }
            return;
        }
        self.levels[i].stats.misses += 1;
        if write && self.levels[i].write_through {
            self.levels[i].stats.bytes_out += bytes;
            self.request_nine(i + 1, addr, true, bytes);
            return;
        }
        let s = self.levels[i].set_of(line);
        let w = self.levels[i].choose_way(s);
        if let Some((victim, dirty)) = self.levels[i].invalidate(s, w) {
            let lb = self.levels[i].line_bytes;
            self.levels[i].stats.evictions += 1;
            if dirty {
                self.levels[i].stats.writebacks += 1;
                self.levels[i].stats.bytes_out += lb;
                self.request_nine(i + 1, victim * lb, true, lb);
            }
        }
        let lb = self.levels[i].line_bytes;
        self.levels[i].stats.bytes_in += lb;
        self.request_nine(i + 1, line * lb, false, 0);
        self.levels[i].insert(s, w, line, write);
    }

    /// A CPU line request of an exclusive hierarchy (write-back levels,
    /// one line size): level 0 hits, or the line is taken from the first
    /// level below that holds it (or memory), level 0's victim moves down,
    /// and the line goes into level 0.
    fn request_exclusive(&mut self, addr: u64, write: bool) {
        let lb = self.levels[0].line_bytes;
        let line = addr / lb;
        self.levels[0].stats.accesses += 1;
        if let Some((s, w)) = self.levels[0].find(line) {
            self.levels[0].stats.hits += 1;
            self.levels[0].use_way(s, w);
            if write {
                self.levels[0].sets[s].ways[w] = Some((line, true));
            }
            return;
        }
        self.levels[0].stats.misses += 1;
        self.levels[0].stats.bytes_in += lb;
        let s = self.levels[0].set_of(line);
        let w = self.levels[0].choose_way(s);
        // Look the line up below; the level holding it gives it up.
        let mut dirty = write;
        for j in 1..self.levels.len() {
            self.levels[j].stats.accesses += 1;
            if let Some((js, jw)) = self.levels[j].find(line) {
                self.levels[j].stats.hits += 1;
                let (_, d) = self.levels[j].invalidate(js, jw).expect("found");
                dirty |= d;
                break;
            }
            self.levels[j].stats.misses += 1;
            self.levels[j].stats.bytes_in += lb;
        }
        // Level 0's victim moves down, level by level.
        let mut moving = self.levels[0].invalidate(s, w);
        let mut j = 0;
        while let Some((victim, vd)) = moving {
            self.levels[j].stats.evictions += 1;
            if vd {
                self.levels[j].stats.writebacks += 1;
            }
            if j + 1 == self.levels.len() {
                if vd {
                    self.levels[j].stats.bytes_out += lb; // to memory
                }
                break;
            }
            self.levels[j].stats.bytes_out += lb;
            let below = &mut self.levels[j + 1];
            let bs = below.set_of(victim);
            let bw = below.choose_way(bs);
            moving = below.invalidate(bs, bw);
            below.insert(bs, bw, victim, vd);
            j += 1;
        }
        self.levels[0].insert(s, w, line, dirty);
    }

    fn evict(&mut self, i: usize, s: usize, w: usize) {
        let Some((line, dirty)) = self.levels[i].invalidate(s, w) else {
            return;
        };
        let lb = self.levels[i].line_bytes;
        self.levels[i].stats.evictions += 1;
        if dirty {
            self.levels[i].stats.writebacks += 1;
            self.levels[i].stats.bytes_out += lb;
            self.request_inclusive(i + 1, line * lb, true, lb);
        }
    }
}

impl AccessSink for ReferenceHierarchy {
    fn access(&mut self, a: Access) {
        let Some(l0) = self.levels.first() else {
            return;
        };
        let shift = l0.line_bytes.trailing_zeros();
        let write = a.kind == AccessKind::Write;
        for (addr, bytes) in split_lines(a.addr, a.size, shift) {
            match self.inclusion {
                Inclusion::Inclusive => self.request_inclusive(0, addr, write, bytes),
                Inclusion::Nine => self.request_nine(0, addr, write, bytes),
                Inclusion::Exclusive => self.request_exclusive(addr, write),
            }
        }
    }
}
