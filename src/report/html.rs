//! Builds the report page: a list of [`Section`]s (the page parts, then the
//! studies' sections in their place), each rendered from its own tera
//! template (embedded from `reports/templates/`, autoescaping on), inside
//! the page template. Only the chart SVGs are inserted unescaped; plotters
//! escapes the text inside them.

use super::parts;
use super::sections::{self, Section};
use super::summary::{add_energy_per_mac, aggregate, collect_samples, Agg, RowKey, Samples};
use super::tables::{self, SORT_METRIC};
use super::template::render_template;
use crate::suite::record::Results;
use serde::Serialize;
use std::collections::BTreeMap;

const TEMPLATE: &str = include_str!("../../reports/templates/report.html.tera");
const STYLE: &str = include_str!("../../reports/templates/style.css");

#[derive(Serialize)]
struct Page {
    title: String,
    style: &'static str,
    sections: Vec<Section>,
}

/// Aggregates by variant: metric name → aggregate, per variant.
pub(super) type ByVariant = BTreeMap<String, BTreeMap<String, Agg>>;

/// What the page parts read: the results, the baseline and their aggregates.
pub(super) struct PageData<'a> {
    /// The run shown.
    pub results: &'a Results,
    /// The run compared with, if any.
    pub baseline: Option<&'a Results>,
    /// The run's samples (energy per MAC added where missing).
    pub samples: BTreeMap<RowKey, Samples>,
    /// Aggregates per variant.
    pub by_variant: ByVariant,
    /// Aggregates per (workload, shape, variant).
    pub by_workload: BTreeMap<(String, String, String), BTreeMap<String, Agg>>,
    /// Variants ordered by the sort metric (NaN and missing last), then name.
    pub order: Vec<String>,
    /// The baseline's samples and aggregates per variant.
    pub base: Option<(BTreeMap<RowKey, Samples>, ByVariant)>,
}

impl<'a> PageData<'a> {
    fn new(results: &'a Results, baseline: Option<&'a Results>) -> Self {
        let mut samples = collect_samples(results);
        add_energy_per_mac(&mut samples);
        let by_variant = aggregate(&samples, |k| k.variant.clone());
        let by_workload = aggregate(&samples, |k| {
            (k.workload.clone(), k.shape.clone(), k.variant.clone())
        });
        let key_of =
            |aggs: &BTreeMap<String, Agg>| aggs.get(SORT_METRIC).map_or(f64::NAN, |a| a.value);
        let mut order: Vec<String> = by_variant.keys().cloned().collect();
        order.sort_by(|a, b| {
            sort_key(key_of(&by_variant[a]))
                .total_cmp(&sort_key(key_of(&by_variant[b])))
                .then(a.cmp(b))
        });
        let base = baseline.map(|b| {
            let s = collect_samples(b);
            let agg = aggregate(&s, |k| k.variant.clone());
            (s, agg)
        });
        PageData {
            results,
            baseline,
            samples,
            by_variant,
            by_workload,
            order,
            base,
        }
    }
}

/// NaN sorts after every number.
fn sort_key(v: f64) -> f64 {
    if v.is_nan() {
        f64::INFINITY
    } else {
        v
    }
}

/// Renders the complete page: the parts in page order, with the studies'
/// sections after the charts.
pub fn render(results: &Results, baseline: Option<&Results>) -> Result<String, String> {
    let d = PageData::new(results, baseline);
    let mut page = vec![
        parts::metadata(&d)?,
        tables::summary(&d)?,
        tables::workloads(&d)?,
        parts::charts(&d)?,
    ];
    page.extend(sections::render_all(&results.studies)?);
    page.push(parts::variants(&d)?);
    page.extend(parts::changes(&d)?);
    let suite = &results.meta.suite;
    let title = if suite.is_empty() {
        "unnamed suite"
    } else {
        suite
    };
    let page = Page {
        title: format!("bitsim report — {title}"),
        style: STYLE,
        sections: page,
    };
    render_template("report", TEMPLATE, &page)
}
