//! Planning a run: the cells of a suite (variant × case × seed), which of
//! them an earlier run already holds (`resume`), the work left, and the
//! order rows are written in.

use std::collections::{HashMap, HashSet};

pub use super::order::{order_names, AttnGrid, Order};
use super::record::{metric, Measurement};
use super::shard::Shard;
use crate::attention::AttentionVariant;
use crate::tensor::Shape;
use crate::variants::MatmulVariant;
use crate::workload::cases::{AttnCase, Case};

/// A cell's identity: (variant, workload, shape, seed), as in [`Measurement::cell_key`].
pub type CellKey = (String, String, String, u64);

/// The key of a cell.
pub fn key(variant: &str, workload: &str, shape: Shape, seed: u64) -> CellKey {
    (
        variant.to_string(),
        workload.to_string(),
        shape.to_string(),
        seed,
    )
}

/// The accuracy cells of one case and seed still to measure.
pub struct Group<'v> {
    /// Index into the cases.
    pub case: usize,
    /// The workload seed.
    pub seed: u64,
    /// The variants still to measure.
    pub todo: Vec<&'v dyn MatmulVariant>,
}

/// The timings of one case (the first of its shape, first seed) still to measure.
pub struct Timing<'v> {
    /// Index into the cases.
    pub case: usize,
    /// The variants still to time.
    pub todo: Vec<&'v dyn MatmulVariant>,
}

/// The attention cells of one case and seed still to measure.
pub struct AttnGroup<'v> {
    /// Index into the attention cases.
    pub case: usize,
    /// The workload seed.
    pub seed: u64,
    /// The variants still to measure.
    pub todo: Vec<&'v dyn AttentionVariant>,
}

/// The attention timings of one case (first seed) still to measure.
pub struct AttnTiming<'v> {
    /// Index into the attention cases.
    pub case: usize,
    /// The variants still to time.
    pub todo: Vec<&'v dyn AttentionVariant>,
}

/// The work of a run.
pub struct Plan<'v> {
    /// Every accuracy cell of the suite.
    pub cells: HashSet<CellKey>,
    /// The rows of an earlier run that are kept (complete cells and timings of this suite).
    pub kept: Vec<Measurement>,
    /// Accuracy cells taken over from the earlier run.
    pub resumed: usize,
    /// Accuracy cells to measure, grouped by (case, seed) so operands are drawn once.
    pub groups: Vec<Group<'v>>,
    /// Timings to measure.
    pub timings: Vec<Timing<'v>>,
    /// Attention cells to measure, grouped by (case, seed).
    pub attn_groups: Vec<AttnGroup<'v>>,
    /// Attention timings to measure (every attention case, first seed).
    pub attn_timings: Vec<AttnTiming<'v>>,
}

impl<'v> Plan<'v> {
    /// Plans `variants` × `cases` × `seeds` and the attention grid's
    /// variants × cases × `seeds`, keeping the complete cells and timings of
    /// `earlier` (the rows of a resumed results file).
    pub fn new(
        variants: &[&'v dyn MatmulVariant],
        cases: &[Case],
        seeds: &[u64],
        repetitions: u32,
        earlier: Vec<Measurement>,
        shard: Shard,
        attn: AttnGrid<'v, '_>,
    ) -> Self {
        // Canonical cell order: case, seed, variant (suite order); the shard
        // owns every `count`-th cell of it.
        let mut position = 0usize;
        let mut cells: HashSet<CellKey> = HashSet::new();
        for c in cases {
            for &s in seeds {
                for v in variants {
                    if shard.owns(position) {
                        cells.insert(key(v.name(), &c.workload, c.shape, s));
                    }
                    position += 1;
                }
            }
        }
        // The attention cells follow the matmul cells in the canonical order.
        let mut attn_cells: HashSet<CellKey> = HashSet::new();
        for c in attn.cases {
            for &s in seeds {
                for v in attn.variants {
                    if shard.owns(position) {
                        attn_cells.insert(attn_key(v.name(), c, s));
                    }
                    position += 1;
                }
            }
        }
        let owned = |k: &CellKey| cells.contains(k);
        // Timings per (variant, shape), on the first case with that shape and the first
        // seed (emulation speed hardly depends on the values); sharded by their own
        // canonical order (shape, variant).
        let mut timing_keys: HashSet<CellKey> = HashSet::new();
        let mut timing_cases: Vec<usize> = Vec::new();
        let mut position = 0usize;
        if repetitions > 0 {
            let mut shapes: Vec<Shape> = Vec::new();
            for (ci, c) in cases.iter().enumerate() {
                if shapes.contains(&c.shape) {
                    continue;
                }
                shapes.push(c.shape);
                timing_cases.push(ci);
                for v in variants {
                    if shard.owns(position) {
                        timing_keys.insert(key(v.name(), &c.workload, c.shape, seeds[0]));
                    }
                    position += 1;
                }
            }
        }
        let mut attn_timing_keys: HashSet<CellKey> = HashSet::new();
        if repetitions > 0 {
            // After the matmul timings in their canonical order.
            for c in attn.cases {
                for v in attn.variants {
                    if shard.owns(position) {
                        attn_timing_keys.insert(attn_key(v.name(), c, seeds[0]));
                    }
                    position += 1;
                }
            }
        }
        let all_timings: HashSet<CellKey> = timing_keys.union(&attn_timing_keys).cloned().collect();
        let kept = complete_rows(earlier, (&cells, &attn_cells), &all_timings, repetitions);
        let done: HashSet<CellKey> = kept
            .iter()
            .filter(|r| r.metric == metric::REL_FRO_ERROR)
            .map(Measurement::cell_key)
            .collect();
        let timed: HashSet<CellKey> = kept
            .iter()
            .filter(|r| metric::is_timing(&r.metric))
            .map(Measurement::cell_key)
            .collect();
        let todo = |c: &Case, seed: u64, skip: &HashSet<CellKey>| -> Vec<&'v dyn MatmulVariant> {
            variants
                .iter()
                .copied()
                .filter(|v| {
                    let k = key(v.name(), &c.workload, c.shape, seed);
                    owned(&k) && !skip.contains(&k)
                })
                .collect()
        };

        let mut groups = Vec::new();
        for (ci, c) in cases.iter().enumerate() {
            for &seed in seeds {
                let todo = todo(c, seed, &done);
                if !todo.is_empty() {
                    groups.push(Group {
                        case: ci,
                        seed,
                        todo,
                    });
                }
            }
        }
        let mut timings: Vec<Timing> = Vec::new();
        for ci in timing_cases {
            let c = &cases[ci];
            let todo: Vec<&'v dyn MatmulVariant> = variants
                .iter()
                .copied()
                .filter(|v| {
                    let k = key(v.name(), &c.workload, c.shape, seeds[0]);
                    timing_keys.contains(&k) && !timed.contains(&k)
                })
                .collect();
            if !todo.is_empty() {
                timings.push(Timing { case: ci, todo });
            }
        }
        let mut attn_groups = Vec::new();
        let mut attn_timings = Vec::new();
        for (ci, c) in attn.cases.iter().enumerate() {
            for &seed in seeds {
                let todo: Vec<&'v dyn AttentionVariant> = attn
                    .variants
                    .iter()
                    .copied()
                    .filter(|v| {
                        let k = attn_key(v.name(), c, seed);
                        attn_cells.contains(&k) && !done.contains(&k)
                    })
                    .collect();
                if !todo.is_empty() {
                    attn_groups.push(AttnGroup {
                        case: ci,
                        seed,
                        todo,
                    });
                }
            }
            let todo: Vec<&'v dyn AttentionVariant> = attn
                .variants
                .iter()
                .copied()
                .filter(|v| {
                    let k = attn_key(v.name(), c, seeds[0]);
                    attn_timing_keys.contains(&k) && !timed.contains(&k)
                })
                .collect();
            if !todo.is_empty() {
                attn_timings.push(AttnTiming { case: ci, todo });
            }
        }
        cells.extend(attn_cells);
        Plan {
            cells,
            kept,
            resumed: done.len(),
            groups,
            timings,
            attn_groups,
            attn_timings,
        }
    }

    /// Accuracy cells plus timing tasks still to run (the progress bar's length).
    pub fn tasks(&self) -> usize {
        let cells: usize = self.groups.iter().map(|g| g.todo.len()).sum();
        let timings: usize = self.timings.iter().map(|t| t.todo.len()).sum();
        let attn: usize = self.attn_groups.iter().map(|g| g.todo.len()).sum();
        let attn_timings: usize = self.attn_timings.iter().map(|t| t.todo.len()).sum();
        cells + timings + attn + attn_timings
    }
}

/// The key of an attention cell (its shape as the results write it).
pub fn attn_key(variant: &str, c: &AttnCase, seed: u64) -> CellKey {
    (
        variant.to_string(),
        c.workload.clone(),
        c.shape.to_string(),
        seed,
    )
}

/// The rows of an earlier run worth keeping: cells of this suite (matmul,
/// attention) with every cell metric, and timings with every repetition.
fn complete_rows(
    rows: Vec<Measurement>,
    (cells, attn_cells): (&HashSet<CellKey>, &HashSet<CellKey>),
    timings: &HashSet<CellKey>,
    repetitions: u32,
) -> Vec<Measurement> {
    let mut seen: HashMap<CellKey, HashSet<(String, u32)>> = HashMap::new();
    for r in &rows {
        seen.entry(r.cell_key())
            .or_default()
            .insert((r.metric.clone(), r.rep));
    }
    let complete = |k: &CellKey, timing: bool| {
        let Some(s) = seen.get(k) else { return false };
        if timing {
            (0..repetitions).all(|rep| s.contains(&(metric::EMULATION_MAC_PER_S.to_string(), rep)))
        } else if attn_cells.contains(k) {
            metric::ATTENTION_CELL
                .iter()
                .all(|m| s.contains(&(m.to_string(), 0)))
        } else {
            metric::CELL_METRICS
                .iter()
                .all(|m| s.contains(&(m.name.to_string(), 0)))
        }
    };
    rows.into_iter()
        .filter(|r| {
            let k = r.cell_key();
            let timing = metric::is_timing(&r.metric);
            let known = if timing {
                true
            } else if attn_cells.contains(&k) {
                metric::ATTENTION_CELL.contains(&r.metric.as_str())
            } else {
                metric::CELL_METRICS.iter().any(|m| m.name == r.metric)
            };
            let mine = if timing {
                timings.contains(&k)
            } else {
                cells.contains(&k) || attn_cells.contains(&k)
            };
            known && mine && complete(&k, timing)
        })
        .collect()
}
