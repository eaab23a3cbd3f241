//! Matrix-product address generators: C (m×n) = A (m×k) · B (k×n) and
//! y (m) = A (m×k) · x (k), row-major, in the order [`Arena`] places them
//! (A, B, C; or A, x, y).

use super::layout::{vector_elems, Arena};
use crate::hw::iomodel::{ElementSize, MatmulTiles};
use crate::hw::trace::{AccessKind, AccessSink};

use AccessKind::{Read, Write};

/// The naive i-j-p loop: for each C element, read A's row i (vectors),
/// B's column j (one access per element, the column being strided), write
/// C(i, j) (one access).
pub fn naive_matmul<S: AccessSink>(m: u64, n: u64, k: u64, es: &ElementSize, sink: &mut S) {
    let mut arena = Arena::new();
    let (a, b, c) = (
        arena.matrix(m, k, es),
        arena.matrix(k, n, es),
        arena.matrix(m, n, es),
    );
    for i in 0..m {
        for j in 0..n {
            a.emit(i, 0, k, Read, sink);
            for p in 0..k {
                b.emit(p, j, j + 1, Read, sink);
            }
            c.emit(i, j, j + 1, Write, sink);
        }
    }
}

/// The blocked product: for each C tile (I, J) (row-major tile order), for
/// each reduction slice P of `bk`: read A(I, P) and B(P, J) row by row, then
/// update C(I, J) (write on the first slice, read and write after). The C
/// tile's accesses keep it in a cache as the schedule keeps it in fast memory.
pub fn tiled_matmul<S: AccessSink>(
    m: u64,
    n: u64,
    k: u64,
    t: MatmulTiles,
    es: &ElementSize,
    sink: &mut S,
) {
    let mut arena = Arena::new();
    let (a, b, c) = (
        arena.matrix(m, k, es),
        arena.matrix(k, n, es),
        arena.matrix(m, n, es),
    );
    let (bm, bn, bk) = (t.bm.max(1), t.bn.max(1), t.bk.max(1));
    for i0 in (0..m).step_by(bm as usize) {
        let i1 = (i0 + bm).min(m);
        for j0 in (0..n).step_by(bn as usize) {
            let j1 = (j0 + bn).min(n);
            for p0 in (0..k).step_by(bk as usize) {
                let p1 = (p0 + bk).min(k);
                a.emit_rows(i0, i1, p0, p1, Read, sink);
                b.emit_rows(p0, p1, j0, j1, Read, sink);
                if p0 > 0 {
                    c.emit_rows(i0, i1, j0, j1, Read, sink);
                }
                c.emit_rows(i0, i1, j0, j1, Write, sink);
            }
        }
    }
}

/// GEMV with x in chunks of `chunk` elements: per chunk, per group of rows
/// that fills one vector of y: for each row, read A's slice and x's chunk;
/// then update y's vector (write on the first chunk, read and write after).
pub fn gemv<S: AccessSink>(m: u64, k: u64, chunk: u64, es: &ElementSize, sink: &mut S) {
    let mut arena = Arena::new();
    let (a, x, y) = (
        arena.matrix(m, k, es),
        arena.matrix(1, k, es),
        arena.matrix(1, m, es),
    );
    let g = vector_elems(es);
    for c0 in (0..k).step_by(chunk.max(1) as usize) {
        let c1 = (c0 + chunk.max(1)).min(k);
        for g0 in (0..m).step_by(g as usize) {
            let g1 = (g0 + g).min(m);
            for i in g0..g1 {
                a.emit(i, c0, c1, Read, sink);
                x.emit(0, c0, c1, Read, sink);
            }
            if c0 > 0 {
                y.emit(0, g0, g1, Read, sink);
            }
            y.emit(0, g0, g1, Write, sink);
        }
    }
}
