//! The tag store of one level of the fast simulator: one packed block per
//! set for set-associative levels of up to 16 ways ([`super::packed`]),
//! flat per-set arrays for wider sets ([`SetAssoc`]), and the fully
//! associative store of [`super::full`] (a hash map plus an event queue, so
//! that a lookup is O(1) whatever the size), behind one [`Store`] enum.

use super::full::FullAssoc;
use super::packed::{self, Packed, PolicyKind, Probe};
use super::plru::{plru_touch, plru_victim, INVALID};
use super::{LevelConfig, Policy, VictimRng};

/// Set-associative store: way `w` of set `s` is slot `s * ways + w`.
pub(super) struct SetAssoc {
    ways: usize,
    set_mask: u64,
    policy: Policy,
    tags: Vec<u64>,
    /// Low 32 bits of each tag (the vectorized search).
    short: Vec<u32>,
    /// Per set: the way used last (hit or insertion).
    mru: Vec<u32>,
    /// LRU: clock of the last use; FIFO: clock of the insertion.
    stamp: Vec<u64>,
    dirty: Vec<bool>,
    /// PLRU: `ways - 1` bits per set (empty otherwise).
    plru: Vec<u8>,
    clock: u64,
    rng: VictimRng,
}

impl SetAssoc {
    fn new(cfg: &LevelConfig) -> Self {
        let ways = cfg.effective_ways() as usize;
        let sets = cfg.sets() as usize;
        let seed = match cfg.policy {
            Policy::Random { seed } => seed,
            _ => 0,
        };
        SetAssoc {
            ways,
            set_mask: sets as u64 - 1,
            policy: cfg.policy,
            tags: vec![INVALID; sets * ways],
            short: vec![INVALID as u32; sets * ways],
            mru: vec![0; sets],
            stamp: vec![0; sets * ways],
            dirty: vec![false; sets * ways],
            plru: if cfg.policy == Policy::Plru {
                vec![0; sets * (ways - 1)]
            } else {
                Vec::new()
            },
            clock: 0,
            rng: VictimRng::new(seed),
        }
    }

    #[inline]
    fn base(&self, line: u64) -> usize {
        (line & self.set_mask) as usize * self.ways
    }

    /// The slot holding `line`. Up to 64 ways, the low 32 bits of every tag
    /// are compared into a bit mask without branches (the matching way
    /// varies from access to access, so an early-exit loop mispredicts, and
    /// 32-bit compares vectorize with SSE2); candidates are then checked
    /// against the full tag.
    #[inline]
    pub(super) fn find(&self, line: u64) -> Option<usize> {
        let b = self.base(line);
        if self.ways <= 64 {
            let key = line as u32;
            let mut mask = 0u64;
            for (w, &t) in self.short[b..b + self.ways].iter().enumerate() {
                mask |= ((t == key) as u64) << w;
            }
            while mask != 0 {
                let slot = b + mask.trailing_zeros() as usize;
                if self.tags[slot] == line {
                    return Some(slot);
                }
                mask &= mask - 1;
            }
            None
        } else {
            let set = &self.tags[b..b + self.ways];
            set.iter().position(|&t| t == line).map(|w| b + w)
        }
    }

    /// A hit lookup: the set's most recent way first (a hit there changes
    /// no replacement state: it already is the most recent use), then the
    /// whole set.
    #[inline]
    pub(super) fn hit(&mut self, line: u64) -> Option<usize> {
        let set = (line & self.set_mask) as usize;
        let m = set * self.ways + self.mru[set] as usize;
        if self.tags[m] == line {
            return Some(m);
        }
        let slot = self.find(line)?;
        self.used(slot);
        Some(slot)
    }

    #[inline]
    pub(super) fn used(&mut self, slot: usize) {
        self.mru[slot / self.ways] = (slot % self.ways) as u32;
        match self.policy {
            Policy::Lru => {
                self.clock += 1;
                self.stamp[slot] = self.clock;
            }
            Policy::Plru => {
                let set = slot / self.ways;
                let w = self.ways - 1;
                plru_touch(
                    &mut self.plru[set * w..set * w + w],
                    self.ways,
                    slot % self.ways,
                );
            }
            Policy::Fifo | Policy::Random { .. } => {}
        }
    }

    /// Asks the CPU to start loading `line`'s set (its short tags, full
    /// tags and stamps): a miss in level 0 prefetches every level below at
    /// once, so that their cache misses on these arrays overlap.
    #[inline]
    pub(super) fn prefetch(&self, line: u64) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let b = self.base(line);
            // SAFETY: prefetching is a hint; the pointers are in bounds.
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(self.short.as_ptr().add(b).cast());
                _mm_prefetch::<_MM_HINT_T0>(self.tags.as_ptr().add(b).cast());
                _mm_prefetch::<_MM_HINT_T0>(self.stamp.as_ptr().add(b).cast());
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = line;
    }

    fn victim(&mut self, line: u64) -> usize {
        let b = self.base(line);
        // Invalid ways through the short tags (already loaded by the
        // lookup), each candidate confirmed on the full tag.
        let key = INVALID as u32;
        if let Some(w) =
            (0..self.ways).find(|&w| self.short[b + w] == key && self.tags[b + w] == INVALID)
        {
            return b + w;
        }
        match self.policy {
            Policy::Lru | Policy::Fifo => {
                let st = &self.stamp[b..b + self.ways];
                let mut best = 0;
                for w in 1..self.ways {
                    if st[w] < st[best] {
                        best = w;
                    }
                }
                b + best
            }
            Policy::Random { .. } => b + self.rng.way(self.ways as u64) as usize,
            Policy::Plru => {
                let w = self.ways - 1;
                let set = b / self.ways;
                b + plru_victim(&self.plru[set * w..set * w + w], self.ways)
            }
        }
    }

    #[inline]
    pub(super) fn set_dirty(&mut self, slot: usize, d: bool) {
        self.dirty[slot] = d;
    }

    fn insert(&mut self, slot: usize, line: u64, dirty: bool) {
        self.tags[slot] = line;
        self.short[slot] = line as u32;
        self.dirty[slot] = dirty;
        if self.policy == Policy::Fifo {
            self.clock += 1;
            self.stamp[slot] = self.clock;
        }
        self.used(slot);
    }
}

/// Most sets of a packed level: its 64-byte blocks then take at most
/// 256 MiB (a direct-mapped level of 2^26 lines would take 4 GiB packed;
/// the flat arrays take 21 bytes per line).
const MAX_PACKED_SETS: u64 = 1 << 22;

/// A level's tag store.
pub(super) enum Store {
    /// Set-associative, up to 16 ways (including direct-mapped).
    Packed(Packed),
    /// Set-associative, more than 16 ways or too many sets to pack.
    Set(SetAssoc),
    /// Fully associative (one set).
    Full(FullAssoc),
}

/// The operations the simulator needs of a level's tag store. [`Store`]
/// implements them for any level, by dispatch; [`Packed`] implements them
/// directly, so that a hierarchy whose levels are all packed (the common
/// case) is compiled once more without a dispatch or a call per operation.
pub(super) trait Tags {
    /// The slot holding `line`, marked as used (a hit), if any.
    fn hit(&mut self, line: u64) -> Option<usize>;
    /// Starts loading `line`'s set into the CPU caches (a hint).
    fn prefetch(&self, line: u64);
    /// The slot holding `line`, without counting a use.
    fn find(&self, line: u64) -> Option<usize>;
    /// The slot that will receive `line`: the lowest invalid way of its
    /// set, else the policy's victim (which stays valid until removed).
    fn victim(&mut self, line: u64) -> usize;
    /// The line in `slot`, if valid.
    fn line_at(&self, slot: usize) -> Option<u64>;
    /// Whether `slot` is dirty.
    fn is_dirty(&self, slot: usize) -> bool;
    /// Sets the dirty bit of `slot`.
    fn set_dirty(&mut self, slot: usize, d: bool);
    /// Invalidates `slot`.
    fn remove(&mut self, slot: usize);
    /// [`Tags::victim`] and the line that slot holds now ([`Tags::line_at`]):
    /// one look at the set where the store can fuse the two.
    #[inline(always)]
    fn victim_line(&mut self, line: u64) -> (usize, Option<u64>) {
        let slot = self.victim(line);
        (slot, self.line_at(slot))
    }
    /// Invalidates `slot` (which holds a line) and says whether it was dirty.
    #[inline(always)]
    fn take(&mut self, slot: usize) -> bool {
        let dirty = self.is_dirty(slot);
        self.remove(slot);
        dirty
    }
    /// [`Tags::hit`], and on a miss [`Tags::victim_line`]: one pass over
    /// the set where the store can fuse the two.
    #[inline(always)]
    fn probe(&mut self, line: u64) -> Probe {
        match self.hit(line) {
            Some(slot) => Probe::Hit(slot),
            None => {
                let (slot, held) = self.victim_line(line);
                Probe::Miss(slot, held)
            }
        }
    }
    /// Puts `line` into `slot` (invalid, as returned by [`Tags::victim`]
    /// and then removed), counting a use.
    fn insert(&mut self, slot: usize, line: u64, dirty: bool);
    /// Number of slots.
    fn slots(&self) -> usize;
}

impl Store {
    /// An empty store for `cfg` (already validated).
    pub(super) fn new(cfg: &LevelConfig) -> Self {
        if cfg.sets() == 1 {
            Store::Full(FullAssoc::new(cfg))
        } else if Self::packs(cfg) {
            Store::Packed(Packed::new(cfg))
        } else {
            Store::Set(SetAssoc::new(cfg))
        }
    }

    /// Whether [`Store::new`] makes a [`Store::Packed`] store for `cfg`
    /// (validated): set-associative, up to 16 ways, not too many sets.
    pub(super) fn packs(cfg: &LevelConfig) -> bool {
        cfg.sets() > 1
            && cfg.effective_ways() <= packed::MAX_WAYS as u64
            && cfg.sets() <= MAX_PACKED_SETS
    }
}

impl Tags for Store {
    #[inline]
    fn hit(&mut self, line: u64) -> Option<usize> {
        match self {
            Store::Packed(p) => p.hit(line),
            Store::Set(s) => s.hit(line),
            Store::Full(f) => f.hit(line),
        }
    }

    #[inline]
    fn prefetch(&self, line: u64) {
        match self {
            Store::Packed(p) => p.prefetch(line),
            Store::Set(s) => s.prefetch(line),
            Store::Full(_) => {}
        }
    }

    #[inline]
    fn find(&self, line: u64) -> Option<usize> {
        match self {
            Store::Packed(p) => p.find(line),
            Store::Set(s) => s.find(line),
            Store::Full(f) => f.find(line),
        }
    }

    #[inline]
    fn victim(&mut self, line: u64) -> usize {
        match self {
            Store::Packed(p) => p.victim(line),
            Store::Set(s) => s.victim(line),
            Store::Full(f) => f.victim(),
        }
    }

    #[inline]
    fn line_at(&self, slot: usize) -> Option<u64> {
        let t = match self {
            Store::Packed(p) => return p.line_at(slot),
            Store::Set(s) => s.tags[slot],
            Store::Full(f) => f.line_at(slot),
        };
        (t != INVALID).then_some(t)
    }

    #[inline]
    fn is_dirty(&self, slot: usize) -> bool {
        match self {
            Store::Packed(p) => p.is_dirty(slot),
            Store::Set(s) => s.dirty[slot],
            Store::Full(f) => f.is_dirty(slot),
        }
    }

    #[inline]
    fn set_dirty(&mut self, slot: usize, d: bool) {
        match self {
            Store::Packed(p) => p.set_dirty(slot, d),
            Store::Set(s) => s.set_dirty(slot, d),
            Store::Full(f) => f.set_dirty(slot, d),
        }
    }

    #[inline]
    fn remove(&mut self, slot: usize) {
        match self {
            Store::Packed(p) => p.remove(slot),
            Store::Set(s) => {
                s.tags[slot] = INVALID;
                s.short[slot] = INVALID as u32;
                s.dirty[slot] = false;
            }
            Store::Full(f) => f.remove(slot),
        }
    }

    #[inline]
    fn insert(&mut self, slot: usize, line: u64, dirty: bool) {
        match self {
            Store::Packed(p) => p.insert(slot, line, dirty),
            Store::Set(s) => s.insert(slot, line, dirty),
            Store::Full(f) => f.insert(slot, line, dirty),
        }
    }

    fn slots(&self) -> usize {
        match self {
            Store::Packed(p) => p.slots(),
            Store::Set(s) => s.tags.len(),
            Store::Full(f) => f.slots(),
        }
    }
}

/// Straight calls of [`Packed`]'s own methods.
impl<const P: PolicyKind> Tags for Packed<P> {
    #[inline(always)]
    fn hit(&mut self, line: u64) -> Option<usize> {
        Packed::hit(self, line)
    }
    #[inline(always)]
    fn prefetch(&self, line: u64) {
        Packed::prefetch(self, line)
    }
    #[inline(always)]
    fn find(&self, line: u64) -> Option<usize> {
        Packed::find(self, line)
    }
    #[inline(always)]
    fn victim(&mut self, line: u64) -> usize {
        Packed::victim(self, line)
    }
    #[inline(always)]
    fn line_at(&self, slot: usize) -> Option<u64> {
        Packed::line_at(self, slot)
    }
    #[inline(always)]
    fn is_dirty(&self, slot: usize) -> bool {
        Packed::is_dirty(self, slot)
    }
    #[inline(always)]
    fn set_dirty(&mut self, slot: usize, d: bool) {
        Packed::set_dirty(self, slot, d)
    }
    #[inline(always)]
    fn remove(&mut self, slot: usize) {
        Packed::remove(self, slot)
    }
    #[inline(always)]
    fn victim_line(&mut self, line: u64) -> (usize, Option<u64>) {
        Packed::victim_line(self, line)
    }
    #[inline(always)]
    fn take(&mut self, slot: usize) -> bool {
        Packed::take(self, slot)
    }
    #[inline(always)]
    fn probe(&mut self, line: u64) -> Probe {
        Packed::probe(self, line)
    }
    #[inline(always)]
    fn insert(&mut self, slot: usize, line: u64, dirty: bool) {
        Packed::insert(self, slot, line, dirty)
    }
    #[inline(always)]
    fn slots(&self) -> usize {
        Packed::slots(self)
    }
}
