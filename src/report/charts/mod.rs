//! The report's charts, drawn with plotters into SVG strings (inlined in the
//! page). Text is written as SVG `<text>` elements by plotters' SVG backend,
//! so no font crate is needed; label widths are estimated from the character
//! count to keep labels apart.

mod bars;
mod front;
mod labels;
mod lines;
mod number_line;
mod roofline;
mod scatter;

pub use bars::{hbar_chart, Bar};
pub use front::{front_chart, FrontAxes, FrontPoint};
pub use labels::place_labels;
pub use lines::{line_chart, Axes, Series, SeriesStyle, SERIES_COLORS};
pub use number_line::{number_lines, Line, DENSE_ABOVE, LOG2_CLIP};
pub use roofline::{roofline_chart, Roof, RoofPoint};
pub use scatter::{error_energy_scatter, ScatterPoint};

use plotters::chart::MeshStyle;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Draws a chart's configured mesh in the one axis style of every chart:
/// label and description fonts, white minor and light major grid lines.
fn draw_mesh<X, Y, XT, YT, DB>(mesh: &mut MeshStyle<'_, '_, X, Y, DB>) -> Result<(), String>
where
    X: Ranged<ValueType = XT> + ValueFormatter<XT>,
    Y: Ranged<ValueType = YT> + ValueFormatter<YT>,
    DB: DrawingBackend,
{
    mesh.label_style((FONT, SMALL))
        .axis_desc_style((FONT, TEXT))
        .light_line_style(WHITE)
        .bold_line_style(LIGHT)
        .draw()
        .map_err(err)
}

/// Font family of every chart text (a generic local family, nothing fetched).
const FONT: &str = "sans-serif";
/// Plotters font sizes. Plotters divides them by 1.24 when writing SVG;
/// [`px`] gives the size the browser draws.
const TEXT: f64 = 19.0;
const SMALL: f64 = 17.0;
/// Chart width in pixels (the page scales it down when narrower).
const WIDTH: u32 = 1000;

/// A blue for ordinary data, an orange for highlighted (Pareto) points.
const BLUE: RGBColor = RGBColor(49, 104, 163);
const ORANGE: RGBColor = RGBColor(214, 96, 25);
const GREY: RGBColor = RGBColor(100, 100, 106);
const LIGHT: RGBColor = RGBColor(225, 225, 230);
/// Colors of the energy parts (compute, SRAM, DRAM) and of single-series bars.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_labels() {
        assert_eq!(power_label(10, -3), "10⁻³");
        assert_eq!(power_label(2, 15), "2¹⁵");
        assert_eq!(power_label(2, 0), "2⁰");
        assert_eq!(log_tick(2, 0.5), "");
    }
}
