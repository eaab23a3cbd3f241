//! Fully associative tag store with amortized O(1) operations: a hash map
//! from line to slot; for LRU and FIFO, a stamp per slot (the clock of its
//! last use or insertion) and a queue of (slot, stamp) events in clock order,
//! whose oldest event still current names the victim (stale events are
//! skipped, and the queue is compacted when it grows past twice the slots);
//! and the set of invalid slots below the high-water mark (so that "lowest
//! invalid slot first" stays cheap). The queue is appended sequentially,
//! which is much faster than relinking a doubly linked list on every hit.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use super::plru::{plru_touch, plru_victim, INVALID};
use super::{LevelConfig, Policy, VictimRng};

/// Multiplicative hash of a line number (keys are plain integers, so
/// SipHash's protection against crafted keys buys nothing here).
#[derive(Default)]
pub(super) struct LineHasher(u64);

impl Hasher for LineHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }

    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0 ^ x)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(26);
    }
}

/// Fully associative store. Slots are allocated as lines arrive (the
/// arrays grow up to the capacity), so memory and [`FullAssoc::slots`]
/// follow the lines touched, not the declared size.
pub(super) struct FullAssoc {
    policy: Policy,
    /// Capacity in lines.
    cap: usize,
    map: HashMap<u64, u32, BuildHasherDefault<LineHasher>>,
    tags: Vec<u64>,
    dirty: Vec<bool>,
    /// LRU: clock of the last use; FIFO: clock of the insertion.
    stamp: Vec<u64>,
    /// (slot, stamp) events in clock order; an event is current while the
    /// slot is valid and still has that stamp.
    events: VecDeque<(u32, u64)>,
    clock: u64,
    /// The slot used last: using it again changes nothing.
    last: u32,
    /// Slots at or above this were never used.
    fresh: u32,
    /// Invalid slots below `fresh`.
    holes: BTreeSet<u32>,
    plru: Vec<u8>,
    rng: VictimRng,
}

impl FullAssoc {
    pub(super) fn new(cfg: &LevelConfig) -> Self {
        let n = cfg.lines() as usize;
        let seed = match cfg.policy {
            Policy::Random { seed } => seed,
            _ => 0,
        };
        FullAssoc {
            policy: cfg.policy,
            cap: n,
            map: HashMap::default(),
            tags: Vec::new(),
            dirty: Vec::new(),
            stamp: Vec::new(),
            events: VecDeque::new(),
            clock: 0,
            last: u32::MAX,
            fresh: 0,
            holes: BTreeSet::new(),
            plru: if cfg.policy == Policy::Plru {
                vec![0; n.saturating_sub(1)]
            } else {
                Vec::new()
            },
            rng: VictimRng::new(seed),
        }
    }

    /// Slots allocated so far (every valid line is in one of them).
    pub(super) fn slots(&self) -> usize {
        self.tags.len()
    }

    fn current(&self, (s, st): (u32, u64)) -> bool {
        self.tags[s as usize] != INVALID && self.stamp[s as usize] == st
    }

    /// Records a new stamp for `s`.
    fn stamp_now(&mut self, s: u32) {
        self.clock += 1;
        self.stamp[s as usize] = self.clock;
        self.events.push_back((s, self.clock));
        if self.events.len() > 2 * self.tags.len() + 64 {
            let mut ev = std::mem::take(&mut self.events);
            ev.retain(|&e| self.current(e));
            self.events = ev;
        }
    }

    #[inline]
    fn used(&mut self, s: u32) {
        if s == self.last {
            return;
        }
        self.last = s;
        match self.policy {
            Policy::Lru => self.stamp_now(s),
            Policy::Plru => {
                let n = self.cap;
                plru_touch(&mut self.plru, n, s as usize);
            }
            Policy::Fifo | Policy::Random { .. } => {}
        }
    }

    pub(super) fn find(&self, line: u64) -> Option<usize> {
        self.map.get(&line).map(|&s| s as usize)
    }

    #[inline]
    pub(super) fn hit(&mut self, line: u64) -> Option<usize> {
        let s = *self.map.get(&line)?;
        self.used(s);
        Some(s as usize)
    }

    pub(super) fn victim(&mut self) -> usize {
        if let Some(&h) = self.holes.first() {
            return h as usize;
        }
        if (self.fresh as usize) < self.cap {
            return self.fresh as usize;
        }
        match self.policy {
            Policy::Lru | Policy::Fifo => {
                while let Some(&e) = self.events.front() {
                    if self.current(e) {
                        return e.0 as usize;
                    }
                    self.events.pop_front();
                }
                unreachable!("a full store has a current event per slot")
            }
            Policy::Random { .. } => self.rng.way(self.cap as u64) as usize,
            Policy::Plru => plru_victim(&self.plru, self.cap),
        }
    }

    /// The line in `slot` (`INVALID` for a slot not allocated yet).
    pub(super) fn line_at(&self, slot: usize) -> u64 {
        self.tags.get(slot).copied().unwrap_or(INVALID)
    }

    pub(super) fn is_dirty(&self, slot: usize) -> bool {
        self.dirty[slot]
    }

    pub(super) fn set_dirty(&mut self, slot: usize, d: bool) {
        self.dirty[slot] = d;
    }

    pub(super) fn remove(&mut self, slot: usize) {
        let t = self.tags[slot];
        if t == INVALID {
            return;
        }
        self.map.remove(&t);
        self.tags[slot] = INVALID;
        self.dirty[slot] = false;
        self.holes.insert(slot as u32);
    }

    pub(super) fn insert(&mut self, slot: usize, line: u64, dirty: bool) {
        let s = slot as u32;
        if s == self.fresh {
            self.fresh += 1;
            self.tags.push(INVALID);
            self.dirty.push(false);
            self.stamp.push(0);
        } else {
            self.holes.remove(&s);
        }
        self.tags[slot] = line;
        self.dirty[slot] = dirty;
        self.map.insert(line, s);
        match self.policy {
            Policy::Lru | Policy::Fifo => self.stamp_now(s),
            Policy::Plru => {
                let n = self.cap;
                plru_touch(&mut self.plru, n, slot);
            }
            Policy::Random { .. } => {}
        }
        self.last = s;
    }
}
