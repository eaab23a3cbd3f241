//! Per-tensor, per-channel and per-group scaled tensors.
