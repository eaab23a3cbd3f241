//! The suite's one error type: the input at fault and why, so the command
//! line prints `INPUT: REASON` without re-splitting a string.

use std::fmt;

/// A run error: the input it names (a spec file and line, a results file, a
/// variant) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunError {
    /// The input at fault (`suite.toml line 8`, `out/results.json`, `variant matmul/f64`).
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

impl RunError {
    /// An error about `input`.
    pub fn new(input: impl Into<String>, reason: impl Into<String>) -> Self {
        RunError {
            input: input.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.input, self.reason)
    }
}

impl std::error::Error for RunError {}
