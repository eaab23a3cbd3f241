//! Report sections of the `bitmod` study: weight error of BitMoD's mixed
//! data types against plain formats (`bitmod-types`), and the accelerator
//! model's speedup and energy (`bitmod-accel`).

use super::Section;
use crate::report::charts::{hbar_chart, Bar, PART_COLORS};
use crate::report::summary::fmt_short;
use crate::suite::studies::bitmod::{type_names, BitmodStudy};
use serde::Serialize;

const TEMPLATE: &str = include_str!("../../../reports/templates/sections/bitmod.html.tera");

#[derive(Serialize)]
struct MseCell {
    source: String,
    quantizer: String,
    bpw: String,
    mse: String,
    rel: String,
    vs: String,
}

#[derive(Serialize)]
struct AccelCell {
    phase: String,
    design: String,
    cycles: u64,
    compute: u64,
    dram: u64,
    energy: String,
    s_int8: String,
    s_base: String,
    e_int8: String,
    e_base: String,
}

#[derive(Serialize)]
struct Figure {
    id: String,
    title: String,
    how: String,
    svg: String,
}

fn ratio(x: f64) -> String {
    if x > 0.0 {
        format!("{x:.2}×")
    } else {
        "–".into()
    }
}

/// The study's sections.
pub fn render(s: &BitmodStudy) -> Result<Vec<Section>, String> {
    let mut out = Vec::new();
    if !s.mse.is_empty() {
        let rows: Vec<MseCell> =
            s.mse
                .iter()
                .map(|r| {
                    let own = s.mse.iter().find(|b| {
                        b.source == r.source && b.quantizer == format!("bitmod-w{}", r.bits)
                    });
                    MseCell {
                        source: r.source.clone(),
                        quantizer: r.quantizer.clone(),
                        bpw: format!("{:.4}", r.bits_per_weight),
                        mse: format!("{:.3e}", r.mse),
                        rel: format!("{:.4}", r.rel_mse),
                        vs: match own {
                            Some(b) if b.mse > 0.0 => format!("{:.2}×", r.mse / b.mse),
                            _ => "–".into(),
                        },
                    }
                })
                .collect();
        let first = s.mse[0].source.clone();
        let bars: Vec<Bar> = s
            .mse
            .iter()
            .filter(|r| r.source == first)
            .map(|r| Bar {
                label: r.quantizer.clone(),
                segments: vec![r.rel_mse],
                text: fmt_short(r.rel_mse),
            })
            .collect();
        let mut sources: Vec<String> = Vec::new();
        for r in &s.mse {
            if !sources.contains(&r.source) {
                sources.push(r.source.clone());
            }
        }
        let ctx = serde_json::json!({
            "part": "types",
            "rows": rows,
            "hist": s.histogram,
            "type_names": type_names(),
            "first_source": first,
            "sources": sources.join(", "),
            "mse_svg": hbar_chart("relative MSE", &[("relative MSE", PART_COLORS[0])], &bars)?,
        });
        out.push(Section::rendered(
            "bitmod-types",
            "BitMoD data types: weight error",
            "bitmod-types",
            TEMPLATE,
            &ctx,
        )?);
    }
    if !s.accel.is_empty() {
        let accel: Vec<AccelCell> = s
            .accel
            .iter()
            .map(|r| AccelCell {
                phase: r.phase.clone(),
                design: r.design.clone(),
                cycles: r.cycles,
                compute: r.compute_cycles,
                dram: r.dram_cycles,
                energy: format!("{:.1}", r.energy_uj),
                s_int8: ratio(r.speedup_vs_int8),
                s_base: ratio(r.speedup_vs_baseline),
                e_int8: ratio(r.energy_vs_int8),
                e_base: ratio(r.energy_vs_baseline),
            })
            .collect();
        let mut figures = Vec::new();
        for phase in ["prefill", "decode"] {
            let bars: Vec<Bar> = s
                .accel
                .iter()
                .filter(|r| r.phase == phase)
                .map(|r| Bar {
                    label: r.design.clone(),
                    segments: vec![r.speedup_vs_baseline],
                    text: format!("{:.2}×", r.speedup_vs_baseline),
                })
                .collect();
            figures.push(Figure {
                id: format!("bitmod-accel-{phase}"),
                title: format!("Speedup over {} in {phase}, {}", s.baseline, s.model),
                how: format!(
                    "Baseline cycles divided by each design's cycles ({phase}); longer is faster. \
                     Decode is DRAM-bound, so fewer weight bits count more there than PE speed."
                ),
                svg: hbar_chart(
                    &format!("speedup over {}", s.baseline),
                    &[("speedup", PART_COLORS[1])],
                    &bars,
                )?,
            });
        }
        let ctx = serde_json::json!({
            "part": "accel",
            "model": s.model,
            "scenario": s.scenario,
            "baseline": s.baseline,
            "accel": accel,
            "figures": figures,
        });
        out.push(Section::rendered(
            "bitmod-accel",
            "BitMoD accelerator: cycles and energy",
            "bitmod-accel",
            TEMPLATE,
            &ctx,
        )?);
    }
    Ok(out)
}
