//! VC allocation: which output VC a routed head asks for, and which head gets it.
//!
//! Each routed head first picks one output VC on its own ([`choose`]): per candidate
//! of its route, the free VC with most credits that flow control allows ([`best_vc`]:
//! enough credits for the packet under virtual cut-through, and under bubble flow
//! control a free packet slot downstream, two when the hop enters a ring); then the
//! selection policy picks among candidates ([`Choice`]), taking an escape candidate
//! only when no other is usable. The separable allocator ([`Router::vc_allocate`])
//! then grants each requested output VC to one head. A head that has waited too long
//! is re-routed first ([`check_timeout`]).
//!
//! These are the router's only decisions that depend on the selection policy and the
//! random stream, so they sit together and are tested apart from the pipeline.

use super::arbiter::pick;
use super::input_unit::{FlitStore, InputVc, Stage};
use super::output_unit::{NONE, OutputVc};
use super::{Router, RouterCounters, RouterSpec, Scratch};
use crate::config::schema::{FlowControl, Selection, TimeoutAction};
use crate::core::flit::Flit;
use crate::routing::{Candidate, Route, Routing, kind};
use rand_core::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// Credits an output VC must have for a packet of `len` flits to take it: the whole
/// packet under virtual cut-through, one flit under wormhole.
#[inline]
pub(super) fn credits_needed(spec: &RouterSpec, len: u16) -> u32 {
    match spec.flow_control {
        FlowControl::VirtualCutThrough => len as u32,
        FlowControl::Wormhole => 1,
    }
}

/// The usable output VC of candidate `c` with the most credits (the first on ties),
/// as (output VC index, credits): free, with at least `need` credits, and under bubble
/// flow control on a network port with a free packet slot downstream for a packet
/// continuing along its ring, two for one entering a ring.
#[inline]
pub(super) fn best_vc(
    spec: &RouterSpec,
    outputs: &[OutputVc],
    c: &Candidate,
    need: u32,
) -> Option<(u32, u32)> {
    let v = spec.vcs;
    let slots = match spec.bubble_slots {
        Some(s) if (c.port_lo as usize) < spec.np => Some((s, 1 + c.enters_ring as u32)),
        _ => None,
    };
    let mut best = NONE;
    let mut best_credits = 0;
    for p in c.port_lo..c.port_lo + c.port_count {
        for vc in c.vc_lo..c.vc_hi {
            let o = p as usize * v + vc as usize;
            let ovc = &outputs[o];
            if ovc.owner == NONE
                && ovc.credits >= need
                && slots.is_none_or(|(s, want)| s - ovc.slots_used >= want)
                && (best == NONE || ovc.credits > best_credits)
            {
                best = o as u32;
                best_credits = ovc.credits;
            }
        }
    }
    (best != NONE).then_some((best, best_credits))
}

/// Whether candidate `c`, a hop entering a ring, is refused by the bubble rule alone:
/// one of its VCs is free with enough credits and a slot downstream, but not the two
/// slots a packet entering a ring needs.
pub(super) fn bubble_refused(
    spec: &RouterSpec,
    outputs: &[OutputVc],
    c: &Candidate,
    need: u32,
) -> bool {
    let Some(s) = spec.bubble_slots else {
        return false;
    };
    if !c.enters_ring || c.port_lo as usize >= spec.np {
        return false;
    }
    let v = spec.vcs;
    (c.port_lo..c.port_lo + c.port_count).any(|p| {
        (c.vc_lo..c.vc_hi).any(|vc| {
            let o = &outputs[p as usize * v + vc as usize];
            o.owner == NONE && o.credits >= need && s - o.slots_used == 1
        })
    })
}

/// The selection among a route's usable candidates, offered in routing's order of
/// preference: an escape candidate is kept only while no other is usable; among
/// candidates of the same kind `most-credits` keeps the one whose VC has most credits
/// (the first on ties), `first` the first, `random` one drawn uniformly.
#[derive(Clone, Copy, Debug)]
pub(super) struct Choice {
    /// Output VC chosen so far (`NONE`: none yet), its credits, and the candidate.
    pub(super) o: u32,
    pub(super) credits: u32,
    pub(super) pick: u8,
    escape: bool,
    /// Usable candidates of the kind kept so far (reservoir sampling).
    drawn: u32,
}

impl Choice {
    #[inline]
    pub(super) fn new() -> Choice {
        Choice {
            o: NONE,
            credits: 0,
            pick: 0,
            escape: true,
            drawn: 0,
        }
    }

    /// Offers candidate `ci` (escape or not), usable through output VC `o` with
    /// `credits` credits.
    #[inline]
    pub(super) fn offer(
        &mut self,
        selection: Selection,
        rng: &mut Xoshiro256PlusPlus,
        ci: u8,
        (o, credits): (u32, u32),
        esc: bool,
    ) {
        let take = if self.o == NONE || (self.escape && !esc) {
            self.drawn = 1;
            true
        } else if esc && !self.escape {
            false
        } else {
            match selection {
                Selection::MostCredits => credits > self.credits,
                Selection::First => false,
                Selection::Random => {
                    // Reservoir sampling: each usable candidate of the preferred kind
                    // is kept with equal probability.
                    self.drawn += 1;
                    rng.next_u64().is_multiple_of(self.drawn as u64)
                }
            }
        };
        if take {
            self.o = o;
            self.credits = credits;
            self.pick = ci;
            self.escape = esc;
        }
    }
}

/// The output VC a routed head requests, as (output VC index, candidate index), or
/// `None` when no candidate is usable this cycle.
#[inline]
pub(super) fn choose(
    spec: &RouterSpec,
    outputs: &[OutputVc],
    route: &Route,
    need: u32,
    rng: &mut Xoshiro256PlusPlus,
) -> Option<(u32, u8)> {
    if let [c] = route.as_slice() {
        // One candidate (deterministic routing): its free VC with most credits.
        return best_vc(spec, outputs, c, need).map(|(o, _)| (o, 0));
    }
    let mut choice = Choice::new();
    for (ci, c) in route.as_slice().iter().enumerate() {
        if let Some(vc) = best_vc(spec, outputs, c, need) {
            choice.offer(spec.selection, rng, ci as u8, vc, c.is_escape());
        }
    }
    (choice.o != NONE).then_some((choice.o, choice.pick))
}

/// Fires the timeout of the head at the front of `ivc` (arrived at `node`, routed
/// into `route`) once it has waited `router.timeout` cycles for a VC, at most once
/// per router: it then keeps only its escape candidates, or moves up to the next
/// virtual subnetwork, by `router.timeout_action`.
#[inline]
#[allow(clippy::too_many_arguments)]
pub(super) fn check_timeout(
    spec: &RouterSpec,
    t: u64,
    ivc: &mut InputVc,
    store: &FlitStore,
    routing: &Routing,
    node: usize,
    cnt: &mut RouterCounters,
) {
    if let Some(to) = spec.timeout
        && !ivc.timed_out
        && t >= ivc.ready.saturating_add(to)
    {
        ivc.timed_out = true;
        cnt.timeouts += 1;
        let head = ivc.front(store);
        let route = &mut ivc.route;
        match spec.timeout_action {
            TimeoutAction::Escape => {
                let s = route.as_slice();
                if s.iter().any(|c| c.is_escape()) && s.iter().any(|c| !c.is_escape()) {
                    route.retain(|c| c.is_escape());
                    cnt.rerouted_packets += 1;
                }
            }
            TimeoutAction::SwitchSubnetwork => {
                if head.class + 1 < spec.subnetworks {
                    // A new packet of the next subnetwork from here: routed as if
                    // injected at this router, so it enters its rings afresh.
                    let f = Flit {
                        class: head.class + 1,
                        route: 0,
                        ..head
                    };
                    routing.route(node, spec.np, &f, route);
                    ivc.class_out = f.class;
                    cnt.rerouted_packets += 1;
                }
            }
        }
    }
}

impl Router {
    /// Separable VC allocation over `sc.va` (each input VC has already picked one
    /// output VC): one winner per output VC. Winners go to `sc.won`.
    #[inline]
    pub(super) fn vc_allocate(
        &mut self,
        t: u64,
        spec: &RouterSpec,
        sc: &mut Scratch,
        cnt: &mut RouterCounters,
    ) {
        let n_in = self.inputs.len() as u16;
        sc.won.clear();
        if sc.va.len() > 1 {
            sc.va.sort_unstable_by_key(|(o, r)| (*o, r.idx));
        }
        let mut s = 0;
        while s < sc.va.len() {
            let o = sc.va[s].0;
            let mut e = s + 1;
            while e < sc.va.len() && sc.va[e].0 == o {
                e += 1;
            }
            let w = if e == s + 1 {
                // A lone request for this output VC wins it without arbitration.
                sc.va[s].1.idx
            } else {
                sc.tmp.clear();
                sc.tmp.extend(sc.va[s..e].iter().map(|x| x.1));
                sc.tmp[pick(spec.arbiter, &sc.tmp, self.outputs[o as usize].rr, n_in)].idx
            };
            self.grant_vc(w as usize, o, t, spec, cnt);
            sc.won.push((w, 0));
            s = e;
        }
    }

    /// Input VC `w` wins output VC `o` in cycle `t`: it owns it from now on and
    /// requests the switch from `t + sa_after_va`.
    #[inline]
    pub(super) fn grant_vc(
        &mut self,
        w: usize,
        o: u32,
        t: u64,
        spec: &RouterSpec,
        cnt: &mut RouterCounters,
    ) {
        let v = spec.vcs;
        let ovc = &mut self.outputs[o as usize];
        ovc.rr = w as u16;
        ovc.owner = w as u32;
        if let Some(ch) = &mut self.chan {
            ch.vc_granted(w, self.inputs[w].ready, t);
        }
        if let Some(tr) = &mut self.trace {
            let ivc = &self.inputs[w];
            tr.granted(
                self.node,
                v,
                w,
                o as usize,
                &ivc.front(&self.store),
                ivc.front_at,
                ivc.ready,
                t,
                t + spec.sa_after_va,
            );
        }
        if spec.bubble_slots.is_some() && (o as usize / v) < spec.np {
            ovc.take_slot();
        }
        let ivc = &mut self.inputs[w];
        let c = ivc.route.as_slice()[ivc.pick as usize];
        ivc.header_out = c.header;
        if (o as usize / v) < spec.np {
            let k = c.kind;
            cnt.adaptive_hops += (k & kind::ADAPTIVE != 0) as u64;
            cnt.escape_hops += (k & kind::ESCAPE != 0) as u64;
            cnt.first_step_hops += (k & kind::FIRST_STEP != 0) as u64;
            cnt.last_step_hops += (k & kind::LAST_STEP != 0) as u64;
        }
        ivc.stage = Stage::Active;
        ivc.out = (o as usize / v) as u16;
        ivc.out_vc = (o as usize % v) as u16;
        ivc.ready = t + spec.sa_after_va;
    }
}

#[cfg(test)]
mod tests {
    use super::super::arbiter::Request;
    use super::*;
    use rand_core::SeedableRng;

    /// A candidate on network port `port`, VCs `vc_lo..vc_hi`.
    fn cand(port: u8, vc_lo: u8, vc_hi: u8, kind: u8) -> Candidate {
        Candidate {
            port_lo: port,
            port_count: 1,
            vc_lo,
            vc_hi,
            enters_ring: false,
            kind,
            header: port as u16 + 100,
        }
    }

    fn outputs(spec: &RouterSpec) -> Vec<OutputVc> {
        (0..spec.p_out * spec.vcs)
            .map(|_| OutputVc::new(spec.buffer as u32))
            .collect()
    }

    fn rng() -> Xoshiro256PlusPlus {
        Xoshiro256PlusPlus::seed_from_u64(7)
    }

    #[test]
    fn best_vc_is_the_free_one_with_most_credits() {
        let spec = super::super::tests::spec();
        let v = spec.vcs;
        let mut outs = outputs(&spec);
        let c = cand(1, 0, 3, 0);
        outs[v].credits = 2;
        outs[v + 1].credits = 6;
        outs[v + 2].credits = 6;
        assert_eq!(best_vc(&spec, &outs, &c, 1), Some(((v + 1) as u32, 6)));
        outs[v + 1].owner = 0;
        assert_eq!(best_vc(&spec, &outs, &c, 1), Some(((v + 2) as u32, 6)));
        // Virtual cut-through: the whole packet must fit.
        assert_eq!(best_vc(&spec, &outs, &c, 7), None);
        outs[v + 2].owner = 0;
        assert_eq!(best_vc(&spec, &outs, &c, 1), Some((v as u32, 2)));
    }

    #[test]
    fn bubble_rule_needs_two_slots_to_enter_a_ring_and_one_to_continue() {
        let mut spec = super::super::tests::spec();
        spec.bubble_slots = Some(2);
        let mut outs = outputs(&spec);
        let o = spec.vcs; // port 1, vc 0
        outs[o].take_slot();
        let cont = cand(1, 0, 1, 0);
        let enter = Candidate {
            enters_ring: true,
            ..cont
        };
        assert_eq!(best_vc(&spec, &outs, &cont, 1).map(|x| x.0), Some(o as u32));
        assert_eq!(best_vc(&spec, &outs, &enter, 1), None);
        outs[o].take_slot();
        assert_eq!(best_vc(&spec, &outs, &cont, 1), None);
        // Ejection ports are not rings: no slots needed.
        let np = spec.np as u8;
        let mut ej = Candidate {
            enters_ring: true,
            ..cand(np, 0, 1, 0)
        };
        ej.port_lo = np;
        outs[spec.np * spec.vcs].slots_used = 2;
        assert!(best_vc(&spec, &outs, &ej, 1).is_some());
    }

    fn route(cands: &[Candidate]) -> Route {
        let mut r = Route::default();
        for &c in cands {
            r.push(c);
        }
        r
    }

    #[test]
    fn escape_only_when_no_adaptive_candidate_is_usable() {
        let mut spec = super::super::tests::spec();
        spec.selection = Selection::MostCredits;
        let v = spec.vcs;
        let mut outs = outputs(&spec);
        // Routing lists the escape first; it has more credits, yet adaptive wins.
        let r = route(&[cand(0, 0, 1, kind::ESCAPE), cand(1, 1, 2, kind::ADAPTIVE)]);
        outs[0].credits = 8;
        outs[v + 1].credits = 3;
        assert_eq!(
            choose(&spec, &outs, &r, 1, &mut rng()),
            Some(((v + 1) as u32, 1))
        );
        outs[v + 1].owner = 5;
        assert_eq!(choose(&spec, &outs, &r, 1, &mut rng()), Some((0, 0)));
        outs[0].owner = 5;
        assert_eq!(choose(&spec, &outs, &r, 1, &mut rng()), None);
        // An escape offered after a usable adaptive candidate never displaces it.
        let mut outs = outputs(&spec);
        let r = route(&[cand(1, 1, 2, kind::ADAPTIVE), cand(0, 0, 1, kind::ESCAPE)]);
        outs[0].credits = 8;
        outs[v + 1].credits = 3;
        for selection in [Selection::MostCredits, Selection::First, Selection::Random] {
            spec.selection = selection;
            assert_eq!(
                choose(&spec, &outs, &r, 1, &mut rng()),
                Some(((v + 1) as u32, 0)),
                "{selection:?}"
            );
        }
    }

    #[test]
    fn most_credits_and_first_selection() {
        let mut spec = super::super::tests::spec();
        let v = spec.vcs;
        let mut outs = outputs(&spec);
        let r = route(&[
            cand(0, 0, 1, kind::ADAPTIVE),
            cand(2, 0, 1, kind::ADAPTIVE),
            cand(3, 0, 1, kind::ADAPTIVE),
        ]);
        outs[0].credits = 2;
        outs[2 * v].credits = 7;
        outs[3 * v].credits = 7;
        spec.selection = Selection::MostCredits;
        assert_eq!(
            choose(&spec, &outs, &r, 1, &mut rng()),
            Some(((2 * v) as u32, 1))
        );
        spec.selection = Selection::First;
        assert_eq!(choose(&spec, &outs, &r, 1, &mut rng()), Some((0, 0)));
        outs[0].credits = 0;
        assert_eq!(
            choose(&spec, &outs, &r, 1, &mut rng()),
            Some(((2 * v) as u32, 1))
        );
    }

    #[test]
    fn random_selection_is_uniform_and_deterministic_per_seed() {
        let mut spec = super::super::tests::spec();
        spec.selection = Selection::Random;
        let outs = outputs(&spec);
        let r = route(&[
            cand(0, 0, 1, kind::ADAPTIVE),
            cand(1, 0, 1, kind::ADAPTIVE),
            cand(2, 0, 1, kind::ADAPTIVE),
            cand(3, 0, 1, kind::ESCAPE),
        ]);
        let draw = |seed| {
            let mut g = Xoshiro256PlusPlus::seed_from_u64(seed);
            (0..300)
                .map(|_| choose(&spec, &outs, &r, 1, &mut g).unwrap().1)
                .collect::<Vec<u8>>()
        };
        let a = draw(1);
        assert_eq!(a, draw(1));
        assert_ne!(a, draw(2));
        for ci in 0..3 {
            let n = a.iter().filter(|&&p| p == ci).count();
            assert!((70..130).contains(&n), "candidate {ci} drawn {n} times");
        }
        assert!(!a.contains(&3), "the escape is never drawn");
    }

    #[test]
    fn escape_timeout_keeps_only_the_escape() {
        let mut spec = super::super::tests::spec();
        spec.timeout = Some(10);
        spec.timeout_action = TimeoutAction::Escape;
        let routing = super::super::tests::routing();
        let mut store = FlitStore::new(1, 4, false);
        let mut ivc = InputVc::new(0, 4);
        ivc.accept(&mut store, 0, Flit::default());
        ivc.ready = 5;
        ivc.route = route(&[cand(0, 0, 1, kind::ADAPTIVE), cand(1, 0, 1, kind::ESCAPE)]);
        let mut cnt = RouterCounters::default();
        check_timeout(&spec, 14, &mut ivc, &store, &routing, 0, &mut cnt);
        assert_eq!((ivc.route.as_slice().len(), cnt.timeouts), (2, 0));
        check_timeout(&spec, 15, &mut ivc, &store, &routing, 0, &mut cnt);
        assert_eq!(ivc.route.as_slice(), &[cand(1, 0, 1, kind::ESCAPE)]);
        assert_eq!((cnt.timeouts, cnt.rerouted_packets), (1, 1));
        check_timeout(&spec, 30, &mut ivc, &store, &routing, 0, &mut cnt);
        assert_eq!(cnt.timeouts, 1, "fires once per router");
    }

    #[test]
    fn vc_allocation_grants_each_output_vc_once() {
        let spec = super::super::tests::spec();
        let mut router = Router::new(0, &spec);
        let mut sc = Scratch::default();
        let mut cnt = RouterCounters::default();
        for i in [3usize, 6, 9] {
            router.inputs[i].accept(&mut router.store, 0, Flit::default());
            router.inputs[i].stage = Stage::WaitVc;
            router.inputs[i].route = route(&[cand(2, 1, 2, kind::ADAPTIVE)]);
        }
        let o = (2 * spec.vcs + 1) as u32;
        for i in [9u16, 3, 6] {
            sc.va.push((
                o,
                Request {
                    idx: i,
                    age: (0, 0),
                },
            ));
        }
        sc.va.push((
            0,
            Request {
                idx: 9,
                age: (0, 0),
            },
        ));
        router.inputs[9].pick = 0;
        router.vc_allocate(40, &spec, &mut sc, &mut cnt);
        let winners: Vec<u16> = sc.won.iter().map(|w| w.0).collect();
        assert_eq!(winners, [9, 3], "one winner per output VC, in output order");
        assert_eq!(router.outputs[o as usize].owner, 3);
        let ivc = &router.inputs[3];
        assert_eq!((ivc.stage, ivc.out, ivc.out_vc), (Stage::Active, 2, 1));
        assert_eq!(ivc.ready, 40 + spec.sa_after_va);
        assert_eq!(ivc.header_out, 102);
        assert_eq!(router.inputs[6].stage, Stage::WaitVc);
        assert_eq!(cnt.adaptive_hops, 2);
    }
}
