//! Report sections of the `attention` study: error versus energy with its
//! Pareto front (and every metric per variant and phase), the per-row KL
//! distribution, and bytes moved against the Saha–Ye bound.

use super::Section;
use crate::report::charts::{error_energy_scatter, hbar_chart, Bar, ScatterPoint, PART_COLORS};
use plotters::style::RGBColor;

/// The bound's part of a bar.
const BOUND_GREY: RGBColor = RGBColor(160, 160, 166);
use crate::report::summary::fmt_short;
use crate::size::{size_label, size_rounded};
use crate::suite::studies::attention::AttentionStudy;
use serde::Serialize;

const TEMPLATE: &str = include_str!("../../../reports/templates/sections/attention.html.tera");

#[derive(Serialize)]
struct Ctx<'a> {
    section: &'a str,
    id: &'a str,
    workload: &'a str,
    io_n: usize,
    io_d: usize,
    cache: String,
    chart: String,
    caption: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    notes: Vec<String>,
}

fn sci(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else {
        format!("{x:.2e}")
    }
}

/// The study's sections: `attention-accuracy`, `attention-kl`, `attention-io`,
/// and `attention-approx` when the run has approximate variants
/// ([`super::approx`]).
pub fn render(s: &AttentionStudy) -> Result<Vec<Section>, String> {
    if s.rows.is_empty() {
        return Ok(Vec::new());
    }
    let base = |section: &'static str, id: &'static str| Ctx {
        section,
        id,
        workload: &s.workload,
        io_n: s.io_shape.0,
        io_d: s.io_shape.1,
        cache: size_label(s.cache_bytes),
        chart: String::new(),
        caption: String::new(),
        headers: Vec::new(),
        rows: Vec::new(),
        notes: Vec::new(),
    };
    let section = |ctx: &Ctx, title: &str| -> Result<Section, String> {
        Section::rendered(ctx.id, title, "attention", TEMPLATE, ctx)
    };
    let short = |v: &str| v.trim_start_matches("attention/").to_string();

    let mut a = base("accuracy", "attention-accuracy");
    let points: Vec<ScatterPoint> = s
        .rows
        .iter()
        .filter(|r| r.phase == "prefill" && r.variant != "attention/f64")
        .map(|r| ScatterPoint {
            label: short(&r.variant),
            energy: r.energy_pj / r.macs.max(1.0),
            error: r.rel_fro_error,
        })
        .collect();
    let (chart, left_out) = error_energy_scatter(&points)?;
    a.chart = chart;
    a.caption = format!(
        "Attention output error versus energy per MAC, prefill {}",
        s.rows.first().map(|r| r.shape.as_str()).unwrap_or("")
    );
    if !left_out.is_empty() {
        a.notes.push(format!(
            "Not drawn (zero or non-finite error or energy): {}.",
            left_out.join(", ")
        ));
    }
    a.headers = [
        "variant",
        "phase",
        "shape",
        "rel. error",
        "cosine",
        "max abs",
        "KL mean",
        "KL worst",
        "TV mean",
        "TV worst",
        "bits K/V",
        "pJ/MAC",
        "DRAM bytes",
        "emulate ms",
        "native ms",
    ]
    .map(String::from)
    .to_vec();
    for r in &s.rows {
        a.rows.push(vec![
            r.variant.clone(),
            r.phase.clone(),
            r.shape.clone(),
            sci(r.rel_fro_error),
            format!("{:.6}", r.cosine),
            sci(r.max_abs_error),
            sci(r.kl_mean),
            sci(r.kl_max),
            sci(r.tv_mean),
            sci(r.tv_max),
            fmt_short(r.kv_bits),
            fmt_short(r.energy_pj / r.macs.max(1.0)),
            size_rounded(r.dram_bytes),
            format!("{:.1}", r.emulate_ms),
            r.native_ms.map_or("-".into(), |n| format!("{n:.2}")),
        ]);
    }
    a.notes.extend(s.notes.iter().cloned());

    let mut k = base("kl", "attention-kl");
    k.headers = [
        "variant",
        "rows",
        "median",
        "99th percentile",
        "worst",
        "mean",
    ]
    .map(String::from)
    .to_vec();
    for r in s.rows.iter().filter(|r| r.phase == "prefill") {
        let n = s
            .kl_rows
            .iter()
            .find(|(v, _)| *v == r.variant)
            .map_or(0, |(_, k)| k.len());
        k.rows.push(vec![
            r.variant.clone(),
            n.to_string(),
            sci(r.kl_p50),
            sci(r.kl_p99),
            sci(r.kl_max),
            sci(r.kl_mean),
        ]);
    }

    let mut io = base("io", "attention-io");
    io.headers = [
        "variant",
        "schedule",
        "format",
        "closed form",
        "simulated",
        "sim/closed",
        "Saha–Ye bound",
        "closed/bound",
        "native ms (prefill)",
    ]
    .map(String::from)
    .to_vec();
    for p in &s.io {
        io.rows.push(vec![
            p.variant.clone(),
            p.generator.clone(),
            p.format.clone(),
            size_rounded(p.closed_bytes),
            size_rounded(p.simulated_bytes as f64),
            format!("{:.3}", p.simulated_bytes as f64 / p.closed_bytes.max(1.0)),
            size_rounded(p.bound_bytes),
            format!("{:.2}", p.closed_bytes / p.bound_bytes.max(1.0)),
            s.rows
                .iter()
                .find(|r| r.variant == p.variant && r.phase == "prefill")
                .and_then(|r| r.native_ms)
                .map_or("–".into(), |n| format!("{n:.2}")),
        ]);
    }
    // Each variant's bytes drawn against the bound: the grey part of a bar
    // is the Saha–Ye bound, the blue part what the schedule moves above it.
    let bars: Vec<Bar> =
        s.io.iter()
            .map(|p| {
                let mib = |b: f64| b / (1024.0 * 1024.0);
                Bar {
                    label: short(&p.variant),
                    segments: vec![
                        mib(p.bound_bytes.min(p.closed_bytes)),
                        mib((p.closed_bytes - p.bound_bytes).max(0.0)),
                    ],
                    text: format!(
                        "{} ({:.2}× the bound; simulated {})",
                        size_rounded(p.closed_bytes),
                        p.closed_bytes / p.bound_bytes.max(1.0),
                        size_rounded(p.simulated_bytes as f64)
                    ),
                }
            })
            .collect();
    if !bars.is_empty() {
        io.chart = hbar_chart(
            "slow-memory MiB (closed form)",
            &[
                ("Saha–Ye lower bound", BOUND_GREY),
                ("above the bound", PART_COLORS[0]),
            ],
            &bars,
        )?;
        io.caption = format!(
            "Slow-memory bytes of each variant's schedule against the Saha–Ye lower bound, N = {}, d = {}, cache {}",
            s.io_shape.0,
            s.io_shape.1,
            size_label(s.cache_bytes)
        );
    }
    io.notes.push(
        "Native times are one run of the kernel on the prefill workload (noisy); the suite's \
         attention cells time every native kernel against a same-run ceiling."
            .into(),
    );

    let mut out = vec![
        section(&a, "Attention: error versus energy")?,
        section(&k, "Attention: per-row KL distribution")?,
        section(&io, "Attention: bytes moved")?,
    ];
    out.extend(super::approx::render(s)?);
    Ok(out)
}
