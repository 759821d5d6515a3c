//! A topic's log: a publish appends a frame to it once, and every
//! subscriber of the topic reads it with its own cursor, without a lock.
//!
//! Entries live in append-only segments. The publisher (one at a time: it
//! holds Joe's lock) writes each entry once into the newest segment, then
//! publishes the new tail; a reader reads every entry below the tail it
//! loaded from the segment it holds, so reading takes no lock. The log's
//! lock is taken to append, and by a reader once per segment, to step to
//! the next one (segments hold up to 64 entries; a subscriber of several
//! topics, looking ahead across a boundary, takes it once more).
//!
//! The log is bounded in frames and bytes: past its bounds the oldest
//! entry is evicted, and the readers that had not read it are ended (they
//! lagged). The oldest segments go once no reader is in them. So memory is
//! bounded per topic, shared by its subscribers: the log's bounds, plus
//! the oldest segment's evicted entries, plus what each reader keeps
//! alive: the segment its cursor is in (at most 64 entries and 64 KiB, or
//! one larger entry), until its stream ends or is dropped.
//!
//! Waking: each subscriber has one [`Waiter`], registered in the log of
//! each of its topics. A reader that found nothing sets its `waiting`
//! flag and looks again; an append publishes its tail (and Joe then the
//! publish's sequence number, which subscribers of several topics read up
//! to), then (once no lock is held) wakes the readers whose flag is set,
//! clearing it. Both sides use sequentially consistent operations, so
//! either the reader sees the new tail or the publisher sees the flag.

use sse_codec::Encoded;
use std::{
    collections::VecDeque,
    mem,
    sync::{
        Arc, Mutex, MutexGuard, OnceLock, PoisonError,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    task::Waker,
};

/// The most entries a segment holds.
const SEGMENT_FRAMES: usize = 64;
/// The most bytes a segment holds past its first entry.
const SEGMENT_BYTES: usize = 64 * 1024;
/// The first segment's size in entries; each next one doubles.
const FIRST_SEGMENT: usize = 4;

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

/// Entries `start..` of a log, each written once.
pub(crate) struct Segment {
    start: u64,
    slots: Box<[OnceLock<Slot>]>,
}

pub(crate) struct Slot {
    /// The publish's sequence number in Joe, which orders entries across
    /// topics.
    pub(crate) seq: u64,
    pub(crate) frame: Encoded,
    /// The bytes of every frame appended to the log before this one.
    offset: u64,
}

impl Segment {
    fn new(start: u64, size: usize) -> Arc<Segment> {
        Arc::new(Segment {
            start,
            slots: (0..size).map(|_| OnceLock::new()).collect(),
        })
    }

    /// The entry `at`, if it is in this segment and written.
    fn get(&self, at: u64) -> Option<&Slot> {
        let i = usize::try_from(at.checked_sub(self.start)?).ok()?;
        self.slots.get(i)?.get()
    }
}

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
    waiting: AtomicBool,
    /// Set when a log ended the subscriber for lagging.
    lagged: AtomicBool,
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
    fn next(&self, which: usize) -> &AtomicU64 {
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
/// Copied on write, in chunks: a subscriber joining or leaving while a
/// publisher still holds the list copies the list of chunks and the chunk
/// it changes (with 10,000 subscribers, 157 chunk pointers and 64
/// waiters), not every waiter.
#[derive(Clone, Default)]
pub(crate) struct Waiters(Arc<Vec<Arc<Vec<Arc<Waiter>>>>>);

/// Waiters per chunk of [`Waiters`].
const CHUNK: usize = 64;

impl Waiters {
    fn len(&self) -> usize {
        self.0
            .last()
            .map_or(0, |last| (self.0.len() - 1) * CHUNK + last.len())
    }

    fn push(&mut self, waiter: Arc<Waiter>) {
        let chunks = Arc::make_mut(&mut self.0);
        match chunks.last_mut() {
            Some(last) if last.len() < CHUNK => Arc::make_mut(last).push(waiter),
            _ => chunks.push(Arc::new(vec![waiter])),
        }
    }

    /// Removes the waiter at `at`, moving the last one there.
    fn swap_remove(&mut self, at: usize) -> Arc<Waiter> {
        let chunks = Arc::make_mut(&mut self.0);
        let last_chunk = chunks.last_mut().expect("a waiter to remove");
        let last = Arc::make_mut(last_chunk)
            .pop()
            .expect("chunks are not empty");
        if last_chunk.is_empty() {
            chunks.pop();
        }
        match chunks.get_mut(at / CHUNK) {
            Some(chunk) if at % CHUNK < chunk.len() => {
                mem::replace(&mut Arc::make_mut(chunk)[at % CHUNK], last)
            }
            // `at` was the last.
            _ => last,
        }
    }

    /// Every waiter.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<Waiter>> {
        self.0.iter().flat_map(|chunk| chunk.iter())
    }
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
}

/// A subscriber's registry slot and ID in Joe.
pub(crate) type Owner = (usize, u64);

/// How much a log holds, for [`Stats`](crate::Stats).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Held {
    pub(crate) frames: usize,
    pub(crate) bytes: usize,
}

/// A reader's place in a log: the segment it reads and the next entry.
pub(crate) struct Cursor {
    pub(crate) log: Arc<Log>,
    /// Its reader index in the log.
    pub(crate) reader: usize,
    /// Which of its waiter's positions it publishes.
    which: usize,
    segment: Arc<Segment>,
    next: u64,
}

/// The reader was ended for lagging.
#[derive(Debug)]
pub(crate) struct Lagged;

impl Cursor {
    /// The next entry, without taking it; `None` if there is none yet.
    pub(crate) fn peek(&mut self) -> Result<Option<&Slot>, Lagged> {
        if self.next >= self.log.tail() {
            return Ok(None);
        }
        if self.segment.get(self.next).is_none() {
            // Below the tail, so written: in a later segment.
            self.segment = self.log.step(self.reader, self.next).ok_or(Lagged)?;
        }
        Ok(self.segment.get(self.next))
    }

    /// Takes the entry [`peek`](Cursor::peek) returned.
    pub(crate) fn advance(&mut self, waiter: &Waiter) {
        self.next += 1;
        waiter.next(self.which).store(self.next, Ordering::Release);
    }

    /// The sequence number and size of the next `max` entries up to
    /// sequence number `upto`, into `out`, without taking them.
    pub(crate) fn look_ahead(&self, max: usize, upto: u64, out: &mut Vec<(u64, usize)>) {
        let end = self.log.tail().min(self.next.saturating_add(max as u64));
        let mut segment = Arc::clone(&self.segment);
        for at in self.next..end {
            if segment.get(at).is_none() {
                match self.log.lock().segment_at(at) {
                    Some(next) => segment = next,
                    None => break,
                }
            }
            let Some(slot) = segment.get(at) else { break };
            if slot.seq > upto {
                break;
            }
            out.push((slot.seq, slot.frame.len()));
        }
    }

    /// Whether the log was closed and this reader has read all of it.
    pub(crate) fn is_done(&self) -> bool {
        self.log.ends.closed.load(Ordering::SeqCst) && self.next >= self.log.tail()
    }
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
        self.ends.tail.load(Ordering::SeqCst)
    }

    /// Appends a published frame: [`LogState::append`], then publishes the
    /// new tail. Returns the waiters to wake once no lock is held.
    pub(crate) fn append(
        &self,
        seq: u64,
        frame: &Encoded,
        bounds: (usize, usize),
        lagged: &mut Vec<Owner>,
        ended: &mut Vec<Arc<Waiter>>,
    ) -> Option<Waiters> {
        let mut state = self.lock();
        if !state.append(seq, frame, bounds, lagged, ended) {
            return None;
        }
        self.ends.tail.store(state.tail, Ordering::SeqCst);
        Some(state.waiters.clone())
    }

    /// Ends the log after what it holds (Joe shut down); returns the
    /// waiters to wake.
    pub(crate) fn close(&self) -> Waiters {
        let mut state = self.lock();
        state.closed = true;
        self.ends.closed.store(true, Ordering::SeqCst);
        state.waiters.clone()
    }

    /// A cursor for the reader `reader`, at `next`, in `segment`.
    pub(crate) fn cursor(
        self: &Arc<Log>,
        (reader, which, segment, next): (usize, usize, Arc<Segment>, u64),
    ) -> Cursor {
        Cursor {
            log: Arc::clone(self),
            reader,
            which,
            segment,
            next,
        }
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
    /// Adds a reader that starts with the next entry appended, for the
    /// subscriber of `waiter`, publishing its position in `which`.
    /// Returns what its [`Cursor`] needs.
    pub(crate) fn add_reader(
        &mut self,
        owner: Owner,
        waiter: &Arc<Waiter>,
        which: usize,
    ) -> (usize, usize, Arc<Segment>, u64) {
        let index = self.free.pop().unwrap_or_else(|| {
            self.readers.push(None);
            self.readers.len() - 1
        });
        let part = self.parts.back_mut().expect("a log holds a segment");
        let reader = Reader {
            owner,
            waiter: Arc::clone(waiter),
            which,
            part: part.segment.start,
            at: part.readers.len(),
            waiter_at: self.waiter_owners.len(),
            ended: false,
        };
        part.readers.push(index);
        let segment = Arc::clone(&part.segment);
        if self.parts.len() == 1 {
            self.scanned = self.scanned.min(self.tail);
        }
        self.waiters.push(Arc::clone(waiter));
        self.waiter_owners.push(index);
        waiter.next(which).store(self.tail, Ordering::Release);
        self.readers[index] = Some(reader);
        self.active += 1;
        (index, which, segment, self.tail)
    }

    /// Removes a reader (its subscriber was dropped). Its waiter goes to
    /// `dispose`, to be dropped once no lock is held.
    pub(crate) fn remove_reader(&mut self, index: usize, dispose: &mut Vec<Arc<Waiter>>) {
        self.end(index, dispose);
        let Some(reader) = self.readers.get_mut(index).and_then(Option::take) else {
            return;
        };
        self.free.push(index);
        let at = reader.waiter_at;
        dispose.push(self.waiters.swap_remove(at));
        debug_assert_eq!(self.waiters.len(), self.waiter_owners.len() - 1);
        self.waiter_owners.swap_remove(at);
        if let Some(&moved) = self.waiter_owners.get(at) {
            if let Some(moved) = self.readers[moved].as_mut() {
                moved.waiter_at = at;
            }
        }
        dispose.push(reader.waiter);
    }

    /// Whether no reader is left, ended or not.
    pub(crate) fn is_unread(&self) -> bool {
        self.free.len() == self.readers.len()
    }

    /// Ends a reader: it reads nothing more and no segment waits for it.
    /// Its waiter is marked lagged and goes to `ended`, to be woken once no
    /// lock is held.
    pub(crate) fn end(&mut self, index: usize, ended: &mut Vec<Arc<Waiter>>) {
        let Some(reader) = self.readers.get_mut(index).and_then(Option::as_mut) else {
            return;
        };
        if mem::replace(&mut reader.ended, true) {
            return;
        }
        let (part, at) = (reader.part, reader.at);
        reader.waiter.lagged.store(true, Ordering::Release);
        ended.push(Arc::clone(&reader.waiter));
        self.active -= 1;
        self.leave(part, at);
        self.trim();
    }

    /// Takes the reader at `at` out of the readers of the part starting at
    /// `start`.
    fn leave(&mut self, start: u64, at: usize) {
        let Some(part) = self.parts.iter_mut().find(|p| p.segment.start == start) else {
            return;
        };
        part.readers.swap_remove(at);
        if let Some(&moved) = part.readers.get(at) {
            if let Some(moved) = self.readers[moved].as_mut() {
                moved.at = at;
            }
        }
    }

    /// Joins a reader to the readers of the part at position `i`.
    fn join(&mut self, index: usize, i: usize) {
        if i == 0 {
            self.scanned = 0;
        }
        let part = &mut self.parts[i];
        if let Some(reader) = self.readers[index].as_mut() {
            reader.part = part.segment.start;
            reader.at = part.readers.len();
            part.readers.push(index);
        }
    }

    /// Moves a reader to the segment holding entry `at`; `None` if it was
    /// ended or `at` was evicted.
    fn step(&mut self, index: usize, at: u64) -> Option<Arc<Segment>> {
        let reader = self.readers.get(index)?.as_ref()?;
        if reader.ended || at < self.first {
            return None;
        }
        let (part, was) = (reader.part, reader.at);
        let i = self.part_of(at)?;
        let segment = Arc::clone(&self.parts[i].segment);
        if segment.start != part {
            self.leave(part, was);
            self.join(index, i);
            self.trim();
        }
        Some(segment)
    }

    /// The segment holding entry `at`, without moving any reader.
    fn segment_at(&self, at: u64) -> Option<Arc<Segment>> {
        if at < self.first {
            return None;
        }
        let i = self.part_of(at)?;
        Some(Arc::clone(&self.parts[i].segment))
    }

    /// The position in `parts` of the segment holding the written entry
    /// `at`.
    fn part_of(&self, at: u64) -> Option<usize> {
        self.parts
            .iter()
            .position(|part| part.segment.start <= at && at < part.end())
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
    /// whether it appended: not without active readers.
    fn append(
        &mut self,
        seq: u64,
        frame: &Encoded,
        (capacity, max_bytes): (usize, usize),
        lagged: &mut Vec<Owner>,
        ended: &mut Vec<Arc<Waiter>>,
    ) -> bool {
        if self.active == 0 || self.closed {
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

    /// The position of an active reader.
    fn position(&self, index: usize) -> Option<u64> {
        match self.readers.get(index).and_then(Option::as_ref) {
            Some(reader) if !reader.ended => {
                Some(reader.waiter.next(reader.which).load(Ordering::Acquire))
            }
            _ => None,
        }
    }

    /// How many entries the reader has not read yet, and their bytes, in
    /// O(segments).
    pub(crate) fn unread(&self, index: usize) -> Held {
        match self.position(index) {
            Some(next) if next < self.tail => Held {
                frames: (self.tail - next) as usize,
                bytes: self.bytes_from(next),
            },
            _ => Held::default(),
        }
    }

    /// The sequence number and size of the first `max` entries the reader
    /// has not read.
    pub(crate) fn unread_entries(&self, index: usize, max: usize, out: &mut Vec<(u64, usize)>) {
        if let Some(next) = self.position(index) {
            out.extend(
                (next..self.tail)
                    .take(max)
                    .filter_map(|at| self.slot(at))
                    .map(|slot| (slot.seq, slot.frame.len())),
            );
        }
    }

    /// The entries some active reader has not read, and their bytes: a
    /// walk over the readers, for [`Stats`](crate::Stats).
    pub(crate) fn held(&self) -> Held {
        let oldest = (0..self.readers.len())
            .filter_map(|index| self.position(index))
            .min();
        match oldest {
            Some(next) if next < self.tail => Held {
                frames: (self.tail - next) as usize,
                bytes: self.bytes_from(next),
            },
            _ => Held::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: (usize, usize) = (8, usize::MAX);

    fn frame(text: &str) -> Encoded {
        Encoded::from(&sse_codec::Message::new().data(text))
    }

    struct Reading {
        waiter: Arc<Waiter>,
        cursor: Cursor,
    }

    impl Reading {
        fn new(log: &Arc<Log>, owner: Owner) -> Reading {
            let waiter = Arc::new(Waiter::new(1));
            let parts = log.lock().add_reader(owner, &waiter, 0);
            Reading {
                waiter,
                cursor: log.cursor(parts),
            }
        }

        /// Reads everything below the tail: the sequence numbers, or the
        /// lag.
        fn read(&mut self) -> Result<Vec<u64>, Lagged> {
            let mut got = Vec::new();
            if self.waiter.is_lagged() {
                return Err(Lagged);
            }
            while let Some(slot) = self.cursor.peek()? {
                got.push(slot.seq);
                self.cursor.advance(&self.waiter);
            }
            Ok(got)
        }
    }

    fn append(log: &Log, seq: u64, frame: &Encoded, bounds: (usize, usize)) -> Vec<Owner> {
        let (mut lagged, mut ended) = (Vec::new(), Vec::new());
        log.append(seq, frame, bounds, &mut lagged, &mut ended);
        lagged
    }

    #[test]
    fn readers_get_every_entry_once_across_segments_and_read_segments_go() {
        let log = Arc::new(Log::new(1000));
        let (mut a, mut b) = (Reading::new(&log, (0, 0)), Reading::new(&log, (1, 1)));
        for seq in 1..=100 {
            assert!(append(&log, seq, &frame("x"), (1000, usize::MAX)).is_empty());
        }
        assert_eq!(a.read().unwrap(), (1..=100).collect::<Vec<_>>());
        assert_eq!(log.lock().held().frames, 100, "b has not read them");
        assert_eq!(b.read().unwrap(), (1..=100).collect::<Vec<_>>());
        let state = log.lock();
        assert_eq!(state.held().frames, 0);
        assert_eq!(state.parts.len(), 1, "only the segment both are in is left");
        drop(state);
        assert!(a.read().unwrap().is_empty());
    }

    #[test]
    fn a_reader_a_whole_log_behind_is_ended_and_the_rest_goes() {
        let log = Arc::new(Log::new(8));
        let (mut fast, mut slow) = (Reading::new(&log, (0, 0)), Reading::new(&log, (1, 1)));
        for seq in 1..=8 {
            assert!(append(&log, seq, &frame("x"), BOUNDS).is_empty());
            assert_eq!(fast.read().unwrap(), [seq]);
        }
        // Slow reads one, then stalls.
        assert_eq!(slow.cursor.peek().unwrap().map(|slot| slot.seq), Some(1));
        slow.cursor.advance(&slow.waiter);
        assert_eq!(append(&log, 9, &frame("x"), BOUNDS), []);
        assert_eq!(append(&log, 10, &frame("x"), BOUNDS), [(1, 1)]);
        assert!(slow.read().is_err());
        assert_eq!(fast.read().unwrap(), [9, 10]);
        let state = log.lock();
        assert_eq!(state.held().frames, 0, "nothing waits for the ended one");
        assert!(
            state.parts.len() <= 2,
            "the segments the slow one held are gone"
        );
    }

    #[test]
    fn a_waiting_reader_is_woken_once_and_removal_keeps_the_waiters() {
        let log = Arc::new(Log::new(8));
        let readers: Vec<_> = (0..3).map(|i| Reading::new(&log, (i, i as u64))).collect();
        let mut registered = None;
        let waker = Waker::noop();
        assert!(readers[1].waiter.arm(waker, &mut registered));
        assert!(!readers[1].waiter.arm(waker, &mut registered), "armed once");
        let mut dispose = Vec::new();
        log.lock()
            .remove_reader(readers[0].cursor.reader, &mut dispose);
        let woken = log
            .append(1, &frame("x"), BOUNDS, &mut Vec::new(), &mut Vec::new())
            .unwrap();
        assert_eq!(woken.len(), 2);
        let waiting: Vec<bool> = woken
            .iter()
            .map(|w| w.waiting.load(Ordering::SeqCst))
            .collect();
        assert_eq!(waiting.iter().filter(|&&w| w).count(), 1);
        for waiter in woken.iter() {
            waiter.wake(false);
        }
        assert!(!readers[1].waiter.waiting.load(Ordering::SeqCst));
    }

    #[test]
    fn waiters_are_removed_from_any_chunk_while_a_publisher_holds_them() {
        let log = Arc::new(Log::new(8));
        let readers: Vec<_> = (0..200)
            .map(|i| Reading::new(&log, (i, i as u64)))
            .collect();
        let held = log.lock().waiters.clone();
        let mut dispose = Vec::new();
        let mut left: Vec<usize> = (0..200).collect();
        for i in [0, 70, 199, 130, 64, 5] {
            log.lock()
                .remove_reader(readers[i].cursor.reader, &mut dispose);
            left.retain(|&r| r != i);
        }
        assert_eq!(held.len(), 200, "the publisher's list is unchanged");
        let state = log.lock();
        assert_eq!(state.waiters.len(), 194);
        let mut got: Vec<usize> = state
            .waiters
            .iter()
            .map(|w| {
                readers
                    .iter()
                    .position(|r| Arc::ptr_eq(&r.waiter, w))
                    .unwrap()
            })
            .collect();
        got.sort_unstable();
        assert_eq!(got, left);
        for (at, &owner) in state.waiter_owners.iter().enumerate() {
            assert_eq!(state.readers[owner].as_ref().unwrap().waiter_at, at);
        }
    }

    #[test]
    fn unread_is_counted_in_frames_and_bytes() {
        let log = Arc::new(Log::new(10));
        let mut r = Reading::new(&log, (0, 0));
        for (seq, len) in (1..=6).zip([10, 20, 30, 40, 50, 60]) {
            append(&log, seq, &frame(&"x".repeat(len)), (10, usize::MAX));
        }
        let size = |len: usize| frame(&"x".repeat(len)).len();
        let unread = log.lock().unread(r.cursor.reader);
        assert_eq!(unread.frames, 6);
        assert_eq!(
            unread.bytes,
            [10, 20, 30, 40, 50, 60].map(size).iter().sum::<usize>()
        );
        for _ in 0..5 {
            assert!(r.cursor.peek().unwrap().is_some());
            r.cursor.advance(&r.waiter);
        }
        assert_eq!(log.lock().unread(r.cursor.reader).bytes, size(60));
        let mut ahead = Vec::new();
        r.cursor.look_ahead(10, u64::MAX, &mut ahead);
        assert_eq!(ahead, [(6, size(60))]);
        assert_eq!(r.read().unwrap(), [6]);
        assert_eq!(log.lock().unread(r.cursor.reader).frames, 0);
    }

    #[test]
    fn the_byte_bound_evicts_but_one_entry_always_fits() {
        let log = Arc::new(Log::new(10));
        let mut r = Reading::new(&log, (0, 0));
        let big = frame(&"x".repeat(100));
        assert!(append(&log, 1, &big, (10, 50)).is_empty());
        assert_eq!(r.read().unwrap(), [1]);
        assert!(append(&log, 2, &big, (10, 50)).is_empty());
        assert_eq!(append(&log, 3, &big, (10, 50)), [(0, 0)]);
    }

    #[test]
    fn a_segment_holds_at_most_64_kib_past_its_first_entry() {
        let log = Arc::new(Log::new(1000));
        let _r = Reading::new(&log, (0, 0));
        let chunk = frame(&"x".repeat(20 * 1024));
        for seq in 1..=8 {
            append(&log, seq, &chunk, (1000, usize::MAX));
        }
        let state = log.lock();
        assert!(
            state
                .parts
                .iter()
                .all(|part| part.len == 1 || part.bytes <= SEGMENT_BYTES)
        );
        assert_eq!(state.held().frames, 8);
    }
}
