//! Run-to-run comparison of two results files (what `bitsim compare` and the
//! report's baseline columns show).

use crate::suite::record::Results;

/// The comparison of two runs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Comparison {
    /// Maximum allowed regression, percent.
    pub max_regression_pct: f64,
}

impl Comparison {
    /// A text table of every change.
    pub fn render_text(&self) -> String {
        unimplemented!("Comparison::render_text")
    }

    /// Whether any metric regressed beyond the threshold and beyond noise.
    pub fn has_regression(&self) -> bool {
        unimplemented!("Comparison::has_regression")
    }
}

/// Compares `new` against `old`; a metric regresses when it moved in its bad
/// direction by more than `max_regression_pct` percent and, where there are
/// repetitions, Welch's t-test says the change is beyond noise.
pub fn compare(_old: &Results, _new: &Results, _max_regression_pct: f64) -> Comparison {
    unimplemented!("report::compare::compare")
}
