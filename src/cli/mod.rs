//! The `bitsim` command line: one module per subcommand.

/// Runs the CLI on the given arguments (including the program name) and
/// returns the process exit code.
pub fn main(_args: Vec<std::ffi::OsString>) -> i32 {
    0
}
