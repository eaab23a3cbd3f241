//! `bitsim formats list`: every preset, with range and special values.

use std::io::Write;

use clap::Args;

use crate::cli::common::{hex, num, stdout_error, table};
use crate::cli::CliResult;
use crate::formats::{presets, BlockKind, ElementFormat, Format, IntKind, MiniFloat, NonFinite};

/// Arguments of `formats list` (none).
#[derive(Debug, Clone, Args)]
pub struct ListArgs {}

/// Prints the element-format table, then the block-format table.
pub fn run(_args: &ListArgs, out: &mut dyn Write) -> CliResult {
    let all = presets();
    let mut rows = vec![vec![
        "name".to_string(),
        "bits".into(),
        "bias".into(),
        "max finite".into(),
        "min normal".into(),
        "min subnormal".into(),
        "specials".into(),
    ]];
    let mut blocks = vec![vec![
        "name".to_string(),
        "element".into(),
        "scale".into(),
        "block".into(),
        "bits/element".into(),
        "notes".into(),
    ]];
    for (name, f) in &all {
        match f {
            Format::Element(ElementFormat::Float(m)) => rows.push(vec![
                name.to_string(),
                m.bits().to_string(),
                m.bias.to_string(),
                num(m.max_value()),
                num(m.min_normal()),
                m.min_subnormal().map_or("-".into(), num),
                float_specials(m),
            ]),
            Format::Element(ElementFormat::Int(i)) => rows.push(vec![
                name.to_string(),
                i.bits().to_string(),
                "-".into(),
                i.max_int().to_string(),
                "-".into(),
                "-".into(),
                match i.kind {
                    IntKind::Binary => "values -1, +1 (code 0 = -1)".into(),
                    IntKind::Ternary => "values -1, 0, +1; code 0b10 unused".into(),
                    IntKind::Signed {
                        symmetric: false, ..
                    } => format!("two's complement, min {}", i.min_int()),
                    IntKind::Signed {
                        symmetric: true,
                        bits,
                    } => format!(
                        "two's complement, min {}; code {} unused",
                        i.min_int(),
                        hex(1 << (bits - 1), bits)
                    ),
                    IntKind::Unsigned { .. } => "unsigned, min 0".into(),
                },
            ]),
            Format::Block(b) => {
                let mut notes = Vec::new();
                if b.element_scale_log2 != 0 {
                    notes.push(format!("element value = code x 2^{}", b.element_scale_log2));
                }
                match b.kind {
                    BlockKind::Mx => notes.push(format!("scale rule {}", b.rule.name())),
                    BlockKind::Nv => notes.push("plus an f32 tensor scale".into()),
                }
                blocks.push(vec![
                    name.to_string(),
                    b.element.to_string(),
                    b.scale.to_string(),
                    b.block_size.to_string(),
                    num(b.bits_per_element()),
                    notes.join("; "),
                ]);
            }
        }
    }
    let io = |out: &mut dyn Write| -> std::io::Result<()> {
        writeln!(out, "Element formats:")?;
        table(out, &rows)?;
        writeln!(out)?;
        writeln!(out, "Block formats (blocks run along the last axis):")?;
        table(out, &blocks)
    };
    io(out).map_err(stdout_error)
}

/// The special values of a minifloat, e.g. `NaN 0x7f,0xff; no inf`.
pub fn float_specials(m: &MiniFloat) -> String {
    let b = m.bits();
    let h = |c: u32| hex(c, b);
    let mut parts = Vec::new();
    match m.nonfinite {
        NonFinite::Ieee => {
            let pos_inf = m.inf_code(false).expect("IEEE has inf");
            let mant_all = (1u32 << m.mbits) - 1;
            if m.signed {
                let neg_inf = m.inf_code(true).expect("IEEE has inf");
                parts.push(format!("inf {},{}", h(pos_inf), h(neg_inf)));
                parts.push(format!(
                    "NaN {}-{},{}-{}",
                    h(pos_inf + 1),
                    h(pos_inf | mant_all),
                    h(neg_inf + 1),
                    h(neg_inf | mant_all)
                ));
            } else {
                parts.push(format!("inf {}", h(pos_inf)));
                parts.push(format!("NaN {}-{}", h(pos_inf + 1), h(pos_inf | mant_all)));
            }
        }
        NonFinite::Fn => {
            let pos = m.nan_code(false).expect("fn has NaN");
            let neg = m.nan_code(true).expect("fn has NaN");
            if pos == neg {
                parts.push(format!("NaN {}", h(pos)));
            } else {
                parts.push(format!("NaN {},{}", h(pos), h(neg)));
            }
            parts.push("no inf".into());
        }
        NonFinite::Fnuz => {
            parts.push(format!(
                "NaN {}",
                h(m.nan_code(true).expect("fnuz has NaN"))
            ));
            parts.push("no inf".into());
        }
        NonFinite::FiniteOnly => parts.push("none (finite only)".into()),
    }
    let mut lacks = Vec::new();
    if !m.has_zero() {
        lacks.push("no zero");
    } else if m.signed && !m.has_neg_zero() {
        lacks.push("no -0");
    }
    if !m.signed {
        lacks.push("unsigned");
    }
    let mut s = parts.join("; ");
    if !lacks.is_empty() {
        s.push_str(&format!("; {}", lacks.join(", ")));
    }
    s
}
