//! Closed-form mean and variance of transfer-matrix entries, for the generator of
//! [`super::generator`] (exactly `d` distinct uniform columns per row).
//!
//! # Derivation
//!
//! Fix node `i` with `m = m_i` rows and a set `S` of `k` columns (stripe `j` gives
//! `T[i][j]` with `k = m_j`; the whole complement of stripe `i` gives node `i`'s remote
//! total with `k = n - m_i`). Let `N_c` be the indicator that column `c` appears in at
//! least one of the node's rows; the entry is `sum over c in S of N_c`.
//!
//! * One row's columns are a uniform `d`-subset of `n`, so a fixed column is missing from
//!   it with probability `C(n-1, d) / C(n, d) = 1 - d/n`, and two fixed distinct columns
//!   are both missing with probability `C(n-2, d) / C(n, d) = (1 - d/n)(1 - d/(n-1))`.
//! * Rows are independent (separate streams), so over the node's `m` rows
//!   `q1 = P(N_c = 0) = (1 - d/n)^m` and `q2 = P(N_c = N_c' = 0) = [(1 - d/n)(1 - d/(n-1))]^m`.
//! * Hence, exactly,
//!
//!   `E[T] = k (1 - q1)`
//!
//!   `Var[T] = k q1 (1 - q1) + k (k - 1) (q2 - q1^2)`.
//!
//!   The covariance term is negative (a row that takes column `c` has one slot fewer for
//!   `c'`), so the count is a little less variable than a binomial.
//! * The diagonal `T[i][i]` (locally needed elements) follows the same formula with
//!   `k = m_i`: which stripe `c` lies in does not matter to a row.
//! * For `n -> infinity` with `m = n/p`, `(1 - d/n)^(n/p) -> exp(-d/p)`, giving the notes'
//!   approximation: `n (1 - exp(-d/p)) (p - 1)/p` remote elements per node
//!   ([`approx_remote_per_node`]). The exact and approximate forms differ by `O(d^2/n)`
//!   relatively, about 1e-5 at the paper's scale.
//!
//! Entries of different rows `i` involve disjoint sets of matrix rows, so they are
//! independent; entries in one row `i` are (negatively) correlated.
//!
//! Numerics: `1 - q1` is computed as `-expm1(m ln1p(-d/n))` and `q2 - q1^2` as
//! `q1^2 expm1(m (ln1p(-d/(n-1)) - ln1p(-d/n)))`, avoiding cancellation at large `n`.

use super::generator::MatrixSpec;
use super::partition::Stripes;
use serde::Serialize;

/// Mean and variance of a random count.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Moments {
    pub mean: f64,
    pub variance: f64,
}

impl Moments {
    /// Standard deviation.
    pub fn sd(&self) -> f64 {
        self.variance.max(0.0).sqrt()
    }

    /// How many standard deviations `x` lies from the mean (0 if the count is certain
    /// and equal to the mean, infinite if certain and different).
    pub fn z(&self, x: f64) -> f64 {
        let dev = x - self.mean;
        let sd = self.sd();
        if sd > 0.0 {
            dev / sd
        } else if dev.abs() < 1e-9 {
            0.0
        } else {
            f64::INFINITY
        }
    }
}

/// Moments of a sum of independent counts.
impl std::ops::Add for Moments {
    type Output = Moments;
    fn add(self, other: Moments) -> Moments {
        Moments {
            mean: self.mean + other.mean,
            variance: self.variance + other.variance,
        }
    }
}

/// Moments of how many of `k` fixed columns appear in at least one of `m` rows of an
/// `n x n` matrix with `d` distinct uniform columns per row (formula in the module
/// documentation). Requires `k <= n` and `d <= n`.
pub fn needed_moments(n: u64, d: u32, m: u64, k: u64) -> Moments {
    if m == 0 || d == 0 || k == 0 {
        return Moments {
            mean: 0.0,
            variance: 0.0,
        };
    }
    let (nf, df, mf, kf) = (n as f64, f64::from(d), m as f64, k as f64);
    let l1 = (-df / nf).ln_1p(); // ln(1 - d/n); -inf when d = n
    let q1 = (mf * l1).exp();
    let one_minus_q1 = -(mf * l1).exp_m1();
    let pair = if k < 2 {
        0.0
    } else if u64::from(d) + 1 >= n {
        // (1 - d/(n-1)) <= 0: two columns can never both be missing from a row.
        -q1 * q1
    } else {
        let l2 = (-df / (nf - 1.0)).ln_1p();
        q1 * q1 * (mf * (l2 - l1)).exp_m1()
    };
    Moments {
        mean: kf * one_minus_q1,
        variance: (kf * q1 * one_minus_q1 + kf * (kf - 1.0) * pair).max(0.0),
    }
}

/// Moments of `T[i][j]` (distinct elements node `i` needs from node `j`; the local
/// count when `i == j`).
pub fn expected_transfer(spec: &MatrixSpec, stripes: &Stripes, i: usize, j: usize) -> Moments {
    needed_moments(spec.n, spec.d, stripes.len(i), stripes.len(j))
}

/// Moments of node `i`'s remote total, the sum over `j != i` of `T[i][j]`.
pub fn expected_remote_total(spec: &MatrixSpec, stripes: &Stripes, i: usize) -> Moments {
    let m = stripes.len(i);
    needed_moments(spec.n, spec.d, m, spec.n - m)
}

/// Moments of the total number of remote elements over all nodes (node totals are
/// independent, so means and variances add).
pub fn expected_total_remote(spec: &MatrixSpec, stripes: &Stripes) -> Moments {
    (0..stripes.p())
        .map(|i| expected_remote_total(spec, stripes, i))
        .fold(
            Moments {
                mean: 0.0,
                variance: 0.0,
            },
            std::ops::Add::add,
        )
}

/// The notes' large-`n` approximation of remote elements per node:
/// `n (1 - exp(-d/p)) (p - 1)/p`.
pub fn approx_remote_per_node(n: u64, d: f64, p: usize) -> f64 {
    let (nf, pf) = (n as f64, p as f64);
    let needed_fraction = -(-d / pf).exp_m1(); // 1 - exp(-d/p)
    nf * needed_fraction * (pf - 1.0) / pf
}

#[cfg(test)]
mod tests {
    use super::*;

    /// All `d`-subsets of `0..n` as bit masks.
    fn subsets(n: u32, d: u32) -> Vec<u32> {
        (0u32..1 << n).filter(|s| s.count_ones() == d).collect()
    }

    /// The formula against exact enumeration of every matrix with `m` rows.
    fn check_exhaustive(n: u32, d: u32, m: u32, k: u32) {
        let subs = subsets(n, d);
        let target: u32 = (1 << k) - 1; // the first k columns
        let total = subs.len().pow(m);
        let (mut s1, mut s2) = (0f64, 0f64);
        for idx in 0..total {
            let mut union = 0u32;
            let mut x = idx;
            for _ in 0..m {
                union |= subs[x % subs.len()];
                x /= subs.len();
            }
            let c = f64::from((union & target).count_ones());
            s1 += c;
            s2 += c * c;
        }
        let mean = s1 / total as f64;
        let var = s2 / total as f64 - mean * mean;
        let f = needed_moments(u64::from(n), d, u64::from(m), u64::from(k));
        assert!(
            (f.mean - mean).abs() < 1e-9 && (f.variance - var).abs() < 1e-9,
            "n={n} d={d} m={m} k={k}: formula {f:?}, exact mean {mean} var {var}"
        );
    }

    #[test]
    fn formula_matches_exhaustive_enumeration() {
        check_exhaustive(5, 2, 2, 2);
        check_exhaustive(5, 2, 2, 3);
        check_exhaustive(6, 3, 3, 2);
        check_exhaustive(6, 3, 3, 6);
        check_exhaustive(6, 1, 4, 4);
        check_exhaustive(4, 3, 2, 3); // d + 1 = n: pairs never both missing
        check_exhaustive(4, 4, 2, 3); // d = n: every column needed
        check_exhaustive(5, 0, 2, 3);
    }

    /// The notes' per-node figures for n = 10,240,000, d = 10, and the exact form's
    /// closeness to the approximation at that scale.
    #[test]
    fn paper_scale_volumes() {
        let n = 10_240_000;
        for &(p, notes) in &[(8usize, 6.39e6), (1024, 99_400.0), (2048, 49_900.0)] {
            let approx = approx_remote_per_node(n, 10.0, p);
            assert!(
                (approx / notes - 1.0).abs() < 2e-3,
                "p={p}: {approx} vs {notes}"
            );
            let spec = MatrixSpec::new(n, 10, 1).unwrap();
            let stripes = Stripes::new(n, p).unwrap();
            let exact = expected_remote_total(&spec, &stripes, 0).mean;
            assert!(
                (exact / approx - 1.0).abs() < 1e-4,
                "p={p}: {exact} vs {approx}"
            );
        }
    }

    #[test]
    fn z_scores() {
        let m = Moments {
            mean: 10.0,
            variance: 4.0,
        };
        assert_eq!(m.z(14.0), 2.0);
        let certain = Moments {
            mean: 3.0,
            variance: 0.0,
        };
        assert_eq!(certain.z(3.0), 0.0);
        assert!(certain.z(4.0).is_infinite());
    }
}
