//! `bitsim variants list`, `bitsim report` and `bitsim compare` end to end.
//!
//! These run the real variants, generators, metrics, energy tables and
//! report renderer, so they pass only with all of them in place.

use crate::cli_support;

use std::fs;
use std::path::Path;

use bitsim::suite::files::read_results;
use bitsim::suite::record::metric::{self, CELL_METRICS};
use cli_support::{assert_error, bitsim, listing, ok};

fn ci_suite() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/bench-suites/ci.toml").to_string()
}

/// Runs the CI suite into `dir` and returns stdout.
fn run_ci(dir: &Path) -> String {
    ok(&[
        "report",
        "--suite",
        &ci_suite(),
        "--out",
        dir.to_str().unwrap(),
    ])
}

#[test]
fn variants_list_has_the_reference() {
    let out = ok(&["variants", "list"]);
    let mut lines = out.lines();
    let header = lines.next().unwrap();
    for col in [
        "name",
        "weights",
        "activations",
        "accumulator",
        "bits/weight (k=4096)",
        "description",
    ] {
        assert!(header.contains(col), "{header}");
    }
    let f64_row = lines
        .find(|l| l.split_whitespace().next() == Some("matmul/f64"))
        .expect("matmul/f64 listed");
    assert!(f64_row.contains("64"), "{f64_row}");
}

#[test]
fn report_ci_suite_writes_all_three_files_and_compare_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let stdout = run_ci(&out_dir);
    assert!(stdout.contains("index.html"), "{stdout}");
    assert!(stdout.contains("suite ci:"), "{stdout}");
    assert_eq!(
        listing(&out_dir),
        ["index.html", "results.csv", "results.json"]
    );
    let html = fs::read_to_string(out_dir.join("index.html")).unwrap();
    assert!(
        html.contains("<html") || html.contains("<!DOCTYPE"),
        "not HTML"
    );
    check_report_page(&html);

    let json = out_dir.join("results.json");
    let r = read_results(&json).unwrap();
    assert_eq!(r.meta.suite, "ci");
    assert!(r.meta.variants.iter().any(|v| v.name == "matmul/f64"));
    // Every cell has every deterministic metric once.
    let mut cells: Vec<_> = r.rows.iter().map(|m| m.cell_key()).collect();
    cells.sort();
    cells.dedup();
    for c in &cells {
        for m in CELL_METRICS.iter().map(|d| d.name) {
            let n = r
                .rows
                .iter()
                .filter(|x| x.cell_key() == *c && x.metric == m)
                .count();
            assert_eq!(n, 1, "{c:?} {m}");
        }
    }
    // The reference against itself is exact.
    assert!(r
        .rows
        .iter()
        .filter(|m| m.variant == "matmul/f64" && m.metric == metric::REL_FRO_ERROR)
        .all(|m| m.value == 0.0));

    // compare: identical files -> 0 (the CI suite has one timing
    // repetition, too few to judge timings: they are left out).
    let j = json.to_str().unwrap();
    let o = bitsim(&["compare", j, j]);
    assert_eq!(o.status.code(), Some(2), "one repetition is refused");
    let o = bitsim(&["compare", j, j, "--no-timings"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // A doctored regression: every non-zero output error of the new run doubled -> 1.
    let mut worse = r.clone();
    let mut doctored = 0;
    for m in &mut worse.rows {
        if m.metric == metric::REL_FRO_ERROR && m.value.is_finite() && m.value > 0.0 {
            m.value *= 2.0;
            doctored += 1;
        }
    }
    assert!(
        doctored > 0,
        "no variant with a non-zero error in the CI suite"
    );
    let worse_path = dir.path().join("worse.json");
    fs::write(&worse_path, serde_json::to_string(&worse).unwrap()).unwrap();
    let o = bitsim(&["compare", j, worse_path.to_str().unwrap(), "--no-timings"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(!o.stdout.is_empty());
    // The other way round it is an improvement, not a regression.
    let o = bitsim(&["compare", worse_path.to_str().unwrap(), j, "--no-timings"]);
    assert_eq!(o.status.code(), Some(0));
    // A threshold above the change accepts it.
    let o = bitsim(&[
        "compare",
        j,
        worse_path.to_str().unwrap(),
        "--max-regression",
        "1000",
        "--no-timings",
    ]);
    assert_eq!(o.status.code(), Some(0));

    // --from renders an existing results file, with a baseline.
    let again = dir.path().join("again");
    let stdout = ok(&[
        "report",
        "--from",
        j,
        "--baseline",
        worse_path.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(stdout.contains("index.html"), "{stdout}");
    assert_eq!(listing(&again), ["index.html"]);

    // --resume with everything done runs nothing new and keeps the rows.
    let stdout = ok(&[
        "report",
        "--suite",
        &ci_suite(),
        "--out",
        out_dir.to_str().unwrap(),
        "--resume",
    ]);
    assert!(stdout.contains("resumed"), "{stdout}");
    let r2 = read_results(&json).unwrap();
    let strip = |r: &bitsim::suite::record::Results| {
        let rows: Vec<_> = r
            .rows
            .iter()
            .filter(|m| !metric::is_timing(&m.metric))
            .cloned()
            .collect();
        serde_json::to_string(&rows).unwrap()
    };
    assert_eq!(strip(&r), strip(&r2));
}

#[test]
fn compare_bad_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    fs::write(&bad, "{").unwrap();
    let b = bad.to_str().unwrap();
    assert_error(&bitsim(&["compare", b, b]), b, "not a bitsim results.json");
    let missing = dir.path().join("missing.json");
    let m = missing.to_str().unwrap();
    assert_error(&bitsim(&["compare", m, b]), m, "cannot read");
    assert_error(
        &bitsim(&["compare", b, b, "--max-regression", "lots"]),
        "--max-regression lots",
        "percentage",
    );
}

#[test]
fn report_bad_inputs_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    let suite = dir.path().join("s.toml");
    let s = suite.to_str().unwrap();

    // Unknown key: file, line and key named.
    fs::write(
        &suite,
        "name = 'x'\nvariants = ['matmul/f64']\nshapes = 3\n",
    )
    .unwrap();
    assert_error(
        &bitsim(&["report", "--suite", s, "--out", o]),
        &format!("{s} line 3"),
        "shapes",
    );
    // Unknown variant.
    fs::write(
        &suite,
        "name = 'x'\nvariants = ['matmul/f64', 'matmul/no-such']\n[[workloads]]\nname = 'g'\ndist = 'gaussian'\nshapes = [[1, 8, 2]]\n",
    )
    .unwrap();
    assert_error(
        &bitsim(&["report", "--suite", s, "--out", o]),
        &format!("{s} line 2"),
        "matmul/no-such",
    );
    // A missing energy table.
    fs::write(
        &suite,
        "name = 'x'\nvariants = ['matmul/f64']\nenergy = 'tables/none.toml'\n[[workloads]]\nname = 'g'\ndist = 'gaussian'\nshapes = [[1, 8, 2]]\n",
    )
    .unwrap();
    assert_error(
        &bitsim(&["report", "--suite", s, "--out", o]),
        &format!("{s} line 3"),
        "energy",
    );
    // A missing suite, a missing baseline.
    let none = dir.path().join("none.toml");
    assert_error(
        &bitsim(&["report", "--suite", none.to_str().unwrap(), "--out", o]),
        none.to_str().unwrap(),
        "cannot read",
    );
    let nob = dir.path().join("nob.json");
    assert_error(
        &bitsim(&[
            "report",
            "--suite",
            &ci_suite(),
            "--baseline",
            nob.to_str().unwrap(),
            "--out",
            o,
        ]),
        nob.to_str().unwrap(),
        "cannot read",
    );
    // --out naming a file.
    let file = dir.path().join("afile");
    fs::write(&file, "x").unwrap();
    assert_error(
        &bitsim(&[
            "report",
            "--suite",
            &ci_suite(),
            "--out",
            file.to_str().unwrap(),
        ]),
        "--out",
        "not a folder",
    );
    assert!(!out.exists(), "output written despite errors");
}

/// The page from a real run holds every registered variant and every section,
/// links nowhere outside itself, and parses as well-formed markup.
fn check_report_page(html: &str) {
    for v in bitsim::variants::registry() {
        assert!(html.contains(v.name()), "variant {} missing", v.name());
    }
    for id in [
        "metadata",
        "summary",
        "workloads",
        "charts",
        "variants",
        "chart-error-energy",
        "chart-sqnr",
        "chart-energy",
        "chart-throughput",
        "chart-native-throughput",
        "chart-number-lines",
    ] {
        assert!(
            html.contains(&format!("id=\"{id}\"")),
            "section {id} missing"
        );
    }
    for url in ["http:", "https:", "//", "src=", "url(", "@import"] {
        assert!(!html.contains(url), "external reference {url}");
    }
    let mut reader = quick_xml::Reader::from_str(html);
    let mut depth = 0i64;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Start(_)) => depth += 1,
            Ok(quick_xml::events::Event::End(_)) => depth -= 1,
            Ok(_) => {}
            Err(e) => panic!("malformed at byte {}: {e}", reader.buffer_position()),
        }
        assert!(depth >= 0, "unbalanced end tag");
    }
    assert_eq!(depth, 0, "unclosed elements");
}
