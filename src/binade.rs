//! Where a finite nonzero f32 sits among the powers of two, read from its
//! bits (subnormals included): the kernels' exactness checks (is every
//! product in the normal range? is every value a multiple of 2^e?) need
//! both ends of a value's significand.

/// `⌊log2|x|⌋` of a finite nonzero `x`: the exponent of its highest set bit.
#[inline]
pub fn floor_log2(x: f32) -> i32 {
    let b = x.to_bits() & 0x7fff_ffff;
    let e = (b >> 23) as i32;
    if e == 0 {
        // Subnormal: the value is m · 2^-149 with m < 2^23.
        -149 + (31 - b.leading_zeros() as i32)
    } else {
        e - 127
    }
}

/// The exponent of the lowest set bit of a finite nonzero `x`: the largest
/// `e` with `x` an integer multiple of 2^e.
#[inline]
pub fn lowest_bit_log2(x: f32) -> i32 {
    let b = x.to_bits() & 0x7fff_ffff;
    let (e, m) = ((b >> 23) as i32, b & 0x7f_ffff);
    if e == 0 {
        -149 + m.trailing_zeros() as i32
    } else {
        // The significand with its implicit bit, times 2^(e − 150).
        e - 150 + (m | 1 << 23).trailing_zeros() as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ends_of_hand_picked_values() {
        // (x, ⌊log2|x|⌋, lowest set bit): 0.75 = 0b11 · 2^-2.
        let cases = [
            (1.0f32, 0, 0),
            (-1.0, 0, 0),
            (0.75, -1, -2),
            (6.0, 2, 1),
            (127.0 / 64.0, 0, -6),
            (f32::MAX, 127, 104),
            (f32::MIN_POSITIVE, -126, -126),
            (f32::from_bits(1), -149, -149),
            (f32::from_bits(0x0040_0001), -127, -149),
        ];
        for (x, hi, lo) in cases {
            assert_eq!((floor_log2(x), lowest_bit_log2(x)), (hi, lo), "{x:e}");
        }
    }
}
