//! One network adapter's per-channel counters (`--link-stats`): flits into and out of
//! the router and the send queue's occupancy, clipped to the statistics window.

use crate::stats::ChannelStats;
use crate::stats::channels::overlap;

#[derive(Clone, Debug)]
pub(super) struct AdapterCounters {
    window: (u64, u64),
    injected: u64,
    ejected: u64,
    /// Packets in the send queues since cycle `since`, the integral so far, the maximum.
    queued: u32,
    since: u64,
    area: u64,
    max: u32,
}

impl AdapterCounters {
    pub(super) fn new(window: (u64, u64)) -> AdapterCounters {
        AdapterCounters {
            window,
            injected: 0,
            ejected: 0,
            queued: 0,
            since: 0,
            area: 0,
            max: 0,
        }
    }

    #[inline]
    fn in_window(&self, t: u64) -> bool {
        t >= self.window.0 && t < self.window.1
    }

    /// A flit left for the router in cycle `t`.
    #[inline]
    pub(super) fn injected(&mut self, t: u64) {
        self.injected += self.in_window(t) as u64;
    }

    /// A flit arrived from the router in cycle `t`.
    #[inline]
    pub(super) fn ejected(&mut self, t: u64) {
        self.ejected += self.in_window(t) as u64;
    }

    /// The send queues hold `queued` packets from cycle `t` on. Changes are applied
    /// in time order; one dated before the last (a packet created while the adapter
    /// slept) counts from the last.
    #[inline]
    pub(super) fn queue_changed(&mut self, t: u64, queued: usize) {
        let t = t.max(self.since);
        let held = overlap(self.since, t, self.window);
        if held > 0 {
            self.max = self.max.max(self.queued);
        }
        self.area += self.queued as u64 * held;
        self.since = t;
        self.queued = queued as u32;
        if self.in_window(t) {
            self.max = self.max.max(self.queued);
        }
    }

    /// Copies the counters into `s` as node `node`, closing the occupancy integral at
    /// the end of the window.
    pub(super) fn record(&self, node: usize, s: &mut ChannelStats) {
        let end = self.window.1.max(self.since);
        let tail = self.queued as u64 * overlap(self.since, end, self.window);
        s.injected_flits[node] = self.injected;
        s.ejected_flits[node] = self.ejected;
        s.queue_packet_cycles[node] = self.area + tail;
        s.queue_max_packets[node] = self.max;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_integral_and_maximum_inside_the_window() {
        let mut c = AdapterCounters::new((10, 20));
        c.queue_changed(5, 3); // 3 packets from 5: 10..12 counts
        c.queue_changed(12, 1); // 1 packet from 12 to 20
        c.queue_changed(25, 9); // after the window: not a maximum
        let mut s = ChannelStats::new(1, 1, 1, (10, 20));
        c.record(0, &mut s);
        assert_eq!(s.queue_packet_cycles[0], 3 * 2 + 8);
        assert_eq!(
            s.queue_max_packets[0], 3,
            "3 packets were queued at cycle 10"
        );
        c.injected(9);
        c.injected(10);
        c.ejected(19);
        c.ejected(20);
        c.record(0, &mut s);
        assert_eq!((s.injected_flits[0], s.ejected_flits[0]), (1, 1));
    }
}
