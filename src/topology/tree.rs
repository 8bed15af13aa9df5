//! Spanning trees of the live network: the virtual tree subnetwork that hardware
//! collectives travel on.
//!
//! A tree is rooted at a live node and spans every live node over live links. Its
//! depths are those of a breadth-first search from the root, so the height is the
//! root's eccentricity in the live network (the torus radius when nothing failed).
//! Among the neighbours one level closer to the root, a node's parent is the one across
//! the highest dimension (the `+` port before the `-` port): on a torus without faults
//! the path from the root to any node then runs through the dimensions in index order,
//! a dimension-ordered tree, and with faults the same rule picks a live detour.
//!
//! Every tree edge is one link between neighbours, so a tree packet crosses one link:
//! up from a child to its parent, or down from a parent to a child.

use super::Torus;
use std::collections::VecDeque;

/// One spanning tree over the live nodes.
#[derive(Clone, Debug)]
pub struct Tree {
    root: usize,
    /// Parent of every node (`u32::MAX` for the root and failed nodes).
    parent: Vec<u32>,
    /// The port leading from a node to its parent.
    up_port: Vec<u8>,
    /// (child, port leading to it) of every node: the child with the deepest subtree
    /// first, ties in port order.
    children: Vec<Vec<(u32, u8)>>,
    depth: Vec<u32>,
    height: u32,
}

impl Tree {
    /// The tree rooted at `root` over the live nodes and links of `torus`; refuses a
    /// failed root and a live network that is not connected.
    pub fn build(torus: &Torus, root: usize) -> Result<Tree, String> {
        let n = torus.nodes();
        if root >= n || !torus.node_alive(root) {
            return Err(format!(
                "the collective tree's root {} is not a live node",
                torus.describe_node(root.min(n.saturating_sub(1)))
            ));
        }
        let np = torus.network_ports();
        let mut depth = vec![u32::MAX; n];
        depth[root] = 0;
        let mut queue = VecDeque::from([root]);
        while let Some(v) = queue.pop_front() {
            for p in 0..np {
                if !torus.link_alive(v, p) {
                    continue;
                }
                let w = torus.neighbor(v, p);
                if depth[w] == u32::MAX && torus.node_alive(w) {
                    depth[w] = depth[v] + 1;
                    queue.push_back(w);
                }
            }
        }
        if let Some(lost) = (0..n).find(|&v| torus.node_alive(v) && depth[v] == u32::MAX) {
            return Err(format!(
                "the live network is disconnected: node {} cannot be reached from the collective tree's root {} over live links",
                torus.describe_node(lost),
                torus.describe_node(root)
            ));
        }
        // Highest dimension first, `+` before `-`.
        let order: Vec<usize> = (0..np / 2).rev().flat_map(|d| [2 * d, 2 * d + 1]).collect();
        let mut parents = Vec::with_capacity(n);
        for v in 0..n {
            if v == root || depth[v] == u32::MAX {
                continue;
            }
            let p = order
                .iter()
                .copied()
                .find(|&p| torus.link_alive(v, p) && depth[torus.neighbor(v, p)] + 1 == depth[v])
                .expect("a BFS level has a neighbour one level up");
            parents.push((v, p));
        }
        Ok(Tree::from_parents(torus, root, &parents))
    }

    /// A tree from its up-links: (node, port to its parent) for every non-root node.
    /// Not checked: the deadlock check's tests build a "tree" with a cycle on purpose.
    pub fn from_parents(torus: &Torus, root: usize, up: &[(usize, usize)]) -> Tree {
        let n = torus.nodes();
        let mut parent = vec![u32::MAX; n];
        let mut up_port = vec![u8::MAX; n];
        let mut children = vec![Vec::new(); n];
        for &(v, p) in up {
            let u = torus.neighbor(v, p);
            parent[v] = u as u32;
            up_port[v] = p as u8;
            children[u].push((v as u32, (p ^ 1) as u8));
        }
        let mut depth = vec![u32::MAX; n];
        depth[root] = 0;
        let mut order = vec![root];
        let mut next = 0;
        while next < order.len() {
            let v = order[next];
            next += 1;
            for &(c, _) in &children[v] {
                if depth[c as usize] == u32::MAX {
                    depth[c as usize] = depth[v] + 1;
                    order.push(c as usize);
                }
            }
        }
        // Subtree heights, leaves up; children are served deepest subtree first, so
        // the packet on the longest path leaves an engine before its siblings'.
        let mut below = vec![0u32; n];
        for &v in order.iter().rev() {
            if parent[v] != u32::MAX {
                let u = parent[v] as usize;
                below[u] = below[u].max(below[v] + 1);
            }
        }
        for c in &mut children {
            c.sort_unstable_by_key(|&(x, p)| (std::cmp::Reverse(below[x as usize]), p));
        }
        let height = depth
            .iter()
            .filter(|&&d| d != u32::MAX)
            .max()
            .copied()
            .unwrap_or(0);
        Tree {
            root,
            parent,
            up_port,
            children,
            depth,
            height,
        }
    }

    pub fn root(&self) -> usize {
        self.root
    }

    /// The parent of `node` (`None` for the root and nodes outside the tree).
    pub fn parent(&self, node: usize) -> Option<usize> {
        let p = self.parent[node];
        (p != u32::MAX).then_some(p as usize)
    }

    /// The port from `node` to its parent.
    pub fn up_port(&self, node: usize) -> Option<usize> {
        let p = self.up_port[node];
        (p != u8::MAX).then_some(p as usize)
    }

    /// (child, port from `node` to it): the deepest subtree first, ties in port order
    /// (the order the engine sends a result down in).
    pub fn children(&self, node: usize) -> &[(u32, u8)] {
        &self.children[node]
    }

    /// Links from the root to `node` (`u32::MAX` outside the tree).
    pub fn depth(&self, node: usize) -> u32 {
        self.depth[node]
    }

    /// The largest depth.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The port of the tree edge from `node` to its neighbour `other`, if they are
    /// joined by one.
    #[inline]
    pub fn port_to(&self, node: usize, other: usize) -> Option<usize> {
        if self.parent[node] == other as u32 {
            return self.up_port(node);
        }
        self.children[node]
            .iter()
            .find(|&&(c, _)| c == other as u32)
            .map(|&(_, p)| p as usize)
    }

    /// The child of `node` whose subtree holds `target`, if `target` is below `node`.
    pub fn child_toward(&self, node: usize, target: usize) -> Option<usize> {
        let mut x = target;
        while let Some(p) = self.parent(x) {
            if p == node {
                return Some(x);
            }
            if self.depth[p] <= self.depth[node] {
                return None;
            }
            x = p;
        }
        None
    }
}

/// The trees of a run (tree `t` carries the collectives numbered `t mod trees`).
#[derive(Clone, Debug)]
pub struct TreeSet {
    pub trees: Vec<Tree>,
}

impl TreeSet {
    /// One tree per root.
    pub fn build(torus: &Torus, roots: &[usize]) -> Result<TreeSet, String> {
        let trees = roots
            .iter()
            .map(|&r| Tree::build(torus, r))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TreeSet { trees })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::faults::FaultSet;

    #[test]
    fn a_fault_free_tree_is_dimension_ordered_and_shortest() {
        for (shape, root) in [(vec![4, 4], 0), (vec![5, 3, 4], 17), (vec![2, 3, 2, 2], 5)] {
            let t = Torus::new(&shape);
            let tree = Tree::build(&t, root).unwrap();
            let mut height = 0;
            for v in 0..t.nodes() {
                assert_eq!(tree.depth(v) as usize, t.distance(root, v), "{shape:?} {v}");
                height = height.max(t.distance(root, v));
                if v == root {
                    assert_eq!(tree.parent(v), None);
                    continue;
                }
                let p = tree.parent(v).unwrap();
                let port = tree.up_port(v).unwrap();
                assert_eq!(t.neighbor(v, port), p);
                // The last hop from the root is in the highest dimension that differs.
                let high = (0..shape.len())
                    .rev()
                    .find(|&d| t.coord(v, d) != t.coord(root, d))
                    .unwrap();
                assert_eq!(port / 2, high, "{shape:?} node {v}");
                assert_eq!(tree.port_to(p, v), Some(port ^ 1));
                assert_eq!(tree.port_to(v, p), Some(port));
            }
            assert_eq!(tree.height() as usize, height);
            let kids: usize = (0..t.nodes()).map(|v| tree.children(v).len()).sum();
            assert_eq!(kids, t.nodes() - 1);
        }
    }

    #[test]
    fn with_faults_the_tree_spans_live_nodes_over_live_links() {
        let shape = [4, 4];
        let faults = FaultSet {
            links: vec![(0, 0), (0, 2), (5, 0)],
            nodes: vec![6],
        };
        let t = Torus::with_faults(&shape, &faults);
        let tree = Tree::build(&t, 0).unwrap();
        for v in 0..t.nodes() {
            if v == 0 {
                continue;
            }
            match tree.up_port(v) {
                None => assert!(!t.node_alive(v)),
                Some(p) => {
                    assert!(t.node_alive(v) && t.link_alive(v, p));
                    assert!(t.node_alive(tree.parent(v).unwrap()));
                }
            }
        }
        assert!(tree.children(6).is_empty());
    }

    #[test]
    fn a_disconnected_live_network_or_a_dead_root_is_refused() {
        // Node 1 of a 4-ring loses both links.
        let faults = FaultSet {
            links: vec![(0, 0), (1, 0)],
            nodes: vec![],
        };
        let t = Torus::with_faults(&[4], &faults);
        let e = Tree::build(&t, 0).unwrap_err();
        assert!(e.contains("disconnected") && e.contains("(1)"), "{e}");
        let t = Torus::with_faults(
            &[4],
            &FaultSet {
                links: vec![],
                nodes: vec![2],
            },
        );
        assert!(Tree::build(&t, 2).unwrap_err().contains("not a live node"));
    }

    #[test]
    fn child_toward_finds_the_subtree() {
        let t = Torus::new(&[4, 4]);
        let tree = Tree::build(&t, 0).unwrap();
        for v in 0..16 {
            for x in 0..16 {
                let c = tree.child_toward(v, x);
                match c {
                    Some(c) => {
                        assert_eq!(tree.parent(c), Some(v));
                        let mut y = x;
                        while y != c {
                            y = tree.parent(y).unwrap();
                        }
                    }
                    None => {
                        let mut y = x;
                        while let Some(p) = tree.parent(y) {
                            assert_ne!(p, v, "{x} is below {v}");
                            y = p;
                        }
                    }
                }
            }
        }
    }
}
