//! One native-kernel wrapper for the variants whose kernel is a single
//! [`PackedKernel`]: a [`Packer`] says how the variant packs its weights (with
//! its own quantizer) and which instruction bounds the kernel; [`PackedNative`]
//! does the rest of [`NativeMatmul`] (the checks, the call, the byte count).

use super::NativeMatmul;
use crate::isa::IsaLevel;
use crate::kernels::{Base, PackedKernel};
use crate::tensor::Matrix;

/// How a variant turns its weights into its kernel.
pub trait Packer: Send + Sync {
    /// The kernel the packed weights live in.
    type Kernel: PackedKernel;
    /// Quantizes and packs `w` (`n × k`).
    fn pack(&self, w: &Matrix) -> Self::Kernel;
    /// The instruction the kernel's inner loop is built on.
    fn base(&self) -> Base;
    /// The highest ISA level with its own code path (AVX2 for every kernel
    /// wrapped here).
    fn top_isa(&self) -> IsaLevel {
        IsaLevel::Avx2
    }
}

/// The native kernel of variant `name`: `packer`'s kernel once weights are packed.
#[derive(Debug, Clone)]
pub struct PackedNative<P: Packer> {
    name: &'static str,
    packer: P,
    packed: Option<P::Kernel>,
}

impl<P: Packer> PackedNative<P> {
    /// The kernel of variant `name`, weights not yet packed.
    pub fn new(name: &'static str, packer: P) -> Self {
        PackedNative {
            name,
            packer,
            packed: None,
        }
    }
}

impl<P: Packer> NativeMatmul for PackedNative<P> {
    fn pack_weights(&mut self, w: &Matrix) {
        self.packed = Some(self.packer.pack(w));
    }

    fn matmul(&self, a: &Matrix) -> Vec<f64> {
        let k = self
            .packed
            .as_ref()
            .unwrap_or_else(|| panic!("{}: pack_weights before matmul", self.name));
        assert_eq!(a.cols, k.k(), "{}: K differs", self.name);
        k.matmul(&a.data, a.rows)
    }

    fn base(&self) -> Base {
        self.packer.base()
    }

    fn weight_bytes(&self) -> usize {
        self.packed.as_ref().map_or(0, PackedKernel::bytes)
    }

    fn top_isa(&self) -> IsaLevel {
        self.packer.top_isa()
    }
}
