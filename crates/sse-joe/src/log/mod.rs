//! A topic's log: a publish appends a frame to it once, and every
//! subscriber of the topic reads it with its own cursor, without a lock.
//!
//! Entries live in append-only segments. The publisher (one at a time: it
//! holds Joe's lock) writes each entry once into the newest segment, then
//! publishes the new tail; a reader reads every entry below the tail it
//! loaded from the segment it holds, so reading takes no lock. The log's
//! lock is taken to append, and by a reader once per segment, to step to
//! the next one (a subscriber of several topics, looking ahead across a
//! boundary, takes it once more).
//!
//! The log is bounded in frames and bytes: past its bounds the oldest
//! entry is evicted, and the readers that had not read it are ended (they
//! lagged). The oldest segments go once no reader is in them; a reader's
//! cursor keeps its own segment alive until its stream ends or is dropped.
//! What that adds up to: [`Joe`'s memory](crate::Joe#memory).
//!
//! Waking: each subscriber has one [`Waiter`], registered in the log of
//! each of its topics. A reader that found nothing sets its `waiting`
//! flag and looks again ([`Waiter::poll`]); an append publishes its tail
//! (and Joe then the publish's sequence number, which subscribers of
//! several topics read up to), and a close its `closed` flag; then, once
//! no lock is held, the wake pass ([`wake_waiting`]) wakes the readers
//! whose flag is set, clearing it (in the publish's call, or in a task of
//! its own for a large one: [`wake_or_defer`]). Each side puts a `fence(SeqCst)`
//! between its stores and its loads: the reader between setting its flag
//! and its second look, the publisher between its stores and loading the
//! flags. One fence comes before the other, so either the second look sees
//! the new tail (or `closed`), or the publisher sees the flag: no wakeup is
//! lost. A reader ended for lagging is woken whatever its flag. The loom
//! model in `loom.rs` checks this, and fails without the second look or
//! without the fences.

mod cursor;
mod deferred;
mod reader;
mod segment;
mod waiter;

#[cfg(test)]
mod tests;

#[cfg(all(test, loom))]
mod loom;

pub(crate) use self::{
    cursor::{Cursor, Lagged},
    deferred::wake_or_defer,
    reader::unread,
    segment::Slot,
    waiter::{Found, Read, Waiter, Waiters, WakerId, wake_waiting},
};

#[cfg(test)]
pub(crate) use self::deferred::WAKE_IN_CALL;
use self::segment::{FIRST_SEGMENT, SEGMENT_BYTES, SEGMENT_FRAMES, Segment};
use crate::sync::{Arc, AtomicBool, AtomicU64, Mutex, MutexGuard, Ordering};
use sse_codec::{Encoded, Routing};
use std::{collections::VecDeque, sync::PoisonError};

pub(crate) struct Log {
    state: Mutex<LogState>,
    /// Read by every reader on every poll and written once per append: on
    /// a cache line of its own, so that readers' writes elsewhere do not
    /// take it from the others.
    ends: Ends,
}

/// The index the next appended entry gets, and whether the log was
/// closed.
#[repr(align(128))]
struct Ends {
    tail: AtomicU64,
    closed: AtomicBool,
}

pub(crate) struct LogState {
    /// The segments held, oldest first; never empty.
    parts: VecDeque<Part>,
    /// The oldest entry not evicted; entries before it are gone for
    /// readers (a reader still before it was ended).
    first: u64,
    /// Every reader in the oldest segment was at or past this entry when
    /// an eviction last looked (positions only grow): evictions up to here
    /// need not look again. Reset when that segment changes or gains a
    /// reader.
    scanned: u64,
    /// The index the next appended entry gets.
    tail: u64,
    /// The bytes of every frame ever appended: with each slot's `offset`,
    /// the bytes between two entries in O(1).
    appended: u64,
    /// The size of the largest segment: a quarter of the log's capacity in
    /// frames, within `1..=SEGMENT_FRAMES`, so that a segment is a small
    /// part of the log.
    largest: usize,
    readers: Vec<Option<Reader>>,
    free: Vec<usize>,
    /// Readers not ended: an append with none is dropped.
    active: usize,
    waiters: Waiters,
    /// The reader index of each entry of `waiters`.
    waiter_owners: Vec<usize>,
    /// Readers with a filter: a private update is appended only for them.
    filtered: usize,
    closed: bool,
}

/// A segment held by the log, and what the log knows of it.
struct Part {
    segment: Arc<Segment>,
    /// Entries written.
    len: usize,
    /// Their bytes.
    bytes: usize,
    /// The readers in this segment (by their last step).
    readers: Vec<usize>,
}

impl Part {
    fn end(&self) -> u64 {
        self.segment.start + self.len as u64
    }
}

struct Reader {
    /// The subscriber's registry slot and ID in Joe.
    owner: Owner,
    waiter: Arc<Waiter>,
    /// Which of `waiter.next` is its position in this log.
    which: usize,
    /// The start of the segment it is in, and its index in that part's
    /// `readers`.
    part: u64,
    at: usize,
    /// Its index in `waiters`.
    waiter_at: usize,
    /// Ended for lagging: reads nothing more.
    ended: bool,
    /// Its subscriber has a filter.
    filtered: bool,
}

/// A subscriber's registry slot and ID in Joe.
pub(crate) type Owner = (usize, u64);

/// How much a log holds, for [`Stats`](crate::Stats).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Held {
    pub(crate) frames: usize,
    pub(crate) bytes: usize,
}

impl Log {
    /// A log of at most `capacity` frames.
    pub(crate) fn new(capacity: usize) -> Log {
        let largest = (capacity / 4).clamp(1, SEGMENT_FRAMES);
        Log {
            state: Mutex::new(LogState {
                parts: VecDeque::from([Part {
                    segment: Segment::new(0, FIRST_SEGMENT.min(largest)),
                    len: 0,
                    bytes: 0,
                    readers: Vec::new(),
                }]),
                first: 0,
                scanned: 0,
                tail: 0,
                appended: 0,
                largest,
                readers: Vec::new(),
                free: Vec::new(),
                active: 0,
                waiters: Waiters::default(),
                waiter_owners: Vec::new(),
                filtered: 0,
                closed: false,
            }),
            ends: Ends {
                tail: AtomicU64::new(0),
                closed: AtomicBool::new(false),
            },
        }
    }

    /// The index the next appended entry gets.
    fn tail(&self) -> u64 {
        // Acquire: pairs with the Release store in `Log::append`, so that
        // the entries below the tail are seen written. On the second look,
        // after the fence in `Waiter::arm`, which pairs with the fence in
        // `wake_waiting`.
        self.ends.tail.load(Ordering::Acquire)
    }

    /// Appends a published frame: [`LogState::append`], then publishes the
    /// new tail. Returns the waiters to wake once no lock is held.
    pub(crate) fn append(
        &self,
        (seq, frame, routing): (u64, &Encoded, Option<&Routing>),
        bounds: (usize, usize),
        lagged: &mut Vec<Owner>,
        ended: &mut Vec<Arc<Waiter>>,
    ) -> Option<Waiters> {
        let mut state = self.lock();
        if !state.append((seq, frame, routing), bounds, lagged, ended) {
            return None;
        }
        // Release: pairs with the Acquire load in `Log::tail`. The wake
        // pass after the publish (`wake_waiting`) fences this store before
        // it loads the waiting flags, against the fence in `Waiter::arm`.
        self.ends.tail.store(state.tail, Ordering::Release);
        Some(state.waiters.clone())
    }

    /// Ends the log after what it holds (Joe shut down); returns the
    /// waiters to wake.
    pub(crate) fn close(&self) -> Waiters {
        let mut state = self.lock();
        state.closed = true;
        // Release: pairs with the Acquire load in `Cursor::is_done`. The
        // close's wake pass (`wake_waiting`) fences this store before it
        // loads the waiting flags, against the fence in `Waiter::arm`.
        self.ends.closed.store(true, Ordering::Release);
        state.waiters.clone()
    }

    /// Moves a reader to the segment holding entry `at`; `None` if it was
    /// ended (it lagged).
    fn step(&self, reader: usize, at: u64) -> Option<Arc<Segment>> {
        self.lock().step(reader, at)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, LogState> {
        // Nothing panics while holding this lock; recover anyway.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl LogState {
    /// The position in `parts` of the segment holding the written entry
    /// `at`: a binary search, as the segments are in order and each starts
    /// where the one before ends.
    fn part_of(&self, at: u64) -> Option<usize> {
        let after = self.parts.partition_point(|part| part.segment.start <= at);
        let i = after.checked_sub(1)?;
        (at < self.parts[i].end()).then_some(i)
    }

    /// The written entries from `at` to the tail, in order.
    fn slots_from(&self, at: u64) -> impl Iterator<Item = &Slot> {
        let at = at.max(self.parts[0].segment.start);
        let from = self.part_of(at).unwrap_or(self.parts.len());
        self.parts.range(from..).flat_map(move |part| {
            (at.max(part.segment.start)..part.end()).filter_map(|at| part.segment.get(at))
        })
    }

    fn slot(&self, at: u64) -> Option<&Slot> {
        let i = self.part_of(at)?;
        self.parts[i].segment.get(at)
    }

    /// The bytes of the entries from `at` to the tail.
    fn bytes_from(&self, at: u64) -> usize {
        self.slot(at)
            .map_or(0, |slot| (self.appended - slot.offset) as usize)
    }

    /// Appends a published frame for the active readers, evicting the
    /// oldest entries past `capacity` frames or `max_bytes` bytes (one
    /// entry always fits) and ending the readers that had not read them:
    /// their owners go to `lagged`, their waiters to `ended`. Returns
    /// whether it appended: not without active readers, and a private
    /// update not without a reader that has a filter (no other may get
    /// it, so it waits for none of them).
    fn append(
        &mut self,
        (seq, frame, routing): (u64, &Encoded, Option<&Routing>),
        (capacity, max_bytes): (usize, usize),
        lagged: &mut Vec<Owner>,
        ended: &mut Vec<Arc<Waiter>>,
    ) -> bool {
        if self.active == 0 || self.closed {
            return false;
        }
        if self.filtered == 0 && routing.is_some_and(Routing::is_private) {
            return false;
        }
        let len = frame.len();
        let last = self.parts.back().expect("a log holds a segment");
        if last.len == last.segment.slots.len()
            || (last.len > 0 && last.bytes + len > SEGMENT_BYTES)
        {
            // Twice what the last held: when the byte bound closed it early
            // (large frames), no slots are made that it would not fill.
            let size = (last.len * 2).clamp(1, self.largest);
            self.parts.push_back(Part {
                segment: Segment::new(self.tail, size),
                len: 0,
                bytes: 0,
                readers: Vec::new(),
            });
        }
        let last = self.parts.back_mut().expect("a log holds a segment");
        let slot = Slot {
            seq,
            frame: frame.clone(),
            routing: routing.cloned(),
            offset: self.appended,
        };
        if last.segment.slots[last.len].set(slot).is_err() {
            unreachable!("a slot is written once, by the append that owns it");
        }
        last.len += 1;
        last.bytes += len;
        self.tail += 1;
        self.appended += len as u64;
        while self.tail - self.first > capacity as u64
            || (self.tail - self.first > 1 && self.bytes_from(self.first) > max_bytes)
        {
            self.evict(lagged, ended);
        }
        self.trim();
        true
    }

    /// Evicts the oldest entry, ending the readers that had not read it;
    /// drops the oldest segment once all its entries are evicted, moving
    /// the readers still in it (they read it all) to the next.
    fn evict(&mut self, lagged: &mut Vec<Owner>, ended: &mut Vec<Arc<Waiter>>) {
        self.first += 1;
        loop {
            // Only readers in the oldest segment can be behind `first`
            // (every later one starts after it), and none is while `first`
            // has not passed where they all were when last looked at.
            if self.first > self.scanned {
                let mut behind = Vec::new();
                let mut least = u64::MAX;
                for &index in &self.parts[0].readers {
                    match self.position(index) {
                        Some(next) if next < self.first => behind.push(index),
                        Some(next) => least = least.min(next),
                        None => {}
                    }
                }
                self.scanned = least;
                for index in behind {
                    if let Some(reader) = self.readers[index].as_ref() {
                        lagged.push(reader.owner);
                    }
                    self.end(index, ended);
                }
            }
            if self.parts.len() == 1 || self.first < self.parts[0].end() {
                break;
            }
            // Every entry of the oldest segment is evicted: the readers
            // left in it have read it all and are at the next one.
            let gone = self.parts.pop_front().expect("checked above");
            self.scanned = 0;
            for index in gone.readers {
                self.join(index, 0);
            }
        }
    }

    /// Drops the oldest segments no reader is in.
    fn trim(&mut self) {
        while self.parts.len() > 1 && self.parts[0].readers.is_empty() {
            self.parts.pop_front();
            self.scanned = 0;
            self.first = self.first.max(self.parts[0].segment.start);
        }
    }
}
