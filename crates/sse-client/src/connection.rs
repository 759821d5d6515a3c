//! The reconnecting connection: the spec's EventSource processing model as
//! a `Stream`.

use crate::{
    Client, Error, Events, Open, Retrying, Update,
    decode::{Decoded, Decoder},
    error::Refused,
    retry::{Reconnect, Wait, parse_retry_after},
};
use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use reqwest::{
    Request, Response, StatusCode,
    header::{
        ACCEPT, CACHE_CONTROL, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER,
    },
};
use sse_codec::EventId;
use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Waker},
    time::{Duration, SystemTime},
};
use tokio::time::{Instant, Sleep};

/// At most this many bytes of a refused response's body are kept in the
/// error ([`Error::body`]).
pub const BODY_EXCERPT_LIMIT: usize = 4096;

/// How long reading a refused response's body excerpt may take at most, so
/// that a server that never ends it cannot stall the connection. The idle
/// timeout applies too, when shorter.
const BODY_EXCERPT_TIMEOUT: Duration = Duration::from_secs(5);

static LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

type ResponseFuture = Pin<Box<dyn Future<Output = reqwest::Result<Response>> + Send>>;
type BodyStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;
type ExcerptFuture = Pin<Box<dyn Future<Output = Bytes> + Send>>;

/// A reconnecting event stream: the HTML standard's `EventSource`, as a
/// [`Stream`] of [`Update`]s.
///
/// Made by [`Client::get`] or [`Client::connect`]; nothing is sent until it
/// is polled. It follows the spec's processing model:
///
/// - 200 OK with `text/event-stream` opens the connection
///   ([`Update::Open`]), then its events follow.
/// - 204 No Content ends it for good ([`Update::Closed`], no error).
/// - Any other status, or another content type, fails it: the error is the
///   last item, unless the client retries 5xx or 429 (see
///   [`ClientBuilder::retry_server_errors`](crate::ClientBuilder::retry_server_errors)).
/// - A body that ends, cleanly or not, and a network error, reconnect
///   after the reconnection time ([`Update::Retrying`]): the server's
///   `retry` time, grown by the backoff policy on repeated failures, reset
///   once a stream is served (an event or a comment arrived). An event cut
///   off by the disconnection is not dispatched. Every reconnection sends
///   `Last-Event-ID` once the stream set an ID (none after the stream set
///   an empty one).
/// - When the retries run out (the backoff policy gives up, the maximum
///   retries are used, or the next wait would pass the maximum elapsed
///   time), the last item is an error for which
///   [`Error::is_retries_exhausted`] holds.
///
/// Every `Err` item ends the stream, except one for which
/// [`Error::is_event_too_large`] holds: that event was skipped and the
/// stream goes on.
///
/// Dropping the connection closes it; [`close_handle`](Connection::close_handle)
/// closes it from elsewhere. It needs a Tokio runtime (for its timers) when
/// polled.
///
/// # Cancel safety
///
/// Polling is cancel safe: if a `next()` future is dropped before it
/// completes (a losing branch of `tokio::select!`), no update is lost and
/// the connection goes on from where it was at the next poll.
///
/// # Examples
///
/// ```no_run
/// use futures_util::StreamExt;
/// use sse_client::{Client, Update};
///
/// # async fn run() -> Result<(), sse_client::Error> {
/// let mut connection = Client::new().get("http://127.0.0.1:8080/events");
/// while let Some(update) = connection.next().await {
///     match update? {
///         Update::Open(open) => println!("open: {}", open.status()),
///         Update::Event(event) => println!("{}: {}", event.event_type(), event.data()),
///         Update::Retrying(retry) => println!("reconnecting in {:?}", retry.delay()),
///         Update::Closed => println!("closed"),
///         _ => {}
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct Connection {
    client: Client,
    /// The request to send again on each attempt; `None` once a request
    /// whose body cannot be cloned has been sent.
    request: Option<Request>,
    /// An error to report before anything else (the request could not be
    /// built).
    failed: Option<Error>,
    state: State,
    reconnect: Reconnect,
    /// The spec's "last event ID string", kept across responses.
    last_event_id: EventId,
    /// The idle timeout, then the reconnection delay; made on first use, so
    /// that a connection can be made outside a runtime.
    timer: Option<Pin<Box<Sleep>>>,
    /// When the idle timeout elapses, pushed forward by every chunk without
    /// touching the timer; the timer catches up when it fires.
    idle_deadline: Option<Instant>,
    close: Arc<CloseShared>,
    /// Whether the first request was sent.
    started: bool,
}

enum State {
    /// About to send a request.
    Start,
    /// Waiting for the response headers.
    Connecting(ResponseFuture),
    /// Reading the start of a refused response's body for the error.
    Refusing {
        excerpt: ExcerptFuture,
        status: StatusCode,
        headers: HeaderMap,
    },
    /// Reading events.
    Streaming {
        body: BodyStream,
        decoder: Box<Decoder>,
    },
    /// Waiting out the reconnection delay.
    Waiting,
    /// Ended; only `Closed` may still be reported.
    Done,
}

impl Connection {
    pub(crate) fn new(client: Client, request: Result<Request, Error>) -> Connection {
        let reconnect = Reconnect::new(
            (client.config.backoff)(),
            client.config.max_retries,
            client.config.max_elapsed_time,
        );
        let (request, failed) = match request {
            Ok(request) => (Some(request), None),
            Err(err) => (None, Some(err)),
        };
        let last_event_id = request
            .as_ref()
            .and_then(|request| request.headers().get(&LAST_EVENT_ID))
            // As the IDs this client sends itself: UTF-8, not only ASCII.
            .and_then(|value| std::str::from_utf8(value.as_bytes()).ok())
            .and_then(|value| EventId::try_from(value).ok())
            .unwrap_or_default();
        Connection {
            client,
            request,
            failed,
            state: State::Start,
            reconnect,
            last_event_id,
            timer: None,
            idle_deadline: None,
            close: Arc::new(CloseShared {
                closed: AtomicBool::new(false),
                waker: Mutex::new(None),
            }),
            started: false,
        }
    }

    /// A handle that closes this connection from another task.
    pub fn close_handle(&self) -> CloseHandle {
        CloseHandle {
            shared: self.close.clone(),
        }
    }

    /// Closes the connection: the stream yields [`Update::Closed`] and
    /// ends, and the response in flight is dropped.
    pub fn close(&mut self) {
        self.close.close();
    }

    /// The last event ID as of the last complete event: what the next
    /// reconnection sends as `Last-Event-ID` (when not empty).
    pub fn last_event_id(&self) -> &EventId {
        match &self.state {
            State::Streaming { decoder, .. } => decoder.last_event_id(),
            _ => &self.last_event_id,
        }
    }

    /// Only the events, of any type (go-sse's `SubscribeToAll`): lifecycle
    /// items and comments are left out, errors are kept.
    pub fn events(self) -> Events<Connection> {
        Events::all(self)
    }

    /// Only the events of type `message`, the type of events sent without
    /// an `event` field (go-sse's `SubscribeMessages`).
    pub fn messages(self) -> Events<Connection> {
        Events::of_type(self, "message")
    }

    /// Only the events of type `event_type` (go-sse's `SubscribeEvent`, the
    /// browser's `addEventListener(type, ..)`).
    pub fn events_of_type(self, event_type: impl Into<String>) -> Events<Connection> {
        Events::of_type(self, event_type)
    }

    /// The request for the next attempt, with `Last-Event-ID` set as the
    /// spec says: "If the EventSource object's last event ID string is not
    /// the empty string, set `Last-Event-ID`".
    fn next_request(&mut self) -> Result<Request, Error> {
        let mut request = match self.request.as_ref().and_then(Request::try_clone) {
            Some(clone) => clone,
            None => self.request.take().ok_or_else(Error::body_not_reusable)?,
        };
        let headers = request.headers_mut();
        if !headers.contains_key(ACCEPT) {
            headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        }
        // The spec fetches with cache mode "no-store", for which fetch adds
        // `Cache-Control: no-cache`.
        if !headers.contains_key(CACHE_CONTROL) {
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        }
        headers.remove(&LAST_EVENT_ID);
        if !self.last_event_id.is_empty() {
            // An `EventId` has no CR, LF or NUL; other bytes are allowed in
            // a header value (as obs-text), except other controls.
            match HeaderValue::from_bytes(self.last_event_id.as_bytes()) {
                Ok(value) => {
                    headers.insert(LAST_EVENT_ID.clone(), value);
                }
                Err(_) => tracing::warn!(
                    id = self.last_event_id.as_str(),
                    "sse: the last event ID has control characters that an HTTP \
                     header cannot carry; reconnecting without it"
                ),
            }
        }
        Ok(request)
    }

    /// Arms the timer for `delay` from now.
    fn arm(&mut self, delay: Duration) {
        let deadline = Instant::now().checked_add(delay).unwrap_or_else(far_future);
        match &mut self.timer {
            Some(timer) => timer.as_mut().reset(deadline),
            None => self.timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
        }
    }

    /// Starts the idle timeout, if there is one.
    fn arm_idle(&mut self) {
        match self.client.config.idle_timeout {
            Some(timeout) => {
                self.arm(timeout);
                self.idle_deadline = Instant::now().checked_add(timeout);
            }
            None => self.idle_deadline = None,
        }
    }

    /// Pushes the idle deadline forward after receiving something.
    fn touch(&mut self) {
        if let Some(timeout) = self.client.config.idle_timeout {
            self.idle_deadline = Instant::now().checked_add(timeout);
        }
    }

    /// Whether the idle timeout elapsed; registers for a wake-up otherwise.
    fn idle_elapsed(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = self.idle_deadline else {
            return false;
        };
        let Some(timer) = &mut self.timer else {
            return false;
        };
        deadline_passed(timer, deadline, cx)
    }

    /// Ends the current attempt. With `retry`, schedules the next one; the
    /// item to yield is returned.
    fn fail(
        &mut self,
        error: Option<Error>,
        retry: bool,
        retry_after: Option<Duration>,
    ) -> Option<Result<Update, Error>> {
        self.idle_deadline = None;
        if !retry {
            self.state = State::Done;
            return error.map(Err);
        }
        if self.request.is_none() {
            // Checked now rather than when the delay is over: waiting would
            // only postpone the same error.
            self.state = State::Done;
            let err = Error::new(
                crate::error::Kind::BodyNotReusable,
                error.map(|err| err.into()),
            );
            return Some(Err(err));
        }
        match self.reconnect.next(retry_after) {
            Wait::Retry { delay, attempt } => {
                tracing::debug!(?delay, attempt, error = ?error, "sse: reconnecting");
                self.arm(delay);
                self.state = State::Waiting;
                Some(Ok(Update::Retrying(Retrying {
                    error,
                    delay,
                    attempt,
                })))
            }
            Wait::Exhausted { attempts } => {
                self.state = State::Done;
                let err = match error {
                    Some(err) => Error::retries_exhausted(attempts, err),
                    None => Error::new(crate::error::Kind::RetriesExhausted { attempts }, None),
                };
                Some(Err(err))
            }
        }
    }

    /// The response decides: open, close, retry or fail ("processing the
    /// response" of the spec's "reestablish the connection").
    fn on_response(&mut self, response: Response) -> Option<Result<Update, Error>> {
        let status = response.status();
        let config = Arc::clone(&self.client.config);
        if status == StatusCode::OK
            && (!config.require_event_stream || is_event_stream(response.headers()))
        {
            // "Announce the connection." The retries start over once the
            // stream is served (an event or a comment arrives), not here: a
            // server that answers 200 and ends the stream at once (one
            // shutting down, say) is a failed attempt, so the backoff grows
            // and the retry limits apply.
            self.touch();
            let open = Open {
                status,
                headers: response.headers().clone(),
            };
            let decoder = Decoder::new(
                config.max_event_size,
                self.last_event_id.clone(),
                config.comments,
            );
            self.state = State::Streaming {
                body: Box::pin(response.bytes_stream()),
                decoder: Box::new(decoder),
            };
            return Some(Ok(Update::Open(open)));
        }
        if status == StatusCode::NO_CONTENT {
            // "Clients will reconnect if the connection is closed; a client
            // can be told to stop reconnecting using the HTTP 204 No Content
            // response code."
            self.state = State::Done;
            self.idle_deadline = None;
            return Some(Ok(Update::Closed));
        }
        // Anything else fails the connection; read what the server said.
        let headers = response.headers().clone();
        let limit = match config.idle_timeout {
            Some(idle) => idle.min(BODY_EXCERPT_TIMEOUT),
            None => BODY_EXCERPT_TIMEOUT,
        };
        self.idle_deadline = None;
        self.state = State::Refusing {
            excerpt: Box::pin(read_excerpt(response, limit)),
            status,
            headers,
        };
        None
    }

    fn on_refused(
        &mut self,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    ) -> Option<Result<Update, Error>> {
        let config = Arc::clone(&self.client.config);
        let retry = (status.is_server_error() && config.retry_server_errors)
            || (status == StatusCode::TOO_MANY_REQUESTS && config.retry_too_many_requests);
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|value| parse_retry_after(value.as_bytes(), SystemTime::now()));
        let error = Error::refused(Refused {
            status,
            headers,
            body,
        });
        self.fail(Some(error), retry, retry_after)
    }

    /// The response body ended or failed: keep what the stream set, and
    /// reconnect.
    fn on_disconnect(&mut self, error: Option<Error>) -> Option<Result<Update, Error>> {
        if let State::Streaming { decoder, .. } = std::mem::replace(&mut self.state, State::Done) {
            // An event cut off here was never dispatched, and its `id` did
            // not count: the parser's last event ID is as of the last
            // complete event.
            self.last_event_id = decoder.last_event_id().clone();
            if let Some(retry) = decoder.retry() {
                self.reconnect.set_retry(retry);
            }
        }
        self.fail(error, true, None)
    }

    fn poll_step(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Update, Error>>> {
        loop {
            match &mut self.state {
                State::Done => return Poll::Ready(None),
                State::Start => {
                    if let Some(err) = self.failed.take() {
                        self.state = State::Done;
                        return Poll::Ready(Some(Err(err)));
                    }
                    if !self.started {
                        // The maximum elapsed time counts from the first
                        // request, not from when the connection was made.
                        self.started = true;
                        self.reconnect.opened();
                    }
                    let request = match self.next_request() {
                        Ok(request) => request,
                        Err(err) => {
                            self.state = State::Done;
                            return Poll::Ready(Some(Err(err)));
                        }
                    };
                    let response = self.client.config.http.execute(request);
                    self.state = State::Connecting(Box::pin(response));
                    self.arm_idle();
                }
                State::Connecting(response) => match response.as_mut().poll(cx) {
                    Poll::Ready(Ok(response)) => {
                        if let Some(item) = self.on_response(response) {
                            return Poll::Ready(Some(item));
                        }
                    }
                    Poll::Ready(Err(err)) => {
                        let err = Error::reqwest(err);
                        let retry = !err.is_builder();
                        return Poll::Ready(self.fail(Some(err), retry, None));
                    }
                    Poll::Pending => {
                        if !self.idle_elapsed(cx) {
                            return Poll::Pending;
                        }
                        let timeout = self.client.config.idle_timeout.unwrap_or_default();
                        return Poll::Ready(self.fail(Some(Error::timeout(timeout)), true, None));
                    }
                },
                State::Refusing {
                    excerpt,
                    status,
                    headers,
                } => {
                    let body = std::task::ready!(excerpt.as_mut().poll(cx));
                    let (status, headers) = (*status, std::mem::take(headers));
                    return Poll::Ready(self.on_refused(status, headers, body));
                }
                State::Streaming { body, decoder } => {
                    let next = decoder.next();
                    if decoder.first_served() {
                        self.reconnect.opened();
                    }
                    match next {
                        Ok(Some(Decoded::Event(event))) => {
                            return Poll::Ready(Some(Ok(Update::Event(event))));
                        }
                        Ok(Some(Decoded::Comment(text))) => {
                            return Poll::Ready(Some(Ok(Update::Comment(text))));
                        }
                        Err(err) => return Poll::Ready(Some(Err(Error::event_too_large(err)))),
                        Ok(None) => {}
                    }
                    match body.as_mut().poll_next(cx) {
                        Poll::Ready(Some(Ok(chunk))) => {
                            decoder.feed(chunk);
                            self.touch();
                        }
                        Poll::Ready(Some(Err(err))) => {
                            return Poll::Ready(self.on_disconnect(Some(Error::reqwest(err))));
                        }
                        // "When the end of the response body is reached [...]
                        // reestablish the connection. This applies whether
                        // the connection is closed gracefully or
                        // unexpectedly." An unterminated event is dropped
                        // with the decoder.
                        Poll::Ready(None) => return Poll::Ready(self.on_disconnect(None)),
                        Poll::Pending => {
                            if !self.idle_elapsed(cx) {
                                return Poll::Pending;
                            }
                            let timeout = self.client.config.idle_timeout.unwrap_or_default();
                            return Poll::Ready(self.on_disconnect(Some(Error::timeout(timeout))));
                        }
                    }
                }
                State::Waiting => {
                    if let Some(timer) = &mut self.timer {
                        std::task::ready!(timer.as_mut().poll(cx));
                    }
                    self.state = State::Start;
                }
            }
        }
    }
}

impl Stream for Connection {
    type Item = Result<Update, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.close.register(cx.waker()) {
            // Drop the response (and its socket) now, not with the stream.
            return Poll::Ready(match std::mem::replace(&mut this.state, State::Done) {
                State::Done => None,
                _ => Some(Ok(Update::Closed)),
            });
        }
        this.poll_step(cx)
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Start => "start",
            State::Connecting(_) => "connecting",
            State::Refusing { .. } => "refusing",
            State::Streaming { .. } => "streaming",
            State::Waiting => "waiting",
            State::Done => "done",
        };
        f.debug_struct("Connection")
            .field("state", &state)
            .field("last_event_id", self.last_event_id())
            .field("reconnect", &self.reconnect)
            .finish_non_exhaustive()
    }
}

/// Closes a [`Connection`] from another task or thread; from
/// [`Connection::close_handle`].
///
/// # Examples
///
/// ```no_run
/// use futures_util::StreamExt;
/// use std::time::Duration;
///
/// # async fn run() {
/// let mut connection = sse_client::Client::new().get("http://127.0.0.1:8080/events");
/// let handle = connection.close_handle();
/// tokio::spawn(async move {
///     tokio::time::sleep(Duration::from_secs(10)).await;
///     handle.close();
/// });
/// while let Some(update) = connection.next().await {
///     println!("{update:?}");
/// }
/// // Closed after ten seconds.
/// # }
/// ```
#[derive(Clone)]
pub struct CloseHandle {
    shared: Arc<CloseShared>,
}

struct CloseShared {
    closed: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl CloseShared {
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let waker = match self.waker.lock() {
            Ok(mut waker) => waker.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Registers the task to wake on close; returns whether it is closed.
    fn register(&self, waker: &Waker) -> bool {
        if self.closed.load(Ordering::Acquire) {
            return true;
        }
        {
            let mut slot = match self.waker.lock() {
                Ok(slot) => slot,
                Err(poisoned) => poisoned.into_inner(),
            };
            match &*slot {
                Some(current) if current.will_wake(waker) => {}
                _ => *slot = Some(waker.clone()),
            }
        }
        // A close between the first check and the registration found no
        // waker to wake: look again.
        self.closed.load(Ordering::Acquire)
    }
}

impl CloseHandle {
    /// Closes the connection: its stream yields [`Update::Closed`] and
    /// ends at its next poll, which this wakes. Closing twice, or after
    /// the stream ended, does nothing.
    pub fn close(&self) {
        self.shared.close();
    }

    /// Whether [`close`](CloseHandle::close) was called.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }
}

impl fmt::Debug for CloseHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloseHandle")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Whether the response's media type is `text/event-stream` (parameters
/// such as `charset` aside, case-insensitively).
fn is_event_stream(headers: &HeaderMap) -> bool {
    headers.get(CONTENT_TYPE).is_some_and(|value| {
        let essence = value
            .as_bytes()
            .split(|&b| b == b';')
            .next()
            .unwrap_or_default();
        essence
            .trim_ascii()
            .eq_ignore_ascii_case(b"text/event-stream")
    })
}

/// The first [`BODY_EXCERPT_LIMIT`] bytes of a body, or what arrived within
/// `limit`.
async fn read_excerpt(mut response: Response, limit: Duration) -> Bytes {
    let mut excerpt = BytesMut::new();
    let read = async {
        while excerpt.len() < BODY_EXCERPT_LIMIT {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = BODY_EXCERPT_LIMIT - excerpt.len();
                    excerpt.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Ok(None) | Err(_) => break,
            }
        }
    };
    // Whatever arrived in time is enough to explain the refusal.
    let _ = tokio::time::timeout(limit, read).await;
    excerpt.freeze()
}

/// Whether `deadline` has passed. `timer` was set for it or for an earlier
/// deadline (bytes came in since, pushing it forward): it is re-armed to
/// catch up, and registers for a wake-up while the deadline is ahead.
pub(crate) fn deadline_passed(
    timer: &mut Pin<Box<Sleep>>,
    deadline: Instant,
    cx: &mut Context<'_>,
) -> bool {
    loop {
        if timer.as_mut().poll(cx).is_pending() {
            return false;
        }
        if Instant::now() >= deadline {
            return true;
        }
        timer.as_mut().reset(deadline);
    }
}

/// A deadline that never comes, for delays too long to add to `now`.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365 * 30)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_stream_content_type() {
        let mut headers = HeaderMap::new();
        assert!(!is_event_stream(&headers));
        for (value, expected) in [
            ("text/event-stream", true),
            ("Text/Event-Stream; charset=utf-8", true),
            (" text/event-stream ;x=y", true),
            ("text/event-streams", false),
            ("text/plain", false),
            ("application/json", false),
        ] {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(value));
            assert_eq!(is_event_stream(&headers), expected, "{value}");
        }
    }

    #[test]
    fn connection_can_be_made_outside_a_runtime() {
        let connection = Client::new().get("http://127.0.0.1:9/events");
        assert!(!connection.close_handle().is_closed());
        assert_eq!(connection.last_event_id().as_str(), "");
    }

    #[test]
    fn last_event_id_header_seeds_the_connection() {
        let client = Client::new();
        let request = client
            .http()
            .get("http://127.0.0.1:9/events")
            .header("Last-Event-ID", "41");
        let mut connection = client.connect(request);
        assert_eq!(connection.last_event_id().as_str(), "41");
        let request = connection.next_request().unwrap();
        assert_eq!(request.headers()["last-event-id"], "41");
        assert_eq!(request.headers()[ACCEPT], "text/event-stream");
        connection.last_event_id = EventId::default();
        let request = connection.next_request().unwrap();
        assert!(request.headers().get("last-event-id").is_none());
    }
}
