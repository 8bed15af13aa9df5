//! Workloads that drive the network: synthetic patterns at an offered load.

pub mod pattern;
pub mod synthetic;
