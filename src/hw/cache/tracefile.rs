//! Trace files: Dinero IV `din` text and bitsim's compact binary format,
//! read as streams (the file is never held in memory) and written by sinks.
//!
//! # `din` (Dinero IV)
//!
//! One access per line: `<label> <address>`, separated by blanks. Labels:
//! `0` read, `1` write, `2` instruction fetch (simulated as a read); other
//! Dinero labels (3 escape, 4 flush) are errors. The address is hexadecimal,
//! with or without `0x`. As in Dinero IV, anything after the address on the
//! line is ignored; blank lines are skipped. The format has no access size:
//! every access gets the reader's `access_size` (the CLI's `--access-size`,
//! default 8 bytes), and the writer drops sizes (use the binary format to
//! keep them).
//!
//! # Binary (`.bstrace`)
//!
//! Little-endian throughout. A 16-byte header:
//!
//! | bytes | content |
//! |---|---|
//! | 0..8 | magic `BSTRACE\0` |
//! | 8..12 | version, u32 = 1 |
//! | 12..16 | record size in bytes, u32 = 16 |
//!
//! then one 16-byte record per access, up to the end of the file:
//!
//! | bytes | content |
//! |---|---|
//! | 0..8 | address, u64 |
//! | 8..12 | size in bytes, u32 |
//! | 12 | kind, u8: 0 read, 1 write, 2 fetch |
//! | 13..16 | reserved, zero |
//!
//! Errors name the line (din) or the record, counted from 1 (binary).

use std::fmt;
use std::io::{self, BufRead, Read, Write};
use std::str::FromStr;

use crate::hw::trace::{Access, AccessKind, AccessSink};

/// Magic bytes at the start of a binary trace.
pub const BIN_MAGIC: [u8; 8] = *b"BSTRACE\0";
/// Binary format version written and read.
pub const BIN_VERSION: u32 = 1;
/// Bytes per binary record.
pub const BIN_RECORD: usize = 16;

/// A trace file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceFormat {
    /// Dinero IV `din` text.
    Din,
    /// The binary format of this module.
    Bin,
}

impl FromStr for TraceFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "din" => Ok(TraceFormat::Din),
            "bin" | "binary" => Ok(TraceFormat::Bin),
            _ => Err(format!("unknown trace format '{s}' (expected din or bin)")),
        }
    }
}

impl TraceFormat {
    /// The format a file name suggests: `.bin` and `.bstrace` are binary,
    /// anything else `din`.
    pub fn from_path(path: &std::path::Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("bin" | "bstrace") => TraceFormat::Bin,
            _ => TraceFormat::Din,
        }
    }
}

/// A bad trace: where (line or record number, from 1) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceError {
    /// A bad `din` line.
    Line(u64, String),
    /// A bad binary record (or header: record 0).
    Record(u64, String),
    /// Reading failed.
    Io(String),
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceError::Line(n, m) => write!(f, "line {n}: {m}"),
            TraceError::Record(0, m) => write!(f, "header: {m}"),
            TraceError::Record(n, m) => write!(f, "record {n}: {m}"),
            TraceError::Io(m) => write!(f, "cannot read: {m}"),
        }
    }
}

impl std::error::Error for TraceError {}

fn kind_of(label: u64) -> Option<AccessKind> {
    match label {
        0 => Some(AccessKind::Read),
        1 => Some(AccessKind::Write),
        2 => Some(AccessKind::Fetch),
        _ => None,
    }
}

fn code_of(kind: AccessKind) -> u8 {
    match kind {
        AccessKind::Read => 0,
        AccessKind::Write => 1,
        AccessKind::Fetch => 2,
    }
}

/// Largest access a trace may hold, in bytes (an access is split into one
/// request per line, so this bounds the work per trace record).
pub const MAX_ACCESS_BYTES: u32 = 4096;

/// Parses one `din` line; `None` for a blank line.
pub fn parse_din_line(line: &str, access_size: u32) -> Result<Option<Access>, String> {
    let mut fields = line.split_whitespace();
    let Some(label) = fields.next() else {
        return Ok(None);
    };
    let kind =
        label.parse::<u64>().ok().and_then(kind_of).ok_or_else(|| {
            format!("unknown label '{label}' (expected 0 read, 1 write or 2 fetch)")
        })?;
    let addr = fields.next().ok_or("missing address")?;
    let hex = addr
        .strip_prefix("0x")
        .or_else(|| addr.strip_prefix("0X"))
        .unwrap_or(addr);
    let addr = u64::from_str_radix(hex, 16)
        .ok()
        .filter(|_| !hex.starts_with('+'))
        .ok_or_else(|| format!("bad hexadecimal address '{addr}'"))?;
    Ok(Some(Access {
        addr,
        size: access_size,
        kind,
    }))
}

/// Streams a `din` trace into `sink`; returns the number of accesses.
pub fn read_din<R: BufRead, S: AccessSink + ?Sized>(
    mut r: R,
    access_size: u32,
    sink: &mut S,
) -> Result<u64, TraceError> {
    let (mut buf, mut n, mut count) = (Vec::new(), 0u64, 0u64);
    loop {
        buf.clear();
        if r.read_until(b'\n', &mut buf)
            .map_err(|e| TraceError::Io(e.to_string()))?
            == 0
        {
            return Ok(count);
        }
        n += 1;
        let text =
            std::str::from_utf8(&buf).map_err(|_| TraceError::Line(n, "not UTF-8 text".into()))?;
        if let Some(a) = parse_din_line(text, access_size).map_err(|m| TraceError::Line(n, m))? {
            sink.access(a);
            count += 1;
        }
    }
}

/// Reads `buf.len()` bytes or up to the end; returns how many were read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Streams a binary trace into `sink`; returns the number of accesses.
pub fn read_bin<R: Read, S: AccessSink + ?Sized>(
    mut r: R,
    sink: &mut S,
) -> Result<u64, TraceError> {
    let io = |e: io::Error| TraceError::Io(e.to_string());
    let mut h = [0u8; 16];
    let got = read_full(&mut r, &mut h).map_err(io)?;
    let header = |m: String| TraceError::Record(0, m);
    if got < 16 || h[..8] != BIN_MAGIC {
        return Err(header(
            "not a bitsim binary trace (no BSTRACE header)".into(),
        ));
    }
    let version = u32::from_le_bytes(h[8..12].try_into().expect("4 bytes"));
    if version != BIN_VERSION {
        return Err(header(format!(
            "version {version} is not supported (expected {BIN_VERSION})"
        )));
    }
    let rec = u32::from_le_bytes(h[12..16].try_into().expect("4 bytes"));
    if rec as usize != BIN_RECORD {
        return Err(header(format!(
            "record size {rec} is not supported (expected {BIN_RECORD})"
        )));
    }
    let mut b = [0u8; BIN_RECORD];
    let mut count = 0u64;
    loop {
        let got = read_full(&mut r, &mut b).map_err(io)?;
        if got == 0 {
            return Ok(count);
        }
        let n = count + 1;
        if got < BIN_RECORD {
            return Err(TraceError::Record(
                n,
                format!("truncated: {got} of {BIN_RECORD} bytes"),
            ));
        }
        let kind = kind_of(b[12] as u64).ok_or_else(|| {
            TraceError::Record(
                n,
                format!(
                    "unknown kind {} (expected 0 read, 1 write or 2 fetch)",
                    b[12]
                ),
            )
        })?;
        if b[13..16] != [0, 0, 0] {
            return Err(TraceError::Record(n, "reserved bytes are not zero".into()));
        }
        let size = u32::from_le_bytes(b[8..12].try_into().expect("4 bytes"));
        if size > MAX_ACCESS_BYTES {
            return Err(TraceError::Record(
                n,
                format!("size {size} is larger than {MAX_ACCESS_BYTES} bytes"),
            ));
        }
        sink.access(Access {
            addr: u64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
            size,
            kind,
        });
        count = n;
    }
}

/// Streams a trace of either format into `sink` (`access_size` is for `din`).
pub fn read_trace<R: BufRead, S: AccessSink + ?Sized>(
    format: TraceFormat,
    r: R,
    access_size: u32,
    sink: &mut S,
) -> Result<u64, TraceError> {
    match format {
        TraceFormat::Din => read_din(r, access_size, sink),
        TraceFormat::Bin => read_bin(r, sink),
    }
}

/// Writes accesses as `din` lines (sizes are dropped); the first I/O error
/// is kept and returned by [`DinWriter::finish`].
pub struct DinWriter<W: Write> {
    w: W,
    err: Option<io::Error>,
}

impl<W: Write> DinWriter<W> {
    /// A writer into `w` (wrap files in a `BufWriter`).
    pub fn new(w: W) -> Self {
        DinWriter { w, err: None }
    }

    /// Flushes and returns the inner writer, or the first error.
    pub fn finish(mut self) -> io::Result<W> {
        if let Some(e) = self.err {
            return Err(e);
        }
        self.w.flush()?;
        Ok(self.w)
    }
}

impl<W: Write> AccessSink for DinWriter<W> {
    fn access(&mut self, a: Access) {
        if self.err.is_none() {
            if let Err(e) = writeln!(self.w, "{} {:x}", code_of(a.kind), a.addr) {
                self.err = Some(e);
            }
        }
    }
}

/// Writes accesses in the binary format (header first); the first I/O
/// error is kept and returned by [`BinWriter::finish`].
pub struct BinWriter<W: Write> {
    w: W,
    err: Option<io::Error>,
}

impl<W: Write> BinWriter<W> {
    /// A writer into `w` (wrap files in a `BufWriter`); writes the header.
    pub fn new(mut w: W) -> Self {
        let mut h = [0u8; 16];
        h[..8].copy_from_slice(&BIN_MAGIC);
        h[8..12].copy_from_slice(&BIN_VERSION.to_le_bytes());
        h[12..16].copy_from_slice(&(BIN_RECORD as u32).to_le_bytes());
        let err = w.write_all(&h).err();
        BinWriter { w, err }
    }

    /// Flushes and returns the inner writer, or the first error.
    pub fn finish(mut self) -> io::Result<W> {
        if let Some(e) = self.err {
            return Err(e);
        }
        self.w.flush()?;
        Ok(self.w)
    }
}

impl<W: Write> AccessSink for BinWriter<W> {
    fn access(&mut self, a: Access) {
        if self.err.is_none() {
            let mut b = [0u8; BIN_RECORD];
            b[..8].copy_from_slice(&a.addr.to_le_bytes());
            b[8..12].copy_from_slice(&a.size.to_le_bytes());
            b[12] = code_of(a.kind);
            if let Err(e) = self.w.write_all(&b) {
                self.err = Some(e);
            }
        }
    }
}
