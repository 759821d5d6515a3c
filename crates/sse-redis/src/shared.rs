//! What the provider's clones, its reader and its subscribers' streams
//! share: the connections, the in-process fan-out and where the reader is.

use crate::{entry::EntryId, retention::Retention, script::Scripts, subscriber::End};
use redis::aio::ConnectionManager;
use sse_codec::EventId;
use sse_joe::{Joe, Stats};
use std::sync::{
    Arc, Mutex, MutexGuard, OnceLock, PoisonError,
    atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
};
use tokio::sync::{oneshot, watch};

/// What the clones, the reader and the subscriber streams share.
pub(crate) struct Shared {
    pub(crate) key: String,
    /// `<key>:epoch`, which names the stream's current instance.
    pub(crate) epoch_key: String,
    pub(crate) retention: Retention,
    pub(crate) scripts: Scripts,
    /// For replays. The reader has its own, since a blocking read would
    /// hold up every command behind it on a shared one; so do publishes,
    /// which would wait behind the answers of every replay under way (a
    /// storm of resumes holds hundreds of megabytes of them).
    pub(crate) conn: ConnectionManager,
    pub(crate) publisher: ConnectionManager,
    /// Pages of replays read at once.
    pub(crate) replays: tokio::sync::Semaphore,
    /// Orders the reader's hand-over of entries to Joe against the
    /// registration of subscribers: a subscriber registers between two
    /// batches, so it gets every entry after `State::last` live and the
    /// rest from its replay.
    pub(crate) order: tokio::sync::Mutex<()>,
    pub(crate) state: Mutex<State>,
    /// The reader's progress, for resumes that wait for it.
    pub(crate) progress: watch::Sender<Progress>,
    pub(crate) closed: Arc<AtomicBool>,
    pub(crate) reader: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Stops the threads that run the reader and the connections, when the
    /// provider has its own.
    pub(crate) io_threads: Mutex<Vec<oneshot::Sender<()>>>,
    pub(crate) joe: JoeConfig,
    pub(crate) replays_exact: AtomicU64,
    pub(crate) replays_lost: AtomicU64,
    /// Subscriber streams not dropped yet, replaying or live.
    pub(crate) streams: AtomicUsize,
}

/// The in-process fan-out, and where the reader is.
pub(crate) struct State {
    pub(crate) joe: Joe,
    /// Why `joe`'s streams ended, set before it is shut down (unset at
    /// shutdown); each subscriber keeps the one of the Joe it subscribed
    /// to.
    pub(crate) end: Arc<OnceLock<End>>,
    /// The epoch of the stream instance the reader reads.
    pub(crate) epoch: Arc<str>,
    /// The last entry handed to `joe`.
    pub(crate) last: EntryId,
    /// Its event ID (the publisher's, or the one made from `last`), where
    /// a new subscriber's stream starts.
    pub(crate) last_id: Option<EventId>,
    /// Why the reader is not reading, while it is not.
    pub(crate) down: Option<redis::RedisError>,
    /// The counters of the Joes that outages ended, so that stats go on.
    pub(crate) carried: Stats,
}

/// The reader's progress: the last entry handed to Joe, of which instance
/// of the stream, and whether it is reading.
#[derive(Clone, Debug)]
pub(crate) struct Progress {
    pub(crate) last: EntryId,
    pub(crate) epoch: Arc<str>,
    pub(crate) up: bool,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct JoeConfig {
    pub(crate) capacity: usize,
    pub(crate) max_queued_bytes: usize,
}

impl JoeConfig {
    pub(crate) fn build(self) -> Joe {
        Joe::builder()
            .capacity(self.capacity)
            .max_queued_bytes(self.max_queued_bytes)
            .build()
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks; recover anyway.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Stops the reader and ends every stream; later calls fail.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        if let Some(reader) = lock(&self.reader).take() {
            reader.abort();
        }
        // The thread's runtime, and the connections' tasks on it, end.
        drop(std::mem::take(&mut *lock(&self.io_threads)));
        self.progress.send_modify(|progress| progress.up = false);
    }
}
