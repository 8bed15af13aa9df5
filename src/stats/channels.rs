//! Per-channel statistics: what each link direction, input VC, router crossbar and
//! network adapter did over a window of cycles. Collected only on request
//! (`--link-stats`), because they cost a little work per flit; kept as integers indexed
//! by global node, so partitions and processes merge them by addition (maxima by max)
//! and the merged figures do not depend on how the run was split.

/// Cycles of `[a, b)` that fall inside `[w.0, w.1)`: what an interval contributes to a
/// windowed sum.
#[inline]
pub fn overlap(a: u64, b: u64, w: (u64, u64)) -> u64 {
    b.min(w.1).saturating_sub(a.max(w.0))
}

/// Per-channel counters of the whole network (or of one partition, zero elsewhere).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct ChannelStats {
    /// Cycles counted: `[from, to)`.
    pub window: (u64, u64),
    /// Network ports per router (2n) and input VCs per router (input ports x VCs).
    pub network_ports: usize,
    pub input_vcs: usize,
    /// Per link direction (`node * network_ports + port`): flits sent in the window.
    pub link_flits: Vec<u64>,
    /// Per link direction: cycles in which a flit holding that output VC waited only
    /// for a credit (the downstream buffer was full).
    pub credit_stall_cycles: Vec<u64>,
    /// Per link direction: VC allocation attempts of packets entering the ring there
    /// that bubble flow control refused (a VC was free but the ring kept no bubble).
    pub bubble_refusals: Vec<u64>,
    /// Per input VC (`node * input_vcs + port * vcs + vc`): flit-cycles buffered (the
    /// integral of the occupancy), the largest occupancy in flits, cycles heads waited
    /// for an output VC after routing, cycles flits waited for the switch (a credit,
    /// link bandwidth or the switch arbiter) once they could go.
    pub vc_flit_cycles: Vec<u64>,
    pub vc_max_flits: Vec<u32>,
    pub vc_wait_vc_cycles: Vec<u64>,
    pub vc_wait_switch_cycles: Vec<u64>,
    /// Per router: flits through the crossbar (to links and ejectors).
    pub crossbar_flits: Vec<u64>,
    /// Per node: flits its adapter sent into the router and took from it, and its
    /// send queue's occupancy in packet-cycles and its maximum in packets.
    pub injected_flits: Vec<u64>,
    pub ejected_flits: Vec<u64>,
    pub queue_packet_cycles: Vec<u64>,
    pub queue_max_packets: Vec<u32>,
}

impl ChannelStats {
    /// Zeroed counters for `nodes` routers of `network_ports` network ports and
    /// `input_vcs` input VCs each, counting over `window`.
    pub fn new(nodes: usize, network_ports: usize, input_vcs: usize, window: (u64, u64)) -> Self {
        ChannelStats {
            window,
            network_ports,
            input_vcs,
            link_flits: vec![0; nodes * network_ports],
            credit_stall_cycles: vec![0; nodes * network_ports],
            bubble_refusals: vec![0; nodes * network_ports],
            vc_flit_cycles: vec![0; nodes * input_vcs],
            vc_max_flits: vec![0; nodes * input_vcs],
            vc_wait_vc_cycles: vec![0; nodes * input_vcs],
            vc_wait_switch_cycles: vec![0; nodes * input_vcs],
            crossbar_flits: vec![0; nodes],
            injected_flits: vec![0; nodes],
            ejected_flits: vec![0; nodes],
            queue_packet_cycles: vec![0; nodes],
            queue_max_packets: vec![0; nodes],
        }
    }

    /// Adds another partition's (or process's) counters.
    pub fn merge(&mut self, o: &ChannelStats) {
        fn add(a: &mut Vec<u64>, b: &[u64]) {
            if a.len() < b.len() {
                a.resize(b.len(), 0);
            }
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
        fn max(a: &mut Vec<u32>, b: &[u32]) {
            if a.len() < b.len() {
                a.resize(b.len(), 0);
            }
            a.iter_mut().zip(b).for_each(|(x, y)| *x = (*x).max(*y));
        }
        if self.link_flits.is_empty() {
            self.window = o.window;
            self.network_ports = o.network_ports;
            self.input_vcs = o.input_vcs;
        }
        add(&mut self.link_flits, &o.link_flits);
        add(&mut self.credit_stall_cycles, &o.credit_stall_cycles);
        add(&mut self.bubble_refusals, &o.bubble_refusals);
        add(&mut self.vc_flit_cycles, &o.vc_flit_cycles);
        max(&mut self.vc_max_flits, &o.vc_max_flits);
        add(&mut self.vc_wait_vc_cycles, &o.vc_wait_vc_cycles);
        add(&mut self.vc_wait_switch_cycles, &o.vc_wait_switch_cycles);
        add(&mut self.crossbar_flits, &o.crossbar_flits);
        add(&mut self.injected_flits, &o.injected_flits);
        add(&mut self.ejected_flits, &o.ejected_flits);
        add(&mut self.queue_packet_cycles, &o.queue_packet_cycles);
        max(&mut self.queue_max_packets, &o.queue_max_packets);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_clips_to_the_window() {
        assert_eq!(overlap(0, 10, (5, 20)), 5);
        assert_eq!(overlap(6, 8, (5, 20)), 2);
        assert_eq!(overlap(15, 30, (5, 20)), 5);
        assert_eq!(overlap(25, 30, (5, 20)), 0);
        assert_eq!(overlap(0, 3, (5, 20)), 0);
    }

    #[test]
    fn merge_adds_counts_and_keeps_maxima() {
        let mut a = ChannelStats::new(2, 2, 3, (0, 10));
        let mut b = ChannelStats::new(2, 2, 3, (0, 10));
        a.link_flits[0] = 3;
        b.link_flits[0] = 4;
        a.vc_max_flits[1] = 5;
        b.vc_max_flits[1] = 2;
        b.queue_max_packets[1] = 7;
        let mut m = ChannelStats::default();
        m.merge(&a);
        m.merge(&b);
        assert_eq!(m.link_flits[0], 7);
        assert_eq!(m.vc_max_flits[1], 5);
        assert_eq!(m.queue_max_packets, [0, 7]);
        assert_eq!((m.window, m.network_ports, m.input_vcs), ((0, 10), 2, 3));
    }
}
