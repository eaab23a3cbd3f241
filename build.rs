//! Records the git commit bitsim is built from (`BITSIM_GIT_COMMIT`, empty
//! outside a git checkout) for the results files' metadata, and builds the
//! registry of `sims/*.toml` files (`OUT_DIR/sims_registry.rs`, read by
//! `src/datafile.rs`), so that a built-in table is a file dropped in `sims/`.

use std::fmt::Write as _;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

/// Writes `BUILTIN`: (file stem, `include_str!` of the file) for every
/// `sims/*.toml`, sorted by name so that lists of built-ins are stable.
fn sims_registry() {
    let dir = std::path::Path::new("sims");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("sims/ is readable")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            Some(name.strip_suffix(".toml")?.to_string())
        })
        .collect();
    names.sort();
    let mut code = String::from("/// Every `sims/*.toml`: (file stem, text), sorted by name.\n");
    code.push_str("const BUILTIN: &[(&str, &str)] = &[\n");
    for n in &names {
        let _ = writeln!(
            code,
            "    ({n:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), {:?}))),",
            format!("/sims/{n}.toml")
        );
    }
    code.push_str("];\n");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("sims_registry.rs"), code).expect("OUT_DIR is writable");
    // A directory is watched as a whole: adding, removing or editing a file reruns this.
    println!("cargo:rerun-if-changed=sims");
}

fn main() {
    sims_registry();
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_default();
    println!("cargo:rustc-env=BITSIM_GIT_COMMIT={commit}");
    // Rebuild when HEAD moves: this checkout's HEAD (branch switches) and the
    // one ref it points to (commits). Watching all of refs/heads would rebuild
    // every worktree of the repository whenever any branch gains a commit.
    // A path that does not exist would make cargo rerun this script on every build.
    let mut watch = Vec::new();
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        watch.push(format!("{dir}/HEAD"));
    }
    if let Some(dir) = git(&["rev-parse", "--git-common-dir"]) {
        if let Some(head_ref) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch.push(format!("{dir}/{head_ref}"));
        }
        // A ref packed by `git gc` lives here instead of in its own file.
        watch.push(format!("{dir}/packed-refs"));
    }
    for p in watch.iter().filter(|p| std::path::Path::new(p).exists()) {
        println!("cargo:rerun-if-changed={p}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
