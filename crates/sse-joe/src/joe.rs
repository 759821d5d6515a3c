//! The broker: subscriber registry, fan-out, replay, shutdown.

use crate::{
    Error, Replayer, Stats,
    subscriber::{Freed, Pushed, Queue, Subscriber},
};
use sse_codec::{Encoded, Message, Provider, Resume, Start, Subscribed, Subscription, Topic};
use std::{
    any::Any,
    collections::{HashMap, VecDeque},
    fmt, mem,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    task::Waker,
};

/// The default capacity of a subscriber's queue: how many published frames
/// may wait for one subscriber before it is ended with
/// [`Error::Lagged`].
///
/// 256 absorbs bursts while a subscriber's response is written out, and
/// bounds a stalled subscriber to 256 queued frames (8 KiB of queue slots;
/// the frames themselves are shared with every other subscriber), or
/// [`DEFAULT_MAX_QUEUED_BYTES`], whichever comes first.
pub const DEFAULT_CAPACITY: usize = 256;

/// The default limit on the bytes of the frames waiting for one subscriber,
/// 4 MiB: the subscriber is ended with [`Error::Lagged`] when a frame would
/// take its queue past it. A queue always takes one frame when it is empty,
/// so a single event larger than the limit still reaches a subscriber that
/// keeps up.
///
/// With events up to 16 KiB the [capacity](DEFAULT_CAPACITY) binds first
/// (256 events of 16 KiB are 4 MiB); with larger ones this does, so that
/// large events cannot make 256 queued frames a large amount of memory.
/// The frames are shared with the other subscribers and the history, so
/// the bound is what one subscriber can keep alive after everyone else has
/// moved on, not what each one costs; and a subscriber that overflows
/// frees it at once.
pub const DEFAULT_MAX_QUEUED_BYTES: usize = 4 << 20;

/// An in-memory [`Provider`]: topics, fan-out to every subscriber, and
/// optional replay for resuming clients.
///
/// Cheap to clone: clones share the same subscribers. When the last clone
/// is dropped, Joe shuts down: with no one left to publish, every
/// subscriber's stream ends after its queued frames.
///
/// A publish encodes the message once and pushes the same [`Encoded`] (a
/// reference-counted clone) into the queue of every subscriber of any of
/// its topics, once per subscriber. It never waits: a subscriber whose
/// queue is full (in frames or in bytes) is ended with [`Error::Lagged`]
/// and what was queued for it is dropped at once (its client reconnects and
/// resumes from the replayer), and the publish goes on.
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

/// Configures a [`Joe`]; from [`Joe::builder`].
#[must_use]
pub struct JoeBuilder {
    capacity: usize,
    max_queued_bytes: usize,
    replayer: Option<Box<dyn Replayer>>,
}

pub(crate) struct Inner {
    state: Mutex<State>,
    capacity: usize,
    max_queued_bytes: usize,
    /// Whether a replayer was configured. Without one, a message can be
    /// encoded before taking the lock, shortening the critical section.
    has_replayer: bool,
}

struct State {
    closed: bool,
    replayer: Option<Box<dyn Replayer>>,
    /// Subscribers by slot; `None` slots are listed in `free`.
    slots: Vec<Option<Entry>>,
    free: Vec<usize>,
    /// The slots subscribed to each topic. A publish visits only the
    /// subscribers of its topics.
    by_topic: HashMap<Topic, Vec<usize>>,
    next_id: u64,
    /// Numbers publishes, so that a subscriber matched by several topics of
    /// one publish gets it once (its `stamp`), without a per-publish set.
    publish_seq: u64,
    /// Subscriber streams not yet dropped, registered or not.
    streams: usize,
    /// Subscribers registered for live messages.
    receiving: usize,
    /// The counters of [`Stats`].
    published: u64,
    delivered: u64,
    lagged_total: u64,
    replays_exact: u64,
    replays_lost: u64,
    /// Slots that overflowed during a publish; kept to reuse its buffer.
    lagged: Vec<usize>,
    /// The frames of the subscribers a publish dropped for lagging, freed
    /// after the lock is released.
    freed: Vec<Freed>,
    /// The subscribers a publish dropped for lagging, logged after the lock
    /// is released.
    dropped: Vec<u64>,
    /// The readers a publish woke, woken after the lock is released; kept
    /// to reuse its buffer.
    wakers: Vec<Waker>,
}

struct Entry {
    id: u64,
    queue: Arc<Queue>,
    /// Each topic, with this slot's index in that topic's `by_topic` list,
    /// so that removal is O(topics). Empty once detached.
    topics: Vec<(Topic, usize)>,
    /// Registered for live messages: not yet ended for lagging.
    receiving: bool,
    /// The last `publish_seq` pushed to this subscriber.
    stamp: u64,
}

impl Joe {
    /// A Joe with the default queue capacity ([`DEFAULT_CAPACITY`]) and no
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
        JoeBuilder {
            capacity: DEFAULT_CAPACITY,
            max_queued_bytes: DEFAULT_MAX_QUEUED_BYTES,
            replayer: None,
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
    /// Takes Joe's lock and each subscriber queue's lock in turn, so it
    /// costs O(subscribers): for a metrics scrape, not for every publish.
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
            delivered: state.delivered,
            lagged: state.lagged_total,
            replays_exact: state.replays_exact,
            replays_lost: state.replays_lost,
            ..Stats::default()
        };
        // Lagged subscribers keep their slot until their stream is dropped,
        // so what they still hold (nothing) is counted too.
        for entry in state.slots.iter().flatten() {
            let usage = entry.queue.usage();
            stats.queued_frames += usage.frames;
            stats.queued_bytes += usage.bytes;
            stats.deepest_queue = stats.deepest_queue.max(usage.frames);
        }
        stats
    }

    /// Whether [`shutdown`](Provider::shutdown) was called.
    pub fn is_closed(&self) -> bool {
        self.inner().lock().closed
    }

    /// The capacity of each subscriber's queue, in frames.
    pub fn capacity(&self) -> usize {
        self.inner().capacity
    }

    /// The limit on the bytes queued for one subscriber.
    pub fn max_queued_bytes(&self) -> usize {
        self.inner().max_queued_bytes
    }

    fn inner(&self) -> &Arc<Inner> {
        &self.handle.0
    }

    fn publish_now(&self, mut message: Message, topics: &[Topic]) -> Result<(), Error> {
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
        // Encoded once, after the replayer set its ID; every subscriber
        // gets a clone, which is a reference-count increment.
        let frame = pre_encoded.unwrap_or_else(|| message.to_encoded());
        if let Some(replayer) = &mut state.replayer {
            let stored = catch_unwind(AssertUnwindSafe(|| {
                replayer.store(&message, &frame, topics)
            }));
            if let Err(panic) = stored {
                let replayer = state.replayer.take();
                drop(guard);
                return Err(replayer_panicked("store", panic, replayer));
            }
        }
        state.fan_out(&frame, topics);
        let mut wakers = mem::take(&mut state.wakers);
        let dropped = mem::take(&mut state.dropped);
        let freed = mem::take(&mut state.freed);
        // Wakers and logging run user code (an executor, a tracing layer
        // that may publish): never under the lock. Freeing a lagged
        // subscriber's frames is not, but it is work the others need not
        // wait for.
        drop(guard);
        drop(freed);
        for waker in wakers.drain(..) {
            waker.wake();
        }
        for id in dropped {
            let (capacity, max_bytes) = (self.inner().capacity, self.inner().max_queued_bytes);
            tracing::warn!(
                subscriber = id,
                capacity,
                max_bytes,
                "slow subscriber disconnected"
            );
        }
        // Give the buffer back for the next publish, unless another publish
        // already brought its own.
        if wakers.capacity() > 0 {
            let mut state = self.inner().lock();
            if state.wakers.capacity() < wakers.capacity() {
                state.wakers = wakers;
            }
        }
        Ok(())
    }

    fn subscribe_now(&self, subscription: Subscription) -> Result<Subscribed<Subscriber>, Error> {
        let (mut topics, start) = subscription.into_parts();
        topics.sort_unstable();
        topics.dedup();
        let mut replay = VecDeque::new();
        let mut guard = self.inner().lock();
        let state = &mut *guard;
        if state.closed {
            return Err(Error::Shutdown);
        }
        // Replay and registration happen under the lock every publish
        // takes: a racing publish is either in the replay or queued live,
        // never both, never neither.
        let resume = match (&start, &mut state.replayer) {
            (Start::After(_) | Start::Earliest, None) => {
                state.replays_lost += 1;
                Resume::Lost
            }
            (Start::After(_) | Start::Earliest, Some(replayer)) => {
                let replayed = catch_unwind(AssertUnwindSafe(|| {
                    let mut out = |frame| replay.push_back(frame);
                    match &start {
                        Start::After(id) => replayer.replay(id, &topics, &mut out),
                        _ => replayer.replay_all(&topics, &mut out),
                    }
                }));
                match replayed {
                    Ok(resume @ (Resume::Exact | Resume::Earliest)) => {
                        state.replays_exact += 1;
                        resume
                    }
                    Ok(_) => {
                        state.replays_lost += 1;
                        replay.clear();
                        Resume::Lost
                    }
                    Err(panic) => {
                        let replayer = state.replayer.take();
                        drop(guard);
                        return Err(replayer_panicked("replay", panic, replayer));
                    }
                }
            }
            _ => Resume::Fresh,
        };
        let replayed = replay.len();
        let queue = Arc::new(Queue::new(
            self.inner().capacity,
            self.inner().max_queued_bytes,
            replay,
        ));
        let id = state.next_id;
        state.next_id += 1;
        state.streams += 1;
        let slot = state.insert(id, Arc::clone(&queue), &topics);
        drop(guard);
        tracing::debug!(
            subscriber = id,
            ?topics,
            ?start,
            ?resume,
            replayed,
            "subscribed"
        );
        Ok(Subscribed::new(
            Subscriber::new(queue, Arc::clone(self.inner()), slot, id),
            resume,
        ))
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
        self.publish_now(message, topics)
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

impl JoeBuilder {
    /// Sets how many frames may wait for one subscriber before it is ended
    /// with [`Error::Lagged`]; [`DEFAULT_CAPACITY`] by default.
    ///
    /// # Panics
    ///
    /// Panics if `capacity` is zero.
    pub fn capacity(mut self, capacity: usize) -> JoeBuilder {
        assert!(capacity > 0, "subscriber queue capacity must be at least 1");
        self.capacity = capacity;
        self
    }

    /// Sets how many bytes of frames may wait for one subscriber before it
    /// is ended with [`Error::Lagged`]; [`DEFAULT_MAX_QUEUED_BYTES`] by
    /// default. An empty queue always takes one frame, however large.
    ///
    /// # Panics
    ///
    /// Panics if `max_bytes` is zero.
    pub fn max_queued_bytes(mut self, max_bytes: usize) -> JoeBuilder {
        assert!(
            max_bytes > 0,
            "subscriber queue byte limit must be at least 1"
        );
        self.max_queued_bytes = max_bytes;
        self
    }

    /// Sets the replayer that keeps history for resuming subscribers. None
    /// by default.
    pub fn replayer(mut self, replayer: impl Replayer) -> JoeBuilder {
        self.replayer = Some(Box::new(replayer));
        self
    }

    /// Builds the Joe.
    pub fn build(self) -> Joe {
        Joe {
            handle: Arc::new(Handle(Arc::new(Inner {
                has_replayer: self.replayer.is_some(),
                capacity: self.capacity,
                max_queued_bytes: self.max_queued_bytes,
                state: Mutex::new(State {
                    closed: false,
                    replayer: self.replayer,
                    slots: Vec::new(),
                    free: Vec::new(),
                    by_topic: HashMap::new(),
                    next_id: 0,
                    publish_seq: 0,
                    streams: 0,
                    receiving: 0,
                    published: 0,
                    delivered: 0,
                    lagged_total: 0,
                    replays_exact: 0,
                    replays_lost: 0,
                    lagged: Vec::new(),
                    freed: Vec::new(),
                    dropped: Vec::new(),
                    wakers: Vec::new(),
                }),
            }))),
        }
    }
}

impl fmt::Debug for JoeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoeBuilder")
            .field("capacity", &self.capacity)
            .field("max_queued_bytes", &self.max_queued_bytes)
            .field("replayer", &self.replayer.is_some())
            .finish()
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Replayer panics are caught inside the lock, so it is not poisoned
        // by them; recover from anything else rather than fail every call.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn shutdown(&self) {
        let mut state = self.lock();
        if state.closed {
            return;
        }
        state.closed = true;
        let ended = state.receiving;
        state.receiving = 0;
        let mut wakers = Vec::new();
        for entry in state.slots.drain(..).flatten() {
            entry.queue.close(&mut wakers);
        }
        state.free.clear();
        state.by_topic.clear();
        // No publish or replay can follow: free the history now rather
        // than when the last stream is dropped.
        let replayer = state.replayer.take();
        drop(state);
        drop(replayer);
        for waker in wakers {
            waker.wake();
        }
        tracing::debug!(subscribers = ended, "shut down");
    }

    /// Removes a subscriber whose stream was dropped.
    pub(crate) fn unsubscribe(&self, slot: usize, id: u64) {
        let mut state = self.lock();
        state.streams -= 1;
        if state.remove(slot, id) {
            drop(state);
            tracing::debug!(subscriber = id, "unsubscribed");
        }
    }
}

impl State {
    fn insert(&mut self, id: u64, queue: Arc<Queue>, topics: &[Topic]) -> usize {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        let topics = topics
            .iter()
            .map(|topic| {
                let list = self.by_topic.entry(topic.clone()).or_default();
                list.push(slot);
                (topic.clone(), list.len() - 1)
            })
            .collect();
        self.slots[slot] = Some(Entry {
            id,
            queue,
            topics,
            receiving: true,
            stamp: 0,
        });
        self.receiving += 1;
        slot
    }

    /// Removes the subscriber `id` from `slot`, if it is still there.
    fn remove(&mut self, slot: usize, id: u64) -> bool {
        let here = self.slots.get(slot).and_then(Option::as_ref);
        if here.is_none_or(|entry| entry.id != id) {
            return false;
        }
        self.detach(slot);
        self.slots[slot] = None;
        self.free.push(slot);
        true
    }

    /// Stops delivering to the subscriber in `slot`: takes it out of the
    /// topic index, leaving its entry (and its queue, for the stats) until
    /// its stream is dropped.
    fn detach(&mut self, slot: usize) {
        let Some(entry) = self.slots[slot].as_mut() else {
            return;
        };
        if !mem::take(&mut entry.receiving) {
            return;
        }
        self.receiving -= 1;
        for (topic, index) in mem::take(&mut entry.topics) {
            let Some(list) = self.by_topic.get_mut(&topic) else {
                continue;
            };
            list.swap_remove(index);
            if let Some(&moved) = list.get(index) {
                // The last subscriber of the topic moved into `index`.
                if let Some(moved) = self.slots[moved].as_mut() {
                    for (t, i) in &mut moved.topics {
                        if *t == topic {
                            *i = index;
                        }
                    }
                }
            } else if list.is_empty() {
                self.by_topic.remove(&topic);
            }
        }
    }

    fn fan_out(&mut self, frame: &Encoded, topics: &[Topic]) {
        self.published += 1;
        self.publish_seq += 1;
        let seq = self.publish_seq;
        let mut lagged = mem::take(&mut self.lagged);
        for topic in topics {
            let Some(list) = self.by_topic.get(topic) else {
                continue;
            };
            for &slot in list {
                let Some(entry) = self.slots[slot].as_mut() else {
                    continue;
                };
                if entry.stamp == seq {
                    continue;
                }
                entry.stamp = seq;
                match entry.queue.push(frame, &mut self.wakers, &mut self.freed) {
                    Pushed::Queued => self.delivered += 1,
                    Pushed::Overflowed => lagged.push(slot),
                    Pushed::Closed => {}
                }
            }
        }
        for slot in lagged.drain(..) {
            if let Some(id) = self.slots[slot].as_ref().map(|entry| entry.id) {
                self.detach(slot);
                self.dropped.push(id);
                self.lagged_total += 1;
            }
        }
        self.lagged = lagged;
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
