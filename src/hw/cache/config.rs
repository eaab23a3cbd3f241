//! Hierarchy descriptions: TOML files (`sims/cache-*.toml`) and the
//! `NAME:SIZE:WAYS:LINE:POLICY[:wt|:wb]` level strings of the command line.
//!
//! File schema (unknown keys are errors):
//!
//! ```toml
//! name = "zen5"                 # required
//! description = "…"             # optional
//! inclusion = "inclusive"       # optional: inclusive (default), nine, exclusive
//! [[level]]                     # one or more, fastest first
//! name = "L1d"                  # required
//! size = "48KiB"                # required: bytes, or a string with a unit (crate::size)
//! ways = 12                     # required: a count, or 0 / "full" (fully associative)
//! line = 64                     # required: bytes, a power of two ≥ 4
//! policy = "lru"                # required: lru, fifo, random, plru
//! seed = 1                      # optional, random only (default 0)
//! write = "write-back"          # optional: write-back (default) or write-through
//! ```
//!
//! Errors are one line, `FILE line N: KEY: reason`.

use serde::Deserialize;
use toml::Spanned;

use super::{HierarchyConfig, Inclusion, LevelConfig, Policy, WritePolicy};
use crate::datafile::{self, DataFile, Kind};

/// Byte sizes share one grammar with every other command (`crate::size`).
pub use crate::size::parse_size;

/// Parses a replacement policy name (`lru`, `fifo`, `random`, `plru`).
pub fn parse_policy(s: &str, seed: u64) -> Result<Policy, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "lru" => Ok(Policy::Lru),
        "fifo" => Ok(Policy::Fifo),
        "random" => Ok(Policy::Random { seed }),
        "plru" => Ok(Policy::Plru),
        _ => Err(format!(
            "unknown policy '{s}' (expected lru, fifo, random or plru)"
        )),
    }
}

fn parse_ways(s: &str) -> Result<u32, String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("full") {
        return Ok(0);
    }
    t.parse()
        .map_err(|_| format!("ways '{s}' is not a count or 'full'"))
}

/// Parses `NAME:SIZE:WAYS:LINE:POLICY[:wt|:wb]` (e.g. `L1:48KiB:12:64:lru`,
/// `smem:64KiB:full:128:lru:wt`); WAYS is a count, `0` or `full`; a random
/// policy may carry its seed as `random=SEED`. The level is validated.
pub fn parse_level(s: &str) -> Result<LevelConfig, String> {
    let parts: Vec<&str> = s.split(':').collect();
    if !(5..=6).contains(&parts.len()) {
        return Err("expected NAME:SIZE:WAYS:LINE:POLICY[:wt|:wb]".into());
    }
    let name = parts[0].trim();
    if name.is_empty() {
        return Err("empty level name".into());
    }
    let size = parse_size(parts[1]).map_err(|e| format!("size: {e}"))?;
    let ways = parse_ways(parts[2])?;
    let line = parse_size(parts[3]).map_err(|e| format!("line: {e}"))?;
    let line = u32::try_from(line).map_err(|_| format!("line: {line} is too large"))?;
    let (pname, seed) = match parts[4].split_once('=') {
        Some((p, seed)) if p.trim().eq_ignore_ascii_case("random") => {
            let seed = seed
                .trim()
                .parse()
                .map_err(|_| format!("policy: seed '{seed}' is not an unsigned integer"))?;
            (p, seed)
        }
        _ => (parts[4], 0),
    };
    let policy = parse_policy(pname, seed).map_err(|e| format!("policy: {e}"))?;
    let write = match parts.get(5).map(|w| w.trim().to_ascii_lowercase()) {
        None => WritePolicy::WriteBack,
        Some(w) if w == "wb" => WritePolicy::WriteBack,
        Some(w) if w == "wt" => WritePolicy::WriteThrough,
        Some(w) => return Err(format!("write policy '{w}' is not wt or wb")),
    };
    let cfg = LevelConfig {
        name: name.to_string(),
        size,
        ways,
        line,
        policy,
        write,
    };
    cfg.validate()?;
    Ok(cfg)
}

/// An integer, or a string with a unit.
#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrStr {
    Num(u64),
    Str(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    inclusion: Option<Spanned<String>>,
    #[serde(default)]
    level: Vec<Spanned<RawLevel>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLevel {
    name: String,
    size: Spanned<NumOrStr>,
    ways: Spanned<NumOrStr>,
    line: Spanned<NumOrStr>,
    policy: Spanned<String>,
    #[serde(default)]
    seed: Option<Spanned<u64>>,
    #[serde(default)]
    write: Option<Spanned<String>>,
}

fn size_of(v: &NumOrStr) -> Result<u64, String> {
    match v {
        NumOrStr::Num(n) => Ok(*n),
        NumOrStr::Str(s) => parse_size(s),
    }
}

impl HierarchyConfig {
    /// Loads a built-in hierarchy by name (`cache-zen5`, `cache-gpu-sm`,
    /// `cache-tiny`: every `sims/cache-*.toml`) or a TOML file by path; validated.
    pub fn load(name_or_path: &str) -> Result<Self, String> {
        let file = DataFile::open(Kind::Cache, name_or_path, None)?;
        Self::from_toml(&file.origin, &file.text)
    }

    /// Names of the built-in hierarchies (every `sims/cache-*.toml`).
    pub fn builtin_names() -> Vec<&'static str> {
        datafile::builtin_names(Kind::Cache)
    }

    /// Parses and validates a hierarchy from TOML text; `origin` (a file
    /// name) starts every error message.
    pub fn from_toml(origin: &str, text: &str) -> Result<Self, String> {
        let file = DataFile::from_text(origin, text);
        // `KEY: reason` at a span, as one line.
        let at = |span: std::ops::Range<usize>, msg: String| file.err(span, "", msg).to_string();
        let raw: RawFile = file.parse()?;
        if raw.level.is_empty() {
            return Err(format!("{origin}: level: at least one [[level]] is needed"));
        }
        let mut levels: Vec<LevelConfig> = Vec::new();
        for sl in &raw.level {
            let span = sl.span();
            let l = sl.get_ref();
            let size =
                size_of(l.size.get_ref()).map_err(|e| at(l.size.span(), format!("size: {e}")))?;
            let ways = match l.ways.get_ref() {
                NumOrStr::Num(n) => u32::try_from(*n).map_err(|_| "too large".to_string()),
                NumOrStr::Str(s) => parse_ways(s),
            }
            .map_err(|e| at(l.ways.span(), format!("ways: {e}")))?;
            let line = size_of(l.line.get_ref())
                .and_then(|v| u32::try_from(v).map_err(|_| format!("{v} is too large")))
                .map_err(|e| at(l.line.span(), format!("line: {e}")))?;
            let seed = l.seed.as_ref().map_or(0, |s| *s.get_ref());
            let policy = parse_policy(l.policy.get_ref(), seed)
                .map_err(|e| at(l.policy.span(), format!("policy: {e}")))?;
            if let Some(s) = &l.seed {
                if !matches!(policy, Policy::Random { .. }) {
                    return Err(at(
                        s.span(),
                        "seed: only a random policy takes a seed".into(),
                    ));
                }
            }
            let write = match &l.write {
                None => WritePolicy::WriteBack,
                Some(w) => match w.get_ref().trim().to_ascii_lowercase().as_str() {
                    "write-back" | "wb" => WritePolicy::WriteBack,
                    "write-through" | "wt" => WritePolicy::WriteThrough,
                    other => {
                        return Err(at(
                            w.span(),
                            format!("write: '{other}' is not write-back or write-through"),
                        ))
                    }
                },
            };
            let cfg = LevelConfig {
                name: l.name.clone(),
                size,
                ways,
                line,
                policy,
                write,
            };
            if let Err(e) = cfg.validate() {
                // Point at the key the message starts with.
                let key_span = match e.split(':').next().unwrap_or("") {
                    "size" => l.size.span(),
                    "ways" => l.ways.span(),
                    "line" => l.line.span(),
                    "policy" => l.policy.span(),
                    _ => span.clone(),
                };
                return Err(at(key_span, format!("level {}: {e}", l.name)));
            }
            if levels.iter().any(|o| o.name == cfg.name) {
                return Err(at(span, format!("level {}: name: used twice", cfg.name)));
            }
            if let Some(prev) = levels.last() {
                if cfg.line < prev.line {
                    return Err(at(
                        l.line.span(),
                        format!(
                            "level {}: line: {} bytes is smaller than the line of the level above ({})",
                            cfg.name, cfg.line, prev.line
                        ),
                    ));
                }
            }
            levels.push(cfg);
        }
        let inclusion = match &raw.inclusion {
            None => Inclusion::default(),
            Some(i) => Inclusion::parse(i.get_ref())
                .map_err(|e| at(i.span(), format!("inclusion: {e}")))?,
        };
        let cfg = HierarchyConfig {
            name: raw.name,
            levels,
            inclusion,
        };
        cfg.validate().map_err(|e| format!("{origin}: {e}"))?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64"), Ok(64));
        assert_eq!(parse_size("48KiB"), Ok(48 * 1024));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("2 GiB"), Ok(2 << 30));
        assert!(parse_size("1.5MiB").is_err());
        assert!(parse_size("12XB").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn level_strings() {
        let l = parse_level("L1:48KiB:12:64:lru").unwrap();
        assert_eq!((l.size, l.ways, l.line), (49152, 12, 64));
        assert_eq!(l.policy, Policy::Lru);
        let l = parse_level("s:64KiB:full:128:random=7:wt").unwrap();
        assert_eq!(l.ways, 0);
        assert_eq!(l.policy, Policy::Random { seed: 7 });
        assert_eq!(l.write, WritePolicy::WriteThrough);
        assert!(parse_level("L1:48KiB:12:64").is_err());
        assert!(parse_level("L1:48KiB:12:64:mru")
            .unwrap_err()
            .contains("policy"));
        assert!(parse_level("L1:48KiB:12:64:plru")
            .unwrap_err()
            .contains("plru"));
    }
}
