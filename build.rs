//! Records the git commit bitsim is built from (`BITSIM_GIT_COMMIT`, empty
//! outside a git checkout) for the results files' metadata.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_default();
    println!("cargo:rustc-env=BITSIM_GIT_COMMIT={commit}");
    // Rebuild when HEAD moves: HEAD itself (branch switches) and the refs (commits).
    // A path that does not exist would make cargo rerun this script on every build.
    let mut watch = Vec::new();
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        watch.push(format!("{dir}/HEAD"));
    }
    if let Some(dir) = git(&["rev-parse", "--git-common-dir"]) {
        watch.push(format!("{dir}/refs/heads"));
        watch.push(format!("{dir}/packed-refs"));
    }
    for p in watch.iter().filter(|p| std::path::Path::new(p).exists()) {
        println!("cargo:rerun-if-changed={p}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
