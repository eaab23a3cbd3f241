//! The approximate-attention report section: rendered from a small
//! hand-made study, its table rows, charts and claims; absent without
//! approximate variants.

use bitsim::report::sections::attention::render;
use bitsim::suite::studies::attention::{AttentionStudy, AttnRow};

fn row(variant: &str, phase: &str, error: f64) -> AttnRow {
    AttnRow {
        variant: variant.into(),
        phase: phase.into(),
        shape: if phase == "decode" {
            "1×1×512×64".into()
        } else {
            "1×256×256×64".into()
        },
        rel_fro_error: error,
        kv_bits: 32.0,
        macs: 1000.0,
        energy_pj: 100.0,
        ..Default::default()
    }
}

fn study(rows: Vec<AttnRow>) -> AttentionStudy {
    AttentionStudy {
        workload: "realistic".into(),
        io_shape: (256, 64),
        rows,
        ..Default::default()
    }
}

fn approx_html(s: &AttentionStudy) -> Option<String> {
    render(s)
        .unwrap()
        .into_iter()
        .find(|x| x.id == "attention-approx")
        .map(|x| x.html)
}

/// The cells of the table with class `class`, row by row.
fn table(html: &str, class: &str) -> Vec<Vec<String>> {
    let start = html.find(&format!("<table class=\"{class}\">")).unwrap();
    let body = &html[start..];
    let body = &body[body.find("<tbody>").unwrap()..body.find("</tbody>").unwrap()];
    body.split("<tr>")
        .skip(1)
        .map(|r| {
            r.split("<td")
                .skip(1)
                .map(|c| {
                    let c = &c[c.find('>').unwrap() + 1..];
                    c[..c.find("</td>").unwrap()].to_string()
                })
                .collect()
        })
        .collect()
}

fn sample_rows() -> Vec<AttnRow> {
    let mut flash = row("attention/flash-f32", "prefill", 1e-7);
    flash.native_ms = Some(3.0);
    let mut hyper = row("attention/hyper", "prefill", 0.2);
    hyper.macs = 250.0;
    hyper.mass_recall = Some(0.8);
    hyper.mass_recall_min = Some(0.25);
    hyper.sparsity = Some(0.75);
    let mut qjl = row("attention/qjl", "decode", 0.4);
    qjl.kv_bits = 3.625;
    let mut eco = row("attention/ecoformer", "prefill", 1.0);
    eco.energy_pj = 25.0;
    vec![row("attention/f64", "prefill", 0.0), flash, hyper, qjl, eco]
}

#[test]
fn approx_section_has_its_rows_charts_and_claims() {
    let html = approx_html(&study(sample_rows())).expect("the section is shown");
    let rows = table(&html, "attention-approx");
    let names: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str(), r[2].as_str()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("1", "attention/hyper", "prefill"),
            ("2", "attention/qjl", "decode"),
            ("3", "attention/ecoformer", "prefill"),
        ]
    );
    // hyper: bits per token = 32 · 2 · 64; recall and sparsity; MACs ÷ 4.
    assert_eq!(rows[0][7], "4096");
    assert_eq!(rows[0][8..11], ["0.8000", "0.2500", "0.750"]);
    assert_eq!(rows[0][13], "4.00×");
    // QJL has no recall and its decode shape has no baseline row.
    assert_eq!(rows[1][7], "464");
    assert_eq!(rows[1][8], "–");
    assert_eq!(rows[1][13], "–");
    // Charts: bits and recall drawn (each point keyed by its number), no
    // native timings so no speed-up chart and the note says so.
    assert!(html.contains("id=\"approx-bits-chart\""));
    assert!(html.contains("id=\"approx-recall-chart\""));
    assert!(!html.contains("id=\"approx-speed-chart\""));
    assert!(html.contains("emulation only"));
    assert_eq!(html.matches("<svg").count(), 2);
    // The bits chart names every point by its key.
    let bits = &html[html.find("id=\"approx-bits-chart\"").unwrap()..];
    let bits = &bits[..bits.find("</svg>").unwrap()];
    for key in ["1", "2", "3"] {
        assert!(bits.contains(&format!(">\n{key}\n</text>")), "key {key}");
    }
    // Claims: QJL 16 / 3.625 = 4.41× smaller; EcoFormer 25 / 100 − 1 = −75 %;
    // HyperAttention's speed-up not measured.
    let claims = table(&html, "attention-approx-claims");
    let claim = |v: &str| {
        claims
            .iter()
            .find(|r| r[0] == v)
            .map(|r| r[4].clone())
            .unwrap()
    };
    assert_eq!(claim("attention/qjl"), "3.625 bits; 4.41× smaller");
    assert!(claim("attention/ecoformer").starts_with("-75.0 %"));
    assert!(claim("attention/hyper").starts_with("not measured"));
}

#[test]
fn approx_section_draws_speedup_where_both_are_timed() {
    let mut rows = sample_rows();
    rows[2].native_ms = Some(1.5);
    let html = approx_html(&study(rows)).unwrap();
    assert!(html.contains("id=\"approx-speed-chart\""));
    assert_eq!(html.matches("<svg").count(), 3);
    let t = table(&html, "attention-approx");
    assert_eq!(t[0][11..13], ["1.50", "2.00×"]);
    assert!(html.contains("Emulation only (no native timing, not on the speed-up chart): attention/qjl (decode), attention/ecoformer (prefill)."));
}

#[test]
fn approx_section_absent_without_approximate_variants() {
    let s = study(vec![
        row("attention/f64", "prefill", 0.0),
        row("attention/flash-f32", "prefill", 1e-7),
        row("attention/sage-int8", "prefill", 1e-2),
    ]);
    let secs = render(&s).unwrap();
    assert_eq!(secs.len(), 3);
    assert!(secs.iter().all(|x| x.id != "attention-approx"));
}
