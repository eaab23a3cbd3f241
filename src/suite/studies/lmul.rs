//! L-Mul accuracy (mean relative error against correctly rounded multiplication) and energy, per semantics and mantissa width.

use super::StudyContext;
use serde::{Deserialize, Serialize};

/// Parameters (`[studies.lmul]` keys; all optional).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LmulParams {}

/// What the study found.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LmulStudy {}

/// Runs the study.
pub fn run(_params: &LmulParams, _ctx: &StudyContext) -> Result<LmulStudy, String> {
    Ok(LmulStudy::default())
}
