//! Report sections of the `roofline` study.

use super::Section;
use crate::suite::studies::roofline::RooflineStudy;

/// The study's sections (none until it has results to show).
pub fn render(_s: &RooflineStudy) -> Result<Vec<Section>, String> {
    Ok(Vec::new())
}
