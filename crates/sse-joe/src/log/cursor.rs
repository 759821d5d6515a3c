//! A reader's place in a log, read without the log's lock.

use super::{Log, Segment, Slot, Waiter};
use crate::sync::{Arc, Ordering};

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
    /// A cursor in `log` for the reader `reader`, at `next`, in `segment`.
    pub(crate) fn new(
        log: &Arc<Log>,
        (reader, which, segment, next): (usize, usize, Arc<Segment>, u64),
    ) -> Cursor {
        Cursor {
            log: Arc::clone(log),
            reader,
            which,
            segment,
            next,
        }
    }

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
        // Release: pairs with the Acquire load in `LogState::position`;
        // for the log's bookkeeping only (which entries a reader passed),
        // not for waking.
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
        // Acquire: pairs with the Release store in `Log::close`, made
        // under the log's lock after the last append: the tail loaded next
        // is the last. On the second look, after the fence in
        // `Waiter::arm`, which pairs with the fence in `wake_waiting`.
        self.log.ends.closed.load(Ordering::Acquire) && self.next >= self.log.tail()
    }
}
