//! What every part of the report page reads ([`PageData`]: the results, the
//! baseline and their aggregates, the variants in summary order), and how a
//! part becomes a [`Section`].

use super::sections::Section;
use super::summary::{add_energy_per_mac, aggregate, collect_samples, Agg, RowKey, Samples};
use super::template::render_template;
use crate::suite::record::{metric, Results};
pub(super) use crate::suite::spec::is_attention;
use serde::Serialize;
use std::collections::BTreeMap;

/// The column the summary is sorted by (ascending).
pub(super) const SORT_METRIC: &str = metric::ENERGY_PJ_PER_MAC;

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
    /// Variants ordered matmul first, then attention; each by the sort
    /// metric (NaN and missing last), then name.
    pub order: Vec<String>,
    /// The baseline's samples and aggregates per variant.
    pub base: Option<(BTreeMap<RowKey, Samples>, ByVariant)>,
}

impl<'a> PageData<'a> {
    pub(super) fn new(results: &'a Results, baseline: Option<&'a Results>) -> Self {
        let mut samples = collect_samples(results);
        add_energy_per_mac(&mut samples);
        let by_variant = aggregate(&samples, |k| k.variant.clone());
        let by_workload = aggregate(&samples, |k| {
            (k.workload.clone(), k.shape.clone(), k.variant.clone())
        });
        let key_of =
            |aggs: &BTreeMap<String, Agg>| aggs.get(SORT_METRIC).map_or(f64::NAN, |a| a.value);
        let mut order: Vec<String> = by_variant.keys().cloned().collect();
        // Matmul variants first, then attention variants (their energy is
        // per MAC of QKᵀ and PV: a different quantity).
        order.sort_by(|a, b| {
            is_attention(a)
                .cmp(&is_attention(b))
                .then(sort_key(key_of(&by_variant[a])).total_cmp(&sort_key(key_of(&by_variant[b]))))
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

/// A page part: `template` rendered with `ctx`; the file's final newline
/// is dropped because the page puts its own around every section.
pub(super) fn part<T: Serialize>(
    (id, nav, title): (&str, &str, &str),
    template: &str,
    ctx: &T,
) -> Result<Section, String> {
    let mut html = render_template(id, template, ctx)?;
    if html.ends_with('\n') {
        html.pop();
    }
    Ok(Section {
        id: id.into(),
        nav: nav.into(),
        title: title.into(),
        html,
    })
}
