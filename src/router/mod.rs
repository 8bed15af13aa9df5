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

pub mod arbiter;

use crate::config::Params;
use crate::config::params::LinkRate;
use crate::config::schema::{AllocatorKind, ArbiterKind, FlowControl, Selection, TimeoutAction};
use crate::core::flit::Flit;
use crate::core::limits::MAX_INPUT_VCS;
use crate::core::message::Msg;
use crate::routing::{Route, Routing, kind};
use crate::topology::Torus;
use arbiter::{Request, pick};
use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::collections::VecDeque;

const NONE: u32 = u32::MAX;

/// Set of non-empty input VCs, so a router update visits only VCs holding flits.
#[derive(Clone, Copy, Debug, Default)]
struct VcSet([u64; MAX_INPUT_VCS / 64]);

impl VcSet {
    #[inline]
    fn insert(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    #[inline]
    fn remove(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
    /// Calls `f` on every member in increasing order.
    #[inline]
    fn for_each(&self, mut f: impl FnMut(usize)) {
        for (wi, &w) in self.0.iter().enumerate() {
            let mut w = w;
            while w != 0 {
                let b = w.trailing_zeros() as usize;
                f(wi * 64 + b);
                w &= w - 1;
            }
        }
    }
}

/// Whether the link behind output `port` has bandwidth for a flit in cycle `t`: rates
/// below one flit per cycle accumulate exactly, as a fraction `num / den` per cycle.
/// The bucket holds less than two flits' worth (`den + num - 1`): an idle link cannot
/// save up a burst, but a busy one never loses the fraction of a cycle it has earned.
#[inline]
fn link_ready(spec: &RouterSpec, p: &OutPort, port: usize, t: u64) -> bool {
    match spec.link_rate {
        Some(r) if port < spec.np => {
            (p.tokens + (t - p.last) * r.num).min(r.den + r.num - 1) >= r.den
        }
        _ => true,
    }
}

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
            vcs: p.vcs,
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
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// No packet at the front, or its head has not been looked at yet.
    Idle,
    /// Routed; waiting for an output VC from cycle `ready`.
    WaitVc,
    /// Holds output VC (`out`, `out_vc`); flits request the switch from cycle `ready`.
    Active,
}

#[derive(Clone, Debug)]
struct InputVc {
    buf: VecDeque<(u64, Flit)>,
    /// Arrival cycle of the front flit (`u64::MAX` when empty).
    front_at: u64,
    stage: Stage,
    ready: u64,
    out: u16,
    out_vc: u16,
    /// The candidate this VC requested with in the current cycle.
    pick: u8,
    /// Route header and class the packet's flits leave with (from the granted
    /// candidate; the class changes only when a timeout moved the packet to another
    /// virtual subnetwork).
    header_out: u16,
    class_out: u8,
    /// The head's timeout has fired at this router.
    timed_out: bool,
}

#[derive(Clone, Debug)]
struct OutputVc {
    credits: u32,
    owner: u32,
    rr: u16,
    /// Bubble flow control: packet slots taken downstream, the lengths of those packets
    /// in order, and the credits returned so far toward the oldest. The downstream VC
    /// is a FIFO, so flit credits tell when each packet has left it.
    slots_used: u32,
    downstream: VecDeque<u16>,
    credited: u32,
}

#[derive(Clone, Debug, Default)]
struct OutPort {
    credit_q: VecDeque<(u64, u16)>,
    rr: u16,
    tokens: u64,
    last: u64,
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

/// Counters a router adds to while it works.
#[derive(Default, Debug, Clone, Copy)]
pub struct RouterCounters {
    pub flit_hops: u64,
    /// Packet hops (head flits granted a network VC) by kind.
    pub adaptive_hops: u64,
    pub escape_hops: u64,
    pub first_step_hops: u64,
    pub last_step_hops: u64,
    /// Heads whose wait for a VC reached `router.timeout`, and those of them whose
    /// route the timeout changed.
    pub timeouts: u64,
    pub rerouted_packets: u64,
}

#[derive(Clone, Debug)]
pub struct Router {
    node: u32,
    inputs: Vec<InputVc>,
    outputs: Vec<OutputVc>,
    ports: Vec<OutPort>,
    in_rr: Vec<u16>,
    occupied: VcSet,
    /// Output ports with credits in their queue (bit per port).
    credit_ports: u64,
    /// Flits sent out of each network port (the load of each link direction).
    link_flits: Vec<u64>,
    /// The routing candidates of each input VC's head (beside `inputs`, so the fields
    /// the per-cycle pass reads stay in few cache lines).
    routes: Vec<Route>,
    rng: Xoshiro256PlusPlus,
}

impl Router {
    pub fn new(node: usize, spec: &RouterSpec) -> Router {
        let v = spec.vcs;
        let inputs = (0..spec.p_in * v)
            .map(|_| InputVc {
                buf: VecDeque::with_capacity(spec.buffer),
                front_at: u64::MAX,
                stage: Stage::Idle,
                ready: 0,
                out: 0,
                out_vc: 0,
                pick: 0,
                header_out: 0,
                class_out: 0,
                timed_out: false,
            })
            .collect();
        let outputs = (0..spec.p_out * v)
            .map(|i| OutputVc {
                credits: if i / v < spec.np {
                    spec.buffer as u32
                } else {
                    spec.ejection_buffer as u32
                },
                owner: NONE,
                rr: u16::MAX,
                slots_used: 0,
                downstream: VecDeque::new(),
                credited: 0,
            })
            .collect();
        let ports = (0..spec.p_out)
            .map(|_| OutPort {
                tokens: spec.link_rate.map(|r| r.den).unwrap_or(0),
                ..Default::default()
            })
            .collect();
        Router {
            node: node as u32,
            inputs,
            outputs,
            ports,
            in_rr: vec![u16::MAX; spec.p_in],
            occupied: VcSet::default(),
            credit_ports: 0,
            link_flits: vec![0; spec.np],
            routes: vec![Route::default(); spec.p_in * spec.vcs],
            rng: Xoshiro256PlusPlus::seed_from_u64(
                spec.seed ^ (node as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x726f_7574,
            ),
        }
    }

    /// Flits sent out of each network port so far.
    pub fn link_flits(&self) -> &[u64] {
        &self.link_flits
    }

    /// Routes the head at the front of input VC `i` (arrived through `port`).
    #[inline]
    fn route_head(
        ivc: &mut InputVc,
        route: &mut Route,
        routing: &Routing,
        node: usize,
        port: usize,
        head: &Flit,
    ) {
        routing.route(node, port, head, route);
        ivc.class_out = head.class;
        ivc.timed_out = false;
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
        debug_assert!(ivc.buf.len() < spec.buffer, "credit protocol violated");
        let wake = if ivc.buf.is_empty() && ivc.stage == Stage::Idle {
            debug_assert!(flit.is_head(), "body flit at the front of an idle VC");
            Self::route_head(
                ivc,
                &mut self.routes[i],
                routing,
                self.node as usize,
                port,
                &flit,
            );
            ivc.stage = Stage::WaitVc;
            ivc.ready = at + spec.va_ready;
            ivc.ready
        } else {
            at
        };
        if ivc.buf.is_empty() {
            ivc.front_at = at;
        }
        ivc.buf.push_back((at, flit));
        self.occupied.insert(i);
        wake
    }

    /// A credit arrives (at cycle `at`) for an output VC.
    #[inline]
    pub fn accept_credit(&mut self, port: usize, vc: usize, at: u64) {
        self.ports[port].credit_q.push_back((at, vc as u16));
        self.credit_ports |= 1 << port;
    }

    fn take_token(&mut self, spec: &RouterSpec, port: usize, t: u64) {
        if let Some(r) = spec.link_rate
            && port < spec.np
        {
            let p = &mut self.ports[port];
            p.tokens = (p.tokens + (t - p.last) * r.num).min(r.den + r.num - 1) - r.den;
            p.last = t;
        }
    }

    /// Whether input VC `i`, holding output VC (`out`, `out_vc`) from cycle `ready`,
    /// can request the switch for its front flit in cycle `t`.
    #[inline]
    fn switch_ready(&self, spec: &RouterSpec, i: usize, t: u64) -> bool {
        let ivc = &self.inputs[i];
        let op = ivc.out as usize;
        ivc.ready <= t
            && self.outputs[op * spec.vcs + ivc.out_vc as usize].credits > 0
            && link_ready(spec, &self.ports[op], op, t)
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
        // 1. Credits that have arrived (only ports with credits on their way).
        let mut pending = self.credit_ports;
        while pending != 0 {
            let p = pending.trailing_zeros() as usize;
            pending &= pending - 1;
            let port = &mut self.ports[p];
            while let Some(&(at, vc)) = port.credit_q.front() {
                if at > t {
                    break;
                }
                port.credit_q.pop_front();
                let ovc = &mut self.outputs[p * v + vc as usize];
                ovc.credits += 1;
                if spec.bubble_slots.is_some() && p < spec.np {
                    ovc.credited += 1;
                    while let Some(&len) = ovc.downstream.front() {
                        if ovc.credited < len as u32 {
                            break;
                        }
                        ovc.credited -= len as u32;
                        ovc.downstream.pop_front();
                        ovc.slots_used -= 1;
                    }
                }
            }
            if port.credit_q.is_empty() {
                self.credit_ports &= !(1 << p);
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
            // The arrival cycle of the front flit is cached in the VC, so VCs whose flit
            // is still on the link, and VCs streaming body flits, never touch the buffer.
            let ivc = &mut self.inputs[i];
            if ivc.front_at > t {
                return;
            }
            present += 1;
            let req = Request {
                idx: i as u16,
                age: if oldest_first {
                    let f = &ivc.buf.front().expect("occupied VCs hold flits").1;
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
                    }
                    return;
                }
                Stage::Idle => {
                    let head = &ivc.buf.front().expect("occupied").1;
                    debug_assert!(head.is_head(), "body flit at the front of an idle VC");
                    let head = *head;
                    Self::route_head(ivc, &mut self.routes[i], routing, node, i / v, &head);
                    ivc.stage = Stage::WaitVc;
                    ivc.ready = t + spec.va_ready;
                }
                Stage::WaitVc => {}
            }
            if ivc.ready > t {
                return;
            }
            if let Some(to) = spec.timeout
                && !ivc.timed_out
                && t >= ivc.ready + to
            {
                ivc.timed_out = true;
                cnt.timeouts += 1;
                let head = ivc.buf.front().expect("occupied VCs hold flits").1;
                match spec.timeout_action {
                    TimeoutAction::Escape => {
                        let r = &mut self.routes[i];
                        let s = r.as_slice();
                        if s.iter().any(|c| c.is_escape()) && s.iter().any(|c| !c.is_escape()) {
                            r.retain(|c| c.is_escape());
                            cnt.rerouted_packets += 1;
                        }
                    }
                    TimeoutAction::SwitchSubnetwork => {
                        if head.class + 1 < spec.subnetworks {
                            // A new packet of the next subnetwork from here: routed as if
                            // injected at this router, so it enters its rings afresh.
                            let f = Flit {
                                class: head.class + 1,
                                route: 0,
                                ..head
                            };
                            routing.route(node, spec.np, &f, &mut self.routes[i]);
                            ivc.class_out = f.class;
                            cnt.rerouted_packets += 1;
                        }
                    }
                }
            }
            let len = ivc.buf.front().expect("occupied VCs hold flits").1.len;
            let need = match spec.flow_control {
                FlowControl::VirtualCutThrough => len as u32,
                FlowControl::Wormhole => 1,
            };
            // Every usable (candidate, output VC): the VC of a candidate with the most
            // credits; then the selection policy picks among candidates. Escape
            // candidates are taken only when no other is usable.
            let mut best = NONE;
            let mut best_credits = 0;
            let mut best_pick = 0u8;
            let mut best_escape = true;
            let mut drawn = 0u32;
            let route = &self.routes[i];
            if let [c] = route.as_slice() {
                // One candidate (deterministic routing): its free VC with most credits.
                let room_for = match spec.bubble_slots {
                    Some(s) if (c.port_lo as usize) < spec.np => {
                        Some((s, 1 + c.enters_ring as u32))
                    }
                    _ => None,
                };
                for p in c.port_lo..c.port_lo + c.port_count {
                    for vc in c.vc_lo..c.vc_hi {
                        let o = p as usize * v + vc as usize;
                        let ovc = &self.outputs[o];
                        if ovc.owner == NONE
                            && ovc.credits >= need
                            && room_for.is_none_or(|(s, want)| s - ovc.slots_used >= want)
                            && (best == NONE || ovc.credits > best_credits)
                        {
                            best = o as u32;
                            best_credits = ovc.credits;
                        }
                    }
                }
                ivc.pick = 0;
                if best != NONE {
                    sc.va.push((best, req));
                }
                return;
            }
            for (ci, c) in route.as_slice().iter().enumerate() {
                let slots = match spec.bubble_slots {
                    Some(s) if (c.port_lo as usize) < spec.np => {
                        Some((s, 1 + c.enters_ring as u32))
                    }
                    _ => None,
                };
                let mut cbest = NONE;
                let mut ccredits = 0;
                for p in c.port_lo..c.port_lo + c.port_count {
                    for vc in c.vc_lo..c.vc_hi {
                        let o = p as usize * v + vc as usize;
                        let ovc = &self.outputs[o];
                        let room = slots.is_none_or(|(s, want)| s - ovc.slots_used >= want);
                        if ovc.owner == NONE
                            && ovc.credits >= need
                            && room
                            && (cbest == NONE || ovc.credits > ccredits)
                        {
                            cbest = o as u32;
                            ccredits = ovc.credits;
                        }
                    }
                }
                if cbest == NONE {
                    continue;
                }
                let esc = c.is_escape();
                let take = if best == NONE || (best_escape && !esc) {
                    drawn = 1;
                    true
                } else if esc && !best_escape {
                    false
                } else {
                    match spec.selection {
                        Selection::MostCredits => ccredits > best_credits,
                        Selection::First => false,
                        Selection::Random => {
                            // Reservoir sampling: each usable candidate of the
                            // preferred kind is kept with equal probability.
                            drawn += 1;
                            self.rng.next_u64().is_multiple_of(drawn as u64)
                        }
                    }
                };
                if take {
                    best = cbest;
                    best_credits = ccredits;
                    best_pick = ci as u8;
                    best_escape = esc;
                }
            }
            ivc.pick = best_pick;
            if best != NONE {
                sc.va.push((best, req));
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
                    let f = &self.inputs[i].buf.front().expect("winner holds a flit").1;
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
        if sc.sa.is_empty() {
            return present > 0;
        }
        // 4. Switch allocation and traversal of the winners.
        self.switch_allocate(spec, sc);
        for k in 0..sc.won.len() {
            let (i, op) = sc.won[k];
            let (i, op) = (i as usize, op as usize);
            let ivc = &mut self.inputs[i];
            let (_, mut f) = ivc.buf.pop_front().expect("a granted VC holds a flit");
            ivc.front_at = ivc.buf.front().map_or(u64::MAX, |x| x.0);
            if ivc.front_at == u64::MAX {
                self.occupied.remove(i);
            }
            if ivc.front_at > t {
                present -= 1;
            }
            f.route = ivc.header_out;
            f.class = ivc.class_out;
            let ovc_i = op * v + ivc.out_vc as usize;
            let out_vc = ivc.out_vc;
            if f.is_tail() {
                ivc.stage = Stage::Idle;
                self.outputs[ovc_i].owner = NONE;
                // The next packet's header is analysed while this tail leaves: route
                // computation is stateless, so it overlaps the previous packet's last
                // switch cycle instead of leaving a bubble between packets. Without
                // overlap the VC stays idle this cycle and routes the head next cycle.
                if let Some(&(at, next)) = ivc.buf.front()
                    && at <= t
                    && spec.overlap_route_computation
                {
                    Self::route_head(ivc, &mut self.routes[i], routing, node, i / v, &next);
                    ivc.stage = Stage::WaitVc;
                    ivc.ready = t + spec.va_ready;
                }
            }
            self.outputs[ovc_i].credits -= 1;
            self.take_token(spec, op, t);
            let (in_port, in_vc) = (i / v, (i % v) as u16);
            if in_port < spec.np {
                out.push(Msg::Credit {
                    at: t + spec.credit_latency,
                    node: routing.torus().neighbor(node, in_port ^ 1) as u32,
                    port: in_port as u16,
                    vc: in_vc,
                });
            } else {
                out.push(Msg::InjectCredit {
                    at: t + spec.injection_latency,
                    node: self.node,
                    port: (in_port - spec.np) as u16,
                    vc: in_vc,
                });
            }
            if op < spec.np {
                f.hops += 1;
                cnt.flit_hops += 1;
                self.link_flits[op] += 1;
                out.push(Msg::Flit {
                    at: t + spec.to_next_router,
                    node: routing.torus().neighbor(node, op) as u32,
                    port: op as u16,
                    vc: out_vc,
                    flit: f,
                });
            } else {
                out.push(Msg::Eject {
                    at: t + spec.to_ejector,
                    node: self.node,
                    port: (op - spec.np) as u16,
                    vc: out_vc,
                    flit: f,
                });
            }
        }
        present > 0
    }

    /// Separable VC allocation over `sc.va` (each input VC has already picked one
    /// output VC): one winner per output VC. Winners go to `sc.won`.
    fn vc_allocate(
        &mut self,
        t: u64,
        spec: &RouterSpec,
        sc: &mut Scratch,
        cnt: &mut RouterCounters,
    ) {
        let v = spec.vcs;
        let n_in = self.inputs.len() as u16;
        sc.won.clear();
        if sc.va.len() > 1 {
            sc.va.sort_unstable_by_key(|(o, r)| (*o, r.idx));
        }
        let mut s = 0;
        while s < sc.va.len() {
            let o = sc.va[s].0;
            let mut e = s;
            sc.tmp.clear();
            while e < sc.va.len() && sc.va[e].0 == o {
                sc.tmp.push(sc.va[e].1);
                e += 1;
            }
            let ovc = &mut self.outputs[o as usize];
            let w = if sc.tmp.len() == 1 {
                sc.tmp[0].idx
            } else {
                sc.tmp[pick(spec.arbiter, &sc.tmp, ovc.rr, n_in)].idx
            };
            ovc.rr = w;
            ovc.owner = w as u32;
            if spec.bubble_slots.is_some() && (o as usize / v) < spec.np {
                let len = self.inputs[w as usize].buf.front().expect("a head").1.len;
                ovc.slots_used += 1;
                ovc.downstream.push_back(len);
            }
            let ivc = &mut self.inputs[w as usize];
            let c = self.routes[w as usize].as_slice()[ivc.pick as usize];
            ivc.header_out = c.header;
            if (o as usize / v) < spec.np {
                let k = c.kind;
                cnt.adaptive_hops += (k & kind::ADAPTIVE != 0) as u64;
                cnt.escape_hops += (k & kind::ESCAPE != 0) as u64;
                cnt.first_step_hops += (k & kind::FIRST_STEP != 0) as u64;
                cnt.last_step_hops += (k & kind::LAST_STEP != 0) as u64;
            }
            ivc.stage = Stage::Active;
            ivc.out = (o as usize / v) as u16;
            ivc.out_vc = (o as usize % v) as u16;
            ivc.ready = t + spec.sa_after_va;
            sc.won.push((w, 0));
            s = e;
        }
    }

    /// Separable switch allocation over `sc.sa`; winners go to `sc.won` as
    /// (input VC index, output port).
    fn switch_allocate(&mut self, spec: &RouterSpec, sc: &mut Scratch) {
        let n_in = self.inputs.len() as u16;
        let v = spec.vcs as u16;
        sc.won.clear();
        // Requests are in input-VC order, hence grouped by input port.
        if spec.input_arbiter && spec.allocator == AllocatorKind::InputFirst {
            // Input stage: one VC per input port.
            sc.sa_in.clear();
            let mut s = 0;
            while s < sc.sa.len() {
                let port = sc.sa[s].0;
                let mut e = s;
                sc.tmp.clear();
                while e < sc.sa.len() && sc.sa[e].0 == port {
                    sc.tmp.push(sc.sa[e].2);
                    e += 1;
                }
                let w = pick(spec.arbiter, &sc.tmp, self.in_rr[port as usize], n_in);
                sc.sa_in.push(sc.sa[s + w]);
                s = e;
            }
            std::mem::swap(&mut sc.sa, &mut sc.sa_in);
        }
        // Output stage: one input per output port.
        if sc.sa.len() == 1 {
            // Uncontended (the common case below saturation): the request wins.
            let (_, o, r) = sc.sa[0];
            sc.won.push((r.idx, o));
        } else {
            sc.sa.sort_unstable_by_key(|(_, o, r)| (*o, r.idx));
            let mut s = 0;
            while s < sc.sa.len() {
                let o = sc.sa[s].1;
                let mut e = s;
                sc.tmp.clear();
                while e < sc.sa.len() && sc.sa[e].1 == o {
                    sc.tmp.push(sc.sa[e].2);
                    e += 1;
                }
                let port = &mut self.ports[o as usize];
                let w = sc.tmp[pick(spec.arbiter, &sc.tmp, port.rr, n_in)].idx;
                sc.won.push((w, o));
                s = e;
            }
        }
        if spec.input_arbiter && spec.allocator == AllocatorKind::OutputFirst {
            // Input stage after output grants: an input port accepts one grant.
            sc.won.sort_unstable_by_key(|&(i, _)| i);
            let won = std::mem::take(&mut sc.won);
            let mut s = 0;
            while s < won.len() {
                let port = won[s].0 / v;
                let mut e = s;
                sc.tmp.clear();
                while e < won.len() && won[e].0 / v == port {
                    let f = self.inputs[won[e].0 as usize]
                        .buf
                        .front()
                        .map(|x| x.1)
                        .unwrap_or_default();
                    sc.tmp.push(Request {
                        idx: won[e].0,
                        age: (f.created, f.packet),
                    });
                    e += 1;
                }
                let w = pick(spec.arbiter, &sc.tmp, self.in_rr[port as usize], n_in);
                sc.won.push(won[s + w]);
                s = e;
            }
        }
        // Commit arbiter pointers of the final winners.
        for &(i, o) in &sc.won {
            self.ports[o as usize].rr = i;
            if spec.input_arbiter {
                self.in_rr[(i / v) as usize] = i;
            }
        }
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
            let Some(&(_, f)) = ivc.buf.front() else {
                continue;
            };
            let wants = match ivc.stage {
                Stage::Idle => "not yet routed".to_string(),
                Stage::WaitVc => {
                    let mut s = String::from("waits for a VC:");
                    for c in self.routes[i].as_slice() {
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
                ivc.buf.len(),
                f.src(),
                f.packet & 0xffff_ffff,
                torus.describe_node(f.dest as usize),
                wants
            ));
        }
        lines
    }
}
