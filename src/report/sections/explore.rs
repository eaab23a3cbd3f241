//! Report sections of the format explorer: the Pareto fronts of bits per
//! element versus weight SQNR and of energy per MAC versus matmul error,
//! each with a table of the front ("what you give up" between neighbours)
//! and the known formats marked; and, when the run scored its candidates on
//! a real model (`[explore.model]`), their embedding figures.

use std::collections::HashMap;

use super::Section;
use crate::report::charts::{front_chart, FrontAxes, FrontPoint};
use crate::report::pareto::pareto_front;
use crate::report::summary::fmt_short;
use crate::suite::explore::model::{metric as model_metric, MODEL};
use crate::suite::explore::{metric, ExploreInfo, ExploreModelInfo, ACTIVATIONS, ALL, WEIGHTS};
use crate::suite::record::Results;
use serde::Serialize;

const TEMPLATE: &str = include_str!("../../../reports/templates/sections/explore.html.tera");

#[derive(Serialize)]
struct Ctx {
    id: String,
    how: String,
    chart: String,
    caption: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    notes: Vec<String>,
}

/// One configuration's summary values (NaN where absent).
#[derive(Debug, Clone)]
struct Point {
    name: String,
    known: Option<String>,
    bits: f64,
    sqnr_w: f64,
    sqnr_a: f64,
    energy: f64,
    matmul: f64,
    /// The model figures by metric name (empty: not scored).
    model: HashMap<String, f64>,
}

fn points(r: &Results, info: &ExploreInfo) -> Vec<Point> {
    let mut by: HashMap<(&str, &str, &str), f64> = HashMap::new();
    let mut names: Vec<&str> = Vec::new();
    for m in &r.rows {
        if names.last() != Some(&m.variant.as_str()) && !names.contains(&m.variant.as_str()) {
            names.push(&m.variant);
        }
        by.insert((&m.variant, &m.workload, &m.metric), m.value);
    }
    let get = |n: &str, w: &str, m: &str| by.get(&(n, w, m)).copied().unwrap_or(f64::NAN);
    let mut model: HashMap<&str, HashMap<String, f64>> = HashMap::new();
    for m in r.rows.iter().filter(|m| m.workload == MODEL) {
        model
            .entry(m.variant.as_str())
            .or_default()
            .insert(m.metric.clone(), m.value);
    }
    names
        .into_iter()
        .map(|n| Point {
            name: n.to_string(),
            known: info
                .known
                .iter()
                .find(|(_, c)| c == n)
                .map(|(k, _)| k.clone()),
            bits: get(n, ALL, metric::BITS_PER_ELEMENT),
            sqnr_w: get(n, WEIGHTS, metric::SQNR_DB),
            sqnr_a: get(n, ACTIVATIONS, metric::SQNR_DB),
            energy: get(n, ALL, metric::ENERGY_PJ_PER_MAC),
            matmul: get(n, ALL, metric::MATMUL_REL_ERROR),
            model: model.remove(n).unwrap_or_default(),
        })
        .collect()
}

/// The explorer's sections (none for results of other runs).
pub fn render(r: &Results) -> Result<Vec<Section>, String> {
    let Some(info) = &r.explore else {
        return Ok(Vec::new());
    };
    let pts = points(r, info);
    let tensors = info
        .tensors
        .iter()
        .map(|(n, role, rows, cols)| format!("{n} ({role}, {rows}×{cols})"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut out = Vec::new();
    // Which SQNR the first front uses: weights if any, else activations.
    let use_w = pts.iter().any(|p| !p.sqnr_w.is_nan());
    let sq = |p: &Point| if use_w { p.sqnr_w } else { p.sqnr_a };
    let role = if use_w { "weight" } else { "activation" };
    out.push(front_section(
        "explore-bits",
        &format!("Bits per element vs {role} SQNR"),
        &pts,
        &|p| (p.bits, -sq(p)),
        FrontAxes {
            x_desc: "bits per element (scales included)".into(),
            y_desc: format!("{role} SQNR, dB (pooled)"),
            log_y: false,
        },
        &|p| (p.bits, sq(p)),
        &["bits", "SQNR dB"],
        &format!(
            "every one of the {} configurations measured on {tensors}: bits per element \
             (block scales and tensor scales included) against the {role} tensors' pooled SQNR \
             (10·log10 Σx² / Σ(x − q(x))²; 6 dB ≈ one bit). Orange points are the Pareto front: no \
             configuration has fewer bits and a higher SQNR. Black squares are the known formats. \
             The table lists the front from the fewest bits up; \"what you give up\" is what the \
             next cheaper front point loses.",
            pts.len()
        ),
    )?);
    if pts.iter().any(|p| !p.matmul.is_nan()) {
        out.push(front_section(
            "explore-energy",
            "Energy per MAC vs matmul error",
            &pts,
            &|p| (p.energy, p.matmul),
            FrontAxes {
                x_desc: "energy per MAC, pJ (multiply + accumulate + block scale)".into(),
                y_desc: "matmul relative error (log scale)".into(),
                log_y: true,
            },
            &|p| (p.energy, p.matmul),
            &["pJ/MAC", "matmul rel. error"],
            &format!(
                "energy of one MAC with both operands in the element format (multiplier by the \
                 energy table's width and format rules, an f32 or int32 accumulate, one f32 \
                 multiply per block for the scale) against the relative Frobenius error of A·Wᵀ, \
                 W in the configuration, A in the partner format {} (first weight rows, seeded \
                 LLM-like activations). Both are minimized.",
                info.partner
            ),
        )?);
    }
    if let Some(m) = &info.model {
        if pts.iter().any(|p| !p.model.is_empty()) {
            out.push(model_section(&pts, m, &sq, role)?);
        }
    }
    Ok(out)
}

/// The scored candidates: bits per element against the model's embedding
/// error (1 − mean cosine), and a table of every scored configuration.
fn model_section(
    pts: &[Point],
    m: &ExploreModelInfo,
    sq: &dyn Fn(&Point) -> f64,
    role: &str,
) -> Result<Section, String> {
    let mut scored: Vec<&Point> = pts.iter().filter(|p| !p.model.is_empty()).collect();
    scored.sort_by(|a, b| a.bits.total_cmp(&b.bits).then(sq(b).total_cmp(&sq(a))));
    let fig = |p: &Point, k: &str| p.model.get(k).copied().unwrap_or(f64::NAN);
    let err = |p: &Point| 1.0 - fig(p, model_metric::COS_MEAN);
    let coords: Vec<(f64, f64)> = scored.iter().map(|p| (p.bits, err(p))).collect();
    let front = pareto_front(&coords);
    let chart_pts: Vec<FrontPoint> = scored
        .iter()
        .enumerate()
        .map(|(i, p)| FrontPoint {
            label: p.known.clone().unwrap_or_else(|| p.name.clone()),
            x: p.bits,
            y: err(p),
            front: front.contains(&i),
            known: p.known.is_some(),
        })
        .collect();
    let chart = front_chart(
        &chart_pts,
        &FrontAxes {
            x_desc: "bits per element (scales included)".into(),
            y_desc: "1 − mean embedding cosine to f32 (log scale)".into(),
            log_y: true,
        },
    )?;
    // Columns: what the sentences define (the rows hold the same metrics for every candidate).
    let cols: Vec<(&str, &str)> = [
        (model_metric::COS_MEAN, "mean cos"),
        (model_metric::COS_WORST, "worst cos"),
        (model_metric::SPEARMAN, "Spearman vs f32"),
        (model_metric::SPEARMAN_SCORES, "Spearman vs scores"),
        (model_metric::TOP1_AGREEMENT, "top-1 agreement"),
        (model_metric::RECALL_AT_1, "recall@1"),
        (model_metric::FINAL_SQNR_DB, "last layer SQNR dB"),
    ]
    .into_iter()
    .filter(|(k, _)| scored.iter().any(|p| p.model.contains_key(*k)))
    .collect();
    let mut headers = vec![
        "configuration".to_string(),
        "bits".into(),
        format!("{role} SQNR dB"),
    ];
    headers.extend(cols.iter().map(|(_, h)| h.to_string()));
    headers.push("on the bits × cosine front".into());
    let rows = scored
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut name = p.name.clone();
            if let Some(k) = &p.known {
                name = format!("{name} ({k})");
            }
            let mut r = vec![name, fmt_short(p.bits), fmt_short(sq(p))];
            r.extend(cols.iter().map(|(k, _)| fmt_short(fig(p, k))));
            r.push(if front.contains(&i) { "yes" } else { "—" }.into());
            r
        })
        .collect();
    let opt = |v: Option<f64>| v.map_or("—".to_string(), fmt_short);
    let notes = vec![
        format!(
            "model {}: {} evaluation-set sentences ({} scored pairs, {} retrieval queries over {} documents)",
            m.model, m.sentences, m.pairs, m.queries, m.docs
        ),
        format!(
            "the f32 model itself: Spearman vs the set's scores {}, recall@1 {}",
            opt(m.reference_spearman_scores),
            opt(m.reference_recall_at_1)
        ),
        format!(
            "candidates: the bits × {role} SQNR front{}{}",
            m.max_candidates
                .map_or(String::new(), |n| format!(", thinned to at most {n} points")),
            if m.known {
                ", and the known formats of the space"
            } else {
                ""
            }
        ),
    ];
    let ctx = Ctx {
        id: "explore-model".into(),
        how: "each candidate's configuration is applied to every linear-layer weight of the \
              model (quantized and dequantized by the explorer's quantizer, one tensor per \
              weight matrix, rows = output channels; activations, attention and the rest stay \
              f32) and the f32 forward runs over the evaluation sentences; the figures are the \
              real-model study's against the forward on the original weights: mean and worst \
              embedding cosine, Spearman correlation of the pair similarities with f32's and \
              with the set's human scores, retrieval top-1 agreement with f32 and recall@1, and \
              the last layer's output SQNR. The chart puts bits per element against \
              1 − mean cosine; orange points are its Pareto front among the scored candidates."
            .into(),
        chart,
        caption: "Model-level score of the candidates".into(),
        headers,
        rows,
        notes,
    };
    Section::rendered(
        "explore-model",
        "Model-level score of the candidates",
        "explore-model",
        TEMPLATE,
        &ctx,
    )
}

#[allow(clippy::too_many_arguments)]
fn front_section(
    id: &str,
    title: &str,
    pts: &[Point],
    key: &dyn Fn(&Point) -> (f64, f64),
    axes: FrontAxes,
    shown: &dyn Fn(&Point) -> (f64, f64),
    cols: &[&str; 2],
    how: &str,
) -> Result<Section, String> {
    let coords: Vec<(f64, f64)> = pts
        .iter()
        .map(key)
        .map(|(x, y)| {
            if x.is_finite() && y.is_finite() {
                (x, y)
            } else {
                (f64::NAN, f64::NAN)
            }
        })
        .collect();
    let front = pareto_front(&coords);
    let chart_pts: Vec<FrontPoint> = pts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (x, y) = shown(p);
            FrontPoint {
                label: p.known.clone().unwrap_or_else(|| p.name.clone()),
                x,
                y,
                front: front.contains(&i),
                known: p.known.is_some(),
            }
        })
        .collect();
    let chart = front_chart(&chart_pts, &axes)?;
    let mut rows = Vec::new();
    for (n, &i) in front.iter().enumerate() {
        let (x, y) = shown(&pts[i]);
        let give_up = if n == 0 {
            "—".to_string()
        } else {
            let (px, py) = shown(&pts[front[n - 1]]);
            format!(
                "{} {} for {} {}",
                fmt_short(x - px),
                cols[0],
                fmt_short(y - py),
                cols[1]
            )
        };
        let mut name = pts[i].name.clone();
        if let Some(k) = &pts[i].known {
            name = format!("{name} ({k})");
        }
        rows.push(vec![name, fmt_short(x), fmt_short(y), give_up]);
    }
    let mut notes = Vec::new();
    for (i, p) in pts.iter().enumerate() {
        if let Some(k) = &p.known {
            let (x, y) = shown(p);
            let status = if front.contains(&i) {
                "on the front".to_string()
            } else {
                // The front point closest in x that dominates it.
                let c = coords[i];
                let dom = front.iter().copied().find(|&j| {
                    coords[j].0 <= c.0
                        && coords[j].1 <= c.1
                        && (coords[j].0 < c.0 || coords[j].1 < c.1)
                });
                match dom {
                    Some(j) => format!("dominated, e.g. by {}", pts[j].name),
                    None => "not comparable (missing values)".into(),
                }
            };
            notes.push(format!(
                "{k} = {}: {} {}, {} {}; {status}",
                p.name,
                fmt_short(x),
                cols[0],
                fmt_short(y),
                cols[1]
            ));
        }
    }
    let ctx = Ctx {
        id: id.into(),
        how: how.into(),
        chart,
        caption: title.into(),
        headers: vec![
            "configuration on the front".into(),
            cols[0].into(),
            cols[1].into(),
            "what you give up vs the next cheaper point".into(),
        ],
        rows,
        notes,
    };
    Section::rendered(id, title, id, TEMPLATE, &ctx)
}
