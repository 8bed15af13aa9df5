//! One partition: a set of routers and endpoints advanced together by one thread.

use super::wheel::Wheel;
use super::{Endpoint, EndpointCtx};
use crate::config::spec::NicSpec;
use crate::core::flit::Flit;
use crate::core::message::Msg;
use crate::router::{Router, RouterCounters, RouterSpec, Scratch};
use crate::routing::Routing;
use crate::stats::Stats;

const REMOTE: u32 = u32::MAX;

/// Read-only model data shared by every partition.
pub struct Shared {
    pub routing: Routing,
    pub rspec: RouterSpec,
    pub nspec: NicSpec,
    pub window: (u64, u64),
    pub record_ids: bool,
    /// Smallest delay of any message between routers: the synchronisation window.
    pub lookahead: u64,
}

pub struct Partition<E: Endpoint> {
    nodes: Vec<u32>,
    local: Vec<u32>,
    routers: Vec<Router>,
    endpoints: Vec<E>,
    last_run: Vec<u64>,
    wheel: Wheel,
    msgs: Vec<Msg>,
    /// Messages for other partitions, delivered when the window closes.
    pub outbox: Vec<Msg>,
    due: Vec<u32>,
    scratch: Scratch,
    delivered: Vec<(u64, Flit)>,
    pub stats: Stats,
    counters: RouterCounters,
}

impl<E: Endpoint> Partition<E> {
    /// A partition owning `nodes` (global ids) out of `total`.
    pub fn new(
        nodes: Vec<u32>,
        total: usize,
        sh: &Shared,
        mut make: impl FnMut(usize) -> E,
    ) -> Self {
        let mut local = vec![REMOTE; total];
        for (i, &g) in nodes.iter().enumerate() {
            local[g as usize] = i as u32;
        }
        let routers = nodes
            .iter()
            .map(|&g| Router::new(g as usize, &sh.rspec))
            .collect();
        let endpoints: Vec<E> = nodes.iter().map(|&g| make(g as usize)).collect();
        let span = sh
            .rspec
            .to_next_router
            .max(sh.rspec.to_ejector)
            .max(sh.rspec.credit_latency)
            .max(sh.rspec.injection_latency)
            + sh.nspec.ejection_latency
            + 4;
        let mut wheel = Wheel::new(span);
        for (i, e) in endpoints.iter().enumerate() {
            if let Some(t) = e.first_wake() {
                wheel.schedule(t, 2 * i as u32 + 1);
            }
        }
        Partition {
            last_run: vec![u64::MAX; 2 * nodes.len()],
            nodes,
            local,
            routers,
            endpoints,
            wheel,
            msgs: Vec::new(),
            outbox: Vec::new(),
            due: Vec::new(),
            scratch: Scratch::default(),
            delivered: Vec::new(),
            stats: Stats::default(),
            counters: RouterCounters::default(),
        }
    }

    pub fn now(&self) -> u64 {
        self.wheel.now()
    }

    /// The earliest cycle this partition has work, if any.
    pub fn next_event(&self) -> Option<u64> {
        self.wheel.next_event()
    }

    /// Delivers a message for a component of this partition.
    pub fn deliver(&mut self, m: Msg, sh: &Shared) {
        let l = self.local[m.node() as usize];
        debug_assert_ne!(l, REMOTE);
        let l = l as usize;
        match m {
            Msg::Flit {
                at, port, vc, flit, ..
            } => {
                let wake = self.routers[l].accept_flit(
                    &sh.rspec,
                    &sh.routing,
                    port as usize,
                    vc as usize,
                    at,
                    flit,
                );
                self.wheel.schedule(wake, 2 * l as u32);
            }
            Msg::Credit { at, port, vc, .. } => {
                self.routers[l].accept_credit(port as usize, vc as usize, at)
            }
            Msg::Eject {
                at, port, vc, flit, ..
            } => {
                self.endpoints[l].accept_flit(at, port as usize, vc as usize, flit);
                self.wheel.schedule(at, 2 * l as u32 + 1);
            }
            Msg::InjectCredit { at, port, vc, .. } => {
                self.endpoints[l].accept_credit(at, port as usize, vc as usize)
            }
        }
    }

    fn dispatch(&mut self, sh: &Shared) {
        let mut msgs = std::mem::take(&mut self.msgs);
        for m in msgs.drain(..) {
            if self.local[m.node() as usize] == REMOTE {
                self.outbox.push(m);
            } else {
                self.deliver(m, sh);
            }
        }
        self.msgs = msgs;
    }

    /// Runs every cycle before `end`, skipping cycles where nothing is scheduled.
    pub fn run_until(&mut self, end: u64, sh: &Shared) {
        while self.wheel.now() < end {
            let t = self.wheel.now();
            if !self.wheel.has_near() {
                match self.wheel.next_event() {
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
            self.due.clear();
            self.wheel.take_due(&mut self.due);
            for k in 0..self.due.len() {
                let c = self.due[k];
                if self.last_run[c as usize] == t {
                    continue;
                }
                self.last_run[c as usize] = t;
                self.stats.events += 1;
                let l = (c / 2) as usize;
                if c.is_multiple_of(2) {
                    let work = self.routers[l].step(
                        t,
                        &sh.rspec,
                        &sh.routing,
                        &mut self.msgs,
                        &mut self.scratch,
                        &mut self.counters,
                    );
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
                self.dispatch(sh);
            }
            self.wheel.advance_to(t + 1);
        }
        let c = &self.counters;
        self.stats.flit_hops = c.flit_hops;
        self.stats.adaptive_hops = c.adaptive_hops;
        self.stats.escape_hops = c.escape_hops;
        self.stats.first_step_hops = c.first_step_hops;
        self.stats.last_step_hops = c.last_step_hops;
        self.stats.timeouts = c.timeouts;
        self.stats.rerouted_packets = c.rerouted_packets;
    }

    /// This partition's counters with the flits of each of its links filled in
    /// (`total` nodes, `np` network ports each).
    pub fn stats_with_links(&self, total: usize, np: usize) -> Stats {
        let mut s = self.stats.clone();
        s.link_flits = vec![0; total * np];
        for (&g, r) in self.nodes.iter().zip(&self.routers) {
            let base = g as usize * np;
            s.link_flits[base..base + np].copy_from_slice(r.link_flits());
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
    pub fn injected_per_node(&self) -> Vec<(u32, u32)> {
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

    pub fn describe_stuck(&self, sh: &Shared, injectors: usize) -> Vec<String> {
        self.routers
            .iter()
            .flat_map(|r| r.describe_stuck(&sh.rspec, sh.routing.torus(), injectors))
            .collect()
    }
}
