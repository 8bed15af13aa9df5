//! One partition: a set of routers and endpoints advanced together by one thread.

use super::component::{ComponentId, Kind, RouterModel};
use super::credits::{Credit, CreditWheel};
use super::inbox::{Body, Inbox};
use super::wheel::Wheel;
use super::{Endpoint, EndpointCtx};
use crate::config::spec::NicSpec;
use crate::core::flit::Flit;
use crate::core::message::Msg;
use crate::stats::Stats;

const REMOTE: u32 = u32::MAX;

/// Read-only model data shared by every partition.
pub struct Shared<R: RouterModel> {
    /// What the routers share (their specification and routing).
    pub router: R::Shared,
    pub nspec: NicSpec,
    pub window: (u64, u64),
    pub record_ids: bool,
    /// Zeroed per-channel statistics of the whole network, when they are collected.
    pub channels: Option<crate::stats::ChannelStats>,
    /// Which packets and operations to trace, if any.
    pub trace: Option<crate::stats::trace::TraceSpec>,
    /// Smallest delay of any message between routers: the synchronisation window.
    pub lookahead: u64,
}

pub struct Partition<E: Endpoint, R: RouterModel> {
    nodes: Vec<u32>,
    local: Vec<u32>,
    routers: Vec<R>,
    endpoints: Vec<E>,
    /// Last cycle each component ran, by [`ComponentId::index`].
    last_run: Vec<u64>,
    wheel: Wheel,
    /// Credits on their way to this partition's routers (see `super::credits`).
    credits: CreditWheel,
    /// Flits and adapter messages on their way here (see `super::inbox`).
    inbox: Inbox,
    /// The messages and body flits arriving in the current cycle.
    arriving: Vec<Msg>,
    arriving_bodies: Vec<Body>,
    msgs: Vec<Msg>,
    /// Messages for other partitions, delivered when the window closes.
    pub outbox: Vec<Msg>,
    due: Vec<ComponentId>,
    due_order: super::due::DueOrder,
    scratch: R::Scratch,
    delivered: Vec<(u64, Flit)>,
    pub stats: Stats,
}

impl<E: Endpoint, R: RouterModel> Partition<E, R> {
    /// A partition owning `nodes` (global ids) out of `total`.
    pub fn new(
        nodes: Vec<u32>,
        total: usize,
        sh: &Shared<R>,
        mut make: impl FnMut(usize) -> E,
    ) -> Self {
        let mut local = vec![REMOTE; total];
        for (i, &g) in nodes.iter().enumerate() {
            local[g as usize] = i as u32;
        }
        let routers = nodes
            .iter()
            .map(|&g| R::new(g as usize, &sh.router))
            .collect();
        let endpoints: Vec<E> = nodes.iter().map(|&g| make(g as usize)).collect();
        let span = R::max_delay(&sh.router) + sh.nspec.ejection_latency + 4;
        // Longer delays than the wheel's buckets cover go to its heap, so its memory
        // stays bounded whatever the configured delays.
        let mut wheel = Wheel::new(span.min(super::wheel::MAX_BUCKETS));
        for (i, e) in endpoints.iter().enumerate() {
            if let Some(t) = e.first_wake() {
                wheel.schedule(t, ComponentId::endpoint(i as u32));
            }
        }
        Partition {
            credits: CreditWheel::new(span.min(super::wheel::MAX_BUCKETS)),
            inbox: Inbox::new(span.min(super::wheel::MAX_BUCKETS)),
            arriving: Vec::new(),
            arriving_bodies: Vec::new(),
            last_run: vec![u64::MAX; ComponentId::slots(nodes.len())],
            due_order: super::due::DueOrder::new(ComponentId::slots(nodes.len())),
            nodes,
            local,
            routers,
            endpoints,
            wheel,
            msgs: Vec::new(),
            outbox: Vec::new(),
            due: Vec::new(),
            scratch: R::Scratch::default(),
            delivered: Vec::new(),
            stats: Stats::default(),
        }
    }

    pub fn now(&self) -> u64 {
        self.wheel.now()
    }

    /// The earliest cycle this partition has work, if any.
    pub fn next_event(&self) -> Option<u64> {
        match (self.wheel.next_event(), self.inbox.next_arrival(self.now())) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Takes a message for a component of this partition: a credit into the credit
    /// buckets, anything else into the inbox until its arrival cycle.
    pub fn deliver(&mut self, m: Msg) {
        let l = self.local[m.node() as usize];
        debug_assert_ne!(l, REMOTE);
        match m {
            Msg::Credit {
                at, port, vc, tail, ..
            } => self.credits.push(
                at,
                Credit {
                    local: l,
                    port,
                    vc,
                    tail,
                },
            ),
            _ => self.inbox.push(self.wheel.now(), m),
        }
    }

    /// Hands a message that arrives in the current cycle to its component.
    #[inline]
    fn arrive(&mut self, m: Msg, sh: &Shared<R>) {
        let l = self.local[m.node() as usize];
        debug_assert_ne!(l, REMOTE);
        let li = l as usize;
        match m {
            Msg::Flit {
                at, port, vc, flit, ..
            } => {
                let wake =
                    self.routers[li].accept_flit(&sh.router, port as usize, vc as usize, at, flit);
                self.wheel.schedule(wake, ComponentId::router(l));
            }
            Msg::Credit { .. } => unreachable!("credits go to the credit buckets"),
            Msg::Eject {
                at, port, vc, flit, ..
            } => {
                self.endpoints[li].accept_flit(at, port as usize, vc as usize, flit);
                self.wheel.schedule(at, ComponentId::endpoint(l));
            }
            Msg::InjectCredit { at, port, vc, .. } => {
                if self.endpoints[li].accept_credit(at, port as usize, vc as usize) {
                    self.wheel.schedule(at, ComponentId::endpoint(l));
                }
            }
        }
    }

    /// Hands a body flit that arrives in cycle `t` to its router.
    #[inline]
    fn arrive_body(&mut self, b: Body, t: u64, sh: &Shared<R>) {
        let l = self.local[b.node as usize];
        debug_assert_ne!(l, REMOTE);
        let wake = self.routers[l as usize].accept_body(
            &sh.router,
            b.port as usize,
            b.vc as usize,
            t,
            b.index,
            b.len,
        );
        self.wheel.schedule(wake, ComponentId::router(l));
    }

    fn dispatch(&mut self) {
        let mut msgs = std::mem::take(&mut self.msgs);
        for m in msgs.drain(..) {
            if self.local[m.node() as usize] == REMOTE {
                self.outbox.push(m);
            } else {
                self.deliver(m);
            }
        }
        self.msgs = msgs;
    }

    /// Hands every credit that has arrived by cycle `t` to its router.
    fn apply_credits(&mut self, t: u64, sh: &Shared<R>) {
        let routers = &mut self.routers;
        self.credits.apply_through(t, |c| {
            routers[c.local as usize].apply_credit(
                &sh.router,
                c.port as usize,
                c.vc as usize,
                c.tail,
            )
        });
    }

    /// Runs every cycle before `end`, skipping cycles where nothing is scheduled.
    pub fn run_until(&mut self, end: u64, sh: &Shared<R>) {
        while self.wheel.now() < end {
            let t = self.wheel.now();
            if !self.wheel.has_near() && !self.inbox.has_near() {
                match self.next_event() {
                    Some(n) if n < end => {
                        if n > t {
                            self.wheel.advance_to(n);
                            continue;
                        }
                    }
                    _ => {
                        self.wheel.advance_to(end);
                        break;
                    }
                }
            }
            self.apply_credits(t, sh);
            let mut arriving = std::mem::take(&mut self.arriving);
            let mut bodies = std::mem::take(&mut self.arriving_bodies);
            self.inbox.take(t, &mut arriving, &mut bodies);
            for m in arriving.drain(..) {
                self.arrive(m, sh);
            }
            for b in bodies.drain(..) {
                self.arrive_body(b, t, sh);
            }
            self.arriving = arriving;
            self.arriving_bodies = bodies;
            self.due.clear();
            self.wheel.take_due(&mut self.due);
            // In memory order (see `super::due`): on large networks the router state no longer fits in
            // the caches, and visiting the due components in address order lets the
            // hardware prefetch instead of missing on every component. The order
            // within a cycle changes nothing else: every message arrives a cycle or
            // more later, and each queue has a single sender.
            self.due_order.order(&mut self.due);
            for k in 0..self.due.len() {
                let c = self.due[k];
                if self.last_run[c.index()] == t {
                    continue;
                }
                self.last_run[c.index()] = t;
                self.stats.events += 1;
                let l = c.local();
                if c.kind() == Kind::Router {
                    let work =
                        self.routers[l].step(t, &sh.router, &mut self.msgs, &mut self.scratch);
                    if work {
                        self.wheel.schedule(t + 1, c);
                    }
                } else {
                    let mut cx = EndpointCtx {
                        nic: &sh.nspec,
                        out: &mut self.msgs,
                        stats: &mut self.stats,
                        delivered: &mut self.delivered,
                        window: sh.window,
                        record_ids: sh.record_ids,
                    };
                    if let Some(next) = self.endpoints[l].step(t, &mut cx) {
                        self.wheel.schedule(next, c);
                    }
                }
                // After each component rather than once per cycle: the messages of a
                // whole cycle of a large network would leave the caches before being
                // sorted into the inbox (measured: a third more cache misses).
                self.dispatch();
            }
            self.wheel.advance_to(t + 1);
        }
        // Credits due inside the window are applied now, so a report on the routers'
        // state (a deadlock, the end of a run) sees them.
        self.apply_credits(end.saturating_sub(1), sh);
        R::record_counters(&self.scratch, &mut self.stats);
    }

    /// This partition's counters with the flits of each of its links filled in
    /// (`total` nodes, `np` network ports each).
    pub fn stats_with_links(&self, total: usize, np: usize, sh: &Shared<R>) -> Stats {
        let mut s = self.stats.clone();
        if let Some(template) = &sh.channels {
            let mut c = template.clone();
            for (r, e) in self.routers.iter().zip(&self.endpoints) {
                r.record_channels(&mut c);
                e.record_channels(&mut c);
            }
            s.channels = Some(c);
        }
        if let Some(spec) = sh.trace {
            let mut t = crate::stats::trace::TraceData::new(spec);
            for (r, e) in self.routers.iter().zip(&self.endpoints) {
                r.record_trace(&mut t);
                e.record_trace(&mut t);
            }
            let mut merged = crate::stats::trace::TraceData::new(spec);
            merged.merge(&t);
            s.trace = Some(merged);
        }
        s.link_flits = vec![0; total * np];
        for (&g, r) in self.nodes.iter().zip(&self.routers) {
            let base = g as usize * np;
            r.record_link_flits(&mut s.link_flits[base..base + np]);
        }
        s
    }

    /// Stops traffic creation at every endpoint from the current cycle on.
    pub fn stop_traffic(&mut self) {
        let t = self.now();
        for e in &mut self.endpoints {
            self.stats.packets_abandoned += e.stop(t);
        }
    }

    /// Packets injected here minus packets delivered here; summed over partitions this is
    /// the number in flight.
    pub fn flow_balance(&self) -> i64 {
        self.stats.packets_injected as i64 - self.stats.packets_delivered as i64
    }

    /// Packets each owned node injected, for the exactly-once check.
    pub fn injected_per_node(&self) -> Vec<(u32, u64)> {
        self.nodes
            .iter()
            .zip(&self.endpoints)
            .map(|(&g, e)| (g, e.injected()))
            .collect()
    }

    /// Endpoints whose work is not complete.
    pub fn unfinished(&self) -> i64 {
        self.endpoints.iter().filter(|e| !e.done()).count() as i64
    }

    /// What blocked endpoints wait for.
    pub fn waits(&self) -> Vec<String> {
        self.endpoints
            .iter()
            .filter_map(|e| e.describe_wait())
            .collect()
    }

    /// Every (node, mark id, cycle) recorded here, and the latest program end.
    pub fn marks(&self) -> (Vec<(u32, u16, u64)>, u64) {
        let mut v = Vec::new();
        let mut end = 0;
        for (&g, e) in self.nodes.iter().zip(&self.endpoints) {
            v.extend(e.marks().iter().map(|&(id, t)| (g, id, t)));
            end = end.max(e.finished_at().unwrap_or(0));
        }
        (v, end)
    }

    /// The symmetric variables of every endpoint here that has any, by global node.
    pub fn variables(&self) -> Vec<(u32, Vec<u64>)> {
        self.nodes
            .iter()
            .zip(&self.endpoints)
            .filter(|(_, e)| !e.variables().is_empty())
            .map(|(&g, e)| (g, e.variables().to_vec()))
            .collect()
    }

    /// Every (node, op index, element, value) the endpoints here produced.
    pub fn values(&self) -> Vec<(u32, u32, u32, u64)> {
        let mut v = Vec::new();
        for (&g, e) in self.nodes.iter().zip(&self.endpoints) {
            v.extend(e.values().into_iter().map(|(pc, i, x)| (g, pc, i, x)));
        }
        v
    }

    pub fn describe_stuck(&self, sh: &Shared<R>, injectors: usize) -> Vec<String> {
        self.routers
            .iter()
            .flat_map(|r| r.describe_stuck(&sh.router, injectors))
            .collect()
    }
}
