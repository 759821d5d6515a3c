//! Reconnection delays: the server's `retry` time, the backoff policy and
//! `Retry-After`.

use crate::{Backoff, time::Instant};
use std::{
    fmt,
    time::{Duration, SystemTime},
};

/// The reconnection state of one connection.
pub(crate) struct Reconnect {
    backoff: Box<dyn Backoff>,
    max_retries: Option<u32>,
    /// How long to keep trying, server-requested delays included.
    max_elapsed: Option<Duration>,
    /// A stream that stays up this long starts the retries over.
    stable_after: Duration,
    /// The longest `retry` time of the server's that is honoured.
    max_retry: Duration,
    /// The longest `Retry-After` of the server's that is honoured.
    max_retry_after: Duration,
    /// The first request, or the end of the last stream that stayed up.
    since: Instant,
    /// Reconnection attempts since then.
    failures: u32,
    /// The reconnection time set by the server's latest `retry` field.
    retry: Option<Duration>,
    /// When the current response was accepted.
    opened_at: Option<Instant>,
}

impl fmt::Debug for Reconnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reconnect")
            .field("max_retries", &self.max_retries)
            .field("failures", &self.failures)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// Why the next attempt waits.
pub(crate) enum Wait {
    /// Wait this long, then attempt number `attempt`.
    Retry { delay: Duration, attempt: u32 },
    /// The policy gave up after this many attempts.
    Exhausted { attempts: u32 },
}

/// How a [`Reconnect`] is set up.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) max_retries: Option<u32>,
    pub(crate) max_elapsed: Option<Duration>,
    pub(crate) stable_after: Duration,
    pub(crate) max_retry: Duration,
    pub(crate) max_retry_after: Duration,
}

impl Reconnect {
    pub(crate) fn new(mut backoff: Box<dyn Backoff>, limits: Limits) -> Reconnect {
        // A fresh policy measures from now, not from when the client was
        // built.
        backoff.reset();
        Reconnect {
            backoff,
            max_retries: limits.max_retries,
            max_elapsed: limits.max_elapsed,
            stable_after: limits.stable_after,
            max_retry: limits.max_retry,
            max_retry_after: limits.max_retry_after,
            since: Instant::now(),
            failures: 0,
            retry: None,
            opened_at: None,
        }
    }

    /// The first request is sent: the maximum elapsed time counts from now.
    pub(crate) fn started(&mut self) {
        self.since = Instant::now();
    }

    /// A response was accepted: a stream is up.
    pub(crate) fn opened(&mut self) {
        self.opened_at = Some(Instant::now());
    }

    /// The stream ended. If it stayed up for [`Limits::stable_after`], the
    /// retries start over; a stream that ends sooner (a server that ends
    /// every stream at once, maybe telling clients `retry: 0`) counts as a
    /// failed attempt, so that the delays grow and the limits apply.
    pub(crate) fn closed(&mut self) {
        if let Some(opened) = self.opened_at.take() {
            if opened.elapsed() >= self.stable_after {
                self.failures = 0;
                self.backoff.reset();
                self.since = Instant::now();
            }
        }
    }

    /// The server's `retry` field set the reconnection time (at most
    /// [`Limits::max_retry`]).
    pub(crate) fn set_retry(&mut self, retry: Duration) {
        self.retry = Some(retry.min(self.max_retry));
    }

    /// The reconnection time: the server's, if it set one.
    pub(crate) fn retry(&self) -> Option<Duration> {
        self.retry
    }

    /// The delay before the next attempt. `at_least` is a server's
    /// `Retry-After`, which is honoured over anything shorter, up to
    /// [`Limits::max_retry_after`].
    ///
    /// The spec's "reestablish the connection": "Wait a delay equal to the
    /// reconnection time of the event source. Optionally, wait some more.
    /// In particular, if the previous attempt failed, then user agents
    /// might introduce an exponential backoff delay". The first attempt
    /// after a stream that stayed up waits the server's reconnection time
    /// when it set one; repeated failures wait at least that, grown by the
    /// backoff policy. Without a `retry` field the policy alone decides.
    pub(crate) fn next(&mut self, at_least: Option<Duration>) -> Wait {
        if self.max_retries.is_some_and(|max| self.failures >= max) {
            return Wait::Exhausted {
                attempts: self.failures,
            };
        }
        // Always consult the policy, so that it grows even while the
        // server's time is in use.
        let Some(grown) = self.backoff.next_delay() else {
            return Wait::Exhausted {
                attempts: self.failures,
            };
        };
        let delay = match self.retry {
            Some(retry) if self.failures == 0 => retry,
            Some(retry) => retry.max(grown),
            None => grown,
        };
        // A server may ask for years, by mistake or to park its clients:
        // past the ceiling it is asked again, within the limits below.
        let at_least = at_least.map(|at_least| at_least.min(self.max_retry_after));
        let delay = at_least.map_or(delay, |at_least| at_least.max(delay));
        // The server's `retry` and `Retry-After` may ask for more than the
        // policy would wait: an attempt past the budget is not made.
        if self
            .max_elapsed
            .is_some_and(|max| self.since.elapsed().saturating_add(delay) > max)
        {
            return Wait::Exhausted {
                attempts: self.failures,
            };
        }
        self.failures += 1;
        Wait::Retry {
            delay,
            attempt: self.failures,
        }
    }
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP-date (RFC 9110,
/// section 10.2.3) in any of its three forms. A date in the past means no
/// wait.
pub(crate) fn parse_retry_after(value: &[u8], now: SystemTime) -> Option<Duration> {
    let value = std::str::from_utf8(value).ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Always the same delay.
    struct Constant(Duration);

    impl Backoff for Constant {
        fn next_delay(&mut self) -> Option<Duration> {
            Some(self.0)
        }

        fn reset(&mut self) {}
    }

    fn limits(max_retries: Option<u32>) -> Limits {
        Limits {
            max_retries,
            max_elapsed: None,
            stable_after: Duration::ZERO,
            max_retry: Duration::from_secs(3600),
            max_retry_after: Duration::from_secs(300),
        }
    }

    fn reconnect(max_retries: Option<u32>) -> Reconnect {
        Reconnect::new(
            Box::new(Constant(Duration::from_millis(100))),
            limits(max_retries),
        )
    }

    /// A stream that stayed up.
    fn stable(r: &mut Reconnect) {
        r.opened();
        r.closed();
    }

    fn delay(wait: Wait) -> Duration {
        match wait {
            Wait::Retry { delay, .. } => delay,
            Wait::Exhausted { .. } => panic!("exhausted"),
        }
    }

    #[test]
    fn server_retry_time_first_then_at_least_it() {
        let mut r = reconnect(None);
        r.set_retry(Duration::from_millis(10));
        assert_eq!(delay(r.next(None)), Duration::from_millis(10));
        assert_eq!(delay(r.next(None)), Duration::from_millis(100));
        r.set_retry(Duration::from_millis(500));
        assert_eq!(delay(r.next(None)), Duration::from_millis(500));
        stable(&mut r);
        r.set_retry(Duration::from_millis(20));
        assert_eq!(delay(r.next(None)), Duration::from_millis(20));
    }

    #[test]
    fn retry_after_is_a_minimum() {
        let mut r = reconnect(None);
        assert_eq!(
            delay(r.next(Some(Duration::from_secs(2)))),
            Duration::from_secs(2)
        );
        assert_eq!(
            delay(r.next(Some(Duration::from_millis(1)))),
            Duration::from_millis(100)
        );
    }

    #[test]
    fn max_retries_counts_failures_since_open() {
        let mut r = reconnect(Some(2));
        assert!(matches!(r.next(None), Wait::Retry { attempt: 1, .. }));
        assert!(matches!(r.next(None), Wait::Retry { attempt: 2, .. }));
        assert!(matches!(r.next(None), Wait::Exhausted { attempts: 2 }));
        stable(&mut r);
        assert!(matches!(r.next(None), Wait::Retry { attempt: 1, .. }));
    }

    #[test]
    fn a_stream_that_ends_at_once_is_a_failure() {
        let mut r = Reconnect::new(
            Box::new(Constant(Duration::from_millis(100))),
            Limits {
                stable_after: Duration::from_secs(3600),
                ..limits(Some(2))
            },
        );
        r.set_retry(Duration::ZERO);
        for attempt in 1..=2 {
            r.opened();
            r.closed();
            let expected = if attempt == 1 {
                Duration::ZERO
            } else {
                Duration::from_millis(100)
            };
            assert!(matches!(r.next(None), Wait::Retry { delay, .. } if delay == expected));
        }
        r.opened();
        r.closed();
        assert!(matches!(r.next(None), Wait::Exhausted { attempts: 2 }));
    }

    #[test]
    fn the_server_retry_time_is_capped() {
        let mut r = reconnect(None);
        r.set_retry(Duration::from_millis(u64::MAX));
        assert_eq!(r.retry(), Some(Duration::from_secs(3600)));
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(
            parse_retry_after(b"120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(b" 0 ", now), Some(Duration::ZERO));
        // 784111777 is Sun, 06 Nov 1994 08:49:37 GMT.
        assert_eq!(
            parse_retry_after(b"Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after(b"Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after(b"Thu, 29 Feb 2024 00:00:00 GMT", SystemTime::UNIX_EPOCH),
            Some(Duration::from_secs(1_709_164_800))
        );
        assert_eq!(parse_retry_after(b"-1", now), None);
        assert_eq!(parse_retry_after(b"soon", now), None);
        assert_eq!(parse_retry_after(b"", now), None);
    }

    #[test]
    fn retry_after_obsolete_date_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let thirty = Some(Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(b"Sunday, 06-Nov-94 08:50:07 GMT", now),
            thirty
        );
        assert_eq!(parse_retry_after(b"Sun Nov  6 08:50:07 1994", now), thirty);
        assert_eq!(parse_retry_after(b"Wed Nov 16 08:50:07 1994", now), {
            Some(Duration::from_secs(30 + 10 * 86_400))
        });
        // A two-digit year from 70 on is of the 1900s, below it of the 2000s.
        let in_2026 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000);
        assert_eq!(
            parse_retry_after(b"Saturday, 01-Jan-77 00:00:00 GMT", in_2026),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after(b"Friday, 01-Jan-27 00:00:00 GMT", in_2026),
            Some(
                (SystemTime::UNIX_EPOCH + Duration::from_secs(1_798_761_600))
                    .duration_since(in_2026)
                    .unwrap()
            )
        );
    }

    #[test]
    fn hostile_dates_are_refused_without_overflow() {
        let now = SystemTime::UNIX_EPOCH;
        for value in [
            &b"Sun, 06 Nov 999999999999 08:49:37 GMT"[..],
            b"Sun, 06 Nov 18446744073709551615 08:49:37 GMT",
            b"Sun Nov  6 08:49:37 99999999999999999",
            b"Sun, 99 Nov 1994 08:49:37 GMT",
            b"Sun, 06 Nov 1994 99:49:37 GMT",
            b"Sun, 06 Nov 1994 +8:49:37 GMT",
            b"Sun, 06 Nov 1969 08:49:37 GMT",
            b"Sun, 06-Nov-1994 08:49:37 GMT",
            b"Sun, 06 Nov 1994 08:49:37 UTC",
        ] {
            assert_eq!(parse_retry_after(value, now), None, "{value:?}");
        }
        let last = parse_retry_after(b"Fri, 31 Dec 9999 23:59:59 GMT", now).unwrap();
        assert_eq!(last, Duration::from_secs(253_402_300_799));
    }

    #[test]
    fn retry_after_is_capped() {
        let year_9999 =
            parse_retry_after(b"Fri, 31 Dec 9999 23:59:59 GMT", SystemTime::now()).unwrap();
        let mut r = reconnect(None);
        for asked in [
            Duration::from_secs(99_999_999_999),
            year_9999,
            Duration::MAX,
        ] {
            assert_eq!(delay(r.next(Some(asked))), Duration::from_secs(300));
        }
        assert_eq!(
            delay(r.next(Some(Duration::from_secs(299)))),
            Duration::from_secs(299)
        );
        // No ceiling at all: still no overflow against the time budget.
        let mut r = Reconnect::new(
            Box::new(Constant(Duration::from_millis(100))),
            Limits {
                max_retry_after: Duration::MAX,
                ..limits(None)
            },
        );
        assert_eq!(delay(r.next(Some(Duration::MAX))), Duration::MAX);
        let mut r = Reconnect::new(
            Box::new(Constant(Duration::from_millis(100))),
            Limits {
                max_retry_after: Duration::MAX,
                max_elapsed: Some(Duration::from_secs(30)),
                ..limits(None)
            },
        );
        assert!(matches!(
            r.next(Some(Duration::MAX)),
            Wait::Exhausted { attempts: 0 }
        ));
    }

    #[test]
    fn a_capped_retry_after_still_meets_the_limits() {
        let huge = Some(Duration::from_secs(99_999_999_999));
        let within_budget = |budget| {
            Reconnect::new(
                Box::new(Constant(Duration::from_millis(100))),
                Limits {
                    max_elapsed: Some(budget),
                    ..limits(None)
                },
            )
        };
        let mut r = within_budget(Duration::from_secs(301));
        assert_eq!(delay(r.next(huge)), Duration::from_secs(300));
        let mut r = within_budget(Duration::from_secs(299));
        assert!(matches!(r.next(huge), Wait::Exhausted { attempts: 0 }));
        let mut r = reconnect(Some(1));
        assert!(matches!(
            r.next(huge),
            Wait::Retry { delay, attempt: 1 } if delay == Duration::from_secs(300)
        ));
        assert!(matches!(r.next(huge), Wait::Exhausted { attempts: 1 }));
    }

    #[test]
    fn server_delays_count_against_the_time_budget() {
        let mut r = Reconnect::new(
            Box::new(Constant(Duration::from_millis(100))),
            Limits {
                max_elapsed: Some(Duration::from_secs(30)),
                ..limits(None)
            },
        );
        assert_eq!(delay(r.next(None)), Duration::from_millis(100));
        // A Retry-After past the budget: no attempt is made.
        assert!(matches!(
            r.next(Some(Duration::from_secs(3600))),
            Wait::Exhausted { attempts: 1 }
        ));
        r.set_retry(Duration::from_secs(31));
        stable(&mut r);
        assert!(matches!(r.next(None), Wait::Exhausted { attempts: 0 }));
    }
}
