//! The HTML report and run-to-run comparison.
