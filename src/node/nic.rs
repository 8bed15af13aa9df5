//! The network adapter: turns packet descriptors into flits on the injectors (with
//! credit flow control into the router's injector buffers), and takes flits from the
//! ejectors, returning their credits and reporting each packet whose tail arrives.
//!
//! Each message class has its own send queue, served in class order (responses before
//! requests), so a response is never stuck behind a request that waits for buffer
//! space: the adapter must not undo the separation of the virtual subnetworks.
//!
//! With a memory-side model ([`PcieLink`]) a received packet is written to memory over
//! PCIe and its buffer slots are freed only then, so ejection is limited by PCIe as on
//! the real machine; without one (synthetic traffic) the adapter sinks flits at once.

use super::adapter_counters::AdapterCounters;
use super::outgoing::Outgoing;
use super::pcie::PcieLink;
use crate::config::schema::FlowControl;
use crate::config::spec::{NicSpec, PcieSpec};
use crate::core::flit::{Flit, NodeTag, packet_id};
use crate::core::message::Msg;
use smallvec::{SmallVec, smallvec};
use std::collections::VecDeque;

/// A packet waiting at its source.
#[derive(Clone, Copy, Debug, Default)]
pub struct PacketDesc {
    pub dest: u32,
    pub len: u16,
    pub class: u8,
    pub created: u64,
    pub measured: bool,
    pub tag: NodeTag,
    pub payload: u16,
    /// First cycle the packet may be injected (its data has reached the adapter).
    pub ready: u64,
}

#[derive(Clone, Copy, Debug)]
struct Sending {
    desc: PacketDesc,
    vc: u16,
    next: u16,
    packet: u64,
    injected: u64,
}

/// The adapter. Its per-class and per-injector arrays are small and read on every
/// step, so they are kept inline ([`SmallVec`]) rather than each in an allocation of
/// its own: on a large network every separate allocation is one more cache miss per
/// adapter step.
#[derive(Clone, Debug)]
pub struct Nic {
    node: u32,
    queues: SmallVec<[VecDeque<Outgoing>; 2]>,
    /// Packets not yet started, over all queues.
    queued: u64,
    /// Per class: packets ever queued, and packets whose tail flit has left for the
    /// router. A program that must wait until a message is in the network compares them.
    accepted: SmallVec<[u64; 4]>,
    sent: SmallVec<[u64; 4]>,
    sending: SmallVec<[Option<Sending>; 1]>,
    credits: SmallVec<[u32; 8]>,
    credit_q: VecDeque<(u64, u16, u16)>,
    arrivals: VecDeque<(u64, u16, u16, Flit)>,
    next_seq: u64,
    /// Memory side of received packets; `None` sinks at once.
    sink: Option<PcieLink>,
    /// Packets written to memory, with the cycle they became visible there.
    written: VecDeque<(u64, Flit)>,
    /// Flits held in ejection buffers until their packet is written.
    held: Vec<(u16, u16)>,
    /// Work is blocked on injector credits: a credit's arrival must wake the adapter
    /// (set by [`Nic::next_wake`], which then leaves that work out of the wake-up).
    awaits_credit: bool,
    /// Per-channel statistics, only when requested.
    chan: Option<Box<AdapterCounters>>,
}

impl Nic {
    pub fn new(node: usize, spec: &NicSpec) -> Nic {
        Nic {
            node: node as u32,
            queues: smallvec![VecDeque::new(); spec.queues()],
            queued: 0,
            accepted: smallvec![0; spec.queues()],
            sent: smallvec![0; spec.queues()],
            sending: smallvec![None; spec.injectors],
            credits: smallvec![spec.buffer; spec.injectors * spec.vcs],
            credit_q: VecDeque::new(),
            arrivals: VecDeque::new(),
            next_seq: 0,
            sink: None,
            written: VecDeque::new(),
            held: Vec::new(),
            awaits_credit: false,
            chan: spec
                .channel_window
                .map(|w| Box::new(AdapterCounters::new(w))),
        }
    }

    /// Gives received packets a memory side: they are written over `pcie` before their
    /// buffer slots are freed.
    pub fn with_sink(mut self, pcie: PcieSpec) -> Nic {
        self.sink = Some(PcieLink::new(pcie));
        self
    }

    pub fn node(&self) -> u32 {
        self.node
    }

    /// Queues one packet.
    pub fn enqueue(&mut self, p: PacketDesc) {
        self.enqueue_message(p.class, Outgoing::single(p));
    }

    /// Queues the packets of a message on class `class`; they are made one at a time
    /// as they start.
    pub fn enqueue_message(&mut self, class: u8, m: Outgoing) {
        let created = m.peek().created;
        self.queued += m.left();
        self.accepted[class as usize] += m.left();
        self.queues[class as usize].push_back(m);
        if self.chan.is_some() {
            let q = self.queued();
            if let Some(c) = &mut self.chan {
                c.queue_changed(created, q as usize);
            }
        }
    }

    /// Copies this adapter's per-channel statistics (if collected) into `s`.
    pub fn record_channels(&self, s: &mut crate::stats::ChannelStats) {
        if let Some(c) = &self.chan {
            c.record(self.node as usize, s);
        }
    }

    /// Packets waiting to start, over all classes.
    pub fn queued(&self) -> u64 {
        self.queued
    }

    /// Packets of `class` ever queued (the last one queued is the `accepted(class)`-th).
    pub fn accepted(&self, class: u8) -> u64 {
        self.accepted[class as usize]
    }

    /// Packets of `class` whose tail flit has left the adapter into the router's
    /// injection port. When it equals [`Nic::accepted`], every packet queued on the
    /// class so far is in the network (with several injectors tails may leave out of
    /// queue order, so only that equality says a given message is wholly sent).
    pub fn sent(&self, class: u8) -> u64 {
        self.sent[class as usize]
    }

    /// Packets injected so far (their ids are `0 .. injected()` in the low word).
    pub fn injected(&self) -> u64 {
        self.next_seq
    }

    /// Drops packets that have not started; returns how many.
    pub fn abandon_queue(&mut self) -> u64 {
        let n = self.queued();
        self.queues.iter_mut().for_each(VecDeque::clear);
        self.queued = 0;
        n
    }

    pub fn accept_flit(&mut self, at: u64, port: usize, vc: usize, flit: Flit) {
        self.arrivals.push_back((at, port as u16, vc as u16, flit));
    }

    /// A credit for an injector VC; returns whether the adapter must run when it
    /// arrives (it has work waiting for a credit).
    pub fn accept_credit(&mut self, at: u64, port: usize, vc: usize) -> bool {
        self.credit_q.push_back((at, port as u16, vc as u16));
        self.awaits_credit
    }

    /// Writes `bytes` the adapter produced itself (a collective's result) to host
    /// memory from cycle `t`, behind the packets already being written; returns the
    /// cycle they are visible there (`t` without a memory side).
    pub fn write_to_host(&mut self, t: u64, bytes: u64) -> u64 {
        match &mut self.sink {
            Some(pcie) => pcie.transfer(t, bytes) + pcie.spec().latency,
            None => t,
        }
    }

    /// Whether the adapter still has something to inject.
    pub fn busy(&self) -> bool {
        self.queued() > 0 || self.sending.iter().any(Option::is_some)
    }

    /// The next cycle after `t` at which the adapter has work of its own (a packet to
    /// send, a write to memory completing); arrivals wake it by themselves, and so do
    /// credits while it waits for one (see [`Nic::accept_credit`]). Work blocked on
    /// credits is left out: polling it every cycle cost more than the rest of the
    /// adapter when the network is congested.
    pub fn next_wake(&mut self, t: u64, spec: &NicSpec) -> Option<u64> {
        let mut w = self.written.front().map(|&(at, _)| at.max(t + 1));
        let mut consider = |x: u64| w = Some(w.map_or(x, |y: u64| y.min(x)));
        let (mut idle, mut blocked) = (false, false);
        for (inj, s) in self.sending.iter().enumerate() {
            match s {
                // A flit goes next cycle if its VC has a credit; otherwise the credit's
                // arrival wakes the adapter (the partition schedules it then).
                Some(s) if self.credits[inj * spec.vcs + s.vc as usize] > 0 => consider(t + 1),
                Some(_) => blocked = true,
                None => idle = true,
            }
        }
        if idle {
            for q in &self.queues {
                if let Some(m) = q.front() {
                    let p = m.peek();
                    if p.ready > t + 1 {
                        consider(p.ready);
                    } else if self.can_start(&p, spec) {
                        consider(t + 1);
                    } else {
                        blocked = true;
                    }
                    // A ready head that no idle injector has credits for waits for a
                    // credit, whose arrival wakes the adapter.
                }
            }
        }
        // Credits delivered before the adapter blocked did not ask for a wake-up: the
        // earliest of them does now. Later ones ask for their own.
        if blocked && let Some(&(at, _, _)) = self.credit_q.front() {
            consider(at.max(t + 1));
        }
        self.awaits_credit = blocked;
        w
    }

    /// Whether some idle injector has the credits to start `p` now.
    fn can_start(&self, p: &PacketDesc, spec: &NicSpec) -> bool {
        let need = Self::credits_to_start(p, spec);
        let (lo, hi) = spec.class_range(p.class);
        self.sending.iter().enumerate().any(|(inj, s)| {
            s.is_none() && (lo..hi).any(|vc| self.credits[inj * spec.vcs + vc] >= need)
        })
    }

    fn credits_to_start(p: &PacketDesc, spec: &NicSpec) -> u32 {
        match spec.flow_control {
            FlowControl::VirtualCutThrough => p.len as u32,
            FlowControl::Wormhole => 1,
        }
    }

    /// One cycle: take credits and arrived flits, inject at most one flit per injector.
    /// Packets now in memory are appended to `delivered` with that cycle.
    /// Returns the number of packets whose head left in this cycle and the flits sent.
    pub fn step(
        &mut self,
        t: u64,
        spec: &NicSpec,
        out: &mut Vec<Msg>,
        delivered: &mut Vec<(u64, Flit)>,
    ) -> (u64, u64) {
        while let Some(&(at, port, vc)) = self.credit_q.front() {
            if at > t {
                break;
            }
            self.credit_q.pop_front();
            self.credits[port as usize * spec.vcs + vc as usize] += 1;
        }
        while let Some(&(at, port, vc, f)) = self.arrivals.front() {
            if at > t {
                break;
            }
            self.arrivals.pop_front();
            if let Some(c) = &mut self.chan {
                c.ejected(at);
            }
            let credit_port = (spec.np + port as usize) as u16;
            // Tree packets go to the collectives engine beside the ejector, not over
            // PCIe to memory: their slots free as they arrive.
            let sink = if spec.is_tree_class(f.class) {
                None
            } else {
                self.sink.as_mut()
            };
            match sink {
                None => {
                    // Sunk as it arrives: the slot is free at once.
                    out.push(Msg::Credit {
                        at: t + spec.ejection_latency,
                        node: self.node,
                        port: credit_port,
                        vc,
                        tail: f.is_tail(),
                    });
                    if f.is_tail() {
                        delivered.push((at, f));
                    }
                }
                Some(pcie) => {
                    self.held.push((credit_port, vc));
                    if f.is_tail() {
                        // The whole packet is written to memory; its slots free then.
                        let done = pcie.transfer(t, f.payload as u64);
                        let last = self.held.len() - 1;
                        for (k, (port, vc)) in self.held.drain(..).enumerate() {
                            out.push(Msg::Credit {
                                at: done.max(t) + spec.ejection_latency,
                                node: self.node,
                                port,
                                vc,
                                tail: k == last,
                            });
                        }
                        self.written.push_back((done + pcie.spec().latency, f));
                    }
                }
            }
        }
        while let Some(&(at, f)) = self.written.front() {
            if at > t {
                break;
            }
            self.written.pop_front();
            delivered.push((at, f));
        }
        let (mut heads, mut flits) = (0, 0);
        for inj in 0..self.sending.len() {
            if self.sending[inj].is_none() && !self.start_packet(inj, t, spec) {
                continue;
            }
            let s = self.sending[inj].as_mut().expect("a packet is being sent");
            let ci = inj * spec.vcs + s.vc as usize;
            if self.credits[ci] == 0 {
                continue;
            }
            self.credits[ci] -= 1;
            let d = s.desc;
            let flit = Flit {
                packet: s.packet,
                created: d.created,
                injected: s.injected,
                dest: d.dest,
                len: d.len,
                index: s.next,
                hops: 0,
                route: 0,
                class: d.class,
                measured: d.measured,
                tag: d.tag,
                payload: d.payload,
            };
            out.push(Msg::Flit {
                at: t + spec.injection_latency,
                node: self.node,
                port: (spec.np + inj) as u16,
                vc: s.vc,
                flit,
            });
            flits += 1;
            if let Some(c) = &mut self.chan {
                c.injected(t);
            }
            heads += (s.next == 0) as u64;
            s.next += 1;
            if s.next == d.len {
                self.sending[inj] = None;
                self.sent[d.class as usize] += 1;
            }
        }
        (heads, flits)
    }

    /// Takes the first ready packet (highest class first) that has room in one of the
    /// injector's VCs of its class; returns whether one was taken.
    fn start_packet(&mut self, inj: usize, t: u64, spec: &NicSpec) -> bool {
        for class in (0..self.queues.len()).rev() {
            let Some(desc) = self.queues[class].front().map(Outgoing::peek) else {
                continue;
            };
            if desc.ready > t {
                continue;
            }
            let need = Self::credits_to_start(&desc, spec);
            let (lo, hi) = spec.class_range(desc.class);
            let mut best: Option<(usize, u32)> = None;
            for vc in lo..hi {
                let c = self.credits[inj * spec.vcs + vc];
                if c >= need && best.is_none_or(|(_, bc)| c > bc) {
                    best = Some((vc, c));
                }
            }
            let Some((vc, _)) = best else { continue };
            let used_up = self.queues[class]
                .front_mut()
                .is_some_and(Outgoing::advance);
            if used_up {
                self.queues[class].pop_front();
            }
            self.queued -= 1;
            if self.chan.is_some() {
                let q = self.queued();
                if let Some(c) = &mut self.chan {
                    c.queue_changed(t, q as usize);
                }
            }
            let packet = packet_id(self.node, self.next_seq);
            self.next_seq += 1;
            self.sending[inj] = Some(Sending {
                desc,
                vc: vc as u16,
                next: 0,
                packet,
                injected: t,
            });
            return true;
        }
        false
    }
}
