//! What the closed forms ([`crate::hw::iomodel`]) and the address generators
//! ([`crate::hw::tracegen`]) share: the size of one stored element of a
//! format, block scales included (the unit that turns word counts into byte
//! counts and cache bytes into words), and the tile shapes of the schedules.
//! Both sides import this file and neither imports the other for it.

use crate::formats::{parse, ElementFormat, Format};
use serde::{Deserialize, Serialize};

/// Storage size of one element: its code bits plus, for block-scaled
/// formats, its share of the block's scale.
///
/// NVFP4's single f32 per-tensor scale is not counted (4 bytes per tensor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementSize {
    /// The format's name as given (`f32` when none was).
    pub name: String,
    /// The element format (for block formats, the format of one element),
    /// kept so that callers need not parse the name again.
    pub element: ElementFormat,
    /// Bits of one element code.
    pub bits: u32,
    /// Elements per block sharing one scale; `0` when there is no block scale.
    pub block: u32,
    /// Bits of one block scale (`0` when there is none).
    pub scale_bits: u32,
}

impl ElementSize {
    /// f32 elements (the default when no format is named).
    pub fn f32() -> Self {
        ElementSize {
            name: "f32".into(),
            element: ElementFormat::Float(crate::formats::parse::F32),
            bits: 32,
            block: 0,
            scale_bits: 0,
        }
    }

    /// The element size of a format in the format grammar (`e4m3`, `bf16`,
    /// `mxfp4`, `int4`); `None` means f32. The error is the format
    /// grammar's; the caller names the flag or key it came from.
    pub fn parse(format: Option<&str>) -> Result<Self, String> {
        let Some(name) = format else {
            return Ok(Self::f32());
        };
        match parse(name).map_err(|e| e.to_string())? {
            Format::Element(e) => Ok(ElementSize {
                name: name.to_string(),
                element: e,
                bits: e.bits(),
                block: 0,
                scale_bits: 0,
            }),
            Format::Block(b) => Ok(ElementSize {
                name: name.to_string(),
                element: b.element,
                bits: b.element.bits(),
                block: b.block_size as u32,
                scale_bits: b.scale.bits(),
            }),
        }
    }

    /// Bits per element including the amortized block scale (mxfp4: 4.25).
    pub fn bits_per_element(&self) -> f64 {
        if self.block == 0 {
            self.bits as f64
        } else {
            self.bits as f64 + self.scale_bits as f64 / self.block as f64
        }
    }

    /// Bytes of `words` elements: `words × bits_per_element / 8` (not rounded).
    pub fn bytes(&self, words: u64) -> f64 {
        words as f64 * self.bits_per_element() / 8.0
    }

    /// How many whole elements (scales included) `bytes` bytes hold: the
    /// fast-memory size M in words of a cache of `bytes` bytes.
    pub fn words_in(&self, bytes: u64) -> u64 {
        // Integer arithmetic: bits per block = bits·block + scale_bits.
        let (num, den) = if self.block == 0 {
            (self.bits as u128, 1u128)
        } else {
            (
                self.bits as u128 * self.block as u128 + self.scale_bits as u128,
                self.block as u128,
            )
        };
        (bytes as u128 * 8 * den / num) as u64
    }
}

/// Tiles of the blocked product: a `bm`×`bn` block of C stays in fast memory
/// while `bm`×`bk` blocks of A and `bk`×`bn` blocks of B stream past it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatmulTiles {
    /// Rows of a C tile (and of an A tile).
    pub bm: u64,
    /// Columns of a C tile (and of a B tile).
    pub bn: u64,
    /// Reduction slice (columns of an A tile, rows of a B tile).
    pub bk: u64,
}

/// FlashAttention tile sizes: `b_c` rows of K and V, `b_r` rows of Q and O.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlashTiles {
    /// Key/value rows per block (B_c).
    pub b_c: u64,
    /// Query/output rows per block (B_r).
    pub b_r: u64,
}

/// The paper's tiles for M words of fast memory: B_c = ⌈M/4d⌉,
/// B_r = min(B_c, d) (both at least 1).
pub fn flash_tiles_paper(m_words: u64, d: u64) -> FlashTiles {
    let b_c = m_words.div_ceil(4 * d.max(1)).max(1);
    FlashTiles {
        b_c,
        b_r: b_c.min(d).max(1),
    }
}
