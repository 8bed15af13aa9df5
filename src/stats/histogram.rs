//! A log-linear histogram of non-negative integer samples (latencies in cycles).
//!
//! Values below [`EXACT_BELOW`] (4096) have one counter each, so their percentiles
//! are exact, as are the percentiles of every run whose latencies stay below it (all
//! shipped configurations). Above, each power-of-two range `[2^m, 2^(m+1))` is split
//! into 2048 equal buckets, so a percentile there is reported as the top of its bucket:
//! never below the true value and at most [`RELATIVE_ERROR`] (2^-11, under 0.05 %)
//! above it. Count, sum (so the mean), minimum and maximum are kept exactly whatever
//! the values. Memory grows with the logarithm of the largest value, not with the
//! value: a 10^7-cycle latency needs 27 k counters (256 KiB as the vector grows in
//! powers of two) where one counter per value took 128 MiB, and no 64-bit value needs
//! more than 111 k (1 MiB).
//! Merging is still addition of integers, so partitions merge exactly.

/// Values below this have a counter of their own: exact percentiles.
pub const EXACT_BELOW: u64 = 1 << EXACT_BITS;

/// Largest relative overstatement of a percentile above [`EXACT_BELOW`].
pub const RELATIVE_ERROR: f64 = 1.0 / (1u64 << (EXACT_BITS - 1)) as f64;

const EXACT_BITS: u32 = 12;
/// Buckets per power-of-two range above the exact part.
const SUB: u64 = 1 << (EXACT_BITS - 1);

/// The counter of value `v`.
#[inline]
fn bucket(v: u64) -> usize {
    if v < EXACT_BELOW {
        return v as usize;
    }
    let m = 63 - v.leading_zeros();
    let shift = m - (EXACT_BITS - 1);
    (EXACT_BELOW + (m - EXACT_BITS) as u64 * SUB + ((v >> shift) - SUB)) as usize
}

/// The largest value counted by bucket `i`.
fn bucket_top(i: usize) -> u64 {
    let i = i as u64;
    if i < EXACT_BELOW {
        return i;
    }
    let j = i - EXACT_BELOW;
    let shift = (j / SUB) as u32 + 1;
    let low = (SUB + j % SUB) << shift;
    low + ((1u64 << shift) - 1)
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Histogram {
    /// Per bucket (see [`bucket`]); grown on demand to the largest bucket used.
    counts: Vec<u64>,
    n: u64,
    sum: u128,
    /// Exact extremes (meaningful when `n > 0`).
    lo: u64,
    hi: u64,
}

impl Histogram {
    #[inline]
    pub fn add(&mut self, v: u64) {
        let i = bucket(v);
        if i >= self.counts.len() {
            self.counts.resize((i + 1).next_power_of_two(), 0);
        }
        self.counts[i] += 1;
        if self.n == 0 || v < self.lo {
            self.lo = v;
        }
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

    /// The smallest value v such that at least `q` of the samples are <= v: exact
    /// below [`EXACT_BELOW`], above it at most [`RELATIVE_ERROR`] too high (and never
    /// above the maximum).
    pub fn quantile(&self, q: f64) -> u64 {
        if self.n == 0 {
            return 0;
        }
        let target = ((q * self.n as f64).ceil() as u64).clamp(1, self.n);
        let mut acc = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            acc += c;
            if acc >= target {
                return bucket_top(i).min(self.hi);
            }
        }
        self.max()
    }

    /// The largest sample (exact).
    pub fn max(&self) -> u64 {
        if self.n == 0 { 0 } else { self.hi }
    }

    /// The smallest sample (exact).
    pub fn min(&self) -> u64 {
        if self.n == 0 { 0 } else { self.lo }
    }

    /// Bytes of counters held: grows with the logarithm of the largest sample.
    pub fn counter_bytes(&self) -> usize {
        self.counts.len() * std::mem::size_of::<u64>()
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
            b.add(v * 7_919);
            all.add(v * 7_919);
        }
        a.merge(&b);
        assert_eq!(a, all);
        let mut empty = Histogram::default();
        empty.merge(&all);
        assert_eq!(empty.min(), all.min());
        assert_eq!(empty.quantile(0.5), all.quantile(0.5));
    }

    /// Buckets tile the values: each value lies in its bucket, buckets are contiguous,
    /// and a bucket is never wider than the stated relative error allows.
    #[test]
    fn buckets_tile_the_values() {
        let mut probes: Vec<u64> = (0..20_000).collect();
        for m in 12..64 {
            let p = 1u64 << m;
            probes.extend([p - 1, p, p + 1, p + p / 3, p | (p - 1)]);
        }
        probes.push(u64::MAX);
        for v in probes {
            let i = bucket(v);
            let top = bucket_top(i);
            assert!(top >= v, "{v}: bucket {i} tops at {top}");
            if i > 0 {
                assert!(bucket_top(i - 1) < v, "{v}: also in bucket {}", i - 1);
            }
            if v < EXACT_BELOW {
                assert_eq!(top, v);
            }
            assert!(
                (top - v) as f64 <= RELATIVE_ERROR * v as f64,
                "{v}: top {top}"
            );
        }
        assert_eq!(bucket(u64::MAX) + 1, 4096 + 52 * 2048);
    }

    /// A 10^7-cycle latency: memory stays small (one counter per value took
    /// 128 MiB), max, min and mean stay exact, and percentiles are within the bound.
    #[test]
    fn ten_million_cycle_latency() {
        let mut h = Histogram::default();
        let mut exact: Vec<u64> = Vec::new();
        for i in 0..1000u64 {
            let v = 10_000_000 - i * 9_973;
            h.add(v);
            exact.push(v);
        }
        h.add(17);
        exact.push(17);
        exact.sort_unstable();
        assert!(
            h.counter_bytes() <= 256 << 10,
            "{} bytes",
            h.counter_bytes()
        );
        assert_eq!(h.max(), 10_000_000);
        assert_eq!(h.min(), 17);
        let mean = exact.iter().sum::<u64>() as f64 / exact.len() as f64;
        assert_eq!(h.mean(), mean);
        for q in [0.0, 0.01, 0.5, 0.9, 0.99, 1.0] {
            let k = ((q * exact.len() as f64).ceil() as usize).clamp(1, exact.len());
            let want = exact[k - 1];
            let got = h.quantile(q);
            assert!(got >= want, "q {q}: {got} < {want}");
            assert!(
                (got - want) as f64 <= RELATIVE_ERROR * want as f64,
                "q {q}: {got} vs {want}"
            );
        }
        assert_eq!(h.quantile(0.0), 17, "below the bound: exact");
        assert_eq!(h.quantile(1.0), 10_000_000, "the top is the exact maximum");
    }
}
