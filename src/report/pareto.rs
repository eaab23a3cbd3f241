//! The Pareto front of (cost, error) points, both minimized: the metrics
//! layer's [`crate::metrics::pareto::pareto_front`], re-exported where the
//! report's sections have always found it (the explorer picks its model-scored
//! candidates with the same function).

pub use crate::metrics::pareto::pareto_front;
