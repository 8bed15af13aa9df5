//! A router's part of a packet trace (`--trace`): for each input VC the hop of the
//! traced packet it is serving, completed when the tail crosses the switch, then kept
//! in a bounded store. Behind an `Option`, so untraced runs pay one branch per event.

use crate::core::flit::Flit;
use crate::stats::trace::{HopRecord, HopStore, TraceData, TraceSpec};

#[derive(Clone, Debug)]
pub(super) struct PacketTrace {
    store: HopStore,
    /// The hop in progress at each input VC, if its packet is traced.
    pending: Vec<Option<HopRecord>>,
}

impl PacketTrace {
    pub(super) fn new(spec: TraceSpec, input_vcs: usize) -> PacketTrace {
        PacketTrace {
            store: HopStore::new(spec),
            pending: vec![None; input_vcs],
        }
    }

    /// Input VC `i` (port `i / vcs`) with `head` at its front, arrived at `arrived`
    /// and routed by `routed`, was granted output VC `o` (`o / vcs`, `o % vcs`) in
    /// cycle `t`; its head may request the switch from `switch_ready`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn granted(
        &mut self,
        node: u32,
        vcs: usize,
        i: usize,
        o: usize,
        head: &Flit,
        arrived: u64,
        routed: u64,
        t: u64,
        switch_ready: u64,
    ) {
        self.pending[i] = self
            .store
            .wants(head.created, head.packet)
            .then(|| HopRecord {
                packet: head.packet,
                created: head.created,
                injected: head.injected,
                dest: head.dest,
                len: head.len,
                node,
                in_port: (i / vcs) as u16,
                in_vc: (i % vcs) as u16,
                out_port: (o / vcs) as u16,
                out_vc: (o % vcs) as u16,
                arrived,
                routed,
                granted: t,
                switch_ready,
                head_sent: 0,
                tail_sent: 0,
            });
    }

    /// Input VC `i` sent flit `f` through the switch in cycle `t`.
    #[inline]
    pub(super) fn sent(&mut self, i: usize, f: &Flit, t: u64) {
        if let Some(h) = &mut self.pending[i] {
            if f.is_head() {
                h.head_sent = t;
            }
            if f.is_tail() {
                h.tail_sent = t;
                let h = *h;
                self.pending[i] = None;
                self.store.push(h);
            }
        }
    }

    pub(super) fn record(&self, out: &mut TraceData) {
        out.hops.extend(self.store.records().copied());
    }
}
