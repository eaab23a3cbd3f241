//! Top-K sparsified activations (BitNet a4.8's intermediate states): each
//! activation row keeps its `⌈keep · k⌉` entries of largest magnitude (ties
//! to the lower index; the rest become +0), then goes through an ordinary
//! [`QuantMatmul`]. The cost is the inner variant's: the dense kernel runs
//! over the zeros (no sparse datapath is modelled), and the selection itself
//! is not counted.
//!
//! Native kernel ([`TopKNative`]): the inner variant's native kernel (for
//! `matmul/w1.58a8-topk`, the integer family's, as `matmul/w1.58a8-ternary`)
//! on rows sparsified inside the product by [`crate::kernels::quant::topk_rows`],
//! which keeps the same entries as [`sparsify`] (ties included).

use super::info::VariantInfo;
use super::quant_matmul::QuantMatmul;
use super::{MatmulVariant, NativeMatmul, Shape};
use crate::hw::cost::Cost;
use crate::isa::IsaLevel;
use crate::kernels::{Base, Bias};
use crate::tensor::Matrix;

/// A [`QuantMatmul`] whose activations are top-K sparsified first.
#[derive(Debug, Clone)]
pub struct TopKMatmul {
    /// Registry name.
    pub name: &'static str,
    /// One-line description of the modelled hardware.
    pub description: &'static str,
    /// The variant that multiplies the sparsified activations.
    pub inner: QuantMatmul,
    /// Fraction of each row kept, in (0, 1].
    pub keep: f64,
}

/// Entries kept per row of `k` at fraction `keep` (at least one when `k > 0`).
pub fn kept(k: usize, keep: f64) -> usize {
    ((k as f64 * keep).ceil() as usize).clamp(k.min(1), k)
}

/// Top-K sparsification of every row (fast path: a partial selection).
pub fn sparsify(a: &Matrix, keep: f64) -> Matrix {
    let n = kept(a.cols, keep);
    let mut out = vec![0f32; a.data.len()];
    if a.cols == 0 {
        return Matrix::new(a.rows, a.cols, out);
    }
    let mut idx: Vec<usize> = Vec::with_capacity(a.cols);
    for (row, dst) in a.data.chunks(a.cols).zip(out.chunks_mut(a.cols)) {
        idx.clear();
        idx.extend(0..a.cols);
        if n < a.cols {
            idx.select_nth_unstable_by(n - 1, |&x, &y| order(row, x, y));
        }
        for &i in &idx[..n] {
            dst[i] = row[i];
        }
    }
    Matrix::new(a.rows, a.cols, out)
}

/// Larger magnitude first, then the lower index (a total order, NaN largest).
fn order(row: &[f32], x: usize, y: usize) -> std::cmp::Ordering {
    row[y].abs().total_cmp(&row[x].abs()).then(x.cmp(&y))
}

/// [`sparsify`] by sorting each row completely (the reference).
pub fn sparsify_reference(a: &Matrix, keep: f64) -> Matrix {
    let n = kept(a.cols, keep);
    let mut out = Matrix::zeros(a.rows, a.cols);
    for r in 0..a.rows {
        let row = a.row(r);
        let mut idx: Vec<usize> = (0..a.cols).collect();
        idx.sort_by(|&x, &y| order(row, x, y));
        for &i in idx.iter().take(n) {
            out.data[r * a.cols + i] = row[i];
        }
    }
    out
}

impl MatmulVariant for TopKMatmul {
    fn info(&self) -> VariantInfo {
        let mut i = self.inner.info();
        i.name = self.name;
        i.description = self.description;
        i.act_desc = format!(
            "top-{:.0}% |a| per token, then {}",
            self.keep * 100.0,
            i.act_desc
        );
        i
    }

    fn quantize_weights(&self, w: &Matrix) -> Matrix {
        self.inner.quantize_weights(w)
    }

    fn emulate(&self, a: &Matrix, w: &Matrix, seed: u64) -> Vec<f64> {
        self.inner.emulate(&sparsify(a, self.keep), w, seed)
    }

    fn cost(&self, shape: Shape) -> Cost {
        self.inner.cost(shape)
    }

    fn native(&self) -> Option<Box<dyn NativeMatmul>> {
        Some(Box::new(TopKNative {
            inner: self.inner.native()?,
            keep: self.keep,
        }))
    }
}

/// The native kernel of a [`TopKMatmul`]: the inner variant's kernel on
/// activations sparsified inside the timed product.
pub struct TopKNative {
    inner: Box<dyn NativeMatmul>,
    keep: f64,
}

impl TopKNative {
    /// `a` with each row's top entries kept, by the kernels' selection.
    fn sparse(&self, a: &Matrix) -> Matrix {
        let n = kept(a.cols, self.keep);
        Matrix::new(
            a.rows,
            a.cols,
            crate::kernels::quant::topk_rows(&a.data, a.rows, a.cols, n),
        )
    }
}

impl NativeMatmul for TopKNative {
    fn pack_weights(&mut self, w: &Matrix) {
        self.inner.pack_weights(w);
    }

    fn matmul(&self, a: &Matrix) -> Vec<f64> {
        self.inner.matmul(&self.sparse(a))
    }

    fn matmul_into(&self, a: &Matrix, bias: Bias, out: &mut [f32]) {
        self.inner.matmul_into(&self.sparse(a), bias, out);
    }

    fn base(&self) -> Base {
        self.inner.base()
    }

    fn weight_bytes(&self) -> usize {
        self.inner.weight_bytes()
    }

    fn top_isa(&self) -> IsaLevel {
        self.inner.top_isa()
    }
}
