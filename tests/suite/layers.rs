//! The layer rule of `src/lib.rs`, made executable: every `crate::` path in
//! the library's code (comments aside) must point to a module of a lower
//! layer or to its own module; and within each folder, no two entries (files
//! or sub-folders, the folder's own `mod.rs` aside) import each other in a
//! circle.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The layer ranks of `src/lib.rs`'s table. Modules of one rank may not use
/// each other, except in rank 0 (ground).
const LAYERS: &[(&str, u32)] = &[
    ("tensor", 0),
    ("atomic_file", 0),
    ("isa", 0),
    ("datafile", 0),
    ("size", 0),
    ("rng", 0),
    ("binade", 0),
    ("formats", 1),
    ("arith", 2),
    ("hw", 3),
    ("workload", 3),
    ("metrics", 3),
    ("kernels", 4),
    ("variants", 5),
    ("attention", 6),
    ("model", 7),
    ("suite", 8),
    ("report", 9),
    ("cli", 10),
];

fn rank(module: &str) -> Option<u32> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|&(_, r)| r)
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).expect("read src") {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The file's lines of code: `//` comments (doc comments included) removed.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(i, l)| {
        let code = match l.find("//") {
            Some(at) => &l[..at],
            None => l,
        };
        (!code.trim().is_empty()).then_some((i + 1, code))
    })
}

/// Every module path `a::b::c` written after `crate::` on the line, including
/// those inside `use crate::a::{b, c::d}` groups (as `a::b`, `a::c::d`).
fn crate_paths(line: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let path: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let segs: Vec<String> = path
            .split("::")
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        if segs.is_empty() {
            continue;
        }
        let after = &rest[path.len()..];
        if let Some(group) = after.strip_prefix('{') {
            // One level of braces: `crate::a::{b, c::d}`.
            let inner = group.split('}').next().unwrap_or("");
            for item in inner.split(',') {
                let item = item.trim().split(" as ").next().unwrap_or("").trim();
                if item.is_empty() || item == "self" {
                    out.push(segs.clone());
                    continue;
                }
                let mut p = segs.clone();
                p.extend(item.split("::").map(String::from));
                out.push(p);
            }
        } else {
            out.push(segs);
        }
    }
    out
}

fn top_module(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("a component");
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_string()
}

#[test]
fn every_crate_path_runs_downward() {
    let src = src();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut bad = Vec::new();
    for f in &files {
        let from = top_module(&src, f);
        if from == "lib" || from == "main" {
            continue;
        }
        let Some(from_rank) = rank(&from) else {
            bad.push(format!("{}: module {from} is not in LAYERS", f.display()));
            continue;
        };
        let text = fs::read_to_string(f).expect("read file");
        for (n, line) in code_lines(&text) {
            for path in crate_paths(line) {
                let to = &path[0];
                if *to == from {
                    continue;
                }
                match rank(to) {
                    None => bad.push(format!("{}:{n}: unknown module {to}", f.display())),
                    Some(r) if r < from_rank || (r == 0 && from_rank == 0) => {}
                    Some(r) => bad.push(format!(
                        "{}:{n}: {from} (layer {from_rank}) uses {to} (layer {r}): {}",
                        f.display(),
                        line.trim()
                    )),
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "imports against the layer order:\n{}",
        bad.join("\n")
    );
}

/// The module path of a file: `src/hw/cache/full.rs` → `[hw, cache, full]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let mut segs: Vec<String> = rel
        .components()
        .map(|c| {
            c.as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string()
        })
        .collect();
    if segs.last().is_some_and(|s| s == "mod" || s == "lib") {
        segs.pop();
    }
    segs
}

/// Resolves `super::`/`self::` paths of `module`'s file to crate paths.
fn local_paths(module: &[String], line: &str) -> Vec<Vec<String>> {
    let mut out = crate_paths(line);
    // `super` of a file module is its folder; `super` of a folder's mod.rs
    // (whose module path is the folder) is the folder's parent: either way
    // one segment fewer.
    let base = module;
    for (prefix, up) in [("super::super::", 2usize), ("super::", 1)] {
        let mut rest = line;
        while let Some(at) = rest.find(prefix) {
            // Skip `super::super::` when matching `super::` at its second half.
            let before = &rest[..at];
            rest = &rest[at + prefix.len()..];
            if up == 1 && before.ends_with("super::") {
                continue;
            }
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            if base.len() < up {
                continue;
            }
            let mut p: Vec<String> = base[..base.len() - up].to_vec();
            let segs: Vec<String> = path
                .split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            let after = &rest[path.len()..];
            if let Some(group) = after.strip_prefix('{') {
                let inner = group.split('}').next().unwrap_or("");
                for item in inner.split(',') {
                    let item = item.trim().split(" as ").next().unwrap_or("").trim();
                    let mut q = p.clone();
                    q.extend(segs.iter().cloned());
                    if !item.is_empty() && item != "self" {
                        q.extend(item.split("::").map(String::from));
                    }
                    out.push(q);
                }
            } else {
                p.extend(segs);
                out.push(p);
            }
        }
    }
    out
}

type Edges = BTreeMap<Vec<String>, BTreeSet<(String, String)>>;

/// Every entry of a folder that can reach itself through the folder's edges.
fn circles(edges: &Edges) -> Vec<String> {
    let mut out = Vec::new();
    for (folder, es) in edges {
        let sources: BTreeSet<&String> = es.iter().map(|(a, _)| a).collect();
        for a in sources {
            let mut seen = BTreeSet::new();
            let mut stack: Vec<&String> =
                es.iter().filter(|(x, _)| x == a).map(|(_, y)| y).collect();
            while let Some(n) = stack.pop() {
                if n == a {
                    out.push(format!("{}: {a} is in a circle", folder.join("::")));
                    break;
                }
                if seen.insert(n.clone()) {
                    stack.extend(es.iter().filter(|(x, _)| x == n).map(|(_, y)| y));
                }
            }
        }
    }
    out
}

#[test]
fn no_circles_between_siblings() {
    let src = src();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    // Per folder: edges between its entries (first path segment below it).
    let mut edges = Edges::new();
    for f in &files {
        let module = module_of(&src, f);
        let text = fs::read_to_string(f).expect("read file");
        for (_, line) in code_lines(&text) {
            for path in local_paths(&module, line) {
                // The deepest folder both paths are in, and the entries below it.
                let common = module.iter().zip(&path).take_while(|(a, b)| a == b).count();
                if common >= module.len() || common >= path.len() {
                    continue; // a path into the file's own module or one of its parents
                }
                let folder = module[..common].to_vec();
                let from = module[common].clone();
                let to = path[common].clone();
                if from != to {
                    edges.entry(folder).or_default().insert((from, to));
                }
            }
        }
    }
    let circles = circles(&edges);
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_checker_sees_paths_in_groups_and_through_super() {
    assert_eq!(
        crate_paths("use crate::hw::{cost::Cost, energy};"),
        vec![
            vec!["hw".to_string(), "cost".into(), "Cost".into()],
            vec!["hw".to_string(), "energy".into()]
        ]
    );
    let m: Vec<String> = vec!["hw".into(), "cache".into(), "full".into()];
    assert_eq!(
        local_paths(&m, "use super::store::INVALID;"),
        vec![vec![
            "hw".to_string(),
            "cache".into(),
            "store".into(),
            "INVALID".into()
        ]]
    );
}

#[test]
fn the_checker_finds_circles_of_two_and_three() {
    let folder = vec!["hw".to_string()];
    let mut edges = Edges::new();
    let e = |a: &str, b: &str| (a.to_string(), b.to_string());
    edges.insert(folder.clone(), [e("a", "b"), e("b", "c")].into());
    assert!(circles(&edges).is_empty());
    edges.insert(folder.clone(), [e("a", "b"), e("b", "a")].into());
    assert_eq!(circles(&edges).len(), 2);
    edges.insert(
        folder,
        [e("a", "b"), e("b", "c"), e("c", "a"), e("c", "d")].into(),
    );
    assert_eq!(circles(&edges).len(), 3);
}
