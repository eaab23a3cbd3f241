//! A `.npy` file read without copying its elements: the file is
//! memory-mapped, checked by [`npy::layout`] (the same errors as
//! [`npy::read`]), and its float32 payload viewed in place.
//!
//! Small files, and inputs that cannot be mapped (pipes, devices), are read
//! into memory as [`npy::read`] does. A mapped file must not be truncated
//! while it is in use (the OS would stop the process with SIGBUS), the usual
//! contract of memory-mapped input.

use std::fs::File;
use std::path::Path;

use super::npy::{self, Array, Layout, NpyError};

/// Files below this size are read, not mapped: a mapping costs more than the copy.
const MAP_MIN_BYTES: u64 = 1 << 20;

/// The bytes of a `.npy` file: mapped or owned.
enum Bytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

/// A checked `.npy` file of float32 or float64 elements, held without a copy
/// of its elements.
pub struct NpyFile {
    bytes: Bytes,
    layout: Layout,
}

/// Opens and checks a `.npy` file (errors as [`npy::read`]).
pub fn open(path: &Path) -> Result<NpyFile, NpyError> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    let bytes = if meta.is_file() && meta.len() >= MAP_MIN_BYTES {
        // SAFETY: the map is read-only and private to this process; the
        // contract (module docs) is that the file is not truncated meanwhile.
        let map = unsafe { memmap2::Mmap::map(&file) }?;
        // One pass front to back: ask the OS to read ahead (a hint; its failure is harmless).
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::Sequential);
        Bytes::Mapped(map)
    } else {
        drop(file);
        Bytes::Owned(std::fs::read(path)?)
    };
    let layout = npy::layout(bytes.as_slice())?;
    Ok(NpyFile { bytes, layout })
}

impl Bytes {
    fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

impl NpyFile {
    /// Shape, element type and byte order of the array.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The element bytes, as stored.
    pub fn payload(&self) -> &[u8] {
        &self.bytes.as_slice()[self.layout.data_start..]
    }

    /// The float32 elements in place, when the file holds float32 in the
    /// host's byte order at a 4-byte-aligned offset (what NumPy writes);
    /// `None` otherwise (use [`NpyFile::f32_at`]).
    pub fn f32_slice(&self) -> Option<&[f32]> {
        let native = self.layout.big_endian == cfg!(target_endian = "big");
        if self.layout.item_size != 4 || !native {
            return None;
        }
        bytemuck::try_cast_slice(self.payload()).ok()
    }

    /// Copies float32 elements `start .. start + dst.len()` into `dst`,
    /// converting the byte order. Panics if the array is not float32 or the
    /// range is out of bounds (caller bugs).
    pub fn f32_at(&self, start: usize, dst: &mut [f32]) {
        assert_eq!(self.layout.item_size, 4, "f32_at on a float64 array");
        let bytes = &self.payload()[4 * start..4 * (start + dst.len())];
        let conv = if self.layout.big_endian {
            f32::from_be_bytes
        } else {
            f32::from_le_bytes
        };
        for (d, c) in dst.iter_mut().zip(bytes.chunks_exact(4)) {
            *d = conv(c.try_into().expect("4 bytes"));
        }
    }

    /// The whole array in memory, as [`npy::read`] returns it.
    pub fn to_array(&self) -> Array {
        npy::parse(self.bytes.as_slice()).expect("checked by npy::layout")
    }
}
