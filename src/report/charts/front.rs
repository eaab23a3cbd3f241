//! A design-space scatter with its Pareto front: thousands of configurations
//! as small dots, the front as an orange staircase with every front point
//! named, and the known formats marked and named.

use super::labels::{place_labels, BoxPx};
use super::{draw_mesh, err, style, svg, BLUE, GREY, ORANGE, SMALL, WIDTH};
use crate::report::summary::fmt_short;
use plotters::prelude::*;

/// One configuration on a front chart.
#[derive(Debug, Clone, PartialEq)]
pub struct FrontPoint {
    /// Name drawn next to front points and known formats.
    pub label: String,
    /// x (minimized).
    pub x: f64,
    /// y (minimized, or maximized with `FrontAxes::y_higher_better`).
    pub y: f64,
    /// On the Pareto front.
    pub front: bool,
    /// A known format (drawn as a black square, always named).
    pub known: bool,
}

/// Axis descriptions of a front chart.
#[derive(Debug, Clone, PartialEq)]
pub struct FrontAxes {
    /// x axis text.
    pub x_desc: String,
    /// y axis text.
    pub y_desc: String,
    /// y on a log10 scale.
    pub log_y: bool,
}

/// Draws `points` (non-finite ones are left out).
pub fn front_chart(points: &[FrontPoint], axes: &FrontAxes) -> Result<String, String> {
    let ty = |y: f64| if axes.log_y { y.log10() } else { y };
    let pts: Vec<(usize, (f64, f64))> = points
        .iter()
        .enumerate()
        .filter(|(_, p)| p.x.is_finite() && p.y.is_finite() && (!axes.log_y || p.y > 0.0))
        .map(|(i, p)| (i, (p.x, ty(p.y))))
        .collect();
    let range = |v: &mut dyn Iterator<Item = f64>| {
        let (lo, hi) = v.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
        if !lo.is_finite() {
            return (0.0, 1.0);
        }
        let pad = ((hi - lo) * 0.06).max(1e-9);
        (lo - pad, hi + pad)
    };
    let (x_lo, x_hi) = range(&mut pts.iter().map(|p| p.1 .0));
    let (y_lo, y_hi) = range(&mut pts.iter().map(|p| p.1 .1));
    let mut front: Vec<(f64, f64)> = pts
        .iter()
        .filter(|(i, _)| points[*i].front)
        .map(|p| p.1)
        .collect();
    front.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut stair = Vec::new();
    for (n, c) in front.iter().enumerate() {
        if n > 0 {
            stair.push((c.0, front[n - 1].1));
        }
        stair.push(*c);
    }
    svg(WIDTH, 620, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(16)
            .margin_top(30)
            .margin_right(30)
            .x_label_area_size(60)
            .y_label_area_size(86)
            .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
            .map_err(err)?;
        let y_fmt = |v: &f64| {
            if axes.log_y {
                fmt_short(10f64.powf(*v))
            } else {
                fmt_short(*v)
            }
        };
        let x_fmt = |v: &f64| fmt_short(*v);
        draw_mesh(
            chart
                .configure_mesh()
                .x_desc(axes.x_desc.as_str())
                .y_desc(axes.y_desc.as_str())
                .x_label_formatter(&x_fmt)
                .y_label_formatter(&y_fmt),
        )?;
        chart
            .draw_series(
                pts.iter()
                    .filter(|(i, _)| !points[*i].front && !points[*i].known)
                    .map(|(_, c)| Circle::new(*c, 2, BLUE.mix(0.35).filled())),
            )
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(
                stair.clone(),
                ORANGE.mix(0.8).stroke_width(2),
            ))
            .map_err(err)?;
        chart
            .draw_series(
                pts.iter()
                    .filter(|(i, _)| points[*i].front)
                    .map(|(_, c)| Circle::new(*c, 5, ORANGE.filled())),
            )
            .map_err(err)?;
        let named: Vec<&(usize, (f64, f64))> = pts
            .iter()
            .filter(|(i, _)| points[*i].front || points[*i].known)
            .collect();
        let pix: Vec<(i32, i32)> = named.iter().map(|p| chart.backend_coord(&p.1)).collect();
        for (p, q) in named.iter().zip(&pix) {
            if points[p.0].known {
                root.draw(&Rectangle::new(
                    [(q.0 - 5, q.1 - 5), (q.0 + 5, q.1 + 5)],
                    BLACK.filled(),
                ))
                .map_err(err)?;
            }
        }
        let (xr, yr) = chart.plotting_area().get_pixel_range();
        let area = (
            xr.start as f64,
            yr.start as f64,
            xr.end as f64,
            yr.end as f64,
        );
        let obstacles: Vec<BoxPx> = Vec::new();
        let labels: Vec<String> = named.iter().map(|p| points[p.0].label.clone()).collect();
        let placed = place_labels(&pix, &labels, SMALL * 0.8, area, &obstacles);
        for ((anchor, hp, vp), (p, label)) in placed.into_iter().zip(named.iter().zip(&labels)) {
            let color = if points[p.0].known { BLACK } else { GREY };
            root.draw(&Text::new(
                label.clone(),
                anchor,
                style(SMALL * 0.8, color, hp, vp),
            ))
            .map_err(err)?;
        }
        Ok(())
    })
}
