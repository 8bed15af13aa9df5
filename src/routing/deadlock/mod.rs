//! Static deadlock check: build the channel dependency graph (CDG) of a routing
//! configuration from the routing function itself and look for cycles.
//!
//! A channel is (router, output port, VC). A packet holding one channel may request the
//! next one on its path, which is a dependency. Without bubble flow control a cycle
//! means the configuration can deadlock (Dally & Seitz). With bubble flow control a
//! ring cannot fill up, so dependencies *inside* one unidirectional ring are harmless:
//! rings are contracted to single vertices and only cycles *between* rings count.
//!
//! Adaptive routing is checked by Duato's condition on its escape channels: a packet
//! may move to the escape channel at any router and then stays on it, so the escape
//! paths from every node to every destination must form an acyclic graph, and every
//! routing state must offer the escape channel.
//!
//! The graph is built by calling [`Routing::route`](crate::routing::Routing::route),
//! the function the routers call: no rule is written twice. Walking every destination
//! from every source costs one step per (destination, state), so it grows with the
//! square of the nodes. When the routing is plane-separable (ordered routes on a torus
//! without faults, see [`Routing::plane_separable`](crate::routing::Routing::plane_separable))
//! the check walks only the two-dimensional planes through the origin and places
//! copies of their dependencies in every parallel plane: the same graph, at a cost
//! proportional to the channels (see [`by_planes`]).

mod graph;
mod walk;

pub use graph::DepGraph;

use crate::routing::Routing;
use walk::{Channel, Walker};

/// Outcome of the check: the graph's size, and what is wrong if anything is.
#[derive(Debug, Clone)]
pub struct CdgReport {
    pub channels: usize,
    pub dependencies: usize,
    /// The channels of one dependency cycle.
    pub cycle: Option<Vec<String>>,
    /// A problem other than a cycle (no escape channel, a route that never arrives).
    pub problem: Option<String>,
}

impl CdgReport {
    pub fn is_safe(&self) -> bool {
        self.cycle.is_none() && self.problem.is_none()
    }
}

/// How the check finds the dependencies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// The planes when the routing allows it, else every destination.
    Auto,
    /// Every destination from every source: always correct, quadratic in the nodes.
    /// Tests use it to confirm the planes give the same graph.
    EveryDestination,
}

/// Builds the CDG of `r` for `classes` message classes and reports a cycle.
pub fn check(r: &Routing, classes: usize) -> CdgReport {
    check_with(r, classes, Method::Auto)
}

/// [`check`] with the way of finding dependencies chosen by the caller.
pub fn check_with(r: &Routing, classes: usize, method: Method) -> CdgReport {
    let mut dep = DepGraph::new(r.network());
    let planes = method == Method::Auto && r.plane_separable() && r.torus().dims() >= 3;
    let walked = if planes {
        by_planes(r, classes, &mut dep)
    } else {
        by_destination(r, classes, &mut dep)
    };
    let walked = walked.map(|()| tree_dependencies(r, &mut dep));
    let problem = walked.err();
    CdgReport {
        channels: dep.channels(),
        dependencies: dep.dependencies(),
        cycle: if problem.is_some() {
            None
        } else {
            dep.find_cycle()
        },
        problem,
    }
}

/// The dependencies of the collective trees' VCs, if any. A tree packet crosses one
/// link and is taken off the network by the collectives engine at the far end, so by
/// itself it holds one channel. The check nevertheless assumes the engine forwards
/// like a router (holding the arriving packet until its successor has left), which
/// is the worst case: a packet from a child waits for the link to the parent (a
/// reduction going up) or to another child (a broadcast or a result turning down),
/// and a packet from the parent waits for the links to the children. Up-links lead
/// toward the root and down-links away from it, and nothing turns from down to up, so
/// a real tree gives an acyclic graph; a "tree" whose parent links form a loop does not.
fn tree_dependencies(r: &Routing, dep: &mut DepGraph) {
    let Some(trees) = r.trees() else { return };
    let t = r.torus();
    let base = r.network().tree_vc as usize;
    for (i, tree) in trees.trees.iter().enumerate() {
        let vc = base + i;
        for v in 0..t.nodes() {
            let up = tree.up_port(v).map(|p| (v, p, vc));
            let kids = tree.children(v);
            for &(c, _) in kids {
                let c = c as usize;
                let Some(cp) = tree.up_port(c) else { continue };
                let from_child = (c, cp, vc);
                if let Some(up) = up {
                    dep.add_dep(from_child, up);
                }
                for &(_, p) in kids {
                    dep.add_dep(from_child, (v, p as usize, vc));
                }
                if let Some(up) = up {
                    // From the parent down to `v`, then down to each child.
                    let u = tree.parent(v).expect("an up-link has a parent");
                    let down = (u, up.1 ^ 1, vc);
                    dep.add_dep(down, (v, cp ^ 1, vc));
                }
            }
        }
    }
}

/// Every live destination, from every live source.
fn by_destination(r: &Routing, classes: usize, dep: &mut DepGraph) -> Result<(), String> {
    let live = r.torus().live_nodes();
    let mut w = Walker::new(r);
    for class in 0..classes as u8 {
        for &d in &live {
            w.tree(class, d, &live, &mut |a, b| dep.add_dep(a, b))?;
        }
    }
    Ok(())
}

/// The dependencies of a plane-separable routing from its planes.
///
/// Why this is the whole graph: an ordered route crosses each dimension at most once,
/// and its header forgets a ring when it leaves it. A dependency inside ring `i` at
/// node `x` therefore depends only on where the packet entered the ring and where it
/// leaves it, and a turn at `x` from ring `i` into ring `j` only on where it entered
/// ring `i` and its target in `j`. The packet from `x` with coordinate `i` replaced by
/// its entry point to `x` with coordinate `j` replaced by its target (two nodes that
/// differ from `x` in dimensions `i` and `j` only) creates the same dependency. And the
/// route of a pair that differs in `i` and `j` only is the same in every plane parallel
/// to the `(i, j)` plane, because the other coordinates are equal and the routing
/// reads none of them. So the dependencies of the planes through the origin, moved
/// to every parallel plane, are exactly those of all pairs. Cost: per dimension pair
/// `(k_i k_j)^2` walk steps, plus one edge insertion per dependency of the result.
fn by_planes(r: &Routing, classes: usize, dep: &mut DepGraph) -> Result<(), String> {
    let t = r.torus();
    let dims = t.dims();
    let mut w = Walker::new(r);
    let mut edges: Vec<(Channel, Channel)> = Vec::new();
    for i in 0..dims {
        for j in i + 1..dims {
            let mut c = vec![0; dims];
            let mut plane = Vec::with_capacity(t.shape()[i] * t.shape()[j]);
            for b in 0..t.shape()[j] {
                for a in 0..t.shape()[i] {
                    c[i] = a;
                    c[j] = b;
                    plane.push(t.node_at(&c));
                }
            }
            edges.clear();
            for class in 0..classes as u8 {
                for &d in &plane {
                    w.tree(class, d, &plane, &mut |a, b| edges.push((a, b)))?;
                }
            }
            edges.sort_unstable();
            edges.dedup();
            // The other coordinates of a node are an offset added to its plane
            // coordinates (node ids are mixed-radix numbers of the coordinates).
            for o in (0..t.nodes()).filter(|&n| t.coord(n, i) == 0 && t.coord(n, j) == 0) {
                for &(a, b) in &edges {
                    dep.add_dep((a.0 + o, a.1, a.2), (b.0 + o, b.1, b.2));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;
    use crate::topology::Torus;

    fn routing(shape: &str, extra: &str) -> Routing {
        routing_for(shape, extra, 1)
    }

    fn routing_for(shape: &str, extra: &str, classes: usize) -> Routing {
        let text = format!("[topology]\nshape = {shape}\n{extra}");
        let (_, p) = load_str(&text, None, &[]).unwrap();
        Routing::new(&p, &Torus::from_params(&p), classes)
    }

    /// The graphs of the planes and of all pairs, which must agree.
    fn both(r: &Routing, classes: usize) -> (CdgReport, CdgReport) {
        (
            check_with(r, classes, Method::Auto),
            check_with(r, classes, Method::EveryDestination),
        )
    }

    /// On 4-rings balanced ties mean no packet travels more than two hops of a ring,
    /// so even one VC without avoidance has no cycle; 6-rings close them.
    fn report(extra: &str) -> CdgReport {
        check(&routing("[6, 6]", extra), 1)
    }

    #[test]
    fn dateline_is_acyclic() {
        assert!(report("").is_safe());
        assert!(report("[routing]\ndeadlock_avoidance = \"dateline-entry\"\n").is_safe());
    }

    #[test]
    fn tree_channels_are_checked_and_acyclic() {
        for (shape, extra) in [
            ("[4, 4, 3]", ""),
            (
                "[6, 6]",
                "[routing]\nalgorithm = \"direction-order\"\ndeadlock_avoidance = \"bubble\"\n[router]\nbuffer_flits = 16\n",
            ),
        ] {
            let plain = check(&routing_for(shape, extra, 2), 2);
            let with = format!("{extra}[collectives]\nroot = 5\ntrees = 2\n");
            let r = routing_for(shape, &with, 2);
            let rep = check(&r, 2);
            assert!(plain.is_safe() && rep.is_safe(), "{shape}: {:?}", rep.cycle);
            // Every tree link (two per edge, n - 1 edges, two trees) is a channel of
            // the graph, and the engine's forwarding adds dependencies.
            let nodes = r.torus().nodes();
            assert_eq!(
                rep.channels,
                plain.channels + 2 * 2 * (nodes - 1),
                "{shape}"
            );
            assert!(rep.dependencies > plain.dependencies);
        }
    }

    #[test]
    fn a_tree_whose_parents_form_a_loop_is_refused() {
        use crate::topology::tree::{Tree, TreeSet};
        let r = routing_for("[4, 4]", "[collectives]\n", 2);
        let t = r.torus().clone();
        // Nodes 0 -> 1 -> 2 -> 3 -> 0 along +x: every one the parent of the previous.
        let up: Vec<(usize, usize)> = (0..4).map(|v| (v, 0)).collect();
        let bad = Tree::from_parents(&t, 4, &up);
        let rep = check(&r.with_trees(TreeSet { trees: vec![bad] }), 2);
        let c = rep.cycle.expect("the loop of tree links is a cycle");
        // The four links of the loop (the report repeats the first to close it), all
        // on the tree's VC (after the two VCs of the ordinary classes).
        let distinct: std::collections::BTreeSet<&String> = c.iter().collect();
        assert_eq!(distinct.len(), 4, "{c:?}");
        assert!(c.iter().all(|ch| ch.ends_with("vc2")), "{c:?}");
    }

    #[test]
    fn one_vc_without_bubble_has_a_ring_cycle() {
        let r =
            report("[router]\nvirtual_channels = 1\n[routing]\ndeadlock_avoidance = \"none\"\n");
        let c = r.cycle.expect("a cycle");
        assert!(c.len() >= 5, "{c:?}");
    }

    #[test]
    fn bubble_with_one_vc_is_acyclic() {
        assert!(
            report("[router]\nvirtual_channels = 1\n[routing]\ndeadlock_avoidance = \"bubble\"\n")
                .is_safe()
        );
    }

    #[test]
    fn two_vcs_without_avoidance_still_cycle() {
        assert!(
            report("[routing]\ndeadlock_avoidance = \"none\"\n")
                .cycle
                .is_some()
        );
    }

    /// The planes give exactly the graph of all pairs: same vertices, same edges, same
    /// verdict, for every avoidance scheme, ordered and adaptive routing, odd and even
    /// rings, rings of 2, and a direction order that is not dimension order.
    #[test]
    fn planes_build_the_graph_of_all_pairs() {
        let schemes = [
            "",
            "[routing]\ndeadlock_avoidance = \"dateline-entry\"\n",
            "[router]\nvirtual_channels = 1\n[routing]\ndeadlock_avoidance = \"bubble\"\n",
            "[router]\nvirtual_channels = 1\n[routing]\ndeadlock_avoidance = \"none\"\n",
            "[routing]\ndeadlock_avoidance = \"none\"\n",
            "[router]\nvirtual_channels = 4\n[routing]\nalgorithm = \"adaptive\"\n",
            "[router]\nvirtual_channels = 2\n[routing]\nalgorithm = \"adaptive\"\ndeadlock_avoidance = \"bubble\"\nescape = \"dimension-order\"\n",
            "[routing]\nalgorithm = \"direction-order\"\ndirection_order = [\"+z\", \"-x\", \"+y\", \"+x\", \"-z\", \"-y\"]\n",
            "[routing]\nalgorithm = \"table\"\n",
        ];
        for shape in ["[5, 4, 6]", "[2, 3, 4]", "[6, 6, 6]"] {
            for extra in schemes {
                let r = routing(shape, extra);
                assert!(r.plane_separable(), "{shape} {extra}");
                let (fast, slow) = both(&r, 1);
                let what = format!("{shape} {extra}: {fast:?} vs {slow:?}");
                assert_eq!(fast.channels, slow.channels, "{what}");
                assert_eq!(fast.dependencies, slow.dependencies, "{what}");
                assert_eq!(fast.is_safe(), slow.is_safe(), "{what}");
                assert_eq!(fast.cycle.is_some(), slow.cycle.is_some(), "{what}");
            }
        }
        // Four dimensions; two message classes on four VCs.
        for (shape, classes) in [("[4, 4, 4, 3]", 1), ("[3, 4, 5]", 2)] {
            let r = routing_for(shape, "[router]\nvirtual_channels = 4\n", classes);
            let (fast, slow) = both(&r, classes);
            assert_eq!(
                (fast.channels, fast.dependencies, fast.is_safe()),
                (slow.channels, slow.dependencies, true),
                "{shape}"
            );
        }
    }

    /// With a failed link the routing is not plane-separable: the check walks every
    /// destination (a fault outside the origin planes would otherwise go unseen).
    #[test]
    fn faults_are_not_plane_separable() {
        let r = routing(
            "[4, 4, 4]",
            "[routing]\nalgorithm = \"table\"\n[faults]\nlinks = [\"1,2,3 +y\"]\n",
        );
        assert!(!r.plane_separable());
        assert!(check(&r, 1).is_safe());
    }
}
