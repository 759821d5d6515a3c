//! Joe's counters through the [`metrics`](https://docs.rs/metrics) facade,
//! with the `metrics` feature; without it, nothing.

use sse_codec::Resume;

/// The handles of Joe's metrics, taken from the recorder installed when
/// the Joe is built.
#[cfg(feature = "metrics")]
pub(crate) struct Metrics {
    published: metrics::Counter,
    delivered: metrics::Counter,
    lagged: metrics::Counter,
    replays_exact: metrics::Counter,
    replays_lost: metrics::Counter,
    subscribers: metrics::Gauge,
    receiving: metrics::Gauge,
}

#[cfg(feature = "metrics")]
impl Metrics {
    pub(crate) fn new() -> Metrics {
        use metrics::{counter, describe_counter, describe_gauge, gauge};
        describe_counter!("sse_joe_published_total", "Messages published.");
        describe_counter!(
            "sse_joe_delivered_total",
            "Live frames subscribers have taken (added when each waits, every 64 frames, and at its end)."
        );
        describe_counter!(
            "sse_joe_lagged_total",
            "Subscribers ended because they fell behind."
        );
        describe_counter!(
            "sse_joe_replays_total",
            "Resumes, by whether the replay was exact or history was lost."
        );
        describe_gauge!(
            "sse_joe_subscribers",
            "Open subscriber streams, ended ones included until dropped."
        );
        describe_gauge!(
            "sse_joe_receiving",
            "Subscribers still registered for live messages."
        );
        Metrics {
            published: counter!("sse_joe_published_total"),
            delivered: counter!("sse_joe_delivered_total"),
            lagged: counter!("sse_joe_lagged_total"),
            replays_exact: counter!("sse_joe_replays_total", "resume" => "exact"),
            replays_lost: counter!("sse_joe_replays_total", "resume" => "lost"),
            subscribers: gauge!("sse_joe_subscribers"),
            receiving: gauge!("sse_joe_receiving"),
        }
    }

    pub(crate) fn published(&self) {
        self.published.increment(1);
    }

    pub(crate) fn delivered(&self, frames: usize) {
        self.delivered.increment(frames as u64);
    }

    pub(crate) fn lagged(&self, subscribers: usize) {
        self.lagged.increment(subscribers as u64);
        self.receiving.decrement(subscribers as f64);
    }

    pub(crate) fn subscribed(&self, resume: Resume) {
        self.subscribers.increment(1.0);
        self.receiving.increment(1.0);
        match resume {
            Resume::Exact | Resume::Earliest => self.replays_exact.increment(1),
            Resume::Lost => self.replays_lost.increment(1),
            _ => {}
        }
    }

    pub(crate) fn unsubscribed(&self, receiving: bool) {
        self.subscribers.decrement(1.0);
        if receiving {
            self.receiving.decrement(1.0);
        }
    }

    pub(crate) fn shut_down(&self, receiving: usize) {
        self.receiving.decrement(receiving as f64);
    }
}

/// Without the `metrics` feature: nothing.
#[cfg(not(feature = "metrics"))]
pub(crate) struct Metrics;

#[cfg(not(feature = "metrics"))]
impl Metrics {
    pub(crate) fn new() -> Metrics {
        Metrics
    }

    pub(crate) fn published(&self) {}

    pub(crate) fn delivered(&self, _frames: usize) {}

    pub(crate) fn lagged(&self, _subscribers: usize) {}

    pub(crate) fn subscribed(&self, _resume: Resume) {}

    pub(crate) fn unsubscribed(&self, _receiving: bool) {}

    pub(crate) fn shut_down(&self, _receiving: usize) {}
}
