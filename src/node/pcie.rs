//! PCI Express between a node's processor/memory and its network adapter, one direction.
//!
//! A first-come first-served server with an exact fractional byte rate plus a fixed
//! latency. DMA data moves in transaction layer packets (TLPs) of at most
//! `max_payload_bytes`, each carrying `tlp_overhead_bytes` of framing, sequence number,
//! header and CRC, and `dllp_overhead_bytes` of link-layer acknowledgement traffic.

use crate::config::spec::PcieSpec;

/// One direction of the link, with its queue state.
#[derive(Clone, Debug)]
pub struct PcieLink {
    spec: PcieSpec,
    /// End of the last transfer, in units of 1/num cycle (exact).
    busy: u128,
}

impl PcieLink {
    pub fn new(spec: PcieSpec) -> Self {
        PcieLink { spec, busy: 0 }
    }

    pub fn spec(&self) -> &PcieSpec {
        &self.spec
    }

    /// Queues a transfer of `payload` bytes that can start at cycle `now`; returns the
    /// cycle its last byte has crossed (add [`PcieSpec::latency`] for arrival).
    pub fn transfer(&mut self, now: u64, payload: u64) -> u64 {
        let s = &self.spec;
        let start = self.busy.max(now as u128 * s.num as u128);
        self.busy = start + s.wire_bytes(payload) as u128 * s.den as u128;
        self.busy.div_ceil(s.num as u128) as u64
    }

    /// Queues `count` back-to-back transfers that can start at cycle `now`, all of
    /// `each` bytes but the last, of `last` bytes: the link is reserved for all of them
    /// at once, exactly as `count` calls of [`PcieLink::transfer`] would, but the end of
    /// each is computed only when asked ([`Run::end_of`]), so a message of millions of
    /// packets costs no memory per packet.
    pub fn transfer_run(&mut self, now: u64, each: u64, count: u64, last: u64) -> Run {
        let s = &self.spec;
        let start = self.busy.max(now as u128 * s.num as u128);
        let step = s.wire_bytes(each) as u128 * s.den as u128;
        let last_step = s.wire_bytes(last) as u128 * s.den as u128;
        let run = Run {
            start,
            step,
            last_step,
            count: count.max(1),
            num: s.num,
        };
        self.busy = run.end_exact(run.count - 1);
        run
    }
}

/// The timing of a run of back-to-back transfers (see [`PcieLink::transfer_run`]).
#[derive(Clone, Copy, Debug)]
pub struct Run {
    start: u128,
    step: u128,
    last_step: u128,
    count: u64,
    num: u64,
}

impl Run {
    fn end_exact(&self, i: u64) -> u128 {
        if i + 1 < self.count {
            self.start + (i as u128 + 1) * self.step
        } else {
            self.start + (self.count as u128 - 1) * self.step + self.last_step
        }
    }

    /// The cycle the last byte of transfer `i` (0-based) has crossed.
    pub fn end_of(&self, i: u64) -> u64 {
        self.end_exact(i).div_ceil(self.num as u128) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractional_rate_is_exact_over_time() {
        // 2.5 bytes per cycle, no overheads: 1000 transfers of 5 bytes take 2000 cycles.
        let spec = PcieSpec {
            num: 5,
            den: 2,
            latency: 0,
            max_payload_bytes: 1 << 20,
            tlp_overhead_bytes: 0,
            dllp_overhead_bytes: 0,
        };
        let mut l = PcieLink::new(spec);
        let mut end = 0;
        for _ in 0..1000 {
            end = l.transfer(0, 5);
        }
        assert_eq!(end, 2000);
    }

    #[test]
    fn a_run_times_its_transfers_as_single_transfers_would() {
        let spec = PcieSpec {
            num: 7,
            den: 3,
            latency: 0,
            max_payload_bytes: 64,
            tlp_overhead_bytes: 24,
            dllp_overhead_bytes: 8,
        };
        let (mut one, mut run) = (PcieLink::new(spec), PcieLink::new(spec));
        one.transfer(0, 10);
        run.transfer(0, 10);
        let ends: Vec<u64> = [200, 200, 200, 37]
            .iter()
            .map(|&b| one.transfer(5, b))
            .collect();
        let r = run.transfer_run(5, 200, 4, 37);
        assert_eq!((0..4).map(|i| r.end_of(i)).collect::<Vec<_>>(), ends);
        assert_eq!(one.transfer(0, 1), run.transfer(0, 1));
    }

    #[test]
    fn tlp_overhead_counts_per_tlp() {
        let spec = PcieSpec {
            num: 1,
            den: 1,
            latency: 0,
            max_payload_bytes: 128,
            tlp_overhead_bytes: 24,
            dllp_overhead_bytes: 8,
        };
        assert_eq!(spec.wire_bytes(256), 256 + 2 * 32);
        assert_eq!(spec.wire_bytes(0), 32);
        assert_eq!(spec.wire_bytes(129), 129 + 2 * 32);
    }
}
