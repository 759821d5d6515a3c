//! A subscriber's side of its readers: its waiting flag and waker, its
//! positions, and the list of them each log wakes.

use crate::chunked::Chunked;
use std::{
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    task::Waker,
};

/// A subscriber's side of its readers, shared with the logs of its topics:
/// how to wake it, whether it was ended, and where it is in each log.
///
/// What a subscriber writes on every read is here, in 64 bytes (for one
/// topic), what its reads and its wakes touch. Not aligned to a cache
/// line: an aligned allocation costs more memory per idle subscriber than
/// sharing a line with a neighbour costs time.
pub(crate) struct Waiter {
    /// Set by the subscriber when it found nothing to read, cleared by the
    /// publisher that wakes it.
    pub(super) waiting: AtomicBool,
    /// Set when a log ended the subscriber for lagging.
    pub(super) lagged: AtomicBool,
    /// The index of the next entry to read in its first log, published by
    /// the subscriber after each read for the log's bookkeeping; `more`
    /// has the same for its other logs.
    next: AtomicU64,
    /// Live frames the subscriber took; only it writes this.
    delivered: AtomicU64,
    waker: Mutex<Option<Waker>>,
    more: Box<[AtomicU64]>,
}

impl Waiter {
    /// A waiter for a subscriber of `logs` logs.
    pub(crate) fn new(logs: usize) -> Waiter {
        Waiter {
            waiting: AtomicBool::new(false),
            lagged: AtomicBool::new(false),
            next: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            waker: Mutex::new(None),
            more: (1..logs).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// The subscriber's position in its log `which`.
    pub(super) fn next(&self, which: usize) -> &AtomicU64 {
        match which.checked_sub(1) {
            None => &self.next,
            Some(i) => &self.more[i],
        }
    }

    /// Counts frames taken.
    pub(crate) fn count(&self, frames: usize) {
        let now = self.delivered.load(Ordering::Relaxed);
        self.delivered.store(now + frames as u64, Ordering::Relaxed);
    }

    /// Live frames the subscriber took.
    pub(crate) fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// Whether a log ended the subscriber for lagging.
    pub(crate) fn is_lagged(&self) -> bool {
        self.lagged.load(Ordering::Acquire)
    }

    /// Registers `waker` (unless `registered` says it already is) and sets
    /// the waiting flag. Returns whether the flag was clear: then the
    /// caller must look for entries once more before it waits, as an append
    /// may have come before the flag was set. If it was set, no append woke
    /// the subscriber since it was set, and the next one will.
    pub(crate) fn arm(&self, waker: &Waker, registered: &mut Option<WakerId>) -> bool {
        let id = WakerId::of(waker);
        if *registered != Some(id) {
            let old = self
                .waker
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .replace(waker.clone());
            *registered = Some(id);
            drop(old);
        }
        !self.waiting.swap(true, Ordering::SeqCst)
    }

    /// Clears the waiting flag set by [`arm`](Waiter::arm): the subscriber
    /// found something after all, and will look again before it waits.
    pub(crate) fn disarm(&self) {
        self.waiting.store(false, Ordering::SeqCst);
    }

    /// Wakes the subscriber if it waits (or unconditionally, with
    /// `always`). Runs the waker: never under a lock.
    pub(crate) fn wake(&self, always: bool) {
        let waiting = self.waiting.load(Ordering::SeqCst);
        if (waiting && self.waiting.swap(false, Ordering::SeqCst)) || always {
            let waker = self
                .waker
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

/// Which waker a subscriber registered, without holding a clone of it
/// (a reference count on its task): two wakers with the same data and
/// vtable wake the same way, which is what [`Waker::will_wake`] compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WakerId(usize, usize);

impl WakerId {
    fn of(waker: &Waker) -> WakerId {
        WakerId(
            waker.data() as usize,
            std::ptr::from_ref(waker.vtable()) as usize,
        )
    }
}

/// The waiters registered in a log, which each append takes (a reference
/// count) to wake them once no lock is held.
///
/// Copied on write, in chunks ([`Chunked`]): a subscriber joining or
/// leaving while a publisher still holds the list copies the list of
/// chunks and the chunk it changes, not every waiter.
pub(crate) type Waiters = Chunked<Arc<Waiter>>;
