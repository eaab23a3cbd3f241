//! SubGen (Zandieh, Han, Mirrokni, Karbasi 2024, arXiv 2402.06082):
//! a sublinear-memory decode-time state — online δ-clustering of keys with a
//! uniform reservoir per cluster (the softmax denominator) and ℓ2-norm
//! sampling of (key, value) pairs (the numerator). There is no public code:
//! this follows the paper's algorithm boxes.
//!
//! # The stream (keys in token order `j = 0, 1, …`)
//!
//! - **Numerator sampler**: `μ += ‖v_j‖²`; each of the `s` slots
//!   independently takes `(k_j, v_j)` with probability `‖v_j‖²/μ` (so a slot
//!   holds token j with probability ‖v_j‖²/Σ‖v‖²: sampling with replacement).
//! - **Clusters**: the first centre (in creation order) with
//!   `‖k_j − c_i‖ ≤ δ` takes the key: `n_i += 1` and its reservoir of `t`
//!   keys is updated uniformly (append while short of t, else a uniform
//!   `r ∈ [0, n_i)` replaces slot r if r < t); no such centre: `k_j` opens a
//!   cluster (centre k_j, n = 1, reservoir {k_j}).
//!
//! # The estimate for query q (f64; scores `q·k/√d`)
//!
//! `τ = Σ_i (n_i/|R_i|)·Σ_{k∈R_i} exp(s(k) − M)`,
//! `z = (1/s)·Σ_l (μ/‖v_l‖²)·exp(s(k_l) − M)·v_l / τ`, with `M` the largest
//! score the state forms (a common factor: it cancels; the paper writes
//! plain exponentials). All values zero (μ = 0): `z = 0`.
//!
//! With δ = 0 and t ≥ N every key has its own exact reservoir, τ is the
//! exact denominator and z is unbiased (tested).
//!
//! Choices the paper leaves open, named: the first centre within δ (not the
//! nearest); δ = 2, t = 8, s = 256 as defaults (the paper states its bounds
//! in terms of them, not values); f64 arithmetic; this crate's generator.
//! Prefill shapes run the stream once per query row over its visible keys
//! (a decode step at every position).

use super::info::{AttentionInfo, Ops, Schedule, Softmax, Storage};
use super::{per_row, per_score_row, AttentionVariant, AttnShape, Qkv};
use crate::hw::cost::{Cost, OpKind};
use crate::rng::{mix64, SplitMix64};

/// A SubGen variant.
#[derive(Debug, Clone)]
pub struct SubGen {
    /// Registry name.
    pub name: &'static str,
    /// Description.
    pub description: &'static str,
    /// Cluster radius δ (in the keys' units).
    pub delta: f64,
    /// Reservoir size per cluster t.
    pub t: usize,
    /// Numerator samples s.
    pub s: usize,
    /// Seed.
    pub seed: u64,
}

/// One cluster of the stream state.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// Its centre (the key that opened it).
    pub centre: usize,
    /// Keys that joined it.
    pub count: usize,
    /// Token indices in its reservoir.
    pub reservoir: Vec<usize>,
}

/// The decode-time state after a stream of keys.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// Clusters in creation order.
    pub clusters: Vec<Cluster>,
    /// The s sampled tokens (`None` before the first non-zero value).
    pub samples: Vec<Option<usize>>,
    /// μ = Σ‖v‖².
    pub mu: f64,
}

impl State {
    /// Bytes the state holds at 4 bytes per stored number: per cluster its
    /// centre (d) and count (1) and its reservoir keys (d each); per sample
    /// its key and value (2d); μ.
    pub fn bytes(&self, d: usize) -> usize {
        let keys: usize = self.clusters.iter().map(|c| 1 + c.reservoir.len()).sum();
        4 * (keys * d + self.clusters.len() + self.samples.len() * 2 * d + 1)
    }
}

/// The bounds `(lo, hi)` around δ² that [`within`] and [`far`] decide by:
/// a sum of `d` non-negative f64 terms in any order is within `d·ε`
/// (relative) of the exact sum, and the margin covers that for two
/// orders, δ²'s rounding and `sqrt`'s.
fn bounds(delta: f64, d: usize) -> (f64, f64) {
    let d2 = delta * delta;
    let margin = (4.0 * d as f64 + 16.0) * f64::EPSILON;
    (d2 * (1.0 - margin), d2 * (1.0 + margin))
}

/// `(a − b)²` in f64, as the definition forms each term.
#[inline(always)]
fn sq(a: f32, b: f32) -> f64 {
    let x = a as f64 - b as f64;
    x * x
}

/// Whether some channels alone (`a`, `b`: those channels of two keys) put
/// the keys beyond `hi` (from [`bounds`]): their squares are part of the
/// full sum, so then `‖a − b‖ > δ` whatever the rest holds. The stream scans every centre for every key;
/// in 64 dimensions nearly all are far, and this test reads 32 bytes of
/// each instead of its whole row.
#[inline]
fn far(a: &[f32], b: &[f32], hi: f64) -> bool {
    a.iter().zip(b).map(|(&x, &y)| sq(x, y)).sum::<f64>() > hi
}

/// Whether `‖a − b‖ ≤ δ` as the definition computes it: the squared
/// differences summed in channel order in f64, then `sqrt`. A four-way sum
/// (another order, vectorisable) decides first, rejecting as soon as a
/// partial sum passes `hi` (the terms are non-negative, so the sums only
/// grow); the definition's sum runs only when the four-way one lies between
/// `lo` and `hi` (`bounds`) or is not finite.
#[inline]
pub fn within(a: &[f32], b: &[f32], delta: f64) -> bool {
    let (lo, hi) = bounds(delta, a.len());
    let mut acc = [0.0f64; 4];
    let fold = |acc: &[f64; 4]| (acc[0] + acc[1]) + (acc[2] + acc[3]);
    let (ac, bc) = (a.chunks_exact(16), b.chunks_exact(16));
    let (at, bt) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for q in 0..4 {
            for l in 0..4 {
                acc[l] += sq(x[4 * q + l], y[4 * q + l]);
            }
        }
        if fold(&acc) > hi {
            return false;
        }
    }
    let tail: f64 = at.iter().zip(bt).map(|(&x, &y)| sq(x, y)).sum();
    let fast = fold(&acc) + tail;
    if fast.is_finite() && hi.is_finite() {
        if fast > hi {
            return false;
        }
        if fast < lo {
            return true;
        }
    }
    a.iter().zip(b).map(|(&x, &y)| sq(x, y)).sum::<f64>().sqrt() <= delta
}

/// Channels of each centre kept side by side for [`far`].
const PREFIX: usize = 8;

/// The [`PREFIX`] channels whose values spread most over the first `n` keys
/// (largest variance first, ties by index): [`far`] on them rejects the most
/// centres. Any channels give a valid bound, so the choice (which looks at
/// every key, unlike the stream) changes no result, only the speed.
fn spread_channels(k: &[f32], d: usize, n: usize) -> Vec<usize> {
    let mut var: Vec<(f64, usize)> = (0..d)
        .map(|c| {
            let (mut s, mut s2) = (0.0f64, 0.0f64);
            for j in 0..n {
                let x = k[j * d + c] as f64;
                s += x;
                s2 += x * x;
            }
            let m = s / n.max(1) as f64;
            (s2 / n.max(1) as f64 - m * m, c)
        })
        .collect();
    var.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    var.into_iter().take(PREFIX).map(|(_, c)| c).collect()
}

fn unit(rng: &mut SplitMix64) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

impl SubGen {
    /// The state after keys `0..n` of one head (`k`, `v`: `n × d` or more
    /// rows), with the stream's random draws seeded by `(seed, stream)`.
    pub fn state(&self, k: &[f32], v: &[f32], d: usize, n: usize, stream: u64) -> State {
        let mut rng = SplitMix64::new(mix64(
            self.seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        ));
        let mut st = State {
            clusters: Vec::new(),
            samples: vec![None; self.s],
            mu: 0.0,
        };
        // Centres' rows side by side (keys are f32: stored as read), and
        // their widest-spread channels in a second, denser array for the scan.
        let chans = spread_channels(k, d, n);
        let p = chans.len();
        let (_, hi) = bounds(self.delta, d);
        let mut kp = vec![0.0f32; p];
        let (mut centres, mut prefix): (Vec<f32>, Vec<f32>) = (Vec::new(), Vec::new());
        for j in 0..n {
            let w: f64 = v[j * d..(j + 1) * d]
                .iter()
                .map(|&a| a as f64 * a as f64)
                .sum();
            st.mu += w;
            for slot in st.samples.iter_mut() {
                let u = unit(&mut rng);
                if w > 0.0 && u * st.mu < w {
                    *slot = Some(j);
                }
            }
            let kj = &k[j * d..(j + 1) * d];
            for (o, &c) in kp.iter_mut().zip(&chans) {
                *o = kj[c];
            }
            let near = (0..st.clusters.len()).find(|&i| {
                !far(&prefix[i * p..(i + 1) * p], &kp, hi)
                    && within(&centres[i * d..(i + 1) * d], kj, self.delta)
            });
            if near.is_none() {
                centres.extend_from_slice(kj);
                prefix.extend_from_slice(&kp);
            }
            match near {
                Some(i) => {
                    let c = &mut st.clusters[i];
                    c.count += 1;
                    if c.reservoir.len() < self.t {
                        c.reservoir.push(j);
                    } else {
                        let r = (unit(&mut rng) * c.count as f64) as usize;
                        if r < self.t {
                            c.reservoir[r] = j;
                        }
                    }
                }
                None => st.clusters.push(Cluster {
                    centre: j,
                    count: 1,
                    reservoir: vec![j],
                }),
            }
        }
        st
    }

    /// The estimate for query `q` from `st` (module docs) and its τ (in
    /// units of exp(M)) and M.
    pub fn estimate(&self, st: &State, q: &[f32], k: &[f32], v: &[f32]) -> (Vec<f64>, f64, f64) {
        let d = q.len();
        let sc = 1.0 / (d as f64).sqrt();
        let score = |j: usize| -> f64 {
            q.iter()
                .zip(&k[j * d..(j + 1) * d])
                .map(|(a, b)| *a as f64 * *b as f64)
                .sum::<f64>()
                * sc
        };
        let m = st
            .clusters
            .iter()
            .flat_map(|c| c.reservoir.iter())
            .chain(st.samples.iter().flatten())
            .map(|&j| score(j))
            .fold(f64::NEG_INFINITY, f64::max);
        let tau: f64 = st
            .clusters
            .iter()
            .map(|c| {
                let e: f64 = c.reservoir.iter().map(|&j| (score(j) - m).exp()).sum();
                c.count as f64 / c.reservoir.len() as f64 * e
            })
            .sum();
        let mut z = vec![0.0; d];
        for &j in st.samples.iter().flatten() {
            let vj = &v[j * d..(j + 1) * d];
            let w: f64 = vj.iter().map(|a| (*a as f64) * (*a as f64)).sum();
            let f = st.mu / w * (score(j) - m).exp() / (self.s as f64 * tau);
            for (o, a) in z.iter_mut().zip(vj) {
                *o += f * *a as f64;
            }
        }
        (z, tau, m)
    }

    fn stream_id(h: usize, vis: usize) -> u64 {
        ((h as u64) << 32) | vis as u64
    }
}

impl AttentionVariant for SubGen {
    /// Timed whole: its work is not the same per visible pair at every N.
    fn emulation_scales_by_rows(&self) -> bool {
        false
    }

    fn info(&self) -> AttentionInfo {
        AttentionInfo {
            name: self.name,
            description: self.description,
            qk_desc: "f64; keys in δ-clusters with reservoirs of t",
            pv_desc: "f64; s (k, v) samples ∝ ‖v‖²",
            accumulator: "f64",
            q: Storage::plain(32),
            k: Storage::plain(32),
            v: Storage::plain(32),
            o_bits: 64,
            schedule: Schedule::Standard,
            ops: Ops {
                qk_mul: OpKind::F64_MUL,
                qk_add: OpKind::F64_ADD,
                pv_mul: OpKind::F64_MUL,
                pv_add: OpKind::F64_ADD,
                softmax: Softmax::F64,
            },
        }
    }

    fn emulate(&self, x: &Qkv) -> Vec<f64> {
        let d = x.shape.d;
        per_row(x.shape, |h, i, o| {
            let vis = x.shape.visible(i);
            let (k, v) = (x.k_head(h), x.v_head(h));
            let st = self.state(k, v, d, vis, Self::stream_id(h, vis));
            let (z, _, _) = self.estimate(&st, x.q_row(h, i), k, v);
            o.copy_from_slice(&z);
        })
    }

    /// The exact scores of the keys the state holds (reservoirs and
    /// samples), −∞ elsewhere: which keys the estimate can see.
    fn scores(&self, x: &Qkv) -> Vec<f64> {
        let d = x.shape.d;
        let sc = 1.0 / (d as f64).sqrt();
        per_score_row(x.shape, |h, i, o| {
            let vis = x.shape.visible(i);
            let (k, v) = (x.k_head(h), x.v_head(h));
            let st = self.state(k, v, d, vis, Self::stream_id(h, vis));
            let q = x.q_row(h, i);
            let held = st
                .clusters
                .iter()
                .flat_map(|c| c.reservoir.iter())
                .chain(st.samples.iter().flatten());
            for &j in held {
                o[j] = q
                    .iter()
                    .zip(&k[j * d..(j + 1) * d])
                    .map(|(a, b)| *a as f64 * *b as f64)
                    .sum::<f64>()
                    * sc;
            }
        })
    }

    /// Upper bound per query row (every key its own cluster): the stream
    /// (per key `s` draws, a distance to every centre so far — counted as
    /// `n·d/2` MACs on average), then `n + s` scores of `d` MACs and
    /// exponentials, and `s·d` MACs of the numerator. Bytes: K and V read
    /// once (f32), O written.
    fn cost(&self, shape: AttnShape) -> Cost {
        let AttnShape {
            heads, nq, nk, d, ..
        } = shape;
        let (n, df, s) = (nk as f64, d as f64, self.s as f64);
        let per_row = n * n * df / 2.0 + (n + s) * df + s * df;
        let exps = n + s;
        let h = heads as f64 * nq as f64;
        let mut c = Cost {
            macs: h * per_row,
            ..Cost::default()
        };
        c.add(
            OpKind::F64_MUL,
            h * (per_row + exps * super::cost::EXP_OPS.0),
        );
        c.add(
            OpKind::F64_ADD,
            h * (per_row + exps * super::cost::EXP_OPS.1 + n * s),
        );
        c.dram_bytes = heads as f64 * (2.0 * n * df * 4.0 + nq as f64 * df * 8.0);
        c.sram_bytes = h * (n + s) * df * 8.0;
        c
    }
}

/// The variants of this file, in display order.
pub fn all() -> Vec<Box<dyn AttentionVariant>> {
    vec![Box::new(SubGen {
        name: "attention/subgen",
        description: "SubGen (arXiv 2402.06082, no public code; from the algorithm boxes): online δ-clustering of keys (first centre within δ=2) with uniform reservoirs of t=8, s=256 (k, v) samples ∝ ‖v‖², f64; decode-time state, prefill rows each stream their prefix",
        delta: 2.0,
        t: 8,
        s: 256,
        seed: 0,
    })]
}
