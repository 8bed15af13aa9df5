//! One router's per-channel counters (`--link-stats`): kept beside the router, behind
//! an `Option`, so a run without the flag pays one predictable branch per event and
//! nothing else. Every count is clipped to the statistics window, so the result does
//! not depend on when a partition happened to run a router.

use crate::stats::ChannelStats;
use crate::stats::channels::overlap;

#[derive(Clone, Debug)]
pub(super) struct ChannelCounters {
    window: (u64, u64),
    link_flits: Vec<u64>,
    credit_stall: Vec<u64>,
    bubble_refusals: Vec<u64>,
    vc_flit_cycles: Vec<u64>,
    vc_max: Vec<u32>,
    wait_vc: Vec<u64>,
    wait_switch: Vec<u64>,
    /// Cycle each input VC last sent a flit (the next may go one cycle later).
    last_sent: Vec<u64>,
    crossbar: u64,
    /// Network output ports with a flit waiting only for a credit in this cycle.
    pub(super) stalled: u64,
}

impl ChannelCounters {
    pub(super) fn new(np: usize, input_vcs: usize, window: (u64, u64)) -> ChannelCounters {
        ChannelCounters {
            window,
            link_flits: vec![0; np],
            credit_stall: vec![0; np],
            bubble_refusals: vec![0; np],
            vc_flit_cycles: vec![0; input_vcs],
            vc_max: vec![0; input_vcs],
            wait_vc: vec![0; input_vcs],
            wait_switch: vec![0; input_vcs],
            last_sent: vec![0; input_vcs],
            crossbar: 0,
            stalled: 0,
        }
    }

    #[inline]
    fn in_window(&self, t: u64) -> bool {
        t >= self.window.0 && t < self.window.1
    }

    /// The head in input VC `i`, routed and ready for VC allocation from `ready`, was
    /// granted an output VC in cycle `t`.
    #[inline]
    pub(super) fn vc_granted(&mut self, i: usize, ready: u64, t: u64) {
        self.wait_vc[i] += overlap(ready, t, self.window);
    }

    /// Input VC `i`, holding `held` flits that have arrived (the largest occupancy is
    /// reached just before a flit leaves), sent a flit through the crossbar in cycle `t`
    /// to output `op` (a network port when below `np`); the flit arrived at `arrived`
    /// and could have gone from `ready` on (its VC held an output VC and the pipeline
    /// delay had passed).
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn sent(
        &mut self,
        i: usize,
        held: usize,
        op: usize,
        np: usize,
        arrived: u64,
        ready: u64,
        t: u64,
    ) {
        let w = self.window;
        let earliest = arrived.max(ready).max(self.last_sent[i] + 1);
        self.wait_switch[i] += overlap(earliest.min(t), t, w);
        self.vc_flit_cycles[i] += overlap(arrived, t + 1, w);
        self.last_sent[i] = t;
        if self.in_window(t) {
            self.vc_max[i] = self.vc_max[i].max(held as u32);
            self.crossbar += 1;
            if op < np {
                self.link_flits[op] += 1;
            }
        }
    }

    /// A packet entering a ring through network output `op` was refused a VC in cycle
    /// `t` by the bubble rule alone.
    #[inline]
    pub(super) fn bubble_refused(&mut self, op: usize, t: u64) {
        if self.in_window(t) {
            self.bubble_refusals[op] += 1;
        }
    }

    /// Ends cycle `t`: every output port marked in `stalled` waited for a credit.
    #[inline]
    pub(super) fn end_cycle(&mut self, t: u64) {
        if self.stalled != 0 {
            if self.in_window(t) {
                let mut m = self.stalled;
                while m != 0 {
                    self.credit_stall[m.trailing_zeros() as usize] += 1;
                    m &= m - 1;
                }
            }
            self.stalled = 0;
        }
    }

    /// Copies the counters into the network-wide `s` as router `node`.
    pub(super) fn record(&self, node: usize, s: &mut ChannelStats) {
        let np = self.link_flits.len();
        let nv = self.vc_max.len();
        let (l, v) = (node * np, node * nv);
        s.link_flits[l..l + np].copy_from_slice(&self.link_flits);
        s.credit_stall_cycles[l..l + np].copy_from_slice(&self.credit_stall);
        s.bubble_refusals[l..l + np].copy_from_slice(&self.bubble_refusals);
        s.vc_flit_cycles[v..v + nv].copy_from_slice(&self.vc_flit_cycles);
        s.vc_max_flits[v..v + nv].copy_from_slice(&self.vc_max);
        s.vc_wait_vc_cycles[v..v + nv].copy_from_slice(&self.wait_vc);
        s.vc_wait_switch_cycles[v..v + nv].copy_from_slice(&self.wait_switch);
        s.crossbar_flits[node] = self.crossbar;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_inside_the_window() {
        let mut c = ChannelCounters::new(2, 3, (10, 20));
        c.sent(0, 1, 1, 2, 5, 6, 8);
        assert_eq!(c.link_flits, [0, 0]);
        c.sent(0, 2, 1, 2, 9, 12, 15);
        assert_eq!(c.link_flits, [0, 1]);
        assert_eq!(c.crossbar, 1);
        assert_eq!(
            c.vc_max,
            [2, 0, 0],
            "the flit before the window does not count"
        );
        // Waited from 12 to 15; buffered 10..=15 inside the window.
        assert_eq!(c.wait_switch[0], 3);
        assert_eq!(c.vc_flit_cycles[0], 6);
        c.sent(0, 1, 2, 2, 9, 12, 16);
        assert_eq!(c.link_flits, [0, 1], "port 2 is an ejector");
        assert_eq!(c.wait_switch[0], 3, "the next flit could go only at 16");
        c.stalled = 0b11;
        c.end_cycle(12);
        c.stalled = 0b01;
        c.end_cycle(25);
        assert_eq!(c.credit_stall, [1, 1]);
        assert_eq!(c.stalled, 0);
    }
}
