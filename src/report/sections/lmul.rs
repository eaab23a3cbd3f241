//! Report sections of the `lmul` study.

use super::Section;
use crate::suite::studies::lmul::LmulStudy;

/// The study's sections (none until it has results to show).
pub fn render(_s: &LmulStudy) -> Result<Vec<Section>, String> {
    Ok(Vec::new())
}
