//! Reconnection delays: the server's `retry` time, the backoff policy and
//! `Retry-After`.

use backoff::backoff::Backoff;
use std::{
    fmt,
    time::{Duration, Instant, SystemTime},
};

/// A backoff policy, one per connection.
pub(crate) type DynBackoff = Box<dyn Backoff + Send>;

/// Makes the backoff policy of each new connection.
pub(crate) type MakeBackoff = std::sync::Arc<dyn Fn() -> DynBackoff + Send + Sync>;

/// The reconnection state of one connection.
pub(crate) struct Reconnect {
    backoff: DynBackoff,
    max_retries: Option<u32>,
    /// How long to keep trying, server-requested delays included.
    max_elapsed: Option<Duration>,
    /// The connection's start or the last time a stream was served.
    since: Instant,
    /// Reconnection attempts since the last served stream.
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
    pub(crate) fn new(
        mut backoff: DynBackoff,
        max_retries: Option<u32>,
        max_elapsed: Option<Duration>,
    ) -> Reconnect {
        // A fresh policy measures its maximum elapsed time from now, not
        // from when the client was built.
        backoff.reset();
        Reconnect {
            backoff,
            max_retries,
            max_elapsed,
            since: Instant::now(),
            failures: 0,
            retry: None,
        }
    }

    /// A stream was served (an event or a comment arrived): the next
    /// interruption starts over.
    pub(crate) fn opened(&mut self) {
        self.failures = 0;
        self.backoff.reset();
        self.since = Instant::now();
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
    /// after a served stream waits the server's reconnection time when
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
        let delay = match self.retry {
            Some(retry) if self.failures == 0 => retry,
            Some(retry) => retry.max(grown),
            None => grown,
        };
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
/// section 10.2.3). A date in the past means no wait.
pub(crate) fn parse_retry_after(value: &[u8], now: SystemTime) -> Option<Duration> {
    let value = std::str::from_utf8(value).ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = parse_http_date(value, now)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses an HTTP-date in any of the three forms RFC 9110 (section 5.6.7)
/// says recipients must accept: IMF-fixdate `Sun, 06 Nov 1994 08:49:37
/// GMT`, the obsolete RFC 850 form `Sunday, 06-Nov-94 08:49:37 GMT` and
/// asctime's `Sun Nov  6 08:49:37 1994`. Years run from 1970 to 9999.
fn parse_http_date(value: &str, now: SystemTime) -> Option<SystemTime> {
    let (day, month, year, clock) = match value.split_once(", ") {
        Some((_weekday, rest)) => {
            let mut parts = rest.split(' ');
            let date = parts.next()?;
            let (day, month, year) = match date.split_once('-') {
                // RFC 850: a two-digit year, "more than 50 years in the
                // future" meaning the century before.
                Some((day, rest)) => {
                    let (month, year) = rest.split_once('-')?;
                    let year = number(year, 2)?;
                    let this_year = 1970
                        + now.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs() / 31_556_952;
                    let mut full = this_year / 100 * 100 + year;
                    if full > this_year + 50 {
                        full -= 100;
                    }
                    (day, month, full)
                }
                None => (date, parts.next()?, number(parts.next()?, 4)?),
            };
            let clock = parts.next()?;
            if parts.next()? != "GMT" || parts.next().is_some() {
                return None;
            }
            (day, month, year, clock)
        }
        None => {
            // asctime: the day is padded with a space, not a zero.
            let mut parts = value.split(' ').filter(|part| !part.is_empty());
            let (_weekday, month, day, clock) =
                (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
            let year = number(parts.next()?, 4)?;
            if parts.next().is_some() {
                return None;
            }
            (day, month, year, clock)
        }
    };
    let day = number(day, 2).or_else(|| number(day, 1))?;
    let month = match month {
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
    let mut clock = clock.split(':');
    let hour = number(clock.next()?, 2)?;
    let minute = number(clock.next()?, 2)?;
    let second = number(clock.next()?, 2)?;
    if clock.next().is_some() {
        return None;
    }
    if !(1..=31).contains(&day) || year < 1970 || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_since_epoch(year, month, day);
    let secs = days * 86_400 + hour * 3_600 + minute * 60 + second;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// Exactly `digits` ASCII digits, as a number.
fn number(text: &str, digits: usize) -> Option<u64> {
    if text.len() != digits || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar
/// (Howard Hinnant's `days_from_civil`, for years 1970 to 9999, where
/// nothing overflows).
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
            None,
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

    #[test]
    fn retry_after_obsolete_date_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let thirty = Some(Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(b"Sunday, 06-Nov-94 08:50:07 GMT", now),
            thirty
        );
        assert_eq!(parse_retry_after(b"Sun Nov  6 08:50:07 1994", now), thirty);
        assert_eq!(parse_retry_after(b"Sun Nov 16 08:50:07 1994", now), {
            Some(Duration::from_secs(30 + 10 * 86_400))
        });
        // A two-digit year more than 50 years ahead is the century before.
        let in_2026 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000);
        assert_eq!(
            parse_retry_after(b"Friday, 01-Jan-77 00:00:00 GMT", in_2026),
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
    fn server_delays_count_against_the_time_budget() {
        let mut r = Reconnect::new(
            Box::new(Constant::new(Duration::from_millis(100))),
            None,
            Some(Duration::from_secs(30)),
        );
        assert_eq!(delay(r.next(None)), Duration::from_millis(100));
        // A Retry-After past the budget: no attempt is made.
        assert!(matches!(
            r.next(Some(Duration::from_secs(3600))),
            Wait::Exhausted { attempts: 1 }
        ));
        r.set_retry(Duration::from_secs(31));
        r.opened();
        assert!(matches!(r.next(None), Wait::Exhausted { attempts: 0 }));
    }
}
