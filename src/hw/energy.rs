//! Energy tables (TOML in `sims/`, every number with its source) and
//! energy = counts × table, with width and node scaling.
//!
//! A table lists energies for a few integer widths and floating-point
//! formats, one SRAM access and one DRAM access. Other widths and formats are
//! derived by rule from the nearest listed entry (Horowitz, ISSCC 2014;
//! Accelergy's Aladdin tables; node factors from Stillmaker & Baas 2017), and every derived number is reported in
//! [`EnergyBreakdown::scaled`]:
//!
//! - **int add** of `w` bits: ∝ `w`, from the listed width nearest to `w`
//!   (ties go to the wider entry).
//! - **int mul** `a × b`: ∝ `a·b`, from the listed square multiplier `w × w`
//!   whose `w²` is nearest to `a·b` on a log scale (ties: wider).
//! - **fp mul** `eXmY`: a model cost `R = int mul (m+1)×(m+1) + int add e`
//!   (mantissa product with the hidden bit, exponent add), both priced by the
//!   two rules above from this same table; then `E = E_ref · R / R_ref` for
//!   the listed fp multiplier whose `R_ref` is nearest on a log scale. The
//!   ratio calibrates the model to each listed point, so fp16 and fp32
//!   reproduce the table exactly.
//! - **fp add** `eXmY`: likewise with `R = int add e + int add (m+1) ·
//!   (1 + log2(m+1))`: exponent compare, mantissa add, and the alignment and
//!   normalization shifters (log2(m+1) stages of (m+1)-bit muxes, priced as
//!   adders). With Horowitz's numbers this model predicts fp32/fp16 = 2.21
//!   against the table's 2.25.
//! - f64 and anything wider than the widest listed entry are extrapolated by
//!   the same rules.
//! - **SRAM, DRAM** per byte: the listed access energy divided by its bytes.
//! - **SRAM by array size** ([`EnergyTable::sram_pj_per_byte_sized`]): the
//!   `[sram]` entry (when it gives `capacity_bytes`) and the `[[sram_sizes]]`
//!   entries are points (capacity, pJ per byte); between two points the
//!   energy is interpolated linearly in log(capacity)–log(energy), i.e. as a
//!   power law through both; beyond the smallest or largest point it is
//!   extrapolated with the slope of the nearest segment. A table with one
//!   point (or none) is flat: every size costs the `[sram]` figure. The
//!   size-independent [`EnergyTable::sram_pj_per_byte`] (used for matmul
//!   costs) stays the `[sram]` figure.
//!
//! A table may derive from another (`base = "energy-45nm"`) and scale chosen
//! sections by a process-node factor (`[node_scale]`); entries it lists itself
//! replace the base's entries of the same width or format and are not scaled.

mod load;

use std::collections::BTreeMap;

use super::cost::{Cost, OpKind};
use crate::datafile::{self, Kind};

/// Names of the built-in tables (every `sims/energy-*.toml`).
pub fn builtin_names() -> Vec<&'static str> {
    datafile::builtin_names(Kind::Energy)
}

/// Energy of one matmul split by where it is spent, pJ.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EnergyBreakdown {
    /// Arithmetic.
    pub compute_pj: f64,
    /// On-chip SRAM traffic.
    pub sram_pj: f64,
    /// DRAM traffic.
    pub dram_pj: f64,
    /// Human-readable notes on every number that was scaled rather than read from the table.
    pub scaled: Vec<String>,
}

impl EnergyBreakdown {
    /// compute + SRAM + DRAM.
    pub fn total_pj(&self) -> f64 {
        self.compute_pj + self.sram_pj + self.dram_pj
    }
}

/// One listed number of a loaded table, for listing in reports.
#[derive(Debug, Clone, PartialEq)]
pub struct TableEntry {
    /// What it prices, e.g. `int add 8`, `fp mul e5m10`, `sram 64-bit access`.
    pub label: String,
    /// Energy, pJ (after node scaling for a derived table).
    pub pj: f64,
    /// Where the number comes from (with the node scale appended when scaled).
    pub source: String,
}

/// A listed entry after loading.
#[derive(Debug, Clone, PartialEq)]
struct Op {
    pj: f64,
    source: String,
    /// `Some("energy-45nm × 0.094")` when the entry was node-scaled from a base.
    node: Option<String>,
}

/// A listed memory access.
#[derive(Debug, Clone, PartialEq)]
struct Mem {
    bits: u32,
    pj: f64,
    capacity_bytes: Option<u64>,
    range_pj: Option<(f64, f64)>,
    source: String,
    node: Option<String>,
}

impl Mem {
    fn pj_per_byte(&self) -> f64 {
        self.pj / (f64::from(self.bits) / 8.0)
    }
}

/// A loaded energy table.
#[derive(Debug, Clone, PartialEq)]
pub struct EnergyTable {
    /// Table name (e.g. `energy-45nm`).
    pub name: String,
    description: String,
    int_add: BTreeMap<u32, Op>,
    int_mul: BTreeMap<u32, Op>,
    fp_add: BTreeMap<(u32, u32), Op>,
    fp_mul: BTreeMap<(u32, u32), Op>,
    sram: Mem,
    /// `[[sram_sizes]]` entries by capacity in bytes (each has `capacity_bytes`).
    sram_sizes: BTreeMap<u64, Mem>,
    dram: Mem,
}

impl EnergyTable {
    /// Loads a built-in table by name (`energy-45nm`, `energy-7nm`) or a TOML file by path.
    ///
    /// Errors are one line, `FILE line N: KEY: reason` (no line when the
    /// problem is the file as a whole).
    pub fn load(name_or_path: &str) -> Result<Self, String> {
        load::load_partial(name_or_path, None, 0)?.finish()
    }

    /// A short description of the table (its main source).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Every listed number with its label and source, in table order
    /// (int add, int mul, fp add, fp mul, SRAM, DRAM).
    pub fn entries(&self) -> Vec<TableEntry> {
        let mut out = Vec::new();
        let mut push = |label: String, pj: f64, source: &str| {
            out.push(TableEntry {
                label,
                pj,
                source: source.to_string(),
            });
        };
        for (&bits, op) in &self.int_add {
            push(OpKind::IntAdd { bits }.to_string(), op.pj, &op.source);
        }
        for (&w, op) in &self.int_mul {
            push(OpKind::IntMul { a: w, b: w }.to_string(), op.pj, &op.source);
        }
        for (&(ebits, mbits), op) in &self.fp_add {
            push(
                OpKind::FpAdd { ebits, mbits }.to_string(),
                op.pj,
                &op.source,
            );
        }
        for (&(ebits, mbits), op) in &self.fp_mul {
            push(
                OpKind::FpMul { ebits, mbits }.to_string(),
                op.pj,
                &op.source,
            );
        }
        for (what, m) in [("sram", &self.sram), ("dram", &self.dram)] {
            push(format!("{what} {}-bit access", m.bits), m.pj, &m.source);
        }
        out
    }

    /// The distinct sources of the table's numbers, in table order.
    pub fn sources(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for e in self.entries() {
            if !out.contains(&e.source) {
                out.push(e.source);
            }
        }
        out
    }

    /// Energy of one operation of `kind`, pJ, with a note when the number was
    /// derived (width/format rule or node scale) rather than listed as is.
    pub fn pj(&self, kind: OpKind) -> (f64, Option<String>) {
        match kind {
            OpKind::IntAdd { bits } => self.int_add_pj(bits),
            OpKind::IntMul { a, b } => self.int_mul_pj(a, b),
            OpKind::FpMul { ebits, mbits } => self.fp_pj(kind, &self.fp_mul, ebits, mbits),
            OpKind::FpAdd { ebits, mbits } => self.fp_pj(kind, &self.fp_add, ebits, mbits),
        }
    }

    /// SRAM energy per byte, pJ, with the note explaining its derivation.
    pub fn sram_pj_per_byte(&self) -> (f64, String) {
        let m = &self.sram;
        let size = m
            .capacity_bytes
            .map(|c| format!(" ({c}-byte array)"))
            .unwrap_or_default();
        let node = m
            .node
            .as_ref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        let v = m.pj_per_byte();
        let note = format!(
            "sram: {} pJ per {}-bit access{size}{node} -> {} pJ/byte; writes costed as reads",
            fmt_pj(m.pj),
            m.bits,
            fmt_pj(v)
        );
        (v, note)
    }

    /// Energy per byte of an SRAM array of `capacity_bytes` bytes, and a note
    /// on how it was derived: the listed figure at a listed size, else
    /// log-log interpolation between the two neighbouring sizes, or
    /// extrapolation with the end segment's slope beyond them (see the module
    /// docs). With fewer than two sized points the energy is flat (the
    /// `[sram]` figure). A capacity of 0 is treated as 1 byte.
    pub fn sram_pj_per_byte_sized(&self, capacity_bytes: u64) -> (f64, String) {
        let c = capacity_bytes.max(1);
        let pts = self.sram_points();
        if let Some((_, m)) = pts.iter().find(|(pc, _)| *pc == c) {
            let v = m.pj_per_byte();
            let note = format!(
                "sram {c} B: listed, {} pJ per {}-bit access{} -> {} pJ/byte",
                fmt_pj(m.pj),
                m.bits,
                node_suffix(m),
                fmt_pj(v)
            );
            return (v, note);
        }
        if pts.len() < 2 {
            let (v, flat) = self.sram_pj_per_byte();
            return (
                v,
                format!("sram {c} B: no SRAM sizes listed to scale by, flat: {flat}"),
            );
        }
        // The segment containing c, or the end segment nearest to it.
        let i = pts
            .windows(2)
            .position(|w| c < w[1].0)
            .unwrap_or(pts.len() - 2);
        let ((c0, m0), (c1, m1)) = (pts[i], pts[i + 1]);
        let (v0, v1) = (m0.pj_per_byte(), m1.pj_per_byte());
        let slope = (v1 / v0).ln() / (c1 as f64 / c0 as f64).ln();
        let v = v0 * (c as f64 / c0 as f64).powf(slope);
        let how = if c < c0 || c > c1 {
            "extrapolated log-log with the slope of"
        } else {
            "interpolated log-log between"
        };
        let note = format!(
            "sram {c} B: {how} {c0} B ({} pJ/byte) and {c1} B ({} pJ/byte), energy ∝ capacity^{:.3}{} -> {} pJ/byte",
            fmt_pj(v0),
            fmt_pj(v1),
            slope,
            node_suffix(m0),
            fmt_pj(v)
        );
        (v, note)
    }

    /// The SRAM sizes the table lists (the `[sram]` entry when it gives a
    /// capacity, and every `[[sram_sizes]]` entry), smallest first, each with
    /// its label and source.
    pub fn sram_size_entries(&self) -> Vec<(u64, TableEntry)> {
        self.sram_points()
            .into_iter()
            .map(|(c, m)| {
                (
                    c,
                    TableEntry {
                        label: format!("sram {}-bit access, {c}-byte array", m.bits),
                        pj: m.pj,
                        source: m.source.clone(),
                    },
                )
            })
            .collect()
    }

    /// Sized SRAM points by capacity: `[[sram_sizes]]` entries, plus `[sram]`
    /// when it gives a capacity not listed there.
    fn sram_points(&self) -> Vec<(u64, &Mem)> {
        let mut pts: Vec<(u64, &Mem)> = self.sram_sizes.iter().map(|(&c, m)| (c, m)).collect();
        if let Some(c) = self.sram.capacity_bytes {
            if !self.sram_sizes.contains_key(&c) {
                pts.push((c.max(1), &self.sram));
            }
        }
        pts.sort_by_key(|p| p.0);
        pts
    }

    /// DRAM energy per byte, pJ, with the note explaining its derivation.
    pub fn dram_pj_per_byte(&self) -> (f64, String) {
        let m = &self.dram;
        let range = m
            .range_pj
            .map(|(lo, hi)| format!(" (published range {}-{} pJ)", fmt_pj(lo), fmt_pj(hi)))
            .unwrap_or_default();
        let node = match &m.node {
            Some(n) => format!(" ({n})"),
            None => String::new(),
        };
        let v = m.pj_per_byte();
        let note = format!(
            "dram: {} pJ per {}-bit access{range}{node} -> {} pJ/byte",
            fmt_pj(m.pj),
            m.bits,
            fmt_pj(v)
        );
        (v, note)
    }

    /// The published range of the DRAM access energy, pJ, if the table gives one.
    pub fn dram_range_pj(&self) -> Option<(f64, f64)> {
        self.dram.range_pj
    }

    /// Energy of a cost.
    ///
    /// compute = Σ count × [`EnergyTable::pj`]; SRAM and DRAM = bytes × energy
    /// per byte. Notes come in order of first use, without duplicates; memory
    /// notes only when that memory has traffic.
    pub fn energy(&self, cost: &Cost) -> EnergyBreakdown {
        let mut out = EnergyBreakdown::default();
        let mut note = |n: String| {
            if !out.scaled.contains(&n) {
                out.scaled.push(n);
            }
        };
        let mut compute = 0.0;
        for &(kind, count) in &cost.ops {
            let (pj, n) = self.pj(kind);
            compute += pj * count;
            if let Some(n) = n {
                note(n);
            }
        }
        let (sram, sram_note) = self.sram_pj_per_byte();
        let (dram, dram_note) = self.dram_pj_per_byte();
        if cost.sram_bytes != 0.0 {
            note(sram_note);
        }
        if cost.dram_bytes != 0.0 {
            note(dram_note);
        }
        out.compute_pj = compute;
        out.sram_pj = sram * cost.sram_bytes;
        out.dram_pj = dram * cost.dram_bytes;
        out
    }

    // ---- width rules -------------------------------------------------------

    /// Int add energy without a note: (pJ, listed width it came from).
    fn int_add_raw(&self, bits: u32) -> (f64, u32) {
        if let Some(op) = self.int_add.get(&bits) {
            return (op.pj, bits);
        }
        // Nearest listed width; on a tie the wider one.
        let (&w, op) = self
            .int_add
            .iter()
            .min_by_key(|(&w, _)| (w.abs_diff(bits), std::cmp::Reverse(w)))
            .expect("validated: int_add is not empty");
        (op.pj * f64::from(bits) / f64::from(w), w)
    }

    /// Int mul energy without a note: (pJ, listed square width it came from).
    fn int_mul_raw(&self, a: u32, b: u32) -> (f64, u32) {
        if a == b {
            if let Some(op) = self.int_mul.get(&a) {
                return (op.pj, a);
            }
        }
        let prod = f64::from(a) * f64::from(b);
        let (&w, op) = nearest_log(self.int_mul.iter(), prod, |&w| f64::from(w) * f64::from(w))
            .expect("validated: int_mul is not empty");
        (op.pj * prod / (f64::from(w) * f64::from(w)), w)
    }

    fn int_add_pj(&self, bits: u32) -> (f64, Option<String>) {
        let (pj, w) = self.int_add_raw(bits);
        let reference = &self.int_add[&w];
        let kind = OpKind::IntAdd { bits };
        if w == bits {
            return (pj, node_note(kind, reference));
        }
        let from = describe_ref(OpKind::IntAdd { bits: w }, reference);
        (
            pj,
            Some(format!(
                "{kind}: scaled from {from} by width rule (energy ∝ width): {} pJ",
                fmt_pj(pj)
            )),
        )
    }

    fn int_mul_pj(&self, a: u32, b: u32) -> (f64, Option<String>) {
        let (pj, w) = self.int_mul_raw(a, b);
        let reference = &self.int_mul[&w];
        let kind = OpKind::IntMul { a, b };
        if a == w && b == w {
            return (pj, node_note(kind, reference));
        }
        let from = describe_ref(OpKind::IntMul { a: w, b: w }, reference);
        let note = format!(
            "{kind}: scaled from {from} by width-product rule (energy ∝ width_a × width_b): {} pJ",
            fmt_pj(pj)
        );
        (pj, Some(note))
    }

    /// Model cost `R` of a float unit of the same kind as `kind` (see the module docs).
    fn fp_model(&self, kind: OpKind, ebits: u32, mbits: u32) -> f64 {
        let sig = mbits.saturating_add(1);
        match kind {
            OpKind::FpMul { .. } => self.int_mul_raw(sig, sig).0 + self.int_add_raw(ebits).0,
            _ => {
                self.int_add_raw(ebits).0 + self.int_add_raw(sig).0 * (1.0 + f64::from(sig).log2())
            }
        }
    }

    fn fp_pj(
        &self,
        kind: OpKind,
        listed: &BTreeMap<(u32, u32), Op>,
        ebits: u32,
        mbits: u32,
    ) -> (f64, Option<String>) {
        if let Some(op) = listed.get(&(ebits, mbits)) {
            return (op.pj, node_note(kind, op));
        }
        let r = self.fp_model(kind, ebits, mbits);
        let same_kind = |(e, m): (u32, u32)| match kind {
            OpKind::FpMul { .. } => OpKind::FpMul { ebits: e, mbits: m },
            _ => OpKind::FpAdd { ebits: e, mbits: m },
        };
        let (&(re, rm), op) = nearest_log(listed.iter(), r, |&(e, m)| self.fp_model(kind, e, m))
            .expect("validated: fp sections are not empty");
        let r_ref = self.fp_model(kind, re, rm);
        let pj = op.pj * r / r_ref;
        let rule = match kind {
            OpKind::FpMul { .. } => "mantissa-product rule (int mul (m+1)x(m+1) + int add e)",
            _ => "mantissa-add rule (int add e + int add (m+1) x (1 + log2(m+1)))",
        };
        let from = describe_ref(same_kind((re, rm)), op);
        (
            pj,
            Some(format!(
                "{kind}: scaled from {from} by {rule}: {} pJ",
                fmt_pj(pj)
            )),
        )
    }
}

/// The listed entry whose `key_value` is nearest to `target` on a log scale;
/// ties go to the larger `key_value`.
fn nearest_log<'a, K: 'a, V: 'a>(
    items: impl Iterator<Item = (&'a K, &'a V)>,
    target: f64,
    key_value: impl Fn(&K) -> f64,
) -> Option<(&'a K, &'a V)> {
    let t = target.max(f64::MIN_POSITIVE).ln();
    let mut best: Option<(f64, f64, (&K, &V))> = None;
    for (k, v) in items {
        let kv = key_value(k);
        let d = (kv.ln() - t).abs();
        let better = match best {
            None => true,
            Some((bd, bkv, _)) => d < bd || (d == bd && kv > bkv),
        };
        if better {
            best = Some((d, kv, (k, v)));
        }
    }
    best.map(|(_, _, kv)| kv)
}

/// " (energy-45nm × 0.094)" for a node-scaled memory entry, else nothing.
fn node_suffix(m: &Mem) -> String {
    m.node
        .as_ref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default()
}

/// A note for a listed entry that was node-scaled from a base table.
fn node_note(kind: OpKind, op: &Op) -> Option<String> {
    op.node
        .as_ref()
        .map(|n| format!("{kind}: {n}: {} pJ", fmt_pj(op.pj)))
}

/// "int add 8 (0.03 pJ)" or "int add 8 (0.00282 pJ, energy-45nm × 0.094)".
fn describe_ref(kind: OpKind, op: &Op) -> String {
    match &op.node {
        Some(n) => format!("{kind} ({} pJ, {n})", fmt_pj(op.pj)),
        None => format!("{kind} ({} pJ)", fmt_pj(op.pj)),
    }
}

/// Four significant digits, no float noise: 0.003, 0.1781, 1300, 17.82.
fn fmt_pj(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = (3 - v.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}
