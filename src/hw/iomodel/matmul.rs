//! Matrix-product I/O: C (m×n) = A (m×k) · B (k×n), row-major, all in the
//! operand format; GEMV y (m) = A (m×k) · x (k); the Hong–Kung bound.

use super::{Bound, IoCount, Regime, Tally};
use crate::hw::tiles::{ElementSize, MatmulTiles};

/// The naive i-j-p product with no fast memory: every multiply reads its
/// A and B element from slow memory (2mnk reads) and every C element is
/// written once (mn writes). An upper bound for any cache; regime
/// [`Regime::NoReuse`].
pub fn naive_matmul_count(m: u64, n: u64, k: u64, es: &ElementSize) -> IoCount {
    let mut c = Tally::new(es, Regime::NoReuse);
    c.read(2 * m * n * k);
    c.write(m * n);
    c.c
}

/// The blocked product with tiles `t`, loop order C tile (I, J), then p:
/// A is read once per column block of C (⌈n/bn⌉·mk), B once per row block
/// (⌈m/bm⌉·kn), C written once (mn, all of it fills: C is never read).
/// With bm = bn = b, bm·bn ≈ M: 2mnk/b ≈ 2mnk/√M, Hong–Kung's leading term.
/// Regime [`Regime::Fits`] when one tile covers C, else [`Regime::Restream`].
pub fn tiled_matmul_count(m: u64, n: u64, k: u64, t: MatmulTiles, es: &ElementSize) -> IoCount {
    let (tm, tn) = (m.div_ceil(t.bm.max(1)), n.div_ceil(t.bn.max(1)));
    let regime = if tm <= 1 && tn <= 1 {
        Regime::Fits
    } else {
        Regime::Restream
    };
    let mut c = Tally::new(es, regime);
    c.read(tn * m * k + tm * k * n);
    c.write(m * n);
    c.fill(m * n);
    c.c
}

/// GEMV with x split into chunks of `chunk` elements (T = ⌈k/chunk⌉): per
/// chunk, x's chunk is read once and every row of A's slice once; y is
/// updated per chunk (read back on all chunks but the first).
/// Reads = mk + k + (T − 1)·m, writes = T·m, fills = m (y's first write).
/// Regime [`Regime::Fits`] for T = 1, else [`Regime::Restream`].
pub fn gemv_count(m: u64, k: u64, chunk: u64, es: &ElementSize) -> IoCount {
    let t = k.div_ceil(chunk.max(1));
    let regime = if t <= 1 {
        Regime::Fits
    } else {
        Regime::Restream
    };
    let mut c = Tally::new(es, regime);
    c.read(m * k + k + (t - 1) * m);
    c.write(t * m);
    c.fill(m);
    c.c
}

/// The Hong–Kung lower bound for an m×k by k×n product with M words of fast
/// memory: leading term 2mnk/√M; the bound is max(2mnk/√M − 2M, mk + kn +
/// mn) (Smith et al. 2019's tight form, and the compulsory traffic).
/// Regime [`Regime::HongKung`] when the first term is larger, else
/// [`Regime::Compulsory`].
pub fn hong_kung_bound(m: u64, n: u64, k: u64, m_words: u64, es: &ElementSize) -> Bound {
    let (mf, nf, kf, mem) = (m as f64, n as f64, k as f64, m_words.max(1) as f64);
    let leading = 2.0 * mf * nf * kf / mem.sqrt();
    let tight = leading - 2.0 * mem;
    let compulsory = mf * kf + kf * nf + mf * nf;
    let words = tight.max(compulsory);
    Bound {
        words,
        bytes: words * es.bits_per_element() / 8.0,
        leading_words: leading,
        regime: if tight > compulsory {
            Regime::HongKung
        } else {
            Regime::Compulsory
        },
        compulsory: compulsory >= tight,
    }
}
