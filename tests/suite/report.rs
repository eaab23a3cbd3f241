//! The HTML report and run-to-run comparison, on synthetic result records.

use bitsim::report::compare::{compare, judge, Direction, Verdict};
use bitsim::report::pareto::pareto_front;
use bitsim::report::stats::welch_t_test;
use bitsim::report::write_report;
use bitsim::suite::record::{metric, Measurement, Results};
use quick_xml::events::Event;

use crate::synthetic::{row, synthetic, with_throughput, SEEDS, VARIANTS, WORKLOADS};

fn render(results: &Results, baseline: Option<&Results>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = write_report(results, baseline, &dir.path().join("nested/out")).unwrap();
    assert_eq!(path, dir.path().join("nested/out/index.html"));
    // Only index.html: no temp file left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path().join("nested/out"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("index.html")]);
    std::fs::read_to_string(path).unwrap()
}

const SECTIONS: &[&str] = &["metadata", "summary", "workloads", "charts", "variants"];
const CHARTS: &[&str] = &[
    "chart-error-energy",
    "chart-sqnr",
    "chart-energy",
    "chart-throughput",
    "chart-native-throughput",
    "chart-number-lines",
];

#[test]
fn report_has_every_variant_section_and_chart() {
    let html = render(&synthetic(), None);
    for (v, ..) in VARIANTS {
        assert!(html.contains(v), "variant {v} missing");
    }
    for id in SECTIONS.iter().chain(CHARTS) {
        assert!(html.contains(&format!("id=\"{id}\"")), "id {id} missing");
    }
    assert!(
        !html.contains("id=\"changes\""),
        "no baseline, no changes section"
    );
    // Each chart figure holds its own SVG.
    for id in CHARTS {
        let start = html.find(&format!("id=\"{id}\"")).unwrap();
        let end = html[start..].find("</figure>").unwrap() + start;
        assert!(html[start..end].contains("<svg"), "chart {id} has no SVG");
    }
    assert_eq!(html.matches("<svg").count(), CHARTS.len());
    // The metadata and the energy notes are shown.
    for s in [
        "Test CPU @ 3 GHz",
        "avx2, avx512f",
        "horowitz-45nm",
        "scaled from int8",
        "abc1234",
    ] {
        assert!(html.contains(s), "{s} missing");
    }
}

#[test]
fn report_is_self_contained_and_well_formed() {
    let html = render(&synthetic(), Some(&synthetic()));
    assert!(!html.contains("http:"));
    assert!(!html.contains("https:"));
    assert!(
        !html.contains("//"),
        "no protocol-relative URL (nor the SVG xmlns)"
    );
    assert!(!html.contains("<script"));
    assert!(!html.contains("src="));
    assert!(!html.contains("url("));
    assert!(!html.contains("@import"));
    // Parse as XML: tags balanced, attributes quoted, every entity known.
    let mut reader = quick_xml::Reader::from_str(&html);
    let mut depth = 0i64;
    let mut elements = 0;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) => {
                depth += 1;
                elements += 1;
                for a in e.attributes() {
                    let a = a.expect("well-formed attribute");
                    a.unescape_value().expect("attribute entities");
                    if a.key.as_ref() == b"href" {
                        assert!(
                            a.value.starts_with(b"#"),
                            "link to elsewhere: {:?}",
                            a.value
                        );
                    }
                }
            }
            Ok(Event::End(_)) => depth -= 1,
            Ok(Event::Empty(e)) => {
                elements += 1;
                for a in e.attributes() {
                    a.expect("well-formed attribute")
                        .unescape_value()
                        .expect("attribute entities");
                }
            }
            Ok(Event::Text(t)) => {
                t.unescape().expect("text entities");
            }
            Ok(_) => {}
            Err(e) => panic!("not well-formed at byte {}: {e}", reader.buffer_position()),
        }
    }
    assert_eq!(depth, 0);
    assert!(elements > 500, "{elements} elements");
}

#[test]
fn strings_from_results_are_escaped() {
    let mut r = synthetic();
    let evil = "matmul/<script>alert('x')</script>&";
    for row in r
        .rows
        .iter_mut()
        .filter(|row| row.variant == "matmul/w8a8-int8")
    {
        row.variant = evil.into();
        row.workload = "<b>bold</b>".into();
    }
    r.meta.variants[1].name = evil.into();
    r.meta.variants[1].description = "<img src=x onerror=alert(1)>".into();
    r.meta.cpu_model = "<i>cpu</i>".into();
    let html = render(&r, None);
    assert!(!html.contains("<script"));
    assert!(!html.contains("<img"));
    assert!(!html.contains("<b>bold"));
    assert!(!html.contains("<i>cpu"));
    assert!(
        html.contains("&lt;script&gt;"),
        "the name is shown, escaped"
    );
    // Escaped inside the SVG charts too (plotters escapes text).
    let charts = &html[html.find("id=\"charts\"").unwrap()..];
    assert!(charts.contains("&lt;script&gt;alert("));
}

#[test]
fn report_is_deterministic() {
    let r = synthetic();
    assert_eq!(render(&r, Some(&r)), render(&r, Some(&r)));
}

#[test]
fn summary_sorted_by_energy_with_best_marked() {
    let html = render(&synthetic(), None);
    let summary =
        &html[html.find("id=\"summary\"").unwrap()..html.find("id=\"workloads\"").unwrap()];
    let mut by_energy: Vec<_> = VARIANTS.iter().map(|v| (v.5, v.0)).collect();
    by_energy.sort_by(|a, b| a.0.total_cmp(&b.0));
    let pos: Vec<usize> = by_energy
        .iter()
        .map(|(_, v)| summary.find(v).unwrap())
        .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "rows sorted by energy");
    // Best energy 0.48 (ternary), best SQNR inf (the reference) are marked.
    assert!(summary.contains("class=\"num best\" title=\"mean over 6 cells\">0.4800<"));
    assert!(summary.contains("class=\"num best\" title=\"mean over 6 cells\">inf<"));
    // The NaN cosine cell is left out of the mean, and said so.
    assert!(summary.contains("mean over 5 of 6 cells (1 NaN left out)"));
    // The variant without timing rows shows a dash.
    assert!(summary.contains("title=\"not measured\">—<"));
}

#[test]
fn baseline_regressions_red_improvements_green() {
    let old = synthetic();
    let mut new = synthetic();
    for r in new.rows.iter_mut() {
        if r.variant == "matmul/w8a8-e4m3" && r.metric == metric::SQNR_DB {
            r.value -= 3.0; // worse, deterministic
        }
        if r.variant == "matmul/w4a4-nvfp4" && r.metric == metric::ENERGY_PJ_PER_MAC {
            r.value *= 0.5; // better
        }
        if r.variant == "matmul/w2a8-ternary" && r.metric == metric::EMULATION_MAC_PER_S {
            r.value *= 0.8; // slower, tight repetitions
        }
    }
    let html = render(&new, Some(&old));
    assert!(html.contains("id=\"changes\""));
    let summary =
        &html[html.find("id=\"summary\"").unwrap()..html.find("id=\"workloads\"").unwrap()];
    let row_of = |v: &str| {
        let s = summary.find(&format!(">{v}<")).unwrap();
        &summary[s..s + summary[s..].find("</tr>").unwrap()]
    };
    let e4m3 = row_of("matmul/w8a8-e4m3");
    assert!(e4m3.contains("class=\"num regress\""), "{e4m3}");
    assert!(e4m3.contains("was 32.90 · -9.1 %<br/>worse<"), "{e4m3}");
    let nvfp4 = row_of("matmul/w4a4-nvfp4");
    assert!(
        nvfp4.contains("num best improve") || nvfp4.contains("num improve"),
        "{nvfp4}"
    );
    assert!(nvfp4.contains("-50.0 %"));
    let ternary = row_of("matmul/w2a8-ternary");
    assert!(ternary.contains("-20.0 %"));
    assert!(ternary.contains("worse, p &lt; 0.001"), "{ternary}");
    let int8 = row_of("matmul/w8a8-int8");
    assert!(!int8.contains("regress") && !int8.contains("improve"));
    assert!(int8.contains("= baseline"));
    let changes = &html[html.find("id=\"changes\"").unwrap()..];
    assert!(changes.contains("REGRESSION"));
    assert!(changes.contains("better"));
}

#[test]
fn pareto_front_of_hand_made_points() {
    // (energy, error). Front: 0 (cheapest), 2, 4 (most accurate); 5 equals 2.
    // 1 is dominated by 0 (same energy, more error); 3 by 2; 6 is NaN.
    let pts = [
        (1.0, 0.5),
        (1.0, 0.6),
        (2.0, 0.1),
        (3.0, 0.2),
        (5.0, 0.01),
        (2.0, 0.1),
        (f64::NAN, 0.0),
        (6.0, 0.01),
    ];
    assert_eq!(pareto_front(&pts), vec![0, 2, 5, 4]);
    assert_eq!(pareto_front(&[]), Vec::<usize>::new());
    assert_eq!(pareto_front(&[(1.0, 1.0)]), vec![0]);
}

#[test]
fn welch_by_hand_and_textbook() {
    // x = 1..4: mean 2.5, s² = 5/3; y = 2,4,6: mean 4, s² = 4.
    // s²/n: 5/12 and 4/3, sum 7/4; t = −1.5/√(7/4);
    // df = (7/4)² / ((5/12)²/3 + (4/3)²/2) = (49/16) / (409/432) = 1323/409.
    let w = welch_t_test(&[1.0, 2.0, 3.0, 4.0], &[2.0, 4.0, 6.0]).unwrap();
    assert!((w.t - (-1.5 / 1.75f64.sqrt())).abs() < 1e-12);
    assert!((w.df - 1323.0 / 409.0).abs() < 1e-12);
    // p by Simpson integration of the t density (outside this crate): 0.33382.
    assert!((w.p_value - 0.33382).abs() < 5e-5, "{}", w.p_value);

    // Wikipedia, "Welch's t-test", example 1: t = −2.46, ν ≈ 25.0, p = 0.021
    // (integration gives t = −2.455356, ν = 24.98853, p = 0.021378).
    let a1 = [
        27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4,
    ];
    let a2 = [
        27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4,
    ];
    let w = welch_t_test(&a1, &a2).unwrap();
    assert!((w.t - -2.455356).abs() < 1e-6, "{}", w.t);
    assert!((w.df - 24.98853).abs() < 1e-5, "{}", w.df);
    assert!((w.p_value - 0.021378).abs() < 1e-5, "{}", w.p_value);
    // Example 2: t = −1.57, ν = 9.9, p = 0.149.
    let b1 = [17.2, 20.9, 22.6, 18.1, 21.7, 21.4, 23.5, 24.2, 14.7, 21.8];
    let b2 = [
        21.5, 22.8, 21.0, 23.0, 21.6, 23.6, 22.5, 20.7, 23.4, 21.8, 20.7, 21.7, 21.5, 22.5, 23.6,
        21.5, 22.5, 23.5, 21.5, 21.8,
    ];
    let w = welch_t_test(&b1, &b2).unwrap();
    assert!(
        (w.t - -1.57).abs() < 0.005
            && (w.df - 9.9).abs() < 0.05
            && (w.p_value - 0.149).abs() < 0.0005
    );
    // Symmetric, and undefined below two samples.
    let r = welch_t_test(&a2, &a1).unwrap();
    assert!((r.t - 2.455356).abs() < 1e-6 && (r.p_value - 0.021378).abs() < 1e-5);
    assert!(welch_t_test(&[1.0], &[1.0, 2.0]).is_none());
    // Zero variance: equal means are noise, different means are not.
    assert_eq!(welch_t_test(&[2.0, 2.0], &[2.0, 2.0]).unwrap().p_value, 1.0);
    assert_eq!(welch_t_test(&[2.0, 2.0], &[3.0, 3.0]).unwrap().p_value, 0.0);
}

#[test]
fn compare_identical_runs() {
    let r = synthetic();
    let c = compare(&r, &r, 5.0);
    assert!(!c.has_regression());
    assert!(
        c.rows.iter().all(|x| x.verdict == Verdict::Same),
        "identical timings are the same too"
    );
    assert!(c.render_text().contains("no changes beyond noise"));
    // 42 cells × (9 deterministic + 1 timing), less the 6 cells of the variant without timings.
    assert_eq!(c.rows.len(), 42 * 10 - 6);
}

#[test]
fn throughput_drop_tight_is_regression_noisy_is_not() {
    let old = synthetic();
    let v = "matmul/w8a8-int8";
    let tight = compare(&old, &with_throughput(&old, v, 0.8, 0.0), 5.0);
    assert!(tight.has_regression());
    let regs: Vec<_> = tight.with_verdict(Verdict::Regression).collect();
    assert_eq!(regs.len(), WORKLOADS.len() * SEEDS.len());
    for r in &regs {
        assert_eq!(r.key.variant, v);
        assert_eq!(r.key.metric, metric::EMULATION_MAC_PER_S);
        let ch = r.change.as_ref().unwrap();
        assert!((ch.pct.unwrap() - -20.0).abs() < 1e-9);
        assert!(ch.p_value.unwrap() < 0.001);
    }
    let text = tight.render_text();
    assert!(
        text.contains("REGRESSION") && text.contains("-20.0 %"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{} regressions", regs.len())),
        "{text}"
    );

    // ±90 % spread on the new repetitions: the 20 % drop is within noise.
    let noisy = compare(&old, &with_throughput(&old, v, 0.8, 0.9), 5.0);
    assert!(!noisy.has_regression());
    let rows: Vec<_> = noisy
        .rows
        .iter()
        .filter(|r| r.key.variant == v && r.key.metric == metric::EMULATION_MAC_PER_S)
        .collect();
    assert!(
        rows.iter()
            .all(|r| r.verdict == Verdict::Noise
                && r.change.as_ref().unwrap().p_value.unwrap() > 0.05)
    );
    // A 20 % speed-up with tight repetitions is better, not a regression.
    let faster = compare(&old, &with_throughput(&old, v, 1.2, 0.0), 5.0);
    assert!(!faster.has_regression());
    assert_eq!(
        faster.with_verdict(Verdict::Better).count(),
        WORKLOADS.len() * SEEDS.len()
    );
}

#[test]
fn deterministic_drop_and_threshold() {
    let old = synthetic();
    let mut new = old.clone();
    // SQNR 47.7 -> 38.16 dB (−20 %) in one cell.
    let target = new
        .rows
        .iter_mut()
        .find(|m| {
            m.variant == "matmul/w8a8-int8"
                && m.metric == metric::SQNR_DB
                && m.seed == 2
                && m.workload == "gaussian"
        })
        .unwrap();
    target.value *= 0.8;
    let c = compare(&old, &new, 5.0);
    assert!(c.has_regression());
    let regs: Vec<_> = c.with_verdict(Verdict::Regression).collect();
    assert_eq!(regs.len(), 1);
    assert_eq!(
        (regs[0].key.seed, regs[0].key.shape.as_str()),
        (2, "16x64x32")
    );
    assert!(regs[0].change.as_ref().unwrap().beyond_noise);
    // Threshold: a 20 % drop passes under 25 %, fails under 19.9 %.
    assert!(!compare(&old, &new, 25.0).has_regression());
    assert_eq!(
        compare(&old, &new, 25.0)
            .with_verdict(Verdict::Worse)
            .count(),
        1
    );
    assert!(compare(&old, &new, 19.9).has_regression());
    // Lower-is-better metric: more energy regresses, less improves.
    let mut more = old.clone();
    more.rows
        .iter_mut()
        .filter(|m| m.metric == metric::ENERGY_PJ_PER_MAC)
        .for_each(|m| m.value *= 1.1);
    assert!(compare(&old, &more, 5.0).has_regression());
    assert!(!compare(&more, &old, 5.0).has_regression());
    // Becoming NaN is a regression; a tiny deterministic change under the threshold is not.
    let mut nan = old.clone();
    nan.rows
        .iter_mut()
        .find(|m| m.metric == metric::COSINE && !m.value.is_nan())
        .unwrap()
        .value = f64::NAN;
    assert!(compare(&old, &nan, 5.0).has_regression());
}

#[test]
fn added_and_removed_rows_are_not_regressions() {
    let old = synthetic();
    let mut new = old.clone();
    new.rows.retain(|m| m.variant != "matmul/w2a8-ternary");
    for m in new
        .rows
        .clone()
        .iter()
        .filter(|m| m.variant == "matmul/w8a8-int8")
    {
        new.rows.push(Measurement {
            variant: "matmul/w8a8-int8-v2".into(),
            ..m.clone()
        });
    }
    let c = compare(&old, &new, 5.0);
    assert!(!c.has_regression());
    let per_variant = 3 * 2 * 10; // cells × metrics
    assert_eq!(c.with_verdict(Verdict::Removed).count(), per_variant);
    assert_eq!(c.with_verdict(Verdict::Added).count(), per_variant);
    assert!(c
        .with_verdict(Verdict::Removed)
        .all(|r| r.key.variant == "matmul/w2a8-ternary" && r.new_reps.is_empty()));
    let text = c.render_text();
    assert!(
        text.contains("removed") && text.contains("added") && text.contains("matmul/w8a8-int8-v2")
    );
    assert!(
        text.contains(&format!("{per_variant} added, {per_variant} removed")),
        "{text}"
    );
}

#[test]
fn render_text_is_aligned() {
    let old = synthetic();
    let new = with_throughput(&old, "matmul/w8a8-int8", 0.8, 0.0);
    let text = compare(&old, &new, 5.0).render_text();
    let lines: Vec<&str> = text.lines().collect();
    let header = lines[0];
    assert!(header.starts_with("variant"));
    // The "metric" column starts at the same character position on every table line.
    let col = header.find("metric").unwrap();
    for l in &lines[1..lines.len() - 1] {
        assert_eq!(
            &l[col..col + metric::EMULATION_MAC_PER_S.len()],
            metric::EMULATION_MAC_PER_S,
            "{text}"
        );
    }
    assert!(lines.last().unwrap().starts_with("compared "));
}

#[test]
fn judge_directions_and_percentages() {
    let c = judge(metric::SQNR_DB, 40.0, 30.0, None);
    assert_eq!((c.direction, c.beyond_noise), (Direction::Worse, true));
    assert!((c.pct.unwrap() - -25.0).abs() < 1e-12);
    let c = judge(metric::REL_FRO_ERROR, 0.0, 0.1, None);
    assert_eq!((c.direction, c.pct), (Direction::Worse, None));
    assert_eq!(
        Verdict::of(&c, 1000.0),
        Verdict::Regression,
        "unbounded change exceeds any threshold"
    );
    let c = judge(metric::SQNR_DB, f64::NAN, f64::NAN, None);
    assert_eq!(Verdict::of(&c, 5.0), Verdict::Same);
    // Timings with a single repetition cannot be told from noise.
    let c = judge(
        metric::EMULATION_MAC_PER_S,
        1e9,
        5e8,
        Some((&[1e9], &[5e8])),
    );
    assert_eq!(Verdict::of(&c, 5.0), Verdict::Noise);
}

#[test]
fn empty_and_all_nan_results_render() {
    let empty = Results::default();
    let html = render(&empty, None);
    for id in SECTIONS.iter().chain(CHARTS) {
        assert!(html.contains(&format!("id=\"{id}\"")), "id {id} missing");
    }
    assert!(html.contains("no variants in this run"));
    assert!(html.contains("no number lines in the run metadata"));
    let mut nan = Results::default();
    for m in [
        metric::REL_FRO_ERROR,
        metric::SQNR_DB,
        metric::ENERGY_PJ_PER_MAC,
    ] {
        nan.rows
            .push(row("matmul/broken", "w", "1x1x1", 0, m, f64::NAN, 0));
    }
    let html = render(&nan, Some(&empty));
    assert!(html.contains("mean over 0 of 1 cells (1 NaN left out)"));
    assert!(html.contains("Not drawn (zero, missing or non-finite error or energy"));
    assert!(html.contains("matmul/broken"));
}

#[test]
fn unwritable_output_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let e = write_report(&synthetic(), None, &file.join("out")).unwrap_err();
    assert!(e.contains("a-file") && !e.contains('\n'), "{e}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
}

#[test]
fn line_chart_draws_every_series_and_skips_undrawable_points() {
    use bitsim::report::charts::{line_chart, Axes, Series, SeriesStyle};
    let series = vec![
        Series {
            label: "simulated <flash>".into(),
            points: vec![(1e3, 5e6), (1e4, 5e5), (1e5, 5e4)],
            style: SeriesStyle::LineWithPoints,
        },
        Series {
            label: "lower bound".into(),
            // The zero and NaN points cannot be drawn on log axes.
            points: vec![(0.0, 1.0), (1e3, f64::NAN), (1e3, 1e6), (1e5, 1e4)],
            style: SeriesStyle::Thin,
        },
    ];
    let axes = Axes {
        x_desc: "cache size, words".into(),
        y_desc: "traffic, words".into(),
        x_log: true,
        y_log: true,
    };
    let svg = line_chart(&series, &axes).unwrap();
    quick_xml::Reader::from_str(&svg)
        .read_event()
        .expect("svg starts well-formed");
    assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
    assert!(
        svg.contains("simulated &lt;flash&gt;"),
        "labels are escaped"
    );
    assert!(svg.contains("lower bound") && svg.contains("cache size, words"));
    // Three data points drawn as circles for the first series only.
    assert_eq!(svg.matches("<circle").count(), 3, "{svg}");
    // Log-axis ticks are powers of ten.
    assert!(svg.contains("10³") && svg.contains("10⁵"), "{svg}");
    // Nothing drawable: a message instead of an empty frame.
    let none = line_chart(
        &[Series {
            label: "x".into(),
            points: vec![(-1.0, 1.0)],
            style: SeriesStyle::Points,
        }],
        &axes,
    )
    .unwrap();
    assert!(none.contains("no data"), "{none}");
}

#[test]
fn native_throughput_beside_the_emulation() {
    let mut r = synthetic();
    let before = render(&r, None);
    assert!(before.contains("no native timing rows in this run"));
    // One variant gets native rows (three repetitions) on every case.
    let v = VARIANTS[0].0;
    for &(w, s) in WORKLOADS {
        for (rep, (g, f)) in [(40.0, 0.4), (50.0, 0.5), (60.0, 0.6)].iter().enumerate() {
            r.rows
                .push(row(v, w, s, SEEDS[0], metric::NATIVE_GOPS, *g, rep as u32));
            let fr = row(
                v,
                w,
                s,
                SEEDS[0],
                metric::NATIVE_CEILING_FRACTION,
                *f,
                rep as u32,
            );
            r.rows.push(fr);
        }
    }
    let html = render(&r, None);
    assert!(!html.contains("no native timing rows in this run"));
    let start = html.find("id=\"chart-native-throughput\"").unwrap();
    let end = html[start..].find("</figure>").unwrap() + start;
    let chart = &html[start..end];
    // Median 50 GOP/s, 50 % of the ceiling; only the variant with rows.
    assert!(chart.contains("50 GOP/s, 50 % of ceiling"), "{chart}");
    assert_eq!(
        chart.matches("% of ceiling,").count() + chart.matches("% of ceiling<").count(),
        1,
        "{chart}"
    );
    // The summary table has the native columns.
    assert!(html.contains("native GOP/s") && html.contains("native % of ceiling"));
}
