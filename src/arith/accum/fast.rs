//! Fast paths of the accumulator model, each with the general
//! [`super::Accumulator`] as its slow twin (tests compare them bit for bit).
//!
//! [`Fp8Dot`]: FP8 × FP8 → f32 dot products in sequential order. Every
//! product of two 8-bit minifloats is exact in f32 (at most 2 × 4 = 8
//! significant bits, far inside the f32 exponent range), so a 256-entry
//! decode table, an f32 multiply and an f32 add (Rust never contracts the
//! two into an FMA) give exactly the bits of the model's
//! `acc=f32,order=seq,product=exact`: the f32 add rounds the exact sum once.

use crate::formats::MiniFloat;

/// FP8 × FP8 dot products with an f32 accumulator, sequential from +0.
#[derive(Debug, Clone)]
pub struct Fp8Dot {
    lut_a: [f32; 256],
    lut_b: [f32; 256],
}

/// Whether every product of a value of `a` and one of `b` is an exact f32:
/// significands fit in 24 bits together and the product range stays within
/// f32 normals (no rounding in the multiply, no overflow, no underflow).
fn products_exact_in_f32(a: &MiniFloat, b: &MiniFloat) -> bool {
    let low = |f: &MiniFloat| f.min_subnormal().unwrap_or(f.min_normal());
    (a.mbits + 1) + (b.mbits + 1) <= 24
        && a.max_value() * b.max_value() < f32::MAX as f64
        && low(a) * low(b) >= f32::MIN_POSITIVE as f64
}

impl Fp8Dot {
    /// Tables for operands of formats `a` and `b` (each at most 8 bits, every
    /// product exact in f32: every signed OFP8 format, FP6 and FP4 qualify).
    pub fn new(a: &MiniFloat, b: &MiniFloat) -> Result<Self, String> {
        for f in [a, b] {
            if f.bits() > 8 {
                return Err(format!("{f} is wider than 8 bits"));
            }
        }
        if !products_exact_in_f32(a, b) {
            return Err(format!("products of {a} × {b} are not all exact in f32"));
        }
        let lut = |f: &MiniFloat| {
            let mut t = [0f32; 256];
            let mask = ((1u32 << f.bits()) - 1) as usize;
            for (c, v) in t.iter_mut().enumerate() {
                // Codes are masked to the format's width, as decode does.
                *v = f.decode_f32((c & mask) as u32);
            }
            t
        };
        Ok(Fp8Dot {
            lut_a: lut(a),
            lut_b: lut(b),
        })
    }

    /// `Σ a[k] · b[k]` in k order: f32 multiply, f32 add, from +0. The
    /// slices are paired up to the shorter length.
    #[inline]
    pub fn dot(&self, a: &[u8], b: &[u8]) -> f32 {
        let mut acc = 0f32;
        for (&x, &y) in a.iter().zip(b) {
            acc += self.lut_a[x as usize] * self.lut_b[y as usize];
        }
        acc
    }

    /// The exact value of code `c` of operand `a` (as f32).
    pub fn value_a(&self, c: u8) -> f32 {
        self.lut_a[c as usize]
    }

    /// The exact value of code `c` of operand `b` (as f32).
    pub fn value_b(&self, c: u8) -> f32 {
        self.lut_b[c as usize]
    }
}
