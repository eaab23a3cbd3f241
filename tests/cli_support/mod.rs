//! Helpers shared by the CLI tests: run the built binary, build `.npy`
//! bytes by hand, read outputs back with `npyz` (an independent reader).
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `bitsim` binary with `args`.
pub fn bitsim<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bitsim"))
        .args(args)
        .output()
        .expect("run bitsim")
}

/// Stdout of a run that must succeed.
pub fn ok(args: &[&str]) -> String {
    let o = bitsim(args);
    assert!(
        o.status.success(),
        "bitsim {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.stderr.is_empty(),
        "unexpected stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("utf-8 stdout")
}

/// Checks the error rule: exit code 2, nothing on stdout, exactly one line
/// on stderr of the form `bitsim: error: <input>: <reason>` naming `input`
/// and mentioning `reason`, and no panic.
pub fn assert_error(o: &Output, input: &str, reason: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "exit code; stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(
        o.stdout.is_empty(),
        "stdout not empty: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
    let line = err.trim_end();
    let rest = line
        .strip_prefix("bitsim: error: ")
        .unwrap_or_else(|| panic!("bad prefix: {line}"));
    assert!(
        rest.contains(input),
        "input {input:?} not named in {line:?}"
    );
    assert!(
        rest.to_lowercase().contains(&reason.to_lowercase()),
        "reason {reason:?} missing in {line:?}"
    );
}

/// The `.npy` bytes of a version 1.0 file, built by hand: magic, version,
/// header length, the dict padded with spaces to a 64-byte boundary, data.
pub fn npy_bytes(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let order = if fortran { "True" } else { "False" };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}");
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    b.extend_from_slice(dict.as_bytes());
    b.extend_from_slice(data);
    b
}

/// Little-endian bytes of f32 values.
pub fn f32_le(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Little-endian bytes of f64 values.
pub fn f64_le(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Writes `bytes` to `dir/name` and returns the path.
pub fn put(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, bytes).expect("write test input");
    p
}

/// Sorted file names in `dir` (to check that nothing was left behind).
pub fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Reads an `.npy` with npyz: (dtype string, shape, file).
pub fn open_npy(path: &Path) -> npyz::NpyFile<std::io::BufReader<fs::File>> {
    npyz::NpyFile::new(std::io::BufReader::new(
        fs::File::open(path).expect("open output"),
    ))
    .expect("npyz parses the output")
}

/// dtype descr of an npyz file, e.g. `<f4`.
pub fn descr<R: std::io::Read>(f: &npyz::NpyFile<R>) -> String {
    match f.dtype() {
        npyz::DType::Plain(t) => t.to_string(),
        d => panic!("unexpected dtype {d:?}"),
    }
}

/// Reads a float32 `.npy` output: (shape, values).
pub fn read_f32(path: &Path) -> (Vec<u64>, Vec<f32>) {
    let f = open_npy(path);
    assert_eq!(descr(&f), "<f4");
    assert_eq!(f.order(), npyz::Order::C);
    let shape = f.shape().to_vec();
    (shape, f.into_vec::<f32>().expect("f32 data"))
}

/// Bit patterns, so that -0 and NaN compare exactly.
pub fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Runs `bitsim quantize --format F --input IN --output OUT [extra…]`.
pub fn quantize_run(input: &Path, output: &Path, format: &str, extra: &[&str]) -> Output {
    let mut a = vec![
        "quantize".to_string(),
        "--format".into(),
        format.into(),
        "--input".into(),
        input.display().to_string(),
        "--output".into(),
        output.display().to_string(),
    ];
    a.extend(extra.iter().map(|s| s.to_string()));
    bitsim(&a)
}

/// Runs `quantize` and asserts success; returns stdout.
pub fn quantize(input: &Path, output: &Path, format: &str, extra: &[&str]) -> String {
    let o = quantize_run(input, output, format, extra);
    assert!(
        o.status.success(),
        "quantize failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}
