//! [`Server`]: the SSE endpoint with the in-memory provider [`Joe`].

use crate::joe::Joe;
use core::{
    fmt,
    task::{Context, Poll},
};
use http::{Request, Response, request::Parts};
use sse_codec::{Message, Topic};
use sse_server::{Body, ResponseFuture, SessionResult};
use std::{future::Future, ops::Deref, time::Duration};

/// An SSE endpoint backed by the in-memory provider [`Joe`]: the batteries
/// included [`sse_server::Server`].
///
/// It is a [`tower_service::Service`] for any `http::Request<B>`, so it
/// mounts in axum with `route_service`, in hyper through hyper-util, and in
/// any tower stack. Cheap to clone; every clone publishes to the same
/// subscribers. Everything [`sse_server::Server`] offers (`publish`,
/// `shutdown`, `provider`) is available through `Deref`.
///
/// # Examples
///
/// ```
/// use sse::{Message, Server};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = Server::new();
/// let app: axum::Router = axum::Router::new().route_service("/events", server.clone());
/// # drop(app);
/// server.publish(Message::new().data("hello"), &[sse::Topic::DEFAULT]).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Server {
    inner: sse_server::Server<Joe>,
}

impl Server {
    /// A server over a default [`Joe`] (no replay history), every session
    /// subscribed to [`Topic::DEFAULT`].
    pub fn new() -> Server {
        Server::builder().build()
    }

    /// Configures a server over a default [`Joe`].
    pub fn builder() -> Builder {
        Server::builder_with(Joe::new())
    }

    /// Configures a server over `joe`, for example one with a replayer.
    pub fn builder_with(joe: Joe) -> Builder {
        Builder {
            inner: sse_server::Server::builder(joe),
        }
    }

    /// The provider.
    pub fn joe(&self) -> &Joe {
        self.inner.provider()
    }

    /// Publishes `message` to the subscribers of any of `topics`.
    ///
    /// # Errors
    ///
    /// As [`Joe`]'s publish: after Joe's shutdown (not this server's
    /// [`shutdown`](sse_server::Server::shutdown), which ends the responses
    /// and keeps Joe running), or when the replayer rejects the message.
    ///
    /// # Cancel safety
    ///
    /// Joe publishes without waiting, so the future completes on its first
    /// poll; dropping it before then publishes nothing.
    pub async fn publish(
        &self,
        message: Message,
        topics: &[Topic],
    ) -> Result<(), crate::joe::Error> {
        self.inner.publish(message, topics).await
    }

    /// The inner generic server.
    pub fn into_inner(self) -> sse_server::Server<Joe> {
        self.inner
    }
}

impl Default for Server {
    fn default() -> Server {
        Server::new()
    }
}

impl Deref for Server {
    type Target = sse_server::Server<Joe>;

    fn deref(&self) -> &sse_server::Server<Joe> {
        &self.inner
    }
}

impl From<sse_server::Server<Joe>> for Server {
    fn from(inner: sse_server::Server<Joe>) -> Server {
        Server { inner }
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl<B> tower_service::Service<Request<B>> for Server {
    type Response = Response<Body>;
    type Error = core::convert::Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        tower_service::Service::<Request<B>>::poll_ready(&mut self.inner, cx)
    }

    fn call(&mut self, request: Request<B>) -> ResponseFuture {
        self.inner.call(request)
    }
}

/// Configures a [`Server`]; see [`sse_server::Builder`] for each option.
#[must_use]
pub struct Builder {
    inner: sse_server::Builder<Joe>,
}

impl Builder {
    /// Decides per request which topics to subscribe to, or refuses it;
    /// see [`sse_server::Builder::on_session`].
    pub fn on_session<F, Fut>(self, hook: F) -> Builder
    where
        F: Fn(Parts) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = SessionResult> + Send + 'static,
    {
        Builder {
            inner: self.inner.on_session(hook),
        }
    }

    /// Also reads the last event ID from this query parameter; see
    /// [`sse_server::Builder::last_event_id_query`].
    pub fn last_event_id_query(self, name: impl Into<String>) -> Builder {
        Builder {
            inner: self.inner.last_event_id_query(name),
        }
    }

    /// Sends `retry:` at the start of every response; see
    /// [`sse_server::Builder::retry`].
    pub fn retry(self, retry: Duration) -> Builder {
        Builder {
            inner: self.inner.retry(retry),
        }
    }

    /// Sets or disables the keep-alive interval; see
    /// [`sse_server::Builder::keep_alive`].
    ///
    /// # Panics
    ///
    /// If the interval is zero.
    pub fn keep_alive(self, interval: Option<Duration>) -> Builder {
        Builder {
            inner: self.inner.keep_alive(interval),
        }
    }

    /// Sends `message` first when a client's history was lost; see
    /// [`sse_server::Builder::lost_history_message`].
    pub fn lost_history_message(self, message: Message) -> Builder {
        Builder {
            inner: self.inner.lost_history_message(message),
        }
    }

    /// Builds the server.
    pub fn build(self) -> Server {
        Server {
            inner: self.inner.build(),
        }
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}
