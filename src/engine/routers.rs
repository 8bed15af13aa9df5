//! The cycle-accurate router (`crate::router`) as an engine component: the one file of
//! the engine that names router types.

use super::Endpoint;
use super::comm::{Comm, LocalComm};
use super::component::RouterModel;
use super::partition::Shared;
use super::sim::{Engine, RunOptions};
use crate::config::Params;
use crate::config::spec::NicSpec;
use crate::core::flit::Flit;
use crate::core::message::Msg;
use crate::router::{Router, RouterCounters, RouterSpec, Scratch};
use crate::routing::Routing;
use crate::stats::Stats;
use crate::topology::Torus;

/// What every router of a run shares.
pub struct RouterShared {
    pub routing: Routing,
    pub spec: RouterSpec,
}

/// A partition's scratch space and counters for its routers.
#[derive(Default)]
pub struct RouterScratch {
    scratch: Scratch,
    counters: RouterCounters,
}

impl RouterModel for Router {
    type Shared = RouterShared;
    type Scratch = RouterScratch;

    #[inline]
    fn new(node: usize, sh: &RouterShared) -> Router {
        Router::new(node, &sh.spec)
    }

    #[inline]
    fn accept_flit(
        &mut self,
        sh: &RouterShared,
        port: usize,
        vc: usize,
        at: u64,
        flit: Flit,
    ) -> u64 {
        Router::accept_flit(self, &sh.spec, &sh.routing, port, vc, at, flit)
    }

    #[inline]
    fn accept_body(
        &mut self,
        sh: &RouterShared,
        port: usize,
        vc: usize,
        at: u64,
        index: u16,
        len: u16,
    ) -> u64 {
        Router::accept_body(self, &sh.spec, port, vc, at, index, len)
    }

    #[inline]
    fn apply_credit(&mut self, sh: &RouterShared, port: usize, vc: usize, tail: bool) {
        Router::apply_credit(self, &sh.spec, port, vc, tail)
    }

    #[inline]
    fn step(
        &mut self,
        t: u64,
        sh: &RouterShared,
        out: &mut Vec<Msg>,
        scratch: &mut RouterScratch,
    ) -> bool {
        Router::step(
            self,
            t,
            &sh.spec,
            &sh.routing,
            out,
            &mut scratch.scratch,
            &mut scratch.counters,
        )
    }

    fn record_link_flits(&self, out: &mut [u64]) {
        Router::record_link_flits(self, out)
    }

    fn record_channels(&self, s: &mut crate::stats::ChannelStats) {
        Router::record_channels(self, s)
    }

    fn record_trace(&self, t: &mut crate::stats::trace::TraceData) {
        Router::record_trace(self, t)
    }

    fn describe_stuck(&self, sh: &RouterShared, injectors: usize) -> Vec<String> {
        Router::describe_stuck(self, &sh.spec, sh.routing.torus(), injectors)
    }

    fn record_counters(scratch: &RouterScratch, s: &mut Stats) {
        s.router = scratch.counters;
    }

    fn lookahead(sh: &RouterShared) -> u64 {
        sh.spec.to_next_router.min(sh.spec.credit_latency)
    }

    fn max_delay(sh: &RouterShared) -> u64 {
        let s = &sh.spec;
        s.to_next_router
            .max(s.to_ejector)
            .max(s.credit_latency)
            .max(s.injection_latency)
    }
}

impl<E: Endpoint> Engine<E, Router> {
    /// A single-process engine.
    pub fn new(
        p: &Params,
        classes: usize,
        opts: &RunOptions,
        make: impl FnMut(usize, &Torus, &NicSpec) -> E,
    ) -> Self {
        Self::with_comm(p, classes, opts, Box::new(LocalComm), make)
    }

    /// An engine that runs this rank's share of `opts.partitions` partitions, with the
    /// routing built from `p` (which must need no fallible table generation).
    pub fn with_comm(
        p: &Params,
        classes: usize,
        opts: &RunOptions,
        comm: Box<dyn Comm>,
        make: impl FnMut(usize, &Torus, &NicSpec) -> E,
    ) -> Self {
        let routing = Routing::new(p, &Torus::from_params(p), classes);
        Self::with_routing(p, routing, opts, comm, make)
    }

    /// An engine on a routing built (and checked) by the caller; its message classes
    /// are the routing's.
    pub fn with_routing(
        p: &Params,
        routing: Routing,
        opts: &RunOptions,
        comm: Box<dyn Comm>,
        make: impl FnMut(usize, &Torus, &NicSpec) -> E,
    ) -> Self {
        let torus = routing.torus().clone();
        let classes = routing.network().classes as usize;
        let mut spec = RouterSpec::new(p);
        let mut nspec = NicSpec::new(p, classes);
        let window = opts.link_stats.then_some(opts.channel_window);
        spec.channel_window = window;
        nspec.channel_window = window;
        spec.trace = opts.trace;
        nspec.trace = opts.trace;
        let channels = window.map(|w| {
            crate::stats::ChannelStats::new(torus.nodes(), spec.np, spec.p_in * spec.vcs, w)
        });
        let router = RouterShared { routing, spec };
        let sh = Shared {
            lookahead: Router::lookahead(&router),
            router,
            nspec,
            channels,
            trace: opts.trace,
            window: (p.warmup_cycles, p.warmup_cycles + p.measure_cycles),
            record_ids: opts.check,
        };
        Engine::build(torus, sh, opts, comm, make)
    }
}
