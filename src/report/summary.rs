//! Groups tidy rows into samples per (cell, metric) and aggregates them per
//! variant or per (variant, workload, shape): the numbers the report shows.

use crate::suite::record::{metric, Results};
use std::collections::BTreeMap;

/// One (cell, metric): what `compare` pairs between two runs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RowKey {
    /// Variant name.
    pub variant: String,
    /// Workload name.
    pub workload: String,
    /// Shape, `MxKxN`.
    pub shape: String,
    /// Workload seed.
    pub seed: u64,
    /// Metric name.
    pub metric: String,
}

/// The repetitions of one (cell, metric), ordered by repetition index.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Samples {
    /// Unit of the metric (from the first row seen).
    pub unit: String,
    /// Values, ordered by `rep`.
    pub reps: Vec<f64>,
}

/// Collects the rows of `results` into samples per (cell, metric).
pub fn collect_samples(results: &Results) -> BTreeMap<RowKey, Samples> {
    let mut with_rep: BTreeMap<RowKey, (String, Vec<(u32, f64)>)> = BTreeMap::new();
    for r in &results.rows {
        let key = RowKey {
            variant: r.variant.clone(),
            workload: r.workload.clone(),
            shape: r.shape.clone(),
            seed: r.seed,
            metric: r.metric.clone(),
        };
        let e = with_rep
            .entry(key)
            .or_insert_with(|| (r.unit.clone(), Vec::new()));
        e.1.push((r.rep, r.value));
    }
    with_rep
        .into_iter()
        .map(|(k, (unit, mut v))| {
            // Stable sort: duplicate rep indices keep file order.
            v.sort_by_key(|&(rep, _)| rep);
            (
                k,
                Samples {
                    unit,
                    reps: v.into_iter().map(|(_, x)| x).collect(),
                },
            )
        })
        .collect()
}

/// Per-MAC parts of the energy, derived by the report (not written by the runner).
pub mod derived {
    /// Compute energy per MAC, pJ.
    pub const COMPUTE_PJ_PER_MAC: &str = "energy_compute_pj_per_mac";
    /// SRAM energy per MAC, pJ.
    pub const SRAM_PJ_PER_MAC: &str = "energy_sram_pj_per_mac";
    /// DRAM energy per MAC, pJ.
    pub const DRAM_PJ_PER_MAC: &str = "energy_dram_pj_per_mac";
}

/// Adds the per-MAC energy parts of every cell that has the per-MAC total
/// and its parts: part / MACs, with MACs = total pJ / (pJ per MAC), where the
/// total is `energy_total_pj` or, when absent, the sum of the parts.
pub fn add_energy_per_mac(samples: &mut BTreeMap<RowKey, Samples>) {
    let first = |s: &BTreeMap<RowKey, Samples>, k: &RowKey, m: &str| {
        let key = RowKey {
            metric: m.to_string(),
            ..k.clone()
        };
        s.get(&key).and_then(|x| x.reps.first().copied())
    };
    let parts = [
        (metric::ENERGY_COMPUTE_PJ, derived::COMPUTE_PJ_PER_MAC),
        (metric::ENERGY_SRAM_PJ, derived::SRAM_PJ_PER_MAC),
        (metric::ENERGY_DRAM_PJ, derived::DRAM_PJ_PER_MAC),
    ];
    let cells: Vec<RowKey> = samples
        .keys()
        .filter(|k| k.metric == metric::ENERGY_PJ_PER_MAC)
        .cloned()
        .collect();
    for k in cells {
        let Some(per_mac) = first(samples, &k, metric::ENERGY_PJ_PER_MAC) else {
            continue;
        };
        let vals: Vec<Option<f64>> = parts.iter().map(|(m, _)| first(samples, &k, m)).collect();
        if vals.iter().any(Option::is_none) {
            continue;
        }
        let vals: Vec<f64> = vals.into_iter().flatten().collect();
        let total = first(samples, &k, metric::ENERGY_TOTAL_PJ).unwrap_or(vals.iter().sum());
        let macs = total / per_mac;
        for ((_, name), v) in parts.iter().zip(vals) {
            let value = if macs > 0.0 && macs.is_finite() {
                v / macs
            } else {
                f64::NAN
            };
            let key = RowKey {
                metric: name.to_string(),
                ..k.clone()
            };
            samples.insert(
                key,
                Samples {
                    unit: "pJ".into(),
                    reps: vec![value],
                },
            );
        }
    }
}

/// A metric aggregated over cells.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agg {
    /// Mean over cells of each cell's median repetition (NaN cells left out;
    /// NaN when every cell is NaN).
    pub value: f64,
    /// Cells that had the metric.
    pub cells: usize,
    /// Of those, cells whose value was NaN (left out of the mean).
    pub nan_cells: usize,
}

/// The value of one cell: the median of its non-NaN repetitions (a
/// deterministic metric has one), NaN when there is none.
pub fn cell_value(reps: &[f64]) -> f64 {
    let finite: Vec<f64> = reps.iter().copied().filter(|x| !x.is_nan()).collect();
    super::stats::median(&finite)
}

/// Aggregates samples into groups chosen by `group` (for instance the
/// variant, or (variant, workload, shape)); within a group, per metric.
pub fn aggregate<K: Ord>(
    samples: &BTreeMap<RowKey, Samples>,
    group: impl Fn(&RowKey) -> K,
) -> BTreeMap<K, BTreeMap<String, Agg>> {
    let mut cells: BTreeMap<K, BTreeMap<String, Vec<f64>>> = BTreeMap::new();
    for (k, s) in samples {
        cells
            .entry(group(k))
            .or_default()
            .entry(k.metric.clone())
            .or_default()
            .push(cell_value(&s.reps));
    }
    cells
        .into_iter()
        .map(|(g, metrics)| {
            let aggs = metrics
                .into_iter()
                .map(|(m, vals)| {
                    let ok: Vec<f64> = vals.iter().copied().filter(|x| !x.is_nan()).collect();
                    let agg = Agg {
                        value: super::stats::mean(&ok),
                        cells: vals.len(),
                        nan_cells: vals.len() - ok.len(),
                    };
                    (m, agg)
                })
                .collect();
            (g, aggs)
        })
        .collect()
}

/// Formats a number for tables: NaN, ±inf, 0 as words/digits; otherwise 4
/// significant digits, scientific outside [1e-3, 1e5).
pub fn fmt_value(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == 0.0 {
        return "0".into();
    }
    // Round to 4 significant digits first, so that 9.99996 counts as 10.00.
    let r: f64 = format!("{v:.3e}").parse().unwrap_or(v);
    if !(1e-3..1e5).contains(&r.abs()) {
        format!("{v:.3e}")
    } else {
        let decimals = (3 - r.abs().log10().floor() as i32).max(0) as usize;
        format!("{r:.decimals$}")
    }
}

/// Formats an axis tick or a short label: like [`fmt_value`] but without
/// trailing zeros (`0.5`, `2`, `1.25e-5`).
pub fn fmt_short(v: f64) -> String {
    let s = fmt_value(v);
    let (mant, exp) = match s.find('e') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s.as_str(), ""),
    };
    let mant = if mant.contains('.') {
        mant.trim_end_matches('0').trim_end_matches('.')
    } else {
        mant
    };
    format!("{mant}{exp}")
}

/// Formats a metric value: cosine similarities keep 6 decimals (they sit near 1),
/// everything else goes through [`fmt_value`].
pub fn fmt_metric(name: &str, v: f64) -> String {
    if name == metric::COSINE && v.is_finite() {
        format!("{v:.6}")
    } else {
        fmt_value(v)
    }
}

/// Formats a relative change in percent with a sign, or `n/a`.
pub fn fmt_pct(p: Option<f64>) -> String {
    match p {
        Some(0.0) => "0.0 %".into(),
        Some(p) if p.abs() < 0.1 => format!("{p:+.3} %"),
        Some(p) => format!("{p:+.1} %"),
        None => "n/a".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers() {
        assert_eq!(fmt_value(12.3456), "12.35");
        assert_eq!(fmt_value(0.012346), "0.01235");
        assert_eq!(fmt_value(1234.4), "1234");
        assert_eq!(fmt_value(0.00012346), "1.235e-4");
        assert_eq!(fmt_value(f64::NEG_INFINITY), "-inf");
        assert_eq!(fmt_value(9.999996), "10.00");
        assert_eq!(fmt_value(99999.7), "1.000e5");
        assert_eq!(fmt_short(0.5), "0.5");
        assert_eq!(fmt_short(2.0), "2");
        assert_eq!(fmt_short(448.0), "448");
        assert_eq!(fmt_short(1.5e-5), "1.5e-5");
        assert_eq!(fmt_metric(metric::COSINE, 0.99987654), "0.999877");
        assert_eq!(fmt_pct(Some(-20.0)), "-20.0 %");
        assert_eq!(fmt_pct(None), "n/a");
    }
}
