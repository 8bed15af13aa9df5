//! Minimal adaptive routing with an escape channel, after the Adaptive Bubble Router
//! (Puente et al., ICPP 1999): every productive direction over a live link is a
//! candidate on the adaptive VCs of the packet's class; the escape candidate follows
//! deterministic direction (or dimension) order, with First/Last Step tables when links
//! have failed, on the lowest VC(s) of the class under bubble flow control (one VC) or
//! the dateline rule (two VCs).
//!
//! A packet that takes the escape channel stays on it to its destination. So the only
//! dependencies that matter for deadlock are those among escape channels (Duato's
//! condition holds when the escape paths from every node are acyclic), which the static
//! check verifies; adaptive channels may wait on anything.

use super::header;
use super::ordered;
use super::table::TableRouting;
use super::{Candidate, Network, Route, RoutingFunction, kind};
use crate::config::schema::DeadlockAvoidance;
use crate::core::flit::Flit;

#[derive(Clone, Debug)]
pub struct Adaptive {
    escape: Option<TableRouting>,
    /// VCs of a class that belong to the escape channel (the lowest ones).
    escape_vcs: u16,
}

impl Adaptive {
    pub fn new(net: &Network, escape: Option<TableRouting>) -> Adaptive {
        let escape_vcs = match (&escape, net.dla) {
            (None, _) => 0,
            (Some(_), DeadlockAvoidance::Bubble | DeadlockAvoidance::None) => 1,
            (Some(_), _) => 2,
        };
        Adaptive { escape, escape_vcs }
    }
}

impl RoutingFunction for Adaptive {
    fn route(&self, net: &Network, node: usize, in_port: usize, flit: &Flit, out: &mut Route) {
        let t = &net.torus;
        let dest = flit.dest as usize;
        if node == dest {
            out.push(net.eject(flit.class));
            return;
        }
        let (lo, hi) = net.class_range(flit.class);
        let elo = lo;
        let ehi = lo + self.escape_vcs;
        if flit.route & header::ESCAPE != 0 {
            let esc = self
                .escape
                .as_ref()
                .expect("only an escape offers escape headers");
            out.push(ordered::candidate(
                net,
                esc.order(),
                node,
                in_port,
                true,
                flit,
                flit.route,
                elo,
                ehi,
                kind::ESCAPE,
            ));
            return;
        }
        // Productive directions: the short way in every unfinished dimension, both
        // ways at a tie (the usual tie choice first).
        for d in 0..t.dims() {
            let p = t.plus_distance(node, dest, d);
            if p == 0 {
                continue;
            }
            let minus = t.short_way_is_minus(node, d, p);
            let tie = 2 * p == t.shape()[d];
            for m in [minus, !minus].into_iter().take(1 + tie as usize) {
                let port = 2 * d + m as usize;
                if t.link_alive(node, port) {
                    out.push(Candidate {
                        port_lo: port as u8,
                        port_count: 1,
                        vc_lo: ehi as u8,
                        vc_hi: hi as u8,
                        enters_ring: false,
                        kind: kind::ADAPTIVE,
                        header: flit.route,
                    });
                }
            }
        }
        if let Some(esc) = &self.escape {
            // Onto the escape channel here: a new packet of the escape network, with
            // this node's table entry.
            let h = esc.header(node, dest) | header::ESCAPE;
            let c = ordered::candidate(
                net,
                esc.order(),
                node,
                in_port,
                false,
                flit,
                h,
                elo,
                ehi,
                kind::ESCAPE,
            );
            // Keep the escape even if the productive directions filled the list.
            if out.as_slice().len() >= super::MAX_CANDIDATES {
                out.pop();
            }
            out.push(c);
        }
    }

    fn escape_anywhere(&self) -> bool {
        true
    }

    /// The check follows the escape channel only: ordered routes, separable while its
    /// tables are plain direction order (no entries, as without faults).
    fn plane_separable(&self) -> bool {
        self.escape.as_ref().is_none_or(|e| e.is_plain())
    }
}
