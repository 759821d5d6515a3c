//! A subscription: a place in this process's fan-out between two of the
//! reader's batches, and the replay from the stream up to the last entry
//! before it, with no gap and no duplicate between the two.

use crate::{
    Error, Subscriber,
    entry::{self, EntryId},
    shared::{Progress, Shared},
};
use sse_codec::{Provider, Resume, Start, Subscribed, Subscription};
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
        &self,
        subscription: Subscription,
    ) -> Result<Subscribed<Subscriber>, Error> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Shutdown);
        }
        let (mut topics, start) = subscription.into_parts();
        topics.sort_unstable();
        topics.dedup();
        let from = match &start {
            Start::After(id) => Some(EntryId::from_event_id(id)),
            _ => None,
        };
        if let Some(Some((id, epoch))) = from {
            self.catch_up(id, epoch).await?;
        }
        let _replaying = match (&from, &start) {
            (Some(Some(_)), _) | (None, Start::Earliest) => {
                Some(self.replays.acquire().await.map_err(|_| Error::Shutdown)?)
            }
            _ => None,
        };
        let (mut stream, end, upto, epoch) = {
            let _order = self.order.lock().await;
            let (joe, end, upto, epoch) = {
                let state = self.lock();
                if let Some(error) = &state.down {
                    return Err(Error::Unavailable(Some(error.clone())));
                }
                (
                    state.joe.clone(),
                    Arc::clone(&state.end),
                    state.last,
                    Arc::clone(&state.epoch),
                )
            };
            let subscribed = joe
                .subscribe(Subscription::new(topics.iter().cloned()))
                .await
                .map_err(Error::from_joe)?;
            (subscribed.stream, end, upto, epoch)
        };
        let replay = match (from, &start) {
            (Some(Some((id, from_epoch))), _) if from_epoch == &*epoch => {
                Some((self.replay(id, &epoch, upto, &topics).await?, Resume::Exact))
            }
            // Not an ID of this instance of the stream: an ID of an
            // instance that was reset, or of no stream this process reads.
            (Some(_), _) => None,
            (None, Start::Earliest) => Some((
                self.replay_all(&epoch, upto, &topics).await?,
                Resume::Earliest,
            )),
            (None, _) => Some((Some(Vec::new()), Resume::Fresh)),
        };
        let resume = match replay {
            Some((Some(frames), resume)) => {
                if !stream.prepend(frames) {
                    // It ended while the replay was read (this process lost
                    // Redis, found the stream reset, or the subscriber fell
                    // behind): the live frames queued for it would come
                    // without the replay before them, a gap its client
                    // would never learn of. Its client subscribes again.
                    return Err(match end.get() {
                        Some(end) => end.error(),
                        None if self.closed.load(Ordering::Acquire) => Error::Shutdown,
                        None => Error::Lagged {
                            capacity: self.joe.capacity,
                            max_bytes: self.joe.max_queued_bytes,
                        },
                    });
                }
                resume
            }
            _ => Resume::Lost,
        };
        match resume {
            Resume::Exact | Resume::Earliest => self.replays_exact.fetch_add(1, Ordering::Relaxed),
            Resume::Lost => self.replays_lost.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
        // Where the live frames start: after `upto`, the last entry the
        // reader had handed to the fan-out (none yet: the stream is empty).
        let position = match (resume, start) {
            (Resume::Exact, Start::After(id)) => Some(id),
            (Resume::Earliest, _) => None,
            _ => (upto != EntryId::ZERO).then(|| entry::event_id(upto, &epoch)),
        };
        Ok(Subscribed::new(
            Subscriber::new(stream, end, Arc::clone(&self.closed)),
            resume,
        )
        .at(position))
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
        let Some(entries) = self.page(epoch, "XRANGE", id, &id.to_string(), 1).await? else {
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
