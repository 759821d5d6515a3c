//! A topic's log: a publish appends a frame to it once, and every
//! subscriber of the topic reads it with its own cursor.
//!
//! An entry stays until every reader has passed it, or until the log holds
//! more than its bounds (frames or bytes): then the oldest entry is
//! evicted, and the readers that had not read it are ended (they lagged).
//! So a publish costs the same whatever the number of subscribers, a
//! reader takes up to a [`Limit`] of new entries in one lock, and memory is
//! bounded per topic, shared by its subscribers, whatever they fail to
//! read.
//!
//! Each read registers the reader's waker in `waiting` (once per append:
//! a reader that read and polls again with the same waker is already
//! there); an append takes the whole list in O(1) (swapping in an empty
//! buffer) and the publisher wakes them once it holds no lock.

use sse_codec::Encoded;
use std::{
    collections::VecDeque,
    mem,
    sync::{
        Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    task::Waker,
};

/// Wakers taken from a log, each with its reader's index.
pub(crate) type Waiting = Vec<(usize, Waker)>;

pub(crate) struct Log {
    state: Mutex<LogState>,
    /// Read by every reader on every poll and written once per append: on
    /// a cache line of its own, so that readers writing `state` under the
    /// lock do not take it from the others.
    quiet: Quiet,
}

/// The index the next appended entry gets, published after each append,
/// and whether the log was closed: a reader that is registered and has
/// read up to here has nothing to do, and can tell without the lock.
#[repr(align(128))]
struct Quiet {
    tail: AtomicU64,
    closed: AtomicBool,
}

pub(crate) struct LogState {
    entries: VecDeque<Slot>,
    /// The index of `entries[0]`; entry `i` has index `first + i`.
    first: u64,
    /// The bytes of the frames in `entries`.
    bytes: usize,
    /// The bytes of every frame ever appended: with each slot's `offset`,
    /// what a reader has not read, in O(1).
    appended: u64,
    readers: Vec<Option<Reader>>,
    free: Vec<usize>,
    /// Readers not ended: each new entry waits for this many.
    active: usize,
    /// Readers to wake on the next append, registered in this epoch.
    waiting: Waiting,
    /// Counts the times `waiting` was taken, so that a reader knows whether
    /// its registration (and its position in `waiting`) is current.
    epoch: u64,
    closed: bool,
}

struct Slot {
    /// The publish's sequence number in Joe, which orders entries across
    /// topics.
    seq: u64,
    frame: Encoded,
    /// `appended` before this entry.
    offset: u64,
    /// Readers that have not read it yet.
    remaining: usize,
}

/// How much one read takes: at most `frames` entries and, past the first,
/// `bytes` bytes, none published after the sequence number `upto`. What a
/// subscriber has taken and not yet yielded is its own, beyond the log's
/// bounds: this keeps it small.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limit {
    pub(crate) frames: usize,
    pub(crate) bytes: usize,
    pub(crate) upto: u64,
}

impl Limit {
    /// One batch: 64 frames, 64 KiB.
    pub(crate) const BATCH: Limit = Limit {
        frames: 64,
        bytes: 64 * 1024,
        upto: u64::MAX,
    };
}

struct Reader {
    /// The index of the next entry to read.
    next: u64,
    /// The subscriber's registry slot and ID in Joe.
    owner: Owner,
    /// Ended for lagging: reads nothing more, counts in no entry.
    ended: bool,
    /// The epoch and position of its registration in `waiting`.
    waiting: Option<(u64, usize)>,
}

/// A subscriber's registry slot and ID in Joe.
pub(crate) type Owner = (usize, u64);

/// What a read found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Read {
    /// This many frames, added to the output.
    Got(usize),
    /// Nothing new.
    Pending,
    /// Nothing new, and nothing more will come: Joe shut down.
    Closed,
    /// The reader fell behind and was ended.
    Lagged,
}

/// How much a log holds, for [`Stats`](crate::Stats).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Held {
    pub(crate) frames: usize,
    pub(crate) bytes: usize,
}

impl Log {
    pub(crate) fn new() -> Log {
        Log {
            state: Mutex::new(LogState {
                entries: VecDeque::new(),
                first: 0,
                bytes: 0,
                appended: 0,
                readers: Vec::new(),
                free: Vec::new(),
                active: 0,
                waiting: Vec::new(),
                epoch: 0,
                closed: false,
            }),
            quiet: Quiet {
                tail: AtomicU64::new(0),
                closed: AtomicBool::new(false),
            },
        }
    }

    /// Appends a published frame: [`LogState::append`], then publishes the
    /// new tail for readers' [`is_quiet`](Log::is_quiet).
    pub(crate) fn append(
        &self,
        seq: u64,
        frame: &Encoded,
        bounds: (usize, usize),
        spare: Waiting,
        lagged: &mut Vec<Owner>,
        wake: &mut Vec<Waker>,
    ) -> Waiting {
        let mut state = self.lock();
        let waiting = state.append(seq, frame, bounds, spare, lagged, wake);
        self.quiet.tail.store(state.tail(), Ordering::Release);
        waiting
    }

    /// Ends the log after what it holds (Joe shut down); returns the
    /// waiting readers' wakers.
    pub(crate) fn close(&self) -> Waiting {
        let mut state = self.lock();
        state.closed = true;
        state.epoch += 1;
        self.quiet.closed.store(true, Ordering::Release);
        mem::take(&mut state.waiting)
    }

    /// Whether nothing was appended since the tail `seen` and the log is
    /// open: then a reader that registered its waker when it read up to
    /// `seen` is still registered, and has nothing to read.
    pub(crate) fn is_quiet(&self, seen: u64) -> bool {
        self.quiet.tail.load(Ordering::Acquire) == seen
            && !self.quiet.closed.load(Ordering::Acquire)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, LogState> {
        // Nothing panics while holding this lock; recover anyway.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl LogState {
    /// Adds a reader that starts with the next entry appended.
    pub(crate) fn add_reader(&mut self, owner: Owner) -> usize {
        let reader = Reader {
            next: self.tail(),
            owner,
            ended: false,
            waiting: None,
        };
        self.active += 1;
        match self.free.pop() {
            Some(index) => {
                self.readers[index] = Some(reader);
                index
            }
            None => {
                self.readers.push(Some(reader));
                self.readers.len() - 1
            }
        }
    }

    /// Removes a reader (its subscriber was dropped): what it had not read
    /// no longer waits for it. Its registered waker, if any, goes to
    /// `dispose`, to be dropped once no lock is held.
    pub(crate) fn remove_reader(&mut self, index: usize, dispose: &mut Vec<Waker>) {
        self.end(index, dispose);
        if let Some(slot) = self.readers.get_mut(index) {
            if slot.take().is_some() {
                self.free.push(index);
            }
        }
    }

    /// Whether no reader is left, ended or not.
    pub(crate) fn is_unread(&self) -> bool {
        self.free.len() == self.readers.len()
    }

    /// Ends a reader: it reads nothing more and no entry waits for it. Its
    /// registered waker, if any, goes to `wake`.
    pub(crate) fn end(&mut self, index: usize, wake: &mut Vec<Waker>) {
        if let Some(next) = self.mark_ended(index, wake) {
            let from = next.saturating_sub(self.first) as usize;
            self.release(from, 1);
        }
    }

    /// Marks a reader ended and unregisters it; returns where it was, or
    /// `None` if it was already ended or is gone. Its entries still count
    /// it: [`release`](LogState::release) them.
    fn mark_ended(&mut self, index: usize, wake: &mut Vec<Waker>) -> Option<u64> {
        let reader = self.readers.get_mut(index).and_then(Option::as_mut)?;
        if mem::replace(&mut reader.ended, true) {
            return None;
        }
        let next = reader.next;
        self.active -= 1;
        wake.extend(self.unregister(index));
        Some(next)
    }

    /// Takes `readers` ended readers out of the entries from `from` on,
    /// and drops the entries no one waits for any more.
    fn release(&mut self, from: usize, readers: usize) {
        for slot in self.entries.range_mut(from..) {
            slot.remaining -= readers;
        }
        self.trim();
    }

    /// The index the next appended entry gets.
    pub(crate) fn tail(&self) -> u64 {
        self.first + self.entries.len() as u64
    }

    /// Drops the oldest entries that every reader has read.
    fn trim(&mut self) {
        while self.entries.front().is_some_and(|slot| slot.remaining == 0) {
            self.pop();
        }
    }

    fn pop(&mut self) -> Option<Slot> {
        let slot = self.entries.pop_front()?;
        self.first += 1;
        self.bytes -= slot.frame.len();
        Some(slot)
    }

    /// Appends a published frame for the active readers, evicting the
    /// oldest entries past `capacity` frames or `max_bytes` bytes (one
    /// entry always fits) and ending the readers that had not read them;
    /// their owners go to `lagged`, their wakers to `wake`.
    ///
    /// Returns the readers waiting for an entry, swapped for `spare` (an
    /// empty buffer, whose capacity the log then reuses).
    fn append(
        &mut self,
        seq: u64,
        frame: &Encoded,
        (capacity, max_bytes): (usize, usize),
        spare: Waiting,
        lagged: &mut Vec<Owner>,
        wake: &mut Vec<Waker>,
    ) -> Waiting {
        if self.active == 0 {
            return spare;
        }
        self.entries.push_back(Slot {
            seq,
            frame: frame.clone(),
            offset: self.appended,
            remaining: self.active,
        });
        self.bytes += frame.len();
        self.appended += frame.len() as u64;
        while self.entries.len() > capacity || (self.bytes > max_bytes && self.entries.len() > 1) {
            let Some(evicted) = self.pop() else { break };
            if evicted.remaining > 0 {
                self.end_lagging(lagged, wake);
            }
        }
        self.trim();
        self.epoch += 1;
        mem::replace(&mut self.waiting, spare)
    }

    /// Ends every reader behind the oldest entry: it missed what was
    /// evicted. Rare (a reader fell a whole log behind), so a scan; every
    /// entry held counts each of them, so one pass releases them all.
    fn end_lagging(&mut self, lagged: &mut Vec<Owner>, wake: &mut Vec<Waker>) {
        let mut ended = 0;
        for index in 0..self.readers.len() {
            let owner = match &self.readers[index] {
                Some(reader) if !reader.ended && reader.next < self.first => reader.owner,
                _ => continue,
            };
            if self.mark_ended(index, wake).is_some() {
                lagged.push(owner);
                ended += 1;
            }
        }
        if ended > 0 {
            self.release(0, ended);
        }
    }

    /// Reads the entries the reader has not read, up to `limit`, into
    /// `out` (with each entry's sequence number), and registers `waker` for
    /// the next append (unless the log is closed); a waker it replaced goes
    /// to `dispose`, to be dropped once no lock is held.
    pub(crate) fn read(
        &mut self,
        index: usize,
        waker: &Waker,
        limit: Limit,
        out: &mut impl Extend<(u64, Encoded)>,
        dispose: &mut Vec<Waker>,
    ) -> Read {
        let Some(reader) = self.readers.get_mut(index).and_then(Option::as_mut) else {
            return Read::Closed;
        };
        if reader.ended {
            return Read::Lagged;
        }
        let from = (reader.next - self.first) as usize;
        let mut got = 0;
        let mut bytes = 0;
        for slot in self.entries.range(from..) {
            if got == limit.frames
                || slot.seq > limit.upto
                || (got > 0 && bytes + slot.frame.len() > limit.bytes)
            {
                break;
            }
            got += 1;
            bytes += slot.frame.len();
        }
        if got > 0 {
            reader.next += got as u64;
            out.extend(self.entries.range_mut(from..from + got).map(|slot| {
                slot.remaining -= 1;
                (slot.seq, slot.frame.clone())
            }));
            self.trim();
        }
        if !self.closed {
            // Registered now, so that the reader's next poll finds it
            // registered and can wait without taking the lock again.
            dispose.extend(self.register(index, waker));
        }
        match got {
            0 if self.closed => Read::Closed,
            0 => Read::Pending,
            got => Read::Got(got),
        }
    }

    /// Registers `waker` for the next append, once per epoch; returns a
    /// waker it replaced.
    fn register(&mut self, index: usize, waker: &Waker) -> Option<Waker> {
        let reader = self.readers.get_mut(index).and_then(Option::as_mut)?;
        match reader.waiting {
            Some((epoch, at)) if epoch == self.epoch => {
                let held = &mut self.waiting[at].1;
                if held.will_wake(waker) {
                    None
                } else {
                    Some(mem::replace(held, waker.clone()))
                }
            }
            _ => {
                reader.waiting = Some((self.epoch, self.waiting.len()));
                self.waiting.push((index, waker.clone()));
                None
            }
        }
    }

    /// Takes a reader out of `waiting`, returning its waker.
    fn unregister(&mut self, index: usize) -> Option<Waker> {
        let reader = self.readers.get_mut(index)?.as_mut()?;
        let (epoch, at) = reader.waiting.take()?;
        if epoch != self.epoch {
            return None;
        }
        let (_, waker) = self.waiting.swap_remove(at);
        if let Some(&(moved, _)) = self.waiting.get(at) {
            if let Some(moved) = self.readers[moved].as_mut() {
                moved.waiting = Some((epoch, at));
            }
        }
        Some(waker)
    }

    /// Whether the reader has read everything the log holds (or reads
    /// nothing more: it was ended or removed).
    pub(crate) fn is_read_up(&self, index: usize) -> bool {
        match self.readers.get(index).and_then(Option::as_ref) {
            Some(reader) if !reader.ended => reader.next == self.tail(),
            _ => true,
        }
    }

    /// How many entries the reader has not read yet, and their bytes, in
    /// O(1).
    pub(crate) fn unread(&self, index: usize) -> Held {
        match self.readers.get(index).and_then(Option::as_ref) {
            Some(reader) if !reader.ended => {
                let from = (reader.next - self.first) as usize;
                Held {
                    frames: self.entries.len() - from,
                    bytes: self
                        .entries
                        .get(from)
                        .map_or(0, |slot| (self.appended - slot.offset) as usize),
                }
            }
            _ => Held::default(),
        }
    }

    /// The sequence number and size of the first `max` entries the reader
    /// has not read.
    pub(crate) fn unread_entries(&self, index: usize, max: usize, out: &mut Vec<(u64, usize)>) {
        if let Some(reader) = self.readers.get(index).and_then(Option::as_ref) {
            if !reader.ended {
                let from = (reader.next - self.first) as usize;
                out.extend(
                    self.entries
                        .range(from..)
                        .take(max)
                        .map(|slot| (slot.seq, slot.frame.len())),
                );
            }
        }
    }

    /// The entries held, and their bytes.
    pub(crate) fn held(&self) -> Held {
        Held {
            frames: self.entries.len(),
            bytes: self.bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: (usize, usize) = (3, usize::MAX);

    fn frame(text: &str) -> Encoded {
        Encoded::from(&sse_codec::Message::new().data(text))
    }

    struct Nothing;

    impl std::task::Wake for Nothing {
        fn wake(self: std::sync::Arc<Self>) {}
    }

    fn read(log: &mut LogState, index: usize) -> (Read, Vec<u64>) {
        thread_local! {
            static WAKER: Waker = Waker::from(std::sync::Arc::new(Nothing));
        }
        let mut out = Vec::new();
        let mut replaced = Vec::new();
        let read =
            WAKER.with(|waker| log.read(index, waker, Limit::BATCH, &mut out, &mut replaced));
        assert!(replaced.is_empty(), "the same waker is not replaced");
        (read, out.into_iter().map(|(seq, _)| seq).collect())
    }

    #[test]
    fn readers_get_every_entry_once_and_read_entries_go() {
        let log = Log::new();
        let mut log = log.lock();
        let (a, b) = (log.add_reader((0, 0)), log.add_reader((1, 1)));
        let (mut lagged, mut wake) = (Vec::new(), Vec::new());
        for seq in 1..=2 {
            log.append(seq, &frame("x"), BOUNDS, Vec::new(), &mut lagged, &mut wake);
        }
        assert_eq!(read(&mut log, a), (Read::Got(2), vec![1, 2]));
        assert_eq!(log.held().frames, 2, "b has not read them");
        assert_eq!(read(&mut log, b), (Read::Got(2), vec![1, 2]));
        assert_eq!(log.held().frames, 0);
        assert!(read(&mut log, a).0 == Read::Pending);
        assert!(lagged.is_empty() && wake.is_empty());
    }

    #[test]
    fn a_reader_a_whole_log_behind_is_ended_and_releases_the_rest() {
        let log = Log::new();
        let mut log = log.lock();
        let (fast, slow) = (log.add_reader((0, 0)), log.add_reader((1, 1)));
        assert!(read(&mut log, slow).0 == Read::Pending);
        let (mut lagged, mut wake) = (Vec::new(), Vec::new());
        for seq in 1..=4 {
            let woken = log.append(seq, &frame("x"), BOUNDS, Vec::new(), &mut lagged, &mut wake);
            // Slow registered once, before the first; fast registers as it
            // reads each.
            assert_eq!(woken.len(), 1);
            assert_eq!(read(&mut log, fast).0, Read::Got(1));
        }
        assert_eq!(lagged, [(1, 1)]);
        assert_eq!(read(&mut log, slow).0, Read::Lagged);
        assert_eq!(log.held().frames, 0, "nothing waits for the ended one");
        log.remove_reader(slow, &mut wake);
        log.remove_reader(fast, &mut wake);
        assert!(log.is_unread());
    }

    #[test]
    fn registration_is_once_per_epoch_and_removal_keeps_positions() {
        let log = Log::new();
        let mut log = log.lock();
        let readers: Vec<_> = (0..3).map(|i| log.add_reader((i, i as u64))).collect();
        for &r in &readers {
            assert!(read(&mut log, r).0 == Read::Pending);
            assert!(read(&mut log, r).0 == Read::Pending);
        }
        assert_eq!(log.waiting.len(), 3);
        let mut dispose = Vec::new();
        log.remove_reader(readers[0], &mut dispose);
        assert_eq!(dispose.len(), 1);
        log.remove_reader(readers[2], &mut dispose);
        assert_eq!(log.waiting.len(), 1);
        let (mut lagged, mut wake) = (Vec::new(), Vec::new());
        let woken = log.append(1, &frame("x"), BOUNDS, Vec::new(), &mut lagged, &mut wake);
        assert_eq!(
            woken.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            [readers[1]]
        );
    }

    #[test]
    fn a_read_takes_at_most_its_limit_and_unread_is_counted_without_a_walk() {
        let log = Log::new();
        let mut log = log.lock();
        let r = log.add_reader((0, 0));
        let (mut lagged, mut wake) = (Vec::new(), Vec::new());
        for (seq, len) in (1..=6).zip([10, 20, 30, 40, 50, 60]) {
            let frame = frame(&"x".repeat(len));
            log.append(
                seq,
                &frame,
                (10, usize::MAX),
                Vec::new(),
                &mut lagged,
                &mut wake,
            );
        }
        let size = |len: usize| frame(&"x".repeat(len)).len();
        let unread = log.unread(r);
        assert_eq!(unread.frames, 6);
        assert_eq!(
            unread.bytes,
            [10, 20, 30, 40, 50, 60].map(size).iter().sum::<usize>()
        );
        let take = |log: &mut LogState, limit: Limit| {
            let (mut out, mut dispose) = (Vec::new(), Vec::new());
            let waker = Waker::from(std::sync::Arc::new(Nothing));
            let read = log.read(r, &waker, limit, &mut out, &mut dispose);
            (
                read,
                out.into_iter().map(|(seq, _)| seq).collect::<Vec<_>>(),
            )
        };
        let frames = |frames| Limit {
            frames,
            ..Limit::BATCH
        };
        assert_eq!(take(&mut log, frames(2)), (Read::Got(2), vec![1, 2]));
        // Bytes: the first always, then while the total fits.
        let bytes = Limit {
            bytes: size(30) + size(40) - 1,
            ..Limit::BATCH
        };
        assert_eq!(take(&mut log, bytes), (Read::Got(1), vec![3]));
        let upto = Limit {
            upto: 5,
            ..Limit::BATCH
        };
        assert_eq!(take(&mut log, upto), (Read::Got(2), vec![4, 5]));
        assert!(!log.is_read_up(r));
        assert_eq!(log.unread(r).bytes, size(60));
        assert_eq!(take(&mut log, Limit::BATCH), (Read::Got(1), vec![6]));
        assert!(log.is_read_up(r));
        assert_eq!(log.unread(r).frames, 0);
        assert_eq!(log.unread(r).bytes, 0);
    }

    #[test]
    fn the_byte_bound_evicts_but_one_entry_always_fits() {
        let log = Log::new();
        let mut log = log.lock();
        let r = log.add_reader((0, 0));
        let (mut lagged, mut wake) = (Vec::new(), Vec::new());
        let big = frame(&"x".repeat(100));
        log.append(1, &big, (10, 50), Vec::new(), &mut lagged, &mut wake);
        assert!(lagged.is_empty());
        assert_eq!(read(&mut log, r).0, Read::Got(1));
        log.append(2, &big, (10, 50), Vec::new(), &mut lagged, &mut wake);
        log.append(3, &big, (10, 50), Vec::new(), &mut lagged, &mut wake);
        assert_eq!(lagged, [(0, 0)]);
    }
}
