//! The reconnecting connection: the spec's EventSource processing model as
//! a `Stream`.

use crate::{
    Client, CloseHandle, Error, Events, Open, Retrying, Skipped, Update,
    client::Settings,
    decode::{Decoded, Decoder},
    error::{Kind, Refused},
    idle::Idle,
    response::{BODY_EXCERPT_TIMEOUT, is_encoded, is_event_stream, read_excerpt},
    retry::{Reconnect, Wait, parse_retry_after},
};
use bytes::Bytes;
use futures_core::Stream;
use reqwest::{
    Request, Response, StatusCode,
    header::{ACCEPT, CACHE_CONTROL, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER},
};
use sse_codec::{EventId, ParseError};
use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, SystemTime},
};
use tokio::time::Sleep;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

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
///   [`ClientBuilder::retry_server_errors`](crate::ClientBuilder::retry_server_errors)):
///   then it comes in an [`Update::Retrying`], not
///   [permanent](Error::is_permanent), and the wait is at least the
///   response's `Retry-After`, up to
///   [`ClientBuilder::max_retry_after`](crate::ClientBuilder::max_retry_after).
/// - A body that ends, cleanly or not, a network error, and an idle
///   timeout, reconnect after the reconnection time
///   ([`Update::Retrying`]): the server's `retry` time, grown by the
///   backoff policy on repeated failures, reset once a stream stayed up
///   (see [`ClientBuilder::stable_after`](crate::ClientBuilder::stable_after)).
///   An event cut off by the disconnection is not dispatched. Every
///   reconnection sends `Last-Event-ID` once the stream set an ID (none
///   after the stream set an empty one).
/// - An event larger than the maximum event size is skipped
///   ([`Update::Skipped`]); the stream goes on.
///
/// An `Err` item is the last one. It comes when the retries run out
/// ([`Error::is_retries_exhausted`]), or with an error retrying cannot fix
/// ([`Error::is_permanent`]): a refusal it is not set to retry, a redirect
/// loop, a compressed body, or a last event ID that a header cannot carry.
///
/// Dropping the connection closes it; [`close_handle`](Connection::close_handle)
/// closes it from elsewhere, and [`reconnect`](Connection::reconnect) makes
/// it connect again. It needs a Tokio runtime (for its timers) when polled.
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
    /// An item to yield before anything else: the error of a request that
    /// could not be built, or what [`reconnect`](Connection::reconnect)
    /// ended.
    pending: Option<Result<Update, Error>>,
    state: State,
    settings: Settings,
    reconnect: Reconnect,
    /// The spec's "last event ID string", kept across responses.
    last_event_id: EventId,
    /// The idle timeout of the attempt under way, if there is one.
    idle: Option<Idle>,
    /// The reconnection delay; made on first use, so that a connection can
    /// be made outside a runtime.
    delay: Option<Pin<Box<Sleep>>>,
    close: CancellationToken,
    /// Wakes the task when the connection is closed from elsewhere.
    closed: Option<Pin<Box<WaitForCancellationFutureOwned>>>,
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
        let config = &client.config;
        let reconnect = Reconnect::new((config.backoff)(), config.limits);
        let settings = config.settings;
        let (request, pending) = match request {
            Ok(request) => (Some(request), None),
            Err(err) => (None, Some(Err(err))),
        };
        let mut connection = Connection {
            client,
            request,
            pending,
            state: State::Start,
            settings,
            reconnect,
            last_event_id: EventId::default(),
            idle: None,
            delay: None,
            close: CancellationToken::new(),
            closed: None,
            started: false,
        };
        // A `Last-Event-ID` header on the request is the ID to resume from,
        // as if set with `resume_after`.
        let header = connection
            .request
            .as_mut()
            .and_then(|request| request.headers_mut().remove(&LAST_EVENT_ID));
        if let Some(header) = header {
            match std::str::from_utf8(header.as_bytes())
                .ok()
                .and_then(|id| EventId::try_from(id).ok())
            {
                Some(id) => connection.last_event_id = id,
                None => connection.pending = Some(Err(Error::last_event_id())),
            }
        }
        connection
    }

    /// Resumes from `id`, as a client that got the event with that ID
    /// before: the first request, and every reconnection until the stream
    /// sets another, sends it as `Last-Event-ID`.
    ///
    /// An ID with a byte that a header cannot carry (a control character)
    /// makes the connection's first item an error for which
    /// [`Error::is_last_event_id`] holds.
    pub fn resume_after(mut self, id: EventId) -> Connection {
        if header_value(&id).is_none() {
            self.pending = Some(Err(Error::last_event_id()));
        }
        self.last_event_id = id;
        self
    }

    /// Sets this connection's idle timeout (see
    /// [`ClientBuilder::idle_timeout`](crate::ClientBuilder::idle_timeout));
    /// `None` waits for ever. From the next attempt on.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Connection {
        self.settings.idle_timeout = timeout;
        self
    }

    /// Sets this connection's maximum event size (see
    /// [`ClientBuilder::max_event_size`](crate::ClientBuilder::max_event_size)),
    /// from the next response on.
    pub fn max_event_size(mut self, bytes: usize) -> Connection {
        self.settings.max_event_size = bytes;
        self
    }

    /// Sets whether this connection yields comments (see
    /// [`ClientBuilder::comments`](crate::ClientBuilder::comments)), from
    /// the next response on.
    pub fn comments(mut self, yes: bool) -> Connection {
        self.settings.comments = yes;
        self
    }

    /// A handle that closes this connection from another task.
    pub fn close_handle(&self) -> CloseHandle {
        CloseHandle {
            token: self.close.clone(),
        }
    }

    /// Closes the connection: the stream yields [`Update::Closed`] and
    /// ends, and the response in flight is dropped.
    pub fn close(&mut self) {
        self.close.cancel();
    }

    /// Ends the response under way and connects again, as the spec's
    /// "reestablish the connection" does when a response ends: the next
    /// item is an [`Update::Retrying`] with no error, and the request is
    /// sent again after the reconnection time (the server's `retry` time,
    /// or the backoff policy's delay), with the last event ID. The retry
    /// count, the backoff and the server's `retry` time carry on.
    ///
    /// While the connection is already waiting to reconnect, this changes
    /// nothing. After it ended (the retries ran out, a permanent error, a
    /// 204, [`close`](Connection::close) aside), it starts over: the
    /// request is sent again at once, as by a new connection that keeps
    /// the last event ID and the server's `retry` time.
    pub fn reconnect(&mut self) {
        match std::mem::replace(&mut self.state, State::Start) {
            State::Waiting => self.state = State::Waiting,
            State::Done => {
                if self.request.is_none() {
                    self.state = State::Done;
                    self.pending = Some(Err(Error::body_not_reusable()));
                    return;
                }
                self.pending = None;
                let limits = self.client.config.limits;
                let retry = self.reconnect.retry();
                self.reconnect = Reconnect::new((self.client.config.backoff)(), limits);
                if let Some(retry) = retry {
                    self.reconnect.set_retry(retry);
                }
                self.started = false;
            }
            state @ (State::Start
            | State::Connecting(_)
            | State::Refusing { .. }
            | State::Streaming { .. }) => {
                self.state = state;
                let item = match self.state {
                    State::Streaming { .. } => self.on_disconnect(None),
                    _ => self.fail(None, true, None),
                };
                self.pending = item;
            }
        }
    }

    /// The reconnection time the server set with its latest `retry` field
    /// (at most [`ClientBuilder::max_interval`](crate::ClientBuilder::max_interval)),
    /// if it set one.
    pub fn retry(&self) -> Option<Duration> {
        match &self.state {
            State::Streaming { decoder, .. } => decoder
                .retry()
                .map(|retry| retry.min(self.client.config.limits.max_retry))
                .or(self.reconnect.retry()),
            _ => self.reconnect.retry(),
        }
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
    /// items, skips and comments are left out, errors are kept.
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
        if !self.last_event_id.is_empty() {
            // Without it the server would take the client for a new one,
            // and the events missed would go unnoticed: end instead.
            let value = header_value(&self.last_event_id).ok_or_else(Error::last_event_id)?;
            headers.insert(LAST_EVENT_ID.clone(), value);
        }
        Ok(request)
    }

    /// Starts the idle timeout of an attempt, if there is one.
    fn start_idle(&mut self) {
        self.idle = self.settings.idle_timeout.map(Idle::started);
    }

    /// Whether the idle timeout elapsed; registers for a wake-up otherwise.
    fn idle_elapsed(&mut self, cx: &mut Context<'_>) -> bool {
        self.idle.as_mut().is_some_and(|idle| idle.elapsed(cx))
    }

    fn timed_out(&self) -> Error {
        Error::timeout(self.idle.as_ref().map_or(Duration::ZERO, Idle::timeout))
    }

    /// Ends the current attempt. With `retry`, schedules the next one; the
    /// item to yield is returned.
    fn fail(
        &mut self,
        error: Option<Error>,
        retry: bool,
        retry_after: Option<Duration>,
    ) -> Option<Result<Update, Error>> {
        self.idle = None;
        if !retry {
            self.state = State::Done;
            return error.map(Err);
        }
        if self.request.is_none() {
            // Checked now rather than when the delay is over: waiting would
            // only postpone the same error.
            self.state = State::Done;
            return Some(Err(Error::new(
                Kind::BodyNotReusable,
                error.map(|err| err.into()),
            )));
        }
        match self.reconnect.next(retry_after) {
            Wait::Retry { delay, attempt } => {
                tracing::debug!(?delay, attempt, error = ?error, "sse: reconnecting");
                // `sleep` saturates a delay too long to add to now.
                self.delay = Some(Box::pin(tokio::time::sleep(delay)));
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
                    None => Error::new(Kind::RetriesExhausted { attempts }, None),
                };
                Some(Err(err))
            }
        }
    }

    /// The response decides: open, close, retry or fail ("processing the
    /// response" of the spec's "reestablish the connection").
    fn on_response(&mut self, response: Response) -> Option<Result<Update, Error>> {
        let status = response.status();
        let config = &self.client.config;
        if status == StatusCode::OK
            && (!config.require_event_stream || is_event_stream(response.headers()))
        {
            if is_encoded(response.headers()) {
                let refused = Refused {
                    status,
                    headers: response.headers().clone(),
                    body: Bytes::new(),
                    retried: false,
                };
                return self.fail(Some(Error::content_encoding(refused)), false, None);
            }
            // "Announce the connection."
            self.reconnect.opened();
            if let Some(idle) = &mut self.idle {
                idle.touch();
            }
            let open = Open {
                status,
                headers: response.headers().clone(),
            };
            let decoder = Decoder::new(
                self.settings.max_event_size,
                self.last_event_id.clone(),
                self.settings.comments,
            );
            self.state = State::Streaming {
                body: Box::pin(response.bytes_stream()),
                decoder: Box::new(decoder),
            };
            return Some(Ok(Update::Open(open)));
        }
        self.idle = None;
        if status == StatusCode::NO_CONTENT {
            // "Clients will reconnect if the connection is closed; a client
            // can be told to stop reconnecting using the HTTP 204 No Content
            // response code."
            self.state = State::Done;
            return Some(Ok(Update::Closed));
        }
        // Anything else fails the connection; read what the server said.
        let headers = response.headers().clone();
        let limit = match self.settings.idle_timeout {
            Some(idle) => idle.min(BODY_EXCERPT_TIMEOUT),
            None => BODY_EXCERPT_TIMEOUT,
        };
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
        let config = &self.client.config;
        let retry = (status.is_server_error() && config.retry_server_errors)
            || (status == StatusCode::TOO_MANY_REQUESTS && config.retry_too_many_requests);
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|value| parse_retry_after(value.as_bytes(), SystemTime::now()));
        let error = Error::refused(Refused {
            status,
            headers,
            body,
            retried: retry,
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
        self.reconnect.closed();
        self.fail(error, true, None)
    }

    fn poll_step(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Update, Error>>> {
        loop {
            match &mut self.state {
                State::Done => return Poll::Ready(None),
                State::Start => {
                    if !self.started {
                        // The maximum elapsed time counts from the first
                        // request, not from when the connection was made.
                        self.started = true;
                        self.reconnect.started();
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
                    self.start_idle();
                }
                State::Connecting(response) => match response.as_mut().poll(cx) {
                    Poll::Ready(Ok(response)) => {
                        if let Some(item) = self.on_response(response) {
                            return Poll::Ready(Some(item));
                        }
                    }
                    Poll::Ready(Err(err)) => {
                        let err = Error::reqwest(err);
                        let retry = !err.is_permanent();
                        return Poll::Ready(self.fail(Some(err), retry, None));
                    }
                    Poll::Pending => {
                        if !self.idle_elapsed(cx) {
                            return Poll::Pending;
                        }
                        let err = self.timed_out();
                        return Poll::Ready(self.fail(Some(err), true, None));
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
                    match decoder.next() {
                        Ok(Some(Decoded::Event(event))) => {
                            return Poll::Ready(Some(Ok(Update::Event(event))));
                        }
                        Ok(Some(Decoded::Comment(text))) => {
                            return Poll::Ready(Some(Ok(Update::Comment(text))));
                        }
                        Err(ParseError::EventTooLarge { limit }) => {
                            return Poll::Ready(Some(Ok(Update::Skipped(Skipped { limit }))));
                        }
                        Err(_) | Ok(None) => {}
                    }
                    match body.as_mut().poll_next(cx) {
                        Poll::Ready(Some(Ok(chunk))) => {
                            decoder.feed(chunk);
                            if let Some(idle) = &mut self.idle {
                                idle.touch();
                            }
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
                            let err = self.timed_out();
                            return Poll::Ready(self.on_disconnect(Some(err)));
                        }
                    }
                }
                State::Waiting => {
                    if let Some(timer) = &mut self.delay {
                        std::task::ready!(timer.as_mut().poll(cx));
                    }
                    self.state = State::Start;
                }
            }
        }
    }

    /// Whether the connection was closed; registers for a wake-up on close
    /// otherwise.
    fn poll_closed(&mut self, cx: &mut Context<'_>) -> bool {
        let closed = self
            .closed
            .get_or_insert_with(|| Box::pin(self.close.clone().cancelled_owned()));
        closed.as_mut().poll(cx).is_ready()
    }
}

/// `id` as a header value, if a header can carry it: an `EventId` has no
/// CR, LF or NUL, and other bytes are allowed (UTF-8 as obs-text), except
/// other control characters.
fn header_value(id: &EventId) -> Option<HeaderValue> {
    HeaderValue::from_bytes(id.as_bytes()).ok()
}

impl Stream for Connection {
    type Item = Result<Update, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.poll_closed(cx) {
            // Drop the response (and its socket) now, not with the stream.
            this.pending = None;
            return Poll::Ready(match std::mem::replace(&mut this.state, State::Done) {
                State::Done => None,
                _ => Some(Ok(Update::Closed)),
            });
        }
        if let Some(item) = this.pending.take() {
            if item.is_err() {
                this.state = State::Done;
            }
            return Poll::Ready(Some(item));
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
            .field("settings", &self.settings)
            .field("reconnect", &self.reconnect)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_can_be_made_outside_a_runtime() {
        let connection = Client::new().get("http://127.0.0.1:9/events");
        assert!(!connection.close_handle().is_closed());
        assert_eq!(connection.last_event_id().as_str(), "");
    }

    #[test]
    fn a_last_event_id_header_or_a_typed_id_seeds_the_connection() {
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

        let mut typed = client
            .get("http://127.0.0.1:9/events")
            .resume_after(EventId::from_static("é7"));
        let request = typed.next_request().unwrap();
        assert_eq!(
            request.headers()["last-event-id"].as_bytes(),
            "é7".as_bytes()
        );
    }

    #[test]
    fn an_id_a_header_cannot_carry_is_an_error() {
        let client = Client::new();
        let mut typed = client
            .get("http://127.0.0.1:9/events")
            .resume_after(EventId::try_from("a\u{1}b").unwrap());
        assert!(matches!(typed.pending.take(), Some(Err(err)) if err.is_last_event_id()));
        assert!(typed.next_request().unwrap_err().is_last_event_id());
        let raw = client.connect(
            client
                .http()
                .get("http://127.0.0.1:9/events")
                .header("Last-Event-ID", HeaderValue::from_bytes(b"\xff").unwrap()),
        );
        assert!(matches!(raw.pending, Some(Err(ref err)) if err.is_last_event_id()));
    }
}
