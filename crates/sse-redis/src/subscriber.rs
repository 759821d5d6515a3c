//! One subscriber's stream: its replay, read a page at a time, then live
//! frames from this process's reader.

use crate::{
    Error,
    replay::{Joined, Replay, Step},
    shared::Shared,
};
use futures_core::{Stream, stream::FusedStream};
use sse_codec::Encoded;
use std::{
    collections::VecDeque,
    fmt,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError, atomic::Ordering},
    task::{Context, Poll},
};

/// Why this process's fan-out ended its streams, other than shutdown.
#[derive(Debug)]
pub(crate) enum End {
    /// The reader lost Redis.
    Unavailable(redis::RedisError),
    /// The reader found a new instance of the stream.
    Reset,
    /// Entries were trimmed before the reader read them.
    Trimmed,
}

impl End {
    /// The error a stream that ended so ends with.
    pub(crate) fn error(&self) -> Error {
        match self {
            End::Unavailable(error) => Error::Unavailable(Some(error.clone())),
            End::Reset => Error::Reset,
            End::Trimmed => Error::Trimmed,
        }
    }
}

/// One subscriber's stream of frames, returned by
/// [`Redis::subscribe`](sse_codec::Provider::subscribe): the replay from
/// the stream, then the entries this process reads, live.
///
/// A replay is read a page at a time as the stream is read: at most 500
/// entries' frames, and past the first at most the
/// [byte limit](crate::RedisBuilder::max_queued_bytes) of a live
/// subscriber's queue (4 MiB by default), wait in it at once, however long
/// the history it replays. Once the replay reaches the entries this
/// process has handed out, the stream joins the live fan-out, with no gap
/// and no duplicate between the two.
///
/// It ends (`None`) after the provider shuts down. Its last item is an
/// error when it ends for another reason: [`Error::Lagged`] if it fell
/// behind, [`Error::Unavailable`] if this process lost Redis,
/// [`Error::Reset`] if the stream was reset, [`Error::Trimmed`] if entries
/// were trimmed before this process read them (or before its replay got
/// to them), [`Error::Redis`] if a page of its replay could not be read;
/// its client should then reconnect and resume. Dropping it unsubscribes
/// at once.
pub struct Subscriber {
    shared: Arc<Shared>,
    /// Replayed frames not yet yielded: at most a page.
    replayed: VecDeque<Encoded>,
    state: State,
}

/// A step of a replay under way. In a mutex only so that the stream is
/// `Sync`: it is reached through `&mut`, never locked.
type Stepping = Mutex<Pin<Box<dyn Future<Output = Result<Step, Error>> + Send>>>;

enum State {
    /// Replaying: the next page is read once `replayed` is empty.
    Replaying(Replay),
    /// Reading the next page, or joining the fan-out.
    Stepping(Stepping),
    Live(Joined),
    Done,
}

impl Subscriber {
    /// A subscriber whose replay gave `frames` so far, or joined the
    /// fan-out after them.
    pub(crate) fn new(shared: Arc<Shared>, step: Step) -> Subscriber {
        shared.streams.fetch_add(1, Ordering::Relaxed);
        let (state, frames) = match step {
            Step::Page(replay, frames) => (State::Replaying(replay), frames),
            Step::Live(joined, frames) => (State::Live(joined), frames),
        };
        Subscriber {
            shared,
            replayed: frames.into(),
            state,
        }
    }

    /// The number of frames waiting to be read: what is left of its
    /// replay's page, and what this process's fan-out holds for it.
    pub fn queued(&self) -> usize {
        self.replayed.len()
            + match &self.state {
                State::Live(joined) => joined.stream.queued(),
                _ => 0,
            }
    }

    /// The bytes of the frames waiting to be read.
    pub fn queued_bytes(&self) -> usize {
        self.replayed.iter().map(Encoded::len).sum::<usize>()
            + match &self.state {
                State::Live(joined) => joined.stream.queued_bytes(),
                _ => 0,
            }
    }

    /// Ends the stream with `item`.
    fn finish(
        &mut self,
        item: Option<Result<Encoded, Error>>,
    ) -> Poll<Option<Result<Encoded, Error>>> {
        self.state = State::Done;
        self.replayed.clear();
        Poll::Ready(item)
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.shared.streams.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Stream for Subscriber {
    type Item = Result<Encoded, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if matches!(this.state, State::Done) {
                return Poll::Ready(None);
            }
            if let Some(frame) = this.replayed.pop_front() {
                return Poll::Ready(Some(Ok(frame)));
            }
            match &mut this.state {
                State::Live(_) => return this.poll_live(cx),
                State::Stepping(step) => {
                    let step = step.get_mut().unwrap_or_else(PoisonError::into_inner);
                    let step = match step.as_mut().poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(step) => step,
                    };
                    match step {
                        Ok(Step::Page(replay, frames)) => {
                            this.replayed.extend(frames);
                            this.state = State::Replaying(replay);
                        }
                        Ok(Step::Live(joined, frames)) => {
                            this.replayed.extend(frames);
                            this.state = State::Live(joined);
                        }
                        Err(Error::Shutdown) => return this.finish(None),
                        Err(error) => return this.finish(Some(Err(error))),
                    }
                }
                State::Replaying(_) => {
                    if let State::Replaying(replay) =
                        std::mem::replace(&mut this.state, State::Done)
                    {
                        this.state = State::Stepping(Mutex::new(Box::pin(replay.step())));
                    }
                }
                State::Done => return Poll::Ready(None),
            }
        }
    }
}

impl Subscriber {
    fn poll_live(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Encoded, Error>>> {
        let State::Live(joined) = &mut self.state else {
            return Poll::Ready(None);
        };
        let item = match Pin::new(&mut joined.stream).poll_next(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Some(Ok(frame))) => return Poll::Ready(Some(Ok(frame))),
            Poll::Ready(Some(Err(error))) => Some(Err(Error::from_joe(error))),
            // The in-process fan-out ends at shutdown, when the reader loses
            // Redis, and when it finds the stream reset; the reason is set
            // before it ends.
            Poll::Ready(None) => match joined.end.get() {
                Some(end) => Some(Err(end.error())),
                None if self.shared.closed.load(Ordering::Acquire) => None,
                None => Some(Err(Error::Unavailable(None))),
            },
        };
        self.finish(item)
    }
}

impl FusedStream for Subscriber {
    fn is_terminated(&self) -> bool {
        matches!(self.state, State::Done)
    }
}

impl fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Replaying(_) | State::Stepping(_) => "replaying",
            State::Live(_) => "live",
            State::Done => "done",
        };
        f.debug_struct("Subscriber")
            .field("state", &state)
            .field("queued", &self.queued())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_send_sync() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Subscriber>();
    }
}
