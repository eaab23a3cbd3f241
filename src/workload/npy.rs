//! A small, strict reader and writer for NumPy `.npy` files (format versions
//! 1.0, 2.0 and 3.0).
//!
//! Hand-written rather than built on `npyz` so that every way a file can be
//! wrong (bad magic, malformed header, unsupported dtype, Fortran order,
//! truncated or over-long data) gets its own precise error, and so that f64
//! data reaches the caller as f64 (never narrowed to f32 on the way).
//!
//! Reading accepts `float32` and `float64` in either byte order, C order (or
//! any order where the layout is the same, i.e. at most one axis longer
//! than 1). Writing produces little-endian C-order files.

use std::io::{self, Write};
use std::path::Path;

/// The magic string every `.npy` file starts with.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Element data of a loaded array, in C order.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// `float32` elements.
    F32(Vec<f32>),
    /// `float64` elements.
    F64(Vec<f64>),
}

impl Data {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Data::F32(v) => v.len(),
            Data::F64(v) => v.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The NumPy name of the element type.
    pub fn dtype_name(&self) -> &'static str {
        match self {
            Data::F32(_) => "float32",
            Data::F64(_) => "float64",
        }
    }
}

/// A floating-point array loaded from a `.npy` file.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// The shape (empty for a 0-d array, which holds one element).
    pub shape: Vec<usize>,
    /// The elements, C order.
    pub data: Data,
}

/// Why a `.npy` file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    /// The file could not be opened or read.
    #[error("cannot read: {0}")]
    Io(#[from] io::Error),
    /// The first six bytes are not `\x93NUMPY`.
    #[error("not a .npy file (bad magic: expected \\x93NUMPY)")]
    BadMagic,
    /// A format version this reader does not know.
    #[error("unsupported .npy format version {0}.{1} (expected 1.0, 2.0 or 3.0)")]
    Version(u8, u8),
    /// The header is cut off or is not the dictionary NumPy writes.
    #[error("malformed .npy header: {0}")]
    BadHeader(String),
    /// An element type other than float32/float64.
    #[error("unsupported dtype {0} (expected float32 '<f4' or float64 '<f8', either byte order)")]
    DType(String),
    /// The data is stored in Fortran (column-major) order.
    #[error("Fortran-order array with shape {0:?} is not supported (save it in C order, e.g. np.ascontiguousarray)")]
    Fortran(Vec<usize>),
    /// Fewer data bytes than the header's shape needs.
    #[error("truncated data: shape {shape:?} of {dtype} needs {need} bytes, the file has {have}")]
    Truncated {
        /// The header's shape.
        shape: Vec<usize>,
        /// The header's dtype.
        dtype: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes present.
        have: usize,
    },
    /// More data bytes than the header's shape needs.
    #[error("{extra} unexpected bytes after the data of shape {shape:?}")]
    Trailing {
        /// The header's shape.
        shape: Vec<usize>,
        /// Surplus bytes.
        extra: usize,
    },
}

/// Reads a `.npy` file of float32 or float64 elements.
pub fn read(path: &Path) -> Result<Array, NpyError> {
    parse(&std::fs::read(path)?)
}

/// Parses the bytes of a `.npy` file of float32 or float64 elements.
pub fn parse(bytes: &[u8]) -> Result<Array, NpyError> {
    let l = layout(bytes)?;
    let body = &bytes[l.data_start..];
    let data = if l.item_size == 4 {
        let conv = if l.big_endian {
            f32::from_be_bytes
        } else {
            f32::from_le_bytes
        };
        Data::F32(
            body.chunks_exact(4)
                .map(|c| conv(c.try_into().expect("4 bytes")))
                .collect(),
        )
    } else {
        let conv = if l.big_endian {
            f64::from_be_bytes
        } else {
            f64::from_le_bytes
        };
        Data::F64(
            body.chunks_exact(8)
                .map(|c| conv(c.try_into().expect("8 bytes")))
                .collect(),
        )
    };
    Ok(Array {
        shape: l.shape,
        data,
    })
}

/// Where the elements of a checked `.npy` file lie and how they are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The shape (empty for a 0-d array).
    pub shape: Vec<usize>,
    /// Bytes per element: 4 (float32) or 8 (float64).
    pub item_size: usize,
    /// Whether the elements are stored big-endian.
    pub big_endian: bool,
    /// Byte offset of the first element; the data runs exactly to the end.
    pub data_start: usize,
}

impl Layout {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Checks the bytes of a `.npy` file of float32 or float64 elements (every
/// error [`parse`] reports) without copying the elements: [`parse`] is this
/// plus the conversion to [`Data`].
pub fn layout(bytes: &[u8]) -> Result<Layout, NpyError> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(NpyError::BadMagic);
    }
    let short = || NpyError::BadHeader("file ends inside the header".into());
    let (major, minor) = (
        *bytes.get(6).ok_or_else(short)?,
        *bytes.get(7).ok_or_else(short)?,
    );
    let (len_size, utf8) = match (major, minor) {
        (1, 0) => (2, false),
        (2, 0) => (4, false),
        (3, 0) => (4, true),
        _ => return Err(NpyError::Version(major, minor)),
    };
    let len_bytes = bytes.get(8..8 + len_size).ok_or_else(short)?;
    let header_len = len_bytes
        .iter()
        .rev()
        .fold(0usize, |acc, b| (acc << 8) | *b as usize);
    let start = 8 + len_size;
    let header_bytes = bytes
        .get(start..start.saturating_add(header_len))
        .ok_or_else(short)?;
    let header = if utf8 {
        std::str::from_utf8(header_bytes)
            .map_err(|_| NpyError::BadHeader("header is not UTF-8".into()))?
    } else {
        if !header_bytes.is_ascii() {
            return Err(NpyError::BadHeader("header is not ASCII".into()));
        }
        std::str::from_utf8(header_bytes).expect("ASCII is UTF-8")
    };
    let h = parse_header(header)?;
    let data_start = start + header_len;
    let body = &bytes[data_start..];

    let (big_endian, size) = parse_descr(&h.descr)?;
    let dtype = if size == 4 { "float32" } else { "float64" };
    let long_axes = h.shape.iter().filter(|&&d| d > 1).count();
    if h.fortran_order && long_axes > 1 {
        return Err(NpyError::Fortran(h.shape));
    }
    let count = h
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .and_then(|n| n.checked_mul(size).map(|b| (n, b)));
    let Some((_, need)) = count else {
        return Err(NpyError::BadHeader(format!(
            "shape {:?} is too large",
            h.shape
        )));
    };
    if body.len() < need {
        return Err(NpyError::Truncated {
            shape: h.shape,
            dtype,
            need,
            have: body.len(),
        });
    }
    if body.len() > need {
        return Err(NpyError::Trailing {
            shape: h.shape,
            extra: body.len() - need,
        });
    }
    Ok(Layout {
        shape: h.shape,
        item_size: size,
        big_endian,
        data_start,
    })
}

/// `(big_endian, item size)` of a supported dtype string.
fn parse_descr(d: &Descr) -> Result<(bool, usize), NpyError> {
    let s = match d {
        Descr::Simple(s) => s,
        Descr::Structured => return Err(NpyError::DType("structured (record) dtype".into())),
    };
    let (order, kind) = match s.chars().next() {
        Some(c @ ('<' | '>' | '=' | '|')) => (c, &s[1..]),
        _ => ('=', s.as_str()),
    };
    let size = match kind {
        "f4" => 4,
        "f8" => 8,
        _ => return Err(NpyError::DType(format!("'{s}'"))),
    };
    let big = match order {
        '<' => false,
        '>' => true,
        '=' => cfg!(target_endian = "big"),
        _ => {
            return Err(NpyError::DType(format!(
                "'{s}' (byte order '|' is for single-byte types)"
            )))
        }
    };
    Ok((big, size))
}

#[derive(Debug)]
enum Descr {
    Simple(String),
    Structured,
}

#[derive(Debug)]
struct Header {
    descr: Descr,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// A value in the header dictionary (a Python literal).
enum Value {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
    /// A list: only structured dtypes use one.
    List,
}

/// Parses the Python-literal dict NumPy writes, e.g.
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
fn parse_header(s: &str) -> Result<Header, NpyError> {
    let mut p = Lexer {
        s: s.as_bytes(),
        i: 0,
    };
    p.expect(b'{')?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        p.ws();
        if p.eat(b'}') {
            break;
        }
        let key = p.string()?;
        p.ws();
        p.expect(b':')?;
        p.ws();
        let v = p.value()?;
        match (key.as_str(), v) {
            ("descr", Value::Str(d)) => descr = Some(Descr::Simple(d)),
            ("descr", Value::List) => descr = Some(Descr::Structured),
            ("fortran_order", Value::Bool(b)) => fortran = Some(b),
            ("shape", Value::Tuple(t)) => shape = Some(t),
            (k @ ("descr" | "fortran_order" | "shape"), _) => {
                return Err(NpyError::BadHeader(format!(
                    "'{k}' has a value of the wrong type"
                )))
            }
            (k, _) => return Err(NpyError::BadHeader(format!("unexpected key '{k}'"))),
        }
        p.ws();
        if !p.eat(b',') {
            p.ws();
            p.expect(b'}')?;
            break;
        }
    }
    p.ws();
    if p.i != p.s.len() {
        return Err(NpyError::BadHeader(
            "unexpected text after the dictionary".into(),
        ));
    }
    let missing = |k: &str| NpyError::BadHeader(format!("missing key '{k}'"));
    Ok(Header {
        descr: descr.ok_or_else(|| missing("descr"))?,
        fortran_order: fortran.ok_or_else(|| missing("fortran_order"))?,
        shape: shape.ok_or_else(|| missing("shape"))?,
    })
}

struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
}

impl Lexer<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), NpyError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error(&format!("expected '{}'", c as char)))
        }
    }

    fn error(&self, what: &str) -> NpyError {
        NpyError::BadHeader(format!(
            "{what} at byte {} of the header dictionary",
            self.i
        ))
    }

    fn string(&mut self) -> Result<String, NpyError> {
        let q = match self.s.get(self.i) {
            Some(&q @ (b'\'' | b'"')) => q,
            _ => return Err(self.error("expected a quoted string")),
        };
        let start = self.i + 1;
        let end = self.s[start..]
            .iter()
            .position(|&c| c == q)
            .ok_or_else(|| self.error("unterminated string"))?;
        self.i = start + end + 1;
        Ok(String::from_utf8_lossy(&self.s[start..start + end]).into_owned())
    }

    fn word(&mut self) -> &[u8] {
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_')
        {
            self.i += 1;
        }
        &self.s[start..self.i]
    }

    fn value(&mut self) -> Result<Value, NpyError> {
        match self.s.get(self.i) {
            Some(b'\'' | b'"') => self.string().map(Value::Str),
            Some(b'(') => {
                self.i += 1;
                let mut dims = Vec::new();
                loop {
                    self.ws();
                    if self.eat(b')') {
                        break;
                    }
                    let w = self.word();
                    // Python 2 wrote longs with an 'L' suffix.
                    let digits = w.strip_suffix(b"L").unwrap_or(w);
                    let d = std::str::from_utf8(digits)
                        .ok()
                        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
                        .and_then(|t| t.parse::<usize>().ok())
                        .ok_or_else(|| {
                            self.error("expected a non-negative integer in the shape")
                        })?;
                    dims.push(d);
                    self.ws();
                    if !self.eat(b',') {
                        self.ws();
                        self.expect(b')')?;
                        break;
                    }
                }
                Ok(Value::Tuple(dims))
            }
            Some(b'[') => {
                // Structured dtype: skip to the matching bracket.
                let mut depth = 0usize;
                while let Some(&c) = self.s.get(self.i) {
                    self.i += 1;
                    match c {
                        b'[' => depth += 1,
                        b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Ok(Value::List);
                            }
                        }
                        _ => {}
                    }
                }
                Err(self.error("unterminated list"))
            }
            _ => match self.word() {
                b"True" => Ok(Value::Bool(true)),
                b"False" => Ok(Value::Bool(false)),
                _ => Err(self.error("expected a string, True/False or a tuple")),
            },
        }
    }
}

/// An element type bitsim writes to `.npy` files.
pub trait Element: Copy {
    /// The NumPy dtype string (little-endian).
    const DESCR: &'static str;
    /// Appends the little-endian bytes of `v`.
    fn put(v: Self, out: &mut Vec<u8>);
}

macro_rules! element {
    ($t:ty, $d:literal) => {
        impl Element for $t {
            const DESCR: &'static str = $d;
            fn put(v: Self, out: &mut Vec<u8>) {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    };
}
element!(f32, "<f4");
element!(f64, "<f8");
element!(u8, "|u1");
element!(u16, "<u2");
element!(u32, "<u4");

/// The header bytes (magic, version, length, padded dict) of a little-endian C-order array.
pub fn header(descr: &str, shape: &[usize]) -> Vec<u8> {
    let dims = match shape {
        [] => "()".to_string(),
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    // NumPy pads with spaces and a final newline so the data starts 64-byte aligned.
    let v1 = dict.len() + 1 + 10 <= u16::MAX as usize;
    let prefix = if v1 { 10 } else { 12 };
    let total = (prefix + dict.len() + 1).div_ceil(64) * 64;
    dict.push_str(&" ".repeat(total - prefix - dict.len() - 1));
    dict.push('\n');
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(MAGIC);
    if v1 {
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&[2, 0]);
        out.extend_from_slice(&(dict.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out
}

/// Writes `data` with the given shape as a little-endian C-order `.npy` stream.
///
/// Panics if `data.len()` is not the product of `shape` (a caller bug).
pub fn write<T: Element, W: Write>(w: &mut W, shape: &[usize], data: &[T]) -> io::Result<()> {
    assert_eq!(
        shape.iter().product::<usize>(),
        data.len(),
        "npy::write: shape and data length disagree"
    );
    w.write_all(&header(T::DESCR, shape))?;
    // Convert in chunks to keep memory bounded for large arrays.
    let mut buf = Vec::with_capacity(64 * 1024);
    for chunk in data.chunks(8192) {
        buf.clear();
        for &v in chunk {
            T::put(v, &mut buf);
        }
        w.write_all(&buf)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_parses_back() {
        for shape in [vec![], vec![5], vec![2, 3, 4]] {
            let h = header("<f4", &shape);
            assert_eq!(h.len() % 64, 0);
            let n: usize = shape.iter().product();
            let mut bytes = h.clone();
            bytes.extend(vec![0u8; 4 * n]);
            let a = parse(&bytes).unwrap();
            assert_eq!(a.shape, shape);
            assert_eq!(a.data, Data::F32(vec![0.0; n]));
        }
    }

    #[test]
    fn big_endian_f8() {
        let dict = "{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }\n";
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&[1, 0, dict.len() as u8, 0]);
        b.extend_from_slice(dict.as_bytes());
        b.extend_from_slice(&1.5f64.to_be_bytes());
        assert_eq!(parse(&b).unwrap().data, Data::F64(vec![1.5]));
    }
}
