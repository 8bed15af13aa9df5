//! Geometry of the k1 x k2 x ... x kn torus.
//!
//! The topology owns coordinates, ports and distances; routers only see port numbers.
//! Port numbering, used everywhere: network port `2*d` points in direction `+d`,
//! `2*d + 1` in `-d`. An input port carries flits that *travel* in that port's
//! direction, so a packet that continues along its ring enters and leaves through the
//! same port index. Injector and ejector ports follow the `2n` network ports.

pub mod graph;
pub mod tree;

use crate::config::Params;
use crate::config::faults::FaultSet;
use crate::core::direction::Direction;
use crate::core::grid::Grid;
use std::sync::Arc;

/// Cheap to clone: the lookup tables are shared.
#[derive(Clone, Debug)]
pub struct Torus {
    shape: Vec<usize>,
    strides: Vec<usize>,
    nodes: usize,
    /// Coordinates, `dims` per node: routing reads them on every hop, and a table
    /// lookup is several times cheaper than the divisions.
    coords: Arc<[u16]>,
    /// Neighbour through each network port, `2 * dims` per node.
    neighbors: Arc<[u32]>,
    /// The link table's fault state: per node, a bit per network port whose link has
    /// failed (a failed node's ports all fail). Empty when nothing failed, so the
    /// fault-free network pays one length test.
    dead_ports: Arc<[u64]>,
    dead_nodes: Arc<[bool]>,
    faults: FaultSet,
}

impl Torus {
    /// `shape` must hold k >= 2 per dimension (checked when the config is resolved).
    pub fn new(shape: &[usize]) -> Torus {
        let mut strides = Vec::with_capacity(shape.len());
        let mut s = 1;
        for &k in shape {
            strides.push(s);
            s *= k;
        }
        let n = shape.len();
        let mut coords = Vec::with_capacity(s * n);
        for node in 0..s {
            for d in 0..n {
                coords.push(((node / strides[d]) % shape[d]) as u16);
            }
        }
        let mut t = Torus {
            shape: shape.to_vec(),
            strides,
            nodes: s,
            coords: coords.into(),
            neighbors: Arc::from([]),
            dead_ports: Arc::from([]),
            dead_nodes: Arc::from([]),
            faults: FaultSet::default(),
        };
        let grid = Grid::new(shape);
        let neighbors: Vec<u32> = (0..s * 2 * n)
            .map(|i| grid.neighbor(i / (2 * n), i % (2 * n)) as u32)
            .collect();
        t.neighbors = neighbors.into();
        t
    }

    /// The torus of a config, with its fault set applied.
    pub fn from_params(p: &Params) -> Torus {
        Torus::with_faults(&p.shape, &p.faults)
    }

    /// A torus with failed links and nodes (the set was validated when it was resolved).
    pub fn with_faults(shape: &[usize], faults: &FaultSet) -> Torus {
        let mut t = Torus::new(shape);
        if faults.is_empty() {
            return t;
        }
        let np = t.network_ports();
        let mut dead = vec![0u64; t.nodes];
        let mut down = vec![false; t.nodes];
        for &(n, p) in &faults.links {
            dead[n] |= 1 << p;
            dead[t.neighbor(n, p)] |= 1 << (p ^ 1);
        }
        for &n in &faults.nodes {
            down[n] = true;
            for p in 0..np {
                dead[n] |= 1 << p;
                dead[t.neighbor(n, p)] |= 1 << (p ^ 1);
            }
        }
        t.dead_ports = dead.into();
        t.dead_nodes = down.into();
        t.faults = faults.clone();
        t
    }

    /// Whether the link leaving `node` through network `port` works.
    #[inline]
    pub fn link_alive(&self, node: usize, port: usize) -> bool {
        self.dead_ports.is_empty() || self.dead_ports[node] & (1 << port) == 0
    }

    #[inline]
    pub fn node_alive(&self, node: usize) -> bool {
        self.dead_nodes.is_empty() || !self.dead_nodes[node]
    }

    pub fn has_faults(&self) -> bool {
        !self.dead_ports.is_empty()
    }

    pub fn faults(&self) -> &FaultSet {
        &self.faults
    }

    /// Live nodes in increasing order.
    pub fn live_nodes(&self) -> Vec<usize> {
        (0..self.nodes).filter(|&n| self.node_alive(n)).collect()
    }

    /// A link named as in the config: `"x,y +x"`.
    pub fn describe_link(&self, node: usize, port: usize) -> String {
        let c: Vec<String> = self.coords(node).iter().map(|c| c.to_string()).collect();
        format!("{} {}", c.join(","), Self::port_direction(port).name())
    }

    pub fn dims(&self) -> usize {
        self.shape.len()
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn nodes(&self) -> usize {
        self.nodes
    }

    pub fn network_ports(&self) -> usize {
        2 * self.shape.len()
    }

    /// Coordinate of `node` in dimension `d` (dimension 0 varies fastest).
    #[inline]
    pub fn coord(&self, node: usize, d: usize) -> usize {
        self.coords[node * self.shape.len() + d] as usize
    }

    pub fn coords(&self, node: usize) -> Vec<usize> {
        (0..self.dims()).map(|d| self.coord(node, d)).collect()
    }

    pub fn node_at(&self, coords: &[usize]) -> usize {
        coords.iter().zip(&self.strides).map(|(c, s)| c * s).sum()
    }

    /// The neighbour reached through network port `port`.
    #[inline]
    pub fn neighbor(&self, node: usize, port: usize) -> usize {
        self.neighbors[node * 2 * self.shape.len() + port] as usize
    }

    pub fn port_direction(port: usize) -> Direction {
        Direction {
            dim: port / 2,
            minus: port % 2 == 1,
        }
    }

    pub fn port_of(dir: Direction) -> usize {
        2 * dir.dim + dir.minus as usize
    }

    /// Human name of a router port given the counts of network ports and injectors.
    pub fn port_name(&self, port: usize, injectors: usize, input: bool) -> String {
        let np = self.network_ports();
        if port < np {
            Self::port_direction(port).name()
        } else if input {
            format!("inj{}", port - np)
        } else {
            let _ = injectors;
            format!("ej{}", port - np)
        }
    }

    /// Hops from `a` to `b` in dimension `d` going the plus way.
    #[inline]
    pub fn plus_distance(&self, a: usize, b: usize, d: usize) -> usize {
        let k = self.shape[d];
        let x = self.coord(b, d) + k - self.coord(a, d);
        if x >= k { x - k } else { x }
    }

    /// Minimal hop count between two nodes.
    pub fn distance(&self, a: usize, b: usize) -> usize {
        (0..self.dims())
            .map(|d| {
                let p = self.plus_distance(a, b, d);
                p.min(self.shape[d] - p)
            })
            .sum()
    }

    pub fn diameter(&self) -> usize {
        self.shape.iter().map(|k| k / 2).sum()
    }

    /// Mean minimal distance over all ordered pairs of distinct nodes (the average hop
    /// count of uniform random traffic, which never sends to itself).
    pub fn average_distance(&self) -> f64 {
        // Per dimension the mean over all k offsets (0 included) is sum(min(i, k-i))/k;
        // dimensions add up; then remove the self pairs, whose distance is 0.
        let with_self: f64 = self
            .shape
            .iter()
            .map(|&k| (0..k).map(|i| i.min(k - i)).sum::<usize>() as f64 / k as f64)
            .sum();
        let n = self.nodes as f64;
        with_self * n / (n - 1.0)
    }

    /// Bidirectional links cut by the best bisection: halving dimension d of a torus cuts
    /// each of its N/k_d rings twice, so 2N/k_d links; the longest dimension is best.
    pub fn bisection_links(&self) -> usize {
        let kmax = *self.shape.iter().max().unwrap_or(&2);
        2 * self.nodes / kmax
    }

    /// Whether the hop on `port` from `node` uses the wrap-around link of its ring (the
    /// dateline of that ring).
    #[inline(always)]
    pub fn crosses_dateline(&self, node: usize, port: usize) -> bool {
        let d = port / 2;
        let c = self.coord(node, d);
        if port.is_multiple_of(2) {
            c == self.shape[d] - 1
        } else {
            c == 0
        }
    }

    /// Whether `hops` hops from `node` out of `port` along its ring cross the wrap-around
    /// link (the ring's dateline).
    #[inline]
    pub fn ring_walk_wraps(&self, node: usize, port: usize, hops: usize) -> bool {
        let d = port / 2;
        let c = self.coord(node, d);
        if port.is_multiple_of(2) {
            c + hops > self.shape[d] - 1
        } else {
            hops > c
        }
    }

    /// Whether the short way from `node` along dimension `d`, `p` hops in the plus
    /// direction (`0 < p < k`), is the minus direction. At a tie (`p = k/2`) nodes
    /// with an odd coordinate go minus and even ones plus: half of every ring's ties
    /// go each way, so both directions carry the same load, and all packets of one
    /// pair share one path (they stay in order). After the first hop the distance is
    /// below k/2, so the choice never flips mid-ring.
    #[inline]
    pub fn short_way_is_minus(&self, node: usize, d: usize, p: usize) -> bool {
        let k = self.shape[d];
        2 * p > k || (2 * p == k && self.coord(node, d) % 2 == 1)
    }

    pub fn describe_node(&self, node: usize) -> String {
        let c: Vec<String> = self.coords(node).iter().map(|c| c.to_string()).collect();
        format!("{node} ({})", c.join(","))
    }

    pub fn shape_string(&self) -> String {
        self.shape
            .iter()
            .map(|k| k.to_string())
            .collect::<Vec<_>>()
            .join("x")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_round_trip() {
        let t = Torus::new(&[4, 3, 2]);
        assert_eq!(t.nodes(), 24);
        for n in 0..t.nodes() {
            assert_eq!(t.node_at(&t.coords(n)), n);
        }
    }

    #[test]
    fn neighbors_wrap() {
        let t = Torus::new(&[4, 4]);
        assert_eq!(t.neighbor(3, 0), 0); // +x from x=3 wraps to x=0
        assert_eq!(t.neighbor(0, 1), 3); // -x from x=0 wraps to x=3
        assert_eq!(t.neighbor(0, 3), 12); // -y
        for n in 0..16 {
            for p in 0..4 {
                assert_eq!(t.neighbor(t.neighbor(n, p), p ^ 1), n);
            }
        }
    }

    #[test]
    fn k2_both_directions_reach_the_same_neighbor() {
        let t = Torus::new(&[2, 3]);
        assert_eq!(t.neighbor(0, 0), t.neighbor(0, 1));
        assert_eq!(t.distance(0, 1), 1);
        assert_eq!(t.diameter(), 2);
    }

    #[test]
    fn metrics_match_brute_force() {
        for shape in [vec![8, 8], vec![3, 5], vec![2, 2, 2], vec![4, 3, 2, 2]] {
            let t = Torus::new(&shape);
            let n = t.nodes();
            let mut sum = 0;
            let mut max = 0;
            for a in 0..n {
                for b in 0..n {
                    let d = t.distance(a, b);
                    sum += d;
                    max = max.max(d);
                }
            }
            assert_eq!(max, t.diameter(), "{shape:?}");
            let avg = sum as f64 / (n * (n - 1)) as f64;
            assert!((avg - t.average_distance()).abs() < 1e-9, "{shape:?}");
        }
        assert_eq!(Torus::new(&[8, 8]).bisection_links(), 16);
        assert_eq!(Torus::new(&[8, 8, 8, 4]).bisection_links(), 512);
    }
}
