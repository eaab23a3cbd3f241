//! Attention address generators. Q, K, V, O (N×d) and, for standard
//! attention, S and P (N×N) are in the operand format; FlashAttention's ℓ
//! and m are f32 vectors. Arrays are placed in that order (Q, K, V, O, then
//! S, P or ℓ, m). The score tile of FlashAttention (B_r×B_c) is held in
//! registers and not emitted.

use super::layout::Arena;
use super::schedule::{Dim, Schedule};
use super::tile_choice::{flash_tiles, standard_block, standard_chunk};
use super::TraceParams;
use crate::hw::iomodel::{
    flash_attention_count, saha_ye_bound, standard_attention_count, ClosedForm,
};
use crate::hw::tiles::{ElementSize, FlashTiles};
use crate::hw::trace::{AccessKind, AccessSink};

use AccessKind::{Read, Write};

/// Standard attention with Q in blocks of `q_block` rows and K, V, S's and
/// P's columns in chunks of one vector ([`standard_chunk`]):
///
/// 1. per Q block I, per K chunk J: read K_J, read Q_I, write S(I, J);
/// 2. per row i: read S(i, :), write P(i, :);
/// 3. per Q block I, per V chunk J: read V_J, read P(I, J), update O_I
///    (write on the first chunk, read and write after).
pub fn standard_attention_trace<S: AccessSink>(
    n: u64,
    d: u64,
    q_block: u64,
    es: &ElementSize,
    sink: &mut S,
) {
    let mut arena = Arena::new();
    let (q, k, v, o) = (
        arena.matrix(n, d, es),
        arena.matrix(n, d, es),
        arena.matrix(n, d, es),
        arena.matrix(n, d, es),
    );
    let (s, p) = (arena.matrix(n, n, es), arena.matrix(n, n, es));
    let (b, c) = (q_block.max(1), standard_chunk(n, es).max(1));
    for i0 in (0..n).step_by(b as usize) {
        let i1 = (i0 + b).min(n);
        for j0 in (0..n).step_by(c as usize) {
            let j1 = (j0 + c).min(n);
            k.emit_rows(j0, j1, 0, d, Read, sink);
            q.emit_rows(i0, i1, 0, d, Read, sink);
            s.emit_rows(i0, i1, j0, j1, Write, sink);
        }
    }
    for i in 0..n {
        s.emit(i, 0, n, Read, sink);
        p.emit(i, 0, n, Write, sink);
    }
    for i0 in (0..n).step_by(b as usize) {
        let i1 = (i0 + b).min(n);
        for j0 in (0..n).step_by(c as usize) {
            let j1 = (j0 + c).min(n);
            v.emit_rows(j0, j1, 0, d, Read, sink);
            p.emit_rows(i0, i1, j0, j1, Read, sink);
            if j0 > 0 {
                o.emit_rows(i0, i1, 0, d, Read, sink);
            }
            o.emit_rows(i0, i1, 0, d, Write, sink);
        }
    }
}

/// FlashAttention in Algorithm 1's loop order with tiles `t`: for each K/V
/// block j, for each Q block i: read K_j and V_j (the first i loads them,
/// later ones hit in fast memory); read Q_i; on every j but the first read
/// O_i, ℓ_i, m_i; write O_i, ℓ_i, m_i.
///
/// K_j and V_j come first so that between two uses of them only one Q/O
/// block is touched: an LRU cache then keeps them exactly when K_j, V_j,
/// Q_i, O_i, ℓ_i and m_i fit together, the schedule's own condition.
pub fn flash_attention_trace<S: AccessSink>(
    n: u64,
    d: u64,
    t: FlashTiles,
    es: &ElementSize,
    sink: &mut S,
) {
    let mut arena = Arena::new();
    let (q, k, v, o) = (
        arena.matrix(n, d, es),
        arena.matrix(n, d, es),
        arena.matrix(n, d, es),
        arena.matrix(n, d, es),
    );
    let (l, m) = (arena.f32_vector(n), arena.f32_vector(n));
    let (bc, br) = (t.b_c.max(1), t.b_r.max(1));
    for j0 in (0..n).step_by(bc as usize) {
        let j1 = (j0 + bc).min(n);
        for i0 in (0..n).step_by(br as usize) {
            let i1 = (i0 + br).min(n);
            k.emit_rows(j0, j1, 0, d, Read, sink);
            v.emit_rows(j0, j1, 0, d, Read, sink);
            q.emit_rows(i0, i1, 0, d, Read, sink);
            if j0 > 0 {
                o.emit_rows(i0, i1, 0, d, Read, sink);
                l.emit(0, i0, i1, Read, sink);
                m.emit(0, i0, i1, Read, sink);
            }
            o.emit_rows(i0, i1, 0, d, Write, sink);
            l.emit(0, i0, i1, Write, sink);
            m.emit(0, i0, i1, Write, sink);
        }
    }
}

/// The sizes of an attention: (N, d).
fn nd(p: &TraceParams) -> (u64, u64) {
    (p.n as u64, p.d as u64)
}

/// The sizes of every attention generator, N being the sequence length.
const ATTENTION_DIMS: &[(Dim, &str)] = &[(Dim::N, "N"), (Dim::D, "d")];

/// N²·d: the loop nest of one attention.
fn attention_work(p: &TraceParams) -> f64 {
    p.n as f64 * p.n as f64 * p.d as f64
}

/// `attention/standard`: [`standard_attention_trace`] with [`standard_block`].
pub(crate) struct Standard;

impl Schedule for Standard {
    const NAME: &'static str = "attention/standard";
    const DIMS: &'static [(Dim, &'static str)] = ATTENTION_DIMS;
    fn work(p: &TraceParams) -> f64 {
        attention_work(p)
    }
    fn trace<S: AccessSink>(p: &TraceParams, fast_bytes: u64, sink: &mut S) {
        let ((n, d), es) = (nd(p), &p.format);
        standard_attention_trace(n, d, standard_block(n, d, es, fast_bytes), es, sink);
    }
    fn closed_form(p: &TraceParams, fast_bytes: u64) -> ClosedForm {
        let ((n, d), es) = (nd(p), &p.format);
        let m_words = es.words_in(fast_bytes);
        let b = standard_block(n, d, es, fast_bytes);
        ClosedForm {
            m_words,
            tiles: format!("Bq={b} c={}", standard_chunk(n, es)),
            count: standard_attention_count(n, d, b, es),
            bound: saha_ye_bound(n, d, m_words, es),
        }
    }
}

/// `attention/flash`: [`flash_attention_trace`] with [`flash_tiles`].
pub(crate) struct Flash;

impl Schedule for Flash {
    const NAME: &'static str = "attention/flash";
    const DIMS: &'static [(Dim, &'static str)] = ATTENTION_DIMS;
    fn work(p: &TraceParams) -> f64 {
        attention_work(p)
    }
    fn trace<S: AccessSink>(p: &TraceParams, fast_bytes: u64, sink: &mut S) {
        let ((n, d), es) = (nd(p), &p.format);
        flash_attention_trace(n, d, flash_tiles(n, d, es, fast_bytes), es, sink);
    }
    fn closed_form(p: &TraceParams, fast_bytes: u64) -> ClosedForm {
        let ((n, d), es) = (nd(p), &p.format);
        let m_words = es.words_in(fast_bytes);
        let t = flash_tiles(n, d, es, fast_bytes);
        ClosedForm {
            m_words,
            tiles: format!("Bc={} Br={}", t.b_c, t.b_r),
            count: flash_attention_count(n, d, t, es),
            bound: saha_ye_bound(n, d, m_words, es),
        }
    }
}
