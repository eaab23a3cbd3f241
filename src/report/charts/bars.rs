//! Horizontal bar charts, plain or stacked.

use super::{draw_mesh, err, style, svg, text_width, BLUE, GREY, SMALL, WIDTH};
use crate::report::summary::fmt_short;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

/// One bar of a horizontal bar chart: a label, stacked segments (one per
/// series; non-finite segments are skipped) and the text written after the bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Category label, drawn left of the bar.
    pub label: String,
    /// Segment lengths, one per series, stacked left to right.
    pub segments: Vec<f64>,
    /// Text after the bar (its value).
    pub text: String,
}

/// Widest category label, pixels; longer labels are cut with an ellipsis.
const MAX_LABEL_W: f64 = 380.0;

/// `text` cut to about `width` pixels, ending in `…` when cut.
fn fit(text: &str, width: f64) -> String {
    if text_width(text, SMALL) <= width {
        return text.to_string();
    }
    let keep = (width / text_width("x", SMALL)) as usize;
    let mut s: String = text.chars().take(keep.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// A horizontal bar chart, one bar per category (top to bottom in the given
/// order), stacked when there is more than one series (then a legend names
/// them). Bars may be negative only when not stacked.
pub fn hbar_chart(
    x_desc: &str,
    series: &[(&str, RGBColor)],
    bars: &[Bar],
) -> Result<String, String> {
    let n = bars.len().max(1);
    let row_h = 32u32;
    let legend_h = if series.len() > 1 { 30 } else { 0 };
    let height = 70 + legend_h + row_h * n as u32;
    let totals: Vec<f64> = bars
        .iter()
        .map(|b| b.segments.iter().filter(|v| v.is_finite()).sum::<f64>())
        .collect();
    let lo = totals.iter().copied().fold(0.0f64, f64::min);
    let hi = totals.iter().copied().fold(0.0f64, f64::max);
    let text_room = bars
        .iter()
        .map(|b| text_width(&b.text, SMALL))
        .fold(0.0, f64::max)
        + 12.0;
    let label_w = bars
        .iter()
        .map(|b| text_width(&b.label, SMALL))
        .fold(60.0, f64::max)
        .min(MAX_LABEL_W)
        + 16.0;
    let plot_w = WIDTH as f64 - label_w - 40.0;
    // Leave room right of the longest bar for its value text.
    let span = if hi - lo > 0.0 { hi - lo } else { 1.0 };
    let hi = hi + span * (text_room / (plot_w - text_room).max(1.0));
    let lo = if lo < 0.0 { lo - span * 0.02 } else { 0.0 };
    svg(WIDTH, height, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .margin_top(12 + legend_h)
            .margin_right(28)
            .x_label_area_size(44)
            .y_label_area_size(label_w as u32)
            .build_cartesian_2d(lo..hi, -0.5..(n as f64 - 0.5))
            .map_err(err)?;
        let fmt = |v: &f64| fmt_short(*v);
        draw_mesh(
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(0)
                .x_labels(8)
                .x_label_formatter(&fmt)
                .x_desc(x_desc),
        )?;
        let colors: Vec<RGBColor> = series.iter().map(|s| s.1).collect();
        for (i, bar) in bars.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            let mut x = 0.0;
            for (s, &v) in bar.segments.iter().enumerate() {
                if !v.is_finite() {
                    continue;
                }
                let color = colors.get(s).copied().unwrap_or(BLUE);
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x, y - 0.34), (x + v, y + 0.34)],
                        color.filled(),
                    )))
                    .map_err(err)?;
                x += v;
            }
            let (px_label, py) = chart.backend_coord(&(lo, y));
            root.draw(&Text::new(
                fit(&bar.label, MAX_LABEL_W),
                (px_label - 8, py),
                style(SMALL, BLACK, HPos::Right, VPos::Center),
            ))
            .map_err(err)?;
            let (px_end, _) = chart.backend_coord(&(x.max(0.0), y));
            root.draw(&Text::new(
                bar.text.clone(),
                (px_end + 6, py),
                style(SMALL, GREY, HPos::Left, VPos::Center),
            ))
            .map_err(err)?;
        }
        if series.len() > 1 {
            let (xr, _) = chart.plotting_area().get_pixel_range();
            let mut x = xr.start;
            for (name, color) in series {
                root.draw(&Rectangle::new([(x, 14), (x + 14, 28)], color.filled()))
                    .map_err(err)?;
                root.draw(&Text::new(
                    name.to_string(),
                    (x + 20, 21),
                    style(SMALL, BLACK, HPos::Left, VPos::Center),
                ))
                .map_err(err)?;
                x += 20 + text_width(name, SMALL) as i32 + 24;
            }
        }
        Ok(())
    })
}
