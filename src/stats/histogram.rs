//! A histogram of non-negative integer samples (latencies in cycles).
//!
//! Values below [`EXACT_BELOW`] have one counter each: their percentiles are exact, as
//! every latency of an ordinary run is. Larger values (a message queued behind a 100 MB
//! put waits millions of cycles) go to log-linear buckets [`SUB_BUCKETS`] per power of
//! two, so a percentile there is reported to within 1 part in 512 (rounded down), and
//! memory stays bounded (some 25,000 buckets at most) whatever the latency: a dense
//! counter per value would need 8 bytes per cycle of the largest latency. Count, sum
//! (hence mean), minimum and maximum stay exact.

use std::collections::BTreeMap;

/// Values below this are counted exactly (one counter per value).
pub const EXACT_BELOW: u64 = 1 << 16;
/// Buckets per power of two above [`EXACT_BELOW`].
pub const SUB_BUCKETS: u64 = 1 << 9;

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Histogram {
    counts: Vec<u64>,
    /// Bucket lower bound -> samples, for values of at least [`EXACT_BELOW`].
    #[serde(default)]
    coarse: BTreeMap<u64, u64>,
    n: u64,
    sum: u128,
    #[serde(default)]
    lo: u64,
    #[serde(default)]
    hi: u64,
}

/// The lower bound of the bucket holding `v` (`v >= EXACT_BELOW`).
fn bucket(v: u64) -> u64 {
    let shift = (63 - v.leading_zeros()).saturating_sub(SUB_BUCKETS.trailing_zeros());
    (v >> shift) << shift
}

impl Histogram {
    #[inline]
    pub fn add(&mut self, v: u64) {
        if v < EXACT_BELOW {
            let i = v as usize;
            if i >= self.counts.len() {
                self.counts.resize((i + 1).next_power_of_two(), 0);
            }
            self.counts[i] += 1;
        } else {
            *self.coarse.entry(bucket(v)).or_insert(0) += 1;
        }
        self.lo = if self.n == 0 { v } else { self.lo.min(v) };
        self.hi = self.hi.max(v);
        self.n += 1;
        self.sum += v as u128;
    }

    pub fn merge(&mut self, o: &Histogram) {
        if o.n == 0 {
            return;
        }
        if o.counts.len() > self.counts.len() {
            self.counts.resize(o.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&o.counts) {
            *a += b;
        }
        for (&k, &c) in &o.coarse {
            *self.coarse.entry(k).or_insert(0) += c;
        }
        self.lo = if self.n == 0 { o.lo } else { self.lo.min(o.lo) };
        self.hi = self.hi.max(o.hi);
        self.n += o.n;
        self.sum += o.sum;
    }

    pub fn count(&self) -> u64 {
        self.n
    }

    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.sum as f64 / self.n as f64
        }
    }

    /// The smallest value v such that at least `q` of the samples are <= v (above
    /// [`EXACT_BELOW`], the lower bound of v's bucket, but never below the minimum).
    pub fn quantile(&self, q: f64) -> u64 {
        if self.n == 0 {
            return 0;
        }
        let target = ((q * self.n as f64).ceil() as u64).clamp(1, self.n);
        let mut acc = 0;
        for (v, &c) in self.counts.iter().enumerate() {
            acc += c;
            if acc >= target {
                return v as u64;
            }
        }
        for (&v, &c) in &self.coarse {
            acc += c;
            if acc >= target {
                return v.clamp(self.lo, self.hi);
            }
        }
        self.max()
    }

    pub fn max(&self) -> u64 {
        self.hi
    }

    pub fn min(&self) -> u64 {
        self.lo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_exact() {
        let mut h = Histogram::default();
        for v in 1..=100 {
            h.add(v);
        }
        assert_eq!(h.quantile(0.5), 50);
        assert_eq!(h.quantile(0.99), 99);
        assert_eq!(h.max(), 100);
        assert_eq!(h.min(), 1);
        assert!((h.mean() - 50.5).abs() < 1e-12);
    }

    #[test]
    fn merge_equals_single() {
        let (mut a, mut b, mut all) = (
            Histogram::default(),
            Histogram::default(),
            Histogram::default(),
        );
        for v in 0..50 {
            a.add(v * 3);
            all.add(v * 3);
        }
        for v in 0..70 {
            b.add(v * 7);
            all.add(v * 7);
        }
        a.merge(&b);
        assert_eq!(a, all);
    }

    #[test]
    fn huge_values_take_little_memory_and_stay_close() {
        let mut h = Histogram::default();
        for v in [3, 1 << 40, (1 << 40) + 12_345, u64::MAX] {
            h.add(v);
        }
        assert_eq!((h.min(), h.max(), h.count()), (3, u64::MAX, 4));
        assert!(h.coarse.len() <= 3 && h.counts.len() <= 4);
        let q = h.quantile(0.75);
        assert!(
            q <= (1 << 40) + 12_345
                && q as f64 >= ((1u64 << 40) + 12_345) as f64 * (1.0 - 1.0 / 512.0)
        );
        let mut merged = Histogram::default();
        merged.merge(&h);
        assert_eq!(merged, h);
    }
}
