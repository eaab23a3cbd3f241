//! Roofline study: arithmetic intensity of every variant against the machine's compute and bandwidth ceilings.

use super::StudyContext;
use serde::{Deserialize, Serialize};

/// Parameters (`[studies.roofline]` keys; all optional).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RooflineParams {}

/// What the study found.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RooflineStudy {}

/// Runs the study.
pub fn run(_params: &RooflineParams, _ctx: &StudyContext) -> Result<RooflineStudy, String> {
    Ok(RooflineStudy::default())
}
