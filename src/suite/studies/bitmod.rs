//! BitMoD study: per-group data-type selection error against INT4 / FP4 / MXFP4, and accelerator cycles and energy against an INT8 bit-parallel baseline.

use super::StudyContext;
use serde::{Deserialize, Serialize};

/// Parameters (`[studies.bitmod]` keys; all optional).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BitmodParams {}

/// What the study found.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BitmodStudy {}

/// Runs the study.
pub fn run(_params: &BitmodParams, _ctx: &StudyContext) -> Result<BitmodStudy, String> {
    Ok(BitmodStudy::default())
}
