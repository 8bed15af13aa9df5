//! The torus as a petgraph graph, for analysis and export (`torsim topology --dot`).

use super::Torus;
use petgraph::graph::DiGraph;

/// One node per router, one directed edge per unidirectional link, labelled with the
/// port it leaves from (e.g. `+x`).
pub fn to_graph(t: &Torus) -> DiGraph<usize, String> {
    let mut g = DiGraph::with_capacity(t.nodes(), t.nodes() * t.network_ports());
    let ids: Vec<_> = (0..t.nodes()).map(|n| g.add_node(n)).collect();
    for n in 0..t.nodes() {
        for p in 0..t.network_ports() {
            g.add_edge(
                ids[n],
                ids[t.neighbor(n, p)],
                Torus::port_direction(p).name(),
            );
        }
    }
    g
}

/// Graphviz text of [`to_graph`].
pub fn to_dot(t: &Torus) -> String {
    let g = to_graph(t);
    format!("{}", petgraph::dot::Dot::with_config(&g, &[]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use petgraph::algo::dijkstra;

    #[test]
    fn graph_distances_equal_torus_distances() {
        let t = Torus::new(&[5, 4, 2]);
        let g = to_graph(&t);
        assert_eq!(g.edge_count(), t.nodes() * 6);
        let src = petgraph::graph::NodeIndex::new(7);
        let dist = dijkstra(&g, src, None, |_| 1usize);
        for (node, d) in dist {
            assert_eq!(d, t.distance(7, node.index()));
        }
    }
}
