//! Static deadlock check: build the channel dependency graph (CDG) of a routing
//! configuration and look for cycles.
//!
//! A channel is (router, output port, VC). Routing creates a dependency from the channel
//! a packet holds to every channel it may request next. Without bubble flow control a
//! cycle in this graph means the configuration can deadlock (Dally & Seitz). With bubble
//! flow control a ring cannot fill up, so dependencies *inside* one unidirectional ring
//! are harmless: rings are contracted to single vertices and only cycles *between*
//! rings count.

use super::Routing;
use crate::config::schema::DeadlockAvoidance;
use crate::core::flit::Flit;
use crate::topology::Torus;
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::HashMap;

/// Outcome of the check: `Ok` with the graph's size, or the channels of one cycle.
#[derive(Debug, Clone)]
pub struct CdgReport {
    pub channels: usize,
    pub dependencies: usize,
    pub cycle: Option<Vec<String>>,
}

/// (in port, in route bits, out port, out route bits, message class) at one router.
type Transition = (usize, u8, usize, u8, u8);

/// Every (in port, in bits) -> (out port, out bits) transition routing can make at each
/// router, found by walking the route of every source/destination pair and class.
fn transitions(r: &Routing, classes: usize) -> Vec<Vec<Transition>> {
    let t = r.torus();
    let n = t.nodes();
    let np = t.network_ports();
    // Dense bitset over (node, in_port incl. injection, in_bits, out_port, out_bits, class).
    let stride_in = 2 * np * 2 * classes;
    let per_node = (np + 1) * stride_in;
    let mut seen = vec![false; n * per_node];
    let mut out: Vec<Vec<Transition>> = vec![Vec::new(); n];
    for class in 0..classes as u8 {
        for src in 0..n {
            for dest in 0..n {
                if src == dest {
                    continue;
                }
                let mut f = Flit {
                    packet: (src as u64) << 32,
                    dest: dest as u32,
                    len: 1,
                    class,
                    ..Default::default()
                };
                let mut node = src;
                let mut in_port = np; // the injector
                loop {
                    let route = r.route(node, in_port, &f);
                    let out_port = route.port_lo as usize;
                    if out_port >= np {
                        break;
                    }
                    let ip = in_port.min(np);
                    let idx = node * per_node
                        + ip * stride_in
                        + (f.route_bits as usize) * np * 2 * classes
                        + out_port * 2 * classes
                        + route.bits as usize * classes
                        + class as usize;
                    if !seen[idx] {
                        seen[idx] = true;
                        out[node].push((ip, f.route_bits, out_port, route.bits, class));
                    }
                    f.route_bits = route.bits;
                    in_port = out_port;
                    node = t.neighbor(node, out_port);
                }
            }
        }
    }
    out
}

fn channel_name(t: &Torus, node: usize, port: usize, vc: usize) -> String {
    format!(
        "router {} {} vc{}",
        t.describe_node(node),
        Torus::port_direction(port).name(),
        vc
    )
}

/// Builds the CDG (ring-contracted under bubble flow control) and reports a cycle.
pub fn check(r: &Routing, classes: usize) -> CdgReport {
    let t = r.torus();
    let np = t.network_ports();
    let bubble = r.deadlock_avoidance() == DeadlockAvoidance::Bubble;
    let trans = transitions(r, classes);
    let vc_range = |bits: u8, class: u8| -> (usize, usize) {
        let f = Flit {
            route_bits: bits,
            class,
            ..Default::default()
        };
        let (lo, hi) = r.class_range(f.class);
        if r.deadlock_avoidance() == DeadlockAvoidance::Dateline {
            let half = (hi - lo) / 2;
            let l = lo + if bits & 1 == 1 { half } else { 0 };
            (l as usize, (l + half) as usize)
        } else {
            (lo as usize, hi as usize)
        }
    };
    // Vertex key: a channel, or under bubble a (ring, class) pair.
    let ring_of = |node: usize, port: usize| -> usize {
        let d = port / 2;
        let base = node - t.coord(node, d) * (0..d).map(|i| t.shape()[i]).product::<usize>();
        base * np + port
    };
    let mut g: DiGraph<(usize, usize, usize), ()> = DiGraph::new();
    let mut index: HashMap<(usize, usize, usize), NodeIndex> = HashMap::new();
    let mut vertex = |g: &mut DiGraph<(usize, usize, usize), ()>, key: (usize, usize, usize)| {
        *index.entry(key).or_insert_with(|| g.add_node(key))
    };
    let mut edges = std::collections::HashSet::new();
    for (node, list) in trans.iter().enumerate() {
        for &(in_port, in_bits, out_port, out_bits, class) in list {
            if in_port >= np {
                continue; // injection: no channel is held
            }
            let up = t.neighbor(node, in_port ^ 1);
            let (ilo, ihi) = vc_range(in_bits, class);
            let (olo, ohi) = vc_range(out_bits, class);
            if bubble {
                let a = ring_of(up, in_port);
                let b = ring_of(node, out_port);
                if a != b {
                    let ka = vertex(&mut g, (a, usize::MAX, class as usize));
                    let kb = vertex(&mut g, (b, usize::MAX, class as usize));
                    if edges.insert((ka, kb)) {
                        g.add_edge(ka, kb, ());
                    }
                }
                continue;
            }
            for vi in ilo..ihi {
                for vo in olo..ohi {
                    let ka = vertex(&mut g, (up, in_port, vi));
                    let kb = vertex(&mut g, (node, out_port, vo));
                    if edges.insert((ka, kb)) {
                        g.add_edge(ka, kb, ());
                    }
                }
            }
        }
    }
    let mut cycle = None;
    for scc in tarjan_scc(&g) {
        let self_loop = scc.len() == 1 && g.contains_edge(scc[0], scc[0]);
        if scc.len() > 1 || self_loop {
            cycle = Some(find_cycle(&g, &scc));
            break;
        }
    }
    let name = |k: (usize, usize, usize)| -> String {
        if k.1 == usize::MAX {
            let port = k.0 % np;
            let base = k.0 / np;
            format!(
                "ring {} through {} (class {})",
                Torus::port_direction(port).name(),
                t.describe_node(base),
                k.2
            )
        } else {
            channel_name(t, k.0, k.1, k.2)
        }
    };
    CdgReport {
        channels: g.node_count(),
        dependencies: g.edge_count(),
        cycle: cycle.map(|c| c.into_iter().map(|v| name(g[v])).collect()),
    }
}

/// One cycle inside a strongly connected component: walk successors inside the SCC
/// until a vertex repeats.
fn find_cycle(g: &DiGraph<(usize, usize, usize), ()>, scc: &[NodeIndex]) -> Vec<NodeIndex> {
    let inside: std::collections::HashSet<_> = scc.iter().copied().collect();
    let mut path = vec![scc[0]];
    let mut pos: HashMap<NodeIndex, usize> = HashMap::from([(scc[0], 0)]);
    let mut cur = scc[0];
    loop {
        let next = g
            .neighbors(cur)
            .filter(|n| inside.contains(n))
            .min_by_key(|n| n.index())
            .expect("a vertex of a cyclic SCC has a successor in it");
        if let Some(&i) = pos.get(&next) {
            let mut c = path[i..].to_vec();
            c.push(next);
            return c;
        }
        pos.insert(next, path.len());
        path.push(next);
        cur = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    fn report(extra: &str) -> CdgReport {
        let text = format!("[topology]\nshape = [4, 4]\n{extra}");
        let (_, p) = load_str(&text, None, &[]).unwrap();
        check(&Routing::new(&p, &Torus::new(&p.shape), 1), 1)
    }

    #[test]
    fn dateline_is_acyclic() {
        assert!(report("").cycle.is_none());
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
                .cycle
                .is_none()
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
}
