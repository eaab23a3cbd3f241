//! The command line, run as a user runs it: outputs, goldens and one-line errors.
//!
//! One test binary per layer (linking many small binaries dominates build time);
//! each file below was its own binary before.

#[path = "../cli_support/mod.rs"]
mod cli_support;

mod arith;
mod attention;
mod block;
mod cachesim;
mod calibrate;
mod compare;
mod formats;
mod io;
mod kernels;
mod messages;
mod metrics;

mod outputs;
mod quantize;
mod quantize_stream;
mod report;
mod sim;
mod variants;
