//! Helpers the variant tests share: lookup by name and bit-for-bit comparison.

use bitsim::variants::{self, MatmulVariant};

/// The registered variant `name` (panics with the name when it is not).
pub fn variant(name: &str) -> Box<dyn MatmulVariant> {
    variants::find(name).unwrap_or_else(|| panic!("{name} is not registered"))
}

/// Equal bits, output by output (so −0 ≠ +0 and NaN payloads count).
pub fn assert_bits_eq(name: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{name}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(
            g.to_bits(),
            w.to_bits(),
            "{name}: output {i}: got {g:e}, want {w:e}"
        );
    }
}
