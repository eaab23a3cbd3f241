//! Sub-byte packing of codes.
//!
//! # Bit layouts
//!
//! The bit packings (1, 2, 4, 6, 8 bits) treat the output as one little-endian
//! bit stream: code `i` occupies stream bits `w·i .. w·i + w` (its least
//! significant bit first), and byte `k` holds stream bits `8k .. 8k + 8` with
//! stream bit `8k` in the byte's least significant bit. So:
//! - 4-bit: code 0 in the low nibble, code 1 in the high nibble (`[0x1, 0xF]` → `[0xF1]`);
//! - 2-bit: code 0 in bits 0–1, …, code 3 in bits 6–7;
//! - 1-bit: code 0 in bit 0;
//! - 6-bit: four codes in three bytes, `b0 = c0 | c1 << 6`, `b1 = c1 >> 2 | c2 << 4`,
//!   `b2 = c2 >> 4 | c3 << 2` (the layout of a 24-bit little-endian word).
//!
//! A stream of `n` codes takes `ceil(w·n / 8)` bytes; unused bits of the last
//! byte are zero, and [`unpack`] rejects non-zero padding (it usually means the
//! wrong length or width was given).
//!
//! # Base-3 ternary (5 trits per byte)
//!
//! Ternary codes are the 2-bit two's-complement codes of the `ternary` integer
//! format (0b00 = 0, 0b01 = +1, 0b11 = −1; 0b10 is invalid). Each becomes a trit
//! `t = value + 1` ∈ {0, 1, 2}, and five trits fill one byte
//! `t0 + 3·t1 + 9·t2 + 27·t3 + 81·t4` (so 243 byte values, 0..=242, are valid;
//! 1.6 bits per value, as llama.cpp's TQ1_0 idea). A last partial group is
//! padded with zero trits, i.e. its byte is the sum over the trits present.

/// A packing scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Packing {
    /// 1 bit per code, 8 per byte.
    Bits1,
    /// 2 bits per code, 4 per byte (also holds ternary 2-bit codes as they are).
    Bits2,
    /// 4 bits per code, 2 per byte (low nibble first).
    Bits4,
    /// 6 bits per code, 4 codes in 3 bytes.
    Bits6,
    /// 8 bits per code, one per byte.
    Bits8,
    /// Ternary 2-bit codes as base-3 digits, 5 per byte.
    Base3,
}

impl Packing {
    /// Every scheme, in a stable order.
    pub const ALL: [Packing; 6] = [
        Packing::Bits1,
        Packing::Bits2,
        Packing::Bits4,
        Packing::Bits6,
        Packing::Bits8,
        Packing::Base3,
    ];

    /// Width of one input code in bits (2 for [`Packing::Base3`]'s ternary codes).
    pub fn code_bits(self) -> u32 {
        match self {
            Packing::Bits1 => 1,
            Packing::Bits2 | Packing::Base3 => 2,
            Packing::Bits4 => 4,
            Packing::Bits6 => 6,
            Packing::Bits8 => 8,
        }
    }

    /// The bit packing for a code width, if there is one.
    pub fn for_bits(bits: u32) -> Option<Packing> {
        match bits {
            1 => Some(Packing::Bits1),
            2 => Some(Packing::Bits2),
            4 => Some(Packing::Bits4),
            6 => Some(Packing::Bits6),
            8 => Some(Packing::Bits8),
            _ => None,
        }
    }

    /// Bytes needed for `n` codes.
    pub fn packed_len(self, n: usize) -> usize {
        match self {
            Packing::Base3 => n.div_ceil(5),
            _ => (n * self.code_bits() as usize).div_ceil(8),
        }
    }

    /// The name used in files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Packing::Bits1 => "bits1",
            Packing::Bits2 => "bits2",
            Packing::Bits4 => "bits4",
            Packing::Bits6 => "bits6",
            Packing::Bits8 => "bits8",
            Packing::Base3 => "base3",
        }
    }
}

impl std::fmt::Display for Packing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What can go wrong packing or unpacking.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackError {
    /// A code does not fit the packing's width.
    #[error("code {code:#x} at index {index} does not fit in {bits} bits ({packing})")]
    CodeTooWide {
        /// Position of the code.
        index: usize,
        /// The code.
        code: u32,
        /// The packing's width.
        bits: u32,
        /// The packing.
        packing: Packing,
    },
    /// A 2-bit code that is not a ternary value (0b10) given to base-3 packing.
    #[error("code {code:#b} at index {index} is not a ternary code (expected 0b00, 0b01 or 0b11)")]
    NotTernary {
        /// Position of the code.
        index: usize,
        /// The code.
        code: u32,
    },
    /// The byte buffer is not the size `n` codes need.
    #[error("{packing}: {n} codes need {expected} bytes, got {got}")]
    Length {
        /// The packing.
        packing: Packing,
        /// Number of codes asked for.
        n: usize,
        /// Bytes needed.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// A base-3 byte above 242.
    #[error("byte {byte} at offset {offset} is not a base-3 group (valid bytes are 0..=242)")]
    InvalidByte {
        /// Offset of the byte.
        offset: usize,
        /// The byte.
        byte: u8,
    },
    /// Padding bits or trits of the last byte are not zero.
    #[error("{packing}: the padding of the last byte is not zero (wrong length or packing?)")]
    Padding {
        /// The packing.
        packing: Packing,
    },
}

/// Packs codes. Fails on a code wider than the packing (or, for
/// [`Packing::Base3`], any code other than 0b00, 0b01, 0b11).
pub fn pack<C: Copy + Into<u32>>(codes: &[C], packing: Packing) -> Result<Vec<u8>, PackError> {
    let mut out = vec![0u8; packing.packed_len(codes.len())];
    pack_into(codes, packing, &mut out)?;
    Ok(out)
}

/// Packs codes into `out`, which must be exactly `packing.packed_len(codes.len())` long.
pub fn pack_into<C: Copy + Into<u32>>(
    codes: &[C],
    packing: Packing,
    out: &mut [u8],
) -> Result<(), PackError> {
    let expected = packing.packed_len(codes.len());
    if out.len() != expected {
        return Err(PackError::Length {
            packing,
            n: codes.len(),
            expected,
            got: out.len(),
        });
    }
    if packing == Packing::Base3 {
        for (g, (chunk, o)) in codes.chunks(5).zip(out.iter_mut()).enumerate() {
            let mut byte = 0u32;
            for (j, c) in chunk.iter().enumerate().rev() {
                let c: u32 = (*c).into();
                let t = match c {
                    0b00 => 1,
                    0b01 => 2,
                    0b11 => 0,
                    _ => {
                        return Err(PackError::NotTernary {
                            index: g * 5 + j,
                            code: c,
                        })
                    }
                };
                byte = byte * 3 + t;
            }
            *o = byte as u8;
        }
        return Ok(());
    }
    let w = packing.code_bits();
    let limit = 1u32 << w;
    if let Some((index, code)) = codes
        .iter()
        .map(|c| (*c).into())
        .enumerate()
        .find(|(_, c)| *c >= limit)
    {
        return Err(PackError::CodeTooWide {
            index,
            code,
            bits: w,
            packing,
        });
    }
    match packing {
        Packing::Bits8 => {
            for (o, c) in out.iter_mut().zip(codes) {
                *o = (*c).into() as u8;
            }
        }
        Packing::Bits4 => {
            for (o, pair) in out.iter_mut().zip(codes.chunks(2)) {
                let lo: u32 = pair[0].into();
                let hi: u32 = pair.get(1).map_or(0, |c| (*c).into());
                *o = (lo | hi << 4) as u8;
            }
        }
        _ => {
            // Generic little-endian bit stream: 8 codes of w bits fill w bytes.
            for (chunk, obytes) in codes.chunks(8).zip(out.chunks_mut(w as usize)) {
                let mut acc = 0u64;
                for (j, c) in chunk.iter().enumerate() {
                    acc |= ((*c).into() as u64) << (w as usize * j);
                }
                for (k, o) in obytes.iter_mut().enumerate() {
                    *o = (acc >> (8 * k)) as u8;
                }
            }
        }
    }
    Ok(())
}

/// Unpacks `n` codes. `bytes` must be exactly `packing.packed_len(n)` long;
/// fails on a short or long buffer, a base-3 byte above 242, or non-zero padding.
/// Base-3 yields ternary 2-bit codes (0b11 = −1, 0b00 = 0, 0b01 = +1).
pub fn unpack(bytes: &[u8], n: usize, packing: Packing) -> Result<Vec<u8>, PackError> {
    let expected = packing.packed_len(n);
    if bytes.len() != expected {
        return Err(PackError::Length {
            packing,
            n,
            expected,
            got: bytes.len(),
        });
    }
    let mut out = vec![0u8; n];
    match packing {
        Packing::Base3 => {
            const CODE: [u8; 3] = [0b11, 0b00, 0b01];
            for (g, (b, chunk)) in bytes.iter().zip(out.chunks_mut(5)).enumerate() {
                if *b > 242 {
                    return Err(PackError::InvalidByte {
                        offset: g,
                        byte: *b,
                    });
                }
                let mut v = *b as u32;
                for c in chunk.iter_mut() {
                    *c = CODE[(v % 3) as usize];
                    v /= 3;
                }
                if v != 0 {
                    return Err(PackError::Padding { packing });
                }
            }
        }
        Packing::Bits8 => out.copy_from_slice(bytes),
        _ => {
            let w = packing.code_bits() as usize;
            let mask = (1u64 << w) - 1;
            for (chunk, ib) in out.chunks_mut(8).zip(bytes.chunks(w)) {
                let mut acc = 0u64;
                for (k, b) in ib.iter().enumerate() {
                    acc |= (*b as u64) << (8 * k);
                }
                for (j, c) in chunk.iter_mut().enumerate() {
                    *c = ((acc >> (w * j)) & mask) as u8;
                }
                // Only the last (partial) chunk can carry padding bits.
                if chunk.len() < 8 && acc >> (w * chunk.len()) != 0 {
                    return Err(PackError::Padding { packing });
                }
            }
        }
    }
    Ok(out)
}
