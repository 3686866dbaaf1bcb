//! complaint-gateway: one durable, searchable place for every complaint channel of a city
//! government.
//!
//! Modules:
//! - [`classify`]: the trainable complaint classifier (features, training, calibrated
//!   prediction, evaluation, versioned model files).

pub mod classify;
