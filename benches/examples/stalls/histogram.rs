//! The healthy readers' latencies, in a log-linear histogram.

/// Latencies in microseconds, log-linear: 32 sub-buckets per power of two.
pub(crate) struct Histogram {
    counts: Vec<u64>,
    pub(crate) total: u64,
    pub(crate) max: u64,
}

impl Histogram {
    const SUB_BITS: u32 = 5;
    const SUB: u64 = 1 << Self::SUB_BITS;
    /// Values are capped at 2^40 us (12 days).
    const CAP: u64 = 1 << 40;

    pub(crate) fn new() -> Histogram {
        Histogram {
            counts: vec![0; Self::index(Self::CAP) + 1],
            total: 0,
            max: 0,
        }
    }

    fn index(v: u64) -> usize {
        if v < 2 * Self::SUB {
            return v as usize;
        }
        let shift = 63 - v.leading_zeros() - Self::SUB_BITS;
        ((u64::from(shift) + 1) * Self::SUB + (v >> shift) - Self::SUB) as usize
    }

    fn upper(i: usize) -> u64 {
        let i = i as u64;
        if i < 2 * Self::SUB {
            return i;
        }
        let shift = i / Self::SUB - 1;
        ((i % Self::SUB + Self::SUB + 1) << shift) - 1
    }

    pub(crate) fn record(&mut self, v: u64) {
        let v = v.min(Self::CAP);
        self.counts[Self::index(v)] += 1;
        self.total += 1;
        self.max = self.max.max(v);
    }

    pub(crate) fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    pub(crate) fn quantile(&self, q: f64) -> Option<u64> {
        let rank = ((q * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(Self::upper(i).min(self.max));
            }
        }
        None
    }
}
