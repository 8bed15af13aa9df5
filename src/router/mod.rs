//! The cycle-accurate router of an n-D torus.
//!
//! Input-queued, with V virtual channels of B flits per input port, credit flow control,
//! virtual cut-through or wormhole switching, separable VC and switch allocation, and a
//! pipeline whose stage delays come from the config:
//!
//! ```text
//! head arrives at t0 -> header analysis + route computation (h + r cycles)
//!   -> VC allocation (va cycles, decision in its last cycle)
//!   -> switch allocation (sa cycles; overlapped with VA under pre-arbitration)
//!   -> switch traversal (st cycles) -> link (L cycles) -> next router at
//!      t0 + h + r + va + sa + st + L   (max(va, sa) instead of va + sa when pre-arbitrating)
//! ```
//!
//! A head that waits behind another packet in its VC starts routing in the cycle that
//! packet's tail leaves (route computation is stateless and overlaps it), so
//! back-to-back packets in one VC pay no extra bubble. With
//! `router.overlap_route_computation = false` it starts one cycle later, so a VC serves
//! at most one single-flit packet every h + r + va + sa cycles (BookSim2's behaviour).
//!
//! A router reads only its own state and messages that have arrived, and writes only its
//! own state and messages that arrive one cycle or more later, so routers can be updated
//! in any order and in any partition.
//!
//! The parts, each with its unit tests: `input_unit` (the input VCs and their
//! buffers), `output_unit` (output VCs, credits, bubble slots, link bandwidth),
//! `vc_alloc` (which output VC a head asks for, the selection policy, timeouts and
//! the VC allocator), `switch_alloc` (the switch allocator) and [`arbiter`]. This file
//! holds the router's state and [`Router::step`], which runs the phases of one cycle
//! in order: credits in, one pass over the occupied input VCs, VC allocation, switch
//! allocation and traversal.

pub mod arbiter;
mod channel_counters;
mod input_unit;
mod lone_vc;
mod output_unit;
mod packet_trace;
mod switch_alloc;
mod traversal;
mod vc_alloc;

use crate::config::Params;
use crate::config::params::LinkRate;
use crate::config::schema::{AllocatorKind, ArbiterKind, FlowControl, Selection, TimeoutAction};
use crate::core::flit::Flit;
use crate::core::message::Msg;
use crate::routing::Routing;
use crate::topology::Torus;
use arbiter::Request;
use channel_counters::ChannelCounters;
use input_unit::{FlitStore, InputVc, Stage, VcSet};
use lone_vc::Lone;
use output_unit::{NONE, OutPort, OutputVc};
use packet_trace::PacketTrace;
use rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// Router parameters shared by all routers of a run, resolved once.
#[derive(Clone, Debug)]
pub struct RouterSpec {
    pub np: usize,
    pub p_in: usize,
    pub p_out: usize,
    pub vcs: usize,
    pub buffer: usize,
    pub ejection_buffer: usize,
    /// Cycles from a head reaching the front of its buffer to its VC allocation
    /// decision: h + r + va - 1.
    pub va_ready: u64,
    /// Cycles from the VC grant to the earliest switch grant.
    pub sa_after_va: u64,
    /// Cycles from switch grant to arrival at the next router: st + L + ... (see below).
    pub to_next_router: u64,
    pub to_ejector: u64,
    pub credit_latency: u64,
    pub injection_latency: u64,
    pub flow_control: FlowControl,
    pub input_arbiter: bool,
    /// A queued head is routed in the cycle the previous tail leaves (else the next).
    pub overlap_route_computation: bool,
    pub allocator: AllocatorKind,
    pub arbiter: ArbiterKind,
    pub link_rate: Option<LinkRate>,
    /// Under bubble flow control, a network VC buffer is managed in whole-packet slots
    /// (buffer / maximum packet): a packet of any length takes one slot, a packet
    /// continuing along its ring needs one free slot and a packet entering a ring two.
    /// Counting free space in flits instead lets it fragment across the buffers of a
    /// ring (5 flits free here, 5 there, no room for a 10-flit packet anywhere) and the
    /// ring deadlocks when packets of different sizes mix.
    pub bubble_slots: Option<u32>,
    pub selection: Selection,
    /// Cycles a routed head may wait for a VC before it is re-routed.
    pub timeout: Option<u64>,
    pub timeout_action: TimeoutAction,
    /// Virtual subnetworks a timed-out packet may move up through.
    pub subnetworks: u8,
    /// Seeds the per-router random streams (random selection).
    pub seed: u64,
    /// Cycles the per-channel statistics cover (`None`: not collected). Set by the
    /// engine when the user asks for them; not a config key.
    pub channel_window: Option<(u64, u64)>,
    /// Which packets to trace (`None`: no trace); set by the engine on request.
    pub trace: Option<crate::stats::trace::TraceSpec>,
}

impl RouterSpec {
    pub fn new(p: &Params) -> RouterSpec {
        let np = 2 * p.shape.len();
        let sa_after_va = if p.pre_arbitration {
            p.switch_allocation.saturating_sub(p.vc_allocation)
        } else {
            p.switch_allocation
        };
        RouterSpec {
            np,
            p_in: np + p.injectors,
            p_out: np + p.ejectors,
            vcs: p.router_vcs(),
            buffer: p.buffer,
            ejection_buffer: p.ejection_buffer,
            va_ready: p.header_analysis + p.route_computation + p.vc_allocation - 1,
            sa_after_va,
            // Switch grant in cycle d; traversal occupies d+1 ..= d+st; the link the next
            // L cycles; the flit is usable downstream in cycle d + 1 + st + L.
            to_next_router: 1 + p.switch_traversal + p.link_latency,
            to_ejector: 1 + p.switch_traversal + p.ejection_latency,
            credit_latency: p.credit_latency,
            injection_latency: p.injection_latency,
            flow_control: p.flow_control,
            input_arbiter: p.input_arbiter,
            overlap_route_computation: p.overlap_route_computation,
            allocator: p.allocator,
            arbiter: p.arbiter,
            link_rate: p.link_rate,
            bubble_slots: (p.deadlock_avoidance
                == crate::config::schema::DeadlockAvoidance::Bubble)
                .then(|| (p.buffer / p.max_packet_flits.max(1)) as u32),
            selection: p.selection,
            timeout: p.timeout,
            timeout_action: p.timeout_action,
            subnetworks: p.subnetworks.min(255) as u8,
            seed: p.seed,
            channel_window: None,
            trace: None,
        }
    }
}

/// Scratch space reused across router updates so the inner loop never allocates.
#[derive(Default, Debug)]
pub struct Scratch {
    va: Vec<(u32, Request)>,
    sa: Vec<(u16, u16, Request)>,
    sa_in: Vec<(u16, u16, Request)>,
    tmp: Vec<Request>,
    won: Vec<(u16, u16)>,
}

pub use crate::stats::RouterCounters;

/// A router. `repr(C)` and a cache line's alignment keep what every update reads (the
/// occupied VCs, where the VC, output and port states are, whether statistics are on)
/// in its first two lines: on a large network a router's lines have left the caches
/// between its updates, and the compiler's field order spread them over five.
#[derive(Clone, Debug)]
#[repr(C, align(64))]
pub struct Router {
    occupied: VcSet,
    inputs: Vec<InputVc>,
    node: u32,
    outputs: Vec<OutputVc>,
    ports: Vec<OutPort>,
    /// Per-channel statistics, only when requested.
    chan: Option<Box<ChannelCounters>>,
    /// Packet trace, only when requested.
    trace: Option<Box<PacketTrace>>,
    /// The flits buffered in `inputs`.
    store: FlitStore,
    in_rr: Vec<u16>,
    rng: Xoshiro256PlusPlus,
}

impl Router {
    pub fn new(node: usize, spec: &RouterSpec) -> Router {
        let v = spec.vcs;
        let inputs = (0..spec.p_in * v)
            .map(|i| InputVc::new(i, spec.buffer))
            .collect();
        let outputs = (0..spec.p_out * v)
            .map(|i| {
                OutputVc::new(if i / v < spec.np {
                    spec.buffer as u32
                } else {
                    spec.ejection_buffer as u32
                })
            })
            .collect();
        let ports = (0..spec.p_out).map(|_| OutPort::new(spec)).collect();
        Router {
            node: node as u32,
            inputs,
            store: FlitStore::new(
                spec.p_in * v,
                spec.buffer,
                spec.channel_window.is_some() || spec.trace.is_some(),
            ),
            outputs,
            ports,
            in_rr: vec![u16::MAX; spec.p_in],
            occupied: VcSet::default(),
            rng: Xoshiro256PlusPlus::seed_from_u64(
                spec.seed ^ (node as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x726f_7574,
            ),
            chan: spec
                .channel_window
                .map(|w| Box::new(ChannelCounters::new(spec.np, spec.p_in * v, w))),
            trace: spec
                .trace
                .map(|s| Box::new(PacketTrace::new(s, spec.p_in * v))),
        }
    }

    /// Writes the flits sent out of each network port so far into `out` (one entry
    /// per network port).
    pub fn record_link_flits(&self, out: &mut [u64]) {
        for (o, p) in out.iter_mut().zip(&self.ports) {
            *o = p.flits;
        }
    }

    /// Adds this router's traced hops (if tracing) to `out`.
    pub fn record_trace(&self, out: &mut crate::stats::trace::TraceData) {
        if let Some(tr) = &self.trace {
            tr.record(out);
        }
    }

    /// Copies this router's per-channel statistics (if collected) into `s`.
    pub fn record_channels(&self, s: &mut crate::stats::ChannelStats) {
        if let Some(c) = &self.chan {
            c.record(self.node as usize, s);
        }
    }

    /// A flit arrives (at cycle `at`) into an input VC. Space is guaranteed by credits.
    ///
    /// Returns the cycle the router needs to run for it. A head that arrives at an idle,
    /// empty VC is routed here rather than in a router update: routing is a pure function
    /// of the header and the router's position, so computing it early changes nothing
    /// but saves an update; the router then first runs when VC allocation is due.
    #[inline(always)]
    pub fn accept_flit(
        &mut self,
        spec: &RouterSpec,
        routing: &Routing,
        port: usize,
        vc: usize,
        at: u64,
        flit: Flit,
    ) -> u64 {
        let i = port * spec.vcs + vc;
        let ivc = &mut self.inputs[i];
        let wake = if ivc.accept(&mut self.store, at, flit) {
            debug_assert!(flit.is_head(), "body flit at the front of an idle VC");
            let ready = at + spec.va_ready;
            ivc.route_head(routing, self.node as usize, port, &flit, ready);
            ready
        } else {
            at
        };
        self.occupied.insert(i);
        wake
    }

    /// A body flit (`index` > 0 of a `len`-flit packet) arrives (at cycle `at`) into
    /// an input VC; it is rebuilt from its head when it leaves (see
    /// `input_unit::FlitStore`). Returns the cycle the router needs to run for it.
    #[inline(always)]
    pub fn accept_body(
        &mut self,
        spec: &RouterSpec,
        port: usize,
        vc: usize,
        at: u64,
        index: u16,
        len: u16,
    ) -> u64 {
        let i = port * spec.vcs + vc;
        self.inputs[i].accept_body(&mut self.store, at, index, len);
        self.occupied.insert(i);
        at
    }

    /// A credit for an output VC has arrived (the engine calls this in its arrival
    /// cycle, before this router's update).
    #[inline]
    pub fn apply_credit(&mut self, spec: &RouterSpec, port: usize, vc: usize, tail: bool) {
        self.outputs[port * spec.vcs + vc]
            .return_credit(spec.bubble_slots.is_some() && port < spec.np, tail)
    }

    /// One cycle of work. Returns whether the router must run again next cycle (a flit
    /// is present in some buffer).
    pub fn step(
        &mut self,
        t: u64,
        spec: &RouterSpec,
        routing: &Routing,
        out: &mut Vec<Msg>,
        sc: &mut Scratch,
        cnt: &mut RouterCounters,
    ) -> bool {
        let v = spec.vcs;
        let node = self.node as usize;
        // 1. Credits that have arrived were applied by the engine before this update.
        // The common case below saturation: one VC has a flit here. It needs no
        // request lists and no arbitration (see `lone_vc`).
        if self.chan.is_none() && self.trace.is_none() {
            match self.lone_present_vc() {
                Lone::None => return false,
                Lone::One(i) => return self.step_lone(i, t, spec, routing, out, cnt),
                Lone::Many => {}
            }
        }
        // 2. One pass over the VCs holding flits: route new heads, gather VC requests
        // from routed heads and switch requests from VCs that hold an output VC.
        sc.va.clear();
        sc.sa.clear();
        let mut present = 0u32;
        let occupied = self.occupied;
        let oldest_first = spec.arbiter == ArbiterKind::OldestFirst;
        occupied.for_each(|i| {
            // An occupied VC has a flit here: the engine hands flits over in their
            // arrival cycle.
            let ivc = &mut self.inputs[i];
            debug_assert!(ivc.front_at <= t, "a flit before its arrival");
            present += 1;
            let req = Request {
                idx: i as u16,
                age: if oldest_first {
                    let f = ivc.front(&self.store);
                    (f.created, f.packet)
                } else {
                    (0, 0)
                },
            };
            match ivc.stage {
                Stage::Active => {
                    let o = ivc.out;
                    if self.switch_ready(spec, i, t) {
                        sc.sa.push(((i / v) as u16, o, req));
                    } else if let Some(c) = &mut self.chan {
                        let ivc = &self.inputs[i];
                        let op = o as usize;
                        if op < spec.np
                            && ivc.ready <= t
                            && self.outputs[op * v + ivc.out_vc as usize].credits == 0
                        {
                            c.stalled |= 1 << op;
                        }
                    }
                    return;
                }
                Stage::Idle => {
                    let head = ivc.front(&self.store);
                    debug_assert!(head.is_head(), "body flit at the front of an idle VC");
                    let ready = t + spec.va_ready;
                    ivc.route_head(routing, node, i / v, &head, ready);
                }
                Stage::WaitVc => {}
            }
            if ivc.ready > t {
                return;
            }
            vc_alloc::check_timeout(spec, t, ivc, &self.store, routing, node, cnt);
            let need = vc_alloc::credits_needed(spec, ivc.front_len);
            // The usable output VC of the candidate the selection policy prefers;
            // escape candidates are taken only when no other is usable.
            let choice = vc_alloc::choose(spec, &self.outputs, &ivc.route, need, &mut self.rng);
            ivc.pick = choice.map_or(0, |c| c.1);
            if let Some((o, _)) = choice {
                sc.va.push((o, req));
            } else if let Some(c) = &mut self.chan
                && spec.bubble_slots.is_some()
            {
                for cand in self.inputs[i].route.as_slice() {
                    if vc_alloc::bubble_refused(spec, &self.outputs, cand, need) {
                        c.bubble_refused(cand.port_lo as usize, t);
                    }
                }
            }
        });
        // 3. VC allocation; winners whose switch request is due join the switch requests
        // (pre-arbitration: in the same cycle).
        if !sc.va.is_empty() {
            self.vc_allocate(t, spec, sc, cnt);
            let before = sc.sa.len();
            for k in 0..sc.won.len() {
                let i = sc.won[k].0 as usize;
                if self.switch_ready(spec, i, t) {
                    let f = self.inputs[i].front(&self.store);
                    sc.sa.push((
                        (i / v) as u16,
                        self.inputs[i].out,
                        Request {
                            idx: i as u16,
                            age: (f.created, f.packet),
                        },
                    ));
                }
            }
            if sc.sa.len() > before && before > 0 {
                sc.sa.sort_unstable_by_key(|r| r.2.idx);
            }
        }
        if let Some(c) = &mut self.chan {
            c.end_cycle(t);
        }
        if sc.sa.is_empty() {
            return present > 0;
        }
        // 4. Switch allocation and traversal of the winners.
        self.switch_allocate(spec, sc);
        for k in 0..sc.won.len() {
            let (i, op) = sc.won[k];
            if !self.traverse(i as usize, op as usize, t, spec, routing, out, cnt) {
                present -= 1;
            }
        }
        present > 0
    }

    /// Human description of every non-empty input VC, for deadlock reports.
    pub fn describe_stuck(
        &self,
        spec: &RouterSpec,
        torus: &Torus,
        injectors: usize,
    ) -> Vec<String> {
        let v = spec.vcs;
        let mut lines = Vec::new();
        for (i, ivc) in self.inputs.iter().enumerate() {
            let Some(f) = ivc.peek(&self.store) else {
                continue;
            };
            let wants = match ivc.stage {
                Stage::Idle => "not yet routed".to_string(),
                Stage::WaitVc => {
                    let mut s = String::from("waits for a VC:");
                    for c in ivc.route.as_slice() {
                        s += &format!(
                            " {} vc{}..{}",
                            torus.port_name(c.port_lo as usize, injectors, false),
                            c.vc_lo,
                            c.vc_hi
                        );
                        for vc in c.vc_lo..c.vc_hi {
                            let o = &self.outputs[c.port_lo as usize * v + vc as usize];
                            s += &format!(
                                " [vc{vc}: {} credits, {}]",
                                o.credits,
                                if o.owner == NONE { "free" } else { "owned" }
                            );
                        }
                    }
                    s
                }
                Stage::Active => {
                    let o = &self.outputs[ivc.out as usize * v + ivc.out_vc as usize];
                    format!(
                        "holds {} vc{} with {} credits",
                        torus.port_name(ivc.out as usize, injectors, false),
                        ivc.out_vc,
                        o.credits
                    )
                }
            };
            lines.push(format!(
                "router {} in {} vc{}: {} flits, head of packet {}:{} to {}; {}",
                torus.describe_node(self.node as usize),
                torus.port_name(i / v, injectors, true),
                i % v,
                ivc.len(),
                f.src(),
                f.seq(),
                torus.describe_node(f.dest as usize),
                wants
            ));
        }
        lines
    }
}

#[cfg(test)]
pub(super) mod tests {
    //! Shared fixtures for the router's unit tests.
    use super::*;
    use crate::config::load_str;

    /// A 4x4 torus with 4 VCs of 8 flits per port.
    fn params() -> Params {
        let text = "[topology]\nshape = [4, 4]\n[router]\nvirtual_channels = 4\nbuffer_flits = 8\n";
        load_str(text, None, &[]).unwrap().1
    }

    pub(crate) fn spec() -> RouterSpec {
        RouterSpec::new(&params())
    }

    pub(crate) fn routing() -> Routing {
        let p = params();
        Routing::new(&p, &Torus::from_params(&p), 1)
    }

    #[test]
    fn fixture_has_the_shape_the_tests_assume() {
        let s = spec();
        assert_eq!((s.np, s.vcs, s.buffer, s.p_in, s.p_out), (4, 4, 8, 5, 5));
    }
}
