//! What the workload grammar's readers share: the error with the span of
//! the offending value, and the size guard.

use std::ops::Range;

/// Largest number of elements of one generated matrix (a guard against typos
/// such as an extra zero that would exhaust memory).
pub const MAX_ELEMENTS: usize = 1 << 28;

/// A workload error: the span of the offending value in the spec text and
/// what is wrong (the message names the workload and the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanError {
    /// Byte range of the offending key or value in the spec text.
    pub span: Range<usize>,
    /// What is wrong.
    pub message: String,
}

impl SpanError {
    pub(crate) fn new(span: Range<usize>, message: impl Into<String>) -> Self {
        SpanError {
            span,
            message: message.into(),
        }
    }
}
