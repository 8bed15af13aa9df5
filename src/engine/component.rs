//! What the engine knows of the components it runs: an id per component, and the
//! narrow interface of a router.
//!
//! Each node of a partition has two components, its router and its endpoint. A
//! [`ComponentId`] names one of them by the node's index in the partition (`local`)
//! and its [`Kind`]; it packs both into the `u32` the timing wheel stores and indexes
//! the partition's per-component arrays with it. The engine moves messages between
//! components and never looks inside them: endpoints through [`super::Endpoint`],
//! routers through [`RouterModel`]. Both are generic parameters of the partition, so
//! every call in the per-cycle path is statically dispatched.

use crate::core::flit::Flit;
use crate::core::message::Msg;
use crate::stats::Stats;

/// Which of a node's two components an id names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Router,
    Endpoint,
}

/// A component of a partition: node `local` of the partition (its index, not the
/// global node id) and its [`Kind`]. Packed as `local << 1 | kind` (router 0, endpoint
/// 1), so the ids of a partition with `n` nodes are dense in `0 .. slots(n)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ComponentId(u32);

impl ComponentId {
    #[inline]
    pub const fn new(local: u32, kind: Kind) -> ComponentId {
        debug_assert!(local < 1 << 31);
        ComponentId(
            local << 1
                | match kind {
                    Kind::Router => 0,
                    Kind::Endpoint => 1,
                },
        )
    }

    /// The router of the partition's node `local`.
    #[inline]
    pub const fn router(local: u32) -> ComponentId {
        ComponentId::new(local, Kind::Router)
    }

    /// The endpoint of the partition's node `local`.
    #[inline]
    pub const fn endpoint(local: u32) -> ComponentId {
        ComponentId::new(local, Kind::Endpoint)
    }

    /// The node's index in its partition.
    #[inline]
    pub const fn local(self) -> usize {
        (self.0 >> 1) as usize
    }

    #[inline]
    pub const fn kind(self) -> Kind {
        if self.0 & 1 == 0 {
            Kind::Router
        } else {
            Kind::Endpoint
        }
    }

    /// Dense index for per-component arrays (below [`ComponentId::slots`]).
    #[inline]
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// Size of a per-component array for a partition of `nodes` nodes.
    pub const fn slots(nodes: usize) -> usize {
        2 * nodes
    }
}

/// A router as the engine sees it: it takes flits and credits, runs a cycle at a time
/// and pushes the messages it sends; everything else (ports, VCs, allocation, routing)
/// stays inside the implementation.
pub trait RouterModel: Send {
    /// Read-only data every router of a run shares (specification, routing), also what
    /// the engine needs to size its timing wheel and window.
    type Shared: Sync;
    /// Scratch space and counters one partition keeps for all its routers.
    type Scratch: Default + Send;

    /// The router of global node `node`.
    fn new(node: usize, sh: &Self::Shared) -> Self;
    /// A flit for input `port`, VC `vc`, arriving at cycle `at`; returns the cycle the
    /// router must run for it.
    fn accept_flit(
        &mut self,
        sh: &Self::Shared,
        port: usize,
        vc: usize,
        at: u64,
        flit: Flit,
    ) -> u64;
    /// A body flit (not its packet's head) number `index` of a `len`-flit packet, for
    /// input `port`, VC `vc`, arriving at cycle `at`; returns the cycle the router must
    /// run for it. The flits of a packet are equal but for `index` (the adapter makes
    /// them so and no router changes one without the others), and a VC's flits arrive
    /// in packet order, so the router rebuilds a body flit from its head; the engine
    /// keeps only these few fields of it in flight (see `super::inbox`).
    fn accept_body(
        &mut self,
        sh: &Self::Shared,
        port: usize,
        vc: usize,
        at: u64,
        index: u16,
        len: u16,
    ) -> u64;
    /// A credit for output `port`, VC `vc`, that has arrived (`tail`: it frees a packet's
    /// last flit): the engine calls this in
    /// the credit's arrival cycle, before the router's update of that cycle (see
    /// `super::credits`).
    fn apply_credit(&mut self, sh: &Self::Shared, port: usize, vc: usize, tail: bool);
    /// Runs cycle `t`, pushing what it sends to `out`; returns whether it must run
    /// again in `t + 1`.
    fn step(
        &mut self,
        t: u64,
        sh: &Self::Shared,
        out: &mut Vec<Msg>,
        scratch: &mut Self::Scratch,
    ) -> bool;
    /// Writes the flits sent out of each network port so far into `out` (one entry
    /// per network port).
    fn record_link_flits(&self, out: &mut [u64]);
    /// Copies the router's per-channel statistics (if collected) into `s`.
    fn record_channels(&self, s: &mut crate::stats::ChannelStats);
    /// Adds the router's traced hops (if tracing) to `t`.
    fn record_trace(&self, t: &mut crate::stats::trace::TraceData);
    /// One line per channel holding flits, for deadlock reports.
    fn describe_stuck(&self, sh: &Self::Shared, injectors: usize) -> Vec<String>;
    /// Copies the counters the partition's routers added to `scratch` into `stats`.
    fn record_counters(scratch: &Self::Scratch, stats: &mut Stats);
    /// Smallest delay of any message between routers: the synchronisation window.
    fn lookahead(sh: &Self::Shared) -> u64;
    /// Longest delay of a message a router sends.
    fn max_delay(sh: &Self::Shared) -> u64;
}
