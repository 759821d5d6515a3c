//! Where a hub keeps its active subscriptions: the seam, and the store of
//! one process.

use super::ActiveSubscription;
use std::{
    collections::HashMap,
    fmt,
    future::{Future, ready},
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
};

/// A future a [`Presence`] returns, boxed so that a hub holds any presence
/// without a type parameter of its own.
pub type PresenceFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a hub keeps the active subscriptions that its web API lists (row
/// G5): those of this process ([`LocalPresence`], for a hub on Joe), or
/// those of every hub process sharing a Redis ([`RedisPresence`]).
///
/// A hub records a subscriber's subscriptions with
/// [`insert`](Presence::insert) when its stream opens and publishes their
/// start once the returned future is done; it
/// [`remove`](Presence::remove)s them when the stream ends and publishes
/// the end once that future is done. So a client that saw an event finds
/// the subscriptions as the event says, on any node.
///
/// # Cancel safety
///
/// [`insert`](Presence::insert) and [`remove`](Presence::remove) take
/// effect when called: dropping their futures only stops waiting for the
/// other processes. Dropping [`list`](Presence::list)'s changes nothing.
///
/// The methods are object-safe (boxed futures) because a
/// [`Hub`](crate::Hub) holds its presence as `dyn Presence`: the hub's
/// type stays `Hub<P>` whichever store it uses.
///
/// [`RedisPresence`]: crate::RedisPresence
///
/// # Examples
///
/// ```
/// use sse_hub::{ActiveSubscription, LocalPresence, Presence};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let presence = LocalPresence::new();
/// let subscription = ActiveSubscription::new("/books/{id}", "urn:uuid:1", None);
/// presence.insert(std::slice::from_ref(&subscription)).await;
/// assert_eq!(presence.list().await?, [subscription.clone()]);
/// presence.remove(&[subscription]).await;
/// assert!(presence.list().await?.is_empty());
/// # Ok::<(), sse_hub::PresenceError>(())
/// # }).unwrap();
/// ```
pub trait Presence: Send + Sync + 'static {
    /// Records `subscriptions`, which started on this process: this
    /// process's [`list`](Presence::list) has them as soon as this returns;
    /// the future is done once every process's has (or the store gave up,
    /// which it logs).
    fn insert(&self, subscriptions: &[ActiveSubscription]) -> PresenceFuture<'static, ()>;

    /// Forgets `subscriptions`, which ended on this process: at once here,
    /// everywhere once the future is done.
    fn remove(&self, subscriptions: &[ActiveSubscription]) -> PresenceFuture<'static, ()>;

    /// Every active subscription the store knows, of every process it
    /// covers, in no particular order.
    ///
    /// # Errors
    ///
    /// A [`PresenceError`] if the store cannot be read (a Redis that cannot
    /// be reached).
    fn list(&self) -> PresenceFuture<'_, Result<Vec<ActiveSubscription>, PresenceError>>;

    /// Called once by the hub made with this presence: the way to publish
    /// the events of subscriptions the store finds started or ended
    /// without this process's streams (those of a process that stopped
    /// without removing them). Does nothing by default.
    fn attach(&self, announcer: Announcer) {
        drop(announcer);
    }
}

/// How a [`Presence`] has its hub publish the start or end events of
/// subscriptions it found itself (see [`Presence::attach`]).
#[derive(Clone)]
pub struct Announcer {
    announce: Arc<dyn Fn(Vec<ActiveSubscription>, bool) + Send + Sync>,
}

impl Announcer {
    pub(crate) fn new(
        announce: impl Fn(Vec<ActiveSubscription>, bool) + Send + Sync + 'static,
    ) -> Self {
        Announcer {
            announce: Arc::new(announce),
        }
    }

    /// Has the hub publish that `subscriptions` started (`active`) or
    /// ended, in a task of its own; nothing if the hub is gone.
    pub fn announce(&self, subscriptions: Vec<ActiveSubscription>, active: bool) {
        if !subscriptions.is_empty() {
            (self.announce)(subscriptions, active);
        }
    }
}

impl fmt::Debug for Announcer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Announcer").finish_non_exhaustive()
    }
}

/// Why a [`Presence`] could not be read, or a store could not be set up.
#[derive(Debug)]
pub struct PresenceError {
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl PresenceError {
    pub(crate) fn new(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        PresenceError {
            source: source.into(),
        }
    }
}

impl fmt::Display for PresenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the store of active subscriptions failed")
    }
}

impl std::error::Error for PresenceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// The active subscriptions of this process, in memory: for a hub on Joe,
/// whose subscribers are all here. Cheap to clone; clones share the
/// subscriptions.
#[derive(Clone, Debug, Default)]
pub struct LocalPresence {
    subscriptions: Arc<Mutex<HashMap<String, ActiveSubscription>>>,
}

impl LocalPresence {
    /// An empty store.
    pub fn new() -> LocalPresence {
        LocalPresence::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ActiveSubscription>> {
        // A panic under the lock leaves a map, which is still one.
        self.subscriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Presence for LocalPresence {
    fn insert(&self, subscriptions: &[ActiveSubscription]) -> PresenceFuture<'static, ()> {
        let mut map = self.lock();
        for subscription in subscriptions {
            map.insert(subscription.id().to_owned(), subscription.clone());
        }
        Box::pin(ready(()))
    }

    fn remove(&self, subscriptions: &[ActiveSubscription]) -> PresenceFuture<'static, ()> {
        let mut map = self.lock();
        for subscription in subscriptions {
            map.remove(subscription.id());
        }
        Box::pin(ready(()))
    }

    fn list(&self) -> PresenceFuture<'_, Result<Vec<ActiveSubscription>, PresenceError>> {
        let subscriptions = self.lock().values().cloned().collect();
        Box::pin(ready(Ok(subscriptions)))
    }
}
