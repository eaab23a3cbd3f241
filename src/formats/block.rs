//! Block-scaled format descriptions: OCP MX v1.0 (k = 32, E8M0 scale) and
//! NVIDIA NVFP4 (E2M1, blocks of 16, E4M3 scale, f32 tensor scale).

use super::{ElementFormat, FormatError, MiniFloat};
use std::str::FromStr;

/// How an MX block's shared exponent X is chosen from the block's amax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScaleRule {
    /// OCP MX v1.0 default: X = floor(log2(amax)) − emax_elem.
    Floor,
    /// X = ceil(log2(amax)) − emax_elem (torchao `CEIL`).
    Ceil,
    /// X = ceil(log2(amax / max_elem)), the quotient rounded to f32 first
    /// (NVIDIA `cvt.rp.satfinite.ue8m0x2.f32`).
    Rceil,
    /// amax rounded half-up to the element's mantissa width, then floor
    /// (torchao `EVEN`).
    Even,
}

impl ScaleRule {
    /// The name used in format strings (`rule=…`).
    pub fn name(self) -> &'static str {
        match self {
            ScaleRule::Floor => "floor",
            ScaleRule::Ceil => "ceil",
            ScaleRule::Rceil => "rceil",
            ScaleRule::Even => "even",
        }
    }
}

impl FromStr for ScaleRule {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Self, FormatError> {
        match s {
            "floor" => Ok(ScaleRule::Floor),
            "ceil" => Ok(ScaleRule::Ceil),
            "rceil" => Ok(ScaleRule::Rceil),
            "even" => Ok(ScaleRule::Even),
            _ => Err(FormatError::BadOption(format!(
                "unknown scale rule '{s}' (expected floor, ceil, rceil or even)"
            ))),
        }
    }
}

/// Which block-scaling scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockKind {
    /// OCP Microscaling: power-of-two E8M0 scale per block.
    Mx,
    /// NVFP4: E4M3 block scale times an f32 per-tensor scale.
    Nv,
}

/// A block-scaled format.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockFormat {
    /// Preset name (`mxfp4`, `nvfp4`, …).
    pub name: &'static str,
    /// MX or NVFP4.
    pub kind: BlockKind,
    /// Element format.
    pub element: ElementFormat,
    /// log2 of the element's implicit scale (MXINT8: −6, i.e. value = code × 2^−6); 0 otherwise.
    pub element_scale_log2: i32,
    /// Elements per block.
    pub block_size: usize,
    /// Block scale format (E8M0 for MX, E4M3 for NVFP4).
    pub scale: MiniFloat,
    /// Shared-exponent rule (MX only).
    pub rule: ScaleRule,
}

impl BlockFormat {
    /// Bits per element including the amortized block scale (not the NVFP4 tensor scale).
    pub fn bits_per_element(&self) -> f64 {
        self.element.bits() as f64 + self.scale.bits() as f64 / self.block_size as f64
    }
}

impl std::fmt::Display for BlockFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let default_block = match self.kind {
            BlockKind::Mx => 32,
            BlockKind::Nv => 16,
        };
        let mut opts = Vec::new();
        if self.kind == BlockKind::Mx && self.rule != ScaleRule::Floor {
            opts.push(format!("rule={}", self.rule.name()));
        }
        if self.block_size != default_block {
            opts.push(format!("block={}", self.block_size));
        }
        if opts.is_empty() {
            write!(f, "{}", self.name)
        } else {
            write!(f, "{}:{}", self.name, opts.join(","))
        }
    }
}
