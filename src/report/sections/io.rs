//! Report sections of the `io` study.

use super::Section;
use crate::suite::studies::io::IoStudy;

/// The study's sections (none until it has results to show).
pub fn render(_s: &IoStudy) -> Result<Vec<Section>, String> {
    Ok(Vec::new())
}
