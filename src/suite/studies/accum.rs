//! Accumulator study: error of dot products summed in narrow, truncated, chunked, integer and exact accumulators, in several orders.

use super::StudyContext;
use serde::{Deserialize, Serialize};

/// Parameters (`[studies.accum]` keys; all optional).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccumParams {}

/// What the study found.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AccumStudy {}

/// Runs the study.
pub fn run(_params: &AccumParams, _ctx: &StudyContext) -> Result<AccumStudy, String> {
    Ok(AccumStudy::default())
}
