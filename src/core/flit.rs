//! The unit of transfer. A flit carries its packet's header fields so that any router,
//! in any partition or process, can route it without a shared packet table.

/// One flit. Plain data (`Copy`, no heap), so buffers are flat arrays and flits can be
/// shipped between partitions as bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flit {
    /// Unique packet id: source node in the high 24 bits, the source's sequence number
    /// of injected packets in the low 40 (see [`packet_id`]).
    pub packet: u64,
    /// Cycle the packet was created at its source (queueing included in latency).
    pub created: u64,
    /// Cycle the head left the source queue for the injection link.
    pub injected: u64,
    pub dest: u32,
    /// Packet length in flits.
    pub len: u16,
    /// Position in the packet; 0 is the head.
    pub index: u16,
    /// Router-to-router links crossed so far.
    pub hops: u16,
    /// The node layer's protocol fields (what the packet is and its arguments). The
    /// network never looks at them.
    pub tag: NodeTag,
    /// Payload bytes the packet carries (for the adapter's memory-side accounting).
    pub payload: u16,
    /// The route header carried hop to hop, as the real router's direction bits are:
    /// First/Last Step, direction signs, dateline and escape state
    /// (`crate::routing::header`). 0 at injection.
    pub route: u16,
    /// Message class: selects a virtual subnetwork (a disjoint set of VCs).
    pub class: u8,
    /// Created inside the measurement window.
    pub measured: bool,
}

impl Flit {
    /// Source node (the high word of the packet id).
    #[inline]
    pub fn src(&self) -> u32 {
        (self.packet >> SEQ_BITS) as u32
    }

    /// The source's sequence number of this packet (the low word of the packet id).
    #[inline]
    pub fn seq(&self) -> u64 {
        self.packet & SEQ_MASK
    }

    #[inline]
    pub fn is_head(&self) -> bool {
        self.index == 0
    }
    #[inline]
    pub fn is_tail(&self) -> bool {
        self.index + 1 == self.len
    }
}

/// Bits of a packet id that number a source's packets: 2^40 packets per node, more than
/// a 2^40-byte message needs.
pub const SEQ_BITS: u32 = 40;
const SEQ_MASK: u64 = (1 << SEQ_BITS) - 1;

/// Nodes a packet id can name (the config refuses larger tori).
pub const MAX_NODES: usize = 1 << (64 - SEQ_BITS);

/// The id of packet `seq` of node `src`: unique while a node sends fewer than 2^40
/// packets (past that, ids repeat and the exactly-once check of `--check` fails loudly).
#[inline]
pub fn packet_id(src: u32, seq: u64) -> u64 {
    (u64::from(src) << SEQ_BITS) | (seq & SEQ_MASK)
}

/// Splits a packet id into source and sequence number.
#[inline]
pub fn split_packet_id(id: u64) -> (u32, u64) {
    ((id >> SEQ_BITS) as u32, id & SEQ_MASK)
}

/// Protocol fields of the node layer, carried by every flit of a packet.
///
/// Typed and wide on purpose: a message's packet count and a get's byte count are
/// 64-bit, so a message of any size the model accepts (at least 2^40 bytes) is counted
/// exactly instead of wrapping a narrow field packed into a shared word.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeTag {
    /// What the packet is (put data, acknowledgement, get request, ...); 0 for
    /// synthetic traffic.
    pub kind: u8,
    /// A flag to signal at the target, or a barrier's parity and round.
    pub flag: u16,
    /// The sender's message id (wraps; only messages in flight need to differ).
    pub msg: u32,
    /// Packets of the message (put data, get data), bytes asked for (get request), an
    /// atomic's first operand, or the old value an atomic returns.
    pub size: u64,
    /// An atomic's second operand (the new value of a compare-and-swap); 0 otherwise.
    /// A field of its own because a compare-and-swap carries two full 64-bit values.
    pub arg: u64,
}

/// Message classes of the node protocol: requests and responses travel on separate
/// virtual subnetworks (disjoint sets of VCs), so a response never waits behind a request.
pub const CLASS_REQUEST: u8 = 0;
pub const CLASS_RESPONSE: u8 = 1;
/// Classes node programs use; synthetic traffic uses class 0 only.
pub const CLASSES: usize = 2;
/// The class of collective tree `0` when collectives are configured; tree `t` uses class
/// `CLASS_TREE + t`, on its own VC appended after the VCs of the ordinary classes.
pub const CLASS_TREE: u8 = CLASSES as u8;
/// Trees a config may ask for (each costs one VC per port).
pub const MAX_TREES: usize = 4;

#[cfg(test)]
mod tests {
    #[test]
    fn flits_stay_small() {
        // Flits are copied on every hop and fill every buffer: keep them in one 64-byte
        // cache line (48 before the node protocol's counts became 64-bit, 56 before
        // atomics gave the tag a second 64-bit operand).
        assert!(std::mem::size_of::<super::Flit>() <= 64);
    }
}
