//! The summary tables of the page: one row per variant (means over the
//! run, with deltas against a baseline) and one per variant on each workload
//! and shape; the metric columns come from the metric table.

use super::compare::{aggregate_change, Direction};
use super::page::{is_attention, part, PageData, SORT_METRIC};
use super::sections::Section;
use super::summary::{fmt_metric, fmt_pct, Agg, RowKey, Samples};
use crate::suite::record::{metric, VariantInfo};
use serde::Serialize;
use std::collections::BTreeMap;

/// A metric column of the summary tables.
struct Column {
    metric: &'static str,
    header: &'static str,
    /// Multiplies the stored value for display (MAC/s -> G MAC/s).
    scale: f64,
    higher_is_better: bool,
}

/// The summary's metric columns, in display order, from the metric table.
fn columns() -> Vec<Column> {
    metric::columns()
        .into_iter()
        .map(|(m, c)| Column {
            metric: m.name,
            header: c.header,
            scale: c.scale,
            higher_is_better: m.higher_is_better,
        })
        .collect()
}

#[derive(Serialize)]
struct ColHead {
    header: &'static str,
    better: &'static str,
    sorted: bool,
}

/// A table row: a variant (summary) or a variant on a workload and shape.
#[derive(Serialize)]
struct Row {
    variant: String,
    workload: String,
    shape: String,
    weight_format: String,
    act_format: String,
    cells: Vec<Cell>,
}

#[derive(Serialize)]
struct Cell {
    text: String,
    best: bool,
    /// CSS classes: `best`, and `regress` / `improve` against the baseline.
    class: String,
    title: String,
    delta: Option<Delta>,
}

#[derive(Serialize)]
struct Delta {
    old: String,
    pct: String,
    verdict: String,
    class: &'static str,
}

#[derive(Serialize)]
struct Table {
    has_baseline: bool,
    columns: Vec<ColHead>,
    summary: Vec<Row>,
    workloads: Vec<Row>,
}

/// The table heads, marking the sort column.
fn heads(columns: &[Column]) -> Vec<ColHead> {
    columns
        .iter()
        .map(|c| ColHead {
            header: c.header,
            better: if c.higher_is_better {
                "higher is better"
            } else {
                "lower is better"
            },
            sorted: c.metric == SORT_METRIC,
        })
        .collect()
}

/// One row of a table: `variant` (on `workload` and `shape` in the per-workload
/// table) with its aggregates; deltas against the baseline when `with_delta`.
fn row_for(
    d: &PageData,
    columns: &[Column],
    (variant, workload, shape): (&str, &str, &str),
    aggs: &BTreeMap<String, Agg>,
    with_delta: bool,
) -> Row {
    let info: Option<&VariantInfo> = d
        .results
        .meta
        .variants
        .iter()
        .rev()
        .find(|v| v.name == variant);
    Row {
        variant: variant.to_string(),
        workload: workload.to_string(),
        shape: shape.to_string(),
        weight_format: info.map_or(String::new(), |i| i.weight_format.clone()),
        act_format: info.map_or(String::new(), |i| i.act_format.clone()),
        cells: columns
            .iter()
            .map(|c| {
                let delta = match (&d.base, with_delta) {
                    (Some((bs, bagg)), true) => {
                        Some(delta_cell(&d.samples, bs, bagg, variant, c, aggs))
                    }
                    _ => None,
                };
                value_cell(c, aggs.get(c.metric), delta)
            })
            .collect(),
    }
}

/// The summary: one row per variant, in sort order.
pub(super) fn summary(d: &PageData) -> Result<Section, String> {
    let columns = columns();
    let mut summary: Vec<Row> = d
        .order
        .iter()
        .map(|v| row_for(d, &columns, (v, "", ""), &d.by_variant[v], true))
        .collect();
    // Best marks within each kind: an attention error and a matmul error
    // are not one quantity (the matmul rows come first, see `PageData::order`).
    let split = d.order.iter().take_while(|v| !is_attention(v)).count();
    let aggs: Vec<_> = d.order.iter().map(|v| &d.by_variant[v]).collect();
    let (matmul, attention) = summary.split_at_mut(split);
    mark_best(matmul, &columns, &aggs[..split]);
    mark_best(attention, &columns, &aggs[split..]);
    set_classes(&mut summary);
    let ctx = Table {
        has_baseline: d.baseline.is_some(),
        columns: heads(&columns),
        summary,
        workloads: Vec::new(),
    };
    part(
        ("summary", "Summary", "Summary"),
        include_str!("../../reports/templates/parts/summary.html.tera"),
        &ctx,
    )
}

/// The per-workload table: each (workload, shape) with its variants in summary order.
pub(super) fn workloads(d: &PageData) -> Result<Section, String> {
    let columns = columns();
    let rank: BTreeMap<&str, usize> = d
        .order
        .iter()
        .enumerate()
        .map(|(i, v)| (v.as_str(), i))
        .collect();
    type Group<'a> = Vec<(&'a str, &'a BTreeMap<String, Agg>)>;
    let mut groups: BTreeMap<(&str, &str), Group> = BTreeMap::new();
    for ((w, s, v), aggs) in &d.by_workload {
        groups
            .entry((w.as_str(), s.as_str()))
            .or_default()
            .push((v.as_str(), aggs));
    }
    let mut workloads = Vec::new();
    for ((w, s), mut group) in groups {
        group.sort_by_key(|(v, _)| rank.get(v).copied().unwrap_or(usize::MAX));
        let mut rows: Vec<Row> = group
            .iter()
            .map(|(v, a)| row_for(d, &columns, (v, w, s), a, false))
            .collect();
        mark_best(
            &mut rows,
            &columns,
            &group.iter().map(|g| g.1).collect::<Vec<_>>(),
        );
        set_classes(&mut rows);
        workloads.extend(rows);
    }
    let ctx = Table {
        has_baseline: d.baseline.is_some(),
        columns: heads(&columns),
        summary: Vec::new(),
        workloads,
    };
    part(
        ("workloads", "By workload", "By workload and shape"),
        include_str!("../../reports/templates/parts/workloads.html.tera"),
        &ctx,
    )
}

fn value_cell(c: &Column, agg: Option<&Agg>, delta: Option<Delta>) -> Cell {
    match agg {
        None => Cell {
            text: "—".into(),
            best: false,
            class: String::new(),
            title: "not measured".into(),
            delta,
        },
        Some(a) => Cell {
            text: fmt_metric(c.metric, a.value * c.scale),
            best: false,
            class: String::new(),
            title: if a.nan_cells > 0 {
                format!(
                    "mean over {} of {} cells ({} NaN left out)",
                    a.cells - a.nan_cells,
                    a.cells,
                    a.nan_cells
                )
            } else {
                format!(
                    "mean over {} cell{}",
                    a.cells,
                    if a.cells == 1 { "" } else { "s" }
                )
            },
            delta,
        },
    }
}

/// Marks, per column, the rows holding the best non-NaN value (when at
/// least two rows have one).
fn mark_best(rows: &mut [Row], columns: &[Column], aggs: &[&BTreeMap<String, Agg>]) {
    for (ci, c) in columns.iter().enumerate() {
        let vals: Vec<f64> = aggs
            .iter()
            .map(|a| a.get(c.metric).map_or(f64::NAN, |x| x.value))
            .collect();
        let ok: Vec<f64> = vals.iter().copied().filter(|v| !v.is_nan()).collect();
        if ok.len() < 2 {
            continue;
        }
        let best = if c.higher_is_better {
            ok.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        } else {
            ok.iter().copied().fold(f64::INFINITY, f64::min)
        };
        for (row, v) in rows.iter_mut().zip(&vals) {
            row.cells[ci].best = *v == best;
        }
    }
}

/// Fills each cell's CSS classes from its best mark and baseline verdict.
fn set_classes(rows: &mut [Row]) {
    for cell in rows.iter_mut().flat_map(|r| r.cells.iter_mut()) {
        let mut cls = Vec::new();
        if cell.best {
            cls.push("best");
        }
        if let Some(d) = &cell.delta {
            if matches!(d.class, "regress" | "improve") {
                cls.push(d.class);
            }
        }
        cell.class = cls.join(" ");
    }
}

fn delta_cell(
    new_samples: &BTreeMap<RowKey, Samples>,
    old_samples: &BTreeMap<RowKey, Samples>,
    old_aggs: &BTreeMap<String, BTreeMap<String, Agg>>,
    variant: &str,
    c: &Column,
    new_aggs: &BTreeMap<String, Agg>,
) -> Delta {
    let old = old_aggs.get(variant).and_then(|a| a.get(c.metric));
    let new = new_aggs.get(c.metric);
    match (old, new) {
        (None, None) => Delta {
            old: String::new(),
            pct: String::new(),
            verdict: String::new(),
            class: "same",
        },
        (None, Some(_)) => Delta {
            old: "—".into(),
            pct: String::new(),
            verdict: "new in this run".into(),
            class: "noise",
        },
        (Some(o), None) => Delta {
            old: fmt_metric(c.metric, o.value * c.scale),
            pct: String::new(),
            verdict: "not in this run".into(),
            class: "noise",
        },
        (Some(o), Some(n)) => {
            let ch = aggregate_change(
                old_samples,
                new_samples,
                variant,
                c.metric,
                o.value,
                n.value,
            );
            let (verdict, class) = match (ch.direction, ch.beyond_noise) {
                (Direction::Same, _) => {
                    return Delta {
                        old: String::new(),
                        pct: String::new(),
                        verdict: "= baseline".into(),
                        class: "same",
                    }
                }
                (_, false) => (
                    match ch.p_value {
                        Some(p) => format!("noise, p = {p:.2}"),
                        None => "noise? too few reps".into(),
                    },
                    "noise",
                ),
                (Direction::Better, true) => (noise_word(ch.p_value, "better"), "improve"),
                (Direction::Worse, true) => (noise_word(ch.p_value, "worse"), "regress"),
            };
            Delta {
                old: fmt_metric(c.metric, o.value * c.scale),
                pct: fmt_pct(ch.pct),
                verdict,
                class,
            }
        }
    }
}

/// "worse, p < 0.001" for a timing, "worse" for a deterministic metric.
fn noise_word(p: Option<f64>, word: &str) -> String {
    match p {
        Some(p) if p < 0.001 => format!("{word}, p < 0.001"),
        Some(p) => format!("{word}, p = {p:.3}"),
        None => word.to_string(),
    }
}
