//! The task driver of the sequential-register kernels ([`super::fp16acc`],
//! [`super::lmul`]): each output's register is one sequential chain over K,
//! so vector lanes run across the `L` output channels of a weight panel and
//! a register tile holds several rows × panels of independent chains (enough
//! to hide the latency of one accumulation step).
//!
//! rayon splits the outputs into tasks of rows × panels (GEMV: all M rows,
//! so each packed weight is streamed once; GEMM: blocks of `BLOCK_ROWS`
//! rows). A task walks K in chunks of [`KC`] (a chunk of its weight panels
//! stays in L1/L2 while every row tile passes over it), and each register's
//! running value is stored between chunks and reloaded: an exact round trip
//! of an f32 (every state here is an f32 value), so every output is still
//! one chain in K order, computed by one task: the thread count never
//! changes a bit.

use super::GEMV_MAX_M;
use rayon::prelude::*;
use std::ops::Range;

/// K positions per chunk (also the granularity of the L-Mul range checks).
pub const KC: usize = 256;
/// Activation rows per cache block on the GEMM path.
const BLOCK_ROWS: usize = 64;
/// Most activation rows in one register tile.
pub const TILE_ROWS: usize = 4;

/// A finished task: its rows, its panels and its registers `[row][panel]`.
type Part<const L: usize> = (Range<usize>, Range<usize>, Vec<[f32; L]>);

/// One register tile: rows `i..i + r`, panels `p..p + q`, over `ks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tile {
    /// First activation row.
    pub i: usize,
    /// Rows (1..=[`TILE_ROWS`]).
    pub r: usize,
    /// First panel.
    pub p: usize,
    /// Panels.
    pub q: usize,
    /// The K range (within one chunk of [`KC`] aligned at 0).
    pub ks: Range<usize>,
}

/// How a kernel splits its work.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Activation rows per register tile (at most [`TILE_ROWS`]).
    pub tile_rows: usize,
    /// Panels per rayon task.
    pub task_panels: usize,
    /// Panels per register tile for a tile of `r` rows (the kernel has a
    /// micro-kernel for that shape and for one panel).
    pub tile_panels: fn(usize) -> usize,
}

/// Runs `tile` over every register tile of an `m × (panels · L)` product
/// with reduction length `k`; returns the `m × n` outputs (padded lanes
/// dropped). `tile` receives the states of its `r × q` registers, row-major
/// (`[row][panel]`), starting at +0, and advances them over `ks`.
pub fn run<const L: usize, F>(
    m: usize,
    n: usize,
    k: usize,
    panels: usize,
    plan: Plan,
    tile: F,
) -> Vec<f64>
where
    F: Fn(&Tile, &mut [[f32; L]]) + Sync,
{
    let mut out = vec![0f64; m * n];
    if m == 0 || n == 0 {
        return out;
    }
    let block = if m <= GEMV_MAX_M { m } else { BLOCK_ROWS };
    let tp = plan.task_panels.max(1);
    let tasks: Vec<(usize, usize)> = (0..m.div_ceil(block))
        .flat_map(|b| (0..panels.div_ceil(tp)).map(move |c| (b, c)))
        .collect();
    let parts: Vec<Part<L>> = tasks
        .par_iter()
        .map(|&(b, c)| {
            let rows = b * block..((b + 1) * block).min(m);
            let ps = c * tp..((c + 1) * tp).min(panels);
            let st = task::<L, F>(k, rows.clone(), ps.clone(), plan, &tile);
            (rows, ps, st)
        })
        .collect();
    for (rows, ps, st) in parts {
        for (t, i) in rows.clone().enumerate() {
            for (u, p) in ps.clone().enumerate() {
                let regs = &st[t * ps.len() + u];
                for (l, &v) in regs.iter().enumerate() {
                    let j = p * L + l;
                    if j < n {
                        out[i * n + j] = v as f64;
                    }
                }
            }
        }
    }
    out
}

/// One task: its registers `[row][panel]` after all of K.
fn task<const L: usize, F>(
    k: usize,
    rows: Range<usize>,
    ps: Range<usize>,
    plan: Plan,
    tile: &F,
) -> Vec<[f32; L]>
where
    F: Fn(&Tile, &mut [[f32; L]]) + Sync,
{
    let np = ps.len();
    let at = |i: usize, p: usize| (i - rows.start) * np + (p - ps.start);
    let mut st = vec![[0f32; L]; rows.len() * np];
    let mut regs: Vec<[f32; L]> = Vec::with_capacity(TILE_ROWS * 16);
    let mut k0 = 0;
    while k0 < k {
        let ks = k0..(k0 + KC).min(k);
        let mut i = rows.start;
        while i < rows.end {
            let r = plan.tile_rows.clamp(1, TILE_ROWS).min(rows.end - i);
            let pt = (plan.tile_panels)(r).max(1);
            let mut p = ps.start;
            while p < ps.end {
                // Full tiles, then single panels for the ragged end.
                let q = if ps.end - p >= pt { pt } else { 1 };
                let t = Tile {
                    i,
                    r,
                    p,
                    q,
                    ks: ks.clone(),
                };
                regs.clear();
                for ii in i..i + r {
                    regs.extend((p..p + q).map(|pp| st[at(ii, pp)]));
                }
                tile(&t, &mut regs);
                for (x, ii) in (i..i + r).enumerate() {
                    for (y, pp) in (p..p + q).enumerate() {
                        st[at(ii, pp)] = regs[x * q + y];
                    }
                }
                p += q;
            }
            i += r;
        }
        k0 = ks.end;
    }
    st
}
