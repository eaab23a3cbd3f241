//! Builds the report page: a list of [`Section`]s (the page parts, then the
//! studies' sections in their place), each rendered from its own tera
//! template (embedded from `reports/templates/`, autoescaping on), inside
//! the page template. Only the chart SVGs are inserted unescaped; plotters
//! escapes the text inside them.

use super::page::PageData;
use super::parts;
use super::sections::{self, Section};
use super::tables;
use super::template::render_template;
use crate::suite::record::Results;
use serde::Serialize;

const TEMPLATE: &str = include_str!("../../reports/templates/report.html.tera");
const STYLE: &str = include_str!("../../reports/templates/style.css");

#[derive(Serialize)]
struct Page {
    title: String,
    style: &'static str,
    /// Without a baseline the navigation ends in a blank line, as it always has.
    has_baseline: bool,
    sections: Vec<Section>,
}

/// Renders the complete page: the parts in page order, with the studies'
/// sections after the charts.
pub fn render(results: &Results, baseline: Option<&Results>) -> Result<String, String> {
    let d = PageData::new(results, baseline);
    if results.explore.is_some() {
        // The format explorer's results: its own sections after the metadata.
        let mut page = vec![parts::metadata(&d)?];
        page.extend(sections::explore::render(results)?);
        let title = format!("bitsim explore — {}", results.meta.suite);
        return render_template(
            "report",
            TEMPLATE,
            &Page {
                title,
                style: STYLE,
                has_baseline: false,
                sections: page,
            },
        );
    }
    let mut page = vec![
        parts::metadata(&d)?,
        tables::summary(&d)?,
        tables::workloads(&d)?,
        parts::charts(&d)?,
    ];
    page.extend(sections::render_all(&results.studies, &results.rows)?);
    page.push(parts::variants(&d)?);
    page.extend(parts::changes(&d)?);
    let suite = &results.meta.suite;
    let title = if suite.is_empty() {
        "unnamed suite"
    } else {
        suite
    };
    let page = Page {
        title: format!("bitsim report — {title}"),
        style: STYLE,
        has_baseline: baseline.is_some(),
        sections: page,
    };
    render_template("report", TEMPLATE, &page)
}
