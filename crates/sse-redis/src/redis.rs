//! The provider, [`Redis`]: a handle on the state its clones share, whose
//! last clone shuts it down, and the [`Provider`] methods. A publish runs
//! one script that runs `XADD` (`publish.rs`); one reader per process fans
//! out through Joe (`reader.rs`); a subscription replays with `XRANGE` in
//! pages, then goes on live (`subscribe.rs`, `replay.rs`).

use crate::{Error, Subscriber, shared::Shared};
use sse_codec::{Message, Provider, Routing, Subscribed, Subscription, Topic};
use sse_joe::Stats;
use std::{
    fmt,
    sync::{Arc, atomic::Ordering},
};

/// A [`Provider`] on a Redis stream: several server processes share one
/// ordered history, and a client resumes on any of them.
///
/// - **Publish** is one command (a script that runs `XADD` on the stream),
///   whatever the number of processes and subscribers, trimming the stream
///   to the [`Retention`]. The entry holds the update's routing (every
///   topic, and whether it is private). A message keeps the ID its
///   publisher set, which the script also indexes; one without gets an ID
///   made from the entry's ID and the stream's epoch (see the crate docs),
///   unique and ordered across every process.
/// - **Each process reads** the stream with one loop (a blocking `XREAD`,
///   then a read-only script for the entries), not one per subscriber,
///   and hands every entry, with its routing, to an in-process
///   [`Joe`], which fans it out with Joe's guarantees: a subscriber's
///   filter asked before a frame is queued for it, a bounded log, a slow
///   subscriber ended (its client resumes), never waited on.
/// - **Subscribing with a last event ID** (either kind) replays from Redis
///   what follows that entry and the subscription accepts, a page of 500
///   entries at a time as the subscriber reads (`XRANGE`), then joins the
///   live fan-out, with no gap and no duplicate even while publishes race
///   it; however far back, a resuming subscriber holds at most a page (see
///   [`Subscriber`]). The resume is [`Resume::Lost`] whenever the ID is
///   not in the retained history: trimmed, never written, from another
///   stream or another Redis, or from before the stream was reset.
///
/// # Failures
///
/// - **A publish** that fails with [`Error::Redis`] stored nothing; one that
///   fails with [`Error::Unconfirmed`] (no answer within the
///   [response timeout](crate::RedisBuilder::response_timeout), or the connection
///   dropped after sending) may have stored the message: see
///   [`Error::Unconfirmed`] for what to do.
/// - **When Redis is unreachable**, the reader ends every live stream with
///   [`Error::Unavailable`] (clients reconnect), and subscribing fails the
///   same way until it reads again. Then it goes on from the last entry it
///   read, so a client that resumes loses nothing the history still holds.
/// - **When the reader falls further behind than the [`Retention`]**, so
///   that entries are trimmed before it reads them, it ends every live
///   stream with [`Error::Trimmed`] rather than skip them.
/// - **When the stream is reset** (flushed, deleted, or lost with a restart
///   of Redis without persistence), entries of the new stream may be
///   numbered at or below the last entry read, and reading on from there
///   would skip them. Each process's reader notices at its next read (see
///   the crate docs' "Resets"): it ends every live stream with
///   [`Error::Reset`], reads the new stream from its start, and resumes
///   from IDs of the old stream are [`Resume::Lost`]. A reset is noticed
///   at once when an entry numbered above the last one read arrives, and
///   otherwise when the reader's one-second wait for entries ends (1.08 to
///   1.09 s measured: Redis ends such waits on its 100 ms timer); after
///   Redis was unreachable, at the first read once it is back. No event is
///   skipped without one of these signals.
///
/// Cheap to clone; the clones share one reader. When the last clone is
/// dropped, or on [`shutdown`](Provider::shutdown), the reader stops and
/// every stream ends.
///
/// # Examples
///
/// ```no_run
/// use futures_util::StreamExt;
/// use sse_codec::{Message, Provider, Subscription, Topic};
/// use sse_redis::Redis;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), sse_redis::Error> {
/// let redis = Redis::connect("redis://127.0.0.1:6379").await?;
/// let mut sub = redis.subscribe(Subscription::new([Topic::from("news")])).await?.stream;
/// redis.publish(Message::new().data("hello"), &[Topic::from("news")]).await?;
/// let frame = sub.next().await.unwrap()?;
/// assert!(frame.as_bytes().ends_with(b"data: hello\n\n"));
/// # Ok(())
/// # }
/// ```
///
/// [`Joe`]: sse_joe::Joe
/// [`Resume::Lost`]: sse_codec::Resume::Lost
/// [`Retention`]: crate::Retention
#[derive(Clone)]
pub struct Redis {
    pub(crate) handle: Arc<Handle>,
}

/// Shared by the [`Redis`] clones only, so that dropping the last one shuts
/// down.
pub(crate) struct Handle(pub(crate) Arc<Shared>);

impl Drop for Handle {
    fn drop(&mut self) {
        self.0.close();
    }
}

impl Redis {
    /// The stream's key.
    pub fn key(&self) -> &str {
        &self.shared().key
    }

    /// The epoch of the stream instance this process reads, the part of
    /// its event IDs after the colon. It changes when the stream is reset
    /// (see [`Error::Reset`]), once this process's reader has noticed.
    pub fn epoch(&self) -> String {
        self.shared().lock().epoch.to_string()
    }

    /// A snapshot of this process's fan-out (as [`Joe::stats`]; `published`
    /// counts the entries this process read) and of its resumes.
    /// `subscribers` counts every open stream, as
    /// [`subscriber_count`](Redis::subscriber_count) does, those still
    /// replaying included; `receiving` and the queues, those that joined
    /// the live fan-out (the page a replay holds is not counted).
    ///
    /// [`Joe::stats`]: sse_joe::Joe::stats
    pub fn stats(&self) -> Stats {
        let shared = self.shared();
        let state = shared.lock();
        let mut stats = state.joe.stats();
        stats.subscribers = shared.streams.load(Ordering::Relaxed);
        stats.published += state.carried.published;
        stats.delivered += state.carried.delivered;
        stats.lagged += state.carried.lagged;
        stats.replays_exact = shared.replays_exact.load(Ordering::Relaxed);
        stats.replays_lost = shared.replays_lost.load(Ordering::Relaxed);
        stats
    }

    /// The number of open subscriber streams in this process, replaying
    /// or live: subscribed and not yet dropped.
    pub fn subscriber_count(&self) -> usize {
        self.shared().streams.load(Ordering::Relaxed)
    }

    /// Whether this process reads the stream now (`false` while Redis is
    /// unreachable).
    pub fn is_reading(&self) -> bool {
        self.shared().progress.borrow().up
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.handle.0
    }
}

impl fmt::Debug for Redis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = self.shared();
        f.debug_struct("Redis")
            .field("key", &shared.key)
            .field("epoch", &shared.lock().epoch)
            .field("retention", &shared.retention)
            .field("reading", &self.is_reading())
            .field("closed", &shared.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Provider for Redis {
    type Error = Error;
    type Stream = Subscriber;

    /// Subscribes; with a last event ID, first replays from the stream what
    /// was published after it that the subscription accepts; from the
    /// earliest, all the stream retains that it accepts. The replay is
    /// read a page at a time as the stream is read: this reads the first
    /// (which tells whether the resume is exact), the stream the others.
    /// An ID published more than once resumes after its earliest use the
    /// stream holds.
    ///
    /// # Errors
    ///
    /// [`Error::Shutdown`] after shutdown; [`Error::Unavailable`] while this
    /// process's reader has lost Redis; [`Error::Redis`] if the ID cannot
    /// be looked up or the replay's first page cannot be read;
    /// [`Error::Reset`] if a subscription from the earliest meets a reset
    /// of the stream. Later pages that fail end the stream with the error
    /// (see [`Subscriber`]).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped, the subscription (if it was
    /// made) is dropped with it.
    async fn subscribe(&self, subscription: Subscription) -> Result<Subscribed<Subscriber>, Error> {
        self.shared().subscribe(subscription).await
    }

    /// Publishes a public update with one command (a script that runs
    /// `XADD`, and indexes the message's ID if it has one), and returns
    /// once Redis has stored the entry. Every process's reader (this one's
    /// included) then hands it to its subscribers when it reads it,
    /// typically within a millisecond: so unlike Joe's, a subscriber may
    /// get the message after `publish` returns.
    ///
    /// # Errors
    ///
    /// - [`Error::Shutdown`] after shutdown: nothing was sent.
    /// - [`Error::Redis`] if Redis could not be reached or answered with an
    ///   error (a key of another type, out of memory, an entry of more
    ///   than 3,996 fields, which the script cannot pass on): nothing was
    ///   stored, and a retry publishes it once.
    /// - [`Error::Unconfirmed`] if no answer came (the response timeout
    ///   passed, or the connection dropped after sending): it may have
    ///   been stored, and a retry may publish it twice.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: if the future is dropped after the command was
    /// sent, the message may or may not have been published.
    async fn publish(&self, message: Message, topics: &[Topic]) -> Result<(), Error> {
        self.shared().publish(message, topics, false).await
    }

    /// Publishes `message` routed by `routing`, as
    /// [`publish`](Provider::publish) does: the entry holds every topic, in
    /// order, and whether it is private, and every process routes it by
    /// them, live and on replay.
    ///
    /// # Errors
    ///
    /// As [`publish`](Provider::publish).
    ///
    /// # Cancel safety
    ///
    /// As [`publish`](Provider::publish).
    async fn publish_routed(&self, message: Message, routing: Routing) -> Result<(), Error> {
        self.shared()
            .publish(message, routing.topics(), routing.is_private())
            .await
    }

    /// Stops this process's reader and ends every stream of this process
    /// after the frames already queued for it; later calls fail with
    /// [`Error::Shutdown`]. The stream in Redis is left as it is. Calling
    /// it twice is harmless.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the reader is stopped before the first await.
    async fn shutdown(&self) {
        let shared = self.shared();
        shared.close();
        let joe = shared.lock().joe.clone();
        joe.shutdown().await;
    }
}
