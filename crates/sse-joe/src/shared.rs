//! A subscriber's replay and end, shared by Joe's registry and the
//! subscriber's stream.

use sse_codec::Encoded;
use std::{
    collections::VecDeque,
    sync::{
        Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
};

/// What Joe's registry shares with a subscriber's stream: the replay, which
/// Joe frees at once when the subscriber lags, and whether Joe ended it.
#[derive(Default)]
pub(crate) struct Shared {
    replay: Mutex<Replay>,
    /// Whether `replay` may hold frames: once it is drained, reads skip
    /// its lock.
    has_replay: AtomicBool,
    /// Ended by Joe: lagged, or shut down.
    ended: AtomicBool,
}

#[derive(Default)]
struct Replay {
    frames: VecDeque<Encoded>,
    bytes: usize,
}

impl Shared {
    pub(crate) fn new(replay: VecDeque<Encoded>) -> Shared {
        let shared = Shared::default();
        shared.prepend(replay);
        shared
    }

    fn lock(&self) -> MutexGuard<'_, Replay> {
        // Nothing panics while holding this lock; recover anyway.
        self.replay.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn prepend(&self, frames: VecDeque<Encoded>) {
        if frames.is_empty() {
            return;
        }
        let mut replay = self.lock();
        replay.bytes += frames.iter().map(Encoded::len).sum::<usize>();
        let mut frames = frames;
        frames.append(&mut replay.frames);
        replay.frames = frames;
        self.has_replay.store(true, Ordering::Release);
    }

    /// Whether Joe ended the subscriber: it lagged, or Joe shut down.
    pub(crate) fn is_ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    /// Marks the subscriber ended at shutdown: it still reads what is
    /// queued, but takes no more prepended frames.
    pub(crate) fn close(&self) {
        self.ended.store(true, Ordering::Release);
    }

    /// Marks the subscriber ended for lagging and takes its replay, to be
    /// dropped once no lock is held.
    pub(crate) fn end(&self) -> VecDeque<Encoded> {
        self.ended.store(true, Ordering::Release);
        let mut replay = self.lock();
        replay.bytes = 0;
        std::mem::take(&mut replay.frames)
    }

    /// The replay's frames and bytes.
    pub(crate) fn replay_usage(&self) -> (usize, usize) {
        if !self.has_replay.load(Ordering::Acquire) {
            return (0, 0);
        }
        let replay = self.lock();
        (replay.frames.len(), replay.bytes)
    }

    pub(crate) fn pop_replay(&self) -> Option<Encoded> {
        if !self.has_replay.load(Ordering::Acquire) {
            return None;
        }
        let mut replay = self.lock();
        let frame = replay.frames.pop_front();
        match &frame {
            Some(frame) => replay.bytes -= frame.len(),
            None => self.has_replay.store(false, Ordering::Release),
        }
        frame
    }
}
