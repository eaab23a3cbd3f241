//! Sharded runs and `merge`: for `report` (cells, timings, studies) and the
//! explorer, N = 1, 2, 3, 7 shards (7 > cells of some groups) merged in any
//! order give the unsharded run's rows (non-timing rows byte-identical in
//! CSV and JSON); missing, duplicated, unfinished and foreign shards are
//! errors naming the shard.

use std::path::{Path, PathBuf};

use bitsim::hw::energy::EnergyTable;
use bitsim::suite::explore::{self, spec as xspec};
use bitsim::suite::files::{to_csv, JSON_NAME};
use bitsim::suite::record::{metric, Results};
use bitsim::suite::{self, merge, spec, RunOptions, Shard};
use bitsim::variants::registry;

const SUITE: &str = r#"
name = "sharded"
variants = ["matmul/f64", "matmul/w8a8-int", "matmul/mxfp4", "matmul/fp8-e4m3", "matmul/w4a8-int"]
seeds = [3, 4]
repetitions = 1

[[workloads]]
name = "g"
dist = "gaussian"
shapes = [[2, 40, 3], [1, 33, 2]]

[[workloads]]
name = "llm"
dist = "llm-like"
shapes = [[2, 64, 4]]

[studies.lmul]
samples = 2000
"#;

fn run_report(dir: &Path, shard: Option<Shard>) -> Results {
    let reg = registry();
    let names: Vec<&str> = reg.iter().map(|v| v.name()).collect();
    let s = spec::parse(SUITE, "sharded.toml", Path::new("."), &names).unwrap();
    let table = suite::energy_table(&s).unwrap();
    let mut o = RunOptions::new(dir);
    o.progress = false;
    o.shard = shard;
    suite::run(&s, &reg, &table, &o).unwrap().results
}

/// Non-timing rows as CSV: what a rerun or a merge of shards must reproduce byte for byte.
pub(crate) fn deterministic_rows(r: &Results) -> String {
    let rows: Vec<_> = r
        .rows
        .iter()
        .filter(|m| !metric::is_timing(&m.metric))
        .cloned()
        .collect();
    to_csv(&rows)
}

/// Non-timing rows as CSV, and the studies as JSON: what must be identical.
fn deterministic(r: &Results) -> (String, String) {
    (
        deterministic_rows(r),
        serde_json::to_string(&r.studies).unwrap(),
    )
}

/// Which timings a run holds (their values differ run to run; their keys may not).
pub(crate) fn timing_keys(r: &Results) -> Vec<(String, String, String, String, u32)> {
    let mut v: Vec<_> = r
        .rows
        .iter()
        .filter(|m| metric::is_timing(&m.metric))
        .map(|m| {
            (
                m.variant.clone(),
                m.workload.clone(),
                m.shape.clone(),
                m.metric.clone(),
                m.rep,
            )
        })
        .collect();
    v.sort();
    v
}

/// Runs shards 0..n of n, each in its own folder below `root`, and returns the folders.
pub(crate) fn shard_dirs(root: &Path, n: usize, run: &dyn Fn(&Path, Shard)) -> Vec<PathBuf> {
    (0..n)
        .map(|k| {
            let d = root.join(format!("shard-{k}"));
            run(&d, Shard { index: k, count: n });
            d
        })
        .collect()
}

#[test]
fn report_shards_merge_to_the_unsharded_run() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = run_report(&tmp.path().join("whole"), None);
    assert!(whole.studies.lmul.is_some());
    let want = deterministic(&whole);
    for n in [1, 2, 3, 7] {
        let root = tmp.path().join(format!("n{n}"));
        let mut dirs = shard_dirs(&root, n, &|d, s| {
            run_report(d, Some(s));
        });
        // Any arrival order.
        dirs.reverse();
        dirs.rotate_left(n / 2);
        let merged = merge(&dirs).unwrap();
        assert_eq!(deterministic(&merged), want, "{n} shards");
        assert_eq!(
            timing_keys(&merged),
            timing_keys(&whole),
            "{n} shards: timings"
        );
        assert!(merged.meta.shard.is_none());
        // Each shard holds only its own cells: no shard has them all (n > 1).
        if n > 1 {
            for d in &dirs {
                let r = suite::files::read_results(&d.join(JSON_NAME)).unwrap();
                assert!(
                    r.rows.len() < whole.rows.len(),
                    "{n} shards: {} holds everything",
                    d.display()
                );
            }
        }
    }
}

#[test]
fn merge_names_missing_duplicated_foreign_and_unfinished_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = shard_dirs(tmp.path(), 3, &|d, s| {
        run_report(d, Some(s));
    });
    let e = merge(&dirs[..2]).unwrap_err();
    assert!(e.reason.contains("missing shard 2/3"), "{e}");
    let e = merge(&[dirs[0].clone(), dirs[1].clone(), dirs[1].clone()]).unwrap_err();
    assert!(e.reason.contains("duplicated shard 1/3"), "{e}");
    assert!(e.input.contains("shard-1"), "{e}");

    // Another run: the same shard count, a different spec.
    let other = tmp.path().join("other");
    {
        let reg = registry();
        let names: Vec<&str> = reg.iter().map(|v| v.name()).collect();
        let text = SUITE.replace("seeds = [3, 4]", "seeds = [5]");
        let s = spec::parse(&text, "other.toml", Path::new("."), &names).unwrap();
        let table = suite::energy_table(&s).unwrap();
        let mut o = RunOptions::new(&other);
        o.progress = false;
        o.shard = Some(Shard { index: 2, count: 3 });
        suite::run(&s, &reg, &table, &o).unwrap();
    }
    let e = merge(&[dirs[0].clone(), dirs[1].clone(), other.clone()]).unwrap_err();
    assert!(e.reason.starts_with("foreign shard"), "{e}");
    assert!(e.input.contains("other"), "{e}");

    // Unsharded results are no shard; an unfinished shard is refused.
    let whole = tmp.path().join("whole");
    run_report(&whole, None);
    let e = merge(std::slice::from_ref(&whole)).unwrap_err();
    assert!(e.reason.contains("not a shard"), "{e}");
    let path = dirs[2].join(JSON_NAME);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("\"complete\": true", "\"complete\": false"),
    )
    .unwrap();
    let e = merge(&dirs).unwrap_err();
    assert!(e.reason.contains("did not finish"), "{e}");
}

const EXPLORE: &str = r#"
name = "x"
[explore]
elements = ["e2m1", "int4", "uint4", "e3m2"]
blocks = ["tensor", "channel", "g16", "g32"]
scales = ["e8m0", "e4m3", "bf16"]
rules = ["floor", "absmax", "mse", "minmax"]
matmul_rows = 4
matmul_m = 2

[[explore.tensors]]
name = "w"
role = "weight"
dist = "student-t"
nu = 4.0
scale = 0.02
rows = 12
cols = 40

[[explore.tensors]]
name = "a"
role = "activation"
dist = "llm-like"
rows = 3
cols = 40
"#;

fn run_explore(dir: &Path, shard: Option<Shard>) -> Results {
    let s = xspec::parse_spec(EXPLORE, "x.toml", Path::new(".")).unwrap();
    let t = EnergyTable::load(&s.energy).unwrap();
    let o = explore::ExploreOptions {
        out_dir: dir.to_path_buf(),
        resume: false,
        progress: false,
        stop: None,
        shard,
    };
    explore::run(&s, &t, &s.energy, &o).unwrap().results
}

#[test]
fn explore_shards_merge_to_the_unsharded_run() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = run_explore(&tmp.path().join("whole"), None);
    let want = to_csv(&whole.rows);
    assert!(whole.rows.len() > 100);
    for n in [1, 2, 3, 7] {
        let root = tmp.path().join(format!("n{n}"));
        let mut dirs = shard_dirs(&root, n, &|d, s| {
            run_explore(d, Some(s));
        });
        dirs.reverse();
        let merged = merge(&dirs).unwrap();
        assert_eq!(to_csv(&merged.rows), want, "{n} shards");
        assert_eq!(merged.explore, whole.explore, "{n} shards");
    }
    // A report shard is foreign to explore shards.
    let r = tmp.path().join("r");
    run_report(&r, Some(Shard { index: 1, count: 2 }));
    let x = tmp.path().join("x0");
    run_explore(&x, Some(Shard { index: 0, count: 2 }));
    let e = merge(&[x, r]).unwrap_err();
    assert!(e.reason.contains("foreign shard"), "{e}");
}

#[test]
fn explore_resume_keeps_complete_configurations() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("x");
    let whole = run_explore(&d, None);
    // Drop the last configuration's rows (and one row of the first): resume reruns both.
    let mut r = whole.clone();
    let last = r.rows.last().unwrap().variant.clone();
    let first = r.rows[0].variant.clone();
    r.rows.retain(|m| m.variant != last);
    r.rows.remove(0);
    suite::files::write_results(&d, &r).unwrap();
    let s = xspec::parse_spec(EXPLORE, "x.toml", Path::new(".")).unwrap();
    let t = EnergyTable::load(&s.energy).unwrap();
    let o = explore::ExploreOptions {
        out_dir: d.clone(),
        resume: true,
        progress: false,
        stop: None,
        shard: None,
    };
    let got = explore::run(&s, &t, &s.energy, &o).unwrap();
    assert_eq!(got.run, 2, "reran {first} and {last} only");
    assert_eq!(to_csv(&got.results.rows), to_csv(&whole.rows));
}
