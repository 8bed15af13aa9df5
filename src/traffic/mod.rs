//! Workloads that drive the network: synthetic patterns at an offered load.

pub mod collective_stmt;
pub mod micro;
pub mod pattern;
pub mod program;
pub mod synthetic;
