//! The exact `p x p` transfer matrix of a generated matrix.

use super::SpmvError;
use super::generator::{MatrixSpec, fill_row};
use super::partition::{Stripes, ring_order};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// `T[i][j]`: the number of distinct vector elements node `i` needs from node `j`, that
/// is, the columns in stripe `j` appearing in at least one of node `i`'s rows. In the
/// alltoall, node `j` sends `T[i][j]` elements to node `i`.
///
/// The diagonal `T[i][i]` holds the locally needed count (columns of node `i`'s own
/// stripe that its rows touch); it is never sent, and every `*_remote` / `*_total`
/// helper below excludes it. It is kept because it costs nothing and tells how much of
/// the local vector part the compute touches.
///
/// Stored row-major as `u32` (an entry is at most a stripe length `<= n <= MAX_N`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferMatrix {
    spec: MatrixSpec,
    stripes: Stripes,
    counts: Vec<u32>,
}

impl TransferMatrix {
    /// Computes the matrix exactly by regenerating every row once.
    ///
    /// Work is one rayon task per node stripe, in the current rayon pool (call inside
    /// `ThreadPool::install` to choose the threads); the result does not depend on the
    /// thread count or scheduling, because each stripe is computed alone from the rows'
    /// own random streams. Each worker holds one `n`-bit bitset (1.25 MiB for the paper's
    /// `n`) that marks the columns its stripe's rows touch and is cleared after the
    /// counts are read off, so memory is `O(threads n / 8 + p^2 * 4)` bytes, never the
    /// `n d` nonzeros. Parallelism is at most `p` stripes.
    ///
    /// Cost is about 10 ns of CPU per nonzero: the paper's `n = 10,240,000` takes about
    /// 1 CPU-second for `d = 10` and 4.5 for `d = 50`, whatever `p` (measured on an AMD
    /// EPYC core; the `p = 2048` run's peak RSS is 22 MB).
    pub fn compute(spec: &MatrixSpec, p: usize) -> Result<Self, SpmvError> {
        spec.validate()?;
        let stripes = Stripes::new(spec.n, p)?;
        let words = spec.n.div_ceil(64) as usize;
        let mut counts = vec![0u32; p * p];
        counts.par_chunks_mut(p).enumerate().for_each_init(
            || (vec![0u64; words], Vec::with_capacity(spec.d as usize)),
            |(bits, row), (i, out)| {
                for r in stripes.range(i) {
                    fill_row(spec, r, row);
                    for &c in row.iter() {
                        bits[(c >> 6) as usize] |= 1u64 << (c & 63);
                    }
                }
                for (j, o) in out.iter_mut().enumerate() {
                    *o = count_range(bits, stripes.range(j)) as u32;
                }
                bits.fill(0);
            },
        );
        Ok(TransferMatrix {
            spec: *spec,
            stripes,
            counts,
        })
    }

    /// Wraps counts read from elsewhere (the cache), checking their shape and that no
    /// entry exceeds the stripe it counts from, so a damaged source cannot yield an
    /// impossible matrix.
    pub fn from_counts(spec: &MatrixSpec, p: usize, counts: Vec<u32>) -> Result<Self, SpmvError> {
        spec.validate()?;
        let stripes = Stripes::new(spec.n, p)?;
        if counts.len() != p * p {
            return Err(SpmvError::Invalid(format!(
                "{} transfer counts for p = {p} (need {})",
                counts.len(),
                p * p
            )));
        }
        for (idx, &c) in counts.iter().enumerate() {
            let j = idx % p;
            if u64::from(c) > stripes.len(j) {
                return Err(SpmvError::Invalid(format!(
                    "T[{}][{j}] = {c} exceeds stripe {j}'s {} elements",
                    idx / p,
                    stripes.len(j)
                )));
            }
        }
        Ok(TransferMatrix {
            spec: *spec,
            stripes,
            counts,
        })
    }

    pub fn spec(&self) -> &MatrixSpec {
        &self.spec
    }

    pub fn stripes(&self) -> &Stripes {
        &self.stripes
    }

    /// Node count.
    pub fn p(&self) -> usize {
        self.stripes.p()
    }

    /// `T[i][j]` (see the type documentation; `i == j` is the local count).
    #[inline]
    pub fn get(&self, i: usize, j: usize) -> u32 {
        self.counts[i * self.p() + j]
    }

    /// Row `i`: what node `i` needs from each node.
    pub fn row(&self, i: usize) -> &[u32] {
        let p = self.p();
        &self.counts[i * p..(i + 1) * p]
    }

    /// All entries, row-major.
    pub fn as_slice(&self) -> &[u32] {
        &self.counts
    }

    /// Elements node `from` sends to node `to` in the alltoall: `T[to][from]`, and 0
    /// for `from == to`. Use this rather than `get` to avoid transposing by mistake.
    #[inline]
    pub fn send_count(&self, from: usize, to: usize) -> u64 {
        if from == to {
            0
        } else {
            u64::from(self.get(to, from))
        }
    }

    /// `T[i][i]`: elements of its own stripe node `i` reads.
    pub fn local(&self, i: usize) -> u64 {
        u64::from(self.get(i, i))
    }

    /// Elements node `i` receives: the sum over `j != i` of `T[i][j]`.
    pub fn recv_total(&self, i: usize) -> u64 {
        self.row(i).iter().map(|&c| u64::from(c)).sum::<u64>() - self.local(i)
    }

    /// Elements node `j` sends: the sum over `i != j` of `T[i][j]`.
    pub fn send_total(&self, j: usize) -> u64 {
        (0..self.p()).map(|i| self.send_count(j, i)).sum()
    }

    /// Per-node received totals, indexed by node.
    pub fn recv_totals(&self) -> Vec<u64> {
        (0..self.p()).map(|i| self.recv_total(i)).collect()
    }

    /// Per-node sent totals, indexed by node.
    pub fn send_totals(&self) -> Vec<u64> {
        (0..self.p()).map(|j| self.send_total(j)).collect()
    }

    /// All elements crossing the network in one alltoall exchange.
    pub fn total_remote(&self) -> u64 {
        (0..self.p()).map(|i| self.recv_total(i)).sum()
    }

    /// Node `from`'s messages in the paper's ring order: `(destination, elements)`,
    /// including zero-element pairs (the caller decides whether to send empty messages).
    pub fn ring_sends(&self, from: usize) -> impl Iterator<Item = (usize, u64)> + '_ {
        ring_order(self.p(), from).map(move |to| (to, self.send_count(from, to)))
    }
}

/// Number of set bits with index in `r` (`r.end <= 64 * bits.len()`).
fn count_range(bits: &[u64], r: std::ops::Range<u64>) -> u64 {
    if r.start >= r.end {
        return 0;
    }
    let (lw, lb) = ((r.start >> 6) as usize, r.start & 63);
    let (hw, hb) = ((r.end >> 6) as usize, r.end & 63);
    if lw == hw {
        // Same word, 0 < hb - lb < 64.
        return u64::from((bits[lw] >> lb & ((1u64 << (hb - lb)) - 1)).count_ones());
    }
    let mut c = u64::from((bits[lw] >> lb).count_ones());
    c += bits[lw + 1..hw]
        .iter()
        .map(|w| u64::from(w.count_ones()))
        .sum::<u64>();
    if hb > 0 {
        c += u64::from((bits[hw] & ((1u64 << hb) - 1)).count_ones());
    }
    c
}

/// How counts become bytes on the wire: `bytes = count * (element_bytes + index_bytes)`.
///
/// Why separate: the paper does not say whether its alltoall sends bare values (the
/// receiver knowing the index lists from setup) or (index, value) pairs, and the notes
/// show the choice moves the predicted time by a constant factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElementEncoding {
    /// Bytes per vector value (8 for f64).
    pub element_bytes: u32,
    /// Bytes of index sent with each value (0 when indices are known in advance).
    pub index_bytes: u32,
}

impl ElementEncoding {
    /// Bare f64 values.
    pub const VALUES_F64: ElementEncoding = ElementEncoding {
        element_bytes: 8,
        index_bytes: 0,
    };
    /// f64 value plus a 32-bit index each.
    pub const VALUES_F64_INDEX_U32: ElementEncoding = ElementEncoding {
        element_bytes: 8,
        index_bytes: 4,
    };

    /// Bytes per element.
    pub fn per_element(&self) -> u64 {
        u64::from(self.element_bytes) + u64::from(self.index_bytes)
    }

    /// Bytes for `count` elements.
    pub fn bytes(&self, count: u64) -> u64 {
        count * self.per_element()
    }
}

#[cfg(test)]
mod tests {
    use super::super::expect::{
        approx_remote_per_node, expected_remote_total, expected_total_remote, expected_transfer,
    };
    use super::*;
    use std::collections::BTreeSet;

    /// Independent brute force: per node, the set of columns of its rows; each column's
    /// owner found by scanning the stripe list (not `Stripes::owner`), counted per node.
    fn brute_force(spec: &MatrixSpec, p: usize) -> Vec<Vec<u64>> {
        let stripes = Stripes::new(spec.n, p).unwrap();
        let ranges: Vec<_> = (0..p).map(|i| stripes.range(i)).collect();
        let mut t = vec![vec![0u64; p]; p];
        let mut row = Vec::new();
        for (i, rows) in ranges.iter().enumerate() {
            let mut needed = BTreeSet::new();
            for r in rows.clone() {
                spec.row_columns(r, &mut row);
                needed.extend(row.iter().map(|&c| u64::from(c)));
            }
            for c in needed {
                let j = ranges.iter().position(|rg| rg.contains(&c)).unwrap();
                t[i][j] += 1;
            }
        }
        t
    }

    fn as_rows(tm: &TransferMatrix) -> Vec<Vec<u64>> {
        (0..tm.p())
            .map(|i| tm.row(i).iter().map(|&c| u64::from(c)).collect())
            .collect()
    }

    /// n = 16, d = 3, p = 4, seed = 7. The rows are the generator's output, listed here
    /// (sorted) so that any change to the generator fails this test and must bump
    /// GENERATOR_VERSION. The transfer matrix below was worked out by hand from them.
    #[test]
    fn tiny_case_by_hand() {
        let spec = MatrixSpec::new(16, 3, 7).unwrap();
        #[rustfmt::skip]
        let rows: [[u32; 3]; 16] = [
            // node 0 owns rows and elements 0..4
            [4, 6, 15], [5, 8, 13], [2, 6, 7], [3, 7, 12],
            // node 1: 4..8
            [2, 3, 11], [2, 12, 15], [3, 5, 9], [1, 4, 11],
            // node 2: 8..12
            [0, 9, 10], [1, 3, 12], [0, 1, 7], [1, 8, 9],
            // node 3: 12..16
            [1, 3, 12], [7, 12, 15], [2, 6, 13], [3, 7, 8],
        ];
        let mut got = Vec::new();
        for (r, want) in rows.iter().enumerate() {
            spec.row_columns(r as u64, &mut got);
            got.sort_unstable();
            assert_eq!(got, want, "row {r}");
        }
        // By hand, the union of each node's rows split by owner:
        // node 0: {2,3} {4,5,6,7} {8} {12,13,15}
        // node 1: {1,2,3} {4,5} {9,11} {12,15}
        // node 2: {0,1,3} {7} {8,9,10} {12}
        // node 3: {1,2,3} {6,7} {8} {12,13,15}
        let hand: [[u32; 4]; 4] = [[2, 4, 1, 3], [3, 2, 2, 2], [3, 1, 3, 1], [3, 2, 1, 3]];
        let tm = TransferMatrix::compute(&spec, 4).unwrap();
        for (i, want) in hand.iter().enumerate() {
            assert_eq!(tm.row(i), want, "row {i} of T");
        }
        // Remote: 8 + 7 + 5 + 6; node 1 sends 4 + 1 + 2 to nodes 0, 2, 3.
        assert_eq!(tm.total_remote(), 26);
        assert_eq!(tm.recv_totals(), [8, 7, 5, 6]);
        assert_eq!(tm.send_total(1), 7);
        assert_eq!(
            tm.ring_sends(1).collect::<Vec<_>>(),
            [(2, 1), (3, 2), (0, 4)]
        );
    }

    #[test]
    fn matches_brute_force_and_remote_sum() {
        for &(n, d, p, seed) in &[
            (20u64, 2u32, 4usize, 3u64),
            (16, 3, 4, 7),
            (1000, 7, 6, 11),
            (997, 13, 10, 12),
            (50, 50, 7, 1),
            (30, 1, 40, 2), // p > n: empty stripes
            (5000, 0, 3, 1),
            (64 * 40, 9, 5, 9), // stripe bounds on word boundaries
        ] {
            let spec = MatrixSpec::new(n, d, seed).unwrap();
            let tm = TransferMatrix::compute(&spec, p).unwrap();
            let bf = brute_force(&spec, p);
            assert_eq!(as_rows(&tm), bf, "n={n} d={d} p={p}");
            let remote: u64 = (0..p)
                .map(|i| (0..p).filter(|&j| j != i).map(|j| bf[i][j]).sum::<u64>())
                .sum();
            assert_eq!(tm.total_remote(), remote);
            assert_eq!(
                tm.recv_totals().iter().sum::<u64>(),
                tm.send_totals().iter().sum::<u64>()
            );
        }
    }

    #[test]
    fn count_range_all_alignments() {
        let bits = [0xF0F0_1234_5678_9ABCu64, u64::MAX, 0x8000_0000_0000_0001];
        let bit = |k: u64| (bits[(k / 64) as usize] >> (k % 64)) & 1;
        for lo in 0..=192u64 {
            for hi in lo..=192u64 {
                let want: u64 = (lo..hi).map(bit).sum();
                assert_eq!(count_range(&bits, lo..hi), want, "{lo}..{hi}");
            }
        }
    }

    /// Exact counts against the closed form on a medium case with unequal stripes:
    /// every entry within 5 standard deviations, the mean squared z-score near 1 (it
    /// would be far off if the variance formula, or the generator, were wrong), node
    /// totals and the grand total within 4 standard deviations, and node totals near
    /// the notes' approximation.
    #[test]
    fn exact_vs_closed_form() {
        let spec = MatrixSpec::new(200_003, 10, 2024).unwrap();
        let p = 12;
        let tm = TransferMatrix::compute(&spec, p).unwrap();
        let st = tm.stripes();
        let mut sum_z2 = 0.0;
        for i in 0..p {
            for j in 0..p {
                let z = expected_transfer(&spec, st, i, j).z(f64::from(tm.get(i, j)));
                assert!(z.abs() < 5.0, "T[{i}][{j}] = {} z = {z}", tm.get(i, j));
                sum_z2 += z * z;
            }
            let row = expected_remote_total(&spec, st, i);
            let z = row.z(tm.recv_total(i) as f64);
            assert!(z.abs() < 4.0, "node {i} total z = {z}");
            let approx = approx_remote_per_node(spec.n, 10.0, p);
            assert!((tm.recv_total(i) as f64 / approx - 1.0).abs() < 0.01);
        }
        let mean_z2 = sum_z2 / (p * p) as f64;
        assert!((0.6..1.5).contains(&mean_z2), "mean z^2 = {mean_z2}");
        let total = expected_total_remote(&spec, st);
        let z = total.z(tm.total_remote() as f64);
        assert!(z.abs() < 4.0, "grand total z = {z}");
    }

    #[test]
    fn same_result_on_1_and_2_threads() {
        let spec = MatrixSpec::new(300_000, 20, 5).unwrap();
        let run = |threads: usize, p: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| TransferMatrix::compute(&spec, p).unwrap())
        };
        for p in [3, 64] {
            let one = run(1, p);
            assert_eq!(one, run(2, p), "p = {p}");
            assert_eq!(one, run(3, p), "p = {p}");
        }
    }

    #[test]
    fn helpers_and_bytes() {
        let spec = MatrixSpec::new(1000, 5, 1).unwrap();
        let tm = TransferMatrix::compute(&spec, 4).unwrap();
        for j in 0..4 {
            let sends: Vec<(usize, u64)> = tm.ring_sends(j).collect();
            assert_eq!(
                sends.iter().map(|s| s.0).collect::<Vec<_>>(),
                ring_order(4, j).collect::<Vec<_>>()
            );
            for &(to, c) in &sends {
                assert_eq!(c, u64::from(tm.get(to, j)));
            }
            assert_eq!(sends.iter().map(|s| s.1).sum::<u64>(), tm.send_total(j));
            assert_eq!(tm.send_count(j, j), 0);
        }
        assert_eq!(ElementEncoding::VALUES_F64.bytes(10), 80);
        assert_eq!(ElementEncoding::VALUES_F64_INDEX_U32.bytes(10), 120);
        assert!(TransferMatrix::from_counts(&spec, 4, vec![0; 15]).is_err());
        let mut too_big = tm.as_slice().to_vec();
        too_big[1] = 251; // stripe 1 has 250 elements
        assert!(TransferMatrix::from_counts(&spec, 4, too_big).is_err());
        let same = TransferMatrix::from_counts(&spec, 4, tm.as_slice().to_vec()).unwrap();
        assert_eq!(same, tm);
    }
}
