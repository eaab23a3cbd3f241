//! L-Mul dot products and matrix products: every product is one L-Mul
//! ([`LmulUnit`]), and the products of one output go, in K order, to any
//! [`Accumulate`].
//!
//! Operands are split once ([`PreparedOperand`]), so the inner loop is an
//! integer addition, two range compares and an f64 built from bits; rayon
//! splits the output rows, and each output is one sequential call of the
//! accumulator, so the thread count never changes a bit.

use super::{LmulUnit, Operand};
use crate::arith::accum::Accumulate;
use rayon::prelude::*;

/// A `rows × k` matrix of codes split into [`Operand`]s for one unit.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedOperand {
    /// Rows.
    pub rows: usize,
    /// Row length (the reduction length).
    pub k: usize,
    /// Operands, row-major.
    pub ops: Vec<Operand>,
}

impl PreparedOperand {
    /// Splits `rows × k` codes (row-major) of the unit's format.
    ///
    /// # Panics
    /// When `codes.len() != rows · k`.
    pub fn from_codes(unit: &LmulUnit, rows: usize, k: usize, codes: &[u32]) -> Self {
        assert_eq!(codes.len(), rows * k, "codes must hold rows × k values");
        PreparedOperand {
            rows,
            k,
            ops: codes.iter().map(|&c| unit.operand(c)).collect(),
        }
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[Operand] {
        &self.ops[i * self.k..(i + 1) * self.k]
    }
}

/// `Σ_k L-Mul(a[k], b[k])` summed by `acc` in k order. `buf` is scratch
/// space for the products (reused across calls); `index` is the
/// stochastic-rounding index of the first product (product `k` uses `index + k`).
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
                let ar = a.row(i);
                for (j, o) in row_out.iter_mut().enumerate() {
                    let index = ((i * n + j) * k) as u64;
                    *o = dot(unit, ar, w.row(j), acc, &mut buf, index);
                }
            }
        });
    out
}
