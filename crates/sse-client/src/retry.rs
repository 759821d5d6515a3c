//! Reconnection delays: the server's `retry` time, the backoff policy and
//! `Retry-After`.

use backoff::backoff::Backoff;
use std::{
    fmt,
    time::{Duration, SystemTime},
};

/// A backoff policy, one per connection.
pub(crate) type DynBackoff = Box<dyn Backoff + Send>;

/// Makes the backoff policy of each new connection.
pub(crate) type MakeBackoff = std::sync::Arc<dyn Fn() -> DynBackoff + Send + Sync>;

/// The reconnection state of one connection.
pub(crate) struct Reconnect {
    backoff: DynBackoff,
    max_retries: Option<u32>,
    /// Reconnection attempts since the last successful open.
    failures: u32,
    /// The reconnection time set by the server's latest `retry` field.
    retry: Option<Duration>,
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

impl Reconnect {
    pub(crate) fn new(mut backoff: DynBackoff, max_retries: Option<u32>) -> Reconnect {
        // A fresh policy measures its maximum elapsed time from now, not
        // from when the client was built.
        backoff.reset();
        Reconnect {
            backoff,
            max_retries,
            failures: 0,
            retry: None,
        }
    }

    /// A connection was announced: the next interruption starts over.
    pub(crate) fn opened(&mut self) {
        self.failures = 0;
        self.backoff.reset();
    }

    /// The server's `retry` field set the reconnection time.
    pub(crate) fn set_retry(&mut self, retry: Duration) {
        self.retry = Some(retry);
    }

    /// The delay before the next attempt. `at_least` is a server's
    /// `Retry-After`, which is honoured over anything shorter.
    ///
    /// The spec's "reestablish the connection": "Wait a delay equal to the
    /// reconnection time of the event source. Optionally, wait some more.
    /// In particular, if the previous attempt failed, then user agents
    /// might introduce an exponential backoff delay". The first attempt
    /// after an open connection waits the server's reconnection time when
    /// it set one; repeated failures wait at least that, grown by the
    /// backoff policy. Without a `retry` field the policy alone decides.
    pub(crate) fn next(&mut self, at_least: Option<Duration>) -> Wait {
        if self.max_retries.is_some_and(|max| self.failures >= max) {
            return Wait::Exhausted {
                attempts: self.failures,
            };
        }
        // Always consult the policy, so that its maximum elapsed time
        // applies and it grows even while the server's time is in use.
        let Some(grown) = self.backoff.next_backoff() else {
            return Wait::Exhausted {
                attempts: self.failures,
            };
        };
        self.failures += 1;
        let delay = match self.retry {
            Some(retry) if self.failures == 1 => retry,
            Some(retry) => retry.max(grown),
            None => grown,
        };
        Wait::Retry {
            delay: at_least.map_or(delay, |at_least| at_least.max(delay)),
            attempt: self.failures,
        }
    }
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP-date (RFC 9110,
/// section 10.2.3). A date in the past means no wait.
pub(crate) fn parse_retry_after(value: &[u8], now: SystemTime) -> Option<Duration> {
    let value = std::str::from_utf8(value).ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = parse_http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses an IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`, the form that
/// RFC 9110 requires senders to use.
fn parse_http_date(value: &str) -> Option<SystemTime> {
    let (_weekday, rest) = value.split_once(", ")?;
    let mut parts = rest.split(' ');
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: u64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':');
    let hour: u64 = clock.next()?.parse().ok()?;
    let minute: u64 = clock.next()?.parse().ok()?;
    let second: u64 = clock.next()?.parse().ok()?;
    if parts.next()? != "GMT" || parts.next().is_some() || clock.next().is_some() {
        return None;
    }
    if !(1..=31).contains(&day) || year < 1970 || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_since_epoch(year, month, day);
    let secs = days * 86_400 + hour * 3_600 + minute * 60 + second;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar
/// (Howard Hinnant's `days_from_civil`, for years from 1970).
fn days_since_epoch(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use backoff::backoff::Constant;

    fn reconnect(max_retries: Option<u32>) -> Reconnect {
        Reconnect::new(
            Box::new(Constant::new(Duration::from_millis(100))),
            max_retries,
        )
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
        r.opened();
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
        r.opened();
        assert!(matches!(r.next(None), Wait::Retry { attempt: 1, .. }));
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
}
