//! Where the elements of a matrix live in memory, and how a row segment
//! becomes accesses.
//!
//! # Layout
//!
//! Every matrix is row-major and dense: row `r` starts at
//! `base + r·row_bytes` with `row_bytes = ⌈cols·bits/8⌉`; sub-byte codes are
//! packed as [`crate::formats::pack`] packs them (4-bit: element 0 in the
//! low nibble), so element `c` of a row lies in byte `⌊c·bits/8⌋`. A
//! block-scaled format (MX, NVFP4) keeps its scales in a separate dense
//! row-major array of `⌈cols/block⌉` scales per row (one byte each for E8M0
//! and E4M3), the way MX tensors are stored beside their scales. Each array
//! starts on a 4 KiB boundary, after the previous one.
//!
//! # Granularity
//!
//! A contiguous row segment is emitted as accesses of at most
//! [`VECTOR_BYTES`] (64) bytes, split at 64-byte boundaries, so each access
//! is one vector load or store touching one 64-byte line; its scales follow
//! the same way. A lone element is one access of the bytes that hold it.

use crate::hw::tiles::ElementSize;
use crate::hw::trace::{Access, AccessKind, AccessSink};

/// Largest access a generator emits (one vector load or store), bytes.
pub const VECTOR_BYTES: u64 = 64;

/// Alignment of each array's start, bytes.
const ARRAY_ALIGN: u64 = 4096;

/// A matrix placed in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Matrix {
    /// Address of element (0, 0).
    pub base: u64,
    /// Address of the first block scale (unused without block scales).
    pub scale_base: u64,
    /// Rows.
    pub rows: u64,
    /// Columns.
    pub cols: u64,
    /// Bytes per row of element codes.
    pub row_bytes: u64,
    /// Bytes per row of block scales (0 without block scales).
    pub scale_row_bytes: u64,
    bits: u64,
    block: u64,
    scale_bytes: u64,
}

impl Matrix {
    /// Emits the segment of row `r` from column `c0` to `c1` (exclusive) as
    /// `kind` accesses: element bytes first, then its block scales.
    pub fn emit<S: AccessSink>(&self, r: u64, c0: u64, c1: u64, kind: AccessKind, sink: &mut S) {
        let b0 = c0 * self.bits / 8;
        let b1 = (c1 * self.bits).div_ceil(8);
        emit_range(self.base + r * self.row_bytes + b0, b1 - b0, kind, sink);
        if let Some(k0) = c0.checked_div(self.block) {
            let k1 = c1.div_ceil(self.block);
            let at = self.scale_base + r * self.scale_row_bytes + k0 * self.scale_bytes;
            emit_range(at, (k1 - k0) * self.scale_bytes, kind, sink);
        }
    }

    /// Emits rows `r0..r1`, columns `c0..c1` of each.
    #[allow(clippy::too_many_arguments)]
    pub fn emit_rows<S: AccessSink>(
        &self,
        r0: u64,
        r1: u64,
        c0: u64,
        c1: u64,
        kind: AccessKind,
        sink: &mut S,
    ) {
        for r in r0..r1 {
            self.emit(r, c0, c1, kind, sink);
        }
    }

    /// One past the last byte this matrix occupies (codes and scales).
    pub fn end(&self) -> u64 {
        if self.block > 0 {
            self.scale_base + self.rows * self.scale_row_bytes
        } else {
            self.base + self.rows * self.row_bytes
        }
    }
}

/// Emits `len` bytes from `addr` in accesses split at 64-byte boundaries.
pub fn emit_range<S: AccessSink>(mut addr: u64, mut len: u64, kind: AccessKind, sink: &mut S) {
    while len > 0 {
        let take = len.min(VECTOR_BYTES - addr % VECTOR_BYTES);
        sink.access(Access {
            addr,
            size: take as u32,
            kind,
        });
        addr += take;
        len -= take;
    }
}

/// Places arrays one after another from address 0, each 4 KiB aligned.
#[derive(Debug, Clone, Default)]
pub struct Arena {
    next: u64,
}

impl Arena {
    /// A new arena starting at address 0.
    pub fn new() -> Self {
        Arena::default()
    }

    fn take(&mut self, bytes: u64) -> u64 {
        let at = self.next;
        self.next = (at + bytes).div_ceil(ARRAY_ALIGN) * ARRAY_ALIGN;
        at
    }

    /// Places a `rows`×`cols` matrix of elements of size `es`.
    pub fn matrix(&mut self, rows: u64, cols: u64, es: &ElementSize) -> Matrix {
        let bits = es.bits as u64;
        let row_bytes = (cols * bits).div_ceil(8);
        let base = self.take(rows * row_bytes);
        let (block, scale_bytes) = if es.block > 0 {
            (es.block as u64, (es.scale_bits as u64).div_ceil(8))
        } else {
            (0, 0)
        };
        let scale_row_bytes = if block > 0 {
            cols.div_ceil(block) * scale_bytes
        } else {
            0
        };
        let scale_base = if block > 0 {
            self.take(rows * scale_row_bytes)
        } else {
            base
        };
        Matrix {
            base,
            scale_base,
            rows,
            cols,
            row_bytes,
            scale_row_bytes,
            bits,
            block,
            scale_bytes,
        }
    }

    /// Places a vector of `n` f32 values (a 1×n matrix).
    pub fn f32_vector(&mut self, n: u64) -> Matrix {
        self.matrix(1, n, &ElementSize::f32())
    }

    /// One past the last byte placed so far.
    pub fn end(&self) -> u64 {
        self.next
    }
}

/// Elements of `es` per 64-byte vector, rounded up to whole scale blocks
/// (f32: 16, bf16: 32, e4m3: 64, mxfp4: 128).
pub fn vector_elems(es: &ElementSize) -> u64 {
    let e = (VECTOR_BYTES * 8 / es.bits as u64).max(1);
    if es.block > 0 {
        e.div_ceil(es.block as u64) * es.block as u64
    } else {
        e
    }
}

/// Fast-memory bytes (in whole 64-byte lines) that `rows` rows of a
/// `seg` column segment (starting at a multiple of `seg`) of a matrix with
/// `cols` columns occupy, counting one extra line per contiguous run that
/// may straddle a line boundary.
pub fn footprint(es: &ElementSize, cols: u64, rows: u64, seg: u64) -> u64 {
    let part = |row_b: u64, seg_b: u64| -> u64 {
        if row_b == 0 {
            return 0;
        }
        let lines = |b: u64, aligned: bool| b.div_ceil(VECTOR_BYTES) + u64::from(!aligned);
        if seg == cols {
            // Whole rows are one contiguous run.
            lines(rows * row_b, row_b.is_multiple_of(VECTOR_BYTES))
        } else {
            // Segments start at multiples of their width, so a segment that
            // divides a line, in rows that it divides, never straddles one.
            let aligned = (row_b.is_multiple_of(VECTOR_BYTES)
                && seg_b.is_multiple_of(VECTOR_BYTES))
                || (seg_b > 0 && VECTOR_BYTES.is_multiple_of(seg_b) && row_b.is_multiple_of(seg_b));
            rows * lines(seg_b, aligned)
        }
    };
    let bits = es.bits as u64;
    let mut lines = part((cols * bits).div_ceil(8), (seg * bits).div_ceil(8));
    if es.block > 0 {
        let (blk, sb) = (es.block as u64, (es.scale_bits as u64).div_ceil(8));
        lines += part(cols.div_ceil(blk) * sb, seg.div_ceil(blk) * sb);
    }
    lines * VECTOR_BYTES
}
