//! Configuring and starting a provider: its connections, the threads they
//! run on, the stream's instance and last entry, and its reader.

use crate::{
    Error,
    entry::{Entry, EntryId},
    reader::{self, Position, Reader},
    redis::{Handle, Redis},
    replay::REPLAYS,
    retention::{DEFAULT_RETENTION, Retention},
    script::Scripts,
    shared::{JoeConfig, Progress, Shared, State, lock},
};
use redis::{
    Client, IntoConnectionInfo, Value,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use sse_codec::EventId;
use sse_joe::Stats;
use std::{
    fmt,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicBool, AtomicU64, AtomicUsize},
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

/// Configures a [`Redis`]; from [`Redis::builder`].
#[must_use]
pub struct RedisBuilder {
    client: Result<Client, redis::RedisError>,
    runtime: Option<runtime::Handle>,
    key: String,
    retention: Retention,
    response_timeout: Duration,
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
            joe: JoeConfig {
                capacity: sse_joe::DEFAULT_CAPACITY,
                max_queued_bytes: sse_joe::DEFAULT_MAX_QUEUED_BYTES,
            },
        }
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
    /// before it is ended ([`Joe`]'s byte limit); also the most bytes of
    /// frames one page of a replay holds past its first frame (see
    /// [`Subscriber`](crate::Subscriber)).
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
                let (last, added) = position(&mut publisher, &key, &epoch).await?;
                Ok::<_, Error>((publisher, reader_conn, scripts, epoch, last, added))
            })
            .await
            .map_err(stopped)?;
        let (publisher, reader_conn, scripts, epoch, (last, last_id), added) = connected?;
        let (progress, _) = watch::channel(Progress {
            last,
            epoch: Arc::clone(&epoch),
            up: true,
        });
        let shared = Arc::new(Shared {
            epoch_key: format!("{}:epoch", self.key),
            key: self.key,
            retention: self.retention,
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
                last_id,
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
            streams: AtomicUsize::new(0),
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
            .field("capacity", &self.joe.capacity)
            .field("max_queued_bytes", &self.joe.max_queued_bytes)
            .finish_non_exhaustive()
    }
}

/// The ID of the stream's last entry ([`EntryId::ZERO`] if it has none)
/// and its event ID (the stream's instance being `epoch`), and how many
/// entries were ever added to the stream (`XINFO STREAM`'s
/// `entries-added`, unknown before Redis 7), read in one transaction.
async fn position(
    conn: &mut ConnectionManager,
    key: &str,
    epoch: &str,
) -> Result<((EntryId, Option<EventId>), Option<u64>), Error> {
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
            .into_iter()
            .next()
            .and_then(|entry| Entry::from_value(entry, epoch))
            .map_or((EntryId::ZERO, None), |entry| {
                (entry.id, entry.message.get_id().cloned())
            }),
        _ => (EntryId::ZERO, None),
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
