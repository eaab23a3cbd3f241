//! The charts section of the report: which charts, from which aggregates,
//! and the prose that tells how to read each.

use super::charts::{self, Bar, Line, ScatterPoint, PART_COLORS};
use super::summary::{derived, fmt_short, Agg};
use crate::suite::record::{metric, Results};
use serde::Serialize;
use std::collections::BTreeMap;

/// One figure of the charts section: what the template needs.
#[derive(Serialize)]
pub struct Chart {
    /// Anchor id of the figure.
    pub id: &'static str,
    /// Caption.
    pub title: &'static str,
    /// How to read the chart.
    pub how: String,
    /// Inline SVG markup (already escaped inside by plotters).
    pub svg: String,
    /// Remark under the chart (points left out), or empty.
    pub note: String,
}

/// The variant names without the prefix (up to a `/`) that all share, for
/// chart labels (`matmul/w4a16` -> `w4a16`).
pub fn short_names(names: &[&String]) -> Vec<String> {
    let prefix_len = names
        .first()
        .and_then(|first| first.rfind('/').map(|i| &first[..=i]))
        .filter(|p| names.iter().all(|n| n.starts_with(p) && n.len() > p.len()))
        .map_or(0, str::len);
    names.iter().map(|n| n[prefix_len..].to_string()).collect()
}

/// The charts section: every chart with its caption and reading guide, for
/// the variants in `order` (the summary's order).
pub fn build(
    results: &Results,
    order: &[&String],
    by_variant: &BTreeMap<String, BTreeMap<String, Agg>>,
) -> Result<Vec<Chart>, String> {
    let labels = short_names(order);
    let val = |v: &String, m: &str| by_variant[v].get(m).map_or(f64::NAN, |a| a.value);
    let mut charts = Vec::new();

    let points: Vec<ScatterPoint> = order
        .iter()
        .zip(&labels)
        .map(|(v, l)| ScatterPoint {
            label: l.clone(),
            energy: val(v, metric::ENERGY_PJ_PER_MAC),
            error: val(v, metric::REL_FRO_ERROR),
        })
        .collect();
    let (svg, left_out) = if points.is_empty() {
        (charts::empty_chart("no variants in this run")?, Vec::new())
    } else {
        charts::error_energy_scatter(&points)?
    };
    charts.push(Chart {
        id: "chart-error-energy",
        title: "Accuracy versus energy",
        how: "Each point is a variant: its mean energy per multiply-accumulate (x) and its mean relative Frobenius \
              error of the matmul output against the f64 reference (y, log scale: one grid line per factor of 10). \
              Down and to the left is better. Orange points are Pareto-optimal: no other variant is both cheaper \
              and more accurate. The orange staircase bounds the region they dominate."
            .into(),
        svg,
        note: if left_out.is_empty() {
            String::new()
        } else {
            format!("Not drawn (zero, missing or non-finite error or energy; a log axis cannot show them): {}.", left_out.join(", "))
        },
    });

    let bar = |m: &str, scale: f64, unit: &str| -> Vec<Bar> {
        order
            .iter()
            .zip(&labels)
            .map(|(v, l)| {
                let x = val(v, m) * scale;
                let text = if !by_variant[*v].contains_key(m) {
                    "not measured".to_string()
                } else {
                    format!("{}{unit}", fmt_short(x))
                };
                Bar {
                    label: l.clone(),
                    segments: vec![x],
                    text,
                }
            })
            .collect()
    };
    let order_note = "Variants are listed in the summary table's order (lowest energy first).";
    charts.push(Chart {
        id: "chart-sqnr",
        title: "Output SQNR by variant",
        how: format!(
            "Signal-to-quantization-noise ratio of the matmul output, dB, mean over workloads, shapes and seeds. \
             Longer is better; every 6 dB is one more effective bit. An exact variant has infinite SQNR (no bar, \
             value 'inf'). {order_note}"
        ),
        svg: charts::hbar_chart("output SQNR, dB", &[("SQNR", PART_COLORS[0])], &bar(metric::SQNR_DB, 1.0, " dB"))?,
        note: String::new(),
    });

    let energy_bars: Vec<Bar> = order
        .iter()
        .zip(&labels)
        .map(|(v, l)| Bar {
            label: l.clone(),
            segments: [
                derived::COMPUTE_PJ_PER_MAC,
                derived::SRAM_PJ_PER_MAC,
                derived::DRAM_PJ_PER_MAC,
            ]
            .iter()
            .map(|m| val(v, m))
            .collect(),
            text: if by_variant[*v].contains_key(metric::ENERGY_PJ_PER_MAC) {
                format!("{} pJ", fmt_short(val(v, metric::ENERGY_PJ_PER_MAC)))
            } else {
                "not measured".into()
            },
        })
        .collect();
    charts.push(Chart {
        id: "chart-energy",
        title: "Energy per MAC, by component",
        how: format!(
            "Energy per multiply-accumulate from the cost model (operation and byte counts × the energy table), split \
             into arithmetic (compute), on-chip SRAM traffic and off-chip DRAM traffic; the number is the total. Each \
             part is the cell's part divided by its MAC count, averaged over cells. Data movement usually dominates: \
             a format that halves the bits moved saves more than one with a cheaper multiplier. {order_note}"
        ),
        svg: charts::hbar_chart(
            "energy per MAC, pJ",
            &[("compute", PART_COLORS[0]), ("SRAM", PART_COLORS[1]), ("DRAM", PART_COLORS[2])],
            &energy_bars,
        )?,
        note: String::new(),
    });

    let tput = bar(metric::EMULATION_MAC_PER_S, 1e-9, " G MAC/s");
    let has_tput = order
        .iter()
        .any(|v| by_variant[*v].contains_key(metric::EMULATION_MAC_PER_S));
    charts.push(Chart {
        id: "chart-throughput",
        title: "Emulation throughput on this machine",
        how: format!(
            "How fast bitsim emulates each variant here (the bit-exact software model, not the modelled hardware), \
             G MAC/s: median of the repetitions per cell, mean over cells. Longer is faster. It depends on this CPU, \
             its SIMD features and the thread count in the metadata; compare it across runs only on the same \
             machine. {order_note}"
        ),
        svg: if has_tput {
            charts::hbar_chart("emulation throughput, G MAC/s", &[("throughput", PART_COLORS[1])], &tput)?
        } else {
            charts::empty_chart("no timing rows in this run")?
        },
        note: String::new(),
    });

    // Native kernels beside the emulation: only variants that have one.
    let native: Vec<Bar> = order
        .iter()
        .zip(&labels)
        .filter(|(v, _)| by_variant[**v].contains_key(metric::NATIVE_GOPS))
        .map(|(v, l)| {
            let (g, f) = (
                val(v, metric::NATIVE_GOPS),
                val(v, metric::NATIVE_CEILING_FRACTION),
            );
            let emu = val(v, metric::EMULATION_MAC_PER_S) * 2e-9;
            let mut text = format!(
                "{} GOP/s, {} % of ceiling",
                fmt_short(g),
                fmt_short(100.0 * f)
            );
            if emu > 0.0 && emu.is_finite() {
                text.push_str(&format!(", {}× emulation", fmt_short(g / emu)));
            }
            Bar {
                label: l.clone(),
                segments: vec![g],
                text,
            }
        })
        .collect();
    charts.push(Chart {
        id: "chart-native-throughput",
        title: "Native kernel throughput on this machine",
        how: format!(
            "How fast each variant's native SIMD kernel (bit-identical to its emulation, checked in the run) multiplies \
             here, G ops/s (2 ops per MAC; activation quantization included, weights packed beforehand): median of \
             the repetitions per cell, mean over cells. The text gives the fraction of the ceiling measured in the \
             same run (decode, M ≤ 8: a read loop over the packed weights' bytes; prefill: the peak of the \
             instruction the kernel is built on) and the speed-up over the emulation (its MAC/s × 2). Variants \
             without a native kernel are left out. {order_note}"
        ),
        svg: if native.is_empty() {
            charts::empty_chart("no native timing rows in this run")?
        } else {
            charts::hbar_chart("native kernel throughput, G ops/s", &[("throughput", PART_COLORS[0])], &native)?
        },
        note: String::new(),
    });

    let lines: Vec<Line> = results
        .meta
        .number_lines
        .iter()
        .map(|l| Line {
            format: l.format.clone(),
            values: l.values.clone(),
        })
        .collect();
    charts.push(Chart {
        id: "chart-number-lines",
        title: "Representable values of each element format",
        how: format!(
            "Each row is an element format; each blue tick a representable positive value on a log₂ axis (one grid \
             line per power of two), so the spread of a row is its dynamic range and the tick spacing its relative \
             precision. The dot in the 0 column marks that zero is representable; signed formats mirror the row \
             on the negative side. Formats with more than {} positive values (fp16, bf16…) are drawn as a density: \
             one tick per pixel column that holds values, taller where more values fall. The axis is clipped at \
             2^±{}: an orange arrow marks a format that reaches beyond, and its label counts the values off the \
             axis.",
            charts::DENSE_ABOVE,
            charts::LOG2_CLIP
        ),
        svg: if lines.is_empty() {
            charts::empty_chart("no number lines in the run metadata")?
        } else {
            charts::number_lines(&lines)?
        },
        note: String::new(),
    });
    Ok(charts)
}

#[cfg(test)]
mod tests {
    use super::short_names;

    #[test]
    fn short_names_drop_only_a_shared_prefix() {
        let s = |v: &[&str]| {
            let owned: Vec<String> = v.iter().map(|x| x.to_string()).collect();
            short_names(&owned.iter().collect::<Vec<_>>())
        };
        assert_eq!(s(&["matmul/a", "matmul/b"]), ["a", "b"]);
        assert_eq!(s(&["matmul/a", "attention/b"]), ["matmul/a", "attention/b"]);
        assert_eq!(s(&["plain", "matmul/b"]), ["plain", "matmul/b"]);
        assert_eq!(s(&["matmul/", "matmul/b"]), ["matmul/", "matmul/b"]);
    }
}
