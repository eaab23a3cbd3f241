//! Address generators: the load/store stream of each matmul and attention
//! loop structure, emitted into an [`AccessSink`] without computing
//! anything.

use super::trace::AccessSink;

/// A loop structure and its sizes.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceParams {
    /// Generator name (`matmul/naive`, `matmul/tiled`, `matmul/gemv`,
    /// `attention/standard`, `attention/flash`).
    pub variant: String,
    /// Matmul: rows of A (tokens).
    pub m: usize,
    /// Matmul: columns of the output; attention: sequence length N.
    pub n: usize,
    /// Matmul: reduction length.
    pub k: usize,
    /// Attention: head dimension.
    pub d: usize,
    /// Element format of the operands in the format grammar (`e4m3`, `bf16`,
    /// `mxfp4`); `None` means f32.
    pub format: Option<String>,
    /// Fast-memory size in bytes that tile sizes are chosen for; `None`
    /// picks the generator's default.
    pub fast_bytes: Option<u64>,
}

/// Runs the generator named by `p.variant`, emitting every access into `sink`.
pub fn generate<S: AccessSink>(p: &TraceParams, sink: &mut S) -> Result<(), String> {
    let _ = sink;
    Err(format!("--variant {}: no address generator yet", p.variant))
}
