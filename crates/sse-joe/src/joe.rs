//! The broker: subscriber registry, fan-out, replay, shutdown.

use crate::{
    Error, JoeBuilder, Replayer, Stats,
    log::{Log, Owner, Waiter, Waiters, unread, wake_or_defer},
    metrics::Metrics,
    registry::{Inner, State},
    shared::Shared,
    subscriber::Subscriber,
    sync::{Arc, AtomicU64},
};
use sse_codec::{Message, Provider, Resume, Routing, Start, Subscribed, Subscription, Topic};
use std::{
    any::Any,
    cell::Cell,
    collections::{HashMap, VecDeque},
    fmt,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::Mutex,
};

/// An in-memory [`Provider`]: topics, fan-out to every subscriber, and
/// optional replay for resuming clients.
///
/// Cheap to clone: clones share the same subscribers. When the last clone
/// is dropped, Joe shuts down: with no one left to publish, every
/// subscriber's stream ends after its queued frames.
///
/// A publish encodes the message once and appends the
/// [`Encoded`](sse_codec::Encoded) (a reference-counted clone) to the log
/// of each of its topics, under Joe's lock: the time it holds the lock
/// does not grow with the number of subscribers. Then, without the lock,
/// its wake pass loads one flag per subscriber of those topics and wakes
/// the ones that wait (each found nothing to read and said so); the others
/// are busy and will read. A pass with more than 64 subscribers to wake,
/// in a publish called inside a tokio runtime (the `tokio` feature, on by
/// default), runs in a task of its own, which the runtime runs as soon as
/// the publishing task yields: what a publisher waits for does not grow
/// with the subscribers either (a hub's `POST` is answered in the same
/// time at 10,000 subscribers as at 10). Each subscriber reads the logs of its topics
/// with its own cursor and without a lock: a subscriber of one topic takes
/// each entry in place, one of several topics takes a batch merged into
/// publish order, and gets a message once however many of its topics
/// match. A publish never waits: when a log would pass its bounds (in
/// frames or in bytes), its oldest entry is evicted and the subscribers
/// that had not read it are ended with [`Error::Lagged`] (their clients
/// reconnect and resume from the replayer), and the publish goes on.
///
/// # Examples
///
/// ```
/// use futures_util::StreamExt;
/// use sse_codec::{Message, Subscription, Topic};
/// use sse_joe::{Joe, Provider};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), sse_joe::Error> {
/// let joe = Joe::new();
/// let mut sub = joe.subscribe(Subscription::new([Topic::from("news")])).await?.stream;
/// joe.publish(Message::new().data("hello"), &[Topic::from("news")]).await?;
/// let frame = sub.next().await.unwrap()?;
/// assert_eq!(frame.as_bytes(), "data: hello\n\n");
/// # Ok(())
/// # }
/// ```
///
/// # Filters and private updates
///
/// A subscription may carry a [`Filter`](sse_codec::Filter) over each
/// update's [`Routing`] (its topics, and whether it is private), and may
/// consider [every topic](sse_codec::Subscription::every_topic) rather
/// than a list; [`publish_routed`](Provider::publish_routed) publishes
/// with a routing of the publisher's. Joe applies
/// [`Subscription::accepts`](sse_codec::Subscription::accepts), live and on
/// replay:
///
/// - An entry keeps its routing (a reference count) only in the logs that
///   a filtered subscriber reads; a subscriber without a filter takes every
///   public entry and asks nothing, so exact-topic subscribers pay one
///   test of a field per entry for the filters of others.
/// - A filtered subscriber asks its filter about each entry of its logs,
///   in its own task, and passes over those it refuses.
/// - A private update is appended only to the logs some filtered
///   subscriber reads: it never waits in a log for subscribers that could
///   not take it, nor wakes them.
/// - Subscribers to every topic share one more log, which every publish
///   appends to while they are there: each update wakes each of them, and
///   costs each a call of its filter. Exact topics are cheaper where they
///   do.
///
/// # Memory
///
/// What Joe holds, with its figures; the rest of these docs link here.
///
/// - **One log per topic** that has subscribers, shared by them, each
///   reading it with a cursor of its own. It holds what some subscriber
///   has not read, bounded in frames ([`capacity`](JoeBuilder::capacity),
///   [`DEFAULT_CAPACITY`](crate::DEFAULT_CAPACITY), 256) and in bytes
///   ([`max_queued_bytes`](JoeBuilder::max_queued_bytes),
///   [`DEFAULT_MAX_QUEUED_BYTES`](crate::DEFAULT_MAX_QUEUED_BYTES), 4 MiB); one frame always fits, however
///   large. Past either bound its oldest entry is evicted, and the
///   subscribers that had not read it are ended with [`Error::Lagged`],
///   their replays dropped at once.
/// - **Segments.** A log keeps its entries in segments of at most 64
///   entries and 64 KiB past the first entry (one larger entry fills one
///   alone): the first of 4 entries, each next one twice what the last
///   held, up to a quarter of the capacity. A segment goes once no cursor
///   is in it, so on top of its bounds a log holds the entries already
///   read in its oldest segment.
/// - **A subscriber** of one topic that is idle (it read everything and
///   waits) costs 599 bytes: 479 on the heap (its waiter, its reader in
///   the log, its entry in Joe's registry) and 120 in its stream, as
///   `tests/memory.rs` counts them (it fails above 640). A subscriber of
///   several topics also holds the batch it took from the logs and has not
///   yielded yet: at most 64 frames and 64 KiB past the first.
/// - **A stalled subscriber** (one that stops reading) lets the logs of
///   its topics fill to their bounds, and is ended. From then on it keeps
///   alive, besides its own bytes, the segment each of its cursors is in
///   (one per topic: at most 64 frames and 64 KiB, or one larger frame),
///   until its stream is polled (it yields the lag error) or dropped: for
///   a server, until the connection's write timeout closes it. So memory
///   is bounded per topic, plus at most one segment per stalled subscriber
///   and topic until its write timeout.
/// - **Replays.** A resuming subscriber's replay waits for it as shared
///   frames (at most the history it missed) until it is read, and is
///   dropped at once if the subscriber lags. The
///   [replayer](JoeBuilder::replayer) keeps its own history: the last N
///   messages ([`FiniteReplayer`](crate::FiniteReplayer)), or those
///   younger than a TTL ([`ValidReplayer`](crate::ValidReplayer)).
///
/// [`Stats::queued_frames`] and [`Stats::queued_bytes`] count what the
/// logs hold unread and the replays, not the entries already read that
/// wait for their segment to go, nor a batch taken and not yielded.
#[derive(Clone)]
pub struct Joe {
    handle: Arc<Handle>,
}

/// Shared by the [`Joe`] clones but not by the subscriber streams, so that
/// dropping the last clone can shut down.
struct Handle(Arc<Inner>);

impl Drop for Handle {
    fn drop(&mut self) {
        self.0.shutdown();
    }
}

/// A publish's working buffers, kept per thread so that a steady publish
/// allocates nothing, without taking Joe's lock again to give them back.
#[derive(Default)]
struct Scratch {
    /// The waiters of the logs appended to, woken after the lock.
    woken: Vec<Waiters>,
    lagged: Vec<Owner>,
    /// The waiters of subscribers ended for lagging.
    ended: Vec<Arc<Waiter>>,
}

thread_local! {
    static SCRATCH: Cell<Scratch> = Cell::new(Scratch::default());
}

impl Joe {
    /// A Joe with the default queue capacity ([`DEFAULT_CAPACITY`](crate::DEFAULT_CAPACITY)) and no
    /// replayer: resuming subscribers get [`Resume::Lost`].
    pub fn new() -> Joe {
        Joe::builder().build()
    }

    /// A builder, to set the queue bounds and the replayer.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_joe::{FiniteReplayer, Joe};
    ///
    /// let joe = Joe::builder()
    ///     .capacity(1024)
    ///     .replayer(FiniteReplayer::new(1000).auto_ids(true))
    ///     .build();
    /// assert_eq!(joe.subscriber_count(), 0);
    /// ```
    pub fn builder() -> JoeBuilder {
        JoeBuilder::new()
    }

    /// The Joe a [`JoeBuilder`] describes.
    pub(crate) fn from_builder(
        capacity: usize,
        max_queued_bytes: usize,
        replayer: Option<Box<dyn Replayer>>,
    ) -> Joe {
        Joe {
            handle: Arc::new(Handle(Arc::new(Inner {
                has_replayer: replayer.is_some(),
                capacity,
                max_queued_bytes,
                state: Mutex::new(State {
                    closed: false,
                    replayer,
                    slots: Vec::new(),
                    free: Vec::new(),
                    by_topic: HashMap::new(),
                    every: None,
                    filtered: 0,
                    next_id: 0,
                    publish_seq: 0,
                    streams: 0,
                    receiving: 0,
                    published: 0,
                    delivered_gone: 0,
                    lagged_total: 0,
                    replays_exact: 0,
                    replays_lost: 0,
                }),
                idle: Arc::new(Log::new(capacity)),
                finished: AtomicU64::new(0),
                metrics: Metrics::new(),
            }))),
        }
    }

    /// The number of open subscriber streams: subscribed and not yet
    /// dropped. A stream that was ended (it lagged, or Joe shut down) counts
    /// until it is dropped, which for a server is until its connection
    /// closes; [`Stats::receiving`] counts only those still receiving.
    pub fn subscriber_count(&self) -> usize {
        self.inner().lock().streams
    }

    /// A snapshot of Joe's counters and queues.
    ///
    /// Takes Joe's lock and each log's lock in turn, so it costs
    /// O(subscribers): for a metrics scrape, not for every publish.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_codec::{Message, Subscription, Topic};
    /// use sse_joe::{Joe, Provider};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), sse_joe::Error> {
    /// let joe = Joe::new();
    /// let sub = joe.subscribe(Subscription::new([Topic::DEFAULT])).await?;
    /// joe.publish(Message::new().data("hi"), &[Topic::DEFAULT]).await?;
    /// let stats = joe.stats();
    /// assert_eq!((stats.subscribers, stats.published, stats.queued_bytes), (1, 1, 10));
    /// # drop(sub);
    /// # Ok(())
    /// # }
    /// ```
    pub fn stats(&self) -> Stats {
        let state = self.inner().lock();
        let mut stats = Stats {
            subscribers: state.streams,
            receiving: state.receiving,
            published: state.published,
            delivered: state.delivered_gone,
            lagged: state.lagged_total,
            replays_exact: state.replays_exact,
            replays_lost: state.replays_lost,
            ..Stats::default()
        };
        // A log's entries are shared by its subscribers: counted once.
        for log in state.by_topic.values().chain(&state.every) {
            let held = log.lock().held();
            stats.queued_frames += held.frames;
            stats.queued_bytes += held.bytes;
        }
        // Lagged subscribers keep their slot until their stream is dropped,
        // so what they still hold (nothing) is counted too.
        for entry in state.slots.iter().flatten() {
            stats.delivered += entry.waiter.delivered();
            let (frames, bytes) = entry.shared.replay_usage();
            stats.queued_frames += frames;
            stats.queued_bytes += bytes;
            let unread = unread(entry.logs.iter().map(|(_, log, reader)| (log, *reader)));
            stats.deepest_queue = stats.deepest_queue.max(frames + unread.frames);
        }
        stats
    }

    /// Whether [`shutdown`](Provider::shutdown) was called.
    pub fn is_closed(&self) -> bool {
        self.inner().lock().closed
    }

    /// The capacity of each topic's log, in frames.
    pub fn capacity(&self) -> usize {
        self.inner().capacity
    }

    /// The limit on the bytes each topic's log holds.
    pub fn max_queued_bytes(&self) -> usize {
        self.inner().max_queued_bytes
    }

    fn inner(&self) -> &Arc<Inner> {
        &self.handle.0
    }

    /// Publishes `message` to `topics`, routed by `routing` if given (a
    /// plain publish makes one only when a replayer or a filter needs it).
    fn publish_now(
        &self,
        mut message: Message,
        topics: &[Topic],
        routing: Option<Routing>,
    ) -> Result<(), Error> {
        let pre_encoded = (!self.inner().has_replayer).then(|| message.to_encoded());
        let mut guard = self.inner().lock();
        let state = &mut *guard;
        if state.closed {
            return Err(Error::Shutdown);
        }
        if let Some(replayer) = &mut state.replayer {
            match catch_unwind(AssertUnwindSafe(|| replayer.prepare(&mut message))) {
                Ok(result) => result?,
                Err(panic) => {
                    let replayer = state.replayer.take();
                    drop(guard);
                    return Err(replayer_panicked("prepare", panic, replayer));
                }
            }
        }
        // Encoded once, after the replayer set its ID; every log gets a
        // clone, which is a reference-count increment.
        let frame = pre_encoded.unwrap_or_else(|| message.to_encoded());
        // The routing, made once for the history and the logs whose
        // readers ask it; none for a plain publish that nobody asks about.
        let routing = routing.or_else(|| {
            (state.replayer.is_some() || state.filtered > 0).then(|| Routing::from(topics))
        });
        if let (Some(replayer), Some(routing)) = (&mut state.replayer, &routing) {
            let stored = catch_unwind(AssertUnwindSafe(|| {
                replayer.store(&message, &frame, routing)
            }));
            if let Err(panic) = stored {
                let replayer = state.replayer.take();
                drop(guard);
                return Err(replayer_panicked("store", panic, replayer));
            }
        }
        let mut scratch = SCRATCH.take();
        state.published += 1;
        state.publish_seq += 1;
        let seq = state.publish_seq;
        let bounds = self.inner().bounds();
        let entry = (seq, &frame, routing.as_ref());
        for (i, topic) in topics.iter().enumerate() {
            if topics[..i].contains(topic) {
                continue;
            }
            let Some(log) = state.by_topic.get(topic) else {
                continue;
            };
            let waiters = log.append(entry, bounds, &mut scratch.lagged, &mut scratch.ended);
            scratch.woken.extend(waiters);
        }
        if let Some(every) = &state.every {
            let waiters = every.append(entry, bounds, &mut scratch.lagged, &mut scratch.ended);
            scratch.woken.extend(waiters);
        }
        self.inner().finish(seq);
        let mut freed = Vec::new();
        let mut dropped = Vec::new();
        for owner in scratch.lagged.drain(..) {
            state.end_lagged(owner, &mut scratch.ended, &mut freed, &mut dropped);
        }
        // Wakers and logging run user code (an executor, a tracing layer
        // that may publish): never under the lock. Freeing a lagged
        // subscriber's replay is not, but it is work the others need not
        // wait for.
        drop(guard);
        drop(freed);
        wake_or_defer(&mut scratch.woken);
        for waiter in scratch.ended.drain(..) {
            waiter.wake(true);
        }
        SCRATCH.set(scratch);
        self.inner().metrics.published();
        if !dropped.is_empty() {
            self.inner().metrics.lagged(dropped.len());
        }
        let (capacity, max_bytes) = bounds;
        for id in dropped {
            tracing::warn!(
                subscriber = id,
                capacity,
                max_bytes,
                "slow subscriber disconnected"
            );
        }
        Ok(())
    }

    fn subscribe_now(&self, subscription: Subscription) -> Result<Subscribed<Subscriber>, Error> {
        let (mut selection, start) = subscription.split_start();
        selection.dedup_topics();
        let topics = selection.topics();
        let every = selection.is_every_topic();
        let filter = selection.get_filter().cloned();
        let mut replay = VecDeque::new();
        let mut cut = None;
        let mut guard = self.inner().lock();
        let state = &mut *guard;
        if state.closed {
            return Err(Error::Shutdown);
        }
        // The replay is cut and the subscriber registered under the lock
        // every publish takes: a racing publish is either in the replay or
        // read live, never both, never neither. The cut is walked after.
        let (resume, position) = match (&start, &mut state.replayer) {
            (Start::After(_) | Start::Earliest, None) => (Resume::Lost, None),
            (_, None) => (Resume::Fresh, None),
            (_, Some(replayer)) => {
                let replayed = catch_unwind(AssertUnwindSafe(|| {
                    let mut out = |frame| replay.push_back(frame);
                    crate::replayer::begin(&mut **replayer, &start, &selection, &mut cut, &mut out)
                }));
                match replayed {
                    Ok(started @ (Resume::Exact | Resume::Earliest, _)) => started,
                    Ok(started @ (Resume::Fresh, _)) if start == Start::Now => started,
                    // A lost resume's cut is dropped after the lock is
                    // released, below: dropping it may run the replayer's
                    // code.
                    Ok((_, position)) => {
                        replay.clear();
                        (Resume::Lost, position)
                    }
                    Err(panic) => {
                        let replayer = state.replayer.take();
                        drop(guard);
                        return Err(replayer_panicked("replay", panic, replayer));
                    }
                }
            }
        };
        match resume {
            Resume::Exact | Resume::Earliest => state.replays_exact += 1,
            Resume::Lost => state.replays_lost += 1,
            _ => {}
        }
        let id = state.next_id;
        state.next_id += 1;
        state.streams += 1;
        let mut replayed = replay.len();
        let shared = Arc::new(Shared::new(replay));
        let logs = if every { 1 } else { topics.len().max(1) };
        let waiter = Arc::new(Waiter::new(logs));
        let filtered = every || filter.is_some();
        let (slot, cursors) = state.insert(
            id,
            (&shared, &waiter),
            (topics, every, filtered),
            &self.inner().idle,
            self.inner().capacity,
        );
        drop(guard);
        let mut stream = Subscriber::new(
            Arc::clone(self.inner()),
            (shared, waiter),
            (cursors, filter),
            (slot, id),
        );
        if let Some(cut) = cut.filter(|_| resume != Resume::Lost) {
            let mut frames = VecDeque::new();
            let walked = catch_unwind(AssertUnwindSafe(|| {
                cut.walk(&mut |frame| frames.push_back(frame));
            }));
            if let Err(panic) = walked {
                drop(stream);
                let replayer = self.inner().lock().replayer.take();
                return Err(replayer_panicked("replay", panic, replayer));
            }
            replayed = frames.len();
            // Nothing is queued if the subscriber already lagged.
            stream.prepend(frames);
        }
        self.inner().metrics.subscribed(resume);
        tracing::debug!(
            subscriber = id,
            ?topics,
            ?start,
            ?resume,
            replayed,
            "subscribed"
        );
        Ok(Subscribed::new(stream, resume).at(position))
    }
}

impl Default for Joe {
    fn default() -> Joe {
        Joe::new()
    }
}

impl Provider for Joe {
    type Error = Error;
    type Stream = Subscriber;

    /// Subscribes, first replaying what the replayer holds after the
    /// subscription's last event ID, or all it holds for a subscription
    /// from the earliest (see [`Resume`]).
    ///
    /// # Errors
    ///
    /// [`Error::Shutdown`] after shutdown; [`Error::ReplayerPanicked`] if
    /// the replayer panicked during the replay (it is then disabled, and
    /// the next subscription gets [`Resume::Lost`]).
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: the returned future completes on its
    /// first poll, and if it is dropped before, nothing was subscribed.
    async fn subscribe(&self, subscription: Subscription) -> Result<Subscribed<Subscriber>, Error> {
        self.subscribe_now(subscription)
    }

    /// Publishes `message` to every subscriber of any of `topics`, once
    /// each, without waiting for any of them.
    ///
    /// # Errors
    ///
    /// [`Error::Shutdown`] after shutdown; [`Error::ExplicitId`] for a
    /// message with an ID when the replayer assigns them; whatever else the
    /// replayer's [`prepare`](Replayer::prepare) returns;
    /// [`Error::ReplayerPanicked`] if it panicked. On error nothing was
    /// delivered.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: the returned future completes on its
    /// first poll, and if it is dropped before, nothing was published.
    async fn publish(&self, message: Message, topics: &[Topic]) -> Result<(), Error> {
        self.publish_now(message, topics, None)
    }

    /// Publishes `message` routed by `routing`.
    ///
    /// # Errors
    ///
    /// As [`publish`](Provider::publish).
    async fn publish_routed(&self, message: Message, routing: Routing) -> Result<(), Error> {
        let topics = routing.clone();
        self.publish_now(message, topics.topics(), Some(routing))
    }

    /// Ends every subscriber's stream after the frames already queued for
    /// it; later `publish` and `subscribe` fail with [`Error::Shutdown`].
    /// Calling it again does nothing.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: the returned future completes on its
    /// first poll, and if it is dropped before, nothing was shut down.
    async fn shutdown(&self) {
        self.inner().shutdown();
    }
}

impl fmt::Debug for Joe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner().lock();
        f.debug_struct("Joe")
            .field("subscribers", &state.streams)
            .field("capacity", &self.inner().capacity)
            .field("max_queued_bytes", &self.inner().max_queued_bytes)
            .field("replayer", &state.replayer.is_some())
            .field("closed", &state.closed)
            .finish()
    }
}

/// Logs and drops a replayer that panicked (already taken out of the
/// state, so that Joe goes on without history), and the error to return.
/// Called after the lock is released: dropping the replayer and the panic
/// payload runs user code.
fn replayer_panicked(
    during: &str,
    panic: Box<dyn Any + Send>,
    replayer: Option<Box<dyn Replayer>>,
) -> Error {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload");
    tracing::error!(
        during,
        panic = message,
        "replayer panicked and was disabled"
    );
    drop(replayer);
    Error::ReplayerPanicked
}
