//! Generic minifloat arithmetic (add, sub, mul, fma) on codes, computed on
//! integer significands with guard/round/sticky bits and rounded once.
