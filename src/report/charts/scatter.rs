//! Error versus energy scatter with the Pareto front.

use super::labels::{place_labels_where_free, BoxPx};
use super::{draw_mesh, err, log_tick, style, svg, text_width, BLUE, GREY, ORANGE, SMALL, WIDTH};
use crate::report::pareto::pareto_front;
use crate::report::summary::fmt_short;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

/// One point of the error-versus-energy scatter.
#[derive(Debug, Clone, PartialEq)]
pub struct ScatterPoint {
    /// Label drawn next to the point.
    pub label: String,
    /// Energy per MAC, pJ.
    pub energy: f64,
    /// Relative Frobenius error.
    pub error: f64,
}

/// Error (log scale) versus energy per MAC, with the Pareto front (both
/// minimized) as a staircase and every point labelled where its label fits
/// without overlapping (front points first); the rest are named in a key
/// below the plot with their coordinates. Points with a
/// non-positive or non-finite coordinate cannot be drawn on log axes; their
/// labels are returned so the page can list them. The energy axis is
/// logarithmic when the energies span more than a factor of 10.
pub fn error_energy_scatter(points: &[ScatterPoint]) -> Result<(String, Vec<String>), String> {
    let ok = |p: &ScatterPoint| {
        p.energy.is_finite() && p.energy > 0.0 && p.error.is_finite() && p.error > 0.0
    };
    let left_out: Vec<String> = points
        .iter()
        .filter(|p| !ok(p))
        .map(|p| p.label.clone())
        .collect();
    let pts: Vec<&ScatterPoint> = points.iter().filter(|p| ok(p)).collect();
    let (emin, emax) = pts.iter().fold((f64::INFINITY, 0.0f64), |(a, b), p| {
        (a.min(p.energy), b.max(p.energy))
    });
    let log_x = !pts.is_empty() && emax / emin > 10.0;
    // Plot in transformed coordinates (log10 where logarithmic), label ticks as powers.
    let tx = |e: f64| if log_x { e.log10() } else { e };
    let coords: Vec<(f64, f64)> = pts
        .iter()
        .map(|p| (tx(p.energy), p.error.log10()))
        .collect();
    let (x_lo, x_hi) = padded_range(coords.iter().map(|c| c.0), log_x);
    let ylo = coords.iter().map(|c| c.1).fold(f64::INFINITY, f64::min);
    let yhi = coords.iter().map(|c| c.1).fold(f64::NEG_INFINITY, f64::max);
    let (y_lo, y_hi) = if coords.is_empty() {
        (-3.0, 0.0)
    } else {
        (ylo.floor(), yhi.ceil().max(ylo.floor() + 1.0))
    };
    let front = pareto_front(&coords);
    let on_front = |i: usize| front.contains(&i);
    // The staircase: from each front point right to the next one's x, then down.
    let mut stair = Vec::new();
    for (n, &i) in front.iter().enumerate() {
        if n > 0 {
            stair.push((coords[i].0, coords[front[n - 1]].1));
        }
        stair.push(coords[i]);
    }
    // Drawn twice: once to learn which labels fit beside their points, then
    // for real, with a key below the plot naming the points left unlabelled.
    let draw = |root: &DrawingArea<SVGBackend, Shift>| -> Result<Vec<usize>, String> {
        let mut chart = ChartBuilder::on(root)
            .margin(16)
            .margin_top(56)
            .margin_right(30)
            .x_label_area_size(60)
            .y_label_area_size(86)
            .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
            .map_err(err)?;
        let x_fmt = |v: &f64| {
            if log_x {
                log_tick(10, *v)
            } else {
                fmt_short(*v)
            }
        };
        let y_fmt = |v: &f64| log_tick(10, *v);
        let x_desc = if log_x {
            "energy per MAC, pJ (log scale)"
        } else {
            "energy per MAC, pJ"
        };
        draw_mesh(
            chart
                .configure_mesh()
                .x_desc(x_desc)
                .y_desc("relative Frobenius error (log scale)")
                .x_labels(if log_x {
                    (x_hi - x_lo).ceil() as usize + 1
                } else {
                    10
                })
                .y_labels((y_hi - y_lo) as usize + 1)
                .x_label_formatter(&x_fmt)
                .y_label_formatter(&y_fmt),
        )?;
        chart
            .draw_series(LineSeries::new(
                stair.clone(),
                ORANGE.mix(0.8).stroke_width(2),
            ))
            .map_err(err)?;
        chart
            .draw_series(
                (0..coords.len())
                    .filter(|&i| !on_front(i))
                    .map(|i| Circle::new(coords[i], 5, BLUE.stroke_width(2))),
            )
            .map_err(err)?;
        chart
            .draw_series(
                front
                    .iter()
                    .map(|&i| Circle::new(coords[i], 6, ORANGE.filled())),
            )
            .map_err(err)?;
        let (xr, yr) = chart.plotting_area().get_pixel_range();
        // Legend above the plot, where it cannot hide a point.
        let (mut lx, ly) = (xr.start + 6, yr.start - 26);
        let items = [
            "Pareto-optimal variant",
            "dominated variant",
            "Pareto front: nothing is both cheaper and more accurate",
        ];
        for (k, text) in items.iter().enumerate() {
            match k {
                0 => root.draw(&Circle::new((lx + 6, ly), 6, ORANGE.filled())),
                1 => root.draw(&Circle::new((lx + 6, ly), 5, BLUE.stroke_width(2))),
                _ => root.draw(&PathElement::new(
                    vec![(lx - 4, ly), (lx + 16, ly)],
                    ORANGE.stroke_width(2),
                )),
            }
            .map_err(err)?;
            root.draw(&Text::new(
                text.to_string(),
                (lx + 20, ly),
                style(SMALL, BLACK, HPos::Left, VPos::Center),
            ))
            .map_err(err)?;
            lx += 20 + text_width(text, SMALL) as i32 + 30;
        }
        let pix: Vec<(i32, i32)> = coords.iter().map(|c| chart.backend_coord(c)).collect();
        let area = (
            xr.start as f64,
            yr.start as f64,
            xr.end as f64,
            yr.end as f64,
        );
        // The staircase's segments are axis-aligned: their bounding boxes are exact.
        let obstacles: Vec<BoxPx> = stair
            .windows(2)
            .map(|w| {
                let (a, b) = (chart.backend_coord(&w[0]), chart.backend_coord(&w[1]));
                let (x0, x1) = (a.0.min(b.0) as f64, a.0.max(b.0) as f64);
                let (y0, y1) = (a.1.min(b.1) as f64, a.1.max(b.1) as f64);
                (x0 - 2.0, y0 - 2.0, x1 + 2.0, y1 + 2.0)
            })
            .collect();
        let labels: Vec<String> = pts.iter().map(|p| p.label.clone()).collect();
        // The front's labels first: they are the chart's answer.
        let order: Vec<usize> = front
            .iter()
            .copied()
            .chain((0..pts.len()).filter(|&i| !on_front(i)))
            .collect();
        let placed = place_labels_where_free(&pix, &labels, SMALL, area, &obstacles, &order);
        let unlabelled: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| placed[i].is_none())
            .collect();
        for (i, (placed, label)) in placed.into_iter().zip(&labels).enumerate() {
            let Some((anchor, hp, vp)) = placed else {
                continue;
            };
            let color = if on_front(i) { BLACK } else { GREY };
            root.draw(&Text::new(
                label.clone(),
                anchor,
                style(SMALL, color, hp, vp),
            ))
            .map_err(err)?;
        }
        Ok(unlabelled)
    };
    let mut unlabelled = Vec::new();
    svg(WIDTH, PLOT_H, |root| {
        unlabelled = draw(root)?;
        Ok(())
    })?;
    let key = key_lines(
        &unlabelled
            .iter()
            .map(|&i| {
                let p = pts[i];
                let front = if front.contains(&i) { " (front)" } else { "" };
                format!(
                    "{}{front}: {} pJ, {}",
                    p.label,
                    fmt_short(p.energy),
                    fmt_short(p.error)
                )
            })
            .collect::<Vec<_>>(),
    );
    let height = PLOT_H + KEY_LINE * key.len() as u32 + if key.is_empty() { 0 } else { 8 };
    let svg = svg(WIDTH, height, |root| {
        let (top, bottom) = root.split_vertically(PLOT_H);
        draw(&top)?;
        for (n, line) in key.iter().enumerate() {
            bottom
                .draw(&Text::new(
                    line.clone(),
                    (16, (n as u32 * KEY_LINE) as i32),
                    style(SMALL, BLACK, HPos::Left, VPos::Top),
                ))
                .map_err(err)?;
        }
        Ok(())
    })?;
    Ok((svg, left_out))
}

/// Height of the plot, pixels (the key of unlabelled points goes below).
const PLOT_H: u32 = 600;
/// Height of one line of that key, pixels.
const KEY_LINE: u32 = 18;

/// The key of points whose labels found no free place: "Not labelled
/// (no room beside the point): a: x pJ, y; …", wrapped to the chart's width.
fn key_lines(items: &[String]) -> Vec<String> {
    if items.is_empty() {
        return Vec::new();
    }
    let max_w = WIDTH as f64 - 40.0;
    let mut lines = vec!["Not labelled (no room beside the point): ".to_string()];
    for (n, item) in items.iter().enumerate() {
        let piece = if n + 1 < items.len() {
            format!("{item}; ")
        } else {
            format!("{item}.")
        };
        let last = lines.last_mut().expect("one line");
        if text_width(&format!("{last}{piece}"), SMALL) > max_w && !last.trim().is_empty() {
            lines.push(format!("    {piece}"));
        } else {
            last.push_str(&piece);
        }
    }
    lines
}

/// A range around `values` with 8 % padding (never empty; a linear range of
/// non-negative values stays non-negative).
fn padded_range(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    let pad = if span > 0.0 {
        span * 0.08
    } else if log {
        0.5
    } else {
        lo.abs().max(1e-12) * 0.2
    };
    let lo = if !log && lo >= 0.0 {
        (lo - pad).max(0.0)
    } else {
        lo - pad
    };
    (lo, hi + pad)
}
