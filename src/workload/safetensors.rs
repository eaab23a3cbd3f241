//! Loading tensors from `.safetensors` checkpoints (f32, f16, bf16), picked by
//! name or glob.
