//! The AVX-512 BF16 kernel of `attention/flash-dpbf16`: Q·Kᵀ and P·V on
//! `vdpbf16ps`, the tiled online softmax of `attention::flash_dpbf16` (whose
//! module doc fixes every rounding) with the same bits.
//!
//! Layout, packed once per head (oneDNN's and XNNPACK's for `vdpbf16ps`):
//! - **K**: blocks of 16 keys; per channel pair `u`, 16 lanes of
//!   `k[2u] | k[2u+1] << 16` (keys past `nk` and the pad channel of an odd
//!   `d` are +0). A score lane is one key, so each lane runs exactly the
//!   emulation's `dpbf16::dot`: from +0, channel pairs in order.
//! - **V**: per key pair `w`, every channel's `v[2w] | v[2w+1] << 16`
//!   (channels padded to 16 with +0, a missing odd key +0). A P·V lane is
//!   one channel; each instruction adds one key pair, pairs in key order.
//! - **Q** and **P** are broadcast one pair (32 bits) at a time.
//!
//! Blocking: 4 query rows of a head walk the 64-key tiles together. Scores:
//! 4 rows × 4 key blocks = 16 accumulators per channel-pair step. P·V: 4
//! rows × up to 4 channel vectors, key pairs inner. Pairs that not every row
//! of the block sees (the causal diagonal, a ragged last tile) run per row;
//! a row's last pair with only its even key visible has its V operand's odd
//! halves cleared, so the pad step is `+0 · +0` exactly as in the emulation
//! (never `+0 · v` of a masked key). The softmax (max, sums) is scalar in
//! key order; `exp` runs sixteen lanes at a time through the shared
//! `exp_f32`'s AVX-512 form; p → bf16 is RNE on the bit pattern (NaN kept NaN).

use super::Dims;
use crate::arith::exp::avx512::exp_shifted;
use crate::arith::exp::exp_f32;
use half::bf16;
use rayon::prelude::*;
use std::arch::x86_64::*;

/// Keys per tile (the emulation's `B_C`).
pub const TILE: usize = 64;
/// Query rows walked together.
const R: usize = 4;
/// Lanes (keys of a K block, channels of a V vector).
const L: usize = 16;

/// K and V of one head, packed (module doc).
struct Packed {
    /// `[key block][channel pair][16]`.
    k: Vec<u32>,
    /// `[key pair][channels padded to 16]`.
    v: Vec<u32>,
    /// Channel pairs.
    dp: usize,
    /// Channels padded to a multiple of 16.
    dv: usize,
}

fn pair(lo: u16, hi: u16) -> u32 {
    lo as u32 | (hi as u32) << 16
}

fn pack(k: &[u16], v: &[u16], nk: usize, d: usize) -> Packed {
    let dp = d.div_ceil(2);
    let dv = d.div_ceil(L) * L;
    let at = |x: &[u16], j: usize, c: usize| {
        if j < nk && c < d {
            x[j * d + c]
        } else {
            0
        }
    };
    let nb = nk.div_ceil(L);
    let mut kp = vec![0u32; nb * dp * L];
    for b in 0..nb {
        for u in 0..dp {
            for l in 0..L {
                let j = b * L + l;
                kp[(b * dp + u) * L + l] = pair(at(k, j, 2 * u), at(k, j, 2 * u + 1));
            }
        }
    }
    let npairs = nk.div_ceil(2);
    let mut vp = vec![0u32; npairs * dv];
    for w in 0..npairs {
        for c in 0..dv {
            vp[w * dv + c] = pair(at(v, 2 * w, c), at(v, 2 * w + 1, c));
        }
    }
    Packed {
        k: kp,
        v: vp,
        dp,
        dv,
    }
}

/// Runs the kernel (the caller has checked AVX-512F and AVX-512 BF16).
/// Codes are `heads × n × d` bf16 codes; the output is `heads × nq × d`.
pub fn run(q: &[u16], k: &[u16], v: &[u16], dims: Dims) -> Vec<f64> {
    let Dims {
        heads, nq, nk, d, ..
    } = dims;
    let mut out = vec![0.0f64; heads * nq * d];
    if nq == 0 || d == 0 {
        return out;
    }
    // The variants' 1/√d: the f32 rounding of the f64 value.
    let sc = (1.0 / (d as f64).sqrt()) as f32;
    out.par_chunks_mut(nq * d).enumerate().for_each(|(h, oh)| {
        let p = pack(
            &k[h * nk * d..][..nk * d],
            &v[h * nk * d..][..nk * d],
            nk,
            d,
        );
        let qh = &q[h * nq * d..][..nq * d];
        oh.par_chunks_mut(R * d).enumerate().for_each(|(bi, ob)| {
            let i0 = bi * R;
            let nr = ob.len() / d;
            // SAFETY: the caller checked the features.
            unsafe { block(qh, &p, dims, sc, i0, nr, ob) };
        });
    });
    out
}

/// One row's online-softmax state; `acc` padded to `dv` channels.
struct State {
    m: f32,
    l: f32,
    acc: Vec<f32>,
}

/// Rows `i0 .. i0 + nr` (nr ≤ 4) of one head.
#[allow(clippy::needless_range_loop)] // r indexes the rows' parallel arrays
#[target_feature(enable = "avx512f,avx512bf16,avx2")]
unsafe fn block(q: &[u16], p: &Packed, dims: Dims, sc: f32, i0: usize, nr: usize, o: &mut [f64]) {
    let Dims { nk, d, .. } = dims;
    let (dp, dv) = (p.dp, p.dv);
    // Q pairs per row, padded to 4 rows (unused rows: +0, their results dropped).
    let mut qp = vec![0u32; R * dp];
    for r in 0..nr {
        let qr = &q[(i0 + r) * d..][..d];
        for u in 0..dp {
            qp[r * dp + u] = pair(qr[2 * u], if 2 * u + 1 < d { qr[2 * u + 1] } else { 0 });
        }
    }
    let vis: [usize; R] = std::array::from_fn(|r| if r < nr { dims.visible(i0 + r) } else { 0 });
    let top = vis.iter().copied().max().unwrap_or(0);
    let mut st: Vec<State> = (0..nr)
        .map(|_| State {
            m: f32::NEG_INFINITY,
            l: 0.0,
            acc: vec![0.0; dv],
        })
        .collect();
    let mut s = [[0.0f32; TILE]; R];
    // P codes per row: TILE + 16 so a 16-lane store at any block fits.
    let mut pc = [[0u16; TILE + L]; R];
    let mut t0 = 0;
    while t0 < top {
        let t1 = (t0 + TILE).min(nk);
        let cnt: [usize; R] = std::array::from_fn(|r| vis[r].min(t1).saturating_sub(t0));
        let kb0 = t0 / L;
        let kbn = (cnt.iter().copied().max().unwrap_or(0)).div_ceil(L);
        scores(&qp, p, kb0, kbn, nr, sc, &mut s);
        // Softmax per row; `live[r]`: the row runs P·V on this tile.
        let mut live = [false; R];
        let mut alpha = [0.0f32; R];
        let mut m_new = [0.0f32; R];
        for r in 0..nr {
            let c = cnt[r];
            if c == 0 {
                continue;
            }
            let sr = &mut s[r][..c];
            m_new[r] = st[r].m.max(max_ordered(sr));
            if m_new[r] == f32::NEG_INFINITY {
                continue;
            }
            alpha[r] = exp_f32(st[r].m - m_new[r]);
            exp_shifted(sr, m_new[r]);
            live[r] = true;
        }
        // The rows' sums in key order, interleaved (independent chains).
        let mut sum = [0.0f32; R];
        let jn = cnt.iter().copied().max().unwrap_or(0);
        for j in 0..jn {
            for r in 0..R {
                if live[r] && j < cnt[r] {
                    sum[r] += s[r][j];
                }
            }
        }
        for r in 0..nr {
            if !live[r] {
                continue;
            }
            let stt = &mut st[r];
            stt.l = stt.l * alpha[r] + sum[r];
            scale(&mut stt.acc, alpha[r]);
            to_bf16(&s[r][..cnt[r]], &mut pc[r]);
            stt.m = m_new[r];
        }
        // P·V: pairs every row of a full block sees, blocked; the rest per row.
        let w0 = t0 / 2;
        let common = if nr == R && live.iter().all(|&x| x) {
            cnt.iter().map(|c| c / 2).min().unwrap_or(0)
        } else {
            0
        };
        if common > 0 {
            let mut accs: [&mut [f32]; R] = {
                let mut it = st.iter_mut();
                std::array::from_fn(|_| it.next().expect("4 rows").acc.as_mut_slice())
            };
            pv_rows(&mut accs, &pc, p, w0, 0, common);
        }
        for r in 0..nr {
            if !live[r] {
                continue;
            }
            let c = cnt[r];
            let full = c / 2;
            let a = st[r].acc.as_mut_slice();
            if full > common {
                let mut one: [&mut [f32]; 1] = [a];
                pv_one(&mut one, &pc[r], p, w0, common, full);
                let [a] = one;
                if c % 2 == 1 {
                    pv_tail(a, &pc[r], p, w0, full);
                }
            } else if c % 2 == 1 {
                pv_tail(a, &pc[r], p, w0, full);
            }
        }
        t0 = t1;
    }
    for (r, stt) in st.iter().enumerate() {
        for (c, oc) in o[r * d..(r + 1) * d].iter_mut().enumerate() {
            *oc = bf16::from_f32(stt.acc[c] / stt.l).to_f32() as f64;
        }
    }
}

/// Scores of key blocks `kb0 .. kb0 + kbn` (≤ 4) for the 4 rows, scaled,
/// into `s[r][(b − kb0)·16 + l]`.
#[inline]
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn scores(
    qp: &[u32],
    p: &Packed,
    kb0: usize,
    kbn: usize,
    nr: usize,
    sc: f32,
    s: &mut [[f32; TILE]; R],
) {
    match (nr == 1, kbn) {
        (_, 0) => {}
        (true, 4) => scores_t::<1, 4>(qp, p, kb0, sc, s),
        (true, n) => {
            for b in 0..n {
                scores_at::<1>(qp, p, kb0 + b, b, sc, s)
            }
        }
        (false, 4) => scores_t::<4, 4>(qp, p, kb0, sc, s),
        (false, n) => {
            for b in 0..n {
                scores_at::<4>(qp, p, kb0 + b, b, sc, s)
            }
        }
    }
}

#[inline(always)]
unsafe fn bh(x: __m512i) -> __m512bh {
    // SAFETY: `__m512bh` is 32 bf16 codes in 512 bits.
    unsafe { std::mem::transmute::<__m512i, __m512bh>(x) }
}

/// `RR` rows × `NB` key blocks from block `kb0`: one accumulator each.
#[allow(clippy::needless_range_loop)] // r, b index register arrays
#[inline(always)]
unsafe fn scores_t<const RR: usize, const NB: usize>(
    qp: &[u32],
    p: &Packed,
    kb0: usize,
    sc: f32,
    s: &mut [[f32; TILE]; R],
) {
    let dp = p.dp;
    assert!(qp.len() >= RR * dp && p.k.len() >= (kb0 + NB) * dp * L);
    let mut acc = [[_mm512_setzero_ps(); NB]; RR];
    let kp = p.k.as_ptr().add(kb0 * dp * L);
    let qptr = qp.as_ptr();
    for u in 0..dp {
        let kv: [__m512bh; NB] =
            std::array::from_fn(|b| bh(_mm512_loadu_si512(kp.add((b * dp + u) * L).cast())));
        for r in 0..RR {
            let x = bh(_mm512_set1_epi32(*qptr.add(r * dp + u) as i32));
            for b in 0..NB {
                acc[r][b] = _mm512_dpbf16_ps(acc[r][b], x, kv[b]);
            }
        }
    }
    let scv = _mm512_set1_ps(sc);
    for r in 0..RR {
        for b in 0..NB {
            _mm512_storeu_ps(s[r].as_mut_ptr().add(b * L), _mm512_mul_ps(acc[r][b], scv));
        }
    }
}

/// `RR` rows × one key block `kb`, stored at block slot `slot`.
#[inline(always)]
unsafe fn scores_at<const RR: usize>(
    qp: &[u32],
    p: &Packed,
    kb: usize,
    slot: usize,
    sc: f32,
    s: &mut [[f32; TILE]; R],
) {
    let dp = p.dp;
    assert!(qp.len() >= RR * dp && p.k.len() >= (kb + 1) * dp * L && slot < TILE / L);
    let mut acc = [_mm512_setzero_ps(); RR];
    let kp = p.k.as_ptr().add(kb * dp * L);
    for u in 0..dp {
        let kv = bh(_mm512_loadu_si512(kp.add(u * L).cast()));
        for (r, a) in acc.iter_mut().enumerate() {
            let x = bh(_mm512_set1_epi32(qp[r * dp + u] as i32));
            *a = _mm512_dpbf16_ps(*a, x, kv);
        }
    }
    let scv = _mm512_set1_ps(sc);
    for (r, a) in acc.iter().enumerate() {
        _mm512_storeu_ps(s[r].as_mut_ptr().add(slot * L), _mm512_mul_ps(*a, scv));
    }
}

/// The largest non-NaN value of `x` (−∞ if none): the emulation's
/// `fold(−∞, f32::max)`, which skips NaN. The sign of a zero maximum may
/// differ from the fold's, which changes no bit downstream: `s − m` and
/// `m − m'` only feed `exp`, and `exp(±0) = 1`, `x − (±0) = x` for `x ≠ 0`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn max_ordered(x: &[f32]) -> f32 {
    let ninf = _mm512_set1_ps(f32::NEG_INFINITY);
    let mut m = ninf;
    for ch in x.chunks(L) {
        let k: __mmask16 = if ch.len() == L {
            0xffff
        } else {
            (1u16 << ch.len()) - 1
        };
        let v = _mm512_mask_loadu_ps(ninf, k, ch.as_ptr());
        let ord = _mm512_cmp_ps_mask::<_CMP_ORD_Q>(v, v);
        m = _mm512_mask_max_ps(m, ord, m, v);
    }
    _mm512_reduce_max_ps(m)
}

/// `acc *= a` over all (padded) channels.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn scale(acc: &mut [f32], a: f32) {
    let av = _mm512_set1_ps(a);
    for ch in acc.chunks_exact_mut(L) {
        let x = _mm512_loadu_ps(ch.as_ptr());
        _mm512_storeu_ps(ch.as_mut_ptr(), _mm512_mul_ps(x, av));
    }
}

/// `p` (exp values) to bf16 codes, RNE on the bit pattern as `half` rounds
/// (NaN: the high half with the quiet bit set); codes past `p.len()` +0.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn to_bf16(p: &[f32], out: &mut [u16; TILE + L]) {
    let n = p.len();
    let mut j = 0;
    while j < n {
        let m: __mmask16 = if n - j >= L {
            0xffff
        } else {
            (1u16 << (n - j)) - 1
        };
        let b = _mm512_maskz_loadu_epi32(m, p.as_ptr().add(j).cast());
        let lsb = _mm512_and_si512(_mm512_srli_epi32::<16>(b), _mm512_set1_epi32(1));
        let rounded = _mm512_srli_epi32::<16>(_mm512_add_epi32(
            b,
            _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)),
        ));
        let mag = _mm512_and_si512(b, _mm512_set1_epi32(0x7fff_ffff));
        let nan = _mm512_cmpgt_epi32_mask(mag, _mm512_set1_epi32(0x7f80_0000));
        let quiet = _mm512_or_si512(_mm512_srli_epi32::<16>(b), _mm512_set1_epi32(0x40));
        let c = _mm512_mask_mov_epi32(rounded, nan, quiet);
        // Lanes past n loaded +0, which rounds to code 0.
        _mm256_storeu_si256(out.as_mut_ptr().add(j).cast(), _mm512_cvtepi32_epi16(c));
        j += L;
    }
    for x in out[n..].iter_mut() {
        *x = 0;
    }
}

/// Key pairs `w0 + wa .. w0 + wb` (all seen by every row) into 4 rows'
/// accumulators, channel vectors in chunks of up to 4.
#[inline]
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn pv_rows(
    accs: &mut [&mut [f32]; R],
    pc: &[[u16; TILE + L]; R],
    p: &Packed,
    w0: usize,
    wa: usize,
    wb: usize,
) {
    let pcs: [&[u16; TILE + L]; R] = std::array::from_fn(|r| &pc[r]);
    pv_chunks::<R>(accs, pcs, p, w0, wa, wb)
}

/// The same for one row.
#[inline]
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn pv_one(
    acc: &mut [&mut [f32]; 1],
    pc: &[u16; TILE + L],
    p: &Packed,
    w0: usize,
    wa: usize,
    wb: usize,
) {
    pv_chunks::<1>(acc, [pc], p, w0, wa, wb)
}

#[inline(always)]
unsafe fn pv_chunks<const RR: usize>(
    accs: &mut [&mut [f32]; RR],
    pc: [&[u16; TILE + L]; RR],
    p: &Packed,
    w0: usize,
    wa: usize,
    wb: usize,
) {
    let nv = p.dv / L;
    let mut cv = 0;
    while cv < nv {
        match nv - cv {
            1 => pv_t::<RR, 1>(accs, pc, p, w0, wa, wb, cv),
            2 => pv_t::<RR, 2>(accs, pc, p, w0, wa, wb, cv),
            3 => pv_t::<RR, 3>(accs, pc, p, w0, wa, wb, cv),
            _ => pv_t::<RR, 4>(accs, pc, p, w0, wa, wb, cv),
        }
        cv += 4;
    }
}

/// `RR` rows × `CH` channel vectors from vector `cv`, key pairs `wa..wb` of
/// the tile starting at pair `w0`.
#[allow(clippy::needless_range_loop)] // r, c index register arrays
#[inline(always)]
unsafe fn pv_t<const RR: usize, const CH: usize>(
    accs: &mut [&mut [f32]; RR],
    pc: [&[u16; TILE + L]; RR],
    p: &Packed,
    w0: usize,
    wa: usize,
    wb: usize,
    cv: usize,
) {
    let dv = p.dv;
    assert!(wb <= TILE / 2 && p.v.len() >= (w0 + wb) * dv && (cv + CH) * L <= dv);
    assert!(accs.iter().all(|a| a.len() >= dv));
    let mut acc: [[__m512; CH]; RR] = std::array::from_fn(|r| {
        std::array::from_fn(|c| _mm512_loadu_ps(accs[r].as_ptr().add((cv + c) * L)))
    });
    let vptr = p.v.as_ptr().add(cv * L);
    for w in wa..wb {
        let vrow = vptr.add((w0 + w) * dv);
        let vv: [__m512bh; CH] =
            std::array::from_fn(|c| bh(_mm512_loadu_si512(vrow.add(c * L).cast())));
        for r in 0..RR {
            let pp = (pc[r].as_ptr() as *const u32).add(w).read_unaligned();
            let x = bh(_mm512_set1_epi32(pp as i32));
            for c in 0..CH {
                acc[r][c] = _mm512_dpbf16_ps(acc[r][c], x, vv[c]);
            }
        }
    }
    for r in 0..RR {
        for c in 0..CH {
            _mm512_storeu_ps(accs[r].as_mut_ptr().add((cv + c) * L), acc[r][c]);
        }
    }
}

/// A row's last pair `w` of the tile with only its even key visible: V's odd
/// halves cleared, P's odd half is already +0 (the emulation's pad).
#[inline]
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn pv_tail(acc: &mut [f32], pc: &[u16; TILE + L], p: &Packed, w0: usize, w: usize) {
    let dv = p.dv;
    assert!(w < TILE / 2 && p.v.len() >= (w0 + w + 1) * dv && acc.len() >= dv);
    let x = bh(_mm512_set1_epi32(pc[2 * w] as i32));
    let even = _mm512_set1_epi32(0xffff);
    let vrow = p.v.as_ptr().add((w0 + w) * dv);
    for c in (0..dv).step_by(L) {
        let vv = bh(_mm512_and_si512(
            _mm512_loadu_si512(vrow.add(c).cast()),
            even,
        ));
        let a = _mm512_loadu_ps(acc.as_ptr().add(c));
        _mm512_storeu_ps(acc.as_mut_ptr().add(c), _mm512_dpbf16_ps(a, x, vv));
    }
}
