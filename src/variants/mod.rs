//! Matmul variants: each is one way a piece of hardware computes
//! `out = A · Wᵀ` (A: activations `M × K`, W: weights `N × K` as a linear
//! layer stores them), with a bit-exact emulation and a cost in counts.

use crate::hw::cost::Cost;
use crate::tensor::Matrix;
pub use crate::tensor::Shape;

pub mod accum;
pub mod bitserial;
pub mod block;
pub mod datapath;
pub mod dpbf16;
pub mod info;
pub mod kernel;
pub mod lmul;
pub mod native;
pub mod native_acc;
pub mod operand;
pub mod packed;
pub mod quant_matmul;
pub mod registry;
pub mod sparse;

pub use info::{Family, VariantInfo, WeightStorage};
pub use operand::{OperandSpec, ScaleAxis};
pub use quant_matmul::{Datapath, QuantMatmul};

/// One way to compute a matmul: what it is ([`VariantInfo`]), its
/// bit-exact emulation, its cost in counts, and optionally a native kernel.
pub trait MatmulVariant: Send + Sync {
    /// What the variant is: name, family, formats, accumulator, storage.
    fn info(&self) -> VariantInfo;
    /// The weights after quantization and dequantization (for weight-error metrics).
    fn quantize_weights(&self, w: &Matrix) -> Matrix;
    /// The product as the modelled hardware computes it, bit-exactly; `m × n`.
    /// `seed` feeds stochastic rounding where a variant uses it.
    fn emulate(&self, a: &Matrix, w: &Matrix, seed: u64) -> Vec<f64>;
    /// Operation and byte counts for a shape.
    fn cost(&self, shape: Shape) -> Cost;
    /// A native kernel that computes exactly the bits of [`Self::emulate`] on
    /// this CPU, prepared for use; `None` where the variant has none.
    fn native(&self) -> Option<Box<dyn NativeMatmul>> {
        None
    }

    /// Registry name (shorthand for `info().name`).
    fn name(&self) -> &'static str {
        self.info().name
    }
    /// Storage bits per weight for reduction length `k` (shorthand for
    /// `info().bits_per_weight(k)`).
    fn bits_per_weight(&self, k: usize) -> f64 {
        self.info().bits_per_weight(k)
    }
}

/// A native kernel of a variant: packs the weights once, then multiplies
/// activations by them, returning exactly the bits of the variant's
/// emulation (`m × n`, row-major).
pub trait NativeMatmul: Send + Sync {
    /// Packs `w` (`n × k`) into the kernel's layout (timed separately from the product).
    fn pack_weights(&mut self, w: &Matrix);
    /// `a · wᵀ` for the packed weights; `a` is `m × k`. Activations are
    /// quantized inside, as a real inference kernel must.
    ///
    /// # Panics
    /// When called before [`Self::pack_weights`] or with a different K.
    fn matmul(&self, a: &Matrix) -> Vec<f64>;
    /// [`Self::matmul`] written as f32 into `out` (`m × n`, row-major; every
    /// element is overwritten), plus `bias[j]` on column `j` when given (an
    /// f32 add, as a linear layer adds its bias): the same values (every
    /// native result is an f32 value), without the f64 vector and the
    /// passes that convert it and add the bias. Kernels that can write f32
    /// directly override this; the default converts [`Self::matmul`]'s output.
    ///
    /// # Panics
    /// As [`Self::matmul`], and when `out` does not hold `m × n` values or
    /// `bias` not `n`.
    fn matmul_into(&self, a: &Matrix, bias: crate::kernels::Bias, out: &mut [f32]) {
        f64_into(&self.matmul(a), a.rows, bias, out);
    }
    /// The instruction the inner loop is built on (its GEMM ceiling).
    fn base(&self) -> crate::kernels::Base;
    /// Bytes of packed weights (codes and scales) one product streams; 0
    /// before packing.
    fn weight_bytes(&self) -> usize;
    /// The highest ISA level with its own code path in this kernel (a
    /// higher effective level runs this one's code).
    fn top_isa(&self) -> crate::isa::IsaLevel;
}

/// An f64 product's `rows × n` outputs (f32 values) written as f32 into
/// `out`, plus `bias[j]` on column `j` (an f32 add) when given: the default
/// [`NativeMatmul::matmul_into`].
///
/// # Panics
/// When `out` does not hold as many values or `bias` is not one per column.
pub fn f64_into(v: &[f64], rows: usize, bias: crate::kernels::Bias, out: &mut [f32]) {
    assert_eq!(out.len(), v.len(), "the output must hold m × n values");
    let n = v.len().checked_div(rows).unwrap_or(0);
    assert!(
        bias.is_none_or(|b| b.len() == n),
        "one bias per output column"
    );
    for (i, (o, &x)) in out.iter_mut().zip(v).enumerate() {
        *o = match bias {
            Some(b) => x as f32 + b[i % n],
            None => x as f32,
        };
    }
}

/// Every registered variant, in display order: the [`QuantMatmul`] entries
/// of [`registry::all`], the top-K one ([`registry::topk`]), then the accumulator ([`accum`]),
/// `vdpbf16ps` ([`dpbf16`]), L-Mul ([`lmul`])
/// and bit-serial ([`bitserial`]) families, then ggml's block and ternary formats ([`block`]).
pub fn registry() -> Vec<Box<dyn MatmulVariant>> {
    let mut v: Vec<Box<dyn MatmulVariant>> = registry::all()
        .into_iter()
        .map(|v| Box::new(v) as Box<dyn MatmulVariant>)
        .collect();
    v.extend(
        registry::topk()
            .into_iter()
            .map(|v| Box::new(v) as Box<dyn MatmulVariant>),
    );
    v.extend(accum::all());
    v.extend(dpbf16::all());
    v.extend(lmul::all());
    v.extend(bitserial::all());
    v.extend(block::all());
    v
}

/// The registered variant called `name`.
pub fn find(name: &str) -> Option<Box<dyn MatmulVariant>> {
    registry().into_iter().find(|v| v.name() == name)
}
