//! A replayer that keeps messages younger than a TTL.

use crate::history::History;
use sse_codec::{Encoded, EventId, Message, Resume, Routing, Subscription};
use std::{
    fmt,
    time::{Duration, Instant},
};

/// A [`Replayer`](crate::Replayer) that keeps the messages published less than `ttl` ago.
///
/// Expired messages are evicted lazily, whenever a message is stored or
/// replayed, so no background task is needed. The clock is
/// [`Instant::now`] unless replaced with [`clock`](ValidReplayer::clock),
/// which tests use to move time by hand. By default memory grows with the
/// publish rate times the TTL; [`max_len`](ValidReplayer::max_len) also caps
/// the count, evicting the oldest first, so a burst of publishes cannot
/// grow it without bound. [`len`](ValidReplayer::len) counts expired
/// messages until the next store or replay evicts them.
///
/// IDs work as in [`FiniteReplayer`](crate::FiniteReplayer): optional
/// automatic numbering, with explicit IDs then refused.
///
/// # Examples
///
/// ```
/// use sse_joe::{Joe, ValidReplayer};
/// use std::time::Duration;
///
/// let joe = Joe::builder()
///     .replayer(ValidReplayer::new(Duration::from_secs(300)).auto_ids(true))
///     .build();
/// # drop(joe);
/// ```
pub struct ValidReplayer {
    ttl: Duration,
    max_len: usize,
    clock: Box<dyn Fn() -> Instant + Send>,
    history: History,
}

impl ValidReplayer {
    /// A replayer keeping messages for `ttl`, without automatic IDs.
    pub fn new(ttl: Duration) -> ValidReplayer {
        ValidReplayer {
            ttl,
            max_len: usize::MAX,
            clock: Box::new(Instant::now),
            history: History::new(false),
        }
    }

    /// Keeps at most `max_len` messages, however recent: storing one more
    /// evicts the oldest. Unbounded by default.
    #[must_use]
    pub fn max_len(mut self, max_len: usize) -> ValidReplayer {
        self.max_len = max_len;
        self
    }

    /// Replaces the clock, [`Instant::now`] by default.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_joe::ValidReplayer;
    /// use std::{sync::{Arc, Mutex}, time::{Duration, Instant}};
    ///
    /// let now = Arc::new(Mutex::new(Instant::now()));
    /// let clock = Arc::clone(&now);
    /// let replayer = ValidReplayer::new(Duration::from_secs(60))
    ///     .clock(move || *clock.lock().unwrap());
    /// // Later, in the test: *now.lock().unwrap() += Duration::from_secs(61);
    /// # drop(replayer);
    /// ```
    #[must_use]
    pub fn clock(mut self, clock: impl Fn() -> Instant + Send + 'static) -> ValidReplayer {
        self.clock = Box::new(clock);
        self
    }

    /// How long messages are kept.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Evicts what has expired, returning the current time.
    fn expire(&mut self) -> Option<Instant> {
        let now = (self.clock)();
        // A message stored at `at` is valid while `now - at < ttl`, that is
        // while `at > now - ttl`.
        if let Some(deadline) = now.checked_sub(self.ttl) {
            self.history.evict_until(deadline);
        }
        Some(now)
    }

    fn limit(&self) -> usize {
        self.max_len
    }
}

crate::history::history_replayer!(ValidReplayer);

impl fmt::Debug for ValidReplayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidReplayer")
            .field("ttl", &self.ttl)
            .field("max_len", &self.max_len)
            .field("history", &self.history)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replayer::testing::{self, T};
    use crate::{Error, Replayer};
    use std::sync::{Arc, Mutex};

    struct Manual(Arc<Mutex<Instant>>);

    impl Manual {
        fn advance(&self, by: Duration) {
            *self.0.lock().unwrap() += by;
        }
    }

    fn replayer(ttl: Duration) -> (ValidReplayer, Manual) {
        let now = Arc::new(Mutex::new(Instant::now()));
        let clock = Arc::clone(&now);
        let r = ValidReplayer::new(ttl)
            .auto_ids_from(1)
            .clock(move || *clock.lock().unwrap());
        (r, Manual(now))
    }

    fn publish(r: &mut ValidReplayer, data: &str) -> Result<Message, Error> {
        testing::publish(r, Message::new().data(data), T)
    }

    fn replay(r: &mut ValidReplayer, id: &str) -> (Resume, Vec<String>) {
        testing::replay(r, id, T)
    }

    #[test]
    fn max_len_evicts_the_oldest_however_recent() {
        let (r, _clock) = replayer(Duration::from_secs(60));
        let mut r = r.max_len(2);
        for data in ["a", "b", "c"] {
            publish(&mut r, data).unwrap();
        }
        assert_eq!(r.len(), 2);
        assert_eq!(replay(&mut r, "1"), (Resume::Lost, vec![]));
        assert_eq!(
            replay(&mut r, "2"),
            (Resume::Exact, vec!["id: 3\ndata: c\n\n".into()])
        );
        let (r, _clock) = replayer(Duration::from_secs(60));
        let mut none = r.max_len(0);
        publish(&mut none, "a").unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn evicts_messages_as_old_as_the_ttl() {
        let (mut r, clock) = replayer(Duration::from_secs(10));
        publish(&mut r, "a").unwrap(); // t = 0
        clock.advance(Duration::from_secs(5));
        publish(&mut r, "b").unwrap(); // t = 5
        clock.advance(Duration::from_secs(4)); // t = 9: both valid
        assert_eq!(
            replay(&mut r, "1"),
            (Resume::Exact, vec!["id: 2\ndata: b\n\n".into()])
        );
        clock.advance(Duration::from_secs(1)); // t = 10: "a" is 10 s old
        assert_eq!(replay(&mut r, "1"), (Resume::Lost, vec![]));
        assert_eq!(r.len(), 1);
        assert_eq!(replay(&mut r, "2"), (Resume::Exact, vec![]));
        clock.advance(Duration::from_secs(5)); // t = 15: "b" too
        assert_eq!(replay(&mut r, "2"), (Resume::Lost, vec![]));
        assert!(r.is_empty());
    }

    #[test]
    fn store_evicts_too() {
        let (mut r, clock) = replayer(Duration::from_secs(1));
        for _ in 0..5 {
            publish(&mut r, "x").unwrap();
        }
        clock.advance(Duration::from_secs(2));
        publish(&mut r, "y").unwrap();
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn auto_ids_and_explicit_id_refused() {
        let (mut r, _clock) = replayer(Duration::from_secs(1));
        assert_eq!(publish(&mut r, "a").unwrap().get_id().unwrap(), "1");
        assert_eq!(publish(&mut r, "b").unwrap().get_id().unwrap(), "2");
        let mut explicit = Message::new().id(EventId::from_static("x")).data("c");
        assert!(matches!(r.prepare(&mut explicit), Err(Error::ExplicitId)));
    }

    #[test]
    fn replay_after_an_id_and_unknown_id() {
        let (mut r, _clock) = replayer(Duration::from_secs(60));
        for data in ["a", "b", "c"] {
            publish(&mut r, data).unwrap();
        }
        let (resume, frames) = replay(&mut r, "1");
        assert_eq!(resume, Resume::Exact);
        assert_eq!(frames, ["id: 2\ndata: b\n\n", "id: 3\ndata: c\n\n"]);
        assert_eq!(replay(&mut r, "42"), (Resume::Lost, vec![]));
    }

    #[test]
    fn explicit_ids_without_auto_ids() {
        let mut r = ValidReplayer::new(Duration::from_secs(60));
        let mut m = Message::new().id(EventId::from_static("a")).data("1");
        r.prepare(&mut m).unwrap();
        r.store(&m, &m.to_encoded(), &Routing::from(T));
        assert_eq!(m.get_id().unwrap(), "a");
        assert_eq!(replay(&mut r, "a"), (Resume::Exact, vec![]));
    }
}
