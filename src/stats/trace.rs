//! Packet traces (`--trace`): what each traced packet did at each router it passed,
//! and the SHMEM operations of each PE. Which packets are traced is decided from the
//! packets alone (creation cycle and id), so every partition keeps the same ones and
//! the merged trace does not depend on how the run was split.

/// Which packets and operations to trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TraceSpec {
    /// At most this many packets (the earliest created, ties by id), and this many
    /// operations per PE.
    pub limit: usize,
    /// Only packets created, and operations started, in cycles `[from, to)`.
    pub window: (u64, u64),
}

impl TraceSpec {
    /// Whether a packet created at `created` falls in the window.
    #[inline]
    pub fn in_window(&self, created: u64) -> bool {
        created >= self.window.0 && created < self.window.1
    }
}

/// One packet's passage through one router, in cycles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HopRecord {
    pub packet: u64,
    pub created: u64,
    pub injected: u64,
    pub dest: u32,
    pub len: u16,
    pub node: u32,
    pub in_port: u16,
    pub in_vc: u16,
    pub out_port: u16,
    pub out_vc: u16,
    /// The head arrived in the input buffer.
    pub arrived: u64,
    /// Header analysis and route computation done: VC allocation could decide.
    pub routed: u64,
    /// An output VC was granted.
    pub granted: u64,
    /// The head could request the switch (pipeline delay after the grant passed).
    pub switch_ready: u64,
    /// The head and the tail crossed the switch.
    pub head_sent: u64,
    pub tail_sent: u64,
}

/// A SHMEM operation of one PE.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OpRecord {
    pub node: u32,
    pub name: String,
    pub start: u64,
    pub end: u64,
}

/// What the traced run recorded.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TraceData {
    pub spec: TraceSpec,
    pub hops: Vec<HopRecord>,
    pub ops: Vec<OpRecord>,
}

impl TraceData {
    pub fn new(spec: TraceSpec) -> TraceData {
        TraceData {
            spec,
            hops: Vec::new(),
            ops: Vec::new(),
        }
    }

    /// Adds another partition's records and keeps the traced packets only (the
    /// earliest `limit` by creation and id), in a fixed order.
    pub fn merge(&mut self, o: &TraceData) {
        self.hops.extend_from_slice(&o.hops);
        self.ops.extend_from_slice(&o.ops);
        self.hops
            .sort_unstable_by_key(|h| (h.created, h.packet, h.arrived, h.node));
        let mut kept = 0;
        let mut last = None;
        let limit = self.spec.limit;
        self.hops.retain(|h| {
            if last != Some(h.packet) {
                last = Some(h.packet);
                kept += 1;
            }
            kept <= limit
        });
        self.ops.sort_unstable_by_key(|o| (o.node, o.start, o.end));
    }

    /// Distinct packets traced.
    pub fn packets(&self) -> usize {
        let mut ids: Vec<u64> = self.hops.iter().map(|h| h.packet).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }
}

/// Bounded per-component store of hop records: keeps the records of the `limit`
/// earliest packets (by creation, then id) it has seen. A packet among the earliest
/// `limit` of the whole network is among the earliest `limit` of any subset, so no
/// record of a globally traced packet is ever dropped.
#[derive(Clone, Debug)]
pub struct HopStore {
    pub spec: TraceSpec,
    kept: std::collections::BTreeMap<(u64, u64), Vec<HopRecord>>,
}

impl HopStore {
    pub fn new(spec: TraceSpec) -> HopStore {
        HopStore {
            spec,
            kept: Default::default(),
        }
    }

    /// Whether a packet created at `created` with id `packet` may be traced.
    #[inline]
    pub fn wants(&self, created: u64, packet: u64) -> bool {
        self.spec.in_window(created)
            && (self.kept.len() < self.spec.limit
                || self
                    .kept
                    .last_key_value()
                    .is_some_and(|(k, _)| (created, packet) <= *k))
    }

    pub fn push(&mut self, h: HopRecord) {
        if !self.wants(h.created, h.packet) {
            return;
        }
        self.kept.entry((h.created, h.packet)).or_default().push(h);
        if self.kept.len() > self.spec.limit {
            self.kept.pop_last();
        }
    }

    pub fn records(&self) -> impl Iterator<Item = &HopRecord> {
        self.kept.values().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(created: u64, packet: u64, node: u32) -> HopRecord {
        HopRecord {
            created,
            packet,
            node,
            arrived: created + node as u64,
            ..Default::default()
        }
    }

    #[test]
    fn store_keeps_the_earliest_packets() {
        let spec = TraceSpec {
            limit: 2,
            window: (10, 100),
        };
        let mut s = HopStore::new(spec);
        s.push(hop(5, 1, 0)); // before the window
        s.push(hop(30, 2, 0));
        s.push(hop(20, 3, 0));
        s.push(hop(40, 4, 0)); // later than two kept packets
        s.push(hop(30, 2, 1));
        s.push(hop(15, 5, 0)); // earlier: evicts packet 2
        let ids: Vec<u64> = s.records().map(|h| h.packet).collect();
        assert_eq!(ids, [5, 3]);
        assert!(!s.wants(30, 2));
    }

    #[test]
    fn merge_keeps_limit_packets_in_order() {
        let spec = TraceSpec {
            limit: 2,
            window: (0, u64::MAX),
        };
        let mut a = TraceData::new(spec);
        a.hops = vec![hop(3, 7, 1), hop(1, 9, 0)];
        let mut b = TraceData::new(spec);
        b.hops = vec![hop(3, 7, 0), hop(2, 8, 2), hop(1, 9, 1)];
        let mut m = TraceData::new(spec);
        m.merge(&a);
        m.merge(&b);
        let ids: Vec<(u64, u32)> = m.hops.iter().map(|h| (h.packet, h.node)).collect();
        assert_eq!(ids, [(9, 0), (9, 1), (8, 2)]);
        assert_eq!(m.packets(), 2);
    }
}
