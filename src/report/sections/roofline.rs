//! Report sections of the `roofline` study: the machine's ceilings, one
//! log-log roofline chart per shape, and every variant's placement; beside
//! the model's points, the native kernels measured in the same run at the
//! same shape (the suite's `native_gops` rows).

use super::Section;
use crate::report::charts::{roofline_chart, Roof, RoofPoint};
use crate::report::summary::fmt_value;
use crate::suite::kernel_bench::median;
use crate::suite::record::{metric, Measurement};
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
    measured: String,
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
    any_measured: bool,
    notes: Vec<String>,
}

fn shape_str(s: [usize; 3]) -> String {
    format!("{}×{}×{}", s[0], s[1], s[2])
}

/// The measured native G ops/s of `variant` at `shape`: the median of the
/// run's `native_gops` rows there (every workload and seed), if any.
pub fn measured_gops(rows: &[Measurement], variant: &str, shape: [usize; 3]) -> Option<f64> {
    let shape = format!("{}x{}x{}", shape[0], shape[1], shape[2]);
    let v: Vec<f64> = rows
        .iter()
        .filter(|r| r.metric == metric::NATIVE_GOPS && r.variant == variant && r.shape == shape)
        .map(|r| r.value)
        .collect();
    (!v.is_empty()).then(|| median(&v))
}

/// The study's section (none when it placed no variant and has no notes),
/// with the native kernels measured in `rows` beside the model's points.
pub fn render(s: &RooflineStudy, rows: &[Measurement]) -> Result<Vec<Section>, String> {
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
            svg: chart(s, &pts, dram, rows)?,
        });
    }
    let measured: Vec<Option<f64>> = s
        .points
        .iter()
        .map(|p| measured_gops(rows, &p.variant, p.shape))
        .collect();
    let any_measured = measured.iter().any(Option::is_some);
    let rows = s
        .points
        .iter()
        .zip(&measured)
        .map(|(p, m)| Row {
            variant: p.variant.clone(),
            shape: shape_str(p.shape),
            ceiling: p.ceiling.clone(),
            ai: fmt_value(p.ai),
            attainable: fmt_value(p.attainable_gops),
            unit: unit_of(&p.ceiling),
            pct_peak: format!("{:.0} %", 100.0 * p.attainable_gops / p.peak_gops),
            bound: p.bound.clone(),
            measured: m.map_or(String::new(), fmt_value),
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
        any_measured,
        notes: s.notes.clone(),
    };
    Ok(vec![Section::rendered(
        "roofline", "Roofline", "roofline", TEMPLATE, &ctx,
    )?])
}

/// The roofline chart of one shape: a roof per compute ceiling, the
/// variants as points labelled without the prefix all their names share,
/// and beside each the native kernel measured in `rows` (at the model's AI).
fn chart(
    s: &RooflineStudy,
    pts: &[&RooflinePoint],
    dram: f64,
    rows: &[Measurement],
) -> Result<String, String> {
    let roofs: Vec<Roof> = s
        .compute
        .iter()
        .map(|c| Roof {
            label: c.label.clone(),
            peak: c.value,
            unit: c.unit.clone(),
        })
        .collect();
    let names: Vec<&str> = pts.iter().map(|p| p.variant.as_str()).collect();
    let prefix = common_prefix(&names);
    let points: Vec<RoofPoint> = pts
        .iter()
        .filter_map(|p| {
            let roof = s.compute.iter().position(|c| c.label == p.ceiling)?;
            Some(RoofPoint {
                label: p.variant[prefix..].to_string(),
                ai: p.ai,
                gops: p.attainable_gops,
                roof,
                measured: false,
            })
        })
        .collect();
    let measured = pts.iter().filter_map(|p| {
        let roof = s.compute.iter().position(|c| c.label == p.ceiling)?;
        Some(RoofPoint {
            label: format!("{} (native)", &p.variant[prefix..]),
            ai: p.ai,
            gops: measured_gops(rows, &p.variant, p.shape)?,
            roof,
            measured: true,
        })
    });
    let points: Vec<RoofPoint> = points.into_iter().chain(measured).collect();
    roofline_chart(&roofs, &points, dram)
}

/// Length of the prefix up to and including the last `/` that all names share.
fn common_prefix(names: &[&str]) -> usize {
    let Some(first) = names.first() else {
        return 0;
    };
    let Some(slash) = first.rfind('/') else {
        return 0;
    };
    let prefix = &first[..=slash];
    if names
        .iter()
        .all(|n| n.starts_with(prefix) && n.len() > prefix.len())
    {
        prefix.len()
    } else {
        0
    }
}
