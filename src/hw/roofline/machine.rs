//! Machine files: the built-in table, loading and parsing a machine TOML
//! (errors located in the file), and writing a [`Machine`] back as TOML.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::{Ceiling, ComputeKind, Machine, MemLevel};
use crate::datafile::{self, DataFile, Kind};

/// Names of the built-in machine files (every `sims/machine-*.toml`).
pub fn builtin_names() -> Vec<&'static str> {
    datafile::builtin_names(Kind::Machine)
}

impl Machine {
    /// Loads a built-in machine by name (`machine-zen5`) or a TOML file by path.
    /// Errors are one line, `FILE line N: KEY: reason` (no line when the
    /// problem is the file as a whole).
    pub fn load(name_or_path: &str) -> Result<Machine, String> {
        Machine::load_relative(name_or_path, None)
    }

    /// As [`Machine::load`], with a relative path resolved against `base`.
    pub fn load_relative(name_or_path: &str, base: Option<&Path>) -> Result<Machine, String> {
        let file = DataFile::open(Kind::Machine, name_or_path, base)?;
        Machine::parse(&file.text, &file.origin)
    }

    /// Parses machine TOML; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Machine, String> {
        let file = DataFile::from_text(origin, text);
        let raw: RawMachine = file.parse()?;
        let here = |offset: usize| file.at(offset);
        let cores = *raw.cores.get_ref();
        if cores == 0 {
            return Err(format!(
                "{}: cores = 0: must be at least 1",
                here(raw.cores.span().start)
            ));
        }
        let mut compute = BTreeMap::new();
        let c = &raw.compute;
        for (kind, r) in [
            (ComputeKind::F64Fma, &c.f64_fma),
            (ComputeKind::F32Fma, &c.f32_fma),
            (ComputeKind::Bf16Dot, &c.bf16_dot),
            (ComputeKind::Int8Vnni, &c.int8_vnni),
        ] {
            if let Some(r) = r {
                let key = format!("compute.{}", kind.key());
                compute.insert(kind, r.check(&key, kind.unit(), &here)?);
            }
        }
        let mut bandwidth = BTreeMap::new();
        let b = &raw.bandwidth;
        for (level, r) in [
            (MemLevel::Dram, &b.dram),
            (MemLevel::L3, &b.l3),
            (MemLevel::L2, &b.l2),
        ] {
            if let Some(r) = r {
                let key = format!("bandwidth.{}", level.key());
                bandwidth.insert(level, r.check(&key, "GB/s", &here)?);
            }
        }
        if !compute.contains_key(&ComputeKind::F32Fma) {
            return Err(format!(
                "{origin}: missing `[compute.f32_fma]` (every machine needs the f32 FMA ceiling; other datatypes fall back to it)"
            ));
        }
        if !bandwidth.contains_key(&MemLevel::Dram) {
            return Err(format!(
                "{origin}: missing `[bandwidth.dram]` (the roofline's memory roof)"
            ));
        }
        Ok(Machine {
            name: raw.name,
            description: raw.description,
            cores,
            compute,
            bandwidth,
        })
    }

    /// The machine as TOML that [`Machine::parse`] reads back to the same value.
    pub fn to_toml(&self) -> String {
        let mut s = String::new();
        let q = |v: &str| toml::Value::String(v.to_string()).to_string();
        let _ = writeln!(s, "name = {}", q(&self.name));
        let _ = writeln!(s, "description = {}", q(&self.description));
        let _ = writeln!(s, "cores = {}", self.cores);
        let mut table = |section: &str, key: &str, unit: &str, c: &Ceiling| {
            let _ = writeln!(s, "\n[{section}.{key}]");
            let _ = writeln!(s, "per_core = {:?}  # {unit}", c.per_core);
            let _ = writeln!(s, "all_cores = {:?}  # {unit}", c.all_cores);
            let _ = writeln!(s, "source = {}", q(&c.source));
        };
        for (k, c) in &self.compute {
            table("compute", k.key(), k.unit(), c);
        }
        for (l, c) in &self.bandwidth {
            table("bandwidth", l.key(), "GB/s", c);
        }
        s
    }
}

/// The TOML schema of a machine file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMachine {
    name: String,
    description: String,
    cores: Spanned<u32>,
    compute: RawCompute,
    bandwidth: RawBandwidth,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCompute {
    #[serde(default)]
    f64_fma: Option<RawCeiling>,
    #[serde(default)]
    f32_fma: Option<RawCeiling>,
    #[serde(default)]
    bf16_dot: Option<RawCeiling>,
    #[serde(default)]
    int8_vnni: Option<RawCeiling>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBandwidth {
    #[serde(default)]
    dram: Option<RawCeiling>,
    #[serde(default)]
    l3: Option<RawCeiling>,
    #[serde(default)]
    l2: Option<RawCeiling>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCeiling {
    per_core: Spanned<f64>,
    all_cores: Spanned<f64>,
    source: Spanned<String>,
}

impl RawCeiling {
    fn check(
        &self,
        key: &str,
        unit: &str,
        here: &dyn Fn(usize) -> String,
    ) -> Result<Ceiling, String> {
        let num = |v: &Spanned<f64>, field: &str| {
            let x = *v.get_ref();
            if x.is_finite() && x > 0.0 {
                Ok(x)
            } else {
                Err(format!(
                    "{}: {key}.{field} = {x}: must be a positive finite rate ({unit})",
                    here(v.span().start)
                ))
            }
        };
        let per_core = num(&self.per_core, "per_core")?;
        let all_cores = num(&self.all_cores, "all_cores")?;
        if self.source.get_ref().trim().is_empty() {
            return Err(format!(
                "{}: {key}.source: empty (every number must cite where it comes from)",
                here(self.source.span().start)
            ));
        }
        Ok(Ceiling {
            per_core,
            all_cores,
            source: self.source.get_ref().clone(),
        })
    }
}
