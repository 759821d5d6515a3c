//! Where a connection is in the spec's processing model: one state at a
//! time, each holding what only it needs.

use crate::decode::Decoder;
use bytes::Bytes;
use futures_core::Stream;
use reqwest::{Response, StatusCode, header::HeaderMap};
use std::{future::Future, pin::Pin};

type ResponseFuture = Pin<Box<dyn Future<Output = reqwest::Result<Response>> + Send>>;
type BodyStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;
type ExcerptFuture = Pin<Box<dyn Future<Output = Bytes> + Send>>;

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
