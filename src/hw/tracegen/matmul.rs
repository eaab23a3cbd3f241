//! Matrix-product address generators: C (m×n) = A (m×k) · B (k×n) and
//! y (m) = A (m×k) · x (k), row-major, in the order [`Arena`] places them
//! (A, B, C; or A, x, y).

use super::layout::{vector_elems, Arena};
use super::schedule::{Dim, Schedule};
use super::tile_choice::{gemv_chunk, matmul_tiles};
use super::TraceParams;
use crate::hw::iomodel::{
    gemv_count, hong_kung_bound, naive_matmul_count, tiled_matmul_count, ClosedForm,
};
use crate::hw::tiles::{ElementSize, MatmulTiles};
use crate::hw::trace::{AccessKind, AccessSink};

use AccessKind::{Read, Write};

/// The naive i-j-p loop: for each C element, read A's row i (vectors),
/// B's column j (one access per element, the column being strided), write
/// C(i, j) (one access).
pub fn naive_matmul_trace<S: AccessSink>(m: u64, n: u64, k: u64, es: &ElementSize, sink: &mut S) {
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
pub fn tiled_matmul_trace<S: AccessSink>(
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
pub fn gemv_trace<S: AccessSink>(m: u64, k: u64, chunk: u64, es: &ElementSize, sink: &mut S) {
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

/// The sizes of a matmul: (m, n, k).
fn mnk(p: &TraceParams) -> (u64, u64, u64) {
    (p.m as u64, p.n as u64, p.k as u64)
}

/// `matmul/naive`: [`naive_matmul_trace`], no tiles.
pub(crate) struct Naive;

impl Schedule for Naive {
    const NAME: &'static str = "matmul/naive";
    const DIMS: &'static [(Dim, &'static str)] = &[(Dim::M, "m"), (Dim::N, "n"), (Dim::K, "k")];
    fn trace<S: AccessSink>(p: &TraceParams, _fast_bytes: u64, sink: &mut S) {
        let (m, n, k) = mnk(p);
        naive_matmul_trace(m, n, k, &p.format, sink);
    }
    fn closed_form(p: &TraceParams, fast_bytes: u64) -> ClosedForm {
        let ((m, n, k), es) = (mnk(p), &p.format);
        let m_words = es.words_in(fast_bytes);
        ClosedForm {
            m_words,
            tiles: "none".to_string(),
            count: naive_matmul_count(m, n, k, es),
            bound: hong_kung_bound(m, n, k, m_words, es),
        }
    }
}

/// `matmul/tiled`: [`tiled_matmul_trace`] with [`matmul_tiles`].
pub(crate) struct Tiled;

impl Schedule for Tiled {
    const NAME: &'static str = "matmul/tiled";
    const DIMS: &'static [(Dim, &'static str)] = Naive::DIMS;
    fn trace<S: AccessSink>(p: &TraceParams, fast_bytes: u64, sink: &mut S) {
        let ((m, n, k), es) = (mnk(p), &p.format);
        tiled_matmul_trace(m, n, k, matmul_tiles(m, n, k, es, fast_bytes), es, sink);
    }
    fn closed_form(p: &TraceParams, fast_bytes: u64) -> ClosedForm {
        let ((m, n, k), es) = (mnk(p), &p.format);
        let m_words = es.words_in(fast_bytes);
        let t = matmul_tiles(m, n, k, es, fast_bytes);
        ClosedForm {
            m_words,
            tiles: format!("bm={} bn={} bk={}", t.bm, t.bn, t.bk),
            count: tiled_matmul_count(m, n, k, t, es),
            bound: hong_kung_bound(m, n, k, m_words, es),
        }
    }
}

/// `matmul/gemv`: [`gemv_trace`] with [`gemv_chunk`]; n is not used.
pub(crate) struct Gemv;

impl Schedule for Gemv {
    const NAME: &'static str = "matmul/gemv";
    const DIMS: &'static [(Dim, &'static str)] = &[(Dim::M, "m"), (Dim::K, "k")];
    fn trace<S: AccessSink>(p: &TraceParams, fast_bytes: u64, sink: &mut S) {
        let ((m, _, k), es) = (mnk(p), &p.format);
        gemv_trace(m, k, gemv_chunk(m, k, es, fast_bytes), es, sink);
    }
    fn closed_form(p: &TraceParams, fast_bytes: u64) -> ClosedForm {
        let ((m, _, k), es) = (mnk(p), &p.format);
        let m_words = es.words_in(fast_bytes);
        let c = gemv_chunk(m, k, es, fast_bytes);
        ClosedForm {
            m_words,
            tiles: format!("chunk={c}"),
            count: gemv_count(m, k, c, es),
            bound: hong_kung_bound(m, 1, k, m_words, es),
        }
    }
}
