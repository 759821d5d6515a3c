//! Where a connection is in the spec's processing model: one state at a
//! time, each holding what only it needs.

use crate::{
    boxed::{BoxFuture, BoxStream},
    decode::Decoder,
};
use bytes::Bytes;
use reqwest::{Response, StatusCode, header::HeaderMap};

type ResponseFuture = BoxFuture<reqwest::Result<Response>>;
type BodyStream = BoxStream<reqwest::Result<Bytes>>;
type ExcerptFuture = BoxFuture<Bytes>;

pub(super) enum State {
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
