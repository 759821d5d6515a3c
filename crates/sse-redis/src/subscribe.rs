//! A subscription: where its replay starts (an entry, found by the event
//! ID a client resumes from), its first page, and, once the replay caught
//! up, its place in this process's fan-out.

use crate::{
    Error, Subscriber,
    entry::EntryId,
    replay::{Replay, Step},
    shared::{Progress, Shared},
};
use sse_codec::{EventId, Resume, Start, Subscribed, Subscription};
use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

/// How long a resume waits for this process's reader to reach an entry that
/// a client saw through another process, before it reports the history
/// lost. Longer than the reader takes to notice a reset
/// ([`reader::BLOCK`]), so that a resume from the new stream's first
/// entries, seen through a process that noticed it first, waits for this
/// one to notice it too.
///
/// [`reader::BLOCK`]: crate::reader::BLOCK
const CATCH_UP: Duration = Duration::from_secs(5);

impl Shared {
    pub(crate) async fn subscribe(
        self: &Arc<Self>,
        subscription: Subscription,
    ) -> Result<Subscribed<Subscriber>, Error> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Shutdown);
        }
        let (mut selection, start) = subscription.split_start();
        selection.dedup_topics();
        let selection = Arc::new(selection);
        if let Some(error) = &self.lock().down {
            return Err(Error::Unavailable(Some(error.clone())));
        }
        let replay = match &start {
            Start::After(id) => self.resume_from(id).await?.map(|(at, epoch)| {
                let replay = Replay::after(Arc::clone(self), Arc::clone(&selection), epoch, at);
                (replay, Resume::Exact)
            }),
            Start::Earliest => {
                let epoch = Arc::clone(&self.lock().epoch);
                let replay = Replay::earliest(Arc::clone(self), Arc::clone(&selection), epoch);
                Some((replay, Resume::Earliest))
            }
            _ => None,
        };
        // The first page, read now: it tells whether the entry resumed
        // after is still there.
        let replayed = match replay {
            Some((replay, resume)) => match replay.step().await {
                Ok(step) => Some((step, resume)),
                // Trimmed, or of an instance that was reset meanwhile.
                Err(Error::Trimmed | Error::Reset) if resume == Resume::Exact => None,
                Err(error) => return Err(error),
            },
            None => None,
        };
        let (step, resume, position) = match replayed {
            Some((step, resume)) => {
                let position = match (resume, start) {
                    (Resume::Exact, Start::After(id)) => Some(id),
                    _ => None,
                };
                (step, resume, position)
            }
            None => {
                let joined = self.join(&selection, None).await?;
                // Where the live frames start: after the last entry the
                // reader had handed out (none yet: the stream is empty).
                let position = joined.last_id.clone();
                let resume = match start {
                    Start::Now => Resume::Fresh,
                    _ => Resume::Lost,
                };
                (Step::Live(joined, Vec::new()), resume, position)
            }
        };
        match resume {
            Resume::Exact | Resume::Earliest => self.replays_exact.fetch_add(1, Ordering::Relaxed),
            Resume::Lost => self.replays_lost.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
        Ok(Subscribed::new(Subscriber::new(Arc::clone(self), step), resume).at(position))
    }

    /// The entry a client resuming from `id` resumes after, and the epoch
    /// of its instance: `None` if the history after it is lost here.
    ///
    /// An ID of the form this crate makes names its entry when its epoch
    /// is the one this process reads; any other is looked up in the index
    /// of the IDs publishers chose (its earliest use the stream holds), and
    /// failing that, an ID of this crate's form names its entry in another
    /// instance (one this process may not have noticed yet).
    async fn resume_from(&self, id: &EventId) -> Result<Option<(EntryId, Arc<str>)>, Error> {
        let generated = EntryId::from_event_id(id);
        let reading = Arc::clone(&self.lock().epoch);
        let (entry, epoch) = match generated {
            Some((entry, epoch)) if epoch == &*reading => (entry, reading),
            _ => match (self.find(id).await?, generated) {
                ((Some(epoch), Some(entry)), _) => (entry, epoch),
                (_, Some((entry, epoch))) => (entry, Arc::from(epoch)),
                (_, None) => return Ok(None),
            },
        };
        self.catch_up(entry, &epoch).await?;
        let state = self.lock();
        // Not the instance the reader reads, or an entry it never got to
        // (see `catch_up`): what came between is unknown here.
        Ok((*state.epoch == *epoch && entry <= state.last).then_some((entry, epoch)))
    }

    /// The epoch of the stream's instance, and the entry of the earliest
    /// use of the publisher's ID `id` that it holds.
    async fn find(&self, id: &EventId) -> Result<(Option<Arc<str>>, Option<EntryId>), Error> {
        let mut conn = self.conn.clone();
        let found = match self
            .scripts
            .find(&mut conn, &self.key, &self.epoch_key, id)
            .await
        {
            // A read, so it may be sent again: the connection, dropped
            // (Redis was unreachable), is made anew by then.
            Err(error) if error.is_connection_dropped() => {
                self.scripts
                    .find(&mut conn, &self.key, &self.epoch_key, id)
                    .await?
            }
            found => found?,
        };
        Ok((found.epoch, found.entry))
    }

    /// If a client resumes from an entry this process has not read yet (it
    /// read it through a process whose reader is ahead, or that noticed a
    /// reset first), waits, boundedly, for the reader to get there, when
    /// the entry exists in the stream's current instance.
    async fn catch_up(&self, id: EntryId, epoch: &str) -> Result<(), Error> {
        let reached = |progress: &Progress| {
            (&*progress.epoch == epoch && progress.last >= id) || !progress.up
        };
        if reached(&self.progress.borrow()) {
            return Ok(());
        }
        let at = id.to_string();
        let Some(entries) = self.range(epoch, &at, &at, 1).await? else {
            return Ok(());
        };
        if !matches!(entries.first(), Some(entry) if entry.id == id && entry.epoch(epoch) == epoch)
        {
            return Ok(());
        }
        let mut progress = self.progress.subscribe();
        let _ = tokio::time::timeout(CATCH_UP, progress.wait_for(reached)).await;
        Ok(())
    }
}
