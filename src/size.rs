//! Byte sizes: the one grammar every command and data file reads
//! (`64`, `48KiB`, `1MiB`, `64KB`, `2 G`) and the one printer.
//!
//! Units are case-insensitive and always powers of 1024: `K`, `KB` and `KiB`
//! all mean 1024 bytes (likewise `M`/`MB`/`MiB` and `G`/`GB`/`GiB`), because
//! cache and memory sizes are binary and a decimal `KB` would only ever be a
//! typo for the binary one. The number is a non-negative integer; `0` parses
//! (whether a zero size makes sense is the caller's check).

/// Units in the order the printer tries them (largest first), with their shift.
const UNITS: [(&str, u32); 3] = [("GiB", 30), ("MiB", 20), ("KiB", 10)];

/// Parses a byte size: an integer with an optional unit (see the module docs).
/// Errors quote the input and say what is wrong.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => {
            return Err(format!(
                "'{s}': unknown unit '{unit}' (expected B, KiB, MiB or GiB; K and KB mean KiB)"
            ))
        }
    };
    let num = num.trim();
    // Only digits: `u64::from_str` would also take a leading `+`.
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "'{s}' is not a size (an integer with an optional unit, e.g. 64, 48KiB, 1MiB)"
        ));
    }
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("'{s}' is too large"))
}

/// Parses a comma-separated list of sizes (at least one).
pub fn parse_size_list(s: &str) -> Result<Vec<u64>, String> {
    if s.trim().is_empty() {
        return Err("empty list".into());
    }
    s.split(',').map(parse_size).collect()
}

/// How [`size_text`] prints a size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeStyle {
    /// The largest unit that divides the size exactly (`64KiB`, `3MiB`);
    /// otherwise bytes with a `B` (`100B`). Reads back through [`parse_size`].
    Exact,
    /// As [`SizeStyle::Exact`], but bytes as a bare count (`100`), for
    /// tables whose column header already says the unit.
    ExactBare,
    /// The largest unit not above the size, three decimals and a space
    /// (`1.500 MiB`); below 1 KiB whole bytes (`100 B`). For traffic totals,
    /// which are rarely round.
    Rounded,
}

/// Prints `bytes` in `style` (see [`SizeStyle`]).
pub fn size_text(bytes: u64, style: SizeStyle) -> String {
    if style == SizeStyle::Rounded {
        return size_rounded(bytes as f64);
    }
    // Integer arithmetic, so that sizes above 2^53 bytes stay exact.
    for (unit, shift) in UNITS {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    match style {
        SizeStyle::ExactBare => bytes.to_string(),
        _ => format!("{bytes}B"),
    }
}

/// [`SizeStyle::Rounded`] for a total that need not be whole (closed-form
/// traffic estimates).
pub fn size_rounded(bytes: f64) -> String {
    for (unit, shift) in UNITS {
        let x = bytes / (1u64 << shift) as f64;
        if x >= 1.0 {
            return format!("{x:.3} {unit}");
        }
    }
    format!("{bytes:.0} B")
}

/// `65536` → `64KiB`: [`size_text`] in [`SizeStyle::Exact`].
pub fn size_label(bytes: u64) -> String {
    size_text(bytes, SizeStyle::Exact)
}
