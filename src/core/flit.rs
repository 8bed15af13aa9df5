//! The unit of transfer. A flit carries its packet's header fields so that any router,
//! in any partition or process, can route it without a shared packet table.

/// One flit. Plain data (`Copy`, no heap), so buffers are flat arrays and flits can be
/// shipped between partitions as bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flit {
    /// Unique packet id: source node in the high 32 bits, the source's sequence number
    /// of injected packets in the low 32.
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
    /// Opaque words for the node layer: what the packet is (put data, acknowledgement,
    /// get request, ...) and its arguments. The network never looks at them.
    pub tag: u32,
    pub aux: u32,
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
        (self.packet >> 32) as u32
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

/// Message classes of the node protocol: requests and responses travel on separate
/// virtual subnetworks (disjoint sets of VCs), so a response never waits behind a request.
pub const CLASS_REQUEST: u8 = 0;
pub const CLASS_RESPONSE: u8 = 1;
/// Classes node programs use; synthetic traffic uses class 0 only.
pub const CLASSES: usize = 2;

#[cfg(test)]
mod tests {
    #[test]
    fn flits_stay_small() {
        // Flits are copied on every hop and fill every buffer: keep them in 48 bytes.
        assert!(std::mem::size_of::<super::Flit>() <= 48);
    }
}
