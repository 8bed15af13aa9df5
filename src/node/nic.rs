//! The network adapter: turns packet descriptors into flits on the injectors (with
//! credit flow control into the router's injector buffers), and takes flits from the
//! ejectors, returning their credits and reporting each packet whose tail arrives.

use crate::config::Params;
use crate::config::schema::FlowControl;
use crate::engine::message::Msg;
use crate::router::flit::Flit;
use std::collections::VecDeque;

/// A packet waiting at its source.
#[derive(Clone, Copy, Debug)]
pub struct PacketDesc {
    pub dest: u32,
    pub len: u16,
    pub class: u8,
    pub created: u64,
    pub measured: bool,
    pub tag: u32,
}

#[derive(Clone, Debug)]
pub struct NicSpec {
    pub np: usize,
    pub injectors: usize,
    pub vcs: usize,
    pub buffer: u32,
    pub injection_latency: u64,
    pub ejection_latency: u64,
    pub flow_control: FlowControl,
    pub classes: usize,
}

impl NicSpec {
    pub fn new(p: &Params, classes: usize) -> NicSpec {
        NicSpec {
            np: 2 * p.shape.len(),
            injectors: p.injectors,
            vcs: p.vcs,
            buffer: p.buffer as u32,
            injection_latency: p.injection_latency,
            ejection_latency: p.ejection_latency,
            flow_control: p.flow_control,
            classes,
        }
    }

    fn class_range(&self, class: u8) -> (usize, usize) {
        let w = self.vcs / self.classes.max(1);
        (class as usize * w, class as usize * w + w)
    }
}

#[derive(Clone, Copy, Debug)]
struct Sending {
    desc: PacketDesc,
    vc: u16,
    next: u16,
    packet: u64,
    injected: u64,
}

#[derive(Clone, Debug)]
pub struct Nic {
    node: u32,
    queue: VecDeque<PacketDesc>,
    sending: Vec<Option<Sending>>,
    credits: Vec<u32>,
    credit_q: VecDeque<(u64, u16, u16)>,
    arrivals: VecDeque<(u64, u16, u16, Flit)>,
    next_seq: u32,
}

impl Nic {
    pub fn new(node: usize, spec: &NicSpec) -> Nic {
        Nic {
            node: node as u32,
            queue: VecDeque::new(),
            sending: vec![None; spec.injectors],
            credits: vec![spec.buffer; spec.injectors * spec.vcs],
            credit_q: VecDeque::new(),
            arrivals: VecDeque::new(),
            next_seq: 0,
        }
    }

    pub fn node(&self) -> u32 {
        self.node
    }

    pub fn enqueue(&mut self, p: PacketDesc) {
        self.queue.push_back(p);
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Packets injected so far (their ids are `0 .. injected()` in the low word).
    pub fn injected(&self) -> u32 {
        self.next_seq
    }

    /// Drops packets that have not started; returns how many.
    pub fn abandon_queue(&mut self) -> usize {
        let n = self.queue.len();
        self.queue.clear();
        n
    }

    pub fn accept_flit(&mut self, at: u64, port: usize, vc: usize, flit: Flit) {
        self.arrivals.push_back((at, port as u16, vc as u16, flit));
    }

    pub fn accept_credit(&mut self, at: u64, port: usize, vc: usize) {
        self.credit_q.push_back((at, port as u16, vc as u16));
    }

    /// Whether the adapter still has something to inject.
    pub fn busy(&self) -> bool {
        !self.queue.is_empty() || self.sending.iter().any(Option::is_some)
    }

    /// One cycle: take credits and arrived flits, inject at most one flit per injector.
    /// Tails that arrived are appended to `delivered` with their arrival cycle.
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
            // The adapter sinks flits as they arrive and frees the slot at once.
            out.push(Msg::Credit {
                at: t + spec.ejection_latency,
                node: self.node,
                port: (spec.np + port as usize) as u16,
                vc,
            });
            if f.is_tail() {
                delivered.push((at, f));
            }
        }
        let (mut heads, mut flits) = (0, 0);
        for inj in 0..self.sending.len() {
            if self.sending[inj].is_none() {
                let Some(desc) = self.queue.front().copied() else {
                    continue;
                };
                let need = match spec.flow_control {
                    FlowControl::VirtualCutThrough => desc.len as u32,
                    FlowControl::Wormhole => 1,
                };
                let (lo, hi) = spec.class_range(desc.class);
                let mut best: Option<(usize, u32)> = None;
                for vc in lo..hi {
                    let c = self.credits[inj * spec.vcs + vc];
                    if c >= need && best.is_none_or(|(_, bc)| c > bc) {
                        best = Some((vc, c));
                    }
                }
                let Some((vc, _)) = best else { continue };
                self.queue.pop_front();
                let packet = ((self.node as u64) << 32) | self.next_seq as u64;
                self.next_seq += 1;
                self.sending[inj] = Some(Sending {
                    desc,
                    vc: vc as u16,
                    next: 0,
                    packet,
                    injected: t,
                });
                heads += 1;
            }
            let s = self.sending[inj].as_mut().expect("set above");
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
                src: self.node,
                dest: d.dest,
                len: d.len,
                index: s.next,
                hops: 0,
                route_bits: 0,
                class: d.class,
                measured: d.measured,
                tag: d.tag,
            };
            out.push(Msg::Flit {
                at: t + spec.injection_latency,
                node: self.node,
                port: (spec.np + inj) as u16,
                vc: s.vc,
                flit,
            });
            flits += 1;
            s.next += 1;
            if s.next == d.len {
                self.sending[inj] = None;
            }
        }
        (heads, flits)
    }
}
