//! The active subscriptions of every hub process sharing a Redis.

use super::{
    ActiveSubscription,
    presence::{Announcer, Presence, PresenceError, PresenceFuture},
};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::{
    collections::HashMap,
    fmt,
    sync::{
        Arc, Mutex, OnceLock, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};
use tokio::sync::{Notify, watch};

/// How long a node that stopped writing stays listed unless configured
/// (see [`RedisPresenceBuilder::ttl`]): 10 s. A node writes every third of
/// it.
pub const DEFAULT_PRESENCE_TTL: Duration = Duration::from_secs(10);

/// The most dead nodes one write takes over: a few, so that a write stays
/// short; the next takes the others.
const REAP: usize = 8;

/// The write: `KEYS[1]` the nodes' deadlines, `KEYS[2]` this node's hash;
/// `ARGV[1]` the node, `ARGV[2]` the TTL in ms, `ARGV[3]` `1` to replace
/// the hash, `ARGV[4]` the prefix of the nodes' hashes, `ARGV[5]` the
/// most dead nodes to take, `ARGV[6]` the count `n` of fields to delete,
/// the `n` fields, then field/value pairs to set. Answers whether this
/// node was unknown (`1`: new, or taken for dead), and the values of the
/// dead nodes' hashes it took.
const WRITE: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local known = redis.call('ZSCORE', KEYS[1], ARGV[1])
if ARGV[3] == '1' then redis.call('DEL', KEYS[2]) end
local n = tonumber(ARGV[6])
-- unpack takes a few thousand values at most: in batches.
for from = 7, 6 + n, 1000 do
  redis.call('HDEL', KEYS[2], unpack(ARGV, from, math.min(from + 999, 6 + n)))
end
for from = 7 + n, #ARGV, 1000 do
  redis.call('HSET', KEYS[2], unpack(ARGV, from, math.min(from + 999, #ARGV)))
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
local taken = {}
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, tonumber(ARGV[5]))
for _, node in ipairs(dead) do
  redis.call('ZREM', KEYS[1], node)
  local hash = ARGV[4] .. node
  for _, value in ipairs(redis.call('HVALS', hash)) do taken[#taken + 1] = value end
  redis.call('DEL', hash)
end
local lost = 0
if not known then lost = 1 end
return {lost, taken}
";

/// The listing: `KEYS[1]` the nodes' deadlines; `ARGV[1]` the prefix of
/// the nodes' hashes, `ARGV[2]` this node (whose subscriptions it knows
/// itself). The values of every live node's hash.
const LIST: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local values = {}
for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')) do
  if node ~= ARGV[2] then
    for _, value in ipairs(redis.call('HVALS', ARGV[1] .. node)) do values[#values + 1] = value end
  end
end
return values
";

/// The leaving of a node without subscriptions: `KEYS[1]` the nodes'
/// deadlines, `KEYS[2]` its hash, `ARGV[1]` the node.
const LEAVE: &str = r"
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return 1
";

/// The active subscriptions of every hub process that shares a Redis and
/// a key: the [`Presence`] of hubs on [`sse_redis::Redis`]. Cheap to
/// clone; the last clone dropped stops its writes.
///
/// # How it is kept
///
/// Each process (a node, named by a random UUID) keeps its subscriptions
/// in a hash of its own, `<key>:node:<node>` (field: the subscription's
/// IRI; value: its selector, subscriber and payload in JSON), and its
/// deadline in the sorted set `<key>:nodes`, the score being Redis's clock
/// (`TIME`) plus the TTL when it last wrote. One script per write does all
/// of it: apply the changes since the last write, move the deadline on,
/// and take over the hashes of a few nodes whose deadline passed, whose
/// subscriptions the writer's hub then announces ended (each taken by one
/// node only). A node writes when its subscriptions change (those that
/// change during a write go together in the next) and otherwise every
/// third of the TTL.
///
/// A listing is one script too: the hashes of the nodes whose deadline has
/// not passed, and this node's own subscriptions from memory. So a node
/// that died drops out of every listing once its TTL is over, and its
/// subscriptions are announced ended by the next node that writes after
/// that. A node taken for dead (it could not write for longer than the
/// TTL) writes its subscriptions again once it can, and announces them
/// started again.
///
/// Recording a subscription costs a map insertion and a wake-up; the
/// futures of [`insert`](Presence::insert) and
/// [`remove`](Presence::remove) are done once their batch is written (or
/// after the TTL, if Redis cannot be reached). A hub that stops without
/// ending its subscribers' streams leaves its subscriptions to expire, and
/// another node announces their end.
///
/// The scripts name the other nodes' keys themselves, so the store needs a
/// single Redis (or a cluster where all its keys hash alike, through a key
/// in braces such as `{sse-hub}:subscriptions`).
///
/// # Examples
///
/// ```no_run
/// use sse_hub::RedisPresence;
/// use std::time::Duration;
///
/// # async fn run() -> Result<(), sse_hub::PresenceError> {
/// let presence = RedisPresence::builder("redis://127.0.0.1:6379")
///     .key("sse-hub:subscriptions")
///     .ttl(Duration::from_secs(10))
///     .build()
///     .await?;
/// # drop(presence);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisPresence {
    shared: Arc<Shared>,
    _handle: Arc<Handle>,
}

/// Configures a [`RedisPresence`]; from [`RedisPresence::builder`].
#[derive(Debug)]
#[must_use]
pub struct RedisPresenceBuilder {
    url: String,
    key: String,
    ttl: Duration,
}

struct Shared {
    node: String,
    /// `<key>:nodes`: each node's deadline.
    nodes: String,
    /// `<key>:node:`, before a node's name: its hash.
    hashes: String,
    /// This node's hash.
    hash: String,
    ttl: Duration,
    conn: ConnectionManager,
    state: Mutex<State>,
    wake: Notify,
    /// The generation of the last change written.
    written: watch::Sender<u64>,
    closed: AtomicBool,
    announcer: OnceLock<Announcer>,
}

#[derive(Default)]
struct State {
    /// This node's subscriptions, by IRI.
    subscriptions: HashMap<String, ActiveSubscription>,
    /// What changed since the last write: set, or deleted (`None`).
    changes: HashMap<String, Option<ActiveSubscription>>,
    /// Counts the changes.
    generation: u64,
    /// Whether the next write replaces the hash with every subscription:
    /// after a write whose outcome is unknown, or when the node was taken
    /// for dead.
    rewrite: bool,
    /// Whether the subscriptions are announced started again once
    /// rewritten: the node had been taken for dead, and their end
    /// announced.
    announce: bool,
}

/// Stops the writes when the last [`RedisPresence`] goes.
struct Handle(Arc<Shared>);

impl Drop for Handle {
    fn drop(&mut self) {
        self.0.closed.store(true, Ordering::Release);
        self.0.wake.notify_one();
    }
}

impl RedisPresence {
    /// Configures a presence on the Redis at `url` (as
    /// [`sse_redis::Redis::builder`] takes it).
    pub fn builder(url: impl Into<String>) -> RedisPresenceBuilder {
        RedisPresenceBuilder {
            url: url.into(),
            key: "sse-hub:subscriptions".to_owned(),
            ttl: DEFAULT_PRESENCE_TTL,
        }
    }

    /// This node's name, in the keys it writes.
    pub fn node(&self) -> &str {
        &self.shared.node
    }
}

impl RedisPresenceBuilder {
    /// The prefix of the keys, `sse-hub:subscriptions` unless set: every
    /// hub process whose subscriptions are listed together uses the same.
    pub fn key(mut self, key: impl Into<String>) -> RedisPresenceBuilder {
        self.key = key.into();
        self
    }

    /// How long a node that stopped writing (it died, or lost Redis) stays
    /// listed, [`DEFAULT_PRESENCE_TTL`] unless set; it writes every third
    /// of it, and one that cannot write for longer is taken for dead.
    ///
    /// # Panics
    ///
    /// If `ttl` is under 30 ms (a third of it is the time a write may
    /// take).
    pub fn ttl(mut self, ttl: Duration) -> RedisPresenceBuilder {
        assert!(
            ttl >= Duration::from_millis(30),
            "a presence TTL is at least 30 ms"
        );
        self.ttl = ttl;
        self
    }

    /// Connects, registers this node, and starts its writes (on the
    /// current Tokio runtime).
    ///
    /// # Errors
    ///
    /// A [`PresenceError`] if the URL is not one or Redis cannot be reached.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropped before it is done, no writes were started (the
    /// node may have been registered, without subscriptions).
    pub async fn build(self) -> Result<RedisPresence, PresenceError> {
        let client = redis::Client::open(self.url.as_str()).map_err(PresenceError::new)?;
        let beat = self.ttl / 3;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(beat.min(Duration::from_secs(2))))
            .set_response_timeout(Some(beat))
            .set_number_of_retries(1);
        let conn = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(PresenceError::new)?;
        let node = uuid::Uuid::new_v4().simple().to_string();
        let hashes = format!("{}:node:", self.key);
        let shared = Arc::new(Shared {
            hash: format!("{hashes}{node}"),
            nodes: format!("{}:nodes", self.key),
            hashes,
            node,
            ttl: self.ttl,
            conn,
            state: Mutex::new(State::default()),
            wake: Notify::new(),
            written: watch::Sender::new(0),
            closed: AtomicBool::new(false),
            announcer: OnceLock::new(),
        });
        // Registered, taking over no dead node: their subscriptions are
        // announced by writes, once the hub can announce.
        shared
            .script(true, &[], &[], 0)
            .await
            .map_err(PresenceError::new)?;
        tokio::spawn(Arc::clone(&shared).run());
        Ok(RedisPresence {
            _handle: Arc::new(Handle(Arc::clone(&shared))),
            shared,
        })
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Each change to the state is whole before anything can panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes when woken or every third of the TTL, until the presence is
    /// dropped.
    async fn run(self: Arc<Self>) {
        let beat = self.ttl / 3;
        loop {
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(beat) => {}
            }
            if self.closed.load(Ordering::Acquire) {
                self.leave().await;
                return;
            }
            self.write().await;
        }
    }

    /// One write: the changes since the last (or every subscription, when
    /// rewriting), the deadline, and the dead nodes taken over.
    async fn write(&self) {
        let (rewrite, announce, deleted, set, generation) = {
            let mut state = self.lock();
            let generation = state.generation;
            if state.rewrite {
                state.changes.clear();
                let set: Vec<_> = state.subscriptions.values().cloned().collect();
                (true, state.announce, Vec::new(), set, generation)
            } else {
                let (mut deleted, mut set) = (Vec::new(), Vec::new());
                for (id, change) in state.changes.drain() {
                    match change {
                        Some(subscription) => set.push(subscription),
                        None => deleted.push(id),
                    }
                }
                (false, false, deleted, set, generation)
            }
        };
        match self.script(rewrite, &deleted, &set, REAP).await {
            Ok((lost, taken)) => {
                if lost {
                    tracing::warn!(
                        node = self.node,
                        "this node was taken for dead (it could not reach Redis for longer \
                         than the presence TTL): its subscriptions are written and announced again"
                    );
                }
                if lost && !rewrite {
                    // What else the hash held was taken with it.
                    let mut state = self.lock();
                    state.rewrite = true;
                    state.announce = true;
                    drop(state);
                    self.wake.notify_one();
                } else {
                    if rewrite {
                        let mut state = self.lock();
                        state.rewrite = false;
                        state.announce = false;
                    }
                    if announce || lost {
                        self.announce(set, true);
                    }
                    self.written.send_replace(generation);
                }
                self.announce(taken, false);
            }
            Err(error) => {
                tracing::warn!(
                    error = &error as &dyn std::error::Error,
                    node = self.node,
                    "the active subscriptions could not be written to Redis: retrying"
                );
                // Whether the script ran is unknown: write everything next.
                self.lock().rewrite = true;
            }
        }
    }

    /// Runs [`WRITE`]: whether this node had been taken for dead, and the
    /// subscriptions of the dead nodes taken over.
    async fn script(
        &self,
        rewrite: bool,
        deleted: &[String],
        set: &[ActiveSubscription],
        reap: usize,
    ) -> Result<(bool, Vec<ActiveSubscription>), redis::RedisError> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(WRITE)
            .arg(2)
            .arg(&self.nodes)
            .arg(&self.hash)
            .arg(&self.node)
            .arg(u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX))
            .arg(u8::from(rewrite))
            .arg(&self.hashes)
            .arg(reap)
            .arg(deleted.len())
            .arg(deleted);
        for subscription in set {
            cmd.arg(subscription.id()).arg(subscription.to_stored());
        }
        let mut conn = self.conn.clone();
        let (lost, taken): (u8, Vec<Vec<u8>>) = cmd.query_async(&mut conn).await?;
        Ok((lost == 1, self.read(taken)))
    }

    /// The subscriptions in `values` that read back; any other is logged
    /// and skipped (another program's).
    fn read(&self, values: Vec<Vec<u8>>) -> Vec<ActiveSubscription> {
        values
            .iter()
            .filter_map(|value| match ActiveSubscription::from_stored(value) {
                Ok(subscription) => Some(subscription),
                Err(error) => {
                    tracing::warn!(
                        error = &error as &dyn std::error::Error,
                        key = self.hashes,
                        "a stored subscription that does not read: skipped"
                    );
                    None
                }
            })
            .collect()
    }

    fn announce(&self, subscriptions: Vec<ActiveSubscription>, active: bool) {
        if let Some(announcer) = self.announcer.get() {
            announcer.announce(subscriptions, active);
        }
    }

    /// The end of the writes: a node without subscriptions leaves at once;
    /// one that still has some (its hub went without ending them) is left
    /// to expire, so that another node announces their end.
    async fn leave(&self) {
        if !self.lock().subscriptions.is_empty() {
            return;
        }
        let mut conn = self.conn.clone();
        let left: Result<i64, _> = redis::cmd("EVAL")
            .arg(LEAVE)
            .arg(2)
            .arg(&self.nodes)
            .arg(&self.hash)
            .arg(&self.node)
            .query_async(&mut conn)
            .await;
        if let Err(error) = left {
            tracing::debug!(
                error = &error as &dyn std::error::Error,
                "the node's presence is left to expire"
            );
        }
    }

    /// Records `changes` and wakes the writer; the future is done once
    /// they are written, or after the TTL.
    fn change(
        &self,
        changes: impl Iterator<Item = (String, Option<ActiveSubscription>)>,
    ) -> PresenceFuture<'static, ()> {
        let generation = {
            let mut state = self.lock();
            for (id, change) in changes {
                match &change {
                    Some(subscription) => {
                        state.subscriptions.insert(id.clone(), subscription.clone())
                    }
                    None => state.subscriptions.remove(&id),
                };
                state.changes.insert(id, change);
            }
            state.generation += 1;
            state.generation
        };
        self.wake.notify_one();
        let mut written = self.written.subscribe();
        let ttl = self.ttl;
        Box::pin(async move {
            let done = written.wait_for(|written| *written >= generation);
            if tokio::time::timeout(ttl, done).await.is_err() {
                tracing::debug!("a change of the active subscriptions is not written yet");
            }
        })
    }
}

impl Presence for RedisPresence {
    fn insert(&self, subscriptions: &[ActiveSubscription]) -> PresenceFuture<'static, ()> {
        self.shared.change(
            subscriptions
                .iter()
                .map(|subscription| (subscription.id().to_owned(), Some(subscription.clone()))),
        )
    }

    fn remove(&self, subscriptions: &[ActiveSubscription]) -> PresenceFuture<'static, ()> {
        self.shared.change(
            subscriptions
                .iter()
                .map(|subscription| (subscription.id().to_owned(), None)),
        )
    }

    fn list(&self) -> PresenceFuture<'_, Result<Vec<ActiveSubscription>, PresenceError>> {
        Box::pin(async move {
            let shared = &*self.shared;
            let mut conn = shared.conn.clone();
            let values: Vec<Vec<u8>> = redis::cmd("EVAL")
                .arg(LIST)
                .arg(1)
                .arg(&shared.nodes)
                .arg(&shared.hashes)
                .arg(&shared.node)
                .query_async(&mut conn)
                .await
                .map_err(PresenceError::new)?;
            let mut subscriptions = shared.read(values);
            // This node's own, as they are now, written or not.
            subscriptions.extend(shared.lock().subscriptions.values().cloned());
            Ok(subscriptions)
        })
    }

    fn attach(&self, announcer: Announcer) {
        let _ = self.shared.announcer.set(announcer);
    }
}

impl fmt::Debug for RedisPresence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisPresence")
            .field("node", &self.shared.node)
            .field("nodes", &self.shared.nodes)
            .field("ttl", &self.shared.ttl)
            .finish_non_exhaustive()
    }
}
