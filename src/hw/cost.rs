//! Operation and byte *counts* by kind. Cost is counts, never joules:
//! energy = counts × an energy table ([`super::energy`]).

pub use crate::arith::op::OpKind;
use serde::{Deserialize, Serialize};

/// Counts for one matmul: operations by kind and bytes by memory level.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Cost {
    /// Multiply-accumulates of the matmul (M·K·N), for per-MAC figures.
    pub macs: f64,
    /// Operation counts by kind (a kind appears once).
    pub ops: Vec<(OpKind, f64)>,
    /// Bytes read from and written to on-chip SRAM.
    pub sram_bytes: f64,
    /// Bytes read from and written to DRAM.
    pub dram_bytes: f64,
}

impl Cost {
    /// Adds `count` operations of `kind`, merging with an existing entry.
    pub fn add(&mut self, kind: OpKind, count: f64) {
        match self.ops.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, c)) => *c += count,
            None => self.ops.push((kind, count)),
        }
    }
}
