//! Suites: spec files, the runner and result records.

pub mod record;
