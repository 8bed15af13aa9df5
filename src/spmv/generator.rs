//! The random sparse matrix: its parameters and the on-the-fly row generator.
//!
//! # Generator (version [`GENERATOR_VERSION`])
//!
//! Row `r` of the `n x n` matrix holds exactly `d` distinct column indices, a uniformly
//! random `d`-subset of `0..n`, drawn from a random stream private to that row:
//!
//! 1. Row key: `z = seed ^ (r * 0x9E37_79B9_7F4A_7C15) ^ (ROW_STREAM * 0xD1B5_4A32_D192_ED03)`
//!    (wrapping multiplications, `ROW_STREAM = 0x5350_4D56`, "SPMV").
//! 2. Four consecutive SplitMix64 outputs from state `z` (the standard SplitMix64: add
//!    `0x9E37_79B9_7F4A_7C15`, then the finaliser) are the four little-endian state words
//!    of a Xoshiro256++ generator. SplitMix64 is a bijection of its counter, so the four
//!    words are never all zero.
//! 3. Robert Floyd's sampling algorithm: for `k` in `n - d .. n` in increasing order, draw
//!    `t` uniform in `0..=k`; append `k` if `t` is already in the row, else append `t`.
//!    This yields every `d`-subset with probability `1 / C(n, d)` using exactly `d` draws.
//! 4. A uniform integer below `b` is Lemire's multiply-shift with rejection: `m = x * b`
//!    (128-bit) for `x` the next 64-bit output, rejected while `m mod 2^64 < 2^64 mod b`,
//!    result `m >> 64`; so it is exactly uniform, not just nearly.
//!
//! Why this generator: exactly `d` per row makes the row count, the total nonzero count
//! `n d` and the work per row fixed, and "uniform without replacement" has a closed-form
//! expectation of the transfer matrix (see [`super::expect`]). A per-row stream means any
//! row can be regenerated on its own, in any order, on any thread, with the same result,
//! so nothing is ever stored: `n = 10,240,000, d = 50` would be 512 M nonzeros.
//!
//! Rows come out in generation order, not sorted. Changing anything above changes the
//! matrices, so it must bump [`GENERATOR_VERSION`] (which keys the on-disk cache); the
//! golden test in `transfer.rs` pins the output.

use super::SpmvError;
use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

/// Identifies the generator definition above; part of every cache key.
pub const GENERATOR_VERSION: u32 = 1;

/// Largest supported `n`: column indices and counts are stored as `u32`, and every worker
/// thread holds an `n`-bit bitset (2^32 bits = 512 MiB), far beyond the paper's 10.24 M.
pub const MAX_N: u64 = u32::MAX as u64;

/// Stream tag mixed into every row key, so the matrix does not share random streams
/// with other uses of the same seed (e.g. traffic generators keyed by node id).
const ROW_STREAM: u64 = 0x5350_4D56;

/// A random sparse `n x n` matrix, exactly `d` distinct uniformly random columns per
/// row, determined by `seed` (see the module documentation for the exact definition).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MatrixSpec {
    /// Matrix order (rows = columns = vector length).
    pub n: u64,
    /// Nonzeros per row (exactly, so also the average the paper's `d` stands for).
    pub d: u32,
    /// Seed of all row streams.
    pub seed: u64,
}

impl MatrixSpec {
    /// A validated spec.
    pub fn new(n: u64, d: u32, seed: u64) -> Result<Self, SpmvError> {
        let s = MatrixSpec { n, d, seed };
        s.validate()?;
        Ok(s)
    }

    /// Checks `1 <= n <= MAX_N` and `d <= n` (a row cannot hold more distinct columns
    /// than there are).
    pub fn validate(&self) -> Result<(), SpmvError> {
        if self.n == 0 {
            return Err(SpmvError::Invalid(
                "matrix order n must be at least 1".into(),
            ));
        }
        if self.n > MAX_N {
            return Err(SpmvError::Invalid(format!(
                "matrix order n = {} exceeds the supported maximum {MAX_N}",
                self.n
            )));
        }
        if u64::from(self.d) > self.n {
            return Err(SpmvError::Invalid(format!(
                "d = {} nonzeros per row exceeds the matrix order n = {}",
                self.d, self.n
            )));
        }
        Ok(())
    }

    /// Total number of nonzeros, `n d`.
    pub fn nnz(&self) -> u64 {
        self.n * u64::from(self.d)
    }

    /// The columns of row `row` (distinct, in generation order, not sorted) into `out`,
    /// which is cleared first; reuse `out` across rows to avoid allocation.
    ///
    /// # Panics
    /// If `row >= n` or the spec is invalid (a caller bug: specs come from
    /// [`MatrixSpec::new`] and rows from a partition of `0..n`).
    pub fn row_columns(&self, row: u64, out: &mut Vec<u32>) {
        assert!(
            self.validate().is_ok() && row < self.n,
            "row {row} of invalid spec or outside 0..{}",
            self.n
        );
        fill_row(self, row, out);
    }
}

/// One SplitMix64 step: advances `state` and returns the next output.
#[inline]
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The private stream of row `row` (steps 1 and 2 of the definition). Seeded through
/// `from_seed` with our own SplitMix64 rather than `seed_from_u64`, so the matrix does
/// not depend on how a future rand_xoshiro chooses to expand a `u64` seed.
#[inline]
fn row_rng(seed: u64, row: u64) -> Xoshiro256PlusPlus {
    let mut z = seed
        ^ row.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ ROW_STREAM.wrapping_mul(0xD1B5_4A32_D192_ED03);
    let mut bytes = [0u8; 32];
    for chunk in bytes.chunks_exact_mut(8) {
        chunk.copy_from_slice(&splitmix64(&mut z).to_le_bytes());
    }
    Xoshiro256PlusPlus::from_seed(bytes)
}

/// Exactly uniform integer in `0..bound` (step 4), `bound >= 1`.
#[inline]
fn below(rng: &mut Xoshiro256PlusPlus, bound: u64) -> u64 {
    let mut m = u128::from(rng.next_u64()) * u128::from(bound);
    if (m as u64) < bound {
        let threshold = bound.wrapping_neg() % bound;
        while (m as u64) < threshold {
            m = u128::from(rng.next_u64()) * u128::from(bound);
        }
    }
    (m >> 64) as u64
}

/// Whether `row` already holds `t`. A branch-free scan: rows are short (tens of
/// entries) and the compiler vectorises it; the cost is O(d^2) per row, fine for the
/// `d` of SpMV matrices (the paper's are 10 and 50).
#[inline]
fn contains(row: &[u32], t: u32) -> bool {
    row.iter().fold(false, |acc, &x| acc | (x == t))
}

/// Steps 1-4 for one row, without validation (the hot path of the transfer matrix).
#[inline]
pub(crate) fn fill_row(spec: &MatrixSpec, row: u64, out: &mut Vec<u32>) {
    out.clear();
    let mut rng = row_rng(spec.seed, row);
    let n = spec.n;
    for k in (n - u64::from(spec.d))..n {
        // k < n <= MAX_N, so k and t fit u32.
        let t = below(&mut rng, k + 1) as u32;
        let v = if contains(out, t) { k as u32 } else { t };
        out.push(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_have_d_distinct_columns_in_range() {
        let spec = MatrixSpec::new(1000, 37, 5).unwrap();
        let mut row = Vec::new();
        for r in 0..spec.n {
            spec.row_columns(r, &mut row);
            assert_eq!(row.len(), 37);
            let mut s = row.clone();
            s.sort_unstable();
            s.dedup();
            assert_eq!(s.len(), 37, "row {r} has repeated columns");
            assert!(s.iter().all(|&c| u64::from(c) < spec.n));
        }
        // d = n: every row is a permutation of all columns.
        let full = MatrixSpec::new(7, 7, 1).unwrap();
        full.row_columns(3, &mut row);
        row.sort_unstable();
        assert_eq!(row, (0..7).collect::<Vec<u32>>());
    }

    /// Each of the C(5, 2) = 10 column pairs must be equally likely (chi-square over
    /// 200,000 rows, 9 degrees of freedom; 35 is far in the tail, p < 1e-4). Sampling
    /// with replacement, or Floyd's algorithm with a wrong branch, fails this.
    #[test]
    fn row_subsets_are_uniform() {
        let spec = MatrixSpec::new(5, 2, 99).unwrap();
        let rows = 200_000u64;
        let mut counts = [[0u64; 5]; 5];
        let mut row = Vec::new();
        for r in 0..rows {
            fill_row(&spec, r, &mut row);
            let (a, b) = (row[0].min(row[1]) as usize, row[0].max(row[1]) as usize);
            assert_ne!(a, b);
            counts[a][b] += 1;
        }
        let expected = rows as f64 / 10.0;
        let mut chi2 = 0.0;
        for (a, row) in counts.iter().enumerate() {
            for &o in &row[a + 1..] {
                chi2 += (o as f64 - expected).powi(2) / expected;
            }
        }
        assert!(chi2 < 35.0, "chi-square {chi2} over pair counts {counts:?}");
    }

    #[test]
    fn below_is_in_range_and_exact_for_small_bounds() {
        let mut rng = row_rng(1, 2);
        let mut hist = [0u64; 3];
        for _ in 0..30_000 {
            hist[below(&mut rng, 3) as usize] += 1;
        }
        assert!(
            hist.iter().all(|&h| (9_500..10_500).contains(&h)),
            "{hist:?}"
        );
        assert_eq!(below(&mut rng, 1), 0);
    }

    #[test]
    fn streams_differ_by_row_and_seed() {
        let spec = MatrixSpec::new(1_000_000, 10, 1).unwrap();
        let other = MatrixSpec { seed: 2, ..spec };
        let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
        spec.row_columns(0, &mut a);
        spec.row_columns(1, &mut b);
        other.row_columns(0, &mut c);
        assert_ne!(a, b);
        assert_ne!(a, c);
        let mut again = Vec::new();
        spec.row_columns(0, &mut again);
        assert_eq!(a, again);
    }

    #[test]
    fn invalid_specs_are_errors() {
        assert!(MatrixSpec::new(0, 0, 1).is_err());
        assert!(MatrixSpec::new(3, 4, 1).is_err());
        assert!(MatrixSpec::new(MAX_N + 1, 1, 1).is_err());
        assert!(MatrixSpec::new(3, 3, 1).is_ok());
        assert!(MatrixSpec::new(3, 0, 1).is_ok());
    }
}
