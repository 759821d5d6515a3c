//! Turning a stream of items into body chunks: the keep-alive comment on
//! an idle stream, the limit on what waits unwritten, the write delay, the
//! end on the stream's end, its failure or the shutdown signal.

use crate::{
    Error,
    body::Chunks,
    chunk::{Chunk, Item, Step},
    shutdown::Listener,
    unsent::Unsent,
};
use bytes::Bytes;
use futures_core::Stream;
use pin_project_lite::pin_project;
use sse_codec::Message;
use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};
use tokio::time::{Instant, Sleep};

/// The keep-alive interval unless configured: short enough for common proxy
/// idle timeouts (often 30-60 s), long enough to cost nothing.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The comment sent when a stream has been idle for the keep-alive
/// interval.
const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// The longest keep-alive interval; a longer one counts as this long (a
/// year: in practice, never).
const LONGEST_KEEP_ALIVE: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// Keep-alive, first-chunk and backpressure settings of an event body.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Config {
    pub(crate) keep_alive: Option<Duration>,
    pub(crate) retry: Option<Duration>,
    /// The most bytes handed to the HTTP layer and not yet written before
    /// the body stops producing; `None` leaves it to the HTTP layer.
    pub(crate) max_unsent: Option<usize>,
    /// How long a chunk's first item waits for more before the chunk is
    /// sent; `None` sends what is ready at once.
    pub(crate) write_delay: Option<Duration>,
}

impl Default for Config {
    /// Keep-alive every [`DEFAULT_KEEP_ALIVE`],
    /// no `retry:`, no limit of its own on what waits unwritten.
    fn default() -> Config {
        Config {
            keep_alive: Some(DEFAULT_KEEP_ALIVE),
            retry: None,
            max_unsent: None,
            write_delay: None,
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

    /// Sets the write delay, `None` (or zero) for none. A delay longer than
    /// a year counts as a year.
    pub(crate) fn set_write_delay(&mut self, delay: Option<Duration>) {
        self.write_delay = delay
            .filter(|delay| !delay.is_zero())
            .map(|delay| delay.min(LONGEST_KEEP_ALIVE));
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
        // How long the chunk's first item waits for more, if at all; the
        // timer (boxed: a connection without a delay does not carry it)
        // is made at the first wait and reset for each chunk after.
        write_delay: Option<Duration>,
        held: Option<Pin<Box<Sleep>>>,
        // Whether the chunk being gathered is waiting on `held`.
        holding: bool,
        // Whether the last chunk went because it was full: more was waiting
        // then, so the next one goes at once too (what piled up during a
        // delay does not wait another).
        draining: bool,
        unsent: Option<Unsent>,
        #[pin]
        shutdown: Option<Listener>,
        // When the body ends by itself (a session's deadline); the timer
        // is made on the first poll, as the keep-alive's is.
        until: Option<Instant>,
        #[pin]
        deadline: Option<Sleep>,
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

    /// Whether the chunk gathered waits for more: with a write delay, until
    /// the delay has passed since its first item came, while it has room
    /// (neither [full](Chunk::is_full) nor at the unsent limit's `room`).
    /// The stream's waker, and the timer's, poll the body again.
    fn hold(&mut self, room: usize, cx: &mut Context<'_>) -> bool {
        let Some(delay) = *self.write_delay else {
            return false;
        };
        if self.chunk.is_full() || self.chunk.len() >= room {
            *self.holding = false;
            *self.draining = true;
            return false;
        }
        if !*self.holding && std::mem::take(self.draining) {
            return false;
        }
        if !std::mem::replace(self.holding, true) {
            let due = Instant::now() + delay;
            match self.held {
                Some(timer) => timer.as_mut().reset(due),
                None => *self.held = Some(Box::pin(tokio::time::sleep_until(due))),
            }
        }
        let timer = self.held.as_mut().expect("the timer is made above");
        if timer.as_mut().poll(cx).is_pending() {
            return true;
        }
        *self.holding = false;
        false
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
            write_delay: config.write_delay,
            held: None,
            holding: false,
            draining: false,
            unsent: config.max_unsent.map(Unsent::new),
            shutdown,
            until: None,
            deadline: None,
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

    /// Ends the body cleanly at `deadline`, after what was sent before.
    pub(crate) fn until(mut self, deadline: Option<Instant>) -> EventBody<S> {
        self.until = deadline;
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
                // What a write delay holds goes out first.
                this.end();
                return this.finish(cx);
            }
        }
        if let Some(until) = this.until.take() {
            this.deadline.set(Some(tokio::time::sleep_until(until)));
        }
        if let Some(deadline) = this.deadline.as_mut().as_pin_mut() {
            if deadline.poll(cx).is_ready() {
                this.end();
                this.deadline.set(None);
                return this.finish(cx);
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
        // While a chunk is held, the stream is left alone: what comes in the
        // meantime is taken when the delay is over, and the provider has no
        // waker of this body to wake for each item (with many subscribers,
        // those wakes are most of a busy server's work).
        if *this.holding {
            if let Some(timer) = this.held.as_mut() {
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
            }
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
        if this.chunk.is_empty() {
            // Nothing more was waiting: the backlog, if any, is gone.
            *this.draining = false;
        } else {
            if this.hold(room, cx) {
                return Poll::Pending;
            }
            if let Some(bytes) = this.chunk.take() {
                if this.interval.is_some() {
                    *this.sent_at = Some(Instant::now());
                }
                return this.send(bytes);
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use sse_codec::Encoded;

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

    /// A body with a write delay of `delay_ms` over a channel's frames.
    fn delayed(
        delay_ms: u64,
        shutdown: Option<Listener>,
    ) -> (
        tokio::sync::mpsc::UnboundedSender<Encoded>,
        Pin<Box<EventBody<impl Stream<Item = Encoded> + Send>>>,
    ) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Encoded>();
        let mut config = Config::default();
        config.set_write_delay(Some(Duration::from_millis(delay_ms)));
        let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
        (tx, Box::pin(EventBody::new(stream, config, shutdown)))
    }

    fn frame(data: &str) -> Encoded {
        Encoded::from(Message::new().data(data))
    }

    /// The body's next chunk as text, or `None` if it has none ready.
    fn ready<S>(body: &mut Pin<Box<EventBody<S>>>) -> Option<String>
    where
        S: Stream + Send,
        S::Item: Item,
    {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match body.as_mut().poll_chunk(&mut cx) {
            Poll::Ready(Some(Ok(chunk))) => Some(String::from_utf8(chunk.to_vec()).unwrap()),
            Poll::Ready(None) => Some("(end)".into()),
            Poll::Ready(Some(Err(error))) => panic!("{error}"),
            Poll::Pending => None,
        }
    }

    async fn advance_ms(ms: u64) {
        tokio::time::advance(Duration::from_millis(ms)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_delay_gathers_what_comes_within_it_into_one_chunk() {
        let (tx, mut body) = delayed(5, None);
        tx.send(frame("a")).unwrap();
        assert_eq!(ready(&mut body), None, "the first frame waits");
        advance_ms(2).await;
        tx.send(frame("b")).unwrap();
        assert_eq!(ready(&mut body), None);
        advance_ms(2).await;
        assert_eq!(ready(&mut body), None, "4 ms after the first frame");
        advance_ms(1).await;
        assert_eq!(ready(&mut body).unwrap(), "data: a\n\ndata: b\n\n");
        // The next chunk's delay counts from its own first frame.
        advance_ms(100).await;
        assert_eq!(ready(&mut body), None, "nothing to send");
        tx.send(frame("c")).unwrap();
        assert_eq!(ready(&mut body), None);
        advance_ms(5).await;
        assert_eq!(ready(&mut body).unwrap(), "data: c\n\n");
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_write_delay_what_is_ready_goes_at_once() {
        let (tx, mut body) = delayed(0, None);
        tx.send(frame("a")).unwrap();
        assert_eq!(ready(&mut body).unwrap(), "data: a\n\n");
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_chunk_goes_without_waiting_for_the_delay() {
        let (tx, mut body) = delayed(5, None);
        let kib = "x".repeat(1024);
        for _ in 0..10 {
            tx.send(frame(&kib)).unwrap();
        }
        let chunk = ready(&mut body).expect("a full chunk is sent at once");
        assert!(
            chunk.len() >= crate::chunk::MAX_CHUNK,
            "{} bytes",
            chunk.len()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_that_ends_while_a_chunk_is_held_ends_after_it() {
        let (tx, mut body) = delayed(5, None);
        tx.send(frame("a")).unwrap();
        assert_eq!(ready(&mut body), None);
        tx.send(frame("b")).unwrap();
        drop(tx);
        // The stream is not polled while the chunk is held: what came and
        // the end are seen when the delay is over.
        assert_eq!(ready(&mut body), None);
        advance_ms(5).await;
        assert_eq!(ready(&mut body).unwrap(), "data: a\n\ndata: b\n\n");
        assert_eq!(ready(&mut body).unwrap(), "(end)");
    }

    /// What piles up during a delay, more than a chunk holds, goes in
    /// chunks one after the other when the delay is over, the last one too.
    #[tokio::test(start_paused = true)]
    async fn what_piles_up_during_a_delay_goes_at_its_end() {
        let (tx, mut body) = delayed(5, None);
        tx.send(frame("first")).unwrap();
        assert_eq!(ready(&mut body), None);
        let kib = "x".repeat(1024);
        for _ in 0..20 {
            tx.send(frame(&kib)).unwrap();
        }
        advance_ms(5).await;
        let mut sent = 0;
        while let Some(chunk) = ready(&mut body) {
            sent += chunk.matches("data: ").count();
        }
        assert_eq!(sent, 21, "every frame, without a second delay");
        // Then the next frame waits for a delay again.
        tx.send(frame("later")).unwrap();
        assert_eq!(ready(&mut body), None);
        advance_ms(5).await;
        assert_eq!(ready(&mut body).unwrap(), "data: later\n\n");
    }

    /// A large frame goes at once (a chunk of its own), and the small one
    /// that comes after the stream went quiet waits for the delay as usual.
    #[tokio::test(start_paused = true)]
    async fn after_a_full_chunk_and_a_pause_the_delay_applies_again() {
        let (tx, mut body) = delayed(5, None);
        tx.send(frame(&"x".repeat(4096))).unwrap();
        assert!(ready(&mut body).is_some(), "a full chunk goes at once");
        assert_eq!(ready(&mut body), None, "nothing more");
        advance_ms(100).await;
        tx.send(frame("small")).unwrap();
        assert_eq!(ready(&mut body), None, "it waits for the delay");
        advance_ms(5).await;
        assert_eq!(ready(&mut body).unwrap(), "data: small\n\n");
    }

    /// While a chunk is held, the stream has no waker of the body's: items
    /// that come then do not wake it, the timer does.
    #[tokio::test(start_paused = true)]
    async fn items_that_come_while_a_chunk_is_held_do_not_wake_the_body() {
        let (tx, mut boxed) = delayed(5, None);
        let mut body = boxed.as_mut();
        let wakes = Arc::new(Wakes::default());
        let waker = std::task::Waker::from(wakes.clone());
        tx.send(frame("a")).unwrap();
        assert!(poll(&mut body, &waker).is_pending());
        // The first item after the hold began wakes it once (the stream
        // had its waker from the poll that found nothing more)...
        tx.send(frame("b")).unwrap();
        assert!(poll(&mut body, &waker).is_pending());
        let after_first = wakes.0.load(Ordering::Relaxed);
        assert_eq!(after_first, 1);
        // ...and no more until the delay is over.
        for i in 0..10 {
            tx.send(frame(&i.to_string())).unwrap();
        }
        assert_eq!(wakes.0.load(Ordering::Relaxed), after_first);
        advance_ms(5).await;
        assert!(
            wakes.0.load(Ordering::Relaxed) > after_first,
            "the timer wakes it"
        );
        let Poll::Ready(Some(Ok(chunk))) = poll(&mut body, &waker) else {
            panic!("the chunk goes when the delay is over");
        };
        assert_eq!(chunk.iter().filter(|&&b| b == b'\n').count(), 2 * 12);
    }

    #[tokio::test(start_paused = true)]
    async fn what_the_delay_holds_goes_out_before_a_shutdown_ends_the_body() {
        let signal = Arc::new(crate::shutdown::Signal::default());
        let (tx, mut body) = delayed(5, Some(Listener::new(signal.clone())));
        tx.send(frame("a")).unwrap();
        assert_eq!(ready(&mut body), None);
        signal.fire();
        assert_eq!(ready(&mut body).unwrap(), "data: a\n\n");
        assert_eq!(ready(&mut body).unwrap(), "(end)");
    }

    #[tokio::test(start_paused = true)]
    async fn keep_alive_comes_as_before_with_a_write_delay() {
        let (tx, mut body) = delayed(5, None);
        assert_eq!(ready(&mut body), None);
        advance_ms(DEFAULT_KEEP_ALIVE.as_millis() as u64).await;
        assert_eq!(ready(&mut body).unwrap(), ": keep-alive\n\n");
        tx.send(frame("a")).unwrap();
        assert_eq!(ready(&mut body), None);
        advance_ms(5).await;
        assert_eq!(ready(&mut body).unwrap(), "data: a\n\n");
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
