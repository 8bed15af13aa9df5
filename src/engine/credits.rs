//! Credits on their way back to the routers of a partition.
//!
//! A credit only changes a counter of an output VC, and only a router update reads that
//! counter. So rather than queue each credit inside its router (a queue per output
//! port, which the router then has to scan every update), the partition keeps the
//! credits in flight in buckets by arrival cycle and hands each bucket to its routers
//! before anything runs in that cycle. A router update in cycle `t` thus sees exactly
//! the credits that arrived by `t`, as before, while the credits themselves sit in a
//! few dense arrays: on a network too large for the caches this removes the cache misses
//! of walking every router's per-port queues.
//!
//! Credits need no wake-up: a router that is not running has no flit waiting for one,
//! and a router blocked on credits runs every cycle anyway. Cycles the partition skips
//! are caught up before the next cycle it runs.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A credit for output `port`, VC `vc` of the partition's router `local`; `tail`: it
/// frees a packet's last flit (see [`crate::core::message::Msg::Credit`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Credit {
    pub local: u32,
    pub port: u16,
    pub vc: u16,
    pub tail: bool,
}

#[derive(Debug)]
pub struct CreditWheel {
    buckets: Vec<Vec<Credit>>,
    mask: u64,
    /// Credits due beyond the buckets' span (a credit latency longer than the wheel).
    far: BinaryHeap<Reverse<(u64, Credit)>>,
    /// Every bucket of a cycle up to this one has been handed out.
    applied_through: u64,
    pending: usize,
}

impl CreditWheel {
    /// A wheel whose buckets cover delays up to `span` cycles.
    pub fn new(span: u64) -> CreditWheel {
        let size = (span + 2).next_power_of_two().max(16);
        CreditWheel {
            buckets: vec![Vec::new(); size as usize],
            mask: size - 1,
            far: BinaryHeap::new(),
            applied_through: 0,
            pending: 0,
        }
    }

    /// A credit arriving in cycle `at`, which is later than every cycle handed out.
    #[inline]
    pub fn push(&mut self, at: u64, c: Credit) {
        debug_assert!(
            at > self.applied_through,
            "credit into a cycle already handed out"
        );
        if at - self.applied_through <= self.mask {
            self.buckets[(at & self.mask) as usize].push(c);
            self.pending += 1;
        } else {
            self.far.push(Reverse((at, c)));
        }
    }

    /// Hands every credit that has arrived by cycle `t` to `apply`.
    #[inline]
    pub fn apply_through(&mut self, t: u64, mut apply: impl FnMut(Credit)) {
        if t <= self.applied_through {
            return;
        }
        if self.pending > 0 {
            // A jump longer than the wheel empties every bucket: all their credits are
            // due by then.
            let n = (t - self.applied_through).min(self.mask + 1);
            for d in 1..=n {
                let b = &mut self.buckets[((self.applied_through + d) & self.mask) as usize];
                if !b.is_empty() {
                    self.pending -= b.len();
                    for c in b.drain(..) {
                        apply(c);
                    }
                }
            }
        }
        while let Some(&Reverse((at, c))) = self.far.peek() {
            if at > t {
                break;
            }
            self.far.pop();
            apply(c);
        }
        self.applied_through = t;
        // Far credits now within the buckets' span move into them, so `push`'s
        // bucket arithmetic stays valid.
        while let Some(&Reverse((at, c))) = self.far.peek() {
            if at - t > self.mask {
                break;
            }
            self.far.pop();
            self.buckets[(at & self.mask) as usize].push(c);
            self.pending += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(local: u32) -> Credit {
        Credit {
            local,
            port: 0,
            vc: 0,
            tail: false,
        }
    }

    fn take(w: &mut CreditWheel, t: u64) -> Vec<u32> {
        let mut v = Vec::new();
        w.apply_through(t, |x| v.push(x.local));
        v.sort_unstable();
        v
    }

    #[test]
    fn credits_arrive_in_their_cycle_not_before() {
        let mut w = CreditWheel::new(4);
        w.push(3, c(1));
        w.push(5, c(2));
        assert_eq!(take(&mut w, 2), Vec::<u32>::new());
        assert_eq!(take(&mut w, 3), vec![1]);
        assert_eq!(take(&mut w, 4), Vec::<u32>::new());
        assert_eq!(take(&mut w, 5), vec![2]);
    }

    #[test]
    fn skipped_cycles_and_long_jumps_are_caught_up() {
        let mut w = CreditWheel::new(4);
        w.push(2, c(1));
        w.push(6, c(2));
        // Jump far past the wheel's span: both are due.
        assert_eq!(take(&mut w, 1000), vec![1, 2]);
        w.push(1003, c(3));
        assert_eq!(take(&mut w, 1002), Vec::<u32>::new());
        assert_eq!(take(&mut w, 1010), vec![3]);
    }

    #[test]
    fn credits_beyond_the_span_wait_in_the_heap() {
        let mut w = CreditWheel::new(4);
        w.push(100, c(7));
        w.push(3, c(1));
        assert_eq!(take(&mut w, 50), vec![1]);
        w.push(52, c(2));
        assert_eq!(take(&mut w, 99), vec![2]);
        assert_eq!(take(&mut w, 100), vec![7]);
    }
}
