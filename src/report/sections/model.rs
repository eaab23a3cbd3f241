//! Report sections of the `model` study: every configuration's accuracy on
//! the real model beside its bits per weight and energy per sentence (a
//! table and two charts with their Pareto fronts), each layer's output SQNR,
//! and the activation outliers of each layer's input.

use super::Section;
use crate::report::charts::{
    front_chart, line_chart, Axes, FrontAxes, FrontPoint, Series, SeriesStyle,
};
use crate::report::pareto::pareto_front;
use crate::report::summary::fmt_short;
use crate::size::size_rounded;
use crate::suite::studies::model::{ModelRow, ModelStudy};
use serde::Serialize;

const TEMPLATE: &str = include_str!("../../../reports/templates/sections/model.html.tera");

/// One table cell; `strong` marks the figure a row is read for.
#[derive(Serialize)]
struct Cell {
    text: String,
    strong: bool,
}

fn cell(text: impl Into<String>) -> Cell {
    Cell {
        text: text.into(),
        strong: false,
    }
}

#[derive(Serialize)]
struct Figure {
    id: String,
    caption: String,
    chart: String,
}

#[derive(Serialize)]
struct Ctx<'a> {
    section: &'a str,
    id: &'a str,
    model: &'a str,
    eval_set: &'a str,
    sentences: usize,
    pairs: usize,
    queries: usize,
    docs: usize,
    tokens: usize,
    batch: usize,
    params: String,
    overrides: String,
    seconds: String,
    figures: Vec<Figure>,
    headers: Vec<String>,
    rows: Vec<Vec<Cell>>,
    notes: Vec<String>,
}

/// The error a chart plots: `1 − mean cosine` to the f32 embeddings.
fn drift(r: &ModelRow) -> f64 {
    1.0 - r.cos_mean
}

fn opt(x: Option<f64>, digits: usize) -> String {
    x.map_or("–".into(), |v| format!("{v:.digits$}"))
}

fn short(label: &str) -> String {
    label.replace("matmul/", "").replace("attention/", "")
}

/// A front chart of `1 − mean cosine` against `x` over the rows that ran
/// and differ from f32 (zero error cannot sit on a log axis).
fn front(rows: &[&ModelRow], x: impl Fn(&ModelRow) -> f64, x_desc: &str) -> Result<String, String> {
    let coords: Vec<(f64, f64)> = rows.iter().map(|r| (x(r), drift(r))).collect();
    let on = pareto_front(&coords);
    let points: Vec<FrontPoint> = rows
        .iter()
        .zip(&coords)
        .enumerate()
        .map(|(i, (r, &(x, y)))| FrontPoint {
            label: short(&r.label),
            x,
            y,
            front: on.contains(&i),
            // Every configuration is named: the dominated ones as squares.
            known: !on.contains(&i),
        })
        .collect();
    front_chart(
        &points,
        &FrontAxes {
            x_desc: x_desc.into(),
            y_desc: "1 − mean cosine to f32 (log scale)".into(),
            log_y: true,
        },
    )
}

/// The study's sections: `model-accuracy`, `model-layers`, `model-outliers`.
pub fn render(s: &ModelStudy) -> Result<Vec<Section>, String> {
    if s.rows.is_empty() {
        return Ok(Vec::new());
    }
    let base = |section: &'static str, id: &'static str| Ctx {
        section,
        id,
        model: &s.model,
        eval_set: &s.eval_set,
        sentences: s.sentences,
        pairs: s.pairs,
        queries: s.queries,
        docs: s.docs,
        tokens: s.tokens,
        batch: s.batch,
        params: fmt_short(s.linear_params as f64),
        overrides: s.overrides.join(", "),
        seconds: format!("{:.0}", s.seconds),
        figures: Vec::new(),
        headers: Vec::new(),
        rows: Vec::new(),
        notes: Vec::new(),
    };
    let section = |ctx: &Ctx, title: &str| -> Result<Section, String> {
        Section::rendered(ctx.id, title, "model", TEMPLATE, ctx)
    };

    // Accuracy, bits and energy.
    let mut a = base("accuracy", "model-accuracy");
    let ran: Vec<&ModelRow> = s.rows.iter().filter(|r| r.error.is_none()).collect();
    let drawn: Vec<&ModelRow> = ran
        .iter()
        .copied()
        .filter(|r| drift(r) > 0.0 && drift(r).is_finite())
        .collect();
    a.figures.push(Figure {
        id: "model-bits".into(),
        caption: "Embedding drift against bits per weight of the linear layers".into(),
        chart: front(
            &drawn,
            |r| r.weight_bits,
            "bits per weight, scales included",
        )?,
    });
    a.figures.push(Figure {
        id: "model-energy".into(),
        caption: "Embedding drift against energy per sentence".into(),
        chart: front(&drawn, |r| r.energy_pj * 1e-6, "energy per sentence, µJ")?,
    });
    let not_drawn: Vec<String> = ran
        .iter()
        .filter(|r| !drawn.iter().any(|d| d.label == r.label))
        .map(|r| r.label.clone())
        .collect();
    if !not_drawn.is_empty() {
        a.notes.push(format!(
            "Not drawn (no drift from f32 to place on a log axis): {}.",
            not_drawn.join(", ")
        ));
    }
    a.headers = [
        "configuration",
        "bits/weight",
        "weights",
        "mean cos",
        "worst cos",
        "Spearman vs f32",
        "Spearman vs scores",
        "top-1 = f32",
        "recall@1",
        "worst layer",
        "µJ/sentence",
        "compute µJ",
        "sentences/s",
        "speed",
    ]
    .map(String::from)
    .to_vec();
    for r in &s.rows {
        if let Some(e) = &r.error {
            let mut row = vec![
                cell(&r.label),
                cell(fmt_short(r.weight_bits)),
                cell(size_rounded(r.weight_bytes)),
            ];
            row.push(Cell {
                text: format!("failed: {e}"),
                strong: true,
            });
            a.rows.push(row);
            continue;
        }
        a.rows.push(vec![
            cell(&r.label),
            cell(fmt_short(r.weight_bits)),
            cell(size_rounded(r.weight_bytes)),
            cell(format!("{:.6}", r.cos_mean)),
            cell(format!("{:.6}", r.cos_worst)),
            cell(opt(r.spearman, 4)),
            cell(opt(r.spearman_scores, 4)),
            cell(format!("{:.3}", r.top1_agreement)),
            cell(format!("{:.3}", r.recall_at_1)),
            cell(r.worst_layer.map_or("–".into(), |l| l.to_string())),
            cell(fmt_short(r.energy_pj * 1e-6)),
            cell(fmt_short(r.compute_pj * 1e-6)),
            cell(format!("{:.1}", r.sentences_per_s)),
            cell(&r.speed),
        ]);
    }
    for r in s
        .rows
        .iter()
        .filter(|r| r.error.is_none() && r.cos_worst < 0.99)
    {
        a.notes.push(format!(
            "{}: worst sentence (cosine {:.4}): “{}”",
            r.label, r.cos_worst, r.worst_sentence
        ));
    }
    a.notes.extend(s.notes.iter().cloned());

    // Per-layer SQNR.
    let mut l = base("layers", "model-layers");
    l.headers = std::iter::once("configuration".to_string())
        .chain((0..s.layers).map(|i| format!("layer {i}")))
        .collect();
    for r in s.rows.iter().filter(|r| r.error.is_none()) {
        let mut row = vec![cell(&r.label)];
        for (i, x) in r.layer_sqnr_db.iter().enumerate() {
            row.push(Cell {
                text: x.map_or("exact".into(), |v| format!("{v:.1}")),
                strong: r.worst_layer == Some(i),
            });
        }
        l.rows.push(row);
    }

    // Activation outliers.
    let mut o = base("outliers", "model-outliers");
    o.headers = [
        "layer: input of",
        "max |x|",
        "median channel max",
        "max / median",
        "top channels (max |x|)",
        "token peak/RMS (median)",
        "per-token int8 SQNR, dB (estimate)",
    ]
    .map(String::from)
    .to_vec();
    for x in &s.outliers {
        let top: Vec<String> = x
            .top_channels
            .iter()
            .map(|(c, v)| format!("{c} ({})", fmt_short(*v)))
            .collect();
        // Older results have no input name: the hidden state Q, K and V read.
        let input = match x.input.as_str() {
            "" | "attention.self.query" => "query/key/value".to_string(),
            other => other.to_string(),
        };
        o.rows.push(vec![
            cell(format!("layer {}: {input}", x.layer)),
            cell(fmt_short(x.max_abs)),
            cell(fmt_short(x.median_channel_max)),
            cell(format!("{:.1}", x.ratio)),
            cell(top.join(", ")),
            cell(format!("{:.1}", x.token_peak_to_rms)),
            cell(format!("{:.1}", x.int8_token_sqnr_db)),
        ]);
    }
    // The chart keeps to the hidden states (one width, one series per layer).
    let series: Vec<Series> = s
        .outliers
        .iter()
        .filter(|x| x.input.is_empty() || x.input == "attention.self.query")
        .map(|x| Series {
            label: format!("input of layer {}", x.layer),
            points: x
                .channel_max
                .iter()
                .enumerate()
                .map(|(c, &v)| (c as f64, v))
                .collect(),
            style: SeriesStyle::Thin,
        })
        .collect();
    if !series.is_empty() {
        o.figures.push(Figure {
            id: "model-outliers-chart".into(),
            caption: "Per-channel max |x| of each layer's input (the hidden state Q, K and V read) over the evaluation set".into(),
            chart: line_chart(
                &series,
                &Axes {
                    x_desc: "channel".into(),
                    y_desc: "max |x| (log scale)".into(),
                    x_log: false,
                    y_log: true,
                },
            )?,
        });
    }
    if let Some(int8) = s.rows.iter().find(|r| {
        r.matmul == "matmul/w8a8-int" && r.attention == "attention/flash-f32" && r.error.is_none()
    }) {
        let sq: Vec<String> = int8
            .layer_sqnr_db
            .iter()
            .map(|x| x.map_or("exact".into(), |v| format!("{v:.1}")))
            .collect();
        o.notes.push(format!(
            "{} (per-token int8 activations) output SQNR by layer, dB: {}.",
            int8.label,
            sq.join(", ")
        ));
    }

    Ok(vec![
        section(&a, "Real model: accuracy, bits and energy")?,
        section(&l, "Real model: output SQNR per layer")?,
        section(&o, "Real model: activation outliers")?,
    ])
}
