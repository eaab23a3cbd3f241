//! The report's charts, drawn with plotters into SVG strings (inlined in the
//! page). Text is written as SVG `<text>` elements by plotters' SVG backend,
//! so no font crate is needed; label widths are estimated from the character
//! count to keep labels apart.

use super::pareto::pareto_front;
use super::summary::fmt_value;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Font family of every chart text (a local generic family, nothing fetched).
const FONT: &str = "sans-serif";
/// Plotters divides the font size by 1.24 when writing SVG; sizes below are
/// the plotters sizes, [`px`] gives the size the browser draws.
const TEXT: f64 = 16.0;
const SMALL: f64 = 14.0;
/// Chart width in pixels (the page scales it down when narrower).
const WIDTH: u32 = 960;

/// Colors: a blue for ordinary data, an orange for the highlighted (Pareto)
/// points, and three distinguishable colors for compute / SRAM / DRAM.
const BLUE: RGBColor = RGBColor(49, 104, 163);
const ORANGE: RGBColor = RGBColor(214, 96, 25);
const GREY: RGBColor = RGBColor(110, 110, 110);
const LIGHT: RGBColor = RGBColor(225, 225, 225);
/// Colors of the energy parts (compute, SRAM, DRAM).
pub const PART_COLORS: [RGBColor; 3] = [
    RGBColor(49, 104, 163),
    RGBColor(94, 170, 95),
    RGBColor(214, 96, 25),
];

/// Browser pixel size of a plotters font size.
fn px(size: f64) -> f64 {
    size / 1.24
}

/// Estimated width in pixels of `text` at plotters font size `size`
/// (0.6 em per character: generous for proportional sans-serif fonts).
fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * px(size) * 0.6
}

fn err<E: std::fmt::Display>(e: E) -> String {
    format!("chart drawing failed: {e}")
}

fn style(size: f64, color: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    (FONT, size).into_font().color(&color).pos(Pos::new(h, v))
}

/// Draws into a `w`×`h` SVG and returns its markup without the xmlns
/// attribute (inline SVG in HTML needs none, and the page then holds no URL).
fn svg(
    w: u32,
    h: u32,
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<(), String>,
) -> Result<String, String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw(&root)?;
        root.present().map_err(err)?;
    }
    Ok(out.replace(" xmlns=\"http://www.w3.org/2000/svg\"", ""))
}

/// `base` raised to an integer power with Unicode superscript digits (`10⁻³`).
pub fn power_label(base: u32, exp: i64) -> String {
    const SUP: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let mut s = base.to_string();
    if exp < 0 {
        s.push('⁻');
    }
    s.extend(
        exp.unsigned_abs()
            .to_string()
            .bytes()
            .map(|d| SUP[(d - b'0') as usize]),
    );
    s
}

/// Tick label on a log-transformed axis: a power of `base` at integer
/// positions, nothing in between.
fn log_tick(base: u32, v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        power_label(base, v.round() as i64)
    } else {
        String::new()
    }
}

/// A pixel rectangle (x0, y0, x1, y1).
type BoxPx = (f64, f64, f64, f64);

fn overlap(a: BoxPx, b: BoxPx) -> f64 {
    let w = (a.2.min(b.2) - a.0.max(b.0)).max(0.0);
    let h = (a.3.min(b.3) - a.1.max(b.1)).max(0.0);
    w * h
}

/// Picks a label position next to each point so that labels overlap neither
/// each other, nor points, nor leave `area`: tries eight positions around the
/// point and keeps the first free one, else the least-overlapping one.
/// Returns, per label, the anchor pixel and text alignment.
fn place_labels(
    points: &[(i32, i32)],
    labels: &[String],
    size: f64,
    area: BoxPx,
) -> Vec<((i32, i32), HPos, VPos)> {
    let h = px(size) + 2.0;
    let gap = 7.0;
    let mut taken: Vec<BoxPx> = points
        .iter()
        .map(|&(x, y)| {
            (
                x as f64 - 4.0,
                y as f64 - 4.0,
                x as f64 + 4.0,
                y as f64 + 4.0,
            )
        })
        .collect();
    let mut out = Vec::new();
    for (&(x, y), label) in points.iter().zip(labels) {
        let (x, y) = (x as f64, y as f64);
        let w = text_width(label, size);
        // (anchor dx, dy, alignment, box) for each candidate, best-looking first.
        let cands = [
            (gap, 0.0, HPos::Left, VPos::Center),
            (-gap, 0.0, HPos::Right, VPos::Center),
            (0.0, -gap, HPos::Center, VPos::Bottom),
            (0.0, gap, HPos::Center, VPos::Top),
            (gap * 0.7, -gap * 0.7, HPos::Left, VPos::Bottom),
            (gap * 0.7, gap * 0.7, HPos::Left, VPos::Top),
            (-gap * 0.7, -gap * 0.7, HPos::Right, VPos::Bottom),
            (-gap * 0.7, gap * 0.7, HPos::Right, VPos::Top),
        ];
        let boxed = |&(dx, dy, hp, vp): &(f64, f64, HPos, VPos)| {
            let ax = x + dx;
            let ay = y + dy;
            let x0 = match hp {
                HPos::Left => ax,
                HPos::Right => ax - w,
                HPos::Center => ax - w / 2.0,
            };
            let y0 = match vp {
                VPos::Top => ay,
                VPos::Bottom => ay - h,
                VPos::Center => ay - h / 2.0,
            };
            (x0, y0, x0 + w, y0 + h)
        };
        let cost = |b: BoxPx| {
            let outside = (area.0 - b.0).max(0.0)
                + (b.2 - area.2).max(0.0)
                + (area.1 - b.1).max(0.0)
                + (b.3 - area.3).max(0.0);
            taken.iter().map(|t| overlap(*t, b)).sum::<f64>() + outside * h * 4.0
        };
        let best = cands
            .iter()
            .map(|c| (c, boxed(c)))
            .min_by(|a, b| cost(a.1).total_cmp(&cost(b.1)))
            .expect("eight candidates");
        taken.push(best.1);
        let (dx, dy, hp, vp) = *best.0;
        out.push((((x + dx).round() as i32, (y + dy).round() as i32), hp, vp));
    }
    out
}

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

/// Error (log) versus energy per MAC scatter with the Pareto front (both
/// minimized) as a staircase. Points with a non-positive or non-finite
/// coordinate cannot be drawn on log axes; their labels are returned so the
/// page can list them. The energy axis is logarithmic when the energies span
/// more than a factor of 10.
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
    let svg = svg(WIDTH, 560, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(16)
            .margin_right(30)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
            .map_err(err)?;
        let x_fmt = |v: &f64| {
            if log_x {
                log_tick(10, *v)
            } else {
                fmt_value(*v)
            }
        };
        let y_fmt = |v: &f64| log_tick(10, *v);
        chart
            .configure_mesh()
            .x_desc(if log_x {
                "energy per MAC, pJ (log scale)"
            } else {
                "energy per MAC, pJ"
            })
            .y_desc("relative Frobenius error (log scale)")
            .x_labels(if log_x {
                (x_hi - x_lo).ceil() as usize + 1
            } else {
                10
            })
            .y_labels((y_hi - y_lo) as usize + 1)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .label_style((FONT, SMALL))
            .axis_desc_style((FONT, TEXT))
            .light_line_style(WHITE)
            .bold_line_style(LIGHT)
            .draw()
            .map_err(err)?;
        // The staircase: from each front point right to the next point's x, then down.
        let mut stair = Vec::new();
        for (n, &i) in front.iter().enumerate() {
            if n > 0 {
                stair.push((coords[i].0, coords[front[n - 1]].1));
            }
            stair.push(coords[i]);
        }
        chart
            .draw_series(LineSeries::new(stair, ORANGE.mix(0.8).stroke_width(2)))
            .map_err(err)?
            .label("Pareto front (no variant is both cheaper and more accurate)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], ORANGE.stroke_width(2)));
        let on_front = |i: usize| front.contains(&i);
        chart
            .draw_series(
                (0..coords.len())
                    .filter(|&i| !on_front(i))
                    .map(|i| Circle::new(coords[i], 5, BLUE.stroke_width(2))),
            )
            .map_err(err)?
            .label("dominated variant")
            .legend(|(x, y)| Circle::new((x + 10, y), 5, BLUE.stroke_width(2)));
        chart
            .draw_series(
                front
                    .iter()
                    .map(|&i| Circle::new(coords[i], 6, ORANGE.filled())),
            )
            .map_err(err)?
            .label("Pareto-optimal variant")
            .legend(|(x, y)| Circle::new((x + 10, y), 6, ORANGE.filled()));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(LIGHT)
            .label_font((FONT, SMALL))
            .draw()
            .map_err(err)?;
        let pix: Vec<(i32, i32)> = coords.iter().map(|c| chart.backend_coord(c)).collect();
        let (xr, yr) = chart.plotting_area().get_pixel_range();
        let area = (
            xr.start as f64,
            yr.start as f64,
            xr.end as f64,
            yr.end as f64,
        );
        let labels: Vec<String> = pts.iter().map(|p| p.label.clone()).collect();
        for ((anchor, hp, vp), (i, label)) in place_labels(&pix, &labels, SMALL, area)
            .into_iter()
            .zip(labels.iter().enumerate())
        {
            let color = if on_front(i) { ORANGE } else { GREY };
            root.draw(&Text::new(
                label.clone(),
                anchor,
                style(SMALL, color, hp, vp),
            ))
            .map_err(err)?;
        }
        Ok(())
    })?;
    Ok((svg, left_out))
}

/// A range around `values` with 8 % padding (never empty).
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

/// One bar of a horizontal bar chart: a label, stacked segments (one per
/// series; NaN segments are skipped) and the text written after the bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Category label, drawn left of the bar.
    pub label: String,
    /// Segment lengths, one per series, stacked left to right.
    pub segments: Vec<f64>,
    /// Text after the bar (its value).
    pub text: String,
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
    let row_h = 26u32;
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
        .min(380.0)
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
        let fmt = |v: &f64| fmt_value(*v);
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(8)
            .x_label_formatter(&fmt)
            .x_desc(x_desc)
            .label_style((FONT, SMALL))
            .axis_desc_style((FONT, TEXT))
            .light_line_style(WHITE)
            .bold_line_style(LIGHT)
            .draw()
            .map_err(err)?;
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
                bar.label.clone(),
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

/// Formats with more representable positive values than this are drawn as a
/// density (one tick per occupied pixel column) rather than one tick per value.
pub const DENSE_ABOVE: usize = 256;
/// The number-line axis is clipped to 2^±this; values beyond are counted at the ends.
pub const LOG2_CLIP: f64 = 32.0;

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
/// values beyond are counted in a note at the row's end.
pub fn number_lines(lines: &[Line]) -> Result<String, String> {
    let n = lines.len().max(1);
    let row_h = 44u32;
    let height = 80 + row_h * n as u32;
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
    let label_w = lines
        .iter()
        .map(|l| text_width(&l.format, TEXT))
        .fold(150.0, f64::max)
        .min(300.0)
        + 30.0;
    svg(WIDTH, height, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .margin_right(90)
            .x_label_area_size(44)
            .y_label_area_size(label_w as u32)
            .build_cartesian_2d(lo..hi, 0.0..n as f64)
            .map_err(err)?;
        let fmt = |v: &f64| log_tick(2, *v);
        let octaves = (hi - lo) as usize;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(octaves.min(24) + 1)
            .x_label_formatter(&fmt)
            .x_desc("value (log₂ scale; each grid line is a power of two)")
            .label_style((FONT, SMALL))
            .axis_desc_style((FONT, TEXT))
            .light_line_style(WHITE)
            .bold_line_style(LIGHT)
            .draw()
            .map_err(err)?;
        let (xr, _) = chart.plotting_area().get_pixel_range();
        for (i, (line, lv)) in lines.iter().zip(&logs).enumerate() {
            let yc = n as f64 - 1.0 - i as f64 + 0.5;
            let (_, py) = chart.backend_coord(&(lo, yc));
            let half = (row_h as f64 * 0.36) as i32;
            // Row label: name, and a grey line with the count and range.
            root.draw(&Text::new(
                line.format.clone(),
                (xr.start - 26, py - 8),
                style(TEXT, BLACK, HPos::Right, VPos::Center),
            ))
            .map_err(err)?;
            let has_zero = line.values.contains(&0.0);
            let range = match (lv.first(), lv.last()) {
                (Some(&a), Some(&b)) => {
                    format!("{} … {}", fmt_value(a.exp2()), fmt_value(b.exp2()))
                }
                _ => "no positive value".into(),
            };
            let dense = lv.len() > DENSE_ABOVE;
            let sub = format!(
                "{} > 0{}: {range}",
                lv.len(),
                if dense { ", density" } else { "" }
            );
            root.draw(&Text::new(
                sub,
                (xr.start - 26, py + 9),
                style(SMALL - 2.0, GREY, HPos::Right, VPos::Center),
            ))
            .map_err(err)?;
            if has_zero {
                root.draw(&Circle::new((xr.start - 12, py), 3, BLACK.filled()))
                    .map_err(err)?;
                root.draw(&Text::new(
                    "0",
                    (xr.start - 12, py - 6),
                    style(SMALL - 3.0, GREY, HPos::Center, VPos::Bottom),
                ))
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
            // Ticks, or one tick per occupied pixel column for dense formats.
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
                let hgt = if dense {
                    (half as f64 * (0.25 + 0.75 * (1.0 + k as f64).ln() / (1.0 + kmax).ln())) as i32
                } else {
                    half
                };
                root.draw(&PathElement::new(
                    vec![(x, py - hgt), (x, py + hgt)],
                    BLUE.stroke_width(1),
                ))
                .map_err(err)?;
            }
            let below = lv.iter().filter(|v| **v < lo).count();
            let above = lv.iter().filter(|v| **v > hi).count();
            if below > 0 {
                root.draw(&Text::new(
                    format!("◀ {below} smaller"),
                    (xr.start + 4, py + half + 2),
                    style(SMALL - 3.0, ORANGE, HPos::Left, VPos::Top),
                ))
                .map_err(err)?;
            }
            if above > 0 {
                root.draw(&Text::new(
                    format!("{above} larger ▶"),
                    (xr.end + 4, py),
                    style(SMALL - 3.0, ORANGE, HPos::Left, VPos::Center),
                ))
                .map_err(err)?;
            }
        }
        Ok(())
    })
}

/// Draws nothing but a message, for a chart without data.
pub fn empty_chart(message: &str) -> Result<String, String> {
    svg(WIDTH, 60, |root| {
        root.draw(&Text::new(
            message.to_string(),
            (20, 30),
            style(TEXT, GREY, HPos::Left, VPos::Center),
        ))
        .map_err(err)
    })
}
