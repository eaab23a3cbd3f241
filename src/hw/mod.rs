//! Cost models: operation counts by kind ([`cost`]), energy tables
//! ([`energy`]), I/O-complexity closed forms ([`iomodel`]), access traces
//! ([`trace`], [`tracegen`]), the element sizes and tiles both share
//! ([`tiles`]), closed forms beside simulation ([`io_sweep`]), the cache
//! simulator ([`cache`]), the roofline ([`roofline`]) and accelerator cycle
//! models ([`accel`]).

pub mod accel;
pub mod cache;
pub mod cost;
pub mod energy;
pub mod io_sweep;
pub mod iomodel;
pub mod roofline;
pub mod tiles;
pub mod trace;
pub mod tracegen;
