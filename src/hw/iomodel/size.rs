//! Byte sizes as `bitsim io` and the `[studies.io]` table write them
//! (`64KiB`, `1MiB`), parsed and printed.

/// Parses a byte size: an integer with an optional unit `B`, `K`/`KB`/`KiB`
/// (1024), `M`/`MB`/`MiB` (1024²) or `G`/`GB`/`GiB` (1024³), case-insensitive.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let mult: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("'{s}': unknown unit (expected B, KiB, MiB or GiB)")),
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a size (an integer with an optional unit)"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("'{s}' is too large"))
}

/// Parses a comma-separated list of sizes (at least one).
pub fn parse_size_list(s: &str) -> Result<Vec<u64>, String> {
    if s.trim().is_empty() {
        return Err("empty list".into());
    }
    s.split(',').map(parse_size).collect()
}

/// `65536` → `64KiB`, for tables and charts.
pub fn size_label(b: u64) -> String {
    for (unit, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10)] {
        if b >= 1 << shift && b.is_multiple_of(1 << shift) {
            return format!("{}{unit}", b >> shift);
        }
    }
    format!("{b}B")
}
