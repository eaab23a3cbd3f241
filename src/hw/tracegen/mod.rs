//! Address generators: the load/store stream of each matmul and attention
//! loop structure, emitted into an [`AccessSink`] without computing
//! anything and without materializing the trace.
//!
//! Memory layout (row-major, packed sub-byte codes, block scales in their
//! own arrays) and access granularity (one access per 64-byte vector, split
//! at line boundaries) are described in [`layout`]. Operands that a schedule
//! keeps in fast memory (a C tile, FlashAttention's K_j and V_j) are
//! accessed again at each use, so a cache of the size the tiles were chosen
//! for keeps them as the schedule does; [`crate::hw::iomodel`] has the
//! matching closed forms, which each [`Generator`] pairs with its stream.

mod attention;
mod generator;
pub mod layout;
mod matmul;
mod schedule;
mod tile_choice;

pub use attention::{flash_attention_trace, standard_attention_trace};
pub use generator::{DimError, DimProblem, Generator, UnknownGenerator, MAX_DIM};
pub use matmul::{gemv_trace, naive_matmul_trace, tiled_matmul_trace};
pub use schedule::Dim;
pub use tile_choice::{flash_tiles, gemv_chunk, matmul_tiles, standard_block, standard_chunk};

use super::tiles::ElementSize;
use super::trace::AccessSink;

/// Fast-memory size tiles are chosen for when [`TraceParams::fast_bytes`] is `None`.
pub const DEFAULT_FAST_BYTES: u64 = 64 * 1024;

/// A generator, its sizes and its element format: everything a run needs,
/// already parsed (the boundary that read them names their flags or keys).
#[derive(Debug, Clone, PartialEq)]
pub struct TraceParams {
    /// The loop structure.
    pub generator: Generator,
    /// Matmul: rows of A (tokens).
    pub m: usize,
    /// Matmul: columns of the output; attention: sequence length N.
    pub n: usize,
    /// Matmul: reduction length.
    pub k: usize,
    /// Attention: head dimension.
    pub d: usize,
    /// Element format of the operands.
    pub format: ElementSize,
    /// Fast-memory size in bytes that tile sizes are chosen for; `None`
    /// picks [`DEFAULT_FAST_BYTES`].
    pub fast_bytes: Option<u64>,
}

impl TraceParams {
    /// Checks the sizes the generator needs: `(m, n, k)` for matmuls (GEMV:
    /// m×k, n unused), `(n, d)` for attention; each at least 1 and at most
    /// [`MAX_DIM`], their loop nest at most 2^40 iterations.
    pub fn check(&self) -> Result<(), DimError> {
        self.generator.check(self)
    }

    /// Iterations of the generator's loop nest (each emits a few accesses).
    pub fn iterations(&self) -> f64 {
        self.generator.work(self)
    }

    /// Checks that simulating the trace stays within
    /// [`MAX_SIMULATED_ITERATIONS`] loop iterations (minutes at the
    /// simulator's speed); the closed forms alone go to 2^40. The error is
    /// the reason, for the caller to locate.
    pub fn check_simulated_work(&self) -> Result<(), String> {
        let it = self.iterations();
        if it > MAX_SIMULATED_ITERATIONS {
            return Err(format!(
                "simulating {it:.3e} loop iterations is more than the 2^32 \
                 ({MAX_SIMULATED_ITERATIONS:.3e}, minutes of simulation) this command runs: use smaller sizes"
            ));
        }
        Ok(())
    }

    /// The generator's sizes as a table header writes them (`m=64 n=64 k=64`, `N=256 d=64`).
    pub fn describe(&self) -> String {
        self.generator.describe(self)
    }
}

/// Most loop iterations a simulation runs (2^32: a few accesses each, so
/// minutes at tens of millions of accesses per second).
pub const MAX_SIMULATED_ITERATIONS: f64 = 4_294_967_296.0;

/// Runs `p`'s generator, emitting every access into `sink`.
pub fn generate<S: AccessSink>(p: &TraceParams, sink: &mut S) -> Result<(), DimError> {
    p.check()?;
    p.generator
        .trace(p, p.fast_bytes.unwrap_or(DEFAULT_FAST_BYTES), sink);
    Ok(())
}
