//! The demo's provider, chosen at start: Joe in this process, or a Redis
//! stream shared with other demo processes. A provider that picks one of
//! two at run time is a small enum over the `Provider` seam.

use futures_util::Stream;
use sse::{
    Encoded, Message, Provider, Subscribed, Subscription, Topic,
    joe::{FiniteReplayer, Joe, Stats},
    redis::{Redis, Retention},
};
use std::{
    fmt,
    pin::Pin,
    task::{Context, Poll},
};

/// Joe, or Redis.
#[derive(Clone, Debug)]
pub enum Backend {
    /// In this process only.
    Joe(Joe),
    /// Shared through a Redis stream.
    Redis(Redis),
}

/// A [`Backend`]'s error.
#[derive(Debug)]
pub enum BackendError {
    /// Joe's.
    Joe(sse::joe::Error),
    /// Redis's.
    Redis(sse::redis::Error),
}

/// A [`Backend`]'s subscriber stream.
#[derive(Debug)]
pub enum BackendStream {
    /// Joe's.
    Joe(sse::joe::Subscriber),
    /// Redis's.
    Redis(sse::redis::Subscriber),
}

impl Backend {
    /// Joe, keeping the last `history` events.
    pub fn joe(history: usize) -> Backend {
        Backend::Joe(
            Joe::builder()
                .replayer(FiniteReplayer::new(history).auto_ids(true))
                .build(),
        )
    }

    /// The stream `sse-demo:events` of the Redis at `url`, keeping about
    /// the last `history` events.
    ///
    /// # Errors
    ///
    /// If Redis cannot be reached.
    pub async fn redis(url: &str, history: usize) -> Result<Backend, sse::redis::Error> {
        let redis = Redis::builder(url)
            .key("sse-demo:events")
            .retention(Retention::Last(history as u64))
            .build()
            .await?;
        Ok(Backend::Redis(redis))
    }

    /// This process's subscribers and counters.
    pub fn stats(&self) -> Stats {
        match self {
            Backend::Joe(joe) => joe.stats(),
            Backend::Redis(redis) => redis.stats(),
        }
    }
}

impl Provider for Backend {
    type Error = BackendError;
    type Stream = BackendStream;

    async fn subscribe(
        &self,
        subscription: Subscription,
    ) -> Result<Subscribed<BackendStream>, BackendError> {
        match self {
            Backend::Joe(joe) => joe
                .subscribe(subscription)
                .await
                .map(|s| s.map(BackendStream::Joe))
                .map_err(BackendError::Joe),
            Backend::Redis(redis) => redis
                .subscribe(subscription)
                .await
                .map(|s| s.map(BackendStream::Redis))
                .map_err(BackendError::Redis),
        }
    }

    async fn publish_routed(
        &self,
        message: Message,
        routing: sse::Routing,
    ) -> Result<(), BackendError> {
        match self {
            Backend::Joe(joe) => joe
                .publish_routed(message, routing)
                .await
                .map_err(BackendError::Joe),
            Backend::Redis(redis) => redis
                .publish_routed(message, routing)
                .await
                .map_err(BackendError::Redis),
        }
    }

    async fn publish(&self, message: Message, topics: &[Topic]) -> Result<(), BackendError> {
        match self {
            Backend::Joe(joe) => joe
                .publish(message, topics)
                .await
                .map_err(BackendError::Joe),
            Backend::Redis(redis) => redis
                .publish(message, topics)
                .await
                .map_err(BackendError::Redis),
        }
    }

    async fn shutdown(&self) {
        match self {
            Backend::Joe(joe) => joe.shutdown().await,
            Backend::Redis(redis) => redis.shutdown().await,
        }
    }
}

impl Stream for BackendStream {
    type Item = Result<Encoded, BackendError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.get_mut() {
            BackendStream::Joe(s) => Pin::new(s)
                .poll_next(cx)
                .map(|item| item.map(|r| r.map_err(BackendError::Joe))),
            BackendStream::Redis(s) => Pin::new(s)
                .poll_next(cx)
                .map(|item| item.map(|r| r.map_err(BackendError::Redis))),
        }
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendError::Joe(err) => fmt::Display::fmt(err, f),
            BackendError::Redis(err) => fmt::Display::fmt(err, f),
        }
    }
}

impl sse::ProviderError for BackendError {
    fn is_shutdown(&self) -> bool {
        match self {
            BackendError::Joe(err) => err.is_shutdown(),
            BackendError::Redis(err) => err.is_shutdown(),
        }
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BackendError::Joe(err) => err.source(),
            BackendError::Redis(err) => err.source(),
        }
    }
}
