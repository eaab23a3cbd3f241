//! The order rows are written in: variant, case, seed (suite order), metric
//! (table order), repetition. Its own file because the planner, the sink,
//! shards and the explorer all sort rows, and none of them should import
//! another for it.

use std::collections::HashMap;

use super::record::{metric, Measurement};
use crate::attention::AttentionVariant;
use crate::variants::MatmulVariant;
use crate::workload::cases::{AttnCase, Case};

/// A suite's attention part: its attention variants and cases (each
/// variant runs on every attention case, matmul variants on matmul cases).
#[derive(Clone, Copy)]
pub struct AttnGrid<'v, 'c> {
    /// The attention variants, suite order.
    pub variants: &'c [&'v dyn AttentionVariant],
    /// The attention cases, suite order.
    pub cases: &'c [AttnCase],
}

/// Row sort order: variant, case, seed (suite order), metric (table order, timings after the cell metrics),
/// repetition; rows of unknown cells last.
pub struct Order {
    variant: HashMap<String, usize>,
    case: HashMap<(String, String), usize>,
    seed: HashMap<u64, usize>,
}

impl Order {
    /// The order of a suite's variants, cases and seeds (matmul, then attention).
    pub fn new(
        variants: &[&dyn MatmulVariant],
        cases: &[Case],
        attn: AttnGrid,
        seeds: &[u64],
    ) -> Self {
        let (v, c) = order_names(variants, cases, attn);
        Order::from_names(&v, &c, seeds)
    }

    /// The order of variant names, (workload, shape) cases and seeds.
    pub fn from_names(variants: &[String], cases: &[(String, String)], seeds: &[u64]) -> Self {
        Order {
            variant: idx(variants.iter().cloned()),
            case: idx(cases.iter().cloned()),
            seed: idx(seeds.iter().copied()),
        }
    }

    /// Sorts `rows` into this order.
    pub fn sort(&self, rows: &mut [Measurement]) {
        let metric_idx = |m: &str| {
            metric::all()
                .position(|x| x.name == m)
                .unwrap_or(metric::all().count())
        };
        rows.sort_by_cached_key(|r| {
            (
                *self.variant.get(&r.variant).unwrap_or(&usize::MAX),
                *self
                    .case
                    .get(&(r.workload.clone(), r.shape.clone()))
                    .unwrap_or(&usize::MAX),
                *self.seed.get(&r.seed).unwrap_or(&usize::MAX),
                metric_idx(&r.metric),
                r.metric.clone(),
                r.rep,
            )
        });
    }
}

/// The names [`Order::from_names`] takes, from variants and cases (the
/// matmul ones, then the attention ones).
pub fn order_names(
    variants: &[&dyn MatmulVariant],
    cases: &[Case],
    attn: AttnGrid,
) -> (Vec<String>, Vec<(String, String)>) {
    (
        variants
            .iter()
            .map(|v| v.name().to_string())
            .chain(attn.variants.iter().map(|v| v.name().to_string()))
            .collect(),
        cases
            .iter()
            .map(|c| (c.workload.clone(), c.shape.to_string()))
            .chain(
                attn.cases
                    .iter()
                    .map(|c| (c.workload.clone(), c.shape.to_string())),
            )
            .collect(),
    )
}

/// Positions of items in first-appearance order.
fn idx<T: std::hash::Hash + Eq>(it: impl Iterator<Item = T>) -> HashMap<T, usize> {
    let mut m = HashMap::new();
    for x in it {
        let n = m.len();
        m.entry(x).or_insert(n);
    }
    m
}
