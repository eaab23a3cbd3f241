//! Run-to-run comparison of two results files (what `bitsim compare` and the
//! report's baseline columns show).
//!
//! Rows are paired by (variant, workload, shape, seed, metric). A
//! deterministic metric (one repetition) is beyond noise whenever it differs;
//! a timing metric ([`metric::is_timing`], several repetitions) is beyond
//! noise when Welch's t-test on the repetitions gives p < [`NOISE_P`].

use super::stats::{mean, welch_t_test};
use super::summary::{collect_samples, fmt_metric, fmt_pct, RowKey, Samples};
use crate::suite::record::{metric, Results};
use std::collections::BTreeMap;

/// Significance level of the noise test.
pub const NOISE_P: f64 = 0.05;

/// Which way a metric moved, judged by [`metric::higher_is_better`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Equal values (NaN counts as equal to NaN).
    Same,
    /// Moved in the good direction (or stopped being NaN).
    Better,
    /// Moved in the bad direction (or became NaN).
    Worse,
}

/// The change of one metric between two runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Old value (mean of the repetitions for timings).
    pub old: f64,
    /// New value.
    pub new: f64,
    /// (new − old) / |old| in percent; `None` when it cannot be expressed
    /// (old is 0 and new is not, or a value is non-finite).
    pub pct: Option<f64>,
    /// Welch p-value (timings with ≥ 2 repetitions on both sides only).
    pub p_value: Option<f64>,
    /// Whether the change is beyond noise (see the module docs).
    pub beyond_noise: bool,
    /// Which way it moved.
    pub direction: Direction,
}

/// Judges a change of `metric` from `old` to `new`. For a timing metric,
/// `samples` gives the (old, new) repetitions for Welch's test; with fewer
/// than two on either side the change cannot be told from noise and counts
/// as within noise. Any other metric is beyond noise whenever it differs.
pub fn judge(name: &str, old: f64, new: f64, samples: Option<(&[f64], &[f64])>) -> Change {
    let same = old == new || (old.is_nan() && new.is_nan());
    // Becoming NaN is worse, leaving NaN better; otherwise the metric's direction decides.
    let direction = if same {
        Direction::Same
    } else if new.is_nan() {
        Direction::Worse
    } else if old.is_nan() || (new > old) == metric::higher_is_better(name) {
        Direction::Better
    } else {
        Direction::Worse
    };
    let pct = if same {
        Some(0.0)
    } else if old.is_finite() && new.is_finite() && old != 0.0 {
        Some((new - old) / old.abs() * 100.0)
    } else {
        None
    };
    let (p_value, beyond_noise) = if metric::is_timing(name) {
        let p = samples
            .and_then(|(a, b)| welch_t_test(a, b))
            .map(|w| w.p_value);
        (p, !same && p.is_some_and(|p| p < NOISE_P))
    } else {
        (None, !same)
    };
    Change {
        old,
        new,
        pct,
        p_value,
        beyond_noise,
        direction,
    }
}

/// The verdict on one paired row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// Worse beyond noise and by more than the threshold.
    Regression,
    /// Worse beyond noise, within the threshold.
    Worse,
    /// Better beyond noise.
    Better,
    /// Only in the old run.
    Removed,
    /// Only in the new run.
    Added,
    /// Differs, but within noise.
    Noise,
    /// Identical.
    Same,
}

impl Verdict {
    /// Lower-case word for tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regression => "REGRESSION",
            Verdict::Worse => "worse",
            Verdict::Better => "better",
            Verdict::Removed => "removed",
            Verdict::Added => "added",
            Verdict::Noise => "noise",
            Verdict::Same => "same",
        }
    }

    /// The verdict of a change under a regression threshold in percent.
    pub fn of(change: &Change, max_regression_pct: f64) -> Verdict {
        match change.direction {
            Direction::Same => Verdict::Same,
            _ if !change.beyond_noise => Verdict::Noise,
            Direction::Better => Verdict::Better,
            // A change that has no percentage (0 -> x, finite -> NaN) is unbounded.
            Direction::Worse if change.pct.is_none_or(|p| p.abs() > max_regression_pct) => {
                Verdict::Regression
            }
            Direction::Worse => Verdict::Worse,
        }
    }
}

/// One row of the comparison: a (variant, workload, shape, seed, metric).
#[derive(Debug, Clone, PartialEq)]
pub struct RowChange {
    /// What was paired.
    pub key: RowKey,
    /// Unit of the metric.
    pub unit: String,
    /// Old repetitions (empty when added).
    pub old_reps: Vec<f64>,
    /// New repetitions (empty when removed).
    pub new_reps: Vec<f64>,
    /// The change; `None` when the row is in one run only.
    pub change: Option<Change>,
    /// The verdict.
    pub verdict: Verdict,
}

/// The comparison of two runs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Comparison {
    /// Maximum allowed regression, percent.
    pub max_regression_pct: f64,
    /// Every row of either run, ordered by key.
    pub rows: Vec<RowChange>,
    /// Remarks about the runs themselves (different energy table, version…).
    pub notes: Vec<String>,
}

impl Comparison {
    /// Rows with the given verdict.
    pub fn with_verdict(&self, v: Verdict) -> impl Iterator<Item = &RowChange> {
        self.rows.iter().filter(move |r| r.verdict == v)
    }

    /// An aligned text table of every row that changed beyond noise or is in
    /// one run only (regressions first; a cell missing from one run is one
    /// line), then a summary line.
    pub fn render_text(&self) -> String {
        let mut listed: Vec<&RowChange> = self
            .rows
            .iter()
            .filter(|r| !matches!(r.verdict, Verdict::Same | Verdict::Noise))
            .collect();
        listed.sort_by(|a, b| a.verdict.cmp(&b.verdict).then(a.key.cmp(&b.key)));
        let value = |name: &str, reps: &[f64], v: Option<f64>| match (reps.is_empty(), v) {
            (true, _) => "-".to_string(),
            (false, Some(v)) => fmt_metric(name, v),
            (false, None) => fmt_metric(name, mean(reps)),
        };
        let mut table: Vec<[String; 9]> = vec![[
            "variant", "workload", "shape", "seed", "metric", "old", "new", "change", "verdict",
        ]
        .map(String::from)];
        // A cell (variant, workload, shape, seed) present in one run only
        // becomes one line, not one line per metric.
        let cell = |k: &RowKey| {
            (
                k.variant.clone(),
                k.workload.clone(),
                k.shape.clone(),
                k.seed,
            )
        };
        // Per cell: rows, removed rows, added rows.
        let mut per_cell: BTreeMap<(String, String, String, u64), [usize; 3]> = BTreeMap::new();
        for r in &self.rows {
            let e = per_cell.entry(cell(&r.key)).or_default();
            e[0] += 1;
            e[1] += usize::from(r.verdict == Verdict::Removed);
            e[2] += usize::from(r.verdict == Verdict::Added);
        }
        let mut i = 0;
        while i < listed.len() {
            let r = listed[i];
            let k = &r.key;
            let [total, removed, added] = per_cell[&cell(k)];
            let whole = match r.verdict {
                Verdict::Removed => removed == total,
                Verdict::Added => added == total,
                _ => false,
            };
            if total > 1 && whole {
                table.push([
                    k.variant.clone(),
                    k.workload.clone(),
                    k.shape.clone(),
                    k.seed.to_string(),
                    format!("(all {total} metrics)"),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    r.verdict.as_str().to_string(),
                ]);
                i += total;
                continue;
            }
            let ch = r.change.as_ref();
            table.push([
                k.variant.clone(),
                k.workload.clone(),
                k.shape.clone(),
                k.seed.to_string(),
                k.metric.clone(),
                value(&k.metric, &r.old_reps, ch.map(|c| c.old)),
                value(&k.metric, &r.new_reps, ch.map(|c| c.new)),
                ch.map_or("-".into(), |c| fmt_pct(c.pct)),
                r.verdict.as_str().to_string(),
            ]);
            i += 1;
        }
        let mut out = String::new();
        for note in &self.notes {
            out.push_str(&format!("note: {note}\n"));
        }
        if listed.is_empty() {
            out.push_str("no changes beyond noise\n");
        } else {
            let ncol = table[0].len();
            let widths: Vec<usize> = (0..ncol)
                .map(|c| {
                    table
                        .iter()
                        .map(|row| row[c].chars().count())
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            // Numbers right-aligned (seed, old, new, change), words left-aligned.
            let right = [false, false, false, true, false, true, true, true, false];
            for row in &table {
                let cells: Vec<String> = row
                    .iter()
                    .enumerate()
                    .map(|(c, s)| {
                        let pad = " ".repeat(widths[c] - s.chars().count());
                        if right[c] {
                            format!("{pad}{s}")
                        } else {
                            format!("{s}{pad}")
                        }
                    })
                    .collect();
                out.push_str(cells.join("  ").trim_end());
                out.push('\n');
            }
        }
        out.push_str(&self.summary_line());
        out.push('\n');
        out
    }

    /// One line: how many rows got each verdict.
    pub fn summary_line(&self) -> String {
        let n = |v| self.with_verdict(v).count();
        let regressions = n(Verdict::Regression);
        format!(
            "compared {} rows: {} regression{} (worse by more than {} % and beyond noise), {} worse within threshold, \
             {} better, {} within noise, {} unchanged, {} added, {} removed",
            self.rows.len(),
            regressions,
            if regressions == 1 { "" } else { "s" },
            self.max_regression_pct,
            n(Verdict::Worse),
            n(Verdict::Better),
            n(Verdict::Noise),
            n(Verdict::Same),
            n(Verdict::Added),
            n(Verdict::Removed),
        )
    }

    /// Whether any metric regressed beyond the threshold and beyond noise.
    pub fn has_regression(&self) -> bool {
        self.with_verdict(Verdict::Regression).next().is_some()
    }
}

/// The change of `metric` of one variant, aggregated over its cells: `old`
/// and `new` are the aggregates the report shows. For a timing metric the
/// noise test pools every cell's repetitions divided by that cell's old mean
/// (so cells of different sizes are comparable) and runs Welch's test on the
/// pooled relative values; other metrics are beyond noise whenever the
/// aggregates differ.
pub fn aggregate_change(
    old_samples: &BTreeMap<RowKey, Samples>,
    new_samples: &BTreeMap<RowKey, Samples>,
    variant: &str,
    name: &str,
    old: f64,
    new: f64,
) -> Change {
    if !metric::is_timing(name) {
        return judge(name, old, new, None);
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for (k, s) in old_samples
        .iter()
        .filter(|(k, _)| k.variant == variant && k.metric == name)
    {
        let Some(n) = new_samples.get(k) else {
            continue;
        };
        let m = mean(&s.reps);
        if m.is_finite() && m != 0.0 {
            a.extend(s.reps.iter().map(|x| x / m));
            b.extend(n.reps.iter().map(|x| x / m));
        }
    }
    judge(name, old, new, Some((&a, &b)))
}

/// Compares `new` against `old`; a metric regresses when it moved in its bad
/// direction by more than `max_regression_pct` percent and, where there are
/// repetitions, Welch's t-test says the change is beyond noise.
pub fn compare(old: &Results, new: &Results, max_regression_pct: f64) -> Comparison {
    let (a, b) = (collect_samples(old), collect_samples(new));
    let mut rows = Vec::new();
    for (key, s) in &a {
        match b.get(key) {
            Some(t) => {
                let (o, n) = (mean(&s.reps), mean(&t.reps));
                let change = judge(&key.metric, o, n, Some((&s.reps, &t.reps)));
                let verdict = Verdict::of(&change, max_regression_pct);
                rows.push(RowChange {
                    key: key.clone(),
                    unit: t.unit.clone(),
                    old_reps: s.reps.clone(),
                    new_reps: t.reps.clone(),
                    change: Some(change),
                    verdict,
                });
            }
            None => rows.push(RowChange {
                key: key.clone(),
                unit: s.unit.clone(),
                old_reps: s.reps.clone(),
                new_reps: Vec::new(),
                change: None,
                verdict: Verdict::Removed,
            }),
        }
    }
    for (key, t) in b.iter().filter(|(k, _)| !a.contains_key(k)) {
        rows.push(RowChange {
            key: key.clone(),
            unit: t.unit.clone(),
            old_reps: Vec::new(),
            new_reps: t.reps.clone(),
            change: None,
            verdict: Verdict::Added,
        });
    }
    rows.sort_by(|x, y| x.key.cmp(&y.key));
    Comparison {
        max_regression_pct,
        rows,
        notes: meta_notes(old, new),
    }
}

/// Differences between the two runs' settings that explain changes.
fn meta_notes(old: &Results, new: &Results) -> Vec<String> {
    let (o, n) = (&old.meta, &new.meta);
    let mut notes = Vec::new();
    let mut differs = |what: &str, a: &str, b: &str| {
        if a != b {
            notes.push(format!("{what} differs: {a:?} (old) vs {b:?} (new)"));
        }
    };
    differs("energy table", &o.energy_table, &n.energy_table);
    differs("CPU", &o.cpu_model, &n.cpu_model);
    differs("threads", &o.threads.to_string(), &n.threads.to_string());
    differs("suite", &o.suite, &n.suite);
    notes
}

/// The fewest timing repetitions per run that `compare` judges by default:
/// Welch's test needs two per side, and with three its smallest possible
/// degrees of freedom (2) still let a real drop reach p < [`NOISE_P`]
/// without an absurd t (4.3 rather than 12.7 at one degree of freedom).
pub const MIN_TIMING_REPS: usize = 3;

/// What a gate (`bitsim compare`) demands of two runs beyond "no regression".
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// Timing rows paired between the runs must have at least this many
    /// repetitions in each run, or the comparison is refused.
    pub min_reps: usize,
    /// Whether timing metrics are compared at all.
    pub timings: bool,
    /// Whether rows of the old run missing from the new one are allowed.
    pub allow_removed: bool,
    /// Whether the runs may come from differently named suites.
    pub allow_suite_change: bool,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            min_reps: MIN_TIMING_REPS,
            timings: true,
            allow_removed: false,
            allow_suite_change: false,
        }
    }
}

/// Which run a refusal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The baseline.
    Old,
    /// The later run.
    New,
}

/// Why two runs cannot be compared at all (as opposed to a failed comparison).
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The run at fault.
    pub side: Side,
    /// One line saying what is wrong and what would fix it.
    pub reason: String,
}

/// Checks that `old` and `new` can be judged under `gate`: neither run is
/// empty, they share at least one row, and every paired timing row has at
/// least `gate.min_reps` repetitions in each run (unless timings are off).
///
/// A gate that passed on an empty or unrelated baseline, or on one
/// repetition (where no drop, not even to zero, can be told from noise),
/// would pass whatever happened, so these are errors, not passes.
pub fn check_comparable(old: &Results, new: &Results, gate: &Gate) -> Result<(), Refusal> {
    for (side, r) in [(Side::Old, old), (Side::New, new)] {
        if r.rows.is_empty() {
            return Err(Refusal {
                side,
                reason: "has no result rows: nothing to compare".into(),
            });
        }
    }
    let (a, b) = (collect_samples(old), collect_samples(new));
    if !a.keys().any(|k| b.contains_key(k)) {
        return Err(Refusal {
            side: Side::Old,
            reason: format!(
                "no row pairs with a row of the new run (suite {:?} vs {:?}): not a baseline of this run",
                old.meta.suite, new.meta.suite
            ),
        });
    }
    if !gate.timings {
        return Ok(());
    }
    for (k, s) in a.iter().filter(|(k, _)| metric::is_timing(&k.metric)) {
        let Some(t) = b.get(k) else { continue };
        for (side, n) in [(Side::Old, s.reps.len()), (Side::New, t.reps.len())] {
            if n < gate.min_reps {
                return Err(Refusal {
                    side,
                    reason: format!(
                        "timing {} of {} on {} {} has {n} repetition{}; judging a timing needs at least {} \
                         in each run (set repetitions = {} in the suite, or pass --no-timings)",
                        k.metric,
                        k.variant,
                        k.workload,
                        k.shape,
                        if n == 1 { "" } else { "s" },
                        gate.min_reps,
                        gate.min_reps,
                    ),
                });
            }
        }
    }
    Ok(())
}

/// `results` without its timing rows (for a gate that judges only deterministic metrics).
pub fn without_timings(results: &Results) -> Results {
    let mut r = results.clone();
    r.rows.retain(|m| !metric::is_timing(&m.metric));
    r
}

impl Comparison {
    /// Every reason the comparison fails under `gate`, one line each:
    /// regressions, removed rows (unless allowed) and a change of suite
    /// (unless allowed). Empty when it passes.
    pub fn failures(&self, gate: &Gate, old: &Results, new: &Results) -> Vec<String> {
        let mut f = Vec::new();
        let regressions = self.with_verdict(Verdict::Regression).count();
        if regressions > 0 {
            f.push(format!(
                "{regressions} metric{} regressed",
                if regressions == 1 { "" } else { "s" }
            ));
        }
        let removed = self.with_verdict(Verdict::Removed).count();
        if removed > 0 && !gate.allow_removed {
            f.push(format!(
                "{removed} row{} of the baseline missing from the new run (--allow-removed accepts that)",
                if removed == 1 { "" } else { "s" }
            ));
        }
        if old.meta.suite != new.meta.suite && !gate.allow_suite_change {
            f.push(format!(
                "suite differs: {:?} (old) vs {:?} (new) (--allow-suite-change accepts that)",
                old.meta.suite, new.meta.suite
            ));
        }
        f
    }
}
