//! Attention I/O: standard (S and P through slow memory), FlashAttention
//! (Dao et al. 2022, Algorithm 1 loop order), the Saha–Ye bounds and their
//! small-memory optimal schedule. Q, K, V, O are N×d, S and P are N×N, all
//! in the operand format; ℓ and m are N-vectors of f32.

use super::{Bound, IoCount, Regime, Tally};
use crate::hw::tiles::{ElementSize, FlashTiles};

/// Standard attention with Q processed in row blocks of `q_block` rows
/// (T = ⌈N/q_block⌉ blocks):
///
/// 1. per Q block: read Q_I once, stream all of K, write S_I (N² writes);
/// 2. per row: read S, write P = softmax(S) (N² reads, N² writes);
/// 3. per Q block: stream all of V and read P_I, write O_I (Nd writes).
///
/// Reads = Nd + 2T·Nd + 2N², writes = 2N² + Nd; for T = 1 that is the
/// textbook 4N² + 4Nd (regime [`Regime::Fits`]), otherwise K and V are
/// re-streamed once per block ([`Regime::Restream`]). Fills (S, P and O are
/// written before being read) = 2N² + Nd.
pub fn standard_attention_count(n: u64, d: u64, q_block: u64, es: &ElementSize) -> IoCount {
    let t = n.div_ceil(q_block.max(1));
    let regime = if t <= 1 {
        Regime::Fits
    } else {
        Regime::Restream
    };
    let mut c = Tally::new(es, regime);
    c.read(n * d + 2 * t * n * d + 2 * n * n);
    c.write(2 * n * n + n * d);
    c.fill(2 * n * n + n * d);
    c.c
}

/// FlashAttention with tiles `t` in Algorithm 1's loop order (outer loop
/// over the T_c = ⌈N/B_c⌉ blocks of K and V, inner loop over the blocks of
/// Q): K and V are read once (2Nd), Q once per outer step (T_c·Nd); O, ℓ
/// and m are written every outer step (T_c·(Nd + 2N)) and read back on every
/// step but the first ((T_c − 1)·(Nd + 2N)): the first step starts from
/// zero and −∞ in fast memory, so its writes are the fills (Nd + 2N).
///
/// With the paper's tiles T_c ≈ 4Nd/M, giving Θ(N²d²/M). Regime:
/// [`Regime::Fits`] when T_c = 1, else [`Regime::Restream`].
pub fn flash_attention_count(n: u64, d: u64, t: FlashTiles, es: &ElementSize) -> IoCount {
    let tc = n.div_ceil(t.b_c.max(1));
    let regime = if tc <= 1 {
        Regime::Fits
    } else {
        Regime::Restream
    };
    let mut c = Tally::new(es, regime);
    c.read(2 * n * d + tc * n * d + (tc - 1) * n * d);
    c.read_f32((tc - 1) * 2 * n);
    c.write(tc * n * d);
    c.write_f32(tc * 2 * n);
    c.fill(n * d);
    c.fill_f32(2 * n);
    c.c
}

/// The Saha–Ye lower bound with constant 1: leading term N²d²/M when
/// M ≥ d² ([`Regime::LargeMemory`]) and N²d/√M when M < d²
/// ([`Regime::SmallMemory`]); the two equal N² at M = d². The bound is the
/// maximum of the leading term and the compulsory 4Nd (Q, K, V read, O
/// written). Bytes = words × bits per element / 8.
pub fn saha_ye_bound(n: u64, d: u64, m_words: u64, es: &ElementSize) -> Bound {
    let (nf, df, mf) = (n as f64, d as f64, m_words.max(1) as f64);
    let (leading, regime) = if m_words >= d * d {
        (nf * nf * df * df / mf, Regime::LargeMemory)
    } else {
        (nf * nf * df / mf.sqrt(), Regime::SmallMemory)
    };
    let compulsory = 4.0 * nf * df;
    let words = leading.max(compulsory);
    Bound {
        words,
        bytes: words * es.bits_per_element() / 8.0,
        leading_words: leading,
        regime,
        compulsory: compulsory >= leading,
    }
}

/// The Saha–Ye optimal schedule for M < d²: square b×b tiles of Q, K, V and
/// O with b = max(1, ⌊√(M/3)⌋) (three b×b tiles fit). For each pair of a Q
/// block i and a K/V block j (T = ⌈N/b⌉ blocks each way): S_ij = Q_i·K_jᵀ
/// as a matrix product over d in chunks of b (reads Q_i and K_j: 2·b·d),
/// then O_i += P_ij·V_j over the columns of O in chunks of b (reads V_j and
/// O_i, writes O_i), with ℓ_i and m_i read and written beside O_i.
///
/// Reads = 3T·Nd + (T − 1)·(Nd + 2N), writes = T·(Nd + 2N), fills = Nd + 2N:
/// Θ(N²d/√M). Regime from M against d².
pub fn saha_ye_small_memory(n: u64, d: u64, m_words: u64, es: &ElementSize) -> IoCount {
    let b = ((m_words / 3) as f64).sqrt().floor().max(1.0) as u64;
    let t = n.div_ceil(b);
    let regime = if m_words >= d * d {
        Regime::LargeMemory
    } else {
        Regime::SmallMemory
    };
    let mut c = Tally::new(es, regime);
    c.read(3 * t * n * d + (t - 1) * n * d);
    c.read_f32((t - 1) * 2 * n);
    c.write(t * n * d);
    c.write_f32(t * 2 * n);
    c.fill(n * d);
    c.fill_f32(2 * n);
    c.c
}
