//! The bookkeeping the built-in replayers share.

use crate::{Cut, Error, chunked::Chunked};
use sse_codec::{Encoded, EventId, Message, Resume, Routing, Subscription};
use std::{
    collections::HashMap,
    fmt,
    time::{Instant, SystemTime, UNIX_EPOCH},
};

/// Where automatic IDs start by default: the wall clock in microseconds.
/// A restarted process then numbers above every ID its previous run handed
/// out (unless that run averaged more than a million messages a second), so
/// a client's ID from before the restart is reported lost instead of being
/// taken for a new message with the same number.
fn clock_start() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |since| {
            u64::try_from(since.as_micros()).unwrap_or(u64::MAX / 2)
        })
        .max(1)
}

/// What the built-in replayers share, for a type with a `history: History`
/// field and two private methods: `expire(&mut self) -> Option<Instant>`
/// (evicts what is too old; the time to stamp a stored message with) and
/// `limit(&self) -> usize` (the most messages kept). Expands to the
/// automatic-ID and size methods, and to the type's [`Replayer`] impl.
///
/// [`Replayer`]: crate::Replayer
macro_rules! history_replayer {
    ($replayer:ident) => {
        impl $replayer {
            /// Whether to number messages automatically: decimal IDs, one
            /// more per message, starting from the wall clock in
            /// microseconds.
            ///
            /// Starting from the clock rather than from 1 keeps IDs unique
            /// across restarts: a client that reconnects to a restarted
            /// server with an ID from before the restart gets
            /// [`Resume::Lost`](sse_codec::Resume::Lost) (so it refetches
            /// its state) instead of a replay from whichever new message
            /// reused that number. This holds unless the previous run
            /// averaged more than a million messages a second.
            #[doc = concat!("[`auto_ids_from`](", stringify!($replayer), "::auto_ids_from)")]
            /// picks the first ID instead.
            #[must_use]
            pub fn auto_ids(mut self, auto_ids: bool) -> $replayer {
                self.history.set_auto_ids(auto_ids);
                self
            }

            /// Numbers messages automatically from `first`: for tests, or
            /// to go on from a counter kept elsewhere across restarts.
            #[must_use]
            pub fn auto_ids_from(mut self, first: u64) -> $replayer {
                self.history.set_first_auto_id(first);
                self
            }

            /// The number of messages held now.
            pub fn len(&self) -> usize {
                self.history.len()
            }

            /// Whether no message is held.
            pub fn is_empty(&self) -> bool {
                self.history.len() == 0
            }
        }

        impl crate::Replayer for $replayer {
            fn prepare(&mut self, message: &mut Message) -> Result<(), crate::Error> {
                self.history.prepare(message)
            }

            fn store(&mut self, message: &Message, encoded: &Encoded, routing: &Routing) {
                let now = self.expire();
                let limit = self.limit();
                if limit == 0 {
                    return;
                }
                while self.history.len() >= limit {
                    self.history.pop_oldest();
                }
                self.history.push(message, encoded, routing, now);
            }

            fn replay(
                &mut self,
                last_event_id: &EventId,
                subscription: &Subscription,
                out: &mut dyn FnMut(Encoded),
            ) -> Resume {
                self.expire();
                self.history.replay(last_event_id, subscription, out)
            }

            fn replay_all(
                &mut self,
                subscription: &Subscription,
                out: &mut dyn FnMut(Encoded),
            ) -> Resume {
                self.expire();
                self.history.replay_all(subscription, out)
            }

            fn newest_id(&mut self) -> Option<EventId> {
                self.expire();
                self.history.newest_id()
            }

            fn cut(
                &mut self,
                after: Option<&EventId>,
                subscription: &Subscription,
            ) -> Option<crate::Cut> {
                self.expire();
                Some(self.history.cut(after, subscription))
            }
        }
    };
}
pub(crate) use history_replayer;

/// Stored messages in publish order, indexed by ID. A cut shares the
/// entries (a reference count); the store after it copies the list of
/// chunks and at most the last chunk (see [`Chunked`]).
pub(crate) struct History {
    entries: Chunked<Entry>,
    /// Event ID to the sequence number of the oldest entry with that ID, so
    /// that finding where to resume is O(1) whatever the history's length.
    index: HashMap<EventId, u64>,
    /// The sequence number of the oldest entry held; entry `i` (from the
    /// oldest) has `first_seq + i`.
    first_seq: u64,
    /// The next automatic ID, when IDs are assigned.
    next_auto_id: Option<u64>,
}

#[derive(Clone, Debug, Default)]
struct Entry {
    id: Option<EventId>,
    frame: Encoded,
    /// `None` only in the empty entry an evicted one leaves behind.
    routing: Option<Routing>,
    at: Option<Instant>,
}

/// A summary: the messages themselves would flood a log.
impl fmt::Debug for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("History")
            .field("len", &self.entries.len())
            .field("next_auto_id", &self.next_auto_id)
            .finish_non_exhaustive()
    }
}

impl History {
    pub(crate) fn new(auto_ids: bool) -> History {
        History {
            entries: Chunked::default(),
            index: HashMap::new(),
            first_seq: 0,
            next_auto_id: auto_ids.then(clock_start),
        }
    }

    pub(crate) fn set_auto_ids(&mut self, auto_ids: bool) {
        self.next_auto_id = auto_ids.then(|| self.next_auto_id.unwrap_or_else(clock_start));
    }

    pub(crate) fn set_first_auto_id(&mut self, first: u64) {
        self.next_auto_id = Some(first);
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn prepare(&mut self, message: &mut Message) -> Result<(), Error> {
        if let Some(next) = &mut self.next_auto_id {
            if message.get_id().is_some() {
                return Err(Error::ExplicitId);
            }
            // Never hand out an ID twice, even at the end of the range.
            let Some(after) = next.checked_add(1) else {
                return Err(Error::Rejected("automatic event IDs are exhausted".into()));
            };
            let id =
                EventId::try_from(next.to_string()).expect("a decimal number is a valid event id");
            *next = after;
            message.set_id(Some(id));
        }
        Ok(())
    }

    pub(crate) fn push(
        &mut self,
        message: &Message,
        frame: &Encoded,
        routing: &Routing,
        at: Option<Instant>,
    ) {
        let seq = self.first_seq + self.entries.len() as u64;
        // An empty ID resets a client's last event ID, so no client resumes
        // from it.
        let id = message.get_id().filter(|id| !id.is_empty()).cloned();
        // An ID used again keeps its oldest entry: a client that saw
        // either use then gets what followed the first again rather than
        // miss what came between the two.
        if let Some(id) = &id {
            self.index.entry(id.clone()).or_insert(seq);
        }
        self.entries.push(Entry {
            id,
            frame: frame.clone(),
            routing: Some(routing.clone()),
            at,
        });
    }

    /// The ID of the newest entry, if it has one.
    pub(crate) fn newest_id(&self) -> Option<EventId> {
        let last = self.entries.len().checked_sub(1)?;
        self.entries.get(last).id.clone()
    }

    /// Drops the oldest entry.
    pub(crate) fn pop_oldest(&mut self) {
        if self.entries.len() == 0 {
            return;
        }
        if let Some(id) = &self.entries.get(0).id {
            // The ID's index is its oldest use: once that goes, a client
            // resuming from the ID may have seen it there, and what came
            // after it is gone; it is lost, whatever later use is held.
            if self.index.get(id) == Some(&self.first_seq) {
                self.index.remove(id);
            }
        }
        // Freed now unless a cut still shares it.
        self.entries.pop_front();
        self.first_seq += 1;
    }

    /// Drops entries stored at or before `deadline`.
    pub(crate) fn evict_until(&mut self, deadline: Instant) {
        while self.entries.len() > 0 {
            match self.entries.get(0).at {
                Some(at) if at <= deadline => self.pop_oldest(),
                _ => break,
            }
        }
    }

    /// Where a replay after `last_event_id` starts, from the oldest entry.
    fn after(&self, last_event_id: &EventId) -> Option<usize> {
        let &seq = self.index.get(last_event_id)?;
        // The index holds only retained entries, so `seq >= first_seq`.
        Some((seq - self.first_seq) as usize + 1)
    }

    pub(crate) fn replay(
        &self,
        last_event_id: &EventId,
        subscription: &Subscription,
        out: &mut dyn FnMut(Encoded),
    ) -> Resume {
        let Some(start) = self.after(last_event_id) else {
            return Resume::Lost;
        };
        walk(self.entries.iter_from(start), subscription, out);
        Resume::Exact
    }

    /// Every stored frame `subscription` accepts.
    pub(crate) fn replay_all(
        &self,
        subscription: &Subscription,
        out: &mut dyn FnMut(Encoded),
    ) -> Resume {
        walk(self.entries.iter(), subscription, out);
        Resume::Earliest
    }

    /// The replay after `after` (or of everything, for `None`), as a cut
    /// to walk later.
    pub(crate) fn cut(&self, after: Option<&EventId>, subscription: &Subscription) -> Cut {
        let (start, resume) = match after {
            Some(id) => match self.after(id) {
                Some(start) => (start, Resume::Exact),
                None => return Cut::new(Resume::Lost, |_| {}),
            },
            None => (0, Resume::Earliest),
        };
        if start >= self.entries.len() {
            // Nothing to replay: no clone for the next store to copy from.
            return Cut::new(resume, |_| {});
        }
        let entries = self.entries.clone();
        let subscription = subscription.clone();
        Cut::new(resume, move |out| {
            walk(entries.iter_from(start), &subscription, out);
        })
    }
}

/// Hands to `out` the frames of `entries` that `subscription` accepts.
fn walk<'a>(
    entries: impl Iterator<Item = &'a Entry>,
    subscription: &Subscription,
    out: &mut dyn FnMut(Encoded),
) {
    for entry in entries {
        if entry
            .routing
            .as_ref()
            .is_some_and(|routing| subscription.accepts(routing))
        {
            out(entry.frame.clone());
        }
    }
}
