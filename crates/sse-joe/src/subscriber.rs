//! One subscriber's queue and the stream that drains it.

use crate::{Error, joe::Inner};
use futures_core::{Stream, stream::FusedStream};
use sse_codec::Encoded;
use std::{
    collections::VecDeque,
    fmt, mem,
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
    /// At most this many live frames wait...
    capacity: usize,
    /// ...holding at most this many bytes (or one frame, if larger).
    max_bytes: usize,
}

struct QueueState {
    /// The replay, drained first. Not bounded by the capacity: it is a
    /// snapshot of the replayer (frames shared with it), taken once, and
    /// freed with the live frames if the subscriber lags.
    replay: VecDeque<Encoded>,
    /// Live frames, at most `capacity` and `max_bytes`.
    live: VecDeque<Encoded>,
    /// The bytes in `live`.
    live_bytes: usize,
    /// The bytes in `replay`.
    replay_bytes: usize,
    waker: Option<Waker>,
    end: End,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// Live: more frames may come.
    Open,
    /// Joe shut down: end after the queued frames.
    Shutdown,
    /// The live queue overflowed and was emptied: yield the lag error, then
    /// end.
    Lagged,
    /// Finished: the stream returned `None` or its error.
    Done,
}

/// What [`Queue::push`] did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Queued.
    Queued,
    /// The queue was full: the subscriber is now ended with a lag error,
    /// and its frames were moved into the caller's `freed` list.
    Overflowed,
    /// The subscriber had already ended; nothing happened.
    Closed,
}

/// Frames taken out of a lagged subscriber's queue, to be dropped once no
/// lock is held (the last reference to a frame frees its buffer).
pub(crate) type Freed = [VecDeque<Encoded>; 2];

/// How much one queue holds: frames and bytes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Usage {
    pub(crate) frames: usize,
    pub(crate) bytes: usize,
}

impl Queue {
    pub(crate) fn new(capacity: usize, max_bytes: usize, replay: VecDeque<Encoded>) -> Queue {
        let replay_bytes = replay.iter().map(Encoded::len).sum();
        Queue {
            state: Mutex::new(QueueState {
                replay,
                live: VecDeque::new(),
                live_bytes: 0,
                replay_bytes,
                waker: None,
                end: End::Open,
            }),
            capacity,
            max_bytes,
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
    ///
    /// A frame that does not fit (the queue holds `capacity` frames, or
    /// adding it would pass `max_bytes`) ends the subscriber: everything it
    /// held goes to `freed` at once, so that a reader that never reads
    /// keeps nothing alive, and its next poll yields the lag error.
    pub(crate) fn push(
        &self,
        frame: &Encoded,
        wakers: &mut Vec<Waker>,
        freed: &mut Vec<Freed>,
    ) -> Pushed {
        let mut state = self.lock();
        if state.end != End::Open {
            return Pushed::Closed;
        }
        // One frame always fits an empty queue, however large, so that a
        // subscriber that keeps up receives every event.
        let fits = state.live.is_empty()
            || (state.live.len() < self.capacity
                && state.live_bytes.saturating_add(frame.len()) <= self.max_bytes);
        let pushed = if fits {
            // The deque grows to its peak once and then keeps its buffer,
            // so a steady publish allocates nothing here.
            state.live.push_back(frame.clone());
            state.live_bytes += frame.len();
            Pushed::Queued
        } else {
            state.end = End::Lagged;
            state.live_bytes = 0;
            state.replay_bytes = 0;
            freed.push([mem::take(&mut state.live), mem::take(&mut state.replay)]);
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

    fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Option<Result<Encoded, Error>>> {
        let mut state = self.lock();
        if let Some(frame) = state.replay.pop_front() {
            state.replay_bytes -= frame.len();
            return Poll::Ready(Some(Ok(frame)));
        }
        if let Some(frame) = state.live.pop_front() {
            state.live_bytes -= frame.len();
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
                Poll::Ready(Some(Err(Error::Lagged {
                    capacity: self.capacity,
                    max_bytes: self.max_bytes,
                })))
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

    /// Queues `frames` before everything else, if still open.
    fn prepend(&self, frames: impl IntoIterator<Item = Encoded>) -> bool {
        let mut state = self.lock();
        if state.end != End::Open {
            return false;
        }
        let mut frames: VecDeque<Encoded> = frames.into_iter().collect();
        state.replay_bytes += frames.iter().map(Encoded::len).sum::<usize>();
        frames.append(&mut state.replay);
        state.replay = frames;
        let waker = state.waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }

    /// The frames and bytes waiting, the replay included.
    pub(crate) fn usage(&self) -> Usage {
        let state = self.lock();
        Usage {
            frames: state.replay.len() + state.live.len(),
            bytes: state.replay_bytes + state.live_bytes,
        }
    }
}

/// One subscriber's stream of frames, returned by
/// [`Joe::subscribe`](sse_codec::Provider::subscribe): the replay, then live
/// messages.
///
/// It ends (`None`) after Joe shuts down, once the frames already queued
/// are out. If the subscriber falls behind (its queue holds the
/// [capacity](crate::JoeBuilder::capacity) in frames or the
/// [byte limit](crate::JoeBuilder::max_queued_bytes)), Joe drops everything
/// queued for it at once and its next item is [`Error::Lagged`], the last:
/// its client should reconnect and resume from the replayer. Dropping it
/// unsubscribes at once.
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
        self.queue.usage().frames
    }

    /// The number of bytes waiting to be read.
    pub fn queued_bytes(&self) -> usize {
        self.queue.usage().bytes
    }

    /// Queues `frames` ahead of everything queued for this subscriber, as
    /// its replay: for a provider built on Joe that keeps its history
    /// elsewhere, which subscribes first (so that nothing published from
    /// then on is missed), then fetches what the subscriber missed before
    /// and hands it here. Like a replay, the frames do not count against
    /// the queue's bounds, and are dropped if the subscriber lags.
    ///
    /// Returns `false`, queuing nothing, if the stream has already ended
    /// (it lagged, or Joe shut down): its client must reconnect anyway.
    pub fn prepend(&self, frames: impl IntoIterator<Item = Encoded>) -> bool {
        self.queue.prepend(frames)
    }
}

impl Stream for Subscriber {
    type Item = Result<Encoded, Error>;

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
        let usage = self.queue.usage();
        f.debug_struct("Subscriber")
            .field("id", &self.id)
            .field("queued", &usage.frames)
            .field("queued_bytes", &usage.bytes)
            .finish_non_exhaustive()
    }
}
