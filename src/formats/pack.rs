//! Sub-byte packing of codes (see the helper that owns this file).
