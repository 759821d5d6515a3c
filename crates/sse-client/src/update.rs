//! What a connection yields: events, comments and lifecycle changes.

use crate::Error;
use reqwest::{StatusCode, Version, header::HeaderMap};
use sse_codec::Event;
use std::time::Duration;

/// One item of a [`Connection`](crate::Connection): an event, a comment, or
/// a change in the connection's life.
///
/// A connection yields [`Open`](Update::Open) each time a response is
/// accepted, then the events of that response; when the response ends or
/// fails, [`Retrying`](Update::Retrying) (with the error, if any) and,
/// after the delay, `Open` again. [`Closed`](Update::Closed) is the last
/// item when the server answers 204 No Content or the connection is closed
/// with a [`CloseHandle`](crate::CloseHandle). What the connection goes on
/// after is an update; an `Err` item is the last one.
#[derive(Debug)]
#[non_exhaustive]
pub enum Update {
    /// A response was accepted (the spec's "announce the connection"):
    /// 200 OK with `text/event-stream`.
    Open(Open),
    /// An event was dispatched.
    Event(Event),
    /// A comment line (`: text`), without the colon and the one space
    /// after it. Only when asked for with
    /// [`ClientBuilder::comments`](crate::ClientBuilder::comments); servers
    /// send them as keep-alives.
    Comment(String),
    /// The connection ended or could not be made, and will be made again
    /// after a delay (the spec's "reestablish the connection").
    Retrying(Retrying),
    /// An event larger than the maximum event size was skipped; the stream
    /// goes on with the next one.
    Skipped(Skipped),
    /// The connection ended for good, without an error: the server answered
    /// 204 No Content, or a [`CloseHandle`](crate::CloseHandle) closed it.
    Closed,
}

/// An accepted response: [`Update::Open`].
#[derive(Debug)]
pub struct Open {
    pub(crate) status: StatusCode,
    pub(crate) version: Version,
    pub(crate) headers: HeaderMap,
}

impl Open {
    /// The status: 200 OK.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The HTTP version the response came on: `HTTP/1.1`, or `HTTP/2`
    /// when ALPN chose it over TLS or the `reqwest` client was set to speak
    /// it in the clear (`http2_prior_knowledge`). Over HTTP/2 the stream
    /// shares its TCP connection with the client's other requests to the
    /// same server.
    ///
    /// In the browser (wasm32), where `fetch` does not tell the version,
    /// it is always `HTTP/1.1`, whichever the browser used.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

/// An event skipped for its size: [`Update::Skipped`].
#[derive(Debug)]
pub struct Skipped {
    pub(crate) limit: usize,
}

impl Skipped {
    /// The maximum event size it exceeded, in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

/// A reconnection under way: [`Update::Retrying`].
#[derive(Debug)]
pub struct Retrying {
    pub(crate) error: Option<Error>,
    pub(crate) delay: Duration,
    pub(crate) attempt: u32,
}

impl Retrying {
    /// What ended the previous attempt; `None` when the server ended the
    /// response cleanly, which the spec also answers by reconnecting. A
    /// response that ended cleanly but inside an event (after `data: x`,
    /// without the blank line that dispatches it) gives the error that
    /// [`read`](crate::read) ends on, for which
    /// [`Error::is_truncated`] holds: the event was not dispatched, and
    /// its `id` does not count. Never [permanent](Error::is_permanent):
    /// the connection is retrying it.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    /// Takes the error.
    pub fn into_error(self) -> Option<Error> {
        self.error
    }

    /// How long the connection waits before the next attempt.
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// The number of the next attempt since the last stream that stayed
    /// up (see [`ClientBuilder::stable_after`](crate::ClientBuilder::stable_after)),
    /// starting at 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}
