//! The SSE endpoint: request -> session -> subscription -> streaming body.

use crate::{Body, History, Refusal, Session, events::Config, shutdown::Signal};
use http::{Request, Response, request::Parts};
use sse_codec::{Message, Provider, Subscription, Topic};
use std::{
    convert::Infallible,
    fmt,
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

/// The most bytes of a response that wait in the HTTP layer unwritten,
/// unless configured: [`Builder::max_unsent`]. 32 KiB: a few writes' worth
/// beyond the kernel's send buffer, so a reading client never waits for
/// it, while a client that stopped reading holds little.
pub const DEFAULT_MAX_UNSENT: usize = 32 * 1024;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What [`Builder::on_session`]'s hook decides: the topics to subscribe to,
/// or the response to send instead.
pub type SessionResult = Result<Vec<Topic>, Refusal>;

type Hook = dyn Fn(Parts) -> BoxFuture<SessionResult> + Send + Sync;

/// An SSE endpoint over a [`Provider`]: each request becomes a subscription
/// whose frames stream back as a `text/event-stream` response.
///
/// `Server` is a [`tower_service::Service`] for any `http::Request<B>` (the
/// request body is ignored), so it mounts in axum with `route_service`, in
/// hyper 1 through hyper-util, and in any tower stack. It is always ready
/// and cheap to clone: every clone shares one provider and configuration.
///
/// # The session
///
/// For each `GET` or `POST` request (EventSource sends `GET`; `POST` is for
/// clients that send a body, which the server does not read), the server
///
/// 1. reads the client's last event ID from the `Last-Event-ID` header, or,
///    if configured with [`Builder::last_event_id_query`], from a query
///    parameter (a non-empty header wins when both are present; an ID the
///    query cannot carry, with a NUL, CR or LF, is an ID no provider knows,
///    so the resume is reported lost). Where the server gives the history
///    on request or to new clients ([`Builder::history`]), the ID
///    [`EARLIEST`](crate::EARLIEST) asks for it; elsewhere it is an ID
///    like any other;
/// 2. asks the [`on_session`](Builder::on_session) hook for the topics (by
///    default every session subscribes to [`Topic::DEFAULT`]); a refusal
///    is sent as is, and no subscription is made;
/// 3. subscribes, replaying what the client missed, and answers `200 OK`
///    with the headers below.
///
/// If the provider cannot subscribe (for example it was shut down), or the
/// server was [shut down](Server::shutdown), the answer is still `200 OK`
/// with the event-stream headers, but its body ends at once (after the
/// `retry:` field, if configured): EventSource treats any other status as
/// final and never reconnects, while an ended stream makes it reconnect,
/// to this server once it is back or to another behind the same address.
///
/// `HEAD` gets the headers a `GET` would get (the hook runs, so a refusal
/// is the same) without subscribing, so without `sse-resume`. Other methods get `405 Method Not
/// Allowed` with an `allow` header.
///
/// # The response
///
/// - `content-type: text/event-stream`, `cache-control: no-cache`,
///   `x-accel-buffering: no` (so nginx does not buffer the stream);
/// - [`sse-resume`](crate::RESUME_HEADER): `fresh`, `exact`, `lost` or
///   `earliest`, from the provider's [`Resume`](sse_codec::Resume). `lost`
///   means the client's last event ID was unknown or too old: it missed
///   events that cannot be replayed and should refetch its state;
/// - first, if configured, a `retry:` field ([`Builder::retry`]);
/// - then the frames: a lone frame, or one over 2 KiB, handed to the HTTP
///   layer as it is, without a copy (a frame is shared by every subscriber
///   it goes to), small frames that are ready together joined into one
///   chunk of up to 8 KiB (hyper writes the chunks that are ready together
///   in one `writev`), with at most [`max_unsent`](Builder::max_unsent)
///   bytes waiting there unwritten, and, with a
///   [write delay](Builder::write_delay), held up to that long for more;
/// - a `: keep-alive` comment one [keep-alive interval](Builder::keep_alive)
///   after the response starts, and then one interval after whatever the
///   client last got, never while events flow.
///
/// The body ends cleanly when the provider ends the subscription (on
/// [`Provider::shutdown`], or with an error such as a subscriber dropped for
/// falling behind: the client then reconnects and resumes), or when
/// [`Server::shutdown`] is called. A client that goes away drops the body,
/// and with it the subscription, at once.
///
/// # Examples
///
/// ```
/// use sse_server::Server;
/// use sse_codec::{Message, Topic};
/// use sse_joe::Joe;
/// use tower_service::Service;
/// use http_body_util::BodyExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut server = Server::builder(Joe::new())
///     .on_session(|parts| async move {
///         match parts.uri.path() {
///             "/news" => Ok(vec![Topic::from("news")]),
///             _ => Err(http::StatusCode::NOT_FOUND.into()),
///         }
///     })
///     .build();
///
/// let request = http::Request::get("/news").body(())?;
/// let mut response = server.call(request).await?;
/// assert_eq!(response.headers()["content-type"], "text/event-stream");
///
/// server.publish(Message::new().data("hello"), &[Topic::from("news")]).await?;
/// let chunk = response.body_mut().frame().await.unwrap()?.into_data().unwrap();
/// assert_eq!(chunk, "data: hello\n\n");
/// # Ok(())
/// # }
/// ```
pub struct Server<P> {
    inner: Arc<Inner<P>>,
}

/// What the clones of a server share; its sessions are in `session.rs`.
pub(crate) struct Inner<P> {
    pub(crate) provider: P,
    pub(crate) on_session: Option<Box<Hook>>,
    pub(crate) last_event_id_query: Option<Box<str>>,
    pub(crate) history: History,
    pub(crate) config: Config,
    pub(crate) lost_history: Option<Message>,
    pub(crate) shutdown: Arc<Signal>,
    /// The event-stream bodies alive: see [`Server::open_streams`].
    pub(crate) open_streams: Arc<AtomicUsize>,
}

impl<P> Clone for Server<P> {
    fn clone(&self) -> Server<P> {
        Server {
            inner: self.inner.clone(),
        }
    }
}

impl<P: fmt::Debug> fmt::Debug for Server<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("provider", &self.inner.provider)
            .field("on_session", &self.inner.on_session.is_some())
            .field("last_event_id_query", &self.inner.last_event_id_query)
            .field("history", &self.inner.history)
            .field("keep_alive", &self.inner.config.keep_alive)
            .field("retry", &self.inner.config.retry)
            .field("shut_down", &self.inner.shutdown.is_fired())
            .finish()
    }
}

impl<P: Provider + Default> Default for Server<P> {
    /// A server over a default provider (for Joe, one without history),
    /// with the default configuration.
    fn default() -> Server<P> {
        Server::new(P::default())
    }
}

impl<P: Provider> Server<P> {
    /// A server with the default configuration: every session subscribes to
    /// [`Topic::DEFAULT`], keep-alive every [`DEFAULT_KEEP_ALIVE`](crate::DEFAULT_KEEP_ALIVE), no
    /// initial `retry:`.
    pub fn new(provider: P) -> Server<P> {
        Server::builder(provider).build()
    }

    /// Starts configuring a server over `provider`.
    pub fn builder(provider: P) -> Builder<P> {
        Builder {
            provider,
            on_session: None,
            last_event_id_query: None,
            history: History::Resumes,
            lost_history: None,
            config: Config {
                max_unsent: Some(DEFAULT_MAX_UNSENT),
                ..Config::default()
            },
        }
    }

    /// The provider the server subscribes and publishes through.
    pub fn provider(&self) -> &P {
        &self.inner.provider
    }

    /// Answers `request` with an event stream of `topics`, chosen by the
    /// caller: for a handler that picks the topics per request (a path
    /// segment, a room, a tenant) with its framework's extractors.
    ///
    /// Everything else is as for a request the server gets as a
    /// [`Service`](tower_service::Service): the last event ID, the
    /// history, the `retry:` and keep-alive, `HEAD` and `405`, shutdown.
    /// The [`on_session`](Builder::on_session) hook is not run: the
    /// handler has decided. The request body is not read.
    ///
    /// The future is `Send` and `'static` whatever the body type, and its
    /// response is one an axum handler can return as it is.
    ///
    /// # Examples
    ///
    /// A room's events at `/rooms/{room}/events`, in axum:
    ///
    /// ```
    /// use axum::{Router, extract::{Path, Request, State}, routing::get};
    /// use sse_codec::Topic;
    /// use sse_joe::Joe;
    /// use sse_server::{Body, Server};
    ///
    /// async fn room(
    ///     State(server): State<Server<Joe>>,
    ///     Path(room): Path<String>,
    ///     request: Request,
    /// ) -> http::Response<Body> {
    ///     server.respond(request, [Topic::from(format!("room/{room}"))]).await
    /// }
    ///
    /// let app: Router = Router::new()
    ///     .route("/rooms/{room}/events", get(room))
    ///     .with_state(Server::new(Joe::new()));
    /// # drop(app);
    /// ```
    pub fn respond<B>(
        &self,
        request: Request<B>,
        topics: impl IntoIterator<Item = Topic>,
    ) -> impl Future<Output = Response<Body>> + Send + 'static {
        self.respond_with(request, Session::new(Subscription::new(topics)))
    }

    /// Answers `request` as [`respond`](Server::respond) does, with the
    /// [`Session`] its handler chose: a subscription with a filter or to
    /// every topic (a hub's selectors and grants), a deadline, the
    /// position in a header.
    pub fn respond_with<B>(
        &self,
        request: Request<B>,
        session: Session,
    ) -> impl Future<Output = Response<Body>> + Send + 'static {
        let (parts, _) = request.into_parts();
        Arc::clone(&self.inner).respond_with(parts, session)
    }

    /// Publishes `message` to the subscribers of any of `topics`, through
    /// the provider ([`Provider::publish`]).
    ///
    /// # Errors
    ///
    /// The provider's error: for example it was shut down, or refused the
    /// message.
    ///
    /// # Cancel safety
    ///
    /// As cancel safe as the provider's `publish`: dropping the future may
    /// or may not have published the message.
    pub async fn publish(&self, message: Message, topics: &[Topic]) -> Result<(), P::Error> {
        self.inner.provider.publish(message, topics).await
    }

    /// Ends every open response of this server (and its clones) cleanly and
    /// answers later requests with a stream that ends at once, so that
    /// clients reconnect (to the next process, in a restart). The provider
    /// keeps running; to stop it too, call [`Provider::shutdown`].
    ///
    /// Use it for a graceful shutdown: streaming responses never finish on
    /// their own, so a hyper graceful shutdown waits for them until they are
    /// ended. Calling it twice is harmless.
    ///
    /// A body ends when the HTTP implementation next polls it, which it
    /// does once the connection has taken what was written before. A client
    /// that never reads never takes it: its connection stays open until
    /// the write timeout of [`ConnectionLimits`](crate::ConnectionLimits)
    /// closes it (without one, until the client goes away). So give a
    /// graceful shutdown a deadline of its own as well, as the examples
    /// do.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_server::Server;
    /// use sse_joe::Joe;
    /// use tower_service::Service;
    /// use http_body_util::BodyExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut server = Server::new(Joe::new());
    /// let mut response = server.call(http::Request::get("/").body(())?).await?;
    /// server.shutdown();
    /// assert!(response.body_mut().frame().await.is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub fn shutdown(&self) {
        self.inner.shutdown.fire();
    }

    /// The event streams of this server (and its clones) still open: from
    /// the response until the HTTP layer drops its body, which it does
    /// when the connection has taken the end of the stream, or is closed.
    ///
    /// Unlike a provider's count of subscribers, this includes a stream
    /// whose subscription ended (it fell behind, or the provider shut
    /// down) while its connection has not taken the end yet: a client that
    /// stopped reading holds its connection until the write timeout of
    /// [`ConnectionLimits`](crate::ConnectionLimits) closes it.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_server::Server;
    /// use sse_joe::Joe;
    /// use tower_service::Service;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut server = Server::new(Joe::new());
    /// let response = server.call(http::Request::get("/").body(())?).await?;
    /// assert_eq!(server.open_streams(), 1);
    /// drop(response);
    /// assert_eq!(server.open_streams(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn open_streams(&self) -> usize {
        self.inner.open_streams.load(Ordering::Relaxed)
    }

    /// Whether [`shutdown`](Server::shutdown) was called.
    pub fn is_shut_down(&self) -> bool {
        self.inner.shutdown.is_fired()
    }
}

/// Configures a [`Server`]; made by [`Server::builder`].
#[must_use]
pub struct Builder<P> {
    provider: P,
    on_session: Option<Box<Hook>>,
    last_event_id_query: Option<Box<str>>,
    history: History,
    config: Config,
    lost_history: Option<Message>,
}

impl<P: fmt::Debug> fmt::Debug for Builder<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("provider", &self.provider)
            .field("on_session", &self.on_session.is_some())
            .field("last_event_id_query", &self.last_event_id_query)
            .field("history", &self.history)
            .field("keep_alive", &self.config.keep_alive)
            .field("retry", &self.config.retry)
            .field("max_unsent", &self.config.max_unsent)
            .field("write_delay", &self.config.write_delay)
            .finish()
    }
}

impl<P: Provider> Builder<P> {
    /// Sets the hook that decides, for each request, which topics the
    /// session subscribes to, or refuses it with a response of its choosing
    /// (`401`, `403`, `404`, ...). Authentication and authorization go here.
    ///
    /// The hook gets the request's head (method, URI, headers, extensions)
    /// and returns a future, so it may look things up; a hook with nothing
    /// to wait for is just `|parts| async move { ... }`. A [`Refusal`] (made
    /// from a status, or from any `http::Response`, axum's included) is
    /// sent as it is, and no subscription is made. Without a hook, every
    /// session subscribes to [`Topic::DEFAULT`].
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_server::Server;
    /// use sse_joe::Joe;
    /// use sse_codec::Topic;
    ///
    /// let server = Server::builder(Joe::new())
    ///     .on_session(|parts| async move {
    ///         let Some(user) = parts.headers.get("x-user") else {
    ///             let refusal = http::Response::builder()
    ///                 .status(http::StatusCode::UNAUTHORIZED)
    ///                 .body(String::from("who are you?"))
    ///                 .unwrap();
    ///             return Err(refusal.into());
    ///         };
    ///         let user = user.to_str().unwrap_or_default();
    ///         Ok(vec![Topic::from("public"), Topic::from(format!("user/{user}"))])
    ///     })
    ///     .build();
    /// # drop(server);
    /// ```
    pub fn on_session<F, Fut>(mut self, hook: F) -> Builder<P>
    where
        F: Fn(Parts) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = SessionResult> + Send + 'static,
    {
        self.on_session = Some(Box::new(move |parts| Box::pin(hook(parts))));
        self
    }

    /// Also reads the last event ID from the query parameter `name` (for
    /// example `?lastEventId=42`), for clients that cannot set the
    /// `Last-Event-ID` header, such as a browser `EventSource` opened on a
    /// URL after a page reload. A non-empty header still wins when both are
    /// sent.
    pub fn last_event_id_query(mut self, name: impl Into<String>) -> Builder<P> {
        self.last_event_id_query = Some(name.into().into_boxed_str());
        self
    }

    /// Starts a client that sends no last event ID with everything the
    /// provider retains for its topics, instead of with live events only:
    /// a new browser tab then sees the recent history, a chat its recent
    /// messages. Off by default. The
    /// [`sse-resume`](crate::RESUME_HEADER) header says `earliest` (or
    /// `lost`, from a provider that keeps no history).
    ///
    /// [`History::ForNewClients`] for `true`, [`History::Resumes`] (the
    /// default) for `false`; see [`History`] for the whole table. With it
    /// on:
    ///
    /// - a client may ask for the history itself with the last event ID
    ///   [`EARLIEST`](crate::EARLIEST) (in the header, or the
    ///   [query parameter](Builder::last_event_id_query)); with it off,
    ///   `earliest` is an ID like any other, so an application may use it
    ///   as one of its own;
    /// - a client whose resume is lost (its last event ID is unknown or too
    ///   old) gets what a new client gets: after the
    ///   [lost-history message](Builder::lost_history_message), if any,
    ///   everything retained, then live events, so that a reloaded page
    ///   shows what a new tab shows. The header still says `lost`;
    /// - a client that resumes exactly gets what it missed, as always.
    pub fn history_for_new_clients(self, yes: bool) -> Builder<P> {
        self.history(if yes {
            History::ForNewClients
        } else {
            History::Resumes
        })
    }

    /// Sets which clients get everything the provider retains: see
    /// [`History`]. [`History::Resumes`] by default; a Mercure hub gives
    /// it [on request](History::OnRequest), a page that shows a feed
    /// [to new clients](History::ForNewClients) (as
    /// [`history_for_new_clients`](Builder::history_for_new_clients)
    /// does).
    pub fn history(mut self, history: History) -> Builder<P> {
        self.history = history;
        self
    }

    /// Sends `retry:` with this reconnection time at the start of every
    /// response, telling clients how long to wait before reconnecting.
    /// Unset by default (browsers then use their own, a few seconds).
    pub fn retry(mut self, retry: Duration) -> Builder<P> {
        self.config.retry = Some(retry);
        self
    }

    /// Sets the keep-alive interval: a `: keep-alive` comment is sent when no
    /// data was sent for this long, so that proxies and clients do not time
    /// out an idle stream. `None` disables it. Defaults to
    /// [`DEFAULT_KEEP_ALIVE`](crate::DEFAULT_KEEP_ALIVE).
    ///
    /// The first comment comes one interval after the response starts
    /// (the initial `retry:` does not count), and then each one interval
    /// after the last event or comment the client got.
    /// An interval longer than a year counts as a year.
    ///
    /// # Panics
    ///
    /// If the interval is zero.
    pub fn keep_alive(mut self, interval: Option<Duration>) -> Builder<P> {
        self.config.set_keep_alive(interval);
        self
    }

    /// Sets the most bytes of a response that may wait in the HTTP layer
    /// unwritten before the response stops taking frames from its
    /// subscription: [`DEFAULT_MAX_UNSENT`] unless set; `None` leaves the
    /// bound to the HTTP layer's own buffer.
    ///
    /// An HTTP implementation buffers what a response gives it until the
    /// connection takes it: hyper's HTTP/1 up to its `max_buf_size` (about
    /// 400 KiB by default, which `axum::serve` does not let you change),
    /// HTTP/2 up to the client's flow-control window (several MiB from a
    /// browser). For a client that stopped reading, that is memory held for
    /// nothing until the [write timeout](crate::ConnectionLimits) closes
    /// its connection. With this limit a response hands out at most this
    /// much (plus one frame) beyond what its connection took, whatever the
    /// HTTP layer's settings, and the frames the client has not taken stay
    /// in the provider, which bounds them and shares them between
    /// subscribers (Joe ends a subscriber that falls a whole log behind;
    /// its client resumes when it reads again).
    ///
    /// The response knows what was written by when the HTTP layer drops
    /// what it was given, which it does once it wrote it, in order. So:
    ///
    /// - an HTTP layer that copies chunks into a buffer of its own and
    ///   drops them at once (hyper's HTTP/1 on a connection that has no
    ///   vectored writes, such as some TLS streams) is bounded by that
    ///   buffer, not by this limit;
    /// - whatever keeps every chunk, such as a test that `collect()`s a
    ///   body, gets this much and then waits for ever: read such a body
    ///   frame by frame and drop each, or set `None`.
    ///
    /// # Panics
    ///
    /// If the limit is zero.
    pub fn max_unsent(mut self, bytes: Option<usize>) -> Builder<P> {
        self.config.set_max_unsent(bytes);
        self
    }

    /// Sets a write delay: a response that has an event ready waits up to
    /// this long for more before it hands them to the HTTP layer, so that a
    /// busy stream writes several events per system call instead of one.
    /// Off (`None`) by default.
    ///
    /// The trade-off: each event reaches its client up to this much later
    /// (and up to a millisecond more: tokio's timer rounds up to one),
    /// and in exchange a server whose clients each get many events a second
    /// makes fewer writes (each a system call, and on loopback or a busy
    /// network the kernel's work per packet), which is most of its time at
    /// high rates. While a response waits, it takes nothing from its
    /// subscription, so the provider does not wake it for each event (with
    /// many subscribers, those wake-ups are much of the rest): what came in
    /// the meantime, and the stream's end, are taken when the delay is
    /// over, in chunks of up to 8 KiB (or the [unsent
    /// limit](Builder::max_unsent)) that then go one after the other. In
    /// the README's load runs, with the server on a core of its own, 5 ms
    /// took 1,000 connections from at most 1,500 events a second with a
    /// p99 latency under 100 ms to 4,000, and at 2,000 events a second from
    /// 0.062 writes per delivered event to 0.038. A chunk that is ready
    /// whole goes at once, and what is held goes at once when the server
    /// [shuts down](Server::shutdown); keep-alive comments and the write
    /// timeout of [`ConnectionLimits`](crate::ConnectionLimits) are
    /// unchanged. A delay of zero is none; one longer than a year counts as
    /// a year.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use sse_joe::Joe;
    /// use sse_server::Server;
    ///
    /// let server = Server::builder(Joe::new())
    ///     .write_delay(Some(Duration::from_millis(5)))
    ///     .build();
    /// # drop(server);
    /// ```
    pub fn write_delay(mut self, delay: Option<Duration>) -> Builder<P> {
        self.config.set_write_delay(delay);
        self
    }

    /// Sends `message` first in every response whose resume was
    /// [`Resume::Lost`](sse_codec::Resume::Lost) (the client's last event ID is unknown or too old),
    /// so that a client that cannot read response headers, such as a
    /// browser's `EventSource`, learns that it missed events and should
    /// refetch its state. Off by default; the
    /// [`sse-resume: lost`](crate::RESUME_HEADER) header is always sent.
    ///
    /// The message is sent with an ID from which the client's next
    /// reconnect resumes exactly, instead of being told again that its
    /// history is lost. Where the retained history follows the signal
    /// (the server gives it on request, [`History`](crate::History)), the
    /// ID is [`EARLIEST`](crate::EARLIEST): a reconnect gets that history
    /// again, and each replayed event moves the client's ID on. Otherwise
    /// it is the ID of the newest event the provider retained when the
    /// client subscribed
    /// ([`Subscribed::position`](sse_codec::Subscribed::position)), or the
    /// message's own if none has one. That newest ID may be one of an
    /// update the client may not see (a private one, with filtered
    /// subscriptions): where IDs say something, give the history on
    /// request.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_codec::{EventType, Message};
    /// use sse_joe::Joe;
    /// use sse_server::Server;
    ///
    /// let server = Server::builder(Joe::new())
    ///     .lost_history_message(Message::new().event(EventType::from_static("lost")).data(""))
    ///     .build();
    /// # drop(server);
    /// ```
    pub fn lost_history_message(mut self, message: Message) -> Builder<P> {
        self.lost_history = Some(message);
        self
    }

    /// Builds the server.
    pub fn build(self) -> Server<P> {
        Server {
            inner: Arc::new(Inner {
                provider: self.provider,
                on_session: self.on_session,
                last_event_id_query: self.last_event_id_query,
                history: self.history,
                lost_history: self.lost_history,
                config: self.config,
                shutdown: Arc::new(Signal::default()),
                open_streams: Arc::default(),
            }),
        }
    }
}

impl<P: Provider, B> tower_service::Service<Request<B>> for Server<P> {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> ResponseFuture {
        // The request body is not read; dropping it here keeps `B` out of
        // the future, which must be `Send` whatever `B` is.
        let (parts, _) = request.into_parts();
        let inner = self.inner.clone();
        ResponseFuture {
            inner: Box::pin(async move { Ok(inner.respond(parts).await) }),
        }
    }
}

/// The future of a [`Server`]'s response: the session hook and the
/// subscription.
pub struct ResponseFuture {
    inner: BoxFuture<Result<Response<Body>, Infallible>>,
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseFuture")
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<Body>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}
