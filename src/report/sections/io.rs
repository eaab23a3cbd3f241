//! Report sections of the `io` study: traffic versus cache size (closed
//! form, simulation, Saha–Ye bound), traffic by element format, and the
//! energy of data movement beside the arithmetic.

use super::Section;
use crate::report::charts::{line_chart, Axes, Series, SeriesStyle};
use crate::report::summary::fmt_short;
use crate::size::size_label;
use crate::suite::studies::io::{IoStudy, IoSweep};
use serde::Serialize;

const TEMPLATE: &str = include_str!("../../../reports/templates/sections/io.html.tera");

#[derive(Serialize)]
struct Ctx<'a> {
    section: &'a str,
    id: &'a str,
    n: u64,
    d: u64,
    format: &'a str,
    line: u32,
    dram_pj: String,
    macs: String,
    mac_pj: String,
    chart: String,
    caption: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    notes: Vec<String>,
}

/// The study's sections: `io-cache`, `io-formats`, `io-energy`.
pub fn render(s: &IoStudy) -> Result<Vec<Section>, String> {
    if s.variants.is_empty() {
        return Ok(Vec::new());
    }
    let base = |section: &'static str, id: &'static str| Ctx {
        section,
        id,
        n: s.n,
        d: s.d,
        format: &s.format,
        line: s.line,
        dram_pj: fmt_short(s.dram_pj_per_byte),
        macs: format!("{:.3e}", s.macs),
        mac_pj: fmt_short(s.mac_pj),
        chart: String::new(),
        caption: String::new(),
        headers: Vec::new(),
        rows: Vec::new(),
        notes: Vec::new(),
    };
    let section = |ctx: &Ctx, title: &str| -> Result<Section, String> {
        Section::rendered(ctx.id, title, "io", TEMPLATE, ctx)
    };
    let log = |y: &str| Axes {
        x_desc: "cache size (bytes)".into(),
        y_desc: y.into(),
        x_log: true,
        y_log: true,
    };
    let short = |v: &str| v.trim_start_matches("attention/").to_string();

    // (a) traffic versus cache size.
    let mut a = base("cache", "io-cache");
    let mut series = Vec::new();
    for v in &s.variants {
        series.push(Series {
            label: format!("{}: closed form", short(&v.variant)),
            points: points(v, |r| r.closed_cached_bytes),
            style: SeriesStyle::LineWithPoints,
        });
        series.push(Series {
            label: format!("{}: simulated", short(&v.variant)),
            points: points(v, |r| r.simulated_bytes as f64),
            style: SeriesStyle::Points,
        });
    }
    series.push(Series {
        label: "Saha–Ye lower bound".into(),
        points: points(&s.variants[0], |r| r.bound_bytes),
        style: SeriesStyle::Thin,
    });
    a.chart = line_chart(&series, &log("bytes to and from memory"))?;
    a.caption = format!(
        "Attention traffic versus cache size, N = {}, d = {}, {}",
        s.n, s.d, s.format
    );
    a.headers = ["cache", "M words", "regime", "bound"]
        .map(String::from)
        .to_vec();
    for v in &s.variants {
        let n = short(&v.variant);
        a.headers.extend([
            format!("{n} tiles"),
            format!("{n} closed"),
            format!("{n} simulated"),
            format!("{n} sim/closed"),
        ]);
    }
    for (i, r0) in s.variants[0].rows.iter().enumerate() {
        let mut row = vec![
            size_label(r0.cache_bytes),
            r0.m_words.to_string(),
            r0.regime.clone(),
            fmt_bytes(r0.bound_bytes),
        ];
        for v in &s.variants {
            let r = &v.rows[i];
            row.extend([
                r.tiles.clone(),
                fmt_bytes(r.closed_cached_bytes),
                fmt_bytes(r.simulated_bytes as f64),
                format!("{:.3}", r.ratio),
            ]);
        }
        a.rows.push(row);
    }
    a.notes = s
        .variants
        .iter()
        .map(|v| {
            format!(
                "{}: simulated / closed form between {:.3} and {:.3} over all sizes.",
                v.variant, v.band.0, v.band.1
            )
        })
        .collect();
    a.notes.push(
        "Closed forms count reads + writes + the write-allocate fills of lines written before being read; \
         a ratio above 1 comes from lines fetched whole for partial segments or from LRU evicting what the \
         schedule keeps, below 1 from reuse the schedule does not plan."
            .into(),
    );

    // (b) traffic by format.
    let mut b = base("formats", "io-formats");
    b.chart = line_chart(
        &s.formats
            .iter()
            .map(|f| Series {
                label: format!("{} ({} bits)", f.format, fmt_short(f.bits_per_element)),
                points: points(f, |r| r.simulated_bytes as f64),
                style: SeriesStyle::LineWithPoints,
            })
            .collect::<Vec<_>>(),
        &log("simulated bytes to and from memory"),
    )?;
    b.caption = format!(
        "FlashAttention traffic by element format, N = {}, d = {}",
        s.n, s.d
    );
    b.headers = vec!["format".into(), "bits/element".into()];
    if let Some(f) = s.formats.first() {
        b.headers
            .extend(f.rows.iter().map(|r| size_label(r.cache_bytes)));
    }
    for f in &s.formats {
        let mut row = vec![f.format.clone(), fmt_short(f.bits_per_element)];
        row.extend(
            f.rows
                .iter()
                .map(|r| format!("{} ({})", fmt_bytes(r.simulated_bytes as f64), r.tiles)),
        );
        b.rows.push(row);
    }

    // (c) energy of data movement.
    let mut c = base("energy", "io-energy");
    let uj = |pj: f64| pj * 1e-6;
    let mut series = Vec::new();
    for v in &s.variants {
        let pts = s
            .energy
            .iter()
            .filter(|e| e.variant == v.variant)
            .map(|e| (e.cache_bytes as f64, uj(e.dram_pj + e.sram_pj)))
            .collect();
        series.push(Series {
            label: format!("{}: DRAM + SRAM", short(&v.variant)),
            points: pts,
            style: SeriesStyle::LineWithPoints,
        });
    }
    series.push(Series {
        label: "arithmetic".into(),
        points: s
            .energy
            .iter()
            .filter(|e| e.variant == s.variants[0].variant)
            .map(|e| (e.cache_bytes as f64, uj(e.compute_pj)))
            .collect(),
        style: SeriesStyle::Thin,
    });
    c.chart = line_chart(&series, &log("energy (µJ)"))?;
    c.caption = format!(
        "Energy of one attention, N = {}, d = {}, {}",
        s.n, s.d, s.format
    );
    c.headers = [
        "variant",
        "cache",
        "DRAM bytes",
        "SRAM bytes",
        "DRAM µJ",
        "SRAM µJ",
        "compute µJ",
        "movement / compute",
    ]
    .map(String::from)
    .to_vec();
    for e in &s.energy {
        c.rows.push(vec![
            e.variant.clone(),
            size_label(e.cache_bytes),
            fmt_bytes(e.dram_bytes as f64),
            fmt_bytes(e.sram_bytes as f64),
            format!("{:.2}", uj(e.dram_pj)),
            format!("{:.2}", uj(e.sram_pj)),
            format!("{:.2}", uj(e.compute_pj)),
            format!("{:.2}", (e.dram_pj + e.sram_pj) / e.compute_pj),
        ]);
    }
    c.notes = s.energy_notes.clone();

    Ok(vec![
        section(&a, "I/O versus cache size")?,
        section(&b, "I/O by element format")?,
        section(&c, "Energy of data movement")?,
    ])
}

fn points(s: &IoSweep, f: impl Fn(&crate::suite::studies::io::IoRow) -> f64) -> Vec<(f64, f64)> {
    s.rows
        .iter()
        .map(|r| (r.cache_bytes as f64, f(r)))
        .collect()
}

/// Bytes with a binary unit, three decimals (`1.250 MiB`).
fn fmt_bytes(b: f64) -> String {
    crate::size::size_rounded(b)
}
