//! Builds the report page: the numbers and charts go into a serializable
//! context, and a tera template (embedded from `reports/templates/`, with
//! autoescaping on) turns it into HTML. Only the chart SVGs are inserted
//! unescaped; plotters escapes the text inside them.

use super::compare::{aggregate_change, compare, Direction, Verdict};
use super::figures;
use super::summary::{
    add_energy_per_mac, aggregate, collect_samples, fmt_metric, fmt_pct, Agg, RowKey, Samples,
};
use super::template::render_template;
use crate::suite::record::{metric, Results, VariantInfo};
use serde::Serialize;
use std::collections::BTreeMap;

const TEMPLATE: &str = include_str!("../../reports/templates/report.html.tera");
const STYLE: &str = include_str!("../../reports/templates/style.css");

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

/// The column the summary is sorted by (ascending).
const SORT_METRIC: &str = metric::ENERGY_PJ_PER_MAC;

#[derive(Serialize)]
struct Page {
    title: String,
    style: &'static str,
    has_baseline: bool,
    meta: Vec<MetaRow>,
    energy_notes: Vec<String>,
    baseline_energy_notes: Vec<String>,
    baseline_notes_differ: bool,
    columns: Vec<ColHead>,
    summary: Vec<Row>,
    workloads: Vec<Row>,
    charts: Vec<figures::Chart>,
    sections: Vec<super::sections::Section>,
    variants: Vec<VariantInfo>,
    changes: Option<Changes>,
}

#[derive(Serialize)]
struct MetaRow {
    key: &'static str,
    value: String,
    baseline: String,
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
struct Changes {
    summary_line: String,
    notes: Vec<String>,
    rows: Vec<ChangeRow>,
}

#[derive(Serialize)]
struct ChangeRow {
    variant: String,
    workload: String,
    shape: String,
    seed: u64,
    metric: String,
    old: String,
    new: String,
    pct: String,
    p_value: String,
    verdict: &'static str,
    class: &'static str,
}

/// Renders the complete page.
pub fn render(results: &Results, baseline: Option<&Results>) -> Result<String, String> {
    let mut samples = collect_samples(results);
    add_energy_per_mac(&mut samples);
    let by_variant = aggregate(&samples, |k| k.variant.clone());
    let columns = columns();
    let by_workload = aggregate(&samples, |k| {
        (k.workload.clone(), k.shape.clone(), k.variant.clone())
    });
    let infos: BTreeMap<&str, &VariantInfo> = results
        .meta
        .variants
        .iter()
        .map(|v| (v.name.as_str(), v))
        .collect();

    // Variants ordered by the sort metric (NaN and missing last), then name.
    let key_of = |aggs: &BTreeMap<String, Agg>| aggs.get(SORT_METRIC).map_or(f64::NAN, |a| a.value);
    let mut order: Vec<&String> = by_variant.keys().collect();
    order.sort_by(|a, b| {
        sort_key(key_of(&by_variant[*a]))
            .total_cmp(&sort_key(key_of(&by_variant[*b])))
            .then(a.cmp(b))
    });
    let rank: BTreeMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, v)| (v.as_str(), i))
        .collect();

    let base = baseline.map(|b| {
        let s = collect_samples(b);
        let agg = aggregate(&s, |k| k.variant.clone());
        (s, agg)
    });
    let row_for = |variant: &str,
                   workload: &str,
                   shape: &str,
                   aggs: &BTreeMap<String, Agg>,
                   with_delta: bool| {
        let info = infos.get(variant);
        Row {
            variant: variant.to_string(),
            workload: workload.to_string(),
            shape: shape.to_string(),
            weight_format: info.map_or(String::new(), |i| i.weight_format.clone()),
            act_format: info.map_or(String::new(), |i| i.act_format.clone()),
            cells: columns
                .iter()
                .map(|c| {
                    let delta = match (&base, with_delta) {
                        (Some((bs, bagg)), true) => {
                            Some(delta_cell(&samples, bs, bagg, variant, c, aggs))
                        }
                        _ => None,
                    };
                    value_cell(c, aggs.get(c.metric), delta)
                })
                .collect(),
        }
    };
    let mut summary: Vec<Row> = order
        .iter()
        .map(|v| row_for(v, "", "", &by_variant[*v], true))
        .collect();
    mark_best(
        &mut summary,
        &columns,
        &order.iter().map(|v| &by_variant[*v]).collect::<Vec<_>>(),
    );
    set_classes(&mut summary);
    let mut workloads = Vec::new();
    type Group<'a> = Vec<(&'a str, &'a BTreeMap<String, Agg>)>;
    let mut wl_groups: BTreeMap<(&str, &str), Group> = BTreeMap::new();
    for ((w, s, v), aggs) in &by_workload {
        wl_groups
            .entry((w.as_str(), s.as_str()))
            .or_default()
            .push((v.as_str(), aggs));
    }
    for ((w, s), mut group) in wl_groups {
        group.sort_by_key(|(v, _)| rank.get(v).copied().unwrap_or(usize::MAX));
        let mut rows: Vec<Row> = group
            .iter()
            .map(|(v, a)| row_for(v, w, s, a, false))
            .collect();
        mark_best(
            &mut rows,
            &columns,
            &group.iter().map(|g| g.1).collect::<Vec<_>>(),
        );
        set_classes(&mut rows);
        workloads.extend(rows);
    }

    let mut variants: Vec<VariantInfo> = results.meta.variants.clone();
    for v in &order {
        if !infos.contains_key(v.as_str()) {
            variants.push(VariantInfo {
                name: v.to_string(),
                description: "(not described in the run metadata)".into(),
                ..Default::default()
            });
        }
    }

    let charts = figures::build(results, &order, &by_variant)?;
    let changes = baseline.map(|b| changes_section(b, results));
    let m = &results.meta;
    let bm = baseline.map(|b| &b.meta);
    let meta_row =
        |key: &'static str, f: &dyn Fn(&crate::suite::record::RunMeta) -> String| MetaRow {
            key,
            value: f(m),
            baseline: bm.map_or(String::new(), f),
        };
    let or_dash = |s: &str| {
        if s.is_empty() {
            "—".to_string()
        } else {
            s.to_string()
        }
    };
    let meta = vec![
        meta_row("suite", &|m| or_dash(&m.suite)),
        meta_row("bitsim version", &|m| or_dash(&m.version)),
        meta_row("commit", &|m| {
            m.commit.clone().unwrap_or_else(|| "unknown".into())
        }),
        meta_row("date (UTC)", &|m| or_dash(&m.date)),
        meta_row("CPU", &|m| or_dash(&m.cpu_model)),
        meta_row("SIMD features", &|m| {
            if m.simd.is_empty() {
                "none detected".into()
            } else {
                m.simd.join(", ")
            }
        }),
        meta_row("threads", &|m| m.threads.to_string()),
        meta_row("energy table", &|m| or_dash(&m.energy_table)),
        meta_row("result rows", &|_| String::new()),
    ];
    let mut meta = meta;
    if let Some(last) = meta.last_mut() {
        last.value = results.rows.len().to_string();
        last.baseline = baseline.map_or(String::new(), |b| b.rows.len().to_string());
    }

    let page = Page {
        title: format!(
            "bitsim report — {}",
            if m.suite.is_empty() {
                "unnamed suite"
            } else {
                &m.suite
            }
        ),
        style: STYLE,
        has_baseline: baseline.is_some(),
        meta,
        energy_notes: m.energy_notes.clone(),
        baseline_energy_notes: bm.map_or(Vec::new(), |b| b.energy_notes.clone()),
        baseline_notes_differ: bm.is_some_and(|b| b.energy_notes != m.energy_notes),
        columns: columns
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
            .collect(),
        summary,
        workloads,
        charts,
        sections: super::sections::render_all(&results.studies)?,
        variants,
        changes,
    };
    render_template("report", TEMPLATE, &page)
}

/// NaN sorts after every number.
fn sort_key(v: f64) -> f64 {
    if v.is_nan() {
        f64::INFINITY
    } else {
        v
    }
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

fn changes_section(baseline: &Results, results: &Results) -> Changes {
    // The page flags every beyond-noise move in the bad direction (threshold 0);
    // `bitsim compare` applies the user's threshold.
    let cmp = compare(baseline, results, 0.0);
    let mut rows: Vec<_> = cmp
        .rows
        .iter()
        .filter(|r| !matches!(r.verdict, Verdict::Same | Verdict::Noise))
        .collect();
    rows.sort_by(|a, b| a.verdict.cmp(&b.verdict).then(a.key.cmp(&b.key)));
    let show = |name: &str, reps: &[f64]| {
        if reps.is_empty() {
            "—".to_string()
        } else {
            fmt_metric(name, super::stats::mean(reps))
        }
    };
    Changes {
        summary_line: cmp.summary_line(),
        notes: cmp.notes.clone(),
        rows: rows
            .into_iter()
            .map(|r| ChangeRow {
                variant: r.key.variant.clone(),
                workload: r.key.workload.clone(),
                shape: r.key.shape.clone(),
                seed: r.key.seed,
                metric: r.key.metric.clone(),
                old: show(&r.key.metric, &r.old_reps),
                new: show(&r.key.metric, &r.new_reps),
                pct: r.change.as_ref().map_or("—".into(), |c| fmt_pct(c.pct)),
                p_value: r
                    .change
                    .as_ref()
                    .and_then(|c| c.p_value)
                    .map_or("—".into(), |p| format!("{p:.3}")),
                verdict: r.verdict.as_str(),
                class: match r.verdict {
                    Verdict::Regression | Verdict::Worse => "regress",
                    Verdict::Better => "improve",
                    _ => "noise",
                },
            })
            .collect(),
    }
}
