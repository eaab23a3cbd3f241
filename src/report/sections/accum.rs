//! Report sections of the `accum` study: the error table and log-log
//! charts of error versus reduction length, one for float operands and one
//! for int8 operands.

use super::Section;
use crate::report::charts::{line_chart, Axes, Series, SeriesStyle};
use crate::report::summary::fmt_short;
use crate::report::template::render_template;
use crate::suite::studies::accum::{AccumPoint, AccumRow, AccumStudy};
use serde::Serialize;

#[derive(Serialize)]
struct Cell {
    text: String,
    title: String,
}

#[derive(Serialize)]
struct Row<'a> {
    operands: &'a str,
    label: &'a str,
    spec: &'a str,
    add_op: &'a str,
    add_pj: String,
    cells: Vec<Cell>,
}

#[derive(Serialize)]
struct Chart {
    id: String,
    title: String,
    how: String,
    svg: String,
}

#[derive(Serialize)]
struct Ctx<'a> {
    operand: &'a str,
    trials: usize,
    ks: &'a [usize],
    rows: Vec<Row<'a>>,
    finding: String,
    charts: Vec<Chart>,
}

fn cell(p: &AccumPoint) -> Cell {
    match (p.rel_rms_error, p.rel_max_error) {
        (Some(e), Some(m)) => Cell {
            text: if e == 0.0 { "0".into() } else { fmt_short(e) },
            title: format!("largest relative error {}", fmt_short(m)),
        },
        _ => Cell {
            text: "overflow".into(),
            title: "a result was infinite or NaN".into(),
        },
    }
}

/// The error at the largest K, if finite.
fn last(r: &AccumRow) -> Option<f64> {
    r.points.last().and_then(|p| p.rel_rms_error)
}

/// One or two sentences on what the data shows, computed from it.
fn finding(s: &AccumStudy) -> String {
    let Some(&kmax) = s.ks.last() else {
        return String::new();
    };
    let nonzero: Vec<(&AccumRow, f64)> = s
        .rows
        .iter()
        .filter_map(|r| last(r).filter(|&e| e > 0.0).map(|e| (r, e)))
        .collect();
    let mut out = String::new();
    if let (Some(worst), Some(best)) = (
        nonzero.iter().max_by(|a, b| a.1.total_cmp(&b.1)),
        nonzero.iter().min_by(|a, b| a.1.total_cmp(&b.1)),
    ) {
        out += &format!(
            "At K = {kmax} the largest error is {} ({}: {}) and the smallest non-zero one {} ({}: {}), {} times apart.",
            fmt_short(worst.1),
            worst.0.operands,
            worst.0.label,
            fmt_short(best.1),
            best.0.operands,
            best.0.label,
            fmt_short(worst.1 / best.1)
        );
    }
    let find = |spec: &str| s.rows.iter().find(|r| r.spec == spec).and_then(last);
    if let (Some(seq), Some(chunk)) = (
        find("acc=e8m13:rtz,order=seq,product=exact"),
        find("acc=e8m13:rtz,order=chunk:128,product=exact"),
    ) {
        if chunk > 0.0 {
            out += &format!(
                " Promoting the truncating e8m13 register into f32 every 128 products cuts its error {}× ({} → {}).",
                fmt_short(seq / chunk),
                fmt_short(seq),
                fmt_short(chunk)
            );
        }
    }
    let exact: Vec<&str> = s
        .rows
        .iter()
        .filter(|r| r.points.iter().all(|p| p.rel_rms_error == Some(0.0)))
        .map(|r| r.label.as_str())
        .collect();
    if !exact.is_empty() {
        out += &format!(
            " Error-free at every K (not drawn on the log axis): {}.",
            exact.join("; ")
        );
    }
    out
}

fn chart(s: &AccumStudy, int: bool) -> Result<Option<Chart>, String> {
    let rows: Vec<&AccumRow> = s
        .rows
        .iter()
        .filter(|r| (r.operands == "int8") == int)
        .collect();
    if rows.is_empty() {
        return Ok(None);
    }
    let series: Vec<Series> = rows
        .iter()
        .map(|r| Series {
            label: r.label.clone(),
            points: r
                .points
                .iter()
                .filter_map(|p| p.rel_rms_error.map(|e| (p.k as f64, e)))
                .collect(),
            style: SeriesStyle::LineWithPoints,
        })
        .collect();
    let axes = Axes {
        x_desc: "reduction length K".into(),
        y_desc: "relative RMS error".into(),
        x_log: true,
        y_log: true,
    };
    let (id, title, how) = if int {
        (
            "accum-int",
            "Error versus K, int8 operands".to_string(),
            "int8 × int8 products summed in integer registers. A wide enough register is exact (not drawn); a narrow one \
             saturates or wraps once the running sum leaves its range, and its error jumps."
                .to_string(),
        )
    } else {
        (
            "accum-float",
            format!("Error versus K, {} operands", s.operand),
            "Log-log: a sequential register whose rounding errors are random grows roughly like √K; one that \
             truncates, or stagnates once the sum dwarfs each product, grows faster. Trees and chunking keep the \
             running sums short. Exact registers have no error and are not drawn."
                .to_string(),
        )
    };
    Ok(Some(Chart {
        id: id.into(),
        title,
        how,
        svg: line_chart(&series, &axes)?,
    }))
}

/// The study's sections: one, `accum`, with the table and the two charts.
pub fn render(s: &AccumStudy) -> Result<Vec<Section>, String> {
    if s.rows.is_empty() {
        return Ok(Vec::new());
    }
    let rows = s
        .rows
        .iter()
        .map(|r| Row {
            operands: &r.operands,
            label: &r.label,
            spec: &r.spec,
            add_op: &r.add_op,
            add_pj: fmt_short(r.add_pj),
            cells: r.points.iter().map(cell).collect(),
        })
        .collect();
    let charts = [chart(s, false)?, chart(s, true)?]
        .into_iter()
        .flatten()
        .collect();
    let ctx = Ctx {
        operand: &s.operand,
        trials: s.trials,
        ks: &s.ks,
        rows,
        finding: finding(s),
        charts,
    };
    let html = render_template(
        "accum",
        include_str!("../../../reports/templates/sections/accum.html.tera"),
        &ctx,
    )?;
    Ok(vec![Section::new("accum", "Accumulators", html)])
}
