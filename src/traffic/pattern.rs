//! Destination patterns of synthetic traffic.

use crate::config::schema::Pattern;
use crate::topology::Torus;
use rand_core::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;

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

#[derive(Clone, Debug)]
pub struct DestinationPicker {
    pattern: Pattern,
    hotspots: Vec<usize>,
    hot_fraction: f64,
}

impl DestinationPicker {
    pub fn new(pattern: Pattern, hotspots: Vec<usize>, hot_fraction: f64) -> Self {
        DestinationPicker {
            pattern,
            hotspots,
            hot_fraction,
        }
    }

    /// The destination of the next packet from `src`; `None` when the pattern maps the
    /// node to itself (it then sends nothing).
    pub fn pick(&self, t: &Torus, src: usize, rng: &mut Xoshiro256PlusPlus) -> Option<usize> {
        let n = t.nodes();
        let uniform = |rng: &mut Xoshiro256PlusPlus| {
            let r = below(rng, n - 1);
            if r >= src { r + 1 } else { r }
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
            Pattern::Hotspot => {
                if unit_open0(rng) <= self.hot_fraction {
                    self.hotspots[below(rng, self.hotspots.len())]
                } else {
                    uniform(rng)
                }
            }
        };
        (d != src).then_some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    #[test]
    fn uniform_never_picks_self_and_covers_all() {
        let t = Torus::new(&[4, 4]);
        let p = DestinationPicker::new(Pattern::Uniform, vec![], 0.0);
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
        let bc = DestinationPicker::new(Pattern::BitComplement, vec![], 0.0);
        assert_eq!(bc.pick(&t, 0, &mut rng), Some(15));
        let tr = DestinationPicker::new(Pattern::Transpose, vec![], 0.0);
        assert_eq!(
            tr.pick(&t, t.node_at(&[1, 2]), &mut rng),
            Some(t.node_at(&[2, 1]))
        );
        assert_eq!(tr.pick(&t, t.node_at(&[2, 2]), &mut rng), None);
    }
}
