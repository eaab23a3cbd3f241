//! Report sections of the suite's studies (`results.studies`): each study
//! renders its own sections from its own tera template in
//! `reports/templates/sections/`, with charts inlined as SVG.

pub mod accum;
pub mod bitmod;
pub mod io;
pub mod lmul;
pub mod roofline;

use crate::suite::studies::Studies;
use serde::Serialize;

/// One study section of the page.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    /// Anchor id (`lmul`, `io-cache`, …), unique in the page.
    pub id: String,
    /// Heading (also the navigation link).
    pub title: String,
    /// Body markup, rendered by [`crate::report::template::render_template`] (values escaped; SVG inlined).
    pub html: String,
}

/// The sections of every study that ran, in page order.
pub fn render_all(s: &Studies) -> Result<Vec<Section>, String> {
    let mut out = Vec::new();
    if let Some(x) = &s.lmul {
        out.extend(lmul::render(x)?);
    }
    if let Some(x) = &s.accum {
        out.extend(accum::render(x)?);
    }
    if let Some(x) = &s.bitmod {
        out.extend(bitmod::render(x)?);
    }
    if let Some(x) = &s.io {
        out.extend(io::render(x)?);
    }
    if let Some(x) = &s.roofline {
        out.extend(roofline::render(x)?);
    }
    Ok(out)
}
