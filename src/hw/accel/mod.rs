//! Accelerator cycle models: the BitMoD accelerator ([`bitmod`]: an R×C
//! array of bit-serial or bit-parallel PEs, weight and input buffers, DRAM
//! bandwidth, compute/DRAM overlap), the classic bit-serial Stripes and Loom
//! models ([`stripes`]), and their TOML scenario files ([`config`]).

pub mod bitmod;
pub mod config;
pub mod stripes;

pub use bitmod::{Design, Layer, LayerResult, Memory, Model, Phase, Totals};
pub use config::{load, load_str, SimFile};
