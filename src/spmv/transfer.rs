//! The exact `p x p` transfer matrix of a generated matrix, stored sparse.

use super::SpmvError;
use super::generator::{MatrixSpec, fill_row};
use super::partition::Stripes;
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
/// Stored sparse and by sender, the way the alltoall reads it: for each node `j`, the
/// nodes `i` with `T[i][j] > 0` in increasing order with their counts (`u32`: an entry
/// is at most a stripe length `<= n <= MAX_N`). Memory is 8 bytes per non-zero entry,
/// never `p^2`: a node's rows touch at most `rows x d` columns, so a row of `T` has at
/// most that many non-zeros however large `p` grows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferMatrix {
    spec: MatrixSpec,
    stripes: Stripes,
    /// Sender `j`'s entries are `start[j]..start[j + 1]` of `to` and `count`.
    start: Vec<usize>,
    to: Vec<u32>,
    count: Vec<u32>,
}

/// Stripes computed together: bounds the entries held before they are placed (a few
/// MB), while giving rayon enough tasks.
const CHUNK: usize = 256;

/// What a worker reuses from stripe to stripe: an `n`-bit set of the columns seen and
/// the words of it in use, a count per owning node and the owners touched, and one
/// generated row.
struct Scratch {
    seen: Vec<u64>,
    words: Vec<u32>,
    per_owner: Vec<u32>,
    owners: Vec<u32>,
    row: Vec<u32>,
}

impl Scratch {
    fn new(n: u64, p: usize) -> Scratch {
        Scratch {
            seen: vec![0; n.div_ceil(64) as usize],
            words: Vec::new(),
            per_owner: vec![0; p],
            owners: Vec::new(),
            row: Vec::new(),
        }
    }
}

/// Row `i` of `T` as `(j, T[i][j])` for the non-zero entries, `j` increasing: each
/// distinct column of node `i`'s rows counted once for its owning stripe. Cost is
/// proportional to the stripe's nonzeros (the set is cleared word by word in use, not
/// whole), so `p` stripes cost `n d` in all whatever `p`.
fn needs(spec: &MatrixSpec, stripes: &Stripes, i: usize, w: &mut Scratch) -> Vec<(u32, u32)> {
    for r in stripes.range(i) {
        fill_row(spec, r, &mut w.row);
        for &c in &w.row {
            let (word, bit) = ((c >> 6) as usize, 1u64 << (c & 63));
            let old = w.seen[word];
            if old & bit == 0 {
                if old == 0 {
                    w.words.push(word as u32);
                }
                w.seen[word] = old | bit;
                let j = stripes.owner(u64::from(c));
                if w.per_owner[j] == 0 {
                    w.owners.push(j as u32);
                }
                w.per_owner[j] += 1;
            }
        }
    }
    for &word in &w.words {
        w.seen[word as usize] = 0;
    }
    w.words.clear();
    w.owners.sort_unstable();
    let out = w
        .owners
        .iter()
        .map(|&j| (j, std::mem::take(&mut w.per_owner[j as usize])))
        .collect();
    w.owners.clear();
    out
}

/// Entries of rows kept from the counting pass for the placing pass (64 MiB); rows
/// beyond are generated again rather than held.
const KEEP_ENTRIES: usize = 1 << 23;

impl TransferMatrix {
    /// Computes the matrix exactly by generating every row: a first pass counts the
    /// non-zeros of each sender, a second places them. Rows are kept from the first pass
    /// up to [`KEEP_ENTRIES`] entries and generated again beyond, so at most that is
    /// held besides the result.
    ///
    /// Work is one rayon task per node stripe, in the current rayon pool (call inside
    /// `ThreadPool::install` to choose the threads), [`CHUNK`] stripes at a time; the
    /// result does not depend on the thread count or scheduling, because each stripe
    /// is computed alone from the rows' own random streams and entries are placed in
    /// stripe order. Each worker holds an `n`-bit set (1.25 MiB for the paper's `n`) and a
    /// count per node, so memory is that per worker plus the result, never the `n d`
    /// nonzeros nor `p^2`.
    pub fn compute(spec: &MatrixSpec, p: usize) -> Result<Self, SpmvError> {
        spec.validate()?;
        let stripes = Stripes::new(spec.n, p)?;
        // Calls `place(i, row i)` for every stripe from `first` on, in order.
        let each_row = |first: usize, place: &mut dyn FnMut(usize, Vec<(u32, u32)>)| {
            for lo in (first..p).step_by(CHUNK) {
                let hi = (lo + CHUNK).min(p);
                let rows: Vec<Vec<(u32, u32)>> = (lo..hi)
                    .into_par_iter()
                    .map_init(
                        || Scratch::new(spec.n, p),
                        |w, i| needs(spec, &stripes, i, w),
                    )
                    .collect();
                for (k, r) in rows.into_iter().enumerate() {
                    place(lo + k, r);
                }
            }
        };
        // Count each sender's non-zeros, keeping the first rows while they are few.
        let mut start = vec![0usize; p + 1];
        let (mut kept, mut kept_entries, mut keeping) = (Vec::new(), 0usize, true);
        each_row(0, &mut |_, r| {
            for &(j, _) in &r {
                start[j as usize + 1] += 1;
            }
            keeping = keeping && kept_entries + r.len() <= KEEP_ENTRIES;
            if keeping {
                kept_entries += r.len();
                kept.push(r);
            }
        });
        for j in 0..p {
            start[j + 1] += start[j];
        }
        let total = start[p];
        let (mut to, mut count) = (vec![0u32; total], vec![0u32; total]);
        let mut next = start[..p].to_vec();
        let mut place = |i: usize, r: Vec<(u32, u32)>| {
            for (j, c) in r {
                let k = &mut next[j as usize];
                to[*k] = i as u32;
                count[*k] = c;
                *k += 1;
            }
        };
        let done = kept.len();
        for (i, r) in kept.into_iter().enumerate() {
            place(i, r);
        }
        each_row(done, &mut place);
        Ok(TransferMatrix {
            spec: *spec,
            stripes,
            start,
            to,
            count,
        })
    }

    /// Wraps entries given per sender `j` as `(i, T[i][j])` (tests, tools); see
    /// [`Self::from_columns`] for the checks.
    pub fn from_sends(
        spec: &MatrixSpec,
        p: usize,
        sends: impl IntoIterator<Item = Vec<(u32, u32)>>,
    ) -> Result<Self, SpmvError> {
        let mut start = vec![0usize];
        let (mut to, mut count) = (Vec::new(), Vec::new());
        for list in sends {
            for (i, c) in list {
                to.push(i);
                count.push(c);
            }
            start.push(to.len());
        }
        Self::from_columns(spec, p, start, to, count)
    }

    /// Wraps entries read from elsewhere (the cache) in the stored layout: sender `j`'s
    /// receivers `to[start[j]..start[j + 1]]` with their counts. Checks that there are
    /// `p` senders, receivers are strictly increasing and below `p`, and
    /// `0 < T[i][j] <=` stripe `j`'s length, so a damaged source cannot yield an
    /// impossible matrix.
    pub fn from_columns(
        spec: &MatrixSpec,
        p: usize,
        start: Vec<usize>,
        to: Vec<u32>,
        count: Vec<u32>,
    ) -> Result<Self, SpmvError> {
        spec.validate()?;
        let stripes = Stripes::new(spec.n, p)?;
        let bad = |m: String| Err(SpmvError::Invalid(m));
        if start.len() != p + 1 || start[0] != 0 || to.len() != count.len() {
            return bad(format!(
                "{} senders for p = {p}",
                start.len().saturating_sub(1)
            ));
        }
        if start[p] != to.len() || start.windows(2).any(|w| w[0] > w[1]) {
            return bad(format!("sender offsets do not cover {} entries", to.len()));
        }
        for j in 0..p {
            let r = start[j]..start[j + 1];
            for k in r.clone() {
                let (i, c) = (to[k], count[k]);
                if i as usize >= p || (k > r.start && to[k - 1] >= i) {
                    return bad(format!(
                        "sender {j}: receiver {i} out of order or beyond p = {p}"
                    ));
                }
                if c == 0 || u64::from(c) > stripes.len(j) {
                    return bad(format!(
                        "T[{i}][{j}] = {c} exceeds stripe {j}'s {} elements or is 0",
                        stripes.len(j)
                    ));
                }
            }
        }
        Ok(TransferMatrix {
            spec: *spec,
            stripes,
            start,
            to,
            count,
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

    /// Stored (non-zero) entries, diagonal included.
    pub fn nonzeros(&self) -> usize {
        self.to.len()
    }

    /// Bytes the entries take: 8 per non-zero plus one offset per node.
    pub fn memory_bytes(&self) -> usize {
        self.to.len() * 8 + self.start.len() * std::mem::size_of::<usize>()
    }

    /// Node `j`'s non-zero column of `T`: `(i, T[i][j])`, `i` increasing, the diagonal
    /// included.
    pub fn column(&self, j: usize) -> impl ExactSizeIterator<Item = (usize, u32)> + Clone + '_ {
        let r = self.start[j]..self.start[j + 1];
        self.to[r.clone()]
            .iter()
            .zip(&self.count[r])
            .map(|(&i, &c)| (i as usize, c))
    }

    /// `T[i][j]` (see the type documentation; `i == j` is the local count).
    pub fn get(&self, i: usize, j: usize) -> u32 {
        let r = self.start[j]..self.start[j + 1];
        match self.to[r.clone()].binary_search(&(i as u32)) {
            Ok(k) => self.count[r.start + k],
            Err(_) => 0,
        }
    }

    /// Row `i` dense: what node `i` needs from each node. Reads every column: for
    /// tests and small `p`.
    pub fn row(&self, i: usize) -> Vec<u32> {
        (0..self.p()).map(|j| self.get(i, j)).collect()
    }

    /// Elements node `from` sends to node `to` in the alltoall: `T[to][from]`, and 0
    /// for `from == to`. Use this rather than `get` to avoid transposing by mistake.
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

    /// Elements node `i` receives: the sum over `j != i` of `T[i][j]`. Reads every
    /// column; use [`Self::recv_totals`] for all nodes.
    pub fn recv_total(&self, i: usize) -> u64 {
        (0..self.p()).map(|j| self.send_count(j, i)).sum()
    }

    /// Elements node `j` sends: the sum over `i != j` of `T[i][j]`.
    pub fn send_total(&self, j: usize) -> u64 {
        self.column(j)
            .filter(|&(i, _)| i != j)
            .map(|(_, c)| u64::from(c))
            .sum()
    }

    /// Per-node received totals, indexed by node (one pass over the entries).
    pub fn recv_totals(&self) -> Vec<u64> {
        let mut v = vec![0u64; self.p()];
        for j in 0..self.p() {
            for (i, c) in self.column(j).filter(|&(i, _)| i != j) {
                v[i] += u64::from(c);
            }
        }
        v
    }

    /// Per-node sent totals, indexed by node.
    pub fn send_totals(&self) -> Vec<u64> {
        (0..self.p()).map(|j| self.send_total(j)).collect()
    }

    /// All elements crossing the network in one alltoall exchange.
    pub fn total_remote(&self) -> u64 {
        (0..self.p()).map(|j| self.send_total(j)).sum()
    }

    /// Node `from`'s non-empty messages in the paper's ring order (`from + 1`, ...,
    /// `p - 1`, `0`, ..., `from - 1`): `(destination, elements)`. Pairs with nothing
    /// to send are skipped: the column is sorted, so the ring order is a rotation of it.
    pub fn ring_sends(&self, from: usize) -> impl Iterator<Item = (usize, u64)> + '_ {
        let col = self.column(from);
        let split = col.clone().take_while(|&(i, _)| i <= from).count();
        col.clone()
            .skip(split)
            .chain(col.take(split))
            .filter(move |&(i, _)| i != from)
            .map(|(i, c)| (i, u64::from(c)))
    }
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
    use super::super::partition::ring_order;
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
            let want: Vec<usize> = ring_order(4, j)
                .filter(|&to| tm.send_count(j, to) > 0)
                .collect();
            assert_eq!(sends.iter().map(|s| s.0).collect::<Vec<_>>(), want);
            for &(to, c) in &sends {
                assert_eq!(c, u64::from(tm.get(to, j)));
            }
            assert_eq!(sends.iter().map(|s| s.1).sum::<u64>(), tm.send_total(j));
            assert_eq!(tm.send_count(j, j), 0);
        }
        assert_eq!(ElementEncoding::VALUES_F64.bytes(10), 80);
        assert_eq!(ElementEncoding::VALUES_F64_INDEX_U32.bytes(10), 120);
        let cols = |tm: &TransferMatrix| -> Vec<Vec<(u32, u32)>> {
            (0..tm.p())
                .map(|j| tm.column(j).map(|(i, c)| (i as u32, c)).collect())
                .collect()
        };
        let same = TransferMatrix::from_sends(&spec, 4, cols(&tm)).unwrap();
        assert_eq!(same, tm);
        let mut short = cols(&tm);
        short.pop();
        assert!(TransferMatrix::from_sends(&spec, 4, short).is_err());
        let mut too_big = cols(&tm);
        too_big[1][0].1 = 251; // stripe 1 has 250 elements
        assert!(TransferMatrix::from_sends(&spec, 4, too_big).is_err());
        let mut unordered = cols(&tm);
        unordered[2].swap(0, 1);
        assert!(TransferMatrix::from_sends(&spec, 4, unordered).is_err());
    }

    /// Sparse storage: with many more nodes than a node's rows have nonzeros, memory
    /// follows the nonzeros, far below the `p^2` dense form, and ring order holds.
    #[test]
    fn memory_follows_the_nonzeros() {
        let spec = MatrixSpec::new(100_000, 4, 3).unwrap();
        let p = 4096;
        let tm = TransferMatrix::compute(&spec, p).unwrap();
        // About 24 rows x 4 columns per node: at most 100 non-zeros per row of T.
        assert!(tm.nonzeros() <= 100 * p, "{}", tm.nonzeros());
        assert!(tm.memory_bytes() < p * p * 4 / 8, "{}", tm.memory_bytes());
        let from = 1234;
        let sends: Vec<usize> = tm.ring_sends(from).map(|s| s.0).collect();
        let want: Vec<usize> = ring_order(p, from)
            .filter(|&to| tm.send_count(from, to) > 0)
            .collect();
        assert_eq!(sends, want);
        assert_eq!(tm.recv_totals()[17], tm.recv_total(17));
    }
}
