//! Headers of an event stream: the request's last event ID, the response's
//! `content-type` and resume report.

use crate::Body;
use http::{HeaderName, HeaderValue, Response, header};

/// The response header that tells a client how its resume went, with one of
/// four values:
///
/// - `fresh`: the client sent no last event ID; it gets live events only;
/// - `exact`: the client sent a last event ID and everything published after
///   it is replayed first: it missed nothing;
/// - `lost`: the client sent a last event ID the provider does not know (or
///   no longer holds, or the provider keeps no history): what it missed
///   cannot be replayed, and it should refetch its state;
/// - `earliest`: the client gets everything the provider retains first, as
///   it asked with the last event ID [`EARLIEST`](crate::EARLIEST), or as
///   the server gives new clients ([`History`](crate::History)).
///
/// Set on every response of a [`Server`](crate::Server) that serves a
/// subscription, from [`Subscribed::resume`](sse_codec::Subscribed::resume);
/// absent from the stream that ends at once when no subscription could be
/// made, and from the answer to `HEAD`, which subscribes nothing.
pub const RESUME_HEADER: HeaderName = HeaderName::from_static("sse-resume");

pub(crate) const FRESH: &str = "fresh";
pub(crate) const EXACT: &str = "exact";
pub(crate) const LOST: &str = "lost";

/// The last event ID that asks for the whole retained history, in the
/// `Last-Event-ID` header or the query parameter, where the server gives
/// the history on request or to new clients ([`History`](crate::History));
/// elsewhere it is an ID like any other. A response that serves that
/// history says so with the same word in [`RESUME_HEADER`].
pub const EARLIEST: &str = "earliest";

pub(crate) const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");

/// A `200 OK` event-stream response around `body`.
pub(crate) fn event_stream(body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // nginx buffers proxied responses unless told otherwise, which would
    // hold events back until its buffer fills.
    headers.insert(X_ACCEL_BUFFERING, HeaderValue::from_static("no"));
    response
}
