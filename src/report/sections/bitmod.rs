//! Report sections of the `bitmod` study.

use super::Section;
use crate::suite::studies::bitmod::BitmodStudy;

/// The study's sections (none until it has results to show).
pub fn render(_s: &BitmodStudy) -> Result<Vec<Section>, String> {
    Ok(Vec::new())
}
