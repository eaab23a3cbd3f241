//! Fully associative tag store with O(1) lookups: a hash map from line to
//! slot, an intrusive doubly linked list over the slots (most recently used
//! or inserted at the head), and the set of invalid slots below the
//! high-water mark (so that "lowest invalid slot first" stays cheap).

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use super::store::{plru_touch, plru_victim, INVALID};
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
        self.0 = (self.0 ^ x).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(26);
    }
}

const NIL: u32 = u32::MAX;

/// Fully associative store.
pub(super) struct FullAssoc {
    policy: Policy,
    map: HashMap<u64, u32, BuildHasherDefault<LineHasher>>,
    tags: Vec<u64>,
    dirty: Vec<bool>,
    prev: Vec<u32>,
    next: Vec<u32>,
    head: u32,
    tail: u32,
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
            map: HashMap::with_capacity_and_hasher(n, Default::default()),
            tags: vec![INVALID; n],
            dirty: vec![false; n],
            prev: vec![NIL; n],
            next: vec![NIL; n],
            head: NIL,
            tail: NIL,
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

    pub(super) fn slots(&self) -> usize {
        self.tags.len()
    }

    fn unlink(&mut self, s: u32) {
        let (p, n) = (self.prev[s as usize], self.next[s as usize]);
        if p == NIL {
            self.head = n;
        } else {
            self.next[p as usize] = n;
        }
        if n == NIL {
            self.tail = p;
        } else {
            self.prev[n as usize] = p;
        }
    }

    fn push_front(&mut self, s: u32) {
        self.prev[s as usize] = NIL;
        self.next[s as usize] = self.head;
        if self.head == NIL {
            self.tail = s;
        } else {
            self.prev[self.head as usize] = s;
        }
        self.head = s;
    }

    fn used(&mut self, s: u32) {
        match self.policy {
            Policy::Lru => {
                if self.head != s {
                    self.unlink(s);
                    self.push_front(s);
                }
            }
            Policy::Plru => {
                let n = self.tags.len();
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
        if (self.fresh as usize) < self.tags.len() {
            return self.fresh as usize;
        }
        match self.policy {
            Policy::Lru | Policy::Fifo => self.tail as usize,
            Policy::Random { .. } => self.rng.way(self.tags.len() as u64) as usize,
            Policy::Plru => plru_victim(&self.plru, self.tags.len()),
        }
    }

    pub(super) fn line_at(&self, slot: usize) -> u64 {
        self.tags[slot]
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
        if self.policy != Policy::Plru {
            self.unlink(slot as u32);
        }
        self.holes.insert(slot as u32);
    }

    pub(super) fn insert(&mut self, slot: usize, line: u64, dirty: bool) {
        let s = slot as u32;
        if s == self.fresh {
            self.fresh += 1;
        } else {
            self.holes.remove(&s);
        }
        self.tags[slot] = line;
        self.dirty[slot] = dirty;
        self.map.insert(line, s);
        if self.policy != Policy::Plru {
            self.push_front(s);
        }
        self.used(s);
    }
}
