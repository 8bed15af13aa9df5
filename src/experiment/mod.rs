//! Experiments: a run's phases (warm-up, measure, drain) with their checks, node
//! programs run to completion, and the validation of the model against measurements.

pub mod run;
pub mod validate;
