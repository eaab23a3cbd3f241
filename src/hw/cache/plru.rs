//! The tree pseudo-LRU state shared by the set-associative and the fully
//! associative tag stores, and the tag of an invalid way.

/// Tag of an invalid way (line numbers are addresses shifted by at least 2,
/// so no line has it).
pub(super) const INVALID: u64 = u64::MAX;

/// Tree-PLRU over `bits` (`ways - 1` nodes, heap order; a node's bit is the
/// side the victim is on: 0 left, 1 right): marks `way` as used by pointing
/// every node on its path away from it.
#[inline]
pub(super) fn plru_touch(bits: &mut [u8], ways: usize, way: usize) {
    let (mut node, mut lo, mut size) = (0, 0, ways);
    while size > 1 {
        let half = size / 2;
        if way < lo + half {
            bits[node] = 1;
            node = 2 * node + 1;
        } else {
            bits[node] = 0;
            node = 2 * node + 2;
            lo += half;
        }
        size = half;
    }
}

/// The way the tree-PLRU bits point to.
#[inline]
pub(super) fn plru_victim(bits: &[u8], ways: usize) -> usize {
    let (mut node, mut lo, mut size) = (0, 0, ways);
    while size > 1 {
        let half = size / 2;
        if bits[node] == 0 {
            node = 2 * node + 1;
        } else {
            node = 2 * node + 2;
            lo += half;
        }
        size = half;
    }
    lo
}
