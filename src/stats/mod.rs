//! Counters and latency histograms (percentiles exact below 4096 cycles, see
//! [`histogram`]). Everything is an integer so that partitions merge by addition and
//! the merged result does not depend on how the run was split.

pub mod channels;
pub mod histogram;
pub mod trace;

pub use channels::ChannelStats;
pub use histogram::Histogram;

/// Counters the routers add to while they work (kept by each partition, shared by its
/// routers, copied into [`Stats`]).
#[derive(Default, Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct RouterCounters {
    /// Flits moved over router-to-router links.
    pub flit_hops: u64,
    /// Packet hops (head flits granted a network VC) by kind.
    pub adaptive_hops: u64,
    pub escape_hops: u64,
    pub first_step_hops: u64,
    pub last_step_hops: u64,
    /// Heads whose wait for a VC reached `router.timeout`, and those of them whose
    /// route the timeout changed.
    pub timeouts: u64,
    pub rerouted_packets: u64,
}

impl RouterCounters {
    pub fn merge(&mut self, o: &RouterCounters) {
        self.flit_hops += o.flit_hops;
        self.adaptive_hops += o.adaptive_hops;
        self.escape_hops += o.escape_hops;
        self.first_step_hops += o.first_step_hops;
        self.last_step_hops += o.last_step_hops;
        self.timeouts += o.timeouts;
        self.rerouted_packets += o.rerouted_packets;
    }
}

/// Everything one partition counts. Merged across partitions with [`Stats::merge`].
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    /// Packets/flits created inside the measurement window (the offered load).
    pub measured_packets_created: u64,
    pub measured_flits_created: u64,
    /// Measured packets whose tail has been delivered.
    pub measured_packets_delivered: u64,
    /// Flits delivered during the measurement window (the accepted load).
    pub window_flits_delivered: u64,
    pub packets_injected: u64,
    pub flits_injected: u64,
    pub packets_delivered: u64,
    pub flits_delivered: u64,
    /// Payload bytes of delivered packets (node programs).
    pub payload_bytes_delivered: u64,
    /// Packets dropped from source queues when injection stopped (never injected).
    pub packets_abandoned: u64,
    pub latency: Histogram,
    pub network_latency: Histogram,
    pub measured_hops: u64,
    /// What the routers counted.
    #[serde(flatten)]
    pub router: RouterCounters,
    /// Flits sent over each link direction, `node * 2n + port` (the whole run).
    pub link_flits: Vec<u64>,
    /// Per-channel statistics, when requested (`--link-stats`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<ChannelStats>,
    /// Packet and operation traces, when requested (`--trace`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<trace::TraceData>,
    pub events: u64,
    pub last_delivery: u64,
    /// Delivered packet ids, collected only when conservation is being checked.
    pub delivered_ids: Vec<u64>,
}

impl Stats {
    pub fn merge(&mut self, o: &Stats) {
        self.measured_packets_created += o.measured_packets_created;
        self.measured_flits_created += o.measured_flits_created;
        self.measured_packets_delivered += o.measured_packets_delivered;
        self.window_flits_delivered += o.window_flits_delivered;
        self.packets_injected += o.packets_injected;
        self.flits_injected += o.flits_injected;
        self.packets_delivered += o.packets_delivered;
        self.flits_delivered += o.flits_delivered;
        self.payload_bytes_delivered += o.payload_bytes_delivered;
        self.packets_abandoned += o.packets_abandoned;
        self.latency.merge(&o.latency);
        self.network_latency.merge(&o.network_latency);
        self.measured_hops += o.measured_hops;
        self.router.merge(&o.router);
        if self.link_flits.len() < o.link_flits.len() {
            self.link_flits.resize(o.link_flits.len(), 0);
        }
        for (a, b) in self.link_flits.iter_mut().zip(&o.link_flits) {
            *a += b;
        }
        if let Some(ot) = &o.trace {
            match &mut self.trace {
                Some(t) => t.merge(ot),
                None => {
                    let mut t = trace::TraceData::new(ot.spec);
                    t.merge(ot);
                    self.trace = Some(t);
                }
            }
        }
        if let Some(oc) = &o.channels {
            self.channels.get_or_insert_with(Default::default).merge(oc);
        }
        self.events += o.events;
        self.last_delivery = self.last_delivery.max(o.last_delivery);
        self.delivered_ids.extend_from_slice(&o.delivered_ids);
    }
}

impl Stats {
    /// Flits per link direction summed over the network: `[+x, -x, +y, -y, ...]`.
    pub fn direction_flits(&self, network_ports: usize) -> Vec<u64> {
        let mut v = vec![0; network_ports];
        for (i, f) in self.link_flits.iter().enumerate() {
            v[i % network_ports] += f;
        }
        v
    }
}
