//! What a connection reads off a response before its events: whether it
//! is an event stream, and the start of a refusal's body.

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use reqwest::{
    Response, Version,
    header::{CONTENT_TYPE, HeaderMap},
};
use std::time::Duration;

/// At most this many bytes of a refused response's body are kept in the
/// error ([`Error::body`](crate::Error::body)).
pub const BODY_EXCERPT_LIMIT: usize = 4096;

/// How long reading a refused response's body excerpt may take at most, so
/// that a server that never ends it cannot stall the connection. The idle
/// timeout applies too, when shorter.
pub(crate) const BODY_EXCERPT_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether the response's media type is `text/event-stream` (parameters
/// such as `charset` aside, case-insensitively).
pub(crate) fn is_event_stream(headers: &HeaderMap) -> bool {
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

/// Whether the body is still compressed: the HTTP client decodes the
/// encodings it supports and removes the header, so one that is left is
/// one it did not decode.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn is_encoded(headers: &HeaderMap) -> bool {
    use reqwest::header::CONTENT_ENCODING;
    headers.get(CONTENT_ENCODING).is_some_and(|value| {
        !value
            .as_bytes()
            .trim_ascii()
            .eq_ignore_ascii_case(b"identity")
    })
}

/// Whether the body is still compressed: never in the browser, whose
/// fetch decodes every encoding it asks for (it sets `Accept-Encoding`
/// itself) yet leaves the `Content-Encoding` header on the response.
#[cfg(target_arch = "wasm32")]
pub(crate) fn is_encoded(_headers: &HeaderMap) -> bool {
    false
}

/// The HTTP version the response came on.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn response_version(response: &Response) -> Version {
    response.version()
}

/// The HTTP version the response came on, which `fetch` does not tell:
/// HTTP/1.1, `http`'s default, whatever the browser used.
#[cfg(target_arch = "wasm32")]
pub(crate) fn response_version(_response: &Response) -> Version {
    Version::default()
}

/// The first [`BODY_EXCERPT_LIMIT`] bytes of a body, or what arrived within
/// `limit`.
pub(crate) async fn read_excerpt(response: Response, limit: Duration) -> Bytes {
    let mut excerpt = BytesMut::new();
    // The body as a stream, which reqwest has in the browser too (unlike
    // `Response::chunk`).
    let mut body = std::pin::pin!(response.bytes_stream());
    let read = async {
        while excerpt.len() < BODY_EXCERPT_LIMIT {
            match std::future::poll_fn(|cx| body.as_mut().poll_next(cx)).await {
                Some(Ok(chunk)) => {
                    let room = BODY_EXCERPT_LIMIT - excerpt.len();
                    excerpt.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Some(Err(_)) | None => break,
            }
        }
    };
    // Whatever arrived in time is enough to explain the refusal.
    let _ = crate::time::timeout(limit, read).await;
    excerpt.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

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

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn encoded_bodies() {
        use reqwest::header::CONTENT_ENCODING;
        let mut headers = HeaderMap::new();
        assert!(!is_encoded(&headers));
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("Identity"));
        assert!(!is_encoded(&headers));
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        assert!(is_encoded(&headers));
    }
}
