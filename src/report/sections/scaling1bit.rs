//! Report section of the `scaling1bit` study: training loss and the
//! 1-bit/full-precision output gap against width, with the power-law fits.

use super::Section;
use crate::report::charts::{line_chart, Axes, Series, SeriesStyle};
use crate::suite::studies::scaling1bit::Scaling1bitStudy;
use serde::Serialize;

const TEMPLATE: &str = include_str!("../../../reports/templates/sections/scaling1bit.html.tera");

#[derive(Serialize)]
struct Row {
    width: usize,
    train_fp: String,
    train_1bit: String,
    test_fp: String,
    test_1bit: String,
    diff: String,
    rel: String,
}

#[derive(Serialize)]
struct Fit {
    series: String,
    law: String,
    r2: String,
    log_rms: String,
    ci: String,
}

/// The study's sections.
pub fn render(s: &Scaling1bitStudy) -> Result<Vec<Section>, String> {
    let e = |x: f64| format!("{x:.3e}");
    let rows: Vec<Row> = s
        .rows
        .iter()
        .map(|r| Row {
            width: r.width,
            train_fp: e(r.train_fp),
            train_1bit: e(r.train_1bit),
            test_fp: e(r.test_fp),
            test_1bit: e(r.test_1bit),
            diff: e(r.gen_diff),
            rel: format!("{:.2} %", 100.0 * r.gen_diff_rel),
        })
        .collect();
    let fits: Vec<Fit> = s
        .fits
        .iter()
        .map(|f| Fit {
            series: f.series.clone(),
            law: format!("{:.3e} · W^−{:.3} + {:.3e}", f.a, f.alpha, f.c),
            r2: format!("{:.4}", f.r2),
            log_rms: format!("{:.3}", f.log_rms),
            ci: f
                .alpha_ci
                .map_or("–".into(), |(lo, hi)| format!("[{lo:.3}, {hi:.3}]")),
        })
        .collect();
    let pts =
        |f: &dyn Fn(&crate::suite::studies::scaling1bit::WidthRow) -> f64| -> Vec<(f64, f64)> {
            s.rows.iter().map(|r| (r.width as f64, f(r))).collect()
        };
    let mut series = vec![
        Series {
            label: "full precision, training".into(),
            points: pts(&|r| r.train_fp),
            style: SeriesStyle::LineWithPoints,
        },
        Series {
            label: "1-bit, training".into(),
            points: pts(&|r| r.train_1bit),
            style: SeriesStyle::LineWithPoints,
        },
        Series {
            label: "full precision, held-out".into(),
            points: pts(&|r| r.test_fp),
            style: SeriesStyle::Points,
        },
        Series {
            label: "1-bit, held-out".into(),
            points: pts(&|r| r.test_1bit),
            style: SeriesStyle::Points,
        },
    ];
    for f in &s.fits {
        series.push(Series {
            label: format!("fit, {}", f.series),
            points: pts(&|r| f.a * (r.width as f64).powf(-f.alpha) + f.c),
            style: SeriesStyle::Thin,
        });
    }
    let log = |x: &str, y: &str| Axes {
        x_desc: x.into(),
        y_desc: y.into(),
        x_log: true,
        y_log: true,
    };
    let loss_chart = line_chart(
        &series,
        &log("width W (hidden units)", "loss ½·mean (f − y)²"),
    )?;
    let gap_chart = line_chart(
        &[Series {
            label: "mean |f_1bit − f_fp| / teacher RMS".into(),
            points: pts(&|r| r.gen_diff_rel),
            style: SeriesStyle::LineWithPoints,
        }],
        &log(
            "width W (hidden units)",
            "generalization difference (relative)",
        ),
    )?;
    let ctx = serde_json::json!({
        "task": s.task,
        "teacher_rms": format!("{:.3}", s.teacher_rms),
        "rows": rows,
        "fits": fits,
        "verdict": s.verdict,
        "loss_chart": loss_chart,
        "gap_chart": gap_chart,
    });
    Ok(vec![Section::rendered(
        "scaling1bit",
        "1-bit scaling law: loss and output gap against width",
        "scaling1bit",
        TEMPLATE,
        &ctx,
    )?])
}
