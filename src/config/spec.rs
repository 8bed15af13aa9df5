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
    pub classes: usize,
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
            vcs: p.vcs,
            buffer: p.buffer as u32,
            injection_latency: p.injection_latency,
            ejection_latency: p.ejection_latency,
            flow_control: p.flow_control,
            classes,
            channel_window: None,
            trace: None,
        }
    }

    /// The VCs of message class `class`: an equal share of the VCs per class.
    pub fn class_range(&self, class: u8) -> (usize, usize) {
        let w = self.vcs / self.classes.max(1);
        (class as usize * w, class as usize * w + w)
    }
}
