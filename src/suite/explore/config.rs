//! One point of the explorer's design space: an element format, a block
//! (scale group) size, a scale format and a scale rule; its name, its
//! storage bits and its energy per MAC.
//!
//! Names are `ELEMENT/BLOCK/SCALE/RULE`, e.g. `e2m1/g32/e8m0/floor` (MXFP4),
//! `int4/g128/f32/absmax`, `uint4/g32/fp16/minmax` (asymmetric). Elements:
//! any minifloat of the format grammar (`e2m1`, `e3m2:nonfinite=finite`…),
//! `intN` (two's complement, range −2^(N−1) … 2^(N−1) − 1), `intN:symmetric`
//! (±(2^(N−1) − 1)), `uintN` (asymmetric: per group a step d and an offset m,
//! value = code × d + m). Blocks: `tensor`, `channel` (one scale per row),
//! `gN`. Rules: `floor`, `ceil`, `rceil`, `even` (power-of-two scales, OCP MX
//! rules), `absmax` (amax / element max rounded up into the scale format),
//! `mse` (the candidate with the least squared error per group: X − 1, X,
//! X + 1 around the floor rule's X for power-of-two scales; amax × {1, 15/16,
//! 7/8, 13/16, 3/4} for the others), `minmax` (asymmetric integers), `nv`
//! (NVFP4's two-level scale: block scale × an f32 tensor scale).

use crate::arith::op::OpKind;
use crate::formats::{parse, ElementFormat, IntFormat, IntKind, MiniFloat, ScaleRule};
use crate::hw::energy::EnergyTable;

/// An element format of the explorer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Element {
    /// A minifloat of at most 8 bits.
    Float(MiniFloat),
    /// A signed integer; `symmetric` leaves out −2^(N−1).
    Int {
        /// Width.
        bits: u32,
        /// ±(2^(N−1) − 1) instead of two's complement's full range.
        symmetric: bool,
    },
    /// An unsigned integer code with a per-group step and offset (asymmetric).
    Asym {
        /// Width.
        bits: u32,
    },
}

impl Element {
    /// Bits per code.
    pub fn bits(&self) -> u32 {
        match self {
            Element::Float(f) => f.bits(),
            Element::Int { bits, .. } | Element::Asym { bits } => *bits,
        }
    }

    /// The largest magnitude a code stands for (before scaling).
    pub fn max_value(&self) -> f64 {
        match self {
            Element::Float(f) => f.max_value(),
            Element::Int { bits, .. } => ((1u64 << (bits - 1)) - 1) as f64,
            Element::Asym { bits } => ((1u64 << bits) - 1) as f64,
        }
    }

    /// As a format-layer element (signed formats only).
    pub fn as_format(&self) -> Option<ElementFormat> {
        match *self {
            Element::Float(f) => Some(ElementFormat::Float(f)),
            Element::Int { bits, symmetric } => Some(ElementFormat::Int(IntFormat {
                kind: IntKind::Signed { bits, symmetric },
            })),
            Element::Asym { .. } => None,
        }
    }

    /// Parses `e2m1`, `int4`, `int4:symmetric`, `uint4`.
    pub fn parse(s: &str) -> Result<Element, String> {
        if let Some(rest) = s.strip_prefix("uint") {
            let bits: u32 = rest
                .parse()
                .map_err(|_| format!("element '{s}': expected uintN"))?;
            if !(2..=8).contains(&bits) {
                return Err(format!("element '{s}': integers take 2 to 8 bits"));
            }
            return Ok(Element::Asym { bits });
        }
        match parse::parse_element(s).map_err(|e| format!("element '{s}': {e}"))? {
            ElementFormat::Float(f) => {
                if f.bits() > 8 || !f.signed {
                    return Err(format!(
                        "element '{s}': the explorer takes signed minifloats of at most 8 bits"
                    ));
                }
                Ok(Element::Float(f))
            }
            ElementFormat::Int(i) => match i.kind {
                IntKind::Signed { bits, symmetric } if (2..=8).contains(&bits) => {
                    Ok(Element::Int { bits, symmetric })
                }
                _ => Err(format!(
                    "element '{s}': integers are intN, intN:symmetric or uintN with 2 <= N <= 8"
                )),
            },
        }
    }
}

impl std::fmt::Display for Element {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Element::Float(m) => write!(f, "{m}"),
            Element::Int {
                bits,
                symmetric: false,
            } => write!(f, "int{bits}"),
            Element::Int {
                bits,
                symmetric: true,
            } => write!(f, "int{bits}:symmetric"),
            Element::Asym { bits } => write!(f, "uint{bits}"),
        }
    }
}

/// Which elements share a scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    /// One scale for the whole tensor.
    Tensor,
    /// One scale per row (output channel of a weight, token of an activation).
    Channel,
    /// One scale per `n` consecutive elements of a row (the last may be short).
    Size(usize),
}

impl Block {
    /// Parses `tensor`, `channel`, `gN`.
    pub fn parse(s: &str) -> Result<Block, String> {
        match s {
            "tensor" => Ok(Block::Tensor),
            "channel" => Ok(Block::Channel),
            _ => {
                let n: usize = s
                    .strip_prefix('g')
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| format!("block '{s}': expected tensor, channel or gN"))?;
                if !(2..=1 << 20).contains(&n) {
                    return Err(format!("block '{s}': block sizes run from 2 to 2^20"));
                }
                Ok(Block::Size(n))
            }
        }
    }
}

impl std::fmt::Display for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Block::Tensor => write!(f, "tensor"),
            Block::Channel => write!(f, "channel"),
            Block::Size(n) => write!(f, "g{n}"),
        }
    }
}

/// How a group's scale is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// A power-of-two (E8M0-style) scale by an OCP MX rule.
    Pow2(ScaleRule),
    /// amax / element max, rounded up into the scale format.
    Absmax,
    /// The least-squared-error candidate (see the module docs).
    Mse,
    /// Asymmetric integers: step (max − min) / (2^N − 1) rounded up, offset
    /// min rounded down, both in the scale format.
    MinMax,
    /// NVFP4-style: block scale in the scale format times an f32 tensor scale.
    Nv,
}

impl Rule {
    /// Parses a rule name.
    pub fn parse(s: &str) -> Result<Rule, String> {
        Ok(match s {
            "absmax" => Rule::Absmax,
            "mse" => Rule::Mse,
            "minmax" => Rule::MinMax,
            "nv" => Rule::Nv,
            _ => Rule::Pow2(s.parse().map_err(|_| {
                format!("rule '{s}': expected floor, ceil, rceil, even, absmax, mse, minmax or nv")
            })?),
        })
    }

    /// The rule's name.
    pub fn name(&self) -> &'static str {
        match self {
            Rule::Pow2(r) => r.name(),
            Rule::Absmax => "absmax",
            Rule::Mse => "mse",
            Rule::MinMax => "minmax",
            Rule::Nv => "nv",
        }
    }
}

/// Whether a scale format holds powers of two only (E8M0-style).
pub fn is_pow2_scale(f: &MiniFloat) -> bool {
    f.mbits == 0 && !f.signed
}

/// One configuration of the design space.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// Element format.
    pub element: Element,
    /// Scale groups.
    pub block: Block,
    /// Scale format.
    pub scale: MiniFloat,
    /// Scale rule.
    pub rule: Rule,
}

/// The formats in common use, by name, as explorer configurations; the
/// report marks them on every chart. Q4_0 and Q8_0 are ggml's block
/// layouts (32 elements, an fp16 scale) with bitsim's rounding (RNE of the
/// exact quotient, ggml rounds half away from zero from a float product) and
/// Q4_0's scale by absmax / 7 (ggml divides the signed max by −8).
pub const KNOWN: &[(&str, &str)] = &[
    ("MXFP4", "e2m1/g32/e8m0/floor"),
    ("NVFP4", "e2m1/g16/e4m3/nv"),
    ("MXFP6", "e2m3/g32/e8m0/floor"),
    ("MXFP8", "e4m3/g32/e8m0/floor"),
    ("FP8 E4M3", "e4m3/tensor/f32/absmax"),
    ("INT4 g128", "int4/g128/f32/absmax"),
    ("Q4_0", "int4/g32/fp16/absmax"),
    ("Q8_0", "int8:symmetric/g32/fp16/absmax"),
];

impl Config {
    /// Parses `ELEMENT/BLOCK/SCALE/RULE` and checks the combination.
    pub fn parse(s: &str) -> Result<Config, String> {
        let parts: Vec<&str> = s.split('/').collect();
        let [e, b, sc, r] = parts[..] else {
            return Err(format!(
                "configuration '{s}': expected ELEMENT/BLOCK/SCALE/RULE"
            ));
        };
        let scale = match parse::parse_element(sc).map_err(|e| format!("scale '{sc}': {e}"))? {
            ElementFormat::Float(f) => f,
            ElementFormat::Int(_) => {
                return Err(format!("scale '{sc}': a scale format is a minifloat"))
            }
        };
        let c = Config {
            element: Element::parse(e)?,
            block: Block::parse(b)?,
            scale,
            rule: Rule::parse(r)?,
        };
        c.check().map_err(|e| format!("configuration '{s}': {e}"))?;
        Ok(c)
    }

    /// Whether element, scale and rule go together.
    pub fn check(&self) -> Result<(), String> {
        let pow2 = is_pow2_scale(&self.scale);
        match (self.rule, &self.element) {
            (Rule::MinMax, Element::Asym { .. }) if !pow2 && self.scale.signed => Ok(()),
            (Rule::MinMax, _) | (_, Element::Asym { .. }) => Err(
                "asymmetric integers (uintN) take rule minmax with a signed scale format, and only they do"
                    .into(),
            ),
            (Rule::Pow2(_), _) if !pow2 => Err(format!(
                "rule {} needs a power-of-two scale format (e8m0), not {}",
                self.rule.name(),
                self.scale
            )),
            (Rule::Absmax, _) if pow2 => Err(format!(
                "rule absmax rounds into the scale format; {} holds powers of two only (use floor, ceil, rceil, even or mse)",
                self.scale
            )),
            (Rule::Nv, Element::Float(_))
                if self.scale.bits() <= 8 && self.scale.has_nan() && self.block != Block::Tensor =>
            {
                Ok(())
            }
            (Rule::Nv, _) => Err(
                "rule nv takes a minifloat element, blocks, and an 8-bit scale format with NaN (e4m3)"
                    .into(),
            ),
            _ => Ok(()),
        }
    }

    /// Scale fields stored per group (asymmetric integers store two).
    pub fn scales_per_group(&self) -> u32 {
        match self.element {
            Element::Asym { .. } => 2,
            _ => 1,
        }
    }

    /// Storage bits per element of a `rows × cols` tensor, scales included
    /// (and NVFP4's f32 tensor scale).
    pub fn bits_per_element(&self, rows: usize, cols: usize) -> f64 {
        let n = (rows * cols).max(1) as f64;
        let groups = match self.block {
            Block::Tensor => 1,
            Block::Channel => rows,
            Block::Size(g) => rows * cols.div_ceil(g),
        } as f64;
        let tensor = if self.rule == Rule::Nv { 32.0 } else { 0.0 };
        self.element.bits() as f64
            + (groups * (self.scale.bits() * self.scales_per_group()) as f64 + tensor) / n
    }

    /// Bits per element for a block size alone (scales of `tensor` and
    /// `channel` groups counted as free): what the `max_bits` constraint reads.
    pub fn nominal_bits(&self) -> f64 {
        match self.block {
            Block::Size(g) => {
                self.element.bits() as f64
                    + (self.scale.bits() * self.scales_per_group()) as f64 / g as f64
            }
            _ => self.element.bits() as f64,
        }
    }

    /// Energy of one MAC with both operands in this element format, pJ:
    /// the multiply (float: the table's rule for an `eXmY` multiplier;
    /// integer: N × N bits), the accumulation (f32 add for floats, a 32-bit
    /// integer add for integers) and, per block, one f32 multiply applying
    /// the scale (amortised over the block). Data movement is separate
    /// ([`Config::move_pj_per_element`]).
    pub fn mac_pj(&self, t: &EnergyTable) -> f64 {
        let f32_mul = t
            .pj(OpKind::FpMul {
                ebits: 8,
                mbits: 23,
            })
            .0;
        let (mul, add) = match self.element {
            Element::Float(f) => (
                t.pj(OpKind::FpMul {
                    ebits: f.ebits,
                    mbits: f.mbits,
                })
                .0,
                t.pj(OpKind::FpAdd {
                    ebits: 8,
                    mbits: 23,
                })
                .0,
            ),
            Element::Int { bits, .. } | Element::Asym { bits } => (
                t.pj(OpKind::IntMul { a: bits, b: bits }).0,
                t.pj(OpKind::IntAdd { bits: 32 }).0,
            ),
        };
        let per_block = match self.block {
            Block::Size(g) => f32_mul / g as f64,
            // Once per output element, amortised over a long reduction: negligible.
            _ => 0.0,
        };
        mul + add + per_block
    }

    /// DRAM energy of moving one element (its bits, scales included, at the
    /// table's DRAM pJ per byte), pJ, for a `rows × cols` tensor.
    pub fn move_pj_per_element(&self, t: &EnergyTable, rows: usize, cols: usize) -> f64 {
        self.bits_per_element(rows, cols) / 8.0 * t.dram_pj_per_byte().0
    }
}

impl std::fmt::Display for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.element,
            self.block,
            self.scale,
            self.rule.name()
        )
    }
}

/// The known format a configuration is, if any (by name).
pub fn known_name(name: &str) -> Option<&'static str> {
    KNOWN.iter().find(|(_, c)| *c == name).map(|(k, _)| *k)
}

/// Parses a configuration given as an error-free constant (tests, presets).
pub fn must(s: &str) -> Config {
    Config::parse(s).unwrap_or_else(|e| panic!("{e}"))
}
