//! The log alone: reading, lagging, waking, bookkeeping. The helpers are
//! the loom model's too.

use super::*;
use std::{
    task::{Poll, Wake, Waker},
    thread,
    time::{Duration, Instant},
};

const BOUNDS: (usize, usize) = (8, usize::MAX);

pub(super) fn frame(text: &str) -> Encoded {
    Encoded::from(&sse_codec::Message::new().data(text))
}

/// A subscriber of one log, reading the sequence numbers of its entries.
pub(super) struct Reading {
    pub(super) waiter: Arc<Waiter>,
    cursor: Cursor,
}

impl Read for Reading {
    type Item = u64;

    fn read(&mut self) -> Result<Option<u64>, Lagged> {
        let Some(seq) = self.cursor.peek()?.map(|slot| slot.seq) else {
            return Ok(None);
        };
        self.cursor.advance(&self.waiter);
        Ok(Some(seq))
    }

    fn is_done(&self) -> bool {
        self.cursor.is_done()
    }
}

impl Reading {
    pub(super) fn new(log: &Arc<Log>, owner: Owner) -> Reading {
        let waiter = Arc::new(Waiter::new(1));
        let parts = log.lock().add_reader(owner, (&waiter, false), 0);
        Reading {
            waiter,
            cursor: Cursor::new(log, parts),
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
    log.append((seq, frame, None), bounds, &mut lagged, &mut ended);
    lagged
}

/// Appends as Joe's publish does: then, no lock held, the wake pass, and
/// the subscribers ended for lagging woken whatever their flag. Their
/// owners go to `lagged`.
pub(super) fn publish(log: &Log, seq: u64, bounds: (usize, usize), lagged: &mut Vec<Owner>) {
    let mut ended = Vec::new();
    let woken = log.append((seq, &frame("x"), None), bounds, lagged, &mut ended);
    wake_waiting(woken.as_slice());
    for waiter in ended {
        waiter.wake(true);
    }
}

/// Closes as Joe's shutdown does, then wakes the waiting subscribers.
pub(super) fn close(log: &Log) {
    let woken = log.close();
    wake_waiting(&[woken]);
}

/// Checks what a subscriber of a log of `count` entries read and how it
/// ended, and whether the log ended it for lagging: every entry once, in
/// order, from the first; a lag told if and only if it lagged; the end
/// only after every entry.
pub(super) fn check(count: u64, read: &[u64], end: &Found<u64>, lagged: bool) {
    let expected: Vec<u64> = (1..=read.len() as u64).collect();
    assert_eq!(read, expected, "every entry once, in order, from the first");
    match end {
        Found::Lagged => assert!(lagged, "told it lagged, and it had"),
        Found::Done => {
            assert!(!lagged, "ended for lagging but not told");
            assert_eq!(read.len() as u64, count, "nothing skipped before the end");
        }
        Found::Item(_) => unreachable!("an item is not an end"),
    }
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
        .append(
            (1, &frame("x"), None),
            BOUNDS,
            &mut Vec::new(),
            &mut Vec::new(),
        )
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

#[test]
fn an_entry_is_found_in_segments_of_every_size() {
    let log = Arc::new(Log::new(1000));
    let mut r = Reading::new(&log, (0, 0));
    // Small frames fill segments of 4, 8, ... 64 entries; large ones close
    // them early on bytes.
    let (small, big) = (frame(&"x".repeat(10)), frame(&"x".repeat(30 * 1024)));
    for seq in 1..=300 {
        let frame = if seq % 7 == 0 { &big } else { &small };
        append(&log, seq, frame, (1000, usize::MAX));
    }
    for _ in 0..100 {
        assert!(r.cursor.peek().unwrap().is_some());
        r.cursor.advance(&r.waiter);
    }
    let state = log.lock();
    let first = state.parts[0].segment.start;
    assert!(first > 0, "the segments read before are gone");
    assert!(state.parts.len() > 10);
    for at in 0..=state.tail {
        let linear = state
            .parts
            .iter()
            .position(|part| part.segment.start <= at && at < part.end());
        assert_eq!(state.part_of(at), linear, "entry {at}");
        let seq = state.slot(at).map(|slot| slot.seq);
        assert_eq!(seq, (first..state.tail).contains(&at).then_some(at + 1));
    }
    let mut unread = Vec::new();
    state.unread_entries(r.cursor.reader, 70, &mut unread);
    let seqs: Vec<u64> = unread.iter().map(|&(seq, _)| seq).collect();
    assert_eq!(seqs, (101..=170).collect::<Vec<_>>());
    let bytes: usize = unread.iter().map(|&(_, len)| len).sum();
    assert_eq!(bytes, 10 * big.len() + 60 * small.len());
    assert_eq!(state.unread(r.cursor.reader).frames, 200);
}

/// Wakes by unparking the thread that waits, and says it did.
struct Unpark {
    thread: thread::Thread,
    woken: std::sync::atomic::AtomicBool,
}

impl Wake for Unpark {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.thread.unpark();
    }
}

/// Publishes `count` entries to a log of `capacity` frames and closes it,
/// while a subscriber on a thread of its own reads it to the end, waiting
/// in between; checks what it read. A lost wakeup fails the test after
/// 10 seconds instead of hanging it.
fn publish_while_a_thread_reads(capacity: usize, count: u64) {
    let log = Arc::new(Log::new(capacity));
    let mut reading = Reading::new(&log, (0, 0));
    let subscriber = thread::spawn(move || {
        let unpark = std::sync::Arc::new(Unpark {
            thread: thread::current(),
            woken: std::sync::atomic::AtomicBool::new(false),
        });
        let waker = Waker::from(std::sync::Arc::clone(&unpark));
        let waiter = Arc::clone(&reading.waiter);
        let (mut registered, mut read) = (None, Vec::new());
        loop {
            // Any wake that matters comes after the arm, inside `poll`.
            unpark.woken.store(false, Ordering::SeqCst);
            match waiter.poll(&mut reading, &waker, &mut registered) {
                Poll::Ready(Found::Item(seq)) => read.push(seq),
                Poll::Ready(end) => return (read, end),
                Poll::Pending => {
                    let asleep = Instant::now();
                    while !unpark.woken.load(Ordering::SeqCst) {
                        assert!(asleep.elapsed() < Duration::from_secs(10), "never woken");
                        thread::park_timeout(Duration::from_millis(100));
                    }
                }
            }
        }
    });
    let mut lagged = Vec::new();
    for seq in 1..=count {
        publish(&log, seq, (capacity, usize::MAX), &mut lagged);
        if seq % 7 == 0 {
            thread::yield_now();
        }
    }
    close(&log);
    let (read, end) = subscriber.join().unwrap();
    check(count, &read, &end, !lagged.is_empty());
}

/// Under Miri, few entries: it interprets every step, and runs each test
/// with several seeds (schedules and weak-memory outcomes).
const ENTRIES: u64 = if cfg!(miri) { 12 } else { 2000 };

#[test]
fn a_reader_on_another_thread_is_woken_for_each_entry_and_the_close() {
    publish_while_a_thread_reads(ENTRIES as usize, ENTRIES);
}

#[test]
fn a_reader_on_another_thread_that_falls_behind_is_told() {
    publish_while_a_thread_reads(2, ENTRIES);
}
