//! Accuracy metrics against an f64 reference.

/// Output-accuracy metrics of one matmul.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Accuracy {
    /// ‖x − r‖_F / ‖r‖_F.
    pub rel_fro_error: f64,
    /// 10·log10(‖r‖² / ‖x − r‖²), dB (+inf when exact).
    pub sqnr_db: f64,
    /// ⟨x, r⟩ / (‖x‖‖r‖).
    pub cosine: f64,
    /// max |x − r|.
    pub max_abs_error: f64,
    /// mean |x − r|.
    pub mean_abs_error: f64,
}

/// Compares `approx` with `reference` (same length).
pub fn accuracy(_reference: &[f64], _approx: &[f64]) -> Accuracy {
    unimplemented!("metrics::accuracy")
}

/// Mean squared error and SQNR (dB) of quantized weights `wq` against `w`.
pub fn weight_error(_w: &[f32], _wq: &[f32]) -> (f64, f64) {
    unimplemented!("metrics::weight_error")
}
