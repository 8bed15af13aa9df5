//! What waits in an adapter's send queue: single packets, or whole messages that are cut
//! into packets only as each one starts.
//!
//! A put of 100 MB is some 800,000 packets; holding a descriptor for each would make the
//! adapter's memory grow with the message, and a put of 2^40 bytes could not be queued at
//! all. A message entry instead keeps what its packets share plus the timing of its
//! PCIe transfer ([`Run`]), and makes the next packet's descriptor on demand, so queue
//! memory is bounded by the number of messages, not their size.

use super::nic::PacketDesc;
use super::pcie::Run;

/// Length and payload of one packet of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketShape {
    /// Flits.
    pub len: u16,
    /// Payload bytes.
    pub payload: u16,
}

/// When the packets of an entry may be injected.
#[derive(Clone, Copy, Debug)]
enum Ready {
    /// Every packet at this cycle.
    At(u64),
    /// Packet `i` once its data has crossed PCIe: the run's end of `i` plus a latency.
    Run { run: Run, latency: u64 },
}

/// One entry of a send queue.
#[derive(Clone, Copy, Debug)]
pub struct Outgoing {
    /// The fields every packet shares; `len`, `payload` and `ready` are set per packet.
    template: PacketDesc,
    /// Packets of the entry, and the index of the next one to start.
    count: u64,
    next: u64,
    /// Every packet but the last has `full`; the last has `last`.
    full: PacketShape,
    last: PacketShape,
    ready: Ready,
}

impl Outgoing {
    /// A single packet, as described.
    pub fn single(desc: PacketDesc) -> Outgoing {
        let shape = PacketShape {
            len: desc.len,
            payload: desc.payload,
        };
        Outgoing {
            template: desc,
            count: 1,
            next: 0,
            full: shape,
            last: shape,
            ready: Ready::At(desc.ready),
        }
    }

    /// `count` packets sharing `template`'s fields: all shaped `full` but the last,
    /// shaped `last`; packet `i` is ready `latency` cycles after `run` ends its `i`-th
    /// transfer.
    pub fn message(
        template: PacketDesc,
        count: u64,
        full: PacketShape,
        last: PacketShape,
        run: Run,
        latency: u64,
    ) -> Outgoing {
        Outgoing {
            template,
            count: count.max(1),
            next: 0,
            full,
            last,
            ready: Ready::Run { run, latency },
        }
    }

    /// Packets not yet started.
    pub fn left(&self) -> u64 {
        self.count - self.next
    }

    /// The descriptor of the next packet to start.
    pub fn peek(&self) -> PacketDesc {
        let shape = if self.next + 1 < self.count {
            self.full
        } else {
            self.last
        };
        let ready = match self.ready {
            Ready::At(t) => t,
            Ready::Run { run, latency } => run.end_of(self.next).saturating_add(latency),
        };
        PacketDesc {
            len: shape.len,
            payload: shape.payload,
            ready,
            ..self.template
        }
    }

    /// Marks the next packet as started; returns whether the entry is used up.
    pub fn advance(&mut self) -> bool {
        self.next += 1;
        self.next >= self.count
    }
}
