//! Experiments on top of the engine: a run's phases (warm-up, measure, drain, flush)
//! and node programs run to completion (`phases`), the deadlock watchdog (`watchdog`)
//! and the exactly-once conservation check (`conservation`); the entry points with the
//! routing pre-check (`run`); the validation of the model against measurements.

pub mod conservation;
pub mod memory;
pub mod phases;
pub mod run;
pub mod validate;
pub mod watchdog;
