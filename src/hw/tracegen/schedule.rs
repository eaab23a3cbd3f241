//! What every generator's loop nest provides ([`Schedule`]) and the sizes it
//! reads ([`Dim`]); `generator.rs` dispatches to the schedules of
//! `matmul.rs` and `attention.rs` through them.

use std::fmt;

use super::TraceParams;
use crate::hw::iomodel::ClosedForm;
use crate::hw::trace::AccessSink;

/// One size of [`TraceParams`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dim {
    /// Matmul: rows of A.
    M,
    /// Matmul: columns of the output; attention: sequence length N.
    N,
    /// Matmul: reduction length.
    K,
    /// Attention: head dimension.
    D,
}

impl Dim {
    /// The size's name as `TraceParams`, the CLI flags and TOML keys spell it
    /// (`m`, `n`, `k`, `d`).
    pub fn name(self) -> &'static str {
        match self {
            Dim::M => "m",
            Dim::N => "n",
            Dim::K => "k",
            Dim::D => "d",
        }
    }

    /// Its value in `p`.
    pub fn of(self, p: &TraceParams) -> usize {
        match self {
            Dim::M => p.m,
            Dim::N => p.n,
            Dim::K => p.k,
            Dim::D => p.d,
        }
    }

    /// Sets its value in `p`.
    pub fn set(self, p: &mut TraceParams, value: usize) {
        match self {
            Dim::M => p.m = value,
            Dim::N => p.n = value,
            Dim::K => p.k = value,
            Dim::D => p.d = value,
        }
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One generator's loop nest: what [`super::Generator`] dispatches to.
pub(crate) trait Schedule {
    /// The generator's name (`family/loop`).
    const NAME: &'static str;
    /// The sizes it reads, in the order they are asked for, each with its
    /// symbol in this loop nest (`N` for attention's sequence length).
    const DIMS: &'static [(Dim, &'static str)];
    /// Iterations of its loop nest (bounds the trace length).
    fn work(p: &TraceParams) -> f64 {
        Self::DIMS.iter().map(|(d, _)| d.of(p) as f64).product()
    }
    /// Emits its accesses with tiles chosen for `fast_bytes`.
    fn trace<S: AccessSink>(p: &TraceParams, fast_bytes: u64, sink: &mut S);
    /// Its closed form and bound with the tiles chosen for `fast_bytes`.
    fn closed_form(p: &TraceParams, fast_bytes: u64) -> ClosedForm;
}
