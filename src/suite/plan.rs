//! Planning a run: the cells of a suite (variant × case × seed), which of
//! them an earlier run already holds (`resume`), the work left, and the
//! order rows are written in.

use std::collections::{HashMap, HashSet};

pub use super::order::{order_names, Order};
use super::record::{metric, Measurement};
use super::shard::Shard;
use crate::tensor::Shape;
use crate::variants::MatmulVariant;
use crate::workload::cases::Case;

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
}

impl<'v> Plan<'v> {
    /// Plans `variants` × `cases` × `seeds`, keeping the complete cells and
    /// timings of `earlier` (the rows of a resumed results file).
    pub fn new(
        variants: &[&'v dyn MatmulVariant],
        cases: &[Case],
        seeds: &[u64],
        repetitions: u32,
        earlier: Vec<Measurement>,
        shard: Shard,
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
        let owned = |k: &CellKey| cells.contains(k);
        // Timings per (variant, shape), on the first case with that shape and the first
        // seed (emulation speed hardly depends on the values); sharded by their own
        // canonical order (shape, variant).
        let mut timing_keys: HashSet<CellKey> = HashSet::new();
        let mut timing_cases: Vec<usize> = Vec::new();
        if repetitions > 0 {
            let mut shapes: Vec<Shape> = Vec::new();
            let mut position = 0usize;
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
        let kept = complete_rows(earlier, &cells, &timing_keys, repetitions);
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
        Plan {
            cells,
            kept,
            resumed: done.len(),
            groups,
            timings,
        }
    }

    /// Accuracy cells plus timing tasks still to run (the progress bar's length).
    pub fn tasks(&self) -> usize {
        let cells: usize = self.groups.iter().map(|g| g.todo.len()).sum();
        let timings: usize = self.timings.iter().map(|t| t.todo.len()).sum();
        cells + timings
    }
}

/// The rows of an earlier run worth keeping: cells of this suite with every
/// cell metric, and timings with every repetition.
fn complete_rows(
    rows: Vec<Measurement>,
    cells: &HashSet<CellKey>,
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
            let known = timing || metric::CELL_METRICS.iter().any(|m| m.name == r.metric);
            let mine = if timing {
                timings.contains(&k)
            } else {
                cells.contains(&k)
            };
            known && mine && complete(&k, timing)
        })
        .collect()
}
