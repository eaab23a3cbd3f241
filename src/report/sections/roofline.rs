//! Report sections of the `roofline` study: the machine's ceilings, one
//! log-log roofline chart per shape, and every variant's placement.

use super::{render_template, Section};
use crate::report::charts::{line_chart, Axes, Series, SeriesStyle};
use crate::report::summary::{fmt_short, fmt_value};
use crate::suite::studies::roofline::{RooflinePoint, RooflineStudy};
use serde::Serialize;

const TEMPLATE: &str = include_str!("../../../reports/templates/sections/roofline.html.tera");

#[derive(Serialize)]
struct Ceiling {
    label: String,
    value: String,
    unit: String,
    ridge: String,
    source: String,
}

#[derive(Serialize)]
struct Figure {
    id: String,
    title: String,
    svg: String,
}

#[derive(Serialize)]
struct Row {
    variant: String,
    shape: String,
    ceiling: String,
    ai: String,
    attainable: String,
    unit: String,
    pct_peak: String,
    bound: String,
}

#[derive(Serialize)]
struct Ctx {
    machine: String,
    description: String,
    scope: String,
    cores: u32,
    dram: String,
    ceilings: Vec<Ceiling>,
    bandwidths: Vec<Ceiling>,
    figures: Vec<Figure>,
    rows: Vec<Row>,
    notes: Vec<String>,
}

fn shape_str(s: [usize; 3]) -> String {
    format!("{}×{}×{}", s[0], s[1], s[2])
}

/// The study's section (none when it placed no variant and has no notes).
pub fn render(s: &RooflineStudy) -> Result<Vec<Section>, String> {
    if s.points.is_empty() && s.notes.is_empty() {
        return Ok(Vec::new());
    }
    let dram = s.bandwidth.first().map_or(f64::NAN, |b| b.value);
    let unit_of = |label: &str| {
        s.compute
            .iter()
            .find(|c| c.label == label)
            .map_or(String::new(), |c| c.unit.clone())
    };
    let ceilings = s
        .compute
        .iter()
        .map(|c| Ceiling {
            label: c.label.clone(),
            value: fmt_value(c.value),
            unit: c.unit.clone(),
            ridge: fmt_value(c.value / dram),
            source: c.source.clone(),
        })
        .collect();
    let bandwidths = s
        .bandwidth
        .iter()
        .map(|b| Ceiling {
            label: b.label.clone(),
            value: fmt_value(b.value),
            unit: b.unit.clone(),
            ridge: String::new(),
            source: b.source.clone(),
        })
        .collect();
    let mut shapes: Vec<[usize; 3]> = Vec::new();
    for p in &s.points {
        if !shapes.contains(&p.shape) {
            shapes.push(p.shape);
        }
    }
    let mut figures = Vec::new();
    for &shape in &shapes {
        let pts: Vec<&RooflinePoint> = s.points.iter().filter(|p| p.shape == shape).collect();
        figures.push(Figure {
            id: format!("roofline-{}x{}x{}", shape[0], shape[1], shape[2]),
            title: format!(
                "Roofline at {} (M×K×N), {} ceilings of {}",
                shape_str(shape),
                s.scope,
                s.machine
            ),
            svg: chart(s, &pts, dram)?,
        });
    }
    let rows = s
        .points
        .iter()
        .map(|p| Row {
            variant: p.variant.clone(),
            shape: shape_str(p.shape),
            ceiling: p.ceiling.clone(),
            ai: fmt_value(p.ai),
            attainable: fmt_value(p.attainable_gops),
            unit: unit_of(&p.ceiling),
            pct_peak: format!("{:.0} %", 100.0 * p.attainable_gops / p.peak_gops),
            bound: p.bound.clone(),
        })
        .collect();
    let ctx = Ctx {
        machine: s.machine.clone(),
        description: s.machine_description.clone(),
        scope: s.scope.clone(),
        cores: s.cores,
        dram: fmt_value(dram),
        ceilings,
        bandwidths,
        figures,
        rows,
        notes: s.notes.clone(),
    };
    Ok(vec![Section {
        id: "roofline".into(),
        title: "Roofline".into(),
        html: render_template("roofline", TEMPLATE, &ctx)?,
    }])
}

/// Log-log chart: one thin roof per compute ceiling (slanted at the DRAM
/// bandwidth up to its ridge point, then flat), then the variants as points
/// grouped by the ceiling they run on.
fn chart(s: &RooflineStudy, pts: &[&RooflinePoint], dram: f64) -> Result<String, String> {
    let ais = pts.iter().map(|p| p.ai);
    let lo = ais.clone().fold(f64::INFINITY, f64::min) / 2.0;
    let hi = ais
        .chain(s.compute.iter().map(|c| c.value / dram))
        .fold(0.0, f64::max)
        * 2.0;
    let (x_lo, x_hi) = (
        10f64.powf(lo.log10().floor()),
        10f64.powf(hi.log10().ceil()),
    );
    let mut series = Vec::new();
    for c in &s.compute {
        let ridge = (c.value / dram).clamp(x_lo, x_hi);
        series.push(Series {
            label: format!(
                "{} roof ({} {}, ridge {} ops/B)",
                c.label,
                fmt_short(c.value),
                c.unit,
                fmt_short(c.value / dram)
            ),
            points: vec![
                (x_lo, (x_lo * dram).min(c.value)),
                (ridge, (ridge * dram).min(c.value)),
                (x_hi, (x_hi * dram).min(c.value)),
            ],
            style: SeriesStyle::Thin,
        });
    }
    for c in &s.compute {
        let points: Vec<(f64, f64)> = pts
            .iter()
            .filter(|p| p.ceiling == c.label)
            .map(|p| (p.ai, p.attainable_gops))
            .collect();
        if !points.is_empty() {
            series.push(Series {
                label: format!("variants on {} ({})", c.label, points.len()),
                points,
                style: SeriesStyle::Points,
            });
        }
    }
    line_chart(
        &series,
        &Axes {
            x_desc: "arithmetic intensity (2·MACs per DRAM byte)".into(),
            y_desc: "attainable G ops/s".into(),
            x_log: true,
            y_log: true,
        },
    )
}
