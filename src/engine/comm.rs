//! Communication between processes that each run some of the partitions.
//!
//! Every decision that steers a run (when a phase ends, whether the watchdog fires,
//! where the next event is) is taken on globally reduced values, so all processes take
//! the same decision in the same window and a failure ends every process with the same
//! message instead of leaving some of them waiting.

use crate::core::message::Msg;

/// Collective operations the engine needs. One process: [`LocalComm`]; several: the MPI
/// implementation behind the `mpi` feature.
pub trait Comm {
    fn rank(&self) -> usize;
    fn size(&self) -> usize;
    /// Sends `out[r]` to each rank `r` of `peers` and returns what those ranks sent
    /// here, in rank order. `peers` (ascending, without this rank) are the ranks this
    /// one shares links with; every other entry of `out` is empty, so the exchange is
    /// point to point between neighbours and its cost does not grow with the rank
    /// count. The peer relation is symmetric (links are), so every send is matched.
    fn exchange(&self, out: Vec<Vec<Msg>>, peers: &[usize]) -> Vec<Msg>;
    fn all_min(&self, v: u64) -> u64;
    fn all_max(&self, v: u64) -> u64;
    fn all_sum(&self, v: i64) -> i64;
    /// Every rank's bytes, on every rank, in rank order.
    fn all_gather_bytes(&self, mine: Vec<u8>) -> Vec<Vec<u8>>;
}

/// The single-process case: every collective is the identity.
#[derive(Default, Debug, Clone, Copy)]
pub struct LocalComm;

impl Comm for LocalComm {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn exchange(&self, _out: Vec<Vec<Msg>>, _peers: &[usize]) -> Vec<Msg> {
        Vec::new()
    }
    fn all_min(&self, v: u64) -> u64 {
        v
    }
    fn all_max(&self, v: u64) -> u64 {
        v
    }
    fn all_sum(&self, v: i64) -> i64 {
        v
    }
    fn all_gather_bytes(&self, mine: Vec<u8>) -> Vec<Vec<u8>> {
        vec![mine]
    }
}
