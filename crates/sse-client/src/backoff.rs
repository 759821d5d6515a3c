//! The reconnection policy: how long to wait before each attempt after a
//! failure.

use std::{fmt, time::Duration};

/// A reconnection policy: the delay before each attempt after a failure.
///
/// A [`Connection`](crate::Connection) asks it for the next delay after
/// every failed attempt, and resets it once a stream stayed up (see
/// [`ClientBuilder::stable_after`](crate::ClientBuilder::stable_after)).
/// The server's `retry` time and `Retry-After` still apply on top of it.
/// The default is exponential with jitter (see [`ClientBuilder`]'s
/// settings); give your own with
/// [`ClientBuilder::backoff`](crate::ClientBuilder::backoff).
///
/// [`ClientBuilder`]: crate::ClientBuilder
///
/// # Examples
///
/// A constant delay, giving up after ten attempts:
///
/// ```
/// use sse_client::Backoff;
/// use std::time::Duration;
///
/// struct TenTimes(u32);
///
/// impl Backoff for TenTimes {
///     fn next_delay(&mut self) -> Option<Duration> {
///         self.0 += 1;
///         (self.0 <= 10).then_some(Duration::from_secs(1))
///     }
///
///     fn reset(&mut self) {
///         self.0 = 0;
///     }
/// }
///
/// let client = sse_client::Client::builder()
///     .backoff(|| TenTimes(0))
///     .build()?;
/// # drop(client);
/// # Ok::<(), sse_client::Error>(())
/// ```
pub trait Backoff: Send + 'static {
    /// The delay before the next attempt, after a failed one; `None` gives
    /// up (the connection ends with an error for which
    /// [`Error::is_retries_exhausted`](crate::Error::is_retries_exhausted)
    /// holds).
    fn next_delay(&mut self) -> Option<Duration>;

    /// A stream stayed up: the next failure starts over.
    fn reset(&mut self);
}

impl Backoff for Box<dyn Backoff> {
    fn next_delay(&mut self) -> Option<Duration> {
        (**self).next_delay()
    }

    fn reset(&mut self) {
        (**self).reset();
    }
}

/// The default policy: the `backoff` crate's exponential backoff with
/// jitter, without its own time limit (the connection keeps that).
#[derive(Clone)]
pub(crate) struct Exponential(backoff::ExponentialBackoff);

impl Exponential {
    pub(crate) fn new(
        initial: Duration,
        multiplier: f64,
        jitter: f64,
        max_interval: Duration,
    ) -> Exponential {
        let mut policy = backoff::ExponentialBackoff {
            initial_interval: initial,
            current_interval: initial,
            randomization_factor: jitter,
            multiplier,
            max_interval,
            max_elapsed_time: None,
            ..backoff::ExponentialBackoff::default()
        };
        backoff::backoff::Backoff::reset(&mut policy);
        Exponential(policy)
    }
}

impl Backoff for Exponential {
    fn next_delay(&mut self) -> Option<Duration> {
        backoff::backoff::Backoff::next_backoff(&mut self.0)
    }

    fn reset(&mut self) {
        backoff::backoff::Backoff::reset(&mut self.0);
    }
}

impl fmt::Debug for Exponential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exponential")
            .field("initial", &self.0.initial_interval)
            .field("multiplier", &self.0.multiplier)
            .field("jitter", &self.0.randomization_factor)
            .field("max_interval", &self.0.max_interval)
            .finish()
    }
}
