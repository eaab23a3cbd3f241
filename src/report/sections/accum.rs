//! Report sections of the `accum` study.

use super::Section;
use crate::suite::studies::accum::AccumStudy;

/// The study's sections (none until it has results to show).
pub fn render(_s: &AccumStudy) -> Result<Vec<Section>, String> {
    Ok(Vec::new())
}
