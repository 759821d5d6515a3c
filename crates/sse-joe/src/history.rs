//! The bookkeeping the built-in replayers share.

use crate::{Error, replayer::intersects};
use sse_codec::{EventId, Frame, Message, Resume, Topic};
use std::{
    collections::{HashMap, VecDeque},
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

/// Stored messages in publish order, indexed by ID.
#[derive(Debug)]
pub(crate) struct History {
    entries: VecDeque<Entry>,
    /// Event ID to the sequence number of the newest entry with that ID, so
    /// that finding where to resume is O(1) whatever the history's length.
    index: HashMap<EventId, u64>,
    /// The sequence number of `entries[0]`; entry `i` has `first_seq + i`.
    first_seq: u64,
    /// The next automatic ID, when IDs are assigned.
    next_auto_id: Option<u64>,
}

#[derive(Debug)]
struct Entry {
    id: Option<EventId>,
    frame: Frame,
    topics: Box<[Topic]>,
    at: Option<Instant>,
}

impl History {
    pub(crate) fn new(auto_ids: bool) -> History {
        History {
            entries: VecDeque::new(),
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

    pub(crate) fn auto_ids(&self) -> bool {
        self.next_auto_id.is_some()
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
        frame: &Frame,
        topics: &[Topic],
        at: Option<Instant>,
    ) {
        let seq = self.first_seq + self.entries.len() as u64;
        // An empty ID resets a client's last event ID, so no client resumes
        // from it.
        let id = message.get_id().filter(|id| !id.is_empty()).cloned();
        if let Some(id) = &id {
            self.index.insert(id.clone(), seq);
        }
        self.entries.push_back(Entry {
            id,
            frame: frame.clone(),
            topics: topics.into(),
            at,
        });
    }

    /// Drops the oldest entry.
    pub(crate) fn pop_oldest(&mut self) {
        if let Some(entry) = self.entries.pop_front() {
            if let Some(id) = entry.id {
                // A later message may have reused the ID; keep its index.
                if self.index.get(&id) == Some(&self.first_seq) {
                    self.index.remove(&id);
                }
            }
            self.first_seq += 1;
        }
    }

    /// Drops entries stored at or before `deadline`.
    pub(crate) fn evict_until(&mut self, deadline: Instant) {
        while let Some(at) = self.entries.front().and_then(|entry| entry.at) {
            if at > deadline {
                break;
            }
            self.pop_oldest();
        }
    }

    pub(crate) fn replay(
        &self,
        last_event_id: &EventId,
        topics: &[Topic],
        out: &mut dyn FnMut(Frame),
    ) -> Resume {
        let Some(&seq) = self.index.get(last_event_id) else {
            return Resume::Lost;
        };
        // The index holds only retained entries, so `seq >= first_seq`.
        let after = (seq - self.first_seq) as usize + 1;
        self.replay_from(after, topics, out);
        Resume::Exact
    }

    /// Every stored frame for `topics`.
    pub(crate) fn replay_all(&self, topics: &[Topic], out: &mut dyn FnMut(Frame)) -> Resume {
        self.replay_from(0, topics, out);
        Resume::Earliest
    }

    fn replay_from(&self, start: usize, topics: &[Topic], out: &mut dyn FnMut(Frame)) {
        for entry in self.entries.range(start..) {
            if intersects(&entry.topics, topics) {
                out(entry.frame.clone());
            }
        }
    }
}
