//! Time, partitions and windows: the mechanism a run is driven with (the phases, the
//! watchdog and the conservation check that drive it are in `crate::experiment`).
//!
//! The network is split into partitions, each owning a set of routers and their
//! endpoints, its own timing wheel and its own counters. A partition advances through a
//! window of cycles on its own; messages for components in other partitions collect in
//! its outbox and are delivered when the window closes. Because every message arrives
//! at least `lookahead` cycles after it is sent, nothing in the window can depend on
//! them. The serial run is the one-partition case of the same code. Components are
//! known only through `component` (ids, the `RouterModel` trait) and [`Endpoint`].

pub mod comm;
pub mod component;
pub mod credits;
pub mod due;
pub mod inbox;
#[cfg(feature = "mpi")]
pub mod mpi_comm;
pub mod partition;
pub mod partitioning;
pub mod routers;
pub mod sim;
pub mod wheel;
pub mod wire;

use crate::config::spec::NicSpec;
use crate::core::flit::Flit;
use crate::core::message::Msg;
use crate::stats::Stats;
use rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// What an endpoint may touch while it runs.
pub struct EndpointCtx<'a> {
    pub nic: &'a NicSpec,
    pub out: &'a mut Vec<Msg>,
    pub stats: &'a mut Stats,
    /// Scratch list for the adapter's delivered tails.
    pub delivered: &'a mut Vec<(u64, Flit)>,
    /// Packets created in `[window.0, window.1)` are measured.
    pub window: (u64, u64),
    pub record_ids: bool,
}

/// A node model attached to a router through a network adapter. The engine hands it
/// what arrives from the router (ejected flits, injector credits) and asks it how many
/// packets it has injected; the adapter itself belongs to the node layer.
pub trait Endpoint: Send {
    /// A flit from ejector `port`, VC `vc`, arriving at cycle `at`.
    fn accept_flit(&mut self, at: u64, port: usize, vc: usize, flit: Flit);
    /// A credit for injector `port`, VC `vc`, arriving at cycle `at`. Returns whether
    /// the endpoint must run at `at` (it waits for credits): an adapter blocked on
    /// credits sleeps instead of polling every cycle, so the credit must wake it.
    fn accept_credit(&mut self, at: u64, port: usize, vc: usize) -> bool;
    /// Packets injected so far (their ids are `0 .. injected()` in the low word).
    fn injected(&self) -> u64;
    /// The first cycle the endpoint needs to run, if any.
    fn first_wake(&self) -> Option<u64>;
    /// Runs cycle `t`; returns the next cycle it needs to run (arrivals wake it too).
    fn step(&mut self, t: u64, cx: &mut EndpointCtx) -> Option<u64>;
    /// Stops creating traffic from cycle `t`; returns the queued packets dropped.
    fn stop(&mut self, t: u64) -> u64;
    /// Whether the endpoint's own work is complete (a program has run to its end).
    /// Open-ended traffic sources are never done.
    fn done(&self) -> bool {
        false
    }
    /// What the endpoint is waiting for, when a run stalls.
    fn describe_wait(&self) -> Option<String> {
        None
    }
    /// Recorded (mark id, cycle) pairs.
    fn marks(&self) -> &[(u16, u64)] {
        &[]
    }
    /// The endpoint's symmetric variables, every word in declaration order (empty for
    /// endpoints without any).
    fn variables(&self) -> &[u64] {
        &[]
    }
    /// Values the endpoint's program produced, as (op index, element, value): the
    /// results of its collectives.
    fn values(&self) -> Vec<(u32, u32, u64)> {
        Vec::new()
    }
    /// The cycle the endpoint's program ended, if it has.
    fn finished_at(&self) -> Option<u64> {
        None
    }
    /// Copies the adapter's per-channel statistics (if collected) into `s`.
    fn record_channels(&self, _s: &mut crate::stats::ChannelStats) {}
    /// Adds the endpoint's traced operations (if tracing) to `t`.
    fn record_trace(&self, _t: &mut crate::stats::trace::TraceData) {}
}

/// An independent random stream per component, from (global seed, component id,
/// stream kind), so results do not depend on which partition or thread runs it.
pub fn component_rng(seed: u64, component: u64, stream: u64) -> Xoshiro256PlusPlus {
    let mut z = seed
        ^ component.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
    // SplitMix64 finaliser: decorrelates neighbouring ids.
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    Xoshiro256PlusPlus::seed_from_u64(z)
}

/// Accounts one delivered packet (its tail arrived at `at`).
pub fn record_delivery(s: &mut Stats, at: u64, f: &Flit, window: (u64, u64), record_ids: bool) {
    s.packets_delivered += 1;
    s.flits_delivered += f.len as u64;
    s.payload_bytes_delivered += f.payload as u64;
    s.last_delivery = s.last_delivery.max(at);
    if at >= window.0 && at < window.1 {
        s.window_flits_delivered += f.len as u64;
    }
    if f.measured {
        s.measured_packets_delivered += 1;
        s.latency.add(at - f.created);
        s.network_latency.add(at - f.injected);
        s.measured_hops += f.hops as u64;
    }
    if record_ids {
        s.delivered_ids.push(f.packet);
    }
}
