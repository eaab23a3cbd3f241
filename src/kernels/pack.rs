//! Weight packing, done once per weight matrix and timed apart from the
//! product: row-interleaved panels of [`PANEL`] weight rows, so that one
//! vector register holds the same K position of 8 output channels (integer
//! panels: 4 consecutive K positions of each, the `_R8` / "8x8 repack" layout).
//!
//! K is split into the variant's scale groups (one group of K when it has no
//! inner scales); each group is padded to whole 4-element quads (and to whole
//! 32-byte blocks of packed quads), so a quad never straddles a group; the
//! activations' padding is 0, so padding adds nothing to a sum. Panels past N
//! are padded with zero rows whose outputs are dropped.
//!
//! Integer weights are stored at their format's width ([`IntPanels::bits`]):
//! a 32-byte block holds `8 / bits` quads of one panel; quad `s` of a block
//! sits in bits `s·bits .. (s+1)·bits` of every byte, as `code + bias` (bias
//! 8 for 4-bit, 1 for 2-bit, none for 8-bit); 1-bit codes store `code > 0`
//! (binary codes are ±1). Decoding a block is a shift and a mask per quad.

pub use super::bytecode::ByteCode;
use crate::binade::floor_log2;
use crate::tensor::{QOperand, Values};

/// Weight rows per panel: the AVX2 lane count of i32 / f32.
pub const PANEL: usize = 8;

/// How K is cut into scale groups, padded to whole quads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Groups {
    /// Reduction length.
    pub k: usize,
    /// Group length (K when the operands have no inner scales; ≥ 1).
    pub len: usize,
    /// Number of groups, `⌈k / len⌉` (0 when K = 0).
    pub count: usize,
    /// 4-element quads per group, `⌈len / 4⌉`.
    pub quads: usize,
}

impl Groups {
    /// Groups of `len` over `k` (`len = 0` means one group of K).
    pub fn new(k: usize, len: usize) -> Groups {
        Groups::with_quad_multiple(k, len, 1)
    }

    /// [`Groups::new`] with each group's quad count rounded up to a multiple
    /// of `multiple` (the quads in one packed block).
    pub fn with_quad_multiple(k: usize, len: usize, multiple: usize) -> Groups {
        let len = if len == 0 { k } else { len }.max(1);
        Groups {
            k,
            len,
            count: k.div_ceil(len),
            quads: len.div_ceil(4).div_ceil(multiple) * multiple,
        }
    }

    /// Padded elements per row (`count × quads × 4`).
    pub fn padded(&self) -> usize {
        self.count * self.quads * 4
    }

    /// The padded position of K index `kk`.
    #[inline]
    pub fn pos(&self, kk: usize) -> usize {
        let (g, off) = (kk / self.len, kk % self.len);
        g * self.quads * 4 + off
    }

    /// The K range of group `g`.
    pub fn range(&self, g: usize) -> std::ops::Range<usize> {
        g * self.len..((g + 1) * self.len).min(self.k)
    }
}

/// Scales of packed weights, laid out per panel so 8 lanes load at once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PanelScales {
    /// Inner (per group) scales, `[panel][group][8]`; `None` if W has none.
    pub inner: Option<Vec<f32>>,
    /// Outer (per row) scales, `[panel][8]`; `None` if W has none.
    pub outer: Option<Vec<f32>>,
}

impl PanelScales {
    /// Lays out a quantized operand's scales (`inner`: `[row][group]`, `outer`: `[row]`).
    fn of(w: &QOperand, groups: &Groups, panels: usize) -> PanelScales {
        let n = w.rows;
        let inner = w.inner.as_ref().map(|s| {
            let mut out = vec![0f32; panels * groups.count * PANEL];
            for j in 0..n {
                for g in 0..groups.count {
                    out[((j / PANEL) * groups.count + g) * PANEL + j % PANEL] =
                        s[j * groups.count + g];
                }
            }
            out
        });
        let outer = w.outer.as_ref().map(|s| {
            let mut out = vec![0f32; panels * PANEL];
            out[..n].copy_from_slice(&s[..n]);
            out
        });
        PanelScales { inner, outer }
    }
}

/// Integer weights in row-interleaved panels:
/// `[panel][group][block][32 bytes]`, each block `8 / bits` quads of
/// `[8 rows][4]` codes at `bits` per code (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct IntPanels {
    /// Output channels (rows of W).
    pub n: usize,
    /// Number of panels, `⌈n / 8⌉`.
    pub panels: usize,
    /// Storage bits per code: 8, 4, 2 or 1.
    pub bits: u32,
    /// The K grouping (quads per group a multiple of `8 / bits`).
    pub groups: Groups,
    /// Packed blocks.
    pub data: Vec<u8>,
    /// The weight scales.
    pub scales: PanelScales,
}

/// Bytes per packed block (one 256-bit register).
pub const BLOCK: usize = 32;

impl IntPanels {
    /// Packs a quantized weight operand with integer values at `bits` per
    /// code: 8 (codes in −127..=127), 4 (−7..=7), 2 (−1..=1) or 1 (±1).
    ///
    /// # Panics
    /// When the values are not integers, `bits` is not one of those widths,
    /// or a code does not fit it (a registry bug). In particular a −128
    /// never passes: the int8 kernels' sign trick needs −127..=127, which
    /// symmetric quantizers guarantee.
    pub fn pack(w: &QOperand, bits: u32) -> IntPanels {
        let Values::Int(v) = &w.values else {
            panic!("IntPanels::pack: integer weights expected")
        };
        let (lo, hi, bias): (i8, i8, i32) = match bits {
            8 => (-127, 127, 0),
            4 => (-7, 7, 8),
            2 => (-1, 1, 1),
            1 => (-1, 1, 0),
            _ => panic!("IntPanels::pack: {bits} bits per code is not 8, 4, 2 or 1"),
        };
        if let Some(c) = v
            .iter()
            .find(|&&c| c < lo || c > hi || (bits == 1 && c == 0))
        {
            panic!("IntPanels::pack: code {c} does not fit {bits}-bit storage (-128 never does)");
        }
        let (n, k) = (w.rows, w.k);
        let per_block = 8 / bits as usize;
        let groups = Groups::with_quad_multiple(k, w.group, per_block);
        let panels = n.div_ceil(PANEL);
        let panel_len = groups.count * groups.quads / per_block * BLOCK;
        let mut data = vec![0u8; panels * panel_len];
        for j in 0..n {
            for kk in 0..k {
                let pos = groups.pos(kk);
                let (q, b) = (pos / 4, pos % 4);
                let (blk, slot) = (q / per_block, q % per_block);
                let at = (j / PANEL) * panel_len + blk * BLOCK + (j % PANEL) * 4 + b;
                let c = v[j * k + kk] as i32;
                let stored = if bits == 1 { (c > 0) as i32 } else { c + bias };
                let mask = if bits == 8 { 0xff } else { (1 << bits) - 1 };
                data[at] |= ((stored & mask) << (slot as u32 * bits)) as u8;
            }
        }
        IntPanels {
            n,
            panels,
            bits,
            groups,
            data,
            scales: PanelScales::of(w, &groups, panels),
        }
    }

    /// The same weights in 8-bit storage: the same groups (so the same
    /// padded activation layout), scales and codes, each code one byte;
    /// padding codes are 0. Identity for 8-bit panels.
    pub fn widen_to_8(&self) -> IntPanels {
        if self.bits == 8 {
            return self.clone();
        }
        let (g, per_block) = (&self.groups, self.quads_per_block());
        let (pl, pl8) = (self.panel_len(), g.count * g.quads * BLOCK);
        let mask = (1u8 << self.bits) - 1;
        let mut data = vec![0u8; self.panels * pl8];
        for p in 0..self.panels {
            for kk in 0..g.k {
                let pos = g.pos(kk);
                let (q, b) = (pos / 4, pos % 4);
                let (blk, slot) = (q / per_block, q % per_block);
                // Rows past n stay 0, as `pack` leaves them.
                for l in 0..PANEL.min(self.n - p * PANEL) {
                    let byte = self.data[p * pl + blk * BLOCK + l * 4 + b];
                    let f = ((byte >> (slot as u32 * self.bits)) & mask) as i32;
                    // The stored field's value (see `pack`).
                    let c = match self.bits {
                        4 => f - 8,
                        2 => f - 1,
                        _ => 2 * f - 1,
                    };
                    data[p * pl8 + q * BLOCK + l * 4 + b] = c as i8 as u8;
                }
            }
        }
        IntPanels {
            n: self.n,
            panels: self.panels,
            bits: 8,
            groups: self.groups,
            data,
            scales: self.scales.clone(),
        }
    }

    /// Quads per packed block.
    pub fn quads_per_block(&self) -> usize {
        8 / self.bits as usize
    }

    /// Bytes of one panel's packed codes.
    pub fn panel_len(&self) -> usize {
        self.groups.count * self.groups.quads / self.quads_per_block() * BLOCK
    }

    /// Bytes of one group's packed codes within a panel.
    pub fn group_len(&self) -> usize {
        self.groups.quads / self.quads_per_block() * BLOCK
    }

    /// Bytes the product streams: codes plus scales.
    pub fn bytes(&self) -> usize {
        self.data.len()
            + 4 * self.scales.inner.as_ref().map_or(0, Vec::len)
            + 4 * self.scales.outer.as_ref().map_or(0, Vec::len)
    }
}

/// How float weight values are stored in panels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloatStorage {
    /// f32 values.
    F32,
    /// bf16 bit patterns (the top half of the f32): for values exact in bf16.
    Bf16,
    /// IEEE fp16 bit patterns: for values exact in fp16.
    F16,
    /// One byte per value (see [`ByteCode`]): for values one of the codes
    /// holds exactly ([`ByteCode::fit`]).
    Byte(ByteCode),
    /// Two FP4 E2M1 codes per byte ([`super::bytecode::E2M1_VALUES`]), a
    /// panel's even row in the low half and the next row in the high half:
    /// for values that are all E2M1 values (FP4, MXFP4, NVFP4 elements).
    Nibble,
}

impl FloatStorage {
    /// Bits per stored value.
    pub fn bits(self) -> usize {
        match self {
            FloatStorage::F32 => 32,
            FloatStorage::Byte(_) => 8,
            FloatStorage::Nibble => 4,
            _ => 16,
        }
    }
}

/// Panels per float super-panel: float weights are stored K-major in
/// super-panels of this many panels, `[super][k][panel][8 rows]`, so that a
/// register tile's weights at one K position (up to 16 panels, one GEMV
/// tile) are one contiguous run and a GEMV task streams memory in order.
pub const SUPER: usize = 16;

/// Float weights in panels, K-major in super-panels ([`SUPER`]):
/// `[super][k][panel][8 rows]` (the last super-panel holds the remaining panels).
#[derive(Debug, Clone, PartialEq)]
pub struct FloatPanels {
    /// Output channels (rows of W).
    pub n: usize,
    /// Reduction length.
    pub k: usize,
    /// Number of panels, `⌈n / 8⌉`.
    pub panels: usize,
    /// The K grouping (no quad padding is used for floats).
    pub groups: Groups,
    /// Values, `[panel][k][row]` (f32 storage; empty otherwise).
    pub data: Vec<f32>,
    /// 16-bit patterns, `[panel][k][row]` (bf16 / fp16 storage; empty otherwise).
    pub half: Vec<u16>,
    /// Byte codes, `[panel][k][row]` (byte storage), or two E2M1 codes per
    /// byte in the same order (nibble storage); empty otherwise.
    pub codes: Vec<u8>,
    /// How values are stored.
    pub storage: FloatStorage,
    /// The weight scales.
    pub scales: PanelScales,
    /// Smallest and largest exponent (⌊log2|w|⌋) of the nonzero weights, or
    /// `None` when a weight is not finite: the float kernels' precondition
    /// for fusing a multiply into an add (see [`super::float`]).
    pub exp_range: Option<(i32, i32)>,
}

impl FloatPanels {
    /// Packs weight values (`n × k`, row-major) with their scales, stored
    /// as `storage`.
    ///
    /// # Panics
    /// When a value is not exact in a 16-bit or byte `storage` (a registry bug).
    pub fn pack(w: &QOperand, values: &[f32], storage: FloatStorage) -> FloatPanels {
        let (n, k) = (w.rows, w.k);
        let groups = Groups::new(k, w.group);
        let panels = n.div_ceil(PANEL);
        let at = |j: usize, kk: usize| {
            let p = j / PANEL;
            let (view, stride) = super_view(panels, k, p);
            view + kk * stride + j % PANEL
        };
        let (mut data, mut half, mut codes) = (vec![], vec![], vec![]);
        match storage {
            FloatStorage::F32 => {
                data = vec![0f32; panels * k * PANEL];
                for j in 0..n {
                    for kk in 0..k {
                        data[at(j, kk)] = values[j * k + kk];
                    }
                }
            }
            FloatStorage::Bf16 | FloatStorage::F16 => {
                half = vec![0u16; panels * k * PANEL];
                for j in 0..n {
                    for kk in 0..k {
                        let x = values[j * k + kk];
                        let h = to_half(storage, x);
                        assert!(
                            half_value(storage, h).to_bits() == x.to_bits() || x.is_nan(),
                            "FloatPanels::pack: {x:e} is not exact in {storage:?}"
                        );
                        half[at(j, kk)] = h;
                    }
                }
            }
            FloatStorage::Byte(code) => {
                codes = vec![0u8; panels * k * PANEL];
                let table = code.table();
                for j in 0..n {
                    for kk in 0..k {
                        let x = values[j * k + kk];
                        codes[at(j, kk)] = code.encode_with(&table, x).unwrap_or_else(|| {
                            panic!("FloatPanels::pack: {x:e} is not exact in {code:?}")
                        });
                    }
                }
            }
            FloatStorage::Nibble => {
                // Value positions are even at every panel row 0 (a panel is
                // 8 values), so a row pair shares one byte.
                codes = vec![0u8; panels * k * PANEL / 2];
                for j in 0..n {
                    for kk in 0..k {
                        let x = values[j * k + kk];
                        let c = super::bytecode::e2m1_code(x).unwrap_or_else(|| {
                            panic!("FloatPanels::pack: {x:e} is not an E2M1 value")
                        });
                        let at = at(j, kk);
                        codes[at / 2] |= c << (4 * (at % 2));
                    }
                }
            }
        }
        FloatPanels {
            n,
            k,
            panels,
            groups,
            data,
            half,
            codes,
            storage,
            scales: PanelScales::of(w, &groups, panels),
            exp_range: exp_range(values),
        }
    }

    /// Bytes the product streams (values plus scales).
    pub fn bytes(&self) -> usize {
        4 * self.data.len()
            + 2 * self.half.len()
            + self.codes.len()
            + 4 * (self.scales.inner.as_ref().map_or(0, Vec::len)
                + self.scales.outer.as_ref().map_or(0, Vec::len))
    }
}

/// Where panel `p` of `panels` float panels over `k` starts (in values) and
/// how many values one K step advances, in the super-panel layout ([`SUPER`]).
pub fn super_view(panels: usize, k: usize, p: usize) -> (usize, usize) {
    let sp = p / SUPER;
    let width = SUPER.min(panels - sp * SUPER);
    (sp * SUPER * k * PANEL + (p % SUPER) * PANEL, width * PANEL)
}

/// The 16-bit pattern of `x` in `storage` (truncating for bf16: callers
/// pass values exact in it).
fn to_half(storage: FloatStorage, x: f32) -> u16 {
    match storage {
        FloatStorage::Bf16 => (x.to_bits() >> 16) as u16,
        _ => half::f16::from_f32(x).to_bits(),
    }
}

/// The f32 value of a 16-bit pattern (exact).
#[inline(always)]
pub fn half_value(storage: FloatStorage, h: u16) -> f32 {
    match storage {
        FloatStorage::Bf16 => f32::from_bits((h as u32) << 16),
        _ => half::f16::from_bits(h).to_f32(),
    }
}

/// Smallest and largest `⌊log2|x|⌋` of the nonzero values; `None` when a
/// value is not finite. All-zero input gives `Some((i32::MAX, i32::MIN))`.
pub fn exp_range(xs: &[f32]) -> Option<(i32, i32)> {
    let mut lo = i32::MAX;
    let mut hi = i32::MIN;
    for &x in xs {
        if !x.is_finite() {
            return None;
        }
        if x != 0.0 {
            let e = floor_log2(x);
            lo = lo.min(e);
            hi = hi.max(e);
        }
    }
    Some((lo, hi))
}
