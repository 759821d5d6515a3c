//! A latency histogram: fixed memory, shared by every connection.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Linear sub-buckets per power of two: values are kept within 1/64.
const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
/// Values of up to 2^36 µs (19 hours); larger ones count as that.
const MAX_BITS: u32 = 36;
const BUCKETS: usize = ((MAX_BITS - SUB_BITS + 1) as usize) * SUB as usize;

/// A log-linear histogram of microseconds that many tasks record into at
/// once; percentiles are reported as their bucket's upper bound.
#[derive(Debug)]
pub struct Histogram {
    counts: Box<[AtomicU64]>,
    max: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

fn bucket(v: u64) -> usize {
    let v = v.min((1 << MAX_BITS) - 1);
    if v < SUB {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros();
    let shift = msb - SUB_BITS;
    ((u64::from(shift) + 1) * SUB + ((v >> shift) - SUB)) as usize
}

/// The highest value of bucket `i`.
fn upper(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB {
        return i;
    }
    let shift = i / SUB - 1;
    ((i % SUB + SUB + 1) << shift) - 1
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Histogram {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            max: AtomicU64::new(0),
        }
    }

    /// Counts one value.
    pub fn record(&self, us: u64) {
        self.counts[bucket(us)].fetch_add(1, Relaxed);
        if us > self.max.load(Relaxed) {
            self.max.fetch_max(us, Relaxed);
        }
    }

    /// The values counted.
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Relaxed)).sum()
    }

    /// The largest value counted, exactly.
    pub fn max(&self) -> Option<u64> {
        (self.count() > 0).then(|| self.max.load(Relaxed))
    }

    /// The `q` quantile (0 to 1), as the upper bound of its bucket (never
    /// above the maximum).
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let counts: Vec<u64> = self.counts.iter().map(|c| c.load(Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(upper(i).min(self.max.load(Relaxed)));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_hold_their_values() {
        for v in [
            0,
            1,
            63,
            64,
            65,
            127,
            128,
            1000,
            99_999,
            1 << 30,
            (1 << 36) - 1,
        ] {
            let b = bucket(v);
            assert!(b < BUCKETS);
            assert!(upper(b) >= v, "{v} in {b} up to {}", upper(b));
            assert!(b == 0 || upper(b - 1) < v);
            assert!(upper(b) - v <= v / SUB, "{v} within 1/64");
        }
    }

    #[test]
    fn quantiles() {
        let h = Histogram::new();
        assert_eq!(h.quantile(0.5), None);
        for v in 1..=1000 {
            h.record(v);
        }
        let p50 = h.quantile(0.5).unwrap();
        assert!((500..=508).contains(&p50), "{p50}");
        let p99 = h.quantile(0.99).unwrap();
        assert!((990..=1000).contains(&p99), "{p99}");
        assert_eq!(h.max(), Some(1000));
        assert_eq!(h.quantile(1.0), Some(1000));
        assert_eq!(h.count(), 1000);
    }
}
