//! Energy tables (TOML in `sims/`, every number with its source) and
//! energy = counts × table, with width and node scaling.

use super::cost::Cost;

/// Energy of one matmul split by where it is spent, pJ.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EnergyBreakdown {
    /// Arithmetic.
    pub compute_pj: f64,
    /// On-chip SRAM traffic.
    pub sram_pj: f64,
    /// DRAM traffic.
    pub dram_pj: f64,
    /// Human-readable notes on every number that was scaled rather than read from the table.
    pub scaled: Vec<String>,
}

impl EnergyBreakdown {
    /// compute + SRAM + DRAM.
    pub fn total_pj(&self) -> f64 {
        self.compute_pj + self.sram_pj + self.dram_pj
    }
}

/// A loaded energy table.
#[derive(Debug, Clone, PartialEq)]
pub struct EnergyTable {
    /// Table name (e.g. `energy-45nm`).
    pub name: String,
}

impl EnergyTable {
    /// Loads a built-in table by name (`energy-45nm`, `energy-7nm`) or a TOML file by path.
    pub fn load(_name_or_path: &str) -> Result<Self, String> {
        unimplemented!("EnergyTable::load")
    }

    /// Energy of a cost.
    pub fn energy(&self, _cost: &Cost) -> EnergyBreakdown {
        unimplemented!("EnergyTable::energy")
    }
}
