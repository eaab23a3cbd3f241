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
//! keep them; [`DinWriter::sizes`] says whether one size fits them all).
//! A line is at most [`MAX_DIN_LINE`] bytes.
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
use std::sync::mpsc;

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

/// Longest `din` line accepted, in bytes (a label and an address take a
/// few dozen; the bound keeps a file without newlines from filling memory).
pub const MAX_DIN_LINE: usize = 64 * 1024;

/// Hex digit values; 0xff for anything else.
const HEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// The run of hex digits at the start of `b` (16 bytes) and its value,
/// when the run is shorter than 16 bytes (else `None`: the caller's byte
/// loop decides). The 16 bytes are classified at once with SSE2 and the
/// digit values combined without a table lookup and a branch per byte,
/// which was most of the parse of a typical line (`0 7ffd3a21c8\n`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn hex_run16(b: &[u8]) -> Option<(u64, usize)> {
    use std::arch::x86_64::*;
    debug_assert_eq!(b.len(), 16);
    // SAFETY: SSE2 is part of x86_64; the load reads the 16 bytes of `b`.
    let (mask, vals) = unsafe {
        let v = _mm_loadu_si128(b.as_ptr().cast());
        // byte - '0' <= 9 (unsigned) for digits; (byte | 0x20) - 'a' <= 5
        // for letters: x <= k exactly when min(x, k) == x.
        let d = _mm_sub_epi8(v, _mm_set1_epi8(b'0' as i8));
        let is_d = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d);
        let l = _mm_sub_epi8(
            _mm_or_si128(v, _mm_set1_epi8(0x20)),
            _mm_set1_epi8(b'a' as i8),
        );
        let is_l = _mm_cmpeq_epi8(_mm_min_epu8(l, _mm_set1_epi8(5)), l);
        let lv = _mm_add_epi8(l, _mm_set1_epi8(10));
        let vals = _mm_or_si128(_mm_and_si128(is_d, d), _mm_and_si128(is_l, lv));
        let mask = _mm_movemask_epi8(_mm_or_si128(is_d, is_l)) as u32;
        let mut out = [0u8; 16];
        _mm_storeu_si128(out.as_mut_ptr().cast(), vals);
        (mask, out)
    };
    let n = (!mask).trailing_zeros() as usize;
    if n >= 16 {
        return None;
    }
    let addr = vals[..n].iter().fold(0u64, |a, &d| (a << 4) | d as u64);
    Some((addr, n))
}

/// The run of hex digits at the start of `b` and its value, when shorter
/// than 16 bytes (the portable twin of the x86_64 version).
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn hex_run16(b: &[u8]) -> Option<(u64, usize)> {
    let n = b.iter().position(|&c| HEX[c as usize] == 0xff)?;
    let addr = b[..n]
        .iter()
        .fold(0u64, |a, &c| (a << 4) | HEX[c as usize] as u64);
    Some((addr, n))
}

/// The common line shape, parsed in place without allocation, UTF-8
/// checks or a separate newline search: at `buf[start..]`,
/// `[blanks]L<blank>+[0x]HEX[\r]\n` with one-digit label `L` of 0 to 2
/// and at most 16 hex digits, blanks being spaces and tabs, the line at
/// most [`MAX_DIN_LINE`] bytes. Returns the access and the index just past
/// the newline. `None` means "not this shape, or no newline in `buf`": the
/// caller then finds the line's end and hands the line to [`din_line`],
/// whose [`parse_din_line`] decides (same result for every line that has
/// this shape, which `tests/hw/cache_files.rs` checks).
#[inline(always)]
fn parse_din_fast(buf: &[u8], start: usize, access_size: u32) -> Option<(Access, usize)> {
    let blank = |i: usize| matches!(buf.get(i), Some(b' ' | b'\t'));
    let mut i = start;
    while blank(i) {
        i += 1;
    }
    let kind = match buf.get(i)? {
        b'0' => AccessKind::Read,
        b'1' => AccessKind::Write,
        b'2' => AccessKind::Fetch,
        _ => return None,
    };
    i += 1;
    let blanks = i;
    while blank(i) {
        i += 1;
    }
    if i == blanks {
        return None;
    }
    // "0x" (a newline is no 'x', so this never reads past the line).
    if buf.get(i) == Some(&b'0') && buf.get(i + 1).map(|&c| c | 0x20) == Some(b'x') {
        i += 2;
    }
    let digits = i;
    let mut addr = 0u64;
    if let Some((a, n)) = buf.get(i..i + 16).and_then(hex_run16) {
        // At most 15 digits seen and the byte after them is no hex digit.
        addr = a;
        i += n;
    } else {
        while let Some(&c) = buf.get(i) {
            let d = HEX[c as usize];
            if d == 0xff {
                break;
            }
            addr = (addr << 4) | d as u64;
            i += 1;
        }
    }
    let n = i - digits;
    if n == 0 || n > 16 {
        return None;
    }
    if buf.get(i) == Some(&b'\r') {
        i += 1;
    }
    if buf.get(i) != Some(&b'\n') || i - start > MAX_DIN_LINE {
        return None;
    }
    Some((
        Access {
            addr,
            size: access_size,
            kind,
        },
        i + 1,
    ))
}

/// Parses the complete lines at the start of `buf` into `sink`: returns
/// the bytes consumed (up to the last newline; the rest is a partial
/// line) and the lines and accesses seen, numbering lines after `line_no`.
fn parse_din_block<S: AccessSink + ?Sized>(
    buf: &[u8],
    access_size: u32,
    line_no: &mut u64,
    count: &mut u64,
    sink: &mut S,
) -> Result<usize, TraceError> {
    let mut pos = 0;
    loop {
        if let Some((a, next)) = parse_din_fast(buf, pos, access_size) {
            *line_no += 1;
            *count += 1;
            sink.access(a);
            pos = next;
            continue;
        }
        let Some(nl) = memchr::memchr(b'\n', &buf[pos..]) else {
            return Ok(pos);
        };
        *line_no += 1;
        din_line(&buf[pos..pos + nl], access_size, *line_no, count, sink)?;
        pos += nl + 1;
    }
}

/// One line (without its newline) that is not of the fast shape (or the
/// last line, without a newline), through [`parse_din_line`].
#[inline]
fn din_line<S: AccessSink + ?Sized>(
    line: &[u8],
    access_size: u32,
    n: u64,
    count: &mut u64,
    sink: &mut S,
) -> Result<(), TraceError> {
    if line.len() > MAX_DIN_LINE {
        return Err(TraceError::Line(
            n,
            format!("longer than {MAX_DIN_LINE} bytes (a din line is a label and an address)"),
        ));
    }
    let text =
        std::str::from_utf8(line).map_err(|_| TraceError::Line(n, "not UTF-8 text".into()))?;
    if let Some(a) = parse_din_line(text, access_size).map_err(|m| TraceError::Line(n, m))? {
        sink.access(a);
        *count += 1;
    }
    Ok(())
}

/// Streams a `din` trace into `sink`; returns the number of accesses.
///
/// Lines are parsed in place in the reader's buffer (a line cut by the
/// buffer's end is carried over, up to [`MAX_DIN_LINE`] bytes);
/// [`read_din_reference`] is the slow twin, one `String` line at a time.
pub fn read_din<R: BufRead, S: AccessSink + ?Sized>(
    mut r: R,
    access_size: u32,
    sink: &mut S,
) -> Result<u64, TraceError> {
    let io = |e: io::Error| TraceError::Io(e.to_string());
    let (mut line_no, mut count) = (0u64, 0u64);
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io(e)),
        };
        if buf.is_empty() {
            // The last line may lack its newline.
            if !carry.is_empty() {
                din_line(&carry, access_size, line_no + 1, &mut count, sink)?;
            }
            return Ok(count);
        }
        let len = buf.len();
        if !carry.is_empty() {
            // Complete the carried line first.
            match memchr::memchr(b'\n', buf) {
                Some(nl) => {
                    carry.extend_from_slice(&buf[..nl]);
                    line_no += 1;
                    din_line(&carry, access_size, line_no, &mut count, sink)?;
                    carry.clear();
                    r.consume(nl + 1);
                }
                None => {
                    carry.extend_from_slice(buf);
                    r.consume(len);
                    if carry.len() > MAX_DIN_LINE {
                        return Err(TraceError::Line(
                            line_no + 1,
                            format!("longer than {MAX_DIN_LINE} bytes (a din line is a label and an address)"),
                        ));
                    }
                }
            }
            continue;
        }
        let used = parse_din_block(buf, access_size, &mut line_no, &mut count, sink)?;
        carry.extend_from_slice(&buf[used..]);
        r.consume(len);
        if carry.len() > MAX_DIN_LINE {
            return Err(TraceError::Line(
                line_no + 1,
                format!("longer than {MAX_DIN_LINE} bytes (a din line is a label and an address)"),
            ));
        }
    }
}

/// The slow twin of [`read_din`]: one line at a time into a fresh buffer,
/// UTF-8 checked, parsed by [`parse_din_line`] (same accesses, same errors).
pub fn read_din_reference<R: BufRead, S: AccessSink + ?Sized>(
    mut r: R,
    access_size: u32,
    sink: &mut S,
) -> Result<u64, TraceError> {
    let (mut buf, mut n, mut count) = (Vec::new(), 0u64, 0u64);
    loop {
        buf.clear();
        let got = (&mut r)
            .take(MAX_DIN_LINE as u64 + 2)
            .read_until(b'\n', &mut buf)
            .map_err(|e| TraceError::Io(e.to_string()))?;
        if got == 0 {
            return Ok(count);
        }
        n += 1;
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        if buf.len() > MAX_DIN_LINE {
            return Err(TraceError::Line(
                n,
                format!("longer than {MAX_DIN_LINE} bytes (a din line is a label and an address)"),
            ));
        }
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

/// Accesses per batch handed from the parsing thread to the simulating one.
const BATCH: usize = 1 << 14;

/// Collects accesses into batches and sends them; empty batches come back
/// through `free` to be reused (no allocation per batch in steady state).
struct BatchSender {
    buf: Vec<Access>,
    tx: mpsc::SyncSender<Vec<Access>>,
    free: mpsc::Receiver<Vec<Access>>,
}

impl BatchSender {
    fn send(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let next = self
            .free
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BATCH));
        let full = std::mem::replace(&mut self.buf, next);
        // The receiver only goes away after this thread is joined.
        let _ = self.tx.send(full);
    }
}

impl AccessSink for BatchSender {
    #[inline]
    fn access(&mut self, a: Access) {
        self.buf.push(a);
        if self.buf.len() == BATCH {
            self.send();
        }
    }
}

/// [`read_trace`] with parsing on a second thread, so that reading and
/// parsing the file overlap with `sink`'s work; the accesses, their order,
/// the count and the errors are those of [`read_trace`] (on an error,
/// `sink` has seen every access before the bad line or record).
pub fn read_trace_threaded<R: BufRead + Send, S: AccessSink + ?Sized>(
    format: TraceFormat,
    r: R,
    access_size: u32,
    sink: &mut S,
) -> Result<u64, TraceError> {
    let (tx, rx) = mpsc::sync_channel::<Vec<Access>>(8);
    let (free_tx, free_rx) = mpsc::channel::<Vec<Access>>();
    std::thread::scope(|scope| {
        let parser = scope.spawn(move || {
            let mut b = BatchSender {
                buf: Vec::with_capacity(BATCH),
                tx,
                free: free_rx,
            };
            let result = read_trace(format, r, access_size, &mut b);
            b.send();
            result
        });
        for mut batch in rx {
            sink.access_batch(&batch);
            batch.clear();
            let _ = free_tx.send(batch);
        }
        parser
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// Writes accesses as `din` lines (sizes are dropped: din has no size
/// field, so a reader gives every access one size; [`DinWriter::sizes`]
/// tells a caller whether one size fits them all); the first I/O error is
/// kept and returned by [`DinWriter::finish`].
pub struct DinWriter<W: Write> {
    w: W,
    err: Option<io::Error>,
    /// The first access size, and the first other one seen.
    sizes: (Option<u32>, Option<u32>),
}

impl<W: Write> DinWriter<W> {
    /// A writer into `w` (wrap files in a `BufWriter`).
    pub fn new(w: W) -> Self {
        DinWriter {
            w,
            err: None,
            sizes: (None, None),
        }
    }

    /// The size of the first access written, and the first different size
    /// if any (`(Some(a), Some(b))`: the sizes are mixed and a din reader
    /// cannot restore them).
    pub fn sizes(&self) -> (Option<u32>, Option<u32>) {
        self.sizes
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
        match self.sizes {
            (None, _) => self.sizes.0 = Some(a.size),
            (Some(s), None) if s != a.size => self.sizes.1 = Some(a.size),
            _ => {}
        }
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
