//! The wake protocol: a subscriber's [`Waiter`] (its waiting flag and
//! waker, its positions), the poll that arms it and looks again, and the
//! wake pass of a publish or a close.

use super::Lagged;
use crate::{
    chunked::Chunked,
    sync::{Arc, AtomicBool, AtomicU64, Mutex, Ordering, fence},
};
use std::{
    panic::{AssertUnwindSafe, catch_unwind, resume_unwind},
    sync::PoisonError,
    task::{Poll, Waker},
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
        // Acquire: pairs with the Release store in `LogState::end`. The
        // flag is looked at on every pass of `poll`, the second look
        // included; the waker's lock orders it against the wake of the
        // ended subscriber (`wake(true)`, which comes after that store): a
        // waker registered before that wake took the lock is woken, one
        // registered after finds the flag set on the second look.
        self.lagged.load(Ordering::Acquire)
    }

    /// Reads the next item of `reader`. With none, arms the waiter with
    /// `waker` and looks once more before it returns `Pending`: an append
    /// or close that came before the flag was set is seen by this second
    /// look, and one that comes after sees the flag and wakes `waker`.
    pub(crate) fn poll<R: Read>(
        &self,
        reader: &mut R,
        waker: &Waker,
        registered: &mut Option<WakerId>,
    ) -> Poll<Found<R::Item>> {
        let mut armed = false;
        loop {
            if self.is_lagged() {
                return Poll::Ready(Found::Lagged);
            }
            match reader.read() {
                Ok(Some(item)) => {
                    if armed {
                        // Found on the look after arming: busy, and polled
                        // again before it waits, so a publish need not
                        // wake it.
                        self.disarm();
                    }
                    return Poll::Ready(Found::Item(item));
                }
                Ok(None) => {}
                Err(Lagged) => return Poll::Ready(Found::Lagged),
            }
            if reader.is_done() {
                return Poll::Ready(Found::Done);
            }
            // Nothing to read: wait, after one more look if an append may
            // have come before the waiter was armed.
            if armed || !self.arm(waker, registered) {
                return Poll::Pending;
            }
            armed = true;
        }
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
        // Release: pairs with the Acquire swap in `wake`, so that a
        // publisher that clears the flag set here wakes the waker stored
        // above.
        let was_clear = !self.waiting.swap(true, Ordering::Release);
        if was_clear {
            // Pairs with the fence in `wake_waiting`. The flag is set
            // before this fence and the second look loads (each log's tail
            // and `closed`, Joe's `finished`) after it; a publish or close
            // stores those before its fence and loads the flags after it.
            // One fence precedes the other: if this one, the publisher sees
            // the flag; if the publisher's, the second look sees its
            // stores. Either way no wakeup is lost.
            fence(Ordering::SeqCst);
        }
        was_clear
    }

    /// Clears the waiting flag set by [`arm`](Waiter::arm): the subscriber
    /// found something after all, and will look again before it waits.
    pub(crate) fn disarm(&self) {
        // Relaxed: nothing is published with it, and the subscriber arms
        // again (with a second look) before it waits. A swap rather than a
        // store: loom takes a plain store and a publisher's swap that it
        // did not read for unordered, and then lets the publisher's load
        // after its fence read the flag from before the later arm, a lost
        // wakeup the memory model rules out. A swap reads the value before
        // it, which orders them.
        self.waiting.swap(false, Ordering::Relaxed);
    }

    /// Wakes the subscriber if it waits (or unconditionally, with
    /// `always`). Runs the waker: never under a lock.
    pub(crate) fn wake(&self, always: bool) {
        // Loaded before it is swapped, so that a publish writes only to the
        // flags of the subscribers that wait. Relaxed: the fence in
        // `wake_waiting` orders it after the publish's stores, and the swap
        // decides.
        let waiting = self.waiting.load(Ordering::Relaxed);
        // Acquire: pairs with the Release swap in `arm`, for the waker.
        if (waiting && self.waiting.swap(false, Ordering::Acquire)) || always {
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

/// Wakes the subscribers in `lists` that wait: the wake pass of a publish
/// (the lists of the logs it appended to) or a close, once no lock is
/// held.
pub(crate) fn wake_waiting(lists: &[Waiters]) {
    if lists.is_empty() {
        return;
    }
    // Pairs with the fence in `Waiter::arm`: what the publish or close
    // stored (each log's tail, Joe's `finished`, a log's `closed`) comes
    // before this fence, the loads of the waiting flags after it.
    fence(Ordering::SeqCst);
    // A waker is the subscriber's executor's code: one that panics must not
    // leave the rest of the pass unwoken, waiting for a wake that never
    // comes. The first panic goes on once every waiter was woken.
    let mut panicked = None;
    for waiter in lists.iter().flat_map(Waiters::iter) {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| waiter.wake(false))) {
            panicked.get_or_insert(panic);
        }
    }
    if let Some(panic) = panicked {
        resume_unwind(panic);
    }
}

/// What [`Waiter::poll`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found<T> {
    /// The next item.
    Item(T),
    /// The subscriber was ended for lagging: it reads nothing more.
    Lagged,
    /// Every log it reads was closed, and it read them to the end.
    Done,
}

/// A subscriber's reading of the logs of its topics, which
/// [`Waiter::poll`] drives.
pub(crate) trait Read {
    type Item;

    /// The next item published, if any.
    fn read(&mut self) -> Result<Option<Self::Item>, Lagged>;

    /// Whether every log read was closed and read to its end.
    fn is_done(&self) -> bool;
}
