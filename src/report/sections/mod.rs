//! Report sections of the suite's studies (`results.studies`): each study
//! renders its own sections from its own tera template in
//! `reports/templates/sections/`, with charts inlined as SVG.

pub mod accum;
pub mod bitmod;
pub mod io;
pub mod lmul;
pub mod roofline;

use crate::suite::studies::{with_studies, Studies};
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

/// The sections of every study that ran, in page order (the studies'
/// registry order). Each registered study `NAME` has its renderer here, in
/// `sections/NAME.rs`: `pub fn render(&Output) -> Result<Vec<Section>, String>`.
pub fn render_all(s: &Studies) -> Result<Vec<Section>, String> {
    let mut out = Vec::new();
    macro_rules! render_each {
        ($($name:ident: $module:ident::$study:ident, $doc:literal;)*) => {
            $(
                if let Some(x) = &s.$name {
                    out.extend($module::render(x)?);
                }
            )*
        };
    }
    with_studies!(render_each);
    Ok(out)
}
