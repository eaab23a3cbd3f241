//! Tile sizes chosen so a schedule's working set (in whole 64-byte lines,
//! see [`footprint`]) fits a fast memory of `fast_bytes` bytes. The closed
//! forms in [`crate::hw::iomodel`] take the same tiles, so a simulated cache
//! of that size can be set beside them.

use super::layout::{footprint, vector_elems};
use crate::hw::tiles::{flash_tiles_paper, ElementSize, FlashTiles, MatmulTiles};

/// Largest `x` in `lo..=hi` with `ok(x)`, for `ok` true up to some point
/// and false after; `lo` when none is.
fn largest(lo: u64, hi: u64, ok: impl Fn(u64) -> bool) -> u64 {
    let (mut a, mut b) = (lo, hi.max(lo));
    if !ok(a) {
        return lo;
    }
    while a < b {
        let mid = a + (b - a).div_ceil(2);
        if ok(mid) {
            a = mid;
        } else {
            b = mid - 1;
        }
    }
    a
}

/// FlashAttention tiles for `fast_bytes`: the paper's B_c = ⌈M/4d⌉ and
/// B_r = min(B_c, d) (M = the words `fast_bytes` holds), then B_c lowered
/// (B_r following) until K_j, V_j, Q_i, O_i, ℓ_i and m_i fit in whole lines.
/// Both are at most N and at least 1.
pub fn flash_tiles(n: u64, d: u64, es: &ElementSize, fast_bytes: u64) -> FlashTiles {
    let paper = flash_tiles_paper(es.words_in(fast_bytes), d);
    let ws = |b_c: u64| {
        let b_r = b_c.min(d).min(n);
        2 * footprint(es, d, b_c, d)
            + 2 * footprint(es, d, b_r, d)
            + 2 * footprint(&ElementSize::f32(), b_r, 1, b_r)
    };
    let b_c = largest(1, paper.b_c.min(n), |b| ws(b) <= fast_bytes);
    FlashTiles {
        b_c,
        b_r: b_c.min(d).min(n),
    }
}

/// Blocked-product tiles for `fast_bytes`: bk = one 64-byte vector of
/// elements (at most k; halved while even a bk×bk C tile does not fit), and
/// the largest square C tile b×b (b a multiple of bk, clipped to m and n)
/// whose C, A (b×bk) and B (bk×b) tiles fit in whole lines.
pub fn matmul_tiles(m: u64, n: u64, k: u64, es: &ElementSize, fast_bytes: u64) -> MatmulTiles {
    let ws = |b: u64, bk: u64| {
        let (bm, bn) = (b.min(m), b.min(n));
        footprint(es, n, bm, bn) + footprint(es, k, bm, bk) + footprint(es, n, bk, bn)
    };
    // The widest reduction slice (one vector, halved while a bk×bk tile does
    // not fit), then C tiles in multiples of bk so tile rows stay aligned.
    let mut bk = vector_elems(es).min(k);
    while bk > 1 && ws(bk, bk) > fast_bytes {
        bk /= 2;
    }
    let top = m.max(n).div_ceil(bk);
    let b = largest(1, top, |u| ws(u * bk, bk) <= fast_bytes) * bk;
    MatmulTiles {
        bm: b.min(m),
        bn: b.min(n),
        bk,
    }
}

/// GEMV chunk of x for `fast_bytes`: the largest multiple of a vector of
/// elements (or all of k) such that x's chunk, one row's slice of A and one
/// vector of y fit.
pub fn gemv_chunk(m: u64, k: u64, es: &ElementSize, fast_bytes: u64) -> u64 {
    let v = vector_elems(es);
    let ws = |c: u64| footprint(es, k, 1, c) * 2 + footprint(es, m, 1, v.min(m));
    if ws(k) <= fast_bytes {
        return k;
    }
    (largest(1, k.div_ceil(v), |u| ws((u * v).min(k)) <= fast_bytes) * v).min(k)
}

/// Rows of K and V (and columns of S and P) per step of standard attention:
/// one 64-byte vector of S's elements, at most N.
pub fn standard_chunk(n: u64, es: &ElementSize) -> u64 {
    vector_elems(es).min(n)
}

/// Q rows per block of standard attention for `fast_bytes`: the largest B
/// (1..=N) such that Q_I (B×d), a chunk of K (c×d) and the S tile (B×c)
/// fit; the same sizes serve O_I, V's chunk and P's tile in the last phase.
pub fn standard_block(n: u64, d: u64, es: &ElementSize, fast_bytes: u64) -> u64 {
    let c = standard_chunk(n, es);
    let ws = |b: u64| footprint(es, d, b, d) + footprint(es, d, c, d) + footprint(es, n, b, c);
    largest(1, n, |b| ws(b) <= fast_bytes)
}
