//! What ends this process's live streams other than shutdown: the reader
//! lost Redis, found the stream reset, or found entries trimmed before it
//! read them. Each puts a new Joe in the shared state and ends the old
//! one's streams with the reason, so that their clients resume.

use crate::{
    entry::EntryId,
    shared::{Progress, Shared, State},
    subscriber::End,
};
use sse_codec::{EventId, Provider};
use sse_joe::Joe;
use std::sync::{Arc, OnceLock};

impl Shared {
    /// Puts a new Joe in the state and returns the old one, to be shut down
    /// once no lock is held: its streams end with `end`.
    fn renew(&self, state: &mut State, end: End) -> Joe {
        // Set before the streams can see their end.
        let _ = state.end.set(end);
        state.end = Arc::new(OnceLock::new());
        let ended = std::mem::replace(&mut state.joe, self.joe.build());
        let stats = ended.stats();
        state.carried.published += stats.published;
        state.carried.delivered += stats.delivered;
        state.carried.lagged += stats.lagged;
        ended
    }

    /// The reader lost Redis: ends every live stream (their clients
    /// reconnect and resume) and refuses subscriptions until it reads
    /// again. Called with `order` held.
    pub(crate) async fn fail(&self, error: redis::RedisError) {
        let ended = {
            let mut state = self.lock();
            if state.down.is_some() {
                None
            } else {
                state.down = Some(error.clone());
                Some(self.renew(&mut state, End::Unavailable(error)))
            }
        };
        self.progress.send_modify(|progress| progress.up = false);
        if let Some(ended) = ended {
            ended.shutdown().await;
        }
    }

    /// The reader found a new instance of the stream, named `epoch`: ends
    /// every live stream with [`Error::Reset`] (their clients reconnect,
    /// and their resumes are lost) and reads the new instance from its
    /// start. Called with `order` held.
    ///
    /// [`Error::Reset`]: crate::Error::Reset
    pub(crate) async fn reset(&self, epoch: Arc<str>) {
        let ended = {
            let mut state = self.lock();
            state.epoch = Arc::clone(&epoch);
            state.last = EntryId::ZERO;
            state.last_id = None;
            state.down = None;
            self.renew(&mut state, End::Reset)
        };
        self.progress.send_replace(Progress {
            last: EntryId::ZERO,
            epoch,
            up: true,
        });
        ended.shutdown().await;
    }

    /// The reader found entries trimmed before it read them: ends every
    /// live stream with [`Error::Trimmed`] (they would miss those entries)
    /// and goes on after `last`, whose event ID is `last_id`. Called with
    /// `order` held.
    ///
    /// [`Error::Trimmed`]: crate::Error::Trimmed
    pub(crate) async fn trimmed(&self, last: EntryId, last_id: Option<EventId>) {
        let ended = {
            let mut state = self.lock();
            state.last = last;
            state.last_id = last_id;
            state.down = None;
            self.renew(&mut state, End::Trimmed)
        };
        let epoch = Arc::clone(&self.progress.borrow().epoch);
        self.progress.send_replace(Progress {
            last,
            epoch,
            up: true,
        });
        ended.shutdown().await;
    }
}
