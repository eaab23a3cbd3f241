//! Splitting a hierarchy into independent parts by the low bits of the line
//! number, so that the parts can simulate on several threads.
//!
//! **Why it is exact.** When every level has the same line size, a line
//! number `L` maps at every level to set `L mod sets` (set counts are
//! powers of two). With `P` parts (a power of two dividing every level's set
//! count), the sets whose index is `p mod P` see only the lines with
//! `L mod P = p`, and every event of the [module semantics](super) touches
//! one line number: a lookup, a fill, a victim (same set, so same part), a
//! back-invalidation (the victim's own line number above) and a write-back
//! (the same line below). The parts therefore never interact; each is the
//! original hierarchy restricted to its lines, and the statistics of the
//! whole are the sums of the parts'. Part `p` is simulated as a hierarchy of
//! `sets / P` sets per level, fed line `L >> log2 P`: its set index is the
//! original's divided by `P` and its tag (`L >> log2 sets`) is unchanged.
//!
//! The order of accesses *within* a part is kept, which is all that its
//! state depends on. A random replacement policy is the exception: its one
//! generator per level is drawn in the order of the whole trace's victims,
//! so hierarchies with a random level are not split.

use super::{split_lines, HierarchyConfig, Policy};
use crate::hw::trace::Access;

/// How a [`super::Hierarchy`] is split: part count, line size, and the
/// per-part buffers of the batch being simulated.
pub(super) struct Split {
    /// log2 of the part count.
    bits: u32,
    /// log2 of the (one) line size.
    shift: u32,
    /// Per part: its accesses of the current batch, in trace order.
    pub(super) scratch: Vec<Vec<Access>>,
}

/// Most parts a hierarchy is split into.
const MAX_PARTS: usize = 8;

impl Split {
    /// The part count for `threads` threads: the largest power of two not
    /// above `threads` (and [`MAX_PARTS`]) that divides every level's set
    /// count, when every level has the same line size and no level replaces
    /// at random; else 1.
    pub(super) fn parts_for(cfg: &HierarchyConfig, threads: usize) -> usize {
        let Some(first) = cfg.levels.first() else {
            return 1;
        };
        let splittable = cfg
            .levels
            .iter()
            .all(|l| l.line == first.line && !matches!(l.policy, Policy::Random { .. }));
        if !splittable {
            return 1;
        }
        let min_sets = cfg.levels.iter().map(|l| l.sets()).min().unwrap_or(1);
        let mut parts = 1;
        while parts * 2 <= threads.min(MAX_PARTS) && (parts * 2) as u64 <= min_sets {
            parts *= 2;
        }
        parts
    }

    /// The split of `cfg` (validated) into `parts` parts; an error names why
    /// `parts` is not allowed.
    pub(super) fn new(cfg: &HierarchyConfig, parts: usize) -> Result<Self, String> {
        let shift = cfg.levels.first().map_or(0, |l| l.line.trailing_zeros());
        if parts != 1 {
            let most = Self::parts_for(cfg, MAX_PARTS);
            if !parts.is_power_of_two() || parts > most {
                return Err(format!(
                    "{}: cannot be split into {parts} parts (at most {most}: a power of two \\
                     dividing every level's set count, one line size, no random policy)",
                    cfg.name
                ));
            }
        }
        Ok(Split {
            bits: parts.trailing_zeros(),
            shift,
            scratch: vec![Vec::new(); if parts > 1 { parts } else { 0 }],
        })
    }

    /// The configuration of one part: every level with `1 / parts` of its
    /// sets (same ways, line and policies).
    pub(super) fn part_config(&self, cfg: &HierarchyConfig) -> HierarchyConfig {
        let mut part = cfg.clone();
        for l in &mut part.levels {
            l.size >>= self.bits;
        }
        part
    }

    /// Calls `f(part, access)` for each line-sized piece of `a` (one piece
    /// unless `a` straddles lines), the address rewritten into the part's
    /// line numbering.
    #[inline(always)]
    pub(super) fn route(&self, a: Access, mut f: impl FnMut(usize, Access)) {
        let offset_mask = (1u64 << self.shift) - 1;
        let part_mask = (1u64 << self.bits) - 1;
        let piece = |addr: u64, size: u32| {
            let line = addr >> self.shift;
            let local = (line >> self.bits) << self.shift | (addr & offset_mask);
            (
                (line & part_mask) as usize,
                Access {
                    addr: local,
                    size,
                    kind: a.kind,
                },
            )
        };
        let end = a.addr.saturating_add(a.size.max(1) as u64 - 1);
        if a.addr >> self.shift == end >> self.shift {
            let (p, one) = piece(a.addr, a.size);
            return f(p, one);
        }
        for (addr, bytes) in split_lines(a.addr, a.size, self.shift) {
            // A piece is at most one line: its size fits the field.
            let (p, one) = piece(addr, bytes as u32);
            f(p, one);
        }
    }

    /// Fills [`Split::scratch`] with `batch`'s pieces, part by part.
    pub(super) fn scatter(&mut self, batch: &[Access]) {
        let mut scratch = std::mem::take(&mut self.scratch);
        for s in &mut scratch {
            s.clear();
        }
        for &a in batch {
            self.route(a, |p, piece| scratch[p].push(piece));
        }
        self.scratch = scratch;
    }
}
