//! SpMV matrix model: which vector elements each node needs from each other node.
//!
//! The workload being modelled is the paper's iterated `y = A x` with `A` a random sparse
//! `n x n` matrix with `d` nonzeros per row, rows split over `p` nodes in horizontal
//! stripes, and the vector split the same way. Before each iteration every node must
//! obtain the elements of `x` its rows reference but other nodes own; in the paper's
//! "Alltoall" algorithm node `j` sends node `i` exactly the distinct elements `i` needs,
//! in ring order. The network only cares about *how many* elements go between each pair,
//! the `p x p` transfer matrix `T`, so that is what this module produces:
//!
//! * [`MatrixSpec`] defines the matrix (`n`, `d`, `seed`); rows are regenerated on demand
//!   from per-row random streams and never stored (see [`generator`] for the exact
//!   definition: exactly `d` distinct uniform columns per row).
//! * [`Stripes`] is the row/vector partition, [`ring_order`] the send order.
//! * [`TransferMatrix::compute`] counts `T` exactly, in parallel, in bounded memory.
//! * [`expect`] gives the closed-form mean and variance of every entry (tests use it to
//!   check the exact counts; it also tells what to expect without computing).
//! * [`cache`] keeps computed matrices on disk, verified on load.
//! * [`ElementEncoding`] turns counts into bytes; [`transfer_stats`] summarises.
//!
//! Why exact counts rather than the expectation: an entry fluctuates (at the paper's
//! `n = 10,240,000, d = 10, p = 1024` an entry is about 97 +- 10 elements, a node's total
//! about 99,416 +- 24) and the slowest node and link set the exchange time, so the replay
//! should see a real matrix's imbalance, as the paper's simulation did.

pub mod cache;
pub mod expect;
pub mod generator;
pub mod partition;
pub mod stats;
pub mod transfer;
pub mod workload;

pub use cache::{
    CacheOutcome, CacheReport, cache_file, default_cache_dir, store, transfer_matrix_cached,
};
pub use expect::{
    Moments, approx_remote_per_node, expected_remote_total, expected_total_remote,
    expected_transfer, needed_moments,
};
pub use generator::{GENERATOR_VERSION, MAX_N, MatrixSpec};
pub use partition::{MAX_NODES, Stripes, ring_order};
pub use stats::{Spread, TransferStats, transfer_stats};
pub use transfer::{ElementEncoding, TransferMatrix};

use std::path::PathBuf;

/// Errors of the SpMV model: bad parameters, or file trouble when storing explicitly.
#[derive(Debug, thiserror::Error)]
pub enum SpmvError {
    #[error("invalid SpMV parameters: {0}")]
    Invalid(String),
    #[error("transfer-matrix cache {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
