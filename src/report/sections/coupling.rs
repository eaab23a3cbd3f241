//! Report section of the `coupling` study: agreement against D_TV for every
//! pair with the two reference curves, the claims' exception counts, and the
//! per-format drafter table (mean D_TV, acceptance, tokens per draft step).

use super::Section;
use crate::report::charts::{line_chart, Axes, Series, SeriesStyle};
use crate::suite::studies::coupling::{points, CouplingStudy};
use serde::Serialize;

const TEMPLATE: &str = include_str!("../../../reports/templates/sections/coupling.html.tera");

#[derive(Serialize)]
struct FormatCell {
    variant: String,
    d_tv: String,
    acc: Vec<String>,
    tokens: Vec<String>,
}

#[derive(Serialize)]
struct PairCell {
    family: String,
    name: String,
    d_tv: String,
    bound: String,
    gumbel: String,
    gumbel_ci: String,
    wmh: String,
    optimal: String,
}

/// The study's sections.
pub fn render(s: &CouplingStudy) -> Result<Vec<Section>, String> {
    let pts = points(s);
    let mut series: Vec<Series> = ["optimal", "gumbel", "wmh", "independent"]
        .iter()
        .enumerate()
        .map(|(k, name)| Series {
            label: format!("{name} (Monte Carlo)"),
            points: pts.iter().map(|(d, r)| (*d, r[k])).collect(),
            style: SeriesStyle::Points,
        })
        .collect();
    let grid: Vec<f64> = (0..=50).map(|i| i as f64 / 50.0).collect();
    series.push(Series {
        label: "1 − D_TV".into(),
        points: grid.iter().map(|&d| (d, 1.0 - d)).collect(),
        style: SeriesStyle::Thin,
    });
    series.push(Series {
        label: "(1 − D_TV)/(1 + D_TV)".into(),
        points: grid.iter().map(|&d| (d, (1.0 - d) / (1.0 + d))).collect(),
        style: SeriesStyle::Thin,
    });
    let chart = line_chart(
        &series,
        &Axes {
            x_desc: "D_TV(P, Q)".into(),
            y_desc: "Pr[a = b]".into(),
            x_log: false,
            y_log: false,
        },
    )?;
    let f3 = |x: f64| format!("{x:.3}");
    let formats: Vec<FormatCell> = s
        .formats
        .iter()
        .map(|f| FormatCell {
            variant: f.variant.clone(),
            d_tv: format!("{:.4}", f.mean_d_tv),
            acc: f
                .acceptance
                .iter()
                .zip(&f.acceptance_mc)
                .map(|(x, m)| format!("{} ({})", f3(*x), f3(*m)))
                .collect(),
            // Per γ: optimal / gumbel / wmh.
            tokens: f
                .tokens
                .iter()
                .map(|row| format!("{:.2} / {:.2} / {:.2}", row[0], row[1], row[2]))
                .collect(),
        })
        .collect();
    let pairs: Vec<PairCell> = s
        .pairs
        .iter()
        .map(|r| PairCell {
            family: r.family.clone(),
            name: r.name.clone(),
            d_tv: format!("{:.4}", r.d_tv),
            bound: format!("{:.4}", r.bound),
            optimal: format!("{:.4}", r.samplers[0].exact),
            gumbel: format!("{:.4} / {:.4}", r.samplers[1].exact, r.samplers[1].rate),
            gumbel_ci: format!("[{:.4}, {:.4}]", r.samplers[1].ci.0, r.samplers[1].ci.1),
            wmh: format!("{:.4} / {:.4}", r.samplers[2].exact, r.samplers[2].rate),
        })
        .collect();
    let trials = s.pairs.first().map_or(0, |p| p.trials);
    let ctx = serde_json::json!({
        "chart": chart,
        "formats": formats,
        "gammas": s.gammas,
        "pairs": pairs,
        "claims": s.claims,
        "trials": trials,
        "vocabulary": s.vocabulary,
    });
    Ok(vec![Section::rendered(
        "coupling",
        "Coupling without communication: which format drafts best",
        "coupling",
        TEMPLATE,
        &ctx,
    )?])
}
