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
    pub src: u32,
    pub dest: u32,
    /// Packet length in flits.
    pub len: u16,
    /// Position in the packet; 0 is the head.
    pub index: u16,
    /// Router-to-router links crossed so far.
    pub hops: u16,
    /// Routing state carried hop to hop (bit 0: dateline crossed in the current ring).
    pub route_bits: u8,
    /// Message class: selects a virtual subnetwork (a disjoint set of VCs).
    pub class: u8,
    /// Created inside the measurement window.
    pub measured: bool,
    /// Opaque word for the node layer (e.g. which operation the packet belongs to).
    pub tag: u32,
}

impl Flit {
    #[inline]
    pub fn is_head(&self) -> bool {
        self.index == 0
    }
    #[inline]
    pub fn is_tail(&self) -> bool {
        self.index + 1 == self.len
    }
}
