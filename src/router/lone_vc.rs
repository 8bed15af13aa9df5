//! The router cycle when a single input VC has a flit here: the common case below
//! saturation (at an injection rate of 0.1 most router updates move one flit).
//!
//! With one requester the separable allocators have nothing to arbitrate: the VC's
//! request wins its output VC and then the switch, exactly as in the general cycle
//! (same choice, same grant, same arbiter pointers), but without building request
//! lists, sorting or grouping them. The general cycle in [`Router::step`] stays the
//! reference; this path is taken only when it would do the same, and only without
//! per-channel statistics or a packet trace (their hooks live in the general cycle).

use super::input_unit::Stage;
use super::{Router, RouterCounters, RouterSpec, vc_alloc};
use crate::core::message::Msg;
use crate::routing::Routing;

/// How many input VCs have a flit here (arrived by the current cycle).
pub(super) enum Lone {
    None,
    One(usize),
    Many,
}

impl Router {
    /// Counts the occupied input VCs, stopping at the second. Every flit in a buffer
    /// has arrived (the engine hands a flit over in its arrival cycle), so an occupied
    /// VC has a flit here, and the count needs only the occupied set.
    #[inline]
    pub(super) fn lone_present_vc(&self) -> Lone {
        let mut found = Lone::None;
        for (wi, &word) in self.occupied.words().iter().enumerate() {
            if word == 0 {
                continue;
            }
            if word & (word - 1) != 0 {
                return Lone::Many;
            }
            if let Lone::One(_) = found {
                return Lone::Many;
            }
            found = Lone::One(wi * 64 + word.trailing_zeros() as usize);
        }
        found
    }

    /// One cycle with input VC `i` the only one holding a flit that has arrived.
    /// Returns whether the router must run again next cycle.
    pub(super) fn step_lone(
        &mut self,
        i: usize,
        t: u64,
        spec: &RouterSpec,
        routing: &Routing,
        out: &mut Vec<Msg>,
        cnt: &mut RouterCounters,
    ) -> bool {
        let v = spec.vcs;
        let ivc = &mut self.inputs[i];
        debug_assert!(ivc.front_at <= t, "a flit before its arrival");
        if ivc.stage != Stage::Active {
            if ivc.stage == Stage::Idle {
                let head = ivc.front(&self.store);
                debug_assert!(head.is_head(), "body flit at the front of an idle VC");
                let ready = t + spec.va_ready;
                let node = self.node as usize;
                ivc.route_head(routing, node, i / v, &head, ready);
            }
            if ivc.ready > t {
                return true;
            }
            let node = self.node as usize;
            vc_alloc::check_timeout(spec, t, ivc, &self.store, routing, node, cnt);
            let need = vc_alloc::credits_needed(spec, ivc.front_len);
            let choice = vc_alloc::choose(spec, &self.outputs, &ivc.route, need, &mut self.rng);
            ivc.pick = choice.map_or(0, |c| c.1);
            let Some((o, _)) = choice else {
                return true;
            };
            // The lone request wins its output VC.
            self.grant_vc(i, o, t, spec, cnt);
        }
        if !self.switch_ready(spec, i, t) {
            return true;
        }
        // The lone request wins the switch: every arbiter it passes points at it.
        let op = self.inputs[i].out as usize;
        self.ports[op].rr = i as u16;
        if spec.input_arbiter {
            self.in_rr[i / v] = i as u16;
        }
        self.traverse(i, op, t, spec, routing, out, cnt)
    }
}
