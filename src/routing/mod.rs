//! Routing functions: given where a head flit is and where it goes, propose the output
//! port(s) and the virtual channels it may use, and say whether the bubble rule applies.
//!
//! Routing proposes, the router's allocator chooses: a [`Route`] is a set of candidate
//! ports and a VC range, not a single channel. Deadlock avoidance is expressed as data
//! here (dateline VC classes, the bubble flag), so the router stays generic.

pub mod deadlock;

use crate::config::Params;
use crate::config::schema::{DeadlockAvoidance, RoutingAlgorithm};
use crate::core::direction::Direction;
use crate::core::flit::Flit;
use crate::topology::Torus;

/// Candidate outputs for a head flit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Route {
    /// Candidate ports are `port_lo .. port_lo + port_count`.
    pub port_lo: u16,
    pub port_count: u16,
    /// Usable VCs are `vc_lo .. vc_hi` on any candidate port.
    pub vc_lo: u16,
    pub vc_hi: u16,
    /// The packet enters a ring (injection or a turn): under bubble flow control the
    /// next buffer must keep room for one more whole packet afterwards.
    pub enters_ring: bool,
    /// `route_bits` the flit carries after this hop.
    pub bits: u8,
}

/// A routing function bound to one torus and VC layout. Cheap to clone; shared by all
/// routers of a partition.
#[derive(Clone, Debug)]
pub struct Routing {
    torus: Torus,
    algorithm: RoutingAlgorithm,
    order: Vec<Direction>,
    dla: DeadlockAvoidance,
    vcs: u16,
    classes: u16,
    ejectors: u16,
}

impl Routing {
    /// `classes` message classes (virtual subnetworks) split the VCs of every port.
    pub fn new(p: &Params, torus: &Torus, classes: usize) -> Routing {
        Routing {
            torus: torus.clone(),
            algorithm: p.routing,
            order: p.direction_order.clone(),
            dla: p.deadlock_avoidance,
            vcs: p.vcs as u16,
            classes: classes.max(1) as u16,
            ejectors: p.ejectors as u16,
        }
    }

    pub fn torus(&self) -> &Torus {
        &self.torus
    }

    pub fn deadlock_avoidance(&self) -> DeadlockAvoidance {
        self.dla
    }

    /// VCs of one message class.
    pub fn class_range(&self, class: u8) -> (u16, u16) {
        let w = self.vcs / self.classes;
        let lo = class as u16 * w;
        (lo, lo + w)
    }

    /// The network port a packet at `node` takes next toward `dest`, or `None` at the
    /// destination. A tie (distance exactly k/2 on an even ring) is broken by the
    /// parity of `src + dest + dimension`: half of the source/destination pairs go each
    /// way, which balances the two directions of the ring, and every router of a path
    /// computes the same choice (after one hop the tie is gone, so the direction never
    /// flips mid-ring). All packets of one pair take one path, so they stay in order.
    #[inline]
    pub fn next_port(&self, node: usize, src: usize, dest: usize) -> Option<usize> {
        let t = &self.torus;
        let minus = |d: usize, p: usize| {
            let k = t.shape()[d];
            2 * p > k || (2 * p == k && (src + dest + d) % 2 == 1)
        };
        match self.algorithm {
            RoutingAlgorithm::DimensionOrder => {
                for d in 0..t.dims() {
                    let p = t.plus_distance(node, dest, d);
                    if p != 0 {
                        return Some(2 * d + minus(d, p) as usize);
                    }
                }
                None
            }
            RoutingAlgorithm::DirectionOrder => {
                for dir in &self.order {
                    let p = t.plus_distance(node, dest, dir.dim);
                    if p != 0 && minus(dir.dim, p) == dir.minus {
                        return Some(Torus::port_of(*dir));
                    }
                }
                None
            }
        }
    }

    /// Full routing decision for a head flit that entered `node` through `in_port`.
    #[inline]
    pub fn route(&self, node: usize, in_port: usize, flit: &Flit) -> Route {
        let np = self.torus.network_ports();
        let (clo, chi) = self.class_range(flit.class);
        match self.next_port(node, flit.src() as usize, flit.dest as usize) {
            None => Route {
                port_lo: np as u16,
                port_count: self.ejectors,
                vc_lo: clo,
                vc_hi: chi,
                enters_ring: false,
                bits: 0,
            },
            Some(out) => {
                let same_ring = in_port == out;
                match self.dla {
                    DeadlockAvoidance::Dateline => {
                        let carried = same_ring && flit.route_bits & 1 == 1;
                        let b = carried || self.torus.crosses_dateline(node, out);
                        let half = (chi - clo) / 2;
                        let lo = clo + if b { half } else { 0 };
                        Route {
                            port_lo: out as u16,
                            port_count: 1,
                            vc_lo: lo,
                            vc_hi: lo + half,
                            // The dateline classes alone break the ring cycles; the
                            // bubble reservation is for `Bubble` only.
                            enters_ring: false,
                            bits: b as u8,
                        }
                    }
                    DeadlockAvoidance::Bubble | DeadlockAvoidance::None => Route {
                        port_lo: out as u16,
                        port_count: 1,
                        vc_lo: clo,
                        vc_hi: chi,
                        enters_ring: !same_ring && self.dla == DeadlockAvoidance::Bubble,
                        bits: 0,
                    },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    fn routing(extra: &str, shape: &str) -> Routing {
        let text = format!("[topology]\nshape = {shape}\n{extra}");
        let (_, p) = load_str(&text, None, &[]).unwrap();
        Routing::new(&p, &Torus::new(&p.shape), 1)
    }

    fn walk(r: &Routing, src: usize, dest: usize) -> Vec<usize> {
        let mut ports = vec![];
        let mut node = src;
        while let Some(p) = r.next_port(node, src, dest) {
            ports.push(p);
            node = r.torus().neighbor(node, p);
            assert!(ports.len() <= r.torus().diameter());
        }
        ports
    }

    #[test]
    fn dor_paths_are_minimal_and_ordered() {
        let r = routing("", "[8, 6]");
        let t = r.torus().clone();
        for s in 0..t.nodes() {
            for d in 0..t.nodes() {
                let ports = walk(&r, s, d);
                assert_eq!(ports.len(), t.distance(s, d));
                assert!(
                    ports.windows(2).all(|w| w[0] / 2 <= w[1] / 2),
                    "dimension order"
                );
            }
        }
    }

    #[test]
    fn direction_order_follows_the_list() {
        let r = routing(
            "[routing]\nalgorithm = \"direction-order\"\ndirection_order = [\"+x\", \"+y\", \"-x\", \"-y\"]\n",
            "[5, 5]",
        );
        let t = r.torus().clone();
        let rank = |p: usize| [0, 2, 1, 3][p];
        for s in 0..t.nodes() {
            for d in 0..t.nodes() {
                let ports = walk(&r, s, d);
                assert_eq!(ports.len(), t.distance(s, d));
                assert!(ports.windows(2).all(|w| rank(w[0]) <= rank(w[1])));
            }
        }
    }

    #[test]
    fn dateline_switches_class_on_the_wrap_link() {
        let r = routing("", "[4]");
        let mut f = Flit {
            // From node 3 to node 1 is a tie (2 hops either way); 3 + 1 is even: plus.
            packet: 3 << 32,
            dest: 1,
            len: 1,
            ..Default::default()
        };
        // From node 3 the +x hop to node 0 wraps: class 1 (VC 1 of 2).
        let route = r.route(3, 2, &f);
        assert_eq!(
            (route.port_lo, route.vc_lo, route.vc_hi, route.bits),
            (0, 1, 2, 1)
        );
        f.route_bits = route.bits;
        // Continuing in the same ring keeps class 1.
        let route = r.route(0, 0, &f);
        assert_eq!((route.vc_lo, route.bits), (1, 1));
    }
}
