//! The one string grammar for formats:
//!
//! ```text
//! format   := name [":" override ("," override)*]
//! name     := preset | "e" X "m" Y | "int" N | "uint" N
//! override := key ["=" value]
//! ```
//!
//! Minifloat overrides: `bias=N`, `nonfinite=ieee|fn|fnuz|finite`,
//! `subnormals=on|off|none`, `signed=true|false`. Integer: `symmetric[=true|false]`.
//! Block formats: `rule=floor|ceil|rceil|even`, `block=N`.
//! A bare `eXmY` that is not a preset is IEEE-style (inf + NaN, subnormals,
//! bias 2^(X−1) − 1).

use super::{
    BlockFormat, BlockKind, ElementFormat, Exp0, Format, FormatError, IntFormat, IntKind,
    MiniFloat, NonFinite, ScaleRule,
};

const fn mf(ebits: u32, mbits: u32, bias: i32, nonfinite: NonFinite) -> MiniFloat {
    MiniFloat {
        ebits,
        mbits,
        bias,
        nonfinite,
        exp0: Exp0::Subnormal,
        signed: true,
    }
}

/// FP4 E2M1 (OCP MX).
pub const E2M1: MiniFloat = mf(2, 1, 1, NonFinite::FiniteOnly);
/// FP6 E2M3 (OCP MX).
pub const E2M3: MiniFloat = mf(2, 3, 1, NonFinite::FiniteOnly);
/// FP6 E3M2 (OCP MX).
pub const E3M2: MiniFloat = mf(3, 2, 3, NonFinite::FiniteOnly);
/// FP8 E4M3 (OCP "fn": max 448, NaN at S.1111.111, no inf).
pub const E4M3: MiniFloat = mf(4, 3, 7, NonFinite::Fn);
/// FP8 E5M2 (OCP, IEEE-style).
pub const E5M2: MiniFloat = mf(5, 2, 15, NonFinite::Ieee);
/// FP8 E4M3 FNUZ (bias 8, max 240, NaN 0x80).
pub const E4M3FNUZ: MiniFloat = mf(4, 3, 8, NonFinite::Fnuz);
/// FP8 E5M2 FNUZ (bias 16, max 57344, NaN 0x80).
pub const E5M2FNUZ: MiniFloat = mf(5, 2, 16, NonFinite::Fnuz);
/// FP8 E4M3 with bias 11, FNUZ (max 30).
pub const E4M3B11FNUZ: MiniFloat = mf(4, 3, 11, NonFinite::Fnuz);
/// FP8 E3M4 (IEEE-style, max 15.5).
pub const E3M4: MiniFloat = mf(3, 4, 3, NonFinite::Ieee);
/// E8M0 unsigned scale (OCP MX): 2^(e − 127), 0xFF = NaN, no zero.
pub const E8M0: MiniFloat = MiniFloat {
    ebits: 8,
    mbits: 0,
    bias: 127,
    nonfinite: NonFinite::Fn,
    exp0: Exp0::Normal,
    signed: false,
};
/// IEEE binary16.
pub const FP16: MiniFloat = mf(5, 10, 15, NonFinite::Ieee);
/// bfloat16.
pub const BF16: MiniFloat = mf(8, 7, 127, NonFinite::Ieee);
/// IEEE binary32.
pub const F32: MiniFloat = mf(8, 23, 127, NonFinite::Ieee);

/// Named minifloat presets: (canonical name, aliases, format).
const FLOAT_PRESETS: &[(&str, &[&str], MiniFloat)] = &[
    ("e2m1", &["fp4", "fp4e2m1"], E2M1),
    ("e2m3", &["fp6", "fp6e2m3"], E2M3),
    ("e3m2", &["fp6e3m2"], E3M2),
    ("e4m3", &["fp8", "e4m3fn", "fp8e4m3"], E4M3),
    ("e5m2", &["fp8e5m2"], E5M2),
    ("e4m3fnuz", &[], E4M3FNUZ),
    ("e5m2fnuz", &[], E5M2FNUZ),
    ("e4m3b11fnuz", &[], E4M3B11FNUZ),
    ("e3m4", &[], E3M4),
    ("e8m0", &["e8m0fnu"], E8M0),
    ("fp16", &["f16", "half", "e5m10"], FP16),
    ("bf16", &["bfloat16", "e8m7"], BF16),
    ("f32", &["fp32", "float32", "e8m23"], F32),
];

/// A block-format preset: the format (OCP MX v1.0 §5; NVFP4) and the other
/// names it answers to.
struct BlockPreset {
    format: BlockFormat,
    aliases: &'static [&'static str],
}

/// An OCP MX preset: blocks of 32 with an E8M0 scale, floor rule.
const fn mx(
    name: &'static str,
    aliases: &'static [&'static str],
    element: ElementFormat,
    element_scale_log2: i32,
) -> BlockPreset {
    BlockPreset {
        format: BlockFormat {
            name,
            kind: BlockKind::Mx,
            element,
            element_scale_log2,
            block_size: 32,
            scale: E8M0,
            rule: ScaleRule::Floor,
        },
        aliases,
    }
}

const MXINT8_ELEMENT: ElementFormat = ElementFormat::Int(IntFormat {
    kind: IntKind::Signed {
        bits: 8,
        symmetric: true,
    },
});

const BLOCK_PRESETS: &[BlockPreset] = &[
    mx("mxfp8", &["mxfp8e4m3"], ElementFormat::Float(E4M3), 0),
    mx("mxfp8e5m2", &[], ElementFormat::Float(E5M2), 0),
    mx("mxfp6", &["mxfp6e2m3"], ElementFormat::Float(E2M3), 0),
    mx("mxfp6e3m2", &[], ElementFormat::Float(E3M2), 0),
    mx("mxfp4", &["mxfp4e2m1"], ElementFormat::Float(E2M1), 0),
    // MXINT8 elements are int8 × 2^-6 (two's complement, symmetric).
    mx("mxint8", &[], MXINT8_ELEMENT, -6),
    // NVFP4: blocks of 16 with an E4M3 scale (and an f32 tensor scale).
    BlockPreset {
        format: BlockFormat {
            name: "nvfp4",
            kind: BlockKind::Nv,
            element: ElementFormat::Float(E2M1),
            element_scale_log2: 0,
            block_size: 16,
            scale: E4M3,
            rule: ScaleRule::Floor,
        },
        aliases: &[],
    },
];

/// Every named format (canonical names), in display order, parsed.
pub fn presets() -> Vec<(&'static str, Format)> {
    let mut v: Vec<(&'static str, Format)> = vec![
        ("int1", parse("int1").expect("preset")),
        ("ternary", parse("ternary").expect("preset")),
        ("int2", parse("int2").expect("preset")),
        ("int3", parse("int3").expect("preset")),
        ("int4", parse("int4").expect("preset")),
        ("int8", parse("int8").expect("preset")),
        ("uint4", parse("uint4").expect("preset")),
        ("uint8", parse("uint8").expect("preset")),
    ];
    for (name, _, f) in FLOAT_PRESETS {
        v.push((name, Format::Element(ElementFormat::Float(*f))));
    }
    for p in BLOCK_PRESETS {
        v.push((p.format.name, parse(p.format.name).expect("preset")));
    }
    v
}

/// Parses a format string. Names are case-insensitive.
pub fn parse(s: &str) -> Result<Format, FormatError> {
    let lower = s.trim().to_ascii_lowercase();
    let (name, rest) = match lower.split_once(':') {
        Some((n, r)) => (n.trim(), Some(r)),
        None => (lower.as_str(), None),
    };
    let overrides = parse_overrides(s, rest)?;
    if name.is_empty() {
        return Err(FormatError::UnknownFormat(s.to_string()));
    }
    if let Some(p) = BLOCK_PRESETS
        .iter()
        .find(|p| p.format.name == name || p.aliases.contains(&name))
    {
        return parse_block(s, p, &overrides).map(Format::Block);
    }
    if let Some(f) = parse_int(s, name, &overrides)? {
        return Ok(Format::Element(ElementFormat::Int(f)));
    }
    parse_float(s, name, &overrides).map(|f| Format::Element(ElementFormat::Float(f)))
}

/// Parses a string that must name an element format (no block scaling).
pub fn parse_element(s: &str) -> Result<ElementFormat, FormatError> {
    match parse(s)? {
        Format::Element(e) => Ok(e),
        Format::Block(b) => Err(FormatError::BadFormat(format!(
            "'{s}' is a block-scaled format ({b}); an element format is needed here"
        ))),
    }
}

fn parse_overrides<'a>(
    full: &str,
    rest: Option<&'a str>,
) -> Result<Vec<(&'a str, Option<&'a str>)>, FormatError> {
    let Some(rest) = rest else { return Ok(vec![]) };
    let mut out = Vec::new();
    for item in rest.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(FormatError::BadFormat(format!("'{full}': empty override")));
        }
        let (k, v) = match item.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (item, None),
        };
        // The last one would silently win: refuse instead.
        if out.iter().any(|(seen, _)| *seen == k) {
            return Err(FormatError::BadFormat(format!(
                "'{full}': override '{k}' given twice"
            )));
        }
        out.push((k, v));
    }
    Ok(out)
}

/// Whether `d` is a number written the one way (digits, no sign, no leading
/// zero): `e04m03` or `int+8` would otherwise name `e4m3` / `int8` twice.
fn canonical(d: &str) -> bool {
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) && (d == "0" || !d.starts_with('0'))
}

fn need<'a>(full: &str, key: &str, v: Option<&'a str>) -> Result<&'a str, FormatError> {
    v.filter(|v| !v.is_empty()).ok_or_else(|| {
        FormatError::BadFormat(format!(
            "'{full}': override '{key}' needs a value ({key}=…)"
        ))
    })
}

fn parse_num<T: std::str::FromStr>(full: &str, key: &str, v: &str) -> Result<T, FormatError> {
    v.parse()
        .map_err(|_| FormatError::BadFormat(format!("'{full}': {key}='{v}' is not a valid number")))
}

fn parse_bool(full: &str, key: &str, v: Option<&str>) -> Result<bool, FormatError> {
    match v {
        None | Some("true") | Some("on") | Some("yes") | Some("1") => Ok(true),
        Some("false") | Some("off") | Some("no") | Some("0") => Ok(false),
        Some(v) => Err(FormatError::BadFormat(format!(
            "'{full}': {key}='{v}' is not true/false"
        ))),
    }
}

fn unknown_key(full: &str, key: &str, allowed: &str) -> FormatError {
    FormatError::BadFormat(format!(
        "'{full}': unknown override '{key}' (allowed: {allowed})"
    ))
}

fn parse_int(
    full: &str,
    name: &str,
    ov: &[(&str, Option<&str>)],
) -> Result<Option<IntFormat>, FormatError> {
    let kind = match name {
        "int1" | "binary" | "bin" => IntKind::Binary,
        "ternary" | "int1.58" | "tern" => IntKind::Ternary,
        _ => {
            let (signed, digits) = if let Some(d) = name.strip_prefix("uint") {
                (false, d)
            } else if let Some(d) = name.strip_prefix("int") {
                (true, d)
            } else {
                return Ok(None);
            };
            let bits: u32 = digits
                .parse()
                .map_err(|_| FormatError::UnknownFormat(full.to_string()))?;
            if !canonical(digits) {
                return Err(FormatError::BadFormat(format!(
                    "'{full}': write the width without leading zeros or signs ({}{bits}), \
                     so that one format has one name",
                    if signed { "int" } else { "uint" }
                )));
            }
            if signed {
                IntKind::Signed {
                    bits,
                    symmetric: false,
                }
            } else {
                IntKind::Unsigned { bits }
            }
        }
    };
    let mut kind = kind;
    for (k, v) in ov {
        match (*k, &mut kind) {
            ("symmetric", IntKind::Signed { symmetric, .. }) => {
                *symmetric = parse_bool(full, k, *v)?
            }
            _ => {
                let allowed = if matches!(kind, IntKind::Signed { .. }) {
                    "symmetric"
                } else {
                    "none"
                };
                return Err(unknown_key(full, k, allowed));
            }
        }
    }
    IntFormat::new(kind).map(Some).map_err(|e| {
        FormatError::BadFormat(format!(
            "'{full}': {}",
            e.to_string().trim_start_matches("invalid format: ")
        ))
    })
}

fn parse_float(
    full: &str,
    name: &str,
    ov: &[(&str, Option<&str>)],
) -> Result<MiniFloat, FormatError> {
    let mut f = if let Some(p) = FLOAT_PRESETS
        .iter()
        .find(|p| p.0 == name || p.1.contains(&name))
    {
        p.2
    } else {
        let rest = name
            .strip_prefix('e')
            .ok_or_else(|| FormatError::UnknownFormat(full.to_string()))?;
        let (e, m) = rest
            .split_once('m')
            .ok_or_else(|| FormatError::UnknownFormat(full.to_string()))?;
        let (Ok(ebits), Ok(mbits)) = (e.parse::<u32>(), m.parse::<u32>()) else {
            return Err(FormatError::UnknownFormat(full.to_string()));
        };
        if !canonical(e) || !canonical(m) {
            return Err(FormatError::BadFormat(format!(
                "'{full}': write the widths without leading zeros or signs (e{ebits}m{mbits}), \
                 so that one format has one name"
            )));
        }
        if !(1..=8).contains(&ebits) || mbits > 23 {
            return Err(FormatError::BadFormat(format!(
                "'{full}': exponent bits must be 1..=8 and mantissa bits 0..=23 (got e{ebits}m{mbits})"
            )));
        }
        // Generic ExMy: IEEE-style where that is possible, else finite-only.
        let mut g = MiniFloat::ieee(ebits.max(2), mbits);
        g.ebits = ebits;
        g.bias = (1 << (ebits - 1)) - 1;
        if ebits < 2 || mbits < 1 {
            g.nonfinite = NonFinite::FiniteOnly;
        }
        g
    };
    for (k, v) in ov {
        match *k {
            "bias" => f.bias = parse_num(full, k, need(full, k, *v)?)?,
            "nonfinite" => {
                f.nonfinite = match need(full, k, *v)? {
                    "ieee" => NonFinite::Ieee,
                    "fn" => NonFinite::Fn,
                    "fnuz" => NonFinite::Fnuz,
                    "finite" | "none" => NonFinite::FiniteOnly,
                    other => {
                        return Err(FormatError::BadFormat(format!(
                            "'{full}': nonfinite='{other}' (expected ieee, fn, fnuz or finite)"
                        )))
                    }
                }
            }
            "subnormals" => {
                f.exp0 = match need(full, k, *v)? {
                    "on" | "true" => Exp0::Subnormal,
                    "off" | "false" | "flush" => Exp0::Flush,
                    "none" => Exp0::Normal,
                    other => {
                        return Err(FormatError::BadFormat(format!(
                            "'{full}': subnormals='{other}' (expected on, off or none)"
                        )))
                    }
                }
            }
            "signed" => f.signed = parse_bool(full, k, *v)?,
            _ => return Err(unknown_key(full, k, "bias, nonfinite, subnormals, signed")),
        }
    }
    f.validate().map_err(|e| {
        FormatError::BadFormat(format!(
            "'{full}': {}",
            e.to_string().trim_start_matches("invalid format: ")
        ))
    })?;
    Ok(f)
}

fn parse_block(
    full: &str,
    p: &BlockPreset,
    ov: &[(&str, Option<&str>)],
) -> Result<BlockFormat, FormatError> {
    let mut b = p.format;
    for (k, v) in ov {
        match *k {
            "rule" if b.kind == BlockKind::Mx => {
                b.rule = need(full, k, *v)?
                    .parse::<ScaleRule>()
                    .map_err(|e| FormatError::BadFormat(format!("'{full}': {e}")))?
            }
            "block" => {
                let n: usize = parse_num(full, k, need(full, k, *v)?)?;
                if n == 0 || n > 1 << 20 {
                    return Err(FormatError::BadFormat(format!(
                        "'{full}': block={n} must be 1..=1048576"
                    )));
                }
                b.block_size = n;
            }
            _ => {
                let allowed = if b.kind == BlockKind::Mx {
                    "rule, block"
                } else {
                    "block"
                };
                return Err(unknown_key(full, k, allowed));
            }
        }
    }
    Ok(b)
}

impl std::fmt::Display for MiniFloat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(p) = FLOAT_PRESETS.iter().find(|p| p.2 == *self) {
            return f.write_str(p.0);
        }
        // Describe the format relative to what a bare eXmY parses to.
        write!(f, "e{}m{}", self.ebits, self.mbits)?;
        let base = parse_float("", &format!("e{}m{}", self.ebits, self.mbits), &[]).ok();
        let mut opts = Vec::new();
        if base.map(|b| b.bias) != Some(self.bias) {
            opts.push(format!("bias={}", self.bias));
        }
        if base.map(|b| b.nonfinite) != Some(self.nonfinite) {
            opts.push(format!("nonfinite={}", self.nonfinite.name()));
        }
        if base.map(|b| b.exp0) != Some(self.exp0) {
            opts.push(format!("subnormals={}", self.exp0.name()));
        }
        if base.map(|b| b.signed) != Some(self.signed) {
            opts.push(format!("signed={}", self.signed));
        }
        if !opts.is_empty() {
            write!(f, ":{}", opts.join(","))?;
        }
        Ok(())
    }
}
