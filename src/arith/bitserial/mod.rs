//! Bit-serial processing elements: BitMoD data types, a cycle-counting PE
//! with bit-serial dequantization.
