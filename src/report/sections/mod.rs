//! Sections of the report page. The page parts (`report::parts`,
//! `report::tables`) are sections, and so are the studies'
//! (`results.studies`): each study renders its own from its own tera
//! template in `reports/templates/sections/`, with charts inlined as SVG.

pub mod accum;
pub mod approx;
pub mod attention;
pub mod bitmod;
pub mod explore;

pub mod coupling;
pub mod io;
pub mod lmul;
pub mod model;
pub mod paretoq;
pub mod roofline;
pub mod scaling1bit;

use crate::suite::record::Measurement;
use crate::suite::studies::{with_studies, Studies};
use serde::Serialize;

/// One section of the page.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    /// Anchor id (`lmul`, `io-cache`, …), unique in the page.
    pub id: String,
    /// Text of its link in the page's navigation.
    pub nav: String,
    /// Heading.
    pub title: String,
    /// Body markup, rendered by [`crate::report::template::render_template`] (values escaped; SVG inlined).
    pub html: String,
}

impl Section {
    /// A section whose navigation link reads as its heading.
    pub fn new(id: impl Into<String>, title: impl Into<String>, html: String) -> Self {
        let title = title.into();
        Section {
            id: id.into(),
            nav: title.clone(),
            title,
            html,
        }
    }

    /// A section whose body is the tera `template` (named `name` in errors)
    /// rendered with `ctx`: the one way every study's sections are made.
    pub fn rendered<T: Serialize>(
        id: impl Into<String>,
        title: impl Into<String>,
        name: &str,
        template: &str,
        ctx: &T,
    ) -> Result<Self, String> {
        Ok(Section::new(
            id,
            title,
            crate::report::template::render_template(name, template, ctx)?,
        ))
    }
}

/// The sections of every study that ran, in page order (the studies'
/// registry order). Each registered study `NAME` has its renderer here, in
/// `sections/NAME.rs`: `pub fn render(&Output) -> Result<Vec<Section>, String>`.
///
/// The roofline section also takes the run's rows (`rows`): it places the
/// native kernels measured in the run beside the model's points.
pub fn render_all(s: &Studies, rows: &[Measurement]) -> Result<Vec<Section>, String> {
    let mut out = Vec::new();
    macro_rules! render_one {
        (roofline, $x:expr) => {
            out.extend(roofline::render($x, rows)?)
        };
        ($name:ident, $x:expr) => {
            out.extend($name::render($x)?)
        };
    }
    macro_rules! render_each {
        ($($name:ident::$study:ident, $doc:literal;)*) => {
            $(
                if let Some(x) = &s.$name {
                    render_one!($name, x);
                }
            )*
        };
    }
    with_studies!(render_each);
    Ok(out)
}
