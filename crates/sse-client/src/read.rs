//! One-shot parsing of a response body, without reconnection.

use crate::Error;
use bytes::Bytes;
use futures_core::Stream;
use sse_codec::{Event, EventId, Parser};
use std::{
    fmt,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};
use tokio::time::{Instant, Sleep};

type BodyStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// Parses a response body into a [`Stream`] of events, with no
/// reconnection: the LLM-streaming case, where one POST streams one answer.
///
/// The end of the body is the end of the stream, not an error. A body cut
/// off inside an event does not dispatch that event (as the spec says) and
/// ends the stream with an error for which [`Error::is_truncated`] holds,
/// so that a cut-off answer is not mistaken for a complete one. Events
/// larger than the maximum event size ([`sse_codec::DEFAULT_MAX_EVENT_SIZE`]
/// unless set with [`Read::max_event_size`]) are skipped, each reported as
/// an error for which [`Error::is_event_too_large`] holds; the stream goes
/// on. A transport error, or the idle timeout if set, ends the stream with
/// that error.
///
/// The response is taken as it is: check its status first (for example
/// with `error_for_status`), as LLM APIs answer errors with JSON.
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
    Read {
        body: Box::pin(response.bytes_stream()),
        parser: Parser::new(),
        state: ReadState::Reading,
        idle: None,
    }
}

/// The stream of events of one response body; from [`read`].
#[must_use = "streams do nothing unless polled"]
pub struct Read {
    body: BodyStream,
    parser: Parser,
    state: ReadState,
    idle: Option<Idle>,
}

struct Idle {
    timeout: Duration,
    deadline: Instant,
    /// Made on first poll, so that `read` works outside a runtime.
    timer: Option<Pin<Box<Sleep>>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReadState {
    Reading,
    /// The body ended; the events still in the parser come out.
    Draining,
    Done,
}

impl Read {
    /// Sets the maximum event size, in bytes. Call it before the first
    /// poll: it starts the parser over.
    pub fn max_event_size(mut self, bytes: usize) -> Read {
        self.parser = Parser::with_max_event_size(bytes);
        self
    }

    /// Ends the stream with an error for which [`Error::is_timeout`] holds
    /// when no bytes arrive for `timeout` (a stalled upstream).
    pub fn idle_timeout(mut self, timeout: Duration) -> Read {
        self.idle = Some(Idle {
            timeout,
            deadline: Instant::now(),
            timer: None,
        });
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

    /// Whether the stream has ended inside an event: the body was cut off
    /// (the last item was then an error for which [`Error::is_truncated`]
    /// holds), or a transport error or the idle timeout ended it there.
    pub fn is_truncated(&self) -> bool {
        self.state == ReadState::Done && self.parser.is_partial()
    }

    fn idle_elapsed(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(idle) = &mut self.idle else {
            return false;
        };
        let timer = idle.timer.get_or_insert_with(|| {
            idle.deadline = Instant::now() + idle.timeout;
            Box::pin(tokio::time::sleep_until(idle.deadline))
        });
        crate::connection::deadline_passed(timer, idle.deadline, cx)
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
                Err(err) => return Poll::Ready(Some(Err(Error::event_too_large(err)))),
                Ok(None) => {}
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
                        idle.deadline = Instant::now() + idle.timeout;
                    }
                }
                Poll::Ready(Some(Err(err))) => {
                    this.state = ReadState::Done;
                    return Poll::Ready(Some(Err(Error::reqwest(err))));
                }
                Poll::Ready(None) => {
                    this.parser.finish();
                    this.state = ReadState::Draining;
                }
                Poll::Pending => {
                    if !this.idle_elapsed(cx) {
                        return Poll::Pending;
                    }
                    this.state = ReadState::Done;
                    let timeout = this.idle.as_ref().map(|idle| idle.timeout);
                    return Poll::Ready(Some(Err(Error::timeout(timeout.unwrap_or_default()))));
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
            .finish_non_exhaustive()
    }
}
