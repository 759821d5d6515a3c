//! An SSE response from any stream of messages, without a provider.

use crate::{
    Body, StreamItem,
    events::{Config, EventBody},
    headers,
};
use futures_core::Stream;
use http::Response;
use std::{fmt, time::Duration};

/// An SSE response that streams one computation: every item of a
/// [`Stream`] of [`Message`](sse_codec::Message)s (or pre-encoded
/// [`Encoded`](sse_codec::Encoded)s, or `Result`s of either) is sent as it is
/// produced, for a handler that proxies an LLM's tokens, reports a job's
/// progress, and so on. No provider is involved: there is one client and
/// nothing to resume.
///
/// The response has the same headers as a [`Server`](crate::Server)'s
/// (without `sse-resume`), the same keep-alive comments while the stream is
/// idle, and the same coalescing of ready items into one chunk. Unlike a
/// `Server`'s response it has no [unsent limit](crate::Builder::max_unsent)
/// of its own (a test may `collect()` it whole): the stream is polled while
/// the HTTP layer takes chunks, so a client that stops reading holds at
/// most what that layer buffers (hyper: about 400 KiB), and the stream is
/// not polled beyond it. The body
/// ends cleanly when the stream ends; an `Err` item aborts it with an
/// [`Error`](crate::Error) (hyper then closes the connection without the
/// final chunk, so the client can tell a failure from the end). The items
/// before the `Err` are handed to hyper first and given a chance to be
/// flushed, but that is best effort: what a slow client's full socket has
/// not taken yet is lost with the aborted connection. To make sure the
/// client sees how a computation failed, send the failure as an event of
/// its own and end the stream cleanly.
///
/// With this crate's `axum` feature it is an axum `IntoResponse`, so a
/// handler returns it as it is; elsewhere, [`into_response`] gives the
/// `http::Response`.
///
/// [`into_response`]: StreamResponse::into_response
///
/// # Examples
///
/// An axum handler:
///
/// ```
/// # #[cfg(feature = "axum")]
/// # fn app() -> axum::Router {
/// use futures_util::Stream;
/// use sse_codec::Message;
/// use sse_server::StreamResponse;
///
/// async fn tokens() -> StreamResponse<impl Stream<Item = Message>> {
///     let words = ["Hello", ",", " world"].map(|w| Message::new().data(w));
///     StreamResponse::new(futures_util::stream::iter(words))
/// }
///
/// axum::Router::new().route("/tokens", axum::routing::post(tokens))
/// # }
/// ```
#[must_use]
pub struct StreamResponse<S> {
    stream: S,
    config: Config,
}

impl<S> fmt::Debug for StreamResponse<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamResponse")
            .field("keep_alive", &self.config.keep_alive)
            .field("retry", &self.config.retry)
            .finish_non_exhaustive()
    }
}

impl<S> StreamResponse<S>
where
    S: Stream + Send + 'static,
    S::Item: StreamItem,
{
    /// A response streaming `stream`, with keep-alive comments every
    /// [`DEFAULT_KEEP_ALIVE`](crate::DEFAULT_KEEP_ALIVE) of idleness.
    pub fn new(stream: S) -> StreamResponse<S> {
        StreamResponse {
            stream,
            config: Config::default(),
        }
    }

    /// Sets the keep-alive interval (`None` disables keep-alive), as
    /// [`Builder::keep_alive`](crate::Builder::keep_alive).
    ///
    /// # Panics
    ///
    /// If the interval is zero.
    pub fn keep_alive(mut self, interval: Option<Duration>) -> StreamResponse<S> {
        self.config.set_keep_alive(interval);
        self
    }

    /// Sends `retry:` with this reconnection time first, as
    /// [`Builder::retry`](crate::Builder::retry).
    pub fn retry(mut self, retry: Duration) -> StreamResponse<S> {
        self.config.retry = Some(retry);
        self
    }

    /// The `200 OK` response.
    pub fn into_response(self) -> Response<Body> {
        headers::event_stream(Body::events(EventBody::new(self.stream, self.config, None)))
    }
}

#[cfg(feature = "axum")]
impl<S> axum::response::IntoResponse for StreamResponse<S>
where
    S: Stream + Send + 'static,
    S::Item: StreamItem,
{
    fn into_response(self) -> axum::response::Response {
        StreamResponse::into_response(self).map(axum::body::Body::new)
    }
}

impl<S> From<StreamResponse<S>> for Response<Body>
where
    S: Stream + Send + 'static,
    S::Item: StreamItem,
{
    fn from(response: StreamResponse<S>) -> Response<Body> {
        response.into_response()
    }
}
