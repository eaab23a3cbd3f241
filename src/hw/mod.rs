//! Cost models: operation counts by kind ([`cost`]) and energy tables ([`energy`]).

pub mod cost;
pub mod energy;
