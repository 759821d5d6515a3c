//! The response body: a fixed payload (refusals) or a live event stream.

use crate::{Error, shutdown::Listener, unsent::Unsent};
use bytes::Bytes;
use futures_core::Stream;
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;
use sse_codec::{Encoded, Message};
use std::{
    fmt,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};
use tokio::time::{Instant, Sleep};

/// Ready small frames and messages are joined into one body chunk while it
/// holds fewer bytes than this, so such a chunk is at most this plus one
/// of them. Large enough that a burst of small events goes out in one
/// write (hyper writes at most 16 chunks at a time), small enough that the
/// copy a slow client's chunk holds is small.
pub(crate) const MAX_CHUNK: usize = 8 * 1024;

/// The largest frame joined with others into a copy; a larger one is sent
/// as it is, the very bytes the provider shares between subscribers. A
/// copy of a few small frames costs less than the HTTP layer's work per
/// chunk; a large frame is worth a chunk of its own, and not a copy per
/// subscriber.
pub(crate) const MAX_JOINED: usize = 2 * 1024;

/// The comment sent when a stream has been idle for the keep-alive
/// interval.
const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// The longest keep-alive interval; a longer one counts as this long (a
/// year: in practice, never).
const LONGEST_KEEP_ALIVE: Duration = Duration::from_secs(365 * 24 * 60 * 60);

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

/// An item of a stream that a [`StreamResponse`](crate::StreamResponse)
/// sends: a [`Message`] (encoded as it is sent), an already encoded message ([`Encoded`]), or
/// a `Result` of either whose `Err` aborts the response with an [`Error`].
///
/// This trait is sealed: it cannot be implemented outside this crate.
pub trait StreamItem: sealed::Item {}

impl<T: sealed::Item> StreamItem for T {}

pub(crate) mod sealed {
    use super::{Error, MAX_CHUNK, MAX_JOINED};
    use bytes::{Bytes, BytesMut};
    use sse_codec::Message;

    /// What a body sends next. A lone frame is sent as it is, without a
    /// copy (the provider's bytes, shared with every other subscriber); a
    /// frame of at most [`MAX_JOINED`] bytes that is ready with others is
    /// joined with them into one chunk, and so are messages (encoded as
    /// they come). A large frame that comes after others waits for the
    /// next chunk.
    #[derive(Default)]
    pub struct Chunk {
        /// The chunk's one frame, not copied yet.
        one: Option<Bytes>,
        /// The frames and messages joined so far.
        joined: BytesMut,
        /// A frame that could not join the chunk: the next one's start.
        next: Option<Bytes>,
    }

    impl Chunk {
        /// The bytes gathered for the chunk being made.
        pub fn len(&self) -> usize {
            self.one.as_ref().map_or(0, Bytes::len) + self.joined.len()
        }

        /// Whether it takes no more items: a frame waits for the next
        /// chunk, its one frame is too large to join, or it reached
        /// [`MAX_CHUNK`].
        pub fn is_full(&self) -> bool {
            self.next.is_some()
                || self.one.as_ref().is_some_and(|one| one.len() > MAX_JOINED)
                || self.len() >= MAX_CHUNK
        }

        pub fn is_empty(&self) -> bool {
            self.one.is_none() && self.joined.is_empty() && self.next.is_none()
        }

        /// Adds a frame; only while the chunk is not [full](Chunk::is_full).
        pub fn push_frame(&mut self, bytes: Bytes) {
            debug_assert!(!self.is_full(), "pushed into a full chunk");
            if bytes.is_empty() {
                return;
            }
            if self.one.is_none() && self.joined.is_empty() {
                self.one = Some(bytes);
            } else if bytes.len() <= MAX_JOINED {
                self.join(&bytes);
            } else {
                self.next = Some(bytes);
            }
        }

        /// Adds a message; only while the chunk is not
        /// [full](Chunk::is_full).
        pub fn push_message(&mut self, message: &Message) {
            debug_assert!(!self.is_full(), "pushed into a full chunk");
            self.join(&[]);
            message.encode_into(&mut self.joined);
        }

        /// Copies the chunk's one frame, if any, then `bytes`, into the
        /// joined buffer.
        fn join(&mut self, bytes: &[u8]) {
            let one = self.one.take();
            // Growth doubles, so a burst costs a few allocations at most.
            self.joined
                .reserve(one.as_ref().map_or(0, Bytes::len) + bytes.len());
            if let Some(one) = one {
                self.joined.extend_from_slice(&one);
            }
            self.joined.extend_from_slice(bytes);
        }

        /// The chunk to send, if any; a frame that waited becomes the
        /// start of the next one.
        pub fn take(&mut self) -> Option<Bytes> {
            let chunk = match self.one.take() {
                Some(one) => Some(one),
                None if self.joined.is_empty() => None,
                None => Some(self.joined.split().freeze()),
            };
            self.one = self.next.take();
            chunk.or_else(|| self.one.take())
        }
    }

    /// What a stream item adds to a chunk, or how it ends the body.
    pub enum Step {
        Continue,
        /// End the body cleanly.
        End,
        /// Abort the body with this error.
        Fail(Error),
    }

    pub trait Item {
        #[doc(hidden)]
        fn add_to(self, chunk: &mut Chunk) -> Step;
    }
}

pub(crate) use sealed::{Chunk, Item, Step};

/// Keep-alive, first-chunk and backpressure settings of an event body.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Config {
    pub(crate) keep_alive: Option<Duration>,
    pub(crate) retry: Option<Duration>,
    /// The most bytes handed to the HTTP layer and not yet written before
    /// the body stops producing; `None` leaves it to the HTTP layer.
    pub(crate) max_unsent: Option<usize>,
}

impl Default for Config {
    /// Keep-alive every [`DEFAULT_KEEP_ALIVE`](crate::DEFAULT_KEEP_ALIVE),
    /// no `retry:`, no limit of its own on what waits unwritten.
    fn default() -> Config {
        Config {
            keep_alive: Some(crate::DEFAULT_KEEP_ALIVE),
            retry: None,
            max_unsent: None,
        }
    }
}

impl Config {
    /// Sets the keep-alive interval, `None` for none.
    ///
    /// # Panics
    ///
    /// If the interval is zero.
    pub(crate) fn set_keep_alive(&mut self, interval: Option<Duration>) {
        assert!(
            interval != Some(Duration::ZERO),
            "keep-alive interval must not be zero"
        );
        // Capped so that `Instant + interval` cannot overflow.
        self.keep_alive = interval.map(|interval| interval.min(LONGEST_KEEP_ALIVE));
    }

    /// Sets the most bytes that may wait unwritten, `None` for no limit of
    /// the body's own.
    ///
    /// # Panics
    ///
    /// If the limit is zero.
    pub(crate) fn set_max_unsent(&mut self, bytes: Option<usize>) {
        assert!(bytes != Some(0), "the unsent limit must not be zero");
        self.max_unsent = bytes;
    }
}

pin_project! {
    /// Turns a stream of items into body chunks: passes frames through,
    /// joins ready messages, sends a keep-alive comment after an idle
    /// interval, stops producing while too much waits unwritten, and ends
    /// on the stream's end, its failure, or the shutdown signal.
    #[project = EventProjection]
    pub(crate) struct EventBody<S> {
        // `None` once the body ended (that is how it knows), so the
        // subscription is dropped then.
        #[pin]
        stream: Option<S>,
        #[pin]
        keep_alive: Option<Sleep>,
        // The keep-alive interval; `None` disables keep-alive. The timer
        // is made on the first poll, so that building a response needs no
        // runtime.
        interval: Option<Duration>,
        // When events or comments were last sent. The timer is not reset
        // for every chunk (that would put the timer wheel on the per-event
        // path); when it fires, it is moved to one interval after this if
        // something was sent since.
        sent_at: Option<Instant>,
        first: Option<Bytes>,
        // What the stream gave and was not sent yet.
        chunk: Chunk,
        unsent: Option<Unsent>,
        #[pin]
        shutdown: Option<Listener>,
        // Counts the body among its server's open streams until dropped.
        open: Option<OpenStream>,
        // The error that ends the body, after what was gathered before it.
        failed: Option<Error>,
        // Whether the body yielded `Pending` once before its error.
        yielded: bool,
    }
}

impl<S> EventProjection<'_, S> {
    /// Ends the body: drops the subscription and the keep-alive timer.
    fn end(&mut self) {
        self.stream.set(None);
        self.keep_alive.set(None);
    }

    /// Hands `bytes` to the HTTP layer, counted (and marked) when what
    /// waits unwritten is limited.
    fn send(&mut self, bytes: Bytes) -> Poll<Option<Result<Bytes, Error>>> {
        let bytes = match self.unsent {
            Some(unsent) => unsent.send(bytes),
            None => bytes,
        };
        Poll::Ready(Some(Ok(bytes)))
    }

    /// Ends the body after what was gathered: with its error if it failed,
    /// after yielding once.
    ///
    /// An error aborts the connection, and hyper drops what it has not
    /// written yet, the response head included. Yielding first lets it
    /// flush (it flushes whenever the body is not ready), so the client
    /// normally gets the status and every event before the failure, then
    /// the abort; what a full socket has not taken by then is lost.
    fn finish(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Error>>> {
        if let Some(bytes) = self.chunk.take() {
            return self.send(bytes);
        }
        if self.failed.is_none() {
            return Poll::Ready(None);
        }
        if !std::mem::replace(self.yielded, true) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(self.failed.take().map(Err))
    }
}

impl<S> EventBody<S> {
    pub(crate) fn new(stream: S, config: Config, shutdown: Option<Listener>) -> EventBody<S> {
        let first = config
            .retry
            .map(|retry| Message::new().retry(retry).to_bytes());
        EventBody {
            stream: Some(stream),
            keep_alive: None,
            interval: config.keep_alive,
            sent_at: None,
            first,
            chunk: Chunk::default(),
            unsent: config.max_unsent.map(Unsent::new),
            shutdown,
            open: None,
            failed: None,
            yielded: false,
        }
    }
}

impl<S> EventBody<S> {
    /// Counts the body in `open` until it is dropped.
    pub(crate) fn counted(mut self, open: &Arc<AtomicUsize>) -> EventBody<S> {
        self.open = Some(OpenStream::new(open));
        self
    }

    /// Sends `bytes` (complete events) at the start of the body, after the
    /// initial `retry:`.
    pub(crate) fn lead_with(mut self, bytes: Bytes) -> EventBody<S> {
        self.first = Some(match self.first.take() {
            None => bytes,
            Some(first) => {
                let mut joined = Vec::with_capacity(first.len() + bytes.len());
                joined.extend_from_slice(&first);
                joined.extend_from_slice(&bytes);
                Bytes::from(joined)
            }
        });
        self
    }
}

impl<S> Chunks for EventBody<S>
where
    S: Stream + Send,
    S::Item: Item,
{
    fn poll_chunk(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Error>>> {
        let mut this = self.project();
        if this.stream.is_none() {
            return this.finish(cx);
        }
        if let (None, Some(interval)) = (this.keep_alive.as_ref().as_pin_ref(), *this.interval) {
            this.keep_alive.set(Some(tokio::time::sleep(interval)));
        }
        if let Some(shutdown) = this.shutdown.as_mut().as_pin_mut() {
            if shutdown.poll(cx).is_ready() {
                this.end();
                return Poll::Ready(None);
            }
        }
        // A client that stopped reading: take nothing more from the
        // stream until the connection has taken what it was given. The
        // provider bounds what waits for it there (Joe ends a subscriber
        // that falls a whole log behind). A chunk joins no more than there
        // is room for.
        let room = match this.unsent {
            Some(unsent) => match unsent.poll_room(cx) {
                Poll::Ready(room) => room,
                Poll::Pending => return Poll::Pending,
            },
            None => usize::MAX,
        };
        if let Some(first) = this.first.take() {
            // The `retry` field (and any lost-history event) at the start
            // does not count as traffic: the first keep-alive comes one
            // interval after the response starts.
            return this.send(first);
        }
        let mut end = None;
        while let Some(stream) = this.stream.as_mut().as_pin_mut() {
            if this.chunk.is_full() || this.chunk.len() >= room {
                break;
            }
            match stream.poll_next(cx) {
                Poll::Ready(Some(item)) => match item.add_to(this.chunk) {
                    Step::Continue => {}
                    Step::End => {
                        end = Some(None);
                        break;
                    }
                    Step::Fail(error) => {
                        end = Some(Some(error));
                        break;
                    }
                },
                Poll::Ready(None) => {
                    end = Some(None);
                    break;
                }
                Poll::Pending => break,
            }
        }
        if let Some(end) = end {
            // Unsubscribe now rather than when the body is dropped. What
            // was gathered before a failure goes out first, so the client
            // gets every item the stream produced before its error.
            this.end();
            *this.failed = end;
            return this.finish(cx);
        }
        if let Some(bytes) = this.chunk.take() {
            if this.interval.is_some() {
                *this.sent_at = Some(Instant::now());
            }
            return this.send(bytes);
        }
        // Idle: nothing ready. Send a keep-alive once a whole interval
        // passed since the last thing the client could see.
        if let (Some(mut sleep), Some(interval)) =
            (this.keep_alive.as_mut().as_pin_mut(), *this.interval)
        {
            while sleep.as_mut().poll(cx).is_ready() {
                let due = this.sent_at.map(|sent| sent + interval);
                match due {
                    Some(due) if due > Instant::now() => sleep.as_mut().reset(due),
                    _ => {
                        sleep.as_mut().reset(Instant::now() + interval);
                        *this.sent_at = Some(Instant::now());
                        return this.send(Bytes::from_static(KEEP_ALIVE));
                    }
                }
            }
        }
        Poll::Pending
    }

    fn is_done(&self) -> bool {
        self.stream.is_none() && self.failed.is_none() && self.chunk.is_empty()
    }
}

/// One open event stream, counted in its server's total until dropped.
struct OpenStream(Arc<AtomicUsize>);

impl OpenStream {
    fn new(open: &Arc<AtomicUsize>) -> OpenStream {
        open.fetch_add(1, Ordering::Relaxed);
        OpenStream(Arc::clone(open))
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Item for Message {
    fn add_to(self, chunk: &mut Chunk) -> Step {
        chunk.push_message(&self);
        Step::Continue
    }
}

impl Item for Encoded {
    fn add_to(self, chunk: &mut Chunk) -> Step {
        chunk.push_frame(self.into_bytes());
        Step::Continue
    }
}

impl<T: Item, E> Item for Result<T, E>
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn add_to(self, chunk: &mut Chunk) -> Step {
        match self {
            Ok(item) => item.add_to(chunk),
            Err(error) => Step::Fail(Error::new(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_frame_is_passed_through_without_copy() {
        for frame in [
            Bytes::from_static(b"data: a\n\n"),
            Bytes::from(format!("data: {}\n\n", "x".repeat(MAX_JOINED))),
        ] {
            let mut chunk = Chunk::default();
            chunk.push_frame(frame.clone());
            let out = chunk.take().unwrap();
            assert_eq!(out.as_ptr(), frame.as_ptr());
            assert!(chunk.take().is_none());
            assert!(chunk.is_empty());
        }
    }

    #[test]
    fn small_frames_and_messages_are_joined_and_a_large_frame_goes_alone() {
        let large = Bytes::from(format!("data: {}\n\n", "x".repeat(MAX_JOINED)));
        let mut chunk = Chunk::default();
        chunk.push_frame(Bytes::from_static(b"data: a\n\n"));
        chunk.push_message(&Message::new().data("b"));
        chunk.push_frame(Bytes::from_static(b"data: c\n\n"));
        assert!(!chunk.is_full());
        chunk.push_frame(large.clone());
        assert!(chunk.is_full(), "the large frame waits");
        assert_eq!(chunk.take().unwrap(), "data: a\n\ndata: b\n\ndata: c\n\n");
        assert!(chunk.is_full(), "nothing joins the large frame");
        assert_eq!(chunk.take().unwrap().as_ptr(), large.as_ptr());
        assert!(chunk.take().is_none());
        assert!(chunk.is_empty());
    }

    #[test]
    fn a_joined_chunk_stops_at_its_limit() {
        let frame = Bytes::from(format!("data: {}\n\n", "x".repeat(1000)));
        let mut chunk = Chunk::default();
        let mut pushed = 0;
        while !chunk.is_full() {
            chunk.push_frame(frame.clone());
            pushed += 1;
        }
        let joined = chunk.take().unwrap();
        assert_eq!(joined.len(), pushed * frame.len());
        assert!((MAX_CHUNK..MAX_CHUNK + frame.len()).contains(&joined.len()));
    }

    /// Polls `body` once with a waker that counts its wakes.
    fn poll<S>(
        body: &mut Pin<&mut EventBody<S>>,
        waker: &std::task::Waker,
    ) -> Poll<Option<Result<Bytes, Error>>>
    where
        S: Stream + Send,
        S::Item: Item,
    {
        body.as_mut().poll_chunk(&mut Context::from_waker(waker))
    }

    #[derive(Default)]
    struct Wakes(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Wakes {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    #[tokio::test]
    async fn a_body_stops_taking_frames_while_its_limit_waits_unwritten() {
        let frames = (0..100).map(|i| Encoded::from(Message::new().data(format!("{i:0>90}"))));
        let mut config = Config::default();
        config.set_max_unsent(Some(1000));
        let mut body = std::pin::pin!(EventBody::new(
            futures_util::stream::iter(frames),
            config,
            None
        ));
        let wakes = std::sync::Arc::new(Wakes::default());
        let waker = std::task::Waker::from(wakes.clone());
        // An HTTP layer that writes nothing: it holds every chunk.
        let mut held = std::collections::VecDeque::new();
        while let Poll::Ready(Some(Ok(chunk))) = poll(&mut body, &waker) {
            held.push_back(chunk);
        }
        let unsent: usize = held.iter().map(Bytes::len).sum();
        assert!((1000..1100).contains(&unsent), "{unsent} bytes handed out");
        // Writing the first chunks makes room, and wakes the body once the
        // one marked at half the limit is written.
        let mut text = Vec::new();
        while wakes.0.load(std::sync::atomic::Ordering::Relaxed) == 0 {
            let written = held.pop_front().expect("a marked chunk within the limit");
            text.extend_from_slice(&written);
        }
        // Written as they come, every frame goes out, in order.
        text.extend(held.drain(..).flat_map(|chunk| chunk.to_vec()));
        loop {
            match poll(&mut body, &waker) {
                Poll::Ready(Some(Ok(chunk))) => text.extend_from_slice(&chunk),
                Poll::Ready(None) => break,
                other => panic!("{other:?}"),
            }
        }
        let expected: Vec<u8> = (0..100)
            .flat_map(|i| format!("data: {i:0>90}\n\n").into_bytes())
            .collect();
        assert!(
            text == expected,
            "{} bytes of {}",
            text.len(),
            expected.len()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_keep_alive_interval_of_any_length_is_accepted() {
        let mut config = Config::default();
        config.set_keep_alive(Some(Duration::MAX));
        let stream = futures_util::stream::pending::<Message>();
        let mut body = std::pin::pin!(EventBody::new(stream, config, None));
        let pending = |body: &mut Pin<&mut EventBody<_>>| {
            let mut cx = Context::from_waker(std::task::Waker::noop());
            body.as_mut().poll_chunk(&mut cx).is_pending()
        };
        assert!(pending(&mut body));
        // Ten years on, the year-long interval sent a comment; nothing
        // overflowed on the way.
        tokio::time::advance(Duration::from_secs(10 * 365 * 24 * 60 * 60)).await;
        assert!(!pending(&mut body));
    }
}
