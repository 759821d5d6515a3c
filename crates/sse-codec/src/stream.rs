//! A `Stream` of events over a `Stream` of byte chunks.

use crate::{Event, EventId, Parser, ReadError};
use bytes::Buf;
use core::{
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};
use futures_core::Stream;

pin_project_lite::pin_project! {
    /// Parses a `Stream` of byte chunks (such as
    /// `reqwest::Response::bytes_stream()` or a hyper body's frames) into a
    /// `Stream` of [`Event`]s.
    ///
    /// Runtime-agnostic: it only polls the inner stream. The end of the
    /// inner stream is the end of the event stream (the spec's end of file:
    /// an unterminated final event is discarded, unless the parser given to
    /// [`with_parser`](EventStream::with_parser) dispatches it); a
    /// transport error is passed on as [`ReadError::Transport`], and
    /// is the last item. An event larger than the parser's maximum event
    /// size is skipped and reported by a [`ReadError::Parse`] item
    /// that is *not* the last: the stream goes on with the next event (so
    /// `?` on every item stops at the first oversize event; match on the
    /// error to go on). [`EventReader`](crate::EventReader) does the same
    /// for a blocking reader.
    /// After 32 chunks in a row that complete no event it yields to the
    /// executor once, so an inner stream that is always ready cannot starve
    /// other tasks.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_codec::EventStream;
    /// # use core::{pin::Pin, task::{Context, Poll}};
    /// # struct Chunks(Vec<&'static [u8]>);
    /// # impl futures_core::Stream for Chunks {
    /// #     type Item = Result<&'static [u8], std::io::Error>;
    /// #     fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
    /// #         Poll::Ready(if self.0.is_empty() { None } else { Some(Ok(self.0.remove(0))) })
    /// #     }
    /// # }
    /// # fn block_on<F: core::future::Future>(f: F) -> F::Output {
    /// #     let mut f = std::pin::pin!(f);
    /// #     let mut cx = Context::from_waker(std::task::Waker::noop());
    /// #     loop { if let Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
    /// # }
    /// # fn next<S: futures_core::Stream + Unpin>(s: &mut S) -> impl core::future::Future<Output = Option<S::Item>> + '_ {
    /// #     core::future::poll_fn(move |cx| Pin::new(&mut *s).poll_next(cx))
    /// # }
    /// // Any `Stream<Item = Result<impl Buf, E>>` works; here, two chunks.
    /// let body = Chunks(vec![b"data: a", b"bc\n\n"]);
    /// let mut events = EventStream::new(body);
    /// block_on(async {
    ///     let event = next(&mut events).await.unwrap().unwrap();
    ///     assert_eq!(event.data(), "abc");
    ///     assert!(next(&mut events).await.is_none());
    /// });
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct EventStream<S> {
        #[pin]
        inner: S,
        parser: Parser,
    }
}

impl<S> EventStream<S> {
    /// Parses `inner` with a default [`Parser`].
    pub fn new(inner: S) -> EventStream<S> {
        EventStream::with_parser(inner, Parser::new())
    }

    /// Parses `inner` with a configured `parser` (for example a maximum
    /// event size, or a last event ID to start from).
    pub fn with_parser(inner: S, parser: Parser) -> EventStream<S> {
        EventStream { inner, parser }
    }

    /// The parser, for its state: [`Parser::retry`],
    /// [`Parser::last_event_id`], [`Parser::is_partial`].
    pub fn parser(&self) -> &Parser {
        &self.parser
    }

    /// The reconnection time the stream set, if any.
    pub fn retry(&self) -> Option<Duration> {
        self.parser.retry()
    }

    /// The last event ID: set by the `id` fields of every block ended by a
    /// blank line so far (an `id`-only block included), as the spec sets
    /// it at each dispatch.
    pub fn last_event_id(&self) -> &EventId {
        self.parser.last_event_id()
    }

    /// Returns the inner stream and the parser.
    pub fn into_parts(self) -> (S, Parser) {
        (self.inner, self.parser)
    }
}

impl<S, B, E> Stream for EventStream<S>
where
    S: Stream<Item = Result<B, E>>,
    B: Buf,
{
    type Item = Result<Event, ReadError<E>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        for _ in 0..YIELD_AFTER {
            match this.parser.next_event() {
                Ok(Some(event)) => return Poll::Ready(Some(Ok(event))),
                Err(err) => return Poll::Ready(Some(Err(ReadError::Parse(err)))),
                Ok(None) if this.parser.is_finished() => return Poll::Ready(None),
                Ok(None) => {}
            }
            match ready!(this.inner.as_mut().poll_next(cx)) {
                Some(Ok(chunk)) => this.parser.feed(chunk),
                Some(Err(err)) => return Poll::Ready(Some(Err(ReadError::Transport(err)))),
                None => this.parser.finish(),
            }
        }
        // Many chunks and no event (endless comments, say): let other tasks
        // run, and come back at once.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Chunks an [`EventStream`] reads in one poll before it yields.
const YIELD_AFTER: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::{sync::Arc, task::Wake, vec, vec::Vec};
    use core::sync::atomic::{AtomicUsize, Ordering};

    /// Counts its wake-ups.
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Always ready: `items` in order, then comments for ever.
    struct Ready(Vec<Result<&'static [u8], &'static str>>);

    impl Stream for Ready {
        type Item = Result<&'static [u8], &'static str>;

        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            if self.0.is_empty() {
                return Poll::Ready(Some(Ok(b": still here\n\n")));
            }
            Poll::Ready(Some(self.0.remove(0)))
        }
    }

    #[test]
    fn an_always_ready_stream_without_events_yields() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Arc::clone(&count).into();
        let mut cx = Context::from_waker(&waker);
        let mut events = EventStream::new(Ready(vec![Ok(b"data: a\n\n")]));
        let mut events = Pin::new(&mut events);
        match events.as_mut().poll_next(&mut cx) {
            Poll::Ready(Some(Ok(event))) => assert_eq!(event.data(), "a"),
            other => panic!("{other:?}"),
        }
        // Then only comments: a yield, with a wake-up so it comes back.
        assert!(events.as_mut().poll_next(&mut cx).is_pending());
        assert_eq!(count.0.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn events_before_a_transport_error_come_first() {
        let waker = Arc::new(Count(AtomicUsize::new(0))).into();
        let mut cx = Context::from_waker(&waker);
        let mut events = EventStream::new(Ready(vec![Ok(b"data: a\n\ndata: b\n\nda"), Err("cut")]));
        let mut events = Pin::new(&mut events);
        let mut next = || events.as_mut().poll_next(&mut cx);
        assert!(matches!(next(), Poll::Ready(Some(Ok(e))) if e.data() == "a"));
        assert!(matches!(next(), Poll::Ready(Some(Ok(e))) if e.data() == "b"));
        assert!(matches!(
            next(),
            Poll::Ready(Some(Err(ReadError::Transport("cut"))))
        ));
    }
}
