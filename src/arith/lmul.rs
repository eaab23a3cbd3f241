//! L-Mul (Luo & Sun 2024): multiplication by integer addition of bit fields,
//! in its two semantics (`lmul-carry`, `lmul-literal`).
