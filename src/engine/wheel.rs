//! Timing wheel: which components must run in which cycle.
//!
//! Near-future wake-ups (within the wheel's span, which covers every link and pipeline
//! delay) go to a bucket per cycle; far ones (a packet generated in 10,000 cycles, a PE
//! computing for a millisecond) to a heap. A component that is not scheduled costs
//! nothing, and when nothing is scheduled the partition jumps straight to the next
//! event.

use super::component::ComponentId;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The most buckets a wheel gets; wake-ups further ahead go to the heap.
pub const MAX_BUCKETS: u64 = 1 << 16;

#[derive(Debug)]
pub struct Wheel {
    buckets: Vec<Vec<ComponentId>>,
    mask: u64,
    pending: usize,
    far: BinaryHeap<Reverse<(u64, ComponentId)>>,
    now: u64,
}

impl Wheel {
    /// `span` must exceed the longest delay scheduled through buckets.
    pub fn new(span: u64) -> Wheel {
        let size = (span + 2).next_power_of_two().max(16);
        Wheel {
            buckets: vec![Vec::new(); size as usize],
            mask: size - 1,
            pending: 0,
            far: BinaryHeap::new(),
            now: 0,
        }
    }

    pub fn now(&self) -> u64 {
        self.now
    }

    /// Schedules component `c` to run in cycle `at` (>= the current cycle).
    #[inline]
    pub fn schedule(&mut self, at: u64, c: ComponentId) {
        debug_assert!(
            at >= self.now,
            "scheduling into the past: {at} < {}",
            self.now
        );
        if at - self.now <= self.mask {
            self.buckets[(at & self.mask) as usize].push(c);
            self.pending += 1;
        } else {
            self.far.push(Reverse((at, c)));
        }
    }

    /// Takes the components due in the current cycle into `into` (duplicates possible).
    pub fn take_due(&mut self, into: &mut Vec<ComponentId>) {
        let b = &mut self.buckets[(self.now & self.mask) as usize];
        self.pending -= b.len();
        into.append(b);
        while let Some(&Reverse((at, c))) = self.far.peek() {
            if at > self.now {
                break;
            }
            self.far.pop();
            into.push(c);
        }
    }

    /// Advances to cycle `t` (> now). Buckets between must be empty, which holds when
    /// every cycle in between was taken or nothing was scheduled.
    pub fn advance_to(&mut self, t: u64) {
        debug_assert!(t >= self.now);
        self.now = t;
    }

    /// The earliest cycle with something scheduled, if any.
    pub fn next_event(&self) -> Option<u64> {
        if self.pending > 0 {
            for d in 0..=self.mask {
                if !self.buckets[((self.now + d) & self.mask) as usize].is_empty() {
                    return Some(self.now + d);
                }
            }
        }
        self.far.peek().map(|Reverse((at, _))| *at)
    }

    /// Whether anything is scheduled in the wheel's near buckets.
    pub fn has_near(&self) -> bool {
        self.pending > 0
    }

    pub fn is_idle(&self) -> bool {
        self.pending == 0 && self.far.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_and_far_events() {
        let mut w = Wheel::new(8);
        let (a, b) = (ComponentId::router(0), ComponentId::endpoint(0));
        w.schedule(3, a);
        w.schedule(1000, b);
        assert_eq!(w.next_event(), Some(3));
        w.advance_to(3);
        let mut v = vec![];
        w.take_due(&mut v);
        assert_eq!(v, vec![a]);
        assert_eq!(w.next_event(), Some(1000));
        w.advance_to(1000);
        v.clear();
        w.take_due(&mut v);
        assert_eq!(v, vec![b]);
        assert!(w.is_idle());
    }
}
