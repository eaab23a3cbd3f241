//! MX (OCP Microscaling v1.0) and NVFP4 block quantization.
//!
//! Blocks run along the last axis: a tensor is `rows × row_len`, each row is
//! cut into blocks of `block_size` elements (the last one may be shorter).

use super::{BlockFormat, ConvertOptions, FormatError};

/// A block-quantized tensor: one code per element, one scale code per block.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockTensor {
    /// The format.
    pub format: BlockFormat,
    /// Elements per row (the blocked axis).
    pub row_len: usize,
    /// Element codes, one per element, unpacked (row-major).
    pub codes: Vec<u8>,
    /// Block scale codes (E8M0 for MX, E4M3 for NVFP4), row-major by block.
    pub scales: Vec<u8>,
    /// NVFP4 per-tensor f32 scale (None for MX).
    pub tensor_scale: Option<f32>,
}

/// Quantizes `data` (rows of `row_len` elements) to a block format.
pub fn quantize(
    _fmt: &BlockFormat,
    _opts: &ConvertOptions,
    _data: &[f32],
    _row_len: usize,
) -> Result<BlockTensor, FormatError> {
    unimplemented!("mx::quantize")
}

impl BlockTensor {
    /// The exact dequantized values as f32.
    pub fn dequantize(&self) -> Vec<f32> {
        unimplemented!("BlockTensor::dequantize")
    }
}
