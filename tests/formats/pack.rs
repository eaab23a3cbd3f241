//! Sub-byte packing: hand-derived byte images, exhaustive round trips for
//! small lengths, and every error case.

use bitsim::formats::pack::{pack, unpack, PackError, Packing};

#[test]
fn hand_derived_bytes() {
    // 4-bit: low nibble first.
    assert_eq!(pack(&[0x1u8, 0xF], Packing::Bits4).unwrap(), vec![0xF1]);
    assert_eq!(
        pack(&[1u8, 2, 3], Packing::Bits4).unwrap(),
        vec![0x21, 0x03]
    );
    // 1-bit: code 0 in bit 0. [1,0,1,1,0,0,0,0] → 0b0000_1101; the 9th code → 0x01.
    assert_eq!(
        pack(&[1u8, 0, 1, 1, 0, 0, 0, 0, 1], Packing::Bits1).unwrap(),
        vec![0x0D, 0x01]
    );
    // 2-bit: 1 | 2<<2 | 3<<4 | 0<<6 = 0x39, then 3.
    assert_eq!(
        pack(&[1u8, 2, 3, 0, 3], Packing::Bits2).unwrap(),
        vec![0x39, 0x03]
    );
    // 6-bit: c0 = 0x3F, c1 = 0x01, c2 = 0x2A, c3 = 0x15:
    // b0 = 0x3F | (1 & 3) << 6 = 0x7F; b1 = 1 >> 2 | (0x2A & 0xF) << 4 = 0xA0; b2 = 0x2A >> 4 | 0x15 << 2 = 0x56.
    assert_eq!(
        pack(&[0x3Fu8, 0x01, 0x2A, 0x15], Packing::Bits6).unwrap(),
        vec![0x7F, 0xA0, 0x56]
    );
    // 6-bit, one code: one byte; two codes: 12 bits → two bytes.
    assert_eq!(pack(&[0x2Au8], Packing::Bits6).unwrap(), vec![0x2A]);
    assert_eq!(
        pack(&[0x3Fu8, 0x3F], Packing::Bits6).unwrap(),
        vec![0xFF, 0x0F]
    );
    // 8-bit: identity; u32 codes are accepted too.
    assert_eq!(pack(&[7u32, 200], Packing::Bits8).unwrap(), vec![7, 200]);
}

#[test]
fn base3_bytes() {
    // Ternary codes −1, 0, +1, +1, −1 → trits 0, 1, 2, 2, 0 → 0 + 3 + 18 + 54 + 0 = 75.
    assert_eq!(
        pack(&[0b11u8, 0b00, 0b01, 0b01, 0b11], Packing::Base3).unwrap(),
        vec![75]
    );
    // All +1: 2 × (1 + 3 + 9 + 27 + 81) = 242, the largest valid byte; all −1: 0.
    assert_eq!(pack(&[1u8; 5], Packing::Base3).unwrap(), vec![242]);
    assert_eq!(pack(&[3u8; 5], Packing::Base3).unwrap(), vec![0]);
    // Partial group [+1, +1]: 2 + 6 = 8 (missing trits are 0); 7 codes → 2 bytes.
    assert_eq!(pack(&[1u8, 1], Packing::Base3).unwrap(), vec![8]);
    assert_eq!(Packing::Base3.packed_len(7), 2);
    // Every group of 5 trits maps to a distinct byte in 0..=242 and back.
    let mut seen = [false; 256];
    for v in 0..243u32 {
        let trits: Vec<u32> = (0..5).map(|i| (v / 3u32.pow(i)) % 3).collect();
        let codes: Vec<u8> = trits
            .iter()
            .map(|t| [0b11, 0b00, 0b01][*t as usize])
            .collect();
        let b = pack(&codes, Packing::Base3).unwrap();
        assert_eq!(b, vec![v as u8]);
        assert!(!seen[v as usize]);
        seen[v as usize] = true;
        assert_eq!(unpack(&b, 5, Packing::Base3).unwrap(), codes);
    }
}

#[test]
fn exhaustive_round_trips() {
    // Every sequence over every code value, of length ≤ 3 (length ≤ 2 for the 6- and
    // 8-bit packings), and every length up to 40 with varied codes.
    for p in Packing::ALL {
        let values: Vec<u8> = match p {
            Packing::Base3 => vec![0b11, 0b00, 0b01],
            _ => (0..1u32 << p.code_bits()).map(|c| c as u8).collect(),
        };
        let k = values.len();
        let max_len = if k > 16 { 2 } else { 3 };
        for len in 0..=max_len {
            for idx in 0..k.pow(len as u32) {
                let codes: Vec<u8> = (0..len)
                    .map(|j| values[(idx / k.pow(j as u32)) % k])
                    .collect();
                let b = pack(&codes, p).unwrap();
                assert_eq!(b.len(), p.packed_len(len));
                assert_eq!(unpack(&b, len, p).unwrap(), codes, "{p} {codes:?}");
            }
        }
        for len in 0..=40usize {
            let codes: Vec<u8> = (0..len).map(|j| values[(j * 7 + len) % k]).collect();
            let b = pack(&codes, p).unwrap();
            let expect_len = match p {
                Packing::Base3 => len.div_ceil(5),
                _ => (len * p.code_bits() as usize).div_ceil(8),
            };
            assert_eq!(b.len(), expect_len, "{p} len {len}");
            assert_eq!(unpack(&b, len, p).unwrap(), codes, "{p} len {len}");
        }
    }
}

#[test]
fn errors() {
    // Codes too wide.
    assert!(matches!(
        pack(&[3u8, 16], Packing::Bits4),
        Err(PackError::CodeTooWide {
            index: 1,
            code: 16,
            bits: 4,
            ..
        })
    ));
    assert!(matches!(
        pack(&[2u8], Packing::Bits1),
        Err(PackError::CodeTooWide { .. })
    ));
    assert!(matches!(
        pack(&[64u8], Packing::Bits6),
        Err(PackError::CodeTooWide { .. })
    ));
    assert!(matches!(
        pack(&[256u32], Packing::Bits8),
        Err(PackError::CodeTooWide { .. })
    ));
    // Ternary 0b10 and wider codes are not base-3 values.
    assert!(matches!(
        pack(&[1u8, 0b10], Packing::Base3),
        Err(PackError::NotTernary { index: 1, code: 2 })
    ));
    assert!(matches!(
        pack(&[4u8], Packing::Base3),
        Err(PackError::NotTernary { .. })
    ));
    // Truncated or oversized input.
    assert!(matches!(
        unpack(&[0xF1], 3, Packing::Bits4),
        Err(PackError::Length {
            expected: 2,
            got: 1,
            ..
        })
    ));
    assert!(matches!(
        unpack(&[0, 0], 5, Packing::Bits6),
        Err(PackError::Length { .. })
    ));
    assert!(matches!(
        unpack(&[0, 0], 1, Packing::Bits8),
        Err(PackError::Length { .. })
    ));
    assert!(matches!(
        unpack(&[], 1, Packing::Base3),
        Err(PackError::Length { .. })
    ));
    // Base-3 bytes above 242.
    assert!(matches!(
        unpack(&[243], 5, Packing::Base3),
        Err(PackError::InvalidByte {
            offset: 0,
            byte: 243
        })
    ));
    // Non-zero padding: the high nibble of a 1-code 4-bit byte; a trit beyond 2 codes.
    assert!(matches!(
        unpack(&[0x10], 1, Packing::Bits4),
        Err(PackError::Padding { .. })
    ));
    assert!(matches!(
        unpack(&[0x40], 3, Packing::Bits2),
        Err(PackError::Padding { .. })
    ));
    assert!(matches!(
        unpack(&[9], 2, Packing::Base3),
        Err(PackError::Padding { .. })
    ));
    // Messages name the problem.
    let msg = pack(&[0u8, 0, 17], Packing::Bits4).unwrap_err().to_string();
    assert!(msg.contains("index 2") && msg.contains("4 bits"), "{msg}");
}
