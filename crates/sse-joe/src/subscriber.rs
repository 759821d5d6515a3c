//! One subscriber's queue and the stream that drains it.

use crate::{Error, joe::Inner};
use futures_core::{Stream, stream::FusedStream};
use sse_codec::Frame;
use std::{
    collections::VecDeque,
    fmt,
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    task::{Context, Poll, Waker},
};

/// The frames waiting for one subscriber.
///
/// Shared by the publisher side (through Joe's registry) and the
/// [`Subscriber`] stream. The lock is held only to move a frame in or out
/// and is never held across an `.await`.
pub(crate) struct Queue {
    state: Mutex<QueueState>,
}

struct QueueState {
    /// The replay, drained first. Not bounded by the capacity: it is a
    /// snapshot of the replayer (frames shared with it), taken once.
    replay: VecDeque<Frame>,
    /// Live frames, at most `capacity`.
    live: VecDeque<Frame>,
    capacity: usize,
    waker: Option<Waker>,
    end: End,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// Live: more frames may come.
    Open,
    /// Joe shut down: end after the queued frames.
    Shutdown,
    /// The live queue overflowed: yield the lag error after the queued
    /// frames, then end.
    Lagged,
    /// Finished: the stream returned `None` or its error.
    Done,
}

/// What [`Queue::push`] did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Queued.
    Queued,
    /// The queue was full: the subscriber is now ended with a lag error.
    Overflowed,
    /// The subscriber had already ended; nothing happened.
    Closed,
}

impl Queue {
    pub(crate) fn new(capacity: usize, replay: VecDeque<Frame>) -> Queue {
        Queue {
            state: Mutex::new(QueueState {
                replay,
                live: VecDeque::new(),
                capacity,
                waker: None,
                end: End::Open,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // Nothing panics while holding this lock; recover anyway.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a frame, without ever waiting. The reader's waker, if it
    /// waits, is added to `wakers`: the caller wakes it once it holds no
    /// lock, since waking may run code that drops a subscriber, which takes
    /// Joe's lock.
    pub(crate) fn push(&self, frame: &Frame, wakers: &mut Vec<Waker>) -> Pushed {
        let mut state = self.lock();
        if state.end != End::Open {
            return Pushed::Closed;
        }
        let pushed = if state.live.len() < state.capacity {
            // The deque grows to at most `capacity` once and then keeps its
            // buffer, so a steady publish allocates nothing here.
            state.live.push_back(frame.clone());
            Pushed::Queued
        } else {
            state.end = End::Lagged;
            Pushed::Overflowed
        };
        wakers.extend(state.waker.take());
        pushed
    }

    /// Ends the stream after the queued frames (shutdown); the reader's
    /// waker is added to `wakers`, as in [`push`](Queue::push).
    pub(crate) fn close(&self, wakers: &mut Vec<Waker>) {
        let mut state = self.lock();
        if state.end == End::Open {
            state.end = End::Shutdown;
        }
        wakers.extend(state.waker.take());
    }

    fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame, Error>>> {
        let mut state = self.lock();
        if let Some(frame) = state.replay.pop_front() {
            return Poll::Ready(Some(Ok(frame)));
        }
        if let Some(frame) = state.live.pop_front() {
            return Poll::Ready(Some(Ok(frame)));
        }
        match state.end {
            End::Open => {
                match &mut state.waker {
                    Some(waker) if waker.will_wake(cx.waker()) => {}
                    slot => *slot = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            End::Lagged => {
                state.end = End::Done;
                let capacity = state.capacity;
                Poll::Ready(Some(Err(Error::Lagged { capacity })))
            }
            End::Shutdown | End::Done => {
                state.end = End::Done;
                Poll::Ready(None)
            }
        }
    }

    fn is_terminated(&self) -> bool {
        self.lock().end == End::Done
    }

    fn len(&self) -> usize {
        let state = self.lock();
        state.replay.len() + state.live.len()
    }
}

/// One subscriber's stream of frames, returned by
/// [`Joe::subscribe`](sse_codec::Provider::subscribe): the replay, then live
/// messages.
///
/// It ends (`None`) after Joe shuts down, once the frames already queued
/// are out. If the subscriber falls more than the queue capacity behind,
/// its last item is [`Error::Lagged`], the reason it was dropped, and it
/// ends. Dropping it unsubscribes at once.
pub struct Subscriber {
    queue: Arc<Queue>,
    joe: Arc<Inner>,
    /// Where the registry holds this subscriber, and its unique ID, so that
    /// a dropped stream never removes a newer subscriber in a reused slot.
    slot: usize,
    id: u64,
}

impl Subscriber {
    pub(crate) fn new(queue: Arc<Queue>, joe: Arc<Inner>, slot: usize, id: u64) -> Subscriber {
        Subscriber {
            queue,
            joe,
            slot,
            id,
        }
    }

    /// This subscriber's ID, unique within its [`Joe`](crate::Joe); the
    /// `subscriber` field of Joe's `tracing` events.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The number of frames waiting to be read.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }
}

impl Stream for Subscriber {
    type Item = Result<Frame, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.queue.poll_next(cx)
    }
}

impl FusedStream for Subscriber {
    fn is_terminated(&self) -> bool {
        self.queue.is_terminated()
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.joe.unsubscribe(self.slot, self.id);
    }
}

impl fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriber")
            .field("id", &self.id)
            .field("queued", &self.queued())
            .finish_non_exhaustive()
    }
}
