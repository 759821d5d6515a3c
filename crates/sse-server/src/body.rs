//! The response body: a fixed payload (refusals) or a live event stream.

use crate::Error;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;
use std::{
    fmt,
    pin::Pin,
    task::{Context, Poll},
};

/// The body of every response [`Server`](crate::Server) and
/// [`StreamResponse`](crate::StreamResponse) produce: either a fixed payload
/// (a refusal from [`on_session`](crate::Builder::on_session), an error
/// status) or a live `text/event-stream`.
///
/// Implements [`http_body::Body`] with `Data = Bytes`, so hyper 1, axum and
/// any tower stack can send it. An event stream hands on a lone frame, or
/// one over 2 KiB, as it is (the provider's bytes, shared by every
/// subscriber), and joins small frames that are ready together into one
/// chunk of up to 8 KiB, so a busy subscriber costs one write per burst
/// rather than one per event.
///
/// # Examples
///
/// ```
/// use sse_server::Body;
///
/// let refusal = http::Response::builder()
///     .status(http::StatusCode::UNAUTHORIZED)
///     .body(Body::from("log in first"))
///     .unwrap();
/// assert_eq!(refusal.status(), 401);
/// ```
pub struct Body {
    kind: Kind,
}

enum Kind {
    Full(Option<Bytes>),
    Events(Pin<Box<dyn Chunks>>),
    Other(Pin<Box<dyn http_body::Body<Data = Bytes, Error = BoxError> + Send>>),
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

impl Body {
    /// An empty body.
    pub fn empty() -> Body {
        Body {
            kind: Kind::Full(None),
        }
    }

    /// Any other body of [`Bytes`], such as a framework's (axum's `Body`),
    /// boxed; its error becomes an [`Error`].
    pub fn new<B>(body: B) -> Body
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Body {
            kind: Kind::Other(Box::pin(MapError { body })),
        }
    }

    pub(crate) fn events(chunks: impl Chunks + 'static) -> Body {
        Body {
            kind: Kind::Events(Box::pin(chunks)),
        }
    }
}

impl Default for Body {
    fn default() -> Body {
        Body::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Full(bytes) => f.debug_tuple("Body").field(bytes).finish(),
            Kind::Events(_) => f.write_str("Body(<event stream>)"),
            Kind::Other(_) => f.write_str("Body(<other>)"),
        }
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Body {
        Body {
            kind: Kind::Full((!bytes.is_empty()).then_some(bytes)),
        }
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Body {
        Body::from(Bytes::from_static(s.as_bytes()))
    }
}

impl From<String> for Body {
    fn from(s: String) -> Body {
        Body::from(Bytes::from(s))
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Body {
        Body::from(Bytes::from(v))
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match &mut self.get_mut().kind {
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::Events(chunks) => chunks
                .as_mut()
                .poll_chunk(cx)
                .map(|chunk| chunk.map(|r| r.map(Frame::data))),
            Kind::Other(body) => body.as_mut().poll_frame(cx).map_err(Error::new),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(bytes) => bytes.is_none(),
            Kind::Events(chunks) => chunks.is_done(),
            Kind::Other(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Events(_) => SizeHint::default(),
            Kind::Other(body) => body.size_hint(),
        }
    }
}

pin_project! {
    /// Boxes another body's error, so that bodies of any error type fit
    /// [`Kind::Other`].
    struct MapError<B> {
        #[pin]
        body: B,
    }
}

impl<B> http_body::Body for MapError<B>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.project().body.poll_frame(cx).map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A source of body chunks; erases the stream type so that [`Body`] has
/// none.
pub(crate) trait Chunks: Send {
    fn poll_chunk(self: Pin<&mut Self>, cx: &mut Context<'_>)
    -> Poll<Option<Result<Bytes, Error>>>;

    fn is_done(&self) -> bool;
}
