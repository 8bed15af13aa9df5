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

/// A body flit in flight, as much of it as its router needs (see
/// [`super::component::RouterModel::accept_body`]): 12 bytes instead of a whole
/// message's 80. On a large network the messages in flight fill more than the caches,
/// and most flits of a long packet are body flits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Body {
    pub node: u32,
    pub port: u16,
    pub vc: u16,
    pub index: u16,
    pub len: u16,
}

/// Whether body flits travel as [`Body`] records. Debug builds pass every flit whole,
/// so that the router's check of each rebuilt body flit against the real one runs.
const COMPACT_BODIES: bool = !cfg!(debug_assertions);

#[derive(Debug)]
pub struct Inbox {
    buckets: Vec<Vec<Msg>>,
    /// Body flits, in buckets beside the messages'.
    bodies: Vec<Vec<Body>>,
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
            bodies: vec![Vec::new(); size as usize],
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
            let k = (at & self.mask) as usize;
            match m {
                Msg::Flit {
                    node,
                    port,
                    vc,
                    flit,
                    ..
                } if COMPACT_BODIES && flit.index > 0 => self.bodies[k].push(Body {
                    node,
                    port,
                    vc,
                    index: flit.index,
                    len: flit.len,
                }),
                _ => self.buckets[k].push(m),
            }
            self.pending += 1;
        } else {
            self.far.entry(at).or_default().push(m);
        }
    }

    /// Moves the messages arriving in cycle `t` into `out` and its body flits into
    /// `bodies`, each in the order they were sent. Every earlier cycle with messages
    /// must have been taken. (Body flits and other messages of one cycle go to
    /// different components or VCs, so which are handed over first does not matter.)
    #[inline]
    pub fn take(&mut self, t: u64, out: &mut Vec<Msg>, bodies: &mut Vec<Body>) {
        let k = (t & self.mask) as usize;
        let b = &mut self.buckets[k];
        if !b.is_empty() {
            self.pending -= b.len();
            move_into(b, out);
        }
        let b = &mut self.bodies[k];
        if !b.is_empty() {
            self.pending -= b.len();
            move_into(b, bodies);
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
                (0..=self.mask).map(|d| now + d).find(|&t| {
                    let k = (t & self.mask) as usize;
                    !self.buckets[k].is_empty() || !self.bodies[k].is_empty()
                })
            })
            .flatten();
        let far = self.far.keys().next().copied();
        match (near, far) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Appends `b`'s items to the (usually empty) `out`, leaving `b` empty. An empty `out`
/// and the bucket swap their vectors instead: a cycle's messages on a large network
/// fill more than the caches, and copying them cost a miss per line twice.
#[inline]
fn move_into<T>(b: &mut Vec<T>, out: &mut Vec<T>) {
    if out.is_empty() {
        std::mem::swap(out, b);
    } else {
        out.append(b);
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
        let (mut v, mut b) = (Vec::new(), Vec::new());
        ib.take(t, &mut v, &mut b);
        v.iter()
            .map(Msg::node)
            .chain(b.iter().map(|b| b.node))
            .collect()
    }

    fn flit(at: u64, node: u32, index: u16) -> Msg {
        Msg::Flit {
            at,
            node,
            port: 1,
            vc: 0,
            flit: crate::core::flit::Flit {
                index,
                len: 4,
                ..Default::default()
            },
        }
    }

    #[test]
    fn body_flits_travel_compact_in_release_builds() {
        let mut ib = Inbox::new(8);
        ib.push(0, flit(2, 5, 0));
        ib.push(0, flit(3, 5, 1));
        assert_eq!(ib.next_arrival(0), Some(2));
        let (mut v, mut b) = (Vec::new(), Vec::new());
        ib.take(2, &mut v, &mut b);
        assert_eq!((v.len(), b.len()), (1, 0), "a head travels whole");
        assert_eq!(ib.next_arrival(3), Some(3));
        v.clear();
        ib.take(3, &mut v, &mut b);
        if COMPACT_BODIES {
            assert!(v.is_empty());
            let want = Body {
                node: 5,
                port: 1,
                vc: 0,
                index: 1,
                len: 4,
            };
            assert_eq!(b, vec![want]);
        } else {
            assert_eq!((v.len(), b.len()), (1, 0));
        }
        assert!(!ib.has_near());
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
