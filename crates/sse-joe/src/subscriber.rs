//! One subscriber's stream: its replay, then what it reads from the logs of
//! its topics.

use crate::{
    Error,
    joe::Inner,
    log::{Held, Limit, Log, Read},
};
use futures_core::{Stream, stream::FusedStream};
use sse_codec::Encoded;
use std::{
    collections::VecDeque,
    fmt,
    pin::Pin,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    task::{Context, Poll, Waker},
};

/// What Joe's registry shares with a subscriber's stream: the replay, which
/// Joe frees at once when the subscriber lags, and the counters it reads
/// for [`Stats`](crate::Stats).
#[derive(Default)]
pub(crate) struct Shared {
    replay: Mutex<Replay>,
    /// Whether `replay` may hold frames: once it is drained, reads skip
    /// its lock.
    has_replay: AtomicBool,
    /// Ended by Joe: lagged, or shut down.
    ended: AtomicBool,
    /// Live frames this subscriber read.
    delivered: AtomicU64,
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

    fn prepend(&self, frames: VecDeque<Encoded>) {
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

    pub(crate) fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    fn pop_replay(&self) -> Option<Encoded> {
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

    /// Counts frames read: only this subscriber writes the counter.
    fn count(&self, frames: usize) {
        let now = self.delivered.load(Ordering::Relaxed);
        self.delivered.store(now + frames as u64, Ordering::Relaxed);
    }
}

/// What a subscriber's readers in `logs` have not read: a message in
/// several of them counts once. The logs are read one after the other, not
/// as one cut: a figure for diagnostics.
pub(crate) fn unread<'a>(logs: impl IntoIterator<Item = (&'a Arc<Log>, usize)>) -> Held {
    let mut logs = logs.into_iter();
    let Some((first, reader)) = logs.next() else {
        return Held::default();
    };
    let Some((second, other)) = logs.next() else {
        return first.lock().unread(reader);
    };
    let mut entries = Vec::new();
    for (log, reader) in [(first, reader), (second, other)].into_iter().chain(logs) {
        log.lock().unread_entries(reader, usize::MAX, &mut entries);
    }
    entries.sort_unstable();
    entries.dedup_by_key(|(seq, _)| *seq);
    Held {
        frames: entries.len(),
        bytes: entries.iter().map(|(_, bytes)| bytes).sum(),
    }
}

/// One subscriber's stream of frames, returned by
/// [`Joe::subscribe`](sse_codec::Provider::subscribe): the replay, then live
/// messages.
///
/// It ends (`None`) after Joe shuts down, once what was published before
/// is out. If the subscriber falls behind (a topic's log holds the
/// [capacity](crate::JoeBuilder::capacity) in frames or the
/// [byte limit](crate::JoeBuilder::max_queued_bytes) that it has not
/// read), Joe ends it, frees its replay at once, and its next item after
/// what it had already taken is [`Error::Lagged`], the last: its client
/// should reconnect and resume from the replayer. Dropping it unsubscribes
/// at once.
pub struct Subscriber {
    joe: Arc<Inner>,
    shared: Arc<Shared>,
    /// The log of each topic, with this subscriber's reader index in it.
    logs: Vec<(Arc<Log>, usize)>,
    /// Frames read from the logs and not yet yielded.
    ready: VecDeque<Encoded>,
    /// With several topics: the entries read from each log, merged into
    /// publish order before they go to `ready`.
    merge: Vec<(u64, Encoded)>,
    /// With several topics: the sequence numbers and sizes of the entries
    /// a read may take, to find the batch before taking it.
    upcoming: Vec<(u64, usize)>,
    end: End,
    /// The waker registered when the subscriber last read every log up to
    /// its tail, the tails then in `tails`. While no tail has moved, a poll
    /// with the same waker has nothing to read and need not lock.
    seen: Option<WakerId>,
    /// Each log's tail at the last read.
    tails: Vec<u64>,
    /// Whether the replay may hold frames. Only this subscriber adds to
    /// it, so it knows without reading `shared`, another cache line per
    /// poll across thousands of subscribers.
    replaying: bool,
    /// Where the registry holds this subscriber, and its unique ID, so that
    /// a dropped stream never removes a newer subscriber in a reused slot.
    slot: usize,
    id: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Open,
    /// The lag error was yielded, or the stream ended.
    Done,
}

/// Which waker a subscriber registered, without holding a clone of it
/// (a reference count on its task): two wakers with the same data and
/// vtable wake the same way, which is what [`Waker::will_wake`] compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct WakerId(usize, usize);

impl WakerId {
    fn of(waker: &Waker) -> WakerId {
        WakerId(
            waker.data() as usize,
            std::ptr::from_ref(waker.vtable()) as usize,
        )
    }
}

/// Adds read frames to `ready`, dropping the sequence numbers.
struct Frames<'a>(&'a mut VecDeque<Encoded>);

impl Extend<(u64, Encoded)> for Frames<'_> {
    fn extend<I: IntoIterator<Item = (u64, Encoded)>>(&mut self, iter: I) {
        self.0.extend(iter.into_iter().map(|(_, frame)| frame));
    }
}

impl Subscriber {
    pub(crate) fn new(
        joe: Arc<Inner>,
        shared: Arc<Shared>,
        logs: Vec<(Arc<Log>, usize)>,
        (slot, id): (usize, u64),
    ) -> Subscriber {
        Subscriber {
            joe,
            shared,
            logs,
            ready: VecDeque::new(),
            merge: Vec::new(),
            upcoming: Vec::new(),
            end: End::Open,
            seen: None,
            tails: Vec::new(),
            replaying: true,
            slot,
            id,
        }
    }

    /// This subscriber's ID, unique within its [`Joe`](crate::Joe); the
    /// `subscriber` field of Joe's `tracing` events.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The number of frames waiting to be read: its replay, what it took
    /// and has not yielded, and what its topics' logs hold that it has not
    /// read.
    pub fn queued(&self) -> usize {
        self.usage().0
    }

    /// The bytes of the frames waiting to be read.
    pub fn queued_bytes(&self) -> usize {
        self.usage().1
    }

    fn usage(&self) -> (usize, usize) {
        if self.end == End::Done {
            return (0, 0);
        }
        let (frames, bytes) = self.shared.replay_usage();
        let unread = unread(self.logs.iter().map(|(log, reader)| (log, *reader)));
        let ready: usize = self.ready.iter().map(Encoded::len).sum();
        (
            frames + self.ready.len() + unread.frames,
            bytes + ready + unread.bytes,
        )
    }

    /// Queues `frames` ahead of everything queued for this subscriber, as
    /// its replay: for a provider built on Joe that keeps its history
    /// elsewhere, which subscribes first (so that nothing published from
    /// then on is missed), then fetches what the subscriber missed before
    /// and hands it here. Like a replay, the frames do not count against
    /// the bounds, and are dropped if the subscriber lags.
    ///
    /// Returns `false`, queuing nothing, if the stream has already ended
    /// (it lagged, or Joe shut down): its client must reconnect anyway.
    pub fn prepend(&mut self, frames: impl IntoIterator<Item = Encoded>) -> bool {
        if self.end == End::Done || self.shared.ended.load(Ordering::Acquire) {
            return false;
        }
        let mut frames: VecDeque<Encoded> = frames.into_iter().collect();
        // Frames already read from the logs come after the replay too.
        frames.append(&mut self.ready);
        self.replaying |= !frames.is_empty();
        self.shared.prepend(frames);
        true
    }

    /// Reads what the logs hold for this subscriber into `ready`, a
    /// [batch](Limit::BATCH) at most.
    fn read(&mut self, waker: &Waker) -> Read {
        let id = WakerId::of(waker);
        // Read up to every tail with this waker registered in every log,
        // and no log moved or closed since: still registered in each, as
        // each log's registrations last until its next append or close.
        if self.seen == Some(id)
            && self
                .logs
                .iter()
                .zip(&self.tails)
                .all(|((log, _), &tail)| log.is_quiet(tail))
        {
            return Read::Pending;
        }
        let tails = &mut self.tails;
        tails.clear();
        // Wakers replaced in a log's registration are dropped here, after
        // every lock is released.
        let mut dispose = Vec::new();
        let mut read_up = true;
        let read = match self.logs.as_slice() {
            [(log, reader)] => {
                let mut state = log.lock();
                let read = state.read(
                    *reader,
                    waker,
                    Limit::BATCH,
                    &mut Frames(&mut self.ready),
                    &mut dispose,
                );
                read_up = state.is_read_up(*reader);
                tails.push(state.tail());
                read
            }
            logs => {
                // Several logs are read under Joe's lock, which orders
                // publishes: a consistent cut, merged into publish order,
                // each message once however many of its topics matched.
                let joe = self.joe.lock();
                // A batch across the logs: the first entries in publish
                // order, up to the batch's bounds, found before any is
                // taken so that no log is read past the others.
                let next = &mut self.upcoming;
                next.clear();
                for (log, reader) in logs {
                    log.lock()
                        .unread_entries(*reader, Limit::BATCH.frames, next);
                }
                next.sort_unstable();
                next.dedup_by_key(|(seq, _)| *seq);
                let mut limit = Limit {
                    frames: 0,
                    bytes: usize::MAX,
                    upto: 0,
                };
                let mut bytes = 0;
                for &(seq, len) in next.iter() {
                    if limit.frames == Limit::BATCH.frames
                        || (limit.frames > 0 && bytes + len > Limit::BATCH.bytes)
                    {
                        break;
                    }
                    bytes += len;
                    limit.upto = seq;
                    limit.frames += 1;
                }
                // Each log gives its entries up to `upto`: all distinct,
                // fewer than `frames` each.
                if limit.frames > 0 {
                    limit.frames = usize::MAX;
                }
                let mut result = Read::Closed;
                for (log, reader) in logs {
                    let mut state = log.lock();
                    let read = state.read(*reader, waker, limit, &mut self.merge, &mut dispose);
                    read_up &= state.is_read_up(*reader);
                    tails.push(state.tail());
                    match read {
                        Read::Lagged => result = Read::Lagged,
                        Read::Got(_) if result != Read::Lagged => result = Read::Got(0),
                        Read::Pending if result == Read::Closed => result = Read::Pending,
                        _ => {}
                    }
                }
                drop(joe);
                self.merge.sort_by_key(|(seq, _)| *seq);
                self.merge.dedup_by_key(|(seq, _)| *seq);
                let got = self.merge.len();
                self.ready
                    .extend(self.merge.drain(..).map(|(_, frame)| frame));
                match result {
                    Read::Got(_) => Read::Got(got),
                    other => other,
                }
            }
        };
        self.seen = (read_up && matches!(read, Read::Got(_) | Read::Pending)).then_some(id);
        drop(dispose);
        read
    }
}

impl Stream for Subscriber {
    type Item = Result<Encoded, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.end == End::Done {
            return Poll::Ready(None);
        }
        if this.replaying {
            match this.shared.pop_replay() {
                Some(frame) => return Poll::Ready(Some(Ok(frame))),
                None => this.replaying = false,
            }
        }
        if let Some(frame) = this.ready.pop_front() {
            return Poll::Ready(Some(Ok(frame)));
        }
        match this.read(cx.waker()) {
            Read::Got(frames) => {
                this.shared.count(frames);
                this.joe.metrics.delivered(frames);
                match this.ready.pop_front() {
                    Some(frame) => Poll::Ready(Some(Ok(frame))),
                    // Every message read was a duplicate; look again.
                    None => {
                        cx.waker().wake_by_ref();
                        Poll::Pending
                    }
                }
            }
            Read::Pending => Poll::Pending,
            Read::Closed => {
                this.end = End::Done;
                Poll::Ready(None)
            }
            Read::Lagged => {
                this.end = End::Done;
                let (capacity, max_bytes) = this.joe.bounds();
                Poll::Ready(Some(Err(Error::Lagged {
                    capacity,
                    max_bytes,
                })))
            }
        }
    }
}

impl FusedStream for Subscriber {
    fn is_terminated(&self) -> bool {
        self.end == End::Done
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.joe.unsubscribe(self.slot, self.id);
    }
}

impl fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (queued, queued_bytes) = self.usage();
        f.debug_struct("Subscriber")
            .field("id", &self.id)
            .field("topics", &self.logs.len())
            .field("queued", &queued)
            .field("queued_bytes", &queued_bytes)
            .finish_non_exhaustive()
    }
}
