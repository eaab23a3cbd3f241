//! Where outputs land: a symbolic link is followed (the link stays), a
//! device node or pipe is written directly (not replaced by a plain file),
//! a replaced file keeps its mode, and `--output` equal to `--input` is
//! refused unless `--in-place` asks for it.

use crate::cli_support;

use std::fs;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::process::Command;

use cli_support::{assert_error, f32_le, npy_bytes, put, quantize, quantize_run};

fn input(dir: &std::path::Path) -> std::path::PathBuf {
    put(
        dir,
        "in.npy",
        &npy_bytes("<f4", false, "(4,)", &f32_le(&[0.3, 1.0, -2.5, 6.0])),
    )
}

#[test]
fn a_symlinked_output_keeps_the_link_and_fills_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let inp = input(dir.path());
    let target = dir.path().join("target.npy");
    fs::write(&target, b"old").unwrap();
    let link = dir.path().join("link.npy");
    std::os::unix::fs::symlink("target.npy", &link).unwrap();
    quantize(&inp, &link, "e2m1", &[]);
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let bytes = fs::read(&target).unwrap();
    assert!(bytes.starts_with(b"\x93NUMPY"), "target not written");
    // A dangling link: its target is created.
    fs::remove_file(&target).unwrap();
    quantize(&inp, &link, "e2m1", &[]);
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(fs::read(&target).unwrap().starts_with(b"\x93NUMPY"));
}

#[test]
fn a_replaced_file_keeps_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    let inp = input(dir.path());
    let out = dir.path().join("out.npy");
    for mode in [0o600, 0o664, 0o755] {
        fs::write(&out, b"old").unwrap();
        fs::set_permissions(&out, fs::Permissions::from_mode(mode)).unwrap();
        quantize(&inp, &out, "e2m1", &[]);
        let got = fs::metadata(&out).unwrap().permissions().mode() & 0o7777;
        assert_eq!(got, mode, "mode {mode:o} became {got:o}");
    }
    // A new file is 0644.
    let fresh = dir.path().join("fresh.npy");
    quantize(&inp, &fresh, "e2m1", &[]);
    assert_eq!(
        fs::metadata(&fresh).unwrap().permissions().mode() & 0o777,
        0o644
    );
}

#[test]
fn a_named_pipe_is_written_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let inp = input(dir.path());
    let fifo = dir.path().join("pipe");
    let st = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(st.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read(fifo).unwrap())
    };
    quantize(&inp, &fifo, "e2m1", &[]);
    // Checked before joining: a reader of a replaced pipe would wait forever.
    assert!(
        fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(),
        "the pipe was replaced by a plain file"
    );
    let got = reader.join().unwrap();
    assert!(got.starts_with(b"\x93NUMPY"), "{} bytes", got.len());
    // /dev/null stays a character device (checked, never at risk: the
    // write goes through the device once the pipe case above passes).
    quantize(&inp, std::path::Path::new("/dev/null"), "e2m1", &[]);
    assert!(fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
}

#[test]
fn output_equal_to_input_is_refused_unless_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let inp = input(dir.path());
    let before = fs::read(&inp).unwrap();
    let o = quantize_run(&inp, &inp, "e2m1", &[]);
    assert_error(&o, "--output", "is the input file");
    assert_eq!(fs::read(&inp).unwrap(), before, "input touched");
    // Through a link too.
    let link = dir.path().join("alias.npy");
    std::os::unix::fs::symlink(&inp, &link).unwrap();
    assert_error(&quantize_run(&inp, &link, "e2m1", &[]), "--output", "input");
    quantize(&inp, &inp, "e2m1", &["--in-place"]);
    assert_ne!(fs::read(&inp).unwrap(), before, "not replaced");
}
