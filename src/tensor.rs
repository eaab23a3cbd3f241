//! Ground data types every layer shares: the dense [`Matrix`], the matmul
//! [`Shape`], the quantized operand ([`QOperand`] with its [`Values`]) and
//! the compensated f64 sum ([`Neumaier`], [`sum`]). This module imports
//! nothing from the crate, so every layer may use it.

/// A dense row-major matrix of f32.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// `rows × cols` values, row-major.
    pub data: Vec<f32>,
}

impl Matrix {
    /// Wraps data; panics if the length is not `rows × cols` (a programming error).
    pub fn new(rows: usize, cols: usize, data: Vec<f32>) -> Self {
        assert_eq!(
            data.len(),
            rows * cols,
            "Matrix::new: {rows}x{cols} needs {} values",
            rows * cols
        );
        Matrix { rows, cols, data }
    }

    /// A zero matrix.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Matrix::new(rows, cols, vec![0.0; rows * cols])
    }

    /// Row `r` as a slice.
    pub fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }

    /// The transpose.
    pub fn transpose(&self) -> Matrix {
        let mut out = vec![0.0; self.data.len()];
        for r in 0..self.rows {
            for c in 0..self.cols {
                out[c * self.rows + r] = self.data[r * self.cols + c];
            }
        }
        Matrix::new(self.cols, self.rows, out)
    }
}

/// A matmul shape: `A` is `m × k`, `W` is `n × k`, the output `m × n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shape {
    /// Rows of A (tokens).
    pub m: usize,
    /// Reduction length.
    pub k: usize,
    /// Rows of W (output channels).
    pub n: usize,
}

impl Shape {
    /// Multiply-accumulates, m·k·n.
    pub fn macs(&self) -> f64 {
        self.m as f64 * self.k as f64 * self.n as f64
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.m, self.k, self.n)
    }
}

/// Element values as the kernel's datapath sees them.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Integer codes (the integer they stand for), for int32 datapaths.
    Int(Vec<i8>),
    /// Exact element values in f32 (block/element scale not applied).
    F32(Vec<f32>),
    /// Exact values in f64 (reference only).
    F64(Vec<f64>),
}

/// A quantized operand: `rows × k` element values and their scales.
#[derive(Debug, Clone, PartialEq)]
pub struct QOperand {
    /// Rows.
    pub rows: usize,
    /// Reduction length.
    pub k: usize,
    /// Element values, row-major.
    pub values: Values,
    /// Group length of the inner scales along K (0 when there are none).
    pub group: usize,
    /// Inner scales, `rows × ceil(k / group)` row-major, exact f32 values.
    pub inner: Option<Vec<f32>>,
    /// Outer scale per row (a per-tensor scale is repeated), exact f32 values.
    pub outer: Option<Vec<f32>>,
}

/// Neumaier's variant of Kahan compensated summation in f64: the running
/// rounding error is kept in a second word and added back at the end.
#[derive(Debug, Clone, Copy, Default)]
pub struct Neumaier {
    sum: f64,
    comp: f64,
}

impl Neumaier {
    /// An empty sum (0).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one term.
    #[inline]
    pub fn add(&mut self, x: f64) {
        let t = self.sum + x;
        // The low-order bits lost by `sum + x`, taken from the smaller operand.
        if self.sum.abs() >= x.abs() {
            self.comp += (self.sum - t) + x;
        } else {
            self.comp += (x - t) + self.sum;
        }
        self.sum = t;
    }

    /// The compensated total.
    pub fn total(&self) -> f64 {
        if self.sum.is_finite() {
            self.sum + self.comp
        } else {
            // inf − inf in the compensation would turn an infinite sum into NaN.
            self.sum
        }
    }
}

/// Compensated f64 sum of an iterator (see [`Neumaier`]).
pub fn sum(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut s = Neumaier::new();
    for v in values {
        s.add(v);
    }
    s.total()
}
