//! Log-log roofline chart: one roof per compute ceiling (rising with the
//! memory bandwidth up to its ridge point, flat at its peak beyond) and the
//! variants as labelled points in the colour of the roof they sit under
//! (dots: the model's bound; hollow rings: rates measured on this machine).

use super::labels::{place_labels, BoxPx};
use super::{
    draw_mesh, err, log_tick, px, style, svg, text_width, GREY, SERIES_COLORS, SMALL, WIDTH,
};
use crate::report::summary::fmt_short;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

/// The pixel box of a label drawn at `anchor` with alignment `hp`, `vp`.
fn label_box((x, y): (i32, i32), hp: HPos, vp: VPos, label: &str) -> BoxPx {
    let (w, h) = (text_width(label, SMALL), px(SMALL) + 2.0);
    let (x, y) = (x as f64, y as f64);
    let x0 = match hp {
        HPos::Left => x,
        HPos::Right => x - w,
        HPos::Center => x - w / 2.0,
    };
    let y0 = match vp {
        VPos::Top => y,
        VPos::Bottom => y - h,
        VPos::Center => y - h / 2.0,
    };
    (x0, y0, x0 + w, y0 + h)
}

fn overlaps(a: BoxPx, b: BoxPx) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// One compute roof.
#[derive(Debug, Clone, PartialEq)]
pub struct Roof {
    /// Legend label (e.g. `f32 FMA`).
    pub label: String,
    /// Peak, G ops/s.
    pub peak: f64,
    /// Unit of the peak (`GFLOP/s`, `GOP/s`).
    pub unit: String,
}

/// One variant on the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct RoofPoint {
    /// Text next to the point.
    pub label: String,
    /// Arithmetic intensity, ops per byte.
    pub ai: f64,
    /// Attainable rate, G ops/s.
    pub gops: f64,
    /// Index into the roofs of the roof it sits under.
    pub roof: usize,
    /// A measured rate (drawn as a hollow ring) rather than the model's bound (a dot).
    pub measured: bool,
}

/// Draws the roofs for a memory bandwidth of `bandwidth` GB/s and the points.
/// Points with a non-positive or non-finite coordinate are skipped; points
/// at the same place share one label (`a, b`).
pub fn roofline_chart(
    roofs: &[Roof],
    points: &[RoofPoint],
    bandwidth: f64,
) -> Result<String, String> {
    let ok = |v: f64| v.is_finite() && v > 0.0;
    let pts: Vec<&RoofPoint> = points.iter().filter(|p| ok(p.ai) && ok(p.gops)).collect();
    if roofs.is_empty() || !ok(bandwidth) || roofs.iter().any(|r| !ok(r.peak)) {
        return super::empty_chart("no roofline to draw");
    }
    // Merge coincident points (same place, same roof) into one label.
    let mut merged: Vec<(f64, f64, usize, String, bool)> = Vec::new();
    for p in &pts {
        let same = |m: &(f64, f64, usize, String, bool)| {
            m.2 == p.roof
                && m.4 == p.measured
                && (m.0 / p.ai - 1.0).abs() < 1e-9
                && (m.1 / p.gops - 1.0).abs() < 1e-9
        };
        match merged.iter_mut().find(|m| same(m)) {
            Some(m) => {
                m.3.push_str(", ");
                m.3.push_str(&p.label);
            }
            None => merged.push((p.ai, p.gops, p.roof, p.label.clone(), p.measured)),
        }
    }
    let ridges = roofs.iter().map(|r| r.peak / bandwidth);
    let ai_lo = pts
        .iter()
        .map(|p| p.ai)
        .chain(ridges.clone())
        .fold(f64::INFINITY, f64::min);
    let ai_hi = pts.iter().map(|p| p.ai).chain(ridges).fold(0.0, f64::max);
    let x_lo = (ai_lo / 2.0).log10().floor();
    let x_hi = (ai_hi * 2.0).log10().ceil().max(x_lo + 1.0);
    let y_at = |x: f64, peak: f64| (10f64.powf(x) * bandwidth).min(peak).log10();
    let peak_hi = roofs.iter().map(|r| r.peak).fold(0.0, f64::max);
    let y_lo = pts
        .iter()
        .map(|p| p.gops.log10())
        .fold(y_at(x_lo, peak_hi), f64::min)
        .floor();
    let y_hi = (peak_hi * 2.0).log10().ceil().max(y_lo + 1.0);
    let color = |i: usize| SERIES_COLORS[i % SERIES_COLORS.len()];
    // Legend rows above the plot.
    let legend: Vec<String> = roofs
        .iter()
        .map(|r| {
            format!(
                "{}: {} {}, ridge at {} ops/byte",
                r.label,
                fmt_short(r.peak),
                r.unit,
                fmt_short(r.peak / bandwidth)
            )
        })
        .collect();
    let mut rows = 1;
    let mut lx = 0.0;
    for l in &legend {
        let w = 40.0 + text_width(l, SMALL) + 24.0;
        if lx + w > WIDTH as f64 - 40.0 {
            rows += 1;
            lx = 0.0;
        }
        lx += w;
    }
    svg(WIDTH, 620, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(16)
            .margin_top(20 + 26 * rows as u32)
            .margin_right(30)
            .x_label_area_size(60)
            .y_label_area_size(90)
            .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
            .map_err(err)?;
        let tick = |v: &f64| log_tick(10, *v);
        draw_mesh(
            chart
                .configure_mesh()
                .x_desc(format!(
                    "arithmetic intensity, ops per DRAM byte (DRAM {} GB/s)",
                    fmt_short(bandwidth)
                ))
                .y_desc("attainable G ops/s")
                .x_labels((x_hi - x_lo) as usize + 1)
                .y_labels((y_hi - y_lo) as usize + 1)
                .x_label_formatter(&tick)
                .y_label_formatter(&tick),
        )?;
        let mut lines: Vec<Vec<(f64, f64)>> = Vec::new();
        for (i, r) in roofs.iter().enumerate() {
            let ridge = (r.peak / bandwidth).log10().clamp(x_lo, x_hi);
            let line = vec![
                (x_lo, y_at(x_lo, r.peak)),
                (ridge, y_at(ridge, r.peak)),
                (x_hi, y_at(x_hi, r.peak)),
            ];
            chart
                .draw_series(LineSeries::new(
                    line.clone(),
                    color(i).mix(0.8).stroke_width(2),
                ))
                .map_err(err)?;
            lines.push(line);
        }
        let coords: Vec<(f64, f64)> = merged.iter().map(|m| (m.0.log10(), m.1.log10())).collect();
        chart
            .draw_series(merged.iter().zip(&coords).map(|(m, &c)| {
                if m.4 {
                    Circle::new(c, 6, color(m.2).stroke_width(2))
                } else {
                    Circle::new(c, 5, color(m.2).filled())
                }
            }))
            .map_err(err)?;
        // Legend.
        let (mut lx, mut ly) = (22i32, 22i32);
        for (i, l) in legend.iter().enumerate() {
            let w = 40 + text_width(l, SMALL) as i32 + 24;
            if lx + w > WIDTH as i32 - 40 {
                lx = 22;
                ly += 26;
            }
            root.draw(&PathElement::new(
                vec![(lx, ly), (lx + 28, ly)],
                color(i).stroke_width(2),
            ))
            .map_err(err)?;
            root.draw(&Circle::new((lx + 14, ly), 4, color(i).filled()))
                .map_err(err)?;
            root.draw(&Text::new(
                l.clone(),
                (lx + 36, ly),
                style(SMALL, GREY, HPos::Left, VPos::Center),
            ))
            .map_err(err)?;
            lx += w;
        }
        // Labels, kept off the points, each other and the flat roofs.
        let (xr, yr) = chart.plotting_area().get_pixel_range();
        let area = (
            xr.start as f64,
            yr.start as f64,
            xr.end as f64,
            yr.end as f64,
        );
        let pix: Vec<(i32, i32)> = coords.iter().map(|c| chart.backend_coord(c)).collect();
        let obstacles: Vec<BoxPx> = lines
            .iter()
            .map(|l| {
                let (a, b) = (chart.backend_coord(&l[1]), chart.backend_coord(&l[2]));
                (a.0 as f64, a.1 as f64 - 2.0, b.0 as f64, b.1 as f64 + 2.0)
            })
            .collect();
        let labels: Vec<String> = merged.iter().map(|m| m.3.clone()).collect();
        let placed = place_labels(&pix, &labels, SMALL, area, &obstacles);
        // Where labels still collide (crowded points), the later one is left
        // out: the section's table lists every variant.
        let mut drawn: Vec<BoxPx> = Vec::new();
        for ((anchor, hp, vp), label) in placed.into_iter().zip(&labels) {
            let b = label_box(anchor, hp, vp, label);
            if drawn.iter().any(|d| overlaps(*d, b)) {
                continue;
            }
            drawn.push(b);
            root.draw(&Text::new(
                label.clone(),
                anchor,
                style(SMALL, BLACK, hp, vp),
            ))
            .map_err(err)?;
        }
        Ok(())
    })
}
