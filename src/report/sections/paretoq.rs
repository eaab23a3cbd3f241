//! Report section of the `paretoq` study: held-out error of each weight bit
//! width at equal weight memory.

use super::Section;
use crate::report::charts::{line_chart, Axes, Series, SeriesStyle};
use crate::suite::studies::paretoq::ParetoqStudy;
use serde::Serialize;

const TEMPLATE: &str = include_str!("../../../reports/templates/sections/paretoq.html.tera");

#[derive(Serialize)]
struct Row {
    budget: String,
    bits: String,
    width: usize,
    params: usize,
    train: String,
    test: String,
    rel: String,
    best: bool,
}

fn bits_name(b: f64) -> String {
    if b == 32.0 {
        "32 (f32)".into()
    } else {
        format!("{b}")
    }
}

/// The study's sections.
pub fn render(s: &ParetoqStudy) -> Result<Vec<Section>, String> {
    let rows: Vec<Row> = s
        .rows
        .iter()
        .map(|r| Row {
            budget: format!("{:.0}", r.budget_bits),
            bits: bits_name(r.bits),
            width: r.width,
            params: r.params,
            train: format!("{:.3e}", r.train_loss),
            test: format!("{:.3e}", r.test_loss),
            rel: format!("{:.4}", r.rel_error),
            best: s
                .best
                .iter()
                .any(|&(b, w)| b == r.budget_bits && w == r.bits),
        })
        .collect();
    let mut budgets: Vec<f64> = s.rows.iter().map(|r| r.budget_bits).collect();
    budgets.dedup();
    let series: Vec<Series> = budgets
        .iter()
        .map(|&b| Series {
            label: format!("{b:.0} weight bits"),
            points: s
                .rows
                .iter()
                .filter(|r| r.budget_bits == b)
                .map(|r| (r.bits, r.rel_error))
                .collect(),
            style: SeriesStyle::LineWithPoints,
        })
        .collect();
    let chart = line_chart(
        &series,
        &Axes {
            x_desc: "bits per weight".into(),
            y_desc: "held-out error / teacher".into(),
            x_log: true,
            y_log: true,
        },
    )?;
    let best: Vec<String> = s
        .best
        .iter()
        .map(|(b, w)| format!("{} bits at {b:.0} weight bits", bits_name(*w)))
        .collect();
    let ctx = serde_json::json!({ "task": s.task, "rows": rows, "chart": chart, "best": best.join("; ") });
    Ok(vec![Section::rendered(
        "paretoq",
        "Weight bit widths at equal memory",
        "paretoq",
        TEMPLATE,
        &ctx,
    )?])
}
