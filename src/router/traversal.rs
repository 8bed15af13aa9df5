//! Switch traversal: a flit granted the switch leaves its input VC, frees a buffer
//! slot upstream (a credit) and travels to the next router or the ejector.
//!
//! Shared by the general cycle ([`Router::step`]) and the lone-VC path
//! (`super::lone_vc`), so a flit leaves the router in exactly one way whichever path
//! granted it.

use super::input_unit::Stage;
use super::output_unit::NONE;
use super::{Router, RouterCounters, RouterSpec};
use crate::core::message::Msg;
use crate::routing::Routing;

impl Router {
    /// Input VC `i`, granted output port `op` in cycle `t`, sends its front flit.
    /// Returns whether a flit that has arrived is still at the VC's front.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn traverse(
        &mut self,
        i: usize,
        op: usize,
        t: u64,
        spec: &RouterSpec,
        routing: &Routing,
        out: &mut Vec<Msg>,
        cnt: &mut RouterCounters,
    ) -> bool {
        let v = spec.vcs;
        let node = self.node as usize;
        let ivc = &mut self.inputs[i];
        if let Some(c) = &mut self.chan {
            let held = ivc.held(&self.store, t);
            c.sent(i, held, op, spec.np, ivc.front_at, ivc.ready, t);
        }
        let mut f = ivc.pop(&mut self.store);
        if let Some(tr) = &mut self.trace {
            tr.sent(i, &f, t);
        }
        // Every buffered flit has arrived, so a flit is still here if any is held.
        let still_present = ivc.len() > 0;
        if !still_present {
            self.occupied.remove(i);
        }
        f.route = ivc.header_out;
        f.class = ivc.class_out;
        let ovc_i = op * v + ivc.out_vc as usize;
        let out_vc = ivc.out_vc;
        if f.is_tail() {
            ivc.stage = Stage::Idle;
            self.outputs[ovc_i].owner = NONE;
            // The next packet's header is analysed while this tail leaves: route
            // computation is stateless, so it overlaps the previous packet's last
            // switch cycle instead of leaving a bubble between packets. Without
            // overlap the VC stays idle this cycle and routes the head next cycle.
            if spec.overlap_route_computation && still_present {
                let next = ivc.front(&self.store);
                let ready = t + spec.va_ready;
                ivc.route_head(routing, node, i / v, &next, ready);
            }
        }
        self.outputs[ovc_i].credits -= 1;
        self.ports[op].take_token(spec, op, t);
        let (in_port, in_vc) = (i / v, (i % v) as u16);
        if in_port < spec.np {
            out.push(Msg::Credit {
                at: t + spec.credit_latency,
                node: routing.torus().neighbor(node, in_port ^ 1) as u32,
                port: in_port as u16,
                vc: in_vc,
                tail: f.is_tail(),
            });
        } else {
            out.push(Msg::InjectCredit {
                at: t + spec.injection_latency,
                node: self.node,
                port: (in_port - spec.np) as u16,
                vc: in_vc,
            });
        }
        if op < spec.np {
            f.hops += 1;
            cnt.flit_hops += 1;
            self.ports[op].flits += 1;
            out.push(Msg::Flit {
                at: t + spec.to_next_router,
                node: routing.torus().neighbor(node, op) as u32,
                port: op as u16,
                vc: out_vc,
                flit: f,
            });
        } else {
            out.push(Msg::Eject {
                at: t + spec.to_ejector,
                node: self.node,
                port: (op - spec.np) as u16,
                vc: out_vc,
                flit: f,
            });
        }
        still_present
    }
}
