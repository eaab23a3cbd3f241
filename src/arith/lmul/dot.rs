//! L-Mul dot products and matrix products: every product is one L-Mul
//! ([`LmulUnit`]), and the products of one output go, in K order, to any
//! [`Accumulate`].
//!
//! Operands are split once ([`PreparedOperand`]), so the inner loop of
//! [`matmul`] is an integer addition, a range compare and an f64 built from
//! bits (zeros, specials and out-of-range results take the full unit); rayon
//! splits the output rows, and each output is one sequential call of the
//! accumulator, so the thread count never changes a bit.

use super::{LmulUnit, Operand, Semantics};
use crate::arith::accum::Accumulate;
use crate::formats::Rounding;
use rayon::prelude::*;

/// A `rows × k` matrix of codes split into [`Operand`]s for one unit, plus
/// the integer keys of the fast loop.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedOperand {
    /// Rows.
    pub rows: usize,
    /// Row length (the reduction length).
    pub k: usize,
    /// Operands, row-major.
    pub ops: Vec<Operand>,
    /// Extended magnitude integers of finite non-zero operands; [`SENTINEL`]
    /// for zeros, infinities and NaN, which sends every sum out of range and
    /// so to the full unit.
    keys: Vec<i64>,
    /// Sign of each operand at bit 63 (an f64 sign).
    signs: Vec<u64>,
}

/// Far below any magnitude sum and a multiple of every `2^m`: a sum with it
/// is never in range, and its mantissa bits are zero.
const SENTINEL: i64 = -(1 << 40);

impl PreparedOperand {
    /// Splits `rows × k` codes (row-major) of the unit's format.
    ///
    /// # Panics
    /// When `codes.len() != rows · k`.
    pub fn from_codes(unit: &LmulUnit, rows: usize, k: usize, codes: &[u32]) -> Self {
        assert_eq!(codes.len(), rows * k, "codes must hold rows × k values");
        let ops: Vec<Operand> = codes.iter().map(|&c| unit.operand(c)).collect();
        let keys = ops
            .iter()
            .map(|o| match *o {
                Operand::Finite { mag, .. } => mag,
                _ => SENTINEL,
            })
            .collect();
        let signs = ops
            .iter()
            .map(|o| match *o {
                Operand::Finite { neg, .. } | Operand::Zero { neg } | Operand::Inf { neg } => {
                    (neg as u64) << 63
                }
                Operand::Nan => 0,
            })
            .collect();
        PreparedOperand {
            rows,
            k,
            ops,
            keys,
            signs,
        }
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[Operand] {
        &self.ops[i * self.k..(i + 1) * self.k]
    }

    fn row_range(&self, i: usize) -> std::ops::Range<usize> {
        i * self.k..(i + 1) * self.k
    }
}

/// `Σ_k L-Mul(a[k], b[k])` summed by `acc` in k order. `buf` is scratch
/// space for the products (reused across calls); `index` is the
/// stochastic-rounding index of the first product (product `k` uses `index + k`).
/// This is the slow, obvious twin of the loop [`matmul`] runs.
///
/// # Panics
/// When the slices differ in length.
pub fn dot(
    unit: &LmulUnit,
    a: &[Operand],
    b: &[Operand],
    acc: &dyn Accumulate,
    buf: &mut Vec<f64>,
    index: u64,
) -> f64 {
    assert_eq!(a.len(), b.len(), "dot product operands differ in length");
    buf.clear();
    buf.extend(
        a.iter()
            .zip(b)
            .enumerate()
            .map(|(k, (&x, &y))| unit.value_operands(x, y, index + k as u64)),
    );
    acc.sum(buf)
}

/// The products of row `i` of `a` and row `j` of `w` into `buf`, bit-equal
/// to [`LmulUnit::value_operands`]: a normal result is built from the
/// integer sum's bits directly (its field and mantissa are contiguous, so
/// shifting the integer into f64 position and rebiasing the exponent is the
/// whole decode); anything else goes to the full unit.
fn products(
    unit: &LmulUnit,
    a: &PreparedOperand,
    i: usize,
    w: &PreparedOperand,
    j: usize,
    buf: &mut Vec<f64>,
    index: u64,
) {
    let (ra, rw) = (a.row_range(i), w.row_range(j));
    let (ka, kw) = (&a.keys[ra.clone()], &w.keys[rw.clone()]);
    let (sa, sw) = (&a.signs[ra.clone()], &w.signs[rw.clone()]);
    let (oa, ow) = (&a.ops[ra], &w.ops[rw]);
    let m = unit.format.mbits;
    let mask = (1i64 << m) - 1;
    let lo = unit.lo;
    // Carry: r = ka + kw − offset.
    let offset = unit.offset();
    // f64 bits of the normal value of operand-layout integer r: r << (52 − m)
    // puts field and mantissa in place; the exponent needs 1023 − bias added.
    let rebias = ((1023 - unit.format.bias as i64) as u64) << 52;
    let literal = unit.semantics == Semantics::Literal;
    let rne = unit.opts.rounding == Rounding::Rne;
    let bits = |r: i64, s: u64| f64::from_bits(((r as u64) << (52 - m)).wrapping_add(rebias) | s);
    let (off, bias, hi) = (unit.off, unit.format.bias as i64, unit.hi);
    buf.clear();
    buf.resize(ka.len(), 0.0);
    let lanes = buf.iter_mut().zip(ka.iter().zip(kw)).zip(sa.iter().zip(sw));
    for (k, ((out, (&x, &y)), (&s1, &s2))) in lanes.enumerate() {
        let sign = s1 ^ s2;
        let r = x + y - offset;
        let carries = (x & mask) + (y & mask) + off > mask;
        // The result and the value that must reach the normal range (the
        // pre-rounding one for a literal carry), chosen without a branch:
        // carries are a coin flip on real data.
        let (res, low) = if literal && rne {
            // Literal with 1 + s ≥ 2: t = 2^m + s at binade e + 1 has one bit
            // too many; ties (t odd) go to the even neighbour.
            let e = (x >> m) + (y >> m) - bias;
            let t = (1i64 << m) + (x & mask) + (y & mask) + off;
            let n = t >> 1;
            let trunc = ((e + 1) << m) + n - (1i64 << m);
            let up = t & n & 1;
            // Arithmetic select (a branch here mispredicts half the time).
            let c = -(carries as i64);
            (r ^ ((r ^ (trunc + up)) & c), r ^ ((r ^ trunc) & c))
        } else {
            (r, r)
        };
        if low >= lo && res <= hi && !(literal && !rne && carries) {
            *out = bits(res, sign);
            continue;
        }
        *out = slow(unit, oa[k], ow[k], index + k as u64);
    }
}

/// The full unit, kept out of the fast loop.
#[cold]
#[inline(never)]
fn slow(unit: &LmulUnit, a: Operand, b: Operand, index: u64) -> f64 {
    unit.value_operands(a, b, index)
}

/// Output rows per rayon task.
const ROWS_PER_TASK: usize = 4;

/// `out[i, j] = dot(a row i, w row j)` for `a`: m × k and `w`: n × k
/// (a linear layer's weights), row-major `m × n`. Product `(i, j, k)` has
/// stochastic-rounding index `(i·n + j)·k + k`.
///
/// # Panics
/// When the operands' K differ.
pub fn matmul(
    unit: &LmulUnit,
    a: &PreparedOperand,
    w: &PreparedOperand,
    acc: &dyn Accumulate,
) -> Vec<f64> {
    assert_eq!(a.k, w.k, "A and W must share K");
    let (n, k) = (w.rows, a.k);
    let mut out = vec![0.0; a.rows * n];
    if n == 0 {
        return out;
    }
    out.par_chunks_mut(n * ROWS_PER_TASK)
        .enumerate()
        .for_each(|(t, chunk)| {
            let mut buf = Vec::with_capacity(k);
            for (r, row_out) in chunk.chunks_mut(n).enumerate() {
                let i = t * ROWS_PER_TASK + r;
                for (j, o) in row_out.iter_mut().enumerate() {
                    let index = ((i * n + j) * k) as u64;
                    products(unit, a, i, w, j, &mut buf, index);
                    *o = acc.sum(&buf);
                }
            }
        });
    out
}
