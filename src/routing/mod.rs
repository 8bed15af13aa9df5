//! Routing: given where a head flit is and where it goes, propose the ways it may leave
//! the router, in order of preference.
//!
//! Routing proposes, the router chooses: a [`Route`] is a short list of [`Candidate`]s
//! (an output port range, a VC range, whether the hop enters a ring, the route header
//! the packet carries on), and the router takes one its flow control allows, by the
//! configured selection policy. Deadlock avoidance is expressed as data here (VC ranges
//! from the ring rule, the bubble flag), so the router stays generic, and the static
//! deadlock check ([`deadlock`]) reads the very same candidates: every rule is written
//! once.
//!
//! Each algorithm is one file behind [`RoutingFunction`]: [`ordered`] (dimension and
//! direction order), [`table`] (per-source tables with First/Last Step for faults) and
//! [`adaptive`] (minimal adaptive with an escape channel).

pub mod adaptive;
pub mod deadlock;
pub mod header;
pub mod ordered;
pub mod table;

use crate::config::Params;
use crate::config::schema::{DeadlockAvoidance, EscapeRouting, RoutingAlgorithm};
use crate::core::direction::Direction;
use crate::core::flit::Flit;
use crate::topology::Torus;
use crate::topology::tree::TreeSet;
use std::sync::Arc;

/// What kind of hop a candidate is, as bits, for the hop counters.
pub mod kind {
    pub const FIRST_STEP: u8 = 1;
    pub const LAST_STEP: u8 = 2;
    pub const ADAPTIVE: u8 = 4;
    pub const ESCAPE: u8 = 8;
}

/// One way a head flit may leave a router.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Candidate {
    /// Output ports `port_lo .. port_lo + port_count` (several only for ejectors).
    pub port_lo: u8,
    pub port_count: u8,
    /// Usable VCs are `vc_lo .. vc_hi` on the port(s).
    pub vc_lo: u8,
    pub vc_hi: u8,
    /// The packet enters a ring (injection, a turn, or a move onto the escape VC):
    /// under bubble flow control the next buffer must keep room for one more whole
    /// packet afterwards.
    pub enters_ring: bool,
    /// [`kind`] bits.
    pub kind: u8,
    /// The route header the packet carries after this hop.
    pub header: u16,
}

impl Candidate {
    pub fn is_escape(&self) -> bool {
        self.kind & kind::ESCAPE != 0
    }
}

/// Candidates a routing function may propose at once: the productive directions of a
/// 4-D torus at most 2 each, and an escape.
pub const MAX_CANDIDATES: usize = 9;

/// The candidates for one head flit, best first. `len` first (`repr(C)`), so a
/// route kept at the end of a router's input VC state shares its cache line with the
/// first candidate.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct Route {
    len: u8,
    c: [Candidate; MAX_CANDIDATES],
}

impl Route {
    pub fn clear(&mut self) {
        self.len = 0;
    }
    /// Adds a candidate; beyond [`MAX_CANDIDATES`] the least preferred are dropped
    /// (routing functions add their escape first-class so it is never dropped).
    #[inline]
    pub fn push(&mut self, c: Candidate) {
        if (self.len as usize) < MAX_CANDIDATES {
            self.c[self.len as usize] = c;
            self.len += 1;
        }
    }
    /// Drops the least preferred candidate.
    pub fn pop(&mut self) {
        self.len = self.len.saturating_sub(1);
    }
    #[inline]
    pub fn as_slice(&self) -> &[Candidate] {
        &self.c[..self.len as usize]
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Keeps only the candidates `keep` accepts.
    pub fn retain(&mut self, keep: impl Fn(&Candidate) -> bool) {
        let mut n = 0;
        for i in 0..self.len as usize {
            if keep(&self.c[i]) {
                self.c[n] = self.c[i];
                n += 1;
            }
        }
        self.len = n as u8;
    }
}

/// A routing algorithm. `route` must be a pure function of its arguments: the router
/// may compute it early, again after a timeout, and the deadlock check calls it for
/// every state a packet can be in.
pub trait RoutingFunction: Send + Sync + std::fmt::Debug {
    /// Candidates for the head `flit` at `node`, arrived through `in_port` (an
    /// injector when `in_port >= 2n`), into `out` (cleared by the caller).
    fn route(&self, net: &Network, node: usize, in_port: usize, flit: &Flit, out: &mut Route);

    /// Whether the deadlock check should treat the packet as entering the network at
    /// every node (adaptive routing: a packet can move to the escape channel anywhere)
    /// rather than only at its source.
    fn escape_anywhere(&self) -> bool {
        false
    }

    /// Whether the paths the deadlock check follows are *plane-separable* on a torus
    /// without faults: each crosses a dimension at most once, the hop at a node reads
    /// the node's and the destination's coordinates only in the ring it travels and
    /// the ring it turns into, and the route header forgets a ring when the packet
    /// leaves it. Ordered routes are; then the check can walk the two-dimensional
    /// planes alone (see [`deadlock`]), which is what makes it fast on large tori.
    /// `false` (the safe default) makes the check walk every pair.
    fn plane_separable(&self) -> bool {
        false
    }
}

/// What every routing function shares: the torus and its faults, the VC layout and
/// the ring rule that keeps rings deadlock-free.
#[derive(Clone, Debug)]
pub struct Network {
    pub torus: Torus,
    pub dla: DeadlockAvoidance,
    pub vcs: u16,
    pub classes: u16,
    pub ejectors: u16,
    /// VCs per class (`vcs / classes`, divided once: routing reads it every hop).
    class_width: u16,
    /// The collective trees, if configured: tree `t`'s packets have class
    /// `tree_class + t` and use VC `tree_vc + t` only (appended after the VCs of the
    /// ordinary classes, which `vcs` includes).
    pub trees: Option<Arc<TreeSet>>,
    /// The first tree class (`u8::MAX` without trees: no class reaches it).
    pub tree_class: u8,
    pub tree_vc: u16,
}

impl Network {
    /// The network of `p` on `torus`, its VCs split into `classes` message classes.
    /// Without trees even when `p` configures them: [`Routing::build`] adds them.
    pub fn of(p: &Params, torus: &Torus, classes: usize) -> Network {
        Network {
            torus: torus.clone(),
            dla: p.deadlock_avoidance,
            vcs: p.router_vcs() as u16,
            classes: classes.max(1) as u16,
            ejectors: p.ejectors as u16,
            class_width: p.vcs as u16 / classes.max(1) as u16,
            trees: None,
            tree_class: u8::MAX,
            tree_vc: p.vcs as u16,
        }
    }

    /// Attaches collective trees: their classes follow the ordinary ones.
    pub fn with_trees(mut self, trees: Arc<TreeSet>) -> Network {
        self.tree_class = self.classes as u8;
        self.vcs = self.tree_vc + trees.trees.len() as u16;
        self.trees = Some(trees);
        self
    }

    /// The route of a tree packet: one hop over the tree edge to its destination (a
    /// neighbour), then the ejector, always on the tree's own VC. The engines at both
    /// ends consume tree packets as they arrive, so a tree channel waits for nothing
    /// beyond its next hop (the deadlock check still adds the engine's forwarding,
    /// see `deadlock::tree_dependencies`). A destination that is not a tree
    /// neighbour gets no candidate.
    #[cold]
    fn tree_route(&self, node: usize, flit: &Flit, out: &mut Route) {
        let Some(trees) = &self.trees else { return };
        let t = (flit.class - self.tree_class) as usize;
        let Some(tree) = trees.trees.get(t) else {
            return;
        };
        let vc = (self.tree_vc + t as u16) as u8;
        let dest = flit.dest as usize;
        let port = if dest == node {
            self.torus.network_ports()
        } else {
            match tree.port_to(node, dest) {
                Some(p) => p,
                None => return,
            }
        };
        out.push(Candidate {
            port_lo: port as u8,
            port_count: if dest == node { self.ejectors as u8 } else { 1 },
            vc_lo: vc,
            vc_hi: vc + 1,
            enters_ring: false,
            kind: 0,
            header: 0,
        });
    }

    /// VCs of one message class (virtual subnetwork).
    #[inline(always)]
    pub fn class_range(&self, class: u8) -> (u16, u16) {
        let w = self.class_width;
        let lo = class as u16 * w;
        (lo, lo + w)
    }

    /// The ejection candidate: any ejector, any VC of the class.
    #[inline(always)]
    pub fn eject(&self, class: u8) -> Candidate {
        let (lo, hi) = self.class_range(class);
        Candidate {
            port_lo: self.torus.network_ports() as u8,
            port_count: self.ejectors as u8,
            vc_lo: lo as u8,
            vc_hi: hi as u8,
            enters_ring: false,
            kind: 0,
            header: 0,
        }
    }

    /// The ring rule, written once: a hop from `node` out of `out` on the VCs
    /// `lo..hi` of a deadlock-free ring discipline. `continuing` says the packet
    /// already travels in this ring on these VCs; `ring_hops` is how many hops it will
    /// take in this ring from here (only the entry-time dateline rule reads it).
    /// Returns the candidate with its VC range, bubble flag and the dateline bit of
    /// `header` set.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub fn ring_hop(
        &self,
        node: usize,
        out: usize,
        lo: u16,
        hi: u16,
        continuing: bool,
        header: u16,
        ring_hops: usize,
        kind: u8,
    ) -> Candidate {
        let mut c = Candidate {
            port_lo: out as u8,
            port_count: 1,
            vc_lo: lo as u8,
            vc_hi: hi as u8,
            enters_ring: false,
            kind,
            header: header & !header::DATELINE,
        };
        let upper = match self.dla {
            DeadlockAvoidance::Dateline => {
                (continuing && header & header::DATELINE != 0)
                    || self.torus.crosses_dateline(node, out)
            }
            DeadlockAvoidance::DatelineEntry => {
                if continuing {
                    header & header::DATELINE != 0
                } else {
                    self.torus.ring_walk_wraps(node, out, ring_hops)
                }
            }
            DeadlockAvoidance::Bubble => {
                c.enters_ring = !continuing;
                return c;
            }
            DeadlockAvoidance::None => return c,
        };
        let half = (hi - lo) / 2;
        let l = lo + if upper { half } else { 0 };
        c.vc_lo = l as u8;
        c.vc_hi = (l + half) as u8;
        if upper {
            c.header |= header::DATELINE;
        }
        c
    }
}

/// The routing of a run: the network and its algorithm. Cheap to clone; shared by all
/// routers of a partition.
#[derive(Clone, Debug)]
pub struct Routing {
    net: Network,
    algo: Algorithm,
}

/// The shipped algorithms are matched directly, so the router's hot path can inline
/// them; anything else (a hand-written table in a test, a new algorithm under
/// development) goes through the trait object.
#[derive(Clone, Debug)]
enum Algorithm {
    Ordered(ordered::Ordered),
    Table(Arc<table::TableRouting>),
    Adaptive(Arc<adaptive::Adaptive>),
    Other(Arc<dyn RoutingFunction>),
}

impl Algorithm {
    fn get(&self) -> &dyn RoutingFunction {
        match self {
            Algorithm::Ordered(a) => a,
            Algorithm::Table(a) => a.as_ref(),
            Algorithm::Adaptive(a) => a.as_ref(),
            Algorithm::Other(a) => a.as_ref(),
        }
    }
}

/// A routing configuration that cannot be built (table generation found no
/// deadlock-free route for some pair).
#[derive(Clone, Debug)]
pub struct RoutingError(pub String);

impl std::fmt::Display for RoutingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RoutingError {}

impl Routing {
    /// `classes` message classes (virtual subnetworks) split the VCs of every port.
    /// Table routing generates its tables here; with faults that can fail.
    pub fn build(p: &Params, torus: &Torus, classes: usize) -> Result<Routing, RoutingError> {
        let mut net = Network::of(p, torus, classes);
        if let Some(c) = &p.collectives {
            let trees = TreeSet::build(torus, &c.roots).map_err(RoutingError)?;
            net = net.with_trees(Arc::new(trees));
        }
        let dimension_order: Vec<Direction> = (0..torus.dims())
            .flat_map(|d| [false, true].map(|minus| Direction { dim: d, minus }))
            .collect();
        let algo = match p.routing {
            RoutingAlgorithm::DimensionOrder => {
                Algorithm::Ordered(ordered::Ordered::new(dimension_order))
            }
            RoutingAlgorithm::DirectionOrder => {
                Algorithm::Ordered(ordered::Ordered::new(p.direction_order.clone()))
            }
            RoutingAlgorithm::Table => Algorithm::Table(Arc::new(table::TableRouting::build(
                &net,
                p.direction_order.clone(),
            )?)),
            RoutingAlgorithm::Adaptive => {
                let escape = match p.escape {
                    EscapeRouting::DirectionOrder => {
                        Some(table::TableRouting::build(&net, p.direction_order.clone())?)
                    }
                    EscapeRouting::DimensionOrder => {
                        Some(table::TableRouting::build(&net, dimension_order)?)
                    }
                    EscapeRouting::None => None,
                };
                Algorithm::Adaptive(Arc::new(adaptive::Adaptive::new(&net, escape)))
            }
        };
        Ok(Routing { net, algo })
    }

    /// The network of `p` with a given routing function instead of the configured
    /// algorithm, e.g. a hand-written table for tests of the deadlock check.
    pub fn with_function(
        p: &Params,
        torus: &Torus,
        classes: usize,
        algo: Arc<dyn RoutingFunction>,
    ) -> Routing {
        Routing {
            net: Network::of(p, torus, classes),
            algo: Algorithm::Other(algo),
        }
    }

    /// [`Routing::build`] for configs known to need no tables (no faults), e.g. in
    /// tests and tools; panics if table generation fails.
    pub fn new(p: &Params, torus: &Torus, classes: usize) -> Routing {
        Routing::build(p, torus, classes).expect("routing tables can be built")
    }

    pub fn torus(&self) -> &Torus {
        &self.net.torus
    }

    pub fn network(&self) -> &Network {
        &self.net
    }

    /// The same routing with `trees` as its collective trees (instead of those of the
    /// config), e.g. a deliberately broken one in a test of the deadlock check.
    pub fn with_trees(mut self, trees: TreeSet) -> Routing {
        self.net = self.net.with_trees(Arc::new(trees));
        self
    }

    /// The collective trees, if configured.
    pub fn trees(&self) -> Option<&TreeSet> {
        self.net.trees.as_deref()
    }

    pub fn deadlock_avoidance(&self) -> DeadlockAvoidance {
        self.net.dla
    }

    pub fn class_range(&self, class: u8) -> (u16, u16) {
        self.net.class_range(class)
    }

    pub fn escape_anywhere(&self) -> bool {
        self.algo.get().escape_anywhere()
    }

    /// Whether the deadlock check may build its graph from the planes through the
    /// origin: the algorithm's paths are plane-separable and no link has failed (a
    /// fault breaks the symmetry between parallel planes).
    pub fn plane_separable(&self) -> bool {
        !self.net.torus.has_faults() && self.algo.get().plane_separable()
    }

    /// The candidates for a head flit that entered `node` through `in_port`.
    #[inline]
    pub fn route(&self, node: usize, in_port: usize, flit: &Flit, out: &mut Route) {
        out.clear();
        if flit.class >= self.net.tree_class {
            return self.net.tree_route(node, flit, out);
        }
        match &self.algo {
            Algorithm::Ordered(a) => a.route(&self.net, node, in_port, flit, out),
            Algorithm::Table(a) => a.route(&self.net, node, in_port, flit, out),
            Algorithm::Adaptive(a) => a.route(&self.net, node, in_port, flit, out),
            Algorithm::Other(a) => a.route(&self.net, node, in_port, flit, out),
        }
    }

    /// The path the packet from `src` to `dest` takes when every router picks the
    /// first candidate: (node, out port, kind bits) per hop. For deterministic routing
    /// this is the path; for adaptive routing one of many.
    pub fn walk(&self, src: usize, dest: usize, class: u8) -> Vec<(usize, usize, u8)> {
        let np = self.net.torus.network_ports();
        let mut f = Flit {
            packet: crate::core::flit::packet_id(src as u32, 0),
            dest: dest as u32,
            len: 1,
            class,
            ..Default::default()
        };
        let mut hops = Vec::new();
        let mut node = src;
        let mut in_port = np;
        let mut r = Route::default();
        let limit = 4 * self.net.torus.nodes() + 16;
        loop {
            self.route(node, in_port, &f, &mut r);
            let Some(c) = r.as_slice().first() else {
                break;
            };
            let out = c.port_lo as usize;
            if out >= np || hops.len() > limit {
                break;
            }
            hops.push((node, out, c.kind));
            f.route = c.header;
            in_port = out;
            node = self.net.torus.neighbor(node, out);
        }
        hops
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    pub(crate) fn routing(extra: &str, shape: &str) -> Routing {
        let text = format!("[topology]\nshape = {shape}\n{extra}");
        let (_, p) = load_str(&text, None, &[]).unwrap();
        Routing::new(&p, &Torus::from_params(&p), 1)
    }

    fn ports(r: &Routing, s: usize, d: usize) -> Vec<usize> {
        r.walk(s, d, 0).into_iter().map(|h| h.1).collect()
    }

    #[test]
    fn dor_paths_are_minimal_and_ordered() {
        let r = routing("", "[8, 6]");
        let t = r.torus().clone();
        for s in 0..t.nodes() {
            for d in 0..t.nodes() {
                let ports = ports(&r, s, d);
                assert_eq!(ports.len(), t.distance(s, d));
                assert!(
                    ports.windows(2).all(|w| w[0] / 2 <= w[1] / 2),
                    "dimension order"
                );
                // One direction per ring.
                assert!(
                    ports
                        .windows(2)
                        .all(|w| w[0] / 2 != w[1] / 2 || w[0] == w[1])
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
                let ports = ports(&r, s, d);
                assert_eq!(ports.len(), t.distance(s, d));
                assert!(ports.windows(2).all(|w| rank(w[0]) <= rank(w[1])));
            }
        }
    }

    #[test]
    fn ties_split_evenly_per_ring_and_direction() {
        // Every pair at distance k/2 in x: half go +x, half -x, in every ring.
        for shape in ["[8, 8]", "[6, 4]", "[4, 4, 4]"] {
            let r = routing("", shape);
            let t = r.torus().clone();
            let k = t.shape()[0];
            let (mut plus, mut minus) = (0, 0);
            for s in 0..t.nodes() {
                let mut c = t.coords(s);
                c[0] = (c[0] + k / 2) % k;
                let d = t.node_at(&c);
                match ports(&r, s, d)[0] {
                    0 => plus += 1,
                    1 => minus += 1,
                    p => panic!("port {p}"),
                }
            }
            assert_eq!(plus, minus, "{shape}");
        }
    }

    #[test]
    fn dateline_switches_class_on_the_wrap_link() {
        let r = routing("", "[4]");
        let f = Flit {
            // From node 3 to node 1 is a tie (2 hops either way); x = 3 is odd: minus.
            // From node 2 to node 0 the tie goes plus (x = 2 is even) over the wrap.
            packet: 2 << 32,
            dest: 0,
            len: 1,
            ..Default::default()
        };
        let mut route = Route::default();
        // At node 3, having come +x from node 2, the hop to node 0 wraps: class 1.
        r.route(3, 0, &f, &mut route);
        let c = route.as_slice()[0];
        assert_eq!((c.port_lo, c.vc_lo, c.vc_hi), (0, 1, 2));
        assert_ne!(c.header & header::DATELINE, 0);
        // Before the wrap: class 0.
        r.route(2, 2, &f, &mut route);
        let c = route.as_slice()[0];
        assert_eq!((c.port_lo, c.vc_lo, c.vc_hi), (0, 0, 1));
    }
}
