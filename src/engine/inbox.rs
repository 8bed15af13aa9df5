//! Messages on their way to the components of a partition, held until their arrival
//! cycle.
//!
//! A flit sent in cycle `t` arrives in `t + delay`; it used to be handed to its router
//! at once and to wait in the router's buffer, marked with its arrival cycle, until
//! then. Holding it here instead, in buckets by arrival cycle, means a router's state is
//! touched by a delivery in the cycle the router itself runs for it (instead of tens of
//! cycles earlier, when on a large network its lines have left the caches again by the
//! time it runs), and the buckets are written and read in order, which the hardware
//! prefetches. What a component sees does not change: it only ever looks at messages
//! that have arrived.

use crate::core::message::Msg;
use std::collections::BTreeMap;

#[derive(Debug)]
pub struct Inbox {
    buckets: Vec<Vec<Msg>>,
    mask: u64,
    /// Messages due beyond the buckets' span, by arrival cycle.
    far: BTreeMap<u64, Vec<Msg>>,
    pending: usize,
}

impl Inbox {
    /// An inbox whose buckets cover delays up to `span` cycles.
    pub fn new(span: u64) -> Inbox {
        let size = (span + 2).next_power_of_two().max(16);
        Inbox {
            buckets: vec![Vec::new(); size as usize],
            mask: size - 1,
            far: BTreeMap::new(),
            pending: 0,
        }
    }

    /// Holds `m` (arriving in cycle `m.at()`, not before `now`) until its cycle.
    #[inline]
    pub fn push(&mut self, now: u64, m: Msg) {
        let at = m.at();
        debug_assert!(at >= now, "a message into the past: {at} < {now}");
        if at - now <= self.mask {
            self.buckets[(at & self.mask) as usize].push(m);
            self.pending += 1;
        } else {
            self.far.entry(at).or_default().push(m);
        }
    }

    /// Moves the messages arriving in cycle `t` into `out`, in the order they were
    /// sent. Every earlier cycle with messages must have been taken.
    #[inline]
    pub fn take(&mut self, t: u64, out: &mut Vec<Msg>) {
        let b = &mut self.buckets[(t & self.mask) as usize];
        if !b.is_empty() {
            self.pending -= b.len();
            if out.is_empty() {
                // The bucket itself becomes the cycle's list (and `out`'s empty
                // allocation the bucket): a cycle's messages on a large network fill
                // more than the caches, and copying them cost a miss per line twice.
                std::mem::swap(out, b);
            } else {
                out.append(b);
            }
        }
        if let Some(e) = self.far.first_entry()
            && *e.key() <= t
        {
            // Bucketed messages for `t` were sent later than far ones for `t` (they
            // were pushed when `t` was within the span), so far ones go first.
            let mut v = e.remove();
            v.append(out);
            *out = v;
        }
    }

    /// Whether any message is held in the near buckets.
    #[inline]
    pub fn has_near(&self) -> bool {
        self.pending > 0
    }

    /// The earliest arrival cycle held, if any (`now` is the current cycle).
    pub fn next_arrival(&self, now: u64) -> Option<u64> {
        let near = (self.pending > 0)
            .then(|| {
                (0..=self.mask)
                    .map(|d| now + d)
                    .find(|&t| !self.buckets[(t & self.mask) as usize].is_empty())
            })
            .flatten();
        let far = self.far.keys().next().copied();
        match (near, far) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credit(at: u64, node: u32) -> Msg {
        Msg::InjectCredit {
            at,
            node,
            port: 0,
            vc: 0,
        }
    }

    fn taken(ib: &mut Inbox, t: u64) -> Vec<u32> {
        let mut v = Vec::new();
        ib.take(t, &mut v);
        v.iter().map(Msg::node).collect()
    }

    #[test]
    fn messages_come_out_in_their_cycle_in_sending_order() {
        let mut ib = Inbox::new(8);
        ib.push(0, credit(3, 1));
        ib.push(0, credit(5, 2));
        ib.push(1, credit(3, 3));
        assert_eq!(ib.next_arrival(0), Some(3));
        assert!(taken(&mut ib, 2).is_empty());
        assert_eq!(taken(&mut ib, 3), vec![1, 3]);
        assert_eq!(ib.next_arrival(4), Some(5));
        assert_eq!(taken(&mut ib, 5), vec![2]);
        assert!(!ib.has_near());
        assert_eq!(ib.next_arrival(6), None);
    }

    #[test]
    fn far_messages_wait_and_keep_their_order() {
        let mut ib = Inbox::new(4);
        ib.push(0, credit(100, 1));
        assert!(!ib.has_near());
        assert_eq!(ib.next_arrival(0), Some(100));
        ib.push(98, credit(100, 2));
        assert_eq!(taken(&mut ib, 100), vec![1, 2]);
        assert_eq!(ib.next_arrival(101), None);
    }
}
