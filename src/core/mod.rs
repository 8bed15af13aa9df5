//! The vocabulary every layer shares: flits and the messages that carry them between
//! components, directions on the torus, build limits and the build's identity. This
//! module imports nothing from the rest of the crate.

pub mod direction;
pub mod flit;
pub mod grid;
pub mod limits;
pub mod message;

/// Version and source revision, recorded in every result file.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const GIT_REVISION: &str = match option_env!("TORSIM_GIT_REVISION") {
    Some(r) => r,
    None => "unknown",
};
