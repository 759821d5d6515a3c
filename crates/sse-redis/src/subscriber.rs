//! One subscriber's stream: its replay, then live frames from this
//! process's reader.

use crate::Error;
use futures_core::{Stream, stream::FusedStream};
use sse_codec::Encoded;
use std::{
    fmt,
    pin::Pin,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
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
/// It ends (`None`) after the provider shuts down. Its last item is an
/// error when it ends for another reason: [`Error::Lagged`] if it fell
/// behind, [`Error::Unavailable`] if this process lost Redis,
/// [`Error::Reset`] if the stream was reset, [`Error::Trimmed`] if entries
/// were trimmed before this process read them; its client should then
/// reconnect and resume. Dropping it unsubscribes at once.
pub struct Subscriber {
    inner: sse_joe::Subscriber,
    /// Why the fan-out it subscribed to ended, once it has.
    end: Arc<OnceLock<End>>,
    closed: Arc<AtomicBool>,
    done: bool,
}

impl Subscriber {
    pub(crate) fn new(
        inner: sse_joe::Subscriber,
        end: Arc<OnceLock<End>>,
        closed: Arc<AtomicBool>,
    ) -> Subscriber {
        Subscriber {
            inner,
            end,
            closed,
            done: false,
        }
    }

    /// The number of frames waiting to be read.
    pub fn queued(&self) -> usize {
        self.inner.queued()
    }
}

impl Stream for Subscriber {
    type Item = Result<Encoded, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let item = match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Some(Ok(frame))) => return Poll::Ready(Some(Ok(frame))),
            Poll::Ready(Some(Err(error))) => Some(Err(Error::from_joe(error))),
            // The in-process fan-out ends at shutdown, when the reader loses
            // Redis, and when it finds the stream reset; the reason is set
            // before it ends.
            Poll::Ready(None) => match self.end.get() {
                Some(end) => Some(Err(end.error())),
                None if self.closed.load(Ordering::Acquire) => None,
                None => Some(Err(Error::Unavailable(None))),
            },
        };
        self.done = true;
        Poll::Ready(item)
    }
}

impl FusedStream for Subscriber {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriber")
            .field("queued", &self.queued())
            .finish_non_exhaustive()
    }
}
