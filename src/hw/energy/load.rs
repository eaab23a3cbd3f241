//! Reading energy tables: the TOML schema, `base` tables and node scaling,
//! and validation with errors that name the file, line and key.
//!
//! Schema (unknown keys are errors): `name`, `description`, optional `base`
//! (a built-in name or a path relative to this file) and `[node_scale]`
//! (`factor`, `applies_to` = section names, `source`); `[[int_add]]` and
//! `[[int_mul]]` entries (`bits`, `pj`, `source`; an int mul entry is a
//! `bits × bits` multiplier); `[[fp_add]]` and `[[fp_mul]]` entries (`ebits`,
//! `mbits`, `pj`, `source`); `[sram]` and `[dram]` (`bits` per access, `pj`,
//! optional `capacity_bytes` and `range_pj = [lo, hi]`, `source`);
//! optional `[[sram_sizes]]` entries (`capacity_bytes`, `bits`, `pj`,
//! `source`): SRAM arrays of other sizes, for energy by array size. Every
//! `pj` must be positive and finite; SRAM sizes must be distinct, and the
//! energy per byte must not fall as the capacity grows (counting `[sram]`
//! when it gives a capacity). Tables without `[[sram_sizes]]` still load
//! (SRAM energy is then flat in the size).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::{EnergyTable, Mem, Op};
use crate::datafile::{DataFile, Kind};

/// Longest chain of `base` references followed (guards against cycles).
const MAX_BASE_DEPTH: usize = 8;

/// Section names, as they appear in the TOML and in `node_scale.applies_to`.
const SECTIONS: [&str; 6] = ["int_add", "int_mul", "fp_add", "fp_mul", "sram", "dram"];

/// The TOML schema of a table file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: String,
    description: String,
    #[serde(default)]
    base: Option<String>,
    #[serde(default)]
    node_scale: Option<RawNodeScale>,
    #[serde(default)]
    int_add: Vec<RawWidth>,
    #[serde(default)]
    int_mul: Vec<RawWidth>,
    #[serde(default)]
    fp_add: Vec<RawFp>,
    #[serde(default)]
    fp_mul: Vec<RawFp>,
    #[serde(default)]
    sram: Option<RawMem>,
    #[serde(default)]
    sram_sizes: Vec<RawSramSize>,
    #[serde(default)]
    dram: Option<RawMem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSramSize {
    capacity_bytes: Spanned<u64>,
    bits: Spanned<u32>,
    pj: Spanned<f64>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNodeScale {
    factor: Spanned<f64>,
    applies_to: Spanned<Vec<String>>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWidth {
    bits: Spanned<u32>,
    pj: Spanned<f64>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFp {
    ebits: Spanned<u32>,
    mbits: u32,
    pj: Spanned<f64>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMem {
    bits: Spanned<u32>,
    pj: Spanned<f64>,
    #[serde(default)]
    capacity_bytes: Option<u64>,
    #[serde(default)]
    range_pj: Option<Spanned<[f64; 2]>>,
    source: String,
}

/// A table being assembled (sections may still be missing while bases merge).
pub(super) struct Partial {
    origin: String,
    name: String,
    description: String,
    int_add: BTreeMap<u32, Op>,
    int_mul: BTreeMap<u32, Op>,
    fp_add: BTreeMap<(u32, u32), Op>,
    fp_mul: BTreeMap<(u32, u32), Op>,
    sram: Option<Mem>,
    sram_sizes: BTreeMap<u64, Mem>,
    dram: Option<Mem>,
}

impl Partial {
    pub(super) fn finish(self) -> Result<EnergyTable, String> {
        let o = &self.origin;
        for (section, empty) in [
            ("int_add", self.int_add.is_empty()),
            ("int_mul", self.int_mul.is_empty()),
            ("fp_add", self.fp_add.is_empty()),
            ("fp_mul", self.fp_mul.is_empty()),
        ] {
            if empty {
                return Err(format!(
                    "{o}: no `{section}` entries (at least one is needed to scale from)"
                ));
            }
        }
        let sram = self.sram.ok_or_else(|| format!("{o}: missing `[sram]`"))?;
        let dram = self.dram.ok_or_else(|| format!("{o}: missing `[dram]`"))?;
        Ok(EnergyTable {
            name: self.name,
            description: self.description,
            int_add: self.int_add,
            int_mul: self.int_mul,
            fp_add: self.fp_add,
            fp_mul: self.fp_mul,
            sram,
            sram_sizes: self.sram_sizes,
            dram,
        })
    }
}

pub(super) fn load_partial(
    name_or_path: &str,
    relative_to: Option<&Path>,
    depth: usize,
) -> Result<Partial, String> {
    let file = DataFile::open(Kind::Energy, name_or_path, relative_to)?;
    let (origin, dir) = (file.origin.clone(), file.dir.clone());
    let raw: RawFile = file.parse()?;
    let here = |offset: usize| file.at(offset);

    // Start from the base (scaled), or from nothing.
    let mut table = match &raw.base {
        Some(base) => {
            if depth >= MAX_BASE_DEPTH {
                return Err(format!(
                    "{origin}: `base` chain longer than {MAX_BASE_DEPTH} (a cycle?)"
                ));
            }
            let b = load_partial(base, dir.as_deref(), depth + 1)
                .map_err(|e| format!("{origin}: in base '{base}': {e}"))?;
            let mut b = match &raw.node_scale {
                Some(ns) => scale_partial(b, ns, &here)?,
                None => b,
            };
            b.origin = origin.clone();
            b
        }
        None => {
            if raw.node_scale.is_some() {
                return Err(format!(
                    "{origin}: `node_scale` needs a `base` table to scale"
                ));
            }
            Partial {
                origin: origin.clone(),
                name: String::new(),
                description: String::new(),
                int_add: BTreeMap::new(),
                int_mul: BTreeMap::new(),
                fp_add: BTreeMap::new(),
                fp_mul: BTreeMap::new(),
                sram: None,
                sram_sizes: BTreeMap::new(),
                dram: None,
            }
        }
    };
    table.name = raw.name.clone();
    table.description = raw.description.clone();

    // This file's own entries: validated, no duplicates within the file, replacing base entries.
    for (section, entries, map) in [
        ("int_add", &raw.int_add, &mut table.int_add),
        ("int_mul", &raw.int_mul, &mut table.int_mul),
    ] {
        let mut seen = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let bits = *e.bits.get_ref();
            let key = format!("{section}[{i}] (bits = {bits})");
            if bits == 0 {
                return Err(format!(
                    "{}: {key}: `bits` must be at least 1",
                    here(e.bits.span().start)
                ));
            }
            if seen.contains(&bits) {
                return Err(format!(
                    "{}: {key}: bits = {bits} is listed twice",
                    here(e.bits.span().start)
                ));
            }
            seen.push(bits);
            let pj = check_pj(&e.pj, &key, &here)?;
            check_source(&e.source, &key, &origin)?;
            map.insert(
                bits,
                Op {
                    pj,
                    source: e.source.clone(),
                    node: None,
                },
            );
        }
    }
    for (section, entries, map) in [
        ("fp_add", &raw.fp_add, &mut table.fp_add),
        ("fp_mul", &raw.fp_mul, &mut table.fp_mul),
    ] {
        let mut seen = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let k = (*e.ebits.get_ref(), e.mbits);
            let key = format!("{section}[{i}] (e{}m{})", k.0, k.1);
            if seen.contains(&k) {
                return Err(format!(
                    "{}: {key}: e{}m{} is listed twice",
                    here(e.ebits.span().start),
                    k.0,
                    k.1
                ));
            }
            seen.push(k);
            let pj = check_pj(&e.pj, &key, &here)?;
            check_source(&e.source, &key, &origin)?;
            map.insert(
                k,
                Op {
                    pj,
                    source: e.source.clone(),
                    node: None,
                },
            );
        }
    }
    for (section, mem, slot) in [
        ("sram", &raw.sram, &mut table.sram),
        ("dram", &raw.dram, &mut table.dram),
    ] {
        let Some(m) = mem else { continue };
        let bits = *m.bits.get_ref();
        if bits == 0 || bits % 8 != 0 {
            return Err(format!(
                "{}: {section}.bits = {bits}: must be a positive multiple of 8",
                here(m.bits.span().start)
            ));
        }
        let pj = check_pj(&m.pj, section, &here)?;
        check_source(&m.source, section, &origin)?;
        if m.capacity_bytes == Some(0) {
            return Err(format!(
                "{}: {section}.capacity_bytes = 0: must be at least 1",
                here(m.bits.span().start)
            ));
        }
        let range_pj = match &m.range_pj {
            Some(r) => {
                let [lo, hi] = *r.get_ref();
                if !(lo.is_finite() && hi.is_finite() && 0.0 < lo && lo <= pj && pj <= hi) {
                    return Err(format!(
                        "{}: {section}.range_pj = [{lo}, {hi}]: must be positive, ordered and contain pj = {pj}",
                        here(r.span().start)
                    ));
                }
                Some((lo, hi))
            }
            None => None,
        };
        *slot = Some(Mem {
            bits,
            pj,
            capacity_bytes: m.capacity_bytes,
            range_pj,
            source: m.source.clone(),
            node: None,
        });
    }
    load_sram_sizes(&raw, &mut table, &here, &origin)?;
    Ok(table)
}

/// This file's `[[sram_sizes]]`: validated, replacing base entries of the
/// same capacity; then the merged sizes must not get cheaper per byte as
/// they grow.
fn load_sram_sizes(
    raw: &RawFile,
    table: &mut Partial,
    here: &dyn Fn(usize) -> String,
    origin: &str,
) -> Result<(), String> {
    let own_sram = raw.sram.as_ref().and_then(|m| m.capacity_bytes);
    let mut spans = BTreeMap::new();
    for (i, e) in raw.sram_sizes.iter().enumerate() {
        let cap = *e.capacity_bytes.get_ref();
        let key = format!("sram_sizes[{i}] (capacity_bytes = {cap})");
        let at_cap = here(e.capacity_bytes.span().start);
        if cap == 0 {
            return Err(format!("{at_cap}: {key}: must be at least 1 byte"));
        }
        if spans.contains_key(&cap) {
            return Err(format!("{at_cap}: {key}: capacity {cap} is listed twice"));
        }
        if own_sram == Some(cap) {
            return Err(format!(
                "{at_cap}: {key}: capacity {cap} is already given by `[sram]`"
            ));
        }
        let bits = *e.bits.get_ref();
        if bits == 0 || bits % 8 != 0 {
            return Err(format!(
                "{}: {key}: bits = {bits}: must be a positive multiple of 8",
                here(e.bits.span().start)
            ));
        }
        let pj = check_pj(&e.pj, &key, here)?;
        check_source(&e.source, &key, origin)?;
        spans.insert(cap, e.pj.span().start);
        table.sram_sizes.insert(
            cap,
            Mem {
                bits,
                pj,
                capacity_bytes: Some(cap),
                range_pj: None,
                source: e.source.clone(),
                node: None,
            },
        );
    }
    // Monotonic in capacity, so that interpolation is too.
    let mut pts: Vec<(u64, f64)> = table
        .sram_sizes
        .iter()
        .map(|(&c, m)| (c, m.pj_per_byte()))
        .collect();
    if let Some(m) = &table.sram {
        if let Some(c) = m.capacity_bytes {
            if !table.sram_sizes.contains_key(&c) {
                pts.push((c, m.pj_per_byte()));
            }
        }
    }
    pts.sort_by_key(|p| p.0);
    for w in pts.windows(2) {
        let ((c0, v0), (c1, v1)) = (w[0], w[1]);
        if v1 < v0 {
            let place = match spans.get(&c1).or(spans.get(&c0)) {
                Some(&off) => here(off),
                None => origin.to_string(),
            };
            return Err(format!(
                "{place}: sram_sizes: energy per byte must not fall as the array grows: {c0} B costs {v0} pJ/byte, {c1} B {v1} pJ/byte"
            ));
        }
    }
    Ok(())
}

/// Applies `[node_scale]` to a base table.
fn scale_partial(
    mut b: Partial,
    ns: &RawNodeScale,
    here: &dyn Fn(usize) -> String,
) -> Result<Partial, String> {
    let factor = check_positive(&ns.factor, "node_scale.factor", "scale factor", here)?;
    if ns.source.trim().is_empty() {
        return Err(format!(
            "{}: node_scale: empty `source`",
            here(ns.factor.span().start)
        ));
    }
    let applies = ns.applies_to.get_ref();
    for s in applies {
        if !SECTIONS.contains(&s.as_str()) {
            return Err(format!(
                "{}: node_scale.applies_to: unknown section '{s}' (expected one of {})",
                here(ns.applies_to.span().start),
                SECTIONS.join(", ")
            ));
        }
    }
    let short = format!("{} × {factor}", b.name);
    let has = |s: &str| applies.iter().any(|a| a == s);
    let scale_op = |op: &mut Op| {
        op.pj *= factor;
        op.source = format!("{}; × {factor}: {}", op.source, ns.source);
        op.node = Some(short.clone());
    };
    if has("int_add") {
        b.int_add.values_mut().for_each(scale_op);
    }
    if has("int_mul") {
        b.int_mul.values_mut().for_each(scale_op);
    }
    if has("fp_add") {
        b.fp_add.values_mut().for_each(scale_op);
    }
    if has("fp_mul") {
        b.fp_mul.values_mut().for_each(scale_op);
    }
    let sized = b.sram_sizes.values_mut().map(|m| ("sram", m));
    let single = [("sram", b.sram.as_mut()), ("dram", b.dram.as_mut())]
        .into_iter()
        .filter_map(|(s, m)| m.map(|m| (s, m)));
    let unscaled = format!("{} figure, not node-scaled", b.name);
    for (s, m) in single.chain(sized) {
        if has(s) {
            m.pj *= factor;
            m.range_pj = m.range_pj.map(|(lo, hi)| (lo * factor, hi * factor));
            m.source = format!("{}; × {factor}: {}", m.source, ns.source);
            m.node = Some(short.clone());
        } else {
            m.source = format!("{}; not node-scaled", m.source);
            m.node = Some(unscaled.clone());
        }
    }
    Ok(b)
}

fn check_pj(v: &Spanned<f64>, key: &str, here: &dyn Fn(usize) -> String) -> Result<f64, String> {
    check_positive(v, &format!("{key}.pj"), "energy (pJ)", here)
}

/// Energies and factors must be positive and finite: the scaling rules divide by them.
fn check_positive(
    v: &Spanned<f64>,
    key: &str,
    what: &str,
    here: &dyn Fn(usize) -> String,
) -> Result<f64, String> {
    let x = *v.get_ref();
    if x.is_finite() && x > 0.0 {
        Ok(x)
    } else {
        Err(format!(
            "{}: {key} = {x}: must be a positive finite {what}",
            here(v.span().start)
        ))
    }
}

fn check_source(s: &str, key: &str, origin: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        Err(format!(
            "{origin}: {key}: empty `source` (every number must cite where it comes from)"
        ))
    } else {
        Ok(())
    }
}
