//! Weight packing, done once per weight matrix and timed apart from the
//! product: row-interleaved panels of [`PANEL`] weight rows, so that one
//! vector register holds the same K position of 8 output channels (integer
//! panels: 4 consecutive K positions of each, the `_R8` / "8x8 repack" layout).
//!
//! K is split into the variant's scale groups (one group of K when it has no
//! inner scales); each group is padded with zeros to whole 4-byte quads, so a
//! quad never straddles a group and padding adds nothing to a sum. Panels past
//! N are padded with zero rows whose outputs are dropped.

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
        let len = if len == 0 { k } else { len }.max(1);
        Groups {
            k,
            len,
            count: k.div_ceil(len),
            quads: len.div_ceil(4),
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

/// Integer weights in row-interleaved panels: `[panel][group][quad][8 rows][4]`.
#[derive(Debug, Clone, PartialEq)]
pub struct IntPanels {
    /// Output channels (rows of W).
    pub n: usize,
    /// Number of panels, `⌈n / 8⌉`.
    pub panels: usize,
    /// The K grouping.
    pub groups: Groups,
    /// Codes, `[panel][group][quad][row][4]`.
    pub data: Vec<i8>,
    /// The weight scales.
    pub scales: PanelScales,
}

impl IntPanels {
    /// Packs a quantized weight operand with integer values.
    ///
    /// # Panics
    /// When the values are not integers, or a code is −128 (the int8
    /// kernels' sign trick needs −127..=127; symmetric quantizers never
    /// produce −128, so this is a registry bug).
    pub fn pack(w: &QOperand) -> IntPanels {
        let Values::Int(v) = &w.values else {
            panic!("IntPanels::pack: integer weights expected")
        };
        assert!(
            !v.contains(&i8::MIN),
            "IntPanels::pack: a weight code is -128 (symmetric codes only)"
        );
        let (n, k) = (w.rows, w.k);
        let groups = Groups::new(k, w.group);
        let panels = n.div_ceil(PANEL);
        let per_panel = groups.padded() * PANEL;
        let mut data = vec![0i8; panels * per_panel];
        for j in 0..n {
            let base = (j / PANEL) * per_panel + (j % PANEL) * 4;
            for kk in 0..k {
                let pos = groups.pos(kk);
                data[base + (pos / 4) * PANEL * 4 + pos % 4] = v[j * k + kk];
            }
        }
        IntPanels {
            n,
            panels,
            groups,
            data,
            scales: PanelScales::of(w, &groups, panels),
        }
    }

    /// Bytes of one panel's codes.
    pub fn panel_len(&self) -> usize {
        self.groups.padded() * PANEL
    }

    /// Bytes the product streams: codes plus scales.
    pub fn bytes(&self) -> usize {
        self.data.len()
            + 4 * self.scales.inner.as_ref().map_or(0, Vec::len)
            + 4 * self.scales.outer.as_ref().map_or(0, Vec::len)
    }
}

/// Float weights in panels, K-major: `[panel][k][8 rows]`.
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
    /// Values, `[panel][k][row]`.
    pub data: Vec<f32>,
    /// The weight scales.
    pub scales: PanelScales,
    /// Smallest and largest exponent (⌊log2|w|⌋) of the nonzero weights, or
    /// `None` when a weight is not finite: the float kernels' precondition
    /// for fusing a multiply into an add (see [`super::float`]).
    pub exp_range: Option<(i32, i32)>,
}

impl FloatPanels {
    /// Packs weight values (`n × k`, row-major) with their scales.
    pub fn pack(w: &QOperand, values: &[f32]) -> FloatPanels {
        let (n, k) = (w.rows, w.k);
        let groups = Groups::new(k, w.group);
        let panels = n.div_ceil(PANEL);
        let mut data = vec![0f32; panels * k * PANEL];
        for j in 0..n {
            for kk in 0..k {
                data[((j / PANEL) * k + kk) * PANEL + j % PANEL] = values[j * k + kk];
            }
        }
        FloatPanels {
            n,
            k,
            panels,
            groups,
            data,
            scales: PanelScales::of(w, &groups, panels),
            exp_range: exp_range(values),
        }
    }

    /// Bytes the product streams (f32 values plus scales).
    pub fn bytes(&self) -> usize {
        4 * (self.data.len()
            + self.scales.inner.as_ref().map_or(0, Vec::len)
            + self.scales.outer.as_ref().map_or(0, Vec::len))
    }
}

/// `⌊log2|x|⌋` of a finite nonzero f32, from its bits (subnormals included).
#[inline]
pub fn exponent(x: f32) -> i32 {
    let b = x.to_bits() & 0x7fff_ffff;
    let e = (b >> 23) as i32;
    if e == 0 {
        // Subnormal: the value is m · 2^-149 with m < 2^23.
        -149 + (31 - b.leading_zeros() as i32)
    } else {
        e - 127
    }
}

/// Smallest and largest [`exponent`] of the nonzero values; `None` when a
/// value is not finite. All-zero input gives `Some((i32::MAX, i32::MIN))`.
pub fn exp_range(xs: &[f32]) -> Option<(i32, i32)> {
    let mut lo = i32::MAX;
    let mut hi = i32::MIN;
    for &x in xs {
        if !x.is_finite() {
            return None;
        }
        if x != 0.0 {
            let e = exponent(x);
            lo = lo.min(e);
            hi = hi.max(e);
        }
    }
    Some((lo, hi))
}
