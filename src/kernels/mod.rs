//! Native SIMD kernels: code that computes a matmul variant on this CPU and
//! returns exactly the bits of the variant's emulation.
//!
//! Shape of the layer (BLIS / `gemm` style):
//! - **packing** ([`pack`]) is separate from the **micro-kernels**: weights
//!   are quantized and packed once, into row-interleaved panels (8 weight
//!   rows side by side, the layout of ggml's repack and ik_llama.cpp's `_R8`
//!   types), so one vector instruction works on 8 output channels against one
//!   broadcast group of activations and no horizontal sum is ever needed;
//! - activations are quantized **inside** the timed product ([`quant`]), as
//!   a real inference kernel must, by fast twins of the variants' quantizers;
//! - one entry per kernel family ([`int8`], [`float`], [`xnor`], [`sat16`],
//!   [`fp16acc`], [`fp8acc`], [`lmul`], [`dpbf16`], [`block`], [`bitmod`]:
//!   BitMoD's per-group types decoded in registers for the GEMV, into
//!   [`int8`]'s panels for the GEMM) dispatches through the crate's `isa::dispatch!` macro:
//!   AVX2 and a portable scalar path; the float family also has AVX-512
//!   tiles, the integer family an AVX-512 VNNI GEMM step (and, for int8
//!   weights without VNNI, an int16-lane GEMM step, [`madd16`]) and
//!   [`dpbf16`] `vdpbf16ps` where AVX-512 BF16 is detected; the others run
//!   their AVX2 code on AVX-512 CPUs (see each family for what it uses);
//! - GEMV (decode, M ≤ [`GEMV_MAX_M`]) streams each packed weight byte once
//!   and splits N across threads; GEMM (prefill) tiles M × N and reuses each
//!   decoded weight block across a tile of activation rows. Every output is
//!   computed by one task in a fixed order, so the thread count never changes
//!   a bit.
//!
//! Why the results are exactly the emulation's: integer dot products are
//! associative (int32 wrapping adds; products and partial sums here never
//! overflow int32 for K ≤ 2^16), so the kernels may sum in any order; float
//! sums keep each output's K order because vector lanes run across outputs,
//! never along K. Each family's docs name the precondition it checks and the
//! exact fallback it takes where the fast instruction would round differently.
//!
//! "Exactly the bits" covers every finite and infinite output and the sign
//! of zero; a NaN output is a NaN, with sign and payload unspecified (Rust's
//! and LLVM's float semantics do not fix them, and may swap an add's operands).
//!
//! Layer: uses ground, `formats` and `arith` only; the variants layer wraps
//! these kernels behind its `NativeMatmul` trait.

pub mod attention;
pub mod bitmod;
pub mod block;
pub mod bytecode;
pub mod dpbf16;
pub mod float;
pub mod fp16acc;
pub mod fp8acc;
pub mod int8;
pub mod lmul;
pub mod madd16;
pub mod pack;
pub mod quant;
pub mod sat16;
pub mod seqtile;
pub mod xnor;

/// A kernel holding packed weights (`n × k`): the common face of the
/// single-format kernels ([`sat16::Sat16Kernel`], [`fp16acc::Fp16AccKernel`],
/// [`lmul::LmulKernel`], [`dpbf16::Dpbf16Kernel`], [`block::BlockKernel`],
/// [`bitmod::BitmodKernel`]), so the variant layer wraps
/// them all with one type.
pub trait PackedKernel: Send + Sync {
    /// Reduction length.
    fn k(&self) -> usize;
    /// Bytes of packed weights (codes and scales) one product streams.
    fn bytes(&self) -> usize;
    /// `a · wᵀ` for `a` (`m × k` f32, row-major): activations quantized inside.
    fn matmul(&self, a: &[f32], m: usize) -> Vec<f64>;
}

/// Implements [`PackedKernel`] by the type's inherent `k`, `bytes` and `matmul`.
macro_rules! packed_kernel {
    ($t:ty) => {
        impl $crate::kernels::PackedKernel for $t {
            fn k(&self) -> usize {
                <$t>::k(self)
            }
            fn bytes(&self) -> usize {
                <$t>::bytes(self)
            }
            fn matmul(&self, a: &[f32], m: usize) -> Vec<f64> {
                <$t>::matmul(self, a, m)
            }
        }
    };
}
packed_kernel!(sat16::Sat16Kernel);
packed_kernel!(fp16acc::Fp16AccKernel);
packed_kernel!(lmul::LmulKernel);
packed_kernel!(dpbf16::Dpbf16Kernel);
packed_kernel!(bitmod::BitmodKernel);

/// An output element a kernel can write its f32 results into: f64 (the
/// harness's exact comparison type) or f32 (the model's activations, with
/// no second pass to convert). Every kernel result is an f32 value, so both
/// hold it exactly.
pub trait OutElem: Copy + Send + Sync + 'static {
    /// `v` as this type (exact).
    fn of_f32(v: f32) -> Self;
}

impl OutElem for f32 {
    #[inline(always)]
    fn of_f32(v: f32) -> f32 {
        v
    }
}

impl OutElem for f64 {
    #[inline(always)]
    fn of_f32(v: f32) -> f64 {
        v as f64
    }
}

/// A bias per output column, added in f32 to each finished output (the
/// product's own f32 value plus `bias[j]`, one rounding: what a linear
/// layer adds after its matmul), or none.
pub type Bias<'a> = Option<&'a [f32]>;

/// Largest M that takes the GEMV (decode) path.
pub const GEMV_MAX_M: usize = 8;

/// The instruction a kernel's inner loop is built on: its GEMM ceiling is
/// this instruction's peak, measured in the same process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Base {
    /// f32 fused multiply-add (`vfmadd231ps`): 2 ops per lane.
    F32Fma,
    /// Separate f32 multiply and add (`vmulps` + `vaddps`): each output's
    /// rounding order forbids fusing; peak measured on the pair.
    F32MulAdd,
    /// int8 dot steps: AVX2 `vpmaddubsw` + `vpmaddwd` + `vpaddd` (4 MACs per
    /// int32 lane), or VNNI `vpdpbusd` where present.
    Int8Dot,
    /// int16 lanes: `vpmullw` + saturating `vpaddsw` (one MAC per lane).
    Int16Sat,
    /// XOR + popcount over 64-bit words (64 binary MACs per word).
    Popcount,
    /// f32 integer add of bit patterns (`vpaddd`) + f32 add: the L-Mul product.
    LmulAdd,
    /// bf16 pair dots into f32 lanes: AVX-512 BF16 `vdpbf16ps` (2 MACs per
    /// f32 lane).
    Bf16Dot,
}

impl Base {
    /// A short name, as `kernels list` and `kernels bench` print it.
    pub fn name(self) -> &'static str {
        match self {
            Base::F32Fma => "f32-fma",
            Base::F32MulAdd => "f32-mul+add",
            Base::Int8Dot => "int8-dot",
            Base::Int16Sat => "int16-sat",
            Base::Popcount => "xor-popcount",
            Base::LmulAdd => "lmul-add",
            Base::Bf16Dot => "bf16-dot",
        }
    }
}

impl std::fmt::Display for Base {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
