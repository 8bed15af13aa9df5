//! torsim: a cycle-accurate, conservative parallel discrete-event simulator of
//! multidimensional-torus interconnects.
//!
//! Layers, top to bottom: [`traffic`] (workloads) drives [`node`] (network adapters),
//! which inject into [`router`]s wired by [`topology`] and steered by [`routing`]; the
//! [`engine`] advances everything in partitions; [`stats`] counts and [`report`] presents.

pub mod config;
pub mod engine;
pub mod node;
pub mod report;
pub mod router;
pub mod routing;
pub mod run;
pub mod spmv;
pub mod stats;
pub mod topology;
pub mod traffic;
pub mod validate;

/// Version and source revision, recorded in every result file.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const GIT_REVISION: &str = match option_env!("TORSIM_GIT_REVISION") {
    Some(r) => r,
    None => "unknown",
};
