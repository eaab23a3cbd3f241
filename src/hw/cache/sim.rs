//! The fast simulator: packed per-set tag blocks (see [`super::store`]),
//! power-of-two index math, no allocation per access, and a shortcut for
//! repeated accesses to the last level-0 line (the common case of a
//! sequential stream).

use super::packed::{kind_of, Narrow, Packed, PolicyKind, Probe, DYN, FIFO, LRU, PLRU, RANDOM};
use super::split::Split;
use super::store::{Store, Tags};
use super::{split_lines, HierarchyConfig, Inclusion, LevelStats, WritePolicy};
use crate::hw::trace::{Access, AccessKind, AccessSink};
use rayon::prelude::*;

/// No line (for the level-0 shortcut).
const NONE: u64 = u64::MAX;

/// Most levels one miss walks without recursing (see [`Sim::miss`]).
const MAX_CHAIN: usize = 8;

struct Level<S> {
    store: S,
    shift: u32,
    line: u64,
    write_through: bool,
    stats: LevelStats,
    back_invalidations: u64,
}

/// A simulated hierarchy (cold at creation); an [`AccessSink`].
///
/// Semantics are those of the [module documentation](super); the slow twin
/// [`super::reference::ReferenceHierarchy`] gives identical statistics.
///
/// [`Hierarchy::parallel`] splits it into parts that simulate on several
/// threads (see the private `hw::cache::split` module); [`Hierarchy::new`] keeps one part.
pub struct Hierarchy {
    parts: Vec<Kind>,
    split: Split,
}

/// The one simulator, compiled once per kind of level store: for levels
/// that are all packed (most hierarchies: up to 16 ways) and share one
/// replacement policy, a copy per policy, whose store operations inline
/// into the request path with the policy's branches folded away; for
/// packed levels of mixed policies, a copy that reads each level's policy
/// at run time; and for any mix of stores, through [`Store`]'s dispatch.
enum Kind {
    Lru(Sim<Packed<LRU>>),
    Fifo(Sim<Packed<FIFO>>),
    Random(Sim<Packed<RANDOM>>),
    Plru(Sim<Packed<PLRU>>),
    Packed(Sim<Packed<DYN>>),
    Any(Sim<Store>),
}

/// `$body` with `$s` bound to the [`Sim`] inside a [`Kind`] (`$k`).
macro_rules! each_kind {
    ($k:expr, $s:ident => $body:expr) => {
        match $k {
            Kind::Lru($s) => $body,
            Kind::Fifo($s) => $body,
            Kind::Random($s) => $body,
            Kind::Plru($s) => $body,
            Kind::Packed($s) => $body,
            Kind::Any($s) => $body,
        }
    };
}

impl Kind {
    fn new(cfg: &HierarchyConfig) -> Self {
        fn packed<const P: PolicyKind>(cfg: &HierarchyConfig) -> Sim<Packed<P>> {
            Sim::new(cfg, cfg.levels.iter().map(Packed::new))
        }
        if !cfg.levels.iter().all(Store::packs) {
            return Kind::Any(Sim::new(cfg, cfg.levels.iter().map(Store::new)));
        }
        let first = cfg.levels.first().map_or(DYN, |l| kind_of(l.policy));
        let one = cfg.levels.iter().all(|l| kind_of(l.policy) == first);
        match first {
            LRU if one => Kind::Lru(packed(cfg)),
            FIFO if one => Kind::Fifo(packed(cfg)),
            RANDOM if one => Kind::Random(packed(cfg)),
            PLRU if one => Kind::Plru(packed(cfg)),
            _ => Kind::Packed(packed(cfg)),
        }
    }

    fn stats(&self) -> Vec<LevelStats> {
        each_kind!(self, s => s.stats())
    }

    fn back_invalidations(&self) -> Vec<u64> {
        each_kind!(self, s => s.back_invalidations())
    }

    fn flush(&mut self) {
        each_kind!(self, s => s.flush())
    }

    fn access_batch(&mut self, batch: &[Access]) {
        each_kind!(self, s => s.access_batch(batch))
    }

    #[inline]
    fn access(&mut self, a: Access) {
        each_kind!(self, s => s.access(a))
    }
}

impl Hierarchy {
    /// Builds an empty (cold) hierarchy; fails on an invalid configuration
    /// (see [`HierarchyConfig::validate`]).
    pub fn new(cfg: &HierarchyConfig) -> Result<Self, String> {
        Self::with_parts(cfg, 1)
    }

    /// [`Hierarchy::new`], split into up to `threads` parts that simulate
    /// batches ([`AccessSink::access_batch`]) in parallel on the rayon pool;
    /// one part when the hierarchy cannot be split (see
    /// `Split::parts_for`). The statistics are those of one part.
    pub fn parallel(cfg: &HierarchyConfig, threads: usize) -> Result<Self, String> {
        cfg.validate()?;
        Self::with_parts(cfg, Split::parts_for(cfg, threads))
    }

    /// A hierarchy split into exactly `parts` parts (a power of two that
    /// `Split::parts_for` allows: for tests and benchmarks of the split).
    pub fn with_parts(cfg: &HierarchyConfig, parts: usize) -> Result<Self, String> {
        cfg.validate()?;
        let split = Split::new(cfg, parts)?;
        let part_cfg = split.part_config(cfg);
        Ok(Hierarchy {
            parts: (0..parts).map(|_| Kind::new(&part_cfg)).collect(),
            split,
        })
    }

    /// How many parts simulate (1 unless split).
    pub fn parts(&self) -> usize {
        self.parts.len()
    }

    /// Counters per level, fastest first.
    pub fn stats(&self) -> Vec<LevelStats> {
        let mut total = self.parts[0].stats();
        for part in &self.parts[1..] {
            for (t, s) in total.iter_mut().zip(part.stats()) {
                t.add(&s);
            }
        }
        total
    }

    /// Back-invalidations per level (included in `evictions`), fastest first.
    pub fn back_invalidations(&self) -> Vec<u64> {
        let mut total = self.parts[0].back_invalidations();
        for part in &self.parts[1..] {
            for (t, b) in total.iter_mut().zip(part.back_invalidations()) {
                *t += b;
            }
        }
        total
    }

    /// Writes every dirty line back, level 0 first (so that data reaches
    /// memory), counting write-backs as usual; lines stay valid and clean.
    pub fn flush(&mut self) {
        // The parts share no line, so flushing them one after the other
        // changes each exactly as flushing the whole would.
        for part in &mut self.parts {
            part.flush();
        }
    }
}

impl AccessSink for Hierarchy {
    fn access_batch(&mut self, batch: &[Access]) {
        if let [one] = &mut self.parts[..] {
            return one.access_batch(batch);
        }
        let split = &mut self.split;
        split.scatter(batch);
        self.parts
            .par_iter_mut()
            .zip(split.scratch.par_iter())
            .for_each(|(part, mine)| part.access_batch(mine));
    }

    fn access(&mut self, a: Access) {
        if let [one] = &mut self.parts[..] {
            return one.access(a);
        }
        let split = &self.split;
        let parts = &mut self.parts;
        split.route(a, |p, piece| parts[p].access(piece));
    }
}

/// The simulator over one kind of tag store.
struct Sim<S: Walk> {
    levels: Vec<Level<S>>,
    /// The level-0 line of the last request, and its slot: a read (or a
    /// write to a write-back level 0) of it again is a hit that changes no
    /// replacement state (it is already the most recent use of its set).
    last_line: u64,
    last_slot: usize,
    inclusion: Inclusion,
    /// Every level has the same line size and writes back, the hierarchy is
    /// not exclusive, and it has at most [`MAX_CHAIN`] levels: a level-0
    /// miss then takes [`Sim::miss_uniform`].
    uniform: bool,
    /// What the store's own walk keeps between misses ([`Walk::Cache`]).
    walk: S::Cache,
}

impl<S: Walk> Sim<S> {
    fn new(cfg: &HierarchyConfig, stores: impl Iterator<Item = S>) -> Self {
        let levels = cfg
            .levels
            .iter()
            .zip(stores)
            .map(|(l, store)| Level {
                store,
                shift: l.line.trailing_zeros(),
                line: l.line as u64,
                write_through: l.write == WritePolicy::WriteThrough,
                stats: LevelStats {
                    name: l.name.clone(),
                    ..Default::default()
                },
                back_invalidations: 0,
            })
            .collect::<Vec<Level<S>>>();
        let uniform = cfg.inclusion != Inclusion::Exclusive
            && levels.len() <= MAX_CHAIN
            && levels
                .iter()
                .all(|l| l.shift == levels[0].shift && !l.write_through);
        let mut sim = Sim {
            levels,
            last_line: NONE,
            last_slot: 0,
            inclusion: cfg.inclusion,
            uniform,
            walk: Default::default(),
        };
        sim.walk = S::prepare(&mut sim);
        sim
    }

    /// Level `i` without a bounds check, for the miss path (the checks were
    /// a sixth of its instructions): every caller passes `i` below the
    /// level count, which never changes after construction.
    #[inline(always)]
    fn level(&mut self, i: usize) -> &mut Level<S> {
        debug_assert!(i < self.levels.len());
        // SAFETY: `i < self.levels.len()`, as above.
        unsafe { self.levels.get_unchecked_mut(i) }
    }

    fn stats(&self) -> Vec<LevelStats> {
        let mut stats: Vec<LevelStats> = self.levels.iter().map(|l| l.stats.clone()).collect();
        S::walk_stats(self, &mut stats);
        stats
    }

    fn back_invalidations(&self) -> Vec<u64> {
        self.levels.iter().map(|l| l.back_invalidations).collect()
    }

    fn flush(&mut self) {
        for i in 0..self.levels.len() {
            for slot in 0..self.levels[i].store.slots() {
                let lvl = &mut self.levels[i];
                if let Some(line) = lvl.store.line_at(slot) {
                    if lvl.store.is_dirty(slot) {
                        lvl.store.set_dirty(slot, false);
                        let bytes = lvl.line;
                        lvl.stats.writebacks += 1;
                        lvl.stats.bytes_out += bytes;
                        let addr = line << lvl.shift;
                        if self.inclusion == Inclusion::Exclusive {
                            // Straight to memory, through the levels below.
                            for below in &mut self.levels[i + 1..] {
                                below.stats.bytes_out += bytes;
                            }
                        } else {
                            self.request(i + 1, addr, true, bytes);
                        }
                    }
                }
            }
        }
    }

    /// One request to level `i` (memory when `i` is past the last level)
    /// for the line containing `addr`; `bytes` is what a write carries.
    fn request(&mut self, i: usize, addr: u64, write: bool, bytes: u64) {
        if i == 0 && self.inclusion == Inclusion::Exclusive {
            return self.request_exclusive(addr, write);
        }
        let Some(lvl) = self.levels.get_mut(i) else {
            return;
        };
        let line = addr >> lvl.shift;
        lvl.stats.accesses += 1;
        if let Some(slot) = lvl.store.hit(line) {
            lvl.stats.hits += 1;
            if i == 0 {
                self.last_line = line;
                self.last_slot = slot;
            }
            if write {
                let lvl = &mut self.levels[i];
                if lvl.write_through {
                    lvl.stats.bytes_out += bytes;
                    self.request(i + 1, addr, true, bytes);
                } else {
                    lvl.store.set_dirty(slot, true);
                }
            }
            return;
        }
        self.miss(i, line, addr, write, bytes);
    }

    /// The rest of a request to level `i` that missed there (`accesses`
    /// already counted, the lookup already done: [`Sim::access`]
    /// comes here straight from its own failed level-0 lookup instead of
    /// looking the line up a second time).
    ///
    /// A loop over the levels rather than a recursion through
    /// [`Sim::request`] (the miss path of a random access runs through every
    /// level): each level that misses picks and evicts its victim, then the
    /// next level is looked up; the lines are inserted on the way back,
    /// deepest first, as the recursion would.
    fn miss(&mut self, i: usize, line: u64, addr: u64, write: bool, bytes: u64) {
        let lvl = &mut self.levels[i];
        lvl.stats.misses += 1;
        if i == 0 {
            for below in &self.levels[1..] {
                below.store.prefetch(addr >> below.shift);
            }
        }
        let lvl = &mut self.levels[i];
        if write && lvl.write_through {
            lvl.stats.bytes_out += bytes;
            self.request(i + 1, addr, true, bytes);
            return;
        }
        // (slot, line) per level that missed, level i first.
        let mut pending = [(0usize, 0u64); MAX_CHAIN];
        let (mut j, mut line) = (i, line);
        let mut depth = 0;
        loop {
            let lvl = &mut self.levels[j];
            let (slot, victim) = lvl.store.victim_line(line);
            if let Some(victim) = victim {
                self.evict(j, slot, victim);
            }
            let lvl = &mut self.levels[j];
            lvl.stats.bytes_in += lvl.line;
            let line_addr = line << lvl.shift;
            pending[depth] = (slot, line);
            depth += 1;
            j += 1;
            if depth == MAX_CHAIN {
                // Deeper than any real hierarchy: the rest by recursion.
                self.request(j, line_addr, false, 0);
                break;
            }
            let Some(below) = self.levels.get_mut(j) else {
                break;
            };
            let below_line = line_addr >> below.shift;
            below.stats.accesses += 1;
            if below.store.hit(below_line).is_some() {
                below.stats.hits += 1;
                break;
            }
            below.stats.misses += 1;
            line = below_line;
        }
        for (k, &(slot, line)) in pending[..depth].iter().enumerate().rev() {
            self.levels[i + k].store.insert(slot, line, write && k == 0);
        }
        if i == 0 {
            (self.last_slot, self.last_line) = pending[0];
        }
    }

    /// A level-0 miss of a uniform hierarchy (see [`Sim::uniform`]), its
    /// `accesses` counted and its probe done (`slot` receives the line; it
    /// holds `victim` now): [`Sim::miss`] with one line number for every
    /// level and no write-through or line-size cases, the same state
    /// changes in the same order. This is the path of every access that
    /// misses everywhere, so each level below is looked at once
    /// ([`Tags::probe`]: lookup and, on a miss, victim choice in one pass
    /// over its set) and dirty victims go straight into the level below
    /// ([`Sim::write_back_uniform`]).
    ///
    /// Two and three levels (the common hierarchies) each have a copy of
    /// the walk compiled for that count: its loops unrolled, every level
    /// index a constant; other counts read it at run time.
    #[inline(never)]
    fn miss_uniform(&mut self, line: u64, write: bool, slot: usize, victim: Option<u64>) {
        if S::walk(self, line, write, slot, victim) {
            return;
        }
        match self.levels.len() {
            2 => self.miss_walk(2, line, write, slot, victim),
            3 => self.miss_walk(3, line, write, slot, victim),
            n => self.miss_walk(n, line, write, slot, victim),
        }
    }

    /// [`Sim::miss_uniform`] for `n` levels (the level count): inlined into
    /// each arm of its dispatch, so that a constant `n` compiles a walk for
    /// that count.
    #[inline(always)]
    fn miss_walk(&mut self, n: usize, line: u64, write: bool, slot: usize, victim: Option<u64>) {
        debug_assert_eq!(n, self.levels.len());
        self.level(0).stats.misses += 1;
        // Start loading every set the walk may need at once, so that their
        // host cache misses overlap (one line number at every level).
        for k in 1..n {
            self.level(k).store.prefetch(line);
        }
        let inclusive = self.inclusion == Inclusion::Inclusive;
        // Level 0's victim, if dirty, is written into level 1: start loading
        // its set there too (a hint, so whether it is dirty is not checked).
        if let (Some(v), true) = (victim, n > 1) {
            self.level(1).store.prefetch(v);
        }
        let mut slots = [0usize; MAX_CHAIN];
        let (mut slot, mut victim) = (slot, victim);
        // Below `n` throughout (`n <= MAX_CHAIN` for a uniform hierarchy).
        let mut depth = 0;
        loop {
            if let Some(v) = victim {
                if inclusive {
                    // One line size: the victim is one line above too.
                    for u in 0..depth {
                        if let Some(s) = self.level(u).store.find(v) {
                            self.level(u).back_invalidations += 1;
                            self.drop_line::<true>(u, s, v);
                        }
                    }
                }
                self.drop_line::<true>(depth, slot, v);
            }
            let lvl = self.level(depth);
            lvl.stats.bytes_in += lvl.line;
            slots[depth] = slot;
            depth += 1;
            if depth == n {
                break;
            }
            let below = self.level(depth);
            below.stats.accesses += 1;
            match below.store.probe(line) {
                Probe::Hit(_) => {
                    below.stats.hits += 1;
                    break;
                }
                Probe::Miss(s, v) => {
                    below.stats.misses += 1;
                    (slot, victim) = (s, v);
                }
            }
        }
        for (k, &slot) in slots[..depth].iter().enumerate().rev() {
            self.level(k).store.insert(slot, line, write && k == 0);
        }
        (self.last_slot, self.last_line) = (slots[0], line);
    }

    /// [`Sim::write_back`] in a uniform hierarchy: the write request for
    /// the same line number goes to level `i + 1` directly (by inclusion it
    /// hits there; under NINE a miss allocates through [`Sim::miss`], as
    /// [`Sim::request`] would), instead of through the general request.
    #[inline(never)]
    fn write_back_uniform(&mut self, i: usize, line: u64) {
        let n = self.levels.len();
        let lvl = self.level(i);
        lvl.stats.writebacks += 1;
        lvl.stats.bytes_out += lvl.line;
        let bytes = lvl.line;
        let j = i + 1;
        if j == n {
            return; // memory
        }
        let below = self.level(j);
        below.stats.accesses += 1;
        if let Some(slot) = below.store.hit(line) {
            below.stats.hits += 1;
            below.store.set_dirty(slot, true);
            return;
        }
        let addr = line << below.shift;
        self.miss(j, line, addr, true, bytes);
    }

    /// A level-0 request of an exclusive hierarchy (every level write-back,
    /// one line size): hit, or look the line up below, move level 0's
    /// victim down, and insert.
    fn request_exclusive(&mut self, addr: u64, write: bool) {
        let l0 = &mut self.levels[0];
        let line = addr >> l0.shift;
        l0.stats.accesses += 1;
        if let Some(slot) = l0.store.hit(line) {
            l0.stats.hits += 1;
            if write {
                l0.store.set_dirty(slot, true);
            }
            self.last_line = line;
            self.last_slot = slot;
            return;
        }
        l0.stats.misses += 1;
        l0.stats.bytes_in += l0.line;
        for below in &self.levels[1..] {
            below.store.prefetch(line);
        }
        let l0 = &mut self.levels[0];
        let slot = l0.store.victim(line);
        let mut dirty = write;
        for lvl in &mut self.levels[1..] {
            lvl.stats.accesses += 1;
            if let Some(s) = lvl.store.find(line) {
                lvl.stats.hits += 1;
                dirty |= lvl.store.is_dirty(s);
                lvl.store.remove(s);
                break;
            }
            lvl.stats.misses += 1;
            lvl.stats.bytes_in += lvl.line;
        }
        let l0 = &mut self.levels[0];
        if let Some(victim) = l0.store.line_at(slot) {
            if slot == self.last_slot {
                self.last_line = NONE;
            }
            let vd = l0.store.is_dirty(slot);
            l0.store.remove(slot);
            self.move_down(0, victim, vd);
        }
        self.levels[0].store.insert(slot, line, dirty);
        self.last_line = line;
        self.last_slot = slot;
    }

    /// Moves `line` (leaving level `i` by replacement, `dirty` or not) into
    /// level `i + 1`, displacing that level's victim further down; from the
    /// last level, a dirty line goes to memory and a clean one is dropped.
    fn move_down(&mut self, mut i: usize, mut line: u64, mut dirty: bool) {
        loop {
            let n = self.levels.len();
            let lvl = &mut self.levels[i];
            lvl.stats.evictions += 1;
            if dirty {
                lvl.stats.writebacks += 1;
            }
            if i + 1 == n {
                if dirty {
                    lvl.stats.bytes_out += lvl.line;
                }
                return;
            }
            lvl.stats.bytes_out += lvl.line;
            let below = &mut self.levels[i + 1].store;
            let slot = below.victim(line);
            let displaced = below.line_at(slot).map(|v| (v, below.is_dirty(slot)));
            if displaced.is_some() {
                below.remove(slot);
            }
            below.insert(slot, line, dirty);
            match displaced {
                Some((v, d)) => (i, line, dirty) = (i + 1, v, d),
                None => return,
            }
        }
    }

    /// Removes `line` (in `slot`) from level `i`: when inclusive,
    /// back-invalidates its bytes in the levels above, level 0 first; then
    /// writes it back if dirty.
    fn evict(&mut self, i: usize, slot: usize, line: u64) {
        if self.inclusion == Inclusion::Inclusive {
            let (base, shift) = (line << self.levels[i].shift, self.levels[i].shift);
            for u in 0..i {
                let up_shift = self.levels[u].shift;
                if up_shift == shift {
                    // One line size (the common case): one lookup.
                    if let Some(s) = self.levels[u].store.find(line) {
                        self.levels[u].back_invalidations += 1;
                        self.drop_line::<false>(u, s, line);
                    }
                    continue;
                }
                // Counted, not `sub < base + len`: the last line of the address
                // space must not overflow. Lines are powers of two, growing
                // downwards: a shift, not a division, on this miss path.
                let step = self.levels[u].line;
                for j in 0..1u64 << (shift - up_shift) {
                    let sub = (base + j * step) >> up_shift;
                    if let Some(s) = self.levels[u].store.find(sub) {
                        self.levels[u].back_invalidations += 1;
                        self.drop_line::<false>(u, s, sub);
                    }
                }
            }
        }
        self.drop_line::<false>(i, slot, line);
    }

    /// Invalidates `slot` of level `i`, which holds `line`, counting an
    /// eviction and writing the line back to level `i + 1` if dirty: in a
    /// uniform hierarchy (`UNIFORM`, on [`Sim::miss_uniform`]'s walk)
    /// straight into the level below ([`Sim::write_back_uniform`]), else
    /// through the general request ([`Sim::write_back`]).
    #[inline(always)]
    fn drop_line<const UNIFORM: bool>(&mut self, i: usize, slot: usize, line: u64) {
        // `i` is a level index of a caller's walk.
        let lvl = self.level(i);
        let dirty = lvl.store.take(slot);
        lvl.stats.evictions += 1;
        if i == 0 && slot == self.last_slot {
            self.last_line = NONE;
        }
        if dirty {
            if UNIFORM {
                self.write_back_uniform(i, line);
            } else {
                self.write_back(i, line);
            }
        }
    }

    /// Writes the dirty `line`, leaving level `i`, back into level `i + 1`
    /// (out of line: the clean eviction is the common case).
    #[inline(never)]
    fn write_back(&mut self, i: usize, line: u64) {
        let lvl = &mut self.levels[i];
        lvl.stats.writebacks += 1;
        lvl.stats.bytes_out += lvl.line;
        let (addr, bytes) = (line << lvl.shift, lvl.line);
        self.request(i + 1, addr, true, bytes);
    }
}

/// How many accesses ahead [`Sim::access_batch`] prefetches.
const LOOKAHEAD: usize = 16;

impl<S: Walk> Sim<S> {
    /// Accesses in order, with the sets of the levels below level 0
    /// prefetched [`LOOKAHEAD`] accesses ahead: random misses then overlap
    /// their loads of the simulator's own tag arrays instead of waiting for
    /// each in turn. Same statistics as one `access` per access.
    fn access_batch(&mut self, batch: &[Access]) {
        for (i, &a) in batch.iter().enumerate() {
            if let Some(next) = batch.get(i + LOOKAHEAD) {
                for lvl in &self.levels[1..] {
                    lvl.store.prefetch(next.addr >> lvl.shift);
                }
            }
            self.access(a);
        }
    }

    /// One access.
    #[inline]
    fn access(&mut self, a: Access) {
        let Some(l0) = self.levels.first_mut() else {
            return;
        };
        let write = a.kind == AccessKind::Write;
        let shift = l0.shift;
        let end = a.addr.saturating_add(a.size.max(1) as u64 - 1);
        let line = a.addr >> shift;
        if line == end >> shift {
            if line == self.last_line && !(write && l0.write_through) {
                l0.stats.accesses += 1;
                l0.stats.hits += 1;
                if write {
                    l0.store.set_dirty(self.last_slot, true);
                }
                return;
            }
            if self.uniform {
                // Lookup and victim choice in one pass over the set.
                l0.stats.accesses += 1;
                match l0.store.probe(line) {
                    Probe::Hit(slot) => {
                        if write {
                            l0.store.set_dirty(slot, true);
                        }
                        l0.stats.hits += 1;
                        self.last_line = line;
                        self.last_slot = slot;
                    }
                    Probe::Miss(slot, victim) => self.miss_uniform(line, write, slot, victim),
                }
                return;
            }
            // Level-0 hit without the general request machinery.
            if !(write && l0.write_through) {
                if let Some(slot) = l0.store.hit(line) {
                    if write {
                        l0.store.set_dirty(slot, true);
                    }
                    l0.stats.accesses += 1;
                    l0.stats.hits += 1;
                    self.last_line = line;
                    self.last_slot = slot;
                    return;
                }
                if self.inclusion != Inclusion::Exclusive {
                    l0.stats.accesses += 1;
                    return self.miss(0, line, a.addr, write, end - a.addr + 1);
                }
            }
            self.request(0, a.addr, write, end - a.addr + 1);
            return;
        }
        for (addr, bytes) in split_lines(a.addr, a.size, shift) {
            self.request(0, addr, write, bytes);
        }
    }
}

/// A store's own walk for [`Sim::miss_uniform`], where it has one.
trait Walk: Tags + Sized {
    /// What the walk keeps between misses, made once by [`Walk::prepare`].
    type Cache: Default;

    /// The walk's [`Walk::Cache`] for a new `sim` (its `walk` field still
    /// the default).
    fn prepare(_sim: &mut Sim<Self>) -> Self::Cache {
        Self::Cache::default()
    }

    /// [`Sim::miss_uniform`]'s walk if this store has one for `sim` as it
    /// is now (true), else nothing (false: the generic walk runs).
    #[inline(always)]
    fn walk(_sim: &mut Sim<Self>, _line: u64, _write: bool, _slot: usize, _v: Option<u64>) -> bool {
        false
    }

    /// Adds to `stats` (the levels' own counters, fastest first) what the
    /// walk counted in its [`Walk::Cache`] instead of in the levels.
    fn walk_stats(_sim: &Sim<Self>, _stats: &mut [LevelStats]) {}
}

impl Walk for Store {
    type Cache = ();
}

/// The [`Narrow`] views of a hierarchy that can take [`Sim::narrow_walk`],
/// made once: copying each store's geometry out at every miss (with the
/// checks that it suits) was a tenth of the all-miss path's instructions.
/// A view's geometry and sets' address never change; whether its store is
/// still narrow does, once, so that is checked at every miss.
struct NarrowViews<const P: PolicyKind> {
    /// Per level (the first 2 or 3 used).
    views: [Narrow<P>; 3],
    /// Lines below this fit every level's narrow tags; 0 when the hierarchy
    /// has no narrow walk (not inclusive, not 2 or 3 levels, or a policy
    /// without a view).
    limit: u64,
    /// `ended[k]`: narrow walks that filled levels `0..=k` (level `k + 1`,
    /// if any, hit). The walk's fills, misses and hits of the levels below
    /// level 0 follow from these (see [`NarrowViews::add_to`]): one
    /// increment per walk instead of three to eight counter updates.
    ended: [u64; 3],
}

impl<const P: PolicyKind> NarrowViews<P> {
    /// Adds the counts the narrow walks kept in `ended` to `stats` (one
    /// per level; `line[d]` is level `d`'s line size): level 0 missed in
    /// every walk; level `d ≥ 1` was looked up in every walk that filled
    /// level `d - 1`, hit in those that ended there, and missed in the
    /// rest; a level filled once per miss (its line size in).
    fn add_to(&self, stats: &mut [LevelStats], line: &[u64]) {
        // reached[d]: walks that filled level d (missed there).
        let mut reached = [0u64; 3];
        let mut sum = 0;
        for d in (0..3).rev() {
            sum += self.ended[d];
            reached[d] = sum;
        }
        for (d, (st, &bytes)) in stats.iter_mut().zip(line).enumerate().take(3) {
            if d > 0 {
                st.accesses += reached[d - 1];
                st.hits += self.ended[d - 1];
            }
            st.misses += reached[d];
            st.bytes_in += reached[d] * bytes;
        }
    }
}

impl<const P: PolicyKind> Default for NarrowViews<P> {
    fn default() -> Self {
        NarrowViews {
            views: [Narrow::NONE; 3],
            limit: 0,
            ended: [0; 3],
        }
    }
}

impl<const P: PolicyKind> Walk for Packed<P> {
    type Cache = NarrowViews<P>;

    fn prepare(sim: &mut Sim<Self>) -> NarrowViews<P> {
        let mut c = NarrowViews::default();
        let n = sim.levels.len();
        if !(sim.uniform && sim.inclusion == Inclusion::Inclusive && (2..=3).contains(&n)) {
            return c;
        }
        let mut limit = u64::MAX;
        for (view, lvl) in c.views.iter_mut().zip(&mut sim.levels) {
            let Some(v) = lvl.store.narrow() else {
                return NarrowViews::default();
            };
            limit = limit.min(v.limit());
            *view = v;
        }
        c.limit = limit;
        c
    }

    #[inline(always)]
    fn walk(sim: &mut Sim<Self>, line: u64, write: bool, slot: usize, v: Option<u64>) -> bool {
        if line >= sim.walk.limit {
            return false;
        }
        match sim.levels.len() {
            2 => sim.narrow_walk::<2>(line, write, slot, v),
            3 => sim.narrow_walk::<3>(line, write, slot, v),
            // (Not reached: the limit is 0 for other counts.)
            _ => false,
        }
    }

    fn walk_stats(sim: &Sim<Self>, stats: &mut [LevelStats]) {
        let lines: Vec<u64> = sim.levels.iter().map(|l| l.line).collect();
        sim.walk.add_to(stats, &lines);
    }
}

impl<const P: PolicyKind> Sim<Packed<P>> {
    /// [`Sim::miss_walk`] of an inclusive hierarchy of `N` levels (2 or 3:
    /// the common ones, each compiled with every loop unrolled) that are
    /// all narrow (see [`Narrow`]) for `line` (below the cached views'
    /// limit: [`Walk::walk`] checked), with a policy that has a [`Narrow`]
    /// view: the same state changes in the same order, through views made
    /// once (no store field reloaded after every write to a set). Under inclusion every write-back hits
    /// the level below (the victim is there). Also prefetches, as soon as a
    /// level's victim is known, its set in the level below (where it is
    /// written back if dirty). False (nothing done) when a level is no
    /// longer narrow.
    #[inline(always)]
    fn narrow_walk<const N: usize>(
        &mut self,
        line: u64,
        write: bool,
        slot: usize,
        victim: Option<u64>,
    ) -> bool {
        debug_assert_eq!(N, self.levels.len());
        for k in 0..N {
            if !self.level(k).store.is_narrow() {
                return false;
            }
        }
        // (The views are read where used, not copied into locals first: the
        // compiler kept such copies on the stack, not in registers, so the
        // copy was pure cost.)
        debug_assert!(self.walk.views[..N].iter().all(|view| view.fits(line)));
        // (Every level's misses, hits, fills and the lookups below level 0
        // are counted once, at the end: see [`NarrowViews::ended`].)
        for view in &self.walk.views[1..N] {
            view.prefetch(line);
        }
        if let Some(x) = victim {
            self.walk.views[1].prefetch(x);
        }
        // Straight-line code per level (a loop over the levels was left
        // rolled by the compiler, its level index a variable).
        let mut slots = [slot; N];
        self.evict_narrow::<N>(0, slot, victim);
        let mut depth = 1;
        if self.step_narrow(1, line, &mut slots) {
            depth = 2;
            if N > 2 && self.step_narrow(2, line, &mut slots) {
                depth = 3;
            }
        }
        self.walk.ended[depth - 1] += 1;
        for k in (0..N).rev() {
            if k < depth {
                self.walk.views[k].insert(slots[k], line, write && k == 0);
            }
        }
        (self.last_slot, self.last_line) = (slots[0], line);
        true
    }

    /// The lookup of `line` in level `d` of [`Sim::narrow_walk`]: on a
    /// hit, false; on a miss, its slot into `slots[d]`, its victim
    /// evicted, and true.
    #[inline(always)]
    fn step_narrow<const N: usize>(&mut self, d: usize, line: u64, slots: &mut [usize; N]) -> bool {
        // (Counted in [`NarrowViews::ended`].)
        match self.walk.views[d].probe(line) {
            Probe::Hit(_) => false,
            Probe::Miss(s, x) => {
                if let (Some(x), true) = (x, d + 1 < N) {
                    // Its set below, where it is written back if dirty.
                    self.walk.views[d + 1].prefetch(x);
                }
                slots[d] = s;
                self.evict_narrow::<N>(d, s, x);
                true
            }
        }
    }

    /// Level `d` of [`Sim::narrow_walk`] makes room in `slot`: its line
    /// (`victim`), if any, back-invalidated above (one line size: it is one
    /// line there too) and dropped.
    ///
    /// The lookups above go level 0 first, as in [`Sim::evict`] (an upward
    /// search that stops at the first level without the line ran no faster:
    /// see BENCHMARKS.md).
    #[inline(always)]
    fn evict_narrow<const N: usize>(&mut self, d: usize, slot: usize, victim: Option<u64>) {
        if let Some(x) = victim {
            for u in 0..d {
                if let Some(s) = self.walk.views[u].find(x) {
                    self.level(u).back_invalidations += 1;
                    self.drop_narrow::<N>(u, s, x);
                }
            }
            self.drop_narrow::<N>(d, slot, x);
        }
        // (The fill is counted in [`NarrowViews::ended`].)
    }

    /// [`Sim::drop_line`] on [`Sim::narrow_walk`]'s views.
    #[inline(always)]
    fn drop_narrow<const N: usize>(&mut self, i: usize, slot: usize, line: u64) {
        let dirty = self.walk.views[i].take(slot);
        self.level(i).stats.evictions += 1;
        if i == 0 && slot == self.last_slot {
            self.last_line = NONE;
        }
        if !dirty {
            return;
        }
        // [`Sim::write_back_uniform`]: into the level below, where it hits.
        let lvl = self.level(i);
        lvl.stats.writebacks += 1;
        lvl.stats.bytes_out += lvl.line;
        let j = i + 1;
        if j == N {
            return; // memory
        }
        let hit = self.walk.views[j].write_hit(line);
        let below = self.level(j);
        below.stats.accesses += 1;
        if hit {
            below.stats.hits += 1;
            return;
        }
        self.write_back_missed(j, line);
    }

    /// A write-back of [`Sim::narrow_walk`] that missed level `j`: never
    /// under inclusion (a line above is in every level below), but handled
    /// as [`Sim::write_back_uniform`] would.
    #[cold]
    #[inline(never)]
    fn write_back_missed(&mut self, j: usize, line: u64) {
        debug_assert!(false, "inclusive write-back missed level {j}");
        let (bytes, addr) = (self.level(j - 1).line, line << self.level(j).shift);
        self.miss(j, line, addr, true, bytes);
        // (A level made wide here would need the rest of the walk to take
        // the wide path: not reached, as above.)
    }
}
