//! One-shot parsing of a response body, without reconnection.

use crate::{Error, boxed::BoxStream, idle::Idle};
use bytes::{Buf, Bytes};
use futures_core::Stream;
use sse_codec::{Event, EventId, ParseError, Parser};
use std::{
    fmt,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type BodyStream = BoxStream<Result<Bytes, Error>>;

/// How long a [`read`] stream waits for the next bytes unless configured:
/// five minutes. Long enough for a model that thinks before it answers,
/// short enough that a stalled upstream does not hold a request for ever.
pub const DEFAULT_READ_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Parses a response body into a [`Stream`] of events, with no
/// reconnection: the LLM-streaming case, where one POST streams one answer.
///
/// The end of the body is the end of the stream, not an error. A body cut
/// off inside an event does not dispatch that event (as the spec says) and
/// ends the stream with an error for which [`Error::is_truncated`] holds,
/// so that a cut-off answer is not mistaken for a complete one. Events
/// larger than the maximum event size ([`sse_codec::DEFAULT_MAX_EVENT_SIZE`]
/// unless set with [`Read::max_event_size`]) are skipped and counted
/// ([`Read::skipped`]); the stream goes on. An `Err` item is the last one:
/// a transport error, a truncated body, or the idle timeout
/// ([`DEFAULT_READ_IDLE_TIMEOUT`] unless set with [`Read::idle_timeout`]).
///
/// The response is taken as it is: check its status first (for example
/// with `error_for_status`), as LLM APIs answer errors with JSON. For a
/// body from another HTTP client, use [`read_stream`].
///
/// # Cancel safety
///
/// Polling the returned stream is cancel safe: dropping a `next()` future
/// before it completes loses no event.
///
/// # Examples
///
/// ```no_run
/// use futures_util::StreamExt;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let response = reqwest::Client::new()
///     .post("http://127.0.0.1:3000/v1/complete")
///     .header("content-type", "application/json")
///     .body(r#"{"prompt":"Tell me a story"}"#)
///     .send()
///     .await?
///     .error_for_status()?;
/// let mut events = sse_client::read(response);
/// while let Some(event) = events.next().await {
///     print!("{}", event?.data());
/// }
/// # Ok(())
/// # }
/// ```
pub fn read(response: reqwest::Response) -> Read {
    let body = chunks(response.bytes_stream(), Error::reqwest);
    Read::new(Box::pin(body))
}

/// [`read`] for any stream of byte chunks, such as another HTTP client's
/// response body: the same events, the same clean end, and the same
/// [`is_truncated`](Read::is_truncated). A chunk is any [`Buf`] (`Bytes`,
/// `Vec<u8>`, ...), an error anything that converts into a boxed error, and
/// an `Err` chunk ends the stream with an error for which
/// [`Error::is_transport`] holds.
///
/// The stream must be `Send` off the browser, so that the `Read` is; in
/// the browser (wasm32) it need not be.
///
/// # Examples
///
/// ```
/// use futures_util::StreamExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let chunks = ["data: Hel", "lo\n\ndata: wor", "ld\n\n"].map(|s| Ok::<_, std::io::Error>(s.as_bytes()));
/// let mut events = sse_client::read_stream(futures_util::stream::iter(chunks));
/// assert_eq!(events.next().await.unwrap().unwrap().data(), "Hello");
/// assert_eq!(events.next().await.unwrap().unwrap().data(), "world");
/// assert!(events.next().await.is_none());
/// # }
/// ```
#[cfg(not(target_arch = "wasm32"))]
pub fn read_stream<S, B, E>(stream: S) -> Read
where
    S: Stream<Item = Result<B, E>> + Send + 'static,
    B: Buf,
    E: Into<BoxError> + 'static,
{
    let body = chunks(stream, Error::transport);
    Read::new(Box::pin(body))
}

/// [`read`] for any stream of byte chunks, such as another HTTP client's
/// response body: the same events, the same clean end, and the same
/// [`is_truncated`](Read::is_truncated). A chunk is any [`Buf`] (`Bytes`,
/// `Vec<u8>`, ...), an error anything that converts into a boxed error, and
/// an `Err` chunk ends the stream with an error for which
/// [`Error::is_transport`] holds.
///
/// In the browser (wasm32) the stream need not be `Send`.
#[cfg(target_arch = "wasm32")]
pub fn read_stream<S, B, E>(stream: S) -> Read
where
    S: Stream<Item = Result<B, E>> + 'static,
    B: Buf,
    E: Into<BoxError> + 'static,
{
    let body = chunks(stream, Error::transport);
    Read::new(Box::pin(body))
}

/// Maps a byte stream's chunks into `Bytes` and its errors into ours; the
/// result is `Send` when the stream is.
fn chunks<S, B, E>(
    stream: S,
    error: fn(E) -> Error,
) -> impl Stream<Item = Result<Bytes, Error>> + 'static
where
    S: Stream<Item = Result<B, E>> + 'static,
    B: Buf,
    E: 'static,
{
    Chunks { stream, error }
}

pin_project_lite::pin_project! {
    struct Chunks<S, E> {
        #[pin]
        stream: S,
        error: fn(E) -> Error,
    }
}

impl<S, B, E> Stream for Chunks<S, E>
where
    S: Stream<Item = Result<B, E>>,
    B: Buf,
{
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        this.stream.poll_next(cx).map(|item| {
            item.map(|chunk| match chunk {
                Ok(mut chunk) => Ok(chunk.copy_to_bytes(chunk.remaining())),
                Err(err) => Err((this.error)(err)),
            })
        })
    }
}

/// The stream of events of one response body; from [`read`] or
/// [`read_stream`].
#[must_use = "streams do nothing unless polled"]
pub struct Read {
    body: BodyStream,
    parser: Parser,
    state: ReadState,
    idle: Option<Idle>,
    skipped: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReadState {
    Reading,
    /// The body ended; the events still in the parser come out.
    Draining,
    Done,
}

impl Read {
    fn new(body: BodyStream) -> Read {
        let idle = Idle::started(DEFAULT_READ_IDLE_TIMEOUT);
        Read {
            body,
            parser: Parser::new(),
            state: ReadState::Reading,
            idle: Some(idle),
            skipped: 0,
        }
    }

    /// Sets the maximum event size, in bytes. Call it before the first
    /// poll: it starts the parser over.
    pub fn max_event_size(mut self, bytes: usize) -> Read {
        self.parser = Parser::with_max_event_size(bytes);
        self
    }

    /// Ends the stream with an error for which [`Error::is_timeout`] holds
    /// when no bytes arrive for `timeout` (a stalled upstream); `None`
    /// waits for ever. Default: [`DEFAULT_READ_IDLE_TIMEOUT`].
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Read {
        self.idle = timeout.map(Idle::started);
        self
    }

    /// The reconnection time the stream set with a `retry` field, if any.
    pub fn retry(&self) -> Option<Duration> {
        self.parser.retry()
    }

    /// The last event ID as of the last complete event.
    pub fn last_event_id(&self) -> &EventId {
        self.parser.last_event_id()
    }

    /// How many events were skipped so far for exceeding the maximum event
    /// size.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Whether the stream has ended inside an event: the body was cut off
    /// (the last item was then an error for which [`Error::is_truncated`]
    /// holds), or a transport error or the idle timeout ended it there.
    pub fn is_truncated(&self) -> bool {
        self.state == ReadState::Done && self.parser.is_partial()
    }
}

impl Stream for Read {
    type Item = Result<Event, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.state == ReadState::Done {
                return Poll::Ready(None);
            }
            match this.parser.next_event() {
                Ok(Some(event)) => return Poll::Ready(Some(Ok(event))),
                Err(ParseError::EventTooLarge { limit }) => {
                    this.skipped += 1;
                    tracing::warn!(limit, "sse: skipped an event larger than the maximum");
                    continue;
                }
                Err(_) | Ok(None) => {}
            }
            if this.state == ReadState::Draining {
                this.state = ReadState::Done;
                // "If the file ends in the middle of an event, before the
                // final empty line, the incomplete event is not dispatched."
                if this.parser.is_partial() {
                    return Poll::Ready(Some(Err(Error::truncated())));
                }
                return Poll::Ready(None);
            }
            match this.body.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    this.parser.feed(chunk);
                    if let Some(idle) = &mut this.idle {
                        idle.touch();
                    }
                }
                Poll::Ready(Some(Err(err))) => {
                    this.state = ReadState::Done;
                    return Poll::Ready(Some(Err(err)));
                }
                Poll::Ready(None) => {
                    this.parser.finish();
                    this.state = ReadState::Draining;
                }
                Poll::Pending => {
                    let Some(idle) = &mut this.idle else {
                        return Poll::Pending;
                    };
                    if !idle.elapsed(cx) {
                        return Poll::Pending;
                    }
                    this.state = ReadState::Done;
                    return Poll::Ready(Some(Err(Error::timeout(idle.timeout()))));
                }
            }
        }
    }
}

impl fmt::Debug for Read {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Read")
            .field("state", &self.state)
            .field("parser", &self.parser)
            .field("skipped", &self.skipped)
            .finish_non_exhaustive()
    }
}
