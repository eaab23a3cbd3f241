//! Each element format's representable values on a shared log2 axis.

use super::{
    draw_mesh, err, log_tick, style, svg, text_width, BLUE, GREY, LIGHT, ORANGE, SMALL, TEXT, WIDTH,
};
use crate::report::summary::fmt_short;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

/// Formats with more representable positive values than this are drawn as a
/// density (one tick per occupied pixel column) rather than one tick per value.
pub const DENSE_ABOVE: usize = 256;
/// The axis is clipped to 2^±this; a format reaching beyond gets an arrow.
pub const LOG2_CLIP: f64 = 24.0;

/// A format's extreme value, exact where short: integers below 10⁷ in
/// full (`65504`), other powers of two as such (`2⁻²⁴`), else 4 digits.
fn range_label(v: f64) -> String {
    if v.fract() == 0.0 && v < 1e7 {
        format!("{v}")
    } else if v.log2().fract() == 0.0 && v.is_finite() {
        super::power_label(2, v.log2() as i64)
    } else {
        fmt_short(v)
    }
}

/// One row of the number-line chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Format name.
    pub format: String,
    /// Non-negative finite values (others are ignored).
    pub values: Vec<f64>,
}

/// Each format's representable non-negative values on a shared log2 axis,
/// one row per format. Zero, which a log axis cannot show, is a dot left of
/// the axis. Formats with more than [`DENSE_ABOVE`] positive values are drawn
/// as a density: one tick per pixel column holding values, its height
/// growing with the logarithm of how many values fall in that column. The
/// axis spans the union of the formats' ranges clipped to 2^±[`LOG2_CLIP`];
/// a row reaching beyond gets an arrow at that end, and its label counts the
/// values off the axis.
pub fn number_lines(lines: &[Line]) -> Result<String, String> {
    let n = lines.len().max(1);
    let row_h = 56u32;
    let height = 90 + row_h * n as u32;
    let logs: Vec<Vec<f64>> = lines
        .iter()
        .map(|l| {
            let mut v: Vec<f64> = l
                .values
                .iter()
                .filter(|v| v.is_finite() && **v > 0.0)
                .map(|v| v.log2())
                .collect();
            v.sort_by(f64::total_cmp);
            v
        })
        .collect();
    let all = logs.iter().flatten().copied();
    let (mut lo, mut hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !lo.is_finite() {
        (lo, hi) = (-1.0, 1.0);
    }
    let lo = lo.floor().max(-LOG2_CLIP) - 0.5;
    let hi = hi.ceil().min(LOG2_CLIP).max(lo + 1.5) + 0.5;
    // The grey line under each name: how many values, their range, how many are off the axis.
    let subs: Vec<String> = logs
        .iter()
        .map(|lv| {
            let (Some(&a), Some(&b)) = (lv.first(), lv.last()) else {
                return "no positive value".into();
            };
            let off = lv.iter().filter(|v| **v < lo || **v > hi).count();
            let off = if off > 0 {
                format!(" ({off} off the axis)")
            } else {
                String::new()
            };
            let (a, b) = (range_label(a.exp2()), range_label(b.exp2()));
            format!("{} positive, {a} … {b}{off}", lv.len())
        })
        .collect();
    let sub_size = SMALL - 2.0;
    let label_w = lines
        .iter()
        .map(|l| text_width(&l.format, TEXT))
        .chain(subs.iter().map(|s| text_width(s, sub_size)))
        .fold(150.0, f64::max)
        .min(440.0)
        + 34.0;
    svg(WIDTH, height, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .margin_top(34)
            .margin_right(40)
            .x_label_area_size(56)
            .y_label_area_size(label_w as u32)
            .build_cartesian_2d(lo..hi, 0.0..n as f64)
            .map_err(err)?;
        let fmt = |v: &f64| log_tick(2, *v);
        let octaves = (hi - lo) as usize;
        draw_mesh(
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(0)
                .x_labels(octaves.min(14) + 1)
                .x_label_formatter(&fmt)
                .x_desc("value (log₂ scale)"),
        )?;
        let (xr, _) = chart.plotting_area().get_pixel_range();
        let half = (row_h as f64 * 0.34) as i32;
        for (i, (line, lv)) in lines.iter().zip(&logs).enumerate() {
            let yc = n as f64 - 1.0 - i as f64 + 0.5;
            let (_, py) = chart.backend_coord(&(lo, yc));
            let dense = lv.len() > DENSE_ABOVE;
            root.draw(&Text::new(
                line.format.clone(),
                (xr.start - 28, py - 9),
                style(TEXT, BLACK, HPos::Right, VPos::Center),
            ))
            .map_err(err)?;
            root.draw(&Text::new(
                subs[i].clone(),
                (xr.start - 28, py + 11),
                style(sub_size, GREY, HPos::Right, VPos::Center),
            ))
            .map_err(err)?;
            if line.values.contains(&0.0) {
                root.draw(&Circle::new((xr.start - 13, py), 4, BLACK.filled()))
                    .map_err(err)?;
            }
            let inside: Vec<f64> = lv
                .iter()
                .copied()
                .filter(|v| (lo..=hi).contains(v))
                .collect();
            if let (Some(&a), Some(&b)) = (inside.first(), inside.last()) {
                let (x0, _) = chart.backend_coord(&(a, yc));
                let (x1, _) = chart.backend_coord(&(b, yc));
                root.draw(&PathElement::new(
                    vec![(x0, py), (x1, py)],
                    LIGHT.stroke_width(3),
                ))
                .map_err(err)?;
            }
            // One tick per value, or per occupied pixel column for dense formats.
            let mut cols: Vec<(i32, usize)> = Vec::new();
            for v in &inside {
                let (x, _) = chart.backend_coord(&(*v, yc));
                match cols.last_mut() {
                    Some((c, k)) if *c == x && dense => *k += 1,
                    _ => cols.push((x, 1)),
                }
            }
            let kmax = cols.iter().map(|c| c.1).max().unwrap_or(1) as f64;
            for (x, k) in cols {
                let scale = if dense {
                    0.25 + 0.75 * (1.0 + k as f64).ln() / (1.0 + kmax).ln()
                } else {
                    1.0
                };
                let h = (half as f64 * scale).round() as i32;
                root.draw(&PathElement::new(
                    vec![(x, py - h), (x, py + h)],
                    BLUE.stroke_width(1),
                ))
                .map_err(err)?;
            }
            if lv.first().is_some_and(|v| *v < lo) {
                root.draw(&Text::new(
                    "◀",
                    (xr.start + 2, py),
                    style(SMALL, ORANGE, HPos::Left, VPos::Center),
                ))
                .map_err(err)?;
            }
            if lv.last().is_some_and(|v| *v > hi) {
                root.draw(&Text::new(
                    "▶",
                    (xr.end + 4, py),
                    style(SMALL, ORANGE, HPos::Left, VPos::Center),
                ))
                .map_err(err)?;
            }
        }
        // A "0" heading over the column of zero dots.
        let (_, ytop) = chart.backend_coord(&(lo, n as f64));
        root.draw(&Text::new(
            "0",
            (xr.start - 13, ytop - 4),
            style(SMALL, GREY, HPos::Center, VPos::Bottom),
        ))
        .map_err(err)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::range_label;

    #[test]
    fn range_labels_are_exact_where_short() {
        assert_eq!(range_label(65504.0), "65504");
        assert_eq!(range_label(2f64.powi(-24)), "2⁻²⁴");
        assert_eq!(range_label(0.5), "2⁻¹");
        assert_eq!(range_label(448.0), "448");
        assert_eq!(range_label(0.75), "0.75");
        assert_eq!(range_label(3.3895313892515355e38), "3.39e38");
    }
}
