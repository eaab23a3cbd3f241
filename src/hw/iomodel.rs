//! Closed-form I/O counts and lower bounds: standard attention,
//! FlashAttention, Saha–Ye, blocked matmul and GEMV, Hong–Kung.
