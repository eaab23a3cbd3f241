//! Arithmetic units as hardware builds them, bit-exact: generic minifloat
//! add/sub/mul/fma ([`float`]), accumulators and dot-product models
//! ([`accum`]), the `vdpbf16ps` lane ([`dpbf16`]), L-Mul ([`lmul`]) and bit-serial processing elements with
//! BitMoD data types ([`bitserial`]), the softmax exponential ([`exp`]) and f64 → fp16 in one rounding
//! ([`fp16`]).
//!
//! Values travel as format codes (`u32`, as [`crate::formats::MiniFloat`]
//! encodes them) or, between units, as exact `f64` values (every product of
//! two formats of ≤ 24 significand bits is exact in f64).

pub mod accum;
pub mod bitserial;
pub mod dpbf16;
pub mod exp;
pub mod explain;
pub mod float;
pub mod fp16;
pub mod lmul;
pub mod op;
