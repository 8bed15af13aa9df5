//! The input side of the router: one [`InputVc`] per (input port, VC), holding the
//! buffered flits and where the packet at the front is in the pipeline ([`Stage`]),
//! and the [`VcSet`] of VCs holding flits, so a router update visits only those.
//!
//! The operations here are the ones that touch a single input VC: accepting a flit,
//! routing the head at the front, popping the front flit. Everything that arbitrates
//! between VCs lives in the allocators.

use crate::core::flit::Flit;
use crate::core::limits::MAX_INPUT_VCS;
use crate::routing::{Route, Routing};
use std::collections::VecDeque;

/// Set of non-empty input VCs, so a router update visits only VCs holding flits.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct VcSet([u64; MAX_INPUT_VCS / 64]);

impl VcSet {
    #[inline]
    pub(super) fn insert(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    #[inline]
    pub(super) fn remove(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
    /// The members as bit words (bit `i % 64` of word `i / 64`).
    #[inline]
    pub(super) fn words(&self) -> &[u64] {
        &self.0
    }
    /// Calls `f` on every member in increasing order.
    #[inline]
    pub(super) fn for_each(&self, mut f: impl FnMut(usize)) {
        for (wi, &w) in self.0.iter().enumerate() {
            let mut w = w;
            while w != 0 {
                let b = w.trailing_zeros() as usize;
                f(wi * 64 + b);
                w &= w - 1;
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stage {
    /// No packet at the front, or its head has not been looked at yet.
    Idle,
    /// Routed; waiting for an output VC from cycle `ready`.
    WaitVc,
    /// Holds output VC (`out`, `out_vc`); flits request the switch from cycle `ready`.
    Active,
}

#[derive(Clone, Debug)]
pub(super) struct InputVc {
    /// Buffered flits with their arrival cycles.
    pub(super) buf: VecDeque<(u64, Flit)>,
    /// Arrival cycle of the front flit (`u64::MAX` when empty).
    pub(super) front_at: u64,
    pub(super) stage: Stage,
    pub(super) ready: u64,
    pub(super) out: u16,
    pub(super) out_vc: u16,
    /// The candidate this VC requested with in the current cycle.
    pub(super) pick: u8,
    /// Route header and class the packet's flits leave with (from the granted
    /// candidate; the class changes only when a timeout moved the packet to another
    /// virtual subnetwork).
    pub(super) header_out: u16,
    pub(super) class_out: u8,
    /// The head's timeout has fired at this router.
    pub(super) timed_out: bool,
}

impl InputVc {
    /// An empty, idle VC of `buffer` flits.
    pub(super) fn new(buffer: usize) -> InputVc {
        InputVc {
            buf: VecDeque::with_capacity(buffer),
            front_at: u64::MAX,
            stage: Stage::Idle,
            ready: 0,
            out: 0,
            out_vc: 0,
            pick: 0,
            header_out: 0,
            class_out: 0,
            timed_out: false,
        }
    }

    /// The flit at the front (the VC must hold one).
    #[inline]
    pub(super) fn front(&self) -> &Flit {
        &self.buf.front().expect("occupied VCs hold flits").1
    }

    /// Stores a flit arriving in cycle `at`. Returns whether it is a head arriving at
    /// an idle, empty VC, which the caller routes at once.
    #[inline(always)]
    pub(super) fn accept(&mut self, at: u64, flit: Flit) -> bool {
        let empty = self.buf.is_empty();
        let fresh = empty && self.stage == Stage::Idle;
        if empty {
            self.front_at = at;
        }
        self.buf.push_back((at, flit));
        fresh
    }

    /// Routes `head` (arrived through `port` of `node`) into `route`, the candidates
    /// beside this VC, and waits for a VC allocation decision in cycle `ready`.
    #[inline]
    pub(super) fn route_head(
        &mut self,
        route: &mut Route,
        routing: &Routing,
        node: usize,
        port: usize,
        head: &Flit,
        ready: u64,
    ) {
        routing.route(node, port, head, route);
        self.class_out = head.class;
        self.timed_out = false;
        self.stage = Stage::WaitVc;
        self.ready = ready;
    }

    /// Removes the front flit (the VC must hold one) and caches the next one's arrival.
    #[inline]
    pub(super) fn pop(&mut self) -> Flit {
        let (_, f) = self.buf.pop_front().expect("a granted VC holds a flit");
        self.front_at = self.buf.front().map_or(u64::MAX, |x| x.0);
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(s: &VcSet) -> Vec<usize> {
        let mut v = Vec::new();
        s.for_each(|i| v.push(i));
        v
    }

    #[test]
    fn vc_set_visits_members_in_increasing_order() {
        let mut s = VcSet::default();
        for i in [130, 3, 64, 63, 0, 200] {
            if i < MAX_INPUT_VCS {
                s.insert(i);
            }
        }
        let want: Vec<usize> = [0, 3, 63, 64, 130, 200]
            .into_iter()
            .filter(|&i| i < MAX_INPUT_VCS)
            .collect();
        assert_eq!(members(&s), want);
        s.remove(63);
        s.remove(3);
        s.remove(3);
        s.insert(0);
        let want: Vec<usize> = want.into_iter().filter(|&i| i != 3 && i != 63).collect();
        assert_eq!(members(&s), want);
    }

    fn flit(index: u16, len: u16) -> Flit {
        Flit {
            index,
            len,
            ..Default::default()
        }
    }

    #[test]
    fn accept_and_pop_track_the_front() {
        let mut ivc = InputVc::new(4);
        assert!(ivc.accept(5, flit(0, 2)), "a head at an idle empty VC");
        assert_eq!(ivc.front_at, 5);
        ivc.stage = Stage::WaitVc;
        assert!(!ivc.accept(7, flit(1, 2)), "a body flit behind it");
        assert_eq!(ivc.front_at, 5);
        assert_eq!(ivc.pop().index, 0);
        assert_eq!(ivc.front_at, 7);
        assert_eq!(ivc.front().index, 1);
        assert_eq!(ivc.pop().index, 1);
        assert_eq!(ivc.front_at, u64::MAX);
        // Empty but still busy with its packet (not idle): the caller does not route.
        assert!(!ivc.accept(9, flit(0, 1)));
        ivc.stage = Stage::Idle;
        assert!(!ivc.accept(9, flit(0, 1)), "not empty");
    }
}
