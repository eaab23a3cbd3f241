//! The page parts that are not tables: run metadata, charts, the variants
//! and the changes against a baseline, each a [`Section`] rendered from its
//! template in `reports/templates/parts/`.

use super::compare::{compare, Verdict};
use super::figures;
use super::page::{is_attention, part, PageData};
use super::sections::Section;
use super::summary::{fmt_metric, fmt_pct};
use crate::suite::record::{Results, RunMeta, VariantInfo};
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Serialize)]
struct Metadata {
    has_baseline: bool,
    meta: Vec<MetaRow>,
    energy_notes: Vec<String>,
    baseline_energy_notes: Vec<String>,
    baseline_notes_differ: bool,
}

#[derive(Serialize)]
struct MetaRow {
    key: &'static str,
    value: String,
    baseline: String,
}

/// Where and how the numbers were produced, beside the baseline's.
pub(super) fn metadata(d: &PageData) -> Result<Section, String> {
    let (results, baseline) = (d.results, d.baseline);
    let m = &results.meta;
    let bm = baseline.map(|b| &b.meta);
    let meta_row = |key: &'static str, f: &dyn Fn(&RunMeta) -> String| MetaRow {
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
    let mut meta = vec![
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
    if let Some(last) = meta.last_mut() {
        last.value = results.rows.len().to_string();
        last.baseline = baseline.map_or(String::new(), |b| b.rows.len().to_string());
    }
    let ctx = Metadata {
        has_baseline: baseline.is_some(),
        meta,
        energy_notes: m.energy_notes.clone(),
        baseline_energy_notes: bm.map_or(Vec::new(), |b| b.energy_notes.clone()),
        baseline_notes_differ: bm.is_some_and(|b| b.energy_notes != m.energy_notes),
    };
    part(
        ("metadata", "Run metadata", "Run metadata"),
        include_str!("../../reports/templates/parts/metadata.html.tera"),
        &ctx,
    )
}

#[derive(Serialize)]
struct Charts {
    charts: Vec<figures::Chart>,
}

/// The charts of the run.
pub(super) fn charts(d: &PageData) -> Result<Section, String> {
    // The charts are the matmul variants'; attention has its own section.
    let order: Vec<&String> = d.order.iter().filter(|v| !is_attention(v)).collect();
    let ctx = Charts {
        charts: figures::build(d.results, &order, &d.by_variant)?,
    };
    part(
        ("charts", "Charts", "Charts"),
        include_str!("../../reports/templates/parts/charts.html.tera"),
        &ctx,
    )
}

#[derive(Serialize)]
struct Variants {
    variants: Vec<VariantInfo>,
}

/// What each variant computes (also the variants the metadata does not describe).
pub(super) fn variants(d: &PageData) -> Result<Section, String> {
    let described: BTreeSet<&str> = d
        .results
        .meta
        .variants
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    let mut variants: Vec<VariantInfo> = d.results.meta.variants.clone();
    for v in &d.order {
        if !described.contains(v.as_str()) {
            variants.push(VariantInfo {
                name: v.to_string(),
                description: "(not described in the run metadata)".into(),
                ..Default::default()
            });
        }
    }
    part(
        ("variants", "Variants", "Variants"),
        include_str!("../../reports/templates/parts/variants.html.tera"),
        &Variants { variants },
    )
}

#[derive(Serialize)]
struct ChangesPart {
    changes: Changes,
}

/// The rows that changed against the baseline (none without one).
pub(super) fn changes(d: &PageData) -> Result<Option<Section>, String> {
    let Some(b) = d.baseline else {
        return Ok(None);
    };
    let ctx = ChangesPart {
        changes: changes_section(b, d.results),
    };
    part(
        (
            "changes",
            "Changes vs baseline",
            "Changes against the baseline",
        ),
        include_str!("../../reports/templates/parts/changes.html.tera"),
        &ctx,
    )
    .map(Some)
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
