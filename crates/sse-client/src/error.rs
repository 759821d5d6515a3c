//! The client's error type.

use bytes::Bytes;
use reqwest::{StatusCode, header::HeaderMap};
use std::{fmt, time::Duration};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Everything that can go wrong with a [`Connection`](crate::Connection) or
/// a [`read`](crate::read) stream.
///
/// Opaque, like `reqwest::Error`: ask what happened with the `is_*`
/// predicates, and get details with [`status`](Error::status),
/// [`headers`](Error::headers), [`body`](Error::body) and
/// [`source`](std::error::Error::source).
///
/// # Examples
///
/// ```no_run
/// use futures_util::StreamExt;
/// use sse_client::{Client, Update};
///
/// # async fn run() -> Result<(), sse_client::Error> {
/// let client = Client::new();
/// let mut connection = client.get("http://127.0.0.1:8080/events");
/// while let Some(update) = connection.next().await {
///     match update {
///         Ok(Update::Event(event)) => println!("{}", event.data()),
///         Ok(_) => {}
///         Err(err) if err.is_status() => {
///             eprintln!("refused with {:?}: {:?}", err.status(), err.body());
///         }
///         Err(err) => return Err(err),
///     }
/// }
/// # Ok(())
/// # }
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: Kind,
    source: Option<BoxError>,
}

#[derive(Debug)]
pub(crate) enum Kind {
    /// The client or the request could not be built.
    Builder,
    /// Sending the request or reading the response failed.
    Transport,
    /// The server answered with a status other than 200.
    Status(Box<Refused>),
    /// The server answered 200 with a content type other than
    /// `text/event-stream`.
    ContentType(Box<Refused>),
    /// Nothing arrived for the idle timeout.
    Timeout(Duration),
    /// The server redirected too often (a redirect loop, likely).
    Redirect,
    /// The body is compressed (`Content-Encoding`) and the HTTP client did
    /// not decode it.
    ContentEncoding(Box<Refused>),
    /// The last event ID has a byte that an HTTP header cannot carry.
    LastEventId,
    /// The request's body is a stream and cannot be sent again.
    BodyNotReusable,
    /// The retries ran out; the source is the last failure.
    RetriesExhausted { attempts: u32 },
    /// A body ended inside an event.
    Truncated,
    /// The TLS library refused the server's certificate.
    Certificate,
}

/// What a refused response carried.
#[derive(Debug)]
pub(crate) struct Refused {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// Whether the connection retries after it: a 5xx or 429 that the
    /// client is set to retry.
    pub(crate) retried: bool,
}

impl Error {
    pub(crate) fn new(kind: Kind, source: Option<BoxError>) -> Error {
        Error {
            inner: Box::new(Inner { kind, source }),
        }
    }

    pub(crate) fn builder(source: impl Into<BoxError>) -> Error {
        Error::new(Kind::Builder, Some(source.into()))
    }

    /// A reqwest error, classified as a builder, redirect, certificate,
    /// status (from `error_for_status`) or transport error.
    pub(crate) fn reqwest(err: reqwest::Error) -> Error {
        if err.is_builder() {
            Error::builder(err)
        } else if err.is_redirect() {
            Error::new(Kind::Redirect, Some(err.into()))
        } else if let Some(status) = err.status() {
            // `error_for_status` keeps neither the headers nor the body.
            let refused = Refused {
                status,
                headers: HeaderMap::new(),
                body: Bytes::new(),
                retried: false,
            };
            Error::new(Kind::Status(Box::new(refused)), Some(err.into()))
        } else if refused_certificate(&err) {
            Error::new(Kind::Certificate, Some(err.into()))
        } else {
            Error::new(Kind::Transport, Some(err.into()))
        }
    }

    /// A failure of any other byte stream, as a transport error.
    pub(crate) fn transport(err: impl Into<BoxError>) -> Error {
        Error::new(Kind::Transport, Some(err.into()))
    }

    pub(crate) fn content_encoding(refused: Refused) -> Error {
        Error::new(Kind::ContentEncoding(Box::new(refused)), None)
    }

    pub(crate) fn last_event_id() -> Error {
        Error::new(Kind::LastEventId, None)
    }

    pub(crate) fn refused(refused: Refused) -> Error {
        if refused.status == StatusCode::OK {
            Error::new(Kind::ContentType(Box::new(refused)), None)
        } else {
            Error::new(Kind::Status(Box::new(refused)), None)
        }
    }

    pub(crate) fn timeout(after: Duration) -> Error {
        Error::new(Kind::Timeout(after), None)
    }

    pub(crate) fn retries_exhausted(attempts: u32, last: Error) -> Error {
        Error::new(Kind::RetriesExhausted { attempts }, Some(last.into()))
    }

    pub(crate) fn body_not_reusable() -> Error {
        Error::new(Kind::BodyNotReusable, None)
    }

    pub(crate) fn truncated() -> Error {
        Error::new(Kind::Truncated, None)
    }

    fn refusal(&self) -> Option<&Refused> {
        match &self.inner.kind {
            Kind::Status(refused) | Kind::ContentType(refused) | Kind::ContentEncoding(refused) => {
                Some(refused)
            }
            _ => None,
        }
    }

    /// Whether the client or the request could not be built (an invalid
    /// URL, a TLS backend that failed to start, ...).
    pub fn is_builder(&self) -> bool {
        matches!(self.inner.kind, Kind::Builder)
    }

    /// Whether sending the request or reading the response failed: the
    /// connection was refused, reset or dropped, or its TLS handshake
    /// failed other than on the server's certificate (for which
    /// [`is_certificate`](Error::is_certificate) holds instead). The
    /// source is the `reqwest::Error`.
    pub fn is_transport(&self) -> bool {
        matches!(self.inner.kind, Kind::Transport)
    }

    /// Whether the client refused the server's TLS certificate: one that
    /// no trusted root vouches for (a self-signed one, say), that has
    /// expired, that names another host, or that is a CA's rather than a
    /// server's (as `openssl req -x509` makes by default). The TLS
    /// library's reason ends the [`source`](std::error::Error::source)
    /// chain.
    ///
    /// Retrying cannot help, so the connection ends: have the `reqwest`
    /// client trust the certificate's root
    /// (`reqwest::ClientBuilder::add_root_certificate`, then
    /// [`ClientBuilder::http_client`]), or fix the server's certificate and
    /// [`reconnect`](crate::Connection::reconnect).
    ///
    /// Never in the browser (wasm32): `fetch` does not say why a
    /// connection failed, so a refused certificate is a
    /// [transport](Error::is_transport) error there, and retried.
    ///
    /// [`ClientBuilder::http_client`]: crate::ClientBuilder::http_client
    pub fn is_certificate(&self) -> bool {
        matches!(self.inner.kind, Kind::Certificate)
    }

    /// Whether the server answered with a status other than 200 OK (and
    /// other than 204 No Content, which closes the connection without an
    /// error). [`status`](Error::status), [`headers`](Error::headers) and
    /// [`body`](Error::body) tell what it said.
    pub fn is_status(&self) -> bool {
        matches!(self.inner.kind, Kind::Status(_))
    }

    /// Whether the server answered 200 OK with a content type other than
    /// `text/event-stream`.
    pub fn is_content_type(&self) -> bool {
        matches!(self.inner.kind, Kind::ContentType(_))
    }

    /// Whether nothing arrived within the idle timeout, while waiting for
    /// the response or for the next bytes of its body.
    pub fn is_timeout(&self) -> bool {
        matches!(self.inner.kind, Kind::Timeout(_))
    }

    /// Whether the server redirected too many times (the HTTP client's
    /// redirect policy gave up: a redirect loop, most likely). Retrying
    /// cannot help, so the connection ends.
    ///
    /// Never in the browser (wasm32), where `fetch` follows redirects and
    /// does not say why it failed: a redirect loop is a
    /// [transport](Error::is_transport) error there, and retried.
    pub fn is_redirect(&self) -> bool {
        matches!(self.inner.kind, Kind::Redirect)
    }

    /// Whether the server compressed the body (`Content-Encoding: gzip`,
    /// say) and the HTTP client did not decode it: enable the decoding in
    /// the `reqwest` client (its `gzip` feature), or have the server send
    /// the stream uncompressed, as event streams usually are. Retrying
    /// cannot help, so the connection ends.
    ///
    /// Never in the browser (wasm32), whose `fetch` decodes every encoding
    /// it asks for.
    pub fn is_content_encoding(&self) -> bool {
        matches!(self.inner.kind, Kind::ContentEncoding(_))
    }

    /// Whether the last event ID has a byte that an HTTP header cannot
    /// carry (a control character), so that the connection cannot resume
    /// with it: reconnecting without it would look like a new client, and
    /// the events missed in between would go unnoticed. The connection
    /// ends instead, with [`Connection::last_event_id`] telling the ID.
    ///
    /// [`Connection::last_event_id`]: crate::Connection::last_event_id
    pub fn is_last_event_id(&self) -> bool {
        matches!(self.inner.kind, Kind::LastEventId)
    }

    /// Whether retrying cannot fix this error, so that a connection ends
    /// with it rather than reconnecting: an invalid request, a refused TLS
    /// certificate, a redirect loop, a compressed body, a last event ID a
    /// header cannot carry, a body that cannot be sent again, or a refusal
    /// the client was not set to retry.
    ///
    /// A 5xx or 429 that the client retries (see
    /// [`ClientBuilder::retry_server_errors`] and
    /// [`ClientBuilder::retry_too_many_requests`]) is not permanent: it
    /// comes in an [`Update::Retrying`], or as the
    /// [`source`](std::error::Error::source) of an error for which
    /// [`is_retries_exhausted`](Error::is_retries_exhausted) holds. Neither
    /// is running out of retries: a later connection may succeed.
    ///
    /// [`ClientBuilder::retry_server_errors`]: crate::ClientBuilder::retry_server_errors
    /// [`ClientBuilder::retry_too_many_requests`]: crate::ClientBuilder::retry_too_many_requests
    /// [`Update::Retrying`]: crate::Update::Retrying
    pub fn is_permanent(&self) -> bool {
        match &self.inner.kind {
            Kind::Status(refused) => !refused.retried,
            Kind::Builder
            | Kind::Redirect
            | Kind::ContentEncoding(_)
            | Kind::LastEventId
            | Kind::BodyNotReusable
            | Kind::ContentType(_)
            | Kind::Certificate => true,
            Kind::Transport
            | Kind::Timeout(_)
            | Kind::RetriesExhausted { .. }
            | Kind::Truncated => false,
        }
    }

    /// Whether the connection had to be made again but the request's body
    /// is a stream, which cannot be sent twice. Give the request a body of
    /// bytes (a `String`, a `Vec<u8>`, JSON) to let it reconnect.
    pub fn is_body_not_reusable(&self) -> bool {
        matches!(self.inner.kind, Kind::BodyNotReusable)
    }

    /// Whether the retries ran out: the backoff policy gave up, the
    /// maximum retries were used, or the next wait (the server's `retry` or
    /// `Retry-After` included) would pass the maximum elapsed time. The
    /// [`source`](std::error::Error::source) is the last failure.
    pub fn is_retries_exhausted(&self) -> bool {
        matches!(self.inner.kind, Kind::RetriesExhausted { .. })
    }

    /// Whether a body ended inside an event, which was therefore not
    /// dispatched: the last item of a [`read`](crate::read) stream, or the
    /// error of a connection's [`Update::Retrying`], which then
    /// reconnects as after any other end of the body.
    ///
    /// [`Update::Retrying`]: crate::Update::Retrying
    pub fn is_truncated(&self) -> bool {
        matches!(self.inner.kind, Kind::Truncated)
    }

    /// The status of a refused response.
    pub fn status(&self) -> Option<StatusCode> {
        self.refusal().map(|refused| refused.status)
    }

    /// The headers of a refused response.
    pub fn headers(&self) -> Option<&HeaderMap> {
        self.refusal().map(|refused| &refused.headers)
    }

    /// The start of a refused response's body (at most
    /// [`BODY_EXCERPT_LIMIT`](crate::BODY_EXCERPT_LIMIT) bytes), where a
    /// server usually explains itself.
    pub fn body(&self) -> Option<&Bytes> {
        self.refusal().map(|refused| &refused.body)
    }

    /// The idle timeout that elapsed, for a timeout error.
    pub fn timeout_duration(&self) -> Option<Duration> {
        match self.inner.kind {
            Kind::Timeout(after) => Some(after),
            _ => None,
        }
    }

    /// How many reconnection attempts were made before the backoff policy
    /// gave up.
    pub fn attempts(&self) -> Option<u32> {
        match self.inner.kind {
            Kind::RetriesExhausted { attempts } => Some(attempts),
            _ => None,
        }
    }
}

/// Whether rustls refused the server's certificate, somewhere among the
/// causes of `err`. Never in the browser (wasm32): `fetch` does not tell
/// why a connection failed, so a refused certificate is a transport error
/// there.
///
/// By type, not by message: a URL or a server's text may say
/// "certificate" too. The rustls error travels inside `io::Error`s (one
/// from tokio-rustls, one around it from the connector), and
/// `io::Error::source` skips the error it wraps, so each `io::Error` is
/// opened with `get_ref` instead.
#[cfg(not(target_arch = "wasm32"))]
fn refused_certificate(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return matches!(tls, rustls::Error::InvalidCertificate(_));
        }
        next = match err.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    false
}

#[cfg(target_arch = "wasm32")]
fn refused_certificate(_err: &(dyn std::error::Error + 'static)) -> bool {
    false
}

impl From<reqwest::Error> for Error {
    /// Classifies a `reqwest::Error` as a [`Connection`](crate::Connection)
    /// does, so that a request sent for [`read`](crate::read) fails the same
    /// way, with `?`: a refused TLS certificate
    /// ([`is_certificate`](Error::is_certificate)), a redirect loop
    /// ([`is_redirect`](Error::is_redirect)), a request that could not be
    /// built ([`is_builder`](Error::is_builder)), the status of
    /// `error_for_status` ([`is_status`](Error::is_status), with the status
    /// but no headers and an empty body, which it does not keep), or else
    /// a transport error ([`is_transport`](Error::is_transport)). The
    /// `reqwest::Error` is the [`source`](std::error::Error::source).
    fn from(err: reqwest::Error) -> Error {
        Error::reqwest(err)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("sse_client::Error");
        debug.field("kind", &self.inner.kind);
        if let Some(source) = &self.inner.source {
            debug.field("source", source);
        }
        debug.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.kind {
            Kind::Builder => f.write_str("failed to build the request"),
            Kind::Transport => f.write_str("the connection failed"),
            Kind::Status(refused) => write!(f, "server refused the stream with {}", refused.status),
            Kind::ContentType(refused) => {
                match refused.headers.get(reqwest::header::CONTENT_TYPE) {
                    Some(value) => write!(
                        f,
                        "expected content type text/event-stream, got {}",
                        String::from_utf8_lossy(value.as_bytes())
                    ),
                    None => f.write_str("expected content type text/event-stream, got none"),
                }
            }
            Kind::Timeout(after) => write!(f, "nothing received for {after:?}"),
            Kind::Redirect => f.write_str("the server redirects in a loop"),
            Kind::ContentEncoding(refused) => {
                let encoding = refused
                    .headers
                    .get(reqwest::header::CONTENT_ENCODING)
                    .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
                    .unwrap_or_default();
                write!(
                    f,
                    "the event stream is {encoding}-encoded and was not decoded"
                )
            }
            Kind::LastEventId => f.write_str(
                "cannot resume: the last event ID has a byte an HTTP header cannot carry",
            ),
            Kind::BodyNotReusable => {
                f.write_str("cannot reconnect: the request body is a stream and cannot be re-sent")
            }
            Kind::RetriesExhausted { attempts } => {
                write!(f, "gave up reconnecting after {attempts} attempts")
            }
            Kind::Truncated => f.write_str("the body ended inside an event"),
            Kind::Certificate => f.write_str("the server's TLS certificate was refused"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|source| &**source as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_send_sync_and_small() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Error>();
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn refused_200_is_a_content_type_error() {
        let err = Error::refused(Refused {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Bytes::from_static(b"<html>"),
            retried: false,
        });
        assert!(err.is_content_type());
        assert!(!err.is_status());
        assert_eq!(err.status(), Some(StatusCode::OK));
        assert_eq!(err.body().unwrap(), "<html>");
        assert_eq!(
            err.to_string(),
            "expected content type text/event-stream, got none"
        );
    }

    #[test]
    fn a_refusal_is_permanent_unless_retried() {
        let refusal = |retried| {
            Error::refused(Refused {
                status: StatusCode::SERVICE_UNAVAILABLE,
                headers: HeaderMap::new(),
                body: Bytes::new(),
                retried,
            })
        };
        assert!(refusal(false).is_permanent());
        let retried = refusal(true);
        assert!(retried.is_status() && !retried.is_permanent());
        assert_eq!(
            retried.to_string(),
            "server refused the stream with 503 Service Unavailable"
        );
    }

    #[test]
    fn display_reads_once_through_the_source_chain() {
        let mut text = Vec::new();
        let mut err: Option<&(dyn std::error::Error + 'static)> = Some(&Error::retries_exhausted(
            2,
            Error::timeout(Duration::from_secs(1)),
        ));
        while let Some(e) = err {
            text.push(e.to_string());
            err = e.source();
        }
        assert_eq!(
            text,
            [
                "gave up reconnecting after 2 attempts",
                "nothing received for 1s"
            ]
        );
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn a_refused_certificate_is_found_inside_io_errors_by_type() {
        use std::io;
        let wrapped =
            |tls: rustls::Error| io::Error::other(io::Error::new(io::ErrorKind::InvalidData, tls));
        let refused = wrapped(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        ));
        assert!(refused_certificate(&refused));
        let other_tls = wrapped(rustls::Error::HandshakeNotComplete);
        assert!(!refused_certificate(&other_tls));
        // Words are not enough.
        let said = io::Error::other("invalid peer certificate: UnknownIssuer");
        assert!(!refused_certificate(&said));
        assert!(!refused_certificate(&io::Error::from(
            io::ErrorKind::ConnectionRefused
        )));
    }

    #[test]
    fn retries_exhausted_keeps_the_last_failure() {
        let err = Error::retries_exhausted(3, Error::timeout(Duration::from_secs(1)));
        assert!(err.is_retries_exhausted());
        assert_eq!(err.attempts(), Some(3));
        let source = std::error::Error::source(&err).unwrap();
        let last = source.downcast_ref::<Error>().unwrap();
        assert!(last.is_timeout());
    }
}
