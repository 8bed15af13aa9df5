//! Mixed-radix node numbering of a torus: the arithmetic that turns a node id and a port
//! into coordinates and neighbours. The topology builds its lookup tables from it, and
//! the config layer uses it to name and check faults before any topology exists.

/// Node ids of a torus of `shape`: dimension 0 varies fastest.
#[derive(Clone, Debug)]
pub struct Grid {
    pub shape: Vec<usize>,
    pub strides: Vec<usize>,
    pub nodes: usize,
}

impl Grid {
    pub fn new(shape: &[usize]) -> Grid {
        let mut strides = Vec::with_capacity(shape.len());
        let mut s = 1;
        for &k in shape {
            strides.push(s);
            s *= k;
        }
        Grid {
            shape: shape.to_vec(),
            strides,
            nodes: s,
        }
    }

    /// Coordinate of `node` in dimension `d`.
    pub fn coord(&self, node: usize, d: usize) -> usize {
        (node / self.strides[d]) % self.shape[d]
    }

    /// The neighbour through network port `port` (`2d`: `+d`, `2d + 1`: `-d`).
    pub fn neighbor(&self, node: usize, port: usize) -> usize {
        let d = port / 2;
        let k = self.shape[d];
        let c = self.coord(node, d);
        let nc = if port.is_multiple_of(2) {
            (c + 1) % k
        } else {
            (c + k - 1) % k
        };
        node - c * self.strides[d] + nc * self.strides[d]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_wrap_and_invert() {
        let g = Grid::new(&[4, 3]);
        assert_eq!(g.nodes, 12);
        assert_eq!(g.neighbor(3, 0), 0);
        assert_eq!(g.neighbor(0, 3), 8);
        for n in 0..g.nodes {
            for p in 0..4 {
                assert_eq!(g.neighbor(g.neighbor(n, p), p ^ 1), n);
            }
        }
    }
}
