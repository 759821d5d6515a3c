//! The SSE endpoint: request -> session -> subscription -> streaming body.

use crate::{
    Body,
    body::{Chunk, Config, EventBody, Step, sealed::Item},
    headers,
    shutdown::{Listener, Signal},
};
use futures_core::Stream;
use http::{HeaderValue, Method, Request, Response, StatusCode, request::Parts};
use pin_project_lite::pin_project;
use sse_codec::{EventId, Frame, Message, Provider, Resume, Subscription, Topic};
use std::{
    convert::Infallible,
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

/// The keep-alive interval unless configured: short enough for common proxy
/// idle timeouts (often 30-60 s), long enough to cost nothing.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(15);

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What [`Builder::on_session`]'s hook decides: the topics to subscribe to,
/// or the response to send instead.
pub type SessionResult = Result<Vec<Topic>, Response<Body>>;

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
///    so the resume is reported lost);
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
/// - [`sse-resume`](crate::RESUME_HEADER): `fresh`, `exact` or `lost`, from
///   the provider's [`Resume`]. `lost` means the client's last event ID was
///   unknown or too old: it missed events that cannot be replayed and should
///   refetch its state;
/// - first, if configured, a `retry:` field ([`Builder::retry`]);
/// - then the frames, every frame that is ready at once coalesced into one
///   body chunk (one is started while it holds less than 64 KiB, so a chunk
///   is at most 64 KiB plus one frame);
/// - a `: keep-alive` comment whenever no data was sent for a whole
///   [keep-alive interval](Builder::keep_alive), never while events flow.
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
///             _ => Err(http::Response::builder()
///                 .status(404)
///                 .body(sse_server::Body::empty())
///                 .unwrap()),
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

struct Inner<P> {
    provider: P,
    on_session: Option<Box<Hook>>,
    last_event_id_query: Option<Box<str>>,
    config: Config,
    lost_history: Option<Frame>,
    shutdown: Arc<Signal>,
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
            .field("keep_alive", &self.inner.config.keep_alive)
            .field("retry", &self.inner.config.retry)
            .field("shut_down", &self.inner.shutdown.is_fired())
            .finish()
    }
}

impl<P: Provider> Server<P> {
    /// A server with the default configuration: every session subscribes to
    /// [`Topic::DEFAULT`], keep-alive every [`DEFAULT_KEEP_ALIVE`], no
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
            lost_history: None,
            config: Config::default(),
        }
    }

    /// The provider the server subscribes and publishes through.
    pub fn provider(&self) -> &P {
        &self.inner.provider
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

    /// Whether [`shutdown`](Server::shutdown) was called.
    pub fn is_shut_down(&self) -> bool {
        self.inner.shutdown.is_fired()
    }
}

impl<P: Provider> Inner<P> {
    async fn respond(self: Arc<Self>, parts: Parts) -> Response<Body> {
        let head_only = match parts.method {
            Method::GET | Method::POST => false,
            Method::HEAD => true,
            _ => return method_not_allowed(),
        };
        if self.shutdown.is_fired() {
            return self.ended();
        }
        let last_event_id = self.last_event_id(&parts);
        let topics = match &self.on_session {
            Some(hook) => match hook(parts).await {
                Ok(topics) => topics,
                Err(refusal) => return refusal,
            },
            None => vec![Topic::DEFAULT],
        };
        if head_only {
            return headers::event_stream(Body::empty());
        }
        let subscription = Subscription {
            topics,
            last_event_id,
        };
        let subscribed = match self.provider.subscribe(subscription).await {
            Ok(subscribed) => subscribed,
            Err(error) => {
                tracing::warn!(error = &error as &dyn std::error::Error, "cannot subscribe");
                return self.ended();
            }
        };
        // The server may have shut down while the hook or the subscription
        // was awaited: answer as any later request is answered.
        if self.shutdown.is_fired() {
            return self.ended();
        }
        let resume = match subscribed.resume {
            Resume::Fresh => Some(headers::FRESH),
            Resume::Exact => Some(headers::EXACT),
            Resume::Lost => Some(headers::LOST),
            _ => None,
        };
        let stream = EndOnError {
            stream: subscribed.stream,
        };
        let listener = Listener::new(self.shutdown.clone());
        let mut body = EventBody::new(stream, self.config, Some(listener));
        if let (Resume::Lost, Some(lost)) = (subscribed.resume, &self.lost_history) {
            body = body.lead_with(lost.as_bytes().clone());
        }
        let body = Body::events(body);
        let mut response = headers::event_stream(body);
        if let Some(resume) = resume {
            response
                .headers_mut()
                .insert(headers::RESUME, HeaderValue::from_static(resume));
        }
        response
    }

    fn last_event_id(&self, parts: &Parts) -> Option<EventId> {
        // An empty header is no ID (a client sends none then), so the query
        // parameter may still give one.
        if let Some(value) = parts
            .headers
            .get(headers::LAST_EVENT_ID)
            .filter(|value| !value.is_empty())
        {
            // Browsers send the ID as UTF-8, which `HeaderValue::to_str`
            // (visible ASCII only) would reject. Invalid UTF-8 becomes
            // U+FFFD: an ID no provider knows, so the resume is reported
            // lost rather than silently fresh.
            return usable_id(&String::from_utf8_lossy(value.as_bytes()));
        }
        let name = self.last_event_id_query.as_deref()?;
        let query = parts.uri.query()?;
        query_param(query, name).and_then(|id| usable_id(&id))
    }

    /// The answer when no subscription can be served: a stream that ends at
    /// once, after the `retry:` field if configured, so that clients
    /// reconnect.
    fn ended(&self) -> Response<Body> {
        let body = match self.config.retry {
            Some(retry) => Body::from(Message::new().retry(retry).to_bytes()),
            None => Body::empty(),
        };
        headers::event_stream(body)
    }
}

/// The client's ID as an [`EventId`], `None` if empty. A NUL, CR or LF
/// (possible only in a percent-encoded query) becomes U+FFFD, like invalid
/// UTF-8: the client was resuming, from an ID no provider knows, so it is
/// told its history was lost rather than served as a fresh client.
fn usable_id(id: &str) -> Option<EventId> {
    if id.is_empty() {
        return None;
    }
    if let Ok(id) = EventId::try_from(id) {
        return Some(id);
    }
    let replaced: String = id
        .chars()
        .map(|c| match c {
            '\0' | '\r' | '\n' => char::REPLACEMENT_CHARACTER,
            c => c,
        })
        .collect();
    EventId::try_from(replaced).ok()
}

fn method_not_allowed() -> Response<Body> {
    let mut response = status(StatusCode::METHOD_NOT_ALLOWED);
    response.headers_mut().insert(
        http::header::ALLOW,
        HeaderValue::from_static("GET, HEAD, POST"),
    );
    response
}

fn status(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// The first value of query parameter `name`, decoded as
/// `application/x-www-form-urlencoded` (`+` is a space, `%XX` a byte).
fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (form_decode(key) == name).then(|| form_decode(value))
    })
}

fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes.get(i..i + 3) {
            Some([b'%', hi, lo]) => hex(*hi).zip(hex(*lo)),
            _ => None,
        };
        match (bytes[i], escaped) {
            (_, Some((hi, lo))) => {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
            (b'+', None) => out.push(b' '),
            (b, None) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Configures a [`Server`]; made by [`Server::builder`].
#[must_use]
pub struct Builder<P> {
    provider: P,
    on_session: Option<Box<Hook>>,
    last_event_id_query: Option<Box<str>>,
    config: Config,
    lost_history: Option<Frame>,
}

impl<P: fmt::Debug> fmt::Debug for Builder<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("provider", &self.provider)
            .field("on_session", &self.on_session.is_some())
            .field("last_event_id_query", &self.last_event_id_query)
            .field("keep_alive", &self.config.keep_alive)
            .field("retry", &self.config.retry)
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
    /// to wait for is just `|parts| async move { ... }`. A refusal is sent
    /// as it is, and no subscription is made. Without a hook, every session
    /// subscribes to [`Topic::DEFAULT`].
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_server::{Body, Server};
    /// use sse_joe::Joe;
    /// use sse_codec::Topic;
    ///
    /// let server = Server::builder(Joe::new())
    ///     .on_session(|parts| async move {
    ///         let Some(user) = parts.headers.get("x-user") else {
    ///             let refusal = http::Response::builder()
    ///                 .status(http::StatusCode::UNAUTHORIZED)
    ///                 .body(Body::from("who are you?"))
    ///                 .unwrap();
    ///             return Err(refusal);
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
    /// [`DEFAULT_KEEP_ALIVE`].
    ///
    /// The timer is not reset for every event (that would put a timer
    /// update on the per-event path); instead an interval in which data was
    /// sent skips its keep-alive. So an idle stream gets its first comment
    /// between one and two intervals after its last event, then one every
    /// interval.
    ///
    /// # Panics
    ///
    /// If the interval is zero.
    pub fn keep_alive(mut self, interval: Option<Duration>) -> Builder<P> {
        self.config.set_keep_alive(interval);
        self
    }

    /// Sends `message` first in every response whose resume was
    /// [`Resume::Lost`] (the client's last event ID is unknown or too old),
    /// so that a client that cannot read response headers, such as a
    /// browser's `EventSource`, learns that it missed events and should
    /// refetch its state. Off by default; the
    /// [`sse-resume: lost`](crate::RESUME_HEADER) header is always sent.
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
        self.lost_history = Some(message.to_frame());
        self
    }

    /// Builds the server.
    pub fn build(self) -> Server<P> {
        Server {
            inner: Arc::new(Inner {
                provider: self.provider,
                on_session: self.on_session,
                last_event_id_query: self.last_event_id_query,
                lost_history: self.lost_history,
                config: self.config,
                shutdown: Arc::new(Signal::default()),
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

pin_project! {
    /// A provider's subscriber stream, whose error ends the body cleanly:
    /// the client reconnects and resumes, which is the contract's remedy.
    struct EndOnError<S> {
        #[pin]
        stream: S,
    }
}

impl<S, E> Stream for EndOnError<S>
where
    S: Stream<Item = Result<Frame, E>>,
    E: std::error::Error + 'static,
{
    type Item = Subscribed<E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Subscribed<E>>> {
        self.project()
            .stream
            .poll_next(cx)
            .map(|item| item.map(Subscribed))
    }
}

/// An item of a provider's stream.
struct Subscribed<E>(Result<Frame, E>);

impl<E: std::error::Error + 'static> Item for Subscribed<E> {
    fn add_to(self, chunk: &mut Chunk) -> Step {
        match self.0 {
            Ok(frame) => frame.add_to(chunk),
            Err(error) => {
                tracing::debug!(
                    error = &error as &dyn std::error::Error,
                    "provider ended a subscription"
                );
                Step::End
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_param_is_form_decoded() {
        assert_eq!(
            query_param("a=1&lastEventId=4%202+x", "lastEventId").as_deref(),
            Some("4 2 x")
        );
        assert_eq!(
            query_param("lastEventId", "lastEventId").as_deref(),
            Some("")
        );
        assert_eq!(query_param("x=%zz%4", "x").as_deref(), Some("%zz%4"));
        assert_eq!(query_param("a=1", "b"), None);
        assert_eq!(query_param("l%61st=7&last=8", "last").as_deref(), Some("7"));
    }
}
