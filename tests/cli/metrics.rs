//! `bitsim metrics`: the metric table that scripts read the timing metrics from.

use crate::cli_support;
use cli_support::ok;

#[test]
fn timing_names_are_exactly_the_tables_timings() {
    let got: Vec<String> = ok(&["metrics", "--timing", "--names"])
        .lines()
        .map(String::from)
        .collect();
    let want: Vec<String> = bitsim::suite::record::metric::all()
        .filter(|m| m.timing)
        .map(|m| m.name.to_string())
        .collect();
    assert_eq!(got, want);
    // The speeds the suites record are among them; a result metric is not.
    for name in [
        "emulation_mac_per_s",
        "native_gops",
        "native_ceiling_fraction",
    ] {
        assert!(got.iter().any(|g| g == name), "{name} missing: {got:?}");
    }
    assert!(!got.iter().any(|g| g == "sqnr_db"), "{got:?}");
}

#[test]
fn the_table_lists_every_metric_with_its_kind() {
    let text = ok(&["metrics"]);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["name", "unit", "better", "kind"]);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), bitsim::suite::record::metric::all().count());
    let sqnr = rows
        .iter()
        .find(|r| r[0] == "sqnr_db")
        .expect("sqnr_db row");
    assert_eq!(sqnr[1..], ["dB", "higher", "result"]);
    let gops = rows
        .iter()
        .find(|r| r[0] == "native_gops")
        .expect("native_gops row");
    assert_eq!(gops[1..], ["GOP/s", "higher", "timing"]);
}
