//! ggml's ternary block formats TQ2_0 and TQ1_0 (BitNet b1.58 / TriLM
//! weights) and the Q8_K activation blocks their dot products take,
//! byte for byte as ggml's reference code (`ggml-quants.c`) writes them.
//!
//! A block holds 256 weights (`QK_K`) and an fp16 scale `d`, stored after
//! the codes as in ggml's structs. Each weight is a trit code `c` in
//! {0, 1, 2} standing for `c − 1` ∈ {−1, 0, +1}:
//!
//! - **TQ2_0** (66 bytes, 2.0625 bits/weight): `qs[64]`, 2 bits a weight.
//!   Element `e` of the block sits in byte `32·(e / 128) + e % 32`, bits
//!   `2·((e % 128) / 32)`; decoded `(qs >> 2n) & 3`.
//! - **TQ1_0** (54 bytes, 1.6875 bits/weight): `qs[48]` with 5 trits a byte
//!   and `qh[4]` with 4. Bytes `qs[0..32]` hold elements `m + 32n` (n = 0..5,
//!   trit n most significant first), `qs[32..48]` elements `160 + m + 16n`,
//!   `qh[j]` elements `240 + j + 4n` (n = 0..4, then a zero trit). A byte is
//!   the base-3 number of its trits, `v` ≤ 242, stored as `⌈256·v / 243⌉`
//!   so that trit n decodes as `((q · 3ⁿ mod 256) · 3) >> 8` — multiply by
//!   a power of 3 and take the high part, as ggml decodes it.
//!
//! Quantization (`quantize_row_tq2_0_ref` / `tq1_0_ref`): `amax` is the
//! running `MAX(amax, |x|)` of C's macro (`a > b ? a : b`: a NaN is kept
//! only until the next element); `d = amax` (stored as fp16, RNE);
//! `id = d ? 1/d : 0` in f32; each trit `lroundf(x · id) + 1` (ties away
//! from zero, so `|x| = d/2` rounds to ±1). Where ggml's C is not defined
//! by the language, these functions take what ggml compiles to on x86-64
//! (gcc, glibc) and say so: `lroundf` of NaN or of a value beyond `long`
//! returns `LONG_MIN`, whose conversion to `int` is 0, so such an element
//! gets code 1 (weight 0) — that happens for a NaN or inf element, and for
//! every element of a block whose `1/amax` overflows (amax < 2^−128, where
//! the fp16 `d` is 0 anyway). Codes beyond 2 arise only after a NaN hid the
//! block's true maximum (`x · id` then exceeds 1.5): TQ2_0 keeps
//! `(xi & 3)` (code 3 decodes as weight +2, as in ggml's dot), TQ1_0 wraps
//! its byte arithmetic mod 256 as C's `uint8_t` does.
//!
//! Q8_K (`quantize_row_q8_K_ref`): 256 values, `max` = the first element
//! of largest |x| (strict `>`, so NaN never wins); an all-zero block has
//! `d = 0` and zero codes; otherwise `iscale = −127 / max`, codes
//! `MIN(127, nearest_int(iscale · x))` with ggml's `nearest_int` bit trick
//! (`bits(v + 12582912) & 0x7FFFFF − 0x400000`: round half to even for
//! |v| < 2^22, and 0 for NaN, which ggml's debug assert would reject),
//! converted to int8 by truncation; `d = 1 / iscale`; `bsums` the int16 sums
//! of each 16 codes (ggml leaves them unwritten for an all-zero block; 0 here).
//!
//! ggml requires K to be a multiple of 256. Here, as for Q8_0 / Q4_0 in
//! [`super::ggml`], a last, short block is quantized over its own elements
//! and padded: weights with code 1 (weight 0), activations with code 0.
//!
//! Layer: ground (`half` only, through [`super::ggml`]).

use super::ggml::{f16_to_f32, f32_to_f16};

/// Elements per block (ggml's `QK_K`).
pub const QK_K: usize = 256;

/// `3ⁿ` as bytes (ggml's `pow3`).
pub const POW3: [u8; 6] = [1, 3, 9, 27, 81, 243];

/// Which ternary block format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ternary {
    /// TQ2_0: 2 bits a weight.
    Tq2_0,
    /// TQ1_0: 5 (and 4) trits a byte.
    Tq1_0,
}

impl Ternary {
    /// Bytes per 256-block, scale included (66 or 54).
    pub fn block_bytes(self) -> usize {
        match self {
            Ternary::Tq2_0 => 64 + 2,
            Ternary::Tq1_0 => 48 + 4 + 2,
        }
    }

    /// Storage bits per weight, scale included (2.0625 or 1.6875).
    pub fn bits_per_weight(self) -> f64 {
        (self.block_bytes() * 8) as f64 / QK_K as f64
    }
}

/// Bits per activation of Q8_K: 256 int8 codes, an f32 scale and 16 int16
/// block sums per 256 (9.125).
pub const Q8_K_BITS: f64 = (QK_K * 8 + 32 + 16 * 16) as f64 / QK_K as f64;

/// C's `lroundf` on x86-64 glibc: half away from zero; NaN and values
/// beyond `long` give `LONG_MIN`.
pub fn lroundf(x: f32) -> i64 {
    if x.is_nan() || x.abs() >= 2f32.powi(63) {
        i64::MIN
    } else {
        x.round() as i64
    }
}

/// ggml's trit code of `x` at inverse scale `id`: `(int)lroundf(x·id) + 1`
/// (the `long` → `int` conversion truncates, as gcc does).
fn trit(x: f32, id: f32) -> i32 {
    (lroundf(x * id) as i32).wrapping_add(1)
}

/// amax by C's `MAX(amax, |x|)` (see the module docs) and `id = d ? 1/d : 0`.
fn amax_id(x: &[f32]) -> (f32, f32) {
    let mut amax = 0f32;
    for &v in x {
        let a = v.abs();
        amax = if amax > a { amax } else { a };
    }
    let id = if amax != 0.0 { 1.0 / amax } else { 0.0 };
    (amax, id)
}

/// One TQ2_0 block of `x` (≤ 256 values; missing ones are padding, code
/// 1): `qs[64]` then `d` (fp16, little-endian).
pub fn tq2_0_block(x: &[f32]) -> [u8; 66] {
    assert!(x.len() <= QK_K, "a TQ2_0 block holds 256 values");
    let (amax, id) = amax_id(x);
    let xi = |e: usize| if e < x.len() { trit(x[e], id) } else { 1 };
    let mut out = [0u8; 66];
    for j in (0..64).step_by(32) {
        for m in 0..32 {
            let mut q = 0u8;
            for n in 0..4 {
                q = q.wrapping_add(((xi(4 * j + m + 32 * n) & 3) << (2 * n)) as u8);
            }
            out[j + m] = q;
        }
    }
    out[64..].copy_from_slice(&f32_to_f16(amax).to_le_bytes());
    out
}

/// The base-3 byte of ggml's TQ1_0 packing: `⌈256·v / 243⌉` in C's
/// `uint8_t` arithmetic (wraps for `v` ≥ 243, only after code overflow).
fn ceil_243(v: u8) -> u8 {
    (v as u32 * 256).div_ceil(243) as u8
}

/// One TQ1_0 block of `x` (≤ 256 values; missing ones are padding, code
/// 1): `qs[48]`, `qh[4]`, then `d` (fp16, little-endian).
pub fn tq1_0_block(x: &[f32]) -> [u8; 54] {
    assert!(x.len() <= QK_K, "a TQ1_0 block holds 256 values");
    let (amax, id) = amax_id(x);
    let xi = |e: usize| if e < x.len() { trit(x[e], id) } else { 1 };
    let pack = |elems: &mut dyn Iterator<Item = usize>| {
        let mut q = 0u8;
        for e in elems {
            q = q.wrapping_mul(3).wrapping_add(xi(e) as u8);
        }
        q
    };
    let mut out = [0u8; 54];
    for (m, o) in out[..32].iter_mut().enumerate() {
        *o = ceil_243(pack(&mut (0..5).map(|n| m + 32 * n)));
    }
    for (m, o) in out[32..48].iter_mut().enumerate() {
        *o = ceil_243(pack(&mut (0..5).map(|n| 160 + m + 16 * n)));
    }
    for (j, o) in out[48..52].iter_mut().enumerate() {
        // Four trits, then ×3 so the first sits in the top trit.
        let q = pack(&mut (0..4).map(|n| 240 + j + 4 * n)).wrapping_mul(3);
        *o = ceil_243(q);
    }
    out[52..].copy_from_slice(&f32_to_f16(amax).to_le_bytes());
    out
}

/// Trit `n` (0 = most significant) of a TQ1_0 byte, ggml's way:
/// `((q · 3ⁿ mod 256) · 3) >> 8`, in {0, 1, 2}.
pub fn tq1_trit(q: u8, n: usize) -> u8 {
    let p = q.wrapping_mul(POW3[n]);
    ((p as u16 * 3) >> 8) as u8
}

/// Weight rows quantized to ternary blocks, in ggml's byte layout.
#[derive(Debug, Clone, PartialEq)]
pub struct TernaryRows {
    /// The format.
    pub kind: Ternary,
    /// Rows.
    pub rows: usize,
    /// Elements per row (unpadded).
    pub k: usize,
    /// Blocks per row, `⌈k / 256⌉`.
    pub nb: usize,
    /// Blocks, `rows × nb × block_bytes`.
    pub bytes: Vec<u8>,
}

impl TernaryRows {
    /// The bytes of block `b` of row `r`.
    pub fn block(&self, r: usize, b: usize) -> &[u8] {
        let bb = self.kind.block_bytes();
        let at = (r * self.nb + b) * bb;
        &self.bytes[at..at + bb]
    }

    /// The fp16 scale bits of block `b` of row `r`.
    pub fn d(&self, r: usize, b: usize) -> u16 {
        let blk = self.block(r, b);
        u16::from_le_bytes([blk[blk.len() - 2], blk[blk.len() - 1]])
    }

    /// The 256 codes of block `b` of row `r` as ggml decodes them (weight =
    /// code − 1; TQ2_0 codes 0..=3, TQ1_0 0..=2), in element order.
    pub fn codes(&self, r: usize, b: usize) -> [u8; QK_K] {
        let blk = self.block(r, b);
        let mut c = [0u8; QK_K];
        match self.kind {
            Ternary::Tq2_0 => {
                for (e, code) in c.iter_mut().enumerate() {
                    let byte = blk[32 * (e / 128) + e % 32];
                    *code = (byte >> (2 * ((e % 128) / 32))) & 3;
                }
            }
            Ternary::Tq1_0 => {
                for (e, code) in c.iter_mut().enumerate() {
                    *code = match e {
                        0..160 => tq1_trit(blk[e % 32], e / 32),
                        160..240 => tq1_trit(blk[32 + (e - 160) % 16], (e - 160) / 16),
                        _ => tq1_trit(blk[48 + (e - 240) % 4], (e - 240) / 4),
                    };
                }
            }
        }
        c
    }

    /// The dequantized matrix, `(code − 1) · d` in f32 as ggml's
    /// `dequantize_row_tq*` computes it, `rows × k`.
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.rows * self.k);
        for r in 0..self.rows {
            for b in 0..self.nb {
                let d = f16_to_f32(self.d(r, b));
                let c = self.codes(r, b);
                let len = QK_K.min(self.k - b * QK_K);
                out.extend(c[..len].iter().map(|&q| (q as i32 - 1) as f32 * d));
            }
        }
        out
    }
}

/// Quantizes `x` (`rows × k`, row-major) to `kind` blocks along each row.
pub fn quantize(kind: Ternary, x: &[f32], rows: usize, k: usize) -> TernaryRows {
    assert_eq!(x.len(), rows * k, "x is rows × k");
    let nb = k.div_ceil(QK_K);
    let mut bytes = Vec::with_capacity(rows * nb * kind.block_bytes());
    for r in 0..rows {
        for b in 0..nb {
            let src = &x[r * k + b * QK_K..r * k + ((b + 1) * QK_K).min(k)];
            match kind {
                Ternary::Tq2_0 => bytes.extend_from_slice(&tq2_0_block(src)),
                Ternary::Tq1_0 => bytes.extend_from_slice(&tq1_0_block(src)),
            }
        }
    }
    TernaryRows {
        kind,
        rows,
        k,
        nb,
        bytes,
    }
}

/// ggml's `nearest_int`: `bits(v + 12582912) & 0x7FFFFF − 0x400000`.
pub fn nearest_int(v: f32) -> i32 {
    ((v + 12_582_912.0).to_bits() & 0x007F_FFFF) as i32 - 0x0040_0000
}

/// Activation rows quantized to Q8_K.
#[derive(Debug, Clone, PartialEq)]
pub struct Q8K {
    /// Rows.
    pub rows: usize,
    /// Elements per row (unpadded).
    pub k: usize,
    /// Blocks per row.
    pub nb: usize,
    /// Codes, `rows × nb × 256`, padding 0.
    pub codes: Vec<i8>,
    /// Block scales `1 / iscale` (0 for an all-zero block), `rows × nb`.
    pub d: Vec<f32>,
    /// Sums of each 16 codes, `rows × nb × 16`.
    pub bsums: Vec<i16>,
}

/// One Q8_K block of `x` (≤ 256 values; missing ones are code 0): the
/// scale, with codes and block sums written to `codes` (256) and `bsums` (16).
pub fn q8_k_block(x: &[f32], codes: &mut [i8], bsums: &mut [i16]) -> f32 {
    assert!(x.len() <= QK_K && codes.len() == QK_K && bsums.len() == QK_K / 16);
    let (mut amax, mut max) = (0f32, 0f32);
    for &v in x {
        if v.abs() > amax {
            amax = v.abs();
            max = v;
        }
    }
    codes.fill(0);
    bsums.fill(0);
    if amax == 0.0 {
        return 0.0;
    }
    let iscale = -127.0 / max;
    for (c, &v) in codes.iter_mut().zip(x) {
        *c = nearest_int(iscale * v).min(127) as i8;
    }
    for (s, c) in bsums.iter_mut().zip(codes.chunks(16)) {
        *s = c.iter().map(|&q| q as i32).sum::<i32>() as i16;
    }
    1.0 / iscale
}

/// Quantizes activations `x` (`rows × k`) to Q8_K along each row.
pub fn quantize_q8_k(x: &[f32], rows: usize, k: usize) -> Q8K {
    assert_eq!(x.len(), rows * k, "x is rows × k");
    let nb = k.div_ceil(QK_K);
    let mut codes = vec![0i8; rows * nb * QK_K];
    let mut bsums = vec![0i16; rows * nb * 16];
    let mut d = vec![0f32; rows * nb];
    for r in 0..rows {
        for b in 0..nb {
            let i = r * nb + b;
            let src = &x[r * k + b * QK_K..r * k + ((b + 1) * QK_K).min(k)];
            d[i] = q8_k_block(
                src,
                &mut codes[i * QK_K..(i + 1) * QK_K],
                &mut bsums[i * 16..(i + 1) * 16],
            );
        }
    }
    Q8K {
        rows,
        k,
        nb,
        codes,
        d,
        bsums,
    }
}
