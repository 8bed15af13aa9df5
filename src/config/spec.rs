//! Resolved specs of the node side, built from [`Params`] and handed to the models
//! unchanged: the network adapter ([`NicSpec`]) and each PCIe direction ([`PcieSpec`]).

use super::Params;
use super::schema::FlowControl;

/// Parameters of one PCIe direction, in model units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PcieSpec {
    /// Bytes per cycle as the exact fraction `num / den` (after line encoding).
    pub num: u64,
    pub den: u64,
    pub latency: u64,
    pub max_payload_bytes: u32,
    pub tlp_overhead_bytes: u32,
    pub dllp_overhead_bytes: u32,
}

impl PcieSpec {
    /// Bytes on the wire for a DMA transfer of `payload` bytes.
    pub fn wire_bytes(&self, payload: u64) -> u64 {
        let tlps = payload.div_ceil(self.max_payload_bytes as u64).max(1);
        payload + tlps * (self.tlp_overhead_bytes + self.dllp_overhead_bytes) as u64
    }
}

/// The network adapter of every node, in model units.
#[derive(Clone, Debug)]
pub struct NicSpec {
    pub np: usize,
    pub injectors: usize,
    pub vcs: usize,
    pub buffer: u32,
    pub injection_latency: u64,
    pub ejection_latency: u64,
    pub flow_control: FlowControl,
    /// Ordinary message classes; they share the first `vcs - trees` VCs equally.
    pub classes: usize,
    /// Collective trees: class `classes + t` is tree `t`'s, on VC `vcs - trees + t`.
    pub trees: usize,
    /// Cycles the per-channel statistics cover (`None`: not collected); set by the
    /// engine on request, not a config key.
    pub channel_window: Option<(u64, u64)>,
    /// Which operations to trace (`None`: no trace); set by the engine on request.
    pub trace: Option<crate::stats::trace::TraceSpec>,
}

impl NicSpec {
    pub fn new(p: &Params, classes: usize) -> NicSpec {
        NicSpec {
            np: 2 * p.shape.len(),
            injectors: p.injectors,
            vcs: p.router_vcs(),
            buffer: p.buffer as u32,
            injection_latency: p.injection_latency,
            ejection_latency: p.ejection_latency,
            flow_control: p.flow_control,
            classes,
            trees: p.trees(),
            channel_window: None,
            trace: None,
        }
    }

    /// The VCs of message class `class`: an equal share of the ordinary VCs per
    /// ordinary class, and its own VC for a tree's class.
    pub fn class_range(&self, class: u8) -> (usize, usize) {
        let base = self.vcs - self.trees;
        let c = class as usize;
        if self.is_tree_class(class) {
            let vc = base + (c - self.classes);
            return (vc, vc + 1);
        }
        let w = base / self.classes.max(1);
        (c * w, c * w + w)
    }

    /// Whether `class` is a collective tree's (its packets go to the collectives
    /// engine, not over PCIe to memory).
    #[inline]
    pub fn is_tree_class(&self, class: u8) -> bool {
        (class as usize) >= self.classes && self.trees > 0
    }

    /// Send queues the adapter keeps: one per ordinary class and one per tree.
    pub fn queues(&self) -> usize {
        self.classes.max(1) + self.trees
    }
}
