//! Report section of the `attention` study's approximate, sparse and
//! compressed-cache variants (SALE, QJL, HyperAttention, KDEformer,
//! SubGen, EcoFormer): error versus bits per cached token, error versus
//! speed-up over `attention/flash-f32` at the same shape (native timings
//! only), attention-mass recall versus sparsity, and the seed papers'
//! claims beside this run's figures. Shown only when the run has one of
//! these variants.
//!
//! Points are keyed by number to the section's table (a number is short
//! enough to place beside its point without overlap; the table names it).

use super::Section;
use crate::report::charts::{front_chart, FrontAxes, FrontPoint};
use crate::report::summary::fmt_short;
use crate::suite::studies::attention::{AttentionStudy, AttnRow};
use serde::Serialize;

const TEMPLATE: &str = include_str!("../../../reports/templates/sections/approx.html.tera");

/// The approximate variants (issue "attention variants II"): the section
/// appears when a run has any of them.
pub const APPROXIMATE: [&str; 9] = [
    "attention/sale",
    "attention/qjl",
    "attention/qjl-plain",
    "attention/hyper",
    "attention/hyper-triton",
    "attention/kdeformer",
    "attention/kdeformer-stable",
    "attention/subgen",
    "attention/ecoformer",
];

/// The dense baseline of the speed-up and energy ratios.
pub const BASELINE: &str = "attention/flash-f32";

#[derive(Serialize)]
struct Chart {
    id: String,
    caption: String,
    svg: String,
}

#[derive(Serialize)]
struct Ctx {
    workload: String,
    charts: Vec<Chart>,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    claim_headers: Vec<String>,
    claims: Vec<Vec<String>>,
    notes: Vec<String>,
}

fn sci(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else {
        format!("{x:.2e}")
    }
}

fn opt(x: Option<f64>, f: impl Fn(f64) -> String) -> String {
    x.map_or("–".into(), f)
}

/// The study's approximate rows (each with its key number, from 1) and
/// the baseline row of the same phase.
struct Keyed<'a> {
    key: usize,
    row: &'a AttnRow,
    base: Option<&'a AttnRow>,
}

impl Keyed<'_> {
    /// Native speed-up over the baseline at the same shape.
    fn speedup(&self) -> Option<f64> {
        Some(self.base?.native_ms? / self.row.native_ms?)
    }
    /// Multiply-accumulates of the baseline over the variant's.
    fn work_ratio(&self) -> Option<f64> {
        let b = self.base?;
        (self.row.macs > 0.0).then(|| b.macs / self.row.macs)
    }
    /// Energy of the variant over the baseline's.
    fn energy_ratio(&self) -> Option<f64> {
        let b = self.base?;
        (b.energy_pj > 0.0).then(|| self.row.energy_pj / b.energy_pj)
    }
}

/// `attention-approx`, or nothing when the run has no approximate variant.
pub fn render(s: &AttentionStudy) -> Result<Vec<Section>, String> {
    let d = s.io_shape.1 as f64;
    let keyed: Vec<Keyed> = s
        .rows
        .iter()
        .filter(|r| APPROXIMATE.contains(&r.variant.as_str()))
        .enumerate()
        .map(|(i, r)| Keyed {
            key: i + 1,
            row: r,
            base: s
                .rows
                .iter()
                .find(|b| b.variant == BASELINE && b.phase == r.phase && b.shape == r.shape),
        })
        .collect();
    if keyed.is_empty() {
        return Ok(Vec::new());
    }
    // Bits per cached token: K and V of one head, d elements each.
    let bits_token = |r: &AttnRow| r.kv_bits * 2.0 * d;
    let point = |k: &Keyed, x: f64, y: f64| FrontPoint {
        label: k.key.to_string(),
        x,
        y,
        front: false,
        known: true,
    };
    let mut charts = Vec::new();
    let mut notes = Vec::new();
    let pts: Vec<FrontPoint> = keyed
        .iter()
        .map(|k| point(k, bits_token(k.row), k.row.rel_fro_error))
        .collect();
    charts.push(Chart {
        id: "approx-bits".into(),
        caption: "Output error versus bits per cached token (K and V of one head)".into(),
        svg: front_chart(
            &pts,
            &FrontAxes {
                x_desc: "bits per cached token".into(),
                y_desc: "relative Frobenius error".into(),
                log_y: true,
            },
        )?,
    });
    let timed: Vec<FrontPoint> = keyed
        .iter()
        .filter_map(|k| Some(point(k, k.speedup()?, k.row.rel_fro_error)))
        .collect();
    if timed.is_empty() {
        notes.push(format!(
            "No error-versus-speed-up chart: none of these variants has a native timing beside \
             {BASELINE}'s at the same shape (their figures are emulation only). The table's \
             \"MACs ÷\" column is the modelled work ratio instead."
        ));
    } else {
        charts.push(Chart {
            id: "approx-speed".into(),
            caption: format!("Output error versus native speed-up over {BASELINE}, same shape"),
            svg: front_chart(
                &timed,
                &FrontAxes {
                    x_desc: format!("speed-up over {BASELINE} (native)"),
                    y_desc: "relative Frobenius error".into(),
                    log_y: true,
                },
            )?,
        });
        let untimed: Vec<String> = keyed
            .iter()
            .filter(|k| k.speedup().is_none())
            .map(|k| format!("{} ({})", k.row.variant, k.row.phase))
            .collect();
        if !untimed.is_empty() {
            notes.push(format!(
                "Emulation only (no native timing, not on the speed-up chart): {}.",
                untimed.join(", ")
            ));
        }
    }
    let sparse: Vec<FrontPoint> = keyed
        .iter()
        .filter_map(|k| Some(point(k, k.row.sparsity?, k.row.mass_recall?)))
        .collect();
    if !sparse.is_empty() {
        charts.push(Chart {
            id: "approx-recall".into(),
            caption: "Attention-mass recall (mean over rows) versus sparsity (fraction of visible pairs not scored)".into(),
            svg: front_chart(
                &sparse,
                &FrontAxes {
                    x_desc: "sparsity".into(),
                    y_desc: "mass recall (mean)".into(),
                    log_y: false,
                },
            )?,
        });
    }
    let headers = [
        "key",
        "variant",
        "phase",
        "shape",
        "rel. error",
        "spectral error",
        "bits K/V",
        "bits/token",
        "recall mean",
        "recall worst",
        "sparsity",
        "native ms",
        "speed-up",
        "MACs ÷",
    ]
    .map(String::from)
    .to_vec();
    let rows = keyed
        .iter()
        .map(|k| {
            let r = k.row;
            vec![
                k.key.to_string(),
                r.variant.clone(),
                r.phase.clone(),
                r.shape.clone(),
                sci(r.rel_fro_error),
                opt(r.spectral_error, sci),
                fmt_short(r.kv_bits),
                fmt_short(bits_token(r)),
                opt(r.mass_recall, |x| format!("{x:.4}")),
                opt(r.mass_recall_min, |x| format!("{x:.4}")),
                opt(r.sparsity, |x| format!("{x:.3}")),
                opt(r.native_ms, |x| format!("{x:.2}")),
                opt(k.speedup(), |x| format!("{x:.2}×")),
                opt(k.work_ratio(), |x| format!("{x:.2}×")),
            ]
        })
        .collect();
    let claims = claims(&keyed);
    if keyed.iter().any(|k| k.base.is_none()) {
        notes.push(format!(
            "Ratios need {BASELINE} in the run at the same shape; \"–\" where it is missing."
        ));
    }
    let ctx = Ctx {
        workload: s.workload.clone(),
        charts,
        headers,
        rows,
        claim_headers: ["method", "phase", "claim", "paper", "this run"]
            .map(String::from)
            .to_vec(),
        claims,
        notes,
    };
    Ok(vec![Section::rendered(
        "attention-approx",
        "Attention: approximate, sparse and compressed-cache variants",
        "approx",
        TEMPLATE,
        &ctx,
    )?])
}

/// The seed papers' headline claims that this study's figures speak to
/// (REPRODUCTIONS.md has the full reproductions), one row per claim and
/// phase the run has data for.
fn claims(keyed: &[Keyed]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for k in keyed {
        let r = k.row;
        let mut add = |claim: &str, paper: &str, ours: String| {
            out.push(vec![
                r.variant.clone(),
                r.phase.clone(),
                claim.into(),
                paper.into(),
                ours,
            ])
        };
        match r.variant.as_str() {
            "attention/qjl" | "attention/qjl-plain" => add(
                "KV cache bits per coordinate; memory vs fp16",
                "3 bits; > 5× smaller",
                format!(
                    "{} bits; {:.2}× smaller",
                    fmt_short(r.kv_bits),
                    16.0 / r.kv_bits.max(f64::MIN_POSITIVE)
                ),
            ),
            "attention/sale" => {
                if let Some(sp) = r.sparsity {
                    add(
                        "τ = 0.004 skips most key blocks with little error",
                        "most blocks skipped",
                        format!(
                            "sparsity {sp:.3}, rel. error {}, worst-row recall {}",
                            sci(r.rel_fro_error),
                            opt(r.mass_recall_min, |x| format!("{x:.3}"))
                        ),
                    )
                }
            }
            "attention/hyper" | "attention/hyper-triton" => add(
                "single-layer speed-up at long causal context",
                "5×",
                match k.speedup() {
                    Some(x) => format!("{x:.2}× native at {}", r.shape),
                    None => format!(
                        "not measured (emulation only); modelled MACs ÷ {}",
                        opt(k.work_ratio(), |x| format!("{x:.2}×"))
                    ),
                },
            ),
            "attention/kdeformer" | "attention/kdeformer-stable" => {
                if let Some(e) = r.spectral_error {
                    add(
                        "small spectral-norm error with sub-quadratic work",
                        "spectral error ≪ 1",
                        format!(
                            "spectral error {}, MACs ÷ {}",
                            sci(e),
                            opt(k.work_ratio(), |x| format!("{x:.2}×"))
                        ),
                    )
                }
            }
            "attention/ecoformer" => {
                if let Some(e) = k.energy_ratio() {
                    add(
                        "on-chip energy vs softmax attention",
                        "−73 %",
                        format!(
                            "{:+.1} % vs {BASELINE} (rel. error {})",
                            (e - 1.0) * 100.0,
                            sci(r.rel_fro_error)
                        ),
                    )
                }
            }
            _ => {}
        }
    }
    out
}
