//! `bitsim compare` as a CI gate: it must be able to fail. Too few timing
//! repetitions, an empty or unrelated baseline are errors (exit 2); removed
//! rows and a different suite fail (exit 1) unless a flag allows them.

use crate::cli_support;

use std::fs;
use std::path::Path;

use bitsim::suite::record::{metric, Measurement, Results};
use cli_support::{assert_error, bitsim};

/// One row of a hand-made run of suite `suite`.
fn row(suite: &str, variant: &str, name: &str, value: f64, rep: u32) -> Measurement {
    Measurement {
        suite: suite.into(),
        variant: variant.into(),
        workload: "gaussian".into(),
        shape: "4x96x8".into(),
        metric: name.into(),
        value,
        unit: String::new(),
        seed: 0,
        rep,
        version: "0.1.0".into(),
        commit: None,
    }
}

/// A run of two variants, each with a relative error and `reps`
/// throughput repetitions of `mac_per_s` (plus a small deterministic jitter).
fn run(suite: &str, reps: u32, mac_per_s: f64) -> Results {
    let mut r = Results::default();
    r.meta.suite = suite.into();
    for v in ["matmul/a", "matmul/b"] {
        r.rows.push(row(suite, v, metric::REL_FRO_ERROR, 0.01, 0));
        for i in 0..reps {
            let x = mac_per_s * (1.0 + 0.001 * f64::from(i));
            r.rows
                .push(row(suite, v, metric::EMULATION_MAC_PER_S, x, i));
        }
    }
    r
}

fn write(dir: &Path, name: &str, r: &Results) -> String {
    let p = dir.join(name);
    fs::write(&p, serde_json::to_string(r).unwrap()).unwrap();
    p.to_str().unwrap().to_string()
}

fn code(args: &[&str]) -> (Option<i32>, String, String) {
    let o = bitsim(args);
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn one_repetition_cannot_judge_a_drop_to_zero() {
    let dir = tempfile::tempdir().unwrap();
    let old = write(dir.path(), "old.json", &run("ci", 1, 1e9));
    let new = write(dir.path(), "new.json", &run("ci", 1, 0.0));
    // Refused, naming the file, the metric and how many repetitions are needed.
    let o = bitsim(&["compare", &old, &new]);
    assert_error(&o, &old, "needs at least 3");
    assert!(String::from_utf8_lossy(&o.stderr).contains("emulation_mac_per_s"));
    // --min-reps lowers the bar, but never below the 2 Welch's test needs.
    let o = bitsim(&["compare", &old, &new, "--min-reps", "1"]);
    assert_eq!(o.status.code(), Some(2));
    // Without timings the deterministic metrics are judged (and are equal).
    let (c, out, err) = code(&["compare", &old, &new, "--no-timings"]);
    assert_eq!(c, Some(0), "{out}{err}");
    assert!(out.contains("compared 2 rows"), "{out}");
}

#[test]
fn enough_repetitions_turn_a_drop_into_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let old = write(dir.path(), "old.json", &run("ci", 3, 1e9));
    let zero = write(dir.path(), "zero.json", &run("ci", 3, 0.0));
    let (c, out, _) = code(&["compare", &old, &zero]);
    assert_eq!(c, Some(1), "{out}");
    assert!(out.contains("FAIL: 2 metrics regressed"), "{out}");
    let same = write(dir.path(), "same.json", &run("ci", 3, 1e9));
    assert_eq!(code(&["compare", &old, &same]).0, Some(0));
    // Five repetitions demanded, three given: refused, naming the new run too.
    let (c, _, err) = code(&["compare", &old, &same, "--min-reps", "5"]);
    assert_eq!(c, Some(2), "{err}");
    assert!(err.contains("at least 5"), "{err}");
}

#[test]
fn removed_rows_fail_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let full = run("ci", 3, 1e9);
    let old = write(dir.path(), "old.json", &full);
    let mut part = full.clone();
    part.rows.retain(|m| m.variant == "matmul/a");
    let new = write(dir.path(), "new.json", &part);
    let (c, out, _) = code(&["compare", &old, &new]);
    assert_eq!(c, Some(1), "{out}");
    assert!(out.contains("missing from the new run"), "{out}");
    assert_eq!(code(&["compare", &old, &new, "--allow-removed"]).0, Some(0));
    // Added rows are not a failure.
    assert_eq!(code(&["compare", &new, &old]).0, Some(0));
}

#[test]
fn a_different_suite_fails_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let old = write(dir.path(), "old.json", &run("ci", 3, 1e9));
    let mut other = run("ci", 3, 1e9);
    other.meta.suite = "default".into();
    let new = write(dir.path(), "new.json", &other);
    let (c, out, _) = code(&["compare", &old, &new]);
    assert_eq!(c, Some(1), "{out}");
    assert!(out.contains("FAIL: suite differs"), "{out}");
    let (c, out, _) = code(&["compare", &old, &new, "--allow-suite-change"]);
    assert_eq!(c, Some(0), "{out}");
}

#[test]
fn empty_or_foreign_baseline_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let new = write(dir.path(), "new.json", &run("ci", 3, 1e9));
    let mut empty = Results::default();
    empty.meta.suite = "ci".into();
    let e = write(dir.path(), "empty.json", &empty);
    assert_error(&bitsim(&["compare", &e, &new]), &e, "no result rows");
    assert_error(&bitsim(&["compare", &new, &e]), &e, "no result rows");
    // A results file sharing no row with the new run: not its baseline.
    let mut foreign = run("ci", 3, 1e9);
    for m in &mut foreign.rows {
        m.variant = format!("other/{}", m.variant);
    }
    let f = write(dir.path(), "foreign.json", &foreign);
    let flags = ["--allow-removed", "--allow-suite-change"];
    let o = bitsim(&[&["compare", f.as_str(), new.as_str()][..], &flags[..]].concat());
    assert_error(&o, &f, "no row pairs");
    // JSON that is not a results file at all.
    let j = dir.path().join("x.json");
    fs::write(&j, "{\"a\": 1}").unwrap();
    let j = j.to_str().unwrap();
    assert_error(
        &bitsim(&["compare", j, &new]),
        j,
        "not a bitsim results.json",
    );
}

#[test]
fn native_throughput_is_judged_as_a_timing() {
    // Like the emulation's: three repetitions each of native G ops/s and
    // fraction of ceiling; a drop to a tenth fails, --no-timings skips them.
    let native = |gops: f64| {
        let mut r = run("ci", 3, 1e9);
        for i in 0..3 {
            let j = 1.0 + 0.001 * f64::from(i);
            r.rows
                .push(row("ci", "matmul/a", metric::NATIVE_GOPS, gops * j, i));
            r.rows.push(row(
                "ci",
                "matmul/a",
                metric::NATIVE_CEILING_FRACTION,
                gops / 200.0 * j,
                i,
            ));
        }
        r
    };
    let dir = tempfile::tempdir().unwrap();
    let old = write(dir.path(), "old.json", &native(100.0));
    let slow = write(dir.path(), "slow.json", &native(10.0));
    let fast = write(dir.path(), "fast.json", &native(1000.0));
    let (c, out, _) = code(&["compare", &old, &slow]);
    assert_eq!(c, Some(1), "{out}");
    assert!(out.contains("FAIL: 2 metrics regressed"), "{out}");
    assert!(out.contains(metric::NATIVE_GOPS), "{out}");
    assert!(out.contains(metric::NATIVE_CEILING_FRACTION), "{out}");
    // Higher is better: faster is no failure.
    let (c, out, _) = code(&["compare", &old, &fast]);
    assert_eq!(c, Some(0), "{out}");
    let (c, out, _) = code(&["compare", &old, &slow, "--no-timings"]);
    assert_eq!(c, Some(0), "{out}");
}
