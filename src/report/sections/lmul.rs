//! Report section of the `lmul` study: error table, error chart, the
//! paper's claims with verdicts, energy table.

use super::Section;
use crate::report::charts::{line_chart, Axes, Series, SeriesStyle};
use crate::report::template::render_template;
use crate::suite::studies::lmul::{LmulStudy, FP_MUL};
use serde::Serialize;

#[derive(Serialize)]
struct ErrorCells {
    method: String,
    format: String,
    mbits: u32,
    mean: String,
    arith: String,
    max: String,
}

#[derive(Serialize)]
struct ClaimCells {
    claim: String,
    semantics: String,
    lmul: String,
    baseline: String,
    base: String,
    verdict: String,
}

#[derive(Serialize)]
struct EnergyCells {
    format: String,
    adder: String,
    fp: String,
    lmul: String,
    add: String,
    el: String,
    el_verdict: String,
    dot: String,
    dot_verdict: String,
}

#[derive(Serialize)]
struct Ctx {
    samples: usize,
    seed: u64,
    exponent_bits: u32,
    errors: Vec<ErrorCells>,
    claims: Vec<ClaimCells>,
    energy: Vec<EnergyCells>,
    energy_table: String,
    energy_notes: Vec<String>,
    chart: String,
}

/// A relative error in percent, 3 significant digits.
fn pct(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let p = v * 100.0;
    if p >= 10.0 {
        format!("{p:.1} %")
    } else if p >= 1.0 {
        format!("{p:.2} %")
    } else {
        format!("{p:.3} %")
    }
}

/// A saving as a signed percentage (a saving of 0.97 is −97.0 %).
fn saving(v: f64) -> String {
    format!("{:.1} %", -v * 100.0)
}

fn pj(v: f64) -> String {
    format!("{v:.4}")
}

fn chart(s: &LmulStudy) -> Result<String, String> {
    let line = |method: &str| Series {
        label: if method == FP_MUL {
            format!("fp-mul (correctly rounded, e{}mM)", s.exponent_bits)
        } else {
            format!("{method} (e{}mM)", s.exponent_bits)
        },
        points: s
            .errors
            .iter()
            .filter(|r| r.method == method && !r.ocp)
            .map(|r| (r.mbits as f64, r.mean_rel_err))
            .collect(),
        style: SeriesStyle::LineWithPoints,
    };
    let mut series = vec![line("lmul-carry"), line("lmul-literal"), line(FP_MUL)];
    for r in s.errors.iter().filter(|r| r.ocp) {
        series.push(Series {
            label: format!("fp-mul OCP {}", r.format),
            points: vec![(r.mbits as f64, r.mean_rel_err)],
            style: SeriesStyle::Points,
        });
    }
    line_chart(
        &series,
        &Axes {
            x_desc: "mantissa bits M".into(),
            y_desc: "mean relative error".into(),
            x_log: false,
            y_log: true,
        },
    )
}

/// The study's section (`id = "lmul"`).
pub fn render(s: &LmulStudy) -> Result<Vec<Section>, String> {
    let ctx = Ctx {
        samples: s.samples,
        seed: s.seed,
        exponent_bits: s.exponent_bits,
        errors: s
            .errors
            .iter()
            .map(|r| ErrorCells {
                method: r.method.clone(),
                format: if r.ocp {
                    format!("{} (OCP FP8)", r.format)
                } else {
                    r.format.clone()
                },
                mbits: r.mbits,
                mean: pct(r.mean_rel_err),
                arith: pct(r.arith_rel_err),
                max: pct(r.max_rel_err),
            })
            .collect(),
        claims: s
            .claims
            .iter()
            .map(|c| ClaimCells {
                claim: c.claim.clone(),
                semantics: c.semantics.clone(),
                lmul: pct(c.lmul_err),
                baseline: c.baseline.clone(),
                base: pct(c.baseline_err),
                verdict: c.verdict.clone(),
            })
            .collect(),
        energy: s
            .energy
            .iter()
            .map(|e| EnergyCells {
                format: e.format.clone(),
                adder: e.adder.clone(),
                fp: pj(e.fp_mul_pj),
                lmul: pj(e.lmul_pj),
                add: pj(e.acc_add_pj),
                el: saving(e.elementwise_saving),
                el_verdict: e.elementwise_verdict.clone(),
                dot: saving(e.dot_saving),
                dot_verdict: e.dot_verdict.clone(),
            })
            .collect(),
        energy_table: s.energy_table.clone(),
        energy_notes: s.energy_notes.clone(),
        chart: chart(s)?,
    };
    let html = render_template(
        "lmul",
        include_str!("../../../reports/templates/sections/lmul.html.tera"),
        &ctx,
    )?;
    Ok(vec![Section::new(
        "lmul",
        "L-Mul: accuracy and energy",
        html,
    )])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::energy::EnergyTable;
    use crate::suite::studies::lmul::{run, LmulParams};
    use crate::suite::studies::StudyContext;

    fn study() -> LmulStudy {
        let table = EnergyTable::load("energy-45nm").unwrap();
        let ctx = StudyContext {
            energy: &table,
            base: std::path::Path::new("."),
            seed: 3,
            variants: &[],
        };
        run(
            &LmulParams {
                samples: 3000,
                ..Default::default()
            },
            &ctx,
        )
        .unwrap()
    }

    #[test]
    fn section_renders_tables_chart_and_verdicts() {
        let s = study();
        let secs = render(&s).unwrap();
        assert_eq!(secs.len(), 1);
        let h = &secs[0].html;
        assert_eq!(secs[0].id, "lmul");
        assert!(h.starts_with("<p class=\"how\"><strong>How to read this:</strong>"));
        assert!(h.contains("<svg"), "chart inlined");
        assert!(h.contains("lmul-carry") && h.contains("lmul-literal"));
        assert!(h.contains("e4m3 (OCP FP8)"));
        for c in &s.claims {
            assert!(h.contains(&c.verdict), "verdict {} shown", c.verdict);
        }
        // −97.3 % element-wise for the paper's fp32 accounting.
        assert!(h.contains("-97.3 %"), "{h}");
        assert!(!h.contains("http"), "no URL in the section");
        // Balanced markup the report's XML check can parse.
        assert_eq!(h.matches("<table").count(), h.matches("</table>").count());
        assert_eq!(h.matches("<tr>").count(), h.matches("</tr>").count());
    }

    #[test]
    fn empty_study_renders() {
        let secs = render(&LmulStudy::default()).unwrap();
        assert_eq!(secs.len(), 1);
    }
}
