//! Accelerator scenario files (`sims/bitmod.toml`, `sims/stripes.toml`).
//!
//! A file starts with `kind = "bitmod"` or `kind = "stripes"`, `name` and
//! `description`. Unknown keys, missing keys, wrong types and invalid values
//! are errors naming the file, line and key.
//!
//! `bitmod` files: `[memory]` (`dram_bus_bits`, `dram_transfers_per_cycle`,
//! `dram_pj_per_64_bits`, `w_sram_bytes`, `i_sram_bytes`,
//! `place_route_scaling`, `source`); `baseline` (a design name, for
//! speedups); `[[designs]]` (`name`, `description`, `bit_serial`, `dp`,
//! `bits_per_cycle`, `w_bits`, optional `w_bits_decode`, `a_bits`,
//! `prefill_array = [R, C]`, `decode_array`, `pe_pj`, `source`);
//! `[[models]]` (`name`, `description`, `prefill_tokens`, `decode_tokens`,
//! `[[models.layers]]` with `name`, `k`, `n`, optional `repeat`).
//!
//! `stripes` files: `parallel_macs_per_cycle`, `source`; `[[models]]`
//! (`name`, `description`, `[[models.layers]]` with `name`, `kind` = `conv`
//! or `fc`, `c_in`, `c_out`, `out = [H, W]` and `kernel = [kh, kw]`
//! (required for `conv`; `[1, 1]` each by default for `fc`), `p_a`, `p_w`); a layer's MACs are
//! `H·W·kh·kw·c_in·c_out`.
//!
//! A layer whose MACs or cycles (for any design and phase, its `repeat`
//! and the model's totals included) do not fit in `u64` is an error at the
//! layer's line.

use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::datafile::{self, DataFile, Kind};

use super::bitmod::{simulate, Design, Layer, Memory, Model, Phase};
use super::stripes::{NetKind, NetLayer, Network};

/// Names of the built-in scenarios (the `sims/*.toml` files that are not
/// energy tables, hierarchies or machines).
pub fn builtin_names() -> Vec<&'static str> {
    datafile::builtin_names(Kind::Accelerator)
}

/// A parsed scenario file.
#[derive(Debug, Clone, PartialEq)]
pub enum SimFile {
    /// A BitMoD-style array model.
    Bitmod(BitmodFile),
    /// Stripes / Loom closed forms.
    Stripes(StripesFile),
}

/// A `kind = "bitmod"` file.
#[derive(Debug, Clone, PartialEq)]
pub struct BitmodFile {
    /// Scenario name.
    pub name: String,
    /// Description.
    pub description: String,
    /// The memory system.
    pub memory: Memory,
    /// The design speedups are measured against.
    pub baseline: String,
    /// Designs.
    pub designs: Vec<Design>,
    /// Models.
    pub models: Vec<Model>,
}

/// A `kind = "stripes"` file.
#[derive(Debug, Clone, PartialEq)]
pub struct StripesFile {
    /// Scenario name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Baseline MACs per cycle.
    pub parallel_macs_per_cycle: u64,
    /// Where the baseline comes from.
    pub source: String,
    /// Networks.
    pub models: Vec<Network>,
}

#[derive(Deserialize)]
struct KindOnly {
    kind: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBitmod {
    #[allow(dead_code)]
    kind: String,
    name: String,
    description: String,
    memory: RawMemory,
    baseline: Spanned<String>,
    designs: Spanned<Vec<RawDesign>>,
    models: Spanned<Vec<RawModel>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMemory {
    dram_bus_bits: Spanned<u64>,
    dram_transfers_per_cycle: Spanned<u64>,
    dram_pj_per_64_bits: Spanned<f64>,
    w_sram_bytes: Spanned<u64>,
    i_sram_bytes: Spanned<u64>,
    place_route_scaling: Spanned<f64>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDesign {
    name: Spanned<String>,
    description: String,
    bit_serial: bool,
    dp: Spanned<u64>,
    bits_per_cycle: Spanned<u64>,
    w_bits: Spanned<f64>,
    #[serde(default)]
    w_bits_decode: Option<Spanned<f64>>,
    a_bits: Spanned<f64>,
    prefill_array: Spanned<[u64; 2]>,
    decode_array: Spanned<[u64; 2]>,
    pe_pj: Spanned<f64>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    name: Spanned<String>,
    description: String,
    prefill_tokens: Spanned<u64>,
    decode_tokens: Spanned<u64>,
    layers: Spanned<Vec<RawLayer>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayer {
    name: String,
    k: Spanned<u64>,
    n: Spanned<u64>,
    #[serde(default)]
    repeat: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStripes {
    #[allow(dead_code)]
    kind: String,
    name: String,
    description: String,
    parallel_macs_per_cycle: Spanned<u64>,
    source: String,
    models: Spanned<Vec<RawNet>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNet {
    name: Spanned<String>,
    description: String,
    layers: Spanned<Vec<RawNetLayer>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetLayer {
    name: String,
    kind: Spanned<String>,
    c_in: Spanned<u64>,
    c_out: Spanned<u64>,
    #[serde(default)]
    out: Option<Spanned<[u64; 2]>>,
    #[serde(default)]
    kernel: Option<Spanned<[u64; 2]>>,
    p_a: Spanned<u32>,
    p_w: Spanned<u32>,
}

/// One file's text, with the value checks its loaders share.
struct Ctx<'a> {
    file: DataFile<'a>,
}

impl Ctx<'_> {
    /// `FILE line N: KEY: msg` for a span.
    fn err(&self, span: Range<usize>, key: &str, msg: impl std::fmt::Display) -> String {
        self.file.err(span, key, msg.to_string()).to_string()
    }

    fn pos_u(&self, v: &Spanned<u64>, key: &str) -> Result<u64, String> {
        match *v.get_ref() {
            0 => Err(self.err(v.span(), key, "must be positive")),
            x => Ok(x),
        }
    }

    fn pos_f(&self, v: &Spanned<f64>, key: &str) -> Result<f64, String> {
        let x = *v.get_ref();
        if x.is_finite() && x > 0.0 {
            Ok(x)
        } else {
            Err(self.err(
                v.span(),
                key,
                format!("must be positive and finite, got {x}"),
            ))
        }
    }

    fn dims(&self, v: &Spanned<[u64; 2]>, key: &str) -> Result<[u64; 2], String> {
        let d = *v.get_ref();
        if d.contains(&0) {
            return Err(self.err(v.span(), key, "both dimensions must be positive"));
        }
        Ok(d)
    }

    fn toml<T: for<'de> Deserialize<'de>>(&self) -> Result<T, String> {
        Ok(self.file.parse()?)
    }
}

/// Reads and parses a scenario file.
pub fn load(path: &Path) -> Result<SimFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    load_str(&path.display().to_string(), &text)
}

/// Parses a built-in scenario by name (`bitmod`, `stripes`: see [`builtin_names`]).
pub fn load_builtin(name: &str) -> Result<SimFile, String> {
    let file = DataFile::open(Kind::Accelerator, name, None)?;
    load_str(&file.origin, &file.text)
}

/// Parses scenario text; `origin` names it in errors.
pub fn load_str(origin: &str, text: &str) -> Result<SimFile, String> {
    let cx = Ctx {
        file: DataFile::from_text(origin, text),
    };
    let head: KindOnly = cx.toml()?;
    let Some(kind) = head.kind else {
        return Err(format!(
            "{origin}: kind: missing (\"bitmod\" or \"stripes\")"
        ));
    };
    match kind.get_ref().as_str() {
        "bitmod" => bitmod_file(&cx).map(SimFile::Bitmod),
        "stripes" => stripes_file(&cx).map(SimFile::Stripes),
        other => Err(cx.err(
            kind.span(),
            "kind",
            format!("unknown kind '{other}' (expected \"bitmod\" or \"stripes\")"),
        )),
    }
}

fn unique<'a>(
    cx: &Ctx,
    key: &str,
    names: impl Iterator<Item = &'a Spanned<String>>,
) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for n in names {
        if n.get_ref().is_empty() {
            return Err(cx.err(n.span(), key, "must not be empty"));
        }
        if !seen.insert(n.get_ref().clone()) {
            return Err(cx.err(n.span(), key, format!("'{}' is listed twice", n.get_ref())));
        }
    }
    Ok(())
}

/// The model-list checks BitMoD and Stripes files share: at least one
/// model, names non-empty and distinct, and at least one layer in each.
/// `parts` gives a model's name, the span of its layers and whether they are empty.
fn check_models<M>(
    cx: &Ctx,
    models: &Spanned<Vec<M>>,
    parts: impl Fn(&M) -> (&Spanned<String>, Range<usize>, bool),
) -> Result<(), String> {
    if models.get_ref().is_empty() {
        return Err(cx.err(models.span(), "models", "at least one is needed"));
    }
    unique(
        cx,
        "models.name",
        models.get_ref().iter().map(|m| parts(m).0),
    )?;
    for m in models.get_ref() {
        if let (_, span, true) = parts(m) {
            return Err(cx.err(span, "models.layers", "at least one is needed"));
        }
    }
    Ok(())
}

fn bitmod_file(cx: &Ctx) -> Result<BitmodFile, String> {
    let raw: RawBitmod = cx.toml()?;
    let m = &raw.memory;
    let memory = Memory {
        dram_bus_bits: cx.pos_u(&m.dram_bus_bits, "memory.dram_bus_bits")?,
        dram_transfers_per_cycle: cx.pos_u(
            &m.dram_transfers_per_cycle,
            "memory.dram_transfers_per_cycle",
        )?,
        dram_pj_per_64_bits: cx.pos_f(&m.dram_pj_per_64_bits, "memory.dram_pj_per_64_bits")?,
        w_sram_bytes: cx.pos_u(&m.w_sram_bytes, "memory.w_sram_bytes")?,
        i_sram_bytes: cx.pos_u(&m.i_sram_bytes, "memory.i_sram_bytes")?,
        place_route_scaling: cx.pos_f(&m.place_route_scaling, "memory.place_route_scaling")?,
        source: m.source.clone(),
    };
    if raw.designs.get_ref().is_empty() {
        return Err(cx.err(raw.designs.span(), "designs", "at least one is needed"));
    }
    unique(
        cx,
        "designs.name",
        raw.designs.get_ref().iter().map(|d| &d.name),
    )?;
    let mut designs = Vec::new();
    for d in raw.designs.get_ref() {
        let w = cx.pos_f(&d.w_bits, "designs.w_bits")?;
        let wd = match &d.w_bits_decode {
            Some(v) => cx.pos_f(v, "designs.w_bits_decode")?,
            None => w,
        };
        for (v, key) in [
            (w, &d.w_bits),
            (wd, d.w_bits_decode.as_ref().unwrap_or(&d.w_bits)),
        ] {
            if v < 1.0 {
                return Err(cx.err(key.span(), "designs.w_bits", "must be at least 1"));
            }
        }
        designs.push(Design {
            name: d.name.get_ref().clone(),
            description: d.description.clone(),
            bit_serial: d.bit_serial,
            dp: cx.pos_u(&d.dp, "designs.dp")?,
            bits_per_cycle: cx.pos_u(&d.bits_per_cycle, "designs.bits_per_cycle")?,
            w_bits_prefill: w,
            w_bits_decode: wd,
            a_bits: cx.pos_f(&d.a_bits, "designs.a_bits")?,
            prefill_array: cx.dims(&d.prefill_array, "designs.prefill_array")?,
            decode_array: cx.dims(&d.decode_array, "designs.decode_array")?,
            pe_pj: cx.pos_f(&d.pe_pj, "designs.pe_pj")?,
            source: d.source.clone(),
        });
    }
    if !designs.iter().any(|d| &d.name == raw.baseline.get_ref()) {
        return Err(cx.err(
            raw.baseline.span(),
            "baseline",
            format!("no design named '{}'", raw.baseline.get_ref()),
        ));
    }
    check_models(cx, &raw.models, |m| {
        (&m.name, m.layers.span(), m.layers.get_ref().is_empty())
    })?;
    let mut models = Vec::new();
    for m in raw.models.get_ref() {
        let mut layers = Vec::new();
        for l in m.layers.get_ref() {
            layers.push(Layer {
                name: l.name.clone(),
                k: cx.pos_u(&l.k, "models.layers.k")?,
                n: cx.pos_u(&l.n, "models.layers.n")?,
                repeat: match &l.repeat {
                    Some(r) => cx.pos_u(r, "models.layers.repeat")?,
                    None => 1,
                },
            });
        }
        models.push(Model {
            name: m.name.get_ref().clone(),
            description: m.description.clone(),
            prefill_tokens: cx.pos_u(&m.prefill_tokens, "models.prefill_tokens")?,
            decode_tokens: cx.pos_u(&m.decode_tokens, "models.decode_tokens")?,
            layers,
        });
    }
    // Every cycle count of the file must fit in u64: refuse here, at the
    // layer's line, rather than print wrapped numbers.
    for (m, rm) in models.iter().zip(raw.models.get_ref()) {
        for d in &designs {
            for phase in Phase::ALL {
                if let Err(e) = simulate(d, &memory, m, phase) {
                    let i = m.layers.iter().position(|l| l.name == e.layer).unwrap_or(0);
                    return Err(cx.err(
                        rm.layers.get_ref()[i].k.span(),
                        "models.layers",
                        format!(
                            "model '{}', design '{}', {}: {e}",
                            m.name,
                            d.name,
                            phase.name()
                        ),
                    ));
                }
            }
        }
    }
    Ok(BitmodFile {
        name: raw.name,
        description: raw.description,
        memory,
        baseline: raw.baseline.into_inner(),
        designs,
        models,
    })
}

fn stripes_file(cx: &Ctx) -> Result<StripesFile, String> {
    let raw: RawStripes = cx.toml()?;
    let mpc = cx.pos_u(&raw.parallel_macs_per_cycle, "parallel_macs_per_cycle")?;
    check_models(cx, &raw.models, |m| {
        (&m.name, m.layers.span(), m.layers.get_ref().is_empty())
    })?;
    let mut models = Vec::new();
    for m in raw.models.get_ref() {
        let mut layers = Vec::new();
        for l in m.layers.get_ref() {
            let kind = match l.kind.get_ref().as_str() {
                "conv" => NetKind::Conv,
                "fc" => NetKind::Fc,
                other => {
                    return Err(cx.err(
                        l.kind.span(),
                        "models.layers.kind",
                        format!("unknown kind '{other}' (expected conv or fc)"),
                    ))
                }
            };
            // A conv layer without its spatial sizes would silently run as a
            // 1×1 convolution on a 1×1 map: both are required for conv.
            let dims = |v: &Option<Spanned<[u64; 2]>>, key: &str| match v {
                Some(v) => cx.dims(v, key),
                None if kind == NetKind::Conv => Err(cx.err(
                    l.c_in.span(),
                    key,
                    format!(
                        "conv layer '{}' needs {} = [.., ..] (only fc layers default to [1, 1])",
                        l.name,
                        key.rsplit('.').next().unwrap_or(key)
                    ),
                )),
                None => Ok([1, 1]),
            };
            let out = dims(&l.out, "models.layers.out")?;
            let ker = dims(&l.kernel, "models.layers.kernel")?;
            let prec = |v: &Spanned<u32>, key: &str| match *v.get_ref() {
                1..=16 => Ok(*v.get_ref()),
                x => Err(cx.err(v.span(), key, format!("must be 1..=16 bits, got {x}"))),
            };
            let c_in = cx.pos_u(&l.c_in, "models.layers.c_in")?;
            let c_out = cx.pos_u(&l.c_out, "models.layers.c_out")?;
            let macs = [out[1], ker[0], ker[1], c_in, c_out]
                .into_iter()
                .try_fold(out[0], u64::checked_mul)
                .ok_or_else(|| {
                    cx.err(
                        l.c_in.span(),
                        "models.layers",
                        format!(
                            "layer '{}': MACs H·W·kh·kw·c_in·c_out overflows u64",
                            l.name
                        ),
                    )
                })?;
            layers.push(NetLayer {
                name: l.name.clone(),
                kind,
                macs,
                p_a: prec(&l.p_a, "models.layers.p_a")?,
                p_w: prec(&l.p_w, "models.layers.p_w")?,
            });
        }
        models.push(Network {
            name: m.name.get_ref().clone(),
            description: m.description.clone(),
            layers,
        });
    }
    Ok(StripesFile {
        name: raw.name,
        description: raw.description,
        parallel_macs_per_cycle: mpc,
        source: raw.source,
        models,
    })
}

/// The built-in BitMoD scenario.
pub fn builtin_bitmod() -> BitmodFile {
    match load_builtin("bitmod") {
        Ok(SimFile::Bitmod(f)) => f,
        Ok(_) => panic!("sims/bitmod.toml is a bitmod file"),
        Err(e) => panic!("built-in sims/bitmod.toml: {e}"),
    }
}
