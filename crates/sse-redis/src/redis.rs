//! The provider: publish with one script that runs `XADD`, one reader per
//! process fanning out through Joe, replay with `XRANGE` in pages.

use crate::{
    Error, Subscriber,
    entry::EntryId,
    reader::{self, Position, Reader},
    replay::REPLAYS,
    retention::{DEFAULT_RETENTION, Retention},
    script::Scripts,
    shared::{JoeConfig, Progress, Shared, State, lock},
};
use redis::{
    Client, IntoConnectionInfo, Value,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use sse_codec::{Message, Provider, Subscribed, Subscription, Topic};
use sse_joe::Stats;
use std::{
    fmt,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};
use tokio::{
    runtime,
    sync::{oneshot, watch},
};

/// The stream key unless configured: [`RedisBuilder::key`].
pub const DEFAULT_KEY: &str = "sse:events";

/// How long a command waits for Redis's answer unless configured:
/// [`RedisBuilder::response_timeout`].
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The most entries one replay reads unless configured:
/// [`RedisBuilder::max_replay`].
pub const DEFAULT_MAX_REPLAY: usize = 10_000;

/// A [`Provider`] on a Redis stream: several server processes share one
/// ordered history, and a client resumes on any of them.
///
/// - **Publish** is one command (a script that runs `XADD` on the stream),
///   whatever the number of processes and subscribers, trimming the stream
///   to the [`Retention`]. The event ID is made from the entry's ID and the
///   stream's epoch (see the crate docs), so IDs are unique and ordered
///   across every process.
/// - **Each process reads** the stream with one loop (a blocking `XREAD`,
///   then a read-only script for the entries), not one per subscriber,
///   and hands every entry to an in-process
///   [`Joe`], which fans it out with Joe's guarantees: a bounded log, a
///   slow subscriber ended (its client resumes), never waited on.
/// - **Subscribing with a last event ID** replays from Redis (`XRANGE` from
///   that entry to the last one this process has read, in pages of 500
///   entries, at most [`max_replay`](RedisBuilder::max_replay) in all),
///   then continues live, with no gap and no duplicate even while
///   publishes race it. The resume is [`Resume::Lost`] whenever the ID is
///   not in the retained history: trimmed, never written, from another
///   stream or another Redis, from before the stream was reset, or further
///   back than `max_replay` entries.
///
/// # Failures
///
/// - **A publish** that fails with [`Error::Redis`] stored nothing; one that
///   fails with [`Error::Unconfirmed`] (no answer within the
///   [response timeout](RedisBuilder::response_timeout), or the connection
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

/// Configures a [`Redis`]; from [`Redis::builder`].
#[must_use]
pub struct RedisBuilder {
    client: Result<Client, redis::RedisError>,
    runtime: Option<runtime::Handle>,
    key: String,
    retention: Retention,
    response_timeout: Duration,
    max_replay: usize,
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
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
            max_replay: DEFAULT_MAX_REPLAY,
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

    /// The epoch of the stream instance this process reads, the part of
    /// its event IDs after the colon. It changes when the stream is reset
    /// (see [`Error::Reset`]), once this process's reader has noticed.
    pub fn epoch(&self) -> String {
        self.shared().lock().epoch.to_string()
    }

    /// A snapshot of this process's fan-out (as [`Joe::stats`]; `published`
    /// counts the entries this process read) and of its resumes.
    ///
    /// [`Joe::stats`]: sse_joe::Joe::stats
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

    /// Sets how long a command waits for Redis's answer;
    /// [`DEFAULT_RESPONSE_TIMEOUT`] (5 s) by default.
    ///
    /// A publish that gets no answer in time fails with
    /// [`Error::Unconfirmed`]: it may have been stored. The reader's
    /// blocking reads wait this long past their own blocking time.
    ///
    /// # Panics
    ///
    /// Panics if `timeout` is zero.
    pub fn response_timeout(mut self, timeout: Duration) -> RedisBuilder {
        assert!(!timeout.is_zero(), "the response timeout must not be zero");
        self.response_timeout = timeout;
        self
    }

    /// Sets the most entries one replay reads; [`DEFAULT_MAX_REPLAY`]
    /// (10,000) by default.
    ///
    /// A replay holds its frames in the subscriber's queue until they are
    /// sent, so this bounds what one resume costs: at most this many frames
    /// (those of the subscriber's topics among the entries read), each as
    /// large as it was published, besides Joe's bounds for live frames. A
    /// resume from further back is [`Resume::Lost`], as if the entry had
    /// been trimmed; a subscription from the earliest replays the newest
    /// this many entries. With [`Retention::Last`]`(n)`, set it to at least
    /// `n` plus 100 (Redis trims whole nodes of up to 100 entries), so that
    /// every retained entry can be resumed from.
    ///
    /// # Panics
    ///
    /// Panics if `entries` is zero.
    ///
    /// [`Resume::Lost`]: sse_codec::Resume::Lost
    pub fn max_replay(mut self, entries: usize) -> RedisBuilder {
        assert!(entries > 0, "a replay must be able to hold an entry");
        self.max_replay = entries;
        self
    }

    /// Sets how many frames may wait for one subscriber of this process
    /// before it is ended ([`Joe`]'s log capacity).
    ///
    /// [`Joe`]: sse_joe::Joe
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
    /// [`Joe`]: sse_joe::Joe
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
    /// on threads of the provider's own.
    ///
    /// By default the provider starts two threads, each with a
    /// single-threaded Tokio runtime, stopped at shutdown: `sse-redis` for
    /// its reader and publishes, and `sse-redis-replay` for the replays'
    /// connection, whose answers (hundreds of entries each) would otherwise
    /// hold up the reader's and the publishes' behind them. A server that streams to many connections
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

    /// Connects, loads the scripts, reads the epoch of the stream's
    /// instance (starting one, an empty stream, if there is none) and its
    /// last entry, and starts this process's reader.
    ///
    /// # Errors
    ///
    /// [`Error::Redis`] if the URL is invalid, Redis cannot be reached, or
    /// the key holds something other than a stream (or its epoch key
    /// something other than an epoch).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped, no reader was started (the
    /// stream and its epoch may have been created, which is harmless).
    pub async fn build(self) -> Result<Redis, Error> {
        let client = self.client?;
        let (io, replay_io, io_threads) = match self.runtime {
            Some(runtime) => (runtime.clone(), runtime, Vec::new()),
            None => {
                let (io, stop) = io_thread("sse-redis").map_err(redis::RedisError::from)?;
                let (replay_io, replay_stop) =
                    io_thread("sse-redis-replay").map_err(redis::RedisError::from)?;
                (io, replay_io, vec![stop, replay_stop])
            }
        };
        let key = self.key.clone();
        let epoch_key = format!("{}:epoch", self.key);
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(self.response_timeout))
            .set_number_of_retries(2);
        let stopped = |_| {
            redis::RedisError::from((
                redis::ErrorKind::Io,
                "the runtime of the redis connections stopped",
            ))
        };
        // Each connection is made on the runtime its tasks are to run on.
        let conn = {
            let (client, manager) = (client.clone(), manager.clone());
            replay_io
                .spawn(async move { client.get_connection_manager_with_config(manager).await })
                .await
                .map_err(stopped)??
        };
        let response_timeout = self.response_timeout;
        let connected = io
            .spawn(async move {
                let mut publisher = client
                    .get_connection_manager_with_config(manager.clone())
                    .await?;
                // The reader's blocking read must outlast its own timeout.
                let reader_conn = client
                    .get_connection_manager_with_config(
                        manager.set_response_timeout(Some(reader::BLOCK + response_timeout)),
                    )
                    .await?;
                let scripts = Scripts::load(&mut publisher).await?;
                let epoch = scripts.instance(&mut publisher, &key, &epoch_key).await?;
                let (last, added) = position(&mut publisher, &key).await?;
                Ok::<_, Error>((publisher, reader_conn, scripts, epoch, last, added))
            })
            .await
            .map_err(stopped)?;
        let (publisher, reader_conn, scripts, epoch, last, added) = connected?;
        let (progress, _) = watch::channel(Progress {
            last,
            epoch: Arc::clone(&epoch),
            up: true,
        });
        let shared = Arc::new(Shared {
            epoch_key: format!("{}:epoch", self.key),
            key: self.key,
            retention: self.retention,
            max_replay: self.max_replay,
            scripts,
            conn,
            publisher,
            replays: tokio::sync::Semaphore::new(REPLAYS),
            order: tokio::sync::Mutex::new(()),
            state: Mutex::new(State {
                joe: self.joe.build(),
                end: Arc::new(OnceLock::new()),
                epoch: Arc::clone(&epoch),
                last,
                down: None,
                carried: Stats::default(),
            }),
            progress,
            closed: Arc::new(AtomicBool::new(false)),
            reader: Mutex::new(None),
            io_threads: Mutex::new(io_threads),
            joe: self.joe,
            replays_exact: AtomicU64::new(0),
            replays_lost: AtomicU64::new(0),
        });
        let reader = Reader {
            shared: Arc::clone(&shared),
            conn: reader_conn,
        };
        let at = Position { epoch, last, added };
        *lock(&shared.reader) = Some(io.spawn(reader.run(at)));
        Ok(Redis {
            handle: Arc::new(Handle(shared)),
        })
    }
}

/// A thread named `name` running a single-threaded runtime until the
/// returned sender is used or dropped.
fn io_thread(name: &str) -> std::io::Result<(runtime::Handle, oneshot::Sender<()>)> {
    let runtime = runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let handle = runtime.handle().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    std::thread::Builder::new()
        .name(name.into())
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
            .field("response_timeout", &self.response_timeout)
            .field("max_replay", &self.max_replay)
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
            .field("epoch", &shared.lock().epoch)
            .field("retention", &shared.retention)
            .field("reading", &self.is_reading())
            .field("closed", &shared.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// The ID of the stream's last entry ([`EntryId::ZERO`] if it has none),
/// and how many entries were ever added to the stream (`XINFO STREAM`'s
/// `entries-added`, unknown before Redis 7), read in one transaction.
async fn position(
    conn: &mut ConnectionManager,
    key: &str,
) -> Result<(EntryId, Option<u64>), Error> {
    let (last, info): (Value, Value) = redis::pipe()
        .atomic()
        .cmd("XREVRANGE")
        .arg(key)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .cmd("XINFO")
        .arg("STREAM")
        .arg(key)
        .query_async(conn)
        .await?;
    let last = match last {
        Value::Array(entries) => entries
            .first()
            .and_then(|entry| match entry {
                Value::Array(parts) => parts.first().and_then(EntryId::from_value),
                _ => None,
            })
            .unwrap_or(EntryId::ZERO),
        _ => EntryId::ZERO,
    };
    let fields: Vec<(Value, Value)> = match info {
        Value::Map(fields) => fields,
        Value::Array(flat) => {
            let mut flat = flat.into_iter();
            std::iter::from_fn(|| Some((flat.next()?, flat.next()?))).collect()
        }
        _ => Vec::new(),
    };
    let added = fields.into_iter().find_map(|(name, value)| {
        let named = match &name {
            Value::BulkString(name) => name.as_slice() == b"entries-added",
            Value::SimpleString(name) => name == "entries-added",
            _ => false,
        };
        match value {
            Value::Int(added) if named => u64::try_from(added).ok(),
            _ => None,
        }
    });
    Ok((last, added))
}

impl Provider for Redis {
    type Error = Error;
    type Stream = Subscriber;

    /// Subscribes; with a last event ID, first replays from the stream what
    /// was published after it to the subscription's topics; from the
    /// earliest, all the stream retains for them (its newest
    /// [`max_replay`](RedisBuilder::max_replay) entries at most).
    ///
    /// # Errors
    ///
    /// [`Error::Shutdown`] after shutdown; [`Error::Unavailable`] while this
    /// process's reader has lost Redis; [`Error::Redis`] if the replay
    /// cannot be read. If the process's streams end while the replay is
    /// read (the reader lost Redis, or found the stream reset or trimmed),
    /// or the new stream falls behind meanwhile, the error they end with:
    /// the replay could not be put before the live events.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped, the subscription (if it was
    /// made) is dropped with it.
    async fn subscribe(&self, subscription: Subscription) -> Result<Subscribed<Subscriber>, Error> {
        self.shared().subscribe(subscription).await
    }

    /// Publishes with one command (a script that runs `XADD`), and returns
    /// once Redis has stored the entry. Every process's reader (this one's
    /// included) then hands it to its subscribers when it reads it,
    /// typically within a millisecond: so unlike Joe's, a subscriber may
    /// get the message after `publish` returns.
    ///
    /// # Errors
    ///
    /// - [`Error::Shutdown`] after shutdown; [`Error::ExplicitId`] for a
    ///   message with an ID (Redis assigns them): nothing was sent.
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
