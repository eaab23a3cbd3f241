//! The streaming path of `bitsim quantize` for element formats and float32
//! input: the mapped input is converted in parallel chunks straight into one
//! output buffer (header + payload), which is written in one call.
//!
//! Per element it runs the same routines as the in-memory path in
//! `quantize.rs` (the reference twin, `--reference`), with the same
//! stochastic-rounding indices, so the bytes are equal; only the copies
//! differ: no copy of the input, no intermediate code array for dequantized
//! output, no element-by-element write loop.

use std::io::Write;

use rayon::prelude::*;

use super::super::common::{write_atomically, CliError};
use super::{element_error, QuantizeArgs, CHUNK};
use crate::formats::{fast, ConvertOptions, ElementFormat, FormatError, MiniFloat};
use crate::workload::npy::{self, Element};
use crate::workload::npy_map::NpyFile;

/// Whether the streaming path handles this input: float32 elements, and a
/// little-endian host (the output buffer is written in host byte order).
pub(super) fn applies(src: &NpyFile) -> bool {
    src.layout().item_size == 4 && cfg!(target_endian = "little")
}

/// Quantizes `src` (float32, [`applies`]) to `args.output`; returns what was written.
pub(super) fn quantize(
    fmt: &ElementFormat,
    opts: &ConvertOptions,
    src: &NpyFile,
    args: &QuantizeArgs,
) -> Result<String, CliError> {
    let bits = fmt.bits();
    let fast = match fmt {
        ElementFormat::Float(m) if bits <= 16 => Some(m),
        _ => None,
    };
    let e = Encoder { fmt, opts, fast };
    let kind = match (args.codes, bits) {
        (true, 0..=8) => {
            write(src, args, |s, i0, d: &mut [u8], _: &mut Vec<u8>| {
                e.encode(s, i0, d)
            })?;
            "codes as uint8"
        }
        (true, 9..=16) => {
            write(src, args, |s, i0, d: &mut [u16], _: &mut Vec<u16>| {
                e.encode(s, i0, d)
            })?;
            "codes as uint16"
        }
        (true, _) => {
            write(src, args, |s, i0, d: &mut [u32], _: &mut Vec<u32>| {
                e.encode(s, i0, d)
            })?;
            "codes as uint32"
        }
        (false, 0..=8) => {
            write(src, args, |s, i0, d: &mut [f32], c: &mut Vec<u8>| {
                e.dequantize(s, i0, c, d)
            })?;
            "dequantized as float32"
        }
        (false, 9..=16) => {
            write(src, args, |s, i0, d: &mut [f32], c: &mut Vec<u16>| {
                e.dequantize(s, i0, c, d)
            })?;
            "dequantized as float32"
        }
        (false, _) => {
            write(src, args, |s, i0, d: &mut [f32], c: &mut Vec<u32>| {
                e.dequantize(s, i0, c, d)
            })?;
            "dequantized as float32"
        }
    };
    Ok(kind.into())
}

/// A code container of the streaming path.
trait Container: Copy + Default + Send + Sync + 'static {
    fn narrow(c: u32) -> Self;
    fn widen(self) -> u32;
    /// The fast minifloat routines for this container, if it has them (u8, u16).
    fn encode_fast(
        m: &MiniFloat,
        opts: &ConvertOptions,
        src: &[f32],
        index0: u64,
        dst: &mut [Self],
    ) -> Option<Result<(), FormatError>>;
    fn decode_fast(m: &MiniFloat, src: &[Self], dst: &mut [f32]) -> bool;
}

macro_rules! fast_container {
    ($t:ty) => {
        impl Container for $t {
            fn narrow(c: u32) -> Self {
                c as $t
            }
            fn widen(self) -> u32 {
                self as u32
            }
            fn encode_fast(
                m: &MiniFloat,
                opts: &ConvertOptions,
                src: &[f32],
                index0: u64,
                dst: &mut [Self],
            ) -> Option<Result<(), FormatError>> {
                Some(fast::encode_f32(m, opts, src, 0, index0, dst))
            }
            fn decode_fast(m: &MiniFloat, src: &[Self], dst: &mut [f32]) -> bool {
                fast::decode_f32(m, src, dst);
                true
            }
        }
    };
}
fast_container!(u8);
fast_container!(u16);

impl Container for u32 {
    fn narrow(c: u32) -> Self {
        c
    }
    fn widen(self) -> u32 {
        self
    }
    fn encode_fast(
        _: &MiniFloat,
        _: &ConvertOptions,
        _: &[f32],
        _: u64,
        _: &mut [Self],
    ) -> Option<Result<(), FormatError>> {
        None
    }
    fn decode_fast(_: &MiniFloat, _: &[Self], _: &mut [f32]) -> bool {
        false
    }
}

/// One chunk's conversion, as the in-memory path does it for the whole array.
struct Encoder<'a> {
    fmt: &'a ElementFormat,
    opts: &'a ConvertOptions,
    /// The minifloat, when the fast slice routines apply (≤ 16 bits).
    fast: Option<&'a MiniFloat>,
}

impl Encoder<'_> {
    /// Codes of `src` (element `j` has stochastic-rounding index `index0 + j`);
    /// the error names the offset of the first bad element in the chunk.
    fn encode<C: Container>(
        &self,
        src: &[f32],
        index0: u64,
        dst: &mut [C],
    ) -> Result<(), (usize, FormatError)> {
        if let Some(m) = self.fast {
            if let Some(r) = C::encode_fast(m, self.opts, src, index0, dst) {
                return r.map_err(|e| {
                    // The slice API does not say which element failed: find it.
                    let j = (0..src.len())
                        .position(|j| m.encode_f32(src[j], self.opts, index0 + j as u64).is_err())
                        .unwrap_or(0);
                    (j, e)
                });
            }
        }
        for (j, (d, &x)) in dst.iter_mut().zip(src).enumerate() {
            let c = self.fmt.encode_f32(x, self.opts, index0 + j as u64);
            *d = C::narrow(c.map_err(|e| (j, e))?);
        }
        Ok(())
    }

    /// Dequantized values of `src`, through the codes in `codes` (scratch).
    fn dequantize<C: Container>(
        &self,
        src: &[f32],
        index0: u64,
        codes: &mut Vec<C>,
        dst: &mut [f32],
    ) -> Result<(), (usize, FormatError)> {
        codes.resize(src.len(), C::default());
        self.encode(src, index0, codes)?;
        if let Some(m) = self.fast {
            if C::decode_fast(m, codes, dst) {
                return Ok(());
            }
        }
        for (d, &c) in dst.iter_mut().zip(codes.iter()) {
            *d = self.fmt.decode_f32(c.widen());
        }
        Ok(())
    }
}

/// Converts every chunk of `src` with `convert` into one buffer holding the
/// output `.npy` (header, then payload of `O`), and writes it atomically.
fn write<O, C>(
    src: &NpyFile,
    args: &QuantizeArgs,
    convert: impl Fn(&[f32], u64, &mut [O], &mut Vec<C>) -> Result<(), (usize, FormatError)> + Sync,
) -> Result<(), CliError>
where
    O: Element + bytemuck::Pod + Send,
    C: Send,
{
    let layout = src.layout();
    let n = layout.len();
    let header = npy::header(O::DESCR, &layout.shape);
    let total = header.len() + n * std::mem::size_of::<O>();
    let mut buf = output_buffer(total).map_err(|e| {
        CliError::new(
            args.output.display().to_string(),
            format!("cannot allocate {total} bytes for the output: {e}"),
        )
    })?;
    let (head, payload) = buf[..total].split_at_mut(header.len());
    head.copy_from_slice(&header);
    let out: &mut [O] = bytemuck::cast_slice_mut(payload);
    let in_place = src.f32_slice();
    out.par_chunks_mut(CHUNK)
        .enumerate()
        .map_init(
            || (Vec::new(), Vec::new()),
            |(scratch, codes), (k, d)| {
                let start = k * CHUNK;
                let s: &[f32] = match in_place {
                    Some(v) => &v[start..start + d.len()],
                    None => {
                        scratch.resize(d.len(), 0f32);
                        src.f32_at(start, scratch);
                        scratch
                    }
                };
                convert(s, start as u64, d, codes).map_err(|(j, e)| (start + j, e))
            },
        )
        // The lowest failing chunk holds the first bad element.
        .collect::<Vec<Result<(), _>>>()
        .into_iter()
        .collect::<Result<(), _>>()
        .map_err(|(i, e)| element_error(&args.input, &layout.shape, i, e))?;
    write_atomically(&args.output, |f| f.write_all(&buf[..total]))
}

/// A zeroed, page-aligned buffer of at least `len` bytes (the payload view
/// needs 4-byte alignment; the header is 64-byte padded). Anonymous memory
/// rather than a `Vec` so that it can ask for huge pages: a 256 MiB output
/// is then 128 page faults instead of 65536.
fn output_buffer(len: usize) -> std::io::Result<memmap2::MmapMut> {
    let map = memmap2::MmapMut::map_anon(len.max(1))?;
    // A hint: without huge pages the buffer works the same, only slower.
    #[cfg(target_os = "linux")]
    let _ = map.advise(memmap2::Advice::HugePage);
    Ok(map)
}
