//! How the torus is cut into partitions, and the partitions spread over processes.
//!
//! Slabs of the longest dimension come first: a slab borders two others, its cut links
//! lie on two faces, and its nodes are numbered contiguously. A ring of k nodes gives
//! at most k slabs, though (16 on a 16x16x8x8 torus), so for more partitions the slabs
//! are cut again along the next-longest dimension, and so on: blocks. Each partition
//! then borders a few more (up to two per cut dimension), but a cluster's worth of
//! ranks gets work on networks whose longest ring is short.

use crate::topology::Torus;

/// Dimensions from the longest to the shortest (ties: the lower index first).
fn by_length(shape: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..shape.len()).collect();
    order.sort_by_key(|&d| (std::cmp::Reverse(shape[d]), d));
    order
}

/// Cuts per dimension making exactly `parts` blocks, if the greedy split finds them:
/// the longest dimension takes the largest divisor of `parts` it can hold, the next
/// one the largest divisor of what is left, and so on.
fn exact_grid(shape: &[usize], order: &[usize], parts: usize) -> Option<Vec<usize>> {
    let mut cuts = vec![1; shape.len()];
    let mut left = parts;
    for &d in order {
        let s = (1..=shape[d].min(left))
            .rev()
            .find(|&s| left.is_multiple_of(s))
            .unwrap_or(1);
        cuts[d] = s;
        left /= s;
    }
    (left == 1).then_some(cuts)
}

/// How many pieces each dimension is cut into for (at most) `parts` partitions: slabs
/// of the longest dimension up to its length, blocks beyond it. The number of blocks
/// (the product) is the largest count up to `parts` that the greedy split reaches; it
/// is never below what slabs alone give.
pub fn grid(shape: &[usize], parts: usize) -> Vec<usize> {
    let order = by_length(shape);
    let nodes: usize = shape.iter().product();
    let longest = order.first().map_or(1, |&d| shape[d]);
    let parts = parts.clamp(1, nodes.max(1));
    if parts <= longest {
        let mut cuts = vec![1; shape.len()];
        if let Some(&d) = order.first() {
            cuts[d] = parts;
        }
        return cuts;
    }
    (longest + 1..=parts)
        .rev()
        .find_map(|q| exact_grid(shape, &order, q))
        .unwrap_or_else(|| grid(shape, longest))
}

/// Partitions [`grid`] makes for `parts` asked.
pub fn count(shape: &[usize], parts: usize) -> usize {
    grid(shape, parts).iter().product()
}

/// The cuts written as `16x4x1x1`, for notes and reports.
pub fn describe(cuts: &[usize]) -> String {
    cuts.iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join("x")
}

/// The partition of every node for `parts` partitions (see [`grid`]). Partitions are
/// numbered with the longest dimension's block most significant, so consecutive
/// numbers (which [`rank_of_partition`] gives to one process) lie in one slab.
pub fn owner(torus: &Torus, parts: usize) -> Vec<usize> {
    let shape = torus.shape();
    let cuts = grid(shape, parts);
    let order = by_length(shape);
    (0..torus.nodes())
        .map(|n| {
            order.iter().fold(0, |acc, &d| {
                acc * cuts[d] + torus.coord(n, d) * cuts[d] / shape[d]
            })
        })
        .collect()
}

/// The ranks other than `me` that own a node linked to one of `me`'s nodes: messages
/// travel only over links, so these are the only ranks `me` ever sends to or hears from.
pub fn peer_ranks(torus: &Torus, owner: &[usize], part_rank: &[usize], me: usize) -> Vec<usize> {
    let mut peers = std::collections::BTreeSet::new();
    for n in 0..torus.nodes() {
        if part_rank[owner[n]] != me {
            continue;
        }
        for p in 0..torus.network_ports() {
            let r = part_rank[owner[torus.neighbor(n, p)]];
            if r != me {
                peers.insert(r);
            }
        }
    }
    peers.into_iter().collect()
}

/// Which rank owns partition `p` of `parts`: contiguous blocks, so neighbouring slabs
/// (which exchange the most) tend to share a process.
pub fn rank_of_partition(p: usize, parts: usize, ranks: usize) -> usize {
    p * ranks / parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peers(shape: &[usize], parts: usize, ranks: usize) -> Vec<Vec<usize>> {
        let torus = Torus::new(shape);
        let owner = owner(&torus, parts);
        let part_rank: Vec<usize> = (0..parts)
            .map(|p| rank_of_partition(p, parts, ranks))
            .collect();
        (0..ranks)
            .map(|r| peer_ranks(&torus, &owner, &part_rank, r))
            .collect()
    }

    #[test]
    fn ranks_talk_only_to_their_neighbours_on_the_ring_of_slabs() {
        assert_eq!(peers(&[8, 8], 1, 1), vec![Vec::<usize>::new()]);
        assert_eq!(peers(&[8, 8], 2, 2), vec![vec![1], vec![0]]);
        assert_eq!(
            peers(&[8, 8], 8, 4),
            vec![vec![1, 3], vec![0, 2], vec![1, 3], vec![0, 2]]
        );
        // 16 slabs of a 16-ring over 8 ranks: still two peers each, not seven.
        for (r, p) in peers(&[16, 4, 4], 16, 8).iter().enumerate() {
            assert_eq!(
                p,
                &vec![(r + 7) % 8, (r + 1) % 8]
                    .into_iter()
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn slabs_of_the_longest_dimension_up_to_its_length() {
        assert_eq!(grid(&[8, 8], 3), vec![3, 1]);
        assert_eq!(grid(&[4, 6, 4], 6), vec![1, 6, 1]);
        assert_eq!(grid(&[16, 16, 8, 8], 16), vec![16, 1, 1, 1]);
        // The slab owner as it always was: coordinate x parts / k.
        let t = Torus::new(&[4, 6, 4]);
        let o = owner(&t, 4);
        for (n, &p) in o.iter().enumerate() {
            assert_eq!(p, t.coord(n, 1) * 4 / 6);
        }
    }

    #[test]
    fn blocks_beyond_the_longest_ring() {
        assert_eq!(grid(&[16, 16, 8, 8], 64), vec![16, 4, 1, 1]);
        assert_eq!(grid(&[8, 8, 8, 4], 64), vec![8, 8, 1, 1]);
        assert_eq!(grid(&[8, 8, 8, 4], 512), vec![8, 8, 8, 1]);
        assert_eq!(grid(&[4, 6, 4], 24), vec![4, 6, 1]);
        // 17 is prime and larger than any ring: the largest reachable count below it.
        assert_eq!(count(&[16, 16], 17), 16);
        assert_eq!(count(&[16, 16], 34), 33);
        // Never more partitions than nodes.
        assert_eq!(count(&[2, 2, 2], 100), 8);
        assert_eq!(describe(&grid(&[16, 16, 8, 8], 64)), "16x4x1x1");
    }

    #[test]
    fn blocks_are_balanced_and_numbered_slab_first() {
        let t = Torus::new(&[16, 16, 8, 8]);
        let o = owner(&t, 64);
        let mut sizes = vec![0usize; 64];
        for &p in &o {
            sizes[p] += 1;
        }
        assert!(sizes.iter().all(|&s| s == 256), "{sizes:?}");
        // Partitions 0..4 are the four blocks of the first slab of dimension 0.
        for (n, &p) in o.iter().enumerate() {
            assert_eq!(p / 4, t.coord(n, 0));
        }
        // Each block borders at most 2 blocks per cut dimension.
        let part_rank: Vec<usize> = (0..64).collect();
        for me in 0..64 {
            assert!(peer_ranks(&t, &o, &part_rank, me).len() <= 4);
        }
    }
}
