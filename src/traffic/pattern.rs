//! Destination patterns of synthetic traffic.

use crate::config::Params;
use crate::config::schema::Pattern;
use crate::topology::Torus;
use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::sync::Arc;

/// Uniform integer in `0..n` without modulo bias worth noticing (multiply-shift).
#[inline]
pub fn below(rng: &mut Xoshiro256PlusPlus, n: usize) -> usize {
    ((rng.next_u64() as u128 * n as u128) >> 64) as usize
}

/// Uniform float in (0, 1].
#[inline]
pub fn unit_open0(rng: &mut Xoshiro256PlusPlus) -> f64 {
    ((rng.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
}

/// Mixed into the global seed for the random-permutation stream, so that the
/// permutation is decorrelated from the per-node arrival and destination streams that
/// `engine::component_rng` derives from the same seed.
const PERMUTATION_SEED_MIX: u64 = 0x7065_726D_7574_6521; // "permute!"

/// Chooses the destination of each synthetic packet.
///
/// Cheap to clone: the random permutation, the only per-node table, is shared. Build one
/// picker per run and clone it into the endpoints rather than building one per node.
#[derive(Clone, Debug)]
pub struct DestinationPicker {
    pattern: Pattern,
    hotspots: Vec<usize>,
    hot_fraction: f64,
    /// Destination of each node under `Pattern::RandomPermutation`; empty otherwise.
    permutation: Arc<[usize]>,
    /// Uniform draws may return the source itself (`traffic.include_self`).
    include_self: bool,
}

impl DestinationPicker {
    /// `seed` is the config's global seed and `nodes` the size of the torus; both are
    /// only used by `Pattern::RandomPermutation`, whose permutation is drawn here, once,
    /// from the seed alone. It is therefore the same whatever the partition, thread or
    /// rank count, and every process of a multi-process run computes the same one.
    pub fn new(
        pattern: Pattern,
        hotspots: Vec<usize>,
        hot_fraction: f64,
        seed: u64,
        nodes: usize,
    ) -> Self {
        let permutation = match pattern {
            Pattern::RandomPermutation => random_permutation(seed, nodes).into(),
            _ => Arc::from([]),
        };
        DestinationPicker {
            pattern,
            hotspots,
            hot_fraction,
            permutation,
            include_self: false,
        }
    }

    /// Lets uniform draws (also the uniform share of `hotspot`) pick the source itself.
    pub fn including_self(mut self, yes: bool) -> Self {
        self.include_self = yes;
        self
    }

    /// The picker of a run's synthetic traffic.
    pub fn for_params(p: &Params) -> Self {
        DestinationPicker::new(
            p.pattern,
            p.hotspot_nodes.clone(),
            p.hotspot_fraction,
            p.seed,
            p.nodes(),
        )
        .including_self(p.include_self)
    }

    /// The destination of the next packet from `src`; `None` when the pattern maps the
    /// node to itself or to a failed node (it then sends nothing).
    pub fn pick(&self, t: &Torus, src: usize, rng: &mut Xoshiro256PlusPlus) -> Option<usize> {
        let n = t.nodes();
        if self.pattern == Pattern::Uniform && !self.include_self && !t.has_faults() {
            // The common case without the fault and self-draw machinery below.
            let r = below(rng, n - 1);
            return Some(if r >= src { r + 1 } else { r });
        }
        // Uniform over the other live nodes (failed ones are drawn again: at least one
        // other node lives, and the draws stay a pure function of the stream).
        // With `include_self`, over all live nodes, the source included.
        let mut drawn_self = false;
        let mut uniform = |rng: &mut Xoshiro256PlusPlus| loop {
            let r = if self.include_self {
                let r = below(rng, n);
                drawn_self = r == src;
                r
            } else {
                let r = below(rng, n - 1);
                if r >= src { r + 1 } else { r }
            };
            if t.node_alive(r) {
                break r;
            }
        };
        let d = match self.pattern {
            Pattern::Uniform => uniform(rng),
            Pattern::NearestNeighbor => t.neighbor(src, below(rng, t.network_ports())),
            Pattern::BitComplement => {
                let c: Vec<usize> = (0..t.dims())
                    .map(|d| t.shape()[d] - 1 - t.coord(src, d))
                    .collect();
                t.node_at(&c)
            }
            Pattern::Transpose => {
                let h = t.dims() / 2;
                let c: Vec<usize> = (0..t.dims())
                    .map(|d| t.coord(src, (d + h) % t.dims()))
                    .collect();
                t.node_at(&c)
            }
            Pattern::Tornado => {
                // ceil(k/2) - 1 = (k - 1) / 2 hops ahead: the farthest offset that minimal
                // routing still sends the plus way, in every dimension at once.
                let c: Vec<usize> = (0..t.dims())
                    .map(|d| {
                        let k = t.shape()[d];
                        (t.coord(src, d) + (k - 1) / 2) % k
                    })
                    .collect();
                t.node_at(&c)
            }
            Pattern::RandomPermutation => self.permutation[src],
            Pattern::Hotspot => {
                if unit_open0(rng) <= self.hot_fraction {
                    self.hotspots[below(rng, self.hotspots.len())]
                } else {
                    uniform(rng)
                }
            }
        };
        // A fixed pattern that maps a node to itself or to a failed node sends nothing.
        ((d != src || drawn_self) && t.node_alive(d)).then_some(d)
    }
}

/// A uniformly random permutation of `0..nodes` (Fisher-Yates), a pure function of
/// `seed`. It may have fixed points (about one on average); those nodes send nothing.
/// A derangement is deliberately not forced: rejecting fixed points would bias the
/// permutation away from uniform.
fn random_permutation(seed: u64, nodes: usize) -> Vec<usize> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ PERMUTATION_SEED_MIX);
    let mut perm: Vec<usize> = (0..nodes).collect();
    for i in (1..nodes).rev() {
        perm.swap(i, below(&mut rng, i + 1));
    }
    perm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_never_picks_self_and_covers_all() {
        let t = Torus::new(&[4, 4]);
        let p = DestinationPicker::new(Pattern::Uniform, vec![], 0.0, 1, 16);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let mut seen = [0; 16];
        for _ in 0..10_000 {
            let d = p.pick(&t, 5, &mut rng).unwrap();
            seen[d] += 1;
        }
        assert_eq!(seen[5], 0);
        assert!(seen.iter().enumerate().all(|(i, &c)| i == 5 || c > 500));
    }

    #[test]
    fn permutations() {
        let t = Torus::new(&[4, 4]);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let bc = DestinationPicker::new(Pattern::BitComplement, vec![], 0.0, 1, 16);
        assert_eq!(bc.pick(&t, 0, &mut rng), Some(15));
        let tr = DestinationPicker::new(Pattern::Transpose, vec![], 0.0, 1, 16);
        assert_eq!(
            tr.pick(&t, t.node_at(&[1, 2]), &mut rng),
            Some(t.node_at(&[2, 1]))
        );
        assert_eq!(tr.pick(&t, t.node_at(&[2, 2]), &mut rng), None);
    }

    /// Tornado destination of `src` (given by coordinates) on a torus of `shape`.
    fn tornado(shape: &[usize], src: &[usize]) -> Option<Vec<usize>> {
        let t = Torus::new(shape);
        let p = DestinationPicker::new(Pattern::Tornado, vec![], 0.0, 1, t.nodes());
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        p.pick(&t, t.node_at(src), &mut rng).map(|d| t.coords(d))
    }

    #[test]
    fn tornado_moves_ceil_half_minus_one_ahead_in_every_dimension() {
        // k = 8: 3 ahead, wrapping around the ring.
        assert_eq!(tornado(&[8, 8], &[0, 0]), Some(vec![3, 3]));
        assert_eq!(tornado(&[8, 8], &[6, 2]), Some(vec![1, 5]));
        assert_eq!(tornado(&[8, 8], &[7, 7]), Some(vec![2, 2]));
        // k = 5: 2 ahead.
        assert_eq!(tornado(&[5, 5], &[0, 0]), Some(vec![2, 2]));
        assert_eq!(tornado(&[5, 5], &[4, 3]), Some(vec![1, 0]));
        // k = 4: 1 ahead.
        assert_eq!(tornado(&[4, 4, 4], &[0, 0, 0]), Some(vec![1, 1, 1]));
        assert_eq!(tornado(&[4, 4, 4], &[3, 1, 2]), Some(vec![0, 2, 3]));
        // Mixed sizes: each dimension uses its own ring size.
        assert_eq!(tornado(&[8, 5, 4], &[7, 4, 3]), Some(vec![2, 1, 0]));
    }

    #[test]
    fn tornado_keeps_k2_coordinates_and_self_sends_nothing() {
        // k = 2: ceil(2/2) - 1 = 0, the coordinate is unchanged.
        assert_eq!(tornado(&[8, 2], &[1, 1]), Some(vec![4, 1]));
        assert_eq!(tornado(&[2, 2], &[1, 0]), None);
    }

    fn perm(seed: u64, nodes: usize) -> Vec<Option<usize>> {
        let t = Torus::new(&[nodes]);
        let p = DestinationPicker::new(Pattern::RandomPermutation, vec![], 0.0, seed, nodes);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        (0..nodes).map(|s| p.pick(&t, s, &mut rng)).collect()
    }

    #[test]
    fn random_permutation_is_a_bijection() {
        for (seed, n) in [(1, 64), (7, 125), (42, 2)] {
            let table = random_permutation(seed, n);
            let mut seen = vec![false; n];
            for &d in &table {
                assert!(!seen[d], "seed {seed}, n {n}: {d} is hit twice");
                seen[d] = true;
            }
            // The picker follows the table, with fixed points sending nothing.
            for (s, d) in perm(seed, n).into_iter().enumerate() {
                assert_eq!(d, (table[s] != s).then_some(table[s]));
            }
        }
    }

    #[test]
    fn random_permutation_depends_on_the_seed_only() {
        assert_eq!(perm(1, 64), perm(1, 64));
        assert_ne!(perm(1, 64), perm(2, 64));
        // The per-packet stream plays no part: the destination is fixed per node.
        let t = Torus::new(&[8, 8]);
        let p = DestinationPicker::new(Pattern::RandomPermutation, vec![], 0.0, 1, 64);
        let mut a = Xoshiro256PlusPlus::seed_from_u64(3);
        let mut b = Xoshiro256PlusPlus::seed_from_u64(4);
        for s in 0..64 {
            assert_eq!(p.pick(&t, s, &mut a), p.pick(&t, s, &mut b));
        }
    }
}
