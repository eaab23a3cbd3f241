//! Bit-serial processing elements: BitMoD data types ([`datatypes`]) and a
//! cycle-counting PE with bit-serial dequantization ([`pe`]).

pub mod datatypes;
pub mod pe;

pub use datatypes::{BitmodType, BitmodWeights};
pub use pe::{PeConfig, WeightCoding};
