//! The reconnecting connection: the spec's EventSource processing model as
//! a `Stream`.
//!
//! The [`Connection`] and what a caller sets and reads on it are here; its
//! [`State`]s in `state`, the request it sends on every attempt in
//! `request`, what a response decides in `response`, how an attempt ends
//! and the next begins in `lifecycle`, and the polling that drives it all
//! in `stream`.

mod lifecycle;
mod request;
mod response;
mod state;
mod stream;

use self::{
    request::{header_value, take_last_event_id},
    state::State,
};
use crate::{
    Error, Events, Update,
    config::{Config, Settings},
    idle::Idle,
    retry::Reconnect,
    time::Sleep,
};
use reqwest::Request;
use sse_codec::EventId;
use std::{fmt, pin::Pin, sync::Arc, time::Duration};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// A reconnecting event stream: the HTML standard's `EventSource`, as a
/// [`Stream`](futures_core::Stream) of [`Update`]s.
///
/// Made by [`Client::get`](crate::Client::get) or
/// [`Client::connect`](crate::Client::connect); nothing is sent until it
/// is polled. It follows the spec's processing model:
///
/// - 200 OK with `text/event-stream` opens the connection
///   ([`Update::Open`], which tells the status, the HTTP version and the
///   headers), then its events follow.
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
///   An event cut off by the disconnection is not dispatched; when the
///   body ended cleanly inside one, the `Retrying`'s error says so
///   ([`Error::is_truncated`], as [`read`](crate::read) does). Every
///   reconnection sends `Last-Event-ID` once the stream set an ID (none
///   after the stream set an empty one).
/// - An event larger than the maximum event size is skipped
///   ([`Update::Skipped`]); the stream goes on.
///
/// An `Err` item is the last one. It comes when the retries run out
/// ([`Error::is_retries_exhausted`]), or with an error retrying cannot fix
/// ([`Error::is_permanent`]): a refusal it is not set to retry, a server
/// TLS certificate it refuses ([`Error::is_certificate`]), a redirect
/// loop, a compressed body, or a last event ID that a header cannot carry.
///
/// Dropping the connection closes it; [`close_handle`](Connection::close_handle)
/// closes it from elsewhere, and [`reconnect`](Connection::reconnect) makes
/// it connect again. It needs a Tokio runtime (for its timers) when polled;
/// in the browser (wasm32) it needs none, and waits on the browser's
/// timers (`setTimeout`) instead.
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
///         Update::Open(open) => println!("open: {} over {:?}", open.status(), open.version()),
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
    config: Arc<Config>,
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
    delay: Option<Sleep>,
    close: CancellationToken,
    /// Wakes the task when the connection is closed from elsewhere.
    closed: Option<Pin<Box<WaitForCancellationFutureOwned>>>,
    /// Whether the first request was sent.
    started: bool,
}

impl Connection {
    pub(crate) fn new(config: Arc<Config>, request: Result<Request, Error>) -> Connection {
        let reconnect = Reconnect::new((config.backoff)(), config.limits);
        let settings = config.settings;
        let (request, pending) = match request {
            Ok(request) => (Some(request), None),
            Err(err) => (None, Some(Err(err))),
        };
        let mut connection = Connection {
            config,
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
        match connection.request.as_mut().and_then(take_last_event_id) {
            Some(Ok(id)) => connection.last_event_id = id,
            Some(Err(err)) => connection.pending = Some(Err(err)),
            None => {}
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

    /// The reconnection time the server set with its latest `retry` field
    /// (at most [`ClientBuilder::max_interval`](crate::ClientBuilder::max_interval)),
    /// if it set one.
    pub fn retry(&self) -> Option<Duration> {
        match &self.state {
            State::Streaming { decoder, .. } => decoder
                .retry()
                .map(|retry| retry.min(self.config.limits.max_retry))
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
    use crate::Client;

    #[test]
    fn connection_can_be_made_outside_a_runtime() {
        let connection = Client::new().get("http://127.0.0.1:9/events");
        assert!(!connection.close_handle().is_closed());
        assert_eq!(connection.last_event_id().as_str(), "");
    }
}
