//! I/O study: memory traffic of attention and matmul variants versus cache size (closed forms and simulation) and by element format.

use super::StudyContext;
use serde::{Deserialize, Serialize};

/// Parameters (`[studies.io]` keys; all optional).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IoParams {}

/// What the study found.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IoStudy {}

/// Runs the study.
pub fn run(_params: &IoParams, _ctx: &StudyContext) -> Result<IoStudy, String> {
    Ok(IoStudy::default())
}
