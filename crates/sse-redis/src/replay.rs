//! Replays from the stream, a page at a time as the subscriber reads them,
//! and the subscriber's join of this process's live fan-out once its
//! replay has caught up with the entries the reader handed out.

use crate::{
    Error,
    entry::{Entry, EntryId},
    shared::Shared,
    subscriber::End,
};
use redis::Value;
use sse_codec::{Encoded, EventId, Provider, Subscription};
use std::sync::{Arc, OnceLock};

/// Entries per page (`XRANGE ... COUNT`): a replay holds at most this many
/// frames at a time, and no one command holds Redis, or one answer's
/// memory, for long.
pub(crate) const PAGE: usize = 500;

/// Pages read at once in a process; the other replays wait their turn for
/// their next page.
pub(crate) const REPLAYS: usize = 8;

impl Shared {
    /// Up to `count` entries of the stream's instance `epoch`, by `XRANGE`
    /// from `start` to `end` (entry IDs, or `-`); `None` if the stream's
    /// instance is another one now. The epoch is read in the same
    /// transaction, so that the entries are of the instance it names.
    pub(crate) async fn range(
        &self,
        epoch: &str,
        start: &str,
        end: &str,
        count: usize,
    ) -> Result<Option<Vec<Entry>>, Error> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("GET")
            .arg(&self.epoch_key)
            .cmd("XRANGE")
            .arg(&self.key)
            .arg(start)
            .arg(end)
            .arg("COUNT")
            .arg(count);
        let mut conn = self.conn.clone();
        let (current, reply): (Option<Vec<u8>>, Value) = match pipe.query_async(&mut conn).await {
            // A read, so it may be sent again: the connection, dropped
            // (Redis was unreachable), is made anew by then.
            Err(error) if error.is_connection_dropped() => pipe.query_async(&mut conn).await?,
            result => result?,
        };
        if current.as_deref() != Some(epoch.as_bytes()) {
            return Ok(None);
        }
        let Value::Array(entries) = reply else {
            return Ok(Some(Vec::new()));
        };
        Ok(Some(
            entries
                .into_iter()
                .filter_map(|value| Entry::from_value(value, epoch))
                .collect(),
        ))
    }

    /// Registers `selection` in this process's fan-out, between two of the
    /// reader's batches, so that its live stream starts right after the
    /// last entry handed out; with `epoch`, only if the reader still reads
    /// that instance of the stream.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] while the reader has lost Redis;
    /// [`Error::Reset`] if the reader reads another instance than
    /// `epoch`; [`Error::Shutdown`] after shutdown.
    pub(crate) async fn join(
        &self,
        selection: &Subscription,
        epoch: Option<&str>,
    ) -> Result<Joined, Error> {
        let _order = self.order.lock().await;
        let (joe, end, upto, last_id) = {
            let state = self.lock();
            if let Some(error) = &state.down {
                return Err(Error::Unavailable(Some(error.clone())));
            }
            if epoch.is_some_and(|epoch| epoch != &*state.epoch) {
                return Err(Error::Reset);
            }
            (
                state.joe.clone(),
                Arc::clone(&state.end),
                state.last,
                state.last_id.clone(),
            )
        };
        let stream = joe
            .subscribe(selection.clone())
            .await
            .map_err(Error::from_joe)?
            .stream;
        Ok(Joined {
            stream,
            end,
            upto,
            last_id,
        })
    }
}

/// A subscriber registered in the fan-out.
pub(crate) struct Joined {
    pub(crate) stream: sse_joe::Subscriber,
    /// Why the fan-out it joined ended, once it has.
    pub(crate) end: Arc<OnceLock<End>>,
    /// The last entry handed out before it joined: its stream starts after
    /// it.
    pub(crate) upto: EntryId,
    /// That entry's event ID.
    pub(crate) last_id: Option<EventId>,
}

/// A replay under way: what it replays (the subscription, apart from its
/// start), from which instance of the stream, and the last entry it read.
pub(crate) struct Replay {
    shared: Arc<Shared>,
    selection: Arc<Subscription>,
    epoch: Arc<str>,
    /// The last entry read (replayed, or passed over as not for the
    /// subscriber); `None` before the first, from the earliest.
    at: Option<EntryId>,
    /// Whether a page has found `at` in the stream: until then, the
    /// history after it may be lost, even with nothing left to read.
    found: bool,
}

/// What a step of a replay gives.
pub(crate) enum Step {
    /// The frames of the next page that the subscription accepts (none,
    /// possibly), and the replay, to go on once they are read.
    Page(Replay, Vec<Encoded>),
    /// The replay caught up: the subscriber joined the fan-out, and the
    /// frames of the entries handed out between its last page and its
    /// join come before its live ones.
    Live(Joined, Vec<Encoded>),
}

impl Replay {
    /// A replay of what follows the entry `at` of the instance `epoch`.
    pub(crate) fn after(
        shared: Arc<Shared>,
        selection: Arc<Subscription>,
        epoch: Arc<str>,
        at: EntryId,
    ) -> Replay {
        Replay {
            shared,
            selection,
            epoch,
            at: Some(at),
            found: false,
        }
    }

    /// A replay of everything the instance `epoch` holds.
    pub(crate) fn earliest(
        shared: Arc<Shared>,
        selection: Arc<Subscription>,
        epoch: Arc<str>,
    ) -> Replay {
        Replay {
            shared,
            selection,
            epoch,
            at: None,
            found: true,
        }
    }

    /// Reads the next page, up to the last entry the reader has handed
    /// out; once there (and once a page found the entry it replays after),
    /// joins the fan-out instead.
    ///
    /// The join is exact without holding anything long: under the lock
    /// that orders subscribers against the reader's batches, the
    /// subscriber registers after the reader's last entry; the entries
    /// handed out since the replay looked (few: at most the batches of
    /// one round trip) are read after the lock, while its live stream
    /// queues what comes next, within the fan-out's bounds. If they are
    /// more than a page, it leaves the fan-out and reads them as a page,
    /// so that it never holds more than a page of replay.
    ///
    /// # Errors
    ///
    /// [`Error::Trimmed`] if the last entry read is no longer in the
    /// stream (entries after it may have been trimmed unread);
    /// [`Error::Reset`] if the stream's instance changed;
    /// [`Error::Unavailable`] if the reader lost Redis when the replay
    /// joins; [`Error::Redis`] if a page cannot be read;
    /// [`Error::Shutdown`] after shutdown.
    pub(crate) async fn step(mut self) -> Result<Step, Error> {
        let upto = self.reached()?;
        if self.is_behind(upto) || !self.found {
            let frames = self.page(upto).await?;
            if !frames.is_empty() || self.is_behind(upto) {
                return Ok(Step::Page(self, frames));
            }
        }
        let joined = self.shared.join(&self.selection, Some(&self.epoch)).await?;
        if !self.is_behind(joined.upto) {
            return Ok(Step::Live(joined, Vec::new()));
        }
        let frames = self.page(joined.upto).await?;
        if self.is_behind(joined.upto) {
            return Ok(Step::Page(self, frames));
        }
        Ok(Step::Live(joined, frames))
    }

    /// The last entry the reader handed out, if it reads this instance.
    fn reached(&self) -> Result<EntryId, Error> {
        let shared = &self.shared;
        if shared.closed.load(std::sync::atomic::Ordering::Acquire) {
            return Err(Error::Shutdown);
        }
        let state = shared.lock();
        if *state.epoch != *self.epoch {
            return Err(Error::Reset);
        }
        Ok(state.last)
    }

    /// Whether entries up to `upto` are left to read.
    fn is_behind(&self, upto: EntryId) -> bool {
        match self.at {
            Some(at) => at < upto,
            None => upto != EntryId::ZERO,
        }
    }

    /// The frames the subscription accepts among the next entries up to
    /// `upto`: at most a page of them, and, past the first, at most the
    /// bytes a live subscriber's queue holds.
    ///
    /// Each page starts at the last entry read, which must still be there:
    /// Redis trims the oldest entries first, so while it is, nothing after
    /// it was trimmed, and the pages go on without a gap or a duplicate.
    async fn page(&mut self, upto: EntryId) -> Result<Vec<Encoded>, Error> {
        let shared = &self.shared;
        let upto = upto.to_string();
        let entries = {
            let _turn = shared
                .replays
                .acquire()
                .await
                .map_err(|_| Error::Shutdown)?;
            match self.at {
                Some(at) => {
                    let at = at.to_string();
                    shared.range(&self.epoch, &at, &upto, PAGE + 1).await?
                }
                None => shared.range(&self.epoch, "-", &upto, PAGE).await?,
            }
        };
        let Some(entries) = entries else {
            return Err(Error::Reset);
        };
        let mut entries = entries.into_iter().peekable();
        if let Some(at) = self.at {
            let epoch = &*self.epoch;
            let first = entries.next_if(|entry| entry.id == at && entry.epoch(epoch) == epoch);
            if first.is_none() {
                return Err(Error::Trimmed);
            }
            self.found = true;
        }
        let budget = shared.joe.max_queued_bytes;
        let (mut frames, mut bytes) = (Vec::new(), 0);
        for entry in entries {
            if entry.is_for(&self.selection) {
                let frame = entry.message.to_encoded();
                if !frames.is_empty() && bytes + frame.len() > budget {
                    // The rest is read again with the next page.
                    break;
                }
                bytes += frame.len();
                frames.push(frame);
            }
            self.at = Some(entry.id);
        }
        Ok(frames)
    }
}
