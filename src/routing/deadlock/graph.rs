//! The channel dependency graph: vertices are channels (or, under bubble flow control,
//! whole unidirectional rings), edges are "a packet holding this channel may wait for
//! that one". It grows edge by edge, can refuse a path that would close a cycle (table
//! generation) and finds one cycle when asked (the check).

use crate::config::schema::DeadlockAvoidance;
use crate::routing::Network;
use crate::topology::Torus;
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::{HashMap, HashSet};

#[derive(Clone)]
/// A channel dependency graph that grows path by path and can refuse a path that
/// would close a cycle (table generation uses that; the check builds it whole).
pub struct DepGraph {
    torus: Torus,
    bubble: bool,
    vcs: usize,
    /// VCs from here on are collective trees': never contracted into rings (tree
    /// packets do not travel along rings, and bubble flow control does not govern them).
    tree_vc: usize,
    /// Vertex of every key (`u32::MAX`: none yet); keys are dense, see [`Self::key`].
    index: Vec<u32>,
    keys: Vec<u64>,
    /// Successors of each vertex (short lists: a channel depends on a few others).
    adj: Vec<Vec<u32>>,
    edges: usize,
    mark: Vec<u32>,
    epoch: u32,
}

impl DepGraph {
    pub fn new(net: &Network) -> DepGraph {
        DepGraph {
            torus: net.torus.clone(),
            bubble: net.dla == DeadlockAvoidance::Bubble,
            vcs: net.vcs as usize,
            tree_vc: net.tree_vc as usize,
            index: vec![u32::MAX; net.torus.nodes() * net.torus.network_ports() * net.vcs as usize],
            keys: Vec::new(),
            adj: Vec::new(),
            edges: 0,
            mark: Vec::new(),
            epoch: 0,
        }
    }

    /// The vertex of channel (`node`, `port`, `vc`): under bubble flow control its
    /// unidirectional ring (per VC set), else the channel itself.
    fn key(&self, node: usize, port: usize, vc: usize) -> u64 {
        let t = &self.torus;
        let np = t.network_ports();
        let base = if self.bubble && vc < self.tree_vc {
            let d = port / 2;
            let stride: usize = t.shape()[..d].iter().product();
            (node - t.coord(node, d) * stride) * np + port
        } else {
            node * np + port
        };
        (base * self.vcs + vc) as u64
    }

    fn vertex(&mut self, key: u64) -> u32 {
        let v = self.index[key as usize];
        if v != u32::MAX {
            return v;
        }
        let v = self.keys.len() as u32;
        self.index[key as usize] = v;
        self.keys.push(key);
        self.adj.push(Vec::new());
        self.mark.push(0);
        v
    }

    /// The dependencies of a path of channels (node, out port, VC), in order.
    fn deps(&mut self, path: &[(usize, usize, usize)]) -> Vec<(u32, u32)> {
        let mut v = Vec::with_capacity(path.len());
        for w in path.windows(2) {
            let a = self.key(w[0].0, w[0].1, w[0].2);
            let b = self.key(w[1].0, w[1].1, w[1].2);
            if a == b {
                continue; // along one ring under bubble flow control
            }
            let (a, b) = (self.vertex(a), self.vertex(b));
            if !self.has_edge(a, b) {
                v.push((a, b));
            }
        }
        v
    }

    fn has_edge(&self, a: u32, b: u32) -> bool {
        self.adj[a as usize].contains(&b)
    }

    /// Vertices so far: channels, or rings under bubble flow control.
    pub fn channels(&self) -> usize {
        self.keys.len()
    }

    /// Edges so far.
    pub fn dependencies(&self) -> usize {
        self.edges
    }

    /// Adds the dependency of channel `from` on channel `to` (node, out port, VC).
    #[inline]
    pub fn add_dep(&mut self, from: (usize, usize, usize), to: (usize, usize, usize)) {
        let a = self.key(from.0, from.1, from.2);
        let b = self.key(to.0, to.1, to.2);
        if a == b {
            return; // along one ring under bubble flow control
        }
        let (a, b) = (self.vertex(a), self.vertex(b));
        if !self.has_edge(a, b) {
            self.adj[a as usize].push(b);
            self.edges += 1;
        }
    }

    /// Adds a path's dependencies unconditionally.
    pub fn add_path(&mut self, path: &[(usize, usize, usize)]) {
        for w in path.windows(2) {
            self.add_dep(w[0], w[1]);
        }
    }

    /// Adds a path's dependencies unless one of them would close a cycle; then the
    /// graph is left as it was and `false` returned.
    pub fn try_add_path(&mut self, path: &[(usize, usize, usize)]) -> bool {
        let new = self.deps(path);
        let mut added: Vec<(u32, u32)> = Vec::new();
        for (a, b) in new {
            if self.has_edge(a, b) {
                continue;
            }
            if self.reaches(b, a) {
                for (x, y) in added.into_iter().rev() {
                    let popped = self.adj[x as usize].pop();
                    debug_assert_eq!(popped, Some(y));
                    self.edges -= 1;
                }
                return false;
            }
            self.adj[a as usize].push(b);
            self.edges += 1;
            added.push((a, b));
        }
        true
    }

    /// The cycle adding `path` would close, if any (the graph itself is left as it was).
    pub fn cycle_if_added(&self, path: &[(usize, usize, usize)]) -> Option<Vec<String>> {
        let mut g = self.clone();
        g.add_path(path);
        g.find_cycle()
    }

    /// Whether `to` can be reached from `from`.
    fn reaches(&mut self, from: u32, to: u32) -> bool {
        if from == to {
            return true;
        }
        self.epoch += 1;
        let e = self.epoch;
        let mut stack = vec![from];
        self.mark[from as usize] = e;
        while let Some(v) = stack.pop() {
            for i in 0..self.adj[v as usize].len() {
                let w = self.adj[v as usize][i];
                if w == to {
                    return true;
                }
                if self.mark[w as usize] != e {
                    self.mark[w as usize] = e;
                    stack.push(w);
                }
            }
        }
        false
    }

    fn name(&self, v: u32) -> String {
        let t = &self.torus;
        let np = t.network_ports();
        let k = self.keys[v as usize];
        let (base, vc) = (k as usize / self.vcs, k as usize % self.vcs);
        let (node, port) = (base / np, base % np);
        if self.bubble {
            format!(
                "ring {} through {} (VCs from {vc})",
                Torus::port_direction(port).name(),
                t.describe_node(node)
            )
        } else {
            format!(
                "router {} {} vc{vc}",
                t.describe_node(node),
                Torus::port_direction(port).name()
            )
        }
    }

    /// One cycle, if the graph has any.
    pub(super) fn find_cycle(&self) -> Option<Vec<String>> {
        let mut g: DiGraph<(), ()> = DiGraph::new();
        let idx: Vec<NodeIndex> = (0..self.keys.len()).map(|_| g.add_node(())).collect();
        for (a, list) in self.adj.iter().enumerate() {
            for &b in list {
                g.add_edge(idx[a], idx[b as usize], ());
            }
        }
        let scc = tarjan_scc(&g).into_iter().find(|c| c.len() > 1)?;
        let inside: HashSet<NodeIndex> = scc.iter().copied().collect();
        let mut path = vec![scc[0]];
        let mut pos: HashMap<NodeIndex, usize> = HashMap::from([(scc[0], 0)]);
        let mut cur = scc[0];
        loop {
            let next = g
                .neighbors(cur)
                .filter(|n| inside.contains(n))
                .min_by_key(|n| n.index())?;
            if let Some(&i) = pos.get(&next) {
                let mut c = path[i..].to_vec();
                c.push(next);
                return Some(c.iter().map(|v| self.name(v.index() as u32)).collect());
            }
            pos.insert(next, path.len());
            path.push(next);
            cur = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;
    use crate::routing::Routing;

    #[test]
    fn incremental_graph_refuses_a_closing_path() {
        let text = "[topology]\nshape = [4, 4]\n[router]\nvirtual_channels = 1\n[routing]\ndeadlock_avoidance = \"none\"\n";
        let (_, p) = load_str(text, None, &[]).unwrap();
        let r = Routing::new(&p, &Torus::from_params(&p), 1);
        let mut g = DepGraph::new(r.network());
        // Around the x ring of row 0: 0 -> 1 -> 2 -> 3 -> 0.
        assert!(g.try_add_path(&[(0, 0, 0), (1, 0, 0), (2, 0, 0)]));
        assert!(g.try_add_path(&[(2, 0, 0), (3, 0, 0)]));
        let before = g.edges;
        assert!(!g.try_add_path(&[(3, 0, 0), (0, 0, 0)]));
        assert_eq!(g.edges, before, "a refused path leaves no edge");
    }
}
