//! torsim: a cycle-accurate, conservative parallel discrete-event simulator of
//! multidimensional-torus interconnects.
//!
//! Layers, bottom up (a module imports only from its own layer and those below; see
//! ARCHITECTURE.md and `tests/layers.rs`): [`core`] (flits, messages, directions),
//! [`stats`], [`config`], [`topology`], [`routing`], [`router`], [`engine`] (partitions,
//! windows), [`node`] (adapter, PCIe, ShmemPE), the workloads [`traffic`] and [`spmv`],
//! [`experiment`] (run phases, validation) and [`report`]. The command line sits on top.

pub mod config;
pub mod core;
pub mod engine;
pub mod experiment;
pub mod node;
pub mod report;
pub mod router;
pub mod routing;
pub mod spmv;
pub mod stats;
pub mod topology;
pub mod traffic;
