//! What a results file says about the run: machine, build, date, variants,
//! and the number lines of the formats involved.

use std::time::{SystemTime, UNIX_EPOCH};

use super::record::{NumberLine, VariantInfo};
use crate::formats::ElementFormat;
use crate::variants::operand::format_name;
use crate::variants::MatmulVariant;

/// The bitsim version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git commit bitsim was built from, if `build.rs` could ask git.
pub fn commit() -> Option<String> {
    option_env!("BITSIM_GIT_COMMIT")
        .filter(|c| !c.is_empty())
        .map(str::to_string)
}

/// The CPU model from `/proc/cpuinfo` (`unknown` where there is none).
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name") || l.starts_with("Model"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// SIMD features detected at run time that the kernels may dispatch on (up
/// to the user's ISA cap, see [`crate::isa`]).
pub fn simd_features() -> Vec<String> {
    crate::isa::active()
        .names()
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// `t` as RFC 3339 UTC with whole seconds, e.g. `2026-04-01T12:34:56Z`.
pub fn rfc3339_utc(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// What the report shows about a variant.
pub fn variant_info(v: &dyn MatmulVariant) -> VariantInfo {
    let info = v.info();
    VariantInfo {
        name: info.name.to_string(),
        description: info.description.to_string(),
        formats: info.format_names(),
        weight_format: info.weight_desc,
        act_format: info.act_desc,
        accumulator: info.accumulator,
    }
}

/// What the report shows about an attention variant: its QKᵀ and PV
/// descriptions in the weight and activation columns.
pub fn attention_info(v: &dyn crate::attention::AttentionVariant) -> VariantInfo {
    let info = v.info();
    VariantInfo {
        name: info.name.to_string(),
        description: info.description.to_string(),
        formats: Vec::new(),
        weight_format: format!("QKᵀ: {}", info.qk_desc),
        act_format: format!("PV: {}", info.pv_desc),
        accumulator: info.accumulator.to_string(),
    }
}

/// Widest element format whose codes are enumerated for a number line.
pub const NUMBER_LINE_MAX_BITS: u32 = 16;

/// The non-negative finite values of an element format, ascending, without
/// duplicates (`-0` counts as `0`), named as the report names it
/// ([`format_name`]); `None` for formats wider than 16 bits.
pub fn number_line(e: &ElementFormat) -> Option<NumberLine> {
    let bits = e.bits();
    if bits > NUMBER_LINE_MAX_BITS {
        return None;
    }
    let mut values: Vec<f64> = (0..1u32 << bits)
        .map(|c| e.decode(c))
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v + 0.0) // -0 + 0 = +0
        .collect();
    values.sort_by(f64::total_cmp);
    values.dedup();
    Some(NumberLine {
        format: format_name(e),
        values,
    })
}

/// Number lines of every element format the variants use, first-use order, each once.
pub fn number_lines(variants: &[&dyn MatmulVariant]) -> Vec<NumberLine> {
    let mut formats: Vec<ElementFormat> = Vec::new();
    for v in variants {
        for f in v.info().formats {
            if !formats.iter().any(|x| format_name(x) == format_name(&f)) {
                formats.push(f);
            }
        }
    }
    formats.iter().filter_map(number_line).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::{self, Format};
    use std::time::Duration;

    #[test]
    fn dates() {
        let at = |s: u64| rfc3339_utc(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        // 2000-02-29 12:34:56 UTC (a leap day in a century leap year).
        assert_eq!(at(951_827_696), "2000-02-29T12:34:56Z");
        // 2024-12-31 23:59:59 UTC.
        assert_eq!(at(1_735_689_599), "2024-12-31T23:59:59Z");
        assert_eq!(at(1_735_689_600), "2025-01-01T00:00:00Z");
    }

    #[test]
    fn e2m1_number_line() {
        let elem = |name: &str| match formats::parse(name).expect(name) {
            Format::Element(e) => e,
            Format::Block(b) => b.element,
        };
        let l = number_line(&elem("e2m1")).expect("e2m1");
        assert_eq!(l.format, "e2m1");
        assert_eq!(l.values, [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]);
        // A block format's element format has the same values.
        assert_eq!(number_line(&elem("mxfp4")).expect("mxfp4").values, l.values);
        let int4 = number_line(&elem("int4")).expect("int4");
        assert_eq!((int4.format.as_str(), int4.values.len()), ("int4", 8));
        assert!(number_line(&elem("f32")).is_none());
    }
}
