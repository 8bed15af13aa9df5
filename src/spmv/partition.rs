//! Balanced horizontal stripes and the alltoall ring order.

use super::SpmvError;
use std::ops::Range;

/// Largest supported node count: the transfer matrix has `p^2` `u32` entries
/// (32768 nodes = 4 GiB), and the paper goes to 2048.
pub const MAX_NODES: usize = 1 << 15;

/// Rows `0..n` (and the vector, partitioned the same way) split over `p` nodes in
/// contiguous stripes: node `i` owns `floor(i n / p) .. floor((i + 1) n / p)`.
///
/// Why this rule: stripe sizes differ by at most one (each is `floor(n/p)` or
/// `ceil(n/p)`), it needs no remainder bookkeeping, and the owner of an index has a
/// closed form. When `n % p != 0` the larger stripes are spread out rather than all
/// placed first. With `p > n` some stripes are empty, which is allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stripes {
    n: u64,
    p: usize,
}

impl Stripes {
    /// Stripes of `0..n` over `p` nodes; `1 <= p <= MAX_NODES`.
    pub fn new(n: u64, p: usize) -> Result<Self, SpmvError> {
        if p == 0 || p > MAX_NODES {
            return Err(SpmvError::Invalid(format!(
                "node count p = {p} must be in 1..={MAX_NODES}"
            )));
        }
        Ok(Stripes { n, p })
    }

    pub fn n(&self) -> u64 {
        self.n
    }

    pub fn p(&self) -> usize {
        self.p
    }

    /// First index of stripe `i`, for `i` in `0..=p` (`start(p) = n`).
    #[inline]
    pub fn start(&self, i: usize) -> u64 {
        debug_assert!(i <= self.p);
        (i as u128 * u128::from(self.n) / self.p as u128) as u64
    }

    /// The indices node `i` owns.
    #[inline]
    pub fn range(&self, i: usize) -> Range<u64> {
        self.start(i)..self.start(i + 1)
    }

    /// How many indices node `i` owns.
    #[inline]
    pub fn len(&self, i: usize) -> u64 {
        self.start(i + 1) - self.start(i)
    }

    /// Whether there are no indices at all (never, for a valid spec; for clippy).
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The node owning index `c < n`: `floor(((c + 1) p - 1) / n)`, since
    /// `floor(i n / p) <= c` iff `i n < (c + 1) p` iff `i <= ((c + 1) p - 1) / n`.
    #[inline]
    pub fn owner(&self, c: u64) -> usize {
        debug_assert!(c < self.n);
        (((u128::from(c) + 1) * self.p as u128 - 1) / u128::from(self.n)) as usize
    }
}

/// The order in which node `j` sends its alltoall messages, as in the paper: nodes
/// `j + 1, j + 2, ..., p - 1, 0, 1, ..., j - 1` (every other node once, never itself).
///
/// Why: staggering the start makes each node's first message go to a different
/// destination, so no node is the target of everyone at once.
///
/// # Panics
/// If `j >= p` (a caller bug).
pub fn ring_order(p: usize, j: usize) -> impl ExactSizeIterator<Item = usize> + Clone {
    assert!(j < p, "node {j} outside 0..{p}");
    (1..p).map(move |k| (j + k) % p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripes_cover_and_balance() {
        for &(n, p) in &[
            (16u64, 4usize),
            (20, 4),
            (10, 3),
            (7, 7),
            (3, 5),
            (10_240_000, 2048),
        ] {
            let s = Stripes::new(n, p).unwrap();
            assert_eq!(s.start(0), 0);
            assert_eq!(s.start(p), n);
            let (lo, hi) = (n / p as u64, n.div_ceil(p as u64));
            let mut next = 0;
            for i in 0..p {
                assert_eq!(s.range(i).start, next, "stripes must be contiguous");
                next = s.range(i).end;
                assert!(s.len(i) == lo || s.len(i) == hi, "n={n} p={p} i={i}");
            }
            assert_eq!(next, n);
        }
        let s = Stripes::new(10, 3).unwrap();
        assert_eq!(
            (0..3).map(|i| s.range(i)).collect::<Vec<_>>(),
            [0..3, 3..6, 6..10]
        );
    }

    #[test]
    fn owner_matches_ranges() {
        for &(n, p) in &[(16u64, 4usize), (20, 3), (7, 7), (3, 5), (1000, 33), (1, 1)] {
            let s = Stripes::new(n, p).unwrap();
            for i in 0..p {
                for c in s.range(i) {
                    assert_eq!(s.owner(c), i, "n={n} p={p} c={c}");
                }
            }
        }
    }

    #[test]
    fn ring_order_is_the_papers() {
        assert_eq!(ring_order(5, 0).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert_eq!(ring_order(5, 2).collect::<Vec<_>>(), [3, 4, 0, 1]);
        assert_eq!(ring_order(5, 4).collect::<Vec<_>>(), [0, 1, 2, 3]);
        assert_eq!(ring_order(1, 0).count(), 0);
        for p in 1..20 {
            for j in 0..p {
                let mut seen: Vec<usize> = ring_order(p, j).collect();
                assert_eq!(seen.len(), p - 1);
                assert!(!seen.contains(&j));
                seen.sort_unstable();
                seen.dedup();
                assert_eq!(seen.len(), p - 1);
            }
        }
    }

    #[test]
    fn bad_node_counts_are_errors() {
        assert!(Stripes::new(10, 0).is_err());
        assert!(Stripes::new(10, MAX_NODES + 1).is_err());
    }
}
