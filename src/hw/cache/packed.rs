//! The packed tag store of set-associative levels of up to 16 ways: each
//! set is one 64-byte block (one host cache line), holding 16-bit tags,
//! 8-bit LRU/FIFO ranks, and valid, dirty and tree-PLRU bits as masks.
//!
//! A miss of a big level is then one host cache miss instead of the six or
//! seven of separate tag, stamp and dirty arrays, and the tag compare, the
//! victim search and the LRU update are each a few branch-free SSE2
//! operations on 16 lanes. One host line per set (rather than two with
//! 32-bit tags) halves the tag memory: the sets of an 8 MiB level of 64-byte
//! lines take 512 KiB and, with the levels above, fit a 1 MiB host L2.
//!
//! **Tags.** A way stores `line >> set_bits` truncated to 16 bits. While
//! every tag inserted so far fits in 16 bits (lines below 2^(16 +
//! set_bits): for 64-byte lines, 256 MiB of addresses for a 64-set level,
//! 4 GiB for 1024 sets), the stored tag is the whole tag and a match is
//! exact. The first wider tag switches the level to also keep every full
//! line number in a side array (filled from the short tags at the switch),
//! against which every short-tag match is then confirmed (a miss still
//! reads only the set: a false 16-bit match is rare).
//!
//! **Ranks.** LRU and FIFO keep, per set, the age rank of every way: 0 the
//! most recent use (LRU: hit or insertion; FIFO: insertion), `ways - 1` the
//! oldest. The ranks of a set are always a permutation of `0..ways`
//! (invalidating a way keeps its rank), so among the valid ways they are in
//! the order of the reference's order list, and the victim of a full set is
//! the way of rank `ways - 1`. Unused lanes (ways ≥ `ways`) hold 127 and
//! never change.

use super::{LevelConfig, Policy, VictimRng};

/// Most ways a packed set holds.
pub(super) const MAX_WAYS: usize = 16;

/// Rank of a lane beyond the level's ways: above every real rank as a
/// *signed* byte too, so that [`rank_touch`] can age with one signed compare.
const UNUSED: u8 = i8::MAX as u8;

/// One set: one host cache line (54 bytes used).
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Set {
    /// Way → low 16 bits of `line >> set_bits` (meaningful when valid).
    tags: [u16; MAX_WAYS],
    /// Way → age rank (LRU, FIFO).
    ranks: [u8; MAX_WAYS],
    /// Bit `w`: way `w` holds a line.
    valid: u16,
    /// Bit `w`: way `w` is dirty (never set for an invalid way).
    dirty: u16,
    /// Tree-PLRU node bits in heap order (see [`super::plru`]).
    plru: u16,
}

/// The replacement policy a [`Packed`] store is compiled for: one of
/// [`LRU`], [`FIFO`], [`RANDOM`], [`PLRU`], or [`DYN`] (read from the level's
/// configuration at run time). A store compiled for one policy has every
/// policy branch of its victim choice and use folded away.
pub(super) type PolicyKind = u8;
/// The policy is read at run time (any level).
pub(super) const DYN: PolicyKind = 0;
/// Compiled for [`Policy::Lru`].
pub(super) const LRU: PolicyKind = 1;
/// Compiled for [`Policy::Fifo`].
pub(super) const FIFO: PolicyKind = 2;
/// Compiled for [`Policy::Random`].
pub(super) const RANDOM: PolicyKind = 3;
/// Compiled for [`Policy::Plru`].
pub(super) const PLRU: PolicyKind = 4;

/// The [`PolicyKind`] of `policy`.
pub(super) fn kind_of(policy: Policy) -> PolicyKind {
    match policy {
        Policy::Lru => LRU,
        Policy::Fifo => FIFO,
        Policy::Random { .. } => RANDOM,
        Policy::Plru => PLRU,
    }
}

/// The result of [`Packed::probe`]: the line's slot on a hit, else the slot
/// that will receive it and the line that slot holds now.
pub(super) enum Probe {
    /// Hit in this slot (already marked used).
    Hit(usize),
    /// Miss: the slot to fill, and its current line if valid.
    Miss(usize, Option<u64>),
}

/// Set-associative store of up to [`MAX_WAYS`] ways: way `w` of set `s` is
/// slot `s * 16 + w` (slots of lanes beyond the level's ways never hold a
/// line). `P` is the [`PolicyKind`] it is compiled for (its level's
/// policy, or [`DYN`]).
pub(super) struct Packed<const P: PolicyKind = DYN> {
    ways: usize,
    /// `(1 << ways) - 1`.
    way_mask: u16,
    /// `ways - 1` in every lane (see [`Narrow::oldest`]).
    oldest: [u8; MAX_WAYS],
    set_bits: u32,
    set_mask: u64,
    /// The level's policy as a [`PolicyKind`] (read only when `P` is [`DYN`]).
    kind: PolicyKind,
    sets: Vec<Set>,
    /// Full line numbers per slot, kept only once a tag wider than 16 bits
    /// has been inserted (empty before).
    full: Vec<u64>,
    rng: VictimRng,
}

/// Bit `w` set where `lanes[w] == key`: two SSE2 compares packed into one
/// byte mask (the compiler's own vectorisation of the portable loop spends
/// three times the instructions on the bit gathering).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn match_u16(lanes: &[u16; MAX_WAYS], key: u16) -> u16 {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of x86_64; the loads read the 32 bytes of
    // `lanes` (unaligned loads: no alignment assumed).
    unsafe {
        let k = _mm_set1_epi16(key as i16);
        let p = lanes.as_ptr().cast::<__m128i>();
        let e0 = _mm_cmpeq_epi16(_mm_loadu_si128(p), k);
        let e1 = _mm_cmpeq_epi16(_mm_loadu_si128(p.add(1)), k);
        _mm_movemask_epi8(_mm_packs_epi16(e0, e1)) as u16
    }
}

/// Bit `w` set where `lanes[w] == key`.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn match_u16(lanes: &[u16; MAX_WAYS], key: u16) -> u16 {
    let mut m = 0u16;
    for (w, &t) in lanes.iter().enumerate() {
        m |= ((t == key) as u16) << w;
    }
    m
}

/// Bit `w` set where `lanes[w] == keys[w]`: one SSE2 byte compare and its
/// mask. The keys come broadcast (SSE2 has no byte broadcast: a victim
/// search, which compares with the same key every time, spares four
/// instructions).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn match_u8v(lanes: &[u8; MAX_WAYS], keys: &[u8; MAX_WAYS]) -> u16 {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of x86_64; the loads read the 16 bytes of each
    // array (unaligned loads: no alignment assumed).
    unsafe {
        let v = _mm_loadu_si128(lanes.as_ptr().cast());
        let k = _mm_loadu_si128(keys.as_ptr().cast());
        _mm_movemask_epi8(_mm_cmpeq_epi8(v, k)) as u16
    }
}

/// Bit `w` set where `lanes[w] == keys[w]`.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn match_u8v(lanes: &[u8; MAX_WAYS], keys: &[u8; MAX_WAYS]) -> u16 {
    let mut m = 0u16;
    for (w, (&t, &k)) in lanes.iter().zip(keys).enumerate() {
        m |= ((t == k) as u16) << w;
    }
    m
}

/// Makes `way` the most recent: every rank below its rank ages by one.
/// (One signed byte compare and subtract: ranks are below 16 and unused
/// lanes hold [`UNUSED`], so no lane reads as negative.)
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn rank_touch(ranks: &mut [u8; MAX_WAYS], way: usize) {
    use std::arch::x86_64::*;
    let r = ranks[way];
    // SAFETY: SSE2 is part of x86_64; the load and store touch the 16
    // bytes of `ranks` (unaligned: no alignment assumed).
    unsafe {
        let p = ranks.as_mut_ptr().cast::<__m128i>();
        let v = _mm_loadu_si128(p);
        // All ones (-1) where the lane's rank is below `r`: subtracting adds one.
        let younger = _mm_cmpgt_epi8(_mm_set1_epi8(r as i8), v);
        _mm_storeu_si128(p, _mm_sub_epi8(v, younger));
    }
    ranks[way] = 0;
}

/// Makes `way` the most recent: every rank below its rank ages by one.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn rank_touch(ranks: &mut [u8; MAX_WAYS], way: usize) {
    let r = ranks[way];
    for x in ranks.iter_mut() {
        *x += (*x < r) as u8;
    }
    ranks[way] = 0;
}

/// Tree-PLRU over the node bits of a set: marks `way` used by pointing every
/// node on its path away from it (bit 1: the victim is on the right).
#[inline]
fn plru_touch(bits: u16, ways: usize, way: usize) -> u16 {
    let (mut b, mut node, mut lo, mut size) = (bits, 0, 0, ways);
    while size > 1 {
        let half = size / 2;
        if way < lo + half {
            b |= 1 << node;
            node = 2 * node + 1;
        } else {
            b &= !(1 << node);
            node = 2 * node + 2;
            lo += half;
        }
        size = half;
    }
    b
}

/// The way the tree-PLRU bits point to.
#[inline]
fn plru_victim(bits: u16, ways: usize) -> usize {
    let (mut node, mut lo, mut size) = (0, 0, ways);
    while size > 1 {
        let half = size / 2;
        if bits >> node & 1 == 0 {
            node = 2 * node + 1;
        } else {
            node = 2 * node + 2;
            lo += half;
        }
        size = half;
    }
    lo
}

/// The geometry of a [`Packed`] store (its sets' address and index math),
/// copied out for [`super::sim`]'s packed miss walk, with the store
/// operations that walk needs for *narrow* tags (no tag wider than 16 bits
/// inserted yet, and the line of every operation fitting too).
///
/// Why a copy: the walk writes sets between its reads of the stores' fields,
/// and the compiler, unable to tell a set from those fields, reloaded every
/// field (and the level array's address) after every write: a fifth of the
/// all-miss path's instructions. Values in locals need no reload.
///
/// Only for the policies whose victim needs nothing but the set (LRU,
/// FIFO, tree-PLRU; random draws from the store's generator).
#[derive(Clone, Copy)]
pub(super) struct Narrow<const P: PolicyKind> {
    /// The first set (the store's set vector never reallocates).
    sets: *mut Set,
    set_mask: u64,
    set_bits: u32,
    ways: usize,
    way_mask: u16,
    /// `ways - 1` in every lane: the rank of the LRU/FIFO victim of a full
    /// set, for [`match_u8v`].
    oldest: [u8; MAX_WAYS],
}

// SAFETY: a view is plain geometry and the address of its store's sets; the
// simulator that keeps views of its own stores (see `sim`'s walk cache)
// dereferences them only through `&mut` access to itself, so moving it to
// another thread, or sharing it read-only, cannot race on the sets.
unsafe impl<const P: PolicyKind> Send for Narrow<P> {}
// SAFETY: as for `Send`: nothing is read or written through a shared view.
unsafe impl<const P: PolicyKind> Sync for Narrow<P> {}

impl<const P: PolicyKind> Narrow<P> {
    /// A placeholder for unused entries (never dereferenced).
    pub(super) const NONE: Self = Narrow {
        sets: std::ptr::null_mut(),
        set_mask: 0,
        set_bits: 0,
        ways: 1,
        way_mask: 1,
        oldest: [0; MAX_WAYS],
    };

    /// Set `s` (below the store's set count: `line & set_mask`, or the set
    /// of a slot of this store).
    ///
    /// # Safety
    /// The store outlives the use, and no reference into its sets is alive
    /// (the walk reaches the sets through views only; the store's own
    /// references into its sets live only within its methods). The address
    /// is the set vector's buffer (`Vec::as_mut_ptr`), which the store
    /// never resizes, so a view made once stays valid for the store's life.
    #[inline(always)]
    #[allow(clippy::mut_from_ref)]
    unsafe fn set(&self, s: usize) -> &mut Set {
        &mut *self.sets.add(s)
    }

    /// Whether `line`'s tag fits in 16 bits here.
    #[inline(always)]
    pub(super) fn fits(&self, line: u64) -> bool {
        line >> self.set_bits <= u16::MAX as u64
    }

    /// The lines below this bound [`Narrow::fits`] (the others fit
    /// too only when the bound saturates at `u64::MAX`).
    pub(super) fn limit(&self) -> u64 {
        1u64.checked_shl(16 + self.set_bits).unwrap_or(u64::MAX)
    }

    /// [`Packed::prefetch`].
    #[inline(always)]
    pub(super) fn prefetch(&self, line: u64) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let p = self.sets.wrapping_add((line & self.set_mask) as usize);
            // SAFETY: prefetching is a hint; the address is the set's.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = line;
    }

    /// [`Packed::find`] of a narrow store.
    #[inline(always)]
    pub(super) fn find(&self, line: u64) -> Option<usize> {
        let s = (line & self.set_mask) as usize;
        let tag = line >> self.set_bits;
        // SAFETY: a set index; see [`Narrow::set`].
        let set = unsafe { self.set(s) };
        let m = match_u16(&set.tags, tag as u16) & set.valid;
        (m != 0 && tag <= u16::MAX as u64).then(|| s * MAX_WAYS + m.trailing_zeros() as usize)
    }

    /// Marks `w` of `set` used ([`Packed::used`]).
    #[inline(always)]
    fn used(&self, set: &mut Set, w: usize) {
        match P {
            LRU => rank_touch(&mut set.ranks, w),
            PLRU => set.plru = plru_touch(set.plru, self.ways, w),
            _ => {}
        }
    }

    /// A write-back into this level: [`Packed::hit`], then the hit slot
    /// marked dirty; false (nothing changed) if `line` is absent.
    #[inline(always)]
    pub(super) fn write_hit(&self, line: u64) -> bool {
        let Some(slot) = self.find(line) else {
            return false;
        };
        let (s, w) = (slot / MAX_WAYS, slot % MAX_WAYS);
        // SAFETY: the set of a slot found here; see [`Narrow::set`].
        let set = unsafe { self.set(s) };
        self.used(set, w);
        set.dirty |= 1 << w;
        true
    }

    /// [`Packed::probe`] of a narrow store, for `line` that [`Narrow::fits`].
    #[inline(always)]
    pub(super) fn probe(&self, line: u64) -> Probe {
        let s = (line & self.set_mask) as usize;
        let base = s * MAX_WAYS;
        let tag = line >> self.set_bits;
        // SAFETY: a set index; see [`Narrow::set`].
        let set = unsafe { self.set(s) };
        let valid = set.valid;
        let m = match_u16(&set.tags, tag as u16) & valid;
        if m != 0 {
            let w = m.trailing_zeros() as usize;
            self.used(set, w);
            return Probe::Hit(base + w);
        }
        let free = !valid & self.way_mask;
        let w = if free != 0 {
            free.trailing_zeros() as usize
        } else {
            match P {
                LRU | FIFO => match_u8v(&set.ranks, &self.oldest).trailing_zeros() as usize,
                _ => plru_victim(set.plru, self.ways),
            }
        };
        if valid >> w & 1 == 0 {
            return Probe::Miss(base + w, None);
        }
        // (`w` is below `ways`: the mask spares a bounds check.)
        let held = (set.tags[w % MAX_WAYS] as u64) << self.set_bits | s as u64;
        Probe::Miss(base + w, Some(held))
    }

    /// [`Packed::take`].
    #[inline(always)]
    pub(super) fn take(&self, slot: usize) -> bool {
        // SAFETY: the set of a slot of this store; see [`Narrow::set`].
        let set = unsafe { self.set(slot / MAX_WAYS) };
        let bit = 1u16 << (slot % MAX_WAYS);
        let dirty = set.dirty & bit != 0;
        set.valid &= !bit;
        set.dirty &= !bit;
        dirty
    }

    /// [`Packed::insert`] of `line` that [`Narrow::fits`] (so that the
    /// store stays narrow).
    #[inline(always)]
    pub(super) fn insert(&self, slot: usize, line: u64, dirty: bool) {
        let (s, w) = (slot / MAX_WAYS, slot % MAX_WAYS);
        // SAFETY: the set of a slot of this store; see [`Narrow::set`].
        let set = unsafe { self.set(s) };
        set.tags[w] = (line >> self.set_bits) as u16;
        set.valid |= 1 << w;
        set.dirty = set.dirty & !(1 << w) | (dirty as u16) << w;
        if P == FIFO {
            rank_touch(&mut set.ranks, w);
        }
        self.used(set, w);
    }
}

impl<const P: PolicyKind> Packed<P> {
    /// An empty store for `cfg` (validated, with 1 ≤ ways ≤ [`MAX_WAYS`],
    /// and a policy of kind `P` unless `P` is [`DYN`]).
    pub(super) fn new(cfg: &LevelConfig) -> Self {
        debug_assert!(P == DYN || P == kind_of(cfg.policy));
        let ways = cfg.effective_ways() as usize;
        debug_assert!((1..=MAX_WAYS).contains(&ways));
        let sets = cfg.sets() as usize;
        let seed = match cfg.policy {
            Policy::Random { seed } => seed,
            _ => 0,
        };
        let mut ranks = [UNUSED; MAX_WAYS];
        for (w, r) in ranks.iter_mut().take(ways).enumerate() {
            *r = w as u8;
        }
        let empty = Set {
            tags: [0; MAX_WAYS],
            ranks,
            valid: 0,
            dirty: 0,
            plru: 0,
        };
        Packed {
            ways,
            way_mask: ((1u32 << ways) - 1) as u16,
            oldest: [ways as u8 - 1; MAX_WAYS],
            set_bits: sets.trailing_zeros(),
            set_mask: sets as u64 - 1,
            kind: kind_of(cfg.policy),
            sets: vec![empty; sets],
            full: Vec::new(),
            rng: VictimRng::new(seed),
        }
    }

    /// Whether no tag wider than 16 bits was inserted yet (once false,
    /// false for good: the store never narrows again).
    #[inline(always)]
    pub(super) fn is_narrow(&self) -> bool {
        self.full.is_empty()
    }

    /// The store's [`Narrow`] view, if its policy suits one (`P` is LRU,
    /// FIFO or PLRU) and no tag wider than 16 bits was inserted yet. Its
    /// geometry and sets' address never change (the set vector is never
    /// resized), so a view stays right for as long as
    /// [`Packed::is_narrow`] holds.
    #[inline(always)]
    pub(super) fn narrow(&mut self) -> Option<Narrow<P>> {
        if !(matches!(P, LRU | FIFO | PLRU) && self.is_narrow()) {
            return None;
        }
        Some(Narrow {
            sets: self.sets.as_mut_ptr(),
            set_mask: self.set_mask,
            set_bits: self.set_bits,
            ways: self.ways,
            way_mask: self.way_mask,
            oldest: self.oldest,
        })
    }

    /// Set `s`, without a bounds check: every index reaching here is a set
    /// index (`line & set_mask`, below the set count) or the set of a slot
    /// (below [`Packed::slots`]) this store handed out; the checks cost a
    /// tenth of the miss path's instructions.
    #[inline(always)]
    fn set(&self, s: usize) -> &Set {
        debug_assert!(s < self.sets.len());
        // SAFETY: `s < self.sets.len()`, as above.
        unsafe { self.sets.get_unchecked(s) }
    }

    /// Set `s` for writing (see [`Packed::set`]).
    #[inline(always)]
    fn set_mut(&mut self, s: usize) -> &mut Set {
        debug_assert!(s < self.sets.len());
        // SAFETY: `s < self.sets.len()`, as in [`Packed::set`].
        unsafe { self.sets.get_unchecked_mut(s) }
    }

    /// The policy: `P`, a constant, unless the store is compiled for any.
    #[inline(always)]
    fn kind(&self) -> PolicyKind {
        if P == DYN {
            self.kind
        } else {
            P
        }
    }

    #[inline(always)]
    fn set_of(&self, line: u64) -> usize {
        (line & self.set_mask) as usize
    }

    /// The slot holding `line`, without counting a use.
    #[inline(always)]
    pub(super) fn find(&self, line: u64) -> Option<usize> {
        let s = self.set_of(line);
        let set = self.set(s);
        let tag = line >> self.set_bits;
        let mut m = match_u16(&set.tags, tag as u16) & set.valid;
        if self.full.is_empty() {
            // Narrow tags are whole tags: at most one way matches, and a
            // wide line cannot be here yet.
            return (m != 0 && tag <= u16::MAX as u64)
                .then(|| s * MAX_WAYS + m.trailing_zeros() as usize);
        }
        while m != 0 {
            let slot = s * MAX_WAYS + m.trailing_zeros() as usize;
            if self.full[slot] == line {
                return Some(slot);
            }
            m &= m - 1;
        }
        None
    }

    /// The slot holding `line`, marked as used (a hit), if any.
    #[inline(always)]
    pub(super) fn hit(&mut self, line: u64) -> Option<usize> {
        let slot = self.find(line)?;
        self.used(slot);
        Some(slot)
    }

    #[inline(always)]
    fn used(&mut self, slot: usize) {
        let (s, w) = (slot / MAX_WAYS, slot % MAX_WAYS);
        match self.kind() {
            LRU => rank_touch(&mut self.set_mut(s).ranks, w),
            PLRU => {
                let ways = self.ways;
                let set = self.set_mut(s);
                set.plru = plru_touch(set.plru, ways, w);
            }
            _ => {}
        }
    }

    /// Asks the CPU to start loading `line`'s set (its one host line).
    #[inline(always)]
    pub(super) fn prefetch(&self, line: u64) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let p: *const Set = self.set(self.set_of(line));
            // SAFETY: prefetching is a hint; the address is the set's.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = line;
    }

    /// The slot that will receive `line`: the lowest invalid way of its
    /// set, else the policy's victim.
    #[inline(always)]
    pub(super) fn victim(&mut self, line: u64) -> usize {
        let s = self.set_of(line);
        s * MAX_WAYS + self.victim_way(s)
    }

    /// The way of set `s` that receives the next line.
    #[inline(always)]
    fn victim_way(&mut self, s: usize) -> usize {
        let set = self.set(s);
        let free = !set.valid & self.way_mask;
        if free != 0 {
            return free.trailing_zeros() as usize;
        }
        match self.kind() {
            LRU | FIFO => match_u8v(&set.ranks, &self.oldest).trailing_zeros() as usize,
            RANDOM => self.rng.way(self.ways as u64) as usize,
            _ => plru_victim(set.plru, self.ways),
        }
    }

    /// [`Packed::victim`] and the line its slot holds, from one look at the set.
    #[inline(always)]
    pub(super) fn victim_line(&mut self, line: u64) -> (usize, Option<u64>) {
        let s = self.set_of(line);
        let w = self.victim_way(s);
        let slot = s * MAX_WAYS + w;
        let set = self.set(s);
        if set.valid >> w & 1 == 0 {
            return (slot, None);
        }
        let held = if self.full.is_empty() {
            (set.tags[w] as u64) << self.set_bits | s as u64
        } else {
            self.full[slot]
        };
        (slot, Some(held))
    }

    /// [`Packed::hit`] and, on a miss, [`Packed::victim_line`], from one
    /// look at the set: the set's address, the tag and the valid mask are
    /// computed once for both (a miss path runs this once per level).
    #[inline(always)]
    pub(super) fn probe(&mut self, line: u64) -> Probe {
        let s = self.set_of(line);
        let base = s * MAX_WAYS;
        let tag = line >> self.set_bits;
        let set = self.set(s);
        let valid = set.valid;
        let mut m = match_u16(&set.tags, tag as u16) & valid;
        if self.full.is_empty() {
            // Narrow tags are whole tags (see [`Packed::find`]).
            if m != 0 && tag <= u16::MAX as u64 {
                let slot = base + m.trailing_zeros() as usize;
                self.used(slot);
                return Probe::Hit(slot);
            }
        } else {
            while m != 0 {
                let slot = base + m.trailing_zeros() as usize;
                if self.full[slot] == line {
                    self.used(slot);
                    return Probe::Hit(slot);
                }
                m &= m - 1;
            }
        }
        let w = self.victim_way(s);
        let slot = base + w;
        if valid >> w & 1 == 0 {
            return Probe::Miss(slot, None);
        }
        let held = if self.full.is_empty() {
            (self.set(s).tags[w] as u64) << self.set_bits | s as u64
        } else {
            self.full[slot]
        };
        Probe::Miss(slot, Some(held))
    }

    /// Invalidates `slot` and says whether it was dirty.
    #[inline(always)]
    pub(super) fn take(&mut self, slot: usize) -> bool {
        let set = self.set_mut(slot / MAX_WAYS);
        let bit = 1u16 << (slot % MAX_WAYS);
        let dirty = set.dirty & bit != 0;
        set.valid &= !bit;
        set.dirty &= !bit;
        dirty
    }

    /// The line in `slot`, if valid.
    #[inline(always)]
    pub(super) fn line_at(&self, slot: usize) -> Option<u64> {
        let (s, w) = (slot / MAX_WAYS, slot % MAX_WAYS);
        let set = self.set(s);
        if set.valid >> w & 1 == 0 {
            return None;
        }
        Some(if self.full.is_empty() {
            (set.tags[w] as u64) << self.set_bits | s as u64
        } else {
            self.full[slot]
        })
    }

    /// Whether `slot` is dirty.
    #[inline(always)]
    pub(super) fn is_dirty(&self, slot: usize) -> bool {
        self.set(slot / MAX_WAYS).dirty >> (slot % MAX_WAYS) & 1 == 1
    }

    /// Sets the dirty bit of `slot` (which holds a line).
    #[inline(always)]
    pub(super) fn set_dirty(&mut self, slot: usize, d: bool) {
        let set = self.set_mut(slot / MAX_WAYS);
        let bit = 1u16 << (slot % MAX_WAYS);
        if d {
            set.dirty |= bit;
        } else {
            set.dirty &= !bit;
        }
    }

    /// Invalidates `slot` (its rank and the PLRU bits stay).
    #[inline(always)]
    pub(super) fn remove(&mut self, slot: usize) {
        let set = self.set_mut(slot / MAX_WAYS);
        let keep = !(1u16 << (slot % MAX_WAYS));
        set.valid &= keep;
        set.dirty &= keep;
    }

    /// Puts `line` into `slot` (invalid, as returned by [`Packed::victim`]
    /// and then removed), counting a use (LRU, PLRU) or an insertion (FIFO).
    #[inline(always)]
    pub(super) fn insert(&mut self, slot: usize, line: u64, dirty: bool) {
        let (s, w) = (slot / MAX_WAYS, slot % MAX_WAYS);
        let tag = line >> self.set_bits;
        if tag > u16::MAX as u64 && self.full.is_empty() {
            self.widen();
        }
        if !self.full.is_empty() {
            self.full[slot] = line;
        }
        let fifo = self.kind() == FIFO;
        let set = self.set_mut(s);
        set.tags[w] = tag as u16;
        set.valid |= 1 << w;
        set.dirty = set.dirty & !(1 << w) | (dirty as u16) << w;
        if fifo {
            rank_touch(&mut set.ranks, w);
        }
        self.used(slot);
    }

    /// Starts keeping full line numbers: every valid way's line so far is
    /// its narrow tag and set.
    #[cold]
    fn widen(&mut self) {
        self.full = (0..self.slots())
            .map(|slot| self.line_at(slot).unwrap_or(u64::MAX))
            .collect();
    }

    /// Number of slots (including the unused lanes of every set).
    pub(super) fn slots(&self) -> usize {
        self.sets.len() * MAX_WAYS
    }
}
