//! One subscriber's stream: its replay, then what it reads from the logs of
//! its topics.

use crate::{
    Error,
    log::{Cursor, Found, Lagged, Read, Slot, Waiter, WakerId, unread},
    registry::Inner,
    shared::Shared,
    sync::Arc,
};
use futures_core::{Stream, stream::FusedStream};
use sse_codec::{Encoded, Filter};
use std::{
    collections::VecDeque,
    fmt,
    pin::Pin,
    task::{Context, Poll},
};

/// What a subscriber of several topics takes at most in one read: 64
/// frames and, past the first, 64 KiB.
const BATCH_FRAMES: usize = 64;
const BATCH_BYTES: usize = 64 * 1024;

/// How many frames a busy subscriber yields between two updates of the
/// shared `delivered` metric: one atomic add on a counter every subscriber
/// shares, on every core, costed 2.5 % of a hub's time at 2,500 events a
/// second to 1,000 subscribers when made per frame.
const REPORT_EVERY: u32 = 64;

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
    waiter: Arc<Waiter>,
    /// Its place in the log of each topic.
    cursors: Vec<Cursor>,
    /// Asked about each entry read: `None` takes every public one.
    filter: Option<Filter>,
    /// With several topics, the merge's buffers: boxed, so that the many
    /// subscribers of one topic do not carry them.
    several: Option<Box<Several>>,
    end: End,
    /// The waker last given to the waiter.
    registered: Option<WakerId>,
    /// Whether the replay may hold frames. Only this subscriber adds to
    /// it, so it knows without reading `shared`, another cache line per
    /// poll across thousands of subscribers.
    replaying: bool,
    /// Frames yielded and not yet added to the `delivered` metric: added
    /// when the stream waits, every [`REPORT_EVERY`] frames, and at its
    /// end, rather than one shared counter's update per frame.
    unreported: u32,
    /// Where the registry holds this subscriber, and its unique ID, so that
    /// a dropped stream never removes a newer subscriber in a reused slot.
    slot: usize,
    id: u64,
}

/// What a subscriber of several topics merges with.
#[derive(Default)]
struct Several {
    /// Frames read from the logs and not yet yielded.
    ready: VecDeque<Encoded>,
    /// The entries read from each log, merged into publish order before
    /// they go to `ready`.
    merge: Vec<(u64, Encoded)>,
    /// The sequence numbers and sizes of the entries a read may take, to
    /// find the batch before taking it.
    upcoming: Vec<(u64, usize)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Open,
    /// The lag error was yielded, or the stream ended.
    Done,
}

impl Subscriber {
    pub(crate) fn new(
        joe: Arc<Inner>,
        (shared, waiter): (Arc<Shared>, Arc<Waiter>),
        (cursors, filter): (Vec<Cursor>, Option<Filter>),
        (slot, id): (usize, u64),
    ) -> Subscriber {
        Subscriber {
            joe,
            shared,
            waiter,
            several: (cursors.len() > 1).then(Box::default),
            cursors,
            filter,
            end: End::Open,
            registered: None,
            replaying: true,
            unreported: 0,
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
        let unread = unread(
            self.cursors
                .iter()
                .map(|cursor| (&cursor.log, cursor.reader)),
        );
        let (ready, ready_bytes) = match &self.several {
            Some(several) => (
                several.ready.len(),
                several.ready.iter().map(Encoded::len).sum(),
            ),
            None => (0, 0),
        };
        (
            frames + ready + unread.frames,
            bytes + ready_bytes + unread.bytes,
        )
    }

    /// Queues `frames` ahead of everything queued for this subscriber, as
    /// its replay: for a provider built on Joe that keeps its history
    /// elsewhere, which subscribes first (so that nothing published from
    /// then on is missed), then fetches what the subscriber missed before
    /// and hands it here. Like a replay, the frames do not count against
    /// the bounds, are dropped if the subscriber lags, and are not counted
    /// in [`Stats::delivered`](crate::Stats::delivered). Live frames the
    /// stream already took from the logs (a subscriber of several topics
    /// takes them in batches) come after them, and are counted when they
    /// are yielded.
    ///
    /// Returns `false`, queuing nothing, if the stream has already ended
    /// (it lagged, or Joe shut down): its client must reconnect anyway.
    pub fn prepend(&mut self, frames: impl IntoIterator<Item = Encoded>) -> bool {
        if self.end == End::Done || self.shared.is_ended() {
            return false;
        }
        // Frames already read from the logs stay in `several.ready`, which
        // is yielded after the replay, and counted as live frames then.
        let frames: VecDeque<Encoded> = frames.into_iter().collect();
        self.replaying |= !frames.is_empty();
        self.shared.prepend(frames);
        true
    }

    /// Counts a frame yielded: in the subscriber's own count at once, in
    /// the shared metric in batches.
    fn delivered(&mut self) {
        self.waiter.count(1);
        self.unreported += 1;
        if self.unreported == REPORT_EVERY {
            self.report();
        }
    }

    /// Adds the frames not yet reported to the `delivered` metric.
    fn report(&mut self) {
        if self.unreported > 0 {
            self.joe.metrics.delivered(self.unreported as usize);
            self.unreported = 0;
        }
    }

    /// Ends the stream: what it holds of the logs (a segment of each) goes
    /// now, not when it is dropped.
    fn finish(&mut self) {
        self.report();
        self.end = End::Done;
        self.cursors.clear();
        self.several = None;
    }

    fn lagged(&mut self) -> Poll<Option<Result<Encoded, Error>>> {
        self.finish();
        let (capacity, max_bytes) = self.joe.bounds();
        Poll::Ready(Some(Err(Error::Lagged {
            capacity,
            max_bytes,
        })))
    }
}

impl Several {
    /// Reads a batch across the logs into `ready`: the first entries in
    /// publish order, each message once however many of its topics
    /// matched. Only publishes Joe finished are read (every entry up to its
    /// sequence number, `finished`, is in every log), so no log is read
    /// past a message another will still get.
    fn read(
        &mut self,
        cursors: &mut [Cursor],
        (waiter, filter): (&Waiter, Option<&Filter>),
        finished: u64,
    ) -> Result<(), Lagged> {
        let next = &mut self.upcoming;
        next.clear();
        for cursor in cursors.iter() {
            cursor.look_ahead(BATCH_FRAMES, finished, next);
        }
        next.sort_unstable();
        next.dedup_by_key(|(seq, _)| *seq);
        // The batch's last sequence number, found before any entry is
        // taken: each log then gives its entries up to it.
        let (mut upto, mut frames, mut bytes) = (None, 0, 0);
        for &(seq, len) in next.iter() {
            if frames == BATCH_FRAMES || (frames > 0 && bytes + len > BATCH_BYTES) {
                break;
            }
            bytes += len;
            frames += 1;
            upto = Some(seq);
        }
        let Some(upto) = upto else {
            return Ok(());
        };
        for cursor in cursors.iter_mut() {
            while let Some(slot) = cursor.peek()? {
                if slot.seq > upto {
                    break;
                }
                if admits(filter, slot) {
                    self.merge.push((slot.seq, slot.frame.clone()));
                }
                cursor.advance(waiter);
            }
        }
        self.merge.sort_by_key(|(seq, _)| *seq);
        self.merge.dedup_by_key(|(seq, _)| *seq);
        self.ready
            .extend(self.merge.drain(..).map(|(_, frame)| frame));
        Ok(())
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
        if let Some(frame) = this.several.as_mut().and_then(|s| s.ready.pop_front()) {
            this.delivered();
            return Poll::Ready(Some(Ok(frame)));
        }
        let mut live = Live {
            cursors: &mut this.cursors,
            several: this.several.as_deref_mut(),
            waiter: &this.waiter,
            filter: &this.filter,
            joe: &this.joe,
        };
        match this
            .waiter
            .poll(&mut live, cx.waker(), &mut this.registered)
        {
            Poll::Ready(Found::Item(frame)) => {
                this.delivered();
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Found::Lagged) => this.lagged(),
            Poll::Ready(Found::Done) => {
                this.finish();
                Poll::Ready(None)
            }
            Poll::Pending => {
                this.report();
                Poll::Pending
            }
        }
    }
}

/// A subscriber's live reading, from the logs of its topics.
struct Live<'a> {
    cursors: &'a mut [Cursor],
    several: Option<&'a mut Several>,
    waiter: &'a Waiter,
    filter: &'a Option<Filter>,
    joe: &'a Inner,
}

/// Whether the entry in `slot` goes to a subscriber with `filter`: what
/// the filter accepts, or, without one, a public update. An entry without
/// its routing was appended while no reader of the log had a filter, and
/// is public (a filtered reader joins after it, or the entry would have
/// it).
fn admits(filter: Option<&Filter>, slot: &Slot) -> bool {
    match (filter, &slot.routing) {
        (None, None) => true,
        (None, Some(routing)) => !routing.is_private(),
        (Some(filter), Some(routing)) => filter.accepts(routing),
        (Some(_), None) => false,
    }
}

/// The next entry of `cursor` that `filter` admits, passing over (and
/// reading) those it turns down. Out of line: the common case, an entry
/// taken as it is, stays small in [`Live::read`].
#[inline(never)]
fn read_filtered(
    cursor: &mut Cursor,
    waiter: &Waiter,
    filter: Option<&Filter>,
) -> Result<Option<Encoded>, Lagged> {
    while let Some(slot) = cursor.peek()? {
        let frame = admits(filter, slot).then(|| slot.frame.clone());
        cursor.advance(waiter);
        if frame.is_some() {
            return Ok(frame);
        }
    }
    Ok(None)
}

impl Read for Live<'_> {
    type Item = Encoded;

    /// The next live frame, if one was published: from the one log without
    /// a lock, or a batch across several logs.
    fn read(&mut self) -> Result<Option<Encoded>, Lagged> {
        if let [cursor] = &mut *self.cursors {
            let Some(slot) = cursor.peek()? else {
                return Ok(None);
            };
            // Without a filter, an entry without routing is taken as it is:
            // the exact-topic path pays one test for the filters of others.
            let admitted = match (self.filter.is_none(), &slot.routing) {
                (true, None) => true,
                _ => admits(self.filter.as_ref(), slot),
            };
            if admitted {
                let frame = slot.frame.clone();
                cursor.advance(self.waiter);
                return Ok(Some(frame));
            }
            cursor.advance(self.waiter);
            return read_filtered(cursor, self.waiter, self.filter.as_ref());
        }
        let Some(several) = self.several.as_deref_mut() else {
            return Ok(None);
        };
        let finished = self.joe.finished();
        // A batch its filter turned down whole is followed by the next.
        loop {
            several.read(self.cursors, (self.waiter, self.filter.as_ref()), finished)?;
            if !several.ready.is_empty() || several.upcoming.is_empty() {
                return Ok(several.ready.pop_front());
            }
        }
    }

    fn is_done(&self) -> bool {
        self.cursors.iter().all(Cursor::is_done)
    }
}

impl FusedStream for Subscriber {
    fn is_terminated(&self) -> bool {
        self.end == End::Done
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.report();
        self.joe.unsubscribe(self.slot, self.id);
    }
}

impl fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (queued, queued_bytes) = self.usage();
        f.debug_struct("Subscriber")
            .field("id", &self.id)
            .field("topics", &self.cursors.len())
            .field("queued", &queued)
            .field("queued_bytes", &queued_bytes)
            .finish_non_exhaustive()
    }
}
