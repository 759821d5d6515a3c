//! The provider: publish with `XADD`, one reader per process fanning out
//! through Joe, replay with `XRANGE`.

use crate::{
    Error, Subscriber,
    entry::{self, Entry, EntryId},
    reader::{self, Reader},
};
use redis::{
    Client, IntoConnectionInfo, Value,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use sse_codec::{Message, Provider, Resume, Start, Subscribed, Subscription, Topic};
use sse_joe::{Joe, Stats};
use std::{
    fmt,
    hash::{BuildHasher, Hasher},
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tokio::{
    runtime,
    sync::{oneshot, watch},
};

/// The stream key unless configured: [`RedisBuilder::key`].
pub const DEFAULT_KEY: &str = "sse:events";

/// The history kept unless configured: about the last 1,000 entries.
pub const DEFAULT_RETENTION: Retention = Retention::Last(1000);

/// How long a resume waits for this process's reader to reach an entry that
/// a client saw through another process, before it reports the history
/// lost.
const CATCH_UP: Duration = Duration::from_secs(5);

/// How much history the stream keeps, trimmed by every publish. Redis trims
/// approximately (`~`): whole internal nodes at a time, so it keeps at
/// least what is asked and a little more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Retention {
    /// About the last `n` entries (`XADD ... MAXLEN ~ n`); like Joe's
    /// `FiniteReplayer`.
    Last(u64),
    /// The entries younger than this (`XADD ... MINID ~ <now - age>`), by
    /// the publishing process's clock (Redis numbers entries by its own
    /// clock: keep the two close); like Joe's `ValidReplayer`.
    Younger(Duration),
    /// Everything: the stream grows until something else trims it.
    All,
}

/// A [`Provider`] on a Redis stream: several server processes share one
/// ordered history, and a client resumes on any of them.
///
/// - **Publish** is one `XADD` to the stream, whatever the number of
///   processes and subscribers, trimming it to the [`Retention`]. The
///   event ID is made from the entry's ID (see the crate docs), so IDs are
///   unique and ordered across every process.
/// - **Each process reads** the stream with one `XREAD BLOCK` loop, not
///   one per subscriber, and hands every entry to an in-process
///   [`Joe`], which fans it out with Joe's guarantees: a bounded log, a
///   slow subscriber ended (its client resumes), never waited on.
/// - **Subscribing with a last event ID** replays from Redis (`XRANGE` from
///   that entry to the last one this process has read), then continues
///   live, with no gap and no duplicate even while publishes race it. The
///   resume is [`Resume::Lost`] whenever the ID is not in the retained
///   history: trimmed, never written, from another stream or another
///   Redis, or written before the data was flushed.
/// - **When Redis is unreachable**, a publish fails with
///   [`Error::Redis`]; the reader ends every live stream with
///   [`Error::Unavailable`] (clients reconnect), and subscribing fails the
///   same way until it reads again. Then it goes on from the last entry it
///   read, so a client that resumes loses nothing the history still holds.
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
#[derive(Clone)]
pub struct Redis {
    handle: Arc<Handle>,
}

/// Shared by the [`Redis`] clones only, so that dropping the last one shuts
/// down.
struct Handle(Arc<Shared>);

impl Drop for Handle {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// What the clones, the reader and the subscriber streams share.
pub(crate) struct Shared {
    pub(crate) key: String,
    pub(crate) epoch: String,
    retention: Retention,
    /// For publishes and replays; the reader has its own, since a blocking
    /// read would hold up every command behind it on a shared one.
    conn: ConnectionManager,
    /// Orders the reader's hand-over of entries to Joe against the
    /// registration of subscribers: a subscriber registers between two
    /// batches, so it gets every entry after `State::last` live and the
    /// rest from the replay.
    pub(crate) order: tokio::sync::Mutex<()>,
    pub(crate) state: Mutex<State>,
    /// The reader's progress, for resumes that wait for it.
    pub(crate) progress: watch::Sender<Progress>,
    pub(crate) closed: Arc<AtomicBool>,
    reader: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Stops the thread that runs the reader and the connections, when the
    /// provider has its own.
    io_thread: Mutex<Option<oneshot::Sender<()>>>,
    joe: JoeConfig,
    replays_exact: AtomicU64,
    replays_lost: AtomicU64,
}

/// The in-process fan-out, and where the reader is.
pub(crate) struct State {
    pub(crate) joe: Joe,
    /// The last entry handed to `joe`.
    pub(crate) last: EntryId,
    /// Why the reader is not reading, while it is not.
    pub(crate) down: Option<redis::RedisError>,
    /// The counters of the Joes that outages ended, so that stats go on.
    carried: Stats,
}

/// The reader's progress: the last entry handed to Joe, and whether it is
/// reading.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Progress {
    pub(crate) last: EntryId,
    pub(crate) up: bool,
}

#[derive(Clone, Copy, Debug)]
struct JoeConfig {
    capacity: usize,
    max_queued_bytes: usize,
}

impl JoeConfig {
    fn build(self) -> Joe {
        Joe::builder()
            .capacity(self.capacity)
            .max_queued_bytes(self.max_queued_bytes)
            .build()
    }
}

/// Configures a [`Redis`]; from [`Redis::builder`].
#[must_use]
pub struct RedisBuilder {
    client: Result<Client, redis::RedisError>,
    runtime: Option<runtime::Handle>,
    key: String,
    retention: Retention,
    joe: JoeConfig,
}

impl Redis {
    /// A provider on the stream [`DEFAULT_KEY`] at `url` (for example
    /// `redis://127.0.0.1:6379`), with the default configuration.
    ///
    /// # Errors
    ///
    /// [`Error::Redis`] if the URL is invalid or Redis cannot be reached.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped, nothing was started.
    pub async fn connect(url: &str) -> Result<Redis, Error> {
        Redis::builder(url).build().await
    }

    /// A builder for a provider on the Redis server `info` names (a URL,
    /// or a [`redis::ConnectionInfo`]).
    pub fn builder(info: impl IntoConnectionInfo) -> RedisBuilder {
        RedisBuilder {
            client: Client::open(info),
            runtime: None,
            key: DEFAULT_KEY.to_owned(),
            retention: DEFAULT_RETENTION,
            joe: JoeConfig {
                capacity: sse_joe::DEFAULT_CAPACITY,
                max_queued_bytes: sse_joe::DEFAULT_MAX_QUEUED_BYTES,
            },
        }
    }

    /// The stream's key.
    pub fn key(&self) -> &str {
        &self.shared().key
    }

    /// The stream's epoch, the part of every event ID after the colon.
    pub fn epoch(&self) -> &str {
        &self.shared().epoch
    }

    /// A snapshot of this process's fan-out (as [`Joe::stats`]; `published`
    /// counts the entries this process read) and of its resumes.
    pub fn stats(&self) -> Stats {
        let shared = self.shared();
        let state = shared.lock();
        let mut stats = state.joe.stats();
        stats.published += state.carried.published;
        stats.delivered += state.carried.delivered;
        stats.lagged += state.carried.lagged;
        stats.replays_exact = shared.replays_exact.load(Ordering::Relaxed);
        stats.replays_lost = shared.replays_lost.load(Ordering::Relaxed);
        stats
    }

    /// The number of open subscriber streams in this process.
    pub fn subscriber_count(&self) -> usize {
        self.shared().lock().joe.subscriber_count()
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

impl RedisBuilder {
    /// Sets the key of the Redis stream; [`DEFAULT_KEY`] by default.
    /// Processes that use the same key share the history and every event.
    ///
    /// One stream carries every topic: each entry lists its topics, and
    /// each process reads every entry and delivers it to its subscribers
    /// of those topics. So a subscriber of several topics resumes all of
    /// them from its one last event ID. The cost is that every process
    /// reads every event of the stream, whatever topics its clients want:
    /// past what one Redis instance carries for one key, or with
    /// many processes that each serve a few of many topics, split the
    /// topics over several keys (one provider each).
    pub fn key(mut self, key: impl Into<String>) -> RedisBuilder {
        self.key = key.into();
        self
    }

    /// Sets how much history the stream keeps; [`DEFAULT_RETENTION`] by
    /// default.
    pub fn retention(mut self, retention: Retention) -> RedisBuilder {
        self.retention = retention;
        self
    }

    /// Sets how many frames may wait for one subscriber of this process
    /// before it is ended ([`Joe`]'s log capacity).
    ///
    /// # Panics
    ///
    /// Panics if `capacity` is zero.
    pub fn capacity(mut self, capacity: usize) -> RedisBuilder {
        assert!(capacity > 0, "subscriber queue capacity must be at least 1");
        self.joe.capacity = capacity;
        self
    }

    /// Sets how many bytes may wait for one subscriber of this process
    /// before it is ended ([`Joe`]'s byte limit).
    ///
    /// # Panics
    ///
    /// Panics if `max_bytes` is zero.
    pub fn max_queued_bytes(mut self, max_bytes: usize) -> RedisBuilder {
        assert!(
            max_bytes > 0,
            "subscriber queue byte limit must be at least 1"
        );
        self.joe.max_queued_bytes = max_bytes;
        self
    }

    /// Runs the reader and the Redis connections on `runtime`, instead of
    /// on a thread of the provider's own.
    ///
    /// By default the provider starts one thread, `sse-redis`, with a
    /// single-threaded Tokio runtime for its reader and connections,
    /// stopped at shutdown. A server that streams to many connections
    /// keeps its runtime busy writing: after each event, every
    /// subscriber's response is woken, and a task queued behind them (the
    /// reader with the next events, a publish waiting for its answer)
    /// waits its turn, tens of milliseconds with a thousand connections on
    /// two busy cores. On a thread of their own, commands go out, answers
    /// come back and events are handed on at once; the price is that waking
    /// the responses from another thread costs a little more CPU. Give a
    /// runtime here to have no extra thread, for example in tests or when
    /// events are few.
    pub fn runtime(mut self, runtime: runtime::Handle) -> RedisBuilder {
        self.runtime = Some(runtime);
        self
    }

    /// Connects, reads the stream's epoch (creating it if it has none) and
    /// its last entry, and starts this process's reader.
    ///
    /// # Errors
    ///
    /// [`Error::Redis`] if the URL is invalid, Redis cannot be reached, or
    /// the key holds something other than a stream.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped, no reader was started (an
    /// epoch may have been created, which is harmless).
    pub async fn build(self) -> Result<Redis, Error> {
        let client = self.client?;
        let (io, io_thread) = match self.runtime {
            Some(runtime) => (runtime, None),
            None => {
                let (runtime, stop) = io_thread().map_err(redis::RedisError::from)?;
                (runtime, Some(stop))
            }
        };
        let key = self.key.clone();
        // Connected on the I/O runtime, so that the connections' own tasks
        // run there.
        let connected = io
            .spawn(async move {
                let manager = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(2)))
                    .set_response_timeout(Some(Duration::from_secs(5)))
                    .set_number_of_retries(2);
                let mut conn = client
                    .get_connection_manager_with_config(manager.clone())
                    .await?;
                // The reader's blocking read must outlast its own timeout.
                let reader_conn = client
                    .get_connection_manager_with_config(
                        manager.set_response_timeout(Some(reader::BLOCK + Duration::from_secs(5))),
                    )
                    .await?;
                let epoch = epoch(&mut conn, &key).await?;
                let last = last_entry(&mut conn, &key).await?;
                Ok::<_, Error>((conn, reader_conn, epoch, last))
            })
            .await
            .map_err(|_| {
                redis::RedisError::from((
                    redis::ErrorKind::Io,
                    "the runtime of the redis connections stopped",
                ))
            })?;
        let (conn, reader_conn, epoch, last) = connected?;
        let (progress, _) = watch::channel(Progress { last, up: true });
        let shared = Arc::new(Shared {
            key: self.key,
            epoch,
            retention: self.retention,
            conn,
            order: tokio::sync::Mutex::new(()),
            state: Mutex::new(State {
                joe: self.joe.build(),
                last,
                down: None,
                carried: Stats::default(),
            }),
            progress,
            closed: Arc::new(AtomicBool::new(false)),
            reader: Mutex::new(None),
            io_thread: Mutex::new(io_thread),
            joe: self.joe,
            replays_exact: AtomicU64::new(0),
            replays_lost: AtomicU64::new(0),
        });
        let reader = Reader {
            shared: Arc::clone(&shared),
            conn: reader_conn,
        };
        *lock(&shared.reader) = Some(io.spawn(reader.run(last)));
        Ok(Redis {
            handle: Arc::new(Handle(shared)),
        })
    }
}

/// A thread named `sse-redis` running a single-threaded runtime until the
/// returned sender is used or dropped.
fn io_thread() -> std::io::Result<(runtime::Handle, oneshot::Sender<()>)> {
    let runtime = runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let handle = runtime.handle().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("sse-redis".into())
        .spawn(move || {
            runtime.block_on(async {
                let _ = stopped.await;
            });
        })?;
    Ok((handle, stop))
}

impl fmt::Debug for RedisBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBuilder")
            .field("key", &self.key)
            .field("retention", &self.retention)
            .field("capacity", &self.joe.capacity)
            .field("max_queued_bytes", &self.joe.max_queued_bytes)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Redis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = self.shared();
        f.debug_struct("Redis")
            .field("key", &shared.key)
            .field("epoch", &shared.epoch)
            .field("retention", &shared.retention)
            .field("reading", &self.is_reading())
            .field("closed", &shared.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// The stream's epoch: created at random if the stream has none yet, read
/// otherwise, so that every process of a stream shares it.
async fn epoch(conn: &mut ConnectionManager, key: &str) -> Result<String, Error> {
    let key = format!("{key}:epoch");
    let candidate = format!("{:016x}", random_u64());
    let _: Value = redis::cmd("SET")
        .arg(&key)
        .arg(&candidate)
        .arg("NX")
        .query_async(conn)
        .await?;
    let epoch: Option<String> = redis::cmd("GET").arg(&key).query_async(conn).await?;
    match epoch {
        Some(epoch) if entry::is_epoch(epoch.as_bytes()) => Ok(epoch),
        _ => Err(Error::Redis(redis::RedisError::from((
            redis::ErrorKind::UnexpectedReturnType,
            "the stream's epoch key holds something else",
        )))),
    }
}

/// 64 random bits from the standard library's hasher keys, which it seeds
/// from the operating system.
fn random_u64() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    hasher.write_u128(nanos);
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// The ID of the stream's last entry, or [`EntryId::ZERO`] if it has none.
async fn last_entry(conn: &mut ConnectionManager, key: &str) -> Result<EntryId, Error> {
    let reply: Value = redis::cmd("XREVRANGE")
        .arg(key)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(conn)
        .await?;
    Ok(match reply {
        Value::Array(entries) => entries
            .first()
            .and_then(|entry| match entry {
                Value::Array(parts) => parts.first().and_then(EntryId::from_value),
                _ => None,
            })
            .unwrap_or(EntryId::ZERO),
        _ => EntryId::ZERO,
    })
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks; recover anyway.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Stops the reader and ends every stream; later calls fail.
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        if let Some(reader) = lock(&self.reader).take() {
            reader.abort();
        }
        // The thread's runtime, and the connections' tasks on it, end.
        drop(lock(&self.io_thread).take());
        self.progress.send_modify(|progress| progress.up = false);
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
                state.down = Some(error);
                let ended = std::mem::replace(&mut state.joe, self.joe.build());
                let stats = ended.stats();
                state.carried.published += stats.published;
                state.carried.delivered += stats.delivered;
                state.carried.lagged += stats.lagged;
                Some(ended)
            }
        };
        self.progress.send_modify(|progress| progress.up = false);
        if let Some(ended) = ended {
            ended.shutdown().await;
        }
    }

    async fn publish(&self, message: Message, topics: &[Topic]) -> Result<(), Error> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Shutdown);
        }
        if message.get_id().is_some() {
            return Err(Error::ExplicitId);
        }
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&self.key);
        match self.retention {
            Retention::Last(n) => {
                cmd.arg("MAXLEN").arg("~").arg(n);
            }
            Retention::Younger(age) => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                let oldest = now.saturating_sub(age).as_millis();
                cmd.arg("MINID").arg("~").arg(oldest.to_string());
            }
            Retention::All => {}
        }
        cmd.arg("*");
        for (name, value) in entry::fields(&message, topics, &self.epoch) {
            cmd.arg(name).arg(&value[..]);
        }
        let added: Value = cmd.query_async(&mut self.conn.clone()).await?;
        if EntryId::from_value(&added).is_none() {
            return Err(Error::Redis(redis::RedisError::from((
                redis::ErrorKind::UnexpectedReturnType,
                "XADD did not answer with an entry ID",
            ))));
        }
        Ok(())
    }

    async fn subscribe(&self, subscription: Subscription) -> Result<Subscribed<Subscriber>, Error> {
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
        if let Some(Some((id, _))) = from {
            self.catch_up(id).await?;
        }
        let (mut stream, upto) = {
            let _order = self.order.lock().await;
            let (joe, upto) = {
                let state = self.lock();
                if let Some(error) = &state.down {
                    return Err(Error::Unavailable(Some(error.clone())));
                }
                (state.joe.clone(), state.last)
            };
            let subscribed = joe
                .subscribe(Subscription::new(topics.iter().cloned()))
                .await
                .map_err(Error::from_joe)?;
            (subscribed.stream, upto)
        };
        let resume = match (from, &start) {
            (Some(None), _) => Resume::Lost,
            (Some(Some((id, epoch))), _) => {
                let replay = self.replay(id, epoch, upto, &topics).await?;
                match replay {
                    Some(frames) => {
                        stream.prepend(frames);
                        Resume::Exact
                    }
                    None => Resume::Lost,
                }
            }
            (None, Start::Earliest) => {
                stream.prepend(self.replay_all(upto, &topics).await?);
                Resume::Earliest
            }
            (None, _) => Resume::Fresh,
        };
        match resume {
            Resume::Exact | Resume::Earliest => self.replays_exact.fetch_add(1, Ordering::Relaxed),
            Resume::Lost => self.replays_lost.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
        Ok(Subscribed::new(
            Subscriber::new(stream, Arc::clone(&self.closed)),
            resume,
        ))
    }

    /// If a client resumes from an entry this process has not read yet (it
    /// read it through a process whose reader is ahead), waits, boundedly,
    /// for the reader to get there, when the entry exists.
    async fn catch_up(&self, id: EntryId) -> Result<(), Error> {
        if self.progress.borrow().last >= id {
            return Ok(());
        }
        let found: Value = redis::cmd("XRANGE")
            .arg(&self.key)
            .arg(id.to_string())
            .arg(id.to_string())
            .query_async(&mut self.conn.clone())
            .await?;
        if !matches!(&found, Value::Array(entries) if !entries.is_empty()) {
            return Ok(());
        }
        let mut progress = self.progress.subscribe();
        let reached = progress.wait_for(|progress| progress.last >= id || !progress.up);
        let _ = tokio::time::timeout(CATCH_UP, reached).await;
        Ok(())
    }

    /// The frames of every retained entry for `topics`, up to entry `upto`.
    async fn replay_all(
        &self,
        upto: EntryId,
        topics: &[Topic],
    ) -> Result<Vec<sse_codec::Encoded>, Error> {
        let reply: Value = redis::cmd("XRANGE")
            .arg(&self.key)
            .arg("-")
            .arg(upto.to_string())
            .query_async(&mut self.conn.clone())
            .await?;
        let Value::Array(entries) = reply else {
            return Ok(Vec::new());
        };
        Ok(entries
            .into_iter()
            .filter_map(|value| Entry::from_value(value, &self.epoch))
            .filter(|entry| entry.is_for(topics))
            .map(|entry| entry.message.to_encoded())
            .collect())
    }

    /// The frames published to `topics` after entry `from` up to entry
    /// `upto`, if `from` is still in the stream and was written with
    /// `epoch`; `None` if the history after `from` is lost.
    async fn replay(
        &self,
        from: EntryId,
        epoch: &str,
        upto: EntryId,
        topics: &[Topic],
    ) -> Result<Option<Vec<sse_codec::Encoded>>, Error> {
        if from > upto {
            // The reader never got there (see `catch_up`): what came
            // between is unknown here.
            return Ok(None);
        }
        // One command, so that trimming cannot fall between the check that
        // `from` is there and the entries after it: what Redis trims is
        // always the oldest.
        let reply: Value = redis::cmd("XRANGE")
            .arg(&self.key)
            .arg(from.to_string())
            .arg(upto.to_string())
            .query_async(&mut self.conn.clone())
            .await?;
        let Value::Array(entries) = reply else {
            return Ok(None);
        };
        let mut entries = entries
            .into_iter()
            .filter_map(|value| Entry::from_value(value, &self.epoch));
        match entries.next() {
            Some(first) if first.id == from && first.epoch(&self.epoch) == epoch => {}
            _ => return Ok(None),
        }
        Ok(Some(
            entries
                .filter(|entry| entry.is_for(topics))
                .map(|entry| entry.message.to_encoded())
                .collect(),
        ))
    }
}

impl Provider for Redis {
    type Error = Error;
    type Stream = Subscriber;

    /// Subscribes; with a last event ID, first replays from the stream what
    /// was published after it to the subscription's topics; from the
    /// earliest, all the stream retains for them.
    ///
    /// # Errors
    ///
    /// [`Error::Shutdown`] after shutdown; [`Error::Unavailable`] while this
    /// process's reader has lost Redis; [`Error::Redis`] if the replay
    /// cannot be read.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped, the subscription (if it was
    /// made) is dropped with it.
    async fn subscribe(&self, subscription: Subscription) -> Result<Subscribed<Subscriber>, Error> {
        self.shared().subscribe(subscription).await
    }

    /// Publishes with one `XADD`, and returns once Redis has stored the
    /// entry. Every process's reader (this one's included) then hands it to
    /// its subscribers when it reads it, typically within a millisecond:
    /// so unlike Joe's, a subscriber may get the message after `publish`
    /// returns.
    ///
    /// # Errors
    ///
    /// [`Error::Shutdown`] after shutdown; [`Error::ExplicitId`] for a
    /// message with an ID (Redis assigns them); [`Error::Redis`] if Redis
    /// cannot be reached or refuses the command, in which case nothing was
    /// stored.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: if the future is dropped after the command was
    /// sent, the message may or may not have been published.
    async fn publish(&self, message: Message, topics: &[Topic]) -> Result<(), Error> {
        self.shared().publish(message, topics).await
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
