//! [`Comm`] over MPI (the `mpi` feature): one process per MPI rank.
//!
//! Every method is a collective over the world communicator, so every rank must call
//! the same methods in the same order. The engine guarantees that: its control flow
//! depends only on globally reduced values (see [`super::comm`]). A rank that cannot
//! continue (an impossible buffer size, a corrupt message) calls `MPI_Abort` rather
//! than returning, because the others would otherwise wait for it forever.

use super::comm::Comm;
use super::wire;
use crate::core::message::Msg;
use mpi::Count;
use mpi::collective::SystemOperation;
use mpi::datatype::PartitionMut;
use mpi::environment::Universe;
use mpi::request::WaitGuard;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

/// The world communicator of an initialised MPI environment.
pub struct MpiComm {
    world: SimpleCommunicator,
    rank: usize,
    size: usize,
}

impl MpiComm {
    /// Borrowing the [`Universe`] proves MPI is initialised; it must outlive the comm
    /// (dropping it finalises MPI).
    pub fn new(universe: &Universe) -> Self {
        let world = universe.world();
        let rank = usize::try_from(world.rank()).unwrap_or(0);
        let size = usize::try_from(world.size()).unwrap_or(1);
        MpiComm { world, rank, size }
    }

    /// Prints `msg` (prefixed with this rank) and aborts every rank of the job.
    pub fn abort(&self, msg: &str) -> ! {
        eprintln!("torsim: rank {}: {msg}", self.rank);
        self.world.abort(2)
    }

    /// An MPI element count; past `i32::MAX` the job cannot continue.
    fn count(&self, n: usize, what: &str) -> Count {
        Count::try_from(n).unwrap_or_else(|_| {
            self.abort(&format!(
                "{what}: {n} elements exceed the MPI count limit of {}",
                Count::MAX
            ))
        })
    }

    /// Exclusive prefix sums of `counts` (the displacements of a varcount collective).
    fn displs(&self, counts: &[Count], what: &str) -> Vec<Count> {
        let mut acc = 0usize;
        counts
            .iter()
            .map(|&c| {
                let d = self.count(acc, what);
                acc += usize::try_from(c).unwrap_or(0);
                d
            })
            .collect()
    }

    /// A peer's rank as MPI wants it.
    fn peer(&self, r: usize) -> mpi::Rank {
        mpi::Rank::try_from(r).unwrap_or_else(|_| self.abort(&format!("rank {r} out of range")))
    }

    fn total(counts: &[Count]) -> usize {
        counts
            .iter()
            .map(|&c| usize::try_from(c).unwrap_or(0))
            .sum()
    }
}

impl Comm for MpiComm {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    /// Two all-to-alls: the word counts, then the encoded messages. Every rank takes
    /// part every window even with nothing to send, which keeps the ranks in
    /// lock-step and makes the call the window barrier as well.
    fn exchange(&self, out: Vec<Vec<Msg>>, peers: &[usize]) -> Vec<Msg> {
        debug_assert_eq!(out.len(), self.size);
        let bufs: Vec<Vec<u64>> = peers
            .iter()
            .map(|&r| {
                let mut b = Vec::with_capacity(out[r].len() * wire::WORDS);
                for m in &out[r] {
                    wire::encode(m, &mut b);
                }
                b
            })
            .collect();
        let mut got: Vec<Vec<u64>> = Vec::with_capacity(peers.len());
        // Non-blocking sends to every peer, then blocking receives from each: no
        // ordering between ranks is needed, and messages between two ranks never
        // overtake each other, so windows stay in order.
        mpi::request::scope(|scope| {
            let sends: Vec<_> = peers
                .iter()
                .zip(&bufs)
                .map(|(&r, b)| {
                    WaitGuard::from(
                        self.world
                            .process_at_rank(self.peer(r))
                            .immediate_send(scope, &b[..]),
                    )
                })
                .collect();
            for &r in peers {
                let (v, _) = self
                    .world
                    .process_at_rank(self.peer(r))
                    .receive_vec::<u64>();
                got.push(v);
            }
            drop(sends);
        });
        let mut msgs = Vec::new();
        for v in &got {
            msgs.extend(wire::decode_all(v).unwrap_or_else(|e| self.abort(&e.to_string())));
        }
        msgs
    }

    fn all_min(&self, v: u64) -> u64 {
        let mut r = 0u64;
        self.world
            .all_reduce_into(&v, &mut r, SystemOperation::min());
        r
    }

    fn all_max(&self, v: u64) -> u64 {
        let mut r = 0u64;
        self.world
            .all_reduce_into(&v, &mut r, SystemOperation::max());
        r
    }

    fn all_sum(&self, v: i64) -> i64 {
        let mut r = 0i64;
        self.world
            .all_reduce_into(&v, &mut r, SystemOperation::sum());
        r
    }

    fn all_gather_bytes(&self, mine: Vec<u8>) -> Vec<Vec<u8>> {
        let len = self.count(mine.len(), "all_gather_bytes");
        let mut lens: Vec<Count> = vec![0; self.size];
        self.world.all_gather_into(&len, &mut lens[..]);
        let displs = self.displs(&lens, "all_gather_bytes");
        let mut buf = vec![0u8; Self::total(&lens)];
        {
            let mut p = PartitionMut::new(&mut buf[..], &lens[..], &displs[..]);
            self.world.all_gather_varcount_into(&mine[..], &mut p);
        }
        let mut at = 0;
        lens.iter()
            .map(|&l| {
                let l = usize::try_from(l).unwrap_or(0);
                let v = buf[at..at + l].to_vec();
                at += l;
                v
            })
            .collect()
    }
}
