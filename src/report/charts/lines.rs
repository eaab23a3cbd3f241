//! A generic line chart: several named series of (x, y) points, each axis
//! linear or logarithmic (base 10), with a legend above the plot. Used by
//! the study sections (traffic versus cache size, rooflines, error versus
//! mantissa bits).

use super::{draw_mesh, err, log_tick, style, svg, text_width, GREY, SMALL, WIDTH};
use crate::report::summary::fmt_short;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

/// Series colours, in order (a colour-blind-safe palette), then repeated.
pub const SERIES_COLORS: [RGBColor; 8] = [
    RGBColor(49, 104, 163),
    RGBColor(214, 96, 25),
    RGBColor(94, 170, 95),
    RGBColor(170, 60, 140),
    RGBColor(120, 120, 40),
    RGBColor(30, 160, 170),
    RGBColor(200, 50, 50),
    RGBColor(100, 100, 106),
];

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesStyle {
    /// Solid line with a dot at each point.
    LineWithPoints,
    /// Dashed-looking thin line without points (bounds, ceilings).
    Thin,
    /// Points only.
    Points,
}

/// One named series.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Points in data coordinates; points that cannot be drawn (non-finite,
    /// or ≤ 0 on a log axis) are skipped.
    pub points: Vec<(f64, f64)>,
    /// Drawing style.
    pub style: SeriesStyle,
}

/// Axes of a line chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Axes {
    /// x-axis description.
    pub x_desc: String,
    /// y-axis description.
    pub y_desc: String,
    /// Logarithmic x axis.
    pub x_log: bool,
    /// Logarithmic y axis.
    pub y_log: bool,
}

/// Draws the series into one SVG chart.
pub fn line_chart(series: &[Series], axes: &Axes) -> Result<String, String> {
    let t = |v: f64, log: bool| if log { v.log10() } else { v };
    let ok = |v: f64, log: bool| v.is_finite() && (!log || v > 0.0);
    let data: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .filter(|p| ok(p.0, axes.x_log) && ok(p.1, axes.y_log))
                .map(|p| (t(p.0, axes.x_log), t(p.1, axes.y_log)))
                .collect()
        })
        .collect();
    let all = || data.iter().flatten();
    if all().next().is_none() {
        return super::empty_chart("no data to draw");
    }
    let range = |f: &dyn Fn(&(f64, f64)) -> f64, log: bool| {
        let lo = all().map(f).fold(f64::INFINITY, f64::min);
        let hi = all().map(f).fold(f64::NEG_INFINITY, f64::max);
        if log {
            let (a, b) = (lo.floor(), hi.ceil());
            (a, if b > a { b } else { a + 1.0 })
        } else {
            let pad = if hi > lo {
                (hi - lo) * 0.06
            } else {
                lo.abs().max(1.0) * 0.1
            };
            let a = if lo >= 0.0 {
                (lo - pad).max(0.0)
            } else {
                lo - pad
            };
            (a, hi + pad)
        }
    };
    let (x_lo, x_hi) = range(&|p| p.0, axes.x_log);
    let (y_lo, y_hi) = range(&|p| p.1, axes.y_log);
    svg(WIDTH, 560, |root| {
        // Legend rows above the plot.
        let mut rows = 1;
        let mut x = 0.0;
        for s in series {
            let w = 40.0 + text_width(&s.label, SMALL) + 24.0;
            if x + w > WIDTH as f64 - 40.0 {
                rows += 1;
                x = 0.0;
            }
            x += w;
        }
        let top = 20 + 26 * rows as u32;
        let mut chart = ChartBuilder::on(root)
            .margin(16)
            .margin_top(top)
            .margin_right(30)
            .x_label_area_size(60)
            .y_label_area_size(90)
            .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
            .map_err(err)?;
        let xf = |v: &f64| {
            if axes.x_log {
                log_tick(10, *v)
            } else {
                fmt_short(*v)
            }
        };
        let yf = |v: &f64| {
            if axes.y_log {
                log_tick(10, *v)
            } else {
                fmt_short(*v)
            }
        };
        draw_mesh(
            chart
                .configure_mesh()
                .x_desc(axes.x_desc.as_str())
                .y_desc(axes.y_desc.as_str())
                .x_labels(if axes.x_log {
                    (x_hi - x_lo) as usize + 1
                } else {
                    10
                })
                .y_labels(if axes.y_log {
                    (y_hi - y_lo) as usize + 1
                } else {
                    8
                })
                .x_label_formatter(&xf)
                .y_label_formatter(&yf),
        )?;
        for (i, (s, pts)) in series.iter().zip(&data).enumerate() {
            let c = SERIES_COLORS[i % SERIES_COLORS.len()];
            match s.style {
                SeriesStyle::LineWithPoints => {
                    chart
                        .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
                        .map_err(err)?;
                    chart
                        .draw_series(pts.iter().map(|&p| Circle::new(p, 4, c.filled())))
                        .map_err(err)?;
                }
                SeriesStyle::Thin => {
                    chart
                        .draw_series(LineSeries::new(pts.clone(), c.mix(0.7).stroke_width(1)))
                        .map_err(err)?;
                }
                SeriesStyle::Points => {
                    chart
                        .draw_series(pts.iter().map(|&p| Circle::new(p, 5, c.stroke_width(2))))
                        .map_err(err)?;
                }
            }
        }
        let (mut lx, mut ly) = (22i32, 22i32);
        for (i, s) in series.iter().enumerate() {
            let c = SERIES_COLORS[i % SERIES_COLORS.len()];
            let w = 40 + text_width(&s.label, SMALL) as i32 + 24;
            if lx + w > WIDTH as i32 - 40 {
                lx = 22;
                ly += 26;
            }
            let width = if s.style == SeriesStyle::Thin { 1 } else { 2 };
            root.draw(&PathElement::new(
                vec![(lx, ly), (lx + 28, ly)],
                c.stroke_width(width),
            ))
            .map_err(err)?;
            root.draw(&Text::new(
                s.label.clone(),
                (lx + 36, ly),
                style(SMALL, GREY, HPos::Left, VPos::Center),
            ))
            .map_err(err)?;
            lx += w;
        }
        Ok(())
    })
}
