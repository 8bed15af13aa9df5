//! Synthetic traffic endpoint: Bernoulli packet arrivals at the offered load, sent to
//! destinations drawn from a pattern, sunk at the destination.
//!
//! Arrivals are drawn as geometric gaps between packets rather than one coin flip per
//! cycle: the same Bernoulli process, but an idle endpoint sleeps until its next packet
//! instead of running every cycle.

use super::pattern::{DestinationPicker, unit_open0};
use crate::config::Params;
use crate::config::spec::NicSpec;
use crate::core::flit::Flit;
use crate::engine::{Endpoint, EndpointCtx, component_rng, record_delivery};
use crate::node::nic::{Nic, PacketDesc};
use crate::topology::Torus;
use rand_xoshiro::Xoshiro256PlusPlus;

pub struct SyntheticEndpoint {
    nic: Nic,
    node: usize,
    rng: Xoshiro256PlusPlus,
    picker: DestinationPicker,
    torus: Torus,
    /// ln(1 - p) for packet probability p per cycle; `None` when p is 0 or 1.
    ln_q: Option<f64>,
    p: f64,
    packet_flits: u16,
    next_gen: u64,
    gen_end: u64,
    /// Cycles from creation to the first cycle a packet may be injected.
    injection_delay: u64,
}

impl SyntheticEndpoint {
    /// `picker` is built once per run (see [`DestinationPicker::for_params`]) and
    /// cloned here: a random permutation is one table for the whole network, not a
    /// table per node.
    pub fn new(
        node: usize,
        p: &Params,
        torus: &Torus,
        nic: &NicSpec,
        picker: &DestinationPicker,
    ) -> Self {
        // A failed node's PE takes no part.
        let prob = if torus.node_alive(node) {
            (p.injection_rate / p.packet_flits as f64).min(1.0)
        } else {
            0.0
        };
        let mut e = SyntheticEndpoint {
            nic: Nic::new(node, nic),
            node,
            rng: component_rng(p.seed, node as u64, 1),
            picker: picker.clone(),
            torus: torus.clone(),
            ln_q: (prob > 0.0 && prob < 1.0).then(|| (1.0 - prob).ln()),
            p: prob,
            packet_flits: p.packet_flits as u16,
            next_gen: u64::MAX,
            gen_end: u64::MAX,
            injection_delay: p.injection_delay,
        };
        e.next_gen = e.gap().map(|g| g - 1).unwrap_or(u64::MAX);
        e
    }

    /// Cycles to the next packet (>= 1), geometric with parameter p.
    fn gap(&mut self) -> Option<u64> {
        if self.p <= 0.0 {
            return None;
        }
        Some(match self.ln_q {
            None => 1,
            Some(lq) => 1 + (unit_open0(&mut self.rng).ln() / lq).floor() as u64,
        })
    }
}

impl Endpoint for SyntheticEndpoint {
    fn accept_flit(&mut self, at: u64, port: usize, vc: usize, flit: Flit) {
        self.nic.accept_flit(at, port, vc, flit)
    }
    fn accept_credit(&mut self, at: u64, port: usize, vc: usize) -> bool {
        self.nic.accept_credit(at, port, vc)
    }
    fn injected(&self) -> u64 {
        self.nic.injected()
    }

    fn first_wake(&self) -> Option<u64> {
        (self.next_gen < self.gen_end).then_some(self.next_gen)
    }

    fn step(&mut self, t: u64, cx: &mut EndpointCtx) -> Option<u64> {
        while self.next_gen <= t && self.next_gen < self.gen_end {
            let created = self.next_gen;
            if let Some(dest) = self.picker.pick(&self.torus, self.node, &mut self.rng) {
                let measured = created >= cx.window.0 && created < cx.window.1;
                if measured {
                    cx.stats.measured_packets_created += 1;
                    cx.stats.measured_flits_created += self.packet_flits as u64;
                }
                self.nic.enqueue(PacketDesc {
                    dest: dest as u32,
                    len: self.packet_flits,
                    class: 0,
                    created,
                    measured,
                    ready: created.saturating_add(self.injection_delay),
                    ..Default::default()
                });
            }
            self.next_gen = match self.gap() {
                Some(g) => created + g,
                None => u64::MAX,
            };
        }
        let (heads, flits) = self.nic.step(t, cx.nic, cx.out, cx.delivered);
        cx.stats.packets_injected += heads;
        cx.stats.flits_injected += flits;
        for (at, f) in cx.delivered.drain(..) {
            record_delivery(cx.stats, at, &f, cx.window, cx.record_ids);
        }
        let generate = (self.next_gen < self.gen_end).then_some(self.next_gen);
        match (self.nic.next_wake(t, cx.nic), generate) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn record_channels(&self, s: &mut crate::stats::ChannelStats) {
        self.nic.record_channels(s)
    }

    fn stop(&mut self, t: u64) -> u64 {
        self.gen_end = t;
        self.nic.abandon_queue()
    }
}
