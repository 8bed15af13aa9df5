//! The input side of the router: one [`InputVc`] per (input port, VC), holding where
//! the packet at the front is in the pipeline ([`Stage`]) and a ring of buffered flits
//! in the router's [`FlitStore`], and the [`VcSet`] of VCs holding flits, so a router
//! update visits only those.
//!
//! The operations here are the ones that touch a single input VC: accepting a flit,
//! routing the head at the front, popping the front flit. Everything that arbitrates
//! between VCs lives in the allocators.

use crate::core::flit::Flit;
use crate::core::limits::MAX_INPUT_VCS;
use crate::routing::{Route, Routing};

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

/// One buffer slot: a flit on a cache line of its own, so writing a head into a
/// neighbour's buffer and reading it back later touch one line each, not two.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, align(64))]
struct Slot(Flit);

/// The buffers of every input VC of a router in one allocation: VC `i` owns the ring
/// of `cap` slots from `i * cap`. One allocation per router instead of one per VC keeps
/// a router's buffers together and saves the queue bookkeeping of a general deque.
///
/// The flits' arrival cycles are kept (in a parallel array) only for per-channel
/// statistics and traces, which report how long each flit waited. The simulation
/// itself does not need them: a flit reaches its buffer in its arrival cycle (the
/// partition's inbox holds it until then), so every buffered flit has arrived, and
/// the array would cost a cache line per few flits on every arrival and departure.
///
/// Only heads are written to their slots. A body flit repeats its head in every field
/// but `index` (the adapter makes them so, and every router treats the flits of a
/// packet alike), and the flits of a VC arrive in packet order, so a body flit is
/// rebuilt from a copy of its head when it leaves. Under load, flits wait long
/// enough in the buffers for their lines to leave the caches: not storing body flits
/// saves two cache misses per body flit and hop. Debug builds store every flit and
/// check each rebuilt one against it.
#[derive(Clone, Debug)]
pub(super) struct FlitStore {
    slots: Vec<Slot>,
    /// Arrival cycle per slot, when `arrivals` was asked for; empty otherwise.
    at: Vec<u64>,
    /// Per VC, the head of the packet whose body flits are at its front.
    hdrs: Vec<Slot>,
    cap: u32,
}

impl FlitStore {
    /// Buffers of `cap` flits for `vcs` input VCs, recording each flit's arrival
    /// cycle if `arrivals`.
    pub(super) fn new(vcs: usize, cap: usize, arrivals: bool) -> FlitStore {
        FlitStore {
            slots: vec![Slot::default(); vcs * cap],
            at: if arrivals {
                vec![0; vcs * cap]
            } else {
                Vec::new()
            },
            hdrs: vec![Slot::default(); vcs],
            cap: cap as u32,
        }
    }
}

/// One input VC. `repr(C)` and a cache line's alignment keep what the per-cycle pass
/// and VC allocation read (the front flit's arrival, the stage, the route's length and
/// first candidates) in the first of its two lines.
#[derive(Clone, Debug)]
#[repr(C, align(64))]
pub(super) struct InputVc {
    /// Arrival cycle of the front flit (`u64::MAX` when empty). Exact for the first
    /// flit into an empty VC and whenever the store records arrivals; otherwise 0 for
    /// a flit behind it (it has arrived: see [`FlitStore`]).
    pub(super) front_at: u64,
    pub(super) ready: u64,
    /// The VC's ring in the router's [`FlitStore`]: first slot, front position and
    /// flits held.
    base: u32,
    head: u32,
    count: u32,
    /// Length of the front flit's packet, cached like `front_at`: VC allocation needs
    /// it every cycle a head waits, and the buffer's line is usually cold by then.
    pub(super) front_len: u16,
    /// Position in its packet of the front flit (of the next flit to arrive when
    /// empty): 0 for a head, whose slot holds it; a body flit is rebuilt from the
    /// VC's head copy in the store (see [`FlitStore`]).
    front_index: u16,
    /// This VC's number in the router (its head copy in the store).
    id: u16,
    pub(super) out: u16,
    pub(super) out_vc: u16,
    /// Route header and class the packet's flits leave with (from the granted
    /// candidate; the class changes only when a timeout moved the packet to another
    /// virtual subnetwork).
    pub(super) header_out: u16,
    pub(super) stage: Stage,
    /// The candidate this VC requested with in the current cycle.
    pub(super) pick: u8,
    pub(super) class_out: u8,
    /// The head's timeout has fired at this router.
    pub(super) timed_out: bool,
    /// The routing candidates of the head at the front.
    pub(super) route: Route,
}

impl InputVc {
    /// The empty, idle VC number `i` of a router whose store holds `buffer` flits per
    /// VC.
    pub(super) fn new(i: usize, buffer: usize) -> InputVc {
        InputVc {
            base: (i * buffer) as u32,
            head: 0,
            count: 0,
            front_at: u64::MAX,
            front_len: 0,
            front_index: 0,
            id: i as u16,
            stage: Stage::Idle,
            ready: 0,
            out: 0,
            out_vc: 0,
            pick: 0,
            header_out: 0,
            class_out: 0,
            timed_out: false,
            route: Route::default(),
        }
    }

    /// Flits held (arrived or still on the link).
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.count as usize
    }

    /// Store index of the `k`-th flit from the front.
    #[inline]
    fn slot(&self, s: &FlitStore, k: u32) -> usize {
        let mut p = self.head + k;
        if p >= s.cap {
            p -= s.cap;
        }
        (self.base + p) as usize
    }

    /// The flit at the front, if any.
    #[inline]
    pub(super) fn peek(&self, s: &FlitStore) -> Option<Flit> {
        (self.count > 0).then(|| self.front(s))
    }

    /// The flit at the front (the VC must hold one).
    #[inline]
    pub(super) fn front(&self, s: &FlitStore) -> Flit {
        debug_assert!(self.count > 0, "occupied VCs hold flits");
        let j = self.slot(s, 0);
        if self.front_index == 0 {
            s.slots[j].0
        } else {
            let f = Flit {
                index: self.front_index,
                ..s.hdrs[self.id as usize].0
            };
            debug_assert_eq!(f, s.slots[j].0, "a body flit differs from its head");
            f
        }
    }

    /// Flits that have arrived by cycle `t` (all that are held, unless the store
    /// records arrivals and some are later).
    pub(super) fn held(&self, s: &FlitStore, t: u64) -> usize {
        if s.at.is_empty() {
            return self.len();
        }
        (0..self.count)
            .take_while(|&k| s.at[self.slot(s, k)] <= t)
            .count()
    }

    /// Stores a flit arriving in cycle `at`. Returns whether it is a head arriving at
    /// an idle, empty VC, which the caller routes at once.
    #[inline(always)]
    pub(super) fn accept(&mut self, s: &mut FlitStore, at: u64, flit: Flit) -> bool {
        debug_assert!(self.count < s.cap, "credit protocol violated");
        let empty = self.count == 0;
        let fresh = empty && self.stage == Stage::Idle;
        if empty {
            self.front_at = at;
            self.front_len = flit.len;
            debug_assert_eq!(self.front_index, flit.index, "flits out of packet order");
        }
        let j = self.slot(s, self.count);
        if flit.index == 0 || cfg!(debug_assertions) {
            s.slots[j] = Slot(flit);
        }
        if !s.at.is_empty() {
            s.at[j] = at;
        }
        self.count += 1;
        fresh
    }

    /// Stores body flit `index` of a `len`-flit packet arriving in cycle `at`: only
    /// its place in the ring, as a body flit's slot is never written in release
    /// builds (see [`FlitStore`]). Release builds alone take body flits this way;
    /// debug builds pass every flit whole, to check each rebuilt one.
    #[inline(always)]
    pub(super) fn accept_body(&mut self, s: &mut FlitStore, at: u64, index: u16, len: u16) {
        debug_assert!(self.count < s.cap, "credit protocol violated");
        debug_assert!(index > 0, "a head taken as a body flit");
        if self.count == 0 {
            debug_assert_eq!(self.front_index, index, "flits out of packet order");
            self.front_at = at;
            self.front_len = len;
        }
        if !s.at.is_empty() {
            let j = self.slot(s, self.count);
            s.at[j] = at;
        }
        self.count += 1;
    }

    /// Routes `head` (arrived through `port` of `node`) into the VC's candidates and
    /// waits for a VC allocation decision in cycle `ready`.
    #[inline]
    pub(super) fn route_head(
        &mut self,
        routing: &Routing,
        node: usize,
        port: usize,
        head: &Flit,
        ready: u64,
    ) {
        routing.route(node, port, head, &mut self.route);
        self.class_out = head.class;
        self.timed_out = false;
        self.stage = Stage::WaitVc;
        self.ready = ready;
    }

    /// Removes the front flit (the VC must hold one) and caches the next one's arrival.
    #[inline]
    pub(super) fn pop(&mut self, s: &mut FlitStore) -> Flit {
        let f = self.front(s);
        if f.index == 0 && !f.is_tail() {
            s.hdrs[self.id as usize] = Slot(f);
        }
        self.head += 1;
        if self.head == s.cap {
            self.head = 0;
        }
        self.count -= 1;
        self.front_index = if f.is_tail() { 0 } else { f.index + 1 };
        if self.count > 0 {
            let j = self.slot(s, 0);
            self.front_at = if s.at.is_empty() { 0 } else { s.at[j] };
            self.front_len = if self.front_index == 0 {
                s.slots[j].0.len
            } else {
                f.len
            };
        } else {
            self.front_at = u64::MAX;
        }
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
        let mut s = FlitStore::new(2, 4, true);
        let mut ivc = InputVc::new(1, 4);
        assert!(
            ivc.accept(&mut s, 5, flit(0, 2)),
            "a head at an idle empty VC"
        );
        assert_eq!(ivc.front_at, 5);
        ivc.stage = Stage::WaitVc;
        assert!(!ivc.accept(&mut s, 7, flit(1, 2)), "a body flit behind it");
        assert_eq!(ivc.front_at, 5);
        assert_eq!(ivc.held(&s, 6), 1);
        assert_eq!(ivc.pop(&mut s).index, 0);
        assert_eq!(ivc.front_at, 7);
        assert_eq!(ivc.front(&s).index, 1);
        assert_eq!(ivc.front_len, 2);
        assert_eq!(ivc.pop(&mut s).index, 1);
        assert_eq!(ivc.front_at, u64::MAX);
        // Empty but still busy with its packet (not idle): the caller does not route.
        assert!(!ivc.accept(&mut s, 9, flit(0, 1)));
        ivc.stage = Stage::Idle;
        assert!(!ivc.accept(&mut s, 9, flit(0, 1)), "not empty");
    }

    #[test]
    fn a_body_flit_takes_its_place_without_its_fields() {
        let mut s = FlitStore::new(1, 4, true);
        let mut ivc = InputVc::new(0, 4);
        ivc.stage = Stage::Active;
        // Into an empty VC whose head has left: it becomes the front.
        ivc.front_index = 2;
        ivc.accept_body(&mut s, 9, 2, 3);
        assert_eq!((ivc.len(), ivc.front_at, ivc.front_len), (1, 9, 3));
        assert_eq!(ivc.held(&s, 8), 0);
        assert_eq!(ivc.held(&s, 9), 1);
        // Behind a flit: only the count and its arrival change.
        let mut s = FlitStore::new(1, 4, false);
        let mut ivc = InputVc::new(0, 4);
        assert!(ivc.accept(&mut s, 5, flit(0, 3)));
        ivc.accept_body(&mut s, 6, 1, 3);
        assert_eq!((ivc.len(), ivc.front_at, ivc.front_len), (2, 5, 3));
        assert_eq!(
            ivc.held(&s, 5),
            2,
            "without arrival cycles every flit is held"
        );
    }

    #[test]
    fn rings_wrap_and_stay_in_their_own_slots() {
        let mut s = FlitStore::new(2, 3, false);
        let mut a = InputVc::new(0, 3);
        let mut b = InputVc::new(1, 3);
        for k in 0..10u16 {
            a.accept(&mut s, u64::from(k), flit(k, 100));
            b.accept(
                &mut s,
                u64::from(k),
                Flit {
                    dest: 7,
                    ..flit(k, 100)
                },
            );
            if a.len() == 3 {
                assert_eq!(a.peek(&s).map(|x| x.index), Some(k - 2));
                assert_eq!(a.pop(&mut s).index, k - 2);
                assert_eq!(
                    b.pop(&mut s),
                    Flit {
                        dest: 7,
                        ..flit(k - 2, 100)
                    }
                );
            }
        }
        assert_eq!((a.len(), b.len()), (2, 2));
        assert_eq!(a.front(&s).index, 8);
        assert_eq!(b.front(&s).index, 8);
        a.pop(&mut s);
        a.pop(&mut s);
        assert_eq!(a.peek(&s), None);
    }
}
